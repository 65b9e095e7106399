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
the 50 tag probabilities are the extras.  A head with an uncertainty model
(:meth:`~emotrack.model.ridge.RidgeHead.predict_sd`) gives each frame's per-axis
standard deviation (``TrackerFrames.sd``) from the same outputs.

How it stays cheap (exactly)
----------------------------
Consecutive patches overlap by 5/6.  musicnn zero-pads each patch at its edges,
so a patch's outputs are not a slice of one long convolution, but almost:

* every front-end branch (the two *timbral* ones, 7-window kernels, ~60 % of musicnn's
  cost, and the three *temporal* ones, 128/64/32-window kernels) is computed once per
  position over the stream (:class:`StreamedBranch`) where its receptive field lies
  inside the patch; only the positions at each patch edge that the patch's zero
  padding reaches are recomputed per patch (3 at each edge for the timbral branches,
  63/64, 31/32 and 15/16 for the temporal ones);
* the mid-end and the back-end run per patch.

The result equals running :class:`MusicnnMSD` on each patch separately
(``tests/test_musicnn_tracker.py`` checks both, to :data:`TOLERANCE`).

Silent frames cost no network pass
----------------------------------
A frame's result depends on its own patch only, so a silent frame (no values,
DESIGN contract 7) is simply not computed (:attr:`MusicnnTracker.skips_silent`):
neither its patch nor the front-end positions that only silent frames' patches
would read.  What a silent frame still costs is stage 1 (decoding, resampling,
the log-mel windows and its level), the same live and offline.
:attr:`MusicnnTracker.patches_run` counts the patches computed,
:attr:`MusicnnTracker.front_end_run` the streamed front-end positions.
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
from .musicnn import (MSD_TAGS, MUSICNN_SPEC, PATCH_FRAMES, MusicnnMSD, interleave_pools, load_musicnn,
                      tf_same_padding)
from .musicnn_causal import MID_LOOKBACK, POOL_DELAY, CausalMusicnn
from .ridge import RidgeHead
from .scale import DisplayScale
from .temporal import TemporalConfig, TemporalStage, centered_values
from .tracker import SilenceConfig, Tracker, TrackerFrames, covering_average

FRAME_LENGTH = 8000
"""Model-rate samples per 500 ms frame."""

HEAD_ASSET = "teacher/musicnn_va_head.safetensors"
"""The shipped (arousal, valence) head, inside ``emotrack.assets``."""

TOLERANCE = 1e-4
"""Max. absolute difference, in the head's output, between this tracker (any block sizes,
any batch of frames) and musicnn run patch by patch: float32 summation order only."""

INPUTS = {"dense": 200, "penultimate": 200, "logits": 50, "pooled": 1506}
"""musicnn outputs a head may read, with their sizes (see :class:`MusicnnOutputs`)."""

STREAMS = ("patch", "causal", "aligned")
"""How musicnn runs over the stream: ``patch``, musicnn exactly on each frame's zero-padded 3 s
patch (this module); ``causal``, every layer as a causal convolution over the whole stream, each
position computed once (:mod:`~emotrack.model.musicnn_causal`); ``aligned``, the same
convolutions with every layer reporting the time musicnn's own would, the pooled 3 s ending
1.17 s before the frame's end (same module).  A head names the one it was
fitted on in its facts (``"stream"``; heads without it are ``patch`` heads)."""

_CHUNK = 256  # timbral positions per convolution call (measured: longer calls cost more per position)
_POOL_GROUP = 32  # causal frames pooled per call (each reads [753, 187] of the stores)
_PATCHES = 2  # patches per forward pass: the temporal branches' [B, 51, 187, 96] maps of larger
              # batches leave the CPU caches (measured 7.5 ms a patch at 1-2, 14 ms at 4, 20 ms at 8)


TEMPORAL = TemporalConfig(context_s=0.5, tau_s=0.0, centered_span=10, centered_tau_s=1.0)
"""The shipped temporal stage, chosen from a fixed candidate list on step-response medleys and the
10 emoMusic clips (``tests/bench/bench_steps.py --candidates``; docs/models.md "Temporal behaviour"),
re-chosen for the causal-stream head (issue 21): causal, the newest frame's output unsmoothed (with
the causal stream every smoothing candidate took the median step past the 3 s budget); centered,
the 10 patches around a frame (5 s), smoothed forwards and backwards with 1 s."""


