"""The musicnn teacher: a 2 Hz arousal/valence (and 50-tag) curve from musicnn embeddings.

How the teacher makes its 2 Hz curve
------------------------------------
Frames are the project's 500 ms frames (:data:`~emotrack.model.features.CAE_SPEC`
grid at 16 kHz): frame ``k`` covers ``[0.5 k, 0.5 (k+1))`` s.  For frame ``k``
the teacher runs musicnn on the **causal 3 s patch ending at the end of frame
k**: the 187 musicnn mel windows (:data:`~emotrack.model.musicnn.MUSICNN_SPEC`,
``center=False``, hop 256 = 16 ms) whose last one is the last window lying
entirely inside ``[0, 0.5 (k+1))`` s, i.e. window indices ``j_last(k) - 186 ..
j_last(k)`` with ``j_last(k) = floor((8000 (k+1) - 512) / 256)``.  The patch
therefore uses no audio after the frame's end, as a live run could.  Windows
before the start of the signal (the first 2.5 s) or after its end are log-mel
zeros, i.e. digital silence (``log10(1 + 0) = 0``); frames ``k < 6`` (less than
a full patch heard) are flagged ``warming_up``.

The 200-d pre-ReLU ``dense`` embedding of that patch goes through a
:class:`~emotrack.model.ridge.RidgeHead` (assets/teacher/musicnn_va_head.safetensors)
to give (arousal, valence); the 50 sigmoid tag probabilities come with it.

The patches of consecutive frames overlap by 5/6.  :func:`patch_outputs`
exploits that exactly: the two timbral front-end branches (about 60 % of
musicnn's cost) are convolved once over the whole signal, and only the three
positions at each patch edge, where musicnn zero-pads, are recomputed per
patch.  The result equals running :class:`MusicnnMSD` on each patch (a test
checks it).
"""
from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from .errors import CheckpointError, ParameterError
from .features import CAE_SPEC, frames_from_model_rate, resample
from .musicnn import MSD_TAGS, MUSICNN_SPEC, PATCH_FRAMES, MusicnnMSD, _cached_model
from .ridge import RidgeHead
from .validate import as_mono_float32, valid_sample_rate

HEAD_ASSET = "teacher/musicnn_va_head.safetensors"
_EDGE = 3  # (kernel 7 - 1) // 2: positions at each patch edge touched by the timbral zero padding


def n_frames_of(n_samples_16k: int, spec=CAE_SPEC) -> int:
    """Number of 500 ms frames :func:`~emotrack.model.features.mel_frames` gives for a signal."""
    F_ = spec.frame_length
    n_full, rest = divmod(int(n_samples_16k), F_)
    return n_full + int(rest >= spec.min_partial_fraction * F_ and rest >= spec.n_fft)


def causal_patch_starts(n_frames: int) -> np.ndarray:
    """First musicnn window of the causal 3 s patch of each 500 ms frame (may be negative)."""
    k = np.arange(n_frames)
    j_last = ((k + 1) * CAE_SPEC.frame_length - MUSICNN_SPEC.n_fft) // MUSICNN_SPEC.hop_length
    return j_last - (PATCH_FRAMES - 1)


WARMUP_FRAMES = int(np.argmax(causal_patch_starts(64) >= 0))
"""Frames ``k < WARMUP_FRAMES`` (6) have less than a full 3 s patch of audio behind them."""


