"""The musicnn tracker: musicnn embeddings of the causal 3 s patch of every 500 ms frame -> head.

What each frame's result is
---------------------------
Frame ``k`` covers ``[0.5 k, 0.5 (k+1))`` s.  Its result comes from musicnn
(:class:`~emotrack.model.musicnn.MusicnnMSD`, the MSD model of Pons & Serra) run
on the **causal 3 s patch ending at the end of frame k**: the 187 log-mel windows
of :data:`~emotrack.model.musicnn.MUSICNN_SPEC` (16 kHz, n_fft 512, hop 256,
``center=False``) ``j_last(k) - 186 .. j_last(k)`` with
``j_last(k) = floor((8000 (k+1) - 512) / 256)``, the last window lying entirely
inside ``[0, 0.5 (k+1))`` s.  No audio after the frame's end is used, so a live run
shows exactly what offline causal analysis computes.  Windows before the start of
the stream (and, for the final partial frame, after its end) are log-mel zeros,
i.e. digital silence; frames ``k < 6`` (less than a whole patch heard) are
``warming_up``.  The head (a :class:`~emotrack.model.ridge.RidgeHead`, its facts
name the musicnn outputs it reads) maps the patch's outputs to (arousal, valence);
the 50 tag probabilities are the extras.

How it stays cheap (exactly)
----------------------------
Consecutive patches overlap by 5/6.  musicnn zero-pads each patch at its edges,
so a patch's outputs are not a slice of one long convolution, but almost:

* the two *timbral* front-end branches (7-window kernels, ~60 % of musicnn's cost)
  are computed once per window over the stream (:meth:`MusicnnTracker._extend_timbral`);
  only the 3 positions at each patch edge, where the zero padding reaches, are
  recomputed per patch;
* the *temporal* branches (128/64/32-window kernels reach across most of a patch),
  the mid-end and the back-end run per patch.

The result equals running :class:`MusicnnMSD` on each patch separately
(``tests/test_musicnn_tracker.py`` checks both, to :data:`TOLERANCE`).
"""
from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from .errors import CheckpointError
from .framing import FeatureBatch, WindowBatch, WindowMelStream
from .musicnn import MSD_TAGS, MUSICNN_SPEC, PATCH_FRAMES, MusicnnMSD, load_musicnn
from .ridge import RidgeHead
from .scale import DisplayScale
from .tracker import SilenceConfig, Tracker

FRAME_LENGTH = 8000
"""Model-rate samples per 500 ms frame."""

HEAD_ASSET = "teacher/musicnn_va_head.safetensors"
"""The shipped (arousal, valence) head, inside ``emotrack.assets``."""

TOLERANCE = 1e-4
"""Max. absolute difference, in the head's output, between this tracker (any block sizes,
any batch of frames) and musicnn run patch by patch: float32 summation order only."""

INPUTS = {"dense": 200, "penultimate": 200, "logits": 50, "pooled": 1506}
"""musicnn outputs a head may read, with their sizes (see :class:`MusicnnOutputs`)."""

_EDGE = 3  # (timbral kernel 7 - 1) // 2: positions at each patch edge reached by the zero padding
_CHUNK = 256  # timbral positions per convolution call (measured: longer calls cost more per position)
_PATCHES = 2  # patches per forward pass: the temporal branches' [B, 51, 187, 96] maps of larger
              # batches leave the CPU caches (measured 7.5 ms a patch at 1-2, 14 ms at 4, 20 ms at 8)


def last_window(k: np.ndarray | int) -> np.ndarray | int:
    """``j_last(k)``: the last musicnn window lying entirely inside frames ``0..k``."""
    return ((np.asarray(k) + 1) * FRAME_LENGTH - MUSICNN_SPEC.n_fft) // MUSICNN_SPEC.hop_length


WARMUP_FRAMES = int(np.argmax(last_window(np.arange(64)) - (PATCH_FRAMES - 1) >= 0))
"""Frames ``k < WARMUP_FRAMES`` (6) have less than a whole 3 s patch of audio behind them."""


def default_head_path() -> Path:
    """The shipped head file."""
    return Path(str(files("emotrack.assets").joinpath(HEAD_ASSET)))


