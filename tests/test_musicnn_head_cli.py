"""`emotrack train --model musicnn` and `emotrack evaluate --data 4q:PATH` on tiny synthetic sets
(generated tones; no 4Q audio), and the tracker's uncertainty (shape, streaming == offline)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from emotrack.model.musicnn_tracker import TOLERANCE, MusicnnTracker, load_head
from emotrack.realtime.cli import main

from fixtures_train import DATA, write_opus, write_tone

torch.set_num_threads(1)
GEMS = ("amazement", "solemnity", "tenderness", "nostalgia", "calmness", "power", "joyful_activation",
        "tension", "sadness")
QUADRANT = {"Q1": ("high", "positive"), "Q2": ("high", "negative"), "Q3": ("low", "negative"),
            "Q4": ("low", "positive")}


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, Path]:
    """16 Emotify-layout tracks, 24 4Q-layout clips (12 artists), 3 emoMusic clips: 4-17 s tones
    whose pitch (arousal) and loudness (valence) follow their labels."""
    root = tmp_path_factory.mktemp("head-sets")
    rng = np.random.default_rng(0)
    emo = root / "emotify"
    lines = ["track_id,file,genre,n_raters," + ",".join(GEMS) + ",liked_frac,disliked_frac"]
    for i in range(16):
        genre = ("classical", "rock", "electronic", "pop")[i % 4]
        energy = i / 15
        fr = np.clip(rng.random(9) * 0.3 + np.array([0, 0, 0.3, 0, 0.4, 0.4, 0.4, 0.2, 0.2]) *
                     np.array([1, 1, 1 - energy, 1, 1 - energy, energy, energy, energy, 1 - energy]), 0, 1)
        rel = f"audio/{genre}/{i + 1}.opus"
        write_opus(emo / rel, 4.0, freq=150.0 + 60 * i, amplitude=0.03 + 0.02 * i)
        lines.append(f"{i + 1},{rel},{genre},20," + ",".join(f"{x:.4f}" for x in fr) + ",0.5,0.1")
    (emo / "labels.csv").write_text("\n".join(lines) + "\n")
    fourq = root / "4q"
    lines = ["song_id,artist,title,quadrant,arousal,valence,p_quadrant,moods,genres,path"]
    for i in range(24):
        q = f"Q{i % 4 + 1}"
        a, v = QUADRANT[q]
        rel = f"MER_audio_taffc_dataset/{q}/MT{i:04d}.mp3"
        (fourq / rel).parent.mkdir(parents=True, exist_ok=True)
        path = write_tone(fourq / f"{rel}.wav", 4.0, freq=(600.0 if a == "high" else 200.0) + 7 * i,
                          amplitude=0.3 if v == "positive" else 0.06)
        path.rename(fourq / rel)  # WAV bytes under the .mp3 name the labels give (libsndfile reads it)
        lines.append(f"MT{i:04d},Artist {i // 2},T{i},{q},{a},{v},0.8,Mood,{('Pop/Rock', 'Jazz')[i % 2]},{rel}")
    (fourq / "labels.csv").write_text("\n".join(lines) + "\n")
    emomusic = root / "emomusic"
    shutil.copytree(DATA / "train_emomusic", emomusic)
    (emomusic / "clips_45seconds").mkdir()
    for song, freq, amplitude in (("2", 200.0, 0.07), ("3", 210.0, 0.06), ("4", 600.0, 0.3)):  # as rated
        write_tone(emomusic / "clips_45seconds" / f"{song}.mp3", 17.0, freq=freq, amplitude=amplitude)
    return {"emotify": emo, "4q": fourq, "emomusic": emomusic, "cache": root / "cache"}


@pytest.fixture(scope="module")
def trained(sets, tmp_path_factory):
    out = tmp_path_factory.mktemp("head-out")
    head = out / "head.safetensors"
    code = main(["train", "--model", "musicnn", "--data", f"emotify:{sets['emotify']}", "--data",
                 f"4q:{sets['4q']}", "--data", f"emomusic:{sets['emomusic']}", "--out", str(head),
                 "--cache-dir", str(sets["cache"]), "--outer-repeats", "1", "--report", str(out), "--quiet"])
    assert code == 0
    return head, out


def test_train_writes_a_head_with_its_songs_protocol_figures_and_uncertainty(trained, sets):
    head_path, out = trained
    head = load_head(head_path)
    facts = head.facts
    assert head.has_sd and head.members_coef.shape[0] == 5
    assert facts["candidate"]["inputs"] in ("logits", "penultimate", "pooled")
    songs = facts["training_songs"]
    assert all(k.startswith(("emotify:", "4q:")) for k in songs) and len(songs) >= 16
    assert set(facts["cv_4q"]) >= {"arousal", "valence_within_arousal", "valence_within_genre", "quadrant"}
    assert "grouped by artist" in facts["cv_protocol"]
    cov = facts["cv_coverage"]
    assert any("nominal 80" in k for k in cov) and "labels mapped as" in cov
    claims = next(v for k, v in cov.items() if k.startswith("mood words"))  # the words' rule, checked held out
    assert set(claims["all"]) >= {"arousal_named", "arousal_right", "valence_named", "valence_right"}
    words = facts["words"]
    assert words["side_probability"] == 0.9 and len(words["side_halfwidth"]) == 2
    assert all(h is None or h > 0 for h in words["side_halfwidth"])
    from emotrack.model.musicnn_tracker import MusicnnTracker

    got = MusicnnTracker(head_path=head_path).side_halfwidth
    want = [np.inf if h is None else h for h in words["side_halfwidth"]]
    np.testing.assert_allclose(got, want)
    assert len(facts["display_scale"]["arousal_quantiles"]) == 101
    plane = facts["display_scale_check"]["plane position of the 1st / 99th percentile (arousal, valence)"]
    assert np.all(np.abs(plane) <= 0.9 + 1e-3)
    report = json.loads((out / "head_cv.json").read_text())
    names = [r["name"] for r in report["quadrant_rows"]]
    assert names[0].startswith("procedure") and len(names) == 16


def test_evaluate_4q_marks_a_head_that_learned_from_the_clips(trained, sets, capsys):
    head_path, _ = trained
    capsys.readouterr()
    code = main(["evaluate", str(head_path), "--data", f"4q:{sets['4q']}", "--cache-dir", str(sets["cache"]),
                 "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "in-sample: fitted on 24 of these clips" in text
    assert "cross-validated (from its head file)" in text
    assert "loudness alone" in text and "issue-12 musicnn head" in text
    assert "valence AUC within genre" in text and "quadrant accuracy" in text


def test_evaluate_4q_cached_path_equals_the_tracker(trained, sets):
    """The cached musicnn outputs give exactly what the tracker computes on the file."""
    from emotrack.train.musicnn_features import MusicnnFeatureCache
    from emotrack.train.quadrant_eval import cached_head_predictions
    from emotrack.train.readers import load_dataset
    from emotrack.train.emotify import song_prediction
    from emotrack.model.audio_io import BlockReader

    head_path, _ = trained
    tracker = MusicnnTracker(load_head(head_path), head_path=head_path)
    songs = load_dataset(f"4q:{sets['4q']}").songs[:2]
    cached = cached_head_predictions(tracker.head, tracker.inputs, songs, MusicnnFeatureCache(sets["cache"]), [])
    for s in songs:
        reader = BlockReader(s.audio_path)
        frames = tracker.analyze(iter(reader), reader.info.sample_rate)
        np.testing.assert_allclose(cached[s.song_id][:2], song_prediction(frames), atol=TOLERANCE)


def test_train_musicnn_without_calibration_clips_is_one_error_line(sets, tmp_path, capsys):
    code = main(["train", "--model", "musicnn", "--data", f"4q:{sets['4q']}", "--out",
                 str(tmp_path / "h.safetensors"), "--cache-dir", str(sets["cache"]), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "emomusic:PATH" in err and err.count("\n") == 1


def test_tracker_gives_an_sd_per_axis_and_streaming_equals_offline(trained):
    head_path, _ = trained
    tracker = MusicnnTracker(load_head(head_path), head_path=head_path)
    sr = 22050
    t = np.arange(int(6.3 * sr)) / sr
    x = (0.2 * np.sin(2 * np.pi * 330 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t))).astype(np.float32)
    offline = tracker.analyze([x], sr)
    assert offline.sd is not None and offline.sd.shape == (len(offline), 2)
    assert np.isfinite(offline.sd).all() and (offline.sd > 0).all()
    rng = np.random.default_rng(5)
    cuts = np.cumsum(rng.integers(1, sr, 40))
    live = tracker.analyze(np.split(x, cuts[cuts < len(x)]), sr)
    np.testing.assert_allclose(live.values, offline.values, atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(live.sd, offline.sd, atol=TOLERANCE, rtol=0)


def test_train_records_its_alpha_rule_and_set_weights_and_uses_them(trained, sets, tmp_path):
    default = load_head(trained[0])
    assert default.facts["alpha_rule"] == "one_se" and default.facts["set_weights"] == "song"
    assert "--alpha-rule one_se --set-weights song" in default.facts["command"]
    head = tmp_path / "head-min-equal.safetensors"
    code = main(["train", "--model", "musicnn", "--data", f"emotify:{sets['emotify']}", "--data",
                 f"4q:{sets['4q']}", "--data", f"emomusic:{sets['emomusic']}", "--out", str(head),
                 "--cache-dir", str(sets["cache"]), "--outer-repeats", "1", "--quiet",
                 "--alpha-rule", "min", "--set-weights", "equal_sets"])
    assert code == 0
    other = load_head(head)
    assert other.facts["alpha_rule"] == "min" and other.facts["set_weights"] == "equal_sets"
    assert "--alpha-rule min --set-weights equal_sets" in other.facts["command"]
    same = (other.facts["candidate"] == default.facts["candidate"] and other.facts["alpha"] == default.facts["alpha"]
            and np.allclose(other.members_coef, default.members_coef))
    assert not same  # the options reached the fit
