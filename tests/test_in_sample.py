"""`evaluate` marks figures on songs the model learned from as in-sample, held-out figures beside them (issue 20.4)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emotrack.train import run as work
from emotrack.train.evaluation import Column
from emotrack.train.in_sample import held_out_figures, learned_songs


def _fast_predictions(monkeypatch):
    """predict_songs without running the network: a fixed curve per song (the marking is under test)."""
    def fake(tracker, items, *, mode, progress=True, problems=None):
        out = []
        for it in items:
            n = it.first_frame + it.n_frames
            values = np.tile(np.array([[0.05, -0.02]], np.float32), (n, 1))
            out.append(work.SongPrediction(it.cropped(n), values))
        return out

    monkeypatch.setattr(work, "predict_songs", fake)


def test_learned_songs_and_held_out_figures_come_from_the_facts():
    facts = {"train_songs": ["emomusic:2"], "validation_songs": ["emomusic:10"],
             "calibration": {"clips": ["4", "5"]},
             "loco": {"protocol": "leave one clip out", "arousal": {"rmse": 0.2, "r": 0.6},
                      "valence": {"rmse": 0.25, "r": float("nan")}},
             "report": {"rnn": {"arousal": {"rmse": 0.18, "r_frames": 0.7},
                                "valence": {"rmse": 0.2, "r_frames": 0.5}}},
             "evaluated_on": "2 held-out clips",
             "not_a_figure": {"arousal": {"mean": 0.1}, "valence": {"mean": 0.0}}}
    assert learned_songs(facts) == {"emomusic:2", "emomusic:10", "emomusic:4", "emomusic:5"}
    assert learned_songs({"calibration": {"songs": ["deam:7"], "clips": ["1"]}}) == {"deam:7"}
    figs = {f.fact: f for f in held_out_figures(facts, "rnn")}
    assert set(figs) == {"loco", "report"}
    assert figs["loco"].scores["arousal"] == {"rmse": 0.2, "r_frames": 0.6}
    assert figs["loco"].scores["valence"] == {"rmse": 0.25}  # NaN left out
    assert figs["loco"].protocol == "leave one clip out" and figs["report"].protocol == "2 held-out clips"
    assert learned_songs(None) == set() and held_out_figures({}, "x") == []


def test_subset_not_learned_from_is_scored_beside_the_in_sample_column():
    from emotrack.train.items import SongItem

    def song(i: str, offset: float) -> work.SongPrediction:
        a = np.linspace(-0.3, 0.3, 10).astype(np.float32)
        item = SongItem(i, None, a, a.copy(), None, None, "development", 0, "emomusic")
        return work.SongPrediction(item, np.stack([a + offset, a + offset], axis=1))

    songs = [song("1", 0.0), song("2", 0.5)]  # learned from 1 (perfect), not from 2 (off by 0.5)
    preds = [s.values.astype(np.float64) for s in songs]
    targets = [s.item.targets().astype(np.float64) for s in songs]
    columns = [Column("m", {}), Column("constant", {})]
    warning = work._mark_in_sample(columns, "m", {"facts": {"train_songs": ["emomusic:1"]}},
                                   songs, preds, targets)
    assert columns[0].name == "m (in-sample: learned from 1 of these 2 songs)"
    held = columns[1]
    assert held.name == "m held out: the 1 songs it did not learn from"
    assert held.value("arousal", "rmse") == pytest.approx(0.5, abs=1e-6)
    assert warning.startswith("in-sample: ") and "optimistic" in warning
    nothing = [Column("m", {})]
    assert work._mark_in_sample(nothing, "m", {"facts": {}}, songs, preds, targets) is None
    assert nothing[0].name == "m"


def _ramp_predictions(monkeypatch):
    """predict_songs without a network: each song's targets plus a seeded error (varied, so the
    leave-one-clip-out calibration refit has something to fit)."""
    rng = np.random.default_rng(0)

    def fake(tracker, items, *, mode, progress=True, problems=None):
        out = []
        for it in items:
            n = it.first_frame + it.n_frames
            values = rng.normal(0.0, 0.1, (n, 2)).astype(np.float32)
            values[it.first_frame:] += np.nan_to_num(it.targets())
            out.append(work.SongPrediction(it.cropped(n), values))
        return out

    monkeypatch.setattr(work, "predict_songs", fake)


def test_evaluate_all_clips_with_the_rnn_says_in_sample(emomusic_mini, tmp_path, monkeypatch, capsys):
    """The shipped rnn learned from 8 of the 10 clips (its facts: train and validation songs)."""
    from emotrack.model.checkpoint import load_checkpoint
    from emotrack.model.trackers import bundled_checkpoint
    from emotrack.realtime.cli import main

    facts = load_checkpoint(bundled_checkpoint("rnn")).facts
    clips = {f"emomusic:{p.stem}" for p in (emomusic_mini / "clips_45seconds").glob("*.mp3")}
    seen = learned_songs(facts) & clips
    figures = held_out_figures(facts, "rnn")
    assert seen  # what the shipped checkpoint records (its held-out figures are song-level: none here)
    _ramp_predictions(monkeypatch)
    assert main(["evaluate", "--model", "rnn", "--data", f"emomusic:{emomusic_mini}", "--split", "all",
                 "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "evaluation.json").read_text())
    problems = report["facts"]["problems"]
    assert f"rnn (in-sample: learned from {len(seen)} of these {len(clips)} songs)" in out
    assert problems[0].startswith("in-sample:") and "problems: none" not in (tmp_path / "evaluation.md").read_text()
    names = [c["name"] for c in report["columns"]]
    assert names[0].startswith("rnn (in-sample") and names[1] == (
        f"rnn held out: the {len(clips - seen)} songs it did not learn from")
    for fig in figures:  # each held-out figure of the facts, beside the in-sample column
        col = next(c for c in report["columns"] if c["name"] == f"rnn held out ({fig.fact}, from its facts)")
        assert names.index(col["name"]) < names.index("constant")
        for dim in ("arousal", "valence"):
            assert col["scores"][dim]["rmse"] == pytest.approx(fig.scores[dim]["rmse"])


def test_calibration_refitted_without_each_clip_is_not_in_sample(emomusic_mini, tmp_path, monkeypatch, capsys):
    """The shipped musicnn head was calibrated on the 10 clips; evaluate scores them with the line
    refitted leave-one-clip-out, so they are held out, not in-sample."""
    from emotrack.realtime.cli import main

    _ramp_predictions(monkeypatch)
    assert main(["evaluate", "--data", f"emomusic:{emomusic_mini}", "--split", "all", "--quiet",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "evaluation.json").read_text())
    assert report["columns"][0]["name"] == "musicnn" and "in-sample" not in out
    assert "leave-one-clip-out" in report["facts"]["calibration"] and "refitted" not in report["facts"]
