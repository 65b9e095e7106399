"""CSV and JSON files of an analysed track (``emotrack analyze``).

The ``write_*`` functions are atomic (:func:`~emotrack.realtime.outputs.atomic_files.atomic_path`):
an interrupted run never leaves a half-written file under the final name.  A
track's whole set of files is written by :mod:`emotrack.realtime.outputs.track`.
"""
from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

from ..analysis import AnalysisResult
from .atomic_files import atomic_path
from .schema import COMMON_COLUMNS, analysis_rows, columns, csv_cell, dumps, tag_cells, tags_dict

__all__ = ["atomic_path", "csv_text", "json_document", "json_text", "write_csv", "write_json",
           "write_text_atomic"]



def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def csv_text(result: AnalysisResult) -> str:
    """CSV of the trajectory schema (:mod:`emotrack.realtime.outputs.schema`): header + one row per frame."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns(result.extra_names, live=False))
    extras = result.frames.extras
    for i, row in enumerate(analysis_rows(result)):
        cells = [csv_cell(row[c]) for c in COMMON_COLUMNS]
        if result.extra_names:
            cells += tag_cells(None if extras is None or row["silent"] else extras[i],
                               len(result.extra_names))
        writer.writerow(cells)
    return buf.getvalue()


def json_document(result: AnalysisResult) -> dict:
    """The JSON document: the frames (trajectory schema) plus facts about file, model and scale.

    When the tracker has extras (musicnn), ``tag_names`` lists them and each frame has
    ``"tags": {name: probability}``.  Every number is finite or null.  When decoding
    stopped before the end of the file, ``decoding.complete`` is false and
    ``decoding.note`` says how much was decoded.  ``silence`` and ``uncertainty`` say
    what a silent frame's nulls and the ``*_sd`` columns mean.
    """
    info = result.info
    fr = result.frames
    frames = list(analysis_rows(result))
    if result.extra_names and fr.extras is not None:
        for frame, row in zip(frames, fr.extras):
            frame["tags"] = None if frame["silent"] else tags_dict(result.extra_names, row)
    doc = {
        "file": str(info.path),
        "audio": {"sample_rate": info.sample_rate, "channels": info.channels,
                  "duration_s": round(info.duration_s, 4), "format": info.format},
        "decoding": {"complete": result.early_end is None, "note": result.early_end,
                     "decoder_note": result.decoder_note},
        "mode": result.mode,
        "time_convention": "time_s is the end of each 500 ms frame k, (k+1)*0.5 s, as in live results",
        "columns": list(COMMON_COLUMNS),
        "frame_seconds": result.frame_seconds,
        "warming_up_frames": int(fr.warming_up.sum()),
        "silent_frames": int(fr.silent.sum()),
        "silence": "a silent frame (below the silence threshold) has no emotion: its arousal, "
                   "valence, *_sd, *_pct, mood and tags are null; its flags and level_db are kept",
        "uncertainty": {
            "known": fr.sd is not None,
            "meaning": "arousal_sd/valence_sd: a standard deviation of the raw value, on the raw "
                       "(emoMusic rater) scale, calibrated on songs the model did not learn from; "
                       "null when the tracker has no uncertainty model. " + _word_rule(result)},
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


def json_text(result: AnalysisResult) -> str:
    """:func:`json_document` as strict JSON text (indented; NaN/Inf written as null)."""
    return dumps(json_document(result), indent=1) + "\n"


def write_json(result: AnalysisResult, path: str | os.PathLike) -> Path:
    """Write :func:`json_text` atomically (UTF-8)."""
    return write_text_atomic(path, json_text(result))


def _word_rule(result: AnalysisResult) -> str:
    """How this file's mood words were decided, in one sentence (:mod:`emotrack.realtime.mood`)."""
    halfwidth = result.side_halfwidth
    if halfwidth is None:
        return "The mood word is given only where value +- 1.28 sd (80 %) lies inside its region"
    far = ", ".join(f"{'never' if not math.isfinite(h) else f'{h:.3f}'} ({axis})"
                    for h, axis in zip(halfwidth, ("arousal", "valence")))
    return ("The mood word names a side of an axis only where the value lies at least " + far
            + " from the plane's centre on the raw scale, where listeners put such songs on that side "
              "with a calibrated probability of 90 % (the head's words.side_halfwidth), and a circumplex "
              "word only where value +- that distance lies inside its region")
