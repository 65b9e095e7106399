"""The work behind ``emotrack train`` and ``emotrack evaluate`` (the CLI handlers are thin)."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..model.errors import EmotrackError, ParameterError
from ..model.features import CAE_SPEC, FeatureSpec
from ..model.tracker import TrackerFrames
from ..model.validate import writable_file
from .cache import FeatureCache
from .evaluation import (Report, constant_over_annotations, curves_for_plot, development_mean,
                         model_vs_constant, poster_columns, write_report)
from .emotify import EmotifyReport, cross_validated_row, emotify_report, song_level_db, song_prediction
from .items import LoadedDataset, SongItem, SongLabelDataset, SongLabels
from .readers import load_dataset
from .songs import SongFeatures, evaluation_pool, load_features, training_pool
from .trainer import TrainConfig, check_training_memory, train_model


def _say(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, file=sys.stderr)


def load_all(specs: list[str], *, spec: FeatureSpec = CAE_SPEC, quiet: bool = False,
             song_level: bool = False) -> list[LoadedDataset]:
    """Read every ``NAME:PATH`` dataset and report what was skipped (never silently).

    Datasets with song-level labels only (Emotify, 4Q) are refused unless ``song_level``:
    the 2 Hz evaluation and leave-one-song-out need curves (training and the song-level
    evaluation take them).
    """
    datasets = [load_dataset(s, spec=spec) for s in specs]
    if not song_level:
        for text, d in zip(specs, datasets):
            if isinstance(d, SongLabelDataset):
                raise ParameterError(
                    f"{text!r} has song-level labels only (no 2 Hz curves): leave-one-song-out and "
                    "the 2 Hz evaluation need emomusic, deam or pmemo data; train on it with "
                    "'emotrack train' (--folds K cross-validates), or evaluate a tracker on Emotify")
    for d in datasets:
        _say(d.summary(), quiet)
        if d.missing_audio:
            shown = ", ".join(d.missing_audio[:10])
            more = f" and {len(d.missing_audio) - 10} more" if len(d.missing_audio) > 10 else ""
            _say(f"  audio missing for {len(d.missing_audio)} song(s), skipped: {shown}{more}", quiet)
        for p in d.problems[:20]:
            _say(f"  skipped: {p}", quiet)
        if len(d.problems) > 20:
            _say(f"  ... {len(d.problems) - 20} more problem(s)", quiet)
    return datasets


def training_songs(datasets: list[LoadedDataset], cache: FeatureCache, *, quiet: bool = False
                   ) -> list[SongFeatures]:
    """Features and frame targets of every song training may use.

    2 Hz datasets give their development songs; song-level datasets (Emotify, 4Q) every
    labelled track with audio, its label on every frame (:mod:`emotrack.train.song_targets`).
    """
    from .song_targets import training_items

    problems: list[str] = []
    pool: list[SongItem] = []
    for d in datasets:
        if isinstance(d, SongLabelDataset):
            pool += training_items(d, problems)
        else:
            pool += training_pool(d.with_audio())
    songs = load_features(pool, cache, progress=not quiet, problems=problems)
    for p in problems[:20]:
        _say(f"  skipped: {p}", quiet)
    if len(problems) > 20:
        _say(f"  ... {len(problems) - 20} more song(s) skipped", quiet)
    return songs


def fit_display_scale(checkpoint: Path, songs: list[SongFeatures], *, device: str = "cpu"):
    """Display scale of a trained checkpoint: percentiles of its causal predictions on the frames
    of ``songs`` that are past the tracker's warm-up (the training tracks themselves).

    Returns ``(scale, values)``; ``scale`` is None when the tracks have fewer frames than the
    scale's 101 quantiles."""
    from ..model.mel_tracker import MelTracker
    from ..model.scale import N_QUANTILES, DisplayScale

    tracker = MelTracker.from_checkpoint(checkpoint, device=device)
    full = [tracker.predict_frames(s.frames, mode="causal") for s in songs]
    values = np.concatenate([v[tracker.warmup_frames:] for v in full] + [np.zeros((0, 2), np.float32)])
    which = f"after the {tracker.warmup_frames}-frame warm-up"
    if len(values) < N_QUANTILES:  # tracks shorter than the warm-up (tiny test sets)
        values = np.concatenate(full)
        which = "all, warm-up included: too few past it"
    if len(values) < N_QUANTILES:
        return None, values
    names = sorted({s.item.dataset for s in songs})
    reference = f"causal frames ({which}) of the {len(songs)} tracks it learned from ({', '.join(names)})"
    return DisplayScale.from_values(values, reference=reference), values