def _backend(net: MusicnnMSD, front: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """musicnn's mid- and back-end on front-end features [B, 561, T] -> (dense, tags)."""
    m1 = net.mid1(front)
    m2 = net.mid2(m1) + m1
    m3 = net.mid3(m2) + m2
    feats = torch.cat((front, m1, m2, m3), dim=1)
    pooled = torch.stack((feats.amax(dim=2), feats.mean(dim=2)), dim=-1).flatten(1)
    dense = net.dense(net.pool_bn(pooled))
    tags = torch.sigmoid(net.out(net.dense_bn(F.relu(dense))))
    return dense, tags


def _timbral_full(block, xb: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """A timbral branch over a whole normalised sequence [1, 1, T, 96] -> [C, T], in time chunks."""
    T = xb.shape[2]
    xp = F.pad(xb, (0, 0, _EDGE, _EDGE))
    out = []
    for a in range(0, T, chunk):
        b = min(T, a + chunk)
        y = block.conv(xp[:, :, a:b + 2 * _EDGE])
        out.append(block.bn(F.relu(y)).amax(dim=3)[0])
    return torch.cat(out, dim=1)


def _edge_outputs(block, edges: torch.Tensor) -> torch.Tensor:
    """Timbral branch on [P, 1, 9, 96] zero-padded edge blocks -> [P, C, 3]."""
    return block.bn(F.relu(block.conv(edges))).amax(dim=3)


@torch.inference_mode()
def patch_outputs(
    logmel: np.ndarray, starts: np.ndarray, *, model: MusicnnMSD | None = None, batch_size: int = 32,
    progress=None,
) -> tuple[np.ndarray, np.ndarray]:
    """musicnn embeddings and tags of the 187-window patches starting at ``starts``.

    Parameters
    ----------
    logmel : np.ndarray, shape=(T, 96)
        musicnn log-mel windows (:data:`MUSICNN_SPEC` frames).
    starts : np.ndarray of int, shape=(P,)
        First window of each patch; windows outside ``[0, T)`` are zeros (silence).
    model : MusicnnMSD, optional
        Defaults to the shipped weights on CPU.
    batch_size : int
        Patches per forward pass of the per-patch parts.
    progress : callable, optional
        Called with the number of patches done after each batch.

    Returns
    -------
    dense : np.ndarray, shape=(P, 200), float32
        Pre-ReLU dense embeddings.
    tags : np.ndarray, shape=(P, 50), float32
        Tag probabilities.
    """
    net = model if model is not None else _cpu_model()
    starts = np.asarray(starts, np.int64)
    if starts.size == 0:
        return np.zeros((0, 200), np.float32), np.zeros((0, len(MSD_TAGS)), np.float32)
    pad_l = int(max(0, -starts.min()))
    T = logmel.shape[0]
    pad_r = int(max(0, starts.max() + PATCH_FRAMES - T))
    x = np.zeros((pad_l + T + pad_r, logmel.shape[1]), np.float32)
    x[pad_l:pad_l + T] = logmel
    s_all = starts + pad_l
    dev = next(net.parameters()).device
    xb = net.input_bn(torch.from_numpy(x).to(dev)[None, None])  # [1, 1, T', 96]
    timbral = (net.timbral_74, net.timbral_77)
    temporal = (net.temporal_128, net.temporal_64, net.temporal_32)
    full = [_timbral_full(b, xb) for b in timbral]
    dense_out, tag_out = [], []
    inner = torch.arange(_EDGE, PATCH_FRAMES - _EDGE, device=dev)
    for i in range(0, len(s_all), batch_size):
        s = torch.as_tensor(s_all[i:i + batch_size], device=dev)
        idx = s[:, None] + torch.arange(PATCH_FRAMES, device=dev)[None]  # [B, 187]
        patches = xb[0, 0][idx].unsqueeze(1)  # [B, 1, 187, 96]
        zeros = patches.new_zeros(len(s), 1, _EDGE, patches.shape[3])
        head = torch.cat((zeros, patches[:, :, :2 * _EDGE]), dim=2)
        tail = torch.cat((patches[:, :, -2 * _EDGE:], zeros), dim=2)
        front = []
        for b, y in zip(timbral, full):
            mid = y[:, s[:, None] + inner[None]].permute(1, 0, 2)  # [B, C, 181]
            front.append(torch.cat((_edge_outputs(b, head), mid, _edge_outputs(b, tail)), dim=2))
        front.extend(b(patches) for b in temporal)
        dense, tags = _backend(net, torch.cat(front, dim=1))
        dense_out.append(dense.float().cpu().numpy())
        tag_out.append(tags.float().cpu().numpy())
        if progress is not None:
            progress(len(s))
    return np.concatenate(dense_out), np.concatenate(tag_out)


def _cpu_model() -> MusicnnMSD:
    """The shipped musicnn on CPU, loaded once (shared with :func:`emotrack.model.musicnn.embed`)."""
    return _cached_model("cpu")


def to_model_rate(audio: np.ndarray, sr: int) -> np.ndarray:
    """Mono float32 audio resampled (soxr HQ) to 16 kHz, as :func:`mel_frames` does it."""
    sr = valid_sample_rate(sr)
    x = as_mono_float32(audio, allow_empty=False)
    return resample(x, sr, CAE_SPEC.sample_rate)


def teacher_embeddings(
    audio: np.ndarray, sr: int, *, model: MusicnnMSD | None = None, progress=None
) -> tuple[np.ndarray, np.ndarray]:
    """Causal-patch musicnn embeddings and tags for every 500 ms frame of a signal.

    Returns
    -------
    dense : np.ndarray, shape=(n_frames, 200), float32
    tags : np.ndarray, shape=(n_frames, 50), float32
        ``n_frames`` equals ``len(mel_frames(audio, sr, CAE_SPEC))``.
    """
    x = to_model_rate(audio, sr)
    logmel = frames_from_model_rate(x, MUSICNN_SPEC)
    return patch_outputs(logmel, causal_patch_starts(n_frames_of(x.size)), model=model, progress=progress)


def default_head_path() -> Path:
    """The shipped ridge head (arousal, valence) on musicnn embeddings."""
    return Path(str(files("emotrack.assets").joinpath(HEAD_ASSET)))


def load_head(path: str | os.PathLike | None = None) -> RidgeHead:
    """Load a ridge head (default: the shipped one); a clear CheckpointError if absent."""
    p = Path(path) if path is not None else default_head_path()
    if path is None and not p.is_file():
        raise CheckpointError(
            f"the musicnn teacher head is missing at {p}; regenerate it with "
            "'python tools/evaluate_teacher.py --write-head' or reinstall emotrack"
        )
    head = RidgeHead.load(p)
    if head.coef.shape != (200, 2):
        raise CheckpointError(f"'{p}' is not an (arousal, valence) head on 200-d embeddings: coef {head.coef.shape}")
    return head


def covering_average(values: np.ndarray, span: int = WARMUP_FRAMES) -> np.ndarray:
    """Non-causal smoothing: frame ``k`` gets the mean of frames ``k .. k+span-1`` (fewer at the end).

    With ``span = 6`` these are exactly the causal patches whose 3 s cover frame ``k``,
    the teacher's analogue of the networks' "centered" mode.
    """
    values = np.asarray(values, np.float64)
    n = len(values)
    if n == 0:
        return values.astype(np.float32)
    c = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)])
    hi = np.minimum(np.arange(n) + span, n)
    return ((c[hi] - c[:n]) / (hi - np.arange(n)).reshape(-1, *([1] * (values.ndim - 1)))).astype(np.float32)


