"""The desktop window driving the real engine (file source, no playback) and a real model.

Uses the ``tiny_checkpoint`` fixture of the model area (an untrained small CAE):
the values are meaningless, the plumbing is what is checked.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

import soundfile as sf

from emotrack.realtime.gui.backend import BackendConfig, RealBackend


def write_music(path, seconds: float, sr: int = 22050) -> str:
    """A few seconds of chords with a changing loudness (stereo)."""
    t = np.arange(int(seconds * sr)) / sr
    env = 0.3 + 0.2 * np.sin(2 * np.pi * 0.2 * t)
    x = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3 * env
    rng = np.random.default_rng(1)
    x = x + 0.02 * rng.standard_normal(len(t))
    sf.write(str(path), np.column_stack([x, 0.8 * x]).astype(np.float32), sr)
    return str(path)


class RecordingBackend(RealBackend):
    """The real backend, plus a subscription of our own to compare against."""

    def __init__(self, config):
        super().__init__(config)
        self.opened = []

    def open(self, choice, predictor):
        source, engine = super().open(choice, predictor)
        self.opened.append((source, engine, engine.subscribe(maxlen=100_000)))
        return source, engine


def test_file_results_reach_the_plots_in_order(make_window, qtbot, tmp_path, tiny_checkpoint):
    backend = RecordingBackend(BackendConfig(checkpoint=str(tiny_checkpoint), device="cpu",
                                             playback=False, realtime=False))
    w = make_window(backend, autostart=False)
    assert w.session.ensure_tracker()
    w.source_bar.trail.setValue(600)
    w.source_bar.span.setCurrentText("all")
    path = write_music(tmp_path / "chords.wav", 20.0)
    assert w.open_file(path), w.banner.text()
    source, engine, mine = backend.opened[-1]
    qtbot.waitUntil(engine.finished.is_set, timeout=20_000)
    assert engine.error is None
    results = mine.drain()
    assert len(results) == 40  # 20 s at 2 Hz
    qtbot.waitUntil(lambda: len(w.store) == len(results), timeout=5000)
    w.tick()
    assert [r.frame_index for r in results] == list(range(40))
    np.testing.assert_allclose(w.plane.drawn_points(), [[r.valence, r.arousal] for r in results],
                               atol=1e-6)
    t, a, v = w.series.curve_points()
    np.testing.assert_allclose(t, [r.time_s for r in results])
    np.testing.assert_allclose(a, [r.arousal for r in results], atol=1e-6)
    np.testing.assert_allclose(v, [r.valence for r in results], atol=1e-6)
    assert all(r.warming_up for r in results)  # 20 s < 30 s
    assert w.series._marks[0][0].isVisible()
    assert "16 kHz" in w.status_rates.text() and "22.05 kHz" in w.status_rates.text()
    assert "cae" in w.status_model.text()
    # the file ended: Space plays it again from the start
    w.tick()
    assert w.session.at_end
    w.toggle_pause()
    assert len(backend.opened) == 2 and w.store.segment_len() == 0


def test_seek_restarts_the_analysis_at_the_new_position(make_window, qtbot, tmp_path, tiny_checkpoint):
    backend = RecordingBackend(BackendConfig(checkpoint=str(tiny_checkpoint), device="cpu",
                                             playback=False, realtime=True))
    w = make_window(backend, autostart=False)
    path = write_music(tmp_path / "chords.wav", 40.0)
    assert w.open_file(path), w.banner.text()
    qtbot.waitUntil(lambda: len(w.store) >= 2, timeout=10_000)
    w.toggle_pause()
    assert w.session.paused
    w.seek(25.0)
    w.toggle_pause()
    qtbot.waitUntil(lambda: w.store.segment_len() >= 3, timeout=10_000)
    cols = w.store.segment_columns()
    assert cols["time_s"][0] == pytest.approx(25.5)
    assert np.allclose(np.diff(cols["time_s"]), 0.5)
    assert cols["warming_up"].all()
    assert w.store.warmup_spans()[0][0] == pytest.approx(25.0)
    assert w.transport.slider.value() >= 250
    w.close()
    engine = backend.opened[-1][1]
    assert not engine.running


def test_an_undecodable_file_is_a_message(make_window, qtbot, tmp_path, tiny_checkpoint):
    backend = RealBackend(BackendConfig(checkpoint=str(tiny_checkpoint), device="cpu",
                                        playback=False, realtime=False))
    w = make_window(backend, autostart=False)
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"this is not audio" * 100)
    assert not w.open_file(str(bad))
    assert "broken.mp3" in w.banner.text() and w.isVisible()


def test_missing_checkpoint_is_a_message(make_window, qtbot, tmp_path):
    backend = RealBackend(BackendConfig(checkpoint=str(tmp_path / "nope.safetensors"), device="cpu"))
    w = make_window(backend)
    qtbot.waitUntil(lambda: "No model loaded" in w.banner.text(), timeout=5000)
    assert "nope.safetensors" in w.banner.text()


def test_a_file_whose_name_is_not_utf8_opens_and_is_named(make_window, qtbot, tmp_path, tiny_checkpoint):
    """Issue 23 class 3: a name with bytes that are not UTF-8 (Python holds them as surrogate
    escapes) is decoded, analysed and shown with its bytes escaped, never a traceback."""
    backend = RecordingBackend(BackendConfig(checkpoint=str(tiny_checkpoint), device="cpu",
                                             playback=False, realtime=False))
    w = make_window(backend, autostart=False)
    assert w.session.ensure_tracker()
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9-\xff.wav")
    ok = write_music(tmp_path / "ok.wav", 4.0)
    os.rename(os.fsencode(ok), raw)
    path = os.fsdecode(raw)
    assert "\udce9" in path  # really not UTF-8
    assert w.open_file(path), w.banner.text()
    source, engine, mine = backend.opened[-1]
    qtbot.waitUntil(engine.finished.is_set, timeout=20_000)
    assert engine.error is None and len(mine.drain()) == 8
    w.tick()
    assert "caf" in w.status_source.text()
