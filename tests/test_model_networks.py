"""Networks: shapes, output range, eval determinism, gradient flow, CAE shape trace."""
from __future__ import annotations

import pytest
import torch

from emotrack.model.errors import ParameterError
from emotrack.model.networks import CAE, MODELS, build_model

SMALL = {
    "cae": {"channels": [4, 4, 4, 4]},
    "baseline": {"context": 4, "hidden": 8},
    "rnn": {"conv_channels": 8, "hidden": 8, "kernel": 3},
}


def test_registry_names():
    assert set(MODELS) == {"cae", "baseline", "rnn"}


def test_cae_shape_trace_matches_docstring():
    model = CAE()
    trace = dict(model.shape_trace(torch.zeros(1, 1, 96, 60)))
    assert trace["cnn1"] == (1, 8, 48, 30)
    assert trace["cnn2"] == (1, 16, 24, 15)
    assert trace["cnn3"] == (1, 16, 18, 31)
    assert trace["cnn4"] == (1, 8, 12, 66)
    assert trace["cnn5"] == (1, 1, 16, 60)
    assert trace["pool"] == (1, 1, 2, 60)


def test_cae_poster_literal_paddings_give_16x53():
    """The reason for the documented change: the table taken literally does not give 2 x 60."""
    h = torch.zeros(1, 1, 96, 60)
    for layer in (
        torch.nn.Conv2d(1, 1, 7, 2, 3),
        torch.nn.Conv2d(1, 1, 5, 2, 2),
        torch.nn.ConvTranspose2d(1, 1, 5, (1, 2), (5, 1)),
        torch.nn.ConvTranspose2d(1, 1, 7, (1, 2), (6, 1)),
        torch.nn.ConvTranspose2d(1, 1, (7, 1), 1, (1, 6)),
    ):
        h = layer(h)
    assert tuple(h.shape[2:]) == (16, 53)


def test_cae_keeps_poster_kernels_and_strides():
    m = CAE()
    assert (m.cnn1.kernel_size, m.cnn1.stride, m.cnn1.padding) == ((7, 7), (2, 2), (3, 3))
    assert (m.cnn2.kernel_size, m.cnn2.stride, m.cnn2.padding) == ((5, 5), (2, 2), (2, 2))
    assert (m.cnn3.kernel_size, m.cnn3.stride, m.cnn3.padding) == ((5, 5), (1, 2), (5, 1))
    assert (m.cnn4.kernel_size, m.cnn4.stride, m.cnn4.padding) == ((7, 7), (1, 2), (6, 1))
    assert (m.cnn5.kernel_size, m.cnn5.stride) == ((7, 1), (1, 1))
    assert m.drop.p == 0.75
    assert isinstance(m.act, torch.nn.LeakyReLU)


def test_cae_refuses_wrong_window():
    with pytest.raises(ParameterError, match=r"\(batch, 1, 96, 60\)"):
        CAE(channels=[2, 2, 2, 2])(torch.zeros(1, 1, 96, 59))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_shapes_and_range(name):
    torch.manual_seed(0)
    model = build_model(name, **SMALL[name]).eval()
    T = 60 if name == "cae" else 23
    x = torch.randn(3, 1, 96, T) * 5  # large inputs: outputs must still be in [-1, 1]
    y = model(x)
    assert y.shape == (3, 2, T)
    assert torch.isfinite(y).all()
    assert y.abs().max() <= 1.0


@pytest.mark.parametrize("name", sorted(SMALL))
def test_eval_mode_is_deterministic_and_train_mode_is_not(name):
    torch.manual_seed(0)
    model = build_model(name, **SMALL[name])
    x = torch.randn(2, 1, 96, 60)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))  # dropout is active in training


@pytest.mark.parametrize("name", sorted(SMALL))
def test_gradient_reaches_every_parameter(name):
    torch.manual_seed(0)
    model = build_model(name, **SMALL[name]).train()
    x = torch.randn(4, 1, 96, 60)
    loss = ((model(x) - 0.3) ** 2).mean()
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", ["baseline", "rnn"])
def test_frame_models_are_causal(name):
    torch.manual_seed(0)
    model = build_model(name, **SMALL[name]).eval()
    x = torch.randn(1, 1, 96, 30)
    y = model(x)
    x2 = x.clone()
    x2[..., 20:] = torch.randn(1, 1, 96, 10)  # change the future only
    y2 = model(x2)
    assert torch.allclose(y[..., :20], y2[..., :20], atol=1e-6)
    assert not torch.allclose(y[..., 20:], y2[..., 20:])


def test_rnn_step_by_step_equals_offline():
    torch.manual_seed(0)
    model = build_model("rnn", **SMALL["rnn"], num_layers=2).eval()
    x = torch.randn(2, 1, 96, 40)
    offline = model(x)
    state = model.initial_state(2)
    steps = []
    for t in range(40):
        out, state = model.step(x[:, 0, :, t], state)
        steps.append(out)
    online = torch.stack(steps, dim=-1)
    assert torch.allclose(offline, online, atol=1e-5), (offline - online).abs().max()


def test_build_model_errors():
    with pytest.raises(ParameterError, match="unknown model 'lstm'"):
        build_model("lstm")
    with pytest.raises(ParameterError, match="bad hyper-parameters"):
        build_model("cae", kernel=3)
    with pytest.raises(ParameterError, match="dropout"):
        build_model("baseline", dropout=1.5)
