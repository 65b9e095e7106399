"""The desktop window with a fake engine (pytest-qt, offscreen)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import csv
import re

import numpy as np
import pytest
from PyQt6.QtCore import QSettings
from PyQt6.QtGui import QColor, QImage, QPalette
from PyQt6.QtWidgets import QApplication

from emotrack.realtime.gui.backend import SourceChoice
from emotrack.realtime.gui.settings import GuiSettings
from fixtures_gui import WINDOW, FakeBackend, fake_values

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def wait_done(qtbot, window, engine, timeout=5000):
    """Wait until the fake file has ended and the window has drained every result."""
    qtbot.waitUntil(lambda: engine.finished.is_set(), timeout=timeout)
    qtbot.waitUntil(lambda: len(window.store) == len(engine.produced), timeout=timeout)
    window.tick()


def test_window_opens_without_audio_device_or_model_and_says_so(make_window, qtbot):
    backend = FakeBackend(mics=[], monitors=[], model_error="no checkpoint at /x/default.safetensors; "
                          "train one with 'emotrack train'")
    w = make_window(backend)
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=3000)
    text = w.banner.text()
    assert "No model loaded" in text and "/x/default.safetensors" in text
    assert "No audio input device" in text and "open an audio file" in text
    assert w.isVisible() and not backend.engines
    assert "no model" in w.plane._hint.textItem.toPlainText()
    assert w.source_bar.combo.currentIndex() == -1  # nothing pretends to run
    # the menu says there is nothing, and offers files
    items = [w.source_bar.combo.itemText(i) for i in range(w.source_bar.combo.count())]
    assert any("no microphone found" in t for t in items)


def test_file_results_reach_plane_and_series_in_order(make_window, qtbot, tmp_path):
    backend = FakeBackend(file_duration_s=45.0)
    w = make_window(backend, autostart=False)
    w.source_bar.trail.setValue(600)  # a trail long enough to hold the whole clip
    w.source_bar.span.setCurrentText("all")
    path = tmp_path / "clip.wav"
    path.write_bytes(b"")
    assert w.open_file(str(path))
    engine = backend.engines[-1]
    wait_done(qtbot, w, engine)
    assert len(engine.produced) == 90  # 45 s at 2 Hz
    expected = np.array([[r.valence, r.arousal] for r in engine.produced])
    plane = w.plane.drawn_points()
    np.testing.assert_allclose(plane, expected, atol=1e-6)
    t, a, v = w.series.curve_points()
    np.testing.assert_allclose(t, [r.time_s for r in engine.produced])
    np.testing.assert_allclose(a, [r.arousal for r in engine.produced], atol=1e-6)
    np.testing.assert_allclose(v, [r.valence for r in engine.produced], atol=1e-6)
    # warm-up (first 30 s) is marked, the numbers show the newest values
    region, label = w.series._marks[0]
    assert region.isVisible() and region.getRegion() == pytest.approx((0.0, 29.5))
    assert not w.series._marks[1][0].isVisible()
    a_last, v_last = fake_values(89)
    assert f"{a_last:+.2f}" in w.series.header.text() and f"{v_last:+.2f}" in w.series.header.text()
    # a 20 s trail shows 40 points
    w.source_bar.trail.setValue(20)
    w.tick()
    assert w.plane.point_count() == 40
    np.testing.assert_allclose(w.plane.drawn_points(), expected[-40:], atol=1e-6)


def test_switching_source_stops_the_old_engine_and_is_remembered(make_window, qtbot, gui_settings):
    backend = FakeBackend(frame_delay_s=0.01)
    w = make_window(backend)
    qtbot.waitUntil(lambda: len(backend.engines) == 1, timeout=3000)
    first = backend.engines[0]
    assert first.source.label == "Fake USB mic"  # no remembered source: the first microphone
    qtbot.waitUntil(lambda: len(w.store) > 3, timeout=3000)
    combo = w.source_bar.combo
    index = next(i for i in range(combo.count())
                 if combo.itemData(i) is not None and combo.itemData(i).kind == "system")
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    assert len(backend.engines) == 2
    assert first.stopped and not first.running
    second = backend.engines[1]
    assert second.started and second.running
    assert w.store.segment_len() <= len(second.produced) + 1
    qtbot.waitUntil(lambda: len(w.store) > 3, timeout=3000)
    assert gui_settings.source_key == "system:fake_sink.monitor"
    assert "System audio" in w.status_source.text()
    w.close()
    assert not second.running
    # a new window starts the remembered source
    backend2 = FakeBackend(frame_delay_s=0.01)
    w2 = make_window(backend2, settings=GuiSettings(gui_settings.q))
    qtbot.waitUntil(lambda: len(backend2.engines) == 1, timeout=3000)
    assert backend2.engines[0].source.label == "System audio: fake_sink.monitor"


def test_pause_and_seek_restart_the_warm_up(make_window, qtbot, tmp_path):
    backend = FakeBackend(file_duration_s=600.0, frame_delay_s=0.002)
    w = make_window(backend, autostart=False)
    path = tmp_path / "long.ogg"
    path.write_bytes(b"")
    w.open_file(str(path))
    assert w.transport.isVisible()
    engine = backend.engines[-1]
    qtbot.waitUntil(lambda: len(w.store) >= 20, timeout=3000)
    # Space pauses: the fake engine stops producing
    qtbot.keyClick(w, " ")
    assert engine.source.paused and w.session.paused
    qtbot.wait(50)
    w.tick()
    n = len(engine.produced)
    qtbot.wait(100)
    assert len(engine.produced) == n
    w.tick()
    assert w.transport.play.property("paused") is True
    # seek while paused, then play: the plots restart at 300 s, warming up again
    w.seek(300.0)
    assert engine.source.seeks == [300.0]
    assert w.store.segment_len() == 0
    qtbot.keyClick(w, " ")
    assert not engine.source.paused
    qtbot.waitUntil(lambda: w.store.segment_len() >= 5, timeout=3000)
    w.tick()
    cols = w.store.segment_columns()
    assert cols["time_s"][0] == 300.5 and cols["warming_up"][:5].all()
    assert w.store.warmup_spans()[0][0] == 300.0
    t, _, _ = w.series.curve_points()
    assert t.min() >= 300.5
    assert "warming up" in w.series.header.text()
    assert w.series._marks[0][0].isVisible()
    assert w.transport.slider.value() >= 3000
    assert re.fullmatch(r"[5-9]:\d\d / 10:00", w.transport.time.text())


def test_slider_seek_from_the_transport_bar(make_window, qtbot, tmp_path):
    backend = FakeBackend(file_duration_s=120.0, frame_delay_s=0.005)
    w = make_window(backend, autostart=False)
    path = tmp_path / "x.flac"
    path.write_bytes(b"")
    w.open_file(str(path))
    w.transport.seek_requested.emit(60.0)
    assert backend.engines[-1].source.seeks == [60.0]
    qtbot.waitUntil(lambda: w.store.segment_len() >= 2, timeout=3000)
    assert w.store.segment_columns()["time_s"][0] == 60.5


def test_export_csv_and_png(make_window, qtbot, tmp_path):
    backend = FakeBackend(file_duration_s=20.0)
    w = make_window(backend, autostart=False)
    path = tmp_path / "clip.wav"
    path.write_bytes(b"")
    w.open_file(str(path))
    wait_done(qtbot, w, backend.engines[-1])
    csv_path = tmp_path / "out.csv"
    assert w.export_csv(str(csv_path)) == 40
    with open(csv_path) as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["frame_index"]) for r in rows] == list(range(40))
    assert float(rows[-1]["time_s"]) == 20.0
    assert float(rows[3]["arousal"]) == pytest.approx(fake_values(3)[0], abs=1e-6)
    assert all(r["warming_up"] == "1" for r in rows)  # 20 s < 30 s warm-up
    png = tmp_path / "view.png"
    assert w.export_png(str(png))
    img = QImage(str(png))
    assert img.width() > 200 and img.height() > 200
    # the image is not blank: the plots drew something in several colours
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    assert len(colours) > 20


def test_engine_error_is_a_message_not_a_crash(make_window, qtbot):
    backend = FakeBackend(fail_after=10, frame_delay_s=0.002)
    w = make_window(backend)
    qtbot.waitUntil(lambda: "stopped" in w.banner.text(), timeout=3000)
    assert "the audio device disappeared (fake)" in w.banner.text()
    assert w.isVisible() and w.session.engine is None
    assert backend.engines[0].stopped
    assert len(w.store) == 10  # what arrived before the error is kept
    # choosing a source again recovers
    backend.fail_after = None
    w.open_choice(SourceChoice("mic", "Fake USB mic", "Fake USB mic"))
    assert "stopped" not in w.banner.text()
    qtbot.waitUntil(lambda: len(w.store) > 3, timeout=3000)


def test_a_source_that_cannot_open_is_a_message(make_window, qtbot):
    backend = FakeBackend(open_error="device 'Fake USB mic' is busy")
    w = make_window(backend)
    qtbot.waitUntil(lambda: "Could not open" in w.banner.text(), timeout=3000)
    assert "is busy" in w.banner.text() and w.session.engine is None


def test_dark_palette_recolours_the_plots(make_window, qtbot):
    w = make_window(FakeBackend(), autostart=False)
    app = QApplication.instance()
    old = app.palette()
    try:
        dark = QPalette(old)
        for role, colour in ((QPalette.ColorRole.Window, "#202124"), (QPalette.ColorRole.Base, "#17181a"),
                             (QPalette.ColorRole.Text, "#e8e8e8"), (QPalette.ColorRole.WindowText, "#e8e8e8")):
            dark.setColor(role, QColor(colour))
        app.setPalette(dark)
        qtbot.waitUntil(lambda: w.plane.theme.dark, timeout=2000)
        assert w.plane.view.backgroundBrush().color().name() == "#17181a"
        assert w.series.theme.dark
    finally:
        app.setPalette(old)
    qtbot.waitUntil(lambda: not w.plane.theme.dark, timeout=2000)


def test_window_size_splitter_and_view_options_are_remembered(make_window, qtbot, tmp_path):
    q = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = make_window(FakeBackend(), settings=GuiSettings(q), autostart=False)
    w.resize(760, 580)  # the offscreen screen is 800x600; restoreGeometry clamps to it
    w.splitter.setSizes([300, 300])
    w.splitter.splitterMoved.emit(300, 1)  # as a drag of the handle by the user does
    w.source_bar.trail.setValue(45)
    w.source_bar.span.setCurrentText("5 min")
    sizes = w.splitter.sizes()
    w.close()
    w2 = make_window(FakeBackend(), settings=GuiSettings(QSettings(str(tmp_path / "s.ini"),
                                                                  QSettings.Format.IniFormat)),
                     autostart=False)
    assert (w2.size().width(), w2.size().height()) == (760, 580)
    assert w2.splitter.orientation() == w.splitter.orientation()
    assert np.abs(np.subtract(w2.splitter.sizes(), sizes)).max() <= 1  # the user's share, kept
    assert w2.source_bar.trail.value() == 45 and w2.plane.trail_s == 45
    assert w2.source_bar.span.currentText() == "5 min" and w2.series.span_s == 300.0


def test_dropping_a_file_opens_it(make_window, qtbot, tmp_path):
    from PyQt6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PyQt6.QtGui import QDropEvent

    backend = FakeBackend()
    w = make_window(backend, autostart=False)
    path = tmp_path / "dropped.mp3"
    path.write_bytes(b"")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    w.dropEvent(event)
    assert backend.engines and backend.engines[-1].source.label == "dropped.mp3"
    assert w.session.choice.device == str(path)
    assert w.transport.isVisible()


def test_warm_up_is_shown_as_warming_on_the_plane(make_window, qtbot, tmp_path):
    backend = FakeBackend(file_duration_s=10.0)
    w = make_window(backend, autostart=False)
    path = tmp_path / "short.wav"
    path.write_bytes(b"")
    w.open_file(str(path))
    wait_done(qtbot, w, backend.engines[-1])
    assert "warming up" in w.plane.header.text()
    assert len(backend.engines[-1].produced) == 20 < WINDOW


def test_gui_command_rejects_a_missing_file_in_one_line(capsys):
    from emotrack.realtime.cli import main

    assert main(["gui", "/no/such/song.mp3"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("emotrack: error:") and "/no/such/song.mp3" in err
    assert err.count("\n") == 1


def test_gui_is_the_default_command():
    from emotrack.realtime.cli import build_parser

    args = build_parser().parse_args(["gui", "--no-playback", "--fps", "30"])
    assert args.command == "gui" and args.no_playback and args.fps == 30
    assert args.handler.__module__ == "emotrack.realtime.commands.gui"