def dataset_problems(datasets) -> list[str]:
    """Every row or song a reader skipped (the lines :func:`load_all` printed), for reports."""
    return [f"{d.name}: {p}" for d in datasets for p in d.problems]


def train_command(data: list[str], config: TrainConfig, out: Path, *, log_path: Path | None,
                  cache: FeatureCache, quiet: bool = False, folds: int = 0) -> dict[str, Any]:
    """Train on the development songs of the datasets and write the best checkpoint.

    With ``folds >= 2``, first cross-validate the same recipe on grouped folds
    (:mod:`emotrack.train.crossval`) and store the held-out figures in the facts;
    their per-fold logs go to ``CKPT.cv/``.  The final network learns from every song
    (validation groups carved as in each fold); its display scale is fitted on its
    causal predictions over the training tracks.

    Returns
    -------
    dict
        The facts stored in the checkpoint.
    """
    import json

    from ..model.checkpoint import load_checkpoint, save_checkpoint
    from ..model.trackers import resolve_device
    from .crossval import cross_validate, cv_figures, train_split

    # fail now, not after training, when the checkpoint or log cannot be written
    writable_file(out, what="checkpoint")
    log_path = log_path or out.with_name(out.name + ".log.csv")
    writable_file(log_path, what="training log")
    check_training_memory(config)  # before minutes of feature extraction
    datasets = load_all(data, spec=cache.spec, quiet=quiet, song_level=True)
    songs = training_songs(datasets, cache, quiet=quiet)
    if not songs:
        raise ParameterError(f"no song in {data} has both audio and labels: nothing to train on")
    facts: dict[str, Any] = {
        "trained": True,
        "data": data,
        "datasets": [d.summary() for d in datasets],
        "targets": ("2 Hz curves as rated; song-level labels (Emotify arousal_proxy / valence_fa "
                    "standardised, 4Q quadrants as half centres) on every frame of their track, on the "
                    "emoMusic scale (emotrack.train.song_targets)"),
        "split": ("development songs with audio, minus validation groups (artist for 4Q, the song "
                  "otherwise) carved by a seeded hash; evaluation-split songs never used"),
    }
    cv_preds = None
    if folds:
        _say(f"cross-validating {config.model} on {folds} folds of {len(songs)} songs", quiet)
        cv_dir = out.with_name(out.name + ".cv")
        cv_dir.mkdir(parents=True, exist_ok=True)
        cv = cross_validate(songs, config, spec=cache.spec, k=folds, log_dir=cv_dir,
                            progress=config.progress, say=None if quiet else _say)
        facts["folds"] = {"k": folds, "seed": config.seed, "per_fold": cv.folds}
        facts.update(cv_figures(cv, datasets, name=config.model))
        cv_preds = {k: [round(float(x), 5) for x in v] for k, v in sorted(cv.predictions.items())}
        (cv_dir / "predictions.json").write_text(json.dumps(cv_preds, indent=0) + "\n")
    train, val = train_split(songs, fraction=config.val_fraction, seed=config.seed)
    _say(f"training on {len(train)} song(s), validating on {len(val)}"
         + ("" if val else " (none: the training loss decides)"), quiet)
    facts["feature_cache"] = {"hits": cache.hits, "misses": cache.misses}
    result = train_model(train, val, config, spec=cache.spec, out=out, log_path=log_path, facts=facts)
    state = "interrupted" if result.interrupted else "done"
    _say(f"{state}: {result.epochs_run} epoch(s) in {result.seconds:.1f} s; best epoch "
         f"{result.best_epoch} (validation MSE {result.best_val_loss:.4f}) saved to {out}; "
         f"log {log_path}", quiet)
    if result.interrupted:
        raise KeyboardInterrupt
    scale, values = fit_display_scale(out, songs, device=resolve_device(config.device))
    ck = load_checkpoint(out)
    if scale is None:
        _say(f"no display scale: the training tracks have {len(values)} frames, fewer than "
             "the 101 quantiles it needs", quiet)
        return dict(ck.facts)
    facts = dict(ck.facts, display_scale=scale.to_dict(),
                 prediction_spread={axis: {f"p{q}": round(float(np.percentile(values[:, i], q)), 4)
                                           for q in (1, 10, 50, 90, 99)}
                                    for i, axis in enumerate(("arousal", "valence"))})
    save_checkpoint(out, model_name=ck.model_name, hparams=ck.hparams, state_dict=ck.state_dict,
                    spec=ck.spec, norm_mean=ck.norm_mean, norm_std=ck.norm_std, facts=facts)
    return facts


