"""Within-song tracking: does the predicted 2 Hz curve follow the human one *inside* a song?

The MediaEval 2015 "Emotion in Music" metric: Pearson r and RMSE computed per song, then
averaged over songs.  Beside them, for every song, the RMSE of **the song's own mean**
(a constant that knows the song: the floor a curve must beat to say anything about the
song's course), and the means over songs with percentile bootstrap intervals (songs
resampled, seeded).

Raters trail the music by a few seconds, so the figures are also given with the
prediction delayed by 0 .. ``max_lag_s`` (the label of frame ``t`` compared with the
prediction of frame ``t - lag``).  One lag per dimension, the one with the highest
mean r over the songs, is reported **beside** the zero-lag figure: it is chosen on
the songs it is scored on, so it is optimistic by construction.

Every lag uses the same label frames (those whose delayed prediction exists at every
lag), so the figures at different lags are comparable.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .metrics import DIMENSIONS, pearson
from .song_metrics import LEVEL, N_BOOT, Estimate

MAX_LAG_S = 5.0
"""Largest delay of the prediction tried (seconds)."""


@dataclass(frozen=True)
class TrackingConfig:
    """How within-song figures are computed.

    Attributes
    ----------
    max_lag_s : float
        Delays 0, 0.5, ... ``max_lag_s`` seconds are tried.
    n_boot : int
        Bootstrap resamples of every interval.
    seed : int
        Seed of the bootstrap.
    """

    max_lag_s: float = MAX_LAG_S
    n_boot: int = N_BOOT
    seed: int = 0

    @property
    def lags(self) -> np.ndarray:
        """Delays in frames (0 .. max_lag_s / 0.5)."""
        return np.arange(int(round(self.max_lag_s / 0.5)) + 1)


@dataclass
class SongTracking:
    """One song's within-song figures (index 0 arousal, 1 valence).

    ``r`` and ``rmse`` have shape (n_lags, 2): row ``L`` is the prediction delayed by ``L`` frames.
    """

    key: str
    n_frames: int
    r: np.ndarray
    rmse: np.ndarray
    rmse_song_mean: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {"song": self.key, "n_frames": self.n_frames,
                **{dim: {"r": _num(self.r[0, d]), "rmse": _num(self.rmse[0, d]),
                         "rmse_song_mean": _num(self.rmse_song_mean[d]),
                         "r_by_lag": [_num(v) for v in self.r[:, d]]}
                   for d, dim in enumerate(DIMENSIONS)}}


def _num(v: float) -> float | None:
    return None if not math.isfinite(float(v)) else float(v)


def song_tracking(key: str, pred: np.ndarray, target: np.ndarray, first_frame: int,
                  lags: np.ndarray) -> SongTracking:
    """Within-song figures of one song.

    Parameters
    ----------
    pred : np.ndarray, shape=(m, 2)
        The tracker's values for frames ``0 .. m-1`` of the song (arousal, valence).
    target : np.ndarray, shape=(n, 2)
        Human ratings of frames ``first_frame .. first_frame + n - 1`` (NaN = unrated).
    lags : np.ndarray of int
        Delays in frames, starting with 0.
    """
    pred = np.asarray(pred, np.float64)
    target = np.asarray(target, np.float64)
    frames = first_frame + np.arange(len(target))
    ok = (frames - lags.max() >= 0) & (frames < len(pred))  # delayed predictions exist at every lag
    t = target[ok]
    r = np.full((len(lags), 2), np.nan)
    rmse = np.full((len(lags), 2), np.nan)
    own = np.full(2, np.nan)
    for d in range(2):
        rated = np.isfinite(t[:, d])
        if rated.sum() < 2:
            continue
        y = t[rated, d]
        own[d] = float(np.sqrt(np.mean((y - y.mean()) ** 2)))
        for i, lag in enumerate(lags):
            p = pred[frames[ok][rated] - lag, d]
            if not np.isfinite(p).all():
                keep = np.isfinite(p)
                p, yy = p[keep], y[keep]
            else:
                yy = y
            if len(p) < 2:
                continue
            r[i, d] = pearson(p, yy)
            rmse[i, d] = float(np.sqrt(np.mean((p - yy) ** 2)))
    return SongTracking(key, int(ok.sum()), r, rmse, own)


def bootstrap_mean(values: np.ndarray, *, n_boot: int = N_BOOT, seed: int = 0,
                   level: float = LEVEL) -> Estimate:
    """Mean over songs (NaN songs dropped) with a percentile bootstrap interval (songs resampled)."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    value = float(v.mean())
    if v.size < 2:
        return Estimate(value, math.nan, math.nan, int(v.size))
    draws = v[np.random.default_rng(seed).integers(0, v.size, (n_boot, v.size))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Estimate(value, float(low), float(high), int(v.size))


@dataclass
class TrackingSummary:
    """Means over songs of the within-song figures, per dimension, at zero lag and the best lag."""

    name: str
    songs: list[SongTracking]
    config: TrackingConfig
    means: dict[str, dict[str, Estimate]] = field(default_factory=dict)
    best_lag_s: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "max_lag_s": self.config.max_lag_s,
                "intervals": f"{int(LEVEL * 100)} % percentile bootstrap over songs, "
                             f"{self.config.n_boot} resamples (seed {self.config.seed})",
                "means": {dim: {k: e.to_dict() for k, e in m.items()} for dim, m in self.means.items()},
                "best_lag_s": self.best_lag_s,
                "songs": [s.to_dict() for s in self.songs]}


