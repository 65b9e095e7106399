"""Ridge heads: closed form vs scikit-learn, leave-one-clip-out alpha choice, safe head files."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from emotrack.model.errors import CheckpointError, ParameterError
from emotrack.model.ridge import RidgeHead, loco_predictions, ridge_fit, select_alpha_loco, standardiser
from emotrack.model.musicnn_tracker import default_head_path, load_head


def _problem(seed=0, n=120, d=15, groups=6, noise=0.5):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) * rng.uniform(0.1, 10, d) + rng.uniform(-5, 5, d)
    w = rng.standard_normal((d, 2))
    y = ((x - x.mean(0)) / x.std(0)) @ w * 0.1 + noise * rng.standard_normal((n, 2)) + [0.2, -0.1]
    return x, y, np.repeat(np.arange(groups), n // groups)


@pytest.mark.parametrize("alpha", [0.3, 10.0, [1.0, 250.0]])
def test_closed_form_equals_sklearn_ridge_on_standardised_features(alpha):
    sklearn = pytest.importorskip("sklearn.linear_model")
    x, y, _ = _problem()
    mean, std, coef, intercept = ridge_fit(x, y, alpha)
    xs = (x - mean) / std
    alphas = np.broadcast_to(alpha, (2,))
    for j in range(2):
        ref = sklearn.Ridge(alpha=float(alphas[j]), fit_intercept=True).fit(xs, y[:, j])
        np.testing.assert_allclose(coef[:, j], ref.coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(intercept[j], ref.intercept_, atol=1e-10)
    # and the standardisation is the population mean/std of the training features
    np.testing.assert_allclose(mean, x.mean(0))
    np.testing.assert_allclose(std, x.std(0))


def test_constant_feature_columns_do_not_divide_by_zero():
    x, y, _ = _problem()
    x[:, 3] = 7.0
    mean, std = standardiser(x)
    assert std[3] == 1.0
    head = RidgeHead.fit(x, y, 1.0)
    assert np.isfinite(head.predict(x)).all()


def test_loco_predictions_equal_explicit_refits():
    x, y, g = _problem(1)
    alphas = [0.1, 5.0, 300.0]
    pred = loco_predictions(x, y, g, alphas)
    for i, a in enumerate(alphas):
        for grp in np.unique(g):
            tr = g != grp
            head = RidgeHead.fit(x[tr], y[tr], a)
            np.testing.assert_allclose(pred[i, ~tr], head.predict(x[~tr], clip=False), atol=1e-5)


def test_alpha_selection_picks_the_leave_one_clip_out_minimum():
    x, y, g = _problem(2, noise=0.3)
    alphas = list(np.logspace(-2, 6, 17))
    best, mse = select_alpha_loco(x, y, g, alphas)
    # brute force: refit every fold for every alpha
    brute = np.zeros((len(alphas), 2))
    for i, a in enumerate(alphas):
        p = np.zeros_like(y)
        for grp in np.unique(g):
            tr = g != grp
            p[~tr] = RidgeHead.fit(x[tr], y[tr], a).predict(x[~tr])
        brute[i] = ((p - y) ** 2).mean(0)
    np.testing.assert_allclose(mse, brute, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(best, np.asarray(alphas)[brute.argmin(0)])
    assert np.all(mse.min(0) < mse[-1])  # an informative problem does not pick "predict the mean"


def test_pure_noise_targets_choose_heavy_shrinkage():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((120, 30))
    y = rng.standard_normal((120, 2)) * 0.3
    best, _ = select_alpha_loco(x, y, np.repeat(np.arange(6), 20), list(np.logspace(-1, 7, 33)))
    assert np.all(best >= 100.0)


def test_bad_inputs_are_parameter_errors():
    with pytest.raises(ParameterError, match="alpha"):
        ridge_fit(np.ones((4, 2)), np.ones((4, 1)), 0.0)
    with pytest.raises(ParameterError, match="same n"):
        ridge_fit(np.ones((4, 2)), np.ones((3, 1)), 1.0)
    with pytest.raises(ParameterError, match="2 groups"):
        select_alpha_loco(np.ones((4, 2)), np.ones((4, 2)), np.zeros(4))
    head = RidgeHead.fit(*_problem()[:2], 1.0)
    with pytest.raises(ParameterError, match="features"):
        head.predict(np.ones((3, 4)))


def test_head_file_round_trips(tmp_path):
    x, y, _ = _problem()
    head = RidgeHead.fit(x, y, [2.0, 30.0], facts={"trained_on": "synthetic", "n": 120})
    path = head.save(tmp_path / "head.safetensors")
    back = RidgeHead.load(path)
    np.testing.assert_allclose(back.predict(x), head.predict(x), atol=1e-5)
    np.testing.assert_array_equal(back.alpha, [2.0, 30.0])
    assert back.facts == {"trained_on": "synthetic", "n": 120}
    assert np.all(np.abs(back.predict(x * 100)) <= 1.0)  # outputs are clipped to the plane


def test_head_loader_refuses_pickles_and_foreign_files(tmp_path):
    torch = pytest.importorskip("torch")
    pt = tmp_path / "head.pt"
    torch.save({"coef": torch.zeros(200, 2)}, pt)
    pk = tmp_path / "head.pkl"
    pk.write_bytes(pickle.dumps({"coef": np.zeros((200, 2))}))
    for p in (pt, pk):
        with pytest.raises(CheckpointError, match="pickled files are refused"):
            RidgeHead.load(p)
    from safetensors.numpy import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(3, np.float32)}, str(other), metadata={"format": "something-else"})
    with pytest.raises(CheckpointError, match="not an emotrack ridge head"):
        RidgeHead.load(other)
    with pytest.raises(CheckpointError, match="not found"):
        RidgeHead.load(tmp_path / "missing.safetensors")
    head = RidgeHead.fit(*_problem()[:2], 1.0)
    with pytest.raises(CheckpointError, match=r"dense \(200 values\)"):
        load_head(head.save(tmp_path / "small.safetensors"))


def test_shipped_head_loads_and_documents_itself():
    from emotrack.model.scale import DisplayScale

    head = load_head(default_head_path())
    facts = head.facts
    assert facts["tracker"] == "musicnn" and facts["inputs"] in (["logits"], ["penultimate"], ["pooled"])
    d = {"logits": 50, "penultimate": 200, "pooled": 1506}[facts["inputs"][0]]
    assert head.coef.shape == (d, 2) and head.mean.shape == (d,)
    assert facts["outputs"] == ["arousal", "valence"]
    from emotrack.train.musicnn_head import candidates

    assert facts["candidate"]["inputs"] == facts["inputs"][0]
    assert facts["candidate"] in [c.to_dict() for c in candidates()]
    assert np.all(head.alpha > 0) and "emotrack train --model musicnn" in facts["command"]
    # an uncertainty model: the fold heads and a residual sd, on the rater scale
    assert head.has_sd and head.members_coef.shape == (5, d, 2) and np.all(head.resid_sd > 0)
    songs = facts["training_songs"]
    assert sum(k.startswith("4q:") for k in songs) == 450 or sum(k.startswith("emotify:") for k in songs) == 200
    # the calibration onto the emoMusic scale is baked in, with positive slopes (ranks kept)
    assert "baked" in facts["calibration"]["what"] and min(facts["calibration"]["slope"]) > 0
    cv = facts["cv_emotify"]  # cross-validated figures with their intervals (MODEL_CARD.md)
    for key in ("arousal", "arousal_within", "valence", "valence_partial"):
        assert cv[key]["low"] <= cv[key]["value"] <= cv[key]["high"] and cv[key]["n"] == 200
    for key, e in facts["cv_4q"].items():
        if key != "protocol":
            assert e["low"] <= e["value"] <= e["high"]
    assert facts["cv_4q"]["arousal"]["n"] == 450
    scale = DisplayScale.from_dict(facts["display_scale"])
    assert "Emotify" in scale.reference and "4Q" in scale.reference
