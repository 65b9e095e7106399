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
    bad, _ = count_non_finite(x)
    if bad:
        raise ParameterError(
            f"audio contains {bad} NaN or infinite sample(s); "
            "clean or re-export the audio before analysing it"
        )
    return np.ascontiguousarray(x, dtype=np.float32)


#: libsndfile messages that mislead for a file that does exist -> what it means for a user.
_DECODER_REWORDING = {
    "file does not exist or is not a regular file": "not a decodable audio file (truncated or corrupt?)",
    "format not recognised": "format not recognised (not audio, or a format libsndfile cannot read)",
    "supported file format but file is malformed": "the file is malformed (truncated or corrupt?)",
}


def decoder_message(exc: BaseException) -> str:
    """A short, path-free description of a decoder (soundfile/libsndfile) failure.

    libsndfile says ``Error opening '/long/path': Format not recognised.``; the
    caller names the file itself, so the path prefix is dropped, the sentence's
    full stop removed, and the misleading "File does not exist" (which libsndfile
    reports for a truncated MP3 that does exist) reworded.

    >>> decoder_message(RuntimeError("Error opening 'a b.wav': Format not recognised."))
    'format not recognised (not audio, or a format libsndfile cannot read)'
    """
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else type(exc).__name__
    if text.startswith("Error opening ") and "': " in text:
        text = text.split("': ", 1)[1]
    text = text.rstrip(". ")
    low = text.lower()
    for key, better in _DECODER_REWORDING.items():
        if low.startswith(key):
            return better
    return text or type(exc).__name__


def count_non_finite(samples: np.ndarray) -> tuple[int, int]:
    """(number of NaN/Inf samples, index of the first such frame) of a block; (0, -1) if clean.

    ``samples`` has shape (n,) or (n, channels); the index counts frames (rows).
    """
    x = np.asarray(samples)
    # One cheap reduction first (NaN/Inf propagate through a sum); the exact count only on failure.
    if not x.size or np.isfinite(np.add.reduce(x, axis=None)):
        return 0, -1
    bad = ~np.isfinite(x)
    rows = bad.any(axis=1) if bad.ndim == 2 else bad
    if not rows.any():  # the sum overflowed, the samples are finite
        return 0, -1
    return int(bad.sum()), int(np.argmax(rows))


def writable_dir(path, *, what: str = "output folder"):
    """Create ``path`` (with parents) if needed and check it is a writable folder.

    Called before long work starts, so a bad ``--out`` fails at once with one
    line instead of after minutes of training or analysis.

    Raises
    ------
    ParameterError
        The folder cannot be created (e.g. a parent is a regular file) or written.
    """
    import os
    from pathlib import Path

    p = Path(path)
    existing = next((q for q in (p, *p.parents) if q.exists()), None)
    if existing is not None and not existing.is_dir():
        where = "" if existing == p else f" ('{existing}' is a file, not a folder)"
        raise ParameterError(f"{what} '{p}' cannot be created{where}" if where
                             else f"{what} '{p}' is a file, not a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"cannot create {what} '{p}': {exc.strerror or exc}") from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise ParameterError(f"{what} '{p}' is not writable")
    return p


def writable_file(path, *, what: str = "output file"):
    """Check that a file can be created at ``path`` (its folder is created if needed).

    Raises
    ------
    ParameterError
        ``path`` is a folder, or its folder cannot be created or written.
    """
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        raise ParameterError(f"{what} '{p}' is a folder, not a file")
    writable_dir(p.parent if str(p.parent) else ".", what=f"folder of the {what}")
    return p
