"""Stable output names for analysed inputs: the same input gets the same name in every run.

The rule (``emotrack analyze``, and any catalog built on it):

- a **folder** argument contributes its audio files (recursively) and each keeps
  its path *relative to that folder*, without the audio extension:
  ``music/rock/song.mp3`` given as ``music`` -> ``rock/song``, written as
  ``OUT/rock/song.emotrack.csv``;
- a **file** argument is named by its file name without the extension:
  ``a/b/song.mp3`` -> ``song`` (its folders are not part of the name; give their
  common folder instead to keep them apart);
- a **manifest** (a text or CSV file listing one path per line, see
  :func:`read_manifest`) names each entry by the path as written, relative to the
  manifest's folder, without the extension: ``rock/song.mp3`` -> ``rock/song``; an
  absolute entry, or one that climbs out with ``..``, by its whole absolute path
  without the leading ``/`` (``/data/rock/song.mp3`` -> ``data/rock/song``).

Alternatively every output can be named by its **track id** (the content hash,
:func:`id_name`): ``3f/3f9a...``, the same wherever the file lies.

A name never depends on the other inputs or on their order.  When two different
inputs would get the same name (compared without regard to case, so that the
results can be copied to any file system), the whole run is refused before any
work, naming both.  A file reached twice (named twice, or also through its folder)
is analysed once, under the name of its first mention.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable

from ...model.errors import ParameterError
from .atomic_files import file_identity

OUTPUT_INFIX = ".emotrack"
"""Every output file is ``NAME.emotrack.EXT``."""


@dataclass(frozen=True)
class NamedInput:
    """One input file and the stable name of its outputs.

    Attributes
    ----------
    path : Path
        The input file (may not exist: the caller reports it as a failure).
    name : str
        The output name, ``/``-separated and relative to the output folder.
    argument : str
        The command-line argument it came from (a file or a folder).
    """

    path: Path
    name: str
    argument: str

    def output(self, out_dir: str | os.PathLike, ext: str) -> Path:
        """``OUT/NAME.emotrack.EXT``."""
        return output_path(out_dir, self.name, ext)


def output_path(out_dir: str | os.PathLike, name: str, ext: str) -> Path:
    """Where the ``ext`` output of ``name`` goes under ``out_dir``."""
    *folders, last = PurePosixPath(name).parts
    return Path(out_dir).joinpath(*folders, f"{last}{OUTPUT_INFIX}.{ext}")


def name_inputs(arguments: Iterable[str | os.PathLike], *, extensions: tuple[str, ...],
                manifests: Iterable[str | os.PathLike] = ()) -> list[NamedInput]:
    """Expand ``arguments`` and ``manifests`` into named input files (folders recursively, sorted).

    Parameters
    ----------
    arguments : iterable of path-like
        Files and folders, as given on the command line.
    extensions : tuple of str
        Lower-case file name endings (``".mp3"``...) that a folder contributes.
    manifests : iterable of path-like
        Files listing inputs (:func:`read_manifest`), after ``arguments``.

    Raises
    ------
    ParameterError
        Two different inputs would write the same outputs; an unreadable manifest.
    """
    named: list[NamedInput] = []
    for arg in arguments:
        p = Path(arg)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in extensions)
            named.extend(NamedInput(q, _strip_suffix(q.relative_to(p)), str(arg)) for q in found)
        else:
            named.append(NamedInput(p, _strip_suffix(Path(p.name)), str(arg)))
    for manifest in manifests:
        for entry in read_manifest(manifest):
            e = Path(entry)
            path = e if e.is_absolute() else Path(manifest).parent / e
            if e.is_absolute() or ".." in e.parts:
                e = Path(os.path.abspath(path))
                e = e.relative_to(e.anchor)
            named.append(NamedInput(path, _strip_suffix(e), str(manifest)))
    return _unique(named)


def read_manifest(path: str | os.PathLike) -> list[str]:
    """The entries of a manifest: one path per line; blank lines and ``#`` comments skipped.

    A CSV manifest works too: when its first line has a column named ``path`` (or
    ``file``), that column is read, else the first column of every line.
    """
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            lines = [line for line in fh.read().splitlines()
                     if line.strip() and not line.lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"cannot read the manifest '{path}': "
                             f"{getattr(exc, 'strerror', None) or exc}") from None
    if not lines or ("," not in lines[0] and "\t" not in lines[0]):
        return [line.strip() for line in lines]
    rows = list(csv.reader(lines, dialect=csv.Sniffer().sniff(lines[0], delimiters=",\t")))
    header = [c.strip().lower() for c in rows[0]]
    col = next((header.index(n) for n in ("path", "file") if n in header), None)
    body = rows[1:] if col is not None else rows
    return [r[col or 0].strip() for r in body if len(r) > (col or 0) and r[col or 0].strip()]


def id_name(track_id: str) -> str:
    """The output name of a track named by its id: ``3f/3f9a...`` (256 folders at most)."""
    return f"{track_id[:2]}/{track_id}"


def _strip_suffix(relative: Path) -> str:
    return PurePosixPath(*relative.with_suffix("").parts).as_posix()


def _unique(named: list[NamedInput]) -> list[NamedInput]:
    """Drop repeats of a file (the first mention names it); refuse two files with one name."""
    by_key: dict[str, NamedInput] = {}
    seen: set[tuple] = set()
    out = []
    for n in named:
        identity = file_identity(n.path)
        if identity in seen:
            continue
        first = by_key.get(n.name.casefold())
        if first is not None:
            raise ParameterError(
                f"'{first.path}' and '{n.path}' would both be written as "
                f"'{n.name}{OUTPUT_INFIX}.*': analyse them into different output folders, or give "
                "a folder that holds both (its tree is mirrored under the output folder)")
        seen.add(identity)
        by_key[n.name.casefold()] = n
        out.append(n)
    return out
