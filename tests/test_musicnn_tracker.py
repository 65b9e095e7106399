"""The musicnn tracker, both streams (exact causal 3 s patches; the causal network over the
stream): streaming == offline, silence, bounded state, heads, CLI default."""
from __future__ import annotations

import dataclasses
import json
from importlib.resources import files

import numpy as np
import pytest
import soundfile as sf
import torch

from emotrack.model.errors import CheckpointError
from emotrack.model.features import CAE_SPEC, frames_from_model_rate, mel_frames, resample
from emotrack.model.musicnn import MSD_TAGS, MUSICNN_SPEC, PATCH_FRAMES, interleave_pools
from emotrack.model.musicnn_causal import causal_reference
from emotrack.model.musicnn_tracker import (INPUTS, TOLERANCE, WARMUP_FRAMES, MusicnnTracker,
                                            frame_outputs, head_stream, last_window, load_head)
from emotrack.model.ridge import RidgeHead
from emotrack.model.validate import as_mono_float32

torch.set_num_threads(1)


def _bare(stream: str) -> MusicnnTracker:
    """The shipped head without a temporal stage (each frame's value is its own patch's), on ``stream``."""
    from emotrack.model.temporal import TemporalConfig

    return MusicnnTracker(temporal=TemporalConfig(), stream=stream)


@pytest.fixture(scope="module")
def patch_tracker():
    return _bare("patch")


@pytest.fixture(scope="module")
def causal_tracker():
    return _bare("causal")


@pytest.fixture(scope="module")
def aligned_tracker():
    return _bare("aligned")


@pytest.fixture(scope="module", params=["causal", "patch", "aligned"])
def tracker(request):
    """Every stream: what holds for one must hold for the others."""
    return request.getfixturevalue(f"{request.param}_tracker")


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


def test_each_frame_is_musicnn_on_its_causal_patch(patch_tracker, clip):
    tracker = patch_tracker
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


