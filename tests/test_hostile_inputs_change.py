"""Issue 23, class 5: inputs that change or vanish while ``analyze`` runs.

A file replaced between hashing and decoding is recorded under the content decoded;
a file that vanishes or changes while analysed is a failure of the moment (not
recorded: the next run tries again without ``--retry-failed``); a file whose content
cannot be decoded still is recorded, as the docs say.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from emotrack.realtime.catalog import run as catalog_run
from emotrack.realtime.catalog.inputs import content_id
from emotrack.realtime.cli import main

SR = 16000


def song(path: Path, seconds: float, freq: float) -> Path:
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR)
    return path


def ledger(out: Path) -> list[dict]:
    path = out / ".emotrack-ledger.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def analyze(paths, out: Path, *extra: str) -> int:
    return main(["analyze", *map(str, paths), "--out", str(out), "--model", "baseline",
                 "--format", "json", "--jobs", "1", *extra])


def _after_identify(monkeypatch, action):
    real = catalog_run.identify

    def identify(paths, led, **kw):
        facts = real(paths, led, **kw)
        action()
        return facts

    monkeypatch.setattr(catalog_run, "identify", identify)


def test_a_file_replaced_after_hashing_is_recorded_as_what_was_decoded(tmp_path, monkeypatch, capsys):
    path = song(tmp_path / "s.wav", 2.0, 300.0)
    old_id = content_id(path)
    new = song(tmp_path / "new.wav", 3.0, 700.0)
    new_id = content_id(new)
    _after_identify(monkeypatch, lambda: os.replace(new, path))  # saved over it, as editors do
    out = tmp_path / "out"
    assert analyze([path], out) == 0, capsys.readouterr().err
    entries = ledger(out)
    assert [e["track_id"] for e in entries] == [new_id] and old_id != new_id
    assert entries[0]["size"] == path.stat().st_size
    doc = json.loads((out / "s.emotrack.json").read_text())
    assert len(doc["frames"]) == 6  # the 3-s file's frames, not the 2-s one's
    monkeypatch.undo()
    assert analyze([path], out) == 0  # and a rerun knows it: skipped
    assert "1 file(s) skipped" in capsys.readouterr().err


def test_a_file_that_vanishes_for_a_moment_is_retried_without_retry_failed(tmp_path, monkeypatch,
                                                                             capsys):
    path = song(tmp_path / "s.wav", 2.0, 300.0)
    aside = tmp_path / "unplugged.wav"
    _after_identify(monkeypatch, lambda: os.replace(path, aside))  # the drive is unplugged
    out = tmp_path / "out"
    assert analyze([path], out) == 1
    err = capsys.readouterr().err
    assert "could not be reached while it was analysed" in err and "next run tries again" in err
    assert not any(e["kind"] == "failed" for e in ledger(out)), ledger(out)
    monkeypatch.undo()
    os.replace(aside, path)  # plugged in again
    assert analyze([path], out) == 0, capsys.readouterr().err
    assert "failed before" not in capsys.readouterr().err
    assert [e["kind"] for e in ledger(out)] == ["done"]


def test_a_file_that_changes_while_analysed_is_not_recorded(tmp_path, monkeypatch, capsys):
    from emotrack.realtime import analysis

    path = song(tmp_path / "s.wav", 2.0, 300.0)
    real = analysis.analyze_file

    def analyze_and_touch(p, *a, **k):
        result = real(p, *a, **k)
        with open(p, "ab") as fh:  # written to while it was read
            fh.write(b"\0" * 64)
        return result

    monkeypatch.setattr(analysis, "analyze_file", analyze_and_touch)
    out = tmp_path / "out"
    assert analyze([path], out) == 1
    assert "the file changed while it was analysed" in capsys.readouterr().err
    assert ledger(out) == [] and not (out / "s.emotrack.json").exists()


def test_a_file_whose_content_fails_is_still_recorded(tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF" + os.urandom(200))
    out = tmp_path / "out"
    assert analyze([bad], out) == 1
    assert [e["kind"] for e in ledger(out)] == ["failed"]
    capsys.readouterr()
    assert analyze([bad], out) == 1
    assert "failed before" in capsys.readouterr().err
