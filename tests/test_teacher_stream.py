"""The streaming extractor serves musicnn's front end too (MUSICNN_SPEC): streaming == offline."""
from __future__ import annotations

import numpy as np
import pytest

from emotrack.model.features import mel_frames
from emotrack.model.melstream import MelFrameStream
from emotrack.model.musicnn import MUSICNN_SPEC, musicnn_logmel


def _signal(seconds: float, sr: int) -> np.ndarray:
    rng = np.random.default_rng(sr)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 330 * t) + 0.2 * np.sin(2 * np.pi * (80 * t + 500 * t**2))
    x += 0.05 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * 1.3 * t) > 0)
    return x.astype(np.float32)


def _stream(x: np.ndarray, sr: int, chunk: int) -> np.ndarray:
    stream = MelFrameStream(MUSICNN_SPEC, sr)
    out = [stream.push(x[i:i + chunk]) for i in range(0, len(x), chunk)]
    out.append(stream.flush())
    return np.concatenate(out)


# log10(1 + 1e4 S) values reach ~5 here; the tolerance covers streaming vs one-shot
# soxr resampling (block-boundary rounding), same as the CAE spec's features test.
ATOL = 1e-3


@pytest.mark.parametrize("sr", [22050, 44100, 48000])
@pytest.mark.parametrize("chunk", [1, 7, 512, 4096])
def test_musicnn_spec_streaming_equals_offline(sr, chunk):
    seconds = 0.6 if chunk == 1 else 3.2  # 1-sample pushes are slow in Python: keep it short
    x = _signal(seconds, sr)
    offline = mel_frames(x, sr, MUSICNN_SPEC)
    streamed = _stream(x, sr, chunk)
    assert offline.shape[1] == 96 and len(offline) > 30
    assert streamed.shape == offline.shape
    np.testing.assert_allclose(streamed, offline, atol=ATOL)


def test_musicnn_spec_at_model_rate_is_exact_for_any_chunking():
    x = _signal(2.0, 16000)
    offline = mel_frames(x, 16000, MUSICNN_SPEC)
    for chunk in (1, 7, 512, 4096):
        np.testing.assert_array_equal(_stream(x, 16000, chunk), offline)


def test_musicnn_spec_frames_are_musicnn_frames_shifted_by_one():
    """MUSICNN_SPEC window j == musicnn's centred frame j + 1 (up to its float16 round trip)."""
    x = _signal(2.0, 16000)
    ours = mel_frames(x, 16000, MUSICNN_SPEC)
    theirs = musicnn_logmel(x)
    np.testing.assert_allclose(ours, theirs[1:1 + len(ours)], atol=3e-3)
