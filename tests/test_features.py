"""The feature contract: FeatureSpec, offline mel frames, streaming == offline (DESIGN 1-3)."""
from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest
import soundfile as sf
import soxr

from emotrack.model.errors import ParameterError
from emotrack.model.features import CAE_SPEC, FeatureSpec, mel_frames
from emotrack.model.melstream import MelFrameStream

F = CAE_SPEC.frame_length
SR = CAE_SPEC.sample_rate


def _synthetic(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """Tones, a sweep and noise bursts: energy in many bands and changes over time."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * (100 * t + 300 * t**2))
    x += 0.05 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * 0.7 * t) > 0)
    return x.astype(np.float32)


def _stream(x: np.ndarray, sr: int, chunks) -> np.ndarray:
    """Push ``x`` through a MelFrameStream in the given chunk sizes, then flush."""
    stream = MelFrameStream(CAE_SPEC, sr)
    out, i = [], 0
    for n in chunks:
        if i >= x.shape[0]:
            break
        out.append(stream.push(x[i:i + n]))
        i += n
    assert i >= x.shape[0], "chunk list too short for the signal"
    out.append(stream.flush())
    return np.concatenate(out)


def _random_chunks(seed: int, high: int = 6000):
    rng = np.random.default_rng(seed)
    while True:
        yield int(rng.integers(1, high))


def _repeat(n: int):
    while True:
        yield n


# --- FeatureSpec ---------------------------------------------------------

def test_spec_round_trips_through_json_and_hash_is_stable():
    spec = FeatureSpec.from_json(CAE_SPEC.to_json())
    assert spec == CAE_SPEC
    # Pinned: a change to the default spec (or its serialisation) must be deliberate,
    # since checkpoints and feature caches are keyed by this hash.
    assert CAE_SPEC.hash == "b0f0ff9005522a94"
    assert dataclasses.replace(CAE_SPEC, n_mels=64).hash != CAE_SPEC.hash


def test_default_spec_lengths_are_whole_samples():
    assert (CAE_SPEC.n_fft, CAE_SPEC.hop_length, CAE_SPEC.frame_length) == (960, 480, 8000)
    assert CAE_SPEC.n_fft / SR == pytest.approx(0.060)
    assert CAE_SPEC.hop_length / SR == pytest.approx(0.030)
    assert CAE_SPEC.frame_seconds == 0.5 and CAE_SPEC.frame_rate == 2.0


def test_spec_rejects_unknown_fields_and_bad_values():
    data = CAE_SPEC.to_dict() | {"surprise": 1}
    with pytest.raises(ParameterError, match="surprise"):
        FeatureSpec.from_dict(data)
    with pytest.raises(ParameterError, match="malformed"):
        FeatureSpec.from_json("{not json")
    with pytest.raises(ParameterError, match="log"):
        FeatureSpec(log="ln")
    with pytest.raises(ParameterError, match="fmax"):
        FeatureSpec(fmax=9000.0)


@pytest.mark.parametrize("k", range(7))
def test_windows_of_frame_lie_inside_the_frame(k):
    js = CAE_SPEC.windows_of_frame(k)
    h, n = CAE_SPEC.hop_length, CAE_SPEC.n_fft
    assert len(js) == 15
    assert js.start * h >= k * F and js.stop * h - h + n <= (k + 1) * F
    # maximal: the windows just outside would cross the frame's edges
    assert (js.start - 1) * h < k * F and (js.stop * h + n) > (k + 1) * F


# --- the frame grid (contract 1) -----------------------------------------

def test_frame_k_depends_only_on_its_own_half_second():
    x = _synthetic(3.0, SR)
    base = mel_frames(x, SR)
    y = x.copy()
    y[2 * F:3 * F] += 0.5  # change frame 2's samples only
    changed = mel_frames(y, SR)
    diff = np.abs(changed - base).max(axis=1)
    assert diff[2] > 1.0
    np.testing.assert_array_equal(np.delete(changed, 2, axis=0), np.delete(base, 2, axis=0))


def test_offline_frames_equal_librosa_melspectrogram_pooled():
    """Our frames = librosa's own mel spectrogram (center=False), in dB with ref 1, averaged per frame."""
    import librosa

    x = _synthetic(2.0, SR, seed=3)
    S = librosa.feature.melspectrogram(
        y=x, sr=SR, n_fft=960, hop_length=480, center=False, n_mels=96, fmin=0.0, fmax=8000.0,
        htk=False, norm="slaney", power=2.0)
    db = librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None)
    expected = np.stack([db[:, list(CAE_SPEC.windows_of_frame(k))].mean(axis=1) for k in range(4)])
    # 1e-3 dB: float32 FFT/matmul rounding differs between librosa and our shared kernel
    np.testing.assert_allclose(mel_frames(x, SR), expected, atol=1e-3)


