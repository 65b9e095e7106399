"""The poster's networks as trackers: :class:`MelTracker` (a checkpoint on 500 ms mel frames).

A checkpoint (:mod:`emotrack.model.checkpoint`) holds one of the networks of
:mod:`emotrack.model.networks` (``cae``: the poster's CAE, ``baseline``, ``rnn``),
its :class:`~emotrack.model.features.FeatureSpec` and the standardisation of its
input.  Stage 1 is :class:`~emotrack.model.framing.PooledMelStream` (96-band mel
frames averaged over 500 ms); stage 2 standardises each frame and predicts.

Causal mode (DESIGN contract 5)
-------------------------------
Each new frame triggers one prediction; the value reported for frame ``t`` is
the model's prediction for its *newest* frame, computed from frames
``t-59 .. t`` only (nothing after ``t``).  The recurrent model instead carries
its GRU state from the first frame on and makes one step per frame.

Warm-up padding: before 60 frames (30 s) have been seen, the missing older
frames are **zeros in standardised space, i.e. the training mean** of every
mel band.  Zeros are the input the network expects on average, they carry no
fake onset or silence, and they equal the zero padding its convolutions use at
the borders anyway.  Repeating the first frame was rejected: a stream usually
starts with silence or a fade-in, and repeating that 500 ms would make it
dominate the first 30 s.  Frames ``k < 59`` are ``warming_up`` (the recurrent
model's state has then seen fewer than 30 s of music, too).

Centered mode (offline only)
----------------------------
For window models every 60-frame window that lies inside the track (start
``0 .. n-60``, hop one frame) is predicted in batches, and each frame gets the
mean of the predictions of all windows covering it.  A track shorter than 60
frames is one window, left-padded as in causal mode.  The recurrent model has
no windows to average; its centered output averages, for each frame, the
predictions of 60-frame sub-sequences run from the zero state, exactly like
the window models (so the modes mean the same thing for every model).
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from .checkpoint import Checkpoint, load_checkpoint
from .errors import CheckpointError, ParameterError
from .features import FeatureSpec
from .framing import FeatureBatch, PooledMelStream
from .scale import DisplayScale
from .tracker import MODES, SilenceConfig, Tracker, TrackerFrames

WINDOW = 60
"""Frames per analysis window (30 s)."""

CAUSAL_TOLERANCE = 1e-5
"""Max. absolute difference between the results of the same frames computed in different
batches (one frame per push live, many per push offline): float32 summation order only."""


class MelTracker(Tracker):
    """A checkpoint network as a tracker (see the module docstring).

    Build it with :meth:`from_checkpoint`.  Attributes: ``checkpoint`` (the loaded
    :class:`Checkpoint`, facts included), ``spec``, ``model`` (the torch network),
    ``window`` (60), ``device``.
    """

    warmup_frames = WINDOW - 1
    centered_needs_features = True

    def __init__(self, checkpoint: Checkpoint, *, path: str | os.PathLike | None = None,
                 device: str = "cpu", batch_size: int = 128,
                 silence: SilenceConfig | None = None) -> None:
        import torch

        scale = checkpoint.facts.get("display_scale")
        super().__init__(scale=DisplayScale.from_dict(scale) if scale is not None else None,
                         silence=silence)
        self._torch = torch
        self.checkpoint = checkpoint
        self.path = None if path is None else str(path)
        self.name = checkpoint.model_name
        self.spec: FeatureSpec = checkpoint.spec
        self.window = WINDOW
        self.device = str(device)
        self.batch_size = int(batch_size)
        self.model = checkpoint.build_model().to(self.device).eval()
        self.stateful = bool(getattr(self.model, "stateful", False))
        self._mean = checkpoint.norm_mean.astype(np.float32)
        self._inv_std = (1.0 / checkpoint.norm_std).astype(np.float32)
        self.reset_network()

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, *, device: str = "cpu",
                        silence: SilenceConfig | None = None) -> "MelTracker":
        """Load a checkpoint file onto ``device`` (errors name the file)."""
        try:
            return cls(load_checkpoint(path), path=path, device=device, silence=silence)
        except CheckpointError as exc:
            if str(path) in str(exc):
                raise
            raise CheckpointError(f"checkpoint '{path}': {exc}") from None

    # ------------------------------------------------------------------ stages
    def _new_features(self, input_sr: int) -> PooledMelStream:
        return PooledMelStream(self.spec, input_sr)

    def reset_network(self) -> None:
        """Forget all frames: the context is the training mean again, the GRU state zero."""
        self._context = np.zeros((self.window - 1, self.spec.n_mels), np.float32)
        self._state = self.model.initial_state(1, self.device) if self.stateful else None

    def _infer_values(self, batch: FeatureBatch) -> tuple[np.ndarray, None]:
        if batch.n == 0:
            return np.zeros((0, 2), np.float32), None
        return self._causal(self._standardise(_as_frames(batch.data, self.spec))), None

    def centered(self, causal: TrackerFrames, batches: list[FeatureBatch]) -> TrackerFrames:
        frames = np.concatenate([b.data for b in batches]) if batches else np.zeros((0, self.spec.n_mels))
        values = self._centered_windows(self._standardise(_as_frames(frames, self.spec)))
        return causal.replace(values=values, warming_up=np.zeros(len(causal), bool))

    def describe(self) -> dict[str, Any]:
        ck = self.checkpoint
        return {"name": self.name, "checkpoint": self.path, "hparams": ck.hparams, "facts": {
                    k: v for k, v in ck.facts.items() if k != "display_scale"},
                "format_version": ck.format_version, "feature_spec": self.spec.to_dict(),
                "display_scale_reference": self.scale.reference if self.scale else None,
                "device": self.device, "warmup_frames": self.warmup_frames}

    # ------------------------------------------------------------------ frames given
    def predict_frames(self, frames: np.ndarray, mode: str = "causal") -> np.ndarray:
        """Predict every frame of a whole track from precomputed mel frames (training caches).

        The same stage-2 code as :meth:`push` (a fresh stream; the tracker's context
        is reset before and after).

        Parameters
        ----------
        frames : np.ndarray, shape=(n, n_mels)
            Raw mel frames (``mel_frames`` / the feature cache), ``n >= 0``.
        mode : {"causal", "centered"}

        Returns
        -------
        np.ndarray, shape=(n, 2), float32, columns (arousal, valence)
        """
        if mode not in MODES:
            raise ParameterError(f"mode must be one of {MODES}, got {mode!r}")
        x = self._standardise(_as_frames(frames, self.spec))
        if len(x) == 0:
            return np.zeros((0, 2), np.float32)
        self.reset_network()
        try:
            return self._causal(x) if mode == "causal" else self._centered_windows(x)
        finally:
            self.reset_network()

    # ------------------------------------------------------------------ internals
    def _standardise(self, frames: np.ndarray) -> np.ndarray:
        return (frames - self._mean) * self._inv_std

    def _causal(self, x: np.ndarray) -> np.ndarray:
        """Newest-frame predictions of standardised frames ``x`` (n, n_mels), continuing the stream."""
        torch = self._torch
        with torch.inference_mode():
            if self.stateful:
                inp = torch.from_numpy(np.ascontiguousarray(x.T))[None].to(self.device)
                out, self._state = self.model.steps(inp, self._state)
                return out[0].T.float().cpu().numpy().astype(np.float32)
            W = self.window
            padded = np.concatenate((self._context, x))  # (W - 1 + n, mels)
            self._context = padded[len(padded) - (W - 1):].copy()
            preds = self._run_windows(np.ascontiguousarray(padded.T), np.arange(len(x)))
            return np.ascontiguousarray(preds[:, :, -1])

    def _run_windows(self, padded: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Predictions (len(starts), 2, W) of windows ``padded[:, s:s+W]``."""
        torch = self._torch
        W = self.window
        view = np.lib.stride_tricks.sliding_window_view(padded, W, axis=1)  # (mels, n_win, W)
        out = np.empty((len(starts), 2, W), np.float32)
        with torch.inference_mode():
            for i in range(0, len(starts), self.batch_size):
                idx = starts[i:i + self.batch_size]
                batch = np.ascontiguousarray(view[:, idx].transpose(1, 0, 2))[:, None]
                # copy into one preallocated array: keeping each batch's .numpy() alive would keep
                # the model's whole output tensor of every batch (a view can pin a larger storage),
                # which grew memory by ~150 MB over a 2-hour file
                out[i:i + len(idx)] = self.model(torch.from_numpy(batch).to(self.device)).cpu().numpy()
        return out

    def _centered_windows(self, x: np.ndarray) -> np.ndarray:
        W = self.window
        n = x.shape[0]
        if n == 0:
            return np.zeros((0, 2), np.float32)
        pad = max(0, W - n)
        padded = np.concatenate((np.zeros((pad, x.shape[1]), np.float32), x)).T  # (mels, n+pad)
        starts = np.arange(padded.shape[1] - W + 1)
        preds = self._run_windows(np.ascontiguousarray(padded), starts)  # (n_win, 2, W)
        total = np.zeros((2, padded.shape[1]), np.float64)
        count = np.zeros(padded.shape[1], np.float64)
        for s, p in zip(starts, preds):
            total[:, s:s + W] += p
            count[s:s + W] += 1
        return (total / count).T[pad:].astype(np.float32)


def _as_frames(frames: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    x = np.asarray(frames)
    if x.ndim != 2 or x.shape[1] != spec.n_mels:
        raise ParameterError(f"frames must have shape (n, {spec.n_mels}), got {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ParameterError(f"frames must be floating point, got dtype {x.dtype}")
    if x.size and not np.isfinite(x).all():
        raise ParameterError("frames contain NaN or infinite values")
    return x.astype(np.float32, copy=False)
