"""Dataset readers on fixtures in each published layout and on the real emoMusic mini set."""
from __future__ import annotations

import numpy as np
import pytest

from emotrack.model.errors import ParameterError
from emotrack.model.features import CAE_SPEC
from emotrack.train.readers import load_dataset, parse_data_spec, read_deam, read_emomusic, read_pmemo
from fixtures_train import DATA


def test_emomusic_mini_split_alignment_and_missing_audio(emomusic_mini):
    d = read_emomusic(emomusic_mini)
    assert len(d.items) == 744 and not d.problems
    assert sum(it.split == "development" for it in d.items) == 619
    assert sum(it.split == "evaluation" for it in d.items) == 125
    assert len(d.with_audio()) == 10 and len(d.missing_audio) == 734
    song = {it.song_id: it for it in d.items}["2"]
    # sample_15000ms is frame 30; 60 ratings (15.0-44.5 s), sample_45000ms is past the 45 s clip
    assert song.first_frame == CAE_SPEC.frame_index(15.0) == 30 and song.n_frames == 60
    assert song.audio_path.name == "2.mp3"  # tabs of songs_info stripped
    assert song.arousal[0] == pytest.approx(-0.109387732373192)  # arousal_cont_average.csv
    assert song.arousal_std[0] == pytest.approx(0.399379384703605)  # arousal_cont_std.csv
    assert {it.split for it in d.with_audio()} == {"development", "evaluation"}


def test_emomusic_fixture_reports_bad_row_and_missing_audio():
    d = read_emomusic(DATA / "train_emomusic")
    assert [it.song_id for it in d.items] == ["2", "3", "4"]
    assert any("song 99" in p and "not-a-number" in p for p in d.problems)
    assert d.missing_audio == ["2", "3", "4"]
    assert "3 without" in d.summary()


def test_deam_layout(deam_root):
    d = read_deam(deam_root)
    items = {it.song_id: it for it in d.items}
    assert set(items) == {"10", "11", "2001"}
    assert items["10"].first_frame == 30 and items["10"].n_frames == 10
    np.testing.assert_allclose(items["10"].arousal, [0.1 * k - 0.3 for k in range(10)], atol=1e-6)
    assert items["11"].n_frames == 6  # short row: trailing empty cells dropped
    assert items["10"].split == "development" and items["2001"].split == "evaluation"
    assert items["10"].arousal_std is None
    assert d.missing_audio == ["11"]
    assert any("song 12" in p for p in d.problems)
    assert items["10"].audio_path == deam_root / "MEMD_audio" / "10.mp3"


def test_pmemo_layout_maps_zero_one_to_minus_one_one(pmemo_root):
    d = read_pmemo(pmemo_root)
    items = {it.song_id: it for it in d.items}
    assert set(items) == {"1", "4"}
    one = items["1"]
    assert one.first_frame == CAE_SPEC.frame_index(15.5) == 31 and one.n_frames == 6
    np.testing.assert_allclose(one.arousal, [2 * (0.5 + 0.05 * k) - 1 for k in range(6)], atol=1e-6)
    np.testing.assert_allclose(one.valence, -0.5)
    np.testing.assert_allclose(items["4"].valence, 1.0)
    np.testing.assert_allclose(one.arousal_std, 0.2, atol=1e-6)
    assert d.missing_audio == ["4"]
    assert any("line" in p and "high" in p for p in d.problems)


@pytest.mark.parametrize("bad", ["emomusic", "foo:/x", "emomusic:", "/data/emo"])
def test_malformed_spec_strings_are_clear_errors(bad):
    with pytest.raises(ParameterError, match="NAME:PATH"):
        parse_data_spec(bad)


def test_missing_folder_and_files_are_clear_errors(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_dataset(f"deam:{tmp_path / 'nope'}")
    with pytest.raises(ParameterError, match="annotations"):
        load_dataset(f"emomusic:{tmp_path}")
    with pytest.raises(ParameterError, match="dynamic_annotations.csv"):
        load_dataset(f"pmemo:{tmp_path}")
