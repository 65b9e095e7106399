"""Song-level labels as frame targets on the emoMusic scale, for training the poster's networks.

A track with one label for the whole song (Emotify, 4Q) becomes a
:class:`~emotrack.train.items.SongItem` whose every frame has that label as its target,
so every 30 s window of the track (:mod:`emotrack.train.windows`) learns the track's
label on each of its 60 frames.  The target array covers :data:`MAX_SONG_FRAMES` frames
and is cropped to the frames the audio really has when its features are loaded.

Mapping to the emoMusic scale (the 2 Hz curves' [-1, 1] rater scale), from the song
means of the 744 emoMusic songs' annotations (``annotations/*_cont_average.csv``,
samples 15.0-44.5 s; :data:`EMOMUSIC_SONGS`):

* **Emotify** (continuous, own scales): ``target = mean + sd * z``, where ``z`` is the
  track's ``arousal_proxy`` (arousal) or ``valence_fa`` (valence) standardised over the
  dataset's loaded tracks, and mean / sd are the emoMusic song means' mean and standard
  deviation (arousal 0.030 / 0.293, valence 0.044 / 0.241); clipped to [-1, 1].  The
  labels are the ones the song-level evaluation scores (:mod:`emotrack.train.emotify`).
* **4Q** (a quadrant): each axis is high or low, so the target is the centre of that
  half, ``mean +- mad`` with mad the mean absolute deviation of the emoMusic song means
  from their mean (arousal 0.247, valence 0.200): Q1 = (0.277, 0.244),
  Q2 = (0.277, -0.156), Q3 = (-0.217, -0.156), Q4 = (-0.217, 0.244).  A binary label
  spread this way has about the same spread as the emoMusic song means.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..model.errors import ParameterError
from .items import DEVELOPMENT, SongItem, SongLabelDataset, SongLabels

MAX_SONG_FRAMES = 2 * 60 * 30
"""Frames a song-level target covers before cropping to the audio (30 minutes at 2 Hz)."""


@dataclass(frozen=True)
class ScaleStats:
    """Spread of song means on the emoMusic scale, one axis."""

    mean: float
    sd: float
    mad: float


EMOMUSIC_SONGS = {"arousal": ScaleStats(0.030, 0.293, 0.247), "valence": ScaleStats(0.044, 0.241, 0.200)}
"""Mean, standard deviation and mean absolute deviation of the song means (first 60 samples)
of all 744 emoMusic songs, rounded to 3 decimals (tests recompute them from the annotations)."""

EMOTIFY_LABELS = {"arousal": "arousal_proxy", "valence": "valence_fa"}
"""Which Emotify label each axis learns (the ones :mod:`emotrack.train.emotify` scores)."""


def quadrant_target(arousal_high: bool, valence_positive: bool) -> tuple[float, float]:
    """(arousal, valence) target of a quadrant label: the centre of each half (module doc)."""
    a, v = EMOMUSIC_SONGS["arousal"], EMOMUSIC_SONGS["valence"]
    return (a.mean + (a.mad if arousal_high else -a.mad), v.mean + (v.mad if valence_positive else -v.mad))


def emotify_targets(songs: list[SongLabels]) -> dict[str, tuple[float, float]]:
    """(arousal, valence) targets of Emotify tracks: standardised labels on the emoMusic spread.

    Tracks with a missing label are left out (the caller reports them).
    """
    out: dict[str, tuple[float, float]] = {}
    cols = []
    for axis in ("arousal", "valence"):
        values = np.array([s.labels.get(EMOTIFY_LABELS[axis], math.nan) for s in songs], np.float64)
        ok = np.isfinite(values)
        if ok.sum() < 2 or values[ok].std() == 0:
            raise ParameterError(f"Emotify {EMOTIFY_LABELS[axis]} needs at least two different values "
                                 f"to be standardised, got {int(ok.sum())} track(s)")
        z = (values - values[ok].mean()) / values[ok].std()
        st = EMOMUSIC_SONGS[axis]
        cols.append(np.clip(st.mean + st.sd * z, -1.0, 1.0))
    for s, a, v in zip(songs, *cols):
        if np.isfinite(a) and np.isfinite(v):
            out[s.song_id] = (float(a), float(v))
    return out


def song_targets(dataset: SongLabelDataset) -> dict[str, tuple[float, float]]:
    """The (arousal, valence) target of every labelled song of a song-level dataset."""
    songs = dataset.songs
    if dataset.name == "emotify":
        return emotify_targets(songs)
    if dataset.name == "4q":
        return {s.song_id: quadrant_target(s.labels["arousal_high"] > 0.5, s.labels["valence_positive"] > 0.5)
                for s in songs}
    raise ParameterError(f"no mapping of {dataset.name!r} song labels to training targets")


def constant_item(song: SongLabels, target: tuple[float, float]) -> SongItem:
    """A :class:`SongItem` whose every frame (up to :data:`MAX_SONG_FRAMES`) has ``target``."""
    a = np.full(MAX_SONG_FRAMES, target[0], np.float32)
    v = np.full(MAX_SONG_FRAMES, target[1], np.float32)
    return SongItem(song.song_id, song.audio_path, a, v, None, None, DEVELOPMENT, 0,
                    song.dataset, song.group if song.artist else "", song_level=True)


def training_items(dataset: SongLabelDataset, problems: list[str] | None = None) -> list[SongItem]:
    """Training items of a song-level dataset's songs with audio, targets as in the module doc."""
    targets = song_targets(dataset)
    items = []
    for song in dataset.songs_with_audio():
        if song.song_id not in targets:
            if problems is not None:
                problems.append(f"{song.key}: no {dataset.name} label to learn; skipped")
            continue
        items.append(constant_item(song, targets[song.song_id]))
    return items
