"""Step response of a tracker: medleys of pieces, and how the shown point follows the changes.

A **medley** is excerpts of several pieces one after another (:class:`Segment`), joined
by hard cuts or crossfades, built at the model rate (16 kHz mono) on the 500 ms frame
grid, so medley frame ``k`` of a segment is exactly one frame of the piece analysed
alone.  Each piece is also analysed **alone** (from its own start); its mean over the
excerpt is the reference the medley is judged against.  All figures are on the display
plane (``percentile / 50 - 1``, what the GUI shows) unless a function says otherwise.

* **response** (:func:`step_response`): the point's progress ``p(t)`` from the previous
  piece's own mean ``A`` to the next one's ``B`` (projection on ``B - A``); *time to
  90 %*: from the change to the first frame with ``p >= 0.9`` (a frame counts when it is
  complete, ``time_s``); *rise 10 -> 90 %*: from the last frame before it with
  ``p <= 0.1``; *overshoot*: how far ``p`` goes past 1 within 10 s, in % of the step.
  A step only counts when ``|B - A|`` is at least :data:`MIN_STEP` (smaller ones are
  mostly noise).  The change of a crossfade is its middle.
* **segment-mean error** (:func:`segment_errors`): distance between a segment's mean
  (from 3 s after its change to the next change) and the mean of the same audio when
  the piece is analysed alone.
* **jitter** (:func:`jitter`): root mean square of the frame-to-frame moves of a piece
  analysed alone (steady music), frames with a full context only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FRAME_SECONDS = 0.5
MODEL_SR = 16000
FRAME = int(FRAME_SECONDS * MODEL_SR)
MIN_STEP = 0.3
"""Smallest distance (display plane) between two pieces' means for a step to be timed."""
SETTLE_S = 3.0
"""Seconds after a change left out of a segment's mean."""
OVERSHOOT_WINDOW_S = 10.0


@dataclass(frozen=True)
class Segment:
    """One excerpt of a medley: ``duration_s`` of piece ``piece`` from ``offset_s`` (multiples of 0.5 s)."""

    piece: str
    offset_s: float
    duration_s: float


@dataclass(frozen=True)
class Medley:
    """A medley's audio and where each segment sits in it.

    Attributes
    ----------
    audio : np.ndarray, shape=(n,), float32 at :data:`MODEL_SR`
    segments : list of Segment
    starts_s : list of float
        Medley time where each segment's audio begins.
    changes_s : list of float
        Medley time of each change (segment ``i`` -> ``i+1``): the cut, or a crossfade's middle.
    crossfade_s : float
    """

    audio: np.ndarray
    segments: list[Segment]
    starts_s: list[float]
    changes_s: list[float]
    crossfade_s: float


def build_medley(pieces: dict[str, np.ndarray], segments: list[Segment], *, crossfade_s: float = 0.0
                 ) -> Medley:
    """Join excerpts of ``pieces`` (mono float32 at :data:`MODEL_SR`) with cuts or linear crossfades.

    Segment ``i+1`` starts ``crossfade_s`` before segment ``i`` ends; the change is the middle
    of the overlap.  Offsets, durations and the crossfade are multiples of 0.5 s.
    """
    for v in [crossfade_s] + [x for s in segments for x in (s.offset_s, s.duration_s)]:
        if abs(v / FRAME_SECONDS - round(v / FRAME_SECONDS)) > 1e-9:
            raise ValueError(f"medley times must be multiples of 0.5 s, got {v}")
    fade = int(round(crossfade_s * MODEL_SR))
    total = sum(int(round(s.duration_s * MODEL_SR)) for s in segments) - fade * (len(segments) - 1)
    out = np.zeros(total, np.float64)
    starts, changes, pos = [], [], 0
    for i, seg in enumerate(segments):
        a = int(round(seg.offset_s * MODEL_SR))
        n = int(round(seg.duration_s * MODEL_SR))
        x = np.asarray(pieces[seg.piece][a:a + n], np.float64)
        if len(x) < n:
            raise ValueError(f"piece {seg.piece} is shorter than {seg.offset_s + seg.duration_s} s")
        gain = np.ones(n)
        if fade and i > 0:
            gain[:fade] = np.linspace(0, 1, fade, endpoint=False)
        if fade and i < len(segments) - 1:
            gain[n - fade:] = np.linspace(1, 0, fade, endpoint=False)
        out[pos:pos + n] += x * gain
        starts.append(pos / MODEL_SR)
        if i > 0:
            changes.append(pos / MODEL_SR + crossfade_s / 2)
        pos += n - fade
    return Medley(out.astype(np.float32), list(segments), starts, changes, float(crossfade_s))


