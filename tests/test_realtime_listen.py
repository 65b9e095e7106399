"""``emotrack listen`` end to end with a file (no audio device) and a fake predictor."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf

from fixtures_realtime import FakeTracker
from emotrack.realtime import cli
from emotrack.realtime.commands import listen


@pytest.fixture
def fake_model(monkeypatch):
    asked = {}

    def load(args):
        from emotrack.realtime.commands.audio_options import torch_device

        asked["device"] = torch_device(args.device)
        return FakeTracker()

    monkeypatch.setattr(listen, "load_live_tracker", load)
    return asked


@pytest.fixture
def wav(noise_wav):
    return noise_wav


def test_listen_file_fast_prints_lines_and_writes_files(fake_model, wav, tmp_path, capsys):
    out_csv, out_jsonl, rec = tmp_path / "o.csv", tmp_path / "o.jsonl", tmp_path / "rec.wav"
    code = cli.main(["listen", str(wav), "--no-playback", "--fast", "--csv", str(out_csv),
                     "--jsonl", str(out_jsonl), "--record", str(rec)])
    captured = capsys.readouterr()
    assert code == 0
    lines = captured.out.splitlines()
    assert len(lines) == 6 and "0.5 s" in lines[0] and "warming up" in lines[0]
    assert "6 frames, 6 results" in captured.err and "latency p50" in captured.err
    assert len(list(csv.DictReader(out_csv.open()))) == 6
    assert [json.loads(x)["frame_index"] for x in out_jsonl.read_text().splitlines()] == list(range(6))
    np.testing.assert_allclose(sf.read(rec, dtype="float32")[0], sf.read(wav, dtype="float32")[0],
                               atol=1e-4)  # 16-bit source, float recording


def test_listen_jsonl_to_stdout_replaces_the_lines(fake_model, wav, capsys):
    assert cli.main(["listen", str(wav), "--no-playback", "--fast", "--jsonl", "-"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [json.loads(x)["time_s"] for x in out] == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]


def test_listen_duration_stops_early(fake_model, wav, capsys):
    assert cli.main(["listen", str(wav), "--no-playback", "--duration", "1.2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2  # floor(2 * 1.2) frames, paced in real time


@pytest.mark.parametrize("duration, frames", [("5", 10), ("7.3", 14), ("0.5", 1)])
def test_listen_duration_is_exact_with_a_slow_model_in_fast_mode(monkeypatch, tmp_path, duration, frames,
                                                                 capsys):
    """Issue 13.1: a slow model used to race the stop (1 of 10 frames written, summary said 0 dropped)."""
    import soundfile as sf

    from fixtures_realtime import FakeTracker
    from emotrack.realtime.commands import listen

    monkeypatch.setattr(listen, "load_live_tracker", lambda args: FakeTracker(delay_s=0.02))
    wav = tmp_path / "long.wav"
    sf.write(wav, (0.2 * np.random.default_rng(2).standard_normal(16000 * 20)).astype(np.float32), 16000)
    out_csv = tmp_path / "o.csv"
    assert cli.main(["listen", str(wav), "--no-playback", "--fast", "--duration", duration,
                     "--csv", str(out_csv), "--quiet"]) == 0
    rows = list(csv.DictReader(out_csv.open()))
    assert [int(r["frame_index"]) for r in rows] == list(range(frames))
    err = capsys.readouterr().err
    assert f"{frames} frames, {frames} results" in err and "0 discarded at stop" in err


@pytest.mark.parametrize("options, device", [([], "auto"), (["--device", "cpu"], "cpu")])
def test_listen_device_is_the_torch_device(fake_model, wav, options, device, capsys):
    assert cli.main(["listen", str(wav), "--no-playback", "--fast", "--quiet", *options]) == 0
    assert fake_model["device"] == device


@pytest.mark.parametrize("argv, message, status", [
    (["listen", "/no/such/file.mp3", "--no-playback"], "audio file not found", 1),
    (["listen", "--source", "file"], "needs a FILE", 1),
    (["listen", "--source", "mic", "--input", "no-such-device-xyz"], "no-such-device-xyz", 1),
    (["listen", "--device", "3"], "--input NAME|INDEX", 2),  # audio devices have their own names
    (["listen", "--source", "system", "--output", "speakers"], "playback device for files", 1),
    (["listen", "WAV", "--input", "3"], "--output NAME|INDEX", 1),
    (["listen", "WAV", "--no-playback", "--output", "speakers"], "--no-playback", 1),
    (["listen", "WAV", "--output", "no-such-output-xyz"], "no-such-output-xyz", 1),
    (["listen", "--source", "mic", "--fast"], "only apply to files", 1),
    (["listen", "WAV", "--no-playback", "--checkpoint", "/no/such.ckpt"], "checkpoint not found", 1),
    (["listen", "WAV", "--no-playback", "--osc", "localhost"], "HOST:PORT", 2),  # usage errors
    (["listen", "WAV", "--no-playback", "--duration", "-1"], "--duration", 2),
])
def test_user_mistakes_are_one_line_errors(argv, message, status, wav, capsys):
    argv = [str(wav) if a == "WAV" else a for a in argv]
    try:
        code = cli.main(argv)
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == status
    assert message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("emotrack: error:")


def test_listen_osc_failures_are_said_at_once_and_in_the_summary(fake_model, wav, capsys):
    assert cli.main(["listen", str(wav), "--no-playback", "--fast", "--quiet",
                     "--osc", "255.255.255.255:9"]) == 0
    err = capsys.readouterr().err.splitlines()
    warnings = [line for line in err if "OSC messages to 255.255.255.255:9 cannot be sent" in line]
    assert len(warnings) == 1 and warnings[0].startswith("emotrack: warning:")
    summary = err[-1]
    assert summary.startswith("emotrack: ") and "6 frames, 6 results" in summary
    assert "OSC 0 sent, 6 not sent (" in summary
