"""``emotrack evaluate``: evaluate a checkpoint against human annotations."""
from __future__ import annotations

import argparse

from ._options import pathlib_arg
from .train import add_data_options, add_training_options, feature_cache, training_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="evaluate a checkpoint against human annotations",
        description="Score a checkpoint on a dataset split: RMSE, MSE, Pearson r (frames and song "
        "means) and CCC per dimension, always beside the constant predictor (training mean) and "
        "the poster's figures. With song-level labels (--data emotify:PATH): Spearman rho of the "
        "song means with 95 % bootstrap intervals (pooled, mean within genre, and for valence the "
        "rank partial correlation given arousal) beside the constant, loudness alone and the rnn. "
        "With quadrant labels (--data 4q:PATH): arousal AUC, valence AUC (pooled, within each arousal "
        "half, within genre) and quadrant accuracy with 95 % bootstrap intervals, beside loudness "
        "alone and the issue-12 musicnn head. "
        "With --loso, train one model per song on all other songs "
        "(leave-one-song-out; for tiny sets) using the training options below.")
    p.add_argument("checkpoint", type=pathlib_arg, nargs="?", default=None,
                   help="checkpoint or musicnn head to evaluate (default: the default tracker, "
                   "musicnn; ignored with --loso)")
    add_data_options(p)
    p.add_argument("--split", choices=("evaluation", "development", "all"), default="evaluation",
                   help="songs to score (default: evaluation)")
    p.add_argument("--mode", choices=("causal", "centered"), default="causal",
                   help="causal: what the live app shows (default); centered: the tracker's offline "
                   "average around each frame")
    p.add_argument("--out", type=pathlib_arg, default=None, metavar="DIR",
                   help="write evaluation.md, evaluation.json and evaluation.png here")
    p.add_argument("--loso", action="store_true",
                   help="leave-one-song-out cross-validation over every song with audio")
    p.add_argument("--quiet", action="store_true")
    grp = p.add_argument_group("training options (with --loso)")
    add_training_options(grp, trackers=("musicnn",))
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ...train import run as work

    if args.out is not None:  # fail now, not after the evaluation, when --out is unusable
        from ...model.validate import writable_dir

        writable_dir(args.out, what="report folder")
    if args.loso:
        if args.model == "musicnn":
            from ...model.errors import ParameterError

            raise ParameterError("--loso trains a network (rnn, cae or baseline); musicnn's head is "
                                 "fitted and cross-validated by 'emotrack train --model musicnn'")
        cache = feature_cache(args)
        from ...train.loso import leave_one_song_out
        from ...train.songs import load_features

        datasets = work.load_all(args.data, spec=cache.spec, quiet=args.quiet)
        items = [it for d in datasets for it in d.with_audio()]
        songs = load_features(items, cache, progress=not args.quiet)
        report = leave_one_song_out(songs, training_config(args), spec=cache.spec,
                                    mode=args.mode, progress=not args.quiet)
        work.emit(report, args.out, stem="loso", quiet=args.quiet)
        return 0
    from ...model.trackers import load_tracker

    tracker = load_tracker(args.model if getattr(args, "model_given", False) else None, args.checkpoint,
                           device="auto")
    report = work.evaluate_command(tracker, args.data, split=args.split, mode=args.mode,
                                   quiet=args.quiet, cache_dir=args.cache_dir, use_cache=not args.no_cache,
                                   frame_stride=args.frame_stride)
    work.emit(report, args.out, stem="evaluation", quiet=args.quiet)
    return 0