def _streamed_outputs_and_input(tracker, audio: np.ndarray, sr: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """A streamed tracker's pooled and dense outputs of the clip's 25 frames, the BN'd log-mel
    windows it read (global index 0 first, the silence before the stream included) and each
    frame's last window on that index."""
    out = frame_outputs(audio, sr, ("pooled", "dense"), tracker=tracker)
    tracker.reset(sr)
    windows = np.concatenate([b.data.windows for b in (tracker.features.push(audio), tracker.features.flush())])
    n = len(out["pooled"])
    assert n == 25
    pad = PATCH_FRAMES + tracker.causal.lookback
    ends = last_window(np.arange(n)) + pad
    x = np.full((int(ends[-1]) + 1, 96), float(tracker._bn_b), np.float32)  # silence: log-mel zeros after the BN
    x[pad:pad + len(windows)] = windows * tracker._bn_a + tracker._bn_b
    return out, x, ends


def test_causal_stream_is_the_network_run_causally_over_the_whole_signal(causal_tracker, clip):
    """stream="causal": frame k pools the 187 positions ending at its last window of every layer
    run as a causal convolution over the whole signal (preceded by silence), then musicnn's back
    end; the plain computation (:func:`causal_reference`) gives the same, warm-up and the partial
    last frame included."""
    tracker = causal_tracker
    audio, sr = clip
    out, x, ends = _streamed_outputs_and_input(tracker, audio, sr)
    with torch.inference_mode():
        ref = causal_reference(tracker.net, torch.from_numpy(x), ends)
        dense = tracker.net.dense(ref)
    np.testing.assert_allclose(out["pooled"], ref.numpy(), atol=TOLERANCE)
    np.testing.assert_allclose(out["dense"], dense.numpy(), atol=TOLERANCE)
    # causal: a frame's outputs do not change when audio after it is cut off
    cut = frame_outputs(audio[: int(6.0 * sr)], sr, ("pooled",), tracker=tracker)["pooled"]
    np.testing.assert_allclose(cut[:12], out["pooled"][:12], atol=TOLERANCE)
    # and it is not the exact patch mode: the outputs differ where the patch's zero padding mattered
    patch = frame_outputs(audio, sr, ("pooled",), tracker=_bare("patch"))["pooled"]
    assert np.abs(patch[6:] - out["pooled"][6:]).max() > 100 * TOLERANCE


def test_aligned_stream_is_musicnn_itself_over_the_whole_signal_pooled_73_windows_back(
        aligned_tracker, causal_tracker, clip):
    """stream="aligned": frame k pools what musicnn's own ("same"-padded) layers give when run
    over the whole signal at once (preceded by silence), at the 187 centres ending
    :data:`POOL_DELAY` (73) windows before the frame's last window: every branch and residual at
    the time musicnn puts it, computed here by the network's own modules, not by the stream's
    delays. The causal stream is not that (its branches are 61 windows apart)."""
    from emotrack.model.musicnn_causal import POOL_DELAY

    tracker = aligned_tracker
    net = tracker.net
    audio, sr = clip
    out, x, ends = _streamed_outputs_and_input(tracker, audio, sr)
    assert POOL_DELAY == 73
    with torch.inference_mode():
        xt = torch.from_numpy(x)[None, None]
        blocks = (net.timbral_74, net.timbral_77, net.temporal_128, net.temporal_64, net.temporal_32)
        front = torch.cat([b(xt) for b in blocks], dim=1)
        m1 = net.mid1(front)
        m2 = net.mid2(m1) + m1
        m3 = net.mid3(m2) + m2
        feats = torch.cat((front, m1, m2, m3), dim=1)[0]
        rows = []
        for e in ends - POOL_DELAY:
            f = feats[:, e - (PATCH_FRAMES - 1):e + 1]
            rows.append(interleave_pools(f.amax(dim=1)[None], f.mean(dim=1)[None]))
        ref = net.pool_bn(torch.cat(rows))
        dense = net.dense(ref)
    np.testing.assert_allclose(out["pooled"], ref.numpy(), atol=TOLERANCE)
    np.testing.assert_allclose(out["dense"], dense.numpy(), atol=TOLERANCE)
    # still causal: a frame's outputs do not change when audio after it is cut off
    cut = frame_outputs(audio[: int(6.0 * sr)], sr, ("pooled",), tracker=tracker)["pooled"]
    np.testing.assert_allclose(cut[:12], out["pooled"][:12], atol=TOLERANCE)
    causal = frame_outputs(audio, sr, ("pooled",), tracker=causal_tracker)["pooled"]
    assert np.abs(causal[6:] - out["pooled"][6:]).max() > 100 * TOLERANCE


def test_the_shipped_head_names_its_stream_and_the_tracker_follows_it(tmp_path):
    head = load_head()
    assert head_stream(head) == "causal" and MusicnnTracker().stream == "causal"
    old = load_head(files("emotrack.assets").joinpath("teacher/musicnn_va_head_issue12.safetensors"))
    assert head_stream(old) == "patch"  # heads without the fact were fitted on exact patches
    assert MusicnnTracker(old).stream == "patch"
    odd = dataclasses.replace(head, facts={**head.facts, "stream": "sideways"})
    path = tmp_path / "odd.safetensors"
    odd.save(path)
    with pytest.raises(CheckpointError, match="computed as 'sideways'"):
        load_head(path)


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


def test_centered_mode_averages_the_covering_causal_patches_of_real_audio(tracker, clip):
    """Frame k: the mean of the causal patches k..k+5 that contain it, leaving out patches padded
    with silence (k < 6); when all are padded (frame 0, 1), the first real patch (6). The aligned
    stream's outputs pool 3 s ending 1.17 s before their frame: there the patches containing frame
    k are those of frames k+2..k+7."""
    audio, sr = clip
    causal = tracker.analyze([audio], sr)
    centered = tracker.analyze([audio], sr, mode="centered")
    n = len(causal)
    lag = tracker.centered_lag
    assert lag == (2 if tracker.stream == "aligned" else 0)
    expected = {0: (6, 7), 1: (6, 7), 4: (6, 10), 8: (8, 14), n - 3: (n - 3, n), n - 1: (n - 1, n)}
    if lag:
        expected = {0: (6, 8), 1: (6, 9), 4: (6, 12), 8: (10, 16), n - 5: (n - 3, n), n - 1: (n - 1, n)}
    for k, (lo, hi) in expected.items():
        np.testing.assert_allclose(centered.values[k], causal.values[lo:hi].mean(axis=0), atol=1e-6)
    for k in (4, n - 3):  # the tags keep the covering mean
        lo = min(k + lag, n - 1)
        np.testing.assert_allclose(centered.extras[k], causal.extras[lo:min(n, lo + 6)].mean(axis=0), atol=1e-6)
    assert not centered.warming_up.any()


def test_no_unflagged_jump_at_the_start_of_a_clip_at_full_level(tracker, emomusic_mini):
    """emoMusic clip 7 is at full level from 0 s (issue 19: centered arousal used to jump from -0.78
    to +0.46 in 4 s).  Causal: the padded frames are flagged; centered: no frame uses padding, so
    the first frames sit where the music is, not in a corner."""
    audio, sr = sf.read(emomusic_mini / "clips_45seconds" / "7.mp3", dtype="float32")
    audio = audio[: 20 * sr]
    tracker = MusicnnTracker(tracker.head, model=tracker.net, stream=tracker.stream)  # the shipped temporal stage
    level = 20 * np.log10(np.sqrt(np.mean(audio[: sr // 2].astype(np.float64) ** 2)))
    assert level > -30  # full level from the first half second
    causal = tracker.analyze([audio], sr)
    centered = tracker.analyze([audio], sr, mode="centered")
    np.testing.assert_array_equal(causal.warming_up, np.arange(len(causal)) < WARMUP_FRAMES)
    assert not centered.warming_up.any()
    real = causal.values[WARMUP_FRAMES:]
    lo, hi = real.min(axis=0), real.max(axis=0)
    assert np.all(centered.values >= lo - 1e-6) and np.all(centered.values <= hi + 1e-6)
    # what padding does to the unflagged frames it would reach: the causal warm-up frames leave that range
    assert np.any((causal.values[:WARMUP_FRAMES] < lo) | (causal.values[:WARMUP_FRAMES] > hi))


def test_smoothing_keeps_live_equal_to_offline_causal(tracker, clip):
    """With a temporal stage (context 1.5 s, tau 1 s): random blocks give analyze --mode causal's values,
    and those are the stage applied to the raw head outputs."""
    from emotrack.model.temporal import TemporalConfig, causal_values

    audio, sr = clip
    cfg = TemporalConfig(context_s=1.5, tau_s=1.0)
    smooth = MusicnnTracker(tracker.head, model=tracker.net, temporal=cfg, stream=tracker.stream)
    offline = smooth.analyze([audio], sr)
    rng = np.random.default_rng(7)
    cuts = np.cumsum(rng.integers(1, 2 * sr, 40))
    live = smooth.analyze(np.split(audio, cuts[cuts < len(audio)]), sr)
    np.testing.assert_allclose(live.values, offline.values, atol=TOLERANCE, rtol=0)
    raw = tracker.analyze([audio], sr).values
    np.testing.assert_allclose(offline.values, causal_values(raw, cfg, WARMUP_FRAMES), atol=TOLERANCE)
    assert not np.allclose(offline.values[WARMUP_FRAMES:], raw[WARMUP_FRAMES:], atol=1e-3)
    assert smooth.describe()["temporal"] == cfg.to_dict()


def test_heads_may_read_other_musicnn_outputs(tracker, clip, tmp_path):
    audio, sr = clip
    outs = frame_outputs(audio, sr, ("pooled", "logits", "dense"), tracker=tracker)
    assert {k: v.shape[1] for k, v in outs.items()} == {"pooled": 1506, "logits": 50, "dense": 200}
    x = np.concatenate([outs["pooled"], outs["logits"]], axis=1)
    y = np.stack([np.linspace(-0.5, 0.5, len(x)), np.linspace(0.3, -0.3, len(x))], axis=1)
    head = RidgeHead.fit(x, y, 10.0, facts={"tracker": "musicnn", "inputs": ["pooled", "logits"]})
    path = head.save(tmp_path / "head.safetensors")
    custom = MusicnnTracker(load_head(path), head_path=path, model=tracker.net, temporal=tracker.temporal.config,
                            stream=tracker.stream)
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
    before = tracker.patches_run
    out = tracker.analyze([x], sr)
    assert out.silent.tolist() == [False] * 4 + [True] * 2 + [False] * 6
    assert out.warming_up.tolist() == [True] * 6 + [False] * 6
    # a silent frame has no emotion: no values, no tags, no network pass (DESIGN contract 7)
    assert np.isnan(out.values[out.silent]).all() and np.isnan(out.extras[out.silent]).all()
    assert np.isfinite(out.values[~out.silent]).all() and np.isfinite(out.extras[~out.silent]).all()
    assert tracker.patches_run - before == 10
    # skipping the silent frames changes no other frame
    tracker.skips_silent = False
    before = tracker.patches_run
    try:
        full = tracker.analyze([x], sr)
    finally:
        del tracker.skips_silent
    assert tracker.patches_run - before == 12 and np.isnan(full.values[out.silent]).all()
    np.testing.assert_allclose(out.values[~out.silent], full.values[~out.silent], atol=TOLERANCE)
    np.testing.assert_allclose(out.extras[~out.silent], full.extras[~out.silent], atol=TOLERANCE)
    # live (small blocks) skips the same frames and gives the same results
    live = tracker.analyze([x[i:i + 1234] for i in range(0, len(x), 1234)], sr)
    assert np.array_equal(np.isnan(live.values), np.isnan(out.values))
    np.testing.assert_allclose(live.values[~out.silent], out.values[~out.silent], atol=TOLERANCE)
    centered = tracker.analyze([x], sr, mode="centered")
    assert np.isnan(centered.values[out.silent]).all() and np.isfinite(centered.values[~out.silent]).all()


def test_long_digital_silence_runs_no_network(tracker):
    """Issue 23 class 9: hours of digital silence must not cost a network pass per frame."""
    sr = 16000
    x = np.zeros(20 * 60 * sr, np.float32)  # 20 minutes, 2400 frames
    t = np.arange(2 * sr) / sr
    x[600 * sr:602 * sr] = 0.3 * np.sin(2 * np.pi * 220 * t)  # 2 s of tone after 10 minutes
    patches, front = tracker.patches_run, tracker.front_end_run
    out = tracker.analyze([x[i:i + 10 * sr] for i in range(0, len(x), 10 * sr)], sr)
    heard = int((~out.silent).sum())
    assert len(out) == 2400 and 4 <= heard <= 6  # the tone's frames (edges may fall below -60 dBFS)
    assert tracker.patches_run - patches == heard
    # the streamed front end (4 branches) runs only over the heard frames' patches, not 20 minutes
    assert tracker.front_end_run - front <= 4 * (187 + heard * 32)
    assert np.isnan(out.values[out.silent]).all()


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
    # the words follow the shipped head's calibrated side half-width, and the file says so
    from emotrack.realtime.mood import mood_words

    tracker = MusicnnTracker()
    assert tracker.side_halfwidth is not None and np.isfinite(tracker.side_halfwidth).all()
    assert "calibrated probability of 90 %" in doc["uncertainty"]["meaning"]
    assert f"{tracker.side_halfwidth[0]:.3f} (arousal)" in doc["uncertainty"]["meaning"]
    values = np.array([[f["arousal"], f["valence"]] for f in doc["frames"]], np.float32)
    sd = np.array([[f["arousal_sd"], f["valence_sd"]] for f in doc["frames"]], np.float32)
    want = mood_words(values, scale=tracker.scale, sd=sd, side_halfwidth=tracker.side_halfwidth)
    assert [f["mood"] for f in doc["frames"]] == want


def test_state_stays_bounded_on_a_long_stream(tracker):
    """The windows and front-end outputs kept are one patch and a frame, however long the stream."""
    sr = 16000
    rng = np.random.default_rng(1)
    tracker.reset(sr)
    sizes = []
    for _ in range(60):  # 30 s in 500 ms blocks: five patches' worth
        tracker.push((0.1 * rng.standard_normal(sr // 2)).astype(np.float32))
        stores = (tracker.causal.store.values() if tracker.causal is not None
                  else (b.store for b in tracker.branches))
        sizes.append((tracker._xb.shape[0], max(s.shape[1] for s in stores)))
    lookback = tracker.causal.lookback if tracker.causal is not None else 0
    assert max(x for x, _ in sizes) <= PATCH_FRAMES + lookback + 40
    assert max(t for _, t in sizes) <= PATCH_FRAMES + 18 + 40
    assert tracker.features._buf.size <= 8000 + 512


def test_parallel_patch_workers_give_the_same_results(tracker, clip):
    audio, sr = clip
    one = tracker.analyze([audio], sr)
    par = MusicnnTracker(tracker.head, model=tracker.net, workers=2, temporal=tracker.temporal.config,
                         stream=tracker.stream)
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
    assert head.name == "musicnn" and head.inputs == head.head.facts["inputs"] == ["pooled"]
    assert head.stream == "causal"
    exact = load_tracker(checkpoint=str(files("emotrack.assets").joinpath("teacher/musicnn_va_head_patch.safetensors")),
                         device="cpu")
    assert exact.name == "musicnn" and exact.stream == "patch" and exact.inputs == ["penultimate"]
    aligned = load_tracker(
        checkpoint=str(files("emotrack.assets").joinpath("teacher/musicnn_va_head_aligned.safetensors")), device="cpu")
    assert aligned.name == "musicnn" and aligned.stream == "aligned" and aligned.inputs == ["penultimate"]
    assert aligned.centered_lag == 2 and head.centered_lag == exact.centered_lag == 0
