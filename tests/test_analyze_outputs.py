"""``emotrack analyze`` never loses or mixes up files: stable names, whole sets, one run per folder.

Covers issue 15 items 2-4: a generated name never collides with another input's;
a failed write (disk full) leaves the earlier files of that track as they were;
SIGTERM or SIGKILL leaves no visible partial set and the next run cleans up; two
runs into one folder cannot overwrite each other.
"""
from __future__ import annotations

import errno
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotrack.model.errors import ParameterError
from emotrack.realtime.outputs.atomic_files import (JOURNAL_SUFFIX, TMP_SUFFIX, OutputSet, clean_leftovers,
                                            folder_lock)
from emotrack.realtime.catalog.ledger import LEDGER_NAME
from emotrack.realtime.cli import main
from emotrack.realtime.outputs.names import name_inputs, output_path
from emotrack.realtime.outputs.schema import COMMON_COLUMNS

AUDIO = (".wav", ".mp3")


def noise(path: Path, seconds: float, seed: int) -> Path:
    sr = 16000
    x = 0.2 * np.random.default_rng(seed).standard_normal(int(seconds * sr)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, sr)
    return path


def visible_sets(out: Path) -> dict[str, set[str]]:
    """Output name (relative, without extension) -> the formats present, of visible files only."""
    sets: dict[str, set[str]] = defaultdict(set)
    for p in out.rglob("*"):
        if p.is_file() and not p.name.startswith("."):
            stem, _, ext = p.relative_to(out).as_posix().rpartition(".emotrack.")
            sets[stem].add(ext)
    return dict(sets)


def hidden_files(out: Path) -> list[str]:
    """Hidden files left in ``out`` (temporaries), the run's ledger aside."""
    return sorted(p.name for p in out.rglob(".*") if p.name != LEDGER_NAME)


