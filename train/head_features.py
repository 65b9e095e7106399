"""Per-frame musicnn layers that a musicnn tracker's output head can read, and song means.

The musicnn tracker gives, for every 500 ms frame ``k``, musicnn's outputs on the
causal 3 s patch ending at the end of the frame
(:func:`~emotrack.model.teacher.teacher_embeddings`).  A head may read any of
these layers (:data:`HEAD_INPUTS`), concatenated in a stated order:

* ``dense``: the 200-d pre-ReLU output of the dense layer;
* ``penultimate``: ``BN(ReLU(dense))``, 200-d (musicnn's own "penultimate");
* ``logits``: the 50 pre-sigmoid tag scores;
* ``pooled``: ``pool_bn(interleave(max_pool, mean_pool))``, 1506-d, the input of
  the dense layer.

:func:`musicnn_frame_layers` runs the shared causal-patch code of
:func:`~emotrack.model.teacher.patch_outputs` once and reads the other layers
with forward hooks, so the numbers are the tracker's own.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..model.errors import ParameterError
from ..model.framing import frame_levels_db
from ..model.features import CAE_SPEC, frames_from_model_rate
from ..model.musicnn import MUSICNN_SPEC, MusicnnMSD, load_musicnn
from ..model.teacher import causal_patch_starts, n_frames_of, patch_outputs, to_model_rate

HEAD_INPUTS: dict[str, int] = {"dense": 200, "penultimate": 200, "logits": 50, "pooled": 1506}
"""Name -> width of each musicnn layer a head can read, per frame."""


def musicnn_frame_layers(audio: np.ndarray, sr: int, *, model: MusicnnMSD | None = None
                         ) -> dict[str, np.ndarray]:
    """Every head input of every 500 ms frame of a signal, plus the frame levels.

    Parameters
    ----------
    audio : np.ndarray, shape=(n,) or (n, channels)
    sr : int
        Sample rate of ``audio`` (resampled to 16 kHz as the trackers do).
    model : MusicnnMSD, optional
        A musicnn to run (default: a fresh copy of the shipped weights on CPU; hooks
        are added to it for the duration of the call and removed afterwards).

    Returns
    -------
    dict with one float32 array per :data:`HEAD_INPUTS` name, shape=(n_frames, width),
    and ``level_db`` (n_frames,): RMS level of each frame's 16 kHz audio in dBFS
    (the last, partial frame over the samples it has).
    """
    net = model if model is not None else load_musicnn("cpu")
    x = to_model_rate(audio, sr)
    n = n_frames_of(x.size)
    captured: dict[str, list[np.ndarray]] = {"pooled": [], "penultimate": [], "logits": []}
    modules = {"pooled": net.pool_bn, "penultimate": net.dense_bn, "logits": net.out}

    def keep(name: str):
        return lambda _m, _inp, out: captured[name].append(out.detach().float().cpu().numpy())

    handles = [mod.register_forward_hook(keep(name)) for name, mod in modules.items()]
    try:
        dense, _ = patch_outputs(frames_from_model_rate(x, MUSICNN_SPEC), causal_patch_starts(n), model=net)
    finally:
        for h in handles:
            h.remove()
    out = {"dense": dense}
    for name, parts in captured.items():
        out[name] = (np.concatenate(parts) if parts else np.zeros((0, HEAD_INPUTS[name]))).astype(np.float32)
    out["level_db"] = frame_levels(x, n)
    return out


def frame_levels(x_16k: np.ndarray, n_frames: int) -> np.ndarray:
    """RMS dBFS of each 500 ms frame of 16 kHz mono audio (the last frame may be partial)."""
    F = CAE_SPEC.frame_length
    n_full = min(n_frames, x_16k.size // F)
    levels = frame_levels_db(x_16k[:n_full * F].reshape(n_full, F))
    if n_full < n_frames:
        levels = np.concatenate((levels, frame_levels_db(x_16k[n_full * F:][None])))
    return levels


def head_input(layers: dict[str, np.ndarray], inputs: Sequence[str]) -> np.ndarray:
    """The named layers concatenated in order: shape=(n_frames, sum of widths), float64."""
    unknown = [name for name in inputs if name not in HEAD_INPUTS]
    if unknown or not inputs:
        raise ParameterError(f"head inputs must be a non-empty list of {list(HEAD_INPUTS)}, got {list(inputs)}")
    return np.concatenate([np.asarray(layers[name], np.float64) for name in inputs], axis=1)
