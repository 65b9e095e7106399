"""Training examples: 60-frame windows of standardised features with their 60 targets."""
from __future__ import annotations

import numpy as np

from .songs import SongFeatures


def window_starts(song: SongFeatures, *, window: int, max_shift: int, stride: int | None = None
                  ) -> tuple[list[int], list[int]]:
    """Start frames of the fixed windows and the range of random-offset windows of a song.

    The fixed windows tile the rated frames (for emoMusic exactly one: frames
    30..89).  Random offsets move a window up to ``max_shift`` frames beyond
    the rated span in either direction (where the audio has frames there); the
    unrated positions of such a window are masked out of the loss.

    Returns
    -------
    fixed : list[int]
        Starts of windows lying inside the rated span (at least one, clamped to the audio).
    shift_range : [lo, hi]
        Inclusive range random starts are drawn from.
    """
    n = song.frames.shape[0]
    first, last = song.item.first_frame, song.item.first_frame + song.item.n_frames - 1
    stride = stride or window
    hi_fixed = max(first, last - window + 1)
    fixed = list(range(first, hi_fixed + 1, stride))
    if fixed[-1] != hi_fixed:
        fixed.append(hi_fixed)
    clamp = lambda s: int(min(max(s, 0), max(0, n - window)))  # noqa: E731
    fixed = sorted({clamp(s) for s in fixed})
    lo = clamp(first - max_shift)
    hi = clamp(hi_fixed + max_shift)
    return fixed, [lo, hi]


def cut_window(song: SongFeatures, start: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames (window, n_mels) and targets (window, 2) from ``start``; padded with edge frames
    (targets NaN) when the song is shorter than the window."""
    frames = song.frames[start:start + window]
    targets = song.targets_full()[start:start + window]
    short = window - frames.shape[0]
    if short > 0:
        frames = np.concatenate([frames, np.repeat(frames[-1:], short, axis=0)])
        targets = np.concatenate([targets, np.full((short, 2), np.nan, np.float32)])
    return frames, targets


def song_level_starts(song: SongFeatures, *, window: int, rng: np.random.Generator | None) -> list[int]:
    """Window starts of a song-level item (one label on every frame, e.g. an Emotify track).

    Every 30 s window of the track has the track's label on each frame, so training
    draws ``max(1, round(n / window))`` starts uniformly anywhere in the track (time
    shifts: a 60 s track gives two random windows per epoch); without ``rng``
    (validation) the fixed tiling ``0, window, 2*window ...`` that fits inside the track.
    """
    n = song.frames.shape[0]
    hi = max(0, n - window)
    count = max(1, int(round(n / window)))
    if rng is None:
        return list(range(0, hi + 1, window))[:count] or [0]
    return [int(s) for s in rng.integers(0, hi + 1, size=count)]


def epoch_windows(songs: list[SongFeatures], *, window: int, max_shift: int,
                  rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of windows: every fixed window, plus (with ``rng``) one random-offset
    window per fixed one; for song-level items :func:`song_level_starts` instead.

    Returns
    -------
    x : np.ndarray, shape=(n, window, n_mels), dB
    y : np.ndarray, shape=(n, window, 2), NaN = masked
    """
    xs, ys = [], []
    for song in songs:
        if song.item.song_level:
            starts = song_level_starts(song, window=window, rng=rng if max_shift > 0 else None)
        else:
            fixed, (lo, hi) = window_starts(song, window=window, max_shift=max_shift)
            starts = list(fixed)
            if rng is not None and max_shift > 0:
                starts += [int(rng.integers(lo, hi + 1)) for _ in fixed]
        for s in starts:
            f, t = cut_window(song, s, window)
            if np.isnan(t).all():
                continue
            xs.append(f)
            ys.append(t)
    if not xs:  # no rated frame in any window (e.g. a song whose ratings are all NaN)
        n_mels = songs[0].frames.shape[1] if songs else 0
        return np.zeros((0, window, n_mels), np.float32), np.zeros((0, window, 2), np.float32)
    return np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32)
