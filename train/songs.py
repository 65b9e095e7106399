"""Songs with their features: loading through the cache, song-level splits, normalisation."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from ..model.errors import EmotrackError, ParameterError
from .cache import FeatureCache
from .items import DEVELOPMENT, EVALUATION, SongItem


@dataclass(frozen=True, eq=False)
class SongFeatures:
    """A song's mel frames and its targets cropped to the frames the audio has.

    Attributes
    ----------
    item : SongItem
        Targets cover frames ``item.first_frame .. item.first_frame + item.n_frames - 1``,
        all ``< frames.shape[0]``.
    frames : np.ndarray, shape=(n_frames, n_mels), float32
        Mel frames in dB (not standardised).
    """

    item: SongItem
    frames: np.ndarray

    @property
    def key(self) -> str:
        return self.item.key

    def targets_full(self) -> np.ndarray:
        """Targets on every audio frame, shape=(n_frames, 2); NaN where unrated."""
        out = np.full((self.frames.shape[0], 2), np.nan, np.float32)
        it = self.item
        out[it.first_frame:it.first_frame + it.n_frames] = it.targets()
        return out


def load_features(items: list[SongItem], cache: FeatureCache, *, progress: bool = True,
                  problems: list[str] | None = None) -> list[SongFeatures]:
    """Frames of every item through the cache; undecodable songs are reported and skipped.

    Parameters
    ----------
    items : list[SongItem]
        Songs whose audio exists.
    cache : FeatureCache
    progress : bool
        Show a tqdm bar.
    problems : list[str], optional
        Receives one line per skipped song.
    """
    from tqdm import tqdm

    out = []
    for item in tqdm(items, desc="features", unit="song", disable=not progress, leave=False):
        try:
            frames = cache.frames(item.audio_path)
        except EmotrackError as exc:
            if problems is not None:
                problems.append(f"{item.key}: {exc}; skipped")
            continue
        cropped = item.cropped(frames.shape[0])
        if cropped.n_frames == 0 or np.isnan(cropped.targets()).all():
            if problems is not None:
                problems.append(f"{item.key}: audio ({frames.shape[0]} frames) ends before the "
                                f"first rated frame {item.first_frame}; skipped")
            continue
        out.append(SongFeatures(cropped, frames))
    return out


def _rank(key: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def split_validation(keys: list[str], *, fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Carve validation songs out of training songs, by song, deterministically.

    Songs are ordered by a seeded hash of their key; the first
    ``ceil(fraction * n)`` (at least 1 when n >= 2, 0 when fraction == 0) go to
    validation.  Frames of one song never end up on both sides.

    Returns
    -------
    train_keys, val_keys : list[str]
    """
    if not 0.0 <= fraction < 1.0:
        raise ParameterError(f"validation fraction must be in [0, 1), got {fraction!r}")
    ordered = sorted(keys, key=lambda k: _rank(k, seed))
    n_val = 0 if fraction == 0 or len(keys) < 2 else max(1, math.ceil(fraction * len(keys)))
    val = set(ordered[:n_val])
    return [k for k in keys if k not in val], [k for k in keys if k in val]


def training_pool(items: list[SongItem]) -> list[SongItem]:
    """Songs training may use: the development split (evaluation songs are never trained on)."""
    return [it for it in items if it.split != EVALUATION]


def evaluation_pool(items: list[SongItem], split: str) -> list[SongItem]:
    """Songs of a named split (``development``, ``evaluation`` or ``all``)."""
    if split == "all":
        return list(items)
    if split not in (DEVELOPMENT, EVALUATION):
        raise ParameterError(f"split must be development, evaluation or all, got {split!r}")
    return [it for it in items if it.split == split]


def normalisation(songs: list[SongFeatures]) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and std (n_mels,) over every frame of the given (training) songs."""
    if not songs:
        raise ParameterError("no training songs with audio: nothing to compute normalisation on")
    allf = np.concatenate([s.frames for s in songs]).astype(np.float64)
    std = allf.std(axis=0)
    return allf.mean(axis=0).astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)
