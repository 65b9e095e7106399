"""The temporal stage (model/temporal.py): causal context and smoothing, centered averaging, edges."""
from __future__ import annotations

import math

import numpy as np
import pytest

from emotrack.model.errors import ParameterError
from emotrack.model.temporal import (TemporalConfig, TemporalStage, causal_values, centered_values,
                                     ema_alpha)

WARM = 6


def _step_signal(n: int = 60, at: int = 30) -> np.ndarray:
    x = np.zeros((n, 2), np.float32)
    x[at:] = [1.0, -0.5]
    return x


def test_default_config_changes_nothing():
    x = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)
    np.testing.assert_array_equal(causal_values(x, TemporalConfig(), WARM), x)


def test_exponential_smoothing_reaches_90_percent_after_tau_ln10():
    tau = 1.0
    y = causal_values(_step_signal(), TemporalConfig(tau_s=tau), WARM)
    after = y[30:, 0]
    k90 = int(np.argmax(after >= 0.9))
    # a = 1 - exp(-0.5/tau): after m frames 1 - exp(-0.5 m / tau); 90 % at m = ceil(2 ln 10 tau) - 1
    assert k90 == math.ceil(2 * math.log(10) * tau) - 1 == 4
    np.testing.assert_allclose(after[0], ema_alpha(tau), rtol=1e-6)
    np.testing.assert_allclose(y[30:, 1] / -0.5, after, rtol=1e-6)  # both axes alike
    assert np.all(np.diff(after) >= 0) and after.max() <= 1.0  # no overshoot


def test_context_is_a_moving_mean_of_the_newest_frames():
    y = causal_values(_step_signal(), TemporalConfig(context_s=1.5), WARM)
    np.testing.assert_allclose(y[29:33, 0], [0, 1 / 3, 2 / 3, 1], atol=1e-6)


def test_warming_up_frames_pass_through_and_never_enter_the_state():
    x = np.zeros((20, 2), np.float32)
    x[:WARM] = 5.0  # padded context: wildly off
    x[WARM:] = 0.2
    for cfg in (TemporalConfig(tau_s=2.0), TemporalConfig(context_s=3.0, tau_s=1.0)):
        y = causal_values(x, cfg, WARM)
        np.testing.assert_array_equal(y[:WARM], x[:WARM])
        np.testing.assert_allclose(y[WARM:], 0.2, atol=1e-6)  # the first real frame starts afresh


def test_any_batching_gives_the_same_values_and_sd():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(97, 2)).astype(np.float32)
    sd = rng.uniform(0.05, 0.3, size=(97, 2)).astype(np.float32)
    cfg = TemporalConfig(context_s=1.5, tau_s=1.0)
    whole = TemporalStage(cfg, WARM).step(0, x, sd)
    stage = TemporalStage(cfg, WARM)
    cuts = np.cumsum(rng.integers(0, 7, 40))
    cuts = cuts[cuts < len(x)]
    parts = [stage.step(int(a), x[a:b], sd[a:b]) for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(x)])]
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), whole[0])
    np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), whole[1])
    assert not np.allclose(whole[1], sd)  # sd is smoothed too
    stage.reset()
    np.testing.assert_array_equal(stage.step(0, x, sd)[0], whole[0])


def test_nan_frames_stay_nan_and_keep_the_state():
    x = np.full((12, 2), 0.5, np.float32)
    x[8] = np.nan
    y = causal_values(x, TemporalConfig(tau_s=1.0), WARM)
    assert np.isnan(y[8]).all() and np.isfinite(np.delete(y, 8, axis=0)).all()
    np.testing.assert_allclose(y[9], 0.5, atol=1e-6)


def test_bypassed_stage_gives_raw_outputs():
    x = _step_signal()
    stage = TemporalStage(TemporalConfig(tau_s=2.0), WARM)
    with stage.bypassed():
        np.testing.assert_array_equal(stage.step(0, x)[0], x)
    assert not np.array_equal(stage.step(0, x)[0], x)


