"""Validators shared by model/, train/ and realtime/ (after librosa's ``valid_audio``)."""
from __future__ import annotations

import numpy as np

from .errors import ParameterError


def valid_sample_rate(sr: float) -> int:
    """Return ``sr`` as an int after checking it is a positive whole number of Hz."""
    try:
        value = float(sr)
    except (TypeError, ValueError):
        raise ParameterError(f"sample rate must be a number of Hz, got {sr!r}") from None
    if not np.isfinite(value) or value <= 0 or value != int(value):
        raise ParameterError(
            f"sample rate must be a positive whole number of Hz, got {sr!r}"
        )
    return int(value)


def as_mono_float32(samples: np.ndarray, *, allow_empty: bool = True) -> np.ndarray:
    """Check audio samples and mix them down to mono float32.

    Parameters
    ----------
    samples : np.ndarray, shape=(n,) or (n, channels)
        Floating-point audio in [-1, 1] (values outside are accepted, not clipped).
        Integer arrays are refused: convert them with ``x / np.iinfo(x.dtype).max``.
    allow_empty : bool
        Whether a zero-length array is acceptable.

    Returns
    -------
    np.ndarray, shape=(n,), dtype float32
        The channel mean (mono mixdown); a view-free copy when mixing is needed.

    Raises
    ------
    ParameterError
        Wrong dtype or shape, empty input (if not allowed), NaN or Inf samples.
    """
    x = np.asarray(samples)
    if x.dtype.kind != "f":
        raise ParameterError(
            f"audio must be floating point (float32 or float64), got dtype {x.dtype}; "
            "scale integer PCM to [-1, 1] first"
        )
    if x.ndim == 2:
        x = x.mean(axis=1) if x.shape[1] != 1 else x[:, 0]
    elif x.ndim != 1:
        raise ParameterError(
            f"audio must have shape (n,) or (n, channels), got shape {x.shape}"
        )
    if x.size == 0 and not allow_empty:
        raise ParameterError("audio is empty (0 samples): nothing to analyse")
    # One cheap reduction first (NaN/Inf propagate through a sum); the exact count only on failure.
    if x.size and not np.isfinite(np.add.reduce(x, axis=None)) and not np.isfinite(x).all():
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise ParameterError(
            f"audio contains {bad} NaN or infinite sample(s); "
            "clean or re-export the audio before analysing it"
        )
    return np.ascontiguousarray(x, dtype=np.float32)
