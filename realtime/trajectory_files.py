"""Atomic CSV and JSON files of an analysed track (``emotrack analyze``).

Every file is written to a temporary file in the target directory and moved
into place with ``os.replace``, so an interrupted run never leaves a
half-written file under the final name.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .analysis import AnalysisResult
from .schema import COMMON_COLUMNS, analysis_rows, columns, csv_cell, dumps, tags_dict



@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def csv_text(result: AnalysisResult) -> str:
    """CSV of the trajectory schema (:mod:`emotrack.realtime.schema`): header + one row per frame."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns(result.extra_names, live=False))
    extras = result.frames.extras
    for i, row in enumerate(analysis_rows(result)):
        cells = [csv_cell(row[c]) for c in COMMON_COLUMNS]
        if result.extra_names and extras is not None:
            cells += [f"{x:.4f}" for x in extras[i]]
        writer.writerow(cells)
    return buf.getvalue()


def json_document(result: AnalysisResult) -> dict:
    """The JSON document: the frames (trajectory schema) plus facts about file, model and scale.

    When the tracker has extras (musicnn), ``tag_names`` lists them and each frame has
    ``"tags": {name: probability}``.  Every number is finite or null.
    """
    info = result.info
    fr = result.frames
    frames = list(analysis_rows(result))
    if result.extra_names and fr.extras is not None:
        for frame, row in zip(frames, fr.extras):
            frame["tags"] = tags_dict(result.extra_names, row)
    doc = {
        "file": str(info.path),
        "audio": {"sample_rate": info.sample_rate, "channels": info.channels,
                  "duration_s": round(info.duration_s, 4), "format": info.format},
        "decoding": {"complete": result.early_end is None, "note": result.early_end},
        "mode": result.mode,
        "time_convention": "time_s is the end of each 500 ms frame k, (k+1)*0.5 s, as in live results",
        "columns": list(COMMON_COLUMNS),
        "frame_seconds": result.frame_seconds,
        "warming_up_frames": int(fr.warming_up.sum()),
        "silent_frames": int(fr.silent.sum()),
        "display_scale": None if result.scale is None else {
            "reference": result.scale.reference,
            "meaning": "arousal_pct/valence_pct: percentile of the raw value among the frames of "
                       "the reference music; the plane shows pct/50 - 1"},
        "model": result.model,
        "frames": frames,
    }
    if result.extra_names:
        doc["tag_names"] = list(result.extra_names)
    return doc


def write_csv(result: AnalysisResult, path: str | os.PathLike) -> Path:
    """Write :func:`csv_text` atomically."""
    return write_text_atomic(path, csv_text(result))


def write_json(result: AnalysisResult, path: str | os.PathLike) -> Path:
    """Write :func:`json_document` atomically (indented, UTF-8, strict JSON)."""
    return write_text_atomic(path, dumps(json_document(result), indent=1) + "\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
