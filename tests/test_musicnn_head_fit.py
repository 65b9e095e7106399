"""Issue 18: the 4Q reader, quadrant figures, head ensembles with an uncertainty, the fitting
procedure and the smooth display scale (synthetic data; no 4Q audio)."""
from __future__ import annotations

import numpy as np
import pytest

from emotrack.model.errors import CheckpointError, ParameterError
from emotrack.model.musicnn_tracker import INPUTS
from emotrack.model.ridge import RidgeHead
from emotrack.model.scale import DisplayScale
from emotrack.train.head_data import HeadSongs
from emotrack.train.musicnn_head import (HeadConfig, candidates, cross_validate, fit_procedure,
                                         group_folds, rater_calibration, to_ridge_head)
from emotrack.train.head_data import CalibrationFrames
from emotrack.train.quadrant_metrics import score_quadrants
from emotrack.train.readers import load_dataset

HEADER = "song_id,artist,title,quadrant,arousal,valence,p_quadrant,moods,genres,path\n"


def write_fourq(root, rows: list[str], audio: tuple[str, ...] = ()) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "labels.csv").write_text(HEADER + "".join(r + "\n" for r in rows))
    for rel in audio:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")


def test_fourq_reader_labels_groups_genres_and_reports_bad_rows(tmp_path):
    rows = [
        "MT1,Gipsy Kings,A,Q1,high,positive,0.75,Fiery; Sexy,International; Jazz,MER/Q1/MT1.mp3",
        "MT2,Little Walter,B,Q3,low,negative,0.5,Gritty,Blues,MER/Q3/MT2.mp3",
        "MT3,Gipsy Kings,C,Q4,low,positive,1.0,Calm,Latin,MER/Q4/MT3.mp3",
        "MT4,X,D,Q2,low,negative,0.5,Angry,Metal,MER/Q2/MT4.mp3",  # quadrant disagrees
        "MT5,X,E,Q5,high,negative,0.5,Angry,Metal,MER/Q2/MT5.mp3",  # no such quadrant
        "MT1,Y,F,Q1,high,positive,0.5,Happy,Pop,MER/Q1/MT1b.mp3",  # duplicate id
        "MT6,Z,G,Q2,high,negative,0.5,Tense,Rock,../outside.mp3",  # leaves the folder
    ]
    write_fourq(tmp_path / "4q", rows, audio=("MER/Q1/MT1.mp3", "MER/Q4/MT3.mp3"))
    d = load_dataset(f"4q:{tmp_path / '4q'}")
    assert [s.song_id for s in d.songs] == ["MT1", "MT2", "MT3"]
    first = d.songs[0]
    assert first.labels["arousal"] == 1.0 and first.labels["valence"] == 1.0 and first.labels["p_quadrant"] == 0.75
    assert d.songs[1].labels["arousal"] == -1.0 and d.songs[1].labels["valence"] == -1.0
    assert first.genre == "international" and first.artist == "Gipsy Kings" and first.key == "4q:MT1"
    assert d.missing_audio == ["MT2"]
    assert len(d.problems) == 4
    assert any("disagrees" in p for p in d.problems) and any("Q5" in p for p in d.problems)
    assert any("twice" in p for p in d.problems) and any("leaves" in p for p in d.problems)


def test_fourq_reader_without_labels_is_a_clear_error(tmp_path):
    with pytest.raises(ParameterError, match="labels.csv"):
        load_dataset(f"4q:{tmp_path}")


def test_quadrant_figures_follow_the_ranking():
    rng = np.random.default_rng(0)
    a = np.repeat([1.0, 1.0, -1.0, -1.0], 10)
    v = np.tile(np.repeat([1.0, -1.0], 5), 4)
    genre = np.tile(["pop", "metal"], 20)
    perfect = np.stack([a + 0.01 * rng.normal(size=40), v + 0.01 * rng.normal(size=40)], axis=1)
    row = score_quadrants("perfect", perfect, a, v, genre, n_boot=200)
    for key in ("arousal", "valence", "valence_within_arousal", "valence_high", "valence_low",
                "valence_within_genre", "quadrant"):
        assert row.figures[key].value == pytest.approx(1.0), key
    backwards = score_quadrants("backwards", -perfect, a, v, genre, n_boot=200)
    assert backwards.figures["valence"].value == pytest.approx(0.0)
    assert backwards.figures["quadrant"].value == pytest.approx(0.0)
    # valence that is only arousal: perfect pooled AUC when valence follows arousal, chance within halves
    v2 = a.copy()
    arousal_only = np.stack([a, a + 0.01 * rng.normal(size=40)], axis=1)
    row2 = score_quadrants("arousal only", arousal_only, a, np.where(rng.random(40) < 0.5, v2, -v2), genre,
                           n_boot=200)
    assert abs(row2.figures["valence_within_arousal"].value - 0.5) < 0.3
    lo, hi = row.figures["arousal"].low, row.figures["arousal"].high
    assert lo <= 1.0 <= hi + 1e-12


