"""STFT window and mel filterbank of a :class:`~emotrack.model.features.FeatureSpec`.

librosa defines them (``librosa.filters.get_window`` and ``librosa.filters.mel``).
Importing librosa pulls in numba, llvmlite, scipy and pooch: about 170 MB of
memory and 1-4 s at the first frame of a live run.  So the kernels of the specs
that ship (the musicnn front end and the poster's 500 ms frames) are stored,
computed by librosa, in ``assets/filterbanks/<spec hash>.npz``
(``tools/make_filterbanks.py`` writes them; a test checks that they still equal
librosa's arrays bit for bit).  Any other spec falls back to librosa at run time.

The filterbank is ~98 % zeros, and each mel band's weights are one contiguous run
of FFT bins.  :class:`BandMatrix` multiplies by it with three numpy calls (a
gather, a product, a segmented sum), single-threaded: a dense BLAS product of
these small shapes measured 10-100x slower when OpenBLAS spreads it over cores
that inference and capture are already using.
"""
from __future__ import annotations

import functools
from importlib.resources import files
from typing import TYPE_CHECKING

import numpy as np

from .errors import ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from .features import FeatureSpec

ASSET_FOLDER = "filterbanks"
"""Folder of the stored kernels inside ``emotrack.assets``."""


class BandMatrix:
    """A mel filterbank ``(n_mels, n_bins)`` stored as its nonzero weights, band by band.

    ``energies = bands.apply(spectrum)`` equals ``spectrum @ mel.T`` (float32,
    each band summed bin by bin in increasing order).
    """

    def __init__(self, mel: np.ndarray) -> None:
        mel = np.asarray(mel, np.float32)
        if mel.ndim != 2:
            raise ParameterError(f"a mel filterbank is 2-D (n_mels, n_bins), got shape {mel.shape}")
        self.shape = mel.shape
        rows, cols = np.nonzero(mel)  # row-major: each band's bins in increasing order
        self._cols = cols.astype(np.intp)
        self._weights = mel[rows, cols]
        counts = np.bincount(rows, minlength=mel.shape[0])
        if not counts.any():
            raise ParameterError("a mel filterbank with no nonzero weight")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
        self._bands = np.flatnonzero(counts)  # reduceat needs strictly increasing starts < nnz
        self._starts = starts[self._bands]
        self._all_bands = len(self._bands) == mel.shape[0]

    def apply(self, spectrum: np.ndarray) -> np.ndarray:
        """``(n, n_bins)`` power spectra -> ``(n, n_mels)`` band energies, float32."""
        prod = spectrum[:, self._cols] * self._weights
        sums = np.add.reduceat(prod, self._starts, axis=1)
        if self._all_bands:
            return sums
        out = np.zeros((spectrum.shape[0], self.shape[0]), sums.dtype)
        out[:, self._bands] = sums
        return out


def librosa_kernels(spec: "FeatureSpec") -> tuple[np.ndarray, np.ndarray]:
    """``(window (n_fft,), mel (n_mels, n_fft//2+1))``, float32, computed by librosa."""
    import librosa  # lazy: numba start-up is slow and memory-hungry

    window = librosa.filters.get_window(spec.window, spec.n_fft, fftbins=True)
    mel = librosa.filters.mel(sr=spec.sample_rate, n_fft=spec.n_fft, n_mels=spec.n_mels,
                              fmin=spec.fmin, fmax=spec.fmax, htk=spec.mel_htk, norm=spec.mel_norm)
    return window.astype(np.float32), mel.astype(np.float32)


def stored_kernels(spec: "FeatureSpec") -> tuple[np.ndarray, np.ndarray] | None:
    """The kernels stored for ``spec`` in the package, or None when none are."""
    entry = files("emotrack.assets").joinpath(ASSET_FOLDER, f"{spec.hash}.npz")
    if not entry.is_file():
        return None
    with entry.open("rb") as fh, np.load(fh, allow_pickle=False) as data:
        window, mel = np.asarray(data["window"]), np.asarray(data["mel"])
    n_bins = spec.n_fft // 2 + 1
    if (window.shape != (spec.n_fft,) or mel.shape != (spec.n_mels, n_bins)
            or window.dtype != np.float32 or mel.dtype != np.float32
            or not (np.isfinite(window).all() and np.isfinite(mel).all())):
        raise ParameterError(f"the stored filterbank {ASSET_FOLDER}/{spec.hash}.npz does not fit its "
                             "spec; reinstall emotrack")
    return window, mel


@functools.lru_cache(maxsize=8)
def analysis_kernels(spec: "FeatureSpec") -> tuple[np.ndarray, BandMatrix]:
    """The STFT window and the mel :class:`BandMatrix` of ``spec`` (stored, else librosa's)."""
    kernels = stored_kernels(spec)
    window, mel = kernels if kernels is not None else librosa_kernels(spec)
    return window, BandMatrix(mel)
