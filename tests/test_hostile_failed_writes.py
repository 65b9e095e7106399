"""Issue 23, class 4 (live and training side): a failure keeps what was good.

``listen --record``/``--csv`` whose writes fail (injected: a full disk) never move
the partial file over an existing one; ``train --out``/``--log`` never overwrite
the dataset's own files.
"""
from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotrack.model.errors import OutputError
from emotrack.realtime.cli import main


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def song(tmp_path) -> Path:
    path = tmp_path / "song.wav"
    t = np.arange(4 * 16000) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 16000)
    return path


def _listen(song: Path, ckpt: Path, *extra: str) -> int:
    return main(["listen", str(song), "--no-playback", "--fast", "--quiet", "--checkpoint",
                 str(ckpt), *extra])


def test_a_recording_whose_writes_fail_never_replaces_the_earlier_one(song, tmp_path, tiny_checkpoint,
                                                                      monkeypatch, capsys):
    record = tmp_path / "r.wav"
    sf.write(record, np.full(8000, 0.25, np.float32), 16000)  # an earlier recording
    before = _digest(record)
    real, calls = sf.SoundFile.write, []

    def failing(self, data):
        calls.append(len(data))
        if len(calls) >= 1:  # fast mode may write the whole song in one block
            raise OSError(errno.EFBIG, "File too large (injected)")
        return real(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", failing)
    rc = _listen(song, tiny_checkpoint, "--record", str(record), "--csv", str(tmp_path / "o.csv"))
    err = capsys.readouterr().err
    assert rc == 1 and "File too large" in err and "Traceback" not in err
    assert _digest(record) == before
    assert (tmp_path / "r.part.wav").exists() and "'" + str(tmp_path / "r.part.wav") + "' kept" in err
    assert (tmp_path / "o.csv").is_file()  # the CSV's own writes succeeded: it is put in place


def test_a_csv_whose_writes_fail_never_replaces_the_earlier_one(song, tmp_path, tiny_checkpoint,
                                                                monkeypatch, capsys):
    from emotrack.realtime.outputs import sets

    out = tmp_path / "o.csv"
    out.write_text("an earlier run's rows\n")
    real, calls = sets.CsvWriter.write, []

    def failing(self, r):
        calls.append(r)
        if len(calls) == 3:
            raise OutputError(f"cannot write CSV file '{out}': No space left on device (injected)")
        return real(self, r)

    monkeypatch.setattr(sets.CsvWriter, "write", failing)
    rc = _listen(song, tiny_checkpoint, "--csv", str(out), "--jsonl", str(tmp_path / "o.jsonl"))
    err = capsys.readouterr().err
    assert rc == 1 and "No space left" in err and "Traceback" not in err
    assert out.read_text() == "an earlier run's rows\n"
    assert (tmp_path / "o.part.csv").is_file()
    assert (tmp_path / "o.jsonl").read_text().count("\n") == 2  # the rows before the failure


@pytest.fixture
def dataset(tmp_path, emomusic_mini) -> Path:
    """A copy of the emoMusic mini set: a dataset training would really run on."""
    import shutil

    return Path(shutil.copytree(emomusic_mini, tmp_path / "emomusic"))


@pytest.mark.parametrize("how", ["--out is the label file", "--out links to it",
                                 "--log is the label file", "--out is --log"])
def test_train_never_overwrites_an_input(dataset, tmp_path, capsys, how):
    labels = dataset / "annotations" / "static_annotations.csv"
    before = _digest(labels)
    out, log = tmp_path / "m.safetensors", None
    if how == "--out is the label file":
        out = labels
    elif how == "--out links to it":
        out.symlink_to(labels)
    elif how == "--log is the label file":
        log = labels
    else:
        out.write_bytes(b"old")
        log = out
    rc = main(["train", "--data", f"emomusic:{dataset}", "--out", str(out), "--epochs", "1",
               "--model", "baseline", "--cache-dir", str(tmp_path / "cache"), "--quiet",
               *(["--log", str(log)] if log else [])])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err and ("dataset" in err or "same file" in err), err
    assert _digest(labels) == before
