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
