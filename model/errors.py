"""One exception family for emotrack (after librosa's ``ParameterError``).

Every error a user can cause (a bad file, a wrong checkpoint, a missing device)
is an :class:`EmotrackError`; the CLI prints its message on one line and exits
non-zero instead of showing a traceback.  Messages quote the offending value
and say what to do.
"""
from __future__ import annotations


class EmotrackError(Exception):
    """Base class of every user-facing emotrack error."""


class ParameterError(EmotrackError, ValueError):
    """A value passed to emotrack is invalid (also a ``ValueError``)."""


class AudioFileError(EmotrackError):
    """An audio file is missing, unreadable, empty or malformed."""


class CheckpointError(EmotrackError):
    """A checkpoint is missing, corrupt, of an unknown version or mismatched."""


class DeviceError(EmotrackError):
    """An audio device or audio server is missing or cannot be opened."""


class OutputError(EmotrackError):
    """An output file cannot be written (disk full, file too large, I/O error); names the file."""


class AudioTooShortError(AudioFileError):
    """An audio file decodes but holds less audio than one frame (e.g. a 1-sample file).

    Not a broken file: ``emotrack analyze`` reports "0 frames" and writes nothing
    for it without failing the run.
    """