def last_window(k: np.ndarray | int) -> np.ndarray | int:
    """``j_last(k)``: the last musicnn window lying entirely inside frames ``0..k``."""
    return ((np.asarray(k) + 1) * FRAME_LENGTH - MUSICNN_SPEC.n_fft) // MUSICNN_SPEC.hop_length


WARMUP_FRAMES = int(np.argmax(last_window(np.arange(64)) - (PATCH_FRAMES - 1) >= 0))
"""Frames ``k < WARMUP_FRAMES`` (6) have less than a whole 3 s patch of audio behind them."""


ALIGNED_LAG_FRAMES = round(POOL_DELAY * MUSICNN_SPEC.hop_length / FRAME_LENGTH)
"""The aligned stream's pool ends :data:`~emotrack.model.musicnn_causal.POOL_DELAY` windows
(1.17 s) before a frame's last window: 2 frames, rounded."""


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
    head_stream(head, p)
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


def head_side_halfwidth(head: RidgeHead) -> np.ndarray | None:
    """The head's ``words.side_halfwidth`` (raw scale; null entries: inf), or None for a head
    fitted before it existed (the words then use the sd)."""
    words = head.facts.get("words")
    got = words.get("side_halfwidth") if isinstance(words, dict) else None
    if got is None:
        return None
    try:
        out = np.array([np.inf if h is None else float(h) for h in got], np.float64)
    except (TypeError, ValueError):
        out = np.zeros(0)
    if out.shape != (2,) or np.isnan(out).any() or (out < 0).any():
        raise CheckpointError(f"musicnn head: words.side_halfwidth must be two distances >= 0 (or null), got {got!r}")
    return out


