"""Checkpoint files (DESIGN contract 4): weights + everything needed to use them.

File format (``FORMAT_VERSION`` 1)
----------------------------------
A `safetensors <https://github.com/huggingface/safetensors>`_ file.  Tensors:

* ``model.<name>``: the network's ``state_dict`` (float32),
* ``norm.mean`` and ``norm.std``: per-mel-band standardisation statistics,
  shape ``(n_mels,)``, computed on the training data.

Its string metadata holds one key, ``"emotrack"``, whose value is a JSON
object: ``format_version``, ``model_name``, ``hparams``, ``spec`` (the
:class:`FeatureSpec` as a dict), ``spec_hash`` and ``facts`` (training data,
split, epochs, metrics, date, code version: whatever the trainer records).

Loading parses JSON and raw tensor bytes only: no pickle, so a checkpoint can
never execute code.  A file that is not safetensors (e.g. a ``torch.save``
pickle) is refused with :class:`CheckpointError` before anything else reads it.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CheckpointError, ParameterError
from .features import CAE_SPEC, FeatureSpec

FORMAT_VERSION = 1
"""Version of the checkpoint layout written by :func:`save_checkpoint`."""

SUPPORTED_VERSIONS = (1,)
_META_KEY = "emotrack"
_MAX_HEADER = 100 * 1024 * 1024  # a real safetensors header is a few kB


@dataclass(frozen=True)
class Checkpoint:
    """Everything a checkpoint file holds.

    Attributes
    ----------
    model_name : str
        Registry name (see :func:`emotrack.model.networks.build_model`).
    hparams : dict
        Keyword arguments of ``build_model``.
    state_dict : dict[str, torch.Tensor]
    spec : FeatureSpec
    norm_mean, norm_std : np.ndarray, shape=(spec.n_mels,), float32
    facts : dict
        Training facts (data, split, epochs, metrics, date, code version).
    format_version : int
    """

    model_name: str
    hparams: dict[str, Any]
    state_dict: dict[str, Any]
    spec: FeatureSpec
    norm_mean: np.ndarray
    norm_std: np.ndarray
    facts: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def build_model(self):
        """The network with these weights loaded, in eval mode, on the CPU."""
        from .networks import build_model

        try:
            model = build_model(self.model_name, **self.hparams)
        except ParameterError as exc:
            raise CheckpointError(f"checkpoint model does not match this emotrack version: {exc}") from None
        try:
            model.load_state_dict(self.state_dict, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()
            detail = " ".join(line.strip() for line in first[:3])
            if len(detail) > 300:  # torch lists every key: keep the line readable
                detail = detail[:300] + "..."
            raise CheckpointError(
                f"checkpoint weights do not fit model {self.model_name!r} with hparams "
                f"{self.hparams}: {detail}"
            ) from None
        return model.eval()


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model_name: str,
    hparams: dict[str, Any],
    state_dict: dict[str, Any],
    spec: FeatureSpec,
    norm_mean: np.ndarray,
    norm_std: np.ndarray,
    facts: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically (temporary file + ``os.replace``).

    Parameters
    ----------
    path : path-like
    model_name, hparams : registry name and ``build_model`` keyword arguments
        (recorded completed with the current defaults, see ``resolved_hparams``)
    state_dict : mapping of parameter name -> torch.Tensor
    spec : FeatureSpec
    norm_mean, norm_std : array-like, shape=(spec.n_mels,)
        Standardisation statistics (``std`` > 0).
    facts : dict, optional
        JSON-able training facts; ``saved_at`` (UTC ISO date) and
        ``emotrack_version`` are added when missing.

    Returns
    -------
    pathlib.Path
    """
    import torch
    from safetensors.torch import save_file

    mean = np.asarray(norm_mean, dtype=np.float32).reshape(-1)
    std = np.asarray(norm_std, dtype=np.float32).reshape(-1)
    if mean.shape != (spec.n_mels,) or std.shape != (spec.n_mels,):
        raise ParameterError(
            f"norm_mean/norm_std must have shape ({spec.n_mels},), got {mean.shape} and {std.shape}"
        )
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
        raise ParameterError("norm_mean/norm_std must be finite and norm_std > 0")
    facts = dict(facts or {})
    facts.setdefault("saved_at", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    facts.setdefault("emotrack_version", _emotrack_version())
    from .networks import resolved_hparams

    header = {
        "format_version": FORMAT_VERSION,
        "model_name": model_name,
        "hparams": resolved_hparams(model_name, hparams),
        "spec": spec.to_dict(),
        "spec_hash": spec.hash,
        "facts": facts,
    }
    try:
        meta = json.dumps(header, sort_keys=True)
    except TypeError as exc:
        raise ParameterError(f"hparams and facts must be JSON-serialisable: {exc}") from None
    tensors = {f"model.{k}": v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    tensors["norm.mean"] = torch.from_numpy(mean.copy())
    tensors["norm.std"] = torch.from_numpy(std.copy())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={_META_KEY: meta})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(
    path: str | os.PathLike,
    *,
    expect_spec: FeatureSpec | None = None,
    expect_model: str | None = None,
) -> Checkpoint:
    """Read and validate a checkpoint without executing anything from it.

    Parameters
    ----------
    path : path-like
    expect_spec : FeatureSpec, optional
        Refuse a checkpoint trained on other features.
    expect_model : str, optional
        Refuse a checkpoint of another model.

    Raises
    ------
    CheckpointError
        Missing, unreadable, truncated or non-safetensors file (pickles
        included), unknown format version, malformed header, feature or model
        mismatch, or weights that do not fit the model.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint file not found: '{path}'")
    if path.is_dir():
        raise CheckpointError(f"checkpoint path is a directory, not a file: '{path}'")
    _check_safetensors_framing(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except CheckpointError:
        raise
    except Exception as exc:  # safetensors raises its own error types, message is useful
        raise CheckpointError(f"checkpoint '{path}' is corrupt or truncated: {exc}") from None
    header = _parse_header(path, metadata)
    try:
        spec = FeatureSpec.from_dict(header["spec"])
    except ParameterError as exc:
        raise CheckpointError(f"checkpoint '{path}' has an unusable FeatureSpec: {exc}") from None
    if header.get("spec_hash") not in (None, spec.hash):
        raise CheckpointError(f"checkpoint '{path}': FeatureSpec does not match its recorded hash")
    if expect_spec is not None and spec != expect_spec:
        raise CheckpointError(
            f"checkpoint '{path}' was trained on features {spec.name!r} (hash {spec.hash}), "
            f"but {expect_spec.name!r} (hash {expect_spec.hash}) is required"
        )
    model_name = header["model_name"]
    if expect_model is not None and model_name != expect_model:
        raise CheckpointError(
            f"checkpoint '{path}' holds model {model_name!r}, expected {expect_model!r}"
        )
    if "norm.mean" not in tensors or "norm.std" not in tensors:
        raise CheckpointError(f"checkpoint '{path}' lacks normalisation statistics (norm.mean/norm.std)")
    mean = tensors.pop("norm.mean").numpy().astype(np.float32)
    std = tensors.pop("norm.std").numpy().astype(np.float32)
    if mean.shape != (spec.n_mels,) or std.shape != (spec.n_mels,):
        raise CheckpointError(
            f"checkpoint '{path}': normalisation statistics have shape {mean.shape}/{std.shape}, "
            f"but its FeatureSpec has {spec.n_mels} mel bands"
        )
    if not (np.isfinite(std).all() and (std > 0).all() and np.isfinite(mean).all()):
        raise CheckpointError(f"checkpoint '{path}': normalisation statistics are not finite/positive")
    state_dict = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    ckpt = Checkpoint(
        model_name=model_name,
        hparams=dict(header["hparams"]),
        state_dict=state_dict,
        spec=spec,
        norm_mean=mean,
        norm_std=std,
        facts=dict(header.get("facts") or {}),
        format_version=int(header["format_version"]),
    )
    n_mels = ckpt.hparams.get("n_mels", 96)
    if n_mels != spec.n_mels:
        raise CheckpointError(
            f"checkpoint '{path}': model expects {n_mels} mel bands but its FeatureSpec has {spec.n_mels}"
        )
    ckpt.build_model()  # weights must fit: fail at load time, not at first prediction
    return ckpt


def create_untrained_checkpoint(
    path: str | os.PathLike,
    model_name: str = "cae",
    seed: int = 0,
    spec: FeatureSpec = CAE_SPEC,
    **hparams: Any,
) -> Path:
    """Write a checkpoint with randomly initialised weights (tests, benchmarks).

    Normalisation statistics are mean -40 dB and std 20 dB per band (typical of
    music in the CAE's dB scale); ``facts`` say the model is untrained.
    """
    import torch

    from .networks import build_model

    hparams = {"n_mels": spec.n_mels, **hparams}
    torch.manual_seed(seed)
    model = build_model(model_name, **hparams)
    return save_checkpoint(
        path,
        model_name=model_name,
        hparams=hparams,
        state_dict=model.state_dict(),
        spec=spec,
        norm_mean=np.full(spec.n_mels, -40.0, np.float32),
        norm_std=np.full(spec.n_mels, 20.0, np.float32),
        facts={"trained": False, "seed": seed, "note": "untrained random weights, for tests only"},
    )


def _check_safetensors_framing(path: Path) -> None:
    """Refuse anything that is not framed as safetensors before a parser touches it."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(9)
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint '{path}': {exc.strerror or exc}") from None
    if head[:2] == b"PK" or head[:1] == b"\x80":
        raise CheckpointError(
            f"'{path}' is a pickle/torch.save file, which can execute code when loaded; "
            "emotrack only loads .safetensors checkpoints written by 'emotrack train'"
        )
    if len(head) < 9:
        raise CheckpointError(f"checkpoint '{path}' is empty or truncated ({size} bytes)")
    n = int.from_bytes(head[:8], "little")
    if head[8:9] != b"{" or n > _MAX_HEADER or 8 + n > size:
        raise CheckpointError(
            f"'{path}' is not an emotrack checkpoint (not a safetensors file, or truncated)"
        )


def _parse_header(path: Path, metadata: dict[str, str]) -> dict[str, Any]:
    if _META_KEY not in metadata:
        raise CheckpointError(f"'{path}' is a safetensors file but not an emotrack checkpoint (no header)")
    try:
        header = json.loads(metadata[_META_KEY])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"checkpoint '{path}' has a malformed header: {exc}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"checkpoint '{path}' has a malformed header (not a JSON object)")
    version = header.get("format_version")
    if version not in SUPPORTED_VERSIONS:
        raise CheckpointError(
            f"checkpoint '{path}' has format version {version!r}; this emotrack reads "
            f"{list(SUPPORTED_VERSIONS)}: upgrade emotrack or re-export the checkpoint"
        )
    missing = [k for k in ("model_name", "hparams", "spec") if k not in header]
    if missing or not isinstance(header.get("hparams"), dict):
        raise CheckpointError(f"checkpoint '{path}' header lacks or mangles {missing or ['hparams']}")
    return header


def _emotrack_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("emotrack")
    except metadata.PackageNotFoundError:
        return "0+unknown"
