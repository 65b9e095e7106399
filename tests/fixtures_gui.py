"""Fixtures of the GUI tests: a fake engine that keeps to the brief's Engine interface.

The fake produces one result per 500 ms frame of a pretend file or live input,
from a thread, as fast as ``frame_delay_s`` allows; arousal and valence are
deterministic functions of the frame index so tests can check order and values.
It honours pause/resume/seek (a seek restarts the 60-frame warm-up, as the real
engine does) and can be told to fail.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import collections
import math
import threading
import time
from dataclasses import dataclass, field

import pytest

WINDOW = 60  # frames before the estimate stops warming up


@dataclass(frozen=True)
class FakeResult:
    frame_index: int
    time_s: float
    arousal: float
    valence: float
    warming_up: bool
    t_last_sample: float = 0.0
    t_ready: float = 0.0


def fake_values(k: int) -> tuple[float, float]:
    """(arousal, valence) of frame ``k``: a slow loop round the plane."""
    return 0.8 * math.sin(0.05 * k), 0.8 * math.cos(0.05 * k)


class FakeSubscription:
    def __init__(self, maxlen: int) -> None:
        self._q: collections.deque = collections.deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self.dropped = 0

    def put(self, r) -> None:
        with self._lock:
            if len(self._q) == self._q.maxlen:
                self.dropped += 1
            self._q.append(r)

    def drain(self) -> list:
        with self._lock:
            out = list(self._q)
            self._q.clear()
        return out


class FakeSource:
    """A pretend file (``duration_s`` set) or live input (``duration_s`` None)."""

    def __init__(self, label: str, duration_s: float | None = None) -> None:
        self.label = label
        self.duration_s = duration_s
        self.position_s = 0.0
        self.paused = False
        self.seeks: list[float] = []
        self._seek_to: float | None = None
        self._lock = threading.Lock()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def seek(self, seconds: float) -> None:
        with self._lock:
            self._seek_to = float(seconds)
            self.seeks.append(float(seconds))

    def take_seek(self) -> float | None:
        with self._lock:
            s, self._seek_to = self._seek_to, None
            return s


@dataclass
class FakeMetrics:
    frames_in: int = 0
    results_out: int = 0
    callback_overruns: int = 0
    ring_overruns: int = 0
    dropped_results: int = 0
    latency_ms_p50: float = 1.5
    latency_ms_p99: float = 4.0
    cpu_seconds: float = 0.0
    source_rate: int = 44100
    model_rate: int = 16000


class FakeEngine:
    """Follows the brief's Engine interface; results come from a thread."""

    def __init__(self, source: FakeSource, *, frame_delay_s: float = 0.0,
                 fail_after: int | None = None) -> None:
        self.source = source
        self.frame_delay_s = frame_delay_s
        self.fail_after = fail_after
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self.started = False
        self.stopped = False
        self.produced: list[FakeResult] = []
        self._subs: list[FakeSubscription] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._metrics = FakeMetrics()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def subscribe(self, maxlen: int = 256) -> FakeSubscription:
        sub = FakeSubscription(maxlen)
        self._subs.append(sub)
        return sub

    def metrics(self) -> FakeMetrics:
        self._metrics.results_out = len(self.produced)
        return self._metrics

    def start(self) -> None:
        self.started = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self.stopped = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        # Like the real engine: frame_index counts every result, time_s restarts
        # at the seek position (offset + (j + 1) * 0.5), finished is set at the
        # end, on an error and on stop.
        try:
            self._loop()
        finally:
            self.finished.set()

    def _loop(self) -> None:
        k = 0  # frames since the last seek
        index = 0
        offset = 0.0
        since_reset = 0
        src = self.source
        while not self._stop.is_set():
            seek = src.take_seek()
            if seek is not None:
                k = 0
                offset = seek
                since_reset = 0
                src.position_s = seek
            if src.paused:
                time.sleep(0.005)
                continue
            t = offset + (k + 1) * 0.5
            if src.duration_s is not None and t > src.duration_s:
                return
            if self.fail_after is not None and len(self.produced) >= self.fail_after:
                self.error = RuntimeError("the audio device disappeared (fake)")
                return
            since_reset += 1
            a, v = fake_values(int(round(t / 0.5)) - 1)
            now = time.monotonic()
            r = FakeResult(index, t, a, v, since_reset < WINDOW, now, now)
            self.produced.append(r)
            for sub in self._subs:
                sub.put(r)
            src.position_s = t
            k += 1
            index += 1
            if self.frame_delay_s:
                time.sleep(self.frame_delay_s)
            else:
                time.sleep(0)


@dataclass
class FakeBackend:
    """The window's backend with fake devices, model and engines."""

    mics: list = field(default_factory=lambda: ["Fake USB mic"])
    monitors: list = field(default_factory=lambda: ["fake_sink.monitor"])
    model_error: str | None = None
    frame_delay_s: float = 0.0
    file_duration_s: float = 45.0
    fail_after: int | None = None
    open_error: str | None = None
    engines: list = field(default_factory=list)
    loaded: list = field(default_factory=list)

    def list_sources(self):
        from emotrack.realtime.gui.backend import SourceChoice, SourceListing

        listing = SourceListing()
        for m in self.mics:
            listing.mics.append(SourceChoice("mic", m, m))
        for m in self.monitors:
            listing.monitors.append(SourceChoice("system", m, f"System audio: {m}"))
        if not self.mics:
            listing.problems.append("microphones: no input device (fake)")
        return listing

    def load_tracker(self, model=None, checkpoint=None):
        from emotrack.model.errors import CheckpointError

        if self.model_error:
            raise CheckpointError(self.model_error)
        self.loaded.append(model or checkpoint)

        class _T:
            name = model or "fake-cae"
            device = "cpu"
            warmup_frames = WINDOW - 1
            extra_names = ()
            scale = None

        return _T()

    def open(self, choice, tracker):
        from emotrack.model.errors import DeviceError

        if self.open_error:
            raise DeviceError(self.open_error)
        duration = self.file_duration_s if choice.kind == "file" else None
        source = FakeSource(choice.label, duration)
        engine = FakeEngine(source, frame_delay_s=self.frame_delay_s, fail_after=self.fail_after)
        self.engines.append(engine)
        return source, engine


@pytest.fixture
def gui_settings(tmp_path):
    """GuiSettings in a temporary INI file (never the user's real settings)."""
    from PyQt6.QtCore import QSettings

    from emotrack.realtime.gui.settings import GuiSettings

    return GuiSettings(QSettings(str(tmp_path / "emotrack.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def make_window(qtbot, gui_settings):
    """Factory: ``make_window(backend, **kwargs)`` -> a shown MainWindow, closed after the test."""
    from emotrack.realtime.gui.main_window import MainWindow

    windows = []

    def make(backend, *, settings=None, **kwargs):
        w = MainWindow(backend, settings=settings or gui_settings, **kwargs)
        qtbot.addWidget(w)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.close()