def _head_with_members(d: int = 5, m: int = 4, seed: int = 0) -> RidgeHead:
    rng = np.random.default_rng(seed)
    members = rng.normal(size=(m, d, 2)) * 0.1
    icpt = rng.normal(size=(m, 2)) * 0.01
    return RidgeHead(rng.normal(size=d), rng.random(d) + 0.5, members.mean(0), icpt.mean(0), np.ones(2),
                     {"tracker": "musicnn"}, members, icpt, np.array([0.05, 0.08]))


def test_head_with_uncertainty_round_trips_and_old_heads_still_load(tmp_path):
    head = _head_with_members()
    x = np.random.default_rng(1).normal(size=(7, 5))
    path = head.save(tmp_path / "h.safetensors")
    back = RidgeHead.load(path)
    assert back.has_sd
    np.testing.assert_allclose(back.predict(x), head.predict(x), atol=1e-5)
    sd = back.predict_sd(x)
    assert sd.shape == (7, 2) and (sd >= np.array([0.05, 0.08]) - 1e-6).all()
    outs = np.stack([(x - head.mean) / head.std @ head.members_coef[i] + head.members_intercept[i]
                     for i in range(4)])
    np.testing.assert_allclose(sd, np.sqrt(outs.std(0, ddof=1) ** 2 + head.resid_sd ** 2), rtol=1e-4)
    old = RidgeHead(head.mean, head.std, head.coef, head.intercept, head.alpha, {"tracker": "musicnn"})
    old_back = RidgeHead.load(old.save(tmp_path / "old.safetensors"))
    assert not old_back.has_sd and old_back.predict_sd(x) is None


@pytest.mark.parametrize("change, message", [
    (lambda h: setattr(h, "members_coef", h.members_coef[:1]), "2 <= m"),
    (lambda h: setattr(h, "resid_sd", -h.resid_sd), "resid_sd must be >= 0"),
    (lambda h: setattr(h, "members_intercept", h.members_intercept[:, :1]), "members_intercept"),
    (lambda h: setattr(h, "resid_sd", np.array([np.nan, 0.1])), "NaN"),
])
def test_broken_uncertainty_models_are_refused(tmp_path, change, message):
    head = _head_with_members()
    change(head)
    path = head.save(tmp_path / "bad.safetensors")
    with pytest.raises(CheckpointError, match=message):
        RidgeHead.load(path)


def synthetic_songs(n_e: int = 40, n_q: int = 60, seed: int = 0) -> HeadSongs:
    """Two sets whose labels follow a latent (arousal, valence) that the first inputs carry."""
    rng = np.random.default_rng(seed)
    n = n_e + n_q
    lat = rng.normal(size=(n, 2))
    means = {k: rng.normal(size=(n, d)) for k, d in INPUTS.items()}
    for k in means:
        means[k][:, :2] += 2 * lat
    ds = np.array(["emotify"] * n_e + ["4q"] * n_q)
    y = lat.copy()
    y[n_e:] = np.sign(lat[n_e:] + 0.3 * rng.normal(size=(n_q, 2)))
    group = np.array([f"emotify:{i}" for i in range(n_e)] + [f"4q:artist:{i // 2}" for i in range(n_q)])
    genre = np.array([f"emotify:g{i % 4}" for i in range(n_e)] + [f"4q:g{i % 3}" for i in range(n_q)])
    return HeadSongs([f"{d}:{i}" for i, d in enumerate(ds)], ds, group, genre, y, means, rng.normal(size=n),
                     np.where(ds == "emotify", y[:, 0], np.nan))


def test_the_candidate_list_is_fixed():
    names = [c.name for c in candidates()]
    assert len(names) == len(set(names)) == 15
    assert "pooled / emotify+4q / valence resid" in names and "pooled / 4q / valence resid" not in names


def test_folds_keep_an_artist_together():
    songs = synthetic_songs()
    fold = group_folds(songs, 5, seed=3)
    for g in set(songs.group):
        assert len(set(fold[songs.group == g])) == 1
    assert set(fold) == set(range(5))


