"""Offline analysis of audio files: block-wise decoding -> a tracker -> results per 500 ms frame.

The file is decoded with soundfile in blocks (:class:`~emotrack.model.audio_io.BlockReader`,
never whole in memory) and pushed through the tracker's own streaming front end
(:meth:`~emotrack.model.tracker.Tracker.analyze`), the code path of a live run, so
causal results are exactly what a live run over the same audio shows.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..model.audio_io import AUDIO_EXTENSIONS, AudioInfo, BlockReader, audio_info, expand_inputs
from ..model.errors import AudioFileError, AudioTooShortError
from ..model.scale import DisplayScale
from ..model.tracker import FRAME_SECONDS, TrackerFrames

__all__ = ["AUDIO_EXTENSIONS", "AnalysisResult", "AudioInfo", "analyze_file", "audio_info",
           "expand_inputs"]


@dataclass(frozen=True)
class AnalysisResult:
    """A tracker's results for one file.

    Attributes
    ----------
    info : AudioInfo
        With the decoded duration.
    mode : {"causal", "centered"}
    frames : TrackerFrames
        One row per 500 ms frame: raw (arousal, valence), warming_up, silent, level, extras.
    model : dict
        The tracker's :meth:`~emotrack.model.tracker.Tracker.describe`.
    extra_names : tuple of str
        Names of ``frames.extras`` columns (musicnn: its 50 tags).
    scale : DisplayScale or None
        The tracker's display scale (percentiles of a reference set).
    side_halfwidth : np.ndarray or None
        The tracker's :attr:`~emotrack.model.tracker.Tracker.side_halfwidth` (the mood words' rule).
    early_end : str or None
        Why decoding stopped before the length the header announced (None: it did not).
    decoder_note : str or None
        What the decoder reported about the stream (damaged frames), in one sentence;
        its own text never reaches the terminal (None: it reported nothing).
    """

    info: AudioInfo
    mode: str
    frames: TrackerFrames
    model: dict[str, Any] = field(default_factory=dict)
    extra_names: tuple[str, ...] = ()
    scale: DisplayScale | None = None
    side_halfwidth: np.ndarray | None = None
    early_end: str | None = None
    decoder_note: str | None = None

    @property
    def note(self) -> str | None:
        """The one note for the user about this file: :attr:`early_end`, else :attr:`decoder_note`."""
        return self.early_end or self.decoder_note

    @property
    def time_s(self) -> np.ndarray:
        """End of each frame, ``(k+1) * 0.5`` (when it became complete, as live results)."""
        return self.frames.time_s

    @property
    def values(self) -> np.ndarray:
        """(n, 2) raw (arousal, valence)."""
        return self.frames.values

    @property
    def warming_up(self) -> np.ndarray:
        return self.frames.warming_up

    @property
    def silent(self) -> np.ndarray:
        return self.frames.silent

    @property
    def percentiles(self) -> np.ndarray | None:
        """(n, 2) percentiles of (arousal, valence) in the reference music, or None without a scale."""
        return None if self.scale is None else self.scale.percentiles(self.values)

    @property
    def frame_seconds(self) -> float:
        return FRAME_SECONDS


def analyze_file(
    path: str | os.PathLike,
    tracker,
    *,
    mode: str = "causal",
    on_progress: Callable[[float], None] | None = None,
    block_seconds: float | None = None,
) -> AnalysisResult:
    """Decode ``path`` and run ``tracker`` over it: one result per 500 ms frame.

    Parameters
    ----------
    path : path-like
    tracker : emotrack.model.tracker.Tracker
    mode : {"causal", "centered"}
    on_progress : callable, optional
        Called with seconds of audio analysed as frames complete (a progress bar).
    block_seconds : float, optional
        Audio decoded per block (default :data:`~emotrack.model.audio_io.BLOCK_SECONDS`).

    Raises
    ------
    AudioFileError
        Missing, unreadable, empty or broken file (NaN samples, decoder error).
    AudioTooShortError
        The file decodes but holds less audio than one frame.
    """
    reader = BlockReader(path, **({} if block_seconds is None else {"block_seconds": block_seconds}))
    on_frames = None if on_progress is None else (lambda n: on_progress(n * FRAME_SECONDS))
    frames = tracker.analyze(iter(reader), reader.info.sample_rate, mode=mode, on_frames=on_frames)
    info = reader.decoded_info()
    if reader.samples_read == 0:
        raise AudioFileError(f"audio file is empty (0 samples): '{info.path}'")
    if len(frames) == 0:
        raise AudioTooShortError(
            f"audio file is too short: '{info.path}' has {info.duration_s:.3f} s, "
            f"at least {FRAME_SECONDS / 2:g} s are needed for one frame")
    return AnalysisResult(info=info, mode=mode, frames=frames, model=tracker.describe(),
                          extra_names=tuple(tracker.extra_names), scale=tracker.scale,
                          side_halfwidth=tracker.side_halfwidth,
                          early_end=reader.early_end, decoder_note=reader.chatter.note())
