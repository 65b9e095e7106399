"""The shipped rnn, cae and baseline checkpoints (issue 22): what they learned from, their
cross-validated figures, their display scales, and a cae that no longer outputs a constant."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotrack.model.checkpoint import load_checkpoint
from emotrack.model.trackers import bundled_checkpoint, load_tracker

DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo" / "revelation-excerpt.ogg"
NETWORKS = ("cae", "rnn", "baseline")


@pytest.mark.parametrize("name", NETWORKS)
def test_shipped_network_lists_its_tracks_folds_and_cross_validated_figures(name):
    facts = load_checkpoint(bundled_checkpoint(name)).facts
    learned = set(facts["train_songs"]) | set(facts["validation_songs"])
    per_set = {d: sum(1 for k in learned if k.startswith(f"{d}:")) for d in ("emotify", "4q", "emomusic")}
    assert per_set == {"emotify": 200, "4q": 450, "emomusic": 8}
    assert not {"emomusic:3", "emomusic:12"} & learned  # emoMusic's evaluation clips never trained on
    assert facts["folds"]["k"] >= 2
    assert sum(f["held_out"] for f in facts["folds"]["per_fold"]) == len(learned)
    for key in ("arousal", "arousal_within", "valence", "valence_partial"):
        est = facts["cv_emotify"][key]
        assert est["n"] == 200 and est["low"] <= est["value"] <= est["high"]
    for key in ("arousal_auc", "valence_auc_within"):
        est = facts["cv_4q"][key]
        assert est["n"] == 450 and est["low"] <= est["value"] <= est["high"]


@pytest.mark.parametrize("name", NETWORKS)
def test_shipped_network_has_a_display_scale_from_its_training_tracks(name):
    tracker = load_tracker(name, device="cpu")
    assert tracker.scale is not None
    assert "tracks it learned from" in tracker.scale.reference
    for q in (tracker.scale.arousal_quantiles, tracker.scale.valence_quantiles):
        assert q[99] - q[1] > 0.01  # a spread, not one value


def test_shipped_cae_output_moves_over_real_music():
    """The former cae output -0.003 on every frame of real music; this one must not."""
    from emotrack.model.audio_io import BlockReader

    tracker = load_tracker("cae", device="cpu")
    reader = BlockReader(DEMO)
    out = tracker.analyze(iter(reader), reader.info.sample_rate, mode="causal")
    values = out.values[~out.warming_up & ~out.silent]
    assert len(values) >= 50
    spread = values.max(axis=0) - values.min(axis=0)
    # raw arousal moves; raw valence moves little (the model card says so), but it is not one value
    assert spread[0] > 0.01 and spread[1] > 1e-3, spread
    pct = tracker.scale.percentiles(values)
    assert np.all(pct.max(axis=0) - pct.min(axis=0) > 5), pct  # both move on the plane


def test_figures_text_reads_the_facts_and_says_when_there_are_none():
    from emotrack.model.research_figures import bundled_figures, figures_text

    facts = {"folds": {"k": 4}, "cv_emotify": {k: {"value": 0.5, "low": 0.4, "high": 0.6, "n": 200} for k in
                                              ("arousal", "arousal_within", "valence", "valence_partial")},
             "cv_4q": {"arousal_auc": {"value": 0.8, "low": 0.75, "high": 0.85, "n": 450}}}
    text = figures_text("cae", facts)
    assert "4-fold" in text and "arousal rho 0.50 [0.40, 0.60]" in text and "arousal AUC 0.80 [0.75, 0.85]" in text
    assert "valence AUC within arousal -" in text  # missing figure: a dash, not an error
    assert figures_text("cae", {}) == "cae: no cross-validated figures recorded in its checkpoint."
    shipped = load_checkpoint(bundled_checkpoint("cae")).facts
    assert f"{shipped['cv_emotify']['arousal']['value']:.2f}" in bundled_figures("cae")
