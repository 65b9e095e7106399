"""Evaluation reports: model vs human curves, always beside the two references.

References shown with every result:

* the **constant predictor**: always answering the mean rating of the training
  side (the development split's annotations; with leave-one-song-out, the other
  songs' mean).  It needs no audio, so it is also given over every annotated
  song of the evaluated split, even those whose audio is missing.
* the **poster's** reported test-set figures (:data:`~emotrack.train.metrics.POSTER`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..model import json_strict
from .items import SongItem
from .metrics import DIMENSIONS, POSTER, DimensionScores, constant_predictions, score, target_mean

METRIC_LABELS = (("rmse", "RMSE (all frames)"), ("mse", "MSE (all frames)"),
                 ("r_frames", "Pearson r (all frames)"), ("r_songs", "Pearson r (song means)"),
                 ("ccc", "CCC (all frames)"))


@dataclass
class Column:
    """One column of the report table: a predictor's scores per dimension."""

    name: str
    scores: dict[str, DimensionScores | dict[str, float]]
    note: str = ""

    def value(self, dim: str, metric: str) -> float:
        s = self.scores.get(dim, {})
        v = s.to_dict().get(metric) if isinstance(s, DimensionScores) else s.get(metric)
        return math.nan if v is None else float(v)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "note": self.note,
                "scores": {d: (s.to_dict() if isinstance(s, DimensionScores) else dict(s))
                           for d, s in self.scores.items()}}


@dataclass
class Report:
    """A titled table (columns of scores) plus the facts needed to read it."""

    title: str
    columns: list[Column]
    facts: dict[str, Any] = field(default_factory=dict)
    curves: list[dict[str, Any]] = field(default_factory=list)
    tracking: list[Any] = field(default_factory=list)
    """Within-song summaries (:class:`~emotrack.train.tracking.TrackingSummary`), shown after the table."""

    def to_dict(self) -> dict[str, Any]:
        out = {"title": self.title, "facts": self.facts,
               "columns": [c.to_dict() for c in self.columns]}
        if self.tracking:
            out["within_song"] = [t.to_dict() for t in self.tracking]
        return out

    def markdown(self) -> str:
        """The report as Markdown: facts, then one table per dimension."""
        lines = [f"## {self.title}", ""]
        for k, v in self.facts.items():
            if isinstance(v, (list, tuple)) and len(v) > 12:
                v = ", ".join(map(str, v[:12])) + f", ... ({len(v)} in all)"
            elif isinstance(v, (list, tuple)):
                v = ", ".join(map(str, v)) if v else "none"
            lines.append(f"- {k}: {v}")
        for dim in DIMENSIONS:
            lines += ["", f"### {dim.capitalize()}", ""]
            lines.append("| metric | " + " | ".join(c.name for c in self.columns) + " |")
            lines.append("|---|" + "---|" * len(self.columns))
            for key, label in METRIC_LABELS:
                cells = []
                for c in self.columns:
                    v = c.value(dim, key)
                    cells.append("-" if math.isnan(v) else f"{v:.4f}" if key == "mse" else f"{v:.3f}")
                lines.append(f"| {label} | " + " | ".join(cells) + " |")
        notes = [f"- **{c.name}**: {c.note}" for c in self.columns if c.note]
        if notes:
            lines += ["", "Columns:", ""] + notes
        if self.tracking:
            from .tracking import tracking_markdown

            for t in self.tracking:
                lines += ["", tracking_markdown(t).rstrip("\n")]
        return "\n".join(lines) + "\n"


def poster_columns() -> list[Column]:
    """The poster's proposed and baseline figures (RMSE and MSE only)."""
    return [Column("poster CAE", POSTER["proposed"], "reported on the poster (full emoMusic test set)"),
            Column("poster baseline", POSTER["baseline"], "reported on the poster")]


def model_vs_constant(name: str, preds: list[np.ndarray], targets: list[np.ndarray],
                      constant: np.ndarray, constant_note: str) -> list[Column]:
    """Columns for a model and the constant predictor on exactly the same frames."""
    return [Column(name, score(preds, targets)),
            Column("constant", score(constant_predictions(constant, targets), targets),
                   f"always predicts arousal {constant[0]:+.3f}, valence {constant[1]:+.3f} "
                   f"({constant_note}), on the same frames as the model")]


def constant_over_annotations(items: list[SongItem], constant: np.ndarray) -> Column:
    """Constant predictor over every annotated song of a split, audio or not."""
    targets = [it.targets() for it in items]
    return Column(f"constant, all {len(items)} annotated songs",
                  score(constant_predictions(constant, targets), targets),
                  "the same constant over every annotated song of this split, "
                  "computed from the annotation files alone (no audio needed)")


def curves_for_plot(songs: list, preds: list[np.ndarray], *, limit: int = 4
                    ) -> list[dict[str, Any]]:
    """Per-song curves (times in s, human and predicted) for the PNG.

    ``songs`` are objects with an ``item`` (a :class:`~emotrack.train.items.SongItem`):
    training's ``SongFeatures`` or evaluation's ``SongPrediction``.
    """
    out = []
    for s, p in list(zip(songs, preds))[:limit]:
        it = s.item
        t = (it.first_frame + np.arange(it.n_frames) + 0.5) * 0.5
        curve = {"song": it.key, "time_s": t, "human": it.targets(), "predicted": p}
        if it.arousal_std is not None and it.valence_std is not None:
            curve["std"] = np.stack([it.arousal_std, it.valence_std], axis=1)
        out.append(curve)
    return out


def write_report(report: Report, out_dir: Path, *, stem: str = "evaluation") -> list[Path]:
    """Write ``<stem>.md``, ``<stem>.json`` and (with curves) ``<stem>.png`` in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js = out_dir / f"{stem}.md", out_dir / f"{stem}.json"
    md.write_text(report.markdown())
    js.write_text(json_strict.dumps(report.to_dict(), indent=2, default=_json_default) + "\n")
    written = [md, js]
    if report.curves:
        from .plot import plot_curves_png

        png = out_dir / f"{stem}.png"
        plot_curves_png(png, report.curves, title=report.title)
        written.append(png)
    return written


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def development_mean(items: list[SongItem]) -> np.ndarray:
    """Mean rating over every annotated development song (audio or not), shape=(2,)."""
    dev = [it.targets() for it in items if it.split == "development"]
    if not dev:
        dev = [it.targets() for it in items]
    return target_mean(dev)