@dataclass(frozen=True)
class SongPrediction:
    """A tracker's predictions for every frame of one song (``values`` (n, 2)), item cropped to them."""

    item: SongItem
    values: np.ndarray

    @property
    def key(self) -> str:
        return self.item.key


def predict_songs(tracker, items: list[SongItem], *, mode: str, progress: bool = True,
                  problems: list[str] | None = None) -> list[SongPrediction]:
    """Run a tracker over each song's audio file (the live code path, as ``analyze``).

    Undecodable songs, and songs whose audio ends before their first rated frame, are
    reported in ``problems`` and skipped.
    """
    from tqdm import tqdm

    from ..model.audio_io import BlockReader

    out = []
    for item in tqdm(items, desc=f"{tracker.name}", unit="song", disable=not progress, leave=False):
        try:
            reader = BlockReader(item.audio_path)
            frames = tracker.analyze(iter(reader), reader.info.sample_rate, mode=mode)
        except EmotrackError as exc:
            if problems is not None:
                problems.append(f"{item.key}: {exc}; skipped")
            continue
        if reader.note is not None and problems is not None:
            problems.append(f"{item.key}: {reader.note}; used as far as it decodes")
        cropped = item.cropped(len(frames))
        if cropped.n_frames == 0 or np.isnan(cropped.targets()).all():
            if problems is not None:
                problems.append(f"{item.key}: audio ({len(frames)} frames) ends before the "
                                f"first rated frame {item.first_frame}; skipped")
            continue
        out.append(SongPrediction(cropped, frames.values))
    return out


