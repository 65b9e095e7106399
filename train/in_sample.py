"""In-sample figures: which evaluated songs a model learned from, and what its facts say held out.

A figure measured on songs a model was fitted, calibrated or early-stopped on is
*in-sample* (optimistic), not a test.  The facts of a checkpoint or a musicnn head
(``describe()["facts"]`` / ``["head_facts"]``) say what it learned from and what was
measured on songs it did not see; nothing here knows a particular model.

Songs learned from (keys ``dataset:id``, as :attr:`~emotrack.train.items.SongItem.key`):

* ``training_songs`` / ``train_songs``: fitted on;
* ``validation_songs``: early stopping chose the epoch on them;
* ``calibration.songs`` (keys), or ``calibration.clips`` (emoMusic song ids, the form of
  the heads fitted on the 10 emoMusic mini clips).

Held-out 2 Hz figures: every fact that is an object holding ``arousal`` and ``valence``,
each with an ``rmse`` (e.g. a head's ``loco_10_clips``), or a saved report whose
columns are keyed by name (e.g. a checkpoint's ``evaluation_loso_10_clips``: the column
named after the model).  ``protocol`` (or the checkpoint's ``evaluated_on``) says how
each was measured.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .metrics import DIMENSIONS

_LEARNED_KEYS = ("training_songs", "train_songs", "validation_songs")
_METRICS = {"rmse": "rmse", "mse": "mse", "r": "r_frames", "r_frames": "r_frames",
            "r_songs": "r_songs", "ccc": "ccc"}


@dataclass(frozen=True)
class HeldOutFigure:
    """Figures a model's facts record on songs it did not learn from.

    Attributes
    ----------
    fact : str
        The fact's name (``loco_10_clips``).
    protocol : str
        How it was measured (empty when the facts do not say).
    scores : dict
        ``{dimension: {metric: value}}`` with the metric names of
        :class:`~emotrack.train.metrics.DimensionScores` (``rmse``, ``r_frames``...).
    """

    fact: str
    protocol: str
    scores: dict[str, dict[str, float]]

    def short(self) -> str:
        """``'arousal RMSE 0.192, valence RMSE 0.237'``."""
        return ", ".join(f"{d} RMSE {self.scores[d]['rmse']:.3f}" for d in DIMENSIONS)


def learned_songs(facts: dict[str, Any] | None) -> set[str]:
    """Keys of every song the model was fitted, early-stopped or calibrated on (see module doc)."""
    facts = facts or {}
    keys: set[str] = set()
    for name in _LEARNED_KEYS:
        value = facts.get(name)
        if isinstance(value, list):
            keys.update(str(k) for k in value)
    cal = facts.get("calibration")
    if isinstance(cal, dict):
        if isinstance(cal.get("songs"), list):
            keys.update(str(k) for k in cal["songs"])
        elif isinstance(cal.get("clips"), list):
            keys.update(f"emomusic:{str(c).removeprefix('emomusic:')}" for c in cal["clips"])
    return keys


def held_out_figures(facts: dict[str, Any] | None, model_name: str) -> list[HeldOutFigure]:
    """The 2 Hz figures ``facts`` record on songs the model did not learn from (see module doc)."""
    facts = facts or {}
    out = []
    for name, value in facts.items():
        if not isinstance(value, dict):
            continue
        scores = _dimension_scores(value)
        if scores is None and isinstance(value.get(model_name), dict):
            scores = _dimension_scores(value[model_name])
        if scores is None:
            continue
        protocol = value.get("protocol") or facts.get("evaluated_on") or ""
        out.append(HeldOutFigure(name, str(protocol), scores))
    return out


def _dimension_scores(value: dict[str, Any]) -> dict[str, dict[str, float]] | None:
    scores = {}
    for dim in DIMENSIONS:
        d = value.get(dim)
        if not isinstance(d, dict) or not _finite(d.get("rmse")):
            return None
        scores[dim] = {_METRICS[k]: float(v) for k, v in d.items() if k in _METRICS and _finite(v)}
    return scores


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
