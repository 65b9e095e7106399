"""Mood words: the circumplex emotion words (``assets/circumplex.json``) and what a point's word is.

A point's word is the circumplex word whose direction is nearest its position on the
display plane (percentiles of the reference music, see :mod:`emotrack.model.scale`),
``"neutral"`` within :data:`NEUTRAL_RADIUS` of the centre, and no word at all (``""``)
for a silent frame.

With an uncertainty (``arousal_sd``/``valence_sd``, DESIGN contract 7) a word is given
only where the point is **confidently** inside its region: the box of the point's
confidence on each axis (raw value +- a half-width, mapped through the display scale) lies
within that word's sector, outside the neutral circle (or, for ``"neutral"``, within it).
Otherwise the word says what is known: ``"energetic"`` or ``"calm"`` when the arousal box
lies above or below the centre, ``"pleasant"`` or ``"unpleasant"`` for valence, e.g.
``"calm; valence unclear"``, ``"energetic, unpleasant"`` (both sides known, the word not),
or ``"unclear"``.  Without an uncertainty the word is the nearest one.

The half-width: where the tracker knows how far from the middle a value must lie for
listeners to put the song on that side with a calibrated probability of 90 % (a musicnn
head's ``words.side_halfwidth``, fitted on its training songs' out-of-fold predictions and
checked on held-out songs: ``emotrack.train.musicnn_head.side_halfwidth_for``), that
distance; otherwise :data:`CONFIDENCE_Z` sd, the one-sided 90 % of the point's 80 % interval.
The sd says where the listeners' rating may lie; the half-width says when its side is known.
For quadrant labels the two differ: a clip labelled "high" sits at +1, so its interval must
be wide to reach the label, while its side is known much sooner.

:func:`mood_words` is the one function ``listen``, the files and the GUI use (through the
engine's results and the schema's rows).
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np

from ..model.errors import ParameterError


@dataclass(frozen=True)
class CircumplexWord:
    """One emotion word at ``angle_deg`` (counter-clockwise from +valence) on the plane."""

    word: str
    angle_deg: float

    def position(self, radius: float) -> tuple[float, float]:
        """``(valence, arousal)`` of the word's anchor at ``radius`` from the centre."""
        a = math.radians(self.angle_deg)
        return radius * math.cos(a), radius * math.sin(a)


@dataclass(frozen=True)
class Circumplex:
    """The words to draw and the radius (in plane units) at which to draw them."""

    words: tuple[CircumplexWord, ...]
    radius: float

    def nearest(self, valence: float, arousal: float, *, neutral_radius: float = 0.15) -> str:
        """The word whose direction is closest to the point; ``"neutral"`` near the centre."""
        if math.hypot(valence, arousal) < neutral_radius:
            return "neutral"
        angle = math.degrees(math.atan2(arousal, valence)) % 360.0

        def gap(w: CircumplexWord) -> float:
            d = abs(angle - w.angle_deg % 360.0)
            return min(d, 360.0 - d)

        return min(self.words, key=gap).word


def load_circumplex(path=None) -> Circumplex:
    """Read the circumplex words (default: the packaged ``emotrack.assets/circumplex.json``)."""
    if path is None:
        text = resources.files("emotrack.assets").joinpath("circumplex.json").read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    try:
        data = json.loads(text)
        words = tuple(CircumplexWord(str(w["word"]), float(w["angle_deg"])) for w in data["words"])
        radius = float(data.get("radius", 0.86))
    except (ValueError, KeyError, TypeError) as exc:
        raise ParameterError(f"circumplex file {path or 'circumplex.json'!s} is malformed: {exc}") from None
    if not words:
        raise ParameterError(f"circumplex file {path or 'circumplex.json'!s} lists no words")
    return Circumplex(words=words, radius=radius)


NEUTRAL_RADIUS = 0.15
"""Points closer than this to the centre of the display plane are "neutral" (with a display
scale: within 7.5 percentile points of the reference music's median)."""


@functools.lru_cache(maxsize=1)
def default_circumplex() -> Circumplex:
    """The packaged circumplex words (read once; immutable)."""
    return load_circumplex()


CONFIDENCE_Z = 1.2816
"""Half-width of the interval a word must hold for, in sd: the central 80 % of a normal."""

UNCLEAR = "unclear"


