"""``emotrack evaluate --data 4q:PATH``: any tracker on quadrant-labelled clips, beside references.

Rows: the tracker; when its head learned from some of these clips (its facts list them in
``training_songs``), its row is marked in-sample and the cross-validated figures its facts
record (``cv_4q``) are printed under it; then loudness alone and the issue-12 musicnn head
(the default before issue 18, :data:`ISSUE12_HEAD`).  Song predictions are the mean of the
causal frame results over frames ``k >= 6`` that are not silent.

The musicnn tracker's causal results are computed from the cached musicnn outputs
(:class:`~emotrack.train.musicnn_features.MusicnnFeatureCache`, the tracker's own live path)
and its head, so a second head or run costs no musicnn pass; other trackers (and the
centered mode) run through :meth:`~emotrack.model.tracker.Tracker.analyze` as ``analyze`` does.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from ..model.errors import EmotrackError, ParameterError
from ..model.ridge import RidgeHead
from .emotify import song_level_db, song_prediction
from .musicnn_features import counted
from .head_report import HeadReport
from .items import SongLabelDataset, SongLabels
from .musicnn_features import MusicnnFeatureCache
from .quadrant_metrics import FIGURES, QuadrantRow, score_quadrants
from .song_metrics import Estimate

ISSUE12_HEAD = "teacher/musicnn_va_head_issue12.safetensors"
"""The musicnn head shipped before issue 18 (Emotify only, no uncertainty), inside ``emotrack.assets``."""


def issue12_head_path() -> Path:
    return Path(str(files("emotrack.assets").joinpath(ISSUE12_HEAD)))


def cached_head_predictions(head: RidgeHead, inputs: list[str], songs: list[SongLabels],
                            cache: MusicnnFeatureCache, problems: list[str]) -> dict[str, np.ndarray]:
    """Song id -> (arousal, valence, level_db): a musicnn head's causal song means from cached outputs
    (of the stream the head was fitted on)."""
    from ..model.musicnn_tracker import head_stream

    cache = cache.for_stream(head_stream(head))
    out = {}
    for s in songs:
        try:
            frames = cache.frames(s.audio_path)
        except EmotrackError as exc:
            problems.append(f"{s.key}: {exc}; skipped")
            continue
        mask = counted(frames)
        if not mask.any():
            problems.append(f"{s.key}: no counted frame; skipped")
            continue
        x = np.concatenate([frames[n] for n in inputs], axis=1)[mask]
        values = head.predict(x).astype(np.float64).mean(axis=0)
        out[s.song_id] = np.array([*values, frames["level_db"][mask].astype(np.float64).mean()])
    return out


def tracker_predictions(tracker, songs: list[SongLabels], *, mode: str, cache: MusicnnFeatureCache,
                        quiet: bool, problems: list[str]) -> dict[str, np.ndarray]:
    """Song id -> (arousal, valence, level_db) of any tracker (see the module doc)."""
    from ..model.musicnn_tracker import MusicnnTracker

    if isinstance(tracker, MusicnnTracker) and mode == "causal":  # also from every N-th frame (cache.stride)
        return cached_head_predictions(tracker.head, tracker.inputs, songs, cache, problems)
    from .run import song_frames

    frames = song_frames(tracker, songs, mode=mode, progress=not quiet, problems=problems)
    return {sid: np.array([*song_prediction(f), song_level_db(f)]) for sid, f in frames.items()}


def cv_row(name: str, facts: Any) -> QuadrantRow | None:
    """The row a head's facts record from its cross-validation (``facts["cv_4q"]``), if any."""
    cv = facts.get("cv_4q") if isinstance(facts, dict) else None
    if not isinstance(cv, dict):
        return None
    try:
        est = {k: Estimate(*(float(cv[k][f]) for f in ("value", "low", "high")), int(cv[k]["n"]))
               for k, _ in FIGURES}
    except (KeyError, TypeError, ValueError):
        return None
    return QuadrantRow(name, est["arousal"].n, est, str(cv.get("protocol", "cross-validated")))


def evaluate_quadrants_command(tracker, dataset: SongLabelDataset, data: list[str], *, mode: str,
                               cache: MusicnnFeatureCache, quiet: bool = False,
                               n_boot: int = 2000) -> HeadReport:
    """4Q figures of a tracker beside loudness alone and the issue-12 musicnn head."""
    from ..model.musicnn_tracker import head_inputs, load_head

    songs = dataset.songs_with_audio()
    if not songs:
        raise ParameterError(f"no clip in {data} has audio: nothing to evaluate (see 4q-dev's README "
                             "for where the audio comes from)")
    problems: list[str] = []
    preds = tracker_predictions(tracker, songs, mode=mode, cache=cache, quiet=quiet, problems=problems)
    scored = [s for s in songs if s.song_id in preds]
    if not scored:
        raise ParameterError(f"no clip of {data} could be analysed: {problems[:3]}")
    described = tracker.describe()
    facts = described.get("head_facts") or {}
    seen = set(facts.get("training_songs") or []) & {s.key for s in scored}
    name = tracker.name if not seen else f"{tracker.name} (in-sample: fitted on {len(seen)} of these clips)"
    a = np.array([s.labels["arousal"] for s in scored])
    v = np.array([s.labels["valence"] for s in scored])
    genre = np.array([s.genre for s in scored])

    def row(label: str, p: np.ndarray, note: str = "") -> QuadrantRow:
        return score_quadrants(label, p, a, v, genre, note=note, n_boot=n_boot)

    pred = np.array([preds[s.song_id][:2] for s in scored])
    report = HeadReport(f"{tracker.name} on quadrant-labelled clips ({', '.join(data)})")
    report.quadrant_rows.append(row(name, pred, "optimistic: judge it by the cross-validated row" if seen else ""))
    cv = cv_row(f"{tracker.name}, cross-validated (from its head file)", facts) if seen else None
    if cv is not None:
        report.quadrant_rows.append(cv)
    level = np.array([preds[s.song_id][2] for s in scored])
    report.quadrant_rows.append(row("loudness alone", np.stack([level, level], axis=1),
                                    "mean frame level (dBFS) over the same frames, as arousal and valence"))
    old_path = issue12_head_path()
    if old_path.is_file() and Path(str(described.get("head") or "")).name != old_path.name:
        old = load_head(old_path)
        ref = cached_head_predictions(old, head_inputs(old), scored, cache, problems)
        keep = [s.song_id in ref for s in scored]
        if all(keep):
            report.quadrant_rows.append(row("issue-12 musicnn head", np.array([ref[s.song_id][:2] for s in scored]),
                                            "the default head before issue 18 (Emotify only), causal, same frames"))
    report.facts.update({
        "model": {k: v for k, v in described.items() if k in ("name", "head", "checkpoint") and v},
        "prediction mode": mode, "clips evaluated": len(scored), "problems": problems,
        "song prediction": "mean of the causal frame results over frames k >= 6 that are not silent"
                           + (f" (musicnn: from cached outputs, 1 frame in {cache.stride} where not all "
                              "frames are cached)" if cache.stride > 1 else ""),
        "quadrant accuracy": "each axis split at the median of the scored clips' predictions",
        "within genre": "pairs sharing the clip's first AllMusic genre",
    })
    if seen:
        report.facts["in-sample warning"] = (
            f"the head learned from {len(seen)} of the evaluated clips: its figures on them are "
            "optimistic; judge it by the cross-validated row")
    return report
