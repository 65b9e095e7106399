"""Song-level evaluation on Emotify-style labels: one row of rank figures per model.

A tracker's song-level prediction is the mean of its causal frame results over
the frames that heard a whole context (``k >= WARMUP_FRAMES``: musicnn's full 3 s
patch) and are not silent (:func:`song_mean`, :func:`song_prediction`).  Every
model is scored on the same songs and frames, beside the references the caller
passes (constant, loudness alone, the current rnn ...).

Figures per model (:class:`EmotifyRow`), each with a 95 % bootstrap interval
(:mod:`emotrack.train.song_metrics`; the same seeded resamples for every model):

* ``arousal``: Spearman rho of predicted arousal with ``arousal_proxy``, all songs;
* ``arousal_within``: mean of the within-genre rhos (genre alone explains some
  arousal on Emotify);
* ``valence``: Spearman rho of predicted valence with ``valence_fa``;
* ``valence_partial``: rank partial correlation of predicted valence with
  ``valence_fa`` given ``arousal_proxy``: valence skill that is not arousal
  (``valence_fa`` correlates .82 with ``arousal_proxy`` on Emotify).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..model.errors import ParameterError
from ..model.musicnn_tracker import WARMUP_FRAMES
from ..model.tracker import SilenceConfig, TrackerFrames
from .items import SongLabelDataset, SongLabels
from .song_metrics import (N_BOOT, Estimate, bootstrap_partial_spearman, bootstrap_spearman,
                           bootstrap_within_group)

AROUSAL_LABEL = "arousal_proxy"
VALENCE_LABEL = "valence_fa"
VALENCE_GIVEN = "arousal_proxy"
"""The labels each figure compares with (see the module doc)."""

COLUMNS = (("arousal", f"arousal rho ({AROUSAL_LABEL})"),
           ("arousal_within", "arousal rho within genre (mean)"),
           ("valence", f"valence rho ({VALENCE_LABEL})"),
           ("valence_partial", f"valence partial rho given {VALENCE_GIVEN}"))
"""(field, table header) of the figures of every row."""


def counted_frames(level_db: np.ndarray, *, first: int = WARMUP_FRAMES,
                   silence: SilenceConfig | None = None) -> np.ndarray:
    """Mask of the frames a song-level figure uses: ``k >= first`` and not silent."""
    level_db = np.asarray(level_db)
    threshold = (silence or SilenceConfig()).threshold_dbfs
    return (np.arange(level_db.size) >= first) & (level_db >= threshold)


def song_mean(values: np.ndarray, level_db: np.ndarray, *, first: int = WARMUP_FRAMES,
              silence: SilenceConfig | None = None) -> np.ndarray:
    """Mean of per-frame ``values`` (n, ...) over :func:`counted_frames`; NaN when none count."""
    values = np.asarray(values, np.float64)
    mask = counted_frames(level_db, first=first, silence=silence)
    if values.shape[0] != mask.size:
        raise ParameterError(f"{values.shape[0]} frames of values but {mask.size} frame levels")
    if not mask.any():
        return np.full(values.shape[1:], np.nan)
    return values[mask].mean(axis=0)


def kept_frames(frames: TrackerFrames, *, first: int = WARMUP_FRAMES) -> np.ndarray:
    """Mask of a tracker's frames that a song-level figure uses: ``k >= first``, not flagged silent."""
    return (frames.index >= first) & ~frames.silent


def song_prediction(frames: TrackerFrames, *, first: int = WARMUP_FRAMES) -> np.ndarray:
    """A tracker's song-level (arousal, valence): the mean over :func:`kept_frames` (NaN if none)."""
    keep = kept_frames(frames, first=first)
    if not keep.any():
        return np.full(2, np.nan)
    return frames.values[keep].astype(np.float64).mean(axis=0)


def song_level_db(frames: TrackerFrames, *, first: int = WARMUP_FRAMES) -> float:
    """Mean frame level (dBFS) over :func:`kept_frames`: the "loudness alone" predictor."""
    keep = kept_frames(frames, first=first)
    return float(frames.level_db[keep].astype(np.float64).mean()) if keep.any() else float("nan")


@dataclass
class EmotifyRow:
    """One model's song-level figures (see the module doc); ``extras`` are shown as extra columns."""

    name: str
    n_songs: int
    arousal: Estimate
    arousal_within: Estimate
    valence: Estimate
    valence_partial: Estimate
    note: str = ""
    extras: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "n_songs": self.n_songs, "note": self.note, "extras": dict(self.extras)}
        out.update({key: getattr(self, key).to_dict() for key, _ in COLUMNS})
        return out