def test_centered_uses_real_audio_only_at_the_edges():
    raw = np.zeros((20, 2), np.float32)
    raw[:WARM] = 5.0  # padded patches
    raw[WARM:] = np.arange(14)[:, None] * 0.1
    out, padded = centered_values(raw, TemporalConfig(), 6, WARM)
    assert not padded
    np.testing.assert_allclose(out[0], raw[6], atol=1e-6)  # all covering patches padded: the nearest real one
    np.testing.assert_allclose(out[4], raw[6:10].mean(axis=0), atol=1e-6)  # real ones of 4..9
    np.testing.assert_allclose(out[8], raw[8:14].mean(axis=0), atol=1e-6)  # the 6 covering patches
    np.testing.assert_allclose(out[19], raw[19], atol=1e-6)  # fewer at the end
    assert np.all(out < 5.0)


def test_centered_span_and_zero_phase_smoothing():
    raw = np.zeros((60, 2), np.float32)
    raw[33:] = 1.0  # patch 33 is the first whose audio is mostly after the change
    wide, _ = centered_values(raw, TemporalConfig(centered_span=10), 6, WARM)
    np.testing.assert_allclose(wide[20], raw[18:28].mean(axis=0), atol=1e-6)  # k-2 .. k+7
    smooth, _ = centered_values(raw, TemporalConfig(centered_tau_s=2.0), 6, WARM)
    box, _ = centered_values(raw, TemporalConfig(), 6, WARM)
    # zero phase: the smoothed curve crosses 0.5 where the box does (symmetric about the step)
    cross = lambda v: int(np.argmax(v[:, 0] >= 0.5))  # noqa: E731
    assert abs(cross(smooth) - cross(box)) <= 1
    assert smooth[:, 0].min() >= -1e-6 and smooth[:, 0].max() <= 1 + 1e-6


def test_centered_signal_shorter_than_a_context_is_flagged():
    raw = np.ones((4, 2), np.float32)
    out, padded = centered_values(raw, TemporalConfig(), 6, WARM)
    assert padded and np.isfinite(out).all()


@pytest.mark.parametrize("kw", [{"tau_s": -1.0}, {"tau_s": float("nan")}, {"context_s": 0.7},
                                {"context_s": 0.0}, {"centered_span": -2}, {"centered_tau_s": 1e9}])
def test_bad_configs_are_parameter_errors(kw):
    with pytest.raises(ParameterError, match="temporal"):
        TemporalConfig(**kw)


def test_a_lag_moves_the_covering_frames_later():
    """An output reporting ``lag`` frames late (musicnn's aligned stream): frame k averages the
    outputs k+lag .. k+lag+span-1, clipped at the end; without a lag nothing moves."""
    from emotrack.model.tracker import covering_average

    raw = np.arange(20, dtype=np.float64)[:, None]
    got = covering_average(raw, 6, 2)[:, 0]
    assert got[0] == np.mean(np.arange(2, 8)) and got[10] == np.mean(np.arange(12, 18))
    assert got[16] == np.mean([18, 19]) and got[19] == 19
    np.testing.assert_array_equal(covering_average(raw, 6, 0), covering_average(raw, 6))
    lagged, _ = centered_values(raw, TemporalConfig(), 6, WARM, 2)
    plain, _ = centered_values(raw, TemporalConfig(), 6, WARM)
    np.testing.assert_allclose(lagged[WARM:12, 0], plain[WARM + 2:14, 0])


def test_a_lagging_stream_keeps_tags_on_its_last_heard_frames_before_silence():
    """Frames 0-9 heard, 10-19 silent (NaN, never computed): with a lag of 2 the outputs that
    would cover frames 8 and 9 are silent, so those frames keep the mean of their own window
    rather than losing their tags; silent frames stay without."""
    from emotrack.model.tracker import covering_average

    raw = np.full((20, 1), np.nan)
    raw[:10, 0] = np.arange(10)
    got = covering_average(raw, 6, 2)[:, 0]
    assert got[3] == np.mean(np.arange(5, 10)) and got[7] == np.mean([9])
    assert got[8] == np.mean([8, 9]) and got[9] == 9
    assert np.isnan(got[10:]).all()
