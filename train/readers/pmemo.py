"""Reader of PMEmo (PMEmo2019, popular-music chorus clips with dynamic labels).

Layout (as distributed in PMEmo2019.zip)::

    PATH/annotations/dynamic_annotations.csv      musicId,frameTime,Arousal(mean),Valence(mean)
    PATH/annotations/dynamic_annotations_std.csv  musicId,frameTime,Arousal(std),Valence(std)  (optional)
    PATH/chorus/<musicId>.mp3

The annotation file is long (one row per song and 0.5 s step); the dataset
removed the first 15 s of every rating, so each song's ``frameTime`` starts
around 15 s.  Labels are on [0, 1] and are mapped to [-1, 1] with ``2*x - 1``
(stds with ``2*s``).  A rating at ``frameTime = t`` seconds is placed on frame
``spec.frame_index(t)``, the same convention as emoMusic's ``sample_<ms>ms``;
the reader takes the times from the file and assumes nothing about where they
start.  PMEmo has no official split: every song is "development" (training
carves its validation songs by song id).
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from ...model.errors import ParameterError
from ...model.features import CAE_SPEC, FeatureSpec
from ..items import DEVELOPMENT, LoadedDataset, SongItem
from ._csv import align_to_frames, id_order, parse_float, parse_id, parse_rating, read_table

MEAN_COLUMNS = ("musicId", "frameTime", "Arousal(mean)", "Valence(mean)")
STD_COLUMNS = ("musicId", "frameTime", "Arousal(std)", "Valence(std)")


def _read_long(path: Path, columns: tuple[str, ...], what: str, problems: list[str]
               ) -> dict[str, list[tuple[float, float, float]]]:
    header, rows = read_table(path, what=what)
    idx = {name: i for i, name in enumerate(header)}
    missing = [c for c in columns if c not in idx]
    if missing:
        raise ParameterError(f"{what} {str(path)!r} lacks column(s) {missing} (has {header})")
    songs: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for line, fields in rows:
        if len(fields) != len(header):
            problems.append(f"{path.name} line {line}: {len(fields)} fields, "
                            f"expected {len(header)}; row skipped")
            continue
        try:
            song = parse_id(fields[idx[columns[0]]])
            t = parse_float(fields[idx[columns[1]]])
            a, v = (parse_rating(fields[idx[c]]) for c in columns[2:])
            if math.isnan(t):
                raise ValueError("empty frameTime")
        except ValueError as exc:
            problems.append(f"{path.name} line {line}: {exc}; row skipped")
            continue
        songs[song].append((t, a, v))
    return songs


def _curves(rows: list[tuple[float, float, float]], spec: FeatureSpec
            ) -> tuple[int, np.ndarray, np.ndarray]:
    rows = sorted(rows)
    times = [r[0] for r in rows]
    fa, a = align_to_frames(times, [r[1] for r in rows], spec)
    fv, v = align_to_frames(times, [r[2] for r in rows], spec)
    if fa != fv or a.size != v.size:
        raise ValueError("arousal and valence cover different frames")
    return fa, a, v


def read_pmemo(root: str | Path, *, spec: FeatureSpec = CAE_SPEC) -> LoadedDataset:
    """Read PMEmo's dynamic annotations (mapped to [-1, 1]) and locate each chorus clip.

    Parameters
    ----------
    root : path
        The PMEmo2019 folder (holding ``annotations/`` and ``chorus/``).
    spec : FeatureSpec
        Frame grid the targets are aligned to.

    Returns
    -------
    LoadedDataset
    """
    root = Path(root).expanduser()
    ann = root / "annotations"
    if not (ann / "dynamic_annotations.csv").is_file():
        raise ParameterError(
            f"no PMEmo annotations under {str(root)!r}: expected "
            "annotations/dynamic_annotations.csv (point pmemo:PATH at the PMEmo2019 folder)")
    out = LoadedDataset("pmemo", root)
    means = _read_long(ann / "dynamic_annotations.csv", MEAN_COLUMNS,
                       "PMEmo dynamic annotations", out.problems)
    std_path = ann / "dynamic_annotations_std.csv"
    stds = (_read_long(std_path, STD_COLUMNS, "PMEmo dynamic stds", out.problems)
            if std_path.is_file() else {})
    for song in sorted(means, key=id_order):
        try:
            first, a, v = _curves(means[song], spec)
        except ValueError as exc:
            out.problems.append(f"song {song}: {exc}; skipped")
            continue
        if a.size == 0:
            out.problems.append(f"song {song}: no ratings; skipped")
            continue
        bad = int(np.count_nonzero((np.nan_to_num(np.r_[a, v], nan=0.5) < 0)
                                   | (np.nan_to_num(np.r_[a, v], nan=0.5) > 1)))
        if bad:
            out.problems.append(f"song {song}: {bad} rating(s) outside [0, 1] clipped to the range")
        a, v = 2.0 * np.clip(a, 0, 1) - 1.0, 2.0 * np.clip(v, 0, 1) - 1.0
        sa = sv = None
        if song in stds:
            try:
                fs, s_a, s_v = _curves(stds[song], spec)
                if fs == first and s_a.size == a.size:
                    sa, sv = 2.0 * s_a, 2.0 * s_v
            except ValueError:
                pass
        item = SongItem(song, root / "chorus" / f"{song}.mp3", a.astype(np.float32),
                        v.astype(np.float32), sa, sv, DEVELOPMENT, first, "pmemo")
        out.items.append(item)
        if not item.audio_path.is_file():
            out.missing_audio.append(song)
    return out
