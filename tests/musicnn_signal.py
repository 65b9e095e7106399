"""Deterministic test signal shared by the musicnn golden test and its generator.

Pure numpy on purpose: ``tools/convert_musicnn.py`` imports this file from a
separate TensorFlow virtual environment, so it must not import emotrack or torch.
"""

from __future__ import annotations

import numpy as np

SR = 16000
DURATION_S = 10.0  # 626 STFT frames -> three non-overlapping 187-frame patches
SEED = 20190101


def musicnn_test_signal(sr: int = SR, duration_s: float = DURATION_S, seed: int = SEED) -> np.ndarray:
    """Return a fixed mono float32 test signal.

    A few harmonic tones with slow amplitude modulation, a pulsed low tone
    (2 Hz "beat") and seeded white noise; peak amplitude stays below 0.5.

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    duration_s : float
        Length in seconds.
    seed : int
        Seed of the noise generator (``numpy.random.default_rng``).

    Returns
    -------
    numpy.ndarray
        Float32 array of shape ``(round(sr * duration_s),)``.
    """
    n = int(round(sr * duration_s))
    t = np.arange(n, dtype=np.float64) / sr
    y = np.zeros(n, dtype=np.float64)
    for f0, amp, am_hz in ((220.0, 0.10, 0.25), (329.63, 0.07, 0.5), (440.0, 0.05, 1.0)):
        env = 0.6 + 0.4 * np.sin(2 * np.pi * am_hz * t)
        for h in range(1, 6):
            if f0 * h < sr / 2:
                y += env * amp / h * np.sin(2 * np.pi * f0 * h * t + 0.3 * h)
    pulse = (np.sin(2 * np.pi * 2.0 * t) > 0.6).astype(np.float64)
    y += 0.08 * pulse * np.sin(2 * np.pi * 80.0 * t)
    y += 0.01 * np.random.default_rng(seed).standard_normal(n)
    return y.astype(np.float32)
