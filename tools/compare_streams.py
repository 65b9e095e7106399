#!/usr/bin/env python3
"""Paired comparison of the musicnn head fitted on the causal stream and on exact patches (issue 21).

The model card compares the two heads' cross-validated figures by their separate 95 % intervals
(the adoption rule fixed beforehand).  This tool asks the paired question on the same songs and
the same outer folds: runs the unchanged procedure (``emotrack.train.musicnn_head.cross_validate``)
on each stream's cached song means, and bootstraps the *difference* causal - patch of every
figure with the same resampled songs for both (2000 resamples, seed 0).

    python tools/compare_streams.py --data emotify:../shared/data/emotify-dev --data 4q:/work/cache/4q-dev \\
        --cache-dir /work/cache/valence [--patch-stride 4]

Needs the musicnn outputs cached for both streams (``emotrack train --model musicnn
--musicnn-stream causal|patch --cache-dir ...`` caches them); ``--patch-stride`` reads exact-patch
entries of every N-th frame (the issue-18 head was fitted on such means for most files).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", required=True, metavar="NAME:PATH")
    ap.add_argument("--cache-dir", type=Path, required=True)
    ap.add_argument("--patch-stride", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from emotrack.train.head_data import head_songs
    from emotrack.train.musicnn_features import MusicnnFeatureCache
    from emotrack.train.musicnn_head import HeadConfig, candidates, cross_validate
    from emotrack.train.readers import load_dataset

    learn = [load_dataset(spec) for spec in args.data]
    cfg = HeadConfig()
    preds, songs_of = {}, {}
    for stream, stride in (("causal", 1), ("patch", args.patch_stride)):
        cache = MusicnnFeatureCache(args.cache_dir, stream=stream, stride=stride)
        songs = head_songs(learn, cache)
        print(f"{stream}: {len(songs)} songs; cross-validating ({cfg.outer_repeats} x {cfg.outer_folds} folds)",
              file=sys.stderr, flush=True)
        cv = cross_validate(songs, cfg, cands=candidates())
        preds[stream] = np.nanmean(cv.pred["chosen"], axis=0)
        songs_of[stream] = songs
    songs = songs_of["causal"]
    if songs.keys != songs_of["patch"].keys:
        raise SystemExit("the two streams' song lists differ: cache both for the same files")
    out = paired_figures(songs, preds["causal"], preds["patch"], n_boot=cfg.n_boot)
    print("| figure | causal | patch | causal - patch [95 % CI, paired] |")
    print("|---|---|---|---|")
    for name, row in out.items():
        print(f"| {name} | {row['causal']:.3f} | {row['patch']:.3f} | {row['diff']:+.3f} "
              f"[{row['low']:+.3f}, {row['high']:+.3f}] |")
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


def paired_figures(songs, causal: np.ndarray, patch: np.ndarray, *, n_boot: int = 2000) -> dict:
    """Each figure of both prediction sets and the paired bootstrap interval of their difference."""
    from emotrack.train.quadrant_metrics import bootstrap_weights, pair_matrix, quadrant_accuracy, weighted_auc
    from emotrack.train.song_metrics import _partial_rows, _spearman_rows

    out = {}
    q = songs.dataset == "4q"
    if q.any():
        a, v, genre = songs.y[q, 0], songs.y[q, 1], songs.genre[q]
        n = int(q.sum())
        w = bootstrap_weights(n, n_boot=n_boot, seed=0)
        ones, high = np.ones((1, n)), a > 0
        specs = {"4Q arousal AUC": (0, high, None), "4Q valence AUC within arousal half": (1, v > 0, high),
                 "4Q valence AUC within genre": (1, v > 0, genre)}
        for name, (j, positive, strata) in specs.items():
            vals, draws = {}, {}
            for key, pred in (("causal", causal[q]), ("patch", patch[q])):
                h, m = pair_matrix(pred[:, j], positive, strata)
                vals[key] = float(weighted_auc(h, m, ones)[0])
                draws[key] = np.concatenate([weighted_auc(h, m, w[i:i + 250]) for i in range(0, n_boot, 250)])
            out[name] = _row(vals, draws["causal"] - draws["patch"])
        vals = {k: float(quadrant_accuracy(p[q], a, v)[0]) for k, p in (("causal", causal), ("patch", patch))}
        diff = quadrant_accuracy(causal[q], a, v, w) - quadrant_accuracy(patch[q], a, v, w)
        out["4Q quadrant accuracy"] = _row(vals, diff)
    e = songs.dataset == "emotify"
    if e.any():
        rng = np.random.default_rng(0)
        ne = int(e.sum())
        idx = rng.integers(0, ne, (n_boot, ne))
        ya, yv, given = songs.y[e, 0], songs.y[e, 1], songs.given[e]
        for name, fn in (("Emotify arousal rho", lambda p, i: _spearman_rows(p[:, 0][i], ya[i])),
                         ("Emotify valence partial rho given arousal",
                          lambda p, i: _partial_rows(p[:, 1][i], yv[i], given[i]))):
            full = np.arange(ne)[None]
            vals = {k: float(fn(p[e], full)[0]) for k, p in (("causal", causal), ("patch", patch))}
            out[name] = _row(vals, fn(causal[e], idx) - fn(patch[e], idx))
    return out


def paired_cells(row: dict) -> str:
    """Table cells ``baseline | other | difference [95 % CI]`` of one figure of
    :func:`paired_figures` (the baseline passed as its ``patch``, the other as ``causal``)."""
    return (f"{row['patch']:.3f} | {row['causal']:.3f} | {row['diff']:+.3f} "
            f"[{row['low']:+.3f}, {row['high']:+.3f}]")


def _row(vals: dict, diff_draws: np.ndarray) -> dict:
    low, high = np.nanpercentile(diff_draws, [2.5, 97.5])
    return {"causal": vals["causal"], "patch": vals["patch"], "diff": vals["causal"] - vals["patch"],
            "low": float(low), "high": float(high)}


if __name__ == "__main__":
    sys.exit(main())
