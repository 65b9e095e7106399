"""Reader of Emotify (Aljanaki, Wiering & Veltkamp 2016): song-level induced-emotion labels.

Two layouts are accepted under ``PATH``:

1. The project's (``shared/data/emotify-dev``, see its README)::

       PATH/labels.csv             one row per track: track_id,file,genre,n_raters,
                                   the nine GEMS fractions, liked_frac, disliked_frac,
                                   arousal_proxy, valence_proxy, arousal_fa, valence_fa
       PATH/audio/<genre>/<n>.opus (the path is the row's ``file`` column)

2. The dataset as distributed (``data.csv`` and ``emotifymusic.zip``)::

       PATH/data.csv               one row per rating session: track id, genre, the nine
                                   GEMS terms (0/1), mood, liked, disliked, age, gender,
                                   mother tongue
       PATH/emotifymusic/<genre>/<n>.mp3   or   PATH/<genre>/<n>.mp3

   ``track id`` runs 1-400 (100 per genre); the file of track ``t`` is
   ``n = (t - 1) % 100 + 1`` in its genre's folder.  Song-level labels are the
   fraction of the track's sessions that ticked each term (the dataset's own
   measure), ``liked_frac`` / ``disliked_frac`` likewise, ``n_raters`` the number
   of sessions; the four derived labels are computed as below.

Derived labels (:func:`derived_labels`), on Emotify's own scales (not [-1, 1]):

* ``arousal_proxy = mean(power, joyful_activation, tension, amazement)
  - mean(calmness, tenderness, sadness, nostalgia, solemnity)``;
* ``valence_proxy = mean(joyful_activation, amazement, tenderness, calmness)
  - mean(sadness, tension)``;
* ``arousal_fa`` (= -Peacefulness) and ``valence_fa`` (= -Sadness): the factor
  scores of Aljanaki et al. (2016, Table 8) as given in emotify-dev's labels.csv.
  They are affine in the nine fractions; :data:`FA_WEIGHTS` is that affine map,
  recovered by least squares from the 200 rows of labels.csv (it reproduces them
  within 1.3e-4, the file's 5-decimal rounding).

Labels present in ``labels.csv`` are taken as they are; derived labels missing from
it (no column, or an empty cell) are computed from the fractions.  Rows that cannot be read are reported in ``problems``, tracks
without audio in ``missing_audio``; nothing is dropped silently.
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from ...model.errors import ParameterError
from ...model.features import CAE_SPEC, FeatureSpec
from ..items import SongLabelDataset, SongLabels
from ._csv import id_order, parse_float, parse_id, parse_rating, read_table

GEMS = ("amazement", "solemnity", "tenderness", "nostalgia", "calmness", "power",
        "joyful_activation", "tension", "sadness")
"""The nine GEMS induced-emotion terms, in the dataset's column order."""

GENRES = ("classical", "rock", "electronic", "pop")
"""Emotify's genres, in track-id order (ids 1-100 classical, 101-200 rock, ...)."""

DERIVED = ("arousal_proxy", "valence_proxy", "arousal_fa", "valence_fa")
LABELS = (*GEMS, "liked_frac", "disliked_frac", *DERIVED)
"""Label names of every song, in this order."""

FA_WEIGHTS: dict[str, tuple[tuple[float, ...], float]] = {
    "arousal_fa": ((0.8874, -1.2149, -1.8297, -2.6120, -4.2564, 2.8613, 0.9363, 1.5165, 1.5203), 0.9491),
    "valence_fa": ((4.1410, -1.7549, -0.9444, -2.2145, -0.2288, 0.4319, 3.6600, -1.2999, -4.7510), 0.7361),
}
"""Factor score = weights . (GEMS fractions in :data:`GEMS` order) + offset."""

_AROUSAL_UP = ("power", "joyful_activation", "tension", "amazement")
_AROUSAL_DOWN = ("calmness", "tenderness", "sadness", "nostalgia", "solemnity")
_VALENCE_UP = ("joyful_activation", "amazement", "tenderness", "calmness")
_VALENCE_DOWN = ("sadness", "tension")


def derived_labels(fractions: dict[str, float]) -> dict[str, float]:
    """The four derived labels of a track from its nine GEMS fractions (see the module doc)."""
    mean = lambda names: sum(fractions[n] for n in names) / len(names)  # noqa: E731
    out = {"arousal_proxy": mean(_AROUSAL_UP) - mean(_AROUSAL_DOWN),
           "valence_proxy": mean(_VALENCE_UP) - mean(_VALENCE_DOWN)}
    for name, (weights, offset) in FA_WEIGHTS.items():
        out[name] = float(np.dot(weights, [fractions[g] for g in GEMS]) + offset)
    return out


