"""musicnn made causal and streamed: every position computed once, from the past only.

What it computes
----------------
musicnn (:class:`~emotrack.model.musicnn.MusicnnMSD`) pads each 3 s patch with zeros and
its convolutions look ahead by half their kernel, so a patch's outputs cannot be carried
from one frame to the next: the tracker's exact mode (:mod:`~emotrack.model.musicnn_tracker`,
``stream="patch"``) recomputes each patch's edges and the whole mid-end for every 500 ms
frame, about half of a live frame's CPU.

This module runs the same layers with the same weights as **causal convolutions over the
whole stream** (``stream="causal"``): the output of every front-end and mid-end layer at
window ``t`` is the layer's convolution over the ``kt`` positions ending at ``t``
(``t - kt + 1 .. t``), with no padding. So

* a position depends on windows ``t - 145 .. t`` only (127 for the longest front-end
  kernel, 3 x 6 for the mid-end), never on audio after it, and never on where a patch
  starts: it is computed once, when its window arrives, and kept while a frame needs it;
* frame ``k`` pools (max and mean, as musicnn's back end) the 753 front- and mid-end
  features of the 187 positions ``j_last(k) - 186 .. j_last(k)``, then runs the back end
  (``pool_bn``, ``dense``, ``dense_bn``, ``out``) as musicnn does.

Against the exact patch mode this changes two things, both measured in
``assets/MODEL_CARD.md`` ("Causal musicnn"): a patch's first positions see the real audio
before the patch instead of zeros, and each layer's output is shifted by half its kernel
(the newest window is read at once, the 128-window temporal branch reports it at the end of
its field instead of 64 windows before it). The head is fitted on these outputs
(its facts say ``"stream": "causal"``); heads fitted on exact patches keep the exact mode.

A live frame then costs its ~31 new positions of every layer plus the pooling, instead of
the new front-end positions plus every patch's edges and 187 mid-end positions.

**Aligned** (``aligned=True``, the tracker's ``stream="aligned"``): the same positions, computed
once each at the same cost, but every layer reports the time musicnn's own ("same"-padded)
convolutions would give it. In the causal stream the timbral branch (kernel 7) reports a window
3 positions after the time it is centred on and the 128-window temporal branch 64 after, so the
mid-end mixes timbral features of one moment with temporal features of a second earlier, and each
residual adds a layer's input to a convolution centred 3 positions before it. Aligned, each front
branch is delayed to the temporal_128 branch's centre (``FRONT_CENTRE`` = 64 windows back), each
residual adds its input at the convolution's centre, and frame ``k`` pools the 187 centres ending
73 windows (1.17 s) before its last window: what musicnn computes on the whole stream at once,
with real audio instead of zeros at every patch edge, at the price of that delay.

Because every position is a function of a bounded stretch of windows, skipping the
positions that only silent frames would read changes nothing that is computed: the stores
restart where the next heard frame needs them.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .musicnn import PATCH_FRAMES, MusicnnMSD, interleave_pools

MID_KERNEL = 7
"""Kernel length of the three mid-end convolutions."""

MID_LOOKBACK = 3 * (MID_KERNEL - 1)
"""Front-end positions before a pooled position that the mid-end reads (18)."""

CHUNK = 256
"""Positions per convolution call (the exact mode's measured chunk)."""


class CausalMusicnn:
    """The causal front end and mid-end of musicnn over a stream of BN'd log-mel windows.

    Parameters
    ----------
    net : MusicnnMSD
    map_fn : callable
        ``map_fn(fn, items) -> list``: how independent chunks run (the tracker's workers).

    The four stores (``front`` 561 channels, ``m1``, ``m2``, ``m3`` 64 each) hold positions
    ``t0[layer] .. t0[layer] + n - 1`` (global window indices).
    """

    LAYERS = ("front", "m1", "m2", "m3")
    OFFSETS = {"front": MID_LOOKBACK, "m1": 2 * (MID_KERNEL - 1), "m2": MID_KERNEL - 1, "m3": 0}
    """How far before a pooled position each layer is needed."""

    def __init__(self, net: MusicnnMSD, map_fn: Callable[[Callable, list], list], *,
                 aligned: bool = False) -> None:
        self.net = net
        self.map = map_fn
        self.aligned = bool(aligned)
        self.front_blocks = (net.timbral_74, net.timbral_77, net.temporal_128, net.temporal_64,
                             net.temporal_32)
        kernels = [b.conv.kernel_size[0] for b in self.front_blocks]
        self.front_delay = [front_delay(kt, kernels) if self.aligned else 0 for kt in kernels]
        """Positions each front block's output is delayed by (aligned: to the longest kernel's centre)."""
        self.front_lookback = max(d + kt - 1 for d, kt in zip(self.front_delay, kernels))
        self.lookback = self.front_lookback + MID_LOOKBACK
        """Windows before a pooled position that it depends on (145)."""
        self.computed = 0
        """Front-end positions computed since this stream was made."""
        self.reset()

    def reset(self) -> None:
        """Forget every stored position."""
        self.t0 = {layer: 0 for layer in self.LAYERS}
        self.store: dict[str, torch.Tensor | None] = {layer: None for layer in self.LAYERS}

    def end(self, layer: str) -> int:
        """Global index of the last position stored for ``layer`` (``t0 - 1`` when empty)."""
        s = self.store[layer]
        return self.t0[layer] + (0 if s is None else s.shape[1]) - 1

    def extend(self, xb: torch.Tensor, x0: int, first: int, last: int) -> None:
        """Make every layer hold what pooled positions ``first .. last`` need.

        ``xb`` holds windows from global index ``x0``; it must reach back to
        ``first - lookback`` wherever positions are not stored yet.
        """
        for layer in self.LAYERS:
            need = first - self.OFFSETS[layer]
            start = self.end(layer) + 1
            if start < need or self.store[layer] is None:  # a gap (skipped silence) or nothing yet
                self.store[layer] = None
                self.t0[layer] = start = need
            if last < start:
                continue
            chunks = list(range(start, last + 1, CHUNK))
            fn = self._front_chunk(xb, x0, last) if layer == "front" else self._mid_chunk(layer, last)
            new = torch.cat(self.map(fn, chunks), dim=1)
            old = self.store[layer]
            self.store[layer] = new if old is None else torch.cat((old, new), dim=1)
            if layer == "front":
                self.computed += last + 1 - start

    def _front_chunk(self, xb: torch.Tensor, x0: int, last: int) -> Callable[[int], torch.Tensor]:
        def chunk(a: int) -> torch.Tensor:
            b = min(last, a + CHUNK - 1)
            outs = []
            for block, delay in zip(self.front_blocks, self.front_delay):
                kt = block.conv.kernel_size[0]
                lo = a - delay - (kt - 1) - x0
                if lo < 0:
                    raise RuntimeError(f"causal musicnn: window {a - delay - kt + 1} is no longer held")
                outs.append(block.pooled(xb[lo:b - delay + 1 - x0][None, None])[0])
            return torch.cat(outs, dim=0)
        return chunk

    def _mid_chunk(self, layer: str, last: int) -> Callable[[int], torch.Tensor]:
        below = {"m1": "front", "m2": "m1", "m3": "m2"}[layer]
        block = {"m1": self.net.mid1, "m2": self.net.mid2, "m3": self.net.mid3}[layer]
        src, t0 = self.store[below], self.t0[below]
        res = MID_KERNEL // 2 if self.aligned else MID_KERNEL - 1  # the input the residual adds

        def chunk(a: int) -> torch.Tensor:
            b = min(last, a + CHUNK - 1)
            x = src[:, a - (MID_KERNEL - 1) - t0:b + 1 - t0]
            y = block.unpadded(x[None])[0]
            if layer != "m1":  # musicnn's residual connections: m2 = mid2(m1) + m1, m3 = mid3(m2) + m2
                y = y + x[:, res:res + y.shape[1]]
            return y
        return chunk

    def pooled(self, ends: np.ndarray) -> torch.Tensor:
        """``[n, 1506]``: ``pool_bn`` of the interleaved max and mean of the 753 features over
        the 187 positions ending at each of ``ends`` (they must be stored)."""
        layers = {layer: (self.store[layer], self.t0[layer]) for layer in self.LAYERS}
        return _pool(self.net, layers, ends, POOL_SHIFT if self.aligned else None)

    def trim(self, next_first: int) -> None:
        """Drop positions that no pooled position from ``next_first`` on needs."""
        for layer in self.LAYERS:
            drop = next_first - self.OFFSETS[layer] - self.t0[layer]
            s = self.store[layer]
            if s is not None and drop > 0:
                self.store[layer] = s[:, drop:]
                self.t0[layer] += drop


FRONT_CENTRE = 64
"""Aligned stream: windows between a front position and the time it is centred on (TF "same"
padding puts ``kt // 2`` windows after the centre; 128 // 2 for the longest kernel)."""

POOL_SHIFT = {"front": 3 * (MID_KERNEL // 2), "m1": 2 * (MID_KERNEL // 2), "m2": MID_KERNEL // 2, "m3": 0}
"""Aligned stream: positions before a pooled ``m3`` position at which each layer holds the same
centre (each mid-end convolution reports the centre of its 7 inputs, 3 positions back)."""

POOL_DELAY = FRONT_CENTRE + POOL_SHIFT["front"]
"""Aligned stream: windows between a frame's last window and the last centre it pools (73)."""


def front_delay(kt: int, kernels: list[int]) -> int:
    """Aligned stream: positions by which a front block of kernel ``kt`` is delayed so that its
    output is centred where the longest kernel's is (``max(k // 2) - kt // 2``)."""
    return max(k // 2 for k in kernels) - kt // 2


def causal_reference(net: MusicnnMSD, windows: torch.Tensor, ends: np.ndarray) -> torch.Tensor:
    """The same outputs computed the plain way, for tests: every layer over the whole of
    ``windows`` (BN'd log-mel ``[T, 96]``, global index 0 at ``windows[0]``) at once.

    Returns ``[n, 1506]`` pooled features of the 187 positions ending at ``ends``.
    """
    x = windows[None, None]
    lb = max(b.conv.kernel_size[0] for b in (net.timbral_74, net.temporal_128)) - 1
    outs = []
    for block in (net.timbral_74, net.timbral_77, net.temporal_128, net.temporal_64, net.temporal_32):
        kt = block.conv.kernel_size[0]
        outs.append(block.pooled(x[:, :, lb - (kt - 1):])[0])  # positions lb .. T-1
    front = torch.cat(outs, dim=0)
    m1 = net.mid1.unpadded(front[None])[0]
    m2 = net.mid2.unpadded(m1[None])[0] + m1[:, MID_KERNEL - 1:]
    m3 = net.mid3.unpadded(m2[None])[0] + m2[:, MID_KERNEL - 1:]
    return _pool(net, {"front": (front, lb), "m1": (m1, lb + 6), "m2": (m2, lb + 12), "m3": (m3, lb + 18)},
                 ends)


def _pool(net: MusicnnMSD, layers: dict[str, tuple[torch.Tensor, int]], ends: np.ndarray,
          shift: dict[str, int] | None = None) -> torch.Tensor:
    """``pool_bn`` of the interleaved max and mean (musicnn's back-end input) of the 753 features
    of ``layers`` (name -> (store, global index of its first position)) over the 187 positions
    ending at each of ``ends`` (each layer's ending ``shift[layer]`` earlier): ``[n, 1506]``."""
    shift = shift or {}
    peaks, means = [], []
    for e in ends.tolist():  # one frame at a time: a batch of [n, 753, 187] would be 0.56 MB a frame
        parts = []
        for name, (a, t0) in layers.items():
            last = e - shift.get(name, 0)
            parts.append(a[:, last - (PATCH_FRAMES - 1) - t0:last + 1 - t0])
        feats = torch.cat(parts, dim=0)
        peaks.append(feats.amax(dim=1))
        means.append(feats.mean(dim=1))
    return net.pool_bn(interleave_pools(torch.stack(peaks), torch.stack(means)))
