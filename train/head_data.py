"""The songs a musicnn head learns from: song-mean musicnn outputs and labels of every set.

A musicnn head is linear, so the song mean of its frame outputs is its output on the
song-mean input: heads are fitted on one row per song (:class:`HeadSongs`).  A song's
mean runs over the frames a song-level figure counts (``k >= 6``, not silent;
:func:`~emotrack.train.emotify.counted_frames`).

Labels per set, on each set's own scale (the fitting standardises them):

========  =======================  ===============================
set       arousal                  valence
========  =======================  ===============================
emotify   ``arousal_proxy``        ``valence_fa``
4q        +1 high / -1 low         +1 positive / -1 negative
========  =======================  ===============================

Groups for cross-validation: the artist (4Q, several clips per artist) or the track
(Emotify).  The 10 emoMusic clips are not songs to learn from here: their 2 Hz labels
(frames 30-89) calibrate the head's outputs onto the emoMusic rater scale
(:class:`CalibrationFrames`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..model.errors import ParameterError
from ..model.musicnn_tracker import INPUTS
from .musicnn_features import counted
from .items import LoadedDataset, SongLabelDataset
from .musicnn_features import MusicnnFeatureCache

LABELS = {"emotify": ("arousal_proxy", "valence_fa"), "4q": ("arousal", "valence")}
"""Label names (arousal, valence) of each set a head learns from."""
GIVEN = {"emotify": "arousal_proxy"}
"""The arousal label valence skill is measured beside (Emotify's partial correlation)."""


@dataclass
class HeadSongs:
    """One row per labelled song.

    Attributes
    ----------
    keys : list of str
        ``"emotify:101"``, ``"4q:MT0000040632"``.
    dataset, group, genre : np.ndarray of str, shape=(n,)
    y : np.ndarray, shape=(n, 2)
        (arousal, valence) labels on each set's own scale (:data:`LABELS`).
    means : dict name -> np.ndarray, shape=(n, size)
        Song means of the musicnn outputs of :data:`~emotrack.model.musicnn_tracker.INPUTS`.
    level_db : np.ndarray, shape=(n,)
        Song-mean frame level (the "loudness alone" predictor).
    given : np.ndarray, shape=(n,)
        The label valence skill is measured beside (:data:`GIVEN`; NaN where none).
    """

    keys: list[str]
    dataset: np.ndarray
    group: np.ndarray
    genre: np.ndarray
    y: np.ndarray
    means: dict[str, np.ndarray]
    level_db: np.ndarray
    given: np.ndarray
    problems: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    def x(self, inputs: Sequence[str]) -> np.ndarray:
        """Song-mean head input: the named outputs concatenated in order, (n, sum of sizes)."""
        return np.concatenate([self.means[name] for name in inputs], axis=1)

    def subset(self, idx: np.ndarray) -> "HeadSongs":
        idx = np.asarray(idx)
        return HeadSongs([self.keys[i] for i in idx], self.dataset[idx], self.group[idx], self.genre[idx],
                         self.y[idx], {k: v[idx] for k, v in self.means.items()}, self.level_db[idx],
                         self.given[idx])


def song_means(frames: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], float] | None:
    """Means over the counted frames of one file's cached outputs; None when no frame counts."""
    mask = counted(frames)
    if not mask.any():
        return None
    return ({k: frames[k][mask].astype(np.float64).mean(axis=0) for k in INPUTS},
            float(frames["level_db"][mask].astype(np.float64).mean()))


def head_songs(datasets: Sequence[SongLabelDataset], cache: MusicnnFeatureCache, *,
               progress: Callable[[int, int], None] | None = None) -> HeadSongs:
    """Song rows of every song with audio in the song-level ``datasets`` (emotify, 4q).

    Songs that cannot be decoded or have no counted frame are reported in ``problems``.
    """
    from ..model.errors import EmotrackError

    songs = [s for d in datasets for s in d.songs_with_audio()]
    unknown = sorted({s.dataset for s in songs} - set(LABELS))
    if unknown:
        raise ParameterError(f"a musicnn head learns from {', '.join(LABELS)} song labels, not {unknown}")
    rows, problems = [], []
    for i, s in enumerate(songs):
        if progress is not None:
            progress(i, len(songs))
        try:
            got = song_means(cache.frames(s.audio_path))
        except EmotrackError as exc:
            problems.append(f"{s.key}: {exc}; skipped")
            continue
        if got is None:
            problems.append(f"{s.key}: no frame past the 3 s warm-up is above the silence threshold; skipped")
            continue
        a, v = LABELS[s.dataset]
        rows.append((s, got, (s.labels[a], s.labels[v])))
    if not rows:
        raise ParameterError("no labelled song with usable audio: nothing to learn from")
    group = [f"{s.dataset}:artist:{s.artist.lower()}" if s.artist else s.key for s, _, _ in rows]
    out = HeadSongs([s.key for s, _, _ in rows], np.array([s.dataset for s, _, _ in rows]), np.array(group),
                    np.array([f"{s.dataset}:{s.genre}" for s, _, _ in rows]),
                    np.array([y for _, _, y in rows], np.float64),
                    {k: np.stack([m[k] for _, (m, _), _ in rows]) for k in INPUTS},
                    np.array([lv for _, (_, lv), _ in rows]),
                    np.array([s.labels.get(GIVEN.get(s.dataset, ""), np.nan) for s, _, _ in rows]), problems)
    return out


@dataclass
class CalibrationFrames:
    """The emoMusic clips' rated frames: musicnn outputs and 2 Hz (arousal, valence) labels.

    Attributes
    ----------
    keys : list of str
    outputs : dict name -> np.ndarray, shape=(n_frames, size)
    y : np.ndarray, shape=(n_frames, 2)
        Mean ratings on the emoMusic rater scale [-1, 1].
    clip : np.ndarray, shape=(n_frames,)
        Which clip each frame belongs to (index into ``keys``).
    """

    keys: list[str]
    outputs: dict[str, np.ndarray]
    y: np.ndarray
    clip: np.ndarray

    def x(self, inputs: Sequence[str]) -> np.ndarray:
        return np.concatenate([self.outputs[name] for name in inputs], axis=1).astype(np.float64)


def calibration_frames(datasets: Sequence[LoadedDataset], cache: MusicnnFeatureCache) -> CalibrationFrames:
    """Rated frames of every 2 Hz song with audio (emoMusic) for the rater-scale calibration."""
    keys, outs, ys, clip = [], [], [], []
    for d in datasets:
        for item in d.with_audio():
            frames = cache.frames(item.audio_path)
            t = item.targets().astype(np.float64)
            k = np.arange(item.first_frame, item.first_frame + len(t))
            index = frames["index"]
            pos = np.clip(np.searchsorted(index, k), 0, max(len(index) - 1, 0))
            ok = np.isfinite(t).all(axis=1) & (len(index) > 0) & (index[pos] == k)
            if not ok.any():
                continue
            keys.append(item.key)
            outs.append({name: frames[name][pos[ok]] for name in INPUTS})
            ys.append(t[ok])
            clip.append(np.full(int(ok.sum()), len(keys) - 1))
    if not keys:
        raise ParameterError("no rated 2 Hz song with audio to calibrate the head onto the emoMusic scale")
    return CalibrationFrames(keys, {n: np.concatenate([o[n] for o in outs]) for n in INPUTS},
                             np.concatenate(ys), np.concatenate(clip))
