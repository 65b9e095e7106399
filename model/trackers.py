"""Choosing and loading a tracker: :func:`load_tracker`.

The shipped trackers:

=========  ==================================================================  ====================
name       what it is                                                          weights
=========  ==================================================================  ====================
musicnn    musicnn embeddings of a causal 3 s patch per 500 ms frame -> head   assets/musicnn/, assets/teacher/
rnn        conv front end + GRU on 500 ms mel frames (650 labelled tracks)      assets/models/rnn...
cae        the poster's convolutional autoencoder on 30 s of mel frames         assets/models/cae...
baseline   a small MLP on mel frames (the poster's unspecified baseline)       assets/models/baseline...
=========  ==================================================================  ====================

``musicnn`` is the default: it ranks the Emotify tracks best of all trackers
(cross-validated, assets/MODEL_CARD.md).  rnn, cae and baseline are research models, trained on 650
labelled tracks (Emotify, 4Q, emoMusic) with cross-validated figures in their facts.

A file passed as ``checkpoint`` says which tracker it belongs to: an emotrack
checkpoint (``emotrack train``) names its network, a musicnn head file says
``tracker: musicnn`` (heads written before that key existed are musicnn heads).
Asking for one tracker with another's file is one clear error.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from .errors import CheckpointError, ParameterError
from .tracker import SilenceConfig, Tracker

TRACKERS = ("musicnn", "rnn", "cae", "baseline")
"""Names accepted by :func:`load_tracker` (and ``--model``)."""

DEFAULT_TRACKER = "musicnn"

RESEARCH_TRACKERS = ("rnn", "cae", "baseline")
"""Research models: the poster's networks, trained on 650 labelled tracks; they rank energy
less well than musicnn and their valence is close to chance (assets/MODEL_CARD.md), so their
positions are no judgement of the music; the CLI help and the app say so, and the app never
carries one into its next launch."""

_HEAD_FORMAT = "emotrack-ridge-head"


def bundled_checkpoint(name: str) -> Path:
    """The shipped checkpoint of a mel-frame tracker (``rnn``, ``cae``, ``baseline``)."""
    return Path(str(resources.files("emotrack.assets"))) / "models" / f"{name}.emotrack.safetensors"


def resolve_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; other names are checked
    (:func:`emotrack.model.validate.resolve_torch_device`: ``cpu``, ``cuda``, ``cuda:N`` that
    this machine has, ``mps``).

    Raises
    ------
    ParameterError
        Not a torch device name (``meta``, ``cpu:-1``, ``garbage``).
    DeviceError
        CUDA/MPS asked for but not available, or ``cuda:N`` beyond this machine's GPUs.
    """
    from .validate import resolve_torch_device

    return resolve_torch_device(device)


def file_kind(path: str | os.PathLike) -> tuple[str, str]:
    """``("checkpoint", model_name)`` or ``("head", tracker)`` for a model file, from its header only.

    Raises
    ------
    CheckpointError
        Missing, unreadable or foreign file (e.g. a pickle), named in the message.
    """
    from .checkpoint import check_safetensors_framing
    from .validate import check_input_file, json_object

    p = check_input_file(path, what="checkpoint", error=CheckpointError)
    check_safetensors_framing(p, "checkpoint or musicnn head")  # pickles, junk, truncation
    try:
        with open(p, "rb") as fh:
            raw = fh.read(int.from_bytes(fh.read(8), "little"))
        meta = json_object(raw.decode("utf-8"), name="its safetensors header").get("__metadata__") or {}
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint '{p}': {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ParameterError):
        meta = None
    if not isinstance(meta, dict):
        raise CheckpointError(f"'{p}' is not an emotrack checkpoint or musicnn head "
                              "(not a safetensors file, or truncated)")
    if meta.get("format") == _HEAD_FORMAT:
        try:
            facts = json_object(meta.get("facts", "{}"), name="facts")
        except ParameterError:
            facts = {}
        return "head", str(facts.get("tracker", "musicnn"))
    if "emotrack" in meta:
        try:
            name = json_object(meta["emotrack"], name="its header").get("model_name")
        except ParameterError:
            name = None
        if not isinstance(name, str):
            raise CheckpointError(f"checkpoint '{p}' has a malformed header (no model name)")
        return "checkpoint", name
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
            what = "a head of the" if kind == "head" else "a checkpoint of the"
            raise CheckpointError(f"'{checkpoint}' is {what} {owner} tracker, not of the {model} "
                                  f"tracker; drop --model or use --model {name}")
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


def use_cores(tracker: Tracker, cores: int | None = None) -> None:
    """Set up ``tracker`` for offline analysis of long blocks on ``cores`` CPU cores (default: all).

    Torch runs one thread per call; a tracker with patch ``workers`` (musicnn) computes
    that many patches side by side.  Measured on 2 busy cores: two torch threads per call
    were 3x slower than one (the threads spin waiting for each other); side-by-side calls
    never cost more than one thread (tests/bench/bench_model.py).
    """
    import torch

    cores = max(1, int(cores or os.cpu_count() or 1))
    torch.set_num_threads(1)
    if hasattr(tracker, "workers"):
        tracker.workers = min(cores, 4)
