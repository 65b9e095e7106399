"""Song-level figures on quadrant labels (4Q): AUCs with bootstrap confidence intervals.

* ``arousal_auc``: AUC of predicted arousal separating Q1+Q2 (high) from Q3+Q4 (low);
* ``valence_auc_within``: AUC of predicted valence separating Q1/Q4 (positive) from
  Q2/Q3 (negative) inside each arousal half, the mean of the two halves' AUCs: the
  valence skill that arousal does not explain.

An AUC is the probability that a random positive clip gets a higher prediction than a
random negative one (ties count one half): 0.5 is chance.  Intervals: 95 % percentile
bootstrap, clips resampled with replacement within each quadrant (quadrant sizes fixed),
seeded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.stats import rankdata

from .items import SongLabels
from .song_metrics import LEVEL, N_BOOT, Estimate, _interval

COLUMNS = (("arousal_auc", "arousal AUC (Q1+Q2 vs Q3+Q4)"),
           ("valence_auc_within", "valence AUC within arousal halves (mean)"))


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for the boolean ``positive`` (NaN if a class is empty)."""
    score = np.asarray(score, np.float64)
    positive = np.asarray(positive, bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def valence_auc_within(valence: np.ndarray, arousal_high: np.ndarray, valence_positive: np.ndarray) -> float:
    """Mean of the valence AUCs inside the high- and the low-arousal half."""
    high = np.asarray(arousal_high, bool)
    parts = [auc(np.asarray(valence)[m], np.asarray(valence_positive, bool)[m]) for m in (high, ~high)]
    return float(np.mean(parts))


@dataclass
class QuadrantRow:
    """One model's figures on quadrant labels."""

    name: str
    n_songs: int
    arousal_auc: Estimate
    valence_auc_within: Estimate
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "n_songs": self.n_songs, "note": self.note,
                "arousal_auc": self.arousal_auc.to_dict(),
                "valence_auc_within": self.valence_auc_within.to_dict()}


def score_quadrants(name: str, predictions: Mapping[str, np.ndarray], songs: Sequence[SongLabels], *,
                    note: str = "", n_boot: int = N_BOOT, seed: int = 0, level: float = LEVEL) -> QuadrantRow:
    """Figures of one model from its song-level (arousal, valence) predictions on 4Q clips.

    Parameters
    ----------
    predictions : mapping song_id -> np.ndarray, shape=(2,)
        Clips missing here (or with NaN) are left out.
    songs : list of SongLabels
        With labels ``quadrant``, ``arousal_high``, ``valence_positive`` (the 4Q reader's).
    """
    kept = [s for s in songs if s.song_id in predictions
            and np.all(np.isfinite(np.asarray(predictions[s.song_id], np.float64)))]
    pred = np.array([np.asarray(predictions[s.song_id], np.float64).reshape(2) for s in kept]).reshape(-1, 2)
    high = np.array([s.labels["arousal_high"] > 0.5 for s in kept], bool)
    pos = np.array([s.labels["valence_positive"] > 0.5 for s in kept], bool)
    quadrant = np.array([s.labels["quadrant"] for s in kept])
    value_a = auc(pred[:, 0], high)
    value_v = valence_auc_within(pred[:, 1], high, pos)
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(quadrant == q) for q in np.unique(quadrant)]
    draws = np.empty((n_boot, 2))
    for b in range(n_boot):
        idx = np.concatenate([m[rng.integers(0, m.size, m.size)] for m in members]) if members else np.zeros(0, int)
        draws[b] = auc(pred[idx, 0], high[idx]), valence_auc_within(pred[idx, 1], high[idx], pos[idx])
    n = len(kept)
    return QuadrantRow(name, n, _interval(draws[:, 0], value_a, n, level),
                       _interval(draws[:, 1], value_v, n, level), note)
