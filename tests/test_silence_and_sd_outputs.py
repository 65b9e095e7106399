"""Silence carries no numbers, the same in every output (issue 20.6, DESIGN contract 7), and
``arousal_sd``/``valence_sd`` reach every output (empty/null when unknown)."""
from __future__ import annotations

import csv
import io
import json
import math
import socket
import struct
from pathlib import Path

import numpy as np
import pytest

from emotrack.model.audio_io import AudioInfo
from emotrack.model.scale import DisplayScale
from emotrack.model.tracker import TrackerFrames
from emotrack.realtime.analysis import AnalysisResult
from emotrack.realtime.outputs.schema import COMMON_COLUMNS, analysis_rows
from emotrack.realtime.outputs.sets import CsvWriter, JsonlWriter, OscSender, format_line
from emotrack.realtime.outputs.trajectory_files import csv_text, json_document
from emotrack.realtime.results import TrackResult

NUMBERS = ("arousal", "valence", "arousal_sd", "valence_sd", "arousal_pct", "valence_pct")
SILENT = 2  # frame 2 of 4 is silent


def scale() -> DisplayScale:
    rng = np.random.default_rng(0)
    return DisplayScale.from_values(rng.normal(0.0, 0.2, (500, 2)), "test music")


def analysed(*, sd: bool = True) -> AnalysisResult:
    values = np.array([[0.1, 0.2], [0.15, -0.1], [np.nan, np.nan], [-0.2, 0.05]], np.float32)
    silent = np.array([False, False, True, False])
    frames = TrackerFrames(
        index=np.arange(4), values=values, warming_up=np.zeros(4, bool), silent=silent,
        level_db=np.array([-20, -21, -200, -19], np.float32),
        extras=np.array([[0.5, 0.25], [0.4, 0.3], [np.nan, np.nan], [0.1, 0.9]], np.float32),
        sd=np.array([[0.05, 0.08], [0.05, 0.09], [np.nan, np.nan], [0.04, 0.1]], np.float32) if sd else None)
    info = AudioInfo(Path("x.wav"), 16000, 1, 2.0, "WAV")
    return AnalysisResult(info=info, mode="causal", frames=frames, model={"name": "test"},
                          extra_names=("rock", "calm music"), scale=scale())


def live(k: int, *, silent: bool, sd: bool = True) -> TrackResult:
    nan = math.nan
    return TrackResult(frame_index=k, time_s=(k + 1) * 0.5, arousal=nan if silent else 0.1,
                       valence=nan if silent else -0.2, warming_up=False, t_last_sample=1.0,
                       t_ready=1.01, silent=silent, arousal_pct=None if silent else 70.0,
                       valence_pct=None if silent else 30.0, mood="" if silent else "tense",
                       t_wall=1_764_669_600.0, extras=(nan, nan) if silent else (0.5, 0.25),
                       level_db=-200.0 if silent else -20.0,
                       arousal_sd=None if silent or not sd else 0.05,
                       valence_sd=None if silent or not sd else 0.08)


def test_analyze_csv_silent_row_has_empty_cells_and_sd_columns():
    rows = list(csv.DictReader(io.StringIO(csv_text(analysed()))))
    assert list(rows[0])[:len(COMMON_COLUMNS)] == list(COMMON_COLUMNS)
    assert {"arousal_sd", "valence_sd"} <= set(COMMON_COLUMNS)
    s = rows[SILENT]
    assert all(s[c] == "" for c in NUMBERS) and s["mood"] == "" and s["tag_rock"] == s["tag_calm_music"] == ""
    assert s["silent"] == "1" and s["level_db"] == "-200.0" and s["time_s"] == "1.5"
    heard = rows[0]
    assert float(heard["arousal_sd"]) == pytest.approx(0.05) and float(heard["valence_sd"]) == pytest.approx(0.08)
    assert heard["arousal_pct"] != "" and heard["mood"] != "" and heard["tag_rock"] == "0.5000"
    unknown = list(csv.DictReader(io.StringIO(csv_text(analysed(sd=False)))))
    assert unknown[0]["arousal_sd"] == unknown[0]["valence_sd"] == "" and unknown[0]["arousal"] != ""


def test_analyze_json_silent_frame_is_null_and_says_why():
    doc = json.loads(json.dumps(json_document(analysed()), allow_nan=False))
    s = doc["frames"][SILENT]
    assert all(s[c] is None for c in NUMBERS) and s["mood"] == "" and s["tags"] is None
    assert s["silent"] == 1 and s["level_db"] == -200.0
    assert doc["frames"][0]["arousal_sd"] == pytest.approx(0.05) and doc["uncertainty"]["known"] is True
    assert "raw" in doc["uncertainty"]["meaning"] and "null" in doc["silence"]
    assert json_document(analysed(sd=False))["frames"][0]["valence_sd"] is None


def test_one_rule_even_when_a_caller_passes_numbers_for_a_silent_frame():
    from emotrack.realtime.outputs.schema import common_row

    row = common_row(0, 0.5, 0.3, 0.2, (80.0, 20.0), "happy", False, True, -90.0, sd=(0.1, 0.1))
    assert all(row[c] is None for c in NUMBERS) and row["mood"] == "" and row["silent"] == 1


