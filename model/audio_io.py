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
from .ogg_pages import ByteRange, OggLink, ogg_links
from .validate import (UNKNOWN_FRAMES, check_audio_header, check_input_file, decoder_message,
                       find_sample_fault)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".w64", ".caf")
"""File name endings that a directory argument picks up (formats libsndfile decodes)."""

BLOCK_SECONDS = 10.0
"""Seconds of audio decoded per block (fewer when the file has many channels at a high rate)."""
MAX_BLOCK_VALUES = 960_000
"""Most samples (frames x channels) per decoded block: 10 s of 48 kHz stereo, 3.8 MB of
float32.  A 768 kHz, 64-channel file gets blocks of 15,000 frames, not 10 s (2.3 GB)."""
SALVAGE_FRAMES = 1024
"""Frames per read when a block ended in a decoder error: the audio before it is kept."""
OGG_START_LIMIT_S = 10.0
"""An Ogg stream whose first audio page ends later than this may be cut out of a longer
stream (its granule positions do not start at 0): its pages are not used to say audio is missing."""


@dataclass(frozen=True)
class AudioInfo:
    """Facts about an audio file (``duration_s`` from the header until it has been decoded)."""

    path: Path
    sample_rate: int
    channels: int
    duration_s: float
    format: str


def block_frames(sample_rate: int, channels: int, block_seconds: float = BLOCK_SECONDS) -> int:
    """Frames per decoded block: ``block_seconds`` of audio, at most :data:`MAX_BLOCK_VALUES` samples."""
    return max(1, min(int(block_seconds * sample_rate), MAX_BLOCK_VALUES // max(1, channels)))


def audio_info(path: str | os.PathLike, *, chatter: DecoderChatter | None = None) -> AudioInfo:
    """Open ``path`` with soundfile and report rate, channels and duration (from the header).

    What the decoder prints meanwhile goes to ``chatter`` (a fresh one when None), never
    to the terminal (:mod:`~emotrack.model.decoder_chatter`).  A chained Ogg file (several
    logical streams one after another) reports the streams it can decode together
    (:func:`ogg_chain`); a length libsndfile does not know (INT64_MAX) is taken from the
    Ogg pages.

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
    fmt = str(info.format)
    frames = info.frames
    if fmt.upper() == "OGG":
        chain, _ = ogg_chain(path)
        if len(chain) > 1 or frames >= UNKNOWN_FRAMES:
            frames = sum(n for _, n in chain) if chain else 0
    header = check_audio_header(path, sample_rate=info.samplerate, channels=info.channels,
                                frames=frames)
    return AudioInfo(path, header.sample_rate, header.channels, header.duration_s, fmt)


def ogg_chain(path: Path) -> tuple[list[tuple[OggLink, int]], str | None]:
    """The links of an Ogg file decoded together and their frames, and why the rest is not.

    Links after the first are decoded while they have the first one's sample rate and
    channel count; the first that differs ends the chain (said in the second value).
    A file that is not a chain gives one link (frames: what libsndfile reports, or
    what its pages announce when that is unknown).
    """
    import soundfile as sf

    try:
        links = ogg_links(path)
    except OSError:
        return [], None
    out: list[tuple[OggLink, int]] = []
    first = None
    with open(path, "rb") as raw:
        for k, link in enumerate(links):
            try:
                with sf.SoundFile(ByteRange(raw, link.start, link.end)) as f:
                    facts = (f.samplerate, f.channels)
                    frames = f.frames
            except Exception as exc:  # noqa: BLE001 - a link libsndfile cannot open ends the chain
                if k == 0:
                    return [], None
                return out, (f"stream {k + 1} of the {len(links)} chained Ogg streams cannot be "
                             f"decoded ({decoder_message(exc)})")
            if frames >= UNKNOWN_FRAMES:
                frames = max(0, link.last_granule)
            if first is None:
                first = facts
            elif facts != first:
                return out, (f"stream {k + 1} of the {len(links)} chained Ogg streams has "
                             f"{facts[0]} Hz, {facts[1]} channel(s) where the first has {first[0]} Hz, "
                             f"{first[1]}; only the first {k} are analysed")
            out.append((link, frames))
    return out, None


class BlockReader:
    """Decode one file in blocks of float32 ``(n, channels)`` samples.

    Parameters
    ----------
    path : path-like
    block_seconds : float
        Audio per block (at most :data:`MAX_BLOCK_VALUES` samples: frames x channels).

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
    (what was decoded is kept, down to :data:`SALVAGE_FRAMES`) and is reported in
    :attr:`early_end`.  Every stream of a chained Ogg file with the first one's rate and
    channels is decoded in turn; an Ogg stream whose pages announce more audio than
    decodes is reported as cut.
    """

    def __init__(self, path: str | os.PathLike, *, block_seconds: float = BLOCK_SECONDS) -> None:
        self.chatter = DecoderChatter(decoder_name(path))
        self.info = audio_info(path, chatter=self.chatter)
        self.block = block_frames(self.info.sample_rate, self.info.channels, block_seconds)
        self.samples_read = 0
        self.early_end: str | None = None

    @property
    def seconds_read(self) -> float:
        return self.samples_read / self.info.sample_rate

    def __iter__(self) -> Iterator[np.ndarray]:
        import soundfile as sf

        info = self.info
        is_ogg = info.format.upper() == "OGG"
        chain, chain_note = ogg_chain(info.path) if is_ogg else ([], None)
        stream_error = None
        announced: list[int | None] = []
        with open(info.path, "rb") as raw:
            if len(chain) > 1:
                parts = [(lambda link=link: sf.SoundFile(ByteRange(raw, link.start, link.end)))
                         for link, _ in chain]
            else:
                parts = [lambda: sf.SoundFile(os.fsencode(info.path))]
            limit = int(OGG_START_LIMIT_S * info.sample_rate)
            announced = [link.announced(start_limit=limit) for link, _ in chain] or [None]
            for open_part in parts:
                stream_error = yield from self._decode(open_part)
                if stream_error is not None:
                    break
        if not self.samples_read:
            return
        note = early_end_note(info.path, decoded_s=self.seconds_read, header_s=info.duration_s,
                              file_format=info.format, error=stream_error)
        pages = (sum(announced) / info.sample_rate
                 if is_ogg and announced and None not in announced else None)
        if note is None and pages is not None:
            note = early_end_note(info.path, decoded_s=self.seconds_read, header_s=pages,
                                  file_format="", what="the Ogg pages announce")
        if chain_note is not None:
            note = f"{note}; {chain_note}" if note else f"decoded {self.seconds_read:.1f} s; {chain_note}"
        self.early_end = note

    def _decode(self, open_part) -> Iterator[np.ndarray]:
        """Yield the blocks of one stream; returns the decoder error that ended it (None at its end)."""
        info = self.info
        start = self.samples_read
        try:
            with self.chatter.capture():
                f = open_part()
            with f:
                while True:
                    with self.chatter.capture():
                        data = f.read(self.block, dtype="float32", always_2d=True)
                    if not len(data):
                        return None
                    yield self._checked(data)
        except AudioFileError:
            raise
        except Exception as exc:  # noqa: BLE001 - a decoder error: keep what decodes before it
            error = decoder_message(exc)
        # the failed block is lost: decode it again in small pieces, up to the error
        try:
            with self.chatter.capture():
                f = open_part()
            with f:
                with self.chatter.capture():
                    f.seek(self.samples_read - start)
                while True:
                    with self.chatter.capture():
                        data = f.read(SALVAGE_FRAMES, dtype="float32", always_2d=True)
                    if not len(data):
                        break
                    yield self._checked(data)
        except AudioFileError:
            raise
        except Exception:  # noqa: BLE001 - the same error again, further on or at once
            pass
        if not self.samples_read:
            raise AudioFileError(f"cannot decode '{info.path}': {error}")
        return error

    def _checked(self, data: np.ndarray) -> np.ndarray:
        fault = find_sample_fault(data)
        if fault is not None:
            raise AudioFileError(
                f"'{self.info.path}' contains "
                f"{fault.describe(sample_rate=self.info.sample_rate, offset=self.samples_read)}; "
                "clean or re-export the audio")
        self.samples_read += len(data)
        return data

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
