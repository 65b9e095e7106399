#!/usr/bin/env python3
"""The causal musicnn stream with its layers aligned in time (issue 18, after issue 21).

The shipped head reads musicnn run as causal convolutions over the stream (``stream="causal"``).
There each layer reports a window ``kt // 2`` positions after the time musicnn's own "same"
padded convolution centres it on: the timbral branch (kernel 7) 3 windows after, the temporal
branches (128, 64, 32) 64, 32 and 16 after.  So the mid-end mixes, at one position, timbral
features of one moment with temporal features of a second earlier, and each residual adds its
input to a convolution centred 3 positions before it.  Issue 21 measured what the causal stream
loses against musicnn on exact patches, paired on the same songs and folds
(``tools/compare_streams.py``): 4Q valence AUC within arousal half -0.041 [-0.064, -0.022],
within genre -0.034 [-0.062, -0.009], quadrant accuracy -0.056, Emotify arousal rho -0.024
[-0.044, -0.005], Emotify valence partial -0.019 [-0.077, +0.036].

The aligned stream (``stream="aligned"``, :mod:`emotrack.model.musicnn_causal`) computes the same
positions once each, at the same CPU, with every branch and residual at musicnn's own time; frame
k pools the 187 centres ending 73 windows (1.17 s) before its last window.  It is musicnn run
over the whole signal at once (tested), so it differs from the exact patch only in that every
patch edge sees real audio instead of zeros.  Its price is that delay.

Pre-registration (written 2026-12-07 02:59 UTC, before any figure of the aligned stream was
computed; its musicnn outputs were being cached, no head had read them)
------------------------------------------------------------------------------------------------
Procedure: the shipped one, unchanged (``HeadConfig()``: the 15 candidates, one-SE alpha, one
weight per song, outer 2 x 5 folds grouped by artist / track, seeds 0 and 1), run on each stream's
song means of the same 650 songs (every frame; 200 emotify-dev tracks, the 450 listed 4q-dev
clips).  A = causal (the shipped head's stream), B = aligned.  Figures: the chosen row's held-out
predictions, mean of the 2 repeats; B - A paired bootstrap over songs (2000 resamples, seed 0),
the six figures of ``tools/compare_streams.py``.

Rule 1 (accuracy).  B earns its place only if no figure has a paired loss whose 95 % CI lies
below 0, and at least one of the three valence figures (4Q valence AUC within arousal half,
4Q valence AUC within genre, Emotify valence partial rho given arousal) has a paired gain whose
CI lies above 0.  (The earlier experiments of this issue asked for an Emotify valence gain: they
added information.  This one removes a distortion whose measured loss was on 4Q, so any of the
three valence figures counts; none may get worse.)

Rule 2 (delay), only if rule 1 holds.  A head is fitted on the aligned outputs with the shipped
command (``emotrack train --model musicnn --musicnn-stream aligned``) and the medleys of
``tests/bench/bench_steps.py`` are run with the shipped temporal stage (causal, no smoothing).
If the median time to 90 % over the medley steps is at most 3.5 s (today 3.0 s; one 500 ms frame
of slack), the aligned head becomes the default.  If it is slower, the aligned head ships as an
option for offline work (like the exact-patch head) and the default stays causal.

Rule 3, only if the default changes: procedure C of ``tools/head_rules_experiment.py``
(``alpha_rule="min"``, ``set_weights="equal_sets"``) on the aligned outputs is compared with
the shipped procedure on them under that tool's own rule (Emotify valence partial gain with CI
above 0, no significant loss); it is adopted only if it passes.

If rule 1 fails, nothing ships: the stream stays in the code, tested, as the measured negative
result.

    python tools/aligned_experiment.py --data emotify:../shared/data/emotify-dev \\
        --data 4q:/work/cache/4q-dev --cache-dir /work/cache/valence --out DIR

Needs both streams' outputs cached for every file (``emotrack train --model musicnn
--musicnn-stream causal|aligned --cache-dir ...`` caches them).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

VALENCE = ("4Q valence AUC within arousal half", "4Q valence AUC within genre",
           "Emotify valence partial rho given arousal")


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tonal_experiment import experiment_parser

    ap = experiment_parser(__doc__)
    ap.add_argument("--out", type=Path, required=True, help="folder for report.md and report.json")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from compare_streams import paired_cells, paired_figures
    from tonal_experiment import cached_songs, choice_and_coverage_lines, write_report
    from emotrack.train.musicnn_head import HeadConfig, cross_validate

    t0 = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    cfg = HeadConfig()
    songs, cv = {}, {}
    for name, stream in (("A", "causal"), ("B", "aligned")):
        songs[name], _, _ = cached_songs(args.data, args.cache_dir, stream=stream)
        print(f"{name}: {stream}, {len(songs[name])} songs", file=sys.stderr, flush=True)
        cv[name] = cross_validate(songs[name], cfg, progress=lambda s, p=name: print(f"  {p}: {s}",
                                                                                     file=sys.stderr, flush=True))
    if songs["A"].keys != songs["B"].keys:
        raise SystemExit("the two streams' song lists differ: cache both for the same files")
    mean = {p: np.nanmean(c.pred["chosen"], axis=0) for p, c in cv.items()}
    paired = paired_figures(songs["A"], mean["B"], mean["A"], n_boot=cfg.n_boot)  # "causal" = B, "patch" = A
    gains = [n for n in VALENCE if paired[n]["low"] > 0]
    losses = [n for n, r in paired.items() if r["high"] < 0]
    facts = {"paired_B_minus_A": paired, "valence_gains_ci_above_0": gains, "significant_losses": losses,
             "rule1_holds": bool(gains) and not losses, "choices": {p: c.choices for p, c in cv.items()}}
    lines = ["## A (causal) vs B (aligned): held-out, chosen row, mean of 2 repeats; B - A paired bootstrap, "
             "2000 resamples", "",
             "| figure | A causal | B aligned | B - A [95 % CI, paired] |", "|---|---|---|---|"]
    lines += [f"| {n} | {paired_cells(r)} |" for n, r in paired.items()]
    lines += ["", f"Rule 1: valence figures with a gain whose CI lies above 0: {', '.join(gains) or 'none'}; "
              f"figures with a loss whose CI lies below 0: {', '.join(losses) or 'none'} -> rule 1 holds: "
              f"{facts['rule1_holds']}"]
    lines += choice_and_coverage_lines(cv, songs, cfg.z, label="stream")
    lines += ["", f"- {len(songs['A'])} songs; head_songs problems: {songs['A'].problems or 'none'}; "
              f"wall {time.time() - t0:.0f} s"]
    write_report(args.out, lines, facts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
