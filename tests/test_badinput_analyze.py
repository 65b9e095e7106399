"""`emotrack analyze` against broken, odd and extreme files (the bad-input suite).

Expected everywhere: one line ``emotrack: error: FILE: ...`` per failed file, exit
status 1 when any file failed, the other files still analysed, no output file
for a failed input, no traceback.  Edge cases that are not errors are listed in
fixtures_badinput.BAD_AUDIO_CASES and documented in docs/hardening.md.
"""
from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from fixtures_badinput import BAD_AUDIO_CASES
from emotrack.realtime.catalog.ledger import LEDGER_NAME
from emotrack.realtime.cli import main

#: A fragment of the one-line message each error case must give (lower case).
ERROR_WORDS = {
    "empty_wav": "empty (0 samples)",
    "zero_bytes": "format not recognised",
    "truncated_mp3": "truncated or corrupt",
    "truncated_ogg": "truncated or corrupt",
    "text_as_wav": "format not recognised",
    "nan_inf_wav": "nan or infinite samples",
}
#: Frames each working case gives (frame k is complete at (k+1)*0.5 s; a final partial
#: frame of at least 0.25 s counts).
EDGE_FRAMES = {"silence_ogg": 20, "rate_8k": 6, "rate_192k": 6, "six_channels": 6,
               "unicode_path": 6}


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("emotrack: error:")]