def load_head(path: str | os.PathLike | None = None) -> RidgeHead:
    """Load a musicnn head (default: the shipped one) and check it fits this tracker.

    Raises
    ------
    CheckpointError
        Missing or unreadable file, a head of another tracker, unknown inputs, or
        coefficients whose size does not match its inputs.
    """
    p = Path(path) if path is not None else default_head_path()
    if path is None and not p.is_file():
        raise CheckpointError(f"the musicnn head is missing at '{p}'; reinstall emotrack")
    head = RidgeHead.load(p)
    tracker = head.facts.get("tracker", "musicnn")
    if tracker != "musicnn":
        raise CheckpointError(f"'{p}' is a head for the {tracker!r} tracker, not for musicnn")
    inputs = head_inputs(head)
    unknown = [name for name in inputs if name not in INPUTS]
    if unknown:
        raise CheckpointError(f"'{p}' reads unknown musicnn outputs {unknown}; known: {sorted(INPUTS)}")
    d = sum(INPUTS[name] for name in inputs)
    if head.coef.shape != (d, 2):
        raise CheckpointError(
            f"'{p}' is not an (arousal, valence) head on musicnn {'+'.join(inputs)} ({d} values): "
            f"its coefficients have shape {head.coef.shape}")
    return head


def head_inputs(head: RidgeHead) -> list[str]:
    """The musicnn outputs a head reads, in concatenation order (old heads: ``["dense"]``)."""
    inputs = head.facts.get("inputs", ["dense"])
    if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
        raise CheckpointError(f"head facts 'inputs' must be a non-empty list of names, got {inputs!r}")
    return inputs


