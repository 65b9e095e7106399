"""Dataset readers and the ``NAME:PATH`` spec strings of the CLI.

Every reader returns a :class:`~emotrack.train.items.LoadedDataset` of
:class:`~emotrack.train.items.SongItem` with targets on [-1, 1] aligned to the
model's 500 ms frames.  Songs without audio and malformed rows are reported in
the result (``missing_audio``, ``problems``), never dropped silently.

Label mapping to [-1, 1]:

========  ===========================  ==================
dataset   published range              mapping
========  ===========================  ==================
emomusic  [-1, 1]                      unchanged
deam      [-1, 1]                      unchanged (outliers clipped, reported)
pmemo     [0, 1]                       ``2*x - 1``; std ``2*s``
emotify   song-level, own scales       none: a :class:`~emotrack.train.items.SongLabelDataset`
4q        quadrant per clip            arousal, valence = +-1 (song-level, as emotify)
========  ===========================  ==================

Emotify and 4Q have no 2 Hz curves: their readers return song-level labels (``songs``).
The song-level evaluation reads them (:mod:`emotrack.train.emotify`); training spreads a
song's label over every frame of it, on the emoMusic scale (:mod:`emotrack.train.song_targets`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ...model.errors import ParameterError
from ...model.features import CAE_SPEC, FeatureSpec
from ..items import LoadedDataset
from .deam import read_deam
from .emotify import read_emotify
from .fourq import read_fourq
from .emomusic import read_emomusic
from .fourq import read_fourq
from .pmemo import read_pmemo

READERS: dict[str, Callable[..., LoadedDataset]] = {
    "emomusic": read_emomusic,
    "deam": read_deam,
    "pmemo": read_pmemo,
    "emotify": read_emotify,
    "4q": read_fourq,
}


def parse_data_spec(text: str) -> tuple[str, Path]:
    """Split ``"emomusic:PATH"`` into ``("emomusic", Path(PATH))``; ParameterError otherwise."""
    name, sep, path = text.partition(":")
    name = name.strip().lower()
    if not sep or name not in READERS or not path:
        raise ParameterError(
            f"dataset spec {text!r} must be NAME:PATH with NAME one of "
            f"{', '.join(READERS)} (e.g. emomusic:/data/emoMusic)")
    return name, Path(path).expanduser()


def load_dataset(text: str, *, spec: FeatureSpec = CAE_SPEC) -> LoadedDataset:
    """Read the dataset named by a ``NAME:PATH`` spec string."""
    name, path = parse_data_spec(text)
    if not path.exists():
        raise ParameterError(f"dataset folder {str(path)!r} (from {text!r}) does not exist")
    return READERS[name](path, spec=spec)


__all__ = ["READERS", "load_dataset", "parse_data_spec", "read_deam", "read_emomusic", "read_emotify",
           "read_fourq", "read_pmemo"]