def test_procedure_learns_gives_calibrated_intervals_and_a_loadable_head(tmp_path, monkeypatch):
    songs = synthetic_songs()
    cfg = HeadConfig(outer_repeats=1, n_boot=100)
    cands = [c for c in candidates() if c.inputs == "logits"]
    res = fit_procedure(songs, np.ones(len(songs), bool), cfg, seed=1, cands=cands)
    assert res.chosen.members_coef.shape == (5, 50, 2)
    assert (res.chosen.resid_sd > 0).all()
    cv = cross_validate(songs, cfg, cands=cands)
    p = cv.pred["chosen"][0]
    assert np.corrcoef(p[:, 0], songs.y[:, 0])[0, 1] > 0.5  # it learned
    inside = np.abs(cv.labels["chosen"][0] - p) <= cfg.z * cv.sd["chosen"][0]
    assert 0.6 <= inside.mean() <= 0.95  # nominal 80 %, held-out songs
    # rater-scale calibration and the head file
    rng = np.random.default_rng(2)
    lat = rng.normal(size=(30, 2))
    outputs = {k: rng.normal(size=(30, d)) for k, d in INPUTS.items()}
    outputs["logits"][:, :2] += 2 * lat
    cal = CalibrationFrames(["emomusic:1"], outputs, 0.2 * lat, np.zeros(30, int))
    line = rater_calibration(res.chosen, cal)
    head = to_ridge_head(res.chosen, line, {"tracker": "musicnn", "inputs": ["logits"]})
    path = head.save(tmp_path / "h.safetensors")
    from emotrack.model.musicnn_tracker import load_head

    back = load_head(path)
    x = songs.x(("logits",))
    mean, sd = res.chosen.predict(x)
    np.testing.assert_allclose(back.predict(x, clip=False), mean * line.slope + line.intercept, atol=1e-4)
    np.testing.assert_allclose(back.predict_sd(x), sd * line.slope, rtol=1e-3)


def test_smooth_display_scale_keeps_the_reference_inside_and_is_monotone():
    rng = np.random.default_rng(0)
    v = np.stack([rng.normal(0.1, 0.2, 4000), rng.standard_t(3, 4000) * 0.05], axis=1)
    scale = DisplayScale.smooth_from_values(v, "synthetic")
    q = np.percentile(v, [1, 99], axis=0)
    assert np.all(np.abs(scale.plane(q)) <= 0.9 + 1e-6)
    grid = np.linspace(-1, 1, 400)
    plane = scale.plane(np.stack([grid, grid], axis=1))
    assert np.all(np.diff(plane, axis=0) >= 0)
    # an unusual value (3x the reference's 99th percentile from the centre) is not pinned at the
    # edge by construction of a raw CDF: the empirical scale puts it at 1.0
    assert DisplayScale.from_dict(scale.to_dict()).reference == "synthetic"
    assert DisplayScale.from_values(v, "raw").plane(q[1:] * 1.01)[0, 0] == pytest.approx(1.0, abs=0.03)
    assert scale.plane(q[1:] * 1.01)[0, 0] < 0.95


def _weighted_ridge_outputs(songs, rows, inputs, y, w, alpha, x_new):
    """Closed-form weighted ridge (intercept unpenalised, inputs standardised with the weights)."""
    x = songs.x(inputs)[rows]
    w = w / w.mean()
    m = np.average(x, axis=0, weights=w)
    s = np.sqrt(np.average((x - m) ** 2, axis=0, weights=w))
    xs = (x - m) / s
    out = []
    for j in range(2):
        ym = np.average(y[rows, j], weights=w)
        beta = np.linalg.solve(xs.T @ (w[:, None] * xs) + alpha[j] * np.eye(xs.shape[1]),
                               xs.T @ (w * (y[rows, j] - ym)))
        out.append((x_new - m) / s @ beta + ym)
    return np.stack(out, axis=1)


@pytest.mark.parametrize("set_weights", ["song", "equal_sets"])
def test_each_fold_head_is_the_weighted_ridge_it_claims(set_weights):
    from emotrack.train.musicnn_head import Candidate, fit_candidate, row_weights, targets

    songs = synthetic_songs(n_e=30, n_q=60)
    cand = Candidate("logits", "emotify+4q", "label")
    train = np.ones(len(songs), bool)
    fold = group_folds(songs, 5, seed=4)
    cfg = HeadConfig(set_weights=set_weights)
    fit = fit_candidate(songs, train, cand, cfg, fold)
    w = row_weights(songs, train, set_weights)
    if set_weights == "equal_sets":  # each set carries half the weight: an Emotify song twice a 4Q clip
        np.testing.assert_allclose(w[songs.dataset == "emotify"].sum(), w[songs.dataset == "4q"].sum())
        np.testing.assert_allclose(w.mean(), 1.0)
    else:
        assert (w == 1).all()
    y = targets(songs, train, cand)
    x_new = songs.x(("logits",))[:7]
    for f in range(5):
        rows = fold != f
        expect = _weighted_ridge_outputs(songs, rows, ("logits",), y, w[rows], fit.alpha, x_new)
        np.testing.assert_allclose(fit.member_outputs(x_new)[:, f], expect, atol=1e-8)


