"""Device options shared by ``listen`` and ``gui``: audio in, audio out, and the torch device.

The audio devices have names of their own (``--input``, ``--output``) so that
``--device`` means the same everywhere: the torch device the model runs on.
"""
from __future__ import annotations

import argparse

from ._options import audio_device_arg, check_torch_device, torch_device_arg


def add_input_option(p: argparse.ArgumentParser, *, help: str) -> None:
    """``--input NAME|INDEX``: the microphone or system-audio source to capture."""
    p.add_argument("--input", metavar="NAME|INDEX", type=audio_device_arg,
                   help=f"{help}. See 'emotrack devices'")


def add_output_option(p: argparse.ArgumentParser) -> None:
    """``--output NAME|INDEX``: the playback device for files."""
    p.add_argument("--output", metavar="NAME|INDEX", type=audio_device_arg,
                   help="files: play through this PortAudio output, by index or a unique part of "
                   "its name (default: the system's default output). See 'emotrack devices'")


def add_torch_device_option(p: argparse.ArgumentParser) -> None:
    """``--device auto|cpu|cuda[:N]``: where the model runs (not an audio device)."""
    p.add_argument("--device", default="auto", metavar="auto|cpu|cuda[:N]", type=torch_device_arg,
                   help="torch device for the model: auto (CUDA if available, else CPU), cpu, "
                   "cuda, cuda:1 ... (default: auto). Audio devices are --input and --output")


torch_device = check_torch_device
"""``text`` if it names a torch device, else a ParameterError pointing at ``--input``/``--output``."""
