"""Writing files without ever destroying what was there.

Three tools, one rule: new content goes to a temporary file in the target's own
folder and is moved over the target with ``os.replace`` only when it is
complete; a failure removes only the temporaries this process created.

- :func:`atomic_path`: one file (e.g. a checkpoint, a single report).
- :class:`OutputSet`: several files that appear together or not at all (one
  track's CSV, JSON and PNG of ``emotrack analyze``).  A small journal makes a
  run killed half-way through the renames (SIGKILL, power loss) finish them in
  the next run that writes into that folder (:func:`clean_leftovers`).
- :class:`LiveFile`: a file a long run fills row by row (``emotrack listen
  --csv``): it grows under a visible name, ``NAME.part.EXT``, readable (``tail
  -f``) while the run lasts, and is renamed to ``NAME.EXT`` when the run ends.

Hidden temporaries are named ``.NAME.XXXXXXXX.emotrack-tmp`` and journals
``.NAME.XXXXXXXX.emotrack-commit`` (``NAME`` cut and ended with a hash when the
whole would pass 255 bytes); nothing else is ever deleted by the clean-up.

What a folder holds is data, not instructions: a journal is read without
following links and only when it is a small regular file, and each of its
entries must rename a temporary of this form over *its own* target, in the
journal's folder or below it, without leaving it through a symbolic link.
Anything else (a planted ``../`` or absolute path, swapped entries, a FIFO, a
folder, nested or non-UTF-8 JSON) is moved aside with one warning and nothing
is renamed (:mod:`.state_files`).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import stat
import threading
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator, Sequence

from ...model.errors import ParameterError
from .state_files import NAME_MAX, BadStateFile, inside, quarantine, read_state, shorten

TMP_SUFFIX = ".emotrack-tmp"
JOURNAL_SUFFIX = ".emotrack-commit"
MAX_JOURNAL_BYTES = 1 << 20
"""A journal lists a few renames: anything larger was not written by emotrack."""
MAX_JOURNAL_PAIRS = 1024
_TEMP_TOKEN = re.compile(r"\.([0-9a-f]{8})" + re.escape(TMP_SUFFIX) + r"\Z")


def temp_name(target_name: str, token: str, suffix: str = TMP_SUFFIX) -> str:
    """The hidden name ``.TARGETNAME.TOKEN`` + ``suffix``, at most 255 bytes.

    A target name too long for that is cut and ended with a hash of it
    (:func:`~.state_files.shorten`), so a 255-byte target still gets a temporary.
    """
    tail = f".{token}{suffix}"
    room = NAME_MAX - 1 - len(os.fsencode(tail))
    return f".{shorten(target_name, room)}{tail}"


def hidden_temp(target: Path, *, suffix: str = TMP_SUFFIX) -> Path:
    """Create (exclusively, empty) and return a hidden temporary file beside ``target``.

    The name is :func:`temp_name`; permissions follow the umask like any new file.
    """
    while True:
        tmp = target.with_name(temp_name(target.name, secrets.token_hex(4), suffix))
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:  # pragma: no cover - 1 in 4 billion
            continue


def file_kind(path: Path) -> str | None:
    """None when nothing is at ``path``, else ``"regular file"``, ``"a folder"``... (links followed)."""
    try:
        return _kind(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


def file_identity(path: Path) -> tuple:
    """What makes two paths the same file: (device, inode) if it exists, else the resolved path."""
    try:
        st = os.stat(path)
        return ("file", st.st_dev, st.st_ino)
    except OSError:
        return ("path", os.path.realpath(path))


def check_replaceable(target: Path, *, what: str = "output") -> None:
    """ParameterError unless ``target`` is absent or a regular file (after symbolic links)."""
    kind = file_kind(target)
    if kind not in (None, "regular file"):
        raise ParameterError(f"{what} '{target}' exists and is {kind}, not a regular file; "
                             "move it away or choose another name")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    check_replaceable(path)
    with signals_deferred():  # created and known together: Ctrl-C cannot leave it behind
        tmp = hidden_temp(path)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class OutputSet:
    """Files that replace their targets together, or not at all.

    Use as a context manager: write each target's content to :meth:`temp`, then
    call :meth:`commit`.  Leaving the block without a commit (an exception, Ctrl-C)
    removes the temporaries and leaves every target as it was.

    Parameters
    ----------
    targets : sequence of Path
        The final paths, each absent or a regular file.
    root : Path, optional
        The folder that holds the journal; every target lies in it or below it.
        Default: the targets' folder (they must then share one).
    """

    def __init__(self, targets: Sequence[Path], *, root: Path | None = None) -> None:
        self.targets = [Path(t) for t in targets]
        folders = {t.parent for t in self.targets}
        if root is None and len(folders) != 1:
            raise ValueError(f"an OutputSet's files share one folder, got {sorted(map(str, folders))}")
        self.folder = Path(root) if root is not None else folders.pop()
        self._temps: dict[Path, Path] = {}

    def __enter__(self) -> "OutputSet":
        for t in self.targets:
            t.parent.mkdir(parents=True, exist_ok=True)
            check_replaceable(t)
        try:
            for t in self.targets:
                with signals_deferred():  # created and registered together
                    self._temps[t] = hidden_temp(t)
        except BaseException:
            self._remove_temps()
            raise
        return self

    def temp(self, target: Path) -> Path:
        """The temporary file standing in for ``target`` until :meth:`commit`."""
        return self._temps[Path(target)]

    def commit(self) -> None:
        """Move every temporary over its target (a journal covers a crash in between).

        Ctrl-C and SIGTERM wait until the set is complete (a few milliseconds).
        """
        with signals_deferred():
            for tmp in self._temps.values():
                _fsync(tmp)
            pairs = [[os.path.relpath(tmp, self.folder), os.path.relpath(t, self.folder)]
                     for t, tmp in self._temps.items()]
            journal = hidden_temp(self.folder / self.targets[0].name, suffix=JOURNAL_SUFFIX + ".part")
            try:
                journal.write_text(json.dumps(pairs), encoding="utf-8")
                _fsync(journal)
                final = journal.with_name(journal.name[: -len(".part")])
                os.replace(journal, final)
            finally:
                journal.unlink(missing_ok=True)
            _roll_forward(final)
            self._temps.clear()
            for folder in {t.parent for t in self.targets} | {self.folder}:
                _fsync_folder(folder)

    def __exit__(self, *exc) -> None:
        self._remove_temps()

    def _remove_temps(self) -> None:
        for tmp in self._temps.values():
            tmp.unlink(missing_ok=True)
        self._temps.clear()


def clean_leftovers(folder: Path, *, warn: Callable[[str], None] | None = None) -> int:
    """Finish the renames of a killed run's journals in ``folder``; delete its temporaries.

    Call it only while no other process writes into ``folder`` (hold
    :func:`folder_lock`), and for a set with a ``root`` on the root before its
    sub-folders (the root's journals name temporaries in them).  A journal that
    emotrack cannot have written is moved aside with one warning (``warn``,
    default: standard error) and renames nothing; a temporary that is not a
    regular file or link (a folder) is left alone.  Returns how many leftovers
    were handled.
    """
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    handled = 0
    for name in sorted(names):
        if name.startswith(".") and name.endswith(JOURNAL_SUFFIX):
            _roll_forward(Path(folder) / name, warn=warn)
            handled += 1
    try:
        names = os.listdir(folder)
    except OSError:  # pragma: no cover - removed meanwhile
        return handled
    for name in names:
        if name.startswith(".") and (name.endswith(TMP_SUFFIX) or name.endswith(JOURNAL_SUFFIX + ".part")):
            path = Path(folder) / name
            try:
                if stat.S_ISDIR(os.lstat(path).st_mode):
                    continue  # a folder is nothing emotrack made: left as it is
                path.unlink()  # a link or pipe: the entry goes, what it points to stays
                handled += 1
            except OSError:
                continue
    return handled


@contextlib.contextmanager
def folder_lock(folder: Path, *, holder: str = "another emotrack run") -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` itself (no lock file is created).

    Raises ParameterError at once when another process holds it.  The operating
    system releases it when the process ends, however it ends, so a killed run
    never leaves a stale lock.  Where ``fcntl`` is missing (Windows) this is a no-op.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ParameterError(f"{holder} is writing into '{folder}' right now; wait until it "
                                 "ends or choose another output folder") from None
        yield
    finally:
        os.close(fd)


class LiveFile:
    """A file that grows under ``NAME.part.EXT`` during a run and becomes ``NAME.EXT`` at its end.

    The target is untouched until :meth:`commit`; :meth:`discard` deletes only
    the part file this object created.  An existing part file (the rows of an
    interrupted run?) is never overwritten: :meth:`check` refuses it.
    """

    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        self.part = part_name(self.target)
        self._created = False

    def check(self, *, what: str) -> None:
        """ParameterError when the part file exists already."""
        if os.path.lexists(self.part):
            raise ParameterError(f"{what}: '{self.part}' exists (the rows of an interrupted run?); "
                                 "move or delete it, or choose another name")

    def create(self) -> Path:
        """Create the empty part file (exclusively) and return its path."""
        self.part.parent.mkdir(parents=True, exist_ok=True)
        with signals_deferred():  # created and remembered together
            os.close(os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            self._created = True
        return self.part

    def commit(self) -> None:
        """Rename the part file over the target."""
        if self._created:
            os.replace(self.part, self.target)
            self._created = False

    def discard(self) -> None:
        """Delete the part file (only if this object created it); the target stays as it was."""
        if self._created:
            self.part.unlink(missing_ok=True)
            self._created = False


def part_name(target: Path) -> Path:
    """``o.csv`` -> ``o.part.csv`` (the extension kept, so tools still know the format).

    A name too long for that keeps its extension and is cut, with a hash of it
    (:func:`~.state_files.shorten`).
    """
    tail = f".part{target.suffix}"
    return target.with_name(shorten(target.stem, NAME_MAX - len(os.fsencode(tail))) + tail)


def _roll_forward(journal: Path, *, warn: Callable[[str], None] | None = None) -> None:
    """Do the renames ``journal`` lists, if it is a journal emotrack wrote; then remove it."""
    try:
        data = read_state(journal, max_bytes=MAX_JOURNAL_BYTES)
    except (BadStateFile, OSError) as exc:
        quarantine(journal, f"is not a journal emotrack wrote ({_why(exc)})", warn=warn)
        return
    if data is None:  # gone meanwhile
        return
    try:
        pairs = _journal_pairs(data, journal.parent)
    except BadStateFile as exc:
        quarantine(journal, f"is not a journal emotrack wrote ({exc}); nothing renamed", warn=warn)
        return
    for tmp, target in pairs:
        try:
            if stat.S_ISREG(os.lstat(tmp).st_mode):
                os.replace(tmp, target)
        except FileNotFoundError:
            continue  # renamed before the run was killed
    journal.unlink(missing_ok=True)


def _journal_pairs(data: bytes, folder: Path) -> list[tuple[Path, Path]]:
    """The checked (temporary, target) pairs of a journal's bytes.

    Raises
    ------
    BadStateFile
        Not UTF-8, too deeply nested, not a list of [temporary, target] name
        pairs, a pair that is not a temporary of its own target in one folder,
        a path that is absolute, climbs with ``..`` or resolves outside ``folder``.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadStateFile("not UTF-8") from None
    try:
        pairs = json.loads(text)
    except RecursionError:
        raise BadStateFile("nested too deeply") from None
    except ValueError:  # a journal is complete before it gets its name: this one is not ours
        raise BadStateFile("not JSON") from None
    if not isinstance(pairs, list) or len(pairs) > MAX_JOURNAL_PAIRS:
        raise BadStateFile("not a list of renames")
    out, targets = [], set()
    for pair in pairs:
        if (not isinstance(pair, list) or len(pair) != 2
                or not all(isinstance(p, str) and p and "\0" not in p for p in pair)):
            raise BadStateFile(f"an entry is not a pair of names: {str(pair)[:80]!r}")
        tmp, target = (PurePosixPath(p) for p in pair)
        for p in (tmp, target):
            if p.is_absolute() or ".." in p.parts or not p.parts:
                raise BadStateFile(f"a path leaves the folder: {str(p)[:80]!r}")
        match = _TEMP_TOKEN.search(tmp.name)
        if (tmp.parent != target.parent or match is None
                or tmp.name != temp_name(target.name, match.group(1))):
            raise BadStateFile(f"'{str(tmp)[:80]}' is not a temporary of '{str(target)[:80]}'")
        if target in targets:
            raise BadStateFile(f"'{str(target)[:80]}' is named twice")
        targets.add(target)
        where = folder.joinpath(*target.parent.parts)
        if not inside(where, folder):
            raise BadStateFile(f"'{str(target.parent)[:80]}' leads out of the folder")
        out.append((folder.joinpath(*tmp.parts), folder.joinpath(*target.parts)))
    return out


def _why(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, BadStateFile) else (getattr(exc, "strerror", None) or str(exc))


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold back SIGINT/SIGTERM/SIGHUP within the block (a set being renamed); deliver them after.

    Python runs signal handlers in the main thread only, so elsewhere this is a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    sigs = [getattr(signal, n) for n in names if hasattr(signal, n)]
    old = {s: signal.signal(s, lambda num, frame: caught.append(num)) for s in sigs}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        for num in caught:
            signal.raise_signal(num)


def _kind(mode: int) -> str:
    import stat

    for test, name in ((stat.S_ISREG, "regular file"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms that cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)
