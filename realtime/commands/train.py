"""``emotrack train``: train a model on emoMusic, DEAM or PMEmo."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ...model.errors import ParameterError

MODELS = ("cae", "baseline", "rnn")
#: The network assets/MODEL_CARD.md recommends: the only one of the three that beat the
#: constant predictor on both dimensions (the CAE learned a near-constant, the baseline lost).
DEFAULT_MODEL = "rnn"


def add_data_options(p: argparse.ArgumentParser) -> None:
    """--data, --cache-dir, --no-cache (shared with evaluate)."""
    p.add_argument("--data", action="append", required=True, metavar="NAME:PATH",
                   help="dataset in its own layout: emomusic:PATH, deam:PATH or pmemo:PATH "
                   "(repeat to combine)")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="feature cache folder (default $EMOTRACK_CACHE or ~/.cache/emotrack/features)")
    p.add_argument("--no-cache", action="store_true", help="always recompute features")


class _GivenModel(argparse.Action):
    """Stores ``--model`` and notes that it was given (evaluate: a tracker to score, not --loso's default)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.model_given = True


def add_training_options(p: argparse.ArgumentParser, *, trackers: tuple[str, ...] = ()) -> None:
    """Model and optimisation options (shared with evaluate --loso).

    ``trackers``: further ``--model`` choices that evaluate scores without training (musicnn).
    """
    extra = (f" Without --loso: the tracker to evaluate ({', '.join((*trackers, *MODELS))}; "
             "default: the default tracker)") if trackers else ""
    p.add_argument("--model", choices=(*trackers, *MODELS), default=DEFAULT_MODEL,
                   action=_GivenModel if trackers else "store",
                   help=f"network (default: {DEFAULT_MODEL}, the conv + GRU network: the only one "
                   "that beat the constant predictor on both dimensions in the model card, "
                   "assets/MODEL_CARD.md; cae is the poster's network, which learned a "
                   f"near-constant there; baseline did not beat the constant).{extra}")
    p.add_argument("--hparams", default="{}", metavar="JSON",
                   help="network hyper-parameters as JSON, e.g. '{\"hidden\": 32}'")
    p.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate (default: 1e-4 for cae, 1e-3 for baseline and rnn)")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--epochs", type=int, default=300, help="maximum epochs (default 300)")
    p.add_argument("--patience", type=int, default=30,
                   help="stop after this many epochs without a better validation loss")
    p.add_argument("--val-fraction", type=float, default=0.15,
                   help="share of training songs held out for validation (by song)")
    p.add_argument("--max-shift", type=int, default=10,
                   help="random window offsets up to this many frames (augmentation)")
    p.add_argument("--no-augment", action="store_true", help="no noise/gain augmentation")
    p.add_argument("--snr-db", type=float, nargs=2, default=(10.0, 40.0), metavar=("LO", "HI"))
    p.add_argument("--gain-db", type=float, nargs=2, default=(-6.0, 6.0), metavar=("LO", "HI"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="torch device for training (cpu, cuda)")


def training_config(args: argparse.Namespace):
    """A TrainConfig from parsed options."""
    from ...train.augment import AugmentConfig
    from ...train.trainer import TrainConfig

    try:
        hparams = json.loads(args.hparams)
    except json.JSONDecodeError as exc:
        raise ParameterError(f"--hparams must be a JSON object, got {args.hparams!r}: {exc}") from None
    if not isinstance(hparams, dict):
        raise ParameterError(f"--hparams must be a JSON object, got {args.hparams!r}")
    for name in ("batch_size", "epochs"):
        if getattr(args, name) < 1:
            raise ParameterError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    augment = (AugmentConfig.off() if args.no_augment else
               AugmentConfig(snr_db=tuple(args.snr_db), gain_db=tuple(args.gain_db)))
    return TrainConfig(model=args.model, hparams=hparams, lr=args.lr, weight_decay=args.weight_decay,
                       batch_size=args.batch_size, max_epochs=args.epochs, patience=args.patience,
                       val_fraction=args.val_fraction, max_shift=args.max_shift, seed=args.seed,
                       augment=augment, device=args.device, progress=not args.quiet)


def feature_cache(args: argparse.Namespace):
    """The FeatureCache the options ask for."""
    from ...train.cache import FeatureCache, default_cache_dir

    return FeatureCache(args.cache_dir or default_cache_dir(), enabled=not args.no_cache)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a model on emoMusic, DEAM or PMEmo",
        description="Train a network on human valence/arousal ratings. Songs are split by song: "
        "the dataset's evaluation split is never trained on; validation songs for early stopping "
        "are carved from the development songs. Writes the best checkpoint (atomically) and a "
        "per-epoch CSV log.")
    add_data_options(p)
    add_training_options(p)
    p.add_argument("--out", type=Path, required=True, metavar="CKPT",
                   help="checkpoint to write (e.g. my-model.emotrack.safetensors)")
    p.add_argument("--log", type=Path, default=None, help="per-epoch CSV log (default CKPT.log.csv)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summaries")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ...train.run import train_command

    train_command(args.data, training_config(args), args.out, log_path=args.log,
                  cache=feature_cache(args), quiet=args.quiet)
    return 0
