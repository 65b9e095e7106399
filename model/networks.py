"""The networks: the poster's :class:`CAE`, a :class:`FrameMLP` baseline and a causal :class:`ConvGRU`.

Common interface
----------------
Every network maps standardised features ``x`` of shape ``(batch, 1, n_mels, T)``
(channel x mel x time, the poster's layout) to predictions ``(batch, 2, T)`` in
``[-1, 1]``, rows in the order (arousal, valence) (DESIGN contract 6).  The CAE
only accepts ``T == 60`` (its 30 s window); the other two accept any ``T``.

Each class has the class attributes ``name`` (registry key), ``stateful``
(whether it carries a hidden state frame by frame, see :meth:`ConvGRU.step`) and
``HPARAMS`` (a checker per hyper-parameter: type and sane limits).
:func:`build_model` builds any of them from its name and hyper-parameters after
:func:`check_hparams`; :func:`state_shapes` gives the weights' shapes without
allocating them (a checkpoint's tensors are compared with it before anything is built).
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from .errors import ParameterError
from .validate import as_bool, as_float, as_int, quote

Checker = Callable[[Any, str], Any]


def _int(lo: int, hi: int) -> Checker:
    return lambda value, name: as_int(value, name=name, lo=lo, hi=hi)


def _dropout(value: Any, name: str) -> float:
    return as_float(value, name=name, lo=0.0, hi=1.0, hi_open=True)


def _bool(value: Any, name: str) -> bool:
    return as_bool(value, name=name)


def _ints(n: int, lo: int, hi: int) -> Checker:
    def check(value: Any, name: str) -> tuple[int, ...]:
        if not isinstance(value, (list, tuple)) or len(value) != n:
            raise ParameterError(f"{name} must be {n} whole numbers from {lo} to {hi}, got {quote(value)}")
        return tuple(as_int(v, name=f"each of {name}", lo=lo, hi=hi) for v in value)
    return check


_N_MELS = _int(1, 512)
_WIDTH = _int(1, 4096)  # channels / hidden units: 4096 wide layers are already ~100x the shipped ones
_CONTEXT = _int(1, 512)  # frames of context (256 s)

WINDOW = 60
"""Frames in the CAE's analysis window (30 s at 2 Hz)."""