def mood_word(plane_valence: float, plane_arousal: float, *, silent: bool = False,
              interval: tuple[tuple[float, float], tuple[float, float]] | None = None) -> str:
    """The mood word of a display-plane position; ``""`` for silence.

    Parameters
    ----------
    plane_valence, plane_arousal : float
        The point on the display plane, [-1, 1].
    silent : bool
        A silent frame has no word.
    interval : ((v_lo, v_hi), (a_lo, a_hi)), optional
        The point's confidence box on the display plane (see the module docstring); None:
        no uncertainty known, the nearest word.

    >>> mood_word(0.7, 0.6)
    'happy'
    >>> mood_word(0.7, 0.6, silent=True)
    ''
    >>> mood_word(0.1, -0.8, interval=((-0.4, 0.6), (-0.95, -0.6)))
    'calm; valence unclear'
    """
    if silent or not (math.isfinite(plane_valence) and math.isfinite(plane_arousal)):
        return ""
    circ = default_circumplex()
    nearest = circ.nearest(plane_valence, plane_arousal, neutral_radius=NEUTRAL_RADIUS)
    if interval is None:
        return nearest
    (v_lo, v_hi), (a_lo, a_hi) = interval
    if not all(math.isfinite(x) for x in (v_lo, v_hi, a_lo, a_hi)):
        return nearest
    corners = [(v, a) for v in (v_lo, v_hi) for a in (a_lo, a_hi)]
    words = {circ.nearest(v, a, neutral_radius=NEUTRAL_RADIUS) for v, a in corners}
    nearest_v = min(max(0.0, v_lo), v_hi)  # the box's point closest to the centre
    nearest_a = min(max(0.0, a_lo), a_hi)
    if words == {"neutral"} and max(math.hypot(v, a) for v, a in corners) <= NEUTRAL_RADIUS:
        return "neutral"
    if len(words) == 1 and "neutral" not in words and math.hypot(nearest_v, nearest_a) >= NEUTRAL_RADIUS:
        return words.pop()  # the whole box in one word's sector (a cone under 180 degrees: convex)
    arousal = "energetic" if a_lo > 0 else "calm" if a_hi < 0 else None
    valence = "pleasant" if v_lo > 0 else "unpleasant" if v_hi < 0 else None
    if arousal and valence:
        return f"{arousal}, {valence}"
    if arousal:
        return f"{arousal}; valence unclear"
    if valence:
        return f"{valence}; arousal unclear"
    return UNCLEAR


def mood_words(values: np.ndarray, *, scale=None, sd: np.ndarray | None = None,
               silent: np.ndarray | None = None, percentiles: np.ndarray | None = None,
               side_halfwidth: np.ndarray | None = None) -> list[str]:
    """The mood word of each frame (raw values, their sd, the display scale): what every output shows.

    Parameters
    ----------
    values : np.ndarray, shape=(n, 2)
        Raw (arousal, valence); NaN rows (silent frames) get ``""``.
    scale : DisplayScale or None
        The tracker's display scale (None: the plane shows the raw values, clipped).
    sd : np.ndarray, shape=(n, 2), or None
        Per-axis sd on the raw scale; None: the nearest word, no confidence test.
    silent : np.ndarray, shape=(n,), bool, optional
    percentiles : np.ndarray, shape=(n, 2), optional
        ``scale.percentiles(values)`` when the caller has them already.
    side_halfwidth : np.ndarray, shape=(2,), optional
        The tracker's per-axis half-width on the raw scale (inf: that side is never known);
        used instead of ``CONFIDENCE_Z * sd`` where given (module docstring).

    Returns
    -------
    list of str
    """
    from ..model.scale import plane_of

    values = np.asarray(values, np.float32).reshape(-1, 2)
    n = len(values)
    plane = plane_of(values, scale, percentiles=percentiles)
    silent = np.zeros(n, bool) if silent is None else np.asarray(silent, bool)
    lo = hi = None
    half = None
    if side_halfwidth is not None:
        half = np.broadcast_to(np.asarray(side_halfwidth, np.float32).reshape(1, 2), values.shape)
    elif sd is not None:
        half = CONFIDENCE_Z * np.asarray(sd, np.float32).reshape(-1, 2)
    if half is not None:
        with np.errstate(invalid="ignore", over="ignore"):
            lo, hi = plane_of(values - half, scale), plane_of(values + half, scale)
    out = []
    for i in range(n):
        box = None if lo is None else ((float(lo[i, 1]), float(hi[i, 1])), (float(lo[i, 0]), float(hi[i, 0])))
        out.append(mood_word(float(plane[i, 1]), float(plane[i, 0]), silent=bool(silent[i]), interval=box))
    return out
