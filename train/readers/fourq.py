"""Reader of 4Q (Panda, Malheiro & Paiva 2018): 30 s clips labelled by Russell quadrant.

Layout under ``PATH`` (the project's ``shared/data/4q-dev``, see its README)::

    PATH/labels.csv     one row per clip: song_id, artist, title, quadrant (Q1-Q4),
                        arousal (high/low), valence (positive/negative), p_quadrant,
                        moods (";"-separated AllMusic mood tags), genres (";"-separated),
                        path (the clip inside the dataset mirror)
    PATH/<path>         the clip's audio, or PATH/audio/<path>

The audio is commercial and never belongs in a repository: keep ``labels.csv`` and a
link to the mirror's ``MER_audio_taffc_dataset`` folder together in one folder outside it.

Labels of every clip (:data:`LABELS`), song-level:

* ``arousal``: +1 (high: Q1, Q2) or -1 (low: Q3, Q4);
* ``valence``: +1 (positive: Q1, Q4) or -1 (negative: Q2, Q3);
* ``quadrant`` (1-4), ``arousal_high`` and ``valence_positive`` (1 or 0): the same facts as
  the poster's networks' training targets read them (:mod:`emotrack.train.song_targets`);
* ``p_quadrant``: share of the clip's mood tags in its quadrant (0-1).

A clip's ``genre`` is its first AllMusic genre (lower case): the figures "within genre"
group by it.  ``artist`` groups clips for cross-validation.  The quadrant must agree
with the arousal and valence columns; rows that do not, or cannot be read, are reported
in ``problems``; clips without audio in ``missing_audio``.
"""
from __future__ import annotations

import math
from pathlib import Path

from ...model.errors import ParameterError
from ...model.features import CAE_SPEC, FeatureSpec
from ..items import SongLabelDataset, SongLabels
from ._csv import parse_float, read_table

LABELS = ("arousal", "valence", "p_quadrant", "quadrant", "arousal_high", "valence_positive")
QUADRANTS = {"Q1": (1.0, 1.0), "Q2": (1.0, -1.0), "Q3": (-1.0, -1.0), "Q4": (-1.0, 1.0)}
"""Quadrant -> (arousal, valence) signs."""
_AROUSAL = {"high": 1.0, "low": -1.0}
_VALENCE = {"positive": 1.0, "negative": -1.0}
COLUMNS = ("song_id", "artist", "quadrant", "arousal", "valence", "genres", "path")


def read_fourq(root: str | Path, *, spec: FeatureSpec = CAE_SPEC) -> SongLabelDataset:
    """Read 4Q clip labels and locate each clip's audio.

    Parameters
    ----------
    root : path
        The folder holding ``labels.csv``.
    spec : FeatureSpec
        Unused (the labels are song-level); accepted like every reader's.

    Returns
    -------
    SongLabelDataset
        ``songs`` in file order, labels named :data:`LABELS`; ``dataset`` ``"4q"``.
    """
    root = Path(root).expanduser()
    path = root / "labels.csv"
    if not path.is_file():
        raise ParameterError(f"no 4Q labels under {str(root)!r}: expected labels.csv (4q-dev layout); "
                             "point 4q:PATH at that folder")
    out = SongLabelDataset("4q", root, label_names=LABELS)
    header, rows = read_table(path, what="4Q labels")
    idx = {name: i for i, name in enumerate(header)}
    missing = [c for c in COLUMNS if c not in idx]
    if missing:
        raise ParameterError(f"4Q labels {str(path)!r} lack column(s) {missing} (has {header})")
    audio_root = root / "audio" if (root / "audio").is_dir() else root
    seen: set[str] = set()
    for line, fields in rows:
        where = f"labels.csv line {line}"
        if len(fields) != len(header):
            out.problems.append(f"{where}: {len(fields)} fields, expected {len(header)}; row skipped")
            continue
        song = fields[idx["song_id"]]
        try:
            labels = _labels(fields, idx)
        except ValueError as exc:
            out.problems.append(f"{where} (clip {song}): {exc}; row skipped")
            continue
        if not song or song in seen:
            out.problems.append(f"{where}: clip id {song!r} is empty or appears twice; row skipped")
            continue
        seen.add(song)
        rel = Path(fields[idx["path"]])
        if rel.is_absolute() or ".." in rel.parts:
            out.problems.append(f"{where} (clip {song}): path {str(rel)!r} leaves the dataset folder; "
                                "row skipped")
            continue
        genre = fields[idx["genres"]].split(";")[0].strip().lower()
        out.songs.append(SongLabels(song, audio_root / rel, genre, 1, labels, "4q",
                                    artist=fields[idx["artist"]]))
    out.missing_audio = [s.song_id for s in out.songs if not s.audio_path.is_file()]
    return out


def _labels(fields: list[str], idx: dict[str, int]) -> dict[str, float]:
    quadrant = fields[idx["quadrant"]].upper()
    if quadrant not in QUADRANTS:
        raise ValueError(f"quadrant {quadrant!r} is not one of {sorted(QUADRANTS)}")
    a_text, v_text = fields[idx["arousal"]].lower(), fields[idx["valence"]].lower()
    if a_text not in _AROUSAL or v_text not in _VALENCE:
        raise ValueError(f"arousal {a_text!r} / valence {v_text!r} must be high/low and positive/negative")
    arousal, valence = _AROUSAL[a_text], _VALENCE[v_text]
    if QUADRANTS[quadrant] != (arousal, valence):
        raise ValueError(f"quadrant {quadrant} disagrees with arousal {a_text!r} and valence {v_text!r}")
    p = parse_float(fields[idx["p_quadrant"]]) if "p_quadrant" in idx else math.nan
    if not math.isnan(p) and not 0.0 <= p <= 1.0:
        raise ValueError(f"p_quadrant {p!r} is not in [0, 1]")
    return {"arousal": arousal, "valence": valence, "p_quadrant": p,
            "quadrant": float(int(quadrant[1])), "arousal_high": float(arousal > 0),
            "valence_positive": float(valence > 0)}
