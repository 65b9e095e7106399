"""Fixtures of the training area: fixture datasets, a shared feature cache."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data"


def write_tone(path: Path, seconds: float, *, sr: int = 16000, freq: float = 440.0) -> Path:
    """A short synthetic WAV (the readers only need the file to exist)."""
    import soundfile as sf

    t = np.arange(int(seconds * sr)) / sr
    sf.write(str(path), (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr, format="WAV")
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
