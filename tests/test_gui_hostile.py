"""The desktop app against hostile stored settings and absurd durations (pytest-qt, offscreen)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PyQt6.QtCore import QByteArray, QSettings

from emotrack.model.trackers import TRACKERS
from emotrack.realtime.gui.settings import DEFAULT_SERIES_SPAN, DEFAULT_TRAIL_S, GuiSettings
from fixtures_gui import FakeBackend

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HOSTILE_SETTINGS = {
    "view/trail_s": [float("inf"), float("nan"), 10**30, -5, "\u0661\u0662", "1e309", [1, 2], True, ""],
    "view/series_span": [5, "x" * 5000, ["1 min"], None],
    "source/last": [123, "file:" + "x" * 5000, QByteArray(b"\x00\xff"), ["mic:", "a"]],
    "files/last_dir": ["x" * 5000, "/dev/null", 7, "/no/such/folder", ["/tmp"]],
    "window/geometry": ["garbage", QByteArray(b"\x00" * 100_000), 5],
    "window/splitter": [QByteArray(b"\x01\x02\x03"), 5, "x"],
    "model/name": ["x" * 5000, 5, ["musicnn"], "MUSICNN"],
}


def _settings(tmp_path, key, value) -> GuiSettings:
    q = QSettings(str(tmp_path / "hostile.ini"), QSettings.Format.IniFormat)
    q.clear()
    q.setValue(key, value)
    q.sync()
    # read back through a fresh object, as the next start of the app does
    return GuiSettings(QSettings(str(tmp_path / "hostile.ini"), QSettings.Format.IniFormat))


@pytest.mark.parametrize("key, value", [(k, v) for k, vs in HOSTILE_SETTINGS.items() for v in vs])
def test_hostile_stored_setting_reads_back_as_a_valid_value(tmp_path, key, value):
    s = _settings(tmp_path, key, value)
    assert s.trail_s == DEFAULT_TRAIL_S or key != "view/trail_s"
    assert s.series_span == DEFAULT_SERIES_SPAN or key != "view/series_span"
    assert isinstance(s.source_key, str) and len(s.source_key) <= 4112
    assert s.last_dir == "" or os.path.isdir(s.last_dir)
    assert s.model in ("", *TRACKERS)
    for state in (s.geometry, s.splitter):
        assert state is None or (isinstance(state, QByteArray) and state.size() <= 64 * 1024)


@pytest.mark.parametrize("key", list(HOSTILE_SETTINGS))
def test_window_starts_with_every_hostile_setting(make_window, qtbot, tmp_path, capfd, key):
    for value in HOSTILE_SETTINGS[key]:
        w = make_window(FakeBackend(), settings=_settings(tmp_path, key, value))
        qtbot.waitUntil(lambda: w.session.engine is not None, timeout=5000)
        w.tick()
        w.close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "failed" not in err


def test_a_file_claiming_years_does_not_break_the_transport(make_window, qtbot, tmp_path, capfd):
    """A header can claim 3 years of audio (a bogus MP3 Xing frame count): the seek slider
    clamps to what a Qt int holds instead of raising in every redraw (20 a second)."""
    backend = FakeBackend(file_duration_s=3.1e8, frame_delay_s=0.01)
    w = make_window(backend, autostart=False)
    path = tmp_path / "years.mp3"
    path.write_bytes(b"")
    assert w.open_file(str(path))
    for _ in range(5):
        w.tick()
        qtbot.wait(20)
    assert w.transport.slider.maximum() == 2**31 - 1
    err = capfd.readouterr().err
    assert "Traceback" not in err and "redraw failed" not in err
