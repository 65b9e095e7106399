"""CSV and JSON files of an analysed track (``emotrack analyze``).

The ``write_*`` functions are atomic (:func:`~emotrack.realtime.atomic_files.atomic_path`):
an interrupted run never leaves a half-written file under the final name.  A
track's whole set of files is written by :mod:`emotrack.realtime.track_outputs`.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from ..model import json_strict
from .analysis import AnalysisResult
from .atomic_files import atomic_path

__all__ = ["CSV_COLUMNS", "atomic_path", "csv_text", "json_document", "json_text",
           "write_csv", "write_json", "write_text_atomic"]

CSV_COLUMNS = ("time_s", "arousal", "valence")


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def csv_text(result: AnalysisResult) -> str:
    """CSV with a header line ``time_s,arousal,valence`` and one row per 500 ms frame."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for t, (a, v) in zip(result.time_s, result.values):
        writer.writerow((f"{t:.3f}", f"{a:.5f}", f"{v:.5f}"))
    return buf.getvalue()


def json_document(result: AnalysisResult) -> dict:
    """The JSON document: the frames plus facts about file, model and features.

    ``audio.duration_s`` is the decoded length; when decoding stopped early,
    ``audio.decoded_to_end`` is false and ``audio.early_end`` says how much was
    decoded of the ``audio.header_duration_s`` the header announces.

    When the result carries tags (``--model musicnn``), ``tag_names`` lists them and
    each frame has ``tags``: the probabilities in that order (4 decimals).
    """
    info = result.info
    spec = result.spec
    doc = {
        "file": str(info.path),
        "audio": {"sample_rate": info.sample_rate, "channels": info.channels,
                  "duration_s": round(info.duration_s, 4), "format": info.format,
                  "header_duration_s": (round(info.header_duration_s, 4)
                                        if info.header_duration_s is not None else None),
                  "decoded_to_end": info.early_end is None, "early_end": info.early_end},
        "mode": result.mode,
        "time_convention": "time_s is the end of each 500 ms frame k, (k+1)*frame_seconds, "
                           "as in live results",
        "columns": ["time_s", "arousal", "valence"],
        "frame_seconds": spec.frame_seconds if spec else None,
        "warming_up_frames": int(result.warming_up.sum()),
        "model": result.model,
        "feature_spec": spec.to_dict() if spec else None,
        "feature_spec_hash": spec.hash if spec else None,
        "frames": [
            {"time_s": round(float(t), 3), "arousal": round(float(a), 5), "valence": round(float(v), 5)}
            for t, (a, v) in zip(result.time_s, result.values)
        ],
    }
    if result.tags is not None:
        doc["tag_names"] = list(result.tag_names)
        for frame, row in zip(doc["frames"], result.tags):
            frame["tags"] = [round(float(p), 4) for p in row]
    return doc


def write_csv(result: AnalysisResult, path: str | os.PathLike) -> Path:
    """Write :func:`csv_text` atomically."""
    return write_text_atomic(path, csv_text(result))


def json_text(result: AnalysisResult) -> str:
    """:func:`json_document` as standard JSON text (indented; NaN/Inf written as null)."""
    return json_strict.dumps(json_document(result), indent=1) + "\n"


def write_json(result: AnalysisResult, path: str | os.PathLike) -> Path:
    """Write :func:`json_text` atomically (UTF-8)."""
    return write_text_atomic(path, json_text(result))
