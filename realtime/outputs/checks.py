"""Check a run's output paths before anything is written: never an input, never twice, always a file.

``emotrack listen --csv/--jsonl/--record`` calls :func:`check_output_paths`
before it opens the source, loads the model or creates any file.  A path is
refused (ParameterError naming the option and the path) when it

- is one of the run's inputs (the song being listened to), also through a
  different spelling, a symbolic link or a hard link;
- is another output of the same run (``--csv x --jsonl x``), by the same test;
- exists and is not a regular file (a folder, ``/dev/null``, a named pipe...);
- would grow beside a ``NAME.part.EXT`` file that exists already
  (:class:`~.atomic_files.LiveFile`), or lies in a folder that cannot be written.

"Same file" means the same ``os.stat`` identity (device, inode) when the file
exists, and the same resolved path (symbolic links followed) otherwise.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from ...model.errors import ParameterError
from .atomic_files import LiveFile, file_identity, file_kind


@dataclass(frozen=True)
class OutputTarget:
    """A checked output file.

    Attributes
    ----------
    option : str
        The option that named it (``"--csv"``).
    given : str
        The path as the user typed it.
    path : Path
        Where it is written: ``given`` with symbolic links followed.
    """

    option: str
    given: str
    path: Path

    def live_file(self) -> LiveFile:
        """The :class:`LiveFile` that fills this target during a run."""
        return LiveFile(self.path)


def check_output_paths(outputs: Mapping[str, str | None], *,
                       inputs: Iterable[str | os.PathLike] = ()) -> list[OutputTarget]:
    """Check every output path of one run; touches no file.

    Parameters
    ----------
    outputs : mapping of option -> path or None
        e.g. ``{"--csv": "o.csv", "--jsonl": None}``; None entries are skipped.
    inputs : iterable of path-like
        The files the run reads.

    Returns
    -------
    list of OutputTarget
        In the order of ``outputs``.

    Raises
    ------
    ParameterError
        See the module docstring.
    """
    taken: dict[tuple, str] = {file_identity(Path(p)): f"the input file '{p}'" for p in inputs}
    targets = []
    for option, given in outputs.items():
        if given is None:
            continue
        if not str(given).strip():
            raise ParameterError(f"{option} needs a file path, got {given!r}")
        target = OutputTarget(option, str(given), Path(os.path.realpath(given)))
        live = target.live_file()
        for path, role, own in ((target.path, "is", "the file"),
                                (live.part, f"would grow as '{live.part}', which is", "the temporary file")):
            clash = taken.get(file_identity(path))
            if clash is not None:
                raise ParameterError(f"{option} '{given}' {role} {clash}; give each output its "
                                     "own file, never an input")
            taken[file_identity(path)] = f"{own} of {option} '{given}'"
        kind = file_kind(target.path)
        if kind not in (None, "regular file"):
            raise ParameterError(f"{option} '{given}' is {kind}, not a regular file; give a file path")
        live.check(what=option)
        _check_folder(target)
        targets.append(target)
    return targets


def _check_folder(target: OutputTarget) -> None:
    """The nearest existing folder above the target must be a writable folder."""
    existing = next((q for q in target.path.parents if os.path.lexists(q)), None)
    if existing is None or not existing.is_dir():
        raise ParameterError(f"{target.option} '{target.given}': its folder cannot be created "
                             f"('{existing}' is not a folder)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ParameterError(f"{target.option} '{target.given}': the folder '{existing}' "
                             "is not writable")


def check_record_format(path: str, *, option: str) -> None:
    """ParameterError unless soundfile can write audio files with the extension of ``path``."""
    import soundfile as sf

    ext = os.path.splitext(path)[1].lstrip(".").upper()
    if ext not in sf.available_formats():
        raise ParameterError(f"{option} '{path}': cannot write '.{ext.lower()}' audio files; "
                             "name it .wav, .flac or .ogg")
