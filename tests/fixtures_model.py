"""Shared fixtures of the model area: small checkpoints made on the fly."""
from __future__ import annotations

import json

import pytest

from emotrack.model.checkpoint import create_untrained_checkpoint

__all__ = ["tiny_checkpoint", "model_checkpoint_factory", "rewrite_checkpoint"]


def rewrite_checkpoint(src, dst, edit):
    """Copy a safetensors checkpoint with ``edit(header, tensors)`` applied to its
    emotrack JSON header (a dict) and its tensors (a dict of torch tensors).

    ``edit`` changes them in place, or returns the raw header text to store instead.
    """
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(src), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = dict(f.metadata())
    header = json.loads(meta["emotrack"])
    raw = edit(header, tensors)
    text = raw if raw is not None else json.dumps(header)
    save_file(tensors, str(dst), metadata={"emotrack": text})
    return dst


@pytest.fixture
def model_checkpoint_factory(tmp_path_factory):
    """Call ``factory(model_name="cae", seed=0, **hparams) -> Path`` to get an untrained checkpoint."""

    def make(model_name: str = "cae", seed: int = 0, **hparams):
        path = tmp_path_factory.mktemp("ckpt") / f"{model_name}-{seed}.safetensors"
        return create_untrained_checkpoint(path, model_name=model_name, seed=seed, **hparams)

    return make


@pytest.fixture
def tiny_checkpoint(model_checkpoint_factory):
    """Path to an untrained CAE checkpoint with few channels (fast; for any test needing a model)."""
    return model_checkpoint_factory("cae", seed=0, channels=[4, 4, 4, 4])