class CAE(nn.Module):
    """The poster's convolutional (auto)encoder, input ``(B, 1, 96, 60)`` -> ``(B, 2, 60)``.

    Layers (kernel / stride / padding as (mel, time)), each conv followed by
    LeakyReLU and dropout (0.75 in the poster):

    ====================  ======  ======  ===============================
    layer                 kernel  stride  padding
    ====================  ======  ======  ===============================
    CNN1 conv             7x7     2x2     3x3
    CNN2 conv             5x5     2x2     2x2
    CNN3 transposed       5x5     1x2     5x1
    CNN4 transposed       7x7     1x2     6x1, **output_padding 0x1**
    CNN5 transposed       7x1     1x1     **1x3** (poster: 1x6)
    max pooling           1x1     **14x1** (poster: 14x2)
    tanh
    ====================  ======  ======  ===============================

    Shape trace (channels, mel, time) for the defaults, poster literal vs. this
    implementation::

        input            1 x 96 x 60      1 x 96 x 60
        CNN1            c1 x 48 x 30     c1 x 48 x 30
        CNN2            c2 x 24 x 15     c2 x 24 x 15
        CNN3            c3 x 18 x 31     c3 x 18 x 31
        CNN4            c4 x 12 x 65     c4 x 12 x 66   (output_padding 1 in time)
        CNN5             1 x 16 x 53      1 x 16 x 60   (time padding 3, not 6)
        max pool 1x1     1 x  2 x 27      1 x  2 x 60   (time stride 1, not 2)
        tanh, squeeze        2 x 27           2 x 60    rows: mel-rows 0 and 14

    Why these three changes and no others: after the encoder halves time twice
    (60 -> 15), transposed layers with these kernels and strides reach at most
    ``71 - 4*p3 - 2*p4 - 2*p5`` time steps (plus output padding), i.e. never the
    119-120 that a time stride of 2 in the final pooling would need for 60
    outputs.  So the pooling's time stride must be 1 (a 1x1 max pool with
    stride 1 is a no-op in time; its mel stride 14 still picks mel-rows 0 and 14
    of the 16 as the two outputs).  Without output padding the time length is
    always odd, so 60 needs ``output_padding=1`` in one stride-2 layer (CNN4);
    then CNN5's time padding 3 (instead of 6) gives exactly 60.  All kernels,
    the conv strides and the mel axis are as in the poster.

    Dropout follows CNN1-CNN4.  It is not applied after CNN5 unless
    ``dropout_on_output`` is set: CNN5's single map *is* the prediction, and
    dropping 75 % of it would train on zeros (tanh(0)) scaled by 4.

    Parameters
    ----------
    n_mels : int
        Mel bands of the input (96: the mel stride 14 of the pooling is tuned to it).
    channels : tuple of 4 ints
        Feature maps of CNN1-CNN4 (the poster does not give them).  The
        default (8, 16, 16, 8) keeps offline analysis fast on a laptop CPU
        (one 60-frame window per frame in causal mode; (16, 32, 32, 16) costs
        about 3x more, see docs/models.md).
    dropout : float in [0, 1)
    negative_slope : float
        LeakyReLU slope.
    dropout_on_output : bool
        Also apply dropout after CNN5 (the poster's literal reading).
    activation_on_output : bool
        Apply the LeakyReLU after CNN5 too (the poster's literal "each conv followed by
        LeakyReLU"; the default, so checkpoints written before this option load unchanged).
        CNN5's map *is* the prediction, and a LeakyReLU (slope 0.01) before the tanh
        squeezes every negative prediction 100-fold: a network whose CNN5 output starts
        negative predicts ~0 everywhere and its gradients are 100 times smaller there.
        ``emotrack train`` sets it to False for the cae (docs/training.md).
    """

    name = "cae"
    stateful = False
    HPARAMS: dict[str, Checker] = {
        "n_mels": _int(96, 96), "channels": _ints(4, 1, 1024), "dropout": _dropout,
        "negative_slope": lambda v, n: as_float(v, name=n, lo=0.0, hi=1.0), "dropout_on_output": _bool,
        "activation_on_output": _bool,
    }

    def __init__(
        self,
        *,
        n_mels: int = 96,
        channels: tuple[int, int, int, int] | list[int] = (8, 16, 16, 8),
        dropout: float = 0.75,
        negative_slope: float = 0.01,
        dropout_on_output: bool = False,
        activation_on_output: bool = True,
    ) -> None:
        super().__init__()
        if n_mels != 96:
            raise ParameterError(
                f"the CAE's layer table is defined for 96 mel bands, got n_mels={n_mels}"
            )
        _check_args(self, n_mels=n_mels, channels=channels, dropout=dropout,
                    negative_slope=negative_slope, dropout_on_output=dropout_on_output,
                    activation_on_output=activation_on_output)
        c1, c2, c3, c4 = (int(c) for c in channels)
        self.n_mels = n_mels
        self.window = WINDOW
        self.cnn1 = nn.Conv2d(1, c1, 7, stride=2, padding=3)
        self.cnn2 = nn.Conv2d(c1, c2, 5, stride=2, padding=2)
        self.cnn3 = nn.ConvTranspose2d(c2, c3, 5, stride=(1, 2), padding=(5, 1))
        self.cnn4 = nn.ConvTranspose2d(c3, c4, 7, stride=(1, 2), padding=(6, 1), output_padding=(0, 1))
        self.cnn5 = nn.ConvTranspose2d(c4, 1, (7, 1), stride=1, padding=(1, 3))
        self.act = nn.LeakyReLU(negative_slope)
        self.drop = nn.Dropout(dropout)
        self.drop_out = nn.Dropout(dropout) if dropout_on_output else nn.Identity()
        self.act_out = self.act if activation_on_output else nn.Identity()
        self.pool = nn.MaxPool2d(kernel_size=1, stride=(14, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (B, 1, 96, 60) standardised features -> (B, 2, 60) (arousal, valence) in [-1, 1]."""
        _check_input(x, self.n_mels, self.window)
        h = self.drop(self.act(self.cnn1(x)))
        h = self.drop(self.act(self.cnn2(h)))
        h = self.drop(self.act(self.cnn3(h)))
        h = self.drop(self.act(self.cnn4(h)))
        h = self.drop_out(self.act_out(self.cnn5(h)))
        return torch.tanh(self.pool(h)).squeeze(1)

    def shape_trace(self, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
        """Per-layer output shapes for input ``x`` (for docs and tests)."""
        trace = [("input", tuple(x.shape))]
        h = x
        for name in ("cnn1", "cnn2", "cnn3", "cnn4", "cnn5", "pool"):
            h = getattr(self, name)(h)
            trace.append((name, tuple(h.shape)))
        return trace


class FrameMLP(nn.Module):
    """Baseline: a small causal MLP on the last ``context`` standardised frames.

    Prediction for frame ``t`` uses frames ``t-context+1 .. t`` only (frames
    before the start count as zeros = the training mean).  Implemented as a
    ``Conv1d`` over time with kernel ``context`` (one hidden layer), so a whole
    sequence is one pass.

    Parameters
    ----------
    n_mels : int
    context : int >= 1
        Frames of context (default 8 = 4 s).
    hidden : int
        Hidden units.
    dropout : float in [0, 1)
    """

    name = "baseline"
    stateful = False
    HPARAMS: dict[str, Checker] = {"n_mels": _N_MELS, "context": _CONTEXT, "hidden": _WIDTH,
                                   "dropout": _dropout}

    def __init__(self, *, n_mels: int = 96, context: int = 8, hidden: int = 64, dropout: float = 0.3) -> None:
        super().__init__()
        _check_args(self, n_mels=n_mels, context=context, hidden=hidden, dropout=dropout)
        self.n_mels = n_mels
        self.context = int(context)
        self.window = None
        self.hidden = nn.Conv1d(n_mels, hidden, self.context)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.out = nn.Conv1d(hidden, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (B, 1, n_mels, T) -> (B, 2, T) in [-1, 1]."""
        _check_input(x, self.n_mels, None)
        h = nn.functional.pad(x[:, 0], (self.context - 1, 0))
        return torch.tanh(self.out(self.drop(self.act(self.hidden(h)))))


class ConvGRU(nn.Module):
    """Recurrent variant: causal conv front-end + GRU, one step per 500 ms frame.

    ``Conv1d(n_mels -> conv_channels, kernel)`` over the last ``kernel`` frames
    (left zero padding), LeakyReLU, a ``num_layers`` GRU and a linear read-out
    with tanh.  :meth:`forward` on a sequence from the zero state equals calling
    :meth:`step` frame by frame from :meth:`initial_state` (tested), so a live
    run costs one step per frame instead of a 60-frame window.

    Parameters
    ----------
    n_mels : int
    conv_channels : int
    kernel : int >= 1
        Frames seen by the front-end.
    hidden : int
        GRU state size.
    num_layers : int
    dropout : float in [0, 1)
        Applied to the front-end output and between GRU layers.
    """

    name = "rnn"
    stateful = True
    HPARAMS: dict[str, Checker] = {"n_mels": _N_MELS, "conv_channels": _WIDTH, "kernel": _CONTEXT,
                                   "hidden": _WIDTH, "num_layers": _int(1, 16), "dropout": _dropout}

    def __init__(
        self,
        *,
        n_mels: int = 96,
        conv_channels: int = 64,
        kernel: int = 3,
        hidden: int = 64,
        num_layers: int = 1,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        _check_args(self, n_mels=n_mels, conv_channels=conv_channels, kernel=kernel, hidden=hidden,
                    num_layers=num_layers, dropout=dropout)
        self.n_mels = n_mels
        self.kernel = int(kernel)
        self.window = None
        self.conv = nn.Conv1d(n_mels, conv_channels, self.kernel)
        self.act = nn.LeakyReLU(0.01)
        self.drop = nn.Dropout(dropout)
        self.gru = nn.GRU(conv_channels, hidden, num_layers=num_layers, batch_first=True,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.out = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (B, 1, n_mels, T) from the zero state -> (B, 2, T) in [-1, 1]."""
        _check_input(x, self.n_mels, None)
        h = nn.functional.pad(x[:, 0], (self.kernel - 1, 0))
        feats = self.drop(self.act(self.conv(h))).transpose(1, 2)  # (B, T, C)
        seq, _ = self.gru(feats)
        return torch.tanh(self.out(seq)).transpose(1, 2)

    def initial_state(self, batch: int = 1, device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """State before the first frame: (frame history (B, n_mels, kernel-1), GRU hidden)."""
        device = device if device is not None else self.out.weight.device
        history = torch.zeros(batch, self.n_mels, self.kernel - 1, device=device)
        hidden = torch.zeros(self.gru.num_layers, batch, self.gru.hidden_size, device=device)
        return history, hidden

    def step(
        self, frame: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One frame: ``frame`` (B, n_mels) standardised -> ((B, 2), new state)."""
        out, state = self.steps(frame.unsqueeze(-1), state)
        return out[:, :, -1], state

    def steps(
        self, frames: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Consecutive frames: ``frames`` (B, n_mels, n) standardised -> ((B, 2, n), new state).

        Equals ``n`` calls of :meth:`step` (one GRU pass over the ``n`` frames).
        """
        history, hidden = state
        window = torch.cat((history, frames), dim=-1)  # (B, n_mels, kernel - 1 + n)
        feats = self.drop(self.act(self.conv(window))).transpose(1, 2)  # (B, n, C)
        seq, hidden = self.gru(feats, hidden)
        out = torch.tanh(self.out(seq)).transpose(1, 2)
        return out, (window[:, :, window.shape[-1] - (self.kernel - 1):], hidden)


MODELS: dict[str, type[nn.Module]] = {cls.name: cls for cls in (CAE, FrameMLP, ConvGRU)}
"""Registry: model name -> class."""


def resolved_hparams(name: str, hparams: dict[str, Any]) -> dict[str, Any]:
    """``hparams`` completed with the class defaults (tuples as lists): what a checkpoint records,
    so that a later change of a default cannot silently change a saved model."""
    import inspect

    cls = MODELS.get(name)
    if cls is None:
        return dict(hparams)
    full = {
        k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not inspect.Parameter.empty
    }
    full.update(hparams)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in full.items()}


def model_class(name: Any) -> type[nn.Module]:
    """The registered class of ``name``; ParameterError for anything else (also non-strings)."""
    if not isinstance(name, str) or name not in MODELS:
        raise ParameterError(f"unknown model {quote(name)}; choose one of {sorted(MODELS)}")
    return MODELS[name]


def check_hparams(name: Any, hparams: Any) -> dict[str, Any]:
    """Check a model's hyper-parameters (names, types, sane limits) before anything is built.

    Returns the checked values (ints as ints, lists of ints as tuples).

    Raises
    ------
    ParameterError
        Unknown model or hyper-parameter, wrong type, out of range; the message quotes the value.
    """
    cls = model_class(name)
    if not isinstance(hparams, dict):
        raise ParameterError(f"hyper-parameters of model {name!r} must be a JSON object, got {quote(hparams)}")
    unknown = sorted(str(k) for k in hparams if k not in cls.HPARAMS)
    if unknown:
        raise ParameterError(f"bad hyper-parameters for model {name!r}: no {unknown}; "
                             f"it has {sorted(cls.HPARAMS)}")
    return {k: cls.HPARAMS[k](v, k) for k, v in hparams.items()}


def build_model(name: str, **hparams: Any) -> nn.Module:
    """Build a network by registry name (``"cae"``, ``"baseline"``, ``"rnn"``).

    Raises
    ------
    ParameterError
        Unknown name or hyper-parameter, or a value :func:`check_hparams` refuses.
    """
    return model_class(name)(**check_hparams(name, hparams))


def state_shapes(name: str, hparams: dict[str, Any]) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """``{weight name: (shape, dtype)}`` of the model these hyper-parameters build.

    Built on torch's ``meta`` device: no memory is allocated for the weights, so a
    checkpoint's tensors can be compared with it before the real model exists.
    """
    hp = check_hparams(name, hparams)
    with torch.device("meta"):
        model = model_class(name)(**hp)
    return {k: (tuple(t.shape), t.dtype) for k, t in model.state_dict().items()}


def _check_args(model: nn.Module, **values: Any) -> None:
    for key, value in values.items():
        model.HPARAMS[key](value, key)


def _check_input(x: torch.Tensor, n_mels: int, window: int | None) -> None:
    if x.dim() != 4 or x.shape[1] != 1 or x.shape[2] != n_mels or (window and x.shape[3] != window):
        want = f"(batch, 1, {n_mels}, {window if window else 'T'})"
        raise ParameterError(f"model input must have shape {want}, got {tuple(x.shape)}")
