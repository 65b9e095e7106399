"""Reading audio files block by block (soundfile): what offline analysis and evaluation decode.

The file is never held whole in memory: :class:`BlockReader` yields blocks of
``block_seconds`` that a tracker's stage 1 consumes, so an offline analysis sees
exactly the blocks of audio a live file source would play.  Errors are one-line
:class:`~emotrack.model.errors.AudioFileError` messages naming the file; when
decoding stops before the end the header announces, :attr:`BlockReader.early_end`
says how much was read and why, so callers can report it instead of silently
analysing a shorter file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .decoder_chatter import DecoderChatter
from .early_end import early_end_note
from .errors import AudioFileError
from .validate import check_audio_header, check_input_file, decoder_message, find_sample_fault

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".w64", ".caf")
"""File name endings that a directory argument picks up (formats libsndfile decodes)."""

BLOCK_SECONDS = 10.0
"""Seconds of audio decoded per block."""


@dataclass(frozen=True)
class AudioInfo:
    """Facts about an audio file (``duration_s`` from the header until it has been decoded)."""

    path: Path
    sample_rate: int
    channels: int
    duration_s: float
    format: str


def audio_info(path: str | os.PathLike, *, chatter: DecoderChatter | None = None) -> AudioInfo:
    """Open ``path`` with soundfile and report rate, channels and duration (from the header).

    What the decoder prints meanwhile goes to ``chatter`` (a fresh one when None), never
    to the terminal (:mod:`~emotrack.model.decoder_chatter`).

    Raises
    ------
    AudioFileError
        Missing, not a regular file (a device, a pipe, a folder), unreadable, undecodable,
        or a header no real recording has (:func:`~emotrack.model.validate.check_audio_header`).
    """
    import soundfile as sf

    path = check_input_file(path)
    try:
        with (chatter or DecoderChatter()).capture():
            info = sf.info(os.fsencode(path))  # bytes: a name that is not UTF-8 opens too
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError/TypeError
        raise AudioFileError(f"cannot decode '{path}': {decoder_message(exc)}") from None
    header = check_audio_header(path, sample_rate=info.samplerate, channels=info.channels,
                                frames=info.frames)
    return AudioInfo(path, header.sample_rate, header.channels, header.duration_s, str(info.format))


class BlockReader:
    """Decode one file in blocks of float32 ``(n, channels)`` samples.

    Parameters
    ----------
    path : path-like
    block_seconds : float
        Audio per block.

    Attributes
    ----------
    info : AudioInfo
        Header facts (read at construction: a bad file fails here).
    samples_read : int
        Frames (per channel) decoded so far.
    early_end : str or None
        After iteration: how much was decoded when decoding stopped before the end
        (:func:`~emotrack.model.early_end.early_end_note`; None when it reached the end).
    chatter : DecoderChatter
        What the decoder printed (kept off the terminal); :attr:`note` is the one
        sentence for the user.

    Iterating raises :class:`AudioFileError` for NaN/Inf or huge samples (naming the time)
    and for a decoder error before any audio; a decoder error later ends the iteration
    (what was decoded is kept) and is reported in :attr:`early_end`.
    """

    def __init__(self, path: str | os.PathLike, *, block_seconds: float = BLOCK_SECONDS) -> None:
        self.chatter = DecoderChatter(decoder_name(path))
        self.info = audio_info(path, chatter=self.chatter)
        self.block = max(1, int(block_seconds * self.info.sample_rate))
        self.samples_read = 0
        self.early_end: str | None = None

    @property
    def seconds_read(self) -> float:
        return self.samples_read / self.info.sample_rate

    def __iter__(self) -> Iterator[np.ndarray]:
        import soundfile as sf

        info = self.info
        try:
            with self.chatter.capture():
                f = sf.SoundFile(os.fsencode(info.path))  # bytes: any file name
            with f:
                while True:
                    with self.chatter.capture():
                        data = f.read(self.block, dtype="float32", always_2d=True)
                    if not len(data):
                        break
                    fault = find_sample_fault(data)
                    if fault is not None:
                        raise AudioFileError(
                            f"'{info.path}' contains "
                            f"{fault.describe(sample_rate=info.sample_rate, offset=self.samples_read)}; "
                            "clean or re-export the audio")
                    self.samples_read += len(data)
                    yield data
        except AudioFileError:
            raise
        except Exception as exc:
            if not self.samples_read:
                raise AudioFileError(f"cannot decode '{info.path}': {decoder_message(exc)}") from None
            stream_error = decoder_message(exc)  # keep what was decoded, say where it stopped
        else:
            stream_error = None
        if self.samples_read:
            self.early_end = early_end_note(info.path, decoded_s=self.seconds_read,
                                            header_s=info.duration_s, file_format=info.format,
                                            error=stream_error)

    @property
    def note(self) -> str | None:
        """The one note about this file for the user: how decoding ended early
        (:attr:`early_end`), else what the decoder reported (None: nothing to say)."""
        return self.early_end or self.chatter.note()

    def decoded_info(self) -> AudioInfo:
        """:attr:`info` with the decoded duration (headers of VBR files can be off)."""
        i = self.info
        return AudioInfo(i.path, i.sample_rate, i.channels, self.seconds_read, i.format)


def decoder_name(path: str | os.PathLike) -> str:
    """``"MP3 decoder"`` for ``x.mp3`` (what :class:`DecoderChatter` notes call it)."""
    ext = os.path.splitext(str(path))[1].lstrip(".").upper()
    return f"{ext} decoder" if ext else "decoder"


def expand_inputs(paths) -> list[Path]:
    """Files named on the command line; a directory contributes its audio files (recursively, sorted).

    Paths that do not exist are kept, so the caller reports them as failures.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in AUDIO_EXTENSIONS))
        else:
            out.append(p)
    return out
