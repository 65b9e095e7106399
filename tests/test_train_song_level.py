"""Training the poster's networks on song-level labels (Emotify, 4Q): reader, targets, windows,
folds, AUCs, and `emotrack train` combining --data sets with --folds (issue 22)."""
from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from fixtures_train import emotify_root, train_cache_dir, write_opus  # noqa: F401
from emotrack.model.errors import ParameterError
from emotrack.train.folds import assign_folds, split_groups
from emotrack.train.quadrant_cv import auc, score_quadrants, valence_auc_within
from emotrack.train.readers import load_dataset
from emotrack.train.readers.fourq import read_fourq
from emotrack.train.song_targets import (EMOMUSIC_SONGS, MAX_SONG_FRAMES, emotify_targets, quadrant_target,
                                         training_items)
from emotrack.train.songs import SongFeatures
from emotrack.train.windows import epoch_windows

HEADER = "song_id,artist,title,quadrant,arousal,valence,p_quadrant,moods,genres,path"
QUAD = {"Q1": ("high", "positive"), "Q2": ("high", "negative"), "Q3": ("low", "negative"),
        "Q4": ("low", "positive")}


def write_fourq(root: Path, clips: list[tuple[str, str, str]], *, seconds: float = 3.0,
                audio: bool = True) -> Path:
    """A 4q-dev layout: labels.csv with (song_id, artist, quadrant) rows and Opus tones as audio."""
    root.mkdir(parents=True, exist_ok=True)
    lines = [HEADER]
    for i, (song, artist, q) in enumerate(clips):
        a, v = QUAD[q]
        rel = f"MER_audio_taffc_dataset/{q}/{song}.mp3"
        lines.append(f'{song},{artist},Title {i},{q},{a},{v},0.75,"Happy; Fun","Pop/Rock; Jazz",{rel}')
        if audio:
            # high arousal = louder and higher: a network can tell the halves apart
            loud = q in ("Q1", "Q2")
            write_opus(root / rel, seconds, freq=880.0 if loud else 220.0, amplitude=0.3 if loud else 0.03)
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root


CLIPS = [(f"MT{i:04d}", f"Artist {i // 2}", q) for i, q in enumerate(["Q1", "Q2", "Q3", "Q4"] * 4)]


# ---------------------------------------------------------------- reader and targets
def test_fourq_reader_reads_quadrants_artists_and_reports_missing_audio(tmp_path):
    root = write_fourq(tmp_path / "4q", CLIPS[:4])
    with open(root / "labels.csv", "a") as fh:
        fh.write("MT9999,Nobody,Gone,Q5,high,positive,0.5,x,Pop,MER_audio_taffc_dataset/Q1/MT9999.mp3\n")
        fh.write("MT8888,Somebody,Lost,Q2,high,negative,0.5,x,Rock,MER_audio_taffc_dataset/Q2/MT8888.mp3\n")
    d = load_dataset(f"4q:{root}")
    assert [s.song_id for s in d.songs] == ["MT0000", "MT0001", "MT0002", "MT0003", "MT8888"]
    assert d.missing_audio == ["MT8888"]
    assert any("Q5" in p for p in d.problems)
    s = d.songs[1]
    assert (s.artist, s.genre, s.dataset) == ("Artist 0", "pop/rock", "4q")
    assert {k: s.labels[k] for k in ("quadrant", "arousal_high", "valence_positive", "p_quadrant")} == {
        "quadrant": 2.0, "arousal_high": 1.0, "valence_positive": 0.0, "p_quadrant": 0.75}
    assert d.songs[0].group == d.songs[1].group != d.songs[2].group  # same artist, same group


def test_fourq_folder_without_labels_is_a_clear_error(tmp_path):
    with pytest.raises(ParameterError, match="labels.csv"):
        read_fourq(tmp_path)


def test_quadrant_targets_are_the_half_centres_of_the_emomusic_scale():
    a, v = EMOMUSIC_SONGS["arousal"], EMOMUSIC_SONGS["valence"]
    assert quadrant_target(True, True) == pytest.approx((a.mean + a.mad, v.mean + v.mad))
    assert quadrant_target(True, False) == pytest.approx((a.mean + a.mad, v.mean - v.mad))
    assert quadrant_target(False, False) == pytest.approx((a.mean - a.mad, v.mean - v.mad))
    assert quadrant_target(False, True) == pytest.approx((a.mean - a.mad, v.mean + v.mad))
    assert quadrant_target(True, True) == pytest.approx((0.277, 0.244))