def test_live_line_csv_jsonl_without_numbers_for_silence(tmp_path):
    line = format_line(live(3, silent=True))
    assert line.strip() == "2.0 s  (silence)" and "arousal" not in line and "nan" not in line
    heard = format_line(live(4, silent=False))
    assert "arousal +0.10 (sd 0.05, p70)" in heard and "valence -0.20 (sd 0.08, p30)" in heard
    assert "sd" not in format_line(live(4, silent=False, sd=False))
    w = CsvWriter(tmp_path / "o.csv", ("rock", "calm"))
    j = JsonlWriter(tmp_path / "o.jsonl", ("rock", "calm"))
    for r in (live(0, silent=False), live(1, silent=True)):
        w.write(r)
        j.write(r)
    w.close()
    j.close()
    rows = list(csv.DictReader((tmp_path / "o.csv").open()))
    assert all(rows[1][c] == "" for c in NUMBERS) and rows[1]["tag_rock"] == "" and rows[1]["silent"] == "1"
    assert rows[0]["arousal_sd"] == "0.05" and rows[0]["tag_rock"] == "0.5000"
    lines = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert all(lines[1][c] is None for c in NUMBERS) and lines[1]["tags"] is None
    assert lines[0]["valence_sd"] == 0.08 and lines[0]["tags"] == {"rock": 0.5, "calm": 0.25}


def test_osc_sends_silence_without_numbers_and_sd_when_known():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(5)
    sender = OscSender(f"127.0.0.1:{rx.getsockname()[1]}")
    try:
        sender.write(live(1, silent=True))
        sender.write(live(2, silent=False))
        sender.write(live(3, silent=False, sd=False))
        silent, heard, plain = rx.recv(1024), rx.recv(1024), rx.recv(1024)
    finally:
        sender.close()
        rx.close()
    assert silent == b"/emotrack/silence\0\0\0,f\0\0" + struct.pack(">f", 1.0)
    assert heard.startswith(b"/emotrack/va\0\0\0\0,fffiff\0")
    assert struct.unpack(">fffiff", heard[24:]) == pytest.approx((0.1, -0.2, 1.5, 0, 0.05, 0.08))
    assert plain.startswith(b"/emotrack/va\0\0\0\0,fffi\0\0\0")


def test_catalog_frames_table_nulls_for_silence_and_sd_columns(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    from emotrack.realtime.catalog.inputs import FileFacts
    from emotrack.realtime.catalog.tables import CatalogTables
    from emotrack.realtime.catalog.work import TrackJob, TrackOutcome, summarize
    from emotrack.realtime.outputs.schema import tags_dict

    result = analysed()
    rows = list(analysis_rows(result))
    for row, values in zip(rows, result.frames.extras):
        row["tags"] = None if row["silent"] else tags_dict(result.extra_names, values)
    job = TrackJob(path=str(tmp_path / "x.wav"), track_id="t1", name="x", formats=(), rows=True)
    outcome = TrackOutcome(job, ok=True, rows=rows, summary=summarize(result))
    tables = CatalogTables(tmp_path, model_key="test-causal-0", model="test", mode="causal",
                           version="0", extra_names=result.extra_names)
    tables.add_track(outcome, FileFacts(path=job.path, size=1, mtime_ns=1, track_id="t1"))
    tables.flush()
    frames = pq.read_table(tmp_path / "catalog" / "test-causal-0" / "frames").to_pylist()
    s = frames[SILENT]
    assert all(s[c] is None for c in NUMBERS) and s["tag_rock"] is None and s["silent"] is True
    assert frames[0]["arousal_sd"] == pytest.approx(0.05)
    # a naive mean over the frames table now equals the tracks table's mean of heard frames
    track = pq.read_table(tmp_path / "catalog" / "test-causal-0" / "tracks").to_pylist()[0]
    naive = np.mean([f["arousal"] for f in frames if f["arousal"] is not None])
    assert naive == pytest.approx(track["arousal_mean"], abs=1e-5)


def test_gui_export_csv_has_no_numbers_for_silence(tmp_path):
    from emotrack.realtime.gui.trajectory import TrajectoryStore

    store = TrajectoryStore()
    store.append([live(0, silent=False), live(1, silent=True)])
    store.write_csv(tmp_path / "g.csv")
    rows = list(csv.DictReader((tmp_path / "g.csv").open()))
    assert all(rows[1][c] == "" for c in NUMBERS) and rows[1]["silent"] == "1" and rows[1]["mood"] == ""
    assert rows[0]["arousal"] == "0.1"


def test_engine_publishes_silence_without_numbers_and_sd_with_confident_words(tmp_path):
    """Through the live engine (the path of listen and the GUI): silent results carry no numbers
    and no word, heard results carry the tracker's sd."""
    import soundfile as sf

    from fixtures_realtime import FakeTracker
    from emotrack.realtime.engine import Engine
    from emotrack.realtime.sources import FileSource

    class SdTracker(FakeTracker):
        def _infer_values(self, batch):
            values, extras = super()._infer_values(batch)
            return values, extras, np.full((batch.n, 2), 0.05, np.float32)

    sr = 16000
    t = np.arange(4 * sr) / sr
    x = (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    x[2 * sr:3 * sr] = 0.0
    wav = tmp_path / "gap.wav"
    sf.write(wav, x, sr)
    engine = Engine(FileSource(wav, playback=False, realtime=False), SdTracker())
    sub = engine.subscribe()
    engine.start()
    assert engine.finished.wait(30)
    engine.stop()
    results = sub.drain()
    assert [r.silent for r in results] == [False] * 4 + [True] * 2 + [False] * 2
    for r in results:
        if r.silent:
            assert math.isnan(r.arousal) and math.isnan(r.valence) and r.mood == ""
            assert r.arousal_sd is None and r.valence_sd is None and r.arousal_pct is None
            assert format_line(r).strip().endswith("(silence)")
        else:
            assert r.arousal_sd == pytest.approx(0.05) and math.isfinite(r.arousal) and r.mood