def head_stream(head: RidgeHead, path: str | os.PathLike | None = None) -> str:
    """How the musicnn outputs this head reads were computed (:data:`STREAMS`)."""
    stream = head.facts.get("stream", "patch")
    if stream not in STREAMS:
        where = f"'{path}'" if path is not None else "the head"
        raise CheckpointError(f"{where} was fitted on musicnn outputs computed as {stream!r}; this "
                              f"version knows {', '.join(STREAMS)}: update emotrack or refit the head")
    return stream


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
    temporal : TemporalConfig, optional
        The temporal stage after the head (:mod:`~emotrack.model.temporal`); default
        :data:`TEMPORAL`.
    stream : {"patch", "causal", "aligned"}, optional
        How musicnn runs (:data:`STREAMS`); default: what the head was fitted on.
    """

    name = "musicnn"
    skips_silent = True
    warmup_frames = WARMUP_FRAMES
    centered_span = WARMUP_FRAMES  # the causal patches whose 3 s cover a frame
    extra_names = MSD_TAGS

    def __init__(self, head: RidgeHead | None = None, *, head_path: str | os.PathLike | None = None,
                 model: MusicnnMSD | None = None, device: str = "cpu",
                 silence: SilenceConfig | None = None, workers: int = 1,
                 temporal: TemporalConfig | None = None, stream: str | None = None) -> None:
        if head is None:
            head_path = head_path or default_head_path()
            head = load_head(head_path)
        scale = head.facts.get("display_scale")
        super().__init__(scale=DisplayScale.from_dict(scale) if scale is not None else None,
                         silence=silence)
        self.head = head
        self.head_path = None if head_path is None else str(head_path)
        self.side_halfwidth = head_side_halfwidth(head)
        self.inputs = head_inputs(head)
        self.stream = stream if stream is not None else head_stream(head, head_path)
        if self.stream not in STREAMS:
            raise ValueError(f"stream must be one of {STREAMS}, got {self.stream!r}")
        self.device = str(device)
        self.net = model if model is not None else load_musicnn(self.device)
        self.net.eval()
        self.workers = max(1, int(workers))
        self.temporal = TemporalStage(temporal if temporal is not None else TEMPORAL, self.warmup_frames)
        """The temporal stage: the one place where head outputs become the values shown."""
        self._pool = None
        self.record: tuple[str, ...] = ()
        """musicnn outputs (names of :data:`INPUTS`) to keep for every frame in :attr:`recorded`."""
        self.recorded: list[dict[str, np.ndarray]] = []
        self.patches_run = 0
        """Patches (network passes) computed since the tracker was made (silent frames run none)."""
        net = self.net
        self.branches = [StreamedBranch((net.timbral_74, net.timbral_77), 7),
                         StreamedBranch((net.temporal_128,), 128),
                         StreamedBranch((net.temporal_64,), 64),
                         StreamedBranch((net.temporal_32,), 32)]
        """The front end in musicnn's channel order (408 timbral, then 3 x 51 temporal)."""
        self.causal = (CausalMusicnn(net, self._map, aligned=self.stream == "aligned")
                       if self.stream in ("causal", "aligned") else None)
        """The streamed convolutions (``stream="causal"`` or ``"aligned"``), else None."""
        self.centered_lag = ALIGNED_LAG_FRAMES if self.stream == "aligned" else 0
        """Frames by which an output reports later than the end of the 3 s it pools (centered mode
        averages the outputs ``k + lag ..`` for frame ``k``)."""
        with torch.inference_mode():
            bn = self.net.input_bn
            scale_ = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            self._bn_a = float(scale_[0])
            self._bn_b = float(bn.bias[0] - bn.running_mean[0] * scale_[0])
        self.reset_network()

    # ------------------------------------------------------------------ stages
    def _new_features(self, input_sr: int) -> WindowMelStream:
        return WindowMelStream(MUSICNN_SPEC, input_sr, frame_length=FRAME_LENGTH)

    def reset_network(self) -> None:
        """Forget the stream: windows before the next one are silence (log-mel zeros)."""
        pad = PATCH_FRAMES  # the windows of the first patch lying before the stream
        if self.causal is not None:
            pad += self.causal.lookback  # and the windows its first positions read
        self._x0 = -pad  # global index of self._xb[0]
        self._xb = torch.full((pad, MUSICNN_SPEC.n_mels), self._bn_b, device=self.device)
        with torch.inference_mode():
            if self.causal is not None:
                self.causal.reset()
            else:
                for branch in self.branches:
                    branch.reset(self._xb, self._x0)
        if hasattr(self, "temporal"):
            self.temporal.reset()

    @torch.inference_mode()
    def _infer_values(self, batch: FeatureBatch) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        data: WindowBatch = batch.data
        self._append_windows(data)
        n = batch.n
        if n == 0:
            return np.zeros((0, 2), np.float32), np.zeros((0, len(MSD_TAGS)), np.float32), None
        ends = last_window(np.arange(batch.first_index, batch.first_index + n))
        end = int(ends[-1])
        have = self._x0 + self._xb.shape[0] - 1
        if have < end:  # final partial frame: windows after the end of the signal are silence
            pad = torch.full((end - have, MUSICNN_SPEC.n_mels), self._bn_b, device=self.device)
            self._xb = torch.cat((self._xb, pad))
        run = ~self.silent_frames(batch) if self.skips_silent else np.ones(n, bool)
        values = np.full((n, 2), np.nan, np.float32)
        sd = np.full((n, 2), np.nan, np.float32) if self.head.has_sd else None
        tags = np.full((n, len(MSD_TAGS)), np.nan, np.float32)
        if run.any():
            outputs = self._outputs(ends[run], {*self.inputs, *self.record, "tags"})
            self.patches_run += int(run.sum())
            if self.record:
                self.recorded.append({k: outputs[k] for k in self.record})
            x = np.concatenate([outputs[name] for name in self.inputs], axis=1)
            values[run] = self.head.predict(x)
            if sd is not None:
                sd[run] = self.head.predict_sd(x)
            tags[run] = outputs["tags"]
        self._trim(int(last_window(batch.first_index + n)) - (PATCH_FRAMES - 1))
        values, sd = self.temporal.step(batch.first_index, values, sd)
        return values, tags, sd

    def _outputs(self, ends: np.ndarray, wanted: set[str]) -> dict[str, np.ndarray]:
        """musicnn's outputs (``wanted`` names) for the frames whose patches end at windows ``ends``
        (increasing; their windows must be in ``_xb``)."""
        if self.causal is not None:
            parts = []
            for seg in _segments(ends):
                self.causal.extend(self._xb, self._x0, int(seg[0]) - (PATCH_FRAMES - 1), int(seg[-1]))
                groups = [seg[i:i + _POOL_GROUP] for i in range(0, len(seg), _POOL_GROUP)]
                parts += self._map(lambda g: self._back_end(self.causal.pooled(g), wanted), groups)
        else:
            starts = ends - (PATCH_FRAMES - 1)
            last = int(ends[-1])  # positions after the last wanted frame's patch: not needed
            for branch in self.branches:
                branch.extend(self._xb, self._x0, last - branch.hi, self._map,
                              first=int(starts[0]) + branch.lo)
            groups = [starts[i:i + _PATCHES] for i in range(0, len(starts), _PATCHES)]
            parts = list(self._map(lambda g: self._patch_outputs(g, wanted), groups))
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    @property
    def front_end_run(self) -> int:
        """Streamed front-end positions computed (all branches) since the tracker was made."""
        if self.causal is not None:
            return self.causal.computed
        return sum(b.computed for b in self.branches)

    def analyze(self, blocks, input_sr: int, *, mode: str = "causal", on_frames=None) -> TrackerFrames:
        """As :meth:`Tracker.analyze`; centered mode smooths the raw head outputs of the whole
        signal itself (:func:`~emotrack.model.temporal.centered_values`), not the causal values."""
        if mode != "centered":
            return super().analyze(blocks, input_sr, mode=mode, on_frames=on_frames)
        with self.temporal.bypassed():
            raw = super().analyze(blocks, input_sr, mode="causal", on_frames=on_frames)
        return self.centered(raw, []).without_silent_values()

    def centered(self, causal: TrackerFrames, batches: list) -> TrackerFrames:
        """Centered values from the raw (unsmoothed) causal outputs of a whole signal, real audio
        only at the edges (:func:`~emotrack.model.temporal.centered_values`); ``warming_up`` only
        when the whole signal is shorter than one patch."""
        cfg = self.temporal.config
        span, warm, lag = self.centered_span, self.warmup_frames, self.centered_lag
        values, padded = centered_values(causal.values, cfg, span, warm, lag)
        sd = None if causal.sd is None else centered_values(causal.sd, cfg, span, warm, lag)[0]
        extras = None if causal.extras is None else covering_average(causal.extras, span, lag)
        return causal.replace(values=values, extras=extras, sd=sd,
                              warming_up=np.full(len(causal), padded, bool))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": ("musicnn MSD_musicnn (Pons & Serra, ISC licence) on the causal 3 s patch "
                            "ending at each 500 ms frame's end" + (
                                ", every layer a causal convolution over the stream" if self.causal is not None
                                else "") + " -> ridge head (arousal, valence); "
                            "extras: musicnn's 50 MSD tag probabilities"),
            "stream": self.stream,
            "weights": "emotrack.assets/musicnn/msd_musicnn.safetensors",
            "head": self.head_path,
            "head_inputs": self.inputs,
            "head_facts": {k: v for k, v in self.head.facts.items() if k != "display_scale"},
            "display_scale_reference": self.scale.reference if self.scale else None,
            "device": self.device,
            "warmup_frames": self.warmup_frames,
            "temporal": self.temporal.config.to_dict(),
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

    def _patch_outputs(self, starts: np.ndarray, wanted: set[str]) -> dict[str, np.ndarray]:
        """musicnn's outputs for the 187-window patches starting at global windows ``starts``."""
        net, dev = self.net, self.device
        s = torch.as_tensor(starts - self._x0, device=dev)
        idx = s[:, None] + torch.arange(PATCH_FRAMES, device=dev)[None]
        patches = self._xb[idx].unsqueeze(1)  # [n, 1, 187, 96]
        front = torch.cat([b.patch_outputs(patches, starts) for b in self.branches], dim=1)  # [n, 561, 187]
        m1 = net.mid1(front)
        m2 = net.mid2(m1) + m1
        m3 = net.mid3(m2) + m2
        feats = torch.cat((front, m1, m2, m3), dim=1)
        pooled = net.pool_bn(interleave_pools(feats.amax(dim=2), feats.mean(dim=2)))
        return self._back_end(pooled, wanted)

    def _back_end(self, pooled: torch.Tensor, wanted: set[str]) -> dict[str, np.ndarray]:
        """musicnn's back end on ``[n, 1506]`` pooled features -> the ``wanted`` outputs."""
        net = self.net
        dense = net.dense(pooled)
        penultimate = net.dense_bn(F.relu(dense))
        logits = net.out(penultimate)
        out = {"dense": dense, "penultimate": penultimate, "logits": logits, "pooled": pooled,
               "tags": torch.sigmoid(logits)}
        return {k: v.float().cpu().numpy() for k, v in out.items() if k in wanted}

    def _trim(self, next_start: int) -> None:
        """Drop windows and timbral outputs that no later patch (from ``next_start``) needs."""
        if self.causal is not None:
            self.causal.trim(next_start)
            next_start -= self.causal.lookback  # the windows its next positions read
        else:
            for branch in self.branches:
                branch.trim(next_start)
        drop_x = next_start - self._x0
        if drop_x > 0:
            self._xb = self._xb[drop_x:]
            self._x0 += drop_x


