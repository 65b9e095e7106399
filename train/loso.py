"""Leave-one-song-out cross-validation for tiny sets (e.g. the 10 emoMusic mini clips).

Each fold trains a fresh model on every other song (validation for early
stopping carved from those, by song) and predicts the held-out song through
the real checkpoint -> MelTracker path.  The constant reference of a fold is the
mean rating of that fold's training songs, so neither side sees the held-out
song's labels.
"""
from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..model.features import FeatureSpec
from .evaluation import Column, Report, curves_for_plot, poster_columns
from .metrics import score, target_mean
from .songs import SongFeatures, split_validation
from .trainer import TrainConfig, train_model


def leave_one_song_out(songs: list[SongFeatures], config: TrainConfig, *, spec: FeatureSpec,
                       mode: str = "causal", progress: bool = True) -> Report:
    """Train ``len(songs)`` models, each without one song, and score the held-out predictions.

    Returns
    -------
    Report
        Pooled over all held-out songs: the model and the per-fold constant, plus
        the poster's figures; facts list each fold's best epoch.
    """
    from tqdm import tqdm

    from ..model.mel_tracker import MelTracker
    from ..model.trackers import resolve_device

    preds, targets, consts, folds, fulls = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="emotrack-loso-") as tmp:
        for song in tqdm(songs, desc="leave-one-song-out", unit="fold", disable=not progress):
            rest = [s for s in songs if s.key != song.key]
            tr_keys, va_keys = split_validation([s.key for s in rest],
                                                fraction=config.val_fraction, seed=config.seed)
            train = [s for s in rest if s.key in tr_keys]
            val = [s for s in rest if s.key in va_keys]
            ckpt = Path(tmp) / "fold.safetensors"
            result = train_model(train, val, replace(config, progress=False), spec=spec, out=ckpt)
            if result.interrupted:
                raise KeyboardInterrupt
            tracker = MelTracker.from_checkpoint(ckpt, device=resolve_device(config.device))
            it = song.item
            full = tracker.predict_frames(song.frames, mode=mode)
            preds.append(full[it.first_frame:it.first_frame + it.n_frames].astype(np.float64))
            fulls.append(full)
            targets.append(it.targets().astype(np.float64))
            const = target_mean([s.item.targets() for s in train])
            consts.append(np.broadcast_to(const, targets[-1].shape).copy())
            folds.append({"held_out": song.key, "best_epoch": result.best_epoch,
                          "epochs_run": result.epochs_run,
                          "validation_songs": [s.key for s in val]})
    columns = [Column(config.model, score(preds, targets)),
               Column("constant", score(consts, targets),
                      "each fold predicts its training songs' mean rating")] + poster_columns()
    report = Report(f"Leave-one-song-out: {config.model} on {len(songs)} songs", columns, facts={
        "songs": [s.key for s in songs], "prediction mode": mode,
        "folds": len(songs), "best epochs": [f["best_epoch"] for f in folds]})
    report.curves = curves_for_plot(songs, preds, limit=4)
    from .tracking import TrackingConfig, song_tracking, summarise

    tc = TrackingConfig()
    report.tracking = [summarise(f"{config.model}, held out", [
        song_tracking(s.key, f, s.item.targets(), s.item.first_frame, tc.lags)
        for s, f in zip(songs, fulls)], tc)]
    return report
