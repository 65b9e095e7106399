"""musicnn port vs the original TensorFlow graph (golden outputs), plus its known traps.

``tests/data/musicnn_golden.npz`` was written by ``tools/convert_musicnn.py``
with the musicnn 0.1.0 wheel's own ``models.py`` and ``extractor.batch_data``
under TensorFlow 2.15 (TF1 compat mode).  These tests need no TensorFlow.

Tolerances: network outputs (tags, 200-d embeddings) ``atol=1e-4``; pooled
features (magnitudes up to ~50) ``rtol=2e-5, atol=1e-4``; log-mel input
``atol=5e-4``, one float16 step of the mel energy after ``log10(1 + 1e4 x)``,
in case a different FFT flips a float16 rounding.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import emotrack.model.musicnn as mn
from musicnn_signal import musicnn_test_signal

GOLDEN = Path(__file__).parent / "data" / "musicnn_golden.npz"
ATOL = 1e-4


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN) as g:
        return {k: g[k] for k in g.files}


@pytest.fixture(scope="module")
def model() -> mn.MusicnnMSD:
    return mn.load_musicnn("cpu")


def _run(net: mn.MusicnnMSD, logmel: np.ndarray) -> mn.MusicnnOutput:
    with torch.inference_mode():
        return net(torch.from_numpy(logmel))


def _max_dev(net: mn.MusicnnMSD, golden: dict) -> float:
    out = _run(net, golden["logmel"])
    return max(float(np.abs(getattr(out, k).numpy() - golden[k]).max()) for k in ("tags", "dense"))


def _set_bn_eps(net: torch.nn.Module, eps: float) -> None:
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eps = eps


# --- golden --------------------------------------------------------------


def test_signal_is_the_one_the_golden_was_made_from(golden):
    y = musicnn_test_signal()
    np.testing.assert_array_equal(y[:64], golden["signal_head"])
    assert np.abs(y.astype(np.float64)).sum() == pytest.approx(float(golden["signal_sum_abs"]), rel=1e-12)


def test_frontend_matches_original_batch_data(golden):
    patches = mn.musicnn_patches(mn.musicnn_logmel(musicnn_test_signal()))
    assert patches.shape == golden["logmel"].shape == (3, mn.PATCH_FRAMES, mn.N_MELS)
    np.testing.assert_allclose(patches, golden["logmel"], rtol=0, atol=5e-4)


def test_network_matches_tf_on_golden_patches(golden, model):
    out = _run(model, golden["logmel"])
    for key in ("tags", "dense", "penultimate"):
        np.testing.assert_allclose(getattr(out, key).numpy(), golden[key], rtol=0, atol=ATOL, err_msg=key)
    for key in ("mean_pool", "max_pool"):
        np.testing.assert_allclose(getattr(out, key).numpy(), golden[key], rtol=2e-5, atol=ATOL, err_msg=key)


def test_embed_end_to_end_matches_tf(golden, model):
    emb, tags = mn.embed(musicnn_test_signal(), model=model)
    np.testing.assert_allclose(emb, golden["dense"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(tags, golden["tags"], rtol=0, atol=ATOL)
    pen, _ = mn.embed(musicnn_test_signal(), model=model, layer="penultimate")
    np.testing.assert_allclose(pen, golden["penultimate"], rtol=0, atol=ATOL)


# --- traps ---------------------------------------------------------------


def test_tf_same_padding_is_asymmetric_for_even_kernels():
    assert mn.tf_same_padding(128) == (63, 64)
    assert mn.tf_same_padding(64) == (31, 32)
    assert mn.tf_same_padding(32) == (15, 16)
    assert mn.tf_same_padding(7) == (3, 3)
    assert mn.tf_same_padding(1) == (0, 0)


def test_temporal_block_aligns_like_tf_same():
    # One-hot kernel at tap i: TF "same" gives out[t] = x[t + i - (k-1)//2], zero outside.
    k, i, T = 4, 0, 6
    block = mn._FreqPooledConv(1, k, 1).eval()
    with torch.no_grad():
        block.conv.weight.zero_()
        block.conv.weight[0, 0, i, 0] = 1.0
        block.conv.bias.zero_()
        x = torch.arange(1.0, T + 1).reshape(1, 1, T, 1)
        got = block(x)[0, 0] * (1 + mn.BN_EPS) ** 0.5  # undo the default BN (var 1)
    expected = [0.0] + list(range(1, T))  # pad before = (4-1)//2 = 1
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)


def test_wrong_padding_breaks_golden(golden, monkeypatch):
    monkeypatch.setattr(mn, "tf_same_padding", lambda k: (k // 2, (k - 1) // 2))
    assert _max_dev(mn.load_musicnn(), golden) > 1e-2


def test_bn_epsilon_is_tf_default(model, golden):
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert len(bns) == 11 and all(m.eps == 1e-3 for m in bns)
    wrong = mn.load_musicnn()
    _set_bn_eps(wrong, 1e-5)  # PyTorch's default
    assert _max_dev(wrong, golden) > 1e-2


def test_flatten_interleaves_max_and_mean():
    mx = torch.tensor([[1.0, 2.0, 3.0]])
    mean = torch.tensor([[10.0, 20.0, 30.0]])
    assert mn.interleave_pools(mx, mean).tolist() == [[1.0, 10.0, 2.0, 20.0, 3.0, 30.0]]


def test_wrong_flatten_breaks_golden(golden, monkeypatch):
    monkeypatch.setattr(mn, "interleave_pools", lambda a, b: torch.cat((a, b), dim=1))
    assert _max_dev(mn.load_musicnn(), golden) > 1e-2


# --- API -----------------------------------------------------------------


def test_tags_and_shapes(model):
    assert len(mn.MSD_TAGS) == 50 and len(set(mn.MSD_TAGS)) == 50
    assert mn.MSD_TAGS[:3] == ("rock", "pop", "alternative") and mn.MSD_TAGS[-1] == "happy"
    out = _run(model, np.zeros((2, mn.PATCH_FRAMES, mn.N_MELS), np.float32))
    assert out.tags.shape == (2, 50) and out.dense.shape == (2, 200)


def test_short_audio_gives_no_patches(model):
    emb, tags = mn.embed(np.zeros(mn.SAMPLE_RATE, np.float32), model=model)  # 1 s < 3 s
    assert emb.shape == (0, 200) and tags.shape == (0, 50)


def test_patch_count_and_hop():
    logmel = np.zeros((626, mn.N_MELS), np.float32)
    assert mn.musicnn_patches(logmel).shape[0] == 3  # starts 0, 187, 374
    assert mn.musicnn_patches(logmel, hop=93).shape[0] == 5  # starts 0, 93, ..., 372
    with pytest.raises(mn.ParameterError):
        mn.musicnn_patches(logmel, hop=0)


def test_fp16_clip_keeps_loud_input_finite():
    t = np.arange(3 * mn.SAMPLE_RATE) / mn.SAMPLE_RATE
    loud = (20.0 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)  # mel energy > float16 max
    assert np.isfinite(mn.musicnn_logmel(loud)).all()


def test_embed_rejects_unknown_layer(model):
    with pytest.raises(mn.ParameterError):
        mn.embed(np.zeros(3 * mn.SAMPLE_RATE, np.float32), model=model, layer="logits")


def test_shipped_weights_match_recorded_sha256():
    import hashlib
    import re
    from importlib.resources import files

    root = files("emotrack.assets").joinpath("musicnn")
    recorded = re.search(r"Converted file: sha256 `([0-9a-f]{64})`", root.joinpath("README.md").read_text())
    assert recorded, "assets/musicnn/README.md lost its sha256 line"
    actual = hashlib.sha256(root.joinpath("msd_musicnn.safetensors").read_bytes()).hexdigest()
    assert actual == recorded.group(1)


def test_feature_spec_grid_is_musicnn_shifted_by_one_frame():
    from emotrack.model.features import mel_frames

    y = musicnn_test_signal()
    grid = mel_frames(y, mn.SAMPLE_RATE, mn.MUSICNN_SPEC)
    ours = mn.musicnn_logmel(y, fp16_round_trip=False)
    np.testing.assert_allclose(grid, ours[1:1 + len(grid)], rtol=0, atol=1e-5)
    np.testing.assert_allclose(grid, mn.musicnn_logmel(y)[1:1 + len(grid)], rtol=0, atol=3e-4)
