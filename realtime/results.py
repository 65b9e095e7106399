"""What the engine publishes: :class:`TrackResult`, one per 500 ms frame.

Output order (DESIGN contract 6): the network predicts ``(arousal, valence)``;
plots put valence on x and arousal on y, both in [-1, 1].
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class TrackResult:
    """The prediction for one completed frame.

    Attributes
    ----------
    frame_index : int
        Running number of the frame in this run (0, 1, 2, ...; never repeats,
        also across a seek).
    time_s : float
        Audio time in seconds of the frame's *end*, i.e. when it became
        complete: ``(k + 1) * 0.5`` for frame ``k`` of an unseeked source.
        For files this is the position in the file (a seek moves it), for live
        sources the seconds of audio captured since the start.
    arousal, valence : float
        The prediction, each in [-1, 1].
    warming_up : bool
        True while fewer than a full window (30 s) of frames has been heard
        since the start or the last seek; the window is padded meanwhile.
    t_last_sample : float
        ``time.monotonic()`` when the audio block holding the frame's last
        sample reached the engine (capture callback / playback callback).
    t_ready : float
        ``time.monotonic()`` when the prediction was ready.
    """

    frame_index: int
    time_s: float
    arousal: float
    valence: float
    warming_up: bool
    t_last_sample: float
    t_ready: float

    @property
    def latency_ms(self) -> float:
        """Newest-sample-to-result latency in milliseconds."""
        return 1000.0 * (self.t_ready - self.t_last_sample)

    @property
    def quadrant(self) -> str:
        """The circumplex quadrant word of this point (see :func:`quadrant`)."""
        return quadrant(self.valence, self.arousal)

    def to_dict(self) -> dict:
        """Plain JSON-able dict of the fields plus ``quadrant``."""
        out = dataclasses.asdict(self)
        out["quadrant"] = self.quadrant
        return out


#: Quadrant words of Russell's circumplex, keyed by (valence >= 0, arousal >= 0).
QUADRANT_WORDS = {
    (True, True): "happy",      # positive valence, high arousal (excited, joyful)
    (False, True): "tense",     # negative valence, high arousal (angry, anxious)
    (False, False): "sad",      # negative valence, low arousal (gloomy, tired)
    (True, False): "calm",      # positive valence, low arousal (relaxed, serene)
}


def quadrant(valence: float, arousal: float) -> str:
    """One word for the circumplex quadrant of a point.

    Parameters
    ----------
    valence, arousal : float in [-1, 1]
        Note the order: valence (x) first, as on the plot.

    Returns
    -------
    str
        ``"happy"`` (+v, +a), ``"tense"`` (-v, +a), ``"sad"`` (-v, -a) or
        ``"calm"`` (+v, -a); zero counts as positive.

    Examples
    --------
    >>> quadrant(0.5, -0.2)
    'calm'
    """
    return QUADRANT_WORDS[(valence >= 0.0, arousal >= 0.0)]
