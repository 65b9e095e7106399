"""Song-level rank agreement with bootstrap confidence intervals.

For datasets with one label per song (Emotify): Spearman's rho between predicted
and rated songs, the mean of the within-genre rhos, and the rank partial
correlation of a prediction with a label given a third variable (valence skill
that is not arousal).  Each comes as an :class:`Estimate` with a percentile
bootstrap interval over songs (seeded, so a figure is reproducible):

* pooled and partial rho: songs resampled with replacement;
* mean within-genre rho: songs resampled with replacement *within each genre*
  (genre sizes fixed), the mean of the genres' rhos recomputed each time.

Ties get average ranks (``scipy.stats.rankdata``).  A correlation with a constant
is undefined: NaN, and an interval of NaNs.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import rankdata

N_BOOT = 2000
"""Bootstrap resamples of every interval."""
LEVEL = 0.95
"""Coverage of every interval."""


@dataclass(frozen=True)
class Estimate:
    """A figure with its bootstrap interval (``low``, ``high``) over ``n`` songs."""

    value: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self, digits: int = 2) -> str:
        """``"0.71 [0.64, 0.77]"``, or ``"-"`` when undefined."""
        if math.isnan(self.value):
            return "-"
        ci = "" if math.isnan(self.low) else f" [{self.low:.{digits}f}, {self.high:.{digits}f}]"
        return f"{self.value:.{digits}f}{ci}"


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair of two (m, n) arrays; NaN for a constant row."""
    da = a - a.mean(axis=-1, keepdims=True)
    db = b - b.mean(axis=-1, keepdims=True)
    den = np.sqrt((da * da).sum(axis=-1) * (db * db).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (da * db).sum(axis=-1) / den
    return np.where(den > 0, r, np.nan)


def _ranks(x: np.ndarray) -> np.ndarray:
    return rankdata(x, axis=-1)


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return _pearson_rows(_ranks(x), _ranks(y))


def _partial_rows(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Rank partial correlation of x and y given z, row by row."""
    rx, ry, rz = _ranks(x), _ranks(y), _ranks(z)
    r_xy, r_xz, r_yz = _pearson_rows(rx, ry), _pearson_rows(rx, rz), _pearson_rows(ry, rz)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (r_xy - r_xz * r_yz) / np.sqrt((1 - r_xz ** 2) * (1 - r_yz ** 2))


def _finite(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    arrays = tuple(np.asarray(a, np.float64).ravel() for a in arrays)
    if len({a.size for a in arrays}) != 1:
        raise ValueError(f"arrays of different lengths: {[a.size for a in arrays]}")
    ok = np.all([np.isfinite(a) for a in arrays], axis=0)
    return tuple(a[ok] for a in arrays)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho of two 1-D arrays (pairs with NaN dropped); NaN when undefined."""
    x, y = _finite(x, y)
    return float(_spearman_rows(x, y)) if x.size >= 3 else math.nan


def partial_spearman(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Rank partial correlation of ``x`` and ``y`` given ``z`` (Pearson partial r of the ranks)."""
    x, y, z = _finite(x, y, z)
    return float(_partial_rows(x, y, z)) if x.size >= 4 else math.nan


def within_group_spearman(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """Mean over groups of Spearman's rho inside each group (groups with < 3 songs ignored)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    groups = np.asarray(groups)
    rhos = [spearman(x[groups == g], y[groups == g]) for g in np.unique(groups)
            if np.count_nonzero(groups == g) >= 3]
    return float(np.mean(rhos)) if rhos else math.nan


def _interval(draws: np.ndarray, value: float, n: int, level: float) -> Estimate:
    if math.isnan(value) or np.isnan(draws).all():
        return Estimate(value, math.nan, math.nan, n)
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(draws, [tail, 100 - tail])
    return Estimate(value, float(low), float(high), n)


def bootstrap_spearman(x: np.ndarray, y: np.ndarray, *, n_boot: int = N_BOOT, seed: int = 0,
                       level: float = LEVEL) -> Estimate:
    """Spearman's rho with a percentile bootstrap interval (songs resampled)."""
    x, y = _finite(x, y)
    value = spearman(x, y)
    idx = np.random.default_rng(seed).integers(0, x.size, (n_boot, x.size)) if x.size else None
    draws = _spearman_rows(x[idx], y[idx]) if idx is not None else np.full(n_boot, np.nan)
    return _interval(draws, value, int(x.size), level)


def bootstrap_partial_spearman(x: np.ndarray, y: np.ndarray, z: np.ndarray, *, n_boot: int = N_BOOT,
                               seed: int = 0, level: float = LEVEL) -> Estimate:
    """:func:`partial_spearman` with a percentile bootstrap interval (songs resampled)."""
    x, y, z = _finite(x, y, z)
    value = partial_spearman(x, y, z)
    if not x.size:
        return Estimate(value, math.nan, math.nan, 0)
    idx = np.random.default_rng(seed).integers(0, x.size, (n_boot, x.size))
    return _interval(_partial_rows(x[idx], y[idx], z[idx]), value, int(x.size), level)


def bootstrap_within_group(x: np.ndarray, y: np.ndarray, groups: np.ndarray, *, n_boot: int = N_BOOT,
                           seed: int = 0, level: float = LEVEL) -> Estimate:
    """:func:`within_group_spearman` with a bootstrap interval resampling songs within each group."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    groups = np.asarray(groups)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y, groups = x[ok], y[ok], groups[ok]
    value = within_group_spearman(x, y, groups)
    rng = np.random.default_rng(seed)
    per_group = []
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        if members.size < 3:
            continue
        idx = members[rng.integers(0, members.size, (n_boot, members.size))]
        per_group.append(_spearman_rows(x[idx], y[idx]))
    draws = np.mean(per_group, axis=0) if per_group else np.full(n_boot, np.nan)
    return _interval(draws, value, int(x.size), level)
