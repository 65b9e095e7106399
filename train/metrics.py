"""Agreement between predicted and human curves, and the references every result must show.

All functions take arrays of shape (n,) or (n, 2) (columns arousal, valence),
ignore frames whose target is NaN, and return NaN where a figure is undefined
(e.g. a correlation of a constant).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

DIMENSIONS = ("arousal", "valence")

#: The poster's reported test-set figures ("Short-Time Emotion Tracker for Music").
POSTER = {
    "proposed": {"arousal": {"rmse": 0.310, "mse": 0.0965}, "valence": {"rmse": 0.246, "mse": 0.0606}},
    "baseline": {"arousal": {"rmse": 0.330, "mse": 0.1088}, "valence": {"rmse": 0.301, "mse": 0.0908}},
}


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r of two 1-D arrays (NaN pairs dropped); NaN when undefined."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    den = math.sqrt(float(dx @ dx) * float(dy @ dy))
    return float(dx @ dy / den) if den > 0 else math.nan


def ccc(pred: np.ndarray, target: np.ndarray) -> float:
    """Lin's concordance correlation coefficient (NaN pairs dropped)."""
    p, t = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    ok = ~(np.isnan(p) | np.isnan(t))
    p, t = p[ok], t[ok]
    if p.size < 2:
        return math.nan
    cov = float(np.mean((p - p.mean()) * (t - t.mean())))
    den = p.var() + t.var() + (p.mean() - t.mean()) ** 2
    return 2 * cov / den if den > 0 else math.nan


@dataclass
class DimensionScores:
    """Figures for one dimension over a set of songs."""

    rmse: float
    mse: float
    r_frames: float
    r_songs: float
    ccc: float
    n_frames: int
    n_songs: int

    def to_dict(self) -> dict:
        return asdict(self)


def score_dimension(preds: list[np.ndarray], targets: list[np.ndarray]) -> DimensionScores:
    """Score one dimension over songs.

    Parameters
    ----------
    preds, targets : list of np.ndarray, each shape=(n_i,)
        Per-song prediction and human curve on the same frames (frames with a NaN target, or
        a NaN prediction -- a silent frame has none -- are left out).

    Returns
    -------
    DimensionScores
        RMSE/MSE/r/CCC pooled over all frames; ``r_songs`` is Pearson r between
        per-song mean prediction and per-song mean rating (NaN with < 3 songs).
    """
    p = np.concatenate([np.asarray(a, np.float64) for a in preds]) if preds else np.zeros(0)
    t = np.concatenate([np.asarray(a, np.float64) for a in targets]) if targets else np.zeros(0)
    ok = ~np.isnan(t) & ~np.isnan(p)  # unrated frames, and silent frames (no prediction)
    err = p[ok] - t[ok]
    mse = float(np.mean(err ** 2)) if err.size else math.nan
    both = [(np.asarray(a, np.float64), np.asarray(b, np.float64)) for a, b in zip(preds, targets)]
    both = [(a[~np.isnan(a) & ~np.isnan(b)], b[~np.isnan(a) & ~np.isnan(b)]) for a, b in both]
    song_p = [float(a.mean()) for a, b in both if b.size]
    song_t = [float(b.mean()) for a, b in both if b.size]
    r_songs = pearson(np.array(song_p), np.array(song_t)) if len(song_t) >= 3 else math.nan
    return DimensionScores(
        rmse=math.sqrt(mse) if not math.isnan(mse) else math.nan, mse=mse,
        r_frames=pearson(p[ok], t[ok]), r_songs=r_songs, ccc=ccc(p[ok], t[ok]),
        n_frames=int(ok.sum()), n_songs=len(song_t))


def score(preds: list[np.ndarray], targets: list[np.ndarray]) -> dict[str, DimensionScores]:
    """Score both dimensions; each array shape=(n_i, 2) columns (arousal, valence)."""
    return {dim: score_dimension([a[:, d] for a in preds], [b[:, d] for b in targets])
            for d, dim in enumerate(DIMENSIONS)}


def target_mean(targets: list[np.ndarray]) -> np.ndarray:
    """Mean over all rated frames, shape=(2,) (the constant predictor's value)."""
    stacked = np.concatenate(targets, axis=0).astype(np.float64)
    return np.nanmean(stacked, axis=0)


def constant_predictions(value: np.ndarray, targets: list[np.ndarray]) -> list[np.ndarray]:
    """A constant (arousal, valence) prediction shaped like each target."""
    return [np.broadcast_to(np.asarray(value, np.float64), t.shape).copy() for t in targets]