def evaluate_command(tracker, data: list[str], *, split: str, mode: str,
                     quiet: bool = False, cache_dir: Path | None = None, use_cache: bool = True,
                     frame_stride: int = 1):
    """Score a tracker on one split of the datasets, beside the constant and poster figures.

    Datasets with song-level labels (Emotify) get the song-level report instead
    (:func:`evaluate_songs_command`, every song with audio; ``split`` does not apply);
    quadrant-labelled clips (4Q) the quadrant report
    (:func:`~emotrack.train.quadrant_eval.evaluate_quadrants_command`).
    """
    datasets = load_all(data, quiet=quiet, song_level=True)
    song_level = [isinstance(d, SongLabelDataset) for d in datasets]
    if any(song_level):
        if not all(song_level):
            raise ParameterError(f"{data}: song-level datasets (emotify, 4q) cannot be evaluated together "
                                 "with 2 Hz ones (emomusic, deam, pmemo); run evaluate once for each kind")
        if any(d.name == "4q" for d in datasets):
            if len(datasets) != 1:
                raise ParameterError(f"{data}: evaluate 4q clips on their own (one --data 4q:PATH); "
                                     "run evaluate again for the other sets")
            from .cache import default_cache_dir
            from .musicnn_features import MusicnnFeatureCache
            from .quadrant_eval import evaluate_quadrants_command

            cache = MusicnnFeatureCache(cache_dir or default_cache_dir(), enabled=use_cache, stride=frame_stride)
            return evaluate_quadrants_command(tracker, datasets[0], data, mode=mode, cache=cache, quiet=quiet)
        return evaluate_songs_command(tracker, datasets, data, mode=mode, quiet=quiet)
    items: list[SongItem] = [it for d in datasets for it in d.items]
    annotated = evaluation_pool(items, split)
    with_audio = [it for d in datasets for it in evaluation_pool(d.with_audio(), split)]
    missing = [it.key for it in annotated if it not in with_audio]
    problems: list[str] = dataset_problems(datasets)  # what the console listed, in the report too
    calibrated = calibration_songs(tracker, [it for d in datasets for it in d.with_audio()])
    extra = [it for it in calibrated if it not in with_audio]  # needed to refit without each song
    songs = predict_songs(tracker, with_audio + extra, mode=mode, progress=not quiet, problems=problems)
    songs, loco_facts = loco_songs(songs, calibrated, evaluated=with_audio)
    refitted = set(loco_facts.pop("refitted", ()))  # calibration songs scored leave-one-clip-out
    if not songs:
        raise ParameterError(f"no song of split {split!r} has audio in {data}: nothing to evaluate "
                             "(the constant predictor still needs annotations only: see the report)")
    preds = [s.values[s.item.first_frame:s.item.first_frame + s.item.n_frames].astype(np.float64)
             for s in songs]
    targets = [s.item.targets().astype(np.float64) for s in songs]
    dev_mean = development_mean(items)
    n_dev = sum(1 for it in items if it.split == "development")
    columns = model_vs_constant(tracker.name, preds, targets, dev_mean,
                                f"mean of the {n_dev} development songs' annotations")
    checkpoint = getattr(tracker, "checkpoint", None)
    trained_mean = checkpoint.facts.get("train_target_mean") if checkpoint is not None else None
    if trained_mean:
        from .evaluation import Column
        from .metrics import constant_predictions, score

        value = np.array([trained_mean["arousal"], trained_mean["valence"]])
        columns.append(Column("constant (model's training songs)",
                              score(constant_predictions(value, targets), targets),
                              "mean rating of the songs this checkpoint was trained on"))
    columns.append(constant_over_annotations(annotated, dev_mean))
    columns += poster_columns()
    described = tracker.describe()
    warning = _mark_in_sample(columns, tracker.name, described, songs, preds, targets,
                              held_out=refitted)
    if warning:
        problems.insert(0, warning)
    report = Report(f"{tracker.name} on {split} ({', '.join(data)})", columns, facts={
        "model": {k: described.get(k) for k in ("name", "checkpoint", "head") if described.get(k)},
        "prediction mode": mode,
        "songs evaluated": [s.key for s in songs],
        "songs without audio (constant only)": missing,
        "problems": problems,
        **loco_facts,
    })
    report.curves = curves_for_plot(songs, preds, limit=4)
    report.tracking = [within_song(tracker.name, songs)]
    return report


def _mark_in_sample(columns: list, name: str, described: dict[str, Any], songs: list[SongPrediction],
                    preds: list[np.ndarray], targets: list[np.ndarray], *,
                    held_out: set[str] = frozenset()) -> str | None:
    """Mark the model's column in-sample when it learned from some evaluated songs (its facts
    say which: :mod:`emotrack.train.in_sample`); put its held-out figures beside it (the
    subset it did not learn from, and what its facts record). ``held_out``: songs whose
    learned part was undone for this run (calibration refitted without each of them, see
    :func:`loco_songs`). Returns the warning, or None."""
    from .evaluation import Column
    from .in_sample import held_out_figures, learned_songs
    from .metrics import score

    facts = described.get("head_facts") or described.get("facts") or {}
    learned = learned_songs(facts) - set(held_out)
    seen = [i for i, s in enumerate(songs) if s.key in learned]
    if not seen:
        return None
    model = columns[0]
    model.name = f"{name} (in-sample: learned from {len(seen)} of these {len(songs)} songs)"
    model.note = ("in-sample: the model was fitted, calibrated or early-stopped on "
                  f"{', '.join(songs[i].key for i in seen)}; these figures are optimistic, "
                  "not a test")
    beside: list[Column] = []
    unseen = [i for i in range(len(songs)) if i not in set(seen)]
    if unseen:
        beside.append(Column(f"{name} held out: the {len(unseen)} songs it did not learn from",
                             score([preds[i] for i in unseen], [targets[i] for i in unseen]),
                             f"the same run on {', '.join(songs[i].key for i in unseen)} only"))
    figures = held_out_figures(facts, name)
    for fig in figures:
        beside.append(Column(f"{name} held out ({fig.fact}, from its facts)", fig.scores,
                             fig.protocol or "recorded in the model's facts"))
    columns[1:1] = beside
    held = "; ".join(f"{fig.fact}: {fig.short()}" for fig in figures)
    return (f"in-sample: the {name} model learned from {len(seen)} of the {len(songs)} evaluated "
            f"songs, so its figures here are optimistic; held-out figures are beside it"
            + (f" ({held})" if held else "")
            + ("" if figures or unseen else " (none recorded: judge it on other songs)"))


