"""Feature cache keyed by audio content and FeatureSpec.

``<cache_dir>/<spec.hash>/<sha256 of the audio file's bytes, 32 hex>.npy`` holds
the (n_frames, n_mels) float32 mel frames of that file under that spec.  The key
is the file's *content*, so renamed or copied files hit the cache and an edited
file misses it.  Writes go to a temporary file in the same folder followed by
``os.replace``: concurrent runs at worst compute the same frames twice and never
see a half-written file; an unreadable entry is recomputed.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..model.errors import AudioFileError, EmotrackError, ParameterError
from ..model.features import CAE_SPEC, FeatureSpec, mel_frames
from ..model.validate import check_audio_header, check_input_file, decoder_message, find_sample_fault


def default_cache_dir() -> Path:
    """``$EMOTRACK_CACHE`` or ``$XDG_CACHE_HOME/emotrack/features`` (``~/.cache/...``)."""
    if os.environ.get("EMOTRACK_CACHE"):
        return Path(os.environ["EMOTRACK_CACHE"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "emotrack" / "features"


def file_digest(path: Path, *, chunk: int = 1 << 20) -> str:
    """First 32 hex digits of the SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()[:32]


DECODE_BLOCK_FRAMES = 1 << 18
"""Frames read per block by :func:`decode_audio` (memory follows the audio, not the header)."""


def decode_audio(path: Path) -> tuple[np.ndarray, int]:
    """Decode a whole audio file to float32 (mono mixdown happens in mel_frames).

    soundfile (libsndfile >= 1.1 reads MP3) first, librosa/audioread as a fallback.
    The header is checked (:func:`~emotrack.model.validate.check_audio_header`) and the
    file read in blocks, so a header claiming years of audio costs nothing.

    Raises
    ------
    AudioFileError
        Missing, not a regular file, empty, undecodable, an impossible header, or
        NaN/Inf/huge samples (the message names the file and the time).
    """
    path = check_input_file(path)
    try:
        import soundfile as sf

        with sf.SoundFile(str(path)) as f:
            sr = check_audio_header(path, sample_rate=f.samplerate, channels=f.channels,
                                    frames=f.frames).sample_rate
            blocks = []
            while len(block := f.read(DECODE_BLOCK_FRAMES, dtype="float32")):
                blocks.append(block)
    except EmotrackError:
        raise
    except Exception as first_exc:  # noqa: BLE001 - any decoder failure -> try the fallback
        audio, sr = _decode_fallback(path, first_exc)
        check_audio_header(path, sample_rate=sr, channels=1, frames=len(audio))
        blocks = [audio]
    offset = 0
    for block in blocks:
        fault = find_sample_fault(block)
        if fault is not None:
            raise AudioFileError(f"audio file {str(path)!r} contains "
                                 f"{fault.describe(sample_rate=sr, offset=offset)}")
        offset += len(block)
    if offset == 0:
        raise AudioFileError(f"audio file {str(path)!r} contains no samples")
    audio = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    return np.asarray(audio, dtype=np.float32), int(sr)


def _decode_fallback(path: Path, first_exc: BaseException) -> tuple[np.ndarray, int]:
    try:
        import warnings

        import librosa

        with warnings.catch_warnings():  # its "PySoundFile failed" notices are not for users
            warnings.simplefilter("ignore")
            audio, sr = librosa.load(str(path), sr=None, mono=True)
    except Exception:  # noqa: BLE001
        raise AudioFileError(f"cannot decode audio file {str(path)!r}: "
                             f"{decoder_message(first_exc)}") from None
    return audio, sr


@dataclass
class FeatureCache:
    """Mel frames of audio files, computed once per (file content, spec).

    Parameters
    ----------
    root : pathlib.Path
        Cache folder (created on first write).
    spec : FeatureSpec
    enabled : bool
        False computes every time (``--no-cache``).

    Attributes
    ----------
    hits, misses : int
        Counters for reports and benchmarks.
    """

    root: Path = field(default_factory=default_cache_dir)
    spec: FeatureSpec = CAE_SPEC
    enabled: bool = True
    hits: int = 0
    misses: int = 0

    def entry_path(self, digest: str) -> Path:
        """Where the frames of a file with this content digest live."""
        return Path(self.root) / self.spec.hash / f"{digest}.npy"

    def frames(self, audio_path: str | Path) -> np.ndarray:
        """Mel frames of a file, shape=(n_frames, spec.n_mels), float32 (cached).

        Raises
        ------
        AudioFileError
            The file is missing or cannot be decoded.
        """
        audio_path = Path(audio_path)
        if not audio_path.is_file():
            raise AudioFileError(f"audio file {str(audio_path)!r} does not exist")
        entry = self.entry_path(file_digest(audio_path)) if self.enabled else None
        if entry is not None and entry.is_file():
            try:
                frames = np.load(entry, allow_pickle=False)
                if frames.ndim == 2 and frames.shape[1] == self.spec.n_mels:
                    self.hits += 1
                    return frames.astype(np.float32, copy=False)
            except (OSError, ValueError):
                pass  # corrupt or foreign entry: recompute and overwrite it
        self.misses += 1
        audio, sr = decode_audio(audio_path)
        try:
            frames = mel_frames(audio, sr, self.spec)
        except ParameterError as exc:  # e.g. NaN samples: name the file
            raise AudioFileError(f"audio file {str(audio_path)!r}: {exc}") from None
        if entry is not None:
            self._store(entry, frames)
        return frames

    @staticmethod
    def _store(entry: Path, frames: np.ndarray) -> None:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=entry.stem, suffix=".tmp", dir=entry.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, frames, allow_pickle=False)
            os.replace(tmp, entry)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