class StreamedBranch:
    """Front-end blocks of one kernel length, computed once per position over the stream.

    musicnn pads each patch with ``lo, hi = tf_same_padding(kt)`` zero windows, so
    the branch's output at patch position ``p`` equals the output of one long
    convolution over the stream (position ``start + p``) wherever its receptive field
    ``p - lo .. p + hi`` lies inside the patch, i.e. ``lo <= p <= 186 - hi``.  Those
    positions are kept in :attr:`store` (``[C, positions]``, from global position
    :attr:`t0`); the ``lo`` and ``hi`` positions at the patch's edges are computed per
    patch with the zeros the patch's padding puts there.

    Parameters
    ----------
    blocks : tuple of musicnn front-end blocks (``_FreqPooledConv``) of kernel length ``kt``
    kt : int
    """

    def __init__(self, blocks: tuple, kt: int) -> None:
        self.blocks = blocks
        self.lo, self.hi = tf_same_padding(kt)
        self.t0 = 0
        self.store: torch.Tensor | None = None
        self.computed = 0
        """Positions computed by :meth:`extend` since the branch was made."""

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """The blocks without padding: ``[B, 1, T, 96]`` -> ``[B, C, T - lo - hi]``."""
        return torch.cat([block.pooled(x) for block in self.blocks], dim=1)

    def reset(self, xb: torch.Tensor, x0: int) -> None:
        """Start a stream whose windows so far are ``xb`` (global index of ``xb[0]``: ``x0``)."""
        self.store = self.apply(xb[None, None])[0]
        self.t0 = x0 + self.lo

    def extend(self, xb: torch.Tensor, x0: int, upto: int, map_fn, first: int | None = None) -> None:
        """Compute every position up to ``upto`` (its windows must be in ``xb``); positions before
        ``first`` not computed yet are needed by no patch (silent frames'): skipped."""
        start = self.t0 + self.store.shape[1]
        if first is not None and first > start:
            self.store = self.store[:, :0]
            self.t0 = start = first
        if upto < start:
            return

        def chunk(a: int) -> torch.Tensor:
            b = min(upto, a + _CHUNK - 1)
            first = a - self.lo - x0
            return self.apply(xb[first:first + (b - a + 1) + self.lo + self.hi][None, None])[0]

        self.store = torch.cat([self.store, *map_fn(chunk, list(range(start, upto + 1, _CHUNK)))], dim=1)
        self.computed += upto + 1 - start

    def patch_outputs(self, patches: torch.Tensor, starts: np.ndarray) -> torch.Tensor:
        """``[n, C, 187]`` outputs of the patches ``[n, 1, 187, 96]`` starting at global ``starts``."""
        lo, hi, n = self.lo, self.hi, len(starts)
        parts = []
        if lo:
            zeros = patches.new_zeros(n, 1, lo, patches.shape[3])
            parts.append(self.apply(torch.cat((zeros, patches[:, :, :lo + hi]), dim=2)))
        t = torch.as_tensor(starts + lo - self.t0, device=patches.device)
        inner = self.store[:, t[:, None] + torch.arange(PATCH_FRAMES - lo - hi, device=patches.device)[None]]
        parts.append(inner.permute(1, 0, 2))
        if hi:
            zeros = patches.new_zeros(n, 1, hi, patches.shape[3])
            parts.append(self.apply(torch.cat((patches[:, :, PATCH_FRAMES - lo - hi:], zeros), dim=2)))
        return torch.cat(parts, dim=2)

    def trim(self, next_start: int) -> None:
        """Drop the positions no patch from ``next_start`` on needs."""
        drop = next_start + self.lo - self.t0
        if drop > 0:
            self.store = self.store[:, drop:]
            self.t0 += drop


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
    tr.skips_silent = False  # every frame's outputs, silent ones included
    try:
        with torch.inference_mode():
            tr.analyze([audio], sr)
        parts = tr.recorded
    finally:
        tr.record, tr.recorded = saved, []
        del tr.skips_silent  # back to the class's
    if not parts:
        return {n: np.zeros((0, INPUTS.get(n, len(MSD_TAGS))), np.float32) for n in names}
    return {n: np.concatenate([p[n] for p in parts]) for n in names}


