#!/usr/bin/env python3
"""A quick check of the cae's recipe on song-level labels: a few epochs, then how much its
predictions move on the validation windows (docs/training.md, "The poster's recipe").

Trains one cae on Emotify + 4Q (validation groups carved as ``emotrack train`` does) and prints
the validation MSE per epoch, the standard deviation of its window-mean predictions over the
validation windows and their Spearman rho with the targets.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python tools/cae_recipe_check.py \\
        --data emotify:../shared/data/emotify-dev --data 4q:~/4q --activation-on-output 1 --lr 1e-4 --epochs 4
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", required=True, metavar="NAME:PATH")
    ap.add_argument("--activation-on-output", type=int, choices=(0, 1), default=0)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--cache-dir", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch
    from scipy.stats import spearmanr

    torch.set_num_threads(1)
    from emotrack.train.cache import FeatureCache, default_cache_dir
    from emotrack.train.crossval import train_split
    from emotrack.train.run import load_all, training_songs
    from emotrack.train.trainer import TrainConfig, forward, train_model
    from emotrack.train.windows import epoch_windows

    cache = FeatureCache(args.cache_dir or default_cache_dir())
    songs = training_songs(load_all(args.data, quiet=True, song_level=True), cache, quiet=True)
    train, val = train_split(songs, fraction=0.15, seed=0)
    config = TrainConfig(model="cae", hparams={"activation_on_output": bool(args.activation_on_output)},
                         lr=args.lr, max_epochs=args.epochs, patience=args.epochs, progress=False)
    result = train_model(train, val, config, spec=cache.spec)
    x, y = epoch_windows(val, window=60, max_shift=0, rng=None)
    with torch.inference_mode():
        pred = forward(result.model, torch.from_numpy((x - result.norm_mean) / result.norm_std)).numpy()
    means, target = pred.mean(axis=1), y[:, 0, :]
    print(f"activation_on_output={bool(args.activation_on_output)} lr={args.lr:g}: validation MSE per epoch "
          + " ".join(f"{h['val_loss']:.4f}" for h in result.history))
    print(f"  {len(val)} validation songs, {len(x)} windows; prediction sd arousal {means[:, 0].std():.4f} "
          f"valence {means[:, 1].std():.4f}; rho with targets arousal "
          f"{spearmanr(means[:, 0], target[:, 0])[0]:.2f} valence {spearmanr(means[:, 1], target[:, 1])[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
