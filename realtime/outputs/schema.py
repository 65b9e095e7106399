"""The trajectory schema: one set of columns for live runs (``listen --csv/--jsonl``) and files (``analyze``).

Columns, in this order (a live CSV and an ``analyze`` CSV of the same audio line up
column for column; extras come after what both have):

================  =====================================================================
frame_index       frame ``k`` (0, 1, 2, ...)
time_s            end of the frame, ``(k + 1) * 0.5`` s (file position, or seconds since the start)
arousal           raw prediction, the tracker's scale (the emoMusic rater scale, [-1, 1])
valence           raw prediction, same scale
arousal_sd        uncertainty of ``arousal``: a standard deviation on the raw scale, calibrated
                  on held-out songs (empty when the tracker has no uncertainty model)
valence_sd        the same for ``valence``
arousal_pct       percentile of ``arousal`` among the reference music's frames (0-100; empty without a scale)
valence_pct       percentile of ``valence`` (0-100; empty without a scale)
mood              the word of the point (:func:`~emotrack.realtime.mood.mood_words`: a circumplex
                  word where the point is confidently in its region, else what is known,
                  e.g. ``calm; valence unclear``); empty when silent
warming_up        1 while the tracker's context is still padded
silent            1 when the frame is below the silence threshold
level_db          RMS level of the frame's audio, dBFS
wall_time         live only: UTC time the result was ready (ISO 8601, milliseconds)
latency_ms        live only: newest audio sample to result
tag_<name>...     the tracker's extras (musicnn: 50 tag probabilities), names sanitised
================  =====================================================================

JSON (``analyze`` documents and ``listen --jsonl`` lines) uses the same names; extras
are one object ``"tags": {name: probability}`` instead of flat columns.  Non-finite
numbers never reach a file: :func:`json_safe` (``model/json_strict.py``, shared with
train/) turns them into ``null`` and writers use ``allow_nan=False``.

Silence carries no numbers (DESIGN contract 7), one rule for every output: a silent
frame's ``arousal``, ``valence``, ``*_sd``, ``*_pct``, ``mood`` and tags are empty CSV
cells, JSON ``null`` (``"tags": null``) and Parquet nulls; ``frame_index``, ``time_s``,
``warming_up``, ``silent`` = 1 and ``level_db`` are kept.  :func:`common_row` applies it.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any, Iterator

import numpy as np

from ...model import json_strict
from ...model.scale import plane_of
from ..mood import mood_words
from ..results import TrackResult

COMMON_COLUMNS = ("frame_index", "time_s", "arousal", "valence", "arousal_sd", "valence_sd",
                  "arousal_pct", "valence_pct", "mood", "warming_up", "silent", "level_db")
"""Columns of every trajectory, live or offline, in file order."""

LIVE_COLUMNS = ("wall_time", "latency_ms")
"""Columns only a live run has (after the common ones)."""


def extra_columns(extra_names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """CSV column names of a tracker's extras: ``tag_`` + the name with non-alphanumerics as ``_``."""
    return tuple("tag_" + re.sub(r"[^0-9A-Za-z]+", "_", n).strip("_") for n in extra_names)


def columns(extra_names=(), *, live: bool) -> tuple[str, ...]:
    """All CSV columns of a trajectory."""
    return COMMON_COLUMNS + (LIVE_COLUMNS if live else ()) + extra_columns(extra_names)


def wall_time_iso(t: float) -> str:
    """Unix seconds -> ``2026-12-02T10:15:30.125Z``."""
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _num(x: float | None, digits: int) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def common_row(frame_index: int, time_s: float, arousal: float, valence: float,
               pct: tuple[float, float] | None, mood: str, warming_up: bool, silent: bool,
               level_db: float, sd: tuple[float | None, float | None] | None = None) -> dict[str, Any]:
    """The common columns of one frame (None for a missing percentile or sd).

    A silent frame gets no numbers and no word, whatever was passed (see the module
    docstring): the one place the silence rule of the files is applied.
    """
    if silent:
        arousal = valence = math.nan
        pct, sd, mood = None, None, ""
    sd = sd or (None, None)
    return {"frame_index": int(frame_index), "time_s": round(float(time_s), 3),
            "arousal": _num(arousal, 5), "valence": _num(valence, 5),
            "arousal_sd": _num(sd[0], 5), "valence_sd": _num(sd[1], 5),
            "arousal_pct": None if pct is None else _num(pct[0], 2),
            "valence_pct": None if pct is None else _num(pct[1], 2),
            "mood": mood, "warming_up": int(bool(warming_up)), "silent": int(bool(silent)),
            "level_db": _num(max(float(level_db), -200.0), 2)}


def live_row(r: TrackResult) -> dict[str, Any]:
    """One live result as a row (common + live columns; extras not included)."""
    pct = None if r.arousal_pct is None else (r.arousal_pct, r.valence_pct)
    row = common_row(r.frame_index, r.time_s, r.arousal, r.valence, pct, r.mood, r.warming_up,
                     r.silent, r.level_db, sd=(r.arousal_sd, r.valence_sd))
    row["wall_time"] = wall_time_iso(r.t_wall) if r.t_wall else None
    row["latency_ms"] = _num(r.latency_ms, 3)
    return row


def display_plane(result, percentiles: np.ndarray | None = None) -> np.ndarray:
    """(n, 2) (arousal, valence) of each frame on the display plane, [-1, 1]
    (:func:`~emotrack.model.scale.plane_of`; pass ``result.percentiles`` if already computed)."""
    return plane_of(result.frames.values, result.scale, percentiles=percentiles)


def analysis_rows(result) -> Iterator[dict[str, Any]]:
    """Rows (common columns) of an :class:`~emotrack.realtime.analysis.AnalysisResult`."""
    fr = result.frames
    pct = result.percentiles
    moods = mood_words(fr.values, scale=result.scale, sd=fr.sd, silent=fr.silent, percentiles=pct,
                       side_halfwidth=result.side_halfwidth)
    for i in range(len(fr)):
        a, v = float(fr.values[i, 0]), float(fr.values[i, 1])
        yield common_row(int(fr.index[i]), float(fr.time_s[i]), a, v,
                         None if pct is None else (float(pct[i, 0]), float(pct[i, 1])),
                         moods[i], bool(fr.warming_up[i]), bool(fr.silent[i]), float(fr.level_db[i]),
                         sd=None if fr.sd is None else (float(fr.sd[i, 0]), float(fr.sd[i, 1])))


def tags_dict(extra_names, values) -> dict[str, float | None] | None:
    """``{name: probability}`` (4 decimals) of one frame's extras (None without extras; the
    writers give a silent frame ``"tags": null``)."""
    if values is None:
        return None
    return {n: _num(float(x), 4) for n, x in zip(extra_names, values)}


def tag_cells(values, n: int) -> list[str]:
    """CSV cells of one frame's extras (4 decimals; empty for a silent frame or none)."""
    if values is None:
        return [""] * n
    return [f"{x:.4f}" if math.isfinite(x) else "" for x in values]


def csv_cell(value: Any) -> str:
    """A value as CSV text: empty for None, ints for flags, numbers as given."""
    if value is None:
        return ""
    return str(value)


json_safe = json_strict.finite_or_none
"""A copy of an object with every non-finite float (NaN, inf) replaced by None (JSON ``null``)."""

dumps = json_strict.dumps
"""Strict JSON (RFC 8259): non-finite numbers become null, never ``NaN``."""
