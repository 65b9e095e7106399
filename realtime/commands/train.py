"""``emotrack train``: train a model on emoMusic, DEAM, PMEmo, Emotify or 4Q labels, or fit the musicnn head."""
from __future__ import annotations

import argparse
from pathlib import Path

from ._options import dataset_arg, float_arg, int_arg, json_text, pathlib_arg, torch_device_arg

MODELS = ("cae", "baseline", "rnn")
#: The default network to train: in assets/MODEL_CARD.md's cross-validation on 650 tracks the
#: three networks tie on arousal; the rnn has the only valence above chance within 4Q's arousal
#: halves, and a live step costs one GRU step.
DEFAULT_MODEL = "rnn"


def add_data_options(p: argparse.ArgumentParser) -> None:
    """--data, --cache-dir, --no-cache (shared with evaluate)."""
    p.add_argument("--data", action="append", required=True, metavar="NAME:PATH", type=dataset_arg,
                   help="dataset in its own layout: emomusic:PATH, deam:PATH, pmemo:PATH (2 Hz curves), "
                   "emotify:PATH or 4q:PATH (song-level labels) (repeat to combine); --model musicnn "
                   "fits the default tracker's head on emotify and 4q, calibrated on emomusic clips")
    p.add_argument("--cache-dir", type=pathlib_arg, default=None,
                   help="feature cache folder (default $EMOTRACK_CACHE or ~/.cache/emotrack/features)")
    p.add_argument("--no-cache", action="store_true", help="always recompute features")
    p.add_argument("--frame-stride", type=int_arg(1, 64), default=1, metavar="N",
                   help="musicnn head fitting and 4q evaluation: compute musicnn outputs only for every "
                   "N-th frame of files not cached yet; song means are then estimated from those frames "
                   "(default 1: every frame, exactly what the tracker computes)")


