"""Result formatting, CSV/JSON lines writers and the OSC encoder/sender."""
from __future__ import annotations

import csv
import json
import socket
import struct

import pytest

from emotrack.model.errors import ParameterError
from emotrack.realtime.outputs.sets import (CsvWriter, JsonlWriter, OscSender, format_line,
                                       osc_message, parse_host_port)
from emotrack.realtime.mood import mood_word
from emotrack.realtime.results import TrackResult
from emotrack.realtime.outputs.schema import COMMON_COLUMNS, LIVE_COLUMNS


def result(k: int = 3, a: float = 0.25, v: float = -0.5, warm: bool = True, *, silent: bool = False,
           pct=None, extras=None) -> TrackResult:
    plane = (v, a) if pct is None else (pct[1] / 50 - 1, pct[0] / 50 - 1)
    return TrackResult(frame_index=k, time_s=(k + 1) * 0.5, arousal=a, valence=v,
                       warming_up=warm, t_last_sample=10.0, t_ready=10.004, silent=silent,
                       arousal_pct=None if pct is None else pct[0],
                       valence_pct=None if pct is None else pct[1],
                       mood=mood_word(*plane, silent=silent), t_wall=1_764_669_600.25,
                       extras=extras, level_db=-20.0 if not silent else -200.0)


@pytest.mark.parametrize("v, a, word", [(0.7, 0.7, "happy"), (-0.4, 0.9, "tense"),
                                        (-0.9, -0.3, "sad"), (0.4, -0.9, "calm"),
                                        (0.05, -0.05, "neutral")])
def test_mood_words(v, a, word):
    assert mood_word(v, a) == word
    assert mood_word(v, a, silent=True) == ""


def test_result_dict_and_line():
    r = result()
    d = r.to_dict()
    assert d["arousal"] == 0.25 and d["valence"] == -0.5 and d["mood"] == r.mood != ""
    assert r.latency_ms == pytest.approx(4.0)
    line = format_line(r)
    assert "2.0 s" in line and "arousal +0.25" in line and "valence -0.50" in line
    assert r.mood in line and "warming up" in line
    assert "warming" not in format_line(result(warm=False))
    with_pct = format_line(result(pct=(78.0, 35.0)))
    assert "arousal +0.25 (p78)" in with_pct and "valence -0.50 (p35)" in with_pct
    assert "(silence)" in format_line(result(silent=True))


def test_osc_message_bytes_follow_osc_1_0():
    msg = osc_message("/emotrack/va", 0.5, -0.25, 1)
    # address padded to 4-byte multiple (12 chars + NUL -> 16), tags ",ffi" + NUL -> 8
    assert msg[:16] == b"/emotrack/va\0\0\0\0"
    assert msg[16:24] == b",ffi\0\0\0\0"
    assert struct.unpack(">ffi", msg[24:]) == (0.5, -0.25, 1)
    assert len(osc_message("/a")) == 8  # "/a\0\0" + ",\0\0\0"
    with pytest.raises(ParameterError):
        osc_message("no-slash", 1.0)


def test_osc_sender_reaches_a_local_udp_socket():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(5)
    port = rx.getsockname()[1]
    sender = OscSender(f"127.0.0.1:{port}")
    sender.write(result(k=5, a=0.75, v=-0.125, warm=False))
    data = rx.recv(1024)
    sender.close()
    rx.close()
    assert data.startswith(b"/emotrack/va\0\0\0\0,fffi\0\0\0")
    assert struct.unpack(">fffi", data[24:]) == (0.75, -0.125, 3.0, 0)


@pytest.mark.parametrize("text", ["9000", "host:", "host:port", "h:70000", ":9000"])
def test_bad_osc_targets(text):
    with pytest.raises(ParameterError, match="HOST:PORT"):
        parse_host_port(text)


def test_csv_and_jsonl_files(tmp_path):
    rows = [result(k, a=k / 10, v=-k / 10, warm=k < 2) for k in range(4)]
    c, j = tmp_path / "r.csv", tmp_path / "r.jsonl"
    cw, jw = CsvWriter(c), JsonlWriter(j)
    for r in rows:
        cw.write(r)
        jw.write(r)
    # flushed per row: readable before close
    assert len(c.read_text().splitlines()) == 5
    cw.close()
    jw.close()
    table = list(csv.DictReader(c.open()))
    assert tuple(table[0]) == COMMON_COLUMNS + LIVE_COLUMNS
    assert [float(t["arousal"]) for t in table] == [0.0, 0.1, 0.2, 0.3]
    assert [int(t["warming_up"]) for t in table] == [1, 1, 0, 0]
    assert table[0]["wall_time"] == "2025-12-02T10:00:00.250Z" and table[0]["arousal_pct"] == ""
    lines = [json.loads(x) for x in j.read_text().splitlines()]
    assert [x["time_s"] for x in lines] == [0.5, 1.0, 1.5, 2.0]
    assert lines[3]["valence"] == -0.3 and lines[3]["mood"] == rows[3].mood
    assert lines[0]["arousal_pct"] is None and lines[0]["silent"] == 0


def test_extras_become_tag_columns_and_a_tags_object(tmp_path):
    names = ("rock", "female vocalists", "Hip-Hop")
    r = result(extras=(0.5, 0.25, 0.125), pct=(60.0, 40.0))
    c, j = tmp_path / "r.csv", tmp_path / "r.jsonl"
    cw, jw = CsvWriter(c, names), JsonlWriter(j, names)
    cw.write(r)
    jw.write(r)
    cw.close()
    jw.close()
    row = next(csv.DictReader(c.open()))
    assert list(row)[-3:] == ["tag_rock", "tag_female_vocalists", "tag_Hip_Hop"]
    assert float(row["tag_female_vocalists"]) == 0.25 and float(row["arousal_pct"]) == 60.0
    line = json.loads(j.read_text())
    assert line["tags"] == {"rock": 0.5, "female vocalists": 0.25, "Hip-Hop": 0.125}


def test_unwritable_output_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="cannot write"):
        CsvWriter(tmp_path / "no" / "such" / "dir.csv")


def test_osc_send_failures_are_said_once_and_counted():
    """A broadcast address without SO_BROADCAST: the OS refuses every datagram (EACCES)."""
    said = []
    sender = OscSender("255.255.255.255:9", warn=said.append)
    for k in range(5):
        sender.write(result(k=k))
    sender.close()
    assert sender.errors == 5 and sender.sent == 0
    assert len(said) == 1 and "255.255.255.255:9" in said[0] and "cannot be sent" in said[0]
    assert sender.summary() == f"OSC 0 sent, 5 not sent ({sender.first_error})"
