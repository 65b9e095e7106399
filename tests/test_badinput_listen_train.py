"""`emotrack listen --no-playback --fast`, `train` and `evaluate` against broken and odd input."""
from __future__ import annotations

import csv

import pytest

from fixtures_badinput import BAD_AUDIO_CASES
from emotrack.realtime.cli import main

LISTEN_ERRORS = {
    "empty_wav": "contains no audio",
    "zero_bytes": "format not recognised",
    "truncated_mp3": "truncated or corrupt",
    "truncated_ogg": "truncated or corrupt",
    "text_as_wav": "format not recognised",
    "nan_inf_wav": "nan or infinite samples",
}
LISTEN_RESULTS = {"one_sample": 0, "silence_ogg": 20, "rate_8k": 6, "rate_192k": 6,
                  "six_channels": 6, "unicode_path": 6}


def test_listen_cases_cover_every_bad_file():
    assert set(LISTEN_ERRORS) | set(LISTEN_RESULTS) | {"cut_mp3_tail"} == set(BAD_AUDIO_CASES)


@pytest.mark.parametrize("name", sorted(LISTEN_ERRORS))
def test_listen_refuses_broken_files_in_one_line(name, bad_audio_files, tmp_path, capsys):
    out = tmp_path / "r.csv"
    rc = main(["listen", str(bad_audio_files[name]), "--no-playback", "--fast", "--quiet",
               "--csv", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("emotrack: error:")]
    assert len(errors) == 1 and LISTEN_ERRORS[name] in errors[0].lower(), err
    assert bad_audio_files[name].name in errors[0]
    if name == "nan_inf_wav":  # found while running: the run ends, its CSV holds what was done
        assert out.read_text().splitlines()[0].startswith("frame_index,")
    else:  # refused before the run: no output file
        assert not out.exists()


@pytest.mark.parametrize("name", sorted(LISTEN_RESULTS))
def test_listen_handles_odd_but_valid_files(name, bad_audio_files, tmp_path, capsys):
    out = tmp_path / "résultat ♪.csv"
    rc = main(["listen", str(bad_audio_files[name]), "--no-playback", "--fast", "--quiet",
               "--csv", str(out)])
    err = capsys.readouterr().err
    assert rc == 0 and "error" not in err, err
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == LISTEN_RESULTS[name]
    assert f"{LISTEN_RESULTS[name]} frames, {LISTEN_RESULTS[name]} results" in err
    assert [int(r["frame_index"]) for r in rows] == list(range(len(rows)))


@pytest.mark.parametrize("flag", ["--csv", "--jsonl", "--record"])
def test_listen_output_under_a_regular_file_fails_before_the_run(flag, bad_audio_files, tmp_path,
                                                                 capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    other = tmp_path / "ok.csv"
    rc = main(["listen", str(bad_audio_files["rate_8k"]), "--no-playback", "--fast", "--quiet",
               flag, str(blocker / "out.x"), *([] if flag == "--csv" else ["--csv", str(other)])])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("emotrack: error:")]
    assert len(errors) == 1 and str(blocker) in errors[0]
    assert not other.exists(), "a CSV was left behind by a run that never started"


def test_train_skips_every_bad_song_with_a_reason(bad_emomusic_dataset, tmp_path, capsys):
    root, songs = bad_emomusic_dataset
    out = tmp_path / "m.safetensors"
    rc = main(["train", "--data", f"emomusic:{root}", "--model", "baseline", "--epochs", "1",
               "--val-fraction", "0", "--out", str(out), "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert rc == 0 and "Traceback" not in err and out.is_file()
    skipped = [line for line in err.splitlines() if "skipped" in line]
    for sid, case in songs.items():
        if case == "good" or BAD_AUDIO_CASES.get(case, ("",))[0] == "edge":
            continue
        mine = [line for line in skipped if f"emomusic:{sid}:" in line or f"song {sid}" in line
                or f"(song {sid})" in line or f": {sid}" in line]
        assert mine, f"song {sid} ({case}) skipped without a word: {err}"
    assert "training on 2 song(s)" in err  # 101 and 102 (103 is evaluation)
    nan_line = next(line for line in skipped if f"emomusic:{_sid(songs, 'nan_inf_wav')}:" in line)
    assert "nan_inf_wav" not in nan_line and f"{_sid(songs, 'nan_inf_wav')}.wav" in nan_line


def _sid(songs: dict[str, str], case: str) -> str:
    return next(k for k, v in songs.items() if v == case)


def test_train_fails_at_once_when_the_checkpoint_cannot_be_written(bad_emomusic_dataset, tmp_path,
                                                                    capsys):
    root, _ = bad_emomusic_dataset
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    rc = main(["train", "--data", f"emomusic:{root}", "--epochs", "1", "--quiet",
               "--out", str(blocker / "m.safetensors"), "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert str(blocker) in err and "not a folder" in err
    assert not (tmp_path / "c").exists(), "work started before the output was checked"


def test_evaluate_with_bad_songs_and_bad_checkpoint_and_bad_out(bad_emomusic_dataset, tmp_path,
                                                                capsys):
    from emotrack.model.checkpoint import create_untrained_checkpoint

    root, _ = bad_emomusic_dataset
    ckpt = create_untrained_checkpoint(tmp_path / "u.safetensors", model_name="baseline")
    common = ["--data", f"emomusic:{root}", "--split", "all", "--quiet",
              "--cache-dir", str(tmp_path / "cache")]
    rc = main(["evaluate", str(ckpt), *common, "--out", str(tmp_path / "rep")])
    captured = capsys.readouterr()
    assert rc == 0 and "Traceback" not in captured.err
    assert (tmp_path / "rep" / "evaluation.json").is_file()
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for argv, words in (([str(ckpt), *common, "--out", str(blocker / "rep")], "not a folder"),
                        ([str(tmp_path / "none.safetensors"), *common], "not found"),
                        ([str(blocker), *common], "checkpoint")):
        assert main(["evaluate", *argv]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert err.startswith("emotrack: error:") and words in err, err