def test_emomusic_scale_constants_match_the_annotations(emomusic_mini):
    for axis, stats in EMOMUSIC_SONGS.items():
        with open(emomusic_mini / "annotations" / f"{axis}_cont_average.csv") as fh:
            rows = list(csv.reader(fh))[1:]
        means = np.array([np.mean([float(x) for x in r[1:61]]) for r in rows])
        assert len(means) == 744
        assert (stats.mean, stats.sd, stats.mad) == pytest.approx(
            (means.mean(), means.std(), np.abs(means - means.mean()).mean()), abs=5e-4)


def test_emotify_targets_have_the_emomusic_spread_and_keep_the_order(emotify_root):
    d = load_dataset(f"emotify:{emotify_root}")
    t = emotify_targets(d.songs)
    a = np.array([t[s.song_id][0] for s in d.songs])
    v = np.array([t[s.song_id][1] for s in d.songs])
    assert a.mean() == pytest.approx(EMOMUSIC_SONGS["arousal"].mean, abs=1e-6)
    assert a.std() == pytest.approx(EMOMUSIC_SONGS["arousal"].sd, abs=1e-6)
    assert v.std() == pytest.approx(EMOMUSIC_SONGS["valence"].sd, abs=1e-6)
    labels = np.array([s.labels["arousal_proxy"] for s in d.songs])
    assert np.array_equal(np.argsort(a), np.argsort(labels))


def test_song_level_items_put_the_label_on_every_window_frame(tmp_path):
    d = load_dataset(f"4q:{write_fourq(tmp_path / '4q', CLIPS[:4])}")
    items = training_items(d)
    assert len(items) == 4 and all(it.song_level and it.first_frame == 0 for it in items)
    assert items[0].n_frames == MAX_SONG_FRAMES
    # a 95-frame track (47.5 s): its label on all frames, windows anywhere in it
    frames = np.random.default_rng(0).normal(size=(95, 96)).astype(np.float32)
    song = SongFeatures(items[1].cropped(95), frames)
    assert song.item.n_frames == 95
    rng = np.random.default_rng(1)
    starts = set()
    for _ in range(40):
        x, y = epoch_windows([song], window=60, max_shift=10, rng=rng)
        assert x.shape == (2, 60, 96)  # round(95 / 60) = 2 random windows per epoch
        assert np.allclose(y, quadrant_target(True, False))
        for w in x:
            starts.add(int(np.flatnonzero((frames == w[0]).all(axis=1))[0]))
    assert min(starts) == 0 and max(starts) == 35  # every shift, from the first to the last window
    x, y = epoch_windows([song], window=60, max_shift=0, rng=None)  # validation: fixed
    assert x.shape[0] == 1 and np.array_equal(x[0], frames[:60])


# ---------------------------------------------------------------- folds and figures
def test_folds_keep_an_artist_together_and_share_every_dataset():
    groups = {f"4q:{i}": f"4q:artist:{i // 3}" for i in range(60)}
    groups.update({f"emotify:{i}": f"emotify:{i}" for i in range(40)})
    datasets = {k: k.split(":")[0] for k in groups}
    folds = assign_folds(groups, datasets, k=5, seed=0)
    for g in set(groups.values()):
        assert len({folds[k] for k, gk in groups.items() if gk == g}) == 1
    for name, n in (("emotify", 40), ("4q", 60)):
        sizes = [sum(1 for k, f in folds.items() if f == i and k.startswith(name)) for i in range(5)]
        assert sum(sizes) == n and max(sizes) - min(sizes) <= 3
    assert folds == assign_folds(groups, datasets, k=5, seed=0)
    assert folds != assign_folds(groups, datasets, k=5, seed=1)
    tr, va = split_groups(groups, fraction=0.15, seed=0)
    assert not {groups[k] for k in tr} & {groups[k] for k in va}
    assert len(tr) + len(va) == 100 and 0 < len(va) < 30
    with pytest.raises(ParameterError, match="2 folds"):
        assign_folds(groups, datasets, k=1, seed=0)


