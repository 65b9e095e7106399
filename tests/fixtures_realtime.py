"""Fixtures of the real-time engine tests: a fake tracker and a PulseAudio server to kill.

The shared ``pulse_server`` (tests/conftest.py) lives for the whole session, so
the fault tests that kill the audio server get their own private one here
(``killable_pulse_server``, started with tests/pulse.py like the shared one).
"""
from __future__ import annotations

import contextlib
import os
import signal
import time

import numpy as np
import pytest

from emotrack.model.features import CAE_SPEC
from emotrack.model.framing import PooledMelStream
from emotrack.model.tracker import Tracker
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


class FakeTracker(Tracker):
    """A real :class:`~emotrack.model.tracker.Tracker` with a trivial network (no torch).

    Stage 1 is the CAE's mel frames (PooledMelStream); stage 2 records every frame and
    answers arousal = the frame's mean log-mel level squashed to [-1, 1] and valence =
    the parity of the frames seen so far, so tests can tell frames apart; ``delay_s``
    simulates a slow model (per batch).
    """

    name = "fake"
    warmup_frames = 59

    def __init__(self, spec=CAE_SPEC, *, window: int = 60, delay_s: float = 0.0) -> None:
        super().__init__()
        self.spec = spec
        self.window = window
        self.warmup_frames = window - 1
        self.delay_s = delay_s
        self.frames: list[np.ndarray] = []
        self.resets = 0

    @property
    def model_name(self) -> str:
        return self.name

    def _new_features(self, input_sr: int) -> PooledMelStream:
        return PooledMelStream(self.spec, input_sr)

    def reset(self, input_sr=None) -> None:
        if input_sr is not None:  # a new stream (the engine's start): forget its warm-up frames
            self.frames.clear()
        super().reset(input_sr)

    def reset_network(self) -> None:
        self.resets += 1

    def _infer_values(self, batch):
        if batch.n == 0:
            return np.zeros((0, 2), np.float32), None
        if self.delay_s:
            time.sleep(self.delay_s * batch.n)
        out = []
        for frame in batch.data:
            assert frame.shape == (self.spec.n_mels,)
            self.frames.append(np.array(frame, np.float32))
            out.append((np.tanh(frame.mean() / 100.0), len(self.frames) % 2))
        return np.array(out, np.float32), None

    def describe(self) -> dict:
        return {"name": self.name}




@pytest.fixture
def fake_tracker() -> FakeTracker:
    return FakeTracker()