def calibration_songs(tracker, items: list[SongItem]) -> list[SongItem]:
    """The songs with audio that the tracker's head was calibrated on (its facts name them).

    The shipped musicnn head's facts list the emoMusic clips its calibration line was
    fitted on (``calibration.clips``); such songs are scored leave-one-clip-out.
    """
    facts = (tracker.describe().get("head_facts") or {}).get("calibration") or {}
    clips = {str(c).removeprefix("emomusic:") for c in facts.get("clips") or []}  # "7" or "emomusic:7"
    return [it for it in items if it.dataset == "emomusic" and it.song_id in clips]


def loco_songs(songs: list[SongPrediction], calibrated: list[SongItem], *, evaluated: list[SongItem]
               ) -> tuple[list[SongPrediction], dict[str, Any]]:
    """Refit the head's calibration without each calibrated song (leave-one-clip-out); the
    predictions of the ``evaluated`` songs, the others (calibration songs predicted only to
    refit it) dropped.  The facts' ``"refitted"`` lists the songs scored so (the caller takes
    it out: they are not in-sample)."""
    from .tracking import loco_recalibrate

    keys = {it.key for it in calibrated}
    have = [s for s in songs if s.key in keys]
    wanted = {it.key for it in evaluated}
    evaluated = [s for s in songs if s.key in wanted]
    if not have:
        return evaluated, {}
    if len(have) < 3:  # "refitted" absent: evaluate marks these songs in-sample
        return evaluated, {"calibration": f"the head was calibrated on {len(have)} of these songs and too "
                                          "few of its calibration songs have audio here to refit it "
                                          "without them: their figures are in-sample"}
    fixed = loco_recalibrate({s.key: s.values for s in have}, {s.key: s.item for s in have},
                             [s.key for s in have])
    out = [SongPrediction(s.item, fixed[s.key]) if s.key in fixed else s for s in evaluated]
    n_eval = sum(1 for s in evaluated if s.key in fixed)
    return out, {"refitted": sorted(fixed), "calibration": f"the head's calibration line was fitted on {len(keys)} emoMusic clips; "
                                f"the {n_eval} evaluated among them are scored leave-one-clip-out (the "
                                f"line refitted on the other {len(have) - 1} clips with audio, the rest of "
                                "the head untouched)"}


def within_song(name: str, songs: list[SongPrediction]):
    """Within-song figures (:mod:`~emotrack.train.tracking`) of the evaluated songs."""
    from .tracking import TrackingConfig, song_tracking, summarise

    config = TrackingConfig()
    per_song = [song_tracking(s.key, s.values, s.item.targets(), s.item.first_frame, config.lags)
                for s in songs]
    return summarise(name, per_song, config)


def song_frames(tracker, songs: list[SongLabels], *, mode: str, progress: bool = True,
                problems: list[str] | None = None) -> dict[str, TrackerFrames]:
    """A tracker's frames of each song's audio file (the live code path, as ``analyze``).

    Undecodable songs are reported in ``problems`` and left out.
    """
    from tqdm import tqdm

    from ..model.audio_io import BlockReader

    out = {}
    for song in tqdm(songs, desc=f"{tracker.name}", unit="song", disable=not progress, leave=False):
        try:
            reader = BlockReader(song.audio_path)
            out[song.song_id] = tracker.analyze(iter(reader), reader.info.sample_rate, mode=mode)
        except EmotrackError as exc:
            if problems is not None:
                problems.append(f"{song.key}: {exc}; skipped")
            continue
        if reader.note is not None and problems is not None:
            problems.append(f"{song.key}: {reader.note}; used as far as it decodes")
    return out