def test_log_reference_is_fixed_not_per_file():
    """Contract 2: a quieter copy gives frames exactly 20*log10(gain) dB lower."""
    # steady noise plus tones: every window of every band stays far above the -100 dB floor
    x = _synthetic(2.0, SR) + 0.05 * np.random.default_rng(4).standard_normal(2 * SR).astype(np.float32)
    loud, quiet = mel_frames(x, SR), mel_frames(0.1 * x, SR)
    assert quiet.min() > -90.0
    np.testing.assert_allclose(quiet, loud - 20.0, atol=1e-3)


def test_frame_count_and_partial_last_frame():
    assert mel_frames(np.zeros(4 * F, np.float32), SR).shape == (4, 96)
    assert mel_frames(np.zeros(4 * F + F // 2, np.float32), SR).shape == (5, 96)  # >= 250 ms: kept
    assert mel_frames(np.zeros(4 * F + F // 2 - 1, np.float32), SR).shape == (4, 96)
    assert mel_frames(np.zeros(100, np.float32), SR).shape == (0, 96)


def test_partial_frame_averages_only_the_windows_that_fit():
    x = _synthetic(1.8, SR)  # frame 3 has 0.3 s = 4800 samples
    last = mel_frames(x, SR)[3]
    js = [j for j in CAE_SPEC.windows_of_frame(3) if j * 480 + 960 <= x.size]
    full = mel_frames(np.concatenate([x, np.zeros(F, np.float32)]), SR)
    assert len(js) < 15 and not np.allclose(last, full[3])
    from emotrack.model.features import log_mel_windows
    windows = np.stack([x[j * 480:j * 480 + 960] for j in js])
    np.testing.assert_allclose(last, log_mel_windows(windows, CAE_SPEC).mean(axis=0), atol=1e-5)


# --- streaming == offline --------------------------------------------------

@pytest.mark.parametrize("chunks", [_repeat(1), _repeat(7), _repeat(512), _repeat(4096),
                                    _random_chunks(1), _random_chunks(2, high=40)],
                         ids=["1", "7", "512", "4096", "random", "random-small"])
def test_streaming_equals_offline_for_every_chunking_at_model_rate(chunks):
    x = _synthetic(2.3, SR)
    # Same rate: no resampler, the same arithmetic on the same samples -> bit-identical.
    np.testing.assert_array_equal(_stream(x, SR, chunks), mel_frames(x, SR))


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 48000, 96000])
@pytest.mark.parametrize("chunks", ["512", "4096", "random", "7"])
def test_streaming_equals_offline_at_other_input_rates(sr, chunks):
    x = _synthetic(3.2, sr, seed=sr)
    sizes = {"512": _repeat(512), "4096": _repeat(4096), "random": _random_chunks(sr), "7": _repeat(7)}
    streamed = _stream(x, sr, sizes[chunks])
    offline = mel_frames(x, sr)
    assert streamed.shape == offline.shape == (6, 96)
    # soxr's streaming and one-shot resamplers agree to float rounding; 1e-3 dB documents
    # the allowance (measured: identical on this machine).
    np.testing.assert_allclose(streamed, offline, atol=1e-3)


def test_one_sample_chunks_at_44100_match_offline():
    x = _synthetic(1.2, 44100, seed=11)
    np.testing.assert_allclose(_stream(x, 44100, _repeat(1)), mel_frames(x, 44100), atol=1e-3)


def test_resampled_input_gives_nearly_the_same_features_as_model_rate_input():
    """Resampling changes the samples, not the grid: 44.1 kHz audio lands on the same frames."""
    x16 = _synthetic(3.0, SR)
    x44 = soxr.resample(x16, SR, 44100).astype(np.float32)
    a, b = mel_frames(x16, SR), mel_frames(x44, 44100)
    assert a.shape == b.shape
    # Round-trip band-limiting shifts energies slightly; the 5 dB bound catches a shifted grid
    # (a half-frame shift on this signal moves frames by > 10 dB).
    assert np.median(np.abs(a - b)) < 0.5 and np.abs(a - b)[:, 2:90].max() < 5.0


def test_stereo_and_multichannel_are_mixed_to_mono():
    x = _synthetic(1.5, 48000)
    other = _synthetic(1.5, 48000, seed=9)
    stereo = np.stack([x, other], axis=1)
    mono = (x + other) / 2
    # 1e-2 dB: the channel mean rounds differently from (x + other) / 2 in float32
    np.testing.assert_allclose(mel_frames(stereo, 48000), mel_frames(mono, 48000), atol=1e-2)
    six = np.repeat(x[:, None], 6, axis=1)
    np.testing.assert_allclose(mel_frames(six, 48000), mel_frames(x, 48000), atol=1e-2)
    np.testing.assert_allclose(_stream(stereo, 48000, _repeat(999)), mel_frames(stereo, 48000), atol=1e-3)


def test_real_music_streams_like_offline(emomusic_mini):
    audio, sr = sf.read(emomusic_mini / "clips_45seconds" / "2.mp3", dtype="float32")
    offline = mel_frames(audio, sr)
    assert offline.shape[0] >= 90  # a 45 s clip gives at least 90 half-second frames
    np.testing.assert_allclose(_stream(audio, sr, _random_chunks(5, 9000)), offline, atol=1e-3)
    np.testing.assert_allclose(_stream(audio, sr, _repeat(512)), offline, atol=1e-3)
    assert np.isfinite(offline).all() and offline.std() > 5  # real music: varied dB levels


def test_stream_state_stays_bounded():
    stream = MelFrameStream(CAE_SPEC, 44100)
    block = _synthetic(0.25, 44100)
    for _ in range(200):  # 50 s of audio
        stream.push(block)
        assert stream._stream._buf.size < F + 44100  # < one frame + one block at the model rate
    assert stream.frames_emitted == 99  # the resampler holds back a few ms until flush


def test_reset_restarts_frame_numbering():
    stream = MelFrameStream(CAE_SPEC, SR)
    x = _synthetic(1.0, SR)
    first = stream.push(x)
    stream.reset()
    np.testing.assert_array_equal(stream.push(x), first)
    assert stream.frames_emitted == 2


# --- annotation alignment (contract 3) -----------------------------------

def test_emomusic_first_annotation_maps_to_frame_30(emomusic_mini):
    with open(emomusic_mini / "annotations" / "arousal_cont_average.csv", newline="") as fh:
        header = next(csv.reader(fh))
    samples = [h.strip() for h in header if h.strip().startswith("sample_")]
    ms = [int(h[len("sample_"):-len("ms")]) for h in samples]
    frames = [CAE_SPEC.frame_index(m / 1000) for m in ms]
    assert samples[0] == "sample_15000ms" and frames[0] == 30
    assert frames[:60] == list(range(30, 90))  # the 60 samples 15.0-44.5 s are frames 30..89
    assert CAE_SPEC.frame_start(30) == 15.0
    audio, sr = sf.read(emomusic_mini / "clips_45seconds" / "3.mp3", dtype="float32")
    assert mel_frames(audio, sr).shape[0] > frames[59]  # every labelled frame has audio


# --- input validation --------------------------------------------------------

@pytest.mark.parametrize("bad, message", [
    (np.array([0.0, np.nan, 0.1], np.float32), "NaN"),
    (np.array([0.0, np.inf], np.float64), "NaN or infinite"),
    (np.zeros(100, np.int16), "floating point"),
    (np.zeros((2, 2, 2), np.float32), "shape"),
    (np.zeros(0, np.float32), "empty"),
])
def test_bad_audio_gives_clear_value_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        mel_frames(bad, SR)


@pytest.mark.parametrize("sr", [0, -44100, 44100.5, float("nan"), "fast"])
def test_bad_sample_rates_are_refused(sr):
    with pytest.raises(ValueError, match="sample rate"):
        mel_frames(np.zeros(SR, np.float32), sr)
    with pytest.raises(ValueError, match="sample rate"):
        MelFrameStream(CAE_SPEC, sr)


@pytest.mark.parametrize("sr", [SR, 44100])
def test_stream_refuses_nan_and_accepts_empty_blocks(sr):
    stream = MelFrameStream(CAE_SPEC, sr)
    assert stream.push(np.zeros(0, np.float32)).shape == (0, 96)
    with pytest.raises(ValueError, match="int16"):
        stream.push(np.zeros(10, np.int16))  # wrong dtype: refused at once
    stream.push(np.array([np.nan], np.float32))
    with pytest.raises(ValueError, match="NaN"):  # found when its frame is processed
        stream.push(np.zeros(sr, np.float32))
    # the bad audio was dropped; the stream goes on
    assert stream.push(np.zeros(sr, np.float32)).shape[0] >= 1
    with pytest.raises(ValueError, match="NaN"):
        stream.push(np.array([np.inf], np.float32))
        stream.flush()
