"""Reader of DEAM (MediaEval Database for Emotional Analysis in Music, "1802 songs").

Layout (as distributed in DEAM_Annotations.zip and DEAM_audio.zip)::

    PATH/annotations/annotations averaged per song/dynamic (per second annotations)/arousal.csv
    PATH/annotations/annotations averaged per song/dynamic (per second annotations)/valence.csv
    PATH/MEMD_audio/<song_id>.mp3

The zips' own top folders (``DEAM_Annotations/``, ``DEAM_audio/``) may stay in
between, and ``annotations_averaged_per_song/dynamic/`` (underscores) is accepted
too.  Each annotation file is wide: ``song_id,sample_15000ms,sample_15500ms,...``
at 2 Hz, averaged over raters, on [-1, 1] (kept as they are); songs shorter
than the longest leave their trailing cells empty.  ``sample_15000ms`` is frame
30.  These per-song files carry no rater std.

Split: songs 1-2000 are the 2013-2014 45 s excerpts ("development"); songs
2001-2058 are the full songs of the MediaEval 2015 test set ("evaluation").
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...model.errors import ParameterError
from ...model.features import CAE_SPEC, FeatureSpec
from ..items import DEVELOPMENT, EVALUATION, LoadedDataset, SongItem
from ._csv import id_order, read_sample_curves

#: Song ids above this belong to the MediaEval 2015 evaluation set (58 full songs).
LAST_DEVELOPMENT_ID = 2000

_ANNOTATION_DIRS = (
    "annotations/annotations averaged per song/dynamic (per second annotations)",
    "DEAM_Annotations/annotations/annotations averaged per song/dynamic (per second annotations)",
    "annotations/annotations_averaged_per_song/dynamic",
    "annotations_averaged_per_song/dynamic",
)
_AUDIO_DIRS = ("MEMD_audio", "DEAM_audio/MEMD_audio", "audio")


def find_annotation_dir(root: Path) -> Path:
    """The folder holding DEAM's per-song dynamic arousal.csv / valence.csv."""
    for rel in _ANNOTATION_DIRS:
        if (root / rel / "arousal.csv").is_file():
            return root / rel
    raise ParameterError(
        f"no DEAM dynamic annotations under {str(root)!r}: expected "
        f"'{_ANNOTATION_DIRS[0]}/arousal.csv' and valence.csv (unzip DEAM_Annotations.zip there)")


def find_audio_dir(root: Path) -> Path:
    """The folder holding ``<song_id>.mp3`` (MEMD_audio); the first candidate if none exists."""
    for rel in _AUDIO_DIRS:
        if (root / rel).is_dir():
            return root / rel
    return root / _AUDIO_DIRS[0]


def read_deam(root: str | Path, *, spec: FeatureSpec = CAE_SPEC) -> LoadedDataset:
    """Read DEAM's averaged dynamic annotations and locate each song's audio.

    Parameters
    ----------
    root : path
        DEAM folder (see module doc for the layout).
    spec : FeatureSpec
        Frame grid the targets are aligned to.

    Returns
    -------
    LoadedDataset
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ParameterError(f"DEAM folder {str(root)!r} does not exist")
    ann = find_annotation_dir(root)
    audio_dir = find_audio_dir(root)
    out = LoadedDataset("deam", root)
    read = lambda dim: read_sample_curves(  # noqa: E731
        ann / f"{dim}.csv", what=f"DEAM {dim} annotations", spec=spec,
        problems=out.problems, allow_short_rows=True)
    arousal, valence = read("arousal"), read("valence")
    for song in sorted(set(arousal) | set(valence), key=id_order):
        if song not in arousal or song not in valence:
            out.problems.append(f"song {song}: rated in only one of arousal/valence; skipped")
            continue
        (fa, a), (fv, v) = arousal[song], valence[song]
        first = max(fa, fv)
        n = min(fa + a.size, fv + v.size) - first
        if n <= 0:
            out.problems.append(f"song {song}: arousal and valence share no frame; skipped")
            continue
        a, v = a[first - fa:first - fa + n], v[first - fv:first - fv + n]
        out_of_range = int(np.count_nonzero(np.abs(np.nan_to_num(np.r_[a, v])) > 1.0))
        if out_of_range:
            out.problems.append(f"song {song}: {out_of_range} rating(s) outside [-1, 1] "
                                "clipped to the range")
            a, v = np.clip(a, -1, 1), np.clip(v, -1, 1)
        split = EVALUATION if song.isdigit() and int(song) > LAST_DEVELOPMENT_ID else DEVELOPMENT
        item = SongItem(song, audio_dir / f"{song}.mp3", a, v, None, None, split, first, "deam")
        out.items.append(item)
        if not item.audio_path.is_file():
            out.missing_audio.append(song)
    return out
