#!/usr/bin/env python3
"""How far can smoothing and delay take the default tracker's within-song r on the 10 emoMusic clips?

Issue 19 asks for a mean within-song Pearson r of >= .40 (arousal) and >= .15 (valence) on the 10
emoMusic Blues clips.  This tool measures two things that bound what a temporal stage can do there:

1. **The human curves** of all 744 annotated songs (no audio needed): how much of each 2 Hz curve
   (15-44.5 s) is a monotone drift, and how well a curve that only moves from the slider's start
   towards the song's own (true) mean would score (an oracle for the drift; it knows the label).
2. **Every smoothing of the tracker's own outputs** on the 10 clips, read from ``emotrack analyze
   --format csv`` folders (causal and centered): raw, causal exponential (tau 2, 5, 10, 20 s),
   the running mean since the start, centered moving means (5, 10, 20 s), each at every delay
   0-5 s; and the same for the frame level (dBFS, loudness alone).  Each row's figure is the mean
   of the 10 per-clip r; the best row is chosen on the same 10 clips, so it is optimistic.

Run::

    emotrack analyze ../shared/data/emomusic-mini/clips_45seconds --mode causal --format csv --out /tmp/c
    emotrack analyze ../shared/data/emomusic-mini/clips_45seconds --mode centered --format csv --out /tmp/m
    python tools/within_song_ceiling.py --emomusic ../shared/data/emomusic-mini \\
        --causal /tmp/c --centered /tmp/m
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Callable

import numpy as np

CLIPS = (2, 3, 4, 5, 7, 8, 10, 12, 13, 17)
LABEL_TIMES = np.arange(15.0, 45.0, 0.5)  # the 60 samples 15.0 .. 44.5 s
DT = 0.5
LAGS = np.arange(0.0, 5.01, 0.5)


def read_curves(emomusic: Path, axis: str) -> dict[int, np.ndarray]:
    """song id -> the 60 averaged ratings (15.0-44.5 s) of every annotated song, audio or not
    (the project's emoMusic reader, whose 500 ms frame 30 is the sample at 15 s)."""
    from emotrack.train.readers.emomusic import read_emomusic

    out = {}
    for item in read_emomusic(emomusic).items:
        start = round(LABEL_TIMES[0] / DT) - item.first_frame
        vals = np.asarray(getattr(item, axis), np.float64)[start:start + LABEL_TIMES.size]
        if vals.size == LABEL_TIMES.size and np.isfinite(vals).all():
            out[int(item.song_id)] = vals
    return out


def drift_table(curves: dict[int, np.ndarray], taus=(5.0, 10.0, 20.0)) -> dict[str, float]:
    """How much of the human curves is drift (see the module doc)."""
    X = np.stack(list(curves.values()))
    t = LABEL_TIMES
    r_time = np.array([np.corrcoef(x, t)[0, 1] for x in X])
    out = {"songs": float(len(X)), "mean |r with time|": float(np.nanmean(np.abs(r_time))),
           "share ending farther from 0 than they start": float(np.mean(np.abs(X[:, -1]) > np.abs(X[:, 0]))),
           "mean within-song sd": float(X.std(axis=1).mean())}
    sign = np.sign(X.mean(axis=1))
    for tau in taus:
        template = 1.0 - np.exp(-t / tau)  # from 0 at the start of the clip towards the song's mean
        r = np.array([np.corrcoef(template, x)[0, 1] for x in X]) * sign
        out[f"oracle drift towards the song's own mean, tau {tau:g} s: mean r"] = float(np.nanmean(r))
    return out


def read_outputs(folder: Path, clip: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Frame times and the arousal, valence and level_db columns of ``<clip>.emotrack.csv``."""
    with open(folder / f"{clip}.emotrack.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    t = np.array([float(r["time_s"]) for r in rows])
    cols = {k: np.array([float(r[k]) if r[k] else np.nan for r in rows]) for k in ("arousal", "valence", "level_db")}
    return t, cols


def ema(x: np.ndarray, tau: float) -> np.ndarray:
    a, y, s = np.exp(-DT / tau), np.empty_like(x), x[0]
    for i, v in enumerate(x):
        s = a * s + (1 - a) * v
        y[i] = s
    return y


def moving_mean(x: np.ndarray, span_s: float) -> np.ndarray:
    k = int(round(span_s / DT)) // 2
    return np.array([x[max(0, i - k):i + k + 1].mean() for i in range(x.size)])


SMOOTHERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "raw": lambda x: x,
    **{f"causal exponential {tau:g} s": (lambda x, tau=tau: ema(x, tau)) for tau in (2.0, 5.0, 10.0, 20.0)},
    "running mean since the start": lambda x: np.cumsum(x) / np.arange(1, x.size + 1),
    **{f"centered mean {w:g} s": (lambda x, w=w: moving_mean(x, w)) for w in (5.0, 10.0, 20.0)},
}


def clip_rs(outputs: dict[int, tuple[np.ndarray, dict]], curves: dict[int, np.ndarray], column: str,
            smooth: Callable, lag: float) -> np.ndarray:
    """Per-clip Pearson r of the smoothed column, delayed by ``lag``, with the clip's human curve."""
    rs = []
    for clip in CLIPS:
        t, cols = outputs[clip]
        x = smooth(np.nan_to_num(cols[column], nan=np.nanmean(cols[column])))
        rs.append(np.corrcoef(np.interp(LABEL_TIMES - lag, t, x), curves[clip])[0, 1])
    return np.array(rs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emomusic", type=Path, required=True,
                    help="the emoMusic folder (annotations/; the clips' audio is not read)")
    ap.add_argument("--causal", type=Path, required=True, help="analyze --mode causal --format csv output folder")
    ap.add_argument("--centered", type=Path, required=True, help="analyze --mode centered --format csv output folder")
    args = ap.parse_args()
    from emotrack.train.tracking import bootstrap_mean

    print("## The human curves of all annotated songs (no audio)\n")
    print("| | arousal | valence |\n|---|---|---|")
    tables = {ax: drift_table(read_curves(args.emomusic, ax)) for ax in ("arousal", "valence")}
    for k in tables["arousal"]:
        print(f"| {k} | {tables['arousal'][k]:.3f} | {tables['valence'][k]:.3f} |")

    for axis in ("arousal", "valence"):
        curves = read_curves(args.emomusic, axis)
        print(f"\n## {axis}: mean within-song r on the 10 clips\n")
        print("| mode | signal | smoothing | r at lag 0 | best lag | r at best lag [95 % CI over clips] |")
        print("|---|---|---|---|---|---|")
        best = (-2.0, "")
        for mode, folder in (("causal", args.causal), ("centered", args.centered)):
            outputs = {c: read_outputs(folder, c) for c in CLIPS}
            for column in (axis, "level_db"):
                if column == "level_db" and mode == "centered":
                    continue  # the level does not depend on the mode
                for name, smooth in SMOOTHERS.items():
                    r0 = clip_rs(outputs, curves, column, smooth, 0.0)
                    per_lag = [(clip_rs(outputs, curves, column, smooth, lag), lag) for lag in LAGS]
                    rb, lag = max(per_lag, key=lambda p: p[0].mean())
                    ci = bootstrap_mean(rb)
                    print(f"| {mode} | {'model' if column == axis else 'level (dBFS)'} | {name} | {r0.mean():+.2f} | "
                          f"{lag:.1f} s | {rb.mean():+.2f} [{ci.low:+.2f}, {ci.high:+.2f}] |")
                    if rb.mean() > best[0]:
                        best = (rb.mean(), f"{mode}, {column}, {name}, lag {lag:.1f} s")
        print(f"\nHighest mean r ({axis}), chosen on these 10 clips: {best[0]:+.2f} ({best[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
