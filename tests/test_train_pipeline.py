"""Splits never leak, the feature cache works, augmentation and metrics are right,
a short training run learns and writes a loadable checkpoint, evaluate's references."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from emotrack.model.errors import ParameterError
from emotrack.model.features import CAE_SPEC
from emotrack.train.augment import AugmentConfig, augment_db
from emotrack.train.cache import FeatureCache
from emotrack.train.evaluation import constant_over_annotations, development_mean
from emotrack.train.metrics import ccc, pearson
from emotrack.train.readers import read_emomusic
from emotrack.train.songs import load_features, split_validation, training_pool
from emotrack.train.trainer import TrainConfig, train_model
from emotrack.train.windows import epoch_windows


def test_constant_predictor_on_full_emomusic_evaluation_annotations(emomusic_mini):
    items = read_emomusic(emomusic_mini).items
    evaluation = [it for it in items if it.split == "evaluation"]
    col = constant_over_annotations(evaluation, development_mean(items))
    assert col.value("arousal", "rmse") == pytest.approx(0.287, abs=5e-4)
    assert col.value("valence", "rmse") == pytest.approx(0.232, abs=5e-4)
    assert col.value("arousal", "n_songs") == 125


def test_validation_split_is_by_song_deterministic_and_disjoint():
    keys = [f"emomusic:{i}" for i in range(50)]
    tr, va = split_validation(keys, fraction=0.2, seed=3)
    assert not set(tr) & set(va) and set(tr) | set(va) == set(keys) and len(va) == 10
    assert split_validation(keys, fraction=0.2, seed=3) == (tr, va)
    assert split_validation(keys, fraction=0.2, seed=4)[1] != va


def test_evaluation_songs_never_reach_training(emomusic_mini):
    items = read_emomusic(emomusic_mini).items
    assert {it.split for it in training_pool(items)} == {"development"}


@pytest.fixture(scope="module")
def mini_songs(emomusic_mini, tmp_path_factory):
    cache = FeatureCache(tmp_path_factory.mktemp("cache"))
    dev = [it for it in read_emomusic(emomusic_mini).with_audio() if it.split == "development"]
    return load_features(dev[:3], cache, progress=False), cache


def test_feature_cache_keyed_by_content(mini_songs, emomusic_mini, tmp_path):
    songs, cache = mini_songs
    hits = cache.hits
    copy = tmp_path / "renamed.mp3"
    shutil.copy(songs[0].item.audio_path, copy)
    frames = cache.frames(copy)
    assert cache.hits == hits + 1  # same bytes, other name: served from the cache
    np.testing.assert_array_equal(frames, songs[0].frames)
    assert frames.shape == (90, CAE_SPEC.n_mels)
    entries = list((cache.root / CAE_SPEC.hash).glob("*.npz"))
    assert len(entries) == 3 and not list(cache.root.rglob("*.tmp"))


def test_training_windows_cover_rated_frames(mini_songs):
    songs, _ = mini_songs
    x, y = epoch_windows(songs, window=60, max_shift=0, rng=None)
    assert x.shape == (3, 60, 96) and y.shape == (3, 60, 2)
    np.testing.assert_array_equal(y[0], songs[0].item.targets())  # frames 30..89
    np.testing.assert_array_equal(x[0], songs[0].frames[30:90])


def test_training_refuses_overlapping_songs(mini_songs):
    songs, _ = mini_songs
    with pytest.raises(ParameterError, match="both training and validation"):
        train_model(songs, songs[:1], TrainConfig(model="baseline", max_epochs=1, progress=False),
                    spec=CAE_SPEC)


def test_short_run_lowers_loss_and_writes_loadable_checkpoint(mini_songs, tmp_path):
    from emotrack.model.checkpoint import load_checkpoint
    from emotrack.model.mel_tracker import MelTracker

    songs, _ = mini_songs
    out = tmp_path / "m.safetensors"
    cfg = TrainConfig(model="baseline", max_epochs=25, patience=100, lr=3e-3, seed=1,
                      augment=AugmentConfig.off(), progress=False)
    result = train_model(songs[:2], songs[2:], cfg, spec=CAE_SPEC, out=out, log_path=tmp_path / "log.csv")
    losses = [h["train_loss"] for h in result.history]
    assert np.mean(losses[-3:]) < 0.7 * losses[0]
    ck = load_checkpoint(out)
    assert ck.model_name == "baseline" and ck.facts["best_epoch"] == result.best_epoch
    assert ck.facts["validation_songs"] == [songs[2].key]
    np.testing.assert_allclose(ck.norm_mean, result.norm_mean)
    assert (tmp_path / "log.csv").read_text().count("\n") == len(result.history) + 1
    pred = MelTracker.from_checkpoint(out, device="cpu").predict_frames(songs[0].frames)
    assert pred.shape == (90, 2) and np.all(np.abs(pred) <= 1)
    again = train_model(songs[:2], songs[2:], cfg, spec=CAE_SPEC)
    assert [h["train_loss"] for h in again.history] == losses  # same seed, same run


def test_augmentation_gain_is_a_shift_and_noise_fills_quiet_bands():
    x = torch.full((2, 60, 96), -80.0)
    x[:, :, :10] = -10.0
    gen = torch.Generator().manual_seed(0)
    gain_only = augment_db(x, AugmentConfig(noise_prob=0.0, gain_prob=1.0, gain_db=(3.0, 3.0)), gen)
    torch.testing.assert_close(gain_only, x + 3.0)
    noisy = augment_db(x, AugmentConfig(noise_prob=1.0, gain_prob=0.0, snr_db=(10.0, 10.0)), gen)
    assert (noisy[:, :, 20:] > -60).all() and (noisy >= x - 1e-4).all()


def test_metrics_known_values():
    a = np.array([0.0, 1.0, 2.0, 3.0])
    assert pearson(a, 2 * a + 1) == pytest.approx(1.0)
    assert ccc(a, a) == pytest.approx(1.0)
    assert ccc(a, a + 1) == pytest.approx(2 * a.var() / (2 * a.var() + 1))
    assert np.isnan(pearson(a, np.ones(4)))
