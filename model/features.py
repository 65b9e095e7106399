"""The feature contract: :class:`FeatureSpec` and the offline mel-frame extractor.

The frame grid (DESIGN contract 1)
----------------------------------
All audio is first mixed to mono and resampled to ``spec.sample_rate``.  The
STFT runs on a *global* grid with ``center=False``: STFT window ``j`` covers
samples ``[j*hop, j*hop + n_fft)``.

Pooled specs (``frame_length > 0``, e.g. the CAE's 500 ms frames): output
frame ``k`` covers samples ``[k*F, (k+1)*F)`` with ``F = frame_length`` and
is the mean of the log-mel vectors of exactly those STFT windows that lie
*entirely* inside that interval::

    j_first(k) = ceil(k*F / hop)      j_last(k) = floor(((k+1)*F - n_fft) / hop)

With the default spec (F = 8000, hop = 480, n_fft = 960 at 16 kHz) that is
always 15 windows (frame 0: j = 0..14, frame 1: 17..31, frame 2: 34..48, the
pattern repeats every 3 frames = 50 hops).  Frame ``k`` therefore depends on
no sample outside its own 500 ms, so a live run can emit it the moment its
last sample arrives (no look-ahead latency).  The price: about 20-30 ms at the
edges of each 500 ms are not inside any window (6 % of the audio), which is
harmless for 2 Hz emotion curves.  The last, incomplete frame of a signal is
emitted only when at least half a frame (250 ms) of it is present; it then
averages the windows that fit.

Unpooled specs (``frame_length == 0``, e.g. musicnn's front end): output frame
``j`` is STFT window ``j`` itself.

Log scale (DESIGN contract 2)
-----------------------------
The reference is fixed (no per-file ``ref=np.max``): ``"db"`` gives
``10*log10(max(S, amin) / ref)``; ``"log10_1p"`` gives ``log10(1 + gain*S)``
(musicnn's).  Mel vectors are log-compressed per STFT window, then averaged.

Annotation alignment (DESIGN contract 3)
----------------------------------------
An annotation sample at ``t`` ms (emoMusic's ``sample_15000ms``) describes
frame ``t // 500``, the frame covering ``[t, t + 500)`` ms: ``sample_15000ms``
is frame 30 and ``sample_44500ms`` frame 89 (:meth:`FeatureSpec.frame_index`).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ParameterError
from .filterbanks import analysis_kernels
from .validate import (
    as_bool,
    as_choice,
    as_float,
    as_int,
    as_mono_float32,
    as_text,
    valid_sample_rate,
)

_LOG_KINDS = ("db", "log10_1p")
_WINDOWS = ("hann", "hamming", "blackman", "blackmanharris", "bartlett", "triang", "boxcar")


@dataclass(frozen=True)
class FeatureSpec:
    """Everything that defines the features a model was trained on.

    The default is the CAE's: 96 mel bands, 60 ms Hann window, 30 ms hop,
    averaged into 500 ms frames.  The model rate is 16 kHz because it is the
    lowest common rate at which the 60 ms window (960 samples), the 30 ms hop
    (480) and the 500 ms frame (8000) are all whole numbers of samples, while
    keeping the full 0-8 kHz band in which music emotion cues live
    (44.1 kHz would need 2646/1323 samples and 2.8x the FFT work; 22.05 kHz
    gives a fractional 661.5-sample hop).

    All lengths are in samples at ``sample_rate`` so that the grid is exact.
    """

    name: str = "cae-mel96-500ms"
    sample_rate: int = 16000
    n_fft: int = 960
    hop_length: int = 480
    window: str = "hann"
    n_mels: int = 96
    fmin: float = 0.0
    fmax: float = 8000.0
    mel_htk: bool = False
    mel_norm: str | None = "slaney"
    power: float = 2.0
    log: str = "db"
    log_ref: float = 1.0
    log_amin: float = 1e-10
    log_gain: float = 10000.0
    frame_length: int = 8000
    min_partial_fraction: float = 0.5

    def __post_init__(self) -> None:
        # Every field is checked (type and sane limits): a spec also comes from checkpoint
        # files, and a bad one must fail here, not later as a decoding error of some song.
        as_text(self.name, name="FeatureSpec name", max_chars=128)
        valid_sample_rate(as_int(self.sample_rate, name="sample_rate"))
        as_int(self.n_fft, name="n_fft", lo=16, hi=65536)
        as_int(self.hop_length, name="hop_length", lo=1, hi=65536)
        as_int(self.n_mels, name="n_mels", lo=1, hi=512)
        as_choice(self.window, name="window", choices=_WINDOWS)
        as_bool(self.mel_htk, name="mel_htk")
        if self.mel_norm is not None:
            as_choice(self.mel_norm, name="mel_norm", choices=("slaney",))
        as_float(self.power, name="power", lo=0.0, hi=4.0, lo_open=True)
        as_choice(self.log, name="log", choices=_LOG_KINDS)
        for key in ("log_ref", "log_amin", "log_gain"):
            as_float(getattr(self, key), name=key, lo=0.0, lo_open=True)
        as_int(self.frame_length, name="frame_length", lo=0, hi=10 * self.sample_rate)
        as_float(self.min_partial_fraction, name="min_partial_fraction", lo=0.0, hi=1.0, lo_open=True)
        if self.frame_length and self.frame_length < self.n_fft:
            raise ParameterError(
                f"frame_length ({self.frame_length}) must be 0 (unpooled) or at least "
                f"n_fft ({self.n_fft}) samples"
            )
        fmin = as_float(self.fmin, name="fmin")
        fmax = as_float(self.fmax, name="fmax")
        if not 0.0 <= fmin < fmax <= self.sample_rate / 2:
            raise ParameterError(
                f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin}, "
                f"fmax={self.fmax}, sample_rate={self.sample_rate}"
            )

    # --- derived facts -------------------------------------------------
    @property
    def pooled(self) -> bool:
        """True when STFT windows are averaged into ``frame_length`` frames."""
        return self.frame_length > 0

    @property
    def frame_step(self) -> int:
        """Samples between the starts of consecutive output frames."""
        return self.frame_length if self.pooled else self.hop_length

    @property
    def frame_seconds(self) -> float:
        """Seconds between consecutive output frames (0.5 s by default)."""
        return self.frame_step / self.sample_rate

    @property
    def frame_rate(self) -> float:
        """Output frames per second (2.0 by default)."""
        return self.sample_rate / self.frame_step

    def windows_of_frame(self, k: int) -> range:
        """STFT window indices averaged into pooled frame ``k`` (see module doc)."""
        if not self.pooled:
            return range(k, k + 1)
        first = -(-k * self.frame_length // self.hop_length)
        last = ((k + 1) * self.frame_length - self.n_fft) // self.hop_length
        return range(first, last + 1)

    def frame_index(self, time_s: float) -> int:
        """Index of the frame covering time ``time_s`` (seconds at any rate)."""
        return int(math.floor(round(time_s * self.sample_rate) / self.frame_step))

    def frame_start(self, k: int) -> float:
        """Start time in seconds of output frame ``k``."""
        return k * self.frame_step / self.sample_rate

    # --- serialisation --------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no whitespace): the input of :attr:`hash`."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureSpec":
        """Rebuild a spec; unknown or missing keys are a :class:`ParameterError`."""
        if not isinstance(data, dict):
            raise ParameterError(f"a FeatureSpec must be a JSON object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        missing = sorted(names - set(data))
        if unknown or missing:
            raise ParameterError(
                f"FeatureSpec fields do not match this emotrack version "
                f"(unknown: {unknown}, missing: {missing})"
            )
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "FeatureSpec":
        """Inverse of :meth:`to_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"FeatureSpec JSON is malformed: {exc}") from None
        return cls.from_dict(data)

    @property
    def hash(self) -> str:
        """Stable 16-hex-digit digest of the canonical JSON (cache keys, checkpoints)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]


CAE_SPEC = FeatureSpec()
"""The default 96-band, 500 ms frame spec used by the CAE and its relatives."""


def log_mel_windows(windows: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Log-mel vectors of raw (un-windowed) STFT windows.

    Parameters
    ----------
    windows : np.ndarray, shape=(..., n_fft), float32
        Any leading shape (e.g. frames x windows); may be a strided view.
    spec : FeatureSpec

    Returns
    -------
    np.ndarray, shape=(..., n_mels), float32
        Each vector depends only on its own window (row-wise FFT, band product, log),
        so results do not depend on how many windows are computed together.
    """
    window, mel = analysis_kernels(spec)
    lead = windows.shape[:-1]
    # numpy's rfft, not scipy's: scipy's float32 transform was 1.5x faster here but 0.01 dB off
    # librosa's (double precision) in quiet bands, numpy's stays within 1e-3 dB (tests)
    stft = np.fft.rfft(windows * window, axis=-1).reshape(-1, spec.n_fft // 2 + 1)
    if spec.power == 2.0:
        spectrum = stft.real**2 + stft.imag**2
    else:
        spectrum = np.abs(stft) ** spec.power
    energies = mel.apply(spectrum.astype(np.float32, copy=False)).reshape(*lead, spec.n_mels)
    if spec.log == "db":
        out = 10.0 * np.log10(np.maximum(energies, spec.log_amin) / spec.log_ref)
    else:
        out = np.log10(1.0 + spec.log_gain * energies)
    return out.astype(np.float32, copy=False)


def frames_from_model_rate(
    x: np.ndarray, spec: FeatureSpec, *, first_frame: int = 0, final: bool = True
) -> np.ndarray:
    """Frames of mono audio already at ``spec.sample_rate``.

    ``x[0]`` must be the first sample of frame ``first_frame`` (pooled) or of
    STFT window ``first_frame`` (unpooled).  Only complete frames are returned,
    plus, when ``final``, the trailing partial frame described in the module
    docstring.  Shared by :func:`mel_frames` and :class:`MelFrameStream` so the
    two compute identical numbers.
    """
    n_mels = spec.n_mels
    if not spec.pooled:
        if x.size < spec.n_fft:
            return np.zeros((0, n_mels), np.float32)
        return log_mel_windows(strided_windows(x, spec.n_fft, spec.hop_length), spec)
    F = spec.frame_length
    n_full = x.size // F
    rest = x.size - n_full * F
    out = [_pooled_full_frames(x[: n_full * F], first_frame, spec)] if n_full else []
    if final and rest >= spec.min_partial_fraction * F and rest >= spec.n_fft:
        out.append(_pooled_frame(x[n_full * F:], first_frame + n_full, spec)[None])
    if not out:
        return np.zeros((0, n_mels), np.float32)
    return np.concatenate(out) if len(out) > 1 else out[0]


def _pooled_full_frames(x: np.ndarray, first_frame: int, spec: FeatureSpec) -> np.ndarray:
    """Vectorised :func:`_pooled_frame` for every complete frame in ``x``.

    The window layout of frame ``k`` (offset of its first window, window count)
    repeats every ``period`` frames; each residue class is one strided
    ``(frames, windows, n_fft)`` view of ``x`` (no copy), computed in one call.
    The numbers equal :func:`_pooled_frame`'s exactly (see :func:`log_mel_windows`).
    """
    F, hop, n_fft = spec.frame_length, spec.hop_length, spec.n_fft
    n_full = x.size // F
    x = np.ascontiguousarray(x, dtype=np.float32)
    size = x.itemsize
    out = np.empty((n_full, spec.n_mels), np.float32)
    period = _layout_period(spec)
    for r in range(min(period, n_full)):
        k0 = first_frame + r
        offset, count = _frame_layout(spec, k0 % period)
        m = len(range(r, n_full, period))
        windows = np.ndarray((m, count, n_fft), np.float32, buffer=x, offset=(r * F + offset) * size,
                             strides=(period * F * size, hop * size, size))
        # sum / count is what ndarray.mean computes, without its Python-level bookkeeping
        out[r::period] = np.add.reduce(log_mel_windows(windows, spec), axis=1) / count
    return out


@functools.lru_cache(maxsize=32)
def _layout_period(spec: FeatureSpec) -> int:
    """Frames after which the window layout of pooled frames repeats."""
    return spec.hop_length // math.gcd(spec.frame_length, spec.hop_length)


@functools.lru_cache(maxsize=256)
def _frame_layout(spec: FeatureSpec, residue: int) -> tuple[int, int]:
    """(offset of the first window inside the frame, window count) for frames ``k % period == residue``."""
    js = spec.windows_of_frame(residue)
    return js.start * spec.hop_length - residue * spec.frame_length, len(js)


def _pooled_frame(block: np.ndarray, k: int, spec: FeatureSpec) -> np.ndarray:
    """Mean log-mel of the STFT windows of frame ``k`` that fit in ``block``."""
    offset = spec.windows_of_frame(k).start * spec.hop_length - k * spec.frame_length
    windows = strided_windows(block[offset:], spec.n_fft, spec.hop_length)
    return log_mel_windows(windows[: len(spec.windows_of_frame(k))], spec).mean(axis=0)


def strided_windows(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Read-only ``(m, n_fft)`` view of every whole window of ``x`` at hop ``hop`` (no copy).

    The same windows as ``sliding_window_view(x, n_fft)[::hop]`` without its per-call checks,
    which cost more than the FFT of a 500 ms frame.
    """
    x = np.ascontiguousarray(x)
    m = 0 if x.size < n_fft else (x.size - n_fft) // hop + 1
    out = np.ndarray((m, n_fft), x.dtype, buffer=x, strides=(hop * x.itemsize, x.itemsize))
    out.flags.writeable = False
    return out


def resample(x: np.ndarray, sr: int, target_sr: int) -> np.ndarray:
    """One-shot soxr resampling (HQ) of mono float32 audio; identity when rates match."""
    if sr == target_sr:
        return x
    import soxr

    return soxr.resample(x, sr, target_sr, quality="HQ").astype(np.float32, copy=False)


def mel_frames(audio: np.ndarray, sr: int, spec: FeatureSpec = CAE_SPEC) -> np.ndarray:
    """Offline mel frames of a whole signal held in memory.

    Parameters
    ----------
    audio : np.ndarray, shape=(n,) or (n, channels), floating point
        Channels are averaged (mono mixdown) before anything else.
    sr : int > 0
        Sample rate of ``audio`` in Hz; resampled to ``spec.sample_rate`` with soxr.
    spec : FeatureSpec

    Raises
    ------
    ParameterError
        Empty audio, NaN/Inf samples, integer dtype, non-positive sample rate.

    Returns
    -------
    np.ndarray, shape=(n_frames, spec.n_mels), float32
        Frame ``k`` covers ``[k, k+1) * spec.frame_seconds`` (see module doc).
        The same numbers as pushing ``audio`` through :class:`MelFrameStream`
        and flushing it.
    """
    sr = valid_sample_rate(sr)
    x = as_mono_float32(audio, allow_empty=False)
    return frames_from_model_rate(resample(x, sr, spec.sample_rate), spec)
