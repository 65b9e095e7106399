"""argparse ``type=`` converters for every option of every subcommand.

Each converter wraps a validator of :mod:`emotrack.model.validate` (the same checks
that guard checkpoint fields and stored GUI settings), so a bad value stops at the
command line with one line that quotes it, e.g.::

    emotrack: error: argument --fps: must be a whole number from 5 to 60, got 'nan'

A new option gets its converter here; ``tests/test_cli_options.py`` runs every
option of every subcommand with hostile values and fails on any traceback.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any, Callable

from ...model.errors import ParameterError
from ...model import validate as v


def _converter(check: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    """argparse shows only an ArgumentTypeError's own message: turn ParameterError into one."""
    def convert(text: str) -> Any:
        try:
            return check(text)
        except ParameterError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


def int_arg(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """A whole number in ``[lo, hi]`` written with ASCII digits."""
    return _converter(lambda t: v.as_int(t, lo=lo, hi=hi, text=True), "int")


def float_arg(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
              hi_open: bool = False) -> Callable[[str], float]:
    """A finite number within the bounds (``lo_open``/``hi_open`` exclude them)."""
    return _converter(lambda t: v.as_float(t, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, text=True), "float")


path_arg = _converter(lambda t: v.as_path_text(t), "path")
"""A file or folder name (not empty, no NUL, not absurdly long); existence is checked later."""

pathlib_arg = _converter(lambda t: Path(v.as_path_text(t)), "path")
""":data:`path_arg` as a :class:`pathlib.Path`."""

def check_torch_device(text: str) -> str:
    """``text`` if it names a torch device (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``);
    else a ParameterError that also points audio devices at ``--input``/``--output``."""
    try:
        return v.valid_torch_device(text.strip() if isinstance(text, str) else text)
    except ParameterError:
        raise ParameterError(
            f"{v.quote(text)} is not a torch device: --device chooses where the model runs "
            "(auto, cpu, cuda, cuda:N, mps). Choose the audio input with --input NAME|INDEX and "
            "the playback output with --output NAME|INDEX (see 'emotrack devices')") from None


torch_device_arg = _converter(check_torch_device, "torch device")
"""``--device``: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``."""


def _audio_device(text: str) -> str:
    v.valid_audio_device(text)
    return text.strip()


audio_device_arg = _converter(_audio_device, "audio device")
"""``--input``/``--output``: a PortAudio index (0-1023) or a device/source name (part), kept
as text (:func:`emotrack.realtime.devices.parse_device` turns an index into an int)."""


def _text(max_chars: int) -> Callable[[str], str]:
    return _converter(lambda t: v.as_text(t, max_chars=max_chars), "text")


json_text = _text(64 * 1024)
"""Text such as a JSON object (at most 64 KiB); parsed and checked by the handler."""


def _dataset(text: str) -> str:
    name, sep, path = text.partition(":")
    if not sep or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}", name.strip()):
        raise ParameterError(f"must be NAME:PATH such as emomusic:/data/emoMusic, got {v.quote(text)}")
    v.as_path_text(path, name="the dataset path")
    return text


dataset_arg = _converter(_dataset, "dataset")
"""``NAME:PATH``; the dataset name is checked against the readers when it is loaded."""


def _host_port(text: str) -> str:
    from ..outputs.sets import parse_host_port

    parse_host_port(text)
    return text


osc_target = _converter(_host_port, "HOST:PORT")
"""``HOST:PORT`` with a port 1-65535 (the host is resolved when the run starts)."""


def parse_formats(text: str) -> tuple[str, ...]:
    """``"csv,png"`` -> ``("csv", "png")``; unknown names are a ParameterError."""
    from ..outputs.track import FORMATS

    known = (*FORMATS, "parquet")
    names = tuple(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise ParameterError(f"--format must be a comma-separated subset of {','.join(known)}, got {text!r}")
    return names


def _formats(text: str) -> str:
    parse_formats(text)
    return text


formats_arg = _converter(_formats, "formats")
"""A comma-separated subset of csv,json,png,parquet."""


def check_ray_address(text: str) -> str:
    """``local``, ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT`` (port 1-65535)."""
    t = text.strip() if isinstance(text, str) else text
    if t in ("local", "auto"):
        return t
    m = re.fullmatch(r"(ray://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}):([0-9]{1,5})", t or "")
    if m is None or not 0 < int(m.group(3)) < 65536:
        raise ParameterError(f"must be local, auto, HOST:PORT or ray://HOST:PORT (port 1-65535), "
                             f"got {v.quote(text)}")
    return t


ray_address_arg = _converter(check_ray_address, "Ray address")
"""``--cluster``: where the Ray cluster is (reachability is checked when the run starts)."""
