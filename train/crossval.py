"""Grouped k-fold cross-validation of a network on song-level labels (Emotify, 4Q).

Each fold trains a fresh network on the other folds' songs (validation songs for early
stopping carved from those, whole groups at a time: :func:`~emotrack.train.folds.split_groups`)
and predicts the held-out songs through the real checkpoint -> :class:`MelTracker` path
(causal, what the live app shows).  A song's prediction is the mean of its causal frames
``k >= 6`` (:data:`~emotrack.model.musicnn_tracker.WARMUP_FRAMES`, the rule every tracker's
song-level figure uses); the feature cache has no frame levels, so silent frames are not
left out here (0.17 % of the Emotify frames are silent, see the model card).

The pooled held-out predictions give the figures: Emotify rho (arousal, within genre,
valence, valence partial; :mod:`emotrack.train.emotify`) and 4Q AUCs
(:mod:`emotrack.train.quadrant_cv`), each with a bootstrap interval.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..model.features import FeatureSpec
from ..model.musicnn_tracker import WARMUP_FRAMES
from .emotify import score_songs
from .folds import assign_folds, split_groups
from .items import SongLabelDataset
from .quadrant_cv import score_quadrants
from .songs import SongFeatures
from .trainer import TrainConfig, train_model


@dataclass
class CrossValidation:
    """Held-out song predictions of every fold, and what each fold did."""

    k: int
    seed: int
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    """Song key -> song-level (arousal, valence) from the fold that held it out."""
    folds: list[dict[str, Any]] = field(default_factory=list)


def song_level_prediction(frames: np.ndarray, *, first: int = WARMUP_FRAMES) -> np.ndarray:
    """Mean of causal frame predictions ``(n, 2)`` over frames ``k >= first`` (all, if fewer)."""
    values = np.asarray(frames, np.float64)
    kept = values[first:] if len(values) > first else values
    return kept.mean(axis=0) if len(kept) else np.full(2, np.nan)


def groups_of(songs: list[SongFeatures]) -> dict[str, str]:
    """Song key -> fold group (artist for 4Q, the song otherwise)."""
    return {s.key: s.item.fold_group for s in songs}


def train_split(songs: list[SongFeatures], *, fraction: float, seed: int
                ) -> tuple[list[SongFeatures], list[SongFeatures]]:
    """Training and validation songs, validation carved by whole groups."""
    tr, va = split_groups(groups_of(songs), fraction=fraction, seed=seed)
    tr_set, va_set = set(tr), set(va)
    return [s for s in songs if s.key in tr_set], [s for s in songs if s.key in va_set]


def cross_validate(songs: list[SongFeatures], config: TrainConfig, *, spec: FeatureSpec, k: int,
                   log_dir: Path | None = None, progress: bool = True, say=None) -> CrossValidation:
    """Train ``k`` networks on grouped folds and predict each fold's held-out songs.

    Parameters
    ----------
    songs : list[SongFeatures]
    config : TrainConfig
    spec : FeatureSpec
    k : int >= 2
    log_dir : pathlib.Path, optional
        Where each fold's per-epoch CSV log goes (``fold<i>.log.csv``).
    say : callable, optional
        Receives one progress line per fold.
    """
    from ..model.mel_tracker import MelTracker
    from ..model.trackers import resolve_device

    folds = assign_folds(groups_of(songs), {s.key: s.item.dataset for s in songs}, k=k, seed=config.seed)
    out = CrossValidation(k=k, seed=config.seed)
    with tempfile.TemporaryDirectory(prefix="emotrack-cv-") as tmp:
        for f in range(k):
            held = [s for s in songs if folds[s.key] == f]
            rest = [s for s in songs if folds[s.key] != f]
            train, val = train_split(rest, fraction=config.val_fraction, seed=config.seed)
            ckpt = Path(tmp) / f"fold{f}.safetensors"
            log = None if log_dir is None else Path(log_dir) / f"fold{f}.log.csv"
            result = train_model(train, val, replace(config, progress=progress), spec=spec, out=ckpt,
                                 log_path=log)
            if result.interrupted:
                raise KeyboardInterrupt
            tracker = MelTracker.from_checkpoint(ckpt, device=resolve_device(config.device))
            for s in held:
                out.predictions[s.key] = song_level_prediction(tracker.predict_frames(s.frames, mode="causal"))
            out.folds.append({"fold": f, "held_out": len(held), "train": len(train), "validation": len(val),
                              "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
                              "best_val_loss": round(float(result.best_val_loss), 6),
                              "seconds": round(result.seconds, 1)})
            if say is not None:
                say(f"fold {f + 1}/{k}: {len(train)} training, {len(val)} validation, {len(held)} held-out "
                    f"songs; best epoch {result.best_epoch} of {result.epochs_run} ({result.seconds:.0f} s)")
    return out


def cv_figures(cv: CrossValidation, datasets: list, *, name: str) -> dict[str, Any]:
    """The cross-validated figures of the held-out predictions, per song-level dataset.

    Returns
    -------
    dict
        ``cv_emotify`` (rows as :func:`~emotrack.train.emotify.cross_validated_row` reads them)
        and ``cv_4q`` (AUCs), each with its protocol, for the datasets present.
    """
    protocol = (f"{cv.k}-fold cross-validation grouped by track (Emotify, emoMusic) and by artist (4Q), "
                f"folds seeded {cv.seed}; early stopping on validation groups carved from each fold's "
                "training part; song prediction = mean of the causal frames k >= "
                f"{WARMUP_FRAMES} of the held-out track")
    out: dict[str, Any] = {}
    for d in datasets:
        if not isinstance(d, SongLabelDataset):
            continue
        preds = {s.song_id: cv.predictions[s.key] for s in d.songs if s.key in cv.predictions}
        if d.name == "emotify":
            row = score_songs(name, preds, d.songs)
            out["cv_emotify"] = {**{k: v for k, v in row.to_dict().items() if k not in ("name", "note", "extras")},
                                 "protocol": protocol}
        elif d.name == "4q":
            row = score_quadrants(name, preds, d.songs)
            out["cv_4q"] = {**{k: v for k, v in row.to_dict().items() if k not in ("name", "note")},
                            "protocol": protocol}
    return out
