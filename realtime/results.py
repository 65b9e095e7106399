"""What the engine publishes: :class:`TrackResult`, one per 500 ms frame.

Output order (DESIGN contract 6): the network predicts ``(arousal, valence)``;
plots put valence on x and arousal on y, both in [-1, 1].

Raw values and the display plane: ``arousal``/``valence`` are the tracker's raw
values (for the shipped trackers the emoMusic rater scale); ``arousal_pct``/
``valence_pct`` are their percentiles among the frames of the tracker's reference
music (None for a checkpoint without a display scale), and :attr:`TrackResult.plane`
is where the GUI draws the point (:mod:`emotrack.model.scale`).
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
        The raw prediction (the tracker's scale); NaN for a silent frame (no emotion).
    warming_up : bool
        True while the tracker's context is still padded (musicnn: the first 3 s,
        the poster's networks: 30 s) since the start or the last seek.
    t_last_sample : float
        ``time.monotonic()`` when the audio block holding the frame's last
        sample reached the engine (capture callback / playback callback).
    t_ready : float
        ``time.monotonic()`` when the prediction was ready.
    silent : bool
        The frame's level is below the silence threshold: no values, no mood word, no point
        drawn (DESIGN contract 7).
    arousal_pct, valence_pct : float or None
        Percentiles (0-100) of the raw values among the reference music's frames (None when
        silent or without a display scale).
    mood : str
        The point's word (:func:`~emotrack.realtime.mood.mood_words`: confident, or what is
        known, e.g. ``"calm; valence unclear"``); ``""`` when silent.
    t_wall : float
        ``time.time()`` (Unix seconds) when the prediction was ready.
    extras : tuple of float or None
        The tracker's extras (musicnn: 50 tag probabilities, names in the engine's
        ``extra_names``).
    level_db : float
        RMS level of the frame's audio in dBFS.
    arousal_sd, valence_sd : float or None
        Per-axis uncertainty (a standard deviation on the raw scale, calibrated on
        held-out songs); None when the tracker has no uncertainty model or the frame is silent.
    """

    frame_index: int
    time_s: float
    arousal: float
    valence: float
    warming_up: bool
    t_last_sample: float
    t_ready: float
    silent: bool = False
    arousal_pct: float | None = None
    valence_pct: float | None = None
    mood: str = ""
    t_wall: float = 0.0
    extras: tuple[float, ...] | None = None
    level_db: float = 0.0
    arousal_sd: float | None = None
    valence_sd: float | None = None

    @property
    def latency_ms(self) -> float:
        """Newest-sample-to-result latency in milliseconds."""
        return 1000.0 * (self.t_ready - self.t_last_sample)

    @property
    def plane(self) -> tuple[float, float]:
        """``(x, y)`` = (valence, arousal) on the display plane, each in [-1, 1]."""
        if self.silent:
            return (float("nan"), float("nan"))
        if self.arousal_pct is None or self.valence_pct is None:
            return (min(1.0, max(-1.0, self.valence)), min(1.0, max(-1.0, self.arousal)))
        return (self.valence_pct / 50.0 - 1.0, self.arousal_pct / 50.0 - 1.0)

    def to_dict(self) -> dict:
        """Plain dict of the fields (``extras`` as a list)."""
        out = dataclasses.asdict(self)
        if self.extras is not None:
            out["extras"] = list(self.extras)
        return out
