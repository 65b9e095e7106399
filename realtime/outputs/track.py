"""The files of analysed tracks under one output folder: each track's set appears whole or not at all.

:class:`TrackWriter` is what ``emotrack analyze`` (and a catalog run) writes
through:

- it **locks** the output folder for the run (:func:`~.atomic_files.folder_lock`):
  a second run into the same folder stops at once with a clear error instead of
  overwriting the first one's files;
- a track's CSV, JSON and PNG go to hidden temporaries and are renamed in
  together (:class:`~.atomic_files.OutputSet`): a failure (disk full, Ctrl-C,
  SIGTERM) leaves that track's earlier files exactly as they were;
- the first time it writes into a folder it finishes or removes what a killed
  run left there (:func:`~.atomic_files.clean_leftovers`);
- it writes nothing outside the output folder: a target whose folder leads out
  of it (a symbolic link to elsewhere) fails that track only.

Names come from :mod:`.names` (``OUT/NAME.emotrack.EXT``).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable

from ...model.errors import ParameterError
from ...model.validate import naming_write_errors, writable_dir
from ..analysis import AnalysisResult
from .atomic_files import OutputSet, check_replaceable, clean_leftovers, folder_lock
from .names import NamedInput
from .state_files import inside

def _csv_bytes(result: AnalysisResult) -> bytes:
    from .trajectory_files import csv_text

    return csv_text(result).encode("utf-8")


def _json_bytes(result: AnalysisResult) -> bytes:
    from .trajectory_files import json_text

    return json_text(result).encode("utf-8")


def _png_bytes(result: AnalysisResult) -> bytes:
    import io

    from .plots import save_png  # matplotlib only when a PNG is asked for

    buf = io.BytesIO()
    save_png(result, buf)
    return buf.getvalue()


RENDERERS: dict[str, Callable[[AnalysisResult], bytes]] = {
    "csv": _csv_bytes, "json": _json_bytes, "png": _png_bytes}
"""Format -> function giving that file's content."""

FORMATS = tuple(RENDERERS)
"""The per-track formats, in the order they are written."""


def render(result: AnalysisResult, formats: tuple[str, ...]) -> dict[str, bytes]:
    """The content of each of ``formats`` for one track (a worker process can do this part)."""
    return {fmt: RENDERERS[fmt](result) for fmt in formats}


class TrackWriter:
    """Writes analysed tracks' files under ``out_dir``; use as a context manager (holds the lock).

    Parameters
    ----------
    out_dir : path-like
        The output folder (created if needed).
    formats : tuple of str
        A subset of :data:`FORMATS`.
    warn : callable, optional
        Prints a warning line (a bad journal set aside); default: standard error.
    """

    def __init__(self, out_dir: str | os.PathLike, formats: tuple[str, ...],
                 warn: Callable[[str], None] | None = None) -> None:
        bad = [f for f in formats if f not in RENDERERS]
        if bad:
            raise ParameterError(f"output formats must be a subset of {FORMATS}, got {formats!r}")
        self.out_dir = Path(out_dir)
        self.formats = tuple(formats)
        self._cleaned: set[Path] = set()
        self._warn = warn
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "TrackWriter":
        writable_dir(self.out_dir, what="output folder")
        self._stack.enter_context(folder_lock(self.out_dir, holder="another emotrack run"))
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def targets(self, track: NamedInput) -> dict[str, Path]:
        """Format -> output path of ``track``."""
        return {fmt: track.output(self.out_dir, fmt) for fmt in self.formats}

    def check(self, track: NamedInput) -> dict[str, Path]:
        """:meth:`targets`, after checking each can be replaced (absent or a regular file).

        Raises
        ------
        ParameterError
            An output name is taken by a folder, a device, a FIFO..., or its folder
            leads out of the output folder.
        """
        targets = self.targets(track)
        for path in targets.values():
            if not inside(path.parent, self.out_dir):
                raise ParameterError(f"'{path}' would be written outside the output folder "
                                     f"'{self.out_dir}' (a symbolic link on the way?); nothing "
                                     "is written there")
            check_replaceable(path)
        return targets

    def write(self, track: NamedInput, result: AnalysisResult) -> list[Path]:
        """Render and write every format of ``track`` together; returns the paths written."""
        return self.write_rendered(track, render(result, self.formats))

    def write_rendered(self, track: NamedInput, rendered: dict[str, bytes]) -> list[Path]:
        """Write already rendered files of ``track`` (:func:`render`) together.

        On any failure no file of this track changes (only its temporaries are removed).
        """
        if not rendered:
            return []
        targets = {fmt: path for fmt, path in self.check(track).items() if fmt in rendered}
        folder = next(iter(targets.values())).parent
        folder.mkdir(parents=True, exist_ok=True)
        self.clean(folder)
        with OutputSet(list(targets.values())) as out:
            for fmt, path in targets.items():
                with naming_write_errors(path, what="output"):  # disk full: name the output
                    out.temp(path).write_bytes(rendered[fmt])
            out.commit()
        return list(targets.values())

    def clean(self, folder: Path) -> None:
        """Finish or remove a killed run's leftovers in ``folder`` (once per folder and run)."""
        if folder not in self._cleaned:
            clean_leftovers(folder, warn=self._warn)
            self._cleaned.add(folder)
