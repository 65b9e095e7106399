"""The app as a new user meets it (issue 20, items 1 and 2): research models said so and not
remembered, the plane at the centre growing with the window, one named scale for every number
read, the point never over the word, one short line when a file plays without an audio server."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import re

import numpy as np
import pytest
from PyQt6.QtCore import QSettings, Qt

from emotrack.realtime.gui.settings import GuiSettings
from emotrack.realtime.results import TrackResult
from fixtures_gui import FakeBackend, FakeEngine, FakeSource

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RESEARCH = ("rnn", "cae", "baseline")


def ini(tmp_path) -> GuiSettings:
    return GuiSettings(QSettings(str(tmp_path / "emotrack.ini"), QSettings.Format.IniFormat))


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html).replace("&nbsp;", " ")
                  .replace("&middot;", "\u00b7")).strip()


# ---------------------------------------------------------------- item 1: research models
def test_research_models_are_labelled_in_the_menu_and_the_cli_help(make_window, capsys):
    from emotrack.realtime.cli import main

    w = make_window(FakeBackend(), autostart=False)
    labels = {name: act.text() for name, act in w.model_actions.items()}
    assert "research" not in labels["musicnn"] and "default" in labels["musicnn"]
    for name in RESEARCH:
        assert "research model" in labels[name] and "650 labelled tracks" in labels[name]
    for command in ("gui", "listen", "analyze"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        help_ = text[text.index("--model"):]
        assert "research models" in help_ and "650 labelled tracks" in help_
        assert help_.index("research models") < help_.index("rnn, cae")


def test_a_research_model_is_said_in_the_window_and_not_carried_into_the_next_launch(
        make_window, qtbot, tmp_path):
    from emotrack.realtime.gui.app import launch_config
    from emotrack.realtime.gui.backend import BackendConfig

    backend = FakeBackend()
    w = make_window(backend, settings=ini(tmp_path))
    qtbot.waitUntil(lambda: len(backend.engines) == 1, timeout=3000)
    w.model_actions["musicnn"].trigger()
    assert ini(tmp_path).model == "musicnn" and "research" not in w.banner.text()
    w.model_actions["rnn"].trigger()
    assert w.session.model_name == "rnn"
    assert "rnn is a research model" in w.banner.text() and "650 labelled tracks" in w.banner.text()
    w.update_status()
    assert "research model" in w.status_model.text()
    w.close()
    reopened = ini(tmp_path)
    assert reopened.model == ""  # not rnn: the next launch starts with the default
    assert launch_config(BackendConfig(), reopened).model is None
    assert launch_config(BackendConfig(model="cae"), reopened).model == "cae"  # the command line wins
    # a value an older version left behind is not obeyed either
    reopened.q.setValue("model/name", "baseline")
    assert ini(tmp_path).model == "" and launch_config(BackendConfig(), ini(tmp_path)).model is None
    # back on musicnn, the research banner goes
    w2 = make_window(FakeBackend(), settings=ini(tmp_path), autostart=False)
    w2.choose_model("rnn")
    w2.choose_model("musicnn")
    assert "research" not in w2.banner.text() and ini(tmp_path).model == "musicnn"


# ---------------------------------------------------------------- item 2: the plane
def plane_geometry(w):
    view = w.plane.view
    return view.width(), view.height(), w.series.view.width() * w.series.view.height()


@pytest.mark.parametrize("size", [(1600, 1000), (1024, 700)])
def test_the_plane_is_the_centre_of_a_landscape_window(make_window, qtbot, size):
    w = make_window(FakeBackend(), autostart=False)
    w.resize(*size)
    qtbot.waitUntil(lambda: w.width() == size[0] and w.height() == size[1], timeout=2000)
    w.fit_layout()
    side_w, side_h, series_area = plane_geometry(w)
    assert w.splitter.orientation() == Qt.Orientation.Horizontal  # beside the curves
    assert abs(side_w - side_h) <= 2  # square
    # as tall as the plot area allows (the header line above it aside), and the largest plot
    assert side_h >= w.splitter.height() - w.plane.header.height() - 12
    assert side_w * side_h > series_area
    assert side_w * side_h >= 0.25 * size[0] * size[1]


def test_the_plane_grows_with_the_window_and_stacks_in_a_portrait_one(make_window, qtbot):
    w = make_window(FakeBackend(), autostart=False)
    sides = []
    for size in ((1024, 700), (1600, 1000)):
        w.resize(*size)
        qtbot.waitUntil(lambda: w.width() == size[0], timeout=2000)
        w.fit_layout()
        sides.append(plane_geometry(w)[0])
    assert sides[1] > sides[0] * 1.3
    w.resize(720, 1300)
    qtbot.waitUntil(lambda: w.width() == 720, timeout=2000)
    w.fit_layout()
    side_w, side_h, _ = plane_geometry(w)
    assert w.splitter.orientation() == Qt.Orientation.Vertical
    assert abs(side_w - side_h) <= 2 and side_w >= w.splitter.width() - 12


def sd_scale():
    """A display scale that stretches the centre and squeezes the tails (as real ones do)."""
    from emotrack.model.scale import DisplayScale

    q = np.sinh(np.linspace(-2.5, 2.5, 101)) / 20.0
    return DisplayScale("test music", q, q * 0.8)


def result(k, *, raw=(0.10, -0.05), sd=(0.05, 0.04), scale=None, silent=False, extras=None):
    from emotrack.realtime.mood import mood_word

    pct = None
    if scale is not None and not silent:
        pct = scale.percentiles(np.array([raw]))[0]
    a, v = (None, None) if silent else raw
    plane = (0.0, 0.0) if pct is None else (pct[1] / 50 - 1, pct[0] / 50 - 1)
    return TrackResult(frame_index=k, time_s=(k + 1) * 0.5, arousal=a, valence=v, warming_up=False,
                       t_last_sample=0.0, t_ready=0.0, silent=silent,
                       arousal_pct=None if pct is None else float(pct[0]),
                       valence_pct=None if pct is None else float(pct[1]),
                       mood=mood_word(*plane, silent=silent), extras=extras,
                       level_db=-200.0 if silent else -20.0,
                       arousal_sd=None if sd is None or silent else sd[0],
                       valence_sd=None if sd is None or silent else sd[1])


def widgets(qtbot, scale):
    from emotrack.realtime.gui.plane import PlaneWidget
    from emotrack.realtime.gui.series import SeriesWidget
    from emotrack.realtime.gui.theme import current_theme
    from emotrack.realtime.gui.trajectory import TrajectoryStore
    from emotrack.realtime.mood import load_circumplex

    plane, series = PlaneWidget(load_circumplex(), current_theme()), SeriesWidget(current_theme())
    for wdg in (plane, series):
        qtbot.addWidget(wdg)
        wdg.set_scale(scale)
    store = TrajectoryStore()
    store.scale = scale
    return plane, series, store


@pytest.mark.parametrize("with_scale", [True, False])
def test_header_legend_and_axes_read_one_named_scale(qtbot, with_scale):
    scale = sd_scale() if with_scale else None
    plane, series, store = widgets(qtbot, scale)
    store.append([result(k, scale=scale) for k in range(6)])
    plane.redraw(store)
    series.redraw(store)
    head, legend = plain(plane.header.text()), plain(series.header.text())
    for axis in ("arousal", "valence"):
        found = re.search(rf"{axis} [^\u00b7\u25a0]*?(?= \u00b7| at |$)", head).group(0).strip()
        assert found in legend, (found, legend)
    unit = "percentile" if with_scale else "raw value"
    assert plane.plot.getAxis("left").labelText.startswith(f"arousal {unit}")
    assert plane.plot.getAxis("bottom").labelText.startswith(f"valence {unit}")
    assert series.plot.getAxis("left").labelText == unit
    ticks = [plane.plot.getAxis(n)._tickLevels for n in ("left", "bottom")]
    assert ticks[0] == ticks[1] == series.plot.getAxis("left")._tickLevels
    if with_scale:
        assert re.search(r"arousal \d+(st|nd|rd|th) pct \(\d+\u2013\d+\)", head)
        assert [label for _, label in ticks[0][0]] == ["0", "25", "50", "75", "100"]
        assert "+0.10" not in head and "+0.10" not in legend  # no raw values beside percentiles
    else:
        assert "arousal +0.10 \u00b1 0.05" in head


def test_the_current_point_never_covers_the_mood_word(qtbot):
    plane, _, store = widgets(qtbot, sd_scale())
    store.append([result(0, scale=sd_scale())])
    plane.redraw(store)
    z_point = plane._current.zValue()
    assert all(word.zValue() > z_point for word in plane._words)
    assert all(word.zValue() > plane._band.zValue() for word in plane._words)
    brush = plane._current.data["brush"][0]
    assert brush.color().alpha() < 128  # a ring with a light fill, not an opaque disc


class NoServerBackend(FakeBackend):
    """No microphone, no system audio (no audio server), files play without sound."""

    def open(self, choice, tracker):
        source, engine = super().open(choice, tracker)
        source.playback_problem = ("could not open the default audio output for playback (no audio "
                                   "output device found: no sound card and no audio server)")
        return source, engine

    def list_sources(self):
        listing = super().list_sources()
        listing.problems = ["microphones: no input device", "system audio: no PulseAudio/PipeWire "
                            "server answered (pa_context_connect() failed: Connection refused)"]
        return listing


def test_a_file_without_an_audio_server_is_one_short_banner_line(make_window, qtbot, tmp_path):
    song = tmp_path / "song.ogg"
    song.write_bytes(b"")
    backend = NoServerBackend(mics=[], monitors=[])
    w = make_window(backend, initial_file=str(song))
    qtbot.waitUntil(lambda: len(backend.engines) == 1, timeout=3000)
    text = w.banner.text()
    assert text.count("\n") == 0 and len(text) <= 110, text
    assert text.startswith("No sound (no sound card or audio server)") and "song.ogg" in text
    assert "pa_context_connect" not in text
    assert "--output" in w.banner.label.toolTip()  # the details are one hover away
    # without a file, the missing inputs are what matters, and the banner says so
    fresh = GuiSettings(QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat))
    w2 = make_window(NoServerBackend(mics=[], monitors=[]), settings=fresh)
    qtbot.waitUntil(lambda: "No audio input device" in w2.banner.text(), timeout=3000)


# ---------------------------------------------------------------- uncertainty, silence
def test_uncertainty_is_an_asymmetric_ellipse_and_bands_through_the_display_scale(qtbot):
    from emotrack.model.scale import plane_of

    scale = sd_scale()
    plane, series, store = widgets(qtbot, scale)
    raw, sd = (0.12, -0.05), (0.05, 0.04)
    store.append([result(k, raw=raw, sd=sd, scale=scale) for k in range(8)])
    plane.redraw(store)
    series.redraw(store)
    lo, hi = plane_of(np.array([[raw[0] - sd[0], raw[1] - sd[1]], [raw[0] + sd[0], raw[1] + sd[1]]]),
                      scale)
    v_lo, v_hi, a_lo, a_hi = plane.band_extent()
    np.testing.assert_allclose([v_lo, v_hi, a_lo, a_hi], [lo[1], hi[1], lo[0], hi[0]], atol=1e-3)
    x, y = store.latest().valence, store.latest().arousal
    assert abs((a_hi - y) - (y - a_lo)) > 0.02  # asymmetric where the scale is
    assert series.band_visible() == (True, True)
    b = series.arousal_band.path().boundingRect()
    assert b.top() == pytest.approx(lo[0], abs=1e-3) and b.bottom() == pytest.approx(hi[0], abs=1e-3)


def test_without_sd_nothing_is_drawn_and_silent_none_values_break_nothing(qtbot, tmp_path):
    scale = sd_scale()
    plane, series, store = widgets(qtbot, scale)
    store.append([result(0, sd=None, scale=scale), result(1, sd=None, scale=scale)])
    plane.redraw(store)
    series.redraw(store)
    assert plane.band_extent() is None and series.band_visible() == (False, False)
    # silent frames without values (None), then NaN values, then sound with an sd again
    nan = TrackResult(frame_index=3, time_s=2.0, arousal=float("nan"), valence=float("nan"),
                      warming_up=False, t_last_sample=0.0, t_ready=0.0, silent=True)
    store.append([result(2, silent=True, scale=scale), nan])
    plane.redraw(store)
    series.redraw(store)
    assert "silence" in plane.header.text() and plane.band_extent() is None
    assert plane.point_count() == 2
    store.append([result(k, scale=scale) for k in range(4, 8)])
    plane.redraw(store)
    series.redraw(store)
    assert plane.band_extent() is not None and plane.point_count() == 6
    t, a, _ = series.curve_points()
    assert np.isnan(a[2:4]).all() and np.isfinite(a[4:]).all()
    # the band covers the frames with an sd only (4-7, at 2.5-4.0 s), not the silent ones
    (poly,) = series.arousal_band.path().toSubpathPolygons()
    assert poly.boundingRect().left() == pytest.approx(2.5) and poly.boundingRect().right() == 4.0
    rows = store.write_csv(tmp_path / "x.csv")
    lines = (tmp_path / "x.csv").read_text().splitlines()
    assert rows == 8 and lines[3].split(",")[3:5] == ["", ""]  # silent: no values