def read_emotify(root: str | Path, *, spec: FeatureSpec = CAE_SPEC) -> SongLabelDataset:
    """Read Emotify song labels (either layout) and locate each track's audio.

    Parameters
    ----------
    root : path
        The folder holding ``labels.csv`` (emotify-dev) or ``data.csv`` (the original).
    spec : FeatureSpec
        Unused (the labels are song-level); accepted like every reader's.

    Returns
    -------
    SongLabelDataset
        ``songs`` in track-id order, labels named :data:`LABELS`.
    """
    root = Path(root).expanduser()
    out = SongLabelDataset("emotify", root, label_names=LABELS)
    if (root / "labels.csv").is_file():
        songs = _read_labels_csv(root, out.problems)
    elif (root / "data.csv").is_file():
        songs = _read_sessions_csv(root, out.problems)
    else:
        raise ParameterError(
            f"no Emotify labels under {str(root)!r}: expected labels.csv (emotify-dev layout) or "
            "data.csv (the dataset as distributed); point emotify:PATH at that folder")
    out.songs = sorted(songs, key=lambda s: id_order(s.song_id))
    out.missing_audio = [s.song_id for s in out.songs if not s.audio_path.is_file()]
    return out


def _rows(path: Path, needed: tuple[str, ...], what: str, problems: list[str]):
    """Column index, then ``(where, fields)`` of every row with the header's field count."""
    header, rows = read_table(path, what=what)
    idx = {name: i for i, name in enumerate(header)}
    missing = [c for c in needed if c not in idx]
    if missing:
        raise ParameterError(f"{what} {str(path)!r} lacks column(s) {missing} (has {header})")
    yield idx
    for line, fields in rows:
        where = f"{path.name} line {line}"
        if len(fields) != len(header):
            problems.append(f"{where}: {len(fields)} fields, expected {len(header)}; row skipped")
            continue
        yield where, fields


def _fraction(text: str, name: str) -> float:
    value = parse_float(text)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} {text!r} is not a fraction in [0, 1]")
    return value


def _read_labels_csv(root: Path, problems: list[str]) -> list[SongLabels]:
    rows = _rows(root / "labels.csv", ("track_id", "file", "genre", "n_raters", *GEMS), "Emotify labels",
                 problems)
    idx = next(rows)
    songs, seen = [], set()
    for where, fields in rows:
        song = fields[idx["track_id"]][:40]
        try:
            song = parse_id(fields[idx["track_id"]])
            fractions = {g: _fraction(fields[idx[g]], g) for g in GEMS}
            labels = {**fractions, **derived_labels(fractions)}
            for name in ("liked_frac", "disliked_frac", *DERIVED):
                value = parse_rating(fields[idx[name]]) if name in idx else math.nan
                if not (math.isnan(value) and name in DERIVED):  # empty derived cell: computed
                    labels[name] = value
            labels.setdefault("liked_frac", math.nan)
            labels.setdefault("disliked_frac", math.nan)
            n_raters = int(parse_float(fields[idx["n_raters"]]))
        except ValueError as exc:
            problems.append(f"{where} (track {song}): {exc}; row skipped")
            continue
        if song in seen:
            problems.append(f"{where}: track {song} appears twice; later row skipped")
            continue
        seen.add(song)
        songs.append(SongLabels(song, root / fields[idx["file"]], fields[idx["genre"]].lower(),
                                n_raters, {k: labels[k] for k in LABELS}, "emotify"))
    return songs


def _read_sessions_csv(root: Path, problems: list[str]) -> list[SongLabels]:
    rows = _rows(root / "data.csv", ("track id", "genre", *GEMS, "liked", "disliked"),
                 "Emotify rating sessions", problems)
    idx = next(rows)
    sessions: dict[str, list[list[float]]] = defaultdict(list)
    genre_of: dict[str, str] = {}
    for where, fields in rows:
        genre = fields[idx["genre"]].lower()
        try:
            song = parse_id(fields[idx["track id"]])
            if not song.isdigit() or not 1 <= int(song) <= 100 * len(GENRES):
                raise ValueError(f"track id {song!r} is not in 1..{100 * len(GENRES)}")
            ticks = [_fraction(fields[idx[c]], c) for c in (*GEMS, "liked", "disliked")]
        except ValueError as exc:
            problems.append(f"{where}: {exc}; row skipped")
            continue
        if genre_of.setdefault(song, genre) != genre:
            problems.append(f"{where}: track {song} is {genre!r} here but {genre_of[song]!r} before; "
                            "row skipped")
            continue
        sessions[song].append(ticks)
    audio_dir = root / "emotifymusic" if (root / "emotifymusic").is_dir() else root
    songs = []
    for song, ticks in sessions.items():
        mean = np.mean(ticks, axis=0)
        fractions = {g: float(v) for g, v in zip(GEMS, mean)}
        labels = {**fractions, "liked_frac": float(mean[-2]), "disliked_frac": float(mean[-1]),
                  **derived_labels(fractions)}
        n = (int(song) - 1) % 100 + 1
        songs.append(SongLabels(song, audio_dir / genre_of[song] / f"{n}.mp3", genre_of[song],
                                len(ticks), {k: labels[k] for k in LABELS}, "emotify"))
    return songs
