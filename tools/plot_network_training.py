#!/usr/bin/env python3
"""Training curves and held-out predictions of networks trained with ``emotrack train --folds``.

For each checkpoint CKPT it reads ``CKPT.cv/fold*.log.csv`` (per-epoch validation MSE of every
fold), ``CKPT.log.csv`` (the final fit) and ``CKPT.cv/predictions.json`` (the held-out song
predictions) and draws one column per network: validation MSE per epoch (one line per fold,
the final fit dashed), then the held-out song-level arousal against the Emotify arousal target
(on the emoMusic scale) and against the 4Q arousal half.

    .venv/bin/python tools/plot_network_training.py build/nets/{cae,rnn,baseline}.emotrack.safetensors \\
        --emotify ../shared/data/emotify-dev --fourq ~/4q --out assets/model-card/networks-training.png
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path


def _log(path: Path) -> tuple[list[int], list[float]]:
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    return [int(r["epoch"]) for r in rows], [float(r["val_loss"]) for r in rows]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+", type=Path)
    ap.add_argument("--emotify", type=Path, required=True)
    ap.add_argument("--fourq", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from emotrack.train.readers import read_emotify, read_fourq
    from emotrack.train.song_targets import emotify_targets

    emotify = read_emotify(args.emotify)
    targets = emotify_targets(emotify.songs)
    high = {s.song_id: s.labels["arousal_high"] > 0.5 for s in read_fourq(args.fourq).songs}
    n = len(args.checkpoints)
    fig, axes = plt.subplots(2, n, figsize=(4.2 * n, 7.5), squeeze=False)
    for j, ckpt in enumerate(args.checkpoints):
        name = ckpt.name.split(".")[0]
        ax = axes[0, j]
        for log in sorted((ckpt.parent / (ckpt.name + ".cv")).glob("fold*.log.csv")):
            ax.plot(*_log(log), marker=".", lw=1, label=log.name.split(".")[0])
        final = ckpt.parent / (ckpt.name + ".log.csv")
        if final.is_file():
            ax.plot(*_log(final), "k--", lw=1.5, label="final fit")
        ax.set_title(f"{name}: validation MSE per epoch")
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
        preds = json.loads((ckpt.parent / (ckpt.name + ".cv") / "predictions.json").read_text())
        ax = axes[1, j]
        e = [(targets[k.split(":", 1)[1]][0], v[0]) for k, v in preds.items()
             if k.startswith("emotify:") and k.split(":", 1)[1] in targets]
        if e:
            x, y = np.array(e).T
            ax.scatter(x, y, s=8, alpha=0.6, label=f"Emotify ({len(e)}): x = target")
        for is_high, colour in ((True, "tab:red"), (False, "tab:green")):
            q = [v[0] for k, v in preds.items() if k.startswith("4q:") and high.get(k.split(":", 1)[1]) is is_high]
            if q:
                x = np.full(len(q), 0.45 if is_high else -0.45) + np.random.default_rng(0).uniform(-0.05, 0.05, len(q))
                ax.scatter(x, q, s=6, alpha=0.4, c=colour,
                           label=f"4Q {'high' if is_high else 'low'} arousal ({len(q)}), x = +-0.45")
        ax.set_title(f"{name}: held-out song arousal")
        ax.set_xlabel("target (emoMusic scale)")
        ax.set_ylabel("prediction (mean of causal frames)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
