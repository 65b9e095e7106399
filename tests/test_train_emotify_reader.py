"""The Emotify reader: the emotify-dev layout, the dataset as distributed, and refusals."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from emotrack.model.errors import ParameterError
from emotrack.train.items import SongLabelDataset
from emotrack.train.readers import load_dataset, parse_data_spec, read_emotify
from emotrack.train.readers.emotify import FA_WEIGHTS, GEMS, LABELS, derived_labels
from fixtures_train import DATA, write_tone


def test_spec_string_parses_like_the_other_readers(emotify_root):
    assert parse_data_spec(f"emotify:{emotify_root}") == ("emotify", emotify_root)
    d = load_dataset(f"emotify:{emotify_root}")
    assert isinstance(d, SongLabelDataset) and d.items == []


def test_dev_layout_songs_audio_and_problems(emotify_root):
    d = read_emotify(emotify_root)
    songs = {s.song_id: s for s in d.songs}
    assert [s.song_id for s in d.songs] == ["1", "5", "101", "201", "301"]  # track-id order
    assert songs["101"].genre == "rock" and songs["101"].n_raters == 50
    assert songs["101"].audio_path == emotify_root / "audio" / "rock" / "1.opus"
    assert songs["1"].labels["arousal_proxy"] == pytest.approx(-0.27604)  # the file's value
    assert songs["1"].labels["liked_frac"] == pytest.approx(0.39583)
    assert tuple(songs["1"].labels) == LABELS and d.label_names == LABELS
    assert d.missing_audio == ["5"]
    assert len(d.songs_with_audio()) == 4
    # 302: non-numeric fraction; 303: a fraction above 1; the second 301 row: duplicate
    assert len(d.problems) == 3
    assert any("track 302" in p and "lots" in p for p in d.problems)
    assert any("track 303" in p and "1.5" in p for p in d.problems)
    assert any("301 appears twice" in p for p in d.problems)
    assert "5 songs with song-level labels" in d.summary() and "1 without" in d.summary()


def test_empty_derived_cells_are_computed_from_the_fractions(emotify_root):
    five = {s.song_id: s for s in read_emotify(emotify_root).songs}["5"]
    assert five.labels["arousal_proxy"] == pytest.approx(-0.1)  # given in the file: kept
    fractions = {g: five.labels[g] for g in GEMS}
    assert five.labels["arousal_fa"] == pytest.approx(derived_labels(fractions)["arousal_fa"])
    assert np.isfinite(five.labels["valence_fa"])


def test_derived_labels_hand_computed():
    zero = dict.fromkeys(GEMS, 0.0)
    got = derived_labels({**zero, "power": 1.0, "tension": 1.0})
    assert got["arousal_proxy"] == pytest.approx(0.5)  # (1 + 1) / 4 - 0
    assert got["valence_proxy"] == pytest.approx(-0.5)  # 0 - (0 + 1) / 2
    got = derived_labels({**zero, "calmness": 1.0, "sadness": 1.0})
    assert got["arousal_proxy"] == pytest.approx(-0.4)  # 0 - 2 / 5
    assert got["valence_proxy"] == pytest.approx(0.25 - 0.5)
    assert derived_labels(zero)["arousal_fa"] == pytest.approx(FA_WEIGHTS["arousal_fa"][1])


def test_factor_weights_reproduce_the_files_factor_scores(emotify_root):
    # tracks 1, 101, 201 are real emotify-dev label rows
    for s in read_emotify(emotify_root).songs[:1] + read_emotify(emotify_root).songs[2:4]:
        got = derived_labels({g: s.labels[g] for g in GEMS})
        for name in ("arousal_proxy", "valence_proxy", "arousal_fa", "valence_fa"):
            assert got[name] == pytest.approx(s.labels[name], abs=2e-4), (s.song_id, name)


@pytest.mark.parametrize("nested", [True, False])
def test_original_layout_aggregates_sessions(tmp_path, nested):
    root = tmp_path / "emotify"
    shutil.copytree(DATA / "train_emotify_original", root)
    audio = root / "emotifymusic" if nested else root
    (audio / "rock").mkdir(parents=True)
    write_tone(audio / "rock" / "1.mp3", 1.0)  # track 101 = rock/1
    d = read_emotify(root)
    songs = {s.song_id: s for s in d.songs}
    assert list(songs) == ["1", "101"]
    one, rock = songs["1"], songs["101"]
    assert one.n_raters == 3 and one.genre == "classical"
    assert one.labels["calmness"] == pytest.approx(1.0)
    assert one.labels["amazement"] == pytest.approx(1 / 3)
    assert one.labels["liked_frac"] == pytest.approx(2 / 3)
    assert one.labels["disliked_frac"] == pytest.approx(1 / 3)
    # arousal_proxy = mean(power, joy, tension, amazement) - mean(calm, tender, sad, nost, solem)
    assert one.labels["arousal_proxy"] == pytest.approx((1 / 3) / 4 - (1 + 1 / 3 + 1 / 3 + 0 + 1 / 3) / 5)
    assert rock.labels["power"] == 1.0 and rock.labels["joyful_activation"] == 0.5
    assert rock.audio_path == audio / "rock" / "1.mp3"
    assert one.audio_path == audio / "classical" / "1.mp3"
    assert d.missing_audio == ["1"]
    assert any("yes" in p for p in d.problems) and any("999" in p for p in d.problems)


def test_folder_without_labels_is_a_clear_error(tmp_path):
    with pytest.raises(ParameterError, match="labels.csv .*data.csv"):
        read_emotify(tmp_path)


def test_training_refuses_song_level_labels(emotify_root):
    from emotrack.train.run import load_all

    with pytest.raises(ParameterError, match="song-level labels only"):
        load_all([f"emotify:{emotify_root}"], quiet=True)
    assert isinstance(load_all([f"emotify:{emotify_root}"], quiet=True, song_level=True)[0],
                      SongLabelDataset)
