"""The temporal stage of a tracker: how per-frame head outputs become the values shown.

A tracker's head gives one raw (arousal, valence) per 500 ms frame from that frame's
own context (musicnn: the causal 3 s patch ending at the frame's end).  This stage
decides how much of the past (causal) or of the neighbourhood (centered) each shown
value reflects.  It is one small, configurable stage (:class:`TemporalConfig`),
applied to the values and to their per-axis uncertainty ``sd`` alike, and it is
the same code live and offline.

Causal (live, ``analyze --mode causal``)
    1. **context**: the mean of the raw outputs of the newest ``context_s / 0.5``
       frames (``context_s = 0.5``: the newest frame only);
    2. **smoothing**: an exponential moving average with time constant ``tau_s``
       (``y_k = y_{k-1} + a (x_k - y_{k-1})``, ``a = 1 - exp(-0.5 / tau_s)``;
       ``tau_s = 0``: none).  A step in the raw outputs reaches 90 % of its size
       after ``tau_s * ln 10`` seconds of smoothing.

    Frames still warming up (their context padded with silence) pass through
    unchanged and never enter the state: the first real frame starts the
    average afresh, so the padding does not leak into later frames.  A NaN input
    (e.g. a silent frame) gives NaN and leaves the state as it was.  The state is
    float64 and advanced one frame at a time, so any batching of the frames gives
    the same values (live == offline causal).

Centered (offline, ``analyze --mode centered``)
    Frame ``k`` gets the mean of the raw outputs of the ``centered_span`` frames
    whose contexts are centred around it (musicnn's 6 = the patches that contain
    frame k), **using real audio only**: outputs of warming-up frames are left out
    (at the start the nearest frames with a full context are used instead), then an
    exponential moving average with ``centered_tau_s`` run forwards and backwards
    (no delay).  Only when no frame of the signal has a full context (a signal
    shorter than the context) are the padded outputs used, and flagged warming up.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np

from .errors import ParameterError

FRAME_SECONDS = 0.5


@dataclass(frozen=True)
class TemporalConfig:
    """How a tracker's temporal stage averages (see the module docstring).

    Attributes
    ----------
    context_s : float
        Causal: seconds of raw frame outputs averaged (a multiple of 0.5 s, >= 0.5;
        0.5 = the newest frame only).
    tau_s : float
        Causal: time constant of the exponential smoothing in seconds (0 = none).
    centered_span : int
        Centered: number of frame outputs averaged around each frame (an even number
        >= 2 for a tracker whose context is an even number of frames; musicnn: 6, the
        patches that contain the frame).  0 = the tracker's own context length.
    centered_tau_s : float
        Centered: time constant of the forward-backward exponential smoothing (0 = none).
    """

    context_s: float = 0.5
    tau_s: float = 0.0
    centered_span: int = 0
    centered_tau_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("context_s", "tau_s", "centered_tau_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= 600):
                raise ParameterError(f"temporal {name} must be a number of seconds in [0, 600], got {v!r}")
        if self.context_s < FRAME_SECONDS or abs(self.context_s / FRAME_SECONDS - round(self.context_s / FRAME_SECONDS)) > 1e-9:
            raise ParameterError(f"temporal context_s must be a multiple of 0.5 s >= 0.5, got {self.context_s!r}")
        if not isinstance(self.centered_span, int) or not 0 <= self.centered_span <= 1200:
            raise ParameterError(f"temporal centered_span must be an int in [0, 1200], got {self.centered_span!r}")

    @property
    def context_frames(self) -> int:
        """Frames averaged by the causal context (>= 1)."""
        return int(round(self.context_s / FRAME_SECONDS))

    def to_dict(self) -> dict:
        return asdict(self)

    def label(self) -> str:
        """Short text, e.g. ``"context 2.0 s, tau 1.0 s | centered 6, tau 0.0 s"``."""
        return (f"context {self.context_s:.1f} s, tau {self.tau_s:.1f} s | "
                f"centered {self.centered_span or 'own'}, tau {self.centered_tau_s:.1f} s")


def ema_alpha(tau_s: float) -> float:
    """Weight of the new frame in an exponential moving average with time constant ``tau_s``."""
    return 1.0 if tau_s <= 0 else 1.0 - math.exp(-FRAME_SECONDS / tau_s)


class _Causal:
    """Streaming state of the causal stage for one array of columns."""

    def __init__(self, config: TemporalConfig) -> None:
        self.m = config.context_frames
        self.a = ema_alpha(config.tau_s)
        self.reset()

    def reset(self) -> None:
        self.ring: np.ndarray | None = None  # (m, d) newest raw outputs, float64
        self.count = 0  # real frames seen (capped at m for the box)
        self.pos = 0
        self.y: np.ndarray | None = None  # EMA state

    def step(self, x: np.ndarray) -> np.ndarray:
        """One frame's raw outputs (d,) -> smoothed (d,), float64."""
        if not np.isfinite(x).all():
            return np.full(x.shape, np.nan)
        if self.ring is None:
            self.ring = np.zeros((self.m, x.shape[0]))
        self.ring[self.pos] = x
        self.pos = (self.pos + 1) % self.m
        self.count = min(self.count + 1, self.m)
        box = self.ring.sum(axis=0) / self.count  # rows not yet written are zeros
        if self.y is None:
            self.y = box.copy()
        else:
            self.y += self.a * (box - self.y)
        return self.y.copy()


