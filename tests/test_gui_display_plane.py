"""The GUI draws positions on the display plane: percentiles, silence as gaps, mood, tags, Model menu."""
from __future__ import annotations

import numpy as np
import pytest

from emotrack.realtime.mood import mood_word
from emotrack.realtime.results import TrackResult

pytest.importorskip("PyQt6")

TAGS = ("rock", "ambient", "happy")


def result(k: int, *, pct=(78.0, 40.0), silent: bool = False, extras=(0.1, 0.6, 0.3)) -> TrackResult:
    plane = (pct[1] / 50 - 1, pct[0] / 50 - 1)
    return TrackResult(frame_index=k, time_s=(k + 1) * 0.5, arousal=0.12, valence=-0.03,
                       warming_up=False, t_last_sample=0.0, t_ready=0.0, silent=silent,
                       arousal_pct=pct[0], valence_pct=pct[1], mood=mood_word(*plane, silent=silent),
                       extras=extras, level_db=-200.0 if silent else -20.0)


def test_plane_shows_percentiles_mood_and_top_tags(qtbot):
    from emotrack.realtime.gui.plane import PlaneWidget, ordinal
    from emotrack.realtime.gui.theme import current_theme
    from emotrack.realtime.gui.trajectory import TrajectoryStore
    from emotrack.realtime.mood import load_circumplex

    plane = PlaneWidget(load_circumplex(), current_theme())
    qtbot.addWidget(plane)
    plane.extra_names = TAGS
    store = TrajectoryStore()
    store.append([result(k) for k in range(5)])
    plane.redraw(store)
    text = plane.header.text()
    r = result(4)
    assert r.mood in text and "arousal 78th pct" in text and "valence 40th pct" in text
    assert "+0.12" not in text and "-0.03" not in text  # one scale: no raw values beside them
    assert text.index("ambient") < text.index("happy") < text.index("rock")  # most probable first
    # drawn where the percentiles put it, not at the raw values
    np.testing.assert_allclose(plane.drawn_points()[-1], [40 / 50 - 1, 78 / 50 - 1], atol=1e-6)
    assert [ordinal(n) for n in (1, 2, 3, 11, 12, 13, 21, 42)] == \
        ["1st", "2nd", "3rd", "11th", "12th", "13th", "21st", "42nd"]


def test_silent_frames_are_gaps_without_a_mood(qtbot):
    from emotrack.realtime.gui.plane import PlaneWidget
    from emotrack.realtime.gui.theme import current_theme
    from emotrack.realtime.gui.trajectory import TrajectoryStore
    from emotrack.realtime.mood import load_circumplex

    plane = PlaneWidget(load_circumplex(), current_theme())
    qtbot.addWidget(plane)
    store = TrajectoryStore()
    store.append([result(0), result(1), result(2, silent=True), result(3)])
    plane.redraw(store)
    assert plane.point_count() == 3  # the silent frame is not drawn
    store.append([result(4, silent=True)])
    plane.redraw(store)
    assert "silence" in plane.header.text() and store.latest().mood == ""
    view = store.window(None)
    assert np.isnan(view.arousal[2]) and np.isfinite(view.arousal[3])


def test_model_menu_switches_tracker_and_restarts_the_source(make_window, qtbot):
    from fixtures_gui import FakeBackend

    backend = FakeBackend()
    w = make_window(backend)
    qtbot.waitUntil(lambda: len(backend.engines) == 1, timeout=3000)
    assert w.model_actions["musicnn"] is not None and not w.model_actions["rnn"].isChecked()
    w.model_actions["rnn"].trigger()
    qtbot.waitUntil(lambda: len(backend.engines) == 2, timeout=3000)
    assert backend.loaded[-1] == "rnn" and w.session.model_name == "rnn"
    assert w.model_actions["rnn"].isChecked()
    assert w.settings.model == ""  # a research model is not remembered (tests/test_gui_layout.py)
    assert backend.engines[0].stopped  # the old engine was stopped before the new one started


def test_model_menu_shows_the_research_models_figures(make_window, qtbot, monkeypatch):
    from PyQt6.QtWidgets import QMessageBox

    from fixtures_gui import FakeBackend

    w = make_window(FakeBackend())
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append((title, text)))
    w.act_figures.trigger()
    assert len(shown) == 1
    text = shown[0][1]
    for name in ("rnn", "cae", "baseline"):
        assert f"{name}: " in text
    assert text.count("Emotify (200 tracks): arousal rho") == 3 and text.count("4Q (450 clips)") == 3
