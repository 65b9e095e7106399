"""Track ids: the content hash that identifies a track wherever its file lies.

A track id is the first 32 hex digits (128 bits) of the SHA-256 of the file's
bytes.  Hashing reads the whole file, so a file whose path, size and
modification time the ledger already knows is not read again.

The facts of a file are those of the very file hashed (``fstat`` of the open
descriptor), with its inode and change time in :attr:`FileFacts.stamp`: the worker
that decodes it compares them with the file it finds (:func:`file_stamp`), so a
file replaced between hashing and decoding is hashed again there and recorded
under the content that was decoded.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ...model.errors import AudioFileError
from ...model.validate import check_input_file
from .ledger import Ledger

ID_DIGITS = 32


@dataclass(frozen=True)
class FileFacts:
    """A readable input file: where it is, what it weighs, when it changed, what it holds."""

    path: str
    size: int
    mtime_ns: int
    track_id: str
    stamp: tuple[int, ...] = ()
    """:func:`file_stamp` of the file hashed (empty when unknown)."""


def file_stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    """(size, modification time, inode, change time): what changes when a file's bytes do.

    The change time cannot be set back by a program, and a file replaced by another
    (saved by renaming a new file over it) has another inode.
    """
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def content_id(path: str | os.PathLike) -> str:
    """The track id of the file at ``path`` (reads it once, in 1 MiB pieces)."""
    return hashed(path)[0]


def hashed(path: str | os.PathLike) -> tuple[str, os.stat_result]:
    """The track id of the file at ``path`` and the ``fstat`` of the very file read."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:ID_DIGITS], st


def identify(paths: list[Path], ledger: Ledger, *, threads: int = 4) -> dict[Path, FileFacts | str]:
    """Facts of each input file, or a one-line reason when it cannot be read.

    Hashes run in ``threads`` threads (hashlib releases the GIL while hashing).
    """
    def one(p: Path) -> FileFacts | str:
        try:
            check_input_file(p)  # missing, a folder, a device, a pipe: each said so
            st = p.stat()
            key = str(p.resolve())
            known = ledger.known_id(key, st.st_size, st.st_mtime_ns)
            if known is None:
                known, st = hashed(p)  # the facts of the bytes hashed, not of a stat before
            return FileFacts(key, st.st_size, st.st_mtime_ns, known, file_stamp(st))
        except AudioFileError as exc:
            return str(exc)
        except OSError as exc:
            return f"cannot read '{p}': {exc.strerror or exc}"

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        return dict(zip(paths, pool.map(one, paths)))