class TemporalStage:
    """The causal temporal stage of one tracker stream (see the module docstring).

    Parameters
    ----------
    config : TemporalConfig
    warmup_frames : int
        Frames ``k < warmup_frames`` have a padded context: passed through, never averaged.
    """

    def __init__(self, config: TemporalConfig, warmup_frames: int) -> None:
        self.config = config
        self.warmup_frames = int(warmup_frames)
        self.bypass = False
        self._values = _Causal(config)
        self._sd = _Causal(config)

    @property
    def identity(self) -> bool:
        """Whether the causal stage changes nothing (context 0.5 s, no smoothing)."""
        return self.config.context_frames == 1 and self.config.tau_s == 0

    def reset(self) -> None:
        """A new stream."""
        self._values.reset()
        self._sd.reset()

    @contextlib.contextmanager
    def bypassed(self) -> Iterator[None]:
        """Raw head outputs while inside (centered analysis smooths the whole signal itself)."""
        saved, self.bypass = self.bypass, True
        try:
            yield
        finally:
            self.bypass = saved

    def step(self, first_index: int, values: np.ndarray,
             sd: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Smooth the raw outputs of consecutive frames ``first_index ..`` (values (n, 2), sd (n, 2) or None).

        Returns float32 arrays of the same shapes.
        """
        values = np.asarray(values)
        if self.bypass or self.identity or len(values) == 0:
            return values, sd
        out = np.array(values, np.float64)
        out_sd = None if sd is None else np.array(sd, np.float64)
        for i in range(len(out)):
            if first_index + i < self.warmup_frames:
                continue
            out[i] = self._values.step(out[i])
            if out_sd is not None:
                out_sd[i] = self._sd.step(out_sd[i])
        return out.astype(np.float32), None if out_sd is None else out_sd.astype(np.float32)


def causal_values(raw: np.ndarray, config: TemporalConfig, warmup_frames: int) -> np.ndarray:
    """The causal stage over a whole signal's raw outputs (n, d) from frame 0 (the streaming code)."""
    stage = TemporalStage(config, warmup_frames)
    return stage.step(0, np.asarray(raw, np.float32))[0]


def centered_values(raw: np.ndarray, config: TemporalConfig, own_span: int,
                    warmup_frames: int, lag: int = 0) -> tuple[np.ndarray, bool]:
    """Centered values of a whole signal's raw outputs (see the module docstring).

    Parameters
    ----------
    raw : np.ndarray, shape=(n, d)
        Raw (unsmoothed) causal outputs of frames ``0 .. n-1``; NaN rows stay NaN.
    own_span : int
        The tracker's own context in frames (the default span; musicnn 6).
    warmup_frames : int
        Frames ``k < warmup_frames`` have a padded context.
    lag : int
        Frames by which the tracker's outputs report later than their context ends (musicnn's
        aligned stream: 2); frame ``k``'s own outputs are then ``k + lag .. k + lag + own_span - 1``.

    Returns
    -------
    values : np.ndarray, shape=(n, d), float32
    padded : bool
        True when no frame had a full context and padded outputs had to be used.
    """
    raw = np.asarray(raw, np.float64)
    n = len(raw)
    if n == 0:
        return raw.astype(np.float32), False
    span = config.centered_span or own_span
    lo_off = (own_span - span) // 2 + lag  # frame k averages outputs k + lo_off .. k + lo_off + span - 1
    first_real = warmup_frames if n > warmup_frames else 0
    padded = n <= warmup_frames
    finite = np.isfinite(raw).all(axis=1)
    use = np.where(finite[:, None], raw, 0.0)
    c = np.concatenate([np.zeros((1, raw.shape[1])), np.cumsum(use, axis=0)])
    cn = np.concatenate([[0], np.cumsum(finite)])
    k = np.arange(n)
    lo = np.clip(k + lo_off, first_real, n - 1)
    hi = np.clip(k + lo_off + span - 1, first_real, n - 1)
    counts = cn[hi + 1] - cn[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (c[hi + 1] - c[lo]) / counts[:, None]
    out[counts == 0] = np.nan
    out[~finite] = np.nan  # a frame without a value (silence) stays without one
    if config.centered_tau_s > 0:
        out = _forward_backward(out, ema_alpha(config.centered_tau_s))
    return out.astype(np.float32), padded


def _forward_backward(x: np.ndarray, a: float) -> np.ndarray:
    """Exponential smoothing forwards then backwards (zero phase); NaN rows stay NaN, skipped."""
    def run(seq: np.ndarray) -> np.ndarray:
        out = np.full_like(seq, np.nan)
        y = None
        for i, row in enumerate(seq):
            if not np.isfinite(row).all():
                continue
            y = row.copy() if y is None else y + a * (row - y)
            out[i] = y
        return out

    return run(run(x)[::-1])[::-1]
