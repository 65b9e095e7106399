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

A name is never empty: a file whose name is only its extension (``.wav``) or
whose stem is ``.`` or ``..`` (``..wav``) keeps its whole file name
(``..wav.emotrack.csv``).  An output file name that would pass 255 bytes is cut
and ends with ``~`` and 8 hex digits of a hash of the whole name
(:func:`~.state_files.shorten`).  A first folder named ``catalog`` (any case)
is written as ``catalog_`` (``OUT/catalog`` holds only the Parquet tables).

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
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable

from ...model.errors import ParameterError
from .atomic_files import file_identity
from .state_files import NAME_MAX, BadStateFile, open_regular, shorten

OUTPUT_INFIX = ".emotrack"
"""Every output file is ``NAME.emotrack.EXT``."""
RESERVED_FOLDERS = ("catalog",)
"""First folders of the output folder that hold emotrack's tables, never per-track files."""
_LONGEST_EXT = 6
MAX_MANIFEST_BYTES = 256 << 20
"""About two million entries; a larger manifest is refused (and never read whole)."""
MAX_ENTRY_BYTES = 4096


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
    last = shorten(last, NAME_MAX - len(OUTPUT_INFIX) - 1 - _LONGEST_EXT)
    return Path(out_dir).joinpath(*folders, f"{last}{OUTPUT_INFIX}.{ext}")


def name_inputs(arguments: Iterable[str | os.PathLike], *, extensions: tuple[str, ...],
                manifests: Iterable[str | os.PathLike] = (),
                rejected: list[str] | None = None,
                notes: list[str] | None = None) -> list[NamedInput]:
    """Expand ``arguments`` and ``manifests`` into named input files (folders recursively, sorted).

    Parameters
    ----------
    arguments : iterable of path-like
        Files and folders, as given on the command line.
    extensions : tuple of str
        Lower-case file name endings (``".mp3"``...) that a folder contributes.
    manifests : iterable of path-like
        Files listing inputs (:func:`read_manifest`), after ``arguments``.
    rejected : list of str, optional
        Receives one line per manifest entry that cannot name a file (a NUL,
        ``.``, ``/``, too long) and per folder that cannot be listed; without it
        the first one raises.
    notes : list of str, optional
        Receives one line per link to a folder met inside a folder: links are not
        followed (a loop or a second copy of a collection), and the user is told so.

    Raises
    ------
    ParameterError
        Two different inputs would write the same outputs; an unreadable manifest.
    """
    named: list[NamedInput] = []
    for arg in arguments:
        p = Path(arg)
        if p.is_dir():
            found = sorted(_walk(p, extensions, rejected, notes))
            named.extend(NamedInput(q, _strip_suffix(q.relative_to(p)), str(arg)) for q in found)
        else:
            named.append(NamedInput(p, _strip_suffix(Path(p.name)), str(arg)))
    for manifest in manifests:
        for line, entry in manifest_entries(manifest):
            problem = _entry_problem(entry)
            if problem is not None:
                text = f"manifest '{manifest}' line {line}: {problem}"
                if rejected is None:
                    raise ParameterError(text)
                rejected.append(text)
                continue
            e = Path(entry)
            path = e if e.is_absolute() else Path(manifest).parent / e
            if e.is_absolute() or ".." in e.parts:
                e = Path(os.path.abspath(path))
                e = e.relative_to(e.anchor)
            named.append(NamedInput(path, _strip_suffix(e), str(manifest)))
    return _unique(named)


def _walk(folder: Path, extensions: tuple[str, ...], rejected: list[str] | None,
          notes: list[str] | None = None) -> list[Path]:
    """Audio files below ``folder`` (links to folders not followed, each one line in ``notes``);
    a folder that cannot be listed (a path too long, no permission) is one line in
    ``rejected`` (raised without it)."""
    found: list[Path] = []

    def failed(exc: OSError) -> None:
        text = f"cannot read the folder '{exc.filename}': {exc.strerror or exc}"
        if rejected is None:
            raise ParameterError(text)
        rejected.append(text)

    for top, dirs, files in os.walk(folder, onerror=failed):
        for name in dirs:
            if notes is not None and os.path.islink(os.path.join(top, name)):
                notes.append(f"skipped '{Path(top) / name}': a link to a folder (links are not "
                             "followed inside folders; give it as an input to analyse it)")
        for name in files:
            q = Path(top) / name
            try:
                if _audio_ext(name) in extensions and q.is_file():
                    found.append(q)
            except OSError:  # a name too long to stat: reported when it is opened
                found.append(q)
    return found


