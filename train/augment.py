"""Noise augmentation in the log-mel domain (the poster: "noise augmentation needed").

Applied to training windows of mel frames in dB *before* standardisation, on the
fly, so the feature cache stays valid.  Two independent perturbations:

* **gain**: a whole-window level change uniform in ``gain_db`` (adds g dB to
  every band: the features use a fixed log reference, so a quieter recording is
  exactly a shift).
* **additive noise at a random SNR**: a stationary noise whose power in each
  mel band is ``P_sig * 10**(-snr/10) * shape_b``, where ``P_sig`` is the
  window's mean signal power over bands and frames, ``snr`` is uniform in
  ``snr_db`` and ``shape_b`` is a random spectral tilt (white to pink-ish,
  normalised to mean 1); combined with the signal by adding powers:
  ``x' = 10*log10(10**(x/10) + N_b)``.  This is exact for the power of each
  STFT window; on our 500 ms frames (averages of 15 log-mel windows) it is a
  close approximation that avoids re-extracting features every epoch.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges and probabilities of the feature-domain augmentation."""

    noise_prob: float = 0.5
    snr_db: tuple[float, float] = (10.0, 40.0)
    tilt_db: tuple[float, float] = (-12.0, 0.0)
    gain_prob: float = 0.5
    gain_db: tuple[float, float] = (-6.0, 6.0)

    @classmethod
    def off(cls) -> "AugmentConfig":
        return cls(noise_prob=0.0, gain_prob=0.0)


def _uniform(lo_hi: tuple[float, float], n: int, gen: torch.Generator) -> torch.Tensor:
    lo, hi = lo_hi
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def augment_db(x: torch.Tensor, config: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Perturb a batch of mel windows in dB.

    Parameters
    ----------
    x : torch.Tensor, shape=(batch, frames, n_mels), float32, dB
    config : AugmentConfig
    gen : torch.Generator
        Seeded generator (reproducible runs).

    Returns
    -------
    torch.Tensor, same shape
    """
    b, _, m = x.shape
    out = x.clone()
    gain = torch.where(torch.rand(b, generator=gen) < config.gain_prob,
                       _uniform(config.gain_db, b, gen), torch.zeros(b))
    out = out + gain[:, None, None]
    noisy = torch.rand(b, generator=gen) < config.noise_prob
    if noisy.any():
        snr = _uniform(config.snr_db, b, gen)
        tilt = _uniform(config.tilt_db, b, gen)
        pos = torch.linspace(0.0, 1.0, m)
        shape_db = tilt[:, None] * pos[None, :]  # dB across bands, 0 at the lowest band
        shape = 10.0 ** (shape_db / 10.0)
        shape = shape / shape.mean(dim=1, keepdim=True)
        power = 10.0 ** (out / 10.0)
        p_sig = power.mean(dim=(1, 2))
        noise = (p_sig * 10.0 ** (-snr / 10.0))[:, None] * shape  # (b, m)
        mixed = 10.0 * torch.log10(power + noise[:, None, :])
        out = torch.where(noisy[:, None, None], mixed, out)
    return out
