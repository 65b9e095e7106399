"""The GUI's data side (no Qt): trajectory store, circumplex words, source keys."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from emotrack.realtime.gui.backend import SourceChoice
from emotrack.realtime.mood import load_circumplex
from emotrack.realtime.gui.trajectory import CSV_COLUMNS, TrajectoryStore
from fixtures_gui import FakeResult, fake_values


def results(first: int, n: int, *, warm_until: int = 60):
    out = []
    for i, k in enumerate(range(first, first + n)):
        a, v = fake_values(k)
        out.append(FakeResult(k, (k + 1) * 0.5, a, v, i + 1 < warm_until))
    return out


def test_circumplex_has_the_twelve_words_in_russells_quadrants():
    c = load_circumplex()
    words = {w.word: w.angle_deg for w in c.words}
    assert set(words) == {"excited", "happy", "pleased", "relaxed", "calm", "tired", "bored", "sad",
                          "frustrated", "angry", "tense", "alarmed"}
    # high arousal + positive valence = quadrant 1, and so on round the circle
    for word in ("excited", "happy", "pleased"):
        assert 0 < words[word] < 90
    for word in ("alarmed", "tense", "angry", "frustrated"):
        assert 90 < words[word] < 180
    for word in ("sad", "bored", "tired"):
        assert 180 < words[word] < 270
    for word in ("calm", "relaxed"):
        assert 270 < words[word] < 360
    assert c.nearest(0.7, 0.7) == "happy"
    assert c.nearest(-0.7, 0.7) == "angry"
    assert c.nearest(-0.6, -0.4) == "sad"
    assert c.nearest(0.0, 0.05) == "neutral"


def test_store_keeps_results_in_order_and_the_trail_is_bounded():
    s = TrajectoryStore()
    rs = results(0, 200)
    s.append(rs[:120])
    s.append(rs[120:])
    assert len(s) == 200 and s.segment_len() == 200
    cols = s.segment_columns()
    np.testing.assert_array_equal(cols["frame_index"], np.arange(200))
    np.testing.assert_allclose(cols["arousal"], [r.arousal for r in rs], rtol=1e-6)
    tr = s.trail(10.0)  # 10 s = 20 frames
    assert len(tr.time_s) == 20
    assert tr.time_s[-1] == 100.0 and tr.time_s[0] == pytest.approx(90.5)


def test_seek_and_time_jumps_start_new_segments_with_their_own_warm_up():
    s = TrajectoryStore()
    s.append(results(0, 80))
    assert s.warmup_spans() == [(0.0, 29.5)]  # frames 0..58 warm: time 0.5 .. 29.5, start at 0
    s.begin_segment()
    assert s.segment_len() == 0 and s.latest() is None
    s.append(results(200, 10))
    assert s.segment == 1 and s.segment_len() == 10
    assert s.warmup_spans() == [(100.0, 105.0)]
    # a backwards jump without begin_segment() (e.g. a restarted engine) also splits
    s.append(results(0, 3))
    assert s.segment == 2 and s.segment_len() == 3
    assert len(s) == 93


def test_history_view_is_decimated_and_memory_is_capped():
    s = TrajectoryStore(max_points=10_000)
    s.append(results(0, 7200))  # one hour at 2 Hz
    full = s.window(None, max_points=500)
    assert len(full.time_s) <= 500 + 2 * 16
    assert full.time_s[0] < 30 and full.time_s[-1] == 3600.0
    assert np.all(np.diff(full.time_s) > 0)
    recent = s.window(60.0, max_points=500)
    assert len(recent.time_s) == 121 and recent.time_s[-1] == 3600.0
    s.append(results(7200, 5000))
    assert len(s) <= 10_000 and s.dropped > 0
    assert s.latest()[0] == (12200) * 0.5


def test_csv_has_every_segment(tmp_path):
    s = TrajectoryStore()
    s.append(results(0, 5))
    s.begin_segment()
    s.append(results(100, 4))
    path = tmp_path / "t.csv"
    assert s.write_csv(path) == 9
    with open(path) as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r[0] for r in rows[1:]] == ["0"] * 5 + ["1"] * 4
    assert [int(r[1]) for r in rows[1:]] == [0, 1, 2, 3, 4, 100, 101, 102, 103]
    a, v = fake_values(101)
    assert float(rows[7][3]) == pytest.approx(a, abs=1e-5)  # 5 decimals, as every trajectory file
    assert float(rows[7][4]) == pytest.approx(v, abs=1e-5)


def test_source_choice_round_trips_through_its_key():
    for c in (SourceChoice("mic", None, "Default microphone"), SourceChoice("mic", "USB: mic", "x"),
              SourceChoice("system", "alsa_output.monitor", "y"), SourceChoice("file", "/a/b c.mp3", "b c.mp3")):
        back = SourceChoice.from_key(c.key())
        assert (back.kind, back.device) == (c.kind, c.device)
    assert SourceChoice.from_key("") is None and SourceChoice.from_key("bogus:1") is None


def test_results_from_before_a_seek_are_discarded():
    s = TrajectoryStore()
    s.append(results(0, 40))  # playing at 20 s
    s.begin_segment(expect_time_s=100.5)  # seek to 100 s
    s.append(results(40, 3))  # still in flight from before the seek: 20.5 .. 21.5
    assert s.segment_len() == 0 and s.stale_discarded == 3
    seek = [FakeResult(43 + i, 100.5 + 0.5 * i, 0.1, 0.2, True) for i in range(4)]
    s.append(seek)
    cols = s.segment_columns()
    assert list(cols["time_s"]) == [100.5, 101.0, 101.5, 102.0]
    assert list(cols["frame_index"]) == [43, 44, 45, 46]
    # an expected start that never comes does not block the display for long
    s.begin_segment(expect_time_s=5000.5)
    s.append(results(0, s.max_stale + 2))
    assert s.segment_len() == 2


def test_csv_export_keeps_each_results_uncertainty(tmp_path):
    """The app's CSV export carries arousal_sd/valence_sd like every other output (issue 18)."""
    from emotrack.realtime.results import TrackResult

    s = TrajectoryStore()
    s.append([TrackResult(frame_index=k, time_s=0.5 * (k + 1), arousal=0.1, valence=-0.2,
                          warming_up=False, t_last_sample=0.0, t_ready=0.0,
                          arousal_sd=0.17, valence_sd=None if k else 0.25) for k in range(2)])
    path = tmp_path / "sd.csv"
    assert s.write_csv(path) == 2
    rows = list(csv.DictReader(open(path)))
    assert float(rows[0]["arousal_sd"]) == pytest.approx(0.17) and float(rows[0]["valence_sd"]) == pytest.approx(0.25)
    assert rows[1]["valence_sd"] == ""
