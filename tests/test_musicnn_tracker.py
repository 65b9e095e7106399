"""The musicnn tracker: exact causal 3 s patches, streaming == offline, heads, CLI default."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from emotrack.model.errors import CheckpointError
from emotrack.model.features import CAE_SPEC, frames_from_model_rate, mel_frames, resample
from emotrack.model.musicnn import MSD_TAGS, MUSICNN_SPEC, PATCH_FRAMES, interleave_pools
from emotrack.model.musicnn_tracker import (INPUTS, TOLERANCE, WARMUP_FRAMES, MusicnnTracker,
                                            frame_outputs, last_window, load_head)
from emotrack.model.ridge import RidgeHead
from emotrack.model.validate import as_mono_float32

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tracker():
    return MusicnnTracker()


@pytest.fixture(scope="module")
def clip(emomusic_mini):
    audio, sr = sf.read(emomusic_mini / "clips_45seconds" / "3.mp3", dtype="float32")
    return audio[: int(12.3 * sr)], sr  # 24 full frames and a partial one


def _patch_reference(tracker, x16: np.ndarray, k: int) -> dict:
    """musicnn run on frame k's causal patch, cut by hand from the 16 kHz signal (zeros outside)."""
    logmel = frames_from_model_rate(x16, MUSICNN_SPEC)
    end = int(last_window(k))
    start = end - (PATCH_FRAMES - 1)
    patch = np.zeros((PATCH_FRAMES, 96), np.float32)
    lo, hi = max(start, 0), min(end + 1, len(logmel))
    patch[lo - start:hi - start] = logmel[lo:hi]
    with torch.inference_mode():
        return tracker.net(torch.from_numpy(patch)[None])._asdict()


def _head_input(tracker, ref: dict) -> np.ndarray:
    """The reference outputs the tracker's head reads (its facts' ``inputs``), concatenated in order."""
    with torch.inference_mode():
        pooled = tracker.net.pool_bn(interleave_pools(ref["max_pool"], ref["mean_pool"]))
    named = {**ref, "pooled": pooled}
    return np.concatenate([named[name].numpy() for name in tracker.inputs], axis=1)


def test_causal_patch_ends_inside_its_frame():
    k = np.arange(200)
    end = last_window(k) * MUSICNN_SPEC.hop_length + MUSICNN_SPEC.n_fft  # exclusive, in samples
    frame_end = (k + 1) * CAE_SPEC.frame_length
    assert np.all(end <= frame_end)  # causal: no sample after the frame's end
    assert np.all(end > frame_end - MUSICNN_SPEC.hop_length)  # and as late as possible
    starts = last_window(k) - (PATCH_FRAMES - 1)
    assert WARMUP_FRAMES == 6 and starts[5] < 0 <= starts[6]


def test_each_frame_is_musicnn_on_its_causal_patch(tracker, clip):
    audio, sr = clip
    out = tracker.analyze([audio], sr)
    x16 = resample(as_mono_float32(audio), sr, 16000)
    n = len(mel_frames(audio, sr, CAE_SPEC))
    assert len(out) == n == 25
    np.testing.assert_array_equal(out.warming_up, np.arange(n) < 6)
    np.testing.assert_allclose(out.time_s, (np.arange(n) + 1) * 0.5)  # frame END times
    assert out.extras.shape == (n, len(MSD_TAGS)) and tracker.extra_names == MSD_TAGS
    for k in (0, 3, 6, 11, n - 2, n - 1):  # warm-up (zeros before the start), full, partial last
        ref = _patch_reference(tracker, x16, k)
        np.testing.assert_allclose(out.extras[k], ref["tags"][0].numpy(), atol=TOLERANCE)
        expect = tracker.head.predict(_head_input(tracker, ref))
        np.testing.assert_allclose(out.values[k], expect[0], atol=TOLERANCE)


