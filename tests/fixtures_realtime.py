"""Fixtures of the real-time engine tests: a fake predictor and a PulseAudio server to kill.

The shared ``pulse_server`` (tests/conftest.py) lives for the whole session, so
the fault tests that kill the audio server get their own private one here
(``killable_pulse_server``, started with tests/pulse.py like the shared one).
"""
from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import NamedTuple

import numpy as np
import pytest

from emotrack.model.features import CAE_SPEC
from pulse import missing_tools, start_pulse_server


def refresh_portaudio() -> None:
    """Re-initialise PortAudio so it enumerates the servers now reachable."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


@pytest.fixture
def killable_pulse_server(monkeypatch):
    """A private PulseAudio server of this test alone (fault tests kill it).

    Same sinks and sources as the shared ``pulse_server``; ``server.kill()``
    ends the daemon with SIGKILL by PID, as a crash would.
    """
    missing = missing_tools()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PulseAudio tools not installed: {', '.join(missing)}")
        pytest.skip(f"PulseAudio tools not installed: {', '.join(missing)}")
    server = start_pulse_server()
    for key in ("XDG_RUNTIME_DIR", "PULSE_SERVER", "PULSE_RUNTIME_PATH"):
        monkeypatch.setenv(key, server.env[key])
    refresh_portaudio()

    def kill() -> None:
        for proc in server.keepalive:
            proc.kill()
            proc.wait(timeout=5)
        server.keepalive.clear()
        with contextlib.suppress(ProcessLookupError):
            os.kill(server.pid, signal.SIGKILL)

    server.kill = kill
    try:
        yield server
    finally:
        server.stop()
        monkeypatch.undo()
        refresh_portaudio()


@pytest.fixture
def no_audio_server(monkeypatch, tmp_path):
    """No audio server to reach (PULSE_SERVER points nowhere), as PortAudio enumerates it.

    On a machine without a sound card this leaves PortAudio without any output device.
    """
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-such-socket")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    refresh_portaudio()
    try:
        yield
    finally:
        monkeypatch.undo()
        refresh_portaudio()


class FakePrediction(NamedTuple):
    arousal: float
    valence: float
    warming_up: bool


class FakePredictor:
    """Stands in for emotrack.model.predictor.Predictor (same duck-typed interface).

    Arousal is the frame's mean log-mel level squashed to [-1, 1] and valence the
    frame index parity, so tests can tell frames apart; ``delay_s`` simulates a
    slow model.
    """

    def __init__(self, spec=CAE_SPEC, *, window: int = 60, delay_s: float = 0.0) -> None:
        self.spec = spec
        self.window = window
        self.model_name = "fake"
        self.device = "cpu"
        self.delay_s = delay_s
        self.frames: list[np.ndarray] = []
        self.resets = 0
        self._since_reset = 0

    def push_frame(self, frame: np.ndarray) -> FakePrediction:
        frame = np.asarray(frame, np.float32)
        assert frame.shape == (self.spec.n_mels,)
        if self.delay_s:
            time.sleep(self.delay_s)
        self.frames.append(frame.copy())
        self._since_reset += 1
        return FakePrediction(float(np.tanh(frame.mean() / 100.0)),
                              float(len(self.frames) % 2), self._since_reset < self.window)

    def reset(self) -> None:
        self.resets += 1
        self._since_reset = 0


@pytest.fixture
def fake_predictor() -> FakePredictor:
    return FakePredictor()
