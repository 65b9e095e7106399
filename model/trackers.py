"""Choosing and loading a tracker: :func:`load_tracker`.

The shipped trackers:

=========  ==================================================================  ====================
name       what it is                                                          weights
=========  ==================================================================  ====================
musicnn    musicnn embeddings of a causal 3 s patch per 500 ms frame -> head   assets/musicnn/, assets/teacher/
rnn        conv front end + GRU on 500 ms mel frames (10 emoMusic clips)       assets/models/rnn...
cae        the poster's convolutional autoencoder on 30 s of mel frames         assets/models/cae...
baseline   a small MLP on mel frames (the poster's unspecified baseline)       assets/models/baseline...
=========  ==================================================================  ====================

``musicnn`` is the default: it is the only one that knows music beyond the 10
Blues clips the others were trained on (see assets/MODEL_CARD.md).

A file passed as ``checkpoint`` says which tracker it belongs to: an emotrack
checkpoint (``emotrack train``) names its network, a musicnn head file says
``tracker: musicnn`` (heads written before that key existed are musicnn heads).
Asking for one tracker with another's file is one clear error.
"""
from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from .errors import CheckpointError, DeviceError, ParameterError
from .tracker import SilenceConfig, Tracker

TRACKERS = ("musicnn", "rnn", "cae", "baseline")
"""Names accepted by :func:`load_tracker` (and ``--model``)."""

DEFAULT_TRACKER = "musicnn"

_HEAD_FORMAT = "emotrack-ridge-head"
_MAX_HEADER = 16 * 1024 * 1024


def bundled_checkpoint(name: str) -> Path:
    """The shipped checkpoint of a mel-frame tracker (``rnn``, ``cae``, ``baseline``)."""
    return Path(str(resources.files("emotrack.assets"))) / "models" / f"{name}.emotrack.safetensors"


def resolve_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; other names are checked.

    Raises
    ------
    DeviceError
        Unknown device string, or CUDA asked for but not available.
    """
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(f"unknown torch device {device!r}; use 'auto', 'cpu' or 'cuda'") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {device!r} requested but CUDA is not available; use 'cpu' or 'auto'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"device {device!r} does not exist: this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    elif dev.type != "cpu":
        raise DeviceError(f"torch device {device!r} is not supported; use 'auto', 'cpu' or 'cuda'")
    return str(dev)


def file_kind(path: str | os.PathLike) -> tuple[str, str]:
    """``("checkpoint", model_name)`` or ``("head", tracker)`` for a model file, from its header only.

    Raises
    ------
    CheckpointError
        Missing, unreadable or foreign file (e.g. a pickle), named in the message.
    """
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"checkpoint not found: '{p}'")
    if not p.is_file():
        raise CheckpointError(f"checkpoint path is not a regular file: '{p}'")
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            raw = fh.read(n) if 0 < n <= _MAX_HEADER else b""
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint '{p}': {exc.strerror or exc}") from None
    if head[:2] == b"PK" or head[:1] == b"\x80":
        raise CheckpointError(f"'{p}' is a pickle/torch.save file, which can execute code when loaded; "
                              "emotrack only loads .safetensors files it wrote")
    try:
        meta = json.loads(raw.decode("utf-8")).get("__metadata__") or {}
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        meta = None
    if not isinstance(meta, dict) or len(raw) != n:
        raise CheckpointError(f"'{p}' is not an emotrack checkpoint or musicnn head "
                              "(not a safetensors file, or truncated)")
    if meta.get("format") == _HEAD_FORMAT:
        try:
            facts = json.loads(meta.get("facts", "{}"))
        except json.JSONDecodeError:
            facts = {}
        tracker = facts.get("tracker", "musicnn") if isinstance(facts, dict) else "musicnn"
        return "head", str(tracker)
    if "emotrack" in meta:
        try:
            header = json.loads(meta["emotrack"])
            return "checkpoint", str(header["model_name"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise CheckpointError(f"checkpoint '{p}' has a malformed header") from None
    raise CheckpointError(f"'{p}' is a safetensors file but not an emotrack checkpoint or head")


def load_tracker(model: str | None = None, checkpoint: str | os.PathLike | None = None, *,
                 device: str = "auto", silence: SilenceConfig | None = None) -> Tracker:
    """Load a tracker by name and/or model file.

    Parameters
    ----------
    model : {"musicnn", "rnn", "cae", "baseline"}, optional
        Which tracker.  Default: the one ``checkpoint`` belongs to, else ``musicnn``.
    checkpoint : path-like, optional
        A checkpoint (rnn/cae/baseline, from ``emotrack train``) or a musicnn head file.
        Default: the shipped one of ``model``.
    device : str
        Torch device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    silence : SilenceConfig, optional

    Raises
    ------
    ParameterError
        Unknown model name.
    CheckpointError
        Missing, corrupt or mismatched file (a head given for a network or the reverse).
    DeviceError
        Unusable torch device.
    """
    if model is not None and model not in TRACKERS:
        raise ParameterError(f"unknown model {model!r}; choose one of {', '.join(TRACKERS)}")
    dev = resolve_device(device)
    if checkpoint is not None:
        kind, owner = file_kind(checkpoint)
        name = "musicnn" if kind == "head" and owner == "musicnn" else owner
        if model is not None and model != name:
            what = f"a {owner} head" if kind == "head" else f"a {owner} checkpoint"
            raise CheckpointError(f"'{checkpoint}' is {what}, not for the {model} tracker; "
                                  f"drop --model or use --model {name}")
        model = name
    model = model or DEFAULT_TRACKER
    if model == "musicnn":
        from .musicnn_tracker import MusicnnTracker, load_head

        return MusicnnTracker(load_head(checkpoint), head_path=checkpoint, device=dev, silence=silence) \
            if checkpoint is not None else MusicnnTracker(device=dev, silence=silence)
    from .mel_tracker import MelTracker

    if model not in TRACKERS:
        raise CheckpointError(f"'{checkpoint}' holds an unknown model {model!r}")
    path = Path(checkpoint) if checkpoint is not None else bundled_checkpoint(model)
    if checkpoint is None and not path.is_file():
        raise CheckpointError(f"the bundled {model} checkpoint is missing at '{path}'; reinstall emotrack")
    return MelTracker.from_checkpoint(path, device=dev, silence=silence)
