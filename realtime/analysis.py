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

from ..model.errors import AudioFileError, AudioTooShortError, EmotrackError
from ..model.features import FeatureSpec
from ..model.melstream import MelFrameStream
from ..model.validate import check_audio_header, check_input_file, decoder_message, find_sample_fault

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
    tags: np.ndarray | None = None
    """``(n, len(tag_names))`` tag probabilities over time (the musicnn teacher), or None."""
    tag_names: tuple[str, ...] = ()

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
        Missing, not a regular file, unreadable, undecodable, or a header no real
        recording has (:func:`~emotrack.model.validate.check_audio_header`).
    """
    import soundfile as sf

    path = check_input_file(path)
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError/TypeError
        raise AudioFileError(f"cannot decode '{path}': {decoder_message(exc)}") from None
    header = check_audio_header(path, sample_rate=info.samplerate, channels=info.channels,
                                frames=info.frames)
    return AudioInfo(path, header.sample_rate, header.channels, header.duration_s, str(info.format))


def decode_frames(
    path: str | os.PathLike,
    spec: FeatureSpec,
    *,
    block_seconds: float = BLOCK_SECONDS,
    on_progress: Callable[[float], None] | None = None,
    extra_specs: tuple[FeatureSpec, ...] = (),
) -> tuple:
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
    extra_specs : tuple of FeatureSpec
        Further feature streams computed in the same pass; their frames are then
        returned as a list after ``info``.

    Returns
    -------
    frames : np.ndarray, shape=(n, spec.n_mels), float32
    info : AudioInfo
    extra : list of np.ndarray
        Only when ``extra_specs`` is given: one frame array per extra spec.

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
    extra_streams = [MelFrameStream(s, info.sample_rate) for s in extra_specs]
    extra_chunks: list[list[np.ndarray]] = [[] for _ in extra_specs]
    block = max(1, int(block_seconds * info.sample_rate))
    chunks: list[np.ndarray] = []
    n_samples = 0
    try:
        with sf.SoundFile(str(info.path)) as f:
            while True:
                data = f.read(block, dtype="float32", always_2d=True)
                if not len(data):
                    break
                fault = find_sample_fault(data)
                if fault is not None:
                    raise AudioFileError(
                        f"'{info.path}' contains "
                        f"{fault.describe(sample_rate=info.sample_rate, offset=n_samples)}; "
                        "clean or re-export the audio")
                n_samples += len(data)
                out = stream.push(data)
                if len(out):
                    chunks.append(out)
                for es, ec in zip(extra_streams, extra_chunks):
                    ec.append(es.push(data))
                if on_progress is not None:
                    on_progress(len(data) / info.sample_rate)
    except EmotrackError:  # a problem of the file or of the features: not a decoder failure
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
    info = AudioInfo(info.path, info.sample_rate, info.channels, duration, info.format)
    if extra_specs:
        extra = [np.concatenate([*ec, es.flush()]) for es, ec in zip(extra_streams, extra_chunks)]
        return frames, info, extra
    return frames, info


def analyze_file_teacher(
    path: str | os.PathLike,
    *,
    mode: str = "causal",
    head=None,
    on_progress: Callable[[float], None] | None = None,
) -> AnalysisResult:
    """Analyse ``path`` with the musicnn teacher: (arousal, valence) and 50 tags per 500 ms frame.

    Same frame grid and time convention as :func:`analyze_file`; see
    :mod:`emotrack.model.teacher` for how each frame's 3 s patch is chosen and what
    ``mode="centered"`` averages.  ``on_progress`` receives 0.5 s per frame computed
    (decoding is quick, the network is the slow part: ~0.1 s CPU per frame).
    """
    from ..model.features import CAE_SPEC
    from ..model.musicnn import MUSICNN_SPEC
    from ..model.teacher import HEAD_ASSET, curve_from_logmel, load_head

    head = head if head is not None else load_head()
    frames, info, (logmel,) = decode_frames(path, CAE_SPEC, extra_specs=(MUSICNN_SPEC,))
    done = (lambda n: on_progress(n * CAE_SPEC.frame_seconds)) if on_progress is not None else None
    curve = curve_from_logmel(logmel, len(frames), head=head, mode=mode, progress=done)
    model = {
        "name": "musicnn-teacher",
        "description": "musicnn MSD_musicnn (ISC licence) embedding of the causal 3 s patch ending "
                       "at each frame end -> ridge head (arousal, valence); tags: musicnn's 50 MSD tags",
        "head": f"emotrack.assets/{HEAD_ASSET}",
        "facts": head.facts,
    }
    return AnalysisResult(
        info=info, mode=mode, time_s=curve["times"],
        values=np.stack([curve["arousal"], curve["valence"]], axis=1),
        warming_up=curve["warming_up"], model=model, spec=CAE_SPEC,
        tags=curve["tags"], tag_names=tuple(curve["tag_names"]),
    )


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

