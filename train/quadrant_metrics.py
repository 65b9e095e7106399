"""Song-level figures on quadrant labels (4Q): AUCs and quadrant accuracy with bootstrap CIs.

4Q labels every clip with a Russell quadrant, i.e. a sign per axis (+1 high arousal /
positive valence, -1 otherwise); quadrants are balanced.  The natural figures rank
clips (README of 4q-dev):

* ``arousal``: AUC of predicted arousal for high (Q1+Q2) against low (Q3+Q4);
* ``valence``: AUC of predicted valence for positive (Q1+Q4) against negative (Q2+Q3);
* ``valence_high`` / ``valence_low``: the valence AUC within the high / low arousal half;
* ``valence_within_arousal``: the valence AUC over positive-negative pairs that share
  their arousal half (both halves together): valence skill arousal does not explain;
* ``valence_within_genre``: the valence AUC over pairs that share their genre (the
  clip's first AllMusic genre): valence skill genre does not explain;
* ``quadrant``: share of clips whose quadrant is right when each axis is split at the
  median of the scored clips' predictions (4Q is balanced on both axes, so this asks for
  ranking only and needs no threshold from any other data).

Each figure comes as an :class:`~emotrack.train.song_metrics.Estimate` with a 95 %
percentile bootstrap interval over clips (resampled with replacement, seeded, the same
resamples for every model scored with the same seed).  An AUC over pairs is
``P(score_pos > score_neg) + 0.5 P(tie)``, computed as a weighted pair count so a
bootstrap resample is a vector of clip weights.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .song_metrics import LEVEL, N_BOOT, Estimate

FIGURES = (("arousal", "arousal AUC"), ("valence", "valence AUC"),
           ("valence_within_arousal", "valence AUC within arousal half"),
           ("valence_high", "valence AUC, high arousal"), ("valence_low", "valence AUC, low arousal"),
           ("valence_within_genre", "valence AUC within genre"), ("quadrant", "quadrant accuracy"))
"""(key, header) of every figure, in table order."""


def pair_matrix(score: np.ndarray, positive: np.ndarray, strata: np.ndarray | None = None) -> np.ndarray:
    """``H[i, j]`` = 1 if i positive, j negative, same stratum and score_i > score_j; 0.5 on a tie.

    The AUC of clip weights ``w`` is ``w @ H @ w / w @ M @ w`` with ``M`` the same pairs' indicator.
    """
    score = np.asarray(score, np.float64)
    positive = np.asarray(positive, bool)
    pairs = positive[:, None] & ~positive[None, :]
    if strata is not None:
        strata = np.asarray(strata)
        pairs &= strata[:, None] == strata[None, :]
    diff = score[:, None] - score[None, :]
    return np.where(pairs, (diff > 0) + 0.5 * (diff == 0), 0.0), pairs.astype(np.float64)


def weighted_auc(h: np.ndarray, m: np.ndarray, w: np.ndarray) -> np.ndarray:
    """AUC of each row of clip weights ``w`` (b, n) over the pairs of :func:`pair_matrix`."""
    w = np.atleast_2d(np.asarray(w, np.float64))
    num = ((w @ h) * w).sum(axis=1)
    den = ((w @ m) * w).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def bootstrap_weights(n: int, *, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """Clip counts of ``n_boot`` resamples with replacement: (n_boot, n)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, (n_boot, n))
    w = np.zeros((n_boot, n))
    np.add.at(w, (np.repeat(np.arange(n_boot), n), idx.ravel()), 1.0)
    return w


def _estimate(value: float, draws: np.ndarray, n: int, level: float = LEVEL) -> Estimate:
    if math.isnan(value) or np.isnan(draws).all():
        return Estimate(value, math.nan, math.nan, n)
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(draws, [tail, 100 - tail])
    return Estimate(float(value), float(low), float(high), n)


