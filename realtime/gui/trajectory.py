"""The GUI's record of a session: every result for export, bounded views for drawing.

A *segment* is a run of results with contiguous audio time (each result
``frame_seconds`` after the previous one).  Opening a source, seeking in a file,
or any discontinuity in the results' audio time starts a new segment;
the plots show the current segment only (a seek restarts the 30 s analysis
window, so the warm-up is shown again), the CSV export holds every segment.

What is drawn are positions on the *display plane* (``TrackResult.plane``: the
percentiles of the tracker's reference music mapped to [-1, 1], or the raw values
for a checkpoint without a display scale); silent frames are NaN there, so no
point or curve is drawn for them (a frame whose values are missing, None or NaN, is
treated the same way).  The raw values, percentiles and flags are kept for the CSV export.

Uncertainty: a result with ``arousal_sd``/``valence_sd`` (a standard deviation on the raw
scale) also gets a band on the display plane, ``plane_of(raw - sd)`` .. ``plane_of(raw + sd)``
per axis through the tracker's display scale (:attr:`TrajectoryStore.scale`), so the band is
asymmetric where the scale is; without an sd the band is NaN and nothing is drawn.

Nothing here imports Qt, so the drawing cost can be separated from the data cost
in tests and benchmarks.  Work per redraw is bounded: the trail is at most
``trail_s * frame_rate`` points and the time-series view is decimated to at most
``max_points`` points, whatever the session length.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from typing import Iterable, NamedTuple

import numpy as np

from ...model.scale import plane_of
from ..outputs.schema import COMMON_COLUMNS, common_row, csv_cell

#: Columns of the exported CSV, in order: the segment, then the trajectory schema's columns.
CSV_COLUMNS = ("segment", *COMMON_COLUMNS)


class Latest(NamedTuple):
    """The newest result of the current segment, as drawn."""

    time_s: float
    arousal: float
    """Display-plane y (NaN when silent)."""
    valence: float
    """Display-plane x (NaN when silent)."""
    warming_up: bool
    silent: bool
    mood: str
    raw_arousal: float
    raw_valence: float
    arousal_pct: float
    """NaN without a display scale."""
    valence_pct: float
    extras: tuple | None
    band: tuple[float, float, float, float] | None = None
    """Uncertainty on the display plane: ``(arousal_lo, arousal_hi, valence_lo, valence_hi)``
    (None without an sd)."""
    raw_sd: tuple[float, float] | None = None
    """``(arousal_sd, valence_sd)`` on the raw scale (None without an sd)."""


@dataclass(frozen=True)
class SeriesView:
    """Arrays (all the same length) to draw in the time-series plot.

    ``arousal_band``/``valence_band`` are ``(lo, hi)`` arrays on the display plane (NaN
    where a result had no sd), or None when no result of the view has one.
    """

    time_s: np.ndarray
    arousal: np.ndarray
    valence: np.ndarray
    arousal_band: tuple[np.ndarray, np.ndarray] | None = None
    valence_band: tuple[np.ndarray, np.ndarray] | None = None


class TrajectoryStore:
    """Growing column arrays of results, with segment bookkeeping.

    Parameters
    ----------
    frame_seconds : float
        Spacing of consecutive results in audio time (0.5 s for the CAE).
    max_points : int
        Results kept in memory; beyond it the oldest half is dropped
        (345 600 = 48 hours at 2 Hz, about 12 MB).
    max_stale : int
        After :meth:`begin_segment` with an expected start time, at most this
        many results that do not start there (analysed before the seek took
        effect) are discarded; then the next result is taken whatever its time.
    """

    def __init__(self, *, frame_seconds: float = 0.5, max_points: int = 345_600,
                 max_stale: int = 64) -> None:
        self.frame_seconds = float(frame_seconds)
        self.max_points = int(max_points)
        self.max_stale = int(max_stale)
        self._expect: float | None = None
        self._stale = 0
        self.stale_discarded = 0  #: results dropped because they predate a seek
        self.version = 0  #: increases on every change, so views can skip redundant redraws
        self._alloc(1024)
        self._n = 0
        self._segment = 0
        self._seg_start = 0
        self._new_segment_pending = False
        self._dropped = 0
        self._latest_extras = None
        self.scale = None
        """The tracker's :class:`~emotrack.model.scale.DisplayScale` (None: raw values), used to
        put uncertainty bands on the display plane; set it when the tracker changes."""

    def _alloc(self, cap: int) -> None:
        self._frame = np.zeros(cap, np.int64)
        self._time = np.zeros(cap, np.float64)
        self._arousal = np.zeros(cap, np.float32)  # display plane, NaN when silent
        self._valence = np.zeros(cap, np.float32)
        self._raw = np.zeros((cap, 2), np.float32)
        self._pct = np.zeros((cap, 2), np.float32)  # NaN without a display scale
        self._level = np.zeros(cap, np.float32)
        self._warm = np.zeros(cap, bool)
        self._silent = np.zeros(cap, bool)
        self._mood = np.zeros(cap, object)
        self._seg = np.zeros(cap, np.int32)
        self._sd = np.zeros((cap, 2), np.float32)  # raw scale; NaN without an uncertainty model
        self._band = np.zeros((cap, 4), np.float32)  # display plane: a_lo, a_hi, v_lo, v_hi

    def _columns(self) -> tuple[np.ndarray, ...]:
        return (self._frame, self._time, self._arousal, self._valence, self._raw, self._pct,
                self._level, self._warm, self._silent, self._mood, self._seg, self._sd, self._band)

    def _grow(self, need: int) -> None:
        cap = len(self._time)
        if need <= cap:
            return
        new_cap = max(need, 2 * cap)
        old = self._columns()
        self._alloc(new_cap)
        for dst, src in zip(self._columns(), old):
            dst[: self._n] = src[: self._n]

    def _drop_oldest(self, count: int) -> None:
        keep = self._n - count
        for arr in self._columns():
            arr[:keep] = arr[count: self._n]
        self._n = keep
        self._seg_start = max(0, self._seg_start - count)
        self._dropped += count

    # ---------------------------------------------------------------- writing
    def clear(self) -> None:
        """Forget everything (a new source was opened)."""
        self._n = 0
        self._segment = 0
        self._seg_start = 0
        self._new_segment_pending = False
        self._expect = None
        self._dropped = 0
        self._latest_extras = None
        self.version += 1

    def begin_segment(self, expect_time_s: float | None = None) -> None:
        """The next result starts a new segment (called on seek).

        With ``expect_time_s`` (the audio time of the first result after a seek
        to ``s``: ``s + frame_seconds``), results still in flight from before the
        seek are discarded until one with that time arrives.
        """
        self._new_segment_pending = True
        self._expect = expect_time_s
        self._stale = 0
        self.version += 1

    def append(self, results: Iterable) -> int:
        """Add :class:`~emotrack.realtime.results.TrackResult` objects; returns the number added."""
        added = 0
        tol = 0.25 * self.frame_seconds
        for r in results:
            t = float(r.time_s)
            if self._expect is not None:
                if abs(t - self._expect) > tol and self._stale < self.max_stale:
                    self._stale += 1
                    self.stale_discarded += 1
                    continue
                self._expect = None
            if self._n:
                jumped = abs(t - (self._time[self._n - 1] + self.frame_seconds)) > tol
            else:
                jumped = False
            if self._n and (self._new_segment_pending or jumped) and self._n > self._seg_start:
                self._segment += 1
                self._seg_start = self._n
            self._new_segment_pending = False
            if self._n >= self.max_points:
                self._drop_oldest(max(1, self.max_points // 2))
            self._grow(self._n + 1)
            i = self._n
            silent = bool(getattr(r, "silent", False))
            raw_a, raw_v = _num(r.arousal), _num(r.valence)
            pa, pv = _num(getattr(r, "arousal_pct", None)), _num(getattr(r, "valence_pct", None))
            if silent:
                x = y = np.nan
            elif math.isfinite(pa) and math.isfinite(pv):
                x, y = pv / 50.0 - 1.0, pa / 50.0 - 1.0  # TrackResult.plane
            else:
                x, y = (min(1.0, max(-1.0, c)) if math.isfinite(c) else np.nan for c in (raw_v, raw_a))
            sd = (_num(getattr(r, "arousal_sd", None)), _num(getattr(r, "valence_sd", None)))
            self._frame[i] = int(r.frame_index)
            self._time[i] = t
            self._arousal[i] = y
            self._valence[i] = x
            self._raw[i] = (raw_a, raw_v)
            self._pct[i] = (pa, pv) if math.isfinite(pa) and math.isfinite(pv) else (np.nan, np.nan)
            self._sd[i] = sd
            self._band[i] = np.nan if silent else self._band_of(raw_a, raw_v, sd)
            self._level[i] = float(_num(getattr(r, "level_db", 0.0)))
            self._warm[i] = bool(r.warming_up)
            self._silent[i] = silent
            self._mood[i] = str(getattr(r, "mood", ""))
            self._seg[i] = self._segment
            self._latest_extras = getattr(r, "extras", None)
            self._n += 1
            added += 1
        if added:
            self.version += 1
        return added

    def _band_of(self, raw_a: float, raw_v: float, sd: tuple[float, float]) -> np.ndarray:
        """``(a_lo, a_hi, v_lo, v_hi)`` on the display plane for raw values +- sd (NaN without sd)."""
        if not all(math.isfinite(c) for c in (raw_a, raw_v, *sd)):
            return np.full(4, np.nan, np.float32)
        raw = np.array([[raw_a - sd[0], raw_v - sd[1]], [raw_a + sd[0], raw_v + sd[1]]])
        lo, hi = plane_of(raw, self.scale)
        return np.array([lo[0], hi[0], lo[1], hi[1]], np.float32)

    # ---------------------------------------------------------------- reading
    def __len__(self) -> int:
        return self._n

    @property
    def dropped(self) -> int:
        """Results dropped from memory because the session outgrew ``max_points``."""
        return self._dropped

    @property
    def segment(self) -> int:
        """Number of the current segment (0 for the first)."""
        return self._segment

    def segment_len(self) -> int:
        """Results in the current segment (0 right after a seek, until one arrives)."""
        if self._new_segment_pending:
            return 0
        return self._n - self._seg_start

    def _seg_slice(self) -> slice:
        start = self._n if self._new_segment_pending else self._seg_start
        return slice(start, self._n)

    def latest(self) -> Latest | None:
        """The newest result of the segment, or None."""
        if self.segment_len() == 0:
            return None
        i = self._n - 1
        band = tuple(float(b) for b in self._band[i])
        sd = (float(self._sd[i, 0]), float(self._sd[i, 1]))
        return Latest(float(self._time[i]), float(self._arousal[i]), float(self._valence[i]),
                      bool(self._warm[i]), bool(self._silent[i]), str(self._mood[i]),
                      float(self._raw[i, 0]), float(self._raw[i, 1]), float(self._pct[i, 0]),
                      float(self._pct[i, 1]), self._latest_extras,
                      band if all(math.isfinite(b) for b in band) else None,
                      sd if all(math.isfinite(c) for c in sd) else None)

    def segment_columns(self) -> dict[str, np.ndarray]:
        """Views (not copies) of the current segment's columns."""
        s = self._seg_slice()
        return {"frame_index": self._frame[s], "time_s": self._time[s], "arousal": self._arousal[s],
                "valence": self._valence[s], "warming_up": self._warm[s]}

    def trail(self, seconds: float) -> SeriesView:
        """The current segment's results from the last ``seconds`` of audio time."""
        s = self._seg_slice()
        t = self._time[s]
        if len(t) == 0:
            return SeriesView(t, self._arousal[s], self._valence[s])
        start = int(np.searchsorted(t, t[-1] - seconds, side="right"))
        start = max(start, len(t) - int(math.ceil(seconds / self.frame_seconds)) - 1)
        sl = slice(s.start + start, s.stop)
        return SeriesView(self._time[sl], self._arousal[sl], self._valence[sl])

    def window(self, span_s: float | None, *, max_points: int = 2000) -> SeriesView:
        """The last ``span_s`` seconds (None: the whole segment), decimated.

        At most ``max_points`` block means plus fewer than two blocks of raw points
        at the ends.

        Longer stretches are block-averaged with a power-of-two block size, so the
        view changes little from one redraw to the next.
        """
        s = self._seg_slice()
        t = self._time[s]
        start = 0
        if span_s is not None and len(t):
            start = int(np.searchsorted(t, t[-1] - span_s, side="left"))
        sl = slice(s.start + start, s.stop)
        t, a, v = self._time[sl], self._arousal[sl], self._valence[sl]
        has_band = bool(np.isfinite(self._band[sl, 0]).any())
        n = len(t)
        if n <= max_points:
            band = self._band[sl]
            return SeriesView(t, a, v, *_bands(band) if has_band else (None, None))
        block = 1 << int(math.ceil(math.log2(n / max_points)))
        # Align blocks to absolute indices so they do not shift as points arrive;
        # the newest points (the partial block, at least the newest one) stay raw.
        first = sl.start + (-sl.start) % block
        full = max(0, sl.stop - 1 - first) // block * block
        head = slice(sl.start, first)
        body = slice(first, first + full)
        tail = slice(first + full, sl.stop)

        def dec(arr: np.ndarray) -> np.ndarray:
            blocks = arr[body].reshape(-1, block)
            heard = np.isfinite(blocks)
            count = heard.sum(axis=1)
            total = np.where(heard, blocks, 0.0).sum(axis=1)
            b = np.where(count > 0, total / np.maximum(count, 1), np.nan)  # silent blocks stay gaps
            return np.concatenate([arr[head], b.astype(arr.dtype), arr[tail]])

        if not has_band:
            return SeriesView(dec(self._time), dec(self._arousal), dec(self._valence))
        band = np.column_stack([dec(self._band[:, j]) for j in range(4)])
        return SeriesView(dec(self._time), dec(self._arousal), dec(self._valence), *_bands(band))

    def warmup_spans(self) -> list[tuple[float, float]]:
        """Audio-time intervals of the current segment whose estimate was still warming up."""
        s = self._seg_slice()
        warm = self._warm[s]
        if not warm.any():
            return []
        t = self._time[s]
        edges = np.flatnonzero(np.diff(np.concatenate([[False], warm, [False]]).astype(np.int8)))
        spans = []
        for a, b in zip(edges[::2], edges[1::2]):
            spans.append((float(t[a]) - self.frame_seconds, float(t[b - 1])))
        return spans

    # ---------------------------------------------------------------- export
    def write_csv(self, path) -> int:
        """Write every result held (all segments) as CSV; returns the number of rows.

        Columns: ``segment`` then the trajectory schema's common columns
        (:data:`~emotrack.realtime.outputs.schema.COMMON_COLUMNS`: raw values, percentiles,
        mood, flags; time_s = audio time of the frame's end, in seconds).
        """
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(CSV_COLUMNS)
            for i in range(self._n):
                pct = None if np.isnan(self._pct[i, 0]) else (float(self._pct[i, 0]), float(self._pct[i, 1]))
                sd = tuple(None if np.isnan(s) else float(s) for s in self._sd[i])
                row = common_row(int(self._frame[i]), float(self._time[i]), float(self._raw[i, 0]),
                                 float(self._raw[i, 1]), pct, str(self._mood[i]), bool(self._warm[i]),
                                 bool(self._silent[i]), float(self._level[i]), sd)
                w.writerow([int(self._seg[i]), *(csv_cell(row[c]) for c in COMMON_COLUMNS)])
        return self._n


def _num(x) -> float:
    """A float, NaN for None or anything that is not a number (a silent frame's missing value)."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _bands(band: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(a_lo, a_hi, v_lo, v_hi)`` columns -> ``(arousal (lo, hi), valence (lo, hi))``."""
    return (band[:, 0], band[:, 1]), (band[:, 2], band[:, 3])
