"""Figures of musicnn heads on 4Q and Emotify songs: the tables ``train`` and ``evaluate`` print.

One :class:`HeadReport` holds quadrant rows (4Q, :mod:`emotrack.train.quadrant_metrics`),
Emotify rows (:mod:`emotrack.train.emotify`), the calibration check of the uncertainty and
the facts needed to read them; it prints as Markdown and saves as JSON like every report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .emotify import EmotifyRow, format_emotify_report, EmotifyReport
from .quadrant_metrics import QuadrantRow, format_rows


@dataclass
class HeadReport:
    """Quadrant rows, Emotify rows, coverage of the uncertainty and facts."""

    title: str
    quadrant_rows: list[QuadrantRow] = field(default_factory=list)
    emotify_rows: list[EmotifyRow] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    curves: list = field(default_factory=list)
    """No curves (song-level labels); kept so :func:`~emotrack.train.evaluation.write_report` takes it."""

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "facts": self.facts, "coverage": self.coverage,
                "quadrant_rows": [r.to_dict() for r in self.quadrant_rows],
                "emotify_rows": [r.to_dict() for r in self.emotify_rows]}

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        lines += [f"- {k}: {_text(v)}" for k, v in self.facts.items()]
        if self.quadrant_rows:
            lines += ["", "### 4Q clips (AUC: 0.5 = chance; 95 % bootstrap CI)", "",
                      format_rows(self.quadrant_rows)]
            lines += [f"- **{r.name}**: {r.note}" for r in self.quadrant_rows if r.note]
        if self.emotify_rows:
            text = format_emotify_report(EmotifyReport("Emotify tracks (Spearman rho; 95 % bootstrap CI)",
                                                       self.emotify_rows))
            lines += ["", "#" + text.strip()]
        if self.coverage:
            lines += ["", "### Calibration of the uncertainty (held-out songs)", ""]
            lines += [f"- {k}: {_text(v)}" for k, v in self.coverage.items()]
        return "\n".join(lines) + "\n"


def _text(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v)) if len(v) <= 12 else f"{len(v)} items"
    if isinstance(v, dict):
        return "; ".join(f"{k} {_text(x)}" for k, x in v.items())
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def set_rows(dataset: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """``("all", every row)`` and ``(set name, its rows)`` for each labelled set, as the tables report them."""
    return [("all", np.ones(len(dataset), bool)), *((d, dataset == d) for d in sorted(set(dataset)))]


def side_claims_table(pred: np.ndarray, side: np.ndarray, labels: np.ndarray,
                      dataset: np.ndarray) -> dict[str, dict[str, float]]:
    """How often a held-out song's side is named (``|pred| >= side``) and how often that side is
    its label's, per set and axis (averaged over repeats; None where no side was named): the check
    of the mood words' rule.

    ``pred``, ``side``, ``labels``: (repeats, n, 2) on the target scale (the middle is 0).
    """
    named = np.abs(pred) >= side
    right = np.sign(pred) == np.sign(labels)
    out = {}
    for name, rows in set_rows(dataset):
        entry: dict[str, float | None] = {}
        for j, axis in enumerate(("arousal", "valence")):
            shares, rights = [], []
            for r in range(len(pred)):
                ok = rows & np.isfinite(labels[r, :, j]) & np.isfinite(pred[r, :, j])
                shares.append(named[r, ok, j].mean() if ok.any() else np.nan)
                hit = ok & named[r, :, j]
                rights.append(right[r, hit, j].mean() if hit.any() else np.nan)
            entry[f"{axis}_named"] = round(float(np.nanmean(shares)), 3)
            entry[f"{axis}_right"] = round(float(np.nanmean(rights)), 3) if np.isfinite(rights).any() else None
        entry["songs"] = int((rows & np.isfinite(labels[0]).all(axis=1)).sum())
        out[name] = entry
    return out


def coverage_table(pred: np.ndarray, sd: np.ndarray, labels: np.ndarray, dataset: np.ndarray,
                   z: float) -> dict[str, dict[str, float]]:
    """Share of held-out songs whose label lies in ``pred +- z sd``, per set and axis.

    ``pred``, ``sd``, ``labels``: (repeats, n, 2); shares are averaged over repeats.
    """
    inside = np.abs(labels - pred) <= z * sd  # (r, n, 2)
    out = {}
    for name, rows in set_rows(dataset):
        ok = np.isfinite(labels[:, rows]).all(axis=2)
        share = [inside[r][rows][ok[r]].mean(axis=0) for r in range(len(inside))]
        m = np.mean(share, axis=0)
        out[name] = {"arousal": round(float(m[0]), 3), "valence": round(float(m[1]), 3),
                     "songs": int(ok[0].sum())}
    return out
