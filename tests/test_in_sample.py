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


def test_evaluate_all_clips_with_the_shipped_head_says_in_sample(emomusic_mini, tmp_path, monkeypatch, capsys):
    from emotrack.model.musicnn_tracker import load_head
    from emotrack.realtime.cli import main

    facts = load_head().facts
    clips = {f"emomusic:{p.stem}" for p in (emomusic_mini / "clips_45seconds").glob("*.mp3")}
    seen = learned_songs(facts) & clips
    figures = held_out_figures(facts, "musicnn")
    _fast_predictions(monkeypatch)
    rc = main(["evaluate", "--data", f"emomusic:{emomusic_mini}", "--split", "all", "--quiet",
               "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    md = (tmp_path / "evaluation.md").read_text()
    report = json.loads((tmp_path / "evaluation.json").read_text())
    problems = report["facts"]["problems"]
    if not seen:  # a head that learned nothing from these clips: its figures are tests
        assert "in-sample" not in out and not any("in-sample" in p for p in problems)
        return
    assert f"musicnn (in-sample: learned from {len(seen)} of these {len(clips)} songs)" in out
    assert problems and problems[0].startswith("in-sample:") and "problems: none" not in md
    names = [c["name"] for c in report["columns"]]
    assert names[0].startswith("musicnn (in-sample")
    for fig in figures:  # each held-out figure of the facts, beside the in-sample column
        col = next(c for c in report["columns"] if c["name"] == f"musicnn held out ({fig.fact}, from its facts)")
        assert names.index(col["name"]) < names.index("constant")
        for dim in ("arousal", "valence"):
            assert col["scores"][dim]["rmse"] == pytest.approx(fig.scores[dim]["rmse"])
            assert f"{fig.scores[dim]['rmse']:.3f}" in out
    assert figures or any("did not learn from" in n for n in names) or "none recorded" in problems[0]
