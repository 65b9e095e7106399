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
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,31}", name.strip()):
        raise ParameterError(f"must be NAME:PATH such as emomusic:/data/emoMusic, got {v.quote(text)}")
    v.as_path_text(path, name="the dataset path")
    return text


dataset_arg = _converter(_dataset, "dataset")
"""``NAME:PATH``; the dataset name is checked against the readers when it is loaded."""


def _host_port(text: str) -> str:
    from ..outputs import parse_host_port

    parse_host_port(text)
    return text


osc_target = _converter(_host_port, "HOST:PORT")
"""``HOST:PORT`` with a port 1-65535 (the host is resolved when the run starts)."""


def _formats(text: str) -> str:
    from .analyze import parse_formats

    parse_formats(text)
    return text


formats_arg = _converter(_formats, "formats")
"""A comma-separated subset of csv,json,png."""