def summarise(name: str, songs: list[SongTracking], config: TrackingConfig = TrackingConfig()
              ) -> TrackingSummary:
    """Means over songs with bootstrap intervals, and the best lag per dimension."""
    out = TrackingSummary(name, songs, config)
    kw = {"n_boot": config.n_boot, "seed": config.seed}
    lags = config.lags
    for d, dim in enumerate(DIMENSIONS):
        r = np.array([s.r[:, d] for s in songs]).reshape(len(songs), len(lags))
        rmse = np.array([s.rmse[:, d] for s in songs]).reshape(len(songs), len(lags))
        own = np.array([s.rmse_song_mean[d] for s in songs])
        with warnings.catch_warnings():  # a lag where no song has an r: NaN, said in the table
            warnings.simplefilter("ignore", RuntimeWarning)
            mean_r = np.nanmean(r, axis=0) if len(songs) else np.full(len(lags), np.nan)
        best = int(np.nanargmax(mean_r)) if np.isfinite(mean_r).any() else 0
        out.best_lag_s[dim] = float(lags[best] * 0.5)
        out.means[dim] = {
            "r": bootstrap_mean(r[:, 0], **kw),
            "rmse": bootstrap_mean(rmse[:, 0], **kw),
            "rmse_song_mean": bootstrap_mean(own, **kw),
            "r_best_lag": bootstrap_mean(r[:, best], **kw),
            "rmse_best_lag": bootstrap_mean(rmse[:, best], **kw),
        }
    return out


def tracking_markdown(summary: TrackingSummary) -> str:
    """The within-song table: one row per dimension, means over songs with intervals."""
    n = len(summary.songs)
    lines = [f"### Within-song tracking ({summary.name}, {n} songs)", "",
             "Per song, then averaged over songs (MediaEval 2015); 95 % bootstrap intervals over songs. "
             "*Own mean*: the RMSE of a constant equal to the song's own mean rating (it knows the "
             "song). *Best lag*: the prediction delayed by the lag (0-"
             f"{summary.config.max_lag_s:g} s) with the highest mean r on these songs (chosen on them).",
             "",
             "| dimension | r (lag 0) | RMSE (lag 0) | RMSE of own mean | best lag | r (best lag) | RMSE (best lag) |",
             "|---|---|---|---|---|---|---|"]
    for dim in DIMENSIONS:
        m = summary.means[dim]
        lines.append(f"| {dim} | {m['r'].text()} | {m['rmse'].text(3)} | {m['rmse_song_mean'].text(3)} | "
                     f"{summary.best_lag_s[dim]:.1f} s | {m['r_best_lag'].text()} | {m['rmse_best_lag'].text(3)} |")
    lines += ["", "| song | frames | r arousal | r valence | RMSE arousal | RMSE valence | own mean a / v |",
              "|---|---|---|---|---|---|---|"]
    for s in summary.songs:
        lines.append(f"| {s.key} | {s.n_frames} | {_f(s.r[0, 0])} | {_f(s.r[0, 1])} | {_f(s.rmse[0, 0], 3)} | "
                     f"{_f(s.rmse[0, 1], 3)} | {_f(s.rmse_song_mean[0], 3)} / {_f(s.rmse_song_mean[1], 3)} |")
    return "\n".join(lines) + "\n"


def _f(v: float, digits: int = 2) -> str:
    return "-" if not math.isfinite(float(v)) else f"{v:.{digits}f}"


def loco_recalibrate(preds: dict[str, np.ndarray], items: dict[str, Any], held_out: list[str]
                     ) -> dict[str, np.ndarray]:
    """Leave-one-clip-out calibration for songs a head was calibrated on.

    A head whose last stage is a line per axis fitted on some songs' labels (the shipped
    musicnn head: the 10 emoMusic clips) has seen those songs.  For each song in
    ``held_out``, the line is refitted, per axis, from the predictions to the labels of
    the *other* held-out-able songs (least squares over their rated frames) and applied
    to the song's whole prediction; a line on top of a line is a line, so this equals
    refitting the head's own calibration without the song.  Within-song r does not
    change (a positive slope); RMSE does.

    Parameters
    ----------
    preds : dict key -> np.ndarray, shape=(m, 2)
        Predictions of every frame of each song.
    items : dict key -> SongItem
    held_out : list of str
        Keys of the songs the calibration was fitted on (all present in ``preds``).

    Returns
    -------
    dict key -> np.ndarray
        ``preds`` with the held-out songs' predictions recalibrated (others unchanged).
    """
    out = dict(preds)
    for key in held_out:
        xs, ys = [], []
        for other in held_out:
            if other == key:
                continue
            it = items[other]
            p = preds[other][it.first_frame:it.first_frame + it.n_frames]
            t = it.targets()[:len(p)]
            xs.append(p)
            ys.append(t)
        x, y = np.concatenate(xs).astype(np.float64), np.concatenate(ys).astype(np.float64)
        new = np.array(preds[key], np.float64)
        for d in range(2):
            ok = np.isfinite(x[:, d]) & np.isfinite(y[:, d])
            if ok.sum() < 2 or np.ptp(x[ok, d]) == 0:
                continue
            slope, icpt = np.polyfit(x[ok, d], y[ok, d], 1)
            new[:, d] = np.clip(slope * new[:, d] + icpt, -1.0, 1.0)
        out[key] = new
    return out