class MusicnnTracker(Tracker):
    """musicnn + a ridge head as a tracker (see the module docstring).

    Parameters
    ----------
    head : RidgeHead, optional
        Default: the shipped head (:func:`load_head`).
    head_path : path-like, optional
        Where ``head`` came from (reported by :meth:`describe`).
    model : MusicnnMSD, optional
        Default: the shipped weights on ``device``.
    device : str
        Torch device (``"cpu"``, ``"cuda"``...).
    silence : SilenceConfig, optional
    workers : int
        Threads that compute the patches of one batch in parallel (offline analysis of long
        blocks; a live batch is one frame).  Use it with ``torch.set_num_threads(1)``: each
        torch call then stays on one core, and ``workers`` calls run side by side.
    """

    name = "musicnn"
    warmup_frames = WARMUP_FRAMES
    centered_span = WARMUP_FRAMES  # the causal patches whose 3 s cover a frame
    extra_names = MSD_TAGS

    def __init__(self, head: RidgeHead | None = None, *, head_path: str | os.PathLike | None = None,
                 model: MusicnnMSD | None = None, device: str = "cpu",
                 silence: SilenceConfig | None = None, workers: int = 1) -> None:
        if head is None:
            head_path = head_path or default_head_path()
            head = load_head(head_path)
        scale = head.facts.get("display_scale")
        super().__init__(scale=DisplayScale.from_dict(scale) if scale is not None else None,
                         silence=silence)
        self.head = head
        self.head_path = None if head_path is None else str(head_path)
        self.inputs = head_inputs(head)
        self.device = str(device)
        self.net = model if model is not None else load_musicnn(self.device)
        self.net.eval()
        self.workers = max(1, int(workers))
        self._pool = None
        self.record: tuple[str, ...] = ()
        """musicnn outputs (names of :data:`INPUTS`) to keep for every frame in :attr:`recorded`."""
        self.recorded: list[dict[str, np.ndarray]] = []
        with torch.inference_mode():
            bn = self.net.input_bn
            scale_ = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            self._bn_a = float(scale_[0])
            self._bn_b = float(bn.bias[0] - bn.running_mean[0] * scale_[0])
            # timbral outputs where all 7 windows of the receptive field are log-mel zeros
            silent = torch.full((1, 1, 2 * _EDGE + 1, MUSICNN_SPEC.n_mels), self._bn_b, device=self.device)
            self._timbral_silence = self._timbral(silent)[0, :, 0]  # (408,)
        self.reset_network()

    # ------------------------------------------------------------------ stages
    def _new_features(self, input_sr: int) -> WindowMelStream:
        return WindowMelStream(MUSICNN_SPEC, input_sr, frame_length=FRAME_LENGTH)

    def reset_network(self) -> None:
        """Forget the stream: windows before the next one are silence (log-mel zeros)."""
        pad = PATCH_FRAMES + 2 * _EDGE  # enough silence for the first patch and its edges
        self._x0 = -pad  # global index of self._xb[0]
        self._xb = torch.full((pad, MUSICNN_SPEC.n_mels), self._bn_b, device=self.device)
        self._t0 = -pad + _EDGE  # global index of self._tim[:, 0]
        self._tim = self._timbral_silence[:, None].repeat(1, pad - 2 * _EDGE)  # (408, positions)

    @torch.inference_mode()
    def _infer_values(self, batch: FeatureBatch) -> tuple[np.ndarray, np.ndarray | None]:
        data: WindowBatch = batch.data
        self._append_windows(data)
        n = batch.n
        if n == 0:
            return np.zeros((0, 2), np.float32), np.zeros((0, len(MSD_TAGS)), np.float32)
        ends = last_window(np.arange(batch.first_index, batch.first_index + n))
        end = int(ends[-1])
        have = self._x0 + self._xb.shape[0] - 1
        if have < end:  # final partial frame: windows after the end of the signal are silence
            pad = torch.full((end - have, MUSICNN_SPEC.n_mels), self._bn_b, device=self.device)
            self._xb = torch.cat((self._xb, pad))
        self._extend_timbral(end - _EDGE)
        starts = ends - (PATCH_FRAMES - 1)
        wanted = {*self.inputs, *self.record, "tags"}
        groups = [starts[i:i + _PATCHES] for i in range(0, n, _PATCHES)]
        parts = list(self._map(lambda g: self._patch_outputs(g, wanted), groups))
        outputs = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        if self.record:
            self.recorded.append({k: outputs[k] for k in self.record})
        x = np.concatenate([outputs[name] for name in self.inputs], axis=1)
        values = self.head.predict(x)
        self._trim(int(last_window(batch.first_index + n)) - (PATCH_FRAMES - 1))
        return values, outputs["tags"]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": "musicnn MSD_musicnn (Pons & Serra, ISC licence) on the causal 3 s patch "
                           "ending at each 500 ms frame's end -> ridge head (arousal, valence); "
                           "extras: musicnn's 50 MSD tag probabilities",
            "weights": "emotrack.assets/musicnn/msd_musicnn.safetensors",
            "head": self.head_path,
            "head_inputs": self.inputs,
            "head_facts": {k: v for k, v in self.head.facts.items() if k != "display_scale"},
            "display_scale_reference": self.scale.reference if self.scale else None,
            "device": self.device,
            "warmup_frames": self.warmup_frames,
        }

    # ------------------------------------------------------------------ internals
    def _append_windows(self, data: WindowBatch) -> None:
        w = data.windows
        if not len(w):
            return
        expected = self._x0 + self._xb.shape[0]
        if data.first_window != expected:
            raise RuntimeError(f"musicnn tracker: window {data.first_window} follows window {expected - 1}")
        xb = torch.from_numpy(np.ascontiguousarray(w, np.float32)).to(self.device)
        self._xb = torch.cat((self._xb, xb * self._bn_a + self._bn_b))

    def _timbral(self, xb: torch.Tensor) -> torch.Tensor:
        """Both timbral branches, no padding: ``[B, 1, T + 6, 96]`` -> ``[B, 408, T]``."""
        out = []
        for block in (self.net.timbral_74, self.net.timbral_77):
            out.append(block.bn(F.relu(block.conv(xb))).amax(dim=3))
        return torch.cat(out, dim=1)

    def _map(self, fn, items: list) -> list:
        """``[fn(x) for x in items]``, on :attr:`workers` threads when there is more than one item."""
        if self.workers == 1 or len(items) < 2:
            return [fn(x) for x in items]
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="emotrack-musicnn")

        def run(x):
            with torch.inference_mode():  # a grad mode is per thread
                return fn(x)

        try:
            return list(self._pool.map(run, items))
        except RuntimeError as exc:  # "can't start new thread": an address-space limit (ulimit -v)
            if "thread" not in str(exc):
                raise
            self._pool.shutdown(wait=True)
            self._pool, self.workers = None, 1  # the same results, one after another
            return [fn(x) for x in items]

    def _extend_timbral(self, upto: int) -> None:
        """Compute the global timbral outputs of every position up to ``upto``."""
        start = self._t0 + self._tim.shape[1]
        if upto < start:
            return

        def chunk(a: int) -> torch.Tensor:
            b = min(upto, a + _CHUNK - 1)
            lo = a - _EDGE - self._x0
            return self._timbral(self._xb[lo:lo + (b - a + 1) + 2 * _EDGE][None, None])[0]

        self._tim = torch.cat([self._tim, *self._map(chunk, list(range(start, upto + 1, _CHUNK)))], dim=1)

    def _patch_outputs(self, starts: np.ndarray, wanted: set[str]) -> dict[str, np.ndarray]:
        """musicnn's outputs for the 187-window patches starting at global windows ``starts``."""
        net, dev = self.net, self.device
        s = torch.as_tensor(starts - self._x0, device=dev)
        idx = s[:, None] + torch.arange(PATCH_FRAMES, device=dev)[None]
        patches = self._xb[idx].unsqueeze(1)  # [n, 1, 187, 96]
        zeros = patches.new_zeros(len(starts), 1, _EDGE, patches.shape[3])
        head = self._timbral(torch.cat((zeros, patches[:, :, :2 * _EDGE]), dim=2))
        tail = self._timbral(torch.cat((patches[:, :, -2 * _EDGE:], zeros), dim=2))
        t = torch.as_tensor(starts + _EDGE - self._t0, device=dev)
        inner = self._tim[:, t[:, None] + torch.arange(PATCH_FRAMES - 2 * _EDGE, device=dev)[None]]
        timbral = torch.cat((head, inner.permute(1, 0, 2), tail), dim=2)  # [n, 408, 187]
        temporal = [b(patches) for b in (net.temporal_128, net.temporal_64, net.temporal_32)]
        front = torch.cat((timbral, *temporal), dim=1)  # [n, 561, 187]
        m1 = net.mid1(front)
        m2 = net.mid2(m1) + m1
        m3 = net.mid3(m2) + m2
        feats = torch.cat((front, m1, m2, m3), dim=1)
        pooled = net.pool_bn(torch.stack((feats.amax(dim=2), feats.mean(dim=2)), dim=-1).flatten(1))
        dense = net.dense(pooled)
        penultimate = net.dense_bn(F.relu(dense))
        logits = net.out(penultimate)
        out = {"dense": dense, "penultimate": penultimate, "logits": logits, "pooled": pooled,
               "tags": torch.sigmoid(logits)}
        return {k: v.float().cpu().numpy() for k, v in out.items() if k in wanted}

    def _trim(self, next_start: int) -> None:
        """Drop windows and timbral outputs that no later patch (from ``next_start``) needs."""
        drop_x = next_start - self._x0
        if drop_x > 0:
            self._xb = self._xb[drop_x:]
            self._x0 += drop_x
        drop_t = next_start + _EDGE - self._t0
        if drop_t > 0:
            self._tim = self._tim[:, drop_t:]
            self._t0 += drop_t


def frame_outputs(audio: np.ndarray, sr: int, names: tuple[str, ...] = ("dense", "tags"), *,
                  tracker: MusicnnTracker | None = None) -> dict[str, np.ndarray]:
    """musicnn's outputs on the causal 3 s patch of every 500 ms frame of a whole signal.

    For research tools (head fitting, evaluation): the same stream and code as the
    tracker's live path.  ``names`` from :data:`INPUTS` and ``"tags"``.

    Returns
    -------
    dict of name -> np.ndarray, shape=(n_frames, size)
    """
    tr = tracker if tracker is not None else MusicnnTracker()
    saved, tr.record, tr.recorded = tr.record, tuple(names), []
    try:
        with torch.inference_mode():
            tr.analyze([audio], sr)
        parts = tr.recorded
    finally:
        tr.record, tr.recorded = saved, []
    if not parts:
        return {n: np.zeros((0, INPUTS.get(n, len(MSD_TAGS))), np.float32) for n in names}
    return {n: np.concatenate([p[n] for p in parts]) for n in names}
