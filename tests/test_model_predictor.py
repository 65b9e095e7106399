"""Predictor: causal step API == offline causal analysis, centered mode, warm-up, errors."""
from __future__ import annotations

import numpy as np
import pytest

from emotrack.model.errors import CheckpointError, ParameterError
from emotrack.model.predictor import CAUSAL_TOLERANCE, WINDOW, FramePrediction, Predictor

SMALL = {
    "cae": {"channels": [4, 4, 4, 4]},
    "baseline": {"context": 4, "hidden": 8},
    "rnn": {"conv_channels": 8, "hidden": 8},
}


def _frames(n, seed=0):
    rng = np.random.default_rng(seed)
    return (-40 + 20 * rng.standard_normal((n, 96))).astype(np.float32)


@pytest.fixture(params=sorted(SMALL))
def predictor(request, model_checkpoint_factory):
    path = model_checkpoint_factory(request.param, seed=1, **SMALL[request.param])
    return Predictor.from_checkpoint(path, device="cpu")


def test_attributes(predictor):
    assert predictor.window == WINDOW == 60
    assert predictor.device == "cpu"
    assert predictor.spec.n_mels == 96
    assert not predictor.model.training


def test_causal_analyze_equals_push_frame(predictor):
    frames = _frames(75)
    live = np.array([predictor.push_frame(f)[:2] for f in frames])
    offline = predictor.analyze(frames, mode="causal")
    assert offline.shape == (75, 2) and offline.dtype == np.float32
    np.testing.assert_allclose(offline, live, atol=CAUSAL_TOLERANCE, rtol=0)
    assert np.abs(offline).max() <= 1.0
    assert np.std(offline[:, 0]) > 0  # not a constant output


def test_warm_up_flag_and_reset(predictor):
    frames = _frames(61, seed=2)
    preds = [predictor.push_frame(f) for f in frames]
    assert all(isinstance(p, FramePrediction) for p in preds)
    assert [p.warming_up for p in preds] == [True] * 59 + [False] * 2
    predictor.reset()
    assert predictor.push_frame(frames[0]).warming_up
    assert predictor.push_frame(frames[1])[:2] == pytest.approx(preds[1][:2], abs=1e-6)


def test_warm_up_pads_with_training_mean(model_checkpoint_factory):
    """Padding = zeros after standardisation = norm_mean before it (documented choice)."""
    p = Predictor.from_checkpoint(model_checkpoint_factory("cae", **SMALL["cae"]), device="cpu")
    frames = _frames(10)
    mean_frames = np.tile(p.checkpoint.norm_mean, (WINDOW - 10, 1))
    full = np.concatenate((mean_frames, frames))
    padded_live = [p.push_frame(f) for f in frames][-1]
    explicit = p.analyze(full, mode="causal")[-1]
    assert explicit == pytest.approx(padded_live[:2], abs=1e-5)


def test_centered_mode(predictor):
    frames = _frames(70, seed=3)
    centered = predictor.analyze(frames, mode="centered")
    assert centered.shape == (70, 2)
    assert np.abs(centered).max() <= 1.0
    if predictor.model_name == "cae":
        # frame 0 is covered by window 0 only; frame 35 by windows 0..10
        import torch
        x = ((frames - predictor.checkpoint.norm_mean) / predictor.checkpoint.norm_std).T
        with torch.inference_mode():
            wins = torch.from_numpy(np.stack([x[:, s:s + 60] for s in range(11)])[:, None].astype(np.float32))
            out = predictor.model(wins).numpy()
        np.testing.assert_allclose(centered[0], out[0, :, 0], atol=1e-5)
        expect35 = np.mean([out[s, :, 35 - s] for s in range(11)], axis=0)
        np.testing.assert_allclose(centered[35], expect35, atol=1e-5)


@pytest.mark.parametrize("n", [0, 1, 17, 59, 60])
def test_short_tracks(predictor, n):
    frames = _frames(n, seed=4)
    for mode in ("causal", "centered"):
        out = predictor.analyze(frames, mode=mode)
        assert out.shape == (n, 2)
        assert np.isfinite(out).all()


def test_batching_does_not_change_results(predictor):
    frames = _frames(50, seed=5)
    a = predictor.analyze(frames, mode="centered")
    predictor.batch_size = 7
    b = predictor.analyze(frames, mode="centered")
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_bad_inputs(tiny_checkpoint):
    p = Predictor.from_checkpoint(tiny_checkpoint, device="cpu")
    with pytest.raises(ParameterError, match="mode"):
        p.analyze(_frames(3), mode="forward")
    with pytest.raises(ParameterError, match=r"\(n, 96\)"):
        p.analyze(np.zeros((3, 40), np.float32))
    with pytest.raises(ParameterError, match="NaN"):
        p.push_frame(np.full(96, np.nan, np.float32))


def test_missing_default_checkpoint_says_what_to_do(monkeypatch, tmp_path):
    import emotrack.model.predictor as mod
    monkeypatch.setattr(mod, "default_checkpoint_path", lambda: tmp_path / "absent.safetensors")
    with pytest.raises(CheckpointError, match="--checkpoint"):
        Predictor.from_checkpoint(None)
