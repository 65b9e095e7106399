"""CSV helpers shared by the dataset readers: tolerant parsing, clear complaints."""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np

from ...model.errors import ParameterError
from ...model.features import FeatureSpec
from ...model.validate import quote

_SAMPLE_COLUMN = re.compile(r"^sample_(\d+)ms$")

MAX_RATED_S = 3 * 3600.0
"""Latest time (s) a rating may have: a label file rating a point hours into a song is
corrupt, and the frame grid of a later time would be allocated for every row."""
MAX_ABS_RATING = 10.0
"""Largest magnitude of a rating, mean or std (every scale read here is [-1, 1] or [0, 1];
1e30 is no rating)."""
MAX_ID_CHARS = 256


def read_table(path: Path, *, what: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Read a comma-separated file, stripping spaces, tabs and quotes from every field.

    Parameters
    ----------
    path : pathlib.Path
    what : str
        Description for error messages ("emoMusic arousal averages").

    Returns
    -------
    header : list[str]
    rows : list[(line_number, fields)]
        Blank lines are dropped; line numbers are 1-based as in an editor.
    """
    if not path.is_file():
        raise ParameterError(f"{what} not found: {str(path)!r} does not exist")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            lines = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ParameterError(f"cannot read {what} {str(path)!r}: {exc}") from None
    rows = [(i + 1, [f.strip() for f in line]) for i, line in enumerate(lines)
            if any(f.strip() for f in line)]
    if not rows:
        raise ParameterError(f"{what} {str(path)!r} is empty")
    header = rows[0][1]
    return header, rows[1:]


def sample_times(header: list[str], *, what: str, path: Path) -> list[float]:
    """Times in seconds of ``sample_<ms>ms`` columns (all columns after the first)."""
    times = []
    for name in header[1:]:
        m = _SAMPLE_COLUMN.match(name)
        if not m:
            raise ParameterError(
                f"{what} {str(path)!r}: column {quote(name)} is not of the form 'sample_<ms>ms'")
        ms = int(m.group(1)) if len(m.group(1)) <= 12 else math.inf
        if ms > MAX_RATED_S * 1000:
            raise ParameterError(
                f"{what} {str(path)!r}: column {quote(name)} rates a point more than "
                f"{MAX_RATED_S / 3600:g} h into a song: the file is corrupt")
        times.append(ms / 1000.0)
    return times


def parse_float(text: str) -> float:
    """A number, or NaN for an empty / 'NaN' cell; ValueError for anything else."""
    if text == "" or text.lower() == "nan":
        return math.nan
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"infinite value {quote(text)}")
    return value


def parse_rating(text: str) -> float:
    """:func:`parse_float` of a rating: NaN for an empty cell, ValueError beyond
    :data:`MAX_ABS_RATING` (no rating scale reaches it)."""
    value = parse_float(text)
    if abs(value) > MAX_ABS_RATING:
        raise ValueError(f"rating {quote(text)} is not on a rating scale ([-1, 1] or [0, 1])")
    return value


def parse_id(text: str) -> str:
    """Canonical song id: '0012' and '12.0' both become '12'; other text kept.

    ``inf``, ``nan`` and ``1e400`` are kept as text (no number is a song id of theirs);
    ValueError for an id longer than :data:`MAX_ID_CHARS` or holding control characters.
    """
    if len(text) > MAX_ID_CHARS or any(ord(c) < 32 for c in text):
        raise ValueError(f"song id {quote(text)} is not an id")
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value) or abs(value) >= 2 ** 53:
        return text
    return str(int(value)) if value == int(value) else text


def align_to_frames(times: list[float], values: list[float], spec: FeatureSpec
                    ) -> tuple[int, np.ndarray]:
    """Place time-stamped ratings on the frame grid.

    A rating at ``t`` seconds describes frame ``spec.frame_index(t)`` (the frame
    covering ``[t, t + 0.5)`` s; emoMusic ``sample_15000ms`` -> frame 30).
    Frames between the first and last rating without one are NaN; trailing NaNs
    are dropped.

    Returns
    -------
    first_frame : int
    values : np.ndarray, shape=(n,), float32
    """
    bad = [t for t, v in zip(times, values) if not math.isnan(v) and not 0 <= t <= MAX_RATED_S]
    if bad:
        raise ValueError(f"a rating at {bad[0]:g} s is outside 0..{MAX_RATED_S:g} s")
    frames = [spec.frame_index(t) for t, v in zip(times, values) if not math.isnan(v)]
    kept = [v for v in values if not math.isnan(v)]
    if not frames:
        return 0, np.zeros(0, np.float32)
    if len(set(frames)) != len(frames):
        raise ValueError("two ratings fall on the same 500 ms frame")
    first = min(frames)
    out = np.full(max(frames) - first + 1, np.nan, np.float32)
    out[np.asarray(frames) - first] = kept
    return first, out


def read_sample_curves(path: Path, *, what: str, spec: FeatureSpec, problems: list[str],
                       last_frame: int | None = None, allow_short_rows: bool = False
                       ) -> dict[str, tuple[int, np.ndarray]]:
    """Read a wide ``song_id,sample_<ms>ms,...`` table (emoMusic, DEAM) into frame curves.

    Parameters
    ----------
    path : pathlib.Path
    what : str
        Description for messages.
    spec : FeatureSpec
        Frame grid (see :func:`align_to_frames`).
    problems : list[str]
        Receives one line per skipped row (wrong field count, non-numeric cell, no rating).
    last_frame : int, optional
        Drop ratings of frames after this one (e.g. beyond the end of a 45 s clip).
    allow_short_rows : bool
        Rows with fewer fields than the header are padded with NaN (DEAM: songs
        of different lengths share one header).

    Returns
    -------
    dict song_id -> (first_frame, values shape=(n,) float32)
    """
    header, rows = read_table(path, what=what)
    times = sample_times(header, what=what, path=path)
    curves = {}
    for line, fields in rows:
        where = f"{path.name} line {line}"
        short = len(fields) < len(header)
        if len(fields) > len(header) or (short and not allow_short_rows):
            problems.append(f"{where}: {len(fields)} fields, expected {len(header)}; row skipped")
            continue
        try:
            song = parse_id(fields[0])
        except ValueError as exc:
            problems.append(f"{where}: {exc}; row skipped")
            continue
        try:
            values = [parse_rating(v) for v in fields[1:]]
            values += [math.nan] * (len(times) - len(values))
            first, curve = align_to_frames(times, values, spec)
        except ValueError as exc:
            problems.append(f"{where} (song {song}): {exc}; row skipped")
            continue
        if last_frame is not None:
            curve = curve[: max(0, last_frame - first + 1)]
        if curve.size == 0 or np.isnan(curve).all():
            problems.append(f"{where} (song {song}): no ratings; row skipped")
            continue
        if song in curves:
            problems.append(f"{where}: song {song} appears twice; later row skipped")
            continue
        curves[song] = (first, curve)
    return curves


def id_order(song: str) -> tuple[int, str]:
    """Sort key: numeric ids in numeric order, others after them."""
    return (int(song), "") if song.isdigit() else (1 << 60, song)
