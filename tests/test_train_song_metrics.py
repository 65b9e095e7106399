"""Song-level rank figures and their bootstrap intervals, against scipy and hand-computed cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from emotrack.train.song_metrics import (Estimate, bootstrap_partial_spearman, bootstrap_spearman,
                                         bootstrap_within_group, partial_spearman, spearman,
                                         within_group_spearman)


def _data(n=60, seed=3):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    x = np.round(z + rng.normal(size=n), 1)  # rounded: ties
    y = np.round(0.7 * z + 0.5 * x + rng.normal(size=n), 1)
    return x, y, z


def test_spearman_equals_scipy_with_ties():
    x, y, _ = _data()
    assert len(np.unique(x)) < len(x)  # the case has ties
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)


def test_spearman_hand_case_and_undefined_cases():
    # ranks differ by one swap: rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([10, 20, 30], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 1, 1, 1], [1, 2, 3, 4]))  # a constant predictor
    assert spearman([1, 2, np.nan, 4, 5], [1, 2, 100, 4, 5]) == pytest.approx(1.0)  # NaN pair dropped


def test_partial_spearman_against_scipy_formula_and_residuals():
    x, y, z = _data()
    r = lambda a, b: stats.spearmanr(a, b)[0]  # noqa: E731
    want = (r(x, y) - r(x, z) * r(y, z)) / math.sqrt((1 - r(x, z) ** 2) * (1 - r(y, z) ** 2))
    assert partial_spearman(x, y, z) == pytest.approx(want, abs=1e-12)
    # the same as correlating the ranks' residuals after a line on the ranks of z
    rx, ry, rz = (stats.rankdata(v) for v in (x, y, z))
    res = lambda a: a - np.polyval(np.polyfit(rz, a, 1), rz)  # noqa: E731
    assert partial_spearman(x, y, z) == pytest.approx(stats.pearsonr(res(rx), res(ry))[0], abs=1e-10)


def test_partial_spearman_hand_cases():
    # x and y rank alike: given anything not a function of them, the partial is 1
    assert partial_spearman([1, 2, 3, 4, 5, 6], [2, 4, 6, 8, 10, 12], [2, 1, 4, 3, 6, 5]) == pytest.approx(1.0)
    # x is a monotone function of z: nothing left to correlate
    assert math.isnan(partial_spearman([1, 2, 3, 4], [4, 1, 3, 2], [10, 20, 30, 40]))
    # by hand: r_xy = 0.8, r_xz = 0.6, r_yz = 0 -> (0.8 - 0) / sqrt(0.64 * 1) = 1
    assert partial_spearman([1, 2, 3, 4], [1, 3, 2, 4], [2, 1, 4, 3]) == pytest.approx(1.0)
    # by hand: r_xy = 0.8, r_xz = 0.8, r_yz = 0.4 -> 0.48 / sqrt(0.36 * 0.84)
    assert partial_spearman([1, 2, 3, 4], [1, 3, 2, 4], [1, 2, 4, 3]) == pytest.approx(
        0.48 / math.sqrt(0.36 * 0.84))


def _loop_bootstrap(x, y, n_boot, seed):
    idx = np.random.default_rng(seed).integers(0, len(x), (n_boot, len(x)))
    return np.array([stats.spearmanr(x[i], y[i])[0] for i in idx])


def test_bootstrap_interval_is_the_percentile_interval_of_resampled_rhos():
    x, y, _ = _data(40)
    est = bootstrap_spearman(x, y, n_boot=200, seed=7)
    draws = _loop_bootstrap(x, y, 200, 7)
    assert est.value == pytest.approx(stats.spearmanr(x, y)[0])
    assert est.low == pytest.approx(np.nanpercentile(draws, 2.5))
    assert est.high == pytest.approx(np.nanpercentile(draws, 97.5))
    assert est.low < est.value < est.high and est.n == 40
    assert bootstrap_spearman(x, y, n_boot=200, seed=7) == est  # seeded: reproducible


def test_bootstrap_partial_is_seeded_and_brackets_the_value():
    x, y, z = _data(80)
    est = bootstrap_partial_spearman(x, y, z, n_boot=300, seed=1)
    assert est.low < est.value < est.high
    assert est == bootstrap_partial_spearman(x, y, z, n_boot=300, seed=1)
    assert est != bootstrap_partial_spearman(x, y, z, n_boot=300, seed=2)


def test_within_group_is_the_mean_of_group_rhos_and_resamples_inside_groups():
    x, y, _ = _data(60)
    groups = np.repeat(["a", "b", "c"], 20)
    want = np.mean([stats.spearmanr(x[groups == g], y[groups == g])[0] for g in "abc"])
    assert within_group_spearman(x, y, groups) == pytest.approx(want)
    est = bootstrap_within_group(x, y, groups, n_boot=150, seed=4)
    rng = np.random.default_rng(4)
    per = []
    for g in "abc":
        members = np.flatnonzero(groups == g)
        idx = members[rng.integers(0, members.size, (150, members.size))]
        per.append([stats.spearmanr(x[i], y[i])[0] for i in idx])
    draws = np.mean(per, axis=0)
    assert est.value == pytest.approx(want)
    assert (est.low, est.high) == pytest.approx(tuple(np.percentile(draws, [2.5, 97.5])))


def test_within_group_removes_what_genre_alone_explains():
    # within each genre the prediction is unrelated to the label; the genre means agree
    rng = np.random.default_rng(0)
    groups = np.repeat([0, 1, 2, 3], 30)
    y = groups + 0.3 * rng.normal(size=groups.size)
    x = groups + 0.3 * rng.normal(size=groups.size)
    assert spearman(x, y) > 0.8
    est = bootstrap_within_group(x, y, groups, n_boot=300)
    assert abs(est.value) < 0.25 and est.low < 0 < est.high


def test_constant_prediction_gives_nan_estimates_and_a_dash():
    y = np.arange(10.0)
    est = bootstrap_spearman(np.zeros(10), y, n_boot=50)
    assert math.isnan(est.value) and math.isnan(est.low) and est.text() == "-"
    assert Estimate(0.712, 0.6, 0.8, 10).text() == "0.71 [0.60, 0.80]"
