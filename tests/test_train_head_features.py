"""Per-frame musicnn layers for output heads: equal to musicnn run on each causal patch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from emotrack.model.errors import ParameterError
from emotrack.model.features import frames_from_model_rate
from emotrack.model.musicnn import MUSICNN_SPEC, PATCH_FRAMES, interleave_pools, load_musicnn
from emotrack.model.teacher import causal_patch_starts, teacher_embeddings, to_model_rate
from emotrack.train.head_features import HEAD_INPUTS, head_input, musicnn_frame_layers
from musicnn_signal import musicnn_test_signal


@pytest.fixture(scope="module")
def signal_layers():
    x = musicnn_test_signal(duration_s=5.0)
    net = load_musicnn("cpu")
    return x, net, musicnn_frame_layers(x, 16000, model=net)


def test_layers_equal_musicnn_on_each_causal_patch(signal_layers):
    x, net, layers = signal_layers
    n = len(layers["dense"])
    assert n == 10 and {k: v.shape for k, v in layers.items()} == {
        **{k: (n, w) for k, w in HEAD_INPUTS.items()}, "level_db": (n,)}
    dense, _ = teacher_embeddings(x, 16000)
    np.testing.assert_array_equal(layers["dense"], dense)  # the tracker's own numbers
    logmel = frames_from_model_rate(to_model_rate(x, 16000), MUSICNN_SPEC)
    starts = causal_patch_starts(n)
    for k in (6, 9):  # full patches (earlier ones are zero-padded at the start)
        with torch.inference_mode():
            out = net(torch.from_numpy(logmel[starts[k]:starts[k] + PATCH_FRAMES])[None])
            pooled = net.pool_bn(interleave_pools(out.max_pool, out.mean_pool))
        for name, want in (("penultimate", out.penultimate), ("logits", out.logits), ("pooled", pooled)):
            np.testing.assert_allclose(layers[name][k], want[0].numpy(), atol=5e-5, err_msg=name)
    assert not (net.pool_bn._forward_hooks or net.dense_bn._forward_hooks or net.out._forward_hooks)


def test_frame_levels_are_rms_dbfs_of_each_half_second(signal_layers):
    x, _, layers = signal_layers
    frames = x[:80000].astype(np.float64).reshape(10, 8000)
    want = 10 * np.log10((frames ** 2).mean(axis=1))
    np.testing.assert_allclose(layers["level_db"], want, atol=1e-3)


def test_head_input_concatenates_in_the_order_given(signal_layers):
    _, _, layers = signal_layers
    both = head_input(layers, ["logits", "dense"])
    assert both.shape == (10, 250)
    np.testing.assert_array_equal(both[:, :50], layers["logits"])
    with pytest.raises(ParameterError, match="tags"):
        head_input(layers, ["tags"])
    with pytest.raises(ParameterError):
        head_input(layers, [])
