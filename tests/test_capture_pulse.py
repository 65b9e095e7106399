"""The capture path later issues build on, proven against a real PulseAudio server.

A known WAV is played into the null sink ``test`` with ``paplay`` and captured
from its monitor through sounddevice's ``pulse`` device with ``PULSE_SOURCE``.
"""
from __future__ import annotations

import os
import subprocess
import threading

import numpy as np
import pytest
import soundfile as sf

pytestmark = pytest.mark.audio_server

SR = 44100


def _test_signal(seconds: float = 2.0) -> np.ndarray:
    """A chirp plus seeded noise: unambiguous to align by cross-correlation."""
    t = np.arange(int(seconds * SR)) / SR
    chirp = 0.4 * np.sin(2 * np.pi * (200 * t + 900 * t**2))
    noise = 0.1 * np.random.default_rng(7).standard_normal(t.size)
    return (chirp + noise).astype(np.float32)


def _capture_while_playing(server, source: str, sink: str, wav, seconds: float) -> np.ndarray:
    """Record ``seconds`` from ``source`` while paplay plays ``wav`` into ``sink``."""
    import sounddevice as sd

    chunks: list[np.ndarray] = []
    first_block = threading.Event()

    def callback(indata, frames, time_info, status):
        chunks.append(indata.copy())
        first_block.set()

    os.environ["PULSE_SOURCE"] = source
    try:
        with sd.InputStream(device="pulse", samplerate=SR, channels=1, dtype="float32",
                            callback=callback):
            assert first_block.wait(5), "no audio block arrived from the server within 5 s"
            subprocess.run(["paplay", f"--device={sink}", str(wav)], env=server.env,
                           check=True, timeout=30)
            sd.sleep(int(seconds * 1000))
    finally:
        os.environ.pop("PULSE_SOURCE", None)
    return np.concatenate(chunks)[:, 0]


def _aligned_correlation(reference: np.ndarray, captured: np.ndarray) -> float:
    """Pearson r between ``reference`` and the best-aligned slice of ``captured``."""
    n = reference.size
    spectrum = np.fft.rfft(captured, 2 * captured.size) * np.conj(np.fft.rfft(reference, 2 * captured.size))
    lag = int(np.argmax(np.fft.irfft(spectrum)[: captured.size - n + 1]))
    return float(np.corrcoef(reference, captured[lag:lag + n])[0, 1])


@pytest.mark.parametrize("source, sink", [("test.monitor", "test"), ("virtmic", "micfeed")],
                         ids=["system-audio-monitor", "virtual-microphone"])
def test_captured_audio_matches_played_file(pulse_server, tmp_path, source, sink):
    signal = _test_signal()
    wav = tmp_path / "known.wav"
    sf.write(wav, signal, SR, subtype="FLOAT")
    captured = _capture_while_playing(pulse_server, source, sink, wav, seconds=0.5)
    assert captured.size > signal.size, "captured less audio than was played"
    r = _aligned_correlation(signal, captured)
    assert r > 0.99, f"captured audio correlates with the played file at r={r:.4f}"


def test_monitor_sources_are_listed(pulse_server):
    from emotrack.realtime.devices import list_monitor_sources

    names = [m.name for m in list_monitor_sources()]
    assert "test.monitor" in names and "micfeed.monitor" in names
