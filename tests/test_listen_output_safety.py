"""``emotrack listen`` never destroys a file: its outputs are checked first and replace the old ones last.

Issue 15 item 1: an output that is the input, another output of the run (any
spelling, symbolic or hard link) or not a regular file is refused before anything
is touched; a start-up failure leaves an existing file as it was; rows grow in a
visible ``NAME.part.EXT`` during the run and replace ``NAME.EXT`` at its end.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotrack.realtime import cli
from emotrack.realtime.outputs.sets import CsvWriter


@pytest.fixture
def song(noise_wav):
    """The input of every run here (3 s, 6 frames)."""
    return noise_wav


def another_name(target: Path, spelling: str) -> str:
    """A second path to ``target``: the same string, through ``sub/..``, a symbolic or hard link."""
    if spelling in ("symlink", "hardlink"):
        other = target.with_name(f"other-{spelling}{target.suffix}")
        (os.symlink if spelling == "symlink" else os.link)(target, other)
        return str(other)
    if spelling == "dotted":
        (target.parent / "sub").mkdir(exist_ok=True)
        return f"{target.parent}/./sub/../{target.name}"
    return str(target)


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry of ``folder`` with its content (files) or kind."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            out[rel] = f"-> {os.readlink(p)}"
        elif p.is_file():
            out[rel] = p.read_bytes()
        else:
            out[rel] = "dir" if p.is_dir() else "special"
    return out


def run_listen(song: Path, *extra: str, capsys) -> tuple[int, str]:
    rc = cli.main(["listen", str(song), "--no-playback", "--fast", "--quiet", *extra])
    return rc, capsys.readouterr().err


def assert_refused(rc: int, err: str, *words: str) -> None:
    assert rc == 1 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotrack: error:"), err
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.mark.parametrize("flag", ["--csv", "--jsonl", "--record"])
@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink", "hardlink"])
def test_an_output_that_is_the_input_is_refused(flag, spelling, song, tmp_path, fake_listen_model, capsys):
    path = another_name(song, spelling)
    before = snapshot(tmp_path)
    rc, err = run_listen(song, flag, path, capsys=capsys)
    assert_refused(rc, err, flag, "the input file")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink", "hardlink", "part-name"])
def test_two_outputs_on_one_file_are_refused(spelling, song, tmp_path, fake_listen_model, capsys):
    first = tmp_path / "r.csv"
    first.write_text("an earlier result\n")
    second = (str(tmp_path / "r.part.csv") if spelling == "part-name"
              else another_name(first, spelling))
    before = snapshot(tmp_path)
    rc, err = run_listen(song, "--csv", str(first), "--jsonl", second, capsys=capsys)
    assert_refused(rc, err, "--jsonl", "--csv")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("kind", ["folder", "dev-null", "fifo"])
@pytest.mark.timeout(60)  # opening a FIFO for writing would block: fail instead of hanging
def test_an_output_that_is_not_a_regular_file_is_refused(kind, song, tmp_path, fake_listen_model, capsys):
    target = {"folder": tmp_path / "adir", "fifo": tmp_path / "pipe",
              "dev-null": Path(os.devnull)}[kind]
    if kind == "folder":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    before = snapshot(tmp_path)
    rc, err = run_listen(song, "--csv", str(target), capsys=capsys)
    assert_refused(rc, err, "--csv", str(target), "not a regular file")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("failure", ["osc-host", "missing-checkpoint", "corrupt-checkpoint"])
def test_a_start_up_failure_leaves_existing_outputs_as_they_were(failure, song, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("prev.csv", "prev.jsonl", "prev.wav"):
        (out / name).write_text(f"{name}: an earlier run's result\n")
    bad = {"osc-host": ["--osc", "no-such-host.invalid:9000"],
           "missing-checkpoint": ["--checkpoint", str(tmp_path / "none.safetensors")],
           "corrupt-checkpoint": ["--checkpoint", str(tmp_path / "corrupt.safetensors")]}[failure]
    (tmp_path / "corrupt.safetensors").write_bytes(b"\x00" * 64)
    before = snapshot(tmp_path)
    rc, err = run_listen(song, "--csv", str(out / "prev.csv"), "--jsonl", str(out / "prev.jsonl"),
                         "--record", str(out / "prev.wav"), *bad, capsys=capsys)
    assert rc == 1 and "Traceback" not in err and "emotrack: error:" in err
    assert snapshot(tmp_path) == before


def test_an_existing_part_file_is_never_overwritten(song, tmp_path, fake_listen_model, capsys):
    (tmp_path / "r.part.csv").write_text("rows of an interrupted run\n")
    before = snapshot(tmp_path)
    rc, err = run_listen(song, "--csv", str(tmp_path / "r.csv"), capsys=capsys)
    assert_refused(rc, err, "r.part.csv", "exists")
    assert snapshot(tmp_path) == before


def test_rows_grow_in_the_part_file_and_replace_the_old_file_at_the_end(
        song, tmp_path, fake_listen_model, monkeypatch, capsys):
    target = tmp_path / "r.csv"
    target.write_text("an earlier result\n")
    link = tmp_path / "link.csv"
    os.symlink(target, link)  # written through: the link stays a link
    seen = []
    real_write = CsvWriter.write

    def spy(self, r):
        real_write(self, r)
        part = tmp_path / "r.part.csv"
        seen.append((len(part.read_text().splitlines()), target.read_text()))

    monkeypatch.setattr(CsvWriter, "write", spy)
    rec = tmp_path / "rec.wav"
    rec.write_text("an earlier recording")
    rc, err = run_listen(song, "--csv", str(link), "--record", str(rec), capsys=capsys)
    assert rc == 0, err
    assert "r.part.csv" in err and "rec.part.wav" in err  # the live names are announced
    # during the run: every row readable in the part file, the old file untouched
    assert seen == [(k + 2, "an earlier result\n") for k in range(6)]
    assert link.is_symlink() and not (tmp_path / "r.part.csv").exists()
    assert len(list(csv.DictReader(target.open()))) == 6
    assert sf.info(str(rec)).frames == sf.info(str(song)).frames


def _start_listen(song: Path, out: Path) -> subprocess.Popen:
    """A real ``emotrack listen`` paced in real time (the bundled model)."""
    return subprocess.Popen(
        [sys.executable, "-m", "emotrack.realtime.cli", "listen", str(song), "--no-playback",
         "--quiet", "--csv", str(out / "r.csv"), "--jsonl", str(out / "r.jsonl")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_rows(proc: subprocess.Popen, part: Path, rows: int) -> None:
    deadline = time.monotonic() + 120  # a guard against a hung run, not a measurement
    while time.monotonic() < deadline and proc.poll() is None:
        if part.exists() and len(part.read_text().splitlines()) > rows:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {rows} rows in {part}: {proc.communicate()}")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_listen_keeps_the_old_file_or_puts_the_new_one_in_place(sig, tmp_path):
    sr = 16000
    long_song = tmp_path / "long.wav"
    sf.write(long_song, 0.1 * np.random.default_rng(0).standard_normal(60 * sr).astype(np.float32), sr)
    out = tmp_path / "out"
    out.mkdir()
    (out / "r.csv").write_text("an earlier result\n")
    proc = _start_listen(long_song, out)
    _wait_for_rows(proc, out / "r.part.csv", 3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGTERM:  # a clean stop: the rows so far replace the old file
        assert proc.returncode == 0, err
        rows = list(csv.DictReader((out / "r.csv").open()))
        assert len(rows) >= 3
        assert len((out / "r.jsonl").read_text().splitlines()) == len(rows)
        assert sorted(p.name for p in out.iterdir()) == ["r.csv", "r.jsonl"]
    else:  # killed: the old file is untouched, the rows so far are in the part files
        assert (out / "r.csv").read_text() == "an earlier result\n"
        assert len(list(csv.DictReader((out / "r.part.csv").open()))) >= 3
        assert all(json.loads(x) for x in (out / "r.part.jsonl").read_text().splitlines())
        assert not (out / "r.jsonl").exists()