def test_alpha_rules_pick_the_smallest_error_or_the_largest_within_one_se():
    from emotrack.train.musicnn_head import _min_mse, _one_se

    rng = np.random.default_rng(0)
    alphas = np.array([0.1, 1.0, 10.0, 100.0])
    base = np.array([1.0, 0.9, 0.905, 2.0])[:, None, None]
    sq = base + 0.5 * rng.random((1, 50, 2))  # the same songs' noise at every alpha: SE ~0.02
    assert _min_mse(sq, alphas).tolist() == [1, 1]
    assert _one_se(sq, alphas).tolist() == [2, 2]  # 0.905 is within one SE of 0.9's error, 2.0 is not


def test_unknown_rules_are_refused():
    with pytest.raises(ParameterError, match="alpha_rule"):
        HeadConfig(alpha_rule="aic")
    with pytest.raises(ParameterError, match="set_weights"):
        HeadConfig(set_weights="by_genre")


def test_side_halfwidth_is_where_the_calibrated_side_probability_reaches_90_percent():
    """A logistic of the label's side on the prediction, per axis: with P(high) = expit(2 pred)
    the side is 90 % sure at ln(9) / 2 from the middle; a prediction that ranks the sides
    backwards, or labels all on one side, never name a side; the probability must exceed 1/2."""
    from emotrack.train.musicnn_head import side_halfwidth_for

    rng = np.random.default_rng(0)
    pred = rng.normal(0.0, 1.0, (6000, 2))
    high = rng.random(6000) < 1 / (1 + np.exp(-2.0 * pred[:, 0]))
    labels = np.stack([np.where(high, 1.0, -1.0), np.where(high, 1.0, -1.0)], axis=1)
    pred[:, 1] = -pred[:, 0]  # valence ranks the sides backwards
    got = side_halfwidth_for(pred, labels, 0.9)
    assert got[0] == pytest.approx(np.log(9) / 2, rel=0.1) and got[1] == np.inf
    assert side_halfwidth_for(pred, np.ones_like(labels), 0.9).tolist() == [np.inf, np.inf]
    assert side_halfwidth_for(pred, labels, 0.75)[0] < got[0]  # a lower bar is reached sooner
    with pytest.raises(ParameterError, match="side probability"):
        side_halfwidth_for(pred, labels, 0.4)


def test_side_claims_table_counts_named_sides_and_how_often_they_are_right():
    from emotrack.train.head_report import side_claims_table

    pred = np.array([[[0.9, 0.1], [-0.8, 0.0], [0.2, 0.0], [0.7, 0.0]]])
    labels = np.array([[[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]]])
    side = np.full((1, 4, 2), 0.5)
    table = side_claims_table(pred, side, labels, np.array(["4q", "4q", "emotify", "emotify"]))
    assert table["all"]["arousal_named"] == 0.75 and table["all"]["arousal_right"] == pytest.approx(2 / 3, abs=1e-3)
    assert table["4q"]["arousal_right"] == 1.0 and table["emotify"]["arousal_named"] == 0.5
    assert table["all"]["valence_named"] == 0.0 and table["all"]["valence_right"] is None  # JSON: null


@pytest.mark.parametrize("words", [{"side_halfwidth": [0.1]}, {"side_halfwidth": [-0.1, 0.2]},
                                   {"side_halfwidth": ["a", 0.2]}, {"side_halfwidth": "wide"}])
def test_a_broken_side_halfwidth_is_refused_with_one_message(tmp_path, words):
    from emotrack.model.musicnn_tracker import MusicnnTracker, load_head

    head = load_head(_shipped_head_path())
    head.facts["words"] = words
    path = tmp_path / "head.safetensors"
    head.save(path)
    with pytest.raises(CheckpointError, match="side_halfwidth"):
        MusicnnTracker(head_path=path)


def _shipped_head_path():
    from importlib.resources import files

    return str(files("emotrack.assets").joinpath("teacher/musicnn_va_head.safetensors"))


def test_head_facts_are_strict_json_nan_and_inf_become_null(tmp_path):
    """A fact without a value (a figure with no songs) must not write NaN or Infinity, which strict
    JSON readers refuse: the head file says null."""
    from safetensors import safe_open

    from emotrack.model.musicnn_tracker import load_head

    head = load_head(_shipped_head_path())
    head.facts["a figure"] = {"right": float("nan"), "width": float("inf")}
    path = tmp_path / "head.safetensors"
    head.save(path)
    with safe_open(str(path), "np") as f:
        text = f.metadata()["facts"]
    assert "NaN" not in text and "Infinity" not in text
    assert load_head(path).facts["a figure"] == {"right": None, "width": None}
