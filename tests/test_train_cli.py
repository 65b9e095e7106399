"""`emotrack train` / `emotrack evaluate` from the command line."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from emotrack.realtime.cli import build_parser, main

MODEL_CARD = Path(__file__).resolve().parents[1] / "assets" / "MODEL_CARD.md"


@pytest.mark.parametrize("argv", [["train", "--data", "emomusic:D", "--out", "x.safetensors"],
                                  ["evaluate", "--loso", "--data", "emomusic:D"]])
def test_train_and_evaluate_default_to_the_model_the_card_recommends(argv, capsys):
    recommended = re.search(r"\*\*Recommended network to train: `(\w+)`", MODEL_CARD.read_text()).group(1)
    assert build_parser().parse_args(argv).model == recommended
    with pytest.raises(SystemExit):
        main([argv[0], "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"default: {recommended}" in text and "MODEL_CARD.md" in text  # and says why


def _refuse_non_standard(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def test_train_with_malformed_spec_is_one_line_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:  # a value --data refuses: argparse's usage error
        main(["train", "--data", "emomusic", "--out", str(tmp_path / "x")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("emotrack: error:") and "NAME:PATH" in err and err.count("\n") == 1


def test_train_with_missing_folder_is_one_line_error(tmp_path, capsys):
    assert main(["train", "--data", f"deam:{tmp_path / 'none'}", "--out", str(tmp_path / "x")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_evaluate_writes_markdown_json_png_with_references(emomusic_mini, train_cache_dir, tmp_path, capsys):
    from emotrack.model.checkpoint import create_untrained_checkpoint

    ckpt = create_untrained_checkpoint(tmp_path / "u.safetensors", model_name="baseline")
    rc = main(["evaluate", str(ckpt), "--data", f"emomusic:{emomusic_mini}", "--split", "evaluation",
               "--cache-dir", str(train_cache_dir), "--out", str(tmp_path / "rep"), "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "poster CAE" in out and "constant, all 125 annotated songs" in out
    report = json.loads((tmp_path / "rep" / "evaluation.json").read_text(),
                        parse_constant=_refuse_non_standard)  # RFC 8259: no NaN/Infinity
    names = [c["name"] for c in report["columns"]]
    assert names[0] == "baseline" and "constant" in names
    all125 = next(c for c in report["columns"] if c["name"].startswith("constant, all"))
    assert round(all125["scores"]["arousal"]["rmse"], 3) == 0.287
    assert report["facts"]["songs evaluated"] == ["emomusic:3", "emomusic:12"]
    assert (tmp_path / "rep" / "evaluation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # within-song tracking (issue 19): per song r and RMSE beside the song's own mean, at lag 0 and the best lag
    assert "Within-song tracking" in out and "RMSE of own mean" in out and "best lag" in out
    within = report["within_song"][0]
    assert [s["song"] for s in within["songs"]] == ["emomusic:3", "emomusic:12"]
    assert within["max_lag_s"] == 5.0 and set(within["best_lag_s"]) == {"arousal", "valence"}
    own = within["songs"][0]["arousal"]["rmse_song_mean"]
    assert own is not None and 0 < own < 1 and len(within["songs"][0]["arousal"]["r_by_lag"]) == 11


def test_songs_a_head_was_calibrated_on_are_scored_leave_one_clip_out(emomusic_mini):
    """The shipped musicnn head's calibration line was fitted on the 10 clips (its facts say so):
    evaluate refits it without each evaluated clip, from the other clips' predictions."""
    import numpy as np

    from emotrack.train.readers.emomusic import read_emomusic
    from emotrack.train.run import SongPrediction, calibration_songs, loco_songs

    class Stub:
        def describe(self):
            return {"head_facts": {"calibration": {"clips": ["2", "3", "4", "5", "7"]}}}

    items = read_emomusic(emomusic_mini).with_audio()
    calibrated = calibration_songs(Stub(), items)
    assert sorted(it.song_id for it in calibrated) == ["2", "3", "4", "5", "7"]
    rng = np.random.default_rng(0)
    songs = [SongPrediction(it, rng.normal(0, 0.1, (90, 2))) for it in items]
    evaluated = [it for it in items if it.song_id in ("3", "8")]
    out, facts = loco_songs(songs, calibrated, evaluated=evaluated)
    assert [s.key for s in out] == ["emomusic:3", "emomusic:8"]
    assert "leave-one-clip-out" in facts["calibration"] and "other 4 clips" in facts["calibration"]
    assert not np.allclose(out[0].values, songs[1].values)  # clip 3: recalibrated
    np.testing.assert_array_equal(out[1].values, next(s for s in songs if s.key == "emomusic:8").values)


def test_leave_one_song_out_reports_within_song_tracking_of_the_held_out_songs(emomusic_mini, train_cache_dir,
                                                                               tmp_path, capsys):
    rc = main(["evaluate", "--loso", "--model", "baseline", "--epochs", "1", "--data", f"emomusic:{emomusic_mini}",
               "--cache-dir", str(train_cache_dir), "--out", str(tmp_path / "rep"), "--quiet"])
    assert rc == 0
    assert "Within-song tracking (baseline, held out, 10 songs)" in capsys.readouterr().out
    report = json.loads((tmp_path / "rep" / "loso.json").read_text(), parse_constant=_refuse_non_standard)
    songs = report["within_song"][0]["songs"]
    assert len(songs) == 10 and all(s["n_frames"] == 60 for s in songs)