def evaluate_songs_command(tracker, datasets: list[SongLabelDataset], data: list[str], *, mode: str,
                           quiet: bool = False, reference_models: tuple[str, ...] = ("rnn",),
                           device: str = "auto") -> EmotifyReport:
    """Song-level figures of a tracker on Emotify-style labels, beside the constant, loudness alone
    and the shipped ``reference_models`` (the former default, rnn), on the same songs and frames.

    When the tracker's head was fitted on some of these songs (its facts list its
    ``training_songs``), its row is marked in-sample and the cross-validated figures its
    facts record are shown beside it.
    """
    from ..model.trackers import load_tracker
    from .in_sample import learned_songs

    songs = [s for d in datasets for s in d.songs_with_audio()]
    if not songs:
        raise ParameterError(f"no song in {data} has audio: nothing to evaluate")
    problems: list[str] = dataset_problems(datasets)
    frames = song_frames(tracker, songs, mode=mode, progress=not quiet, problems=problems)
    described = tracker.describe()
    facts = described.get("head_facts") or described.get("facts") or {}
    seen = learned_songs(facts) & {s.key for s in songs if s.song_id in frames}
    name = tracker.name if not seen else f"{tracker.name} (in-sample: head fitted on {len(seen)} of these songs)"
    preds = {sid: song_prediction(f) for sid, f in frames.items()}
    refs = {"constant": {sid: np.zeros(2) for sid in frames},
            "loudness alone": {sid: np.repeat(song_level_db(f), 2) for sid, f in frames.items()}}
    notes = {"constant": "always (0, 0): ranks nothing",
             "loudness alone": "mean frame level (dBFS) over the same frames, as arousal and valence"}
    for ref_name in reference_models:
        ref = load_tracker(ref_name, device=device)
        if ref.describe().get("checkpoint") == described.get("checkpoint") and ref.name == tracker.name:
            continue  # the reference is the model evaluated
        refs[ref_name] = {sid: song_prediction(f) for sid, f in
                          song_frames(ref, [s for s in songs if s.song_id in frames], mode=mode,
                                      progress=not quiet, problems=problems).items()}
        notes[ref_name] = f"the shipped {ref_name} tracker, same songs and frames"
    report = emotify_report(preds, songs, references=refs, name=name, notes=notes,
                            title=f"{tracker.name} on song-level labels ({', '.join(data)})")
    cv = cross_validated_row(f"{tracker.name}, cross-validated (from its head file)", facts) if seen else None
    if cv is not None:
        report.rows.insert(1, cv)
    report.facts.update({"model": {k: v for k, v in described.items() if k in ("name", "head", "checkpoint") and v},
                         "prediction mode": mode, "songs evaluated": len(frames), "problems": problems})
    if seen:
        report.facts["in-sample warning"] = (
            f"the head was fitted on {len(seen)} of the evaluated songs: its figures on them are "
            "optimistic; judge it by the cross-validated row")
        problems.insert(0, "in-sample: " + report.facts["in-sample warning"])
    return report


def emit(report: Report | EmotifyReport, out_dir: Path | None, *, stem: str, quiet: bool = False) -> list[Path]:
    """Print the report as Markdown and write it (MD, JSON, PNG) when ``out_dir`` is given."""
    print(report.markdown())
    if out_dir is None:
        return []
    written = write_report(report, out_dir, stem=stem)
    if report.curves:
        rows = ", ".join(c["song"] for c in report.curves)
        md = written[0]
        md.write_text(md.read_text() + f"\n![curves]({stem}.png)\n\nCurves ({stem}.png), one row "
                      f"per song ({rows}); left arousal, right valence; black human rating, "
                      "blue prediction, y from -1 to 1 with lines at -0.5, 0, 0.5.\n")
    _say("wrote " + ", ".join(map(str, written)), quiet)
    return written
