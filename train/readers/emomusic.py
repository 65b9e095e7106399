"""Reader of the Emotion in Music Database (emoMusic, "1000 songs") in its own layout.

Layout (as distributed, and as in ``shared/data/emomusic-mini``)::

    PATH/annotations/arousal_cont_average.csv   song_id,sample_15000ms,...,sample_45000ms
    PATH/annotations/valence_cont_average.csv   (values in [-1, 1], mean over raters)
    PATH/annotations/arousal_cont_std.csv       raters' std, same columns (optional)
    PATH/annotations/valence_cont_std.csv
    PATH/annotations/songs_info.csv             ..., "file_name", ..., "Mediaeval 2013 set"
    PATH/clips_45seconds/<file_name>            e.g. 2.mp3 (45 s clips)

Labels are already on [-1, 1] and are kept as they are.  ``sample_15000ms`` is
frame 30; the clips are 45 s long, so the last column (``sample_45000ms``,
frame 90, which would cover 45.0-45.5 s) has no audio and is dropped: every
song keeps the 60 ratings of frames 30..89 (15.0-44.5 s).  The split is the
dataset's own ``Mediaeval 2013 set`` column (619 development, 125 evaluation).
The quoted fields of songs_info.csv carry stray tabs and spaces; they are stripped.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...model.errors import ParameterError
from ...model.features import CAE_SPEC, FeatureSpec
from ..items import LoadedDataset, SongItem
from ._csv import id_order, parse_id, read_sample_curves, read_table

#: Length of every emoMusic clip in seconds.
CLIP_SECONDS = 45.0
SPLIT_COLUMN = "Mediaeval 2013 set"


def read_emomusic(root: str | Path, *, spec: FeatureSpec = CAE_SPEC) -> LoadedDataset:
    """Read emoMusic annotations and locate each song's clip.

    Parameters
    ----------
    root : path
        Folder holding ``annotations/`` and ``clips_45seconds/``.
    spec : FeatureSpec
        Frame grid the targets are aligned to.

    Returns
    -------
    LoadedDataset
        Items for every song with valid arousal and valence ratings and a
        songs_info row; missing clips listed in ``missing_audio``; skipped rows
        described in ``problems``.
    """
    root = Path(root).expanduser()
    ann = root / "annotations"
    if not ann.is_dir():
        raise ParameterError(
            f"emoMusic folder {str(root)!r} has no 'annotations' folder; "
            "point --data emomusic:PATH at the folder holding annotations/ and clips_45seconds/")
    out = LoadedDataset("emomusic", root)
    last = spec.frame_index(CLIP_SECONDS) - 1
    curves = lambda name, what: read_sample_curves(  # noqa: E731
        ann / name, what=what, spec=spec, problems=out.problems, last_frame=last)
    arousal = curves("arousal_cont_average.csv", "emoMusic arousal averages")
    valence = curves("valence_cont_average.csv", "emoMusic valence averages")
    stds = {}
    for dim in ("arousal", "valence"):
        p = ann / f"{dim}_cont_std.csv"
        stds[dim] = curves(p.name, f"emoMusic {dim} stds") if p.is_file() else {}

    header, rows = read_table(ann / "songs_info.csv", what="emoMusic songs_info")
    cols = {name: i for i, name in enumerate(header)}
    for needed in ("song_id", "file_name", SPLIT_COLUMN):
        if needed not in cols:
            raise ParameterError(
                f"emoMusic songs_info.csv has no column {needed!r} (columns: {header})")
    info = {}
    for line, fields in rows:
        if len(fields) != len(header):
            out.problems.append(f"songs_info.csv line {line}: {len(fields)} fields, "
                                f"expected {len(header)}; row skipped")
            continue
        try:
            song_id = parse_id(fields[cols["song_id"]])
        except ValueError as exc:
            out.problems.append(f"songs_info.csv line {line}: {exc}; row skipped")
            continue
        info[song_id] = (fields[cols["file_name"]], fields[cols[SPLIT_COLUMN]].lower())

    for song in sorted(set(arousal) | set(valence), key=id_order):
        if song not in arousal or song not in valence:
            out.problems.append(f"song {song}: rated in only one of arousal/valence; skipped")
            continue
        if song not in info:
            out.problems.append(f"song {song}: not in songs_info.csv; skipped")
            continue
        (fa, a), (fv, v) = arousal[song], valence[song]
        if fa != fv or a.size != v.size:
            out.problems.append(f"song {song}: arousal and valence cover different frames; skipped")
            continue
        file_name, split = info[song]
        sa, sv = (_matching(stds[d].get(song), fa, a.size) for d in ("arousal", "valence"))
        item = SongItem(song, root / "clips_45seconds" / file_name, a, v, sa, sv,
                        split, fa, "emomusic")
        out.items.append(item)
        if not item.audio_path.is_file():
            out.missing_audio.append(song)
    return out


def _matching(std: tuple[int, np.ndarray] | None, first: int, n: int) -> np.ndarray | None:
    if std is None or std[0] != first or std[1].size != n:
        return None
    return std[1]
