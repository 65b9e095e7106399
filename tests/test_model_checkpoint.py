"""Checkpoint format: round trip, refusal of pickles, clear errors for bad files."""
from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from emotrack.model.checkpoint import (
    FORMAT_VERSION,
    create_untrained_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from emotrack.model.errors import CheckpointError
from emotrack.model.features import CAE_SPEC, FeatureSpec
from emotrack.model.networks import build_model
from fixtures_model import rewrite_checkpoint


def test_round_trip_keeps_everything(tmp_path):
    torch.manual_seed(1)
    model = build_model("baseline", context=3, hidden=5)
    mean = np.linspace(-60, -20, 96).astype(np.float32)
    std = np.linspace(5, 15, 96).astype(np.float32)
    facts = {"data": "emoMusic", "split": "dev/eval", "epochs": 7, "metrics": {"rmse_arousal": 0.25}}
    path = save_checkpoint(tmp_path / "m.safetensors", model_name="baseline",
                           hparams={"context": 3, "hidden": 5}, state_dict=model.state_dict(),
                           spec=CAE_SPEC, norm_mean=mean, norm_std=std, facts=facts)
    ck = load_checkpoint(path)
    assert ck.model_name == "baseline"
    assert ck.hparams == {"n_mels": 96, "context": 3, "hidden": 5, "dropout": 0.3}  # defaults recorded
    assert ck.spec == CAE_SPEC
    assert ck.format_version == FORMAT_VERSION
    np.testing.assert_array_equal(ck.norm_mean, mean)
    np.testing.assert_array_equal(ck.norm_std, std)
    for key, value in facts.items():
        assert ck.facts[key] == value
    assert "saved_at" in ck.facts and "emotrack_version" in ck.facts
    for k, v in model.state_dict().items():
        assert torch.equal(ck.state_dict[k], v)
    rebuilt = ck.build_model()
    x = torch.randn(1, 1, 96, 10)
    model.eval()
    assert torch.equal(rebuilt(x), model(x))
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temp file


def test_tiny_checkpoint_fixture(tiny_checkpoint):
    ck = load_checkpoint(tiny_checkpoint)
    assert ck.model_name == "cae" and ck.facts["trained"] is False


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import pathlib
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_pickle_payload_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.safetensors"
    torch.save({"state": _Evil(str(marker))}, evil)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(evil)
    assert not marker.exists()
    # sanity: the payload is real (torch.load with weights_only=False would run it)
    copy = tmp_path / "evil.pt"
    copy.write_bytes(evil.read_bytes())
    torch.load(copy, weights_only=False)
    assert marker.exists()


def test_legacy_raw_pickle_refused(tmp_path):
    import pickle
    marker = tmp_path / "pwned2"
    path = tmp_path / "raw.ckpt"
    path.write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found: '.*nope.safetensors'"):
        load_checkpoint(tmp_path / "nope.safetensors")


@pytest.mark.parametrize("keep", [0, 5, 8, 100, -10])
def test_truncated_file(tiny_checkpoint, tmp_path, keep):
    data = tiny_checkpoint.read_bytes()
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(data[:keep] if keep >= 0 else data[:keep])
    with pytest.raises(CheckpointError):
        load_checkpoint(bad)


def test_garbage_file(tmp_path):
    bad = tmp_path / "noise.safetensors"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match="not an emotrack checkpoint"):
        load_checkpoint(bad)


def test_unknown_format_version(tiny_checkpoint, tmp_path):
    def bump(h, t):
        h["format_version"] = 99
    bad = rewrite_checkpoint(tiny_checkpoint, tmp_path / "v99.safetensors", bump)
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(bad)


def test_plain_safetensors_without_header(tmp_path):
    from safetensors.torch import save_file
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, str(path))
    with pytest.raises(CheckpointError, match="not an emotrack checkpoint"):
        load_checkpoint(path)


def test_spec_mismatch(tiny_checkpoint):
    other = FeatureSpec(name="other", n_mels=64)
    with pytest.raises(CheckpointError, match="trained on features"):
        load_checkpoint(tiny_checkpoint, expect_spec=other)


def test_model_mismatch(tiny_checkpoint, tmp_path):
    with pytest.raises(CheckpointError, match="holds model 'cae', expected 'rnn'"):
        load_checkpoint(tiny_checkpoint, expect_model="rnn")

    def rename(h, t):
        h["model_name"] = "baseline"
    bad = rewrite_checkpoint(tiny_checkpoint, tmp_path / "renamed.safetensors", rename)
    with pytest.raises(CheckpointError, match="does not match|do not fit"):
        load_checkpoint(bad)


def test_weights_do_not_fit_hparams(tiny_checkpoint, tmp_path):
    def widen(h, t):
        h["hparams"]["channels"] = [8, 8, 8, 8]
    bad = rewrite_checkpoint(tiny_checkpoint, tmp_path / "wide.safetensors", widen)
    with pytest.raises(CheckpointError, match="do not fit model 'cae'"):
        load_checkpoint(bad)


def test_norm_shape_mismatch(tiny_checkpoint, tmp_path):
    def shrink(h, t):
        t["norm.mean"] = torch.zeros(10)
    bad = rewrite_checkpoint(tiny_checkpoint, tmp_path / "norm.safetensors", shrink)
    with pytest.raises(CheckpointError, match="96 mel bands"):
        load_checkpoint(bad)


def test_header_length_lie(tiny_checkpoint, tmp_path):
    data = bytearray(tiny_checkpoint.read_bytes())
    data[:8] = struct.pack("<Q", len(data) * 2)
    bad = tmp_path / "lie.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load_checkpoint(bad)


def test_bundled_checkpoints_are_in_assets_and_load():
    from emotrack.model.trackers import bundled_checkpoint

    for name in ("rnn", "cae", "baseline"):
        p = bundled_checkpoint(name)
        assert p.parent.name == "models" and p.parent.parent.name == "assets"
        assert load_checkpoint(p).model_name == name


def test_create_untrained_checkpoint_for_each_model(tmp_path):
    for name in ("cae", "baseline", "rnn"):
        ck = load_checkpoint(create_untrained_checkpoint(tmp_path / f"{name}.safetensors", name, seed=3))
        assert ck.model_name == name
