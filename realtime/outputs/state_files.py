"""emotrack's own state files in an output folder, read and written as if anything could be there.

An output folder is data, not instructions (docs/hardening.md, "The output
folder"): its ledger, journals and temporaries may have been edited, planted,
replaced by a symbolic link, a named pipe (FIFO), a device or a folder.  Every
state file goes through this module:

- :func:`open_regular` opens it without following a symbolic link
  (``O_NOFOLLOW``) and without blocking on a FIFO (``O_NONBLOCK``), and keeps it
  only if ``fstat`` says it is a regular file;
- :func:`read_state` and :func:`state_lines` read at most a given number of bytes;
- :func:`append_state` appends a line, starting a new line first when the last
  one was torn;
- :func:`quarantine` moves a bad state file aside (renaming the link, pipe or
  folder itself, never what it points to) with one warning, so the run goes on;
- :func:`inside` says whether a path, once resolved, stays in the folder.

A symbolic link, pipe or device is never opened, so nothing outside the output
folder is read or written through one.
"""
from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
import sys
from pathlib import Path
from typing import Callable, Iterator

NAME_MAX = 255
"""Bytes in one file name on every common file system."""


class BadStateFile(Exception):
    """A state file that is not what emotrack writes (its message says what it is instead)."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike, flags: int = os.O_RDONLY, mode: int = 0o666, *,
                 follow: bool = False) -> int:
    """A file descriptor of ``path``, opened only if it is a regular file itself (not a link).

    ``follow=True`` accepts a symbolic link to a regular file (for inputs the user
    names, such as a manifest; never for state files).

    Raises
    ------
    FileNotFoundError
        Nothing is there (and ``flags`` has no ``O_CREAT``).
    BadStateFile
        A symbolic link, a folder, a FIFO, a device..., or opened for writing, a
        file with another hard link (an append would change a file elsewhere).
    """
    flags |= getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):
            raise BadStateFile("is a symbolic link") from None
        if exc.errno == errno.EISDIR:
            raise BadStateFile("is a folder") from None
        if exc.errno == errno.ENXIO:  # a FIFO with no reader, opened for writing
            raise BadStateFile("is a named pipe (FIFO)") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BadStateFile(f"is {_kind(st.st_mode)}")
        if flags & (os.O_WRONLY | os.O_RDWR) and not follow and st.st_nlink > 1:
            raise BadStateFile(f"has {st.st_nlink} hard links (writing would change the others)")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_state(path: str | os.PathLike, *, max_bytes: int) -> bytes | None:
    """The bytes of the regular file ``path`` (None when nothing is there).

    Raises
    ------
    BadStateFile
        Not a regular file, or larger than ``max_bytes``.
    """
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadStateFile(f"is larger than {max_bytes} bytes")
    return data


def state_lines(path: str | os.PathLike, *, max_bytes: int, max_line: int) -> Iterator[bytes | None]:
    """The lines of the regular file ``path`` (nothing when it is absent), read in bounded pieces.

    A line longer than ``max_line`` bytes is skipped and yields None in its place;
    reading stops after ``max_bytes`` (then :class:`BadStateFile` is raised).
    """
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        return
    total = 0
    with os.fdopen(fd, "rb") as fh:
        while True:
            line = fh.readline(max_line + 1)
            if not line:
                return
            total += len(line)
            if total > max_bytes:
                raise BadStateFile(f"is larger than {max_bytes} bytes")
            if len(line) > max_line and not line.endswith(b"\n"):
                while True:  # the rest of an overlong line, in bounded pieces
                    more = fh.readline(max_line + 1)
                    total += len(more)
                    if total > max_bytes:
                        raise BadStateFile(f"is larger than {max_bytes} bytes")
                    if not more or more.endswith(b"\n"):
                        break
                yield None
                continue
            yield line


def append_state(path: str | os.PathLike, data: bytes) -> None:
    """Append ``data`` to the regular file ``path`` (created if absent) and flush it to disk.

    When the file's last line was torn (no final newline: a killed run), a newline
    is written first, so the torn line never swallows ``data``'s first line.

    Raises
    ------
    BadStateFile
        ``path`` is a symbolic link, a FIFO, a folder...
    """
    fd = open_regular(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def quarantine(path: str | os.PathLike, problem: str, *,
               warn: Callable[[str], None] | None = None) -> Path | None:
    """Move the bad state file ``path`` aside (``NAME.bad-XXXXXXXX``, same folder) with one warning.

    The entry itself is renamed (a symbolic link stays a link, its target is
    untouched).  Returns the new path, or None when it could not be moved (then
    the warning says it is ignored).
    """
    path = Path(path)
    new = path.with_name(shorten(f"{path.name}.bad-{secrets.token_hex(4)}", NAME_MAX))
    try:
        os.rename(path, new)
    except OSError as exc:
        new = None
        what = f"ignored (it could not be moved aside: {exc.strerror or exc})"
    else:
        what = f"moved aside to '{new.name}'"
    (warn or stderr_warning)(f"emotrack: warning: '{path}' {problem}; {what}, going on without it")
    return new


def stderr_warning(line: str) -> None:
    """Print one warning line on standard error, control characters escaped."""
    from ..printable import printable

    print(printable(line), file=sys.stderr)


def inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether ``path``, with every symbolic link resolved, lies in the folder ``root`` (or is it)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    try:
        return os.path.commonpath([real_root, real]) == real_root
    except ValueError:  # different drives (Windows)
        return False


def shorten(name: str, max_bytes: int = NAME_MAX) -> str:
    """``name`` if it fits in ``max_bytes`` bytes, else its start, ``~`` and a hash of all of it.

    The same name always gives the same short name (8 hex digits of its SHA-256).
    """
    raw = os.fsencode(name)
    if len(raw) <= max_bytes:
        return name
    digest = hashlib.sha256(raw).hexdigest()[:8]
    cut = max(0, max_bytes - 9)
    while 0 < cut < len(raw) and raw[cut] & 0xC0 == 0x80:  # never split a UTF-8 character
        cut -= 1
    return os.fsdecode(raw[:cut]) + "~" + digest