def assert_complete_set(out: Path, name: str, n_frames: int) -> None:
    """The three files of ``name`` are all there and each is whole."""
    rows = output_path(out, name, "csv").read_text().splitlines()
    assert rows[0].startswith(",".join(COMMON_COLUMNS)) and len(rows) == 1 + n_frames, name
    doc = json.loads(output_path(out, name, "json").read_text())
    assert len(doc["frames"]) == n_frames, name
    png = output_path(out, name, "png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[-12:-4] == b"\x00\x00\x00\x00IEND", name


# ----------------------------------------------------------------------------- names (15.2)
def test_clashing_names_are_refused_before_any_work(tmp_path, tiny_checkpoint, capsys):
    a, b = noise(tmp_path / "a" / "1.wav", 2, 0), noise(tmp_path / "b" / "1.wav", 2, 1)
    c = noise(tmp_path / "c" / "1-2.wav", 2, 2)
    out = tmp_path / "res"
    rc = main(["analyze", str(a), str(b), str(c), "--out", str(out), "--checkpoint",
               str(tiny_checkpoint), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("emotrack: error:")
    assert str(a) in err and str(b) in err and "1.emotrack.*" in err
    assert not out.exists()


def test_folder_arguments_mirror_their_tree_and_names_do_not_depend_on_other_inputs(
        tmp_path, tiny_checkpoint, capsys):
    music = tmp_path / "music"
    for i, rel in enumerate(["a/1.wav", "b/1.wav", "c/1-2.wav", "1.wav"]):
        noise(music / rel, 2, i)
    out = tmp_path / "res"
    argv = ["--out", str(out), "--checkpoint", str(tiny_checkpoint), "--format", "csv", "--quiet"]
    assert main(["analyze", str(music), *argv]) == 0, capsys.readouterr().err
    assert visible_sets(out) == {"a/1": {"csv"}, "b/1": {"csv"}, "c/1-2": {"csv"}, "1": {"csv"}}
    # the same file under the same name in every run, whatever else is analysed with it
    marker = output_path(out, "b/1", "csv").read_text()
    out2 = tmp_path / "res2"
    (music / "a" / "1.wav").unlink()
    assert main(["analyze", str(music), *argv[:1], str(out2), *argv[2:]]) == 0
    assert output_path(out2, "b/1", "csv").read_text() == marker
    assert set(visible_sets(out2)) == {"b/1", "c/1-2", "1"}


def test_name_rule(tmp_path):
    music = tmp_path / "music"
    for rel in ["x/Song.wav", "x/song.mp3", "y/z/t.wav", "notes.txt"]:
        (music / rel).parent.mkdir(parents=True, exist_ok=True)
        (music / rel).write_bytes(b"")
    loose = tmp_path / "elsewhere" / "t.wav"
    loose.parent.mkdir()
    loose.write_bytes(b"")
    named = name_inputs([music / "y", loose, loose, music / "y" / "z" / "t.wav"], extensions=AUDIO)
    # the folder's file is named relative to it; the same file twice is analysed once
    assert [(n.path, n.name) for n in named] == [(music / "y" / "z" / "t.wav", "z/t"),
                                                  (loose, "t")]
    with pytest.raises(ParameterError, match="Song.wav' and '.*song.mp3' would both"):
        name_inputs([music / "x"], extensions=AUDIO)  # differ only by case and extension
    assert output_path(tmp_path, "z/t", "png") == tmp_path / "z" / "t.emotrack.png"


# ----------------------------------------------------------------------- full disk (15.3)
def test_disk_full_while_writing_the_json_leaves_the_earlier_files_untouched(
        tmp_path, tiny_checkpoint, monkeypatch, capsys):
    song = noise(tmp_path / "in" / "song.wav", 3, 0)
    out = tmp_path / "out"
    argv = ["analyze", str(song), "--out", str(out), "--checkpoint", str(tiny_checkpoint),
            "--format", "csv,json", "--quiet"]
    assert main(argv) == 0
    csv_path, json_path = out / "song.emotrack.csv", out / "song.emotrack.json"
    # mark the earlier good files, so a rewrite with equal content would show
    csv_path.write_text(csv_path.read_text() + "# earlier run\n")
    earlier = {p: p.read_bytes() for p in (csv_path, json_path)}

    for method in ("write_text", "write_bytes"):
        real = getattr(pathlib.Path, method)

        def disk_full_for_json(self, *args, _real=real, **kwargs):
            if ".emotrack.json" in self.name:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(pathlib.Path, method, disk_full_for_json)
    capsys.readouterr()
    assert main([*argv, "--force"]) == 1  # a rerun that analyses the track again
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in (csv_path, json_path)} == earlier
    assert hidden_files(out) == []


# ------------------------------------------------------------- killed runs, two runs (15.4)
@pytest.fixture
def many_songs(tmp_path):
    """Enough short songs that a run with PNGs lasts a few seconds."""
    folder = tmp_path / "songs"
    for i in range(16):
        noise(folder / f"song{i:02d}.wav", 4, i)
    return folder


def _start_analyze(folder: Path, out: Path, checkpoint: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "emotrack.realtime.cli", "analyze", str(folder), "--out", str(out),
         "--checkpoint", str(checkpoint), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_while_writing(proc: subprocess.Popen, out: Path, sig: int) -> None:
    """Wait until one set is complete and the next is being written, then send ``sig``."""
    deadline = time.monotonic() + 240  # a guard against a hung run, not a measurement
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            names = os.listdir(out)
        except FileNotFoundError:
            continue
        hidden = [n for n in names if n.startswith(".")]
        if len(names) - len(hidden) >= 3 and hidden:
            break
        time.sleep(0.001)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.communicate()}"
    proc.send_signal(sig)
    proc.communicate(timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_run_leaves_only_whole_sets_and_the_next_run_cleans_up(
        sig, many_songs, tmp_path, tiny_checkpoint):
    out = tmp_path / "out"
    proc = _start_analyze(many_songs, out, tiny_checkpoint)
    _kill_while_writing(proc, out, sig)
    sets = visible_sets(out)
    assert 1 <= len(sets) < 16
    for name, formats in sets.items():
        assert formats == {"csv", "json", "png"}, (name, formats)
        assert_complete_set(out, name, 8)
    if sig == signal.SIGTERM:  # a clean stop removes its own temporaries at once
        assert proc.returncode == 130
        assert hidden_files(out) == []
    # the next run finishes the job and leaves nothing hidden behind
    proc = _start_analyze(many_songs, out, tiny_checkpoint)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert len(visible_sets(out)) == 16 and hidden_files(out) == []
    for name in visible_sets(out):
        assert_complete_set(out, name, 8)


def test_a_second_run_into_the_same_folder_is_refused(tmp_path, tiny_checkpoint, capsys):
    song = noise(tmp_path / "in" / "song.wav", 2, 0)
    out = tmp_path / "out"
    out.mkdir()
    with folder_lock(out):  # as another run into `out` holds it
        rc = main(["analyze", str(song), "--out", str(out), "--checkpoint", str(tiny_checkpoint),
                   "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "is writing into" in err and str(out) in err
    assert list(out.iterdir()) == []


# ------------------------------------------------------------------ the file-set machinery
def test_output_set_commits_together_or_not_at_all(tmp_path):
    a, b = tmp_path / "t.emotrack.csv", tmp_path / "t.emotrack.json"
    a.write_text("old a")
    with pytest.raises(KeyboardInterrupt):
        with OutputSet([a, b]) as s:
            s.temp(a).write_text("new a")
            raise KeyboardInterrupt
    assert a.read_text() == "old a" and not b.exists() and hidden_files(tmp_path) == []
    with OutputSet([a, b]) as s:
        s.temp(a).write_text("new a")
        s.temp(b).write_text("new b")
        s.commit()
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert hidden_files(tmp_path) == []


def test_leftovers_of_a_run_killed_during_the_renames_are_finished(tmp_path):
    """The state SIGKILL leaves between two renames: journal written, one file moved."""
    a, b = tmp_path / "t.emotrack.csv", tmp_path / "t.emotrack.json"
    a.write_text("old a")
    b.write_text("old b")
    tmp_b = tmp_path / f".{b.name}.0000abcd{TMP_SUFFIX}"
    tmp_b.write_text("new b")
    journal = tmp_path / f".{a.name}.1111abcd{JOURNAL_SUFFIX}"
    journal.write_text(json.dumps([[f".{a.name}.2222abcd{TMP_SUFFIX}", a.name],
                                   [tmp_b.name, b.name]]))
    a.write_text("new a")  # the first rename happened
    orphan = tmp_path / f".x.emotrack.png.3333abcd{TMP_SUFFIX}"  # a set that never committed
    orphan.write_bytes(b"half a png")
    users_file = tmp_path / ".notes.part"
    users_file.write_text("not ours")
    assert clean_leftovers(tmp_path) == 2
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert hidden_files(tmp_path) == [".notes.part"]