def curve_from_logmel(
    logmel: np.ndarray, n_frames: int, *, head: RidgeHead | None = None, model: MusicnnMSD | None = None,
    mode: str = "causal", progress=None,
) -> dict:
    """Teacher curve from musicnn log-mel windows (``MUSICNN_SPEC`` frames) of a signal.

    ``n_frames`` is the signal's number of 500 ms frames.  See :func:`teacher_curve`.
    """
    if mode not in ("causal", "centered"):
        raise ParameterError(f"mode must be 'causal' or 'centered', got {mode!r}")
    if head is None:
        head = load_head()
    dense, tags = patch_outputs(logmel, causal_patch_starts(n_frames), model=model, progress=progress)
    va = head.predict(dense) if len(dense) else np.zeros((0, 2), np.float32)
    k = np.arange(len(dense))
    warming = k < WARMUP_FRAMES
    if mode == "centered":
        va, tags, warming = covering_average(va), covering_average(tags), np.zeros(len(k), bool)
    return {
        "arousal": va[:, 0], "valence": va[:, 1], "tags": tags, "tag_names": MSD_TAGS,
        "times": (k + 1) * CAE_SPEC.frame_seconds, "frame_index": k, "warming_up": warming,
        "mode": mode,
    }


def teacher_curve(
    audio: np.ndarray, sr: int, *, head: RidgeHead | None = None, model: MusicnnMSD | None = None,
    mode: str = "causal", progress=None,
) -> dict:
    """The teacher's 2 Hz arousal/valence curve and 50 tag curves for a whole signal.

    Parameters
    ----------
    audio : np.ndarray, shape=(n,) or (n, channels)
    sr : int
        Sample rate of ``audio`` (resampled to 16 kHz).
    head : RidgeHead, optional
        Default: the shipped head (:func:`load_head`).
    model : MusicnnMSD, optional
        Default: the shipped musicnn weights on CPU.
    mode : {"causal", "centered"}
        ``causal``: frame ``k`` from the 3 s ending at its end (what a live run could show);
        ``centered``: mean of the 6 causal outputs whose patches cover frame ``k``.
    progress : callable, optional
        Called with the number of frames done after each batch.

    Returns
    -------
    dict with
        ``arousal``, ``valence`` : np.ndarray (n_frames,) in [-1, 1];
        ``tags`` : np.ndarray (n_frames, 50) probabilities, columns ``tag_names``;
        ``tag_names`` : tuple of 50 str;
        ``times`` : np.ndarray (n_frames,) seconds of each frame's END, ``0.5 (k+1)``
        (when the frame became complete, as in live results);
        ``frame_index`` : np.ndarray (n_frames,) int;
        ``warming_up`` : np.ndarray (n_frames,) bool, causal frames with < 3 s of audio behind them;
        ``mode`` : str.
        ``n_frames`` equals ``len(mel_frames(audio, sr, CAE_SPEC))``.
    """
    x = to_model_rate(audio, sr)
    logmel = frames_from_model_rate(x, MUSICNN_SPEC)
    return curve_from_logmel(logmel, n_frames_of(x.size), head=head, model=model, mode=mode,
                             progress=progress)
