"""Fixtures of the training area: fixture datasets, a shared feature cache."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data"


def write_tone(path: Path, seconds: float, *, sr: int = 16000, freq: float = 440.0,
               amplitude: float = 0.2) -> Path:
    """A short synthetic WAV (the readers only need the file to exist)."""
    import soundfile as sf

    t = np.arange(int(seconds * sr)) / sr
    sf.write(str(path), (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr, format="WAV")
    return path


@pytest.fixture
def deam_root(tmp_path: Path) -> Path:
    """The DEAM fixture with synthetic audio for songs 10 and 2001 (11 has none)."""
    root = tmp_path / "deam"
    shutil.copytree(DATA / "train_deam", root)
    (root / "MEMD_audio").mkdir()
    for song in ("10", "2001"):
        write_tone(root / "MEMD_audio" / f"{song}.mp3", 1.0)
    return root


@pytest.fixture
def pmemo_root(tmp_path: Path) -> Path:
    """The PMEmo fixture with synthetic audio for song 1 only."""
    root = tmp_path / "pmemo"
    shutil.copytree(DATA / "train_pmemo", root)
    (root / "chorus").mkdir()
    write_tone(root / "chorus" / "1.mp3", 1.0)
    return root


@pytest.fixture(scope="session")
def train_cache_dir(tmp_path_factory) -> Path:
    """One feature cache for the whole test session (features are computed once)."""
    return tmp_path_factory.mktemp("feature-cache")


def write_opus(path: Path, seconds: float, *, sr: int = 48000, freq: float = 440.0,
               amplitude: float = 0.2) -> Path:
    """A short synthetic stereo Ogg/Opus file, as emotify-dev's tracks are stored."""
    import soundfile as sf

    t = np.arange(int(seconds * sr)) / sr
    tone = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.stack([tone, tone], axis=1), sr, format="OGG", subtype="OPUS")
    return path


@pytest.fixture
def emotify_root(tmp_path: Path) -> Path:
    """The emotify-dev layout fixture with generated Opus audio for tracks 1, 101, 201, 301 (5 has none).

    4 s tones (8 frames: 2 past the musicnn warm-up), louder and higher from track to track.
    """
    root = tmp_path / "emotify"
    shutil.copytree(DATA / "train_emotify", root)
    for i, rel in enumerate(("classical/1", "rock/1", "electronic/1", "pop/1")):
        write_opus(root / "audio" / f"{rel}.opus", 4.0, freq=220.0 * (i + 1), amplitude=0.05 * (i + 1))
    return root