@dataclass
class EmotifyReport:
    """Rows of song-level figures plus the facts needed to read them."""

    title: str
    rows: list[EmotifyRow]
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "facts": self.facts, "rows": [r.to_dict() for r in self.rows]}

    curves: list = field(default_factory=list)
    """No curves (song-level labels); kept so :func:`~emotrack.train.evaluation.write_report` takes it."""

    def markdown(self) -> str:
        """The report as Markdown (:func:`format_emotify_report`)."""
        return format_emotify_report(self)

    def row(self, name: str) -> EmotifyRow:
        """The row of one model (KeyError if absent)."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)


def _labelled(labels: SongLabelDataset | Sequence[SongLabels]) -> list[SongLabels]:
    return list(labels.songs if isinstance(labels, SongLabelDataset) else labels)


def score_songs(name: str, predictions: Mapping[str, np.ndarray], labels: SongLabelDataset | Sequence[SongLabels],
                *, note: str = "", n_boot: int = N_BOOT, seed: int = 0) -> EmotifyRow:
    """Figures of one model from its song-level (arousal, valence) predictions.

    Parameters
    ----------
    name : str
    predictions : mapping song_id -> np.ndarray, shape=(2,)
        Songs missing here (or with NaN) are left out of this row.
    labels : SongLabelDataset or list of SongLabels
    """
    songs = [s for s in _labelled(labels) if s.song_id in predictions
             and np.all(np.isfinite(np.asarray(predictions[s.song_id], np.float64)))]
    pred = np.array([np.asarray(predictions[s.song_id], np.float64).reshape(2) for s in songs]).reshape(-1, 2)
    label = lambda key: np.array([s.labels.get(key, math.nan) for s in songs], np.float64)  # noqa: E731
    genres = np.array([s.genre for s in songs])
    kw = {"n_boot": n_boot, "seed": seed}
    return EmotifyRow(
        name, len(songs),
        arousal=bootstrap_spearman(pred[:, 0], label(AROUSAL_LABEL), **kw),
        arousal_within=bootstrap_within_group(pred[:, 0], label(AROUSAL_LABEL), genres, **kw),
        valence=bootstrap_spearman(pred[:, 1], label(VALENCE_LABEL), **kw),
        valence_partial=bootstrap_partial_spearman(pred[:, 1], label(VALENCE_LABEL), label(VALENCE_GIVEN), **kw),
        note=note)


def emotify_report(song_predictions: Mapping[str, np.ndarray], labels: SongLabelDataset | Sequence[SongLabels],
                   *, references: Mapping[str, Mapping[str, np.ndarray]] | None = None,
                   name: str = "model", notes: Mapping[str, str] | None = None,
                   n_boot: int = N_BOOT, seed: int = 0, title: str = "Song-level agreement (Emotify)"
                   ) -> EmotifyReport:
    """The model's row, then one row per reference, on Emotify-style song labels.

    Parameters
    ----------
    song_predictions : mapping song_id -> np.ndarray (2,)
        The model's song-level (arousal, valence), e.g. :func:`song_prediction` of each track.
    labels : SongLabelDataset or list of SongLabels
    references : mapping name -> (mapping song_id -> np.ndarray (2,)), optional
        Other predictors in the same form (constant, loudness alone, rnn ...).
    name : str
        The model's row name.
    notes : mapping row name -> str, optional
        One line per row saying what it is.
    """
    notes = dict(notes or {})
    rows = [score_songs(name, song_predictions, labels, note=notes.get(name, ""), n_boot=n_boot, seed=seed)]
    for ref, preds in (references or {}).items():
        rows.append(score_songs(ref, preds, labels, note=notes.get(ref, ""), n_boot=n_boot, seed=seed))
    songs = _labelled(labels)
    return EmotifyReport(title, rows, facts={
        "songs labelled": len(songs),
        "genres": sorted({s.genre for s in songs}),
        "intervals": f"95 % percentile bootstrap, {n_boot} resamples of songs (seed {seed}); "
                     "within genre: songs resampled inside each genre",
        "song prediction": f"mean of the causal frame results over frames k >= {WARMUP_FRAMES} "
                           f"that are not silent (< {SilenceConfig().threshold_dbfs:g} dBFS)",
    })


def cross_validated_row(name: str, facts: Mapping[str, Any]) -> EmotifyRow | None:
    """The row a head's facts record from its cross-validation (``facts["cv_emotify"]``), if any."""
    cv = facts.get("cv_emotify") if isinstance(facts, Mapping) else None
    if not isinstance(cv, Mapping):
        return None
    try:
        est = {key: Estimate(**{k: float(cv[key][k]) for k in ("value", "low", "high")}, n=int(cv[key]["n"]))
               for key, _ in COLUMNS}
    except (KeyError, TypeError, ValueError):
        return None
    return EmotifyRow(name, est["arousal"].n, **est,
                      note=str(cv.get("protocol", "cross-validated figures recorded in the head file")))


def format_emotify_report(report: EmotifyReport, *, digits: int = 2) -> str:
    """The report as a Markdown table (one row per model; extras as further columns), then notes."""
    extra_keys: list[str] = []
    for r in report.rows:
        extra_keys += [k for k in r.extras if k not in extra_keys]
    head = ["model", "songs", *(h for _, h in COLUMNS), *extra_keys]
    lines = [f"## {report.title}", ""]
    lines += [f"- {k}: {', '.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
              for k, v in report.facts.items()]
    lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in report.rows:
        cells = [r.name, str(r.n_songs), *(getattr(r, key).text(digits) for key, _ in COLUMNS),
                 *(r.extras.get(k, "") for k in extra_keys)]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- **{r.name}**: {r.note}" for r in report.rows if r.note]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"
