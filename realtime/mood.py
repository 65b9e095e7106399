"""Mood words: the circumplex emotion words (``assets/circumplex.json``) and the word nearest a point.

A result's mood is the word nearest its position on the display plane (percentiles of
the reference music, see :mod:`emotrack.model.scale`), ``"neutral"`` within
:data:`NEUTRAL_RADIUS` of the centre, and no word at all (``""``) for a silent frame.
The GUI, ``listen`` and the files all use :func:`mood_word`.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources

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


def mood_word(plane_valence: float, plane_arousal: float, *, silent: bool = False) -> str:
    """The mood word of a display-plane position; ``""`` for silence.

    >>> mood_word(0.7, 0.6)
    'happy'
    >>> mood_word(0.7, 0.6, silent=True)
    ''
    """
    if silent:
        return ""
    return default_circumplex().nearest(plane_valence, plane_arousal, neutral_radius=NEUTRAL_RADIUS)
