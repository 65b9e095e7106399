"""Reader of the 4Q audio emotion dataset (Panda, Malheiro & Paiva 2018): a Russell quadrant per clip.

Layout under ``PATH`` (the project's ``shared/data/4q-dev``, see its README)::

    PATH/labels.csv      one row per clip: song_id,artist,title,quadrant,arousal,valence,
                         p_quadrant,moods,genres,path
    PATH/<path>          the clip's audio (``MER_audio_taffc_dataset/Q1/<song_id>.mp3``),
                         or PATH/audio/<path>

The clips are commercial previews: keep the audio outside any repository, e.g. extract
it next to a copy of ``labels.csv`` (or link ``MER_audio_taffc_dataset`` there).

Labels of every clip (:data:`LABELS`): ``quadrant`` (1-4), ``arousal_high`` (1 for Q1/Q2,
0 for Q3/Q4), ``valence_positive`` (1 for Q1/Q4, 0 for Q2/Q3) and ``p_quadrant`` (the
share of its mood tags in its quadrant).  The genre is the first of the clip's AllMusic
genres; the artist is kept (:attr:`SongLabels.artist`) so that cross-validation keeps an
artist's clips in one fold.  Rows that cannot be read are reported in ``problems``, clips
without audio in ``missing_audio``; nothing is dropped silently.
"""
from __future__ import annotations

import math
from pathlib import Path

from ...model.errors import ParameterError
from ...model.features import CAE_SPEC, FeatureSpec
from ..items import SongLabelDataset, SongLabels
from ._csv import parse_float, read_table

LABELS = ("quadrant", "arousal_high", "valence_positive", "p_quadrant")
"""Label names of every clip, in this order."""

QUADRANTS = {"Q1": (1, 1), "Q2": (1, 0), "Q3": (0, 0), "Q4": (0, 1)}
"""Quadrant -> (arousal high, valence positive) on Russell's plane."""

_NEEDED = ("song_id", "artist", "quadrant", "genres", "path")


def read_fourq(root: str | Path, *, spec: FeatureSpec = CAE_SPEC) -> SongLabelDataset:
    """Read 4Q quadrant labels and locate each clip's audio.

    Parameters
    ----------
    root : path
        The folder holding ``labels.csv``.
    spec : FeatureSpec
        Unused (the labels are song-level); accepted like every reader's.

    Returns
    -------
    SongLabelDataset
        ``songs`` in file order, labels named :data:`LABELS`, ``artist`` set.
    """
    root = Path(root).expanduser()
    path = root / "labels.csv"
    if not path.is_file():
        raise ParameterError(f"no 4Q labels under {str(root)!r}: expected labels.csv (the 4q-dev "
                             "layout); point 4q:PATH at that folder")
    header, rows = read_table(path, what="4Q labels")
    idx = {name: i for i, name in enumerate(header)}
    missing = [c for c in _NEEDED if c not in idx]
    if missing:
        raise ParameterError(f"4Q labels {str(path)!r} lack column(s) {missing} (has {header})")
    out = SongLabelDataset("4q", root, label_names=LABELS)
    seen: set[str] = set()
    for line, fields in rows:
        where = f"labels.csv line {line}"
        if len(fields) != len(header):
            out.problems.append(f"{where}: {len(fields)} fields, expected {len(header)}; row skipped")
            continue
        song = fields[idx["song_id"]]
        quadrant = fields[idx["quadrant"]].upper()
        if not song or quadrant not in QUADRANTS:
            out.problems.append(f"{where}: song_id {song!r} / quadrant {quadrant!r} is not Q1-Q4; "
                                "row skipped")
            continue
        if song in seen:
            out.problems.append(f"{where}: clip {song} appears twice; later row skipped")
            continue
        try:
            p_quadrant = parse_float(fields[idx["p_quadrant"]]) if "p_quadrant" in idx else math.nan
        except ValueError as exc:
            out.problems.append(f"{where} (clip {song}): p_quadrant {exc}; row skipped")
            continue
        seen.add(song)
        high, positive = QUADRANTS[quadrant]
        rel = fields[idx["path"]]
        audio = root / rel
        if not audio.is_file() and (root / "audio" / rel).is_file():
            audio = root / "audio" / rel
        genre = fields[idx["genres"]].split(";")[0].strip().lower()
        labels = {"quadrant": float(int(quadrant[1])), "arousal_high": float(high),
                  "valence_positive": float(positive), "p_quadrant": p_quadrant}
        out.songs.append(SongLabels(song, audio, genre, 0, labels, "4q",
                                    artist=fields[idx["artist"]].strip()))
    out.missing_audio = [s.song_id for s in out.songs if not s.audio_path.is_file()]
    return out