def segment_frames(medley: Medley, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Medley frames of segment ``i`` from :data:`SETTLE_S` after its change (its start for the
    first) to the next change (the start of the next crossfade), and the same frames in the piece
    analysed alone."""
    seg = medley.segments[i]
    start = medley.starts_s[i]
    lo = (medley.changes_s[i - 1] + SETTLE_S) if i > 0 else start
    hi = (medley.starts_s[i + 1]) if i + 1 < len(medley.segments) else start + seg.duration_s
    k = np.arange(int(math.ceil(lo / FRAME_SECONDS - 1e-9)), int(math.floor(hi / FRAME_SECONDS + 1e-9)))
    piece_k = k - int(round(start / FRAME_SECONDS)) + int(round(seg.offset_s / FRAME_SECONDS))
    return k, piece_k


def excerpt_frames(seg: Segment) -> np.ndarray:
    """Frames of the piece analysed alone that the excerpt covers."""
    a = int(round(seg.offset_s / FRAME_SECONDS))
    return np.arange(a, a + int(round(seg.duration_s / FRAME_SECONDS)))


@dataclass(frozen=True)
class StepResult:
    """One timed change of a medley (times in seconds; NaN: not reached within the segment)."""

    medley: str
    index: int
    step: float
    to_90_s: float
    rise_s: float
    overshoot_pct: float


def step_response(plane: np.ndarray, change_s: float, a: np.ndarray, b: np.ndarray, *,
                  search_from_s: float, until_s: float, medley: str = "", index: int = 0
                  ) -> StepResult | None:
    """Response of a trajectory to one change (see the module docstring).

    Parameters
    ----------
    plane : np.ndarray, shape=(n, 2)
        The trajectory (frame ``k`` complete at ``(k + 1) * 0.5`` s).
    change_s : float
        When the music changes.
    a, b : np.ndarray, shape=(2,)
        The previous and the next piece's own means.
    search_from_s, until_s : float
        The window searched for the 90 % crossing (e.g. the change and the next change).

    Returns
    -------
    StepResult, or None when ``|b - a| <`` :data:`MIN_STEP`.
    """
    d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    size = float(np.hypot(*d))
    if size < MIN_STEP:
        return None
    p = (np.asarray(plane, np.float64) - a) @ d / size ** 2
    t = (np.arange(len(p)) + 1) * FRAME_SECONDS
    window = np.flatnonzero((t >= search_from_s) & (t <= until_s) & np.isfinite(p))
    hit = window[p[window] >= 0.9]
    if not len(hit):
        return StepResult(medley, index, size, math.nan, math.nan, math.nan)
    k90 = int(hit[0])
    low = np.flatnonzero((np.arange(len(p)) < k90) & (p <= 0.1) & np.isfinite(p))
    rise = (k90 - int(low[-1])) * FRAME_SECONDS if len(low) else math.nan
    after = window[(t[window] >= change_s) & (t[window] <= change_s + OVERSHOOT_WINDOW_S)]
    over = max(0.0, float(np.nanmax(p[after])) - 1.0) * 100 if len(after) else math.nan
    return StepResult(medley, index, size, float(t[k90] - change_s), float(rise), over)


def segment_errors(medley_plane: np.ndarray, medley: Medley, alone_plane: dict[str, np.ndarray]
                   ) -> list[float]:
    """Per segment: distance (display plane) between its settled mean in the medley and the mean of
    the same frames of the piece analysed alone."""
    out = []
    for i, seg in enumerate(medley.segments):
        k, pk = segment_frames(medley, i)
        alone = alone_plane[seg.piece]
        ok = (k < len(medley_plane)) & (pk < len(alone))
        m = np.nanmean(medley_plane[k[ok]], axis=0)
        r = np.nanmean(alone[pk[ok]], axis=0)
        out.append(float(np.hypot(*(m - r))))
    return out


def jitter(plane: np.ndarray, warming_up: np.ndarray | None = None) -> float:
    """RMS of the frame-to-frame moves (display plane) over frames with a full context."""
    x = np.asarray(plane, np.float64)
    if warming_up is not None:
        x = x[~np.asarray(warming_up, bool)]
    dx = np.diff(x, axis=0)
    dx = dx[np.isfinite(dx).all(axis=1)]
    return float(np.sqrt(np.mean((dx ** 2).sum(axis=1)))) if len(dx) else math.nan