def quadrant_accuracy(pred: np.ndarray, arousal: np.ndarray, valence: np.ndarray,
                      w: np.ndarray | None = None) -> np.ndarray:
    """Share (per row of clip weights ``w``) of clips whose quadrant is right, each axis split
    at the (weighted) median of the predictions."""
    pred = np.asarray(pred, np.float64)
    w = np.ones((1, len(pred))) if w is None else np.atleast_2d(w)
    out = np.empty(len(w))
    for b, wb in enumerate(w):
        right = np.ones(len(pred), bool)
        for j, truth in ((0, arousal), (1, valence)):
            order = np.argsort(pred[:, j], kind="stable")
            cum = np.cumsum(wb[order])
            median = pred[order[np.searchsorted(cum, 0.5 * cum[-1])], j]
            right &= (pred[:, j] > median) == (np.asarray(truth) > 0)
        out[b] = np.sum(wb * right) / np.sum(wb)
    return out


@dataclass
class QuadrantRow:
    """One model's figures on quadrant-labelled clips (see the module doc)."""

    name: str
    n_songs: int
    figures: dict[str, Estimate]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "n_songs": self.n_songs, "note": self.note,
                **{k: e.to_dict() for k, e in self.figures.items()}}


def score_quadrants(name: str, pred: np.ndarray, arousal: np.ndarray, valence: np.ndarray,
                    genre: np.ndarray, *, note: str = "", n_boot: int = N_BOOT, seed: int = 0) -> QuadrantRow:
    """Every figure of :data:`FIGURES` for song-level predictions ``pred`` (n, 2) of (arousal, valence).

    ``arousal`` / ``valence``: the clips' signs (+1 / -1); ``genre``: their genre.
    Clips with a NaN prediction are left out.
    """
    pred = np.asarray(pred, np.float64).reshape(-1, 2)
    arousal, valence, genre = np.asarray(arousal), np.asarray(valence), np.asarray(genre)
    ok = np.isfinite(pred).all(axis=1)
    pred, arousal, valence, genre = pred[ok], arousal[ok], valence[ok], genre[ok]
    n = len(pred)
    if n < 4:
        nan = Estimate(math.nan, math.nan, math.nan, n)
        return QuadrantRow(name, n, {k: nan for k, _ in FIGURES}, note)
    w = bootstrap_weights(n, n_boot=n_boot, seed=seed)
    ones = np.ones((1, n))
    high = arousal > 0
    specs = {
        "arousal": (pred[:, 0], high, None, ones),
        "valence": (pred[:, 1], valence > 0, None, ones),
        "valence_within_arousal": (pred[:, 1], valence > 0, high, ones),
        "valence_high": (pred[:, 1], valence > 0, None, high[None].astype(float)),
        "valence_low": (pred[:, 1], valence > 0, None, (~high)[None].astype(float)),
        "valence_within_genre": (pred[:, 1], valence > 0, genre, ones),
    }
    figures = {}
    for key, (score, positive, strata, mask) in specs.items():
        h, m = pair_matrix(score, positive, strata)
        value = float(weighted_auc(h, m, mask)[0])
        draws = np.concatenate([weighted_auc(h, m, w[i:i + 250] * mask) for i in range(0, n_boot, 250)])
        figures[key] = _estimate(value, draws, int(np.count_nonzero(mask)))
    acc = float(quadrant_accuracy(pred, arousal, valence)[0])
    figures["quadrant"] = _estimate(acc, quadrant_accuracy(pred, arousal, valence, w), n)
    return QuadrantRow(name, n, {k: figures[k] for k, _ in FIGURES}, note)


def format_rows(rows: list[QuadrantRow], *, digits: int = 2) -> str:
    """A Markdown table of rows (figures with their intervals)."""
    head = "| model | clips | " + " | ".join(h for _, h in FIGURES) + " |"
    sep = "|---|---:|" + "---|" * len(FIGURES)
    lines = [head, sep]
    for r in rows:
        lines.append(f"| {r.name} | {r.n_songs} | " + " | ".join(r.figures[k].text(digits) for k, _ in FIGURES) + " |")
    return "\n".join(lines)
