"""The tracker interface: audio in, one (arousal, valence) result per 500 ms frame out.

A *tracker* owns its streaming features, its network and its output head.  Every
path (the live engine, the GUI, ``listen``, ``analyze``, ``evaluate``, the catalog)
knows models only through this interface, so a new model is one new tracker,
never a second pipeline (DESIGN "Trackers").

Two stages, one code path
-------------------------
* **Stage 1** (:attr:`Tracker.features`, a :class:`~emotrack.model.framing.FrameStream`):
  numpy only.  Audio blocks of any size at the input rate go in; for the frames each
  block completes it returns a :class:`~emotrack.model.framing.FeatureBatch` (the
  frames' levels and the tracker's features).
* **Stage 2** (:meth:`Tracker.infer`): the network and the head turn a batch into
  :class:`TrackerFrames`.

:meth:`Tracker.push` is ``infer(features.push(block))``; the live engine runs the two
stages in two threads (feature thread, inference worker) with a bounded queue
between them, offline analysis calls :meth:`Tracker.push` with 10 s blocks.  The
same blocks give the same frames and results either way: a frame's result never
depends on how the audio was cut into blocks (within float32 tolerance of batched
vs single forward passes; each tracker states its tolerance).

Frames, time and warm-up
------------------------
Frame ``k`` covers the model-rate samples ``[k, k+1) * 0.5 s`` (DESIGN contract 1)
and its result is ready when its last sample has arrived; ``time_s = (k+1) * 0.5``.
``warming_up`` marks frames whose context is still padded (the tracker documents
how); ``silent`` marks frames whose level is below :attr:`SilenceConfig.threshold_dbfs`.

Silence carries no numbers (DESIGN contract 7)
----------------------------------------------
A silent frame has no emotion: its ``values``, ``sd`` and ``extras`` rows are NaN
(every output writes them as empty cells or null), its flags and level are kept.
Trackers whose frames do not depend on each other (:attr:`Tracker.skips_silent`,
musicnn) do not run their network for a silent frame at all, live and offline
alike, so both still give the same frames; the others (the recurrent net's state,
the CAE's 30 s window) run it and drop the values.

Output order (DESIGN contract 6): ``values[:, 0]`` is arousal, ``values[:, 1]``
valence, raw on the tracker's own scale (for the shipped trackers the emoMusic
rater scale, [-1, 1]).  :attr:`Tracker.scale` maps them to the display plane.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

from .errors import EmotrackError, ParameterError
from .framing import FeatureBatch, FrameStream
from .scale import DisplayScale

FRAME_SECONDS = 0.5
"""Seconds per result (2 Hz) for every tracker."""

MODES = ("causal", "centered")


@dataclass(frozen=True)
class SilenceConfig:
    """When a frame counts as silence.

    Attributes
    ----------
    threshold_dbfs : float
        A frame whose RMS level (of the model-rate mono mix over its 500 ms) is below
        this many dB re full scale is ``silent``.  -60 dBFS is far below music that is
        playing and about the noise floor of a quiet room through a laptop microphone;
        digital silence is -200 dBFS (:data:`~emotrack.model.framing.LEVEL_FLOOR_DB`).
    """

    threshold_dbfs: float = -60.0


class ModelOutputError(EmotrackError):
    """A network produced NaN or infinite values (a corrupt checkpoint or head)."""


@dataclass(frozen=True)
class TrackerFrames:
    """Results of consecutive frames, one row each.

    Attributes
    ----------
    index : np.ndarray, shape=(n,), int64
        Frame index ``k`` since the tracker's last reset.
    values : np.ndarray, shape=(n, 2), float32
        Raw (arousal, valence) on the tracker's scale; NaN for silent frames.
    warming_up : np.ndarray, shape=(n,), bool
    silent : np.ndarray, shape=(n,), bool
    level_db : np.ndarray, shape=(n,), float32
        RMS level of each frame's audio (dBFS).
    extras : np.ndarray, shape=(n, len(extra_names)), float32, or None
        The tracker's extras over time (musicnn: 50 tag probabilities); NaN rows for
        silent frames.
    sd : np.ndarray, shape=(n, 2), float32, or None
        Per-axis uncertainty of ``values``: a standard deviation on the tracker's raw
        scale, calibrated on held-out songs (DESIGN contract 7); None when the tracker
        has no uncertainty model; NaN for silent frames.
    """

    index: np.ndarray
    values: np.ndarray
    warming_up: np.ndarray
    silent: np.ndarray
    level_db: np.ndarray
    extras: np.ndarray | None = None
    sd: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.index.shape[0])

    @property
    def time_s(self) -> np.ndarray:
        """End of each frame in seconds, ``(k + 1) * 0.5`` (when it became complete)."""
        return (self.index + 1) * FRAME_SECONDS

    @property
    def arousal(self) -> np.ndarray:
        return self.values[:, 0]

    @property
    def valence(self) -> np.ndarray:
        return self.values[:, 1]

    @classmethod
    def empty(cls, n_extras: int = 0) -> "TrackerFrames":
        """No frames (extras with ``n_extras`` columns, or None when 0)."""
        return cls(np.zeros(0, np.int64), np.zeros((0, 2), np.float32), np.zeros(0, bool),
                   np.zeros(0, bool), np.zeros(0, np.float32),
                   np.zeros((0, n_extras), np.float32) if n_extras else None)

    @classmethod
    def concat(cls, parts: Iterable["TrackerFrames"], n_extras: int = 0) -> "TrackerFrames":
        """Join consecutive results (an empty list gives :meth:`empty`)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty(n_extras)
        if len(parts) == 1:
            return parts[0]
        extras = None if parts[0].extras is None else np.concatenate([p.extras for p in parts])
        sd = None if any(p.sd is None for p in parts) else np.concatenate([p.sd for p in parts])
        return cls(np.concatenate([p.index for p in parts]), np.concatenate([p.values for p in parts]),
                   np.concatenate([p.warming_up for p in parts]),
                   np.concatenate([p.silent for p in parts]),
                   np.concatenate([p.level_db for p in parts]), extras, sd)

    def replace(self, **changes: Any) -> "TrackerFrames":
        """A copy with some fields replaced."""
        import dataclasses

        return dataclasses.replace(self, **changes)

    def without_silent_values(self) -> "TrackerFrames":
        """A copy whose silent frames have NaN values, sd and extras (flags and levels kept)."""
        silent = np.asarray(self.silent, bool)
        if not silent.any():
            return self

        def blank(a: np.ndarray | None) -> np.ndarray | None:
            if a is None:
                return None
            a = np.array(a, np.float32)
            a[silent] = np.nan
            return a

        return self.replace(values=blank(self.values), sd=blank(self.sd), extras=blank(self.extras))