def read_manifest(path: str | os.PathLike) -> list[str]:
    """The entries of a manifest (:func:`manifest_entries`), without their line numbers."""
    return [entry for _, entry in manifest_entries(path)]


def manifest_entries(path: str | os.PathLike) -> list[tuple[int, str]]:
    """(line number, entry) of each entry of a manifest, exactly as written.

    The format is decided by the file's extension (``.csv``: comma-separated,
    ``.tsv``: tab-separated) or by a first line whose first field is ``path`` or
    ``file`` (a header); never by a comma in a file name.

    - Plain text: one path per line, kept whole (leading and trailing spaces
      included); blank lines and lines starting with ``#`` are skipped.
    - CSV/TSV: the ``path`` (or ``file``) column of the header, else the first
      column; quoted fields may hold commas and newlines; rows whose field is
      empty or starts with ``#`` are skipped.

    The manifest must be a regular file (a FIFO is refused, never waited on) of
    at most :data:`MAX_MANIFEST_BYTES`; bytes that are not UTF-8 are kept as the
    file names they spell.

    Raises
    ------
    ParameterError
        The manifest cannot be read, or it is not a regular file, too large or malformed CSV.
    """
    import csv
    import io

    def refuse(why: str) -> ParameterError:
        return ParameterError(f"cannot read the manifest '{path}': {why}")

    try:
        fd = open_regular(path, follow=True)
    except BadStateFile as exc:
        raise refuse(f"it {exc}, not a regular file") from None
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from None
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(MAX_MANIFEST_BYTES + 1)
        except OSError as exc:
            raise refuse(exc.strerror or str(exc)) from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise refuse(f"it is larger than {MAX_MANIFEST_BYTES >> 20} MiB")
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    first = next((ln.rstrip("\r") for ln in lines if ln.strip()), "")
    ext = os.path.splitext(os.fspath(path))[1].lower()
    header = re.match(r"\s*(path|file)\s*([,\t;]|$)", first, flags=re.IGNORECASE)
    if ext not in (".csv", ".tsv") and header is None:
        return [(n, ln.removesuffix("\r")) for n, ln in enumerate(lines, 1)
                if ln.strip() and not ln.startswith("#")]
    delimiter = "\t" if ext == ".tsv" else (header.group(2) if header and header.group(2) else ",")
    csv.field_size_limit(max(csv.field_size_limit(), MAX_MANIFEST_BYTES))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise refuse(f"line {reader.line_num}: {exc}") from None
    rows = [(n, r) for n, r in rows if r and any(c.strip() for c in r)]
    col = 0
    if rows:
        names = [c.strip().lower() for c in rows[0][1]]
        found = next((names.index(n) for n in ("path", "file") if n in names), None)
        if found is not None:
            col, rows = found, rows[1:]
    return [(n, r[col]) for n, r in rows
            if len(r) > col and r[col].strip() and not r[col].startswith("#")]


def _entry_problem(entry: str) -> str | None:
    """Why a manifest entry cannot name an input file (None: it can)."""
    from ...model.validate import quote

    if "\0" in entry:
        return f"the entry {quote(entry)} contains a NUL character"
    if len(os.fsencode(entry)) > MAX_ENTRY_BYTES:
        return f"the entry is too long ({len(os.fsencode(entry))} bytes, at most {MAX_ENTRY_BYTES})"
    pure = PurePosixPath(entry)
    if pure.name in ("", ".", ".."):
        return f"the entry {quote(entry)} names a folder, not a file"
    long = next((p for p in pure.parts if len(os.fsencode(p)) > NAME_MAX), None)
    if long is not None:
        return f"the entry has a name longer than {NAME_MAX} bytes: {quote(long)}"
    return None


def id_name(track_id: str) -> str:
    """The output name of a track named by its id: ``3f/3f9a...`` (256 folders at most)."""
    return f"{track_id[:2]}/{track_id}"


def _audio_ext(file_name: str) -> str:
    """The lower-case extension of an audio file's name; ``.wav`` alone counts as ``.wav``."""
    suffix = PurePosixPath(file_name).suffix
    return (suffix or file_name).lower()


def _strip_suffix(relative: Path) -> str:
    """The output name of a relative input path: without its extension, never empty."""
    *folders, last = relative.parts
    stem = PurePosixPath(last).stem if PurePosixPath(last).suffix else last
    if stem in ("", ".", ".."):
        stem = last  # '..wav': the whole file name
    if folders and folders[0].casefold() in RESERVED_FOLDERS:
        folders[0] += "_"  # OUT/catalog holds the tables only
    return PurePosixPath(*folders, stem).as_posix()


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
