"""The teacher's 2 Hz curve: exact sliding patches, causal frame mapping, shapes and times."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from emotrack.model.features import CAE_SPEC, frames_from_model_rate, mel_frames
from emotrack.model.musicnn import MSD_TAGS, MUSICNN_SPEC, PATCH_FRAMES, load_musicnn
from emotrack.model.teacher import (
    WARMUP_FRAMES, causal_patch_starts, n_frames_of, patch_outputs, teacher_curve, to_model_rate,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def net():
    return load_musicnn()


@pytest.fixture(scope="module")
def clip(emomusic_mini):
    audio, sr = sf.read(emomusic_mini / "clips_45seconds" / "3.mp3", dtype="float32")
    return audio[: int(8.3 * sr)], sr  # 8.3 s: 16 full frames and a partial one


def test_causal_patch_ends_inside_its_frame():
    k = np.arange(200)
    starts = causal_patch_starts(len(k))
    last_window = starts + PATCH_FRAMES - 1
    patch_end = last_window * MUSICNN_SPEC.hop_length + MUSICNN_SPEC.n_fft  # exclusive, in samples
    frame_end = (k + 1) * CAE_SPEC.frame_length
    assert np.all(patch_end <= frame_end)  # causal: no sample after the frame's end
    assert np.all(patch_end > frame_end - MUSICNN_SPEC.hop_length)  # and as late as possible
    assert WARMUP_FRAMES == 6 and starts[5] < 0 <= starts[6]


def test_sliding_patches_equal_musicnn_on_each_patch(net):
    rng = np.random.default_rng(0)
    logmel = rng.uniform(0, 4, (700, 96)).astype(np.float32)
    starts = np.array([-100, -3, 0, 1, 2, 31, 250, 511, 513, 600])  # edges, overlaps, beyond the end
    dense, tags = patch_outputs(logmel, starts, model=net, batch_size=4)
    padded = np.zeros((1100, 96), np.float32)
    padded[200:900] = logmel
    patches = np.stack([padded[s + 200:s + 200 + PATCH_FRAMES] for s in starts])
    with torch.inference_mode():
        ref = net(torch.from_numpy(patches))
    np.testing.assert_allclose(dense, ref.dense.numpy(), atol=1e-4)
    np.testing.assert_allclose(tags, ref.tags.numpy(), atol=1e-5)


def test_teacher_curve_shapes_times_and_frame_mapping(clip, net):
    audio, sr = clip
    curve = teacher_curve(audio, sr, model=net)
    n = len(mel_frames(audio, sr, CAE_SPEC))
    assert n == 17
    for key in ("arousal", "valence", "times", "frame_index", "warming_up"):
        assert curve[key].shape == (n,), key
    assert curve["tags"].shape == (n, len(MSD_TAGS)) and curve["tag_names"] == MSD_TAGS
    assert np.all((curve["tags"] >= 0) & (curve["tags"] <= 1))
    np.testing.assert_allclose(curve["times"], (np.arange(n) + 1) * 0.5)  # frame END times
    np.testing.assert_array_equal(curve["warming_up"], np.arange(n) < 6)
    assert np.all(np.abs(curve["arousal"]) <= 1) and np.all(np.abs(curve["valence"]) <= 1)

    # frame k's tags are musicnn's on the audio of [end - 3 s, end) cut by hand
    x16 = to_model_rate(audio, sr)
    assert n_frames_of(x16.size) == n
    for k in (6, 11, n - 2):  # n - 1 is the partial last frame (zeros past the end)
        j_last = ((k + 1) * 8000 - 512) // 256
        seg = x16[256 * (j_last - 186): 256 * j_last + 512]
        assert len(seg) / 16000 == pytest.approx(3.0, abs=0.02) and 256 * j_last + 512 <= (k + 1) * 8000
        patch = frames_from_model_rate(seg, MUSICNN_SPEC)
        assert patch.shape == (PATCH_FRAMES, 96)
        with torch.inference_mode():
            ref = net(torch.from_numpy(patch)[None])
        np.testing.assert_allclose(curve["tags"][k], ref.tags[0].numpy(), atol=1e-5)


def test_centered_mode_averages_the_covering_causal_patches(clip, net):
    from emotrack.model.teacher import covering_average

    audio, sr = clip
    causal = teacher_curve(audio, sr, model=net)
    centered = teacher_curve(audio, sr, model=net, mode="centered")
    n = len(causal["arousal"])
    for k in (0, 4, n - 3, n - 1):
        hi = min(n, k + 6)
        assert centered["arousal"][k] == pytest.approx(causal["arousal"][k:hi].mean(), abs=1e-6)
        np.testing.assert_allclose(centered["tags"][k], causal["tags"][k:hi].mean(axis=0), atol=1e-6)
    assert not centered["warming_up"].any()
    np.testing.assert_allclose(covering_average(np.arange(4.0), span=2), [0.5, 1.5, 2.5, 3.0])


def test_analyze_model_musicnn_writes_tags_over_time(tmp_path):
    import json

    from emotrack.model.errors import ParameterError
    from emotrack.realtime.cli import main

    sr = 22050
    t = np.arange(int(4.2 * sr)) / sr
    wav = tmp_path / "tone.wav"
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 330 * t) * (1 + np.sin(2 * np.pi * 2 * t))).astype(np.float32), sr)
    out = tmp_path / "out"
    rc = main(["analyze", str(wav), "--model", "musicnn", "--mode", "causal", "--out", str(out),
               "--format", "json,csv", "--quiet"])
    assert rc == 0
    doc = json.loads((out / "tone.emotrack.json").read_text())
    n = len(mel_frames(sf.read(wav, dtype="float32")[0], sr, CAE_SPEC))
    assert doc["model"]["name"] == "musicnn-teacher" and len(doc["frames"]) == n == 8
    assert doc["tag_names"] == list(MSD_TAGS)
    assert all(len(f["tags"]) == 50 and 0 <= min(f["tags"]) <= max(f["tags"]) <= 1 for f in doc["frames"])
    assert [f["time_s"] for f in doc["frames"]] == [0.5 * (k + 1) for k in range(n)]
    assert doc["warming_up_frames"] == 6
    assert (out / "tone.emotrack.csv").read_text().splitlines()[0] == "time_s,arousal,valence"
    with pytest.raises(ParameterError, match="--checkpoint cannot be combined"):
        from emotrack.realtime.commands.analyze import run
        from emotrack.realtime.cli import build_parser

        run(build_parser().parse_args(["analyze", str(wav), "--model", "musicnn", "--checkpoint", "x"]))