@pytest.mark.parametrize("sr", [22050, 44100, 48000])
def test_live_blocks_equal_offline_causal(tracker, clip, sr):
    """Random blocks of 1 sample to 3 s at 22.05/44.1/48 kHz give analyze --mode causal's results."""
    audio, sr0 = clip
    x = audio.mean(axis=1) if audio.ndim == 2 else audio
    x = resample(np.ascontiguousarray(x, np.float32), sr0, sr)
    offline = tracker.analyze([x], sr)
    rng = np.random.default_rng(sr)
    sizes = np.concatenate([[1, 1, 7], rng.integers(1, 3 * sr, 60)])
    cuts = np.cumsum(sizes)
    blocks = np.split(x, cuts[cuts < len(x)])
    live = tracker.analyze(blocks, sr)
    assert len(live) == len(offline) == 25
    np.testing.assert_allclose(live.values, offline.values, atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(live.extras, offline.extras, atol=TOLERANCE, rtol=0)
    # the shipped head's per-axis uncertainty follows the same stream
    assert offline.sd is not None and offline.sd.shape == (25, 2) and (offline.sd > 0).all()
    np.testing.assert_allclose(live.sd, offline.sd, atol=TOLERANCE, rtol=0)


def test_centered_mode_averages_the_covering_causal_patches(tracker, clip):
    audio, sr = clip
    causal = tracker.analyze([audio], sr)
    centered = tracker.analyze([audio], sr, mode="centered")
    n = len(causal)
    for k in (0, 4, n - 3, n - 1):
        hi = min(n, k + 6)
        np.testing.assert_allclose(centered.values[k], causal.values[k:hi].mean(axis=0), atol=1e-6)
        np.testing.assert_allclose(centered.extras[k], causal.extras[k:hi].mean(axis=0), atol=1e-6)
    assert not centered.warming_up.any()


def test_heads_may_read_other_musicnn_outputs(tracker, clip, tmp_path):
    audio, sr = clip
    outs = frame_outputs(audio, sr, ("pooled", "logits", "dense"), tracker=tracker)
    assert {k: v.shape[1] for k, v in outs.items()} == {"pooled": 1506, "logits": 50, "dense": 200}
    x = np.concatenate([outs["pooled"], outs["logits"]], axis=1)
    y = np.stack([np.linspace(-0.5, 0.5, len(x)), np.linspace(0.3, -0.3, len(x))], axis=1)
    head = RidgeHead.fit(x, y, 10.0, facts={"tracker": "musicnn", "inputs": ["pooled", "logits"]})
    path = head.save(tmp_path / "head.safetensors")
    custom = MusicnnTracker(load_head(path), head_path=path, model=tracker.net)
    np.testing.assert_allclose(custom.analyze([audio], sr).values, head.predict(x), atol=TOLERANCE)
    assert INPUTS["pooled"] == 1506

    wrong = RidgeHead.fit(outs["dense"], y, 10.0, facts={"inputs": ["pooled"]})
    with pytest.raises(CheckpointError, match="pooled"):
        load_head(wrong.save(tmp_path / "wrong.safetensors"))
    other = RidgeHead.fit(outs["dense"], y, 10.0, facts={"tracker": "rnn"})
    with pytest.raises(CheckpointError, match="'rnn' tracker"):
        load_head(other.save(tmp_path / "other.safetensors"))


def test_silence_is_flagged_and_warm_up_is_three_seconds(tracker):
    sr = 16000
    t = np.arange(6 * sr) / sr
    x = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    x[2 * sr:3 * sr] = 0.0
    out = tracker.analyze([x], sr)
    assert out.silent.tolist() == [False] * 4 + [True] * 2 + [False] * 6
    assert out.warming_up.tolist() == [True] * 6 + [False] * 6
    assert np.isfinite(out.values).all()


def test_analyze_defaults_to_musicnn_and_writes_tags_over_time(tmp_path):
    from emotrack.realtime.cli import main

    sr = 22050
    t = np.arange(int(4.2 * sr)) / sr
    wav = tmp_path / "tone.wav"
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 330 * t) * (1 + np.sin(2 * np.pi * 2 * t))).astype(np.float32), sr)
    out = tmp_path / "out"
    rc = main(["analyze", str(wav), "--mode", "causal", "--out", str(out), "--format", "json,csv", "--quiet"])
    assert rc == 0
    doc = json.loads((out / "tone.emotrack.json").read_text())
    assert doc["model"]["name"] == "musicnn" and len(doc["frames"]) == 8
    assert doc["tag_names"] == list(MSD_TAGS)
    assert all(set(f["tags"]) == set(MSD_TAGS) and 0 <= min(f["tags"].values()) <= max(f["tags"].values()) <= 1
               for f in doc["frames"])
    assert [f["time_s"] for f in doc["frames"]] == [0.5 * (k + 1) for k in range(8)]
    assert doc["warming_up_frames"] == 6
    header = (out / "tone.emotrack.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["frame_index", "time_s", "arousal", "valence"] and header[-1] == "tag_happy"


def test_state_stays_bounded_on_a_long_stream(tracker):
    """The windows and timbral outputs kept are one patch and a frame, however long the stream."""
    sr = 16000
    rng = np.random.default_rng(1)
    tracker.reset(sr)
    sizes = []
    for _ in range(60):  # 30 s in 500 ms blocks: five patches' worth
        tracker.push((0.1 * rng.standard_normal(sr // 2)).astype(np.float32))
        sizes.append((tracker._xb.shape[0], tracker._tim.shape[1]))
    assert max(x for x, _ in sizes) <= PATCH_FRAMES + 40
    assert max(t for _, t in sizes) <= PATCH_FRAMES + 40
    assert tracker.features._buf.size <= 8000 + 512


def test_parallel_patch_workers_give_the_same_results(tracker, clip):
    audio, sr = clip
    one = tracker.analyze([audio], sr)
    par = MusicnnTracker(tracker.head, model=tracker.net, workers=2)
    two = par.analyze([audio[:sr * 7], audio[sr * 7:]], sr)
    np.testing.assert_allclose(two.values, one.values, atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(two.extras, one.extras, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("model, file, message", [
    ("rnn", "teacher/musicnn_va_head.safetensors", "is a head of the musicnn tracker, not of the rnn tracker"),
    ("musicnn", "models/rnn.emotrack.safetensors", "is a checkpoint of the rnn tracker, not of the musicnn tracker"),
    ("cae", "models/baseline.emotrack.safetensors", "is a checkpoint of the baseline tracker, not of the cae tracker"),
])
def test_a_file_of_another_tracker_is_one_error_line(tmp_path, capsys, model, file, message):
    from importlib.resources import files

    from emotrack.realtime.cli import main

    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(16000, np.float32), 16000)
    path = str(files("emotrack.assets").joinpath(file))
    assert main(["analyze", str(wav), "--model", model, "--checkpoint", path, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("emotrack: error:") and message in err


def test_a_file_alone_chooses_its_tracker():
    from importlib.resources import files

    from emotrack.model.trackers import load_tracker

    assert load_tracker(checkpoint=str(files("emotrack.assets").joinpath("models/cae.emotrack.safetensors")),
                        device="cpu").name == "cae"
    head = load_tracker(checkpoint=str(files("emotrack.assets").joinpath("teacher/musicnn_va_head.safetensors")),
                        device="cpu")
    assert head.name == "musicnn" and head.inputs == head.head.facts["inputs"] == ["penultimate"]
