"""Within-song tracking figures (train/tracking.py) and the step-response measures (train/steps.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from emotrack.train.items import SongItem
from emotrack.train.steps import (MIN_STEP, Segment, build_medley, jitter, segment_errors,
                                  segment_frames, step_response)
from emotrack.train.tracking import (TrackingConfig, bootstrap_mean, loco_recalibrate, song_tracking,
                                     summarise, tracking_markdown)

LAGS = TrackingConfig().lags


def _song(seed: int, n: int = 60, first: int = 30, lag: int = 0):
    """A human curve of frames first..first+n-1 and a prediction of frames 0..first+n-1 that the
    curve trails by ``lag`` frames."""
    rng = np.random.default_rng(seed)
    music = np.cumsum(rng.normal(size=(first + n, 2)), axis=0) * 0.05
    human = np.roll(music, lag, axis=0)[first:first + n]  # rating of frame t = music of frame t - lag
    return music.astype(np.float32), human.astype(np.float32)


def test_a_perfect_curve_has_r_1_and_rmse_0_and_its_own_mean_is_the_std():
    pred, human = _song(0)
    s = song_tracking("x", pred, human, 30, LAGS)
    np.testing.assert_allclose(s.r[0], 1.0)
    np.testing.assert_allclose(s.rmse[0], 0.0, atol=1e-7)
    np.testing.assert_allclose(s.rmse_song_mean, human.std(axis=0), rtol=1e-5)


def test_the_best_lag_finds_raters_trailing_the_music():
    songs = []
    for seed in range(6):
        pred, human = _song(seed, lag=4)  # 2 s behind
        songs.append(song_tracking(f"s{seed}", pred, human, 30, LAGS))
    summ = summarise("m", songs, TrackingConfig(n_boot=200))
    for dim in ("arousal", "valence"):
        assert summ.best_lag_s[dim] == 2.0
        assert summ.means[dim]["r_best_lag"].value == pytest.approx(1.0)
        assert summ.means[dim]["r"].value < 0.99  # the zero-lag figure is reported as it is
    text = tracking_markdown(summ)
    assert "best lag" in text and "2.0 s" in text and "RMSE of own mean" in text


def test_a_constant_prediction_has_no_r_and_the_mean_skips_it():
    pred, human = _song(1)
    flat = np.zeros_like(pred)
    s = song_tracking("flat", flat, human, 30, LAGS)
    assert np.isnan(s.r).all() and np.isfinite(s.rmse).all()
    good = song_tracking("good", pred, human, 30, LAGS)
    summ = summarise("m", [s, good], TrackingConfig(n_boot=100))
    assert summ.means["arousal"]["r"].n == 1 and summ.means["arousal"]["rmse"].n == 2


def test_bootstrap_mean_interval_covers_the_mean_and_is_seeded():
    v = np.random.default_rng(3).normal(0.3, 0.2, 20)
    a, b = bootstrap_mean(v, n_boot=500), bootstrap_mean(v, n_boot=500)
    assert a == b and a.low < a.value < a.high and a.value == pytest.approx(v.mean())
    assert math.isnan(bootstrap_mean(np.array([np.nan])).value)


def _item(key: str, human: np.ndarray) -> SongItem:
    return SongItem(key, None, human[:, 0], human[:, 1], None, None, "development", 30, "emomusic")


def test_leave_one_clip_out_calibration_refits_the_line_without_the_clip():
    preds, items = {}, {}
    for i in range(5):
        pred, human = _song(10 + i)
        preds[str(i)] = 0.5 * pred - 0.1  # a head on another scale: a line maps it back
        items[str(i)] = _item(str(i), human)
    preds["4"] = preds["4"] + 0.3  # one clip with its own offset: refitting without it must not learn it
    out = loco_recalibrate(preds, items, list(preds))
    for k in "0123":
        s = song_tracking(k, out[k], items[k].targets(), 30, LAGS)
        np.testing.assert_allclose(s.r[0], song_tracking(k, preds[k], items[k].targets(), 30, LAGS).r[0])
    # clip 4 keeps its offset (the line from the other four is exact for them: slope 2, intercept 0.2)
    np.testing.assert_allclose(out["4"], np.clip(2 * preds["4"] + 0.2, -1, 1), atol=1e-5)
    assert not np.allclose(out["0"], np.clip(2 * preds["0"] + 0.2, -1, 1), atol=0.02)  # clip 4 is in its fit


def test_medley_segments_map_to_the_pieces_frames():
    sr = 16000
    pieces = {"a": np.ones(40 * sr, np.float32), "b": -np.ones(40 * sr, np.float32)}
    segs = [Segment("a", 2.5, 20.0), Segment("b", 10.0, 20.0)]
    cut = build_medley(pieces, segs)
    assert len(cut.audio) == 40 * sr and cut.changes_s == [20.0]
    fade = build_medley(pieces, segs, crossfade_s=2.0)
    assert len(fade.audio) == 38 * sr and fade.changes_s == [19.0] and fade.starts_s == [0.0, 18.0]
    assert fade.audio[int(19 * sr)] == pytest.approx(0.0, abs=1e-3)  # the middle of the fade
    k, pk = segment_frames(fade, 1)
    assert k[0] == 44 and pk[0] == 44 - 36 + 20  # 3 s after the change, mapped into piece b at 10 s
    with pytest.raises(ValueError, match="multiples"):
        build_medley(pieces, [Segment("a", 0.3, 20.0)])


def test_step_response_of_a_known_trajectory():
    n = 80
    plane = np.zeros((n, 2))
    plane[40:] = [0.6, 0.0]
    plane[40:44, 0] = [0.1, 0.3, 0.5, 0.57]  # frames 40-43 complete at 20.5-22 s
    plane[44, 0] = 0.7  # 16.7 % past the step
    s = step_response(plane, 20.0, np.zeros(2), np.array([0.6, 0.0]), search_from_s=20.0, until_s=40.0)
    assert s.to_90_s == pytest.approx(2.0)  # frame 43 (0.57 >= 0.54) completes at 22.0 s
    assert s.rise_s == pytest.approx(2.0)  # from frame 39 (p = 0) to frame 43
    assert s.overshoot_pct == pytest.approx(100 / 6, rel=1e-6)
    assert step_response(plane, 20.0, np.zeros(2), np.array([MIN_STEP / 2, 0]), search_from_s=20, until_s=40) is None
    never = step_response(np.zeros((n, 2)), 20.0, np.zeros(2), np.ones(2), search_from_s=20, until_s=40)
    assert math.isnan(never.to_90_s)


def test_segment_errors_and_jitter():
    sr = 16000
    pieces = {"a": np.zeros(30 * sr, np.float32), "b": np.zeros(30 * sr, np.float32)}
    m = build_medley(pieces, [Segment("a", 0.0, 10.0), Segment("b", 0.0, 10.0)])
    alone = {"a": np.zeros((60, 2)), "b": np.ones((60, 2))}
    medley = np.zeros((40, 2))
    medley[20:] = [1.0, 1.05]
    err = segment_errors(medley, m, alone)
    assert err[0] == pytest.approx(0.0) and err[1] == pytest.approx(0.05)
    zig = np.zeros((10, 2))
    zig[1::2, 0] = 0.1
    assert jitter(zig) == pytest.approx(0.1)
    assert jitter(zig, np.arange(10) < 8) == pytest.approx(0.1) and math.isnan(jitter(zig[:1]))
