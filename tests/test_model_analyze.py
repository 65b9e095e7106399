"""``emotrack analyze``: block decoding, outputs, errors, exit codes, atomic writes."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf

from emotrack.model.audio_io import BlockReader
from emotrack.model.errors import AudioFileError
from emotrack.model.features import CAE_SPEC, mel_frames
from emotrack.model.mel_tracker import MelTracker
from emotrack.realtime.analysis import analyze_file, expand_inputs
from emotrack.realtime.outputs.schema import COMMON_COLUMNS
from emotrack.realtime.cli import main
from emotrack.realtime.outputs.trajectory_files import atomic_path


def _tone(seconds, sr, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "music" / "tone.wav"
    path.parent.mkdir()
    sf.write(path, _tone(4.0, 22050, channels=2), 22050)
    return path


def test_block_decoding_equals_offline_frames(wav, tiny_checkpoint):
    reader = BlockReader(wav, block_seconds=0.37)
    blocks = list(reader)
    whole, sr = sf.read(wav, dtype="float32")
    np.testing.assert_array_equal(np.concatenate(blocks), whole)
    assert reader.info.channels == 2 and reader.info.sample_rate == 22050 and reader.early_end is None
    tracker = MelTracker.from_checkpoint(tiny_checkpoint)
    result = analyze_file(wav, tracker, mode="causal", block_seconds=0.37)
    expect = tracker.predict_frames(mel_frames(whole, sr, CAE_SPEC))
    assert result.values.shape == expect.shape == (8, 2)
    np.testing.assert_allclose(result.values, expect, atol=1e-4)  # streaming vs one-shot resampler


def test_decode_errors(tmp_path, tiny_checkpoint):
    tracker = MelTracker.from_checkpoint(tiny_checkpoint)
    with pytest.raises(AudioFileError, match="not found"):
        analyze_file(tmp_path / "missing.wav", tracker)
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"this is not audio" * 50)
    with pytest.raises(AudioFileError, match="cannot decode"):
        analyze_file(junk, tracker)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 1), np.float32), 16000)
    with pytest.raises(AudioFileError, match="empty"):
        analyze_file(empty, tracker)
    with pytest.raises(AudioFileError, match="not a regular file"):
        analyze_file(tmp_path, tracker)


def test_cli_writes_csv_json_png(wav, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["analyze", str(wav), "--checkpoint", str(tiny_checkpoint), "--out", str(out),
               "--mode", "causal", "--quiet"])
    assert rc == 0
    rows = list(csv.DictReader((out / "tone.emotrack.csv").open()))
    assert tuple(rows[0]) == COMMON_COLUMNS  # a checkpoint network has no extras
    assert len(rows) == 8
    assert [float(r["time_s"]) for r in rows[:2]] == [0.5, 1.0]
    values = np.array([[float(r["arousal"]), float(r["valence"])] for r in rows])
    assert np.abs(values).max() <= 1
    doc = json.loads((out / "tone.emotrack.json").read_text())
    assert doc["mode"] == "causal" and doc["model"]["name"] == "cae"
    assert doc["model"]["feature_spec"] == CAE_SPEC.to_dict()
    assert doc["warming_up_frames"] == 8
    assert len(doc["frames"]) == 8
    assert doc["frames"][0]["arousal"] == pytest.approx(values[0, 0], abs=1e-4)
    png = (out / "tone.emotrack.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000
    assert not list(out.glob(".*part"))


def test_cli_bad_file_does_not_stop_the_others(wav, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....garbage")
    rc = main(["analyze", str(bad), str(wav), str(tmp_path / "missing.flac"), "--checkpoint",
               str(tiny_checkpoint), "--out", str(out), "--format", "csv", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "bad.wav: cannot decode" in err and "missing.flac: audio file not found" in err
    assert "2 of 3 file(s) failed" in err
    assert "Traceback" not in err
    assert (out / "tone.emotrack.csv").exists()
    assert not (out / "tone.emotrack.png").exists()  # --format csv only


def test_cli_directory_argument(wav, tiny_checkpoint, tmp_path):
    (wav.parent / "notes.txt").write_text("not audio")
    assert expand_inputs([wav.parent]) == [wav]
    out = tmp_path / "out"
    rc = main(["analyze", str(wav.parent), "--checkpoint", str(tiny_checkpoint), "--out", str(out),
               "--format", "json", "--quiet"])
    assert rc == 0 and (out / "tone.emotrack.json").exists()


def test_cli_without_bundled_checkpoint(wav, tmp_path, monkeypatch, capsys):
    import emotrack.model.trackers as trackers
    monkeypatch.setattr(trackers, "bundled_checkpoint", lambda name: tmp_path / "none.safetensors")
    rc = main(["analyze", str(wav), "--model", "rnn", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1 and "reinstall" in err and "Traceback" not in err


def test_cli_corrupt_checkpoint_and_bad_format(wav, tmp_path, capsys):
    ck = tmp_path / "broken.safetensors"
    ck.write_bytes(b"\x00" * 20)
    assert main(["analyze", str(wav), "--checkpoint", str(ck)]) == 1
    assert "emotrack: error:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # refused by the option itself: a usage error
        main(["analyze", str(wav), "--format", "csv,pdf"])
    assert stop.value.code == 2
    assert "--format" in capsys.readouterr().err


def test_atomic_write_leaves_nothing_on_interrupt(tmp_path):
    target = tmp_path / "x.csv"
    target.write_text("old\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [target]