class _GivenModel(argparse.Action):
    """Stores ``--model`` and notes that it was given (evaluate: a tracker to score, not --loso's default)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.model_given = True


def add_training_options(p: argparse.ArgumentParser, *, trackers: tuple[str, ...] = (),
                         heads: tuple[str, ...] = ()) -> None:
    """Model and optimisation options (shared with evaluate --loso).

    ``trackers``: further ``--model`` choices that evaluate scores without training (musicnn).
    ``heads``: further ``--model`` choices whose head train fits (musicnn).
    """
    extra = (f" Without --loso: the tracker to evaluate ({', '.join((*trackers, *MODELS))}; "
             "default: the default tracker)") if trackers else ""
    if heads:
        extra += (" musicnn: fit the default tracker's (arousal, valence) head on song labels "
                  "(--data emotify:PATH and/or 4q:PATH) calibrated on emoMusic clips (--data "
                  "emomusic:PATH); the network options below do not apply to it")
    p.add_argument("--model", choices=(*trackers, *heads, *MODELS), default=DEFAULT_MODEL,
                   action=_GivenModel if trackers else "store",
                   help=f"network (default: {DEFAULT_MODEL}, the conv + GRU network; cae is the "
                   "poster's network, baseline a small MLP; their cross-validated figures are in "
                   f"assets/MODEL_CARD.md).{extra}")
    p.add_argument("--hparams", default="{}", metavar="JSON", type=json_text,
                   help="network hyper-parameters as JSON, e.g. '{\"hidden\": 32}'")
    p.add_argument("--lr", type=float_arg(0.0, 10.0, lo_open=True), default=None,
                   help="Adam learning rate (default: 1e-4 for cae, 1e-3 for baseline and rnn)")
    p.add_argument("--weight-decay", type=float_arg(0.0, 10.0), default=0.0)
    p.add_argument("--batch-size", type=int_arg(1, 4096), default=16)
    p.add_argument("--epochs", type=int_arg(1, 100_000), default=300, help="maximum epochs (default 300)")
    p.add_argument("--patience", type=int_arg(0, 100_000), default=30,
                   help="stop after this many epochs without a better validation loss")
    p.add_argument("--val-fraction", type=float_arg(0.0, 1.0, hi_open=True), default=0.15,
                   help="share of training songs held out for validation (by song)")
    p.add_argument("--max-shift", type=int_arg(0, 600), default=10,
                   help="random window offsets up to this many frames (augmentation)")
    p.add_argument("--no-augment", action="store_true", help="no noise/gain augmentation")
    p.add_argument("--snr-db", type=float_arg(-60.0, 200.0), nargs=2, default=(10.0, 40.0), metavar=("LO", "HI"))
    p.add_argument("--gain-db", type=float_arg(-60.0, 60.0), nargs=2, default=(-6.0, 6.0), metavar=("LO", "HI"))
    p.add_argument("--seed", type=int_arg(0, 2**32 - 1), default=0)
    p.add_argument("--device", default="cpu", type=torch_device_arg,
                   help="torch device for training: cpu, cuda, cuda:N, mps or auto (default: cpu)")


def training_config(args: argparse.Namespace):
    """A TrainConfig from parsed options."""
    from ...train.augment import AugmentConfig
    from ...train.trainer import TrainConfig

    from ...model.errors import ParameterError
    from ...model.networks import check_hparams
    from ...model.validate import json_object, resolve_torch_device

    hparams = json_object(args.hparams, name="--hparams")
    try:
        check_hparams(args.model, hparams)
    except ParameterError as exc:
        raise ParameterError(f"--hparams: {exc}") from None
    device = resolve_torch_device(args.device)
    augment = (AugmentConfig.off() if args.no_augment else
               AugmentConfig(snr_db=tuple(args.snr_db), gain_db=tuple(args.gain_db)))
    return TrainConfig(model=args.model, hparams=hparams, lr=args.lr, weight_decay=args.weight_decay,
                       batch_size=args.batch_size, max_epochs=args.epochs, patience=args.patience,
                       val_fraction=args.val_fraction, max_shift=args.max_shift, seed=args.seed,
                       augment=augment, device=device, progress=not args.quiet)


def feature_cache(args: argparse.Namespace):
    """The FeatureCache the options ask for."""
    from ...train.cache import FeatureCache, default_cache_dir

    return FeatureCache(args.cache_dir or default_cache_dir(), enabled=not args.no_cache)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a model on emoMusic, DEAM, PMEmo, Emotify or 4Q labels, or fit the musicnn head",
        description="Train a network on human valence/arousal ratings: 2 Hz curves (emomusic, deam, "
        "pmemo) or song-level labels (emotify, 4q: the track's label on every frame, on the emoMusic "
        "scale; see docs/training.md). The dataset's evaluation split is never trained on; validation "
        "songs for early stopping are carved from the rest by group (artist for 4Q, song otherwise). "
        "With --folds K the same recipe is first cross-validated on K grouped folds and the held-out "
        "figures go into the checkpoint's facts. Writes the best checkpoint (atomically), its display "
        "scale and a per-epoch CSV log. With --model musicnn: fit the default tracker's head on song "
        "labels (emotify, 4q), cross-validated, calibrated on emomusic clips; writes the head file.")
    add_data_options(p)
    add_training_options(p, heads=("musicnn",))
    p.add_argument("--out", type=pathlib_arg, required=True, metavar="CKPT",
                   help="checkpoint to write (e.g. my-model.emotrack.safetensors); with --model "
                   "musicnn the head file (e.g. my-head.safetensors; use it with --checkpoint)")
    p.add_argument("--report", type=pathlib_arg, default=None, metavar="DIR",
                   help="--model musicnn: also write the cross-validation report (head_cv.md, .json) here")
    p.add_argument("--outer-repeats", type=int_arg(1, 20), default=2,
                   help="--model musicnn: repeats of the outer 5-fold cross-validation (default 2)")
    p.add_argument("--musicnn-stream", choices=("causal", "aligned", "patch"), default="causal",
                   help="--model musicnn: how musicnn runs over the audio, what the head learns from: "
                   "causal (default, the shipped head: every layer a causal convolution over the stream, "
                   "each position computed once), aligned (the same, every layer at musicnn's own time: "
                   "same CPU, the pooled 3 s end 1.17 s before the frame) or patch (musicnn exactly on each "
                   "frame's 3 s patch, twice the CPU); see docs/models.md")
    p.add_argument("--alpha-rule", choices=("one_se", "min"), default="one_se",
                   help="--model musicnn: each axis's ridge alpha, from the out-of-fold errors: the largest "
                   "within one standard error of the smallest (one_se, default, the shipped head) or the "
                   "smallest (min)")
    p.add_argument("--set-weights", choices=("song", "equal_sets"), default="song",
                   help="--model musicnn: one weight per song (song, default, the shipped head) or equal "
                   "total weight for each labelled set (equal_sets); see assets/MODEL_CARD.md, 'Less "
                   "regularisation and equal set weights'")
    p.add_argument("--log", type=pathlib_arg, default=None, help="per-epoch CSV log (default CKPT.log.csv)")
    p.add_argument("--folds", type=int_arg(2, 100), default=None, metavar="K",
                   help="first cross-validate on K folds grouped by track (Emotify, emoMusic) and by "
                   "artist (4Q); figures in the checkpoint's facts, fold logs in CKPT.cv/")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summaries")
    p.set_defaults(handler=run)


def check_train_outputs(out: Path, log: Path | None, data: list[str], cache_dir: Path | None) -> None:
    """Refuse a ``--out`` or ``--log`` that would overwrite an input, before any work.

    An existing file inside a dataset's folder (its label CSV, an audio file) or
    the feature cache, after resolving symbolic links, or the same file as the
    other output, is refused; a new file there is allowed.

    Raises
    ------
    ParameterError
    """
    import os

    from ...model.errors import ParameterError
    from ..outputs.atomic_files import file_identity
    from ..outputs.state_files import inside

    log = log or out.with_name(out.name + ".log.csv")
    roots = [(f"the dataset '{d}'", Path(d.partition(":")[2])) for d in data]
    if cache_dir is not None:
        roots.append(("the feature cache", Path(cache_dir)))
    for option, path in (("--out", out), ("--log", log)):
        if not os.path.lexists(path):
            continue
        for what, root in roots:
            if inside(path, root) or file_identity(path) == file_identity(root):
                raise ParameterError(f"{option} '{path}' is an existing file of {what}; it would be "
                                     "overwritten: write it outside the dataset")
    if file_identity(out) == file_identity(log):
        raise ParameterError(f"--out '{out}' and --log '{log}' are the same file; give each its own")


def run(args: argparse.Namespace) -> int:
    if args.model == "musicnn":
        return run_head(args)
    from ...train.run import train_command

    check_train_outputs(args.out, args.log, args.data, args.cache_dir)
    train_command(args.data, training_config(args), args.out, log_path=args.log,
                  cache=feature_cache(args), quiet=args.quiet, folds=args.folds or 0)
    return 0


def run_head(args: argparse.Namespace) -> int:
    """``train --model musicnn``: fit, cross-validate and write the musicnn head."""
    from ...model.validate import writable_dir
    from ...train.cache import default_cache_dir
    from ...train.musicnn_features import MusicnnFeatureCache
    from ...train.musicnn_head import HeadConfig
    from ...train.musicnn_train import train_head_command
    from ...train.run import emit

    if args.report is not None:
        writable_dir(args.report, what="report folder")
    cache = MusicnnFeatureCache(args.cache_dir or default_cache_dir(), enabled=not args.no_cache,
                                stride=args.frame_stride, stream=args.musicnn_stream)
    report = train_head_command(args.data, args.out, cache=cache,
                                cfg=HeadConfig(outer_repeats=args.outer_repeats, seed=args.seed,
                                               alpha_rule=args.alpha_rule, set_weights=args.set_weights),
                                quiet=args.quiet)
    emit(report, args.report, stem="head_cv", quiet=args.quiet)
    return 0
