#!/usr/bin/env python3
"""How the musicnn head's ridge is regularised and how the two labelled sets are weighed (issue 18).

The head procedure (``emotrack.train.musicnn_head``) picked each axis's ridge alpha by the one-SE
rule and gave every song one row, so the 450 4Q clips outweighed the 200 Emotify tracks 2.25 to 1.
This tool compares that procedure with one that picks alpha by the smallest out-of-fold error and
gives both sets equal total weight.

Pre-registration (written 2026-12-07 01:51 UTC, after the exploration below and before any figure
of the procedures compared here was computed)
----------------------------------------------------------------------------------------------------
**Exploration already done on the same 650 songs (so this is not a clean confirmatory test).**
With the single candidate ``pooled / emotify+4q / valence resid`` cross-validated alone (outer
2 x 5 folds, no candidate selection), held-out Emotify arousal rho / valence partial / 4Q valence
AUC within arousal half: one-SE alpha 0.730 / 0.357 / 0.806; smallest-MSE alpha 0.765 / 0.364 /
0.816; alpha by the selection score's per-axis terms 0.768 / 0.361 / 0.816; smallest-MSE alpha
with the Emotify rows repeated twice 0.771 / 0.397 / 0.804, three times 0.771 / 0.405 / 0.795.
Nothing else was looked at.  The two changes below are the plain versions of what that showed
(the usual ridge rule; equal weight per set, not a tuned multiple).

Procedure A: ``HeadConfig(alpha_rule="one_se", set_weights="song")`` (the procedure of the
shipped head).  Procedure C: ``HeadConfig(alpha_rule="min", set_weights="equal_sets")``:

* ``alpha_rule="min"``: each axis's alpha is the one with the smallest (weighted) out-of-fold MSE;
* ``set_weights="equal_sets"``: a weighted ridge in which the training songs of each set the
  candidate learns from carry equal total weight (Emotify songs 2.25 x a 4Q clip's weight when
  both are learned from with 200 and 450 songs), weights normalised to mean 1; centring, scaling
  and the alpha choice use the same weights; the selection score, the coverage of the intervals
  and every figure stay per song.

Same 15 candidates, folds, seeds, alphas and selection score; 650 songs (causal-stream song means).
Figures: the chosen row's held-out predictions averaged over the 2 repeats; C - A paired bootstrap
over songs, 2000 resamples, seed 0.  Descriptive only: C1 (``alpha_rule="min"`` alone) and C2
(``set_weights="equal_sets"`` alone), and the calibration check of C.

Decision rule (the one of the tonal and MTT experiments): C replaces A as the shipped procedure
only if C - A of the Emotify valence partial rho is > 0 with its 95 % CI excluding 0, and no other
of the 6 figures has a paired loss whose CI excludes 0.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

VALENCE = "Emotify valence partial rho given arousal"
PROCEDURES = {"A": ("one_se", "song"), "C": ("min", "equal_sets"),
              "C1 (min alpha only)": ("min", "song"), "C2 (equal sets only)": ("one_se", "equal_sets")}


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tonal_experiment import experiment_parser

    ap = experiment_parser(__doc__)
    ap.add_argument("--out", type=Path, required=True, help="folder for report.md and report.json")
    ap.add_argument("--stream", choices=("causal", "aligned"), default="causal",
                    help="which musicnn stream's cached outputs the heads read (default causal)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from compare_streams import paired_cells, paired_figures
    from tonal_experiment import cached_songs, choice_and_coverage_lines, write_report
    from emotrack.train.musicnn_head import HeadConfig, cross_validate

    t0 = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    songs, _, _ = cached_songs(args.data, args.cache_dir, stream=args.stream)
    cv = {}
    for name, (rule, weights) in PROCEDURES.items():
        cfg = replace(HeadConfig(), alpha_rule=rule, set_weights=weights)
        print(f"{name}: alpha_rule={rule}, set_weights={weights}", file=sys.stderr, flush=True)
        cv[name] = cross_validate(songs, cfg, progress=lambda s, p=name: print(f"  {p}: {s}", file=sys.stderr,
                                                                                  flush=True))
    mean = {p: np.nanmean(c.pred["chosen"], axis=0) for p, c in cv.items()}
    main_ = paired_figures(songs, mean["C"], mean["A"], n_boot=HeadConfig().n_boot)  # "causal" = C, "patch" = A
    gain = main_[VALENCE]["diff"] > 0 and main_[VALENCE]["low"] > 0
    losses = [n for n, r in main_.items() if n != VALENCE and r["high"] < 0]
    facts = {"paired_C_minus_A": main_, "valence_gain_ci_excludes_0": gain, "significant_losses": losses,
             "adopt_C": gain and not losses, "choices": {p: c.choices for p, c in cv.items()}}
    lines = ["## A vs C (held-out, chosen row, mean of 2 repeats); C - A paired bootstrap, 2000 resamples", "",
             "| figure | A | C | C - A [95 % CI, paired] | C1 (min alpha only) | C2 (equal sets only) |",
             "|---|---|---|---|---|---|"]
    singles = {p: paired_figures(songs, mean[p], mean["A"], n_boot=200) for p in list(PROCEDURES)[2:]}
    facts["singles"] = {p: {k: r["causal"] for k, r in f.items()} for p, f in singles.items()}
    for n, r in main_.items():
        lines.append(f"| {n} | {paired_cells(r)} | " + " | ".join(f"{singles[p][n]['causal']:.3f}" for p in singles)
                     + " |")
    lines += ["", f"Decision rule: valence partial gain with CI > 0: {gain}; figures with a paired loss whose CI "
              f"excludes 0: {', '.join(losses) or 'none'} -> C replaces A: {facts['adopt_C']}"]
    lines += choice_and_coverage_lines(cv, {p: songs for p in ("A", "C")}, HeadConfig().z)
    lines += ["", f"- {len(songs)} songs; head_songs problems: {songs.problems or 'none'}; "
              f"wall {time.time() - t0:.0f} s"]
    write_report(args.out, lines, facts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