def test_every_bad_file_in_one_batch(bad_audio_files, tmp_path, capsys):
    out = tmp_path / "out"
    names = list(bad_audio_files)
    rc = main(["analyze", *map(str, bad_audio_files.values()), "--out", str(out),
               "--format", "csv,json", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "Traceback" not in err
    errors = error_lines(err)
    n_errors = sum(kind == "error" for kind, _ in BAD_AUDIO_CASES.values())
    assert len(errors) == n_errors, err
    for name, words in ERROR_WORDS.items():
        mine = [e for e in errors if str(bad_audio_files[name]) in e]
        assert len(mine) == 1, f"{name}: {err}"
        assert words in mine[0].lower(), mine[0]
    assert f"{n_errors} of {len(names)} file(s) failed" in err
    # the 1-sample file: not an error, 0 frames, said so, nothing written
    short = [line for line in err.splitlines() if str(bad_audio_files["one_sample"]) in line]
    assert len(short) == 1 and "0 frames, no output written" in short[0]
    # every other file analysed; nothing else written, no temporary leftovers
    expected = {f"{Path(bad_audio_files[n]).stem}.emotrack.{ext}"
                for n in [*EDGE_FRAMES, "cut_mp3_tail"] for ext in ("csv", "json")}
    assert {p.name for p in out.iterdir() if p.name != LEDGER_NAME} == expected
    for name, n_frames in EDGE_FRAMES.items():
        doc = json.loads((out / f"{bad_audio_files[name].stem}.emotrack.json").read_text())
        assert len(doc["frames"]) == n_frames, name
        heard = [f for f in doc["frames"] if not f["silent"]]  # silent frames have null values
        values = np.array([[f["arousal"], f["valence"]] for f in heard], dtype=float).reshape(-1, 2)
        assert np.isfinite(values).all() and (np.abs(values) <= 1).all()
        assert all(f["arousal"] is None for f in doc["frames"] if f["silent"])
    doc = json.loads((out / "six_channels.emotrack.json").read_text())
    assert doc["audio"]["channels"] == 6
    doc = json.loads((out / "rate_192k.emotrack.json").read_text())
    assert doc["audio"]["sample_rate"] == 192000
    # an MP3 cut mid-stream: the decodable part is analysed (about 2 s of the 4 s)
    doc = json.loads((out / "cut_mp3_tail.emotrack.json").read_text())
    assert 2 <= len(doc["frames"]) <= 6


def test_silence_gives_valid_output_without_numbers(bad_audio_files, tmp_path, capsys):
    rc = main(["analyze", str(bad_audio_files["silence_ogg"]), "--out", str(tmp_path),
               "--format", "csv", "--mode", "causal", "--quiet"])
    assert rc == 0 and capsys.readouterr().err == ""
    rows = list(csv.DictReader((tmp_path / "silence_ogg.emotrack.csv").open()))
    assert len(rows) == 20
    # digital silence is a state of its own: flagged, no values, no mood word (DESIGN contract 7)
    assert all(r["silent"] == "1" and r["mood"] == "" and float(r["level_db"]) == -200.0 for r in rows)
    assert all(r[c] == "" for r in rows for c in ("arousal", "valence", "arousal_pct", "valence_pct",
                                                  "arousal_sd", "valence_sd", "tag_rock"))


def test_unicode_and_spaces_in_paths_of_inputs_and_outputs(bad_audio_files, tmp_path, capsys):
    out = tmp_path / "résultats d'analyse ♪"
    rc = main(["analyze", str(bad_audio_files["unicode_path"]), "--out", str(out), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    stem = bad_audio_files["unicode_path"].stem
    assert sorted(p.name for p in out.iterdir() if p.name != LEDGER_NAME) == sorted(
        f"{stem}.emotrack.{e}" for e in ("csv", "json", "png"))
    doc = json.loads((out / f"{stem}.emotrack.json").read_text(encoding="utf-8"))
    assert doc["file"] == str(bad_audio_files["unicode_path"])


def test_output_folder_under_a_regular_file_fails_for_root_too(bad_audio_files, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    rc = main(["analyze", str(bad_audio_files["rate_8k"]), "--out", str(blocker / "sub"),
               "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert err.startswith("emotrack: error:") and len(err.strip().splitlines()) == 1
    assert str(blocker / "sub") in err
    assert blocker.read_text() == "not a folder"


def test_output_file_that_cannot_be_replaced_leaves_no_partial_set(bad_audio_files, tmp_path, capsys):
    """The JSON's name is taken by a folder: the CSV already written for that input is removed."""
    out = tmp_path / "out"
    (out / "rate_8k.emotrack.json").mkdir(parents=True)
    rc = main(["analyze", str(bad_audio_files["rate_8k"]), str(bad_audio_files["six_channels"]),
               "--out", str(out), "--format", "csv,json", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert len(error_lines(err)) == 1 and str(bad_audio_files["rate_8k"]) in err
    assert sorted(p.name for p in out.iterdir() if p.name != LEDGER_NAME) == [
        "rate_8k.emotrack.json", "six_channels.emotrack.csv", "six_channels.emotrack.json"]
    assert (out / "rate_8k.emotrack.json").is_dir()


def _checkpoints(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (checkpoint path, fragment of the expected message)."""
    from emotrack.model.checkpoint import create_untrained_checkpoint, load_checkpoint, save_checkpoint
    from emotrack.model.trackers import bundled_checkpoint

    good = bundled_checkpoint("rnn").read_bytes()
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good[: len(good) // 2])
    text = tmp_path / "text.safetensors"
    text.write_text("not a checkpoint")
    base = load_checkpoint(create_untrained_checkpoint(tmp_path / "b.safetensors",
                                                       model_name="baseline"))
    mismatched = save_checkpoint(tmp_path / "mismatched.safetensors", model_name="cae",
                                 hparams={}, state_dict=base.state_dict, spec=base.spec,
                                 norm_mean=base.norm_mean, norm_std=base.norm_std)
    return {"missing": (tmp_path / "nope.safetensors", "not found"),
            "truncated": (truncated, "truncated"),
            "text": (text, "checkpoint"),
            "mismatched": (mismatched, "do not fit")}


@pytest.mark.parametrize("command", ["analyze", "listen"])
def test_missing_corrupt_and_mismatched_checkpoints(command, bad_audio_files, tmp_path, capsys):
    wav = str(bad_audio_files["rate_8k"])
    for name, (ckpt, words) in _checkpoints(tmp_path).items():
        out = tmp_path / f"out-{name}"
        if command == "analyze":
            argv = ["analyze", wav, "--out", str(out), "--checkpoint", str(ckpt), "--quiet"]
        else:
            out.mkdir()
            argv = ["listen", wav, "--no-playback", "--fast", "--quiet", "--checkpoint", str(ckpt),
                    "--csv", str(out / "r.csv")]
        assert main(argv) == 1, name
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if not line.startswith("emotrack: listening")]
        assert len(lines) == 1 and lines[0].startswith("emotrack: error:"), (name, err)
        assert str(ckpt) in lines[0] and words in lines[0], (name, lines[0])
        assert not out.exists() or not any(out.iterdir()), f"{name}: output left behind"


LONG_RUN = textwrap.dedent("""
    import resource, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from fixtures_badinput import write_long_wav
    import torch
    from emotrack.realtime.cli import main
    torch.set_num_threads(1)  # as `listen` does; the test shares 2 cores with others
    tmp = Path(sys.argv[2])
    warm = write_long_wav(tmp / "ten minutes.wav", 600.0)
    # the rnn: the decoding and frame bookkeeping are every tracker's, and it keeps this test
    # short (the musicnn tracker's own buffers are bounded: tests/test_musicnn_tracker.py)
    opts = ["--format", "csv", "--mode", "causal", "--quiet", "--model", "rnn"]
    assert main(["analyze", str(warm), "--out", str(tmp / "w"), *opts]) == 0
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert main(["analyze", sys.argv[3], "--out", str(tmp / "o"), *opts]) == 0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) / 1024.0)
""")


def test_two_hour_file_is_streamed_with_bounded_memory(two_hour_wav, tmp_path):
    """Peak RSS of a 2-hour analysis grows far less than the decoded audio would need.

    Holding the audio would take 230 MB (8 kHz float32) or 460 MB (resampled to
    16 kHz); the frames of 2 hours are 5.5 MB.  Measured growth: ~30 MB (the RNN's
    causal pass over 14 400 frames); the bound is generous.
    """
    tests = Path(__file__).resolve().parent
    proc = subprocess.run([sys.executable, "-c", LONG_RUN, str(tests), str(tmp_path),
                           str(two_hour_wav)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    growth_mb = float(proc.stdout.strip().splitlines()[-1])
    assert growth_mb < 100.0, f"peak RSS grew {growth_mb:.0f} MB over a 2-hour file"
    rows = (tmp_path / "o" / "two hours.emotrack.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 3600 * 2 and rows[-1].startswith("14399,7200.0,")
