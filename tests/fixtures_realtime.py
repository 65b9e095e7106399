"""Fixtures of the real-time engine tests: a private PulseAudio server and a fake predictor.

``pulse_server`` follows /work/shared/recipes/pulseaudio.md: a private daemon
(own XDG_RUNTIME_DIR) with null sinks ``test`` and ``micfeed`` and the remap
source ``virtmic``, plus keep-alive ``pacat`` streams so idle null sinks deliver
blocks on time.  Everything it starts is stopped by PID.  (The lead may replace
it with the shared fixture of tests/conftest.py; the interface is the same:
a :class:`PulseServer` with ``env`` already exported to ``os.environ``.)
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pytest

from emotrack.model.features import CAE_SPEC


@dataclass
class PulseServer:
    """A private PulseAudio daemon for tests and benchmarks."""

    runtime_dir: str
    pid: int = 0
    keepalive: list = field(default_factory=list)
    env: dict = field(default_factory=dict)

    @classmethod
    def start(cls) -> "PulseServer":
        if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
            raise RuntimeError("pulseaudio and pactl are needed (apt-get install pulseaudio "
                               "pulseaudio-utils)")
        runtime = tempfile.mkdtemp(prefix="emotrack-pulse-")
        os.chmod(runtime, 0o700)
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime,
                   PULSE_RUNTIME_PATH=os.path.join(runtime, "pulse"),
                   PULSE_SERVER=f"unix:{os.path.join(runtime, 'pulse', 'native')}")
        env.pop("PULSE_SOURCE", None)
        env.pop("PULSE_SINK", None)
        subprocess.run(
            ["pulseaudio", "-D", "-n", "--exit-idle-time=-1", "--use-pid-file=yes",
             f"--log-target=file:{runtime}/pulse.log",
             "--load=module-native-protocol-unix",
             "--load=module-null-sink sink_name=test",
             "--load=module-null-sink sink_name=micfeed",
             "--load=module-remap-source master=micfeed.monitor source_name=virtmic"],
            env=env, check=True, capture_output=True, timeout=20)
        server = cls(runtime_dir=runtime, env={k: env[k] for k in
                                               ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH",
                                                "PULSE_SERVER")})
        for _ in range(100):
            if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        with open(os.path.join(runtime, "pulse", "pid")) as fh:
            server.pid = int(fh.read().strip())
        for sink in ("test", "micfeed"):
            server.keepalive.append(subprocess.Popen(
                ["pacat", "-p", "--raw", f"--device={sink}", "--latency-msec=20"],
                stdin=open("/dev/zero", "rb"),
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return server

    def kill(self) -> None:
        """Kill the daemon (and its keep-alive streams) by PID, as a crash would."""
        for proc in self.keepalive:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for _ in range(100):
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.02)
            self.pid = 0

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def play(self, path: str, *, sink: str = "test") -> subprocess.Popen:
        """Start ``paplay`` of ``path`` into ``sink``; returns the process."""
        env = dict(os.environ, **self.env)
        return subprocess.Popen(["paplay", f"--device={sink}", path], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def refresh_portaudio() -> None:
    """Re-initialise PortAudio so it enumerates the server started after its import."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


@pytest.fixture
def pulse_server(monkeypatch):
    """A private PulseAudio server; its variables are set in ``os.environ`` for the test."""
    try:
        server = PulseServer.start()
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PulseAudio server could not start: {exc}")
        pytest.skip(f"PulseAudio server could not start: {exc}")
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PULSE_SOURCE", raising=False)
    monkeypatch.delenv("PULSE_SINK", raising=False)
    time.sleep(1.0)  # let the keep-alive streams settle (recipe: idle sinks start late)
    refresh_portaudio()
    try:
        yield server
    finally:
        server.stop()
        try:
            refresh_portaudio()
        except Exception:  # noqa: BLE001 - best effort: leave PortAudio usable for later tests
            pass


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