def strided_frame_outputs(audio: np.ndarray, sr: int, names: tuple[str, ...], *, stride: int,
                          tracker: MusicnnTracker | None = None) -> dict[str, np.ndarray]:
    """musicnn's outputs on the causal patches of frames ``k = 0, stride, 2 stride, ...`` only.

    For fitting heads on song means when CPU is short: the same stream and patch code as
    :func:`frame_outputs` (each kept frame's outputs equal it), skipping the other frames'
    patches.  Adds ``index`` (the kept frames' ``k``) and ``level_db`` (their RMS dBFS).
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    tr = tracker if tracker is not None else MusicnnTracker()
    tr.reset(sr)
    wanted = set(names)
    parts: list[dict[str, np.ndarray]] = []
    with torch.inference_mode():
        for batch in (tr.features.push(audio), tr.features.flush()):
            tr._append_windows(batch.data)
            if batch.n == 0:
                continue
            k = np.arange(batch.first_index, batch.first_index + batch.n)
            ends = last_window(k)
            have = tr._x0 + tr._xb.shape[0] - 1
            if have < int(ends[-1]):
                pad = torch.full((int(ends[-1]) - have, MUSICNN_SPEC.n_mels), tr._bn_b, device=tr.device)
                tr._xb = torch.cat((tr._xb, pad))
            keep = k % stride == 0
            if not keep.any():
                continue
            parts.append(tr._outputs(ends[keep], wanted))
            parts.append({"index": k[keep], "level_db": np.asarray(batch.level_db, np.float32)[keep]})
    tr.reset_network()
    out = {n: np.concatenate([p[n] for p in parts if n in p]) if parts else
           np.zeros((0, INPUTS.get(n, len(MSD_TAGS))), np.float32) for n in names}
    out["index"] = np.concatenate([p["index"] for p in parts if "index" in p]) if parts else np.zeros(0, int)
    out["level_db"] = (np.concatenate([p["level_db"] for p in parts if "level_db" in p]) if parts
                       else np.zeros(0, np.float32))
    return out


def _segments(ends: np.ndarray) -> list[np.ndarray]:
    """``ends`` split where the causal stores can restart: a frame whose positions (and the
    mid-end's look-back) begin after the previous frame's last position shares nothing with it."""
    gap = (ends[1:] - (PATCH_FRAMES - 1) - MID_LOOKBACK) > ends[:-1] + 1
    return np.split(ends, np.flatnonzero(gap) + 1)
