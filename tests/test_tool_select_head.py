"""The protocol pieces of tools/select_head.py: folds, targets, alpha rule, calibration."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from emotrack.model.ridge import DEFAULT_ALPHAS, RidgeHead, ridge_fit

_spec = importlib.util.spec_from_file_location(
    "select_head", Path(__file__).resolve().parents[1] / "tools" / "select_head.py")
sh = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sh)


def test_folds_are_stratified_by_genre_and_seeded():
    genres = np.repeat(["a", "b", "c", "d"], 50)
    folds = sh.stratified_folds(genres, 5, seed=0)
    for g in "abcd":
        assert np.bincount(folds[genres == g], minlength=5).tolist() == [10] * 5
    assert (folds == sh.stratified_folds(genres, 5, seed=0)).all()
    assert (folds != sh.stratified_folds(genres, 5, seed=1)).any()


def test_residual_valence_target_is_uncorrelated_with_arousal_on_the_training_tracks():
    rng = np.random.default_rng(0)
    a = rng.normal(size=100)
    labels = {"arousal_proxy": a, "arousal_fa": 2 * a, "valence_fa": 0.8 * a + 0.3 * rng.normal(size=100),
              "valence_proxy": rng.normal(size=100)}
    train = np.arange(60)
    y = sh.targets_for(labels, train)
    assert y.shape == (60, len(sh.TARGETS))
    resid = y[:, sh.TARGETS.index("valence_fa_resid")]
    assert abs(np.corrcoef(resid, a[train])[0, 1]) < 1e-10
    np.testing.assert_array_equal(y[:, sh.TARGETS.index("valence_fa")], labels["valence_fa"][train])


def test_one_se_rule_prefers_strong_regularisation():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 30))
    genres = np.repeat(["a", "b"], 60)
    noise = rng.normal(size=(120, 1))
    signal = x[:, :1] + 0.1 * rng.normal(size=(120, 1))
    alpha = sh.choose_alpha(x, np.hstack([signal, noise]), genres, seed=0)
    assert alpha[1] == max(DEFAULT_ALPHAS)  # nothing to learn: the most regularised head
    assert alpha[0] < 1e4  # a real signal keeps a usable fit


def test_baked_calibration_equals_calibrating_the_raw_output():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 8))
    y = rng.normal(size=(50, 2))
    mean, std, coef, icpt = ridge_fit(x, y, 10.0)
    raw = (x - mean) / std @ coef + icpt
    cal = sh.calibration(raw, 0.3 * raw + 0.1 + 0.01 * rng.normal(size=raw.shape))
    assert cal[:, 0] == pytest.approx([0.3, 0.3], abs=0.01)
    head = RidgeHead(mean, std, *sh.bake(coef, icpt, cal), np.array([10.0, 10.0]))
    np.testing.assert_allclose(head.predict(x), sh.apply_cal(raw, cal), atol=1e-6)