class Tracker(ABC):
    """Base class of every tracker (see the module docstring).

    Subclasses set :attr:`name`, :attr:`warmup_frames`, :attr:`extra_names` and
    implement :meth:`_new_features` (stage 1), :meth:`_infer_values` and
    :meth:`reset_network` (stage 2) and :meth:`describe`; :meth:`centered` when
    their centered mode is not the default covering average.

    Lifecycle::

        tracker = load_tracker("musicnn")     # heavy: weights, once
        tracker.reset(44100)                  # a new stream at 44.1 kHz
        out = tracker.push(block)             # any number of times
        out = tracker.flush()                 # end of the stream
    """

    name: str = "tracker"
    """Registry name: ``musicnn``, ``rnn``, ``cae``, ``baseline``."""
    warmup_frames: int = 0
    """Frames ``k < warmup_frames`` are flagged ``warming_up`` (context still padded)."""
    extra_names: tuple[str, ...] = ()
    """Names of the columns of :attr:`TrackerFrames.extras` (empty: no extras)."""
    centered_span: int = 1
    """Frames averaged by the default centered mode (causal results of frames k .. k+span-1)."""
    device: str = "cpu"
    """Torch device of the network."""
    side_halfwidth: np.ndarray | None = None
    """Per axis, on the raw scale: how far from the middle of the plane a value must lie for a mood
    word to name its side (energetic / calm, pleasant / unpleasant); inf: never; None: the
    tracker does not know, and the words use its sd (:mod:`emotrack.realtime.mood`)."""
    skips_silent: bool = False
    """Whether :meth:`_infer_values` leaves out the network for silent frames (only where a
    frame's result never depends on another frame's pass, so skipping changes nothing else)."""

    def __init__(self, *, scale: DisplayScale | None = None,
                 silence: SilenceConfig | None = None) -> None:
        self.scale = scale
        """Maps raw values to the display plane (None: the plane shows raw values)."""
        self.silence = silence or SilenceConfig()
        self._features: FrameStream | None = None

    # ------------------------------------------------------------------ stage 1
    @property
    def features(self) -> FrameStream:
        """The stream of stage 1 (call :meth:`reset` with the input rate first)."""
        if self._features is None:
            raise ParameterError(f"{self.name} tracker: call reset(input_sr) before pushing audio")
        return self._features

    @abstractmethod
    def _new_features(self, input_sr: int) -> FrameStream:
        """A fresh stage-1 stream for audio at ``input_sr``."""

    # ------------------------------------------------------------------ stage 2
    @abstractmethod
    def _infer_values(self, batch: FeatureBatch) -> tuple:
        """``(values (n, 2), extras (n, E) or None)`` for the frames of ``batch``, in order,
        or ``(values, extras, sd)`` with ``sd`` (n, 2) the per-axis uncertainty (or None).

        Called with every batch of the stream in order (also empty ones); keeps the
        network's state (context, hidden state) between calls.
        """

    @abstractmethod
    def reset_network(self) -> None:
        """Forget stage 2's context: the next batch starts a new stream."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """JSON-able facts: name, weights, head, training facts, scale reference."""

    # ------------------------------------------------------------------ the stream
    def reset(self, input_sr: int | None = None) -> None:
        """Start a new stream; ``input_sr`` sets (or changes) the rate of the audio pushed."""
        if input_sr is not None:
            if self._features is None or self._features.input_sr != int(input_sr):
                self._features = self._new_features(int(input_sr))
            else:
                self._features.reset()
        elif self._features is not None:
            self._features.reset()
        self.reset_network()

    def infer(self, batch: FeatureBatch) -> TrackerFrames:
        """Stage 2: results for the frames of one stage-1 batch (none for an empty batch)."""
        inferred = self._infer_values(batch)
        values, extras = inferred[0], inferred[1]
        sd = inferred[2] if len(inferred) > 2 else None
        n = batch.n
        if n == 0:
            return TrackerFrames.empty(len(self.extra_names))
        values = np.asarray(values, np.float32).reshape(n, 2)
        if sd is not None:
            sd = np.asarray(sd, np.float32).reshape(n, 2)
        silent = self.silent_frames(batch)
        heard = ~silent  # only heard frames must have numbers (silent ones may be skipped: NaN)
        if (not np.isfinite(values[heard]).all()
                or (extras is not None and not np.isfinite(np.asarray(extras)[heard]).all())
                or (sd is not None and not (np.isfinite(sd[heard]).all() and (sd[heard] >= 0).all()))):
            raise ModelOutputError(
                f"the {self.name} model produced NaN or infinite values for frames "
                f"{batch.first_index}-{batch.first_index + n - 1}; its weights are corrupt: "
                "reinstall emotrack or retrain the checkpoint")
        index = np.arange(batch.first_index, batch.first_index + n, dtype=np.int64)
        return TrackerFrames(index=index, values=values, warming_up=index < self.warmup_frames,
                             silent=silent, level_db=np.asarray(batch.level_db, np.float32),
                             extras=None if extras is None else np.asarray(extras, np.float32),
                             sd=sd).without_silent_values()

    def silent_frames(self, batch: FeatureBatch) -> np.ndarray:
        """``(n,)`` bool: the frames of ``batch`` below the silence threshold."""
        return np.asarray(batch.level_db) < self.silence.threshold_dbfs

    def push(self, samples: np.ndarray) -> TrackerFrames:
        """Add audio; results of the frames it completed (often none)."""
        return self.infer(self.features.push(samples))

    def flush(self) -> TrackerFrames:
        """Results of what is left (the final partial frame); the stream then restarts."""
        out = self.infer(self.features.flush())
        self.reset_network()
        return out

    # ------------------------------------------------------------------ offline
    def analyze(self, blocks: Iterable[np.ndarray], input_sr: int, *, mode: str = "causal",
                on_frames: Callable[[int], None] | None = None) -> TrackerFrames:
        """Results of a whole signal given as consecutive blocks, through the live code path.

        Parameters
        ----------
        blocks : iterable of np.ndarray
            The signal in order (any block sizes), at ``input_sr``.
        mode : {"causal", "centered"}
            ``causal``: exactly what a live run gives; ``centered``: smoothed, offline only
            (see :meth:`centered`).
        on_frames : callable, optional
            Called with the number of frames completed after each block (progress).
        """
        if mode not in MODES:
            raise ParameterError(f"mode must be one of {MODES}, got {mode!r}")
        self.reset(input_sr)
        keep = mode == "centered" and self.centered_needs_features
        parts, batches = [], []
        for block in blocks:
            batch = self.features.push(block)
            if keep and batch.n:
                batches.append(batch)
            out = self.infer(batch)
            parts.append(out)
            if on_frames is not None and len(out):
                on_frames(len(out))
        batch = self.features.flush()
        if keep and batch.n:
            batches.append(batch)
        out = self.infer(batch)
        self.reset_network()
        parts.append(out)
        if on_frames is not None and len(out):
            on_frames(len(out))
        causal = TrackerFrames.concat(parts, len(self.extra_names))
        return causal if mode == "causal" else self.centered(causal, batches).without_silent_values()

    centered_needs_features: bool = False
    """Whether :meth:`centered` needs the stage-1 batches (window models) or only the causal results."""

    def centered(self, causal: TrackerFrames, batches: list[FeatureBatch]) -> TrackerFrames:
        """Non-causal smoothing of a whole signal's results (offline only).

        Default: frame ``k`` gets the mean of the causal values (and extras) of frames
        ``k .. k + centered_span - 1``, the causal results whose context covers frame
        ``k`` (fewer at the end; silent frames, which have none, are left out of the mean);
        nothing is warming up.  Silent frames stay without values.
        """
        values = covering_average(causal.values, self.centered_span)
        extras = None if causal.extras is None else covering_average(causal.extras, self.centered_span)
        sd = None if causal.sd is None else covering_average(causal.sd, self.centered_span)
        return causal.replace(values=values, extras=extras, sd=sd,
                              warming_up=np.zeros(len(causal), bool))


def covering_average(values: np.ndarray, span: int, lag: int = 0) -> np.ndarray:
    """Frame ``k`` gets the mean of the finite rows ``k+lag .. k+lag+span-1`` (fewer at the end;
    NaN rows, i.e. silent frames, are left out); where none of them is finite (a lagging stream's
    last heard frames before silence, whose later outputs were never computed), the rows
    ``k .. k+span-1``; NaN where none is finite either; float32."""
    values = np.asarray(values, np.float64)
    n = len(values)
    if n == 0 or (span <= 1 and lag == 0):
        return values.astype(np.float32)
    finite = np.isfinite(values)
    c = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(np.where(finite, values, 0.0), axis=0)])
    k = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(finite, axis=0)])

    def window(lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hi = np.minimum(lo + span, n)
        return k[hi] - k[lo], c[hi] - c[lo]

    idx = np.arange(n)
    counts, sums = window(np.minimum(idx + lag, n - 1))
    if lag:
        own_counts, own_sums = window(idx)
        late_empty = counts == 0
        counts, sums = np.where(late_empty, own_counts, counts), np.where(late_empty, own_sums, sums)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan).astype(np.float32)