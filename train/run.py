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
from .songs import evaluation_pool, load_features, split_validation, training_pool
from .trainer import TrainConfig, check_training_memory, train_model


def _say(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, file=sys.stderr)


def load_all(specs: list[str], *, spec: FeatureSpec = CAE_SPEC, quiet: bool = False,
             song_level: bool = False) -> list[LoadedDataset]:
    """Read every ``NAME:PATH`` dataset and report what was skipped (never silently).

    Datasets with song-level labels only (Emotify) are refused unless ``song_level``:
    training and the 2 Hz evaluation need curves.
    """
    datasets = [load_dataset(s, spec=spec) for s in specs]
    if not song_level:
        for text, d in zip(specs, datasets):
            if isinstance(d, SongLabelDataset):
                raise ParameterError(
                    f"{text!r} has song-level labels only (no 2 Hz curves): training and checkpoint "
                    "evaluation need emomusic, deam or pmemo data; use Emotify for the song-level "
                    "evaluation of a tracker")
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


def dataset_problems(datasets) -> list[str]:
    """Every row or song a reader skipped (the lines :func:`load_all` printed), for reports."""
    return [f"{d.name}: {p}" for d in datasets for p in d.problems]


def train_command(data: list[str], config: TrainConfig, out: Path, *, log_path: Path | None,
                  cache: FeatureCache, quiet: bool = False) -> dict[str, Any]:
    """Train on the development songs of the datasets and write the best checkpoint.

    Returns
    -------
    dict
        The facts stored in the checkpoint.
    """
    # fail now, not after training, when the checkpoint or log cannot be written
    writable_file(out, what="checkpoint")
    log_path = log_path or out.with_name(out.name + ".log.csv")
    writable_file(log_path, what="training log")
    check_training_memory(config)  # before minutes of feature extraction
    datasets = load_all(data, spec=cache.spec, quiet=quiet)
    pool = [it for d in datasets for it in training_pool(d.with_audio())]
    problems: list[str] = []
    songs = load_features(pool, cache, progress=not quiet, problems=problems)
    for p in problems:
        _say(f"  skipped: {p}", quiet)
    tr_keys, va_keys = split_validation([s.key for s in songs], fraction=config.val_fraction,
                                        seed=config.seed)
    train = [s for s in songs if s.key in tr_keys]
    val = [s for s in songs if s.key in va_keys]
    _say(f"training on {len(train)} song(s), validating on {len(val)}: "
         f"{', '.join(s.key for s in val) or 'none (training loss decides)'}", quiet)
    facts = {
        "trained": True,
        "data": data,
        "datasets": [d.summary() for d in datasets],
        "split": ("development songs with audio, minus validation songs carved by a seeded "
                  "hash of the song id; evaluation-split songs never used"),
        "feature_cache": {"hits": cache.hits, "misses": cache.misses},
    }
    result = train_model(train, val, config, spec=cache.spec, out=out, log_path=log_path, facts=facts)
    state = "interrupted" if result.interrupted else "done"
    _say(f"{state}: {result.epochs_run} epoch(s) in {result.seconds:.1f} s; best epoch "
         f"{result.best_epoch} (validation MSE {result.best_val_loss:.4f}) saved to {out}; "
         f"log {log_path}", quiet)
    if result.interrupted:
        raise KeyboardInterrupt
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
        if reader.early_end is not None and problems is not None:
            problems.append(f"{item.key}: {reader.early_end}; used as far as it decodes")
        cropped = item.cropped(len(frames))
        if cropped.n_frames == 0 or np.isnan(cropped.targets()).all():
            if problems is not None:
                problems.append(f"{item.key}: audio ({len(frames)} frames) ends before the "
                                f"first rated frame {item.first_frame}; skipped")
            continue
        out.append(SongPrediction(cropped, frames.values))
    return out


def evaluate_command(tracker, data: list[str], *, split: str, mode: str,
                     quiet: bool = False) -> Report | EmotifyReport:
    """Score a tracker on one split of the datasets, beside the constant and poster figures.

    Datasets with song-level labels (Emotify) get the song-level report instead
    (:func:`evaluate_songs_command`, every song with audio; ``split`` does not apply).
    """
    datasets = load_all(data, quiet=quiet, song_level=True)
    song_level = [isinstance(d, SongLabelDataset) for d in datasets]
    if any(song_level):
        if not all(song_level):
            raise ParameterError(f"{data}: song-level datasets (emotify) cannot be evaluated together "
                                 "with 2 Hz ones (emomusic, deam, pmemo); run evaluate once for each kind")
        return evaluate_songs_command(tracker, datasets, data, mode=mode, quiet=quiet)
    items: list[SongItem] = [it for d in datasets for it in d.items]
    annotated = evaluation_pool(items, split)
    with_audio = [it for d in datasets for it in evaluation_pool(d.with_audio(), split)]
    missing = [it.key for it in annotated if it not in with_audio]
    problems: list[str] = dataset_problems(datasets)  # what the console listed, in the report too
    songs = predict_songs(tracker, with_audio, mode=mode, progress=not quiet, problems=problems)
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
    report = Report(f"{tracker.name} on {split} ({', '.join(data)})", columns, facts={
        "model": {k: described.get(k) for k in ("name", "checkpoint", "head") if described.get(k)},
        "prediction mode": mode,
        "songs evaluated": [s.key for s in songs],
        "songs without audio (constant only)": missing,
        "problems": problems,
    })
    report.curves = curves_for_plot(songs, preds, limit=4)
    return report


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

    songs = [s for d in datasets for s in d.songs_with_audio()]
    if not songs:
        raise ParameterError(f"no song in {data} has audio: nothing to evaluate")
    problems: list[str] = dataset_problems(datasets)
    frames = song_frames(tracker, songs, mode=mode, progress=not quiet, problems=problems)
    described = tracker.describe()
    facts = described.get("head_facts") or {}
    seen = set(facts.get("training_songs") or []) & {s.key for s in songs if s.song_id in frames}
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
