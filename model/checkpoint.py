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
from .validate import check_facts_size, check_input_file, json_object, quote

FORMAT_VERSION = 1
"""Version of the checkpoint layout written by :func:`save_checkpoint`."""

SUPPORTED_VERSIONS = (1,)
_META_KEY = "emotrack"
_MAX_HEADER = 100 * 1024 * 1024  # a real safetensors header is a few kB
_MAX_META = 1024 * 1024  # the emotrack JSON header: a few kB in real files
MIN_NORM_STD = 1e-3
"""Smallest normalisation std accepted (in the features' units, e.g. dB): a std of ~0
turns every feature into +-inf after standardisation."""


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
        Standardisation statistics (``std`` >= :data:`MIN_NORM_STD`).
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
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std >= MIN_NORM_STD).all()):
        raise ParameterError(f"norm_mean/norm_std must be finite and norm_std >= {MIN_NORM_STD:g}")
    facts = dict(facts or {})
    facts.setdefault("saved_at", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    facts.setdefault("emotrack_version", _emotrack_version())
    check_facts_size(facts, name="checkpoint facts")  # what load_checkpoint would refuse
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

    Every field is checked before anything is built: the header's types and limits
    (:func:`~emotrack.model.networks.check_hparams`, :class:`FeatureSpec`), then every
    tensor's dtype (no silent casts), finiteness and shape against the model that the
    hyper-parameters describe (built on torch's ``meta`` device, which allocates
    nothing).  So loading costs about twice the file's size, whatever its header claims.

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
        mismatch, weights of the wrong dtype or shape, non-finite weights or
        normalisation, a normalisation std below :data:`MIN_NORM_STD`.
    """
    from .networks import check_hparams, state_shapes

    path, metadata, tensors = read_safetensors(path, what="checkpoint")
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
    try:
        hparams = check_hparams(model_name, header["hparams"])
    except ParameterError as exc:
        raise CheckpointError(f"checkpoint '{path}': its model does not match this emotrack version: "
                              f"{exc}") from None
    if expect_model is not None and model_name != expect_model:
        raise CheckpointError(
            f"checkpoint '{path}' holds model {model_name!r}, expected {expect_model!r}"
        )
    if "norm.mean" not in tensors or "norm.std" not in tensors:
        raise CheckpointError(f"checkpoint '{path}' lacks normalisation statistics (norm.mean/norm.std)")
    mean_t, std_t = tensors.pop("norm.mean"), tensors.pop("norm.std")
    for key, t in (("norm.mean", mean_t), ("norm.std", std_t)):
        check_tensor(path, key, t, dtype="float32", shape=(spec.n_mels,),
                     owner=f"its FeatureSpec ({spec.n_mels} mel bands)")
    mean, std = mean_t.numpy(), std_t.numpy()
    if not (std >= MIN_NORM_STD).all():
        raise CheckpointError(
            f"checkpoint '{path}': normalisation std {float(std.min()):.3g} is (nearly) zero "
            f"(at least {MIN_NORM_STD:g} is needed; standardising by it gives infinite features)")
    n_mels = header["hparams"].get("n_mels", 96)
    if n_mels != spec.n_mels:
        raise CheckpointError(
            f"checkpoint '{path}': model expects {n_mels} mel bands but its FeatureSpec has {spec.n_mels}"
        )
    state_dict = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    expected = state_shapes(model_name, hparams)
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint weights do not fit model {model_name!r} with hparams {header['hparams']} "
            f"('{path}'): missing {missing[:5]}, unexpected {unexpected[:5]}")
    for key, (shape, dtype) in expected.items():
        check_tensor(path, f"model.{key}", state_dict[key], dtype=str(dtype).removeprefix("torch."),
                     shape=shape, owner=f"model {model_name!r} with hparams {header['hparams']}")
    facts = header.get("facts") or {}
    if not isinstance(facts, dict):
        raise CheckpointError(f"checkpoint '{path}': 'facts' must be a JSON object, got {quote(facts)}")
    try:
        check_facts_size(facts, name="its facts")
    except ParameterError as exc:
        raise CheckpointError(f"checkpoint '{path}': {exc}") from None
    check_display_scale(path, facts)
    ckpt = Checkpoint(
        model_name=model_name,
        hparams=dict(header["hparams"]),
        state_dict=state_dict,
        spec=spec,
        norm_mean=mean,
        norm_std=std,
        facts=dict(facts),
        format_version=header["format_version"],
    )
    ckpt.build_model()  # weights must fit: fail at load time, not at first prediction
    return ckpt


def read_safetensors(path: str | os.PathLike, *, what: str, framework: str = "pt"
                     ) -> tuple[Path, dict[str, str], dict[str, Any]]:
    """(path, string metadata, tensors) of a safetensors file, never unpickling anything.

    The file must be a readable regular file framed as safetensors; reading it costs
    its size (the tensors) plus the parsed header.

    Raises
    ------
    CheckpointError
        Naming the file and ``what`` it should have been.
    """
    from safetensors import safe_open

    path = check_input_file(path, what=what, error=CheckpointError)
    check_safetensors_framing(path, what)
    try:
        with safe_open(str(path), framework=framework, device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as exc:  # safetensors raises its own error types, message is useful
        raise CheckpointError(f"{what} '{path}' is corrupt or truncated: {exc}") from None
    return path, metadata, tensors


def check_display_scale(path: Path, facts: dict[str, Any]) -> None:
    """A ``display_scale`` in a file's facts must be one :class:`DisplayScale` accepts."""
    from .scale import DisplayScale

    if "display_scale" in facts:
        try:
            DisplayScale.from_dict(facts["display_scale"])
        except ParameterError as exc:
            raise CheckpointError(f"'{path}' has an unusable display scale: {exc}") from None


def check_tensor(path: Path, key: str, t: Any, *, dtype: str, shape: tuple[int, ...], owner: str,
                 what: str = "checkpoint") -> None:
    """One tensor (torch or numpy) of a checkpoint or head: exact dtype, shape, finite values.

    ``owner`` says what needs the shape (e.g. "model 'cae' with hparams {...}").
    """
    have = str(t.dtype).removeprefix("torch.")
    if have != dtype:
        raise CheckpointError(f"{what} '{path}': tensor {key!r} is {have}, expected {dtype} "
                              "(emotrack never casts weights silently; re-export the file)")
    if tuple(t.shape) != tuple(shape):
        raise CheckpointError(f"{what} '{path}': {what} weights do not fit {owner}: tensor {key!r} "
                              f"has shape {tuple(t.shape)}, expected {tuple(shape)}")
    finite = np.isfinite(t).all() if isinstance(t, np.ndarray) else bool(t.isfinite().all())
    if not finite:
        raise CheckpointError(f"{what} '{path}': tensor {key!r} holds NaN or infinite values; the "
                              "file is broken (a diverged training run?)")


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


def check_safetensors_framing(path: Path, what: str = "checkpoint") -> None:
    """Refuse anything that is not framed as safetensors before a parser touches it."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(9)
    except OSError as exc:
        raise CheckpointError(f"cannot read {what} '{path}': {exc.strerror or exc}") from None
    n = int.from_bytes(head[:8], "little")
    if len(head) == 9 and head[8:9] == b"{" and n <= _MAX_HEADER and 8 + n <= size:
        return  # framed as safetensors (its first byte is the header length: it may be 0x80)
    if head[:2] == b"PK" or head[:1] == b"\x80":
        raise CheckpointError(
            f"'{path}' is a pickle/torch.save file, which can execute code when loaded: pickled "
            f"files are refused; emotrack only loads .safetensors files (a {what} written by emotrack)"
        )
    if len(head) < 9:
        raise CheckpointError(f"{what} '{path}' is empty or truncated ({size} bytes)")
    raise CheckpointError(f"'{path}' is not an emotrack {what} (not a safetensors file, or truncated)")


def _parse_header(path: Path, metadata: dict[str, str]) -> dict[str, Any]:
    if _META_KEY not in metadata:
        raise CheckpointError(f"'{path}' is a safetensors file but not an emotrack checkpoint (no header)")
    text = metadata[_META_KEY]
    if len(text) > _MAX_META:
        raise CheckpointError(f"checkpoint '{path}' has a header of {len(text)} characters; a real "
                              f"one has a few thousand (at most {_MAX_META} are read)")
    try:
        header = json_object(text, name="its header")
    except ParameterError as exc:
        raise CheckpointError(f"checkpoint '{path}' has a malformed header: {exc}") from None
    version = header.get("format_version")
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        raise CheckpointError(
            f"checkpoint '{path}' has format version {version!r}; this emotrack reads "
            f"{list(SUPPORTED_VERSIONS)}: upgrade emotrack or re-export the checkpoint"
        )
    missing = [k for k in ("model_name", "hparams", "spec") if k not in header]
    if missing or not isinstance(header.get("hparams"), dict):
        raise CheckpointError(f"checkpoint '{path}' header lacks or mangles {missing or ['hparams']}")
    if not isinstance(header.get("spec_hash"), (str, type(None))):
        raise CheckpointError(f"checkpoint '{path}': spec_hash must be text, got {quote(header['spec_hash'])}")
    return header


def _emotrack_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("emotrack")
    except metadata.PackageNotFoundError:
        return "0+unknown"
