"""Offline analysis of audio files: block-wise decoding -> mel frames -> predictions.

The file is decoded with soundfile in blocks (never whole in memory) and fed
through :class:`~emotrack.model.melstream.MelFrameStream`, so the frames are
exactly those a live run over the same audio would produce (any sample rate,
any channel count).  Only the mel frames (96 floats per 500 ms) are kept.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..model.errors import AudioFileError, AudioTooShortError
from ..model.features import FeatureSpec
from ..model.melstream import MelFrameStream
from ..model.validate import count_non_finite, decoder_message

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".w64", ".caf")
"""File name endings that a directory argument picks up (formats libsndfile decodes)."""

BLOCK_SECONDS = 10.0
"""Seconds of audio decoded per block."""


@dataclass(frozen=True)
class AudioInfo:
    """Facts about a decoded file."""

    path: Path
    sample_rate: int
    channels: int
    duration_s: float
    format: str


@dataclass(frozen=True)
class AnalysisResult:
    """Predictions for one file.

    Attributes
    ----------
    info : AudioInfo
    mode : {"causal", "centered"}
    time_s : np.ndarray, shape=(n,)
        End of each frame, ``(k+1) * frame_seconds`` (when it became complete,
        the same convention as live ``TrackResult.time_s``).
    values : np.ndarray, shape=(n, 2), columns (arousal, valence)
    warming_up : np.ndarray of bool, shape=(n,)
        Frames predicted from fewer than 60 frames of audio (causal padding).
    model : dict
        Model name, hyper-parameters, checkpoint path and training facts.
    spec : FeatureSpec
    """

    info: AudioInfo
    mode: str
    time_s: np.ndarray
    values: np.ndarray
    warming_up: np.ndarray
    model: dict[str, Any] = field(default_factory=dict)
    spec: FeatureSpec | None = None

    @property
    def arousal(self) -> np.ndarray:
        return self.values[:, 0]

    @property
    def valence(self) -> np.ndarray:
        return self.values[:, 1]


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Open ``path`` with soundfile and report rate, channels and duration.

    Raises
    ------
    AudioFileError
        Missing, not a file, unreadable or undecodable.
    """
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"audio file not found: '{path}'")
    if not path.is_file():
        raise AudioFileError(f"not a regular file: '{path}'")
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError/TypeError
        raise AudioFileError(f"cannot decode '{path}': {decoder_message(exc)}") from None
    duration = info.frames / info.samplerate if info.samplerate else 0.0
    return AudioInfo(path, int(info.samplerate), int(info.channels), float(duration), str(info.format))


def decode_frames(
    path: str | os.PathLike,
    spec: FeatureSpec,
    *,
    block_seconds: float = BLOCK_SECONDS,
    on_progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, AudioInfo]:
    """Decode a file block by block into mel frames.

    Parameters
    ----------
    path : path-like
    spec : FeatureSpec
        The model's features.
    block_seconds : float
        Audio decoded per block.
    on_progress : callable, optional
        Called with the seconds of audio decoded by each block.

    Returns
    -------
    frames : np.ndarray, shape=(n, spec.n_mels), float32
    info : AudioInfo

    Raises
    ------
    AudioFileError
        Missing, unreadable or empty file, or NaN/Inf samples.
    AudioTooShortError
        The file decodes but is too short for a single frame (a subclass of AudioFileError).
    """
    import soundfile as sf

    info = audio_info(path)
    stream = MelFrameStream(spec, info.sample_rate)
    block = max(1, int(block_seconds * info.sample_rate))
    chunks: list[np.ndarray] = []
    n_samples = 0
    try:
        with sf.SoundFile(str(info.path)) as f:
            while True:
                data = f.read(block, dtype="float32", always_2d=True)
                if not len(data):
                    break
                bad, first = count_non_finite(data)
                if bad:
                    raise AudioFileError(
                        f"'{info.path}' contains NaN or infinite samples ({bad} in the block "
                        f"starting at {n_samples / info.sample_rate:.2f} s, first at "
                        f"{(n_samples + first) / info.sample_rate:.3f} s); "
                        "clean or re-export the audio")
                n_samples += len(data)
                out = stream.push(data)
                if len(out):
                    chunks.append(out)
                if on_progress is not None:
                    on_progress(len(data) / info.sample_rate)
    except AudioFileError:
        raise
    except Exception as exc:
        raise AudioFileError(f"cannot decode '{info.path}' after {n_samples / info.sample_rate:.2f} s: "
                             f"{decoder_message(exc)}") from None
    tail = stream.flush()
    if len(tail):
        chunks.append(tail)
    if n_samples == 0:
        raise AudioFileError(f"audio file is empty (0 samples): '{info.path}'")
    frames = np.concatenate(chunks) if chunks else np.zeros((0, spec.n_mels), np.float32)
    if len(frames) == 0:
        raise AudioTooShortError(
            f"audio file is too short: '{info.path}' has {n_samples / info.sample_rate:.3f} s, "
            f"at least {spec.frame_seconds * spec.min_partial_fraction:g} s are needed for one frame"
        )
    duration = n_samples / info.sample_rate  # the decoded length (headers of VBR files can be off)
    return frames, AudioInfo(info.path, info.sample_rate, info.channels, duration, info.format)


def analyze_file(
    path: str | os.PathLike,
    predictor,
    *,
    mode: str = "causal",
    on_progress: Callable[[float], None] | None = None,
) -> AnalysisResult:
    """Decode ``path`` and predict (arousal, valence) for every 500 ms frame.

    Parameters
    ----------
    path : path-like
    predictor : emotrack.model.predictor.Predictor
    mode : {"causal", "centered"}
    on_progress : callable, optional
        See :func:`decode_frames`.
    """
    frames, info = decode_frames(path, predictor.spec, on_progress=on_progress)
    values = predictor.analyze(frames, mode=mode)
    n = len(values)
    k = np.arange(n)
    ck = predictor.checkpoint
    model = {
        "name": predictor.model_name,
        "hparams": ck.hparams,
        "facts": ck.facts,
        "format_version": ck.format_version,
        "device": predictor.device,
    }
    return AnalysisResult(
        info=info,
        mode=mode,
        time_s=(k + 1) * predictor.spec.frame_seconds,
        values=values,
        warming_up=(k < predictor.window - 1) if mode == "causal" else np.zeros(n, bool),
        model=model,
        spec=predictor.spec,
    )


def expand_inputs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files named on the command line; a directory contributes its audio files (recursively, sorted).

    Paths that do not exist are kept, so the caller reports them as failures.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in AUDIO_EXTENSIONS)
            out.extend(found)
        else:
            out.append(p)
    return out

