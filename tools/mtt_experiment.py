#!/usr/bin/env python3
"""A second network (musicnn's MTT model) beside the MSD one as inputs of the musicnn head (issue 18).

Issue 18 allows a second network, "e.g. musicnn's MTT model, in the same ISC wheel", only if
it earns its CPU.  This tool runs the experiment that decides it.

Pre-registration (written 2026-12-07 01:31 UTC, before any MTT output or figure was computed)
---------------------------------------------------------------------------------------------
Network: ``MTT_musicnn`` of the musicnn 0.1.0 wheel (ISC), the same architecture as the shipped
``MSD_musicnn`` (checkpoints of equal size), converted to the layout of
``emotrack.model.musicnn.MusicnnMSD`` with the same variable mapping as
``tools/convert_musicnn.py`` (every non-optimizer variable mapped; none left over).

Features: the MTT network's ``logits`` (50), ``penultimate`` (200) and ``pooled`` (1506) per
causal tracker frame, computed by the tracker's own causal stream
(``emotrack.model.musicnn_tracker.frame_outputs`` with a ``MusicnnTracker(model=<MTT net>,
stream="causal")``), every frame; song value = the mean over the frames the MSD song means use
(``emotrack.train.musicnn_features.counted`` of the cached MSD entry).

Procedure A: the 15 candidates of ``musicnn_head.candidates()`` (MSD inputs).  Procedure B: those
and the same 15 with inputs ``logits+mtt``, ``penultimate+mtt``, ``pooled+mtt`` (the MSD output
with the same-named MTT output appended, standardised like every input).  Everything else
unchanged (``HeadConfig()``: 5 inner folds, 5 outer folds x 2 repeats, seeds, alphas, selection),
on the causal-stream song means of the 650 songs (200 Emotify dev, 450 listed 4Q dev).
Figures: the chosen row's held-out predictions averaged over the repeats; B - A paired bootstrap
over songs, 2000 resamples, seed 0.

Decision rule (the same as the tonal experiment's): B earns its place only if B - A of the Emotify
valence partial rho is > 0 with its 95 % CI excluding 0, and no other of the 6 figures has a paired
loss whose CI excludes 0.  If it does, the live CPU of the second causal network is measured before
it ships (the 5 % budget of issue 21 stands).  Descriptive only: per-candidate twins, per-repeat values.
"""
