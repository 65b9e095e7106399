"""MelTracker (rnn/cae/baseline checkpoints as trackers): streaming == offline, warm-up, centered, errors."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from emotrack.model.errors import CheckpointError, ParameterError
from emotrack.model.features import CAE_SPEC, mel_frames
from emotrack.model.mel_tracker import CAUSAL_TOLERANCE, WINDOW, MelTracker

SMALL = {
    "cae": {"channels": [4, 4, 4, 4]},
    "baseline": {"context": 4, "hidden": 8},
    "rnn": {"conv_channels": 8, "hidden": 8},
}


def _frames(n, seed=0):
    rng = np.random.default_rng(seed)
    return (-40 + 20 * rng.standard_normal((n, 96))).astype(np.float32)


def _audio(seconds, sr, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * (110 * t + 40 * t ** 2)) * (1 + np.sin(2 * np.pi * 0.3 * t))
    return (x + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(params=sorted(SMALL))
def tracker(request, model_checkpoint_factory):
    path = model_checkpoint_factory(request.param, seed=1, **SMALL[request.param])
    return MelTracker.from_checkpoint(path, device="cpu")


def test_attributes(tracker):
    assert tracker.window == WINDOW == 60 and tracker.warmup_frames == 59
    assert tracker.device == "cpu" and tracker.spec == CAE_SPEC
    assert not tracker.model.training and tracker.extra_names == ()
    assert tracker.describe()["name"] == tracker.name in SMALL


@pytest.mark.parametrize("sr", [22050, 44100, 48000])
def test_stream_in_random_blocks_equals_offline_causal(tracker, sr):
    """Any block sizes (1 sample to seconds) give the frames and results of one big push."""
    x = _audio(33.3, sr, seed=sr)
    offline = tracker.analyze([x], sr)
    rng = np.random.default_rng(sr)
    cuts = np.cumsum(rng.integers(1, 3 * sr, 200))
    blocks = np.split(x, cuts[cuts < len(x)])
    streamed = tracker.analyze(blocks, sr)
    assert len(offline) == len(streamed) == 67  # 66 full frames + the 0.3 s tail
    np.testing.assert_array_equal(streamed.index, np.arange(67))
    np.testing.assert_allclose(streamed.values, offline.values, atol=CAUSAL_TOLERANCE, rtol=0)
    assert np.std(offline.arousal) > 0  # not a constant output
    # the frames are mel_frames of the whole signal, through the same stage-2 code
    np.testing.assert_allclose(tracker.predict_frames(mel_frames(x, sr, CAE_SPEC)), offline.values,
                               atol=1e-4)


def test_one_frame_at_a_time_equals_batches(tracker):
    """Live (one frame per push) and offline (many per push) share the stage-2 code."""
    frames = _frames(75)
    batched = tracker.predict_frames(frames, mode="causal")
    from emotrack.model.framing import FeatureBatch

    tracker.reset_network()
    single = np.concatenate([tracker.infer(FeatureBatch(k, np.zeros(1, np.float32), frames[k:k + 1],
                                                        False)).values for k in range(75)])
    np.testing.assert_allclose(single, batched, atol=CAUSAL_TOLERANCE, rtol=0)
    assert np.abs(batched).max() <= 1.0


def test_warm_up_flag_and_reset(tracker):
    x = _audio(31.0, 16000)
    out = tracker.analyze([x], 16000)
    assert list(out.warming_up) == [True] * 59 + [False] * 3
    tracker.reset(16000)
    again = tracker.push(x[:8000])
    assert again.warming_up.tolist() == [True]
    np.testing.assert_allclose(again.values, out.values[:1], atol=1e-6)


def test_warm_up_pads_with_training_mean(model_checkpoint_factory):
    """Padding = zeros after standardisation = norm_mean before it (documented choice)."""
    t = MelTracker.from_checkpoint(model_checkpoint_factory("cae", **SMALL["cae"]), device="cpu")
    frames = _frames(10)
    mean_frames = np.tile(t.checkpoint.norm_mean, (WINDOW - 10, 1))
    padded_live = t.predict_frames(frames)[-1]
    explicit = t.predict_frames(np.concatenate((mean_frames, frames)))[-1]
    np.testing.assert_allclose(explicit, padded_live, atol=1e-5)


def test_centered_mode(tracker):
    frames = _frames(70, seed=3)
    centered = tracker.predict_frames(frames, mode="centered")
    assert centered.shape == (70, 2) and np.abs(centered).max() <= 1.0
    if tracker.name == "cae":
        # frame 0 is covered by window 0 only; frame 35 by windows 0..10
        import torch
        x = ((frames - tracker.checkpoint.norm_mean) / tracker.checkpoint.norm_std).T
        with torch.inference_mode():
            wins = torch.from_numpy(np.stack([x[:, s:s + 60] for s in range(11)])[:, None].astype(np.float32))
            out = tracker.model(wins).numpy()
        np.testing.assert_allclose(centered[0], out[0, :, 0], atol=1e-5)
        expect35 = np.mean([out[s, :, 35 - s] for s in range(11)], axis=0)
        np.testing.assert_allclose(centered[35], expect35, atol=1e-5)


def test_centered_analysis_of_audio_uses_the_same_frames(tracker):
    x = _audio(40.0, 22050, seed=5)
    out = tracker.analyze([x[:100_000], x[100_000:]], 22050, mode="centered")
    expect = tracker.predict_frames(mel_frames(x, 22050, CAE_SPEC), mode="centered")
    np.testing.assert_allclose(out.values, expect, atol=1e-4)
    assert not out.warming_up.any()


@pytest.mark.parametrize("n", [0, 1, 17, 59, 60])
def test_short_tracks(tracker, n):
    frames = _frames(n, seed=4)
    for mode in ("causal", "centered"):
        out = tracker.predict_frames(frames, mode=mode)
        assert out.shape == (n, 2) and np.isfinite(out).all()


def test_batching_does_not_change_results(tracker):
    frames = _frames(50, seed=5)
    a = tracker.predict_frames(frames, mode="centered")
    tracker.batch_size = 7
    b = tracker.predict_frames(frames, mode="centered")
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_silence_is_flagged_not_hidden(tracker):
    x = _audio(3.0, 16000)
    x[8000:16000] = 0.0  # frame 1: digital silence
    x[16000:24000] *= 1e-4  # frame 2: -87 dBFS
    out = tracker.analyze([x], 16000)
    assert out.silent.tolist() == [False, True, True, False, False, False]
    assert out.level_db[1] == -200.0 and -95 < out.level_db[2] < -80 and out.level_db[0] > -30
    # flagged, kept, without values (DESIGN contract 7); the other frames have theirs
    assert np.isnan(out.values[out.silent]).all() and np.isfinite(out.values[~out.silent]).all()
    centered = tracker.analyze([x], 16000, mode="centered")
    assert np.isnan(centered.values[out.silent]).all() and np.isfinite(centered.values[~out.silent]).all()


def test_bad_inputs(tiny_checkpoint):
    t = MelTracker.from_checkpoint(tiny_checkpoint, device="cpu")
    with pytest.raises(ParameterError, match="mode"):
        t.predict_frames(_frames(3), mode="forward")
    with pytest.raises(ParameterError, match=r"\(n, 96\)"):
        t.predict_frames(np.zeros((3, 40), np.float32))
    with pytest.raises(ParameterError, match="NaN"):
        t.predict_frames(np.full((1, 96), np.nan, np.float32))
    with pytest.raises(ParameterError, match="reset"):
        type(t)(t.checkpoint).push(np.zeros(10, np.float32))  # no input rate given yet


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="absent.safetensors"):
        MelTracker.from_checkpoint(tmp_path / "absent.safetensors")


def test_real_clip_stream_equals_offline(emomusic_mini, model_checkpoint_factory):
    t = MelTracker.from_checkpoint(model_checkpoint_factory("rnn", **SMALL["rnn"]))
    audio, sr = sf.read(emomusic_mini / "clips_45seconds" / "3.mp3", dtype="float32")
    whole = t.analyze([audio], sr)
    blocks = t.analyze([audio[i:i + 512] for i in range(0, len(audio), 512)], sr)
    assert len(whole) == 90
    np.testing.assert_allclose(blocks.values, whole.values, atol=CAUSAL_TOLERANCE)