def test_auc_counts_ordered_pairs_and_valence_is_scored_within_arousal_halves():
    rng = np.random.default_rng(0)
    score = rng.normal(size=30)
    pos = rng.random(30) < 0.4
    pairs = [(a > b) + 0.5 * (a == b) for a, b in itertools.product(score[pos], score[~pos])]
    assert auc(score, pos) == pytest.approx(np.mean(pairs))
    assert auc(-score, pos) == pytest.approx(1 - np.mean(pairs))
    # valence that only repeats arousal separates nothing inside a half
    high = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    positive = np.array([1, 0, 1, 0, 1, 0, 1, 0], bool)
    assert auc(high.astype(float), positive) == 0.5
    assert valence_auc_within(high.astype(float), high, positive) == 0.5
    assert valence_auc_within(positive.astype(float), high, positive) == 1.0


def test_quadrant_row_has_bootstrap_intervals_around_the_figures(tmp_path):
    d = read_fourq(write_fourq(tmp_path / "4q", CLIPS, audio=False))
    rng = np.random.default_rng(0)
    preds = {s.song_id: np.array([s.labels["arousal_high"] + rng.normal(0, 0.8), rng.normal()])
             for s in d.songs}
    row = score_quadrants("m", preds, d.songs, n_boot=300)
    assert row.n_songs == 16
    assert row.arousal_auc.low <= row.arousal_auc.value <= row.arousal_auc.high
    assert row.arousal_auc.value > 0.5
    assert row.valence_auc_within.low < row.valence_auc_within.high


# ---------------------------------------------------------------- emotrack train, combined sets
@pytest.fixture
def fourq_root(tmp_path: Path) -> Path:
    return write_fourq(tmp_path / "4q", CLIPS)


@pytest.mark.parametrize("model", ["baseline", "cae"])
def test_train_combines_emotify_and_4q_cross_validates_and_ships_facts(model, emotify_root, fourq_root,  # noqa: F811
                                                                      train_cache_dir, tmp_path, capsys):
    from emotrack.model.checkpoint import load_checkpoint
    from emotrack.model.trackers import load_tracker
    from emotrack.realtime.cli import main

    out = tmp_path / f"{model}.emotrack.safetensors"
    argv = ["train", "--data", f"emotify:{emotify_root}", "--data", f"4q:{fourq_root}", "--model", model,
            "--epochs", "3", "--patience", "2", "--folds", "2", "--cache-dir", str(train_cache_dir),
            "--out", str(out), "--quiet"]
    assert main(argv) == 0
    facts = load_checkpoint(out).facts
    learned = set(facts["train_songs"]) | set(facts["validation_songs"])
    assert learned == {f"emotify:{t}" for t in (1, 101, 201, 301)} | {f"4q:{s}" for s, _, _ in CLIPS}
    assert facts["data"] == [f"emotify:{emotify_root}", f"4q:{fourq_root}"]
    assert facts["folds"]["k"] == 2 and len(facts["folds"]["per_fold"]) == 2
    assert sum(f["held_out"] for f in facts["folds"]["per_fold"]) == 20
    assert facts["cv_emotify"]["arousal"]["n"] == 4 and "protocol" in facts["cv_emotify"]
    assert facts["cv_4q"]["arousal_auc"]["n"] == 16
    assert 0.0 <= facts["cv_4q"]["arousal_auc"]["value"] <= 1.0
    preds = json.loads((tmp_path / f"{model}.emotrack.safetensors.cv" / "predictions.json").read_text())
    assert len(preds) == 20
    # the artist's clips never straddle validation and training
    artist = {f"4q:{s}": a for s, a, _ in CLIPS}
    val_artists = {artist[k] for k in facts["validation_songs"] if k in artist}
    assert not val_artists & {artist[k] for k in facts["train_songs"] if k in artist}
    tracker = load_tracker(model, out, device="cpu")
    assert tracker.scale is not None and "tracks it learned from" in tracker.scale.reference
    # the same command gives the same weights (CPU, seeded)
    again = tmp_path / "again.emotrack.safetensors"
    assert main([*argv[:-3], "--out", str(again), "--quiet"]) == 0
    a, b = load_checkpoint(out).state_dict, load_checkpoint(again).state_dict
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)


def test_evaluate_scores_a_research_network_on_4q_clips(tmp_path, capsys):
    """evaluate --data 4q works for any tracker (issue 18), the poster's networks included: the
    baseline is scored on every clip beside loudness alone."""
    import json

    from emotrack.realtime.cli import main

    root = write_fourq(tmp_path / "4q", CLIPS[:8], seconds=6.0)
    assert main(["evaluate", "--model", "baseline", "--data", f"4q:{root}", "--quiet",
                 "--out", str(tmp_path / "ev")]) == 0
    out = capsys.readouterr().out
    assert "| baseline | 8 |" in out and "| loudness alone | 8 |" in out