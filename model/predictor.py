"""Inference on mel frames: :class:`Predictor` (live step API and offline analysis).

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
dominate the first 30 s.  ``warming_up`` is True until 60 frames were seen;
the recurrent model reports it the same way (its state has seen fewer than
30 s of music).

Centered mode (offline only)
----------------------------
For window models every 60-frame window that lies inside the track (start
``0 .. n-60``, hop one frame) is predicted in batches, and each frame gets the
mean of the predictions of all windows covering it.  A track shorter than 60
frames is one window, left-padded as in causal mode.  The recurrent model has
no windows to average; its centered output averages, for each frame, the
predictions of 60-frame sub-sequences run from the zero state, exactly like
the window models (so the modes mean the same thing for every model).

Output columns are always (arousal, valence).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .checkpoint import Checkpoint, default_checkpoint_path, load_checkpoint
from .errors import CheckpointError, ParameterError
from .features import FeatureSpec

WINDOW = 60
"""Frames per analysis window (30 s)."""

CAUSAL_TOLERANCE = 1e-5
"""Max. absolute difference between :meth:`Predictor.analyze` (causal) and repeated
:meth:`Predictor.push_frame` (batched vs. single forward passes, float32)."""


class FramePrediction(NamedTuple):
    """Prediction for the newest frame; ``warming_up`` until 60 frames were seen."""

    arousal: float
    valence: float
    warming_up: bool


class Predictor:
    """A loaded model plus its feature normalisation, ready for live or offline use.

    Build it with :meth:`from_checkpoint`.  Attributes: ``spec`` (FeatureSpec),
    ``model_name``, ``device`` (``"cpu"`` or ``"cuda"``...), ``window`` (60),
    ``checkpoint`` (the loaded :class:`Checkpoint`, facts included).
    """

    def __init__(self, checkpoint: Checkpoint, *, device: str = "auto", batch_size: int = 128) -> None:
        import torch

        self._torch = torch
        self.checkpoint = checkpoint
        self.spec: FeatureSpec = checkpoint.spec
        self.model_name: str = checkpoint.model_name
        self.window = WINDOW
        self.device = _resolve_device(device)
        self.batch_size = int(batch_size)
        self.model = checkpoint.build_model().to(self.device).eval()
        self.stateful = bool(getattr(self.model, "stateful", False))
        self._mean = checkpoint.norm_mean.astype(np.float32)
        self._inv_std = (1.0 / checkpoint.norm_std).astype(np.float32)
        self.reset()

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike | None = None, device: str = "auto") -> "Predictor":
        """Load a checkpoint (``None``: the bundled default) onto ``device``.

        ``device="auto"`` picks CUDA when available, else the CPU.
        """
        if path is None:
            path = default_checkpoint_path()
            if not Path(path).exists():
                raise CheckpointError(
                    f"no default model is installed yet (looked for '{path}'); "
                    "pass a checkpoint file with --checkpoint PATH"
                )
        try:
            return cls(load_checkpoint(path), device=device)
        except CheckpointError as exc:
            if str(path) in str(exc):
                raise
            raise CheckpointError(f"checkpoint '{path}': {exc}") from None  # name the file

    # --- live step API ---------------------------------------------------
    def reset(self) -> None:
        """Forget all frames: the next :meth:`push_frame` starts a new stream."""
        self.frames_seen = 0
        self._buffer = np.zeros((self.spec.n_mels, self.window), np.float32)
        self._state = self.model.initial_state(1, self.device) if self.stateful else None

    def push_frame(self, frame: np.ndarray) -> FramePrediction:
        """Add one mel frame and predict it.

        Parameters
        ----------
        frame : np.ndarray, shape=(n_mels,)
            Raw (un-standardised) mel frame from ``mel_frames``/``MelFrameStream``.

        Returns
        -------
        FramePrediction
            The newest frame's (arousal, valence) in [-1, 1].
        """
        x = self._standardise(_as_frames(frame[None, :] if np.ndim(frame) == 1 else frame, self.spec))
        if x.shape[0] != 1:
            raise ParameterError(f"push_frame takes one frame of shape ({self.spec.n_mels},), got {np.shape(frame)}")
        torch = self._torch
        with torch.inference_mode():
            if self.stateful:
                out, self._state = self.model.step(torch.from_numpy(x).to(self.device), self._state)
                a, v = out[0].tolist()
            else:
                self._buffer[:, :-1] = self._buffer[:, 1:]
                self._buffer[:, -1] = x[0]
                inp = torch.from_numpy(self._buffer).to(self.device)[None, None]
                a, v = self.model(inp)[0, :, -1].tolist()
        self.frames_seen += 1
        return FramePrediction(float(a), float(v), self.frames_seen < self.window)

    # --- offline API -----------------------------------------------------
    def analyze(self, frames: np.ndarray, mode: str = "causal") -> np.ndarray:
        """Predict every frame of a whole track.

        Parameters
        ----------
        frames : np.ndarray, shape=(n, n_mels)
            Raw mel frames (``n >= 0``, shorter than 60 works).
        mode : {"causal", "centered"}
            ``"causal"``: frame for frame what a live run gives (equal to
            :meth:`push_frame` from a reset state within :data:`CAUSAL_TOLERANCE`).
            ``"centered"``: mean over all 60-frame windows covering each frame.

        Returns
        -------
        np.ndarray, shape=(n, 2), float32, columns (arousal, valence)
        """
        if mode not in ("causal", "centered"):
            raise ParameterError(f"mode must be 'causal' or 'centered', got {mode!r}")
        x = self._standardise(_as_frames(frames, self.spec))
        n = x.shape[0]
        if n == 0:
            return np.zeros((0, 2), np.float32)
        torch = self._torch
        with torch.inference_mode():
            if mode == "causal" and self.stateful:
                inp = torch.from_numpy(x.T.copy()).to(self.device)[None, None]
                return self.model(inp)[0].T.cpu().numpy().astype(np.float32)
            if mode == "causal":
                return self._causal_windows(x)
            return self._centered_windows(x)

    # --- internals ------------------------------------------------------
    def _standardise(self, frames: np.ndarray) -> np.ndarray:
        return (frames - self._mean) * self._inv_std

    def _run_windows(self, padded: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Predictions (len(starts), 2, W) of windows ``padded[:, s:s+W]``."""
        torch = self._torch
        W = self.window
        view = np.lib.stride_tricks.sliding_window_view(padded, W, axis=1)  # (mels, n_win, W)
        out = np.empty((len(starts), 2, W), np.float32)
        for i in range(0, len(starts), self.batch_size):
            idx = starts[i:i + self.batch_size]
            batch = np.ascontiguousarray(view[:, idx].transpose(1, 0, 2))[:, None]
            # copy into one preallocated array: keeping each batch's .numpy() alive would keep
            # the model's whole output tensor of every batch (a view can pin a larger storage),
            # which grew memory by ~150 MB over a 2-hour file
            out[i:i + len(idx)] = self.model(torch.from_numpy(batch).to(self.device)).cpu().numpy()
        return out

    def _causal_windows(self, x: np.ndarray) -> np.ndarray:
        W = self.window
        n = x.shape[0]
        padded = np.concatenate((np.zeros((W - 1, x.shape[1]), np.float32), x)).T  # (mels, n+W-1)
        preds = self._run_windows(padded, np.arange(n))
        return np.ascontiguousarray(preds[:, :, -1])

    def _centered_windows(self, x: np.ndarray) -> np.ndarray:
        W = self.window
        n = x.shape[0]
        pad = max(0, W - n)
        padded = np.concatenate((np.zeros((pad, x.shape[1]), np.float32), x)).T  # (mels, n+pad)
        starts = np.arange(padded.shape[1] - W + 1)
        preds = self._run_windows(padded, starts)  # (n_win, 2, W)
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


def _resolve_device(device: str) -> str:
    from .validate import resolve_torch_device

    return resolve_torch_device(device)
