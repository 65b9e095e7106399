"""Issue 23, class 7: hostile label files, feature-cache entries and training settings.

Label files with ids of ``inf``/``nan``, ratings of 1e30, a ``sample_9000000000000ms``
column; cache entries whose header lies about their shape, that hold NaN, that belong to
another song or are not regular files; hyper-parameters whose memory is unbounded; a
run whose loss is never finite.  Each must end in one line or a listed, skipped row,
never a traceback, a huge allocation, or a "saved" without a file.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from emotrack.model.errors import ParameterError
from emotrack.model.features import CAE_SPEC
from emotrack.realtime.cli import main
from emotrack.train.cache import FeatureCache
from emotrack.train.items import SongItem
from emotrack.train.readers.deam import read_deam
from emotrack.train.songs import SongFeatures
from emotrack.train.trainer import MAX_TRAINING_BYTES, TrainConfig, training_bytes, train_model
from fixtures_train import write_tone

DEAM_ANN = Path("annotations") / "annotations averaged per song" / "dynamic (per second annotations)"
COLUMNS = [f"sample_{15000 + 500 * i}ms" for i in range(10)]


def deam(tmp_path: Path, arousal_rows: list[str], *, header: list[str] = COLUMNS,
         audio: tuple[str, ...] = ("10", "2001"), seconds: float = 21.0) -> Path:
    """A DEAM layout: the given arousal rows, valence 0.1 for songs 10 and 2001, tones as audio."""
    root = tmp_path / "deam"
    ann = root / DEAM_ANN
    ann.mkdir(parents=True)
    head = ",".join(["song_id", *header])
    (ann / "arousal.csv").write_text("\n".join([head, *arousal_rows]) + "\n")
    (ann / "valence.csv").write_text("\n".join(
        [head] + [f"{s}," + ",".join(["0.1"] * len(header)) for s in ("10", "2001")]) + "\n")
    (root / "MEMD_audio").mkdir()
    for song in audio:
        write_tone(root / "MEMD_audio" / f"{song}.mp3", seconds)
    return root


def good_row(song: str, value: str = "0.2") -> str:
    return f"{song}," + ",".join([value] * len(COLUMNS))


def one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("emotrack: error:")]
    assert "Traceback" not in err and len(lines) == 1, err
    return lines[0]


# ---- label files ----------------------------------------------------------------------

@pytest.mark.parametrize("song_id", ["inf", "nan", "-inf", "1e400", "9" * 400])
def test_ids_that_float_cannot_make_whole_are_kept_as_text(tmp_path, song_id):
    d = read_deam(deam(tmp_path, [good_row("10"), good_row(song_id)]))
    assert "10" in {it.song_id for it in d.items}
    odd = [it for it in d.items if it.song_id != "10"]
    # a song of that id: only in arousal (valence rates 10 and 2001), so skipped and said so
    assert not odd and any("only one of arousal/valence" in p for p in d.problems), d.problems


def test_ids_with_control_characters_are_a_skipped_row(tmp_path):
    d = read_deam(deam(tmp_path, [good_row("10"), good_row("a\x1b[2Jb")]))
    assert [it.song_id for it in d.items] == ["10"]
    assert any("is not an id" in p for p in d.problems), d.problems


@pytest.mark.parametrize("value", ["1e30", "-1e30", "1e308", "11"])
def test_ratings_no_scale_has_are_a_skipped_row(tmp_path, value):
    d = read_deam(deam(tmp_path, [good_row("10"), good_row("2001", value)]))
    assert [it.song_id for it in d.items] == ["10"]
    assert any("not on a rating scale" in p and "2001" in p for p in d.problems), d.problems


@pytest.mark.parametrize("column", ["sample_9000000000000ms", "sample_" + "9" * 40 + "ms"])
def test_a_sample_column_hours_into_a_song_is_one_line_not_an_allocation(tmp_path, capsys, column):
    root = deam(tmp_path, [good_row("10")], header=[*COLUMNS[:-1], column])
    with pytest.raises(ParameterError, match="more than 3 h into a song"):
        read_deam(root)
    rc = main(["evaluate", "--model", "baseline", "--data", f"deam:{root}", "--quiet"])
    assert rc == 1
    assert "rates a point more than 3 h" in one_error_line(capsys.readouterr().err)


def test_evaluate_with_inf_and_nan_ids_runs_and_lists_them(tmp_path, capsys):
    from emotrack.model.checkpoint import create_untrained_checkpoint

    ckpt = create_untrained_checkpoint(tmp_path / "u.safetensors", model_name="baseline")
    root = deam(tmp_path, [good_row("10"), good_row("inf"), good_row("nan"), good_row("2001", "1e30")])
    rc = main(["evaluate", str(ckpt), "--data", f"deam:{root}", "--split", "development",
               "--out", str(tmp_path / "rep"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 0 and "Traceback" not in err, err
    report = json.loads((tmp_path / "rep" / "evaluation.json").read_text())
    problems = report["facts"]["problems"]
    # "problems" lists every row the readers dropped, not only songs the tracker failed on
    assert any("inf" in p for p in problems) and any("nan" in p for p in problems), problems
    assert any("2001" in p and "rating scale" in p for p in problems), problems
    assert report["facts"]["songs evaluated"] == ["deam:10"]


def test_train_on_labels_of_1e30_writes_nothing_and_says_why(tmp_path, capsys):
    root = deam(tmp_path, [good_row("10", "1e30"), good_row("2001", "1e30")])
    out = tmp_path / "m.safetensors"
    rc = main(["train", "--data", f"deam:{root}", "--model", "baseline", "--epochs", "2",
               "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "nothing to train on" in one_error_line(err)
    assert "saved to" not in err and not out.exists()


def _song(key: str, values: float, *, frames: int = 100, seed: int = 0) -> SongFeatures:
    a = np.full(60, values, np.float32)
    item = SongItem(key, Path(f"{key}.wav"), a, a.copy(), None, None, "development", 30, "t")
    x = np.random.default_rng(seed).standard_normal((frames, 96)).astype(np.float32)
    return SongFeatures(item, x)


@pytest.mark.parametrize("value", [1e30, np.inf])
def test_training_refuses_targets_no_rating_has(tmp_path, value):
    out = tmp_path / "m.safetensors"
    with pytest.raises(ParameterError, match="ratings must be finite"):
        train_model([_song("a", value), _song("b", 0.1, seed=1)], [],
                    TrainConfig(model="baseline", max_epochs=1, progress=False), spec=CAE_SPEC, out=out)
    assert not out.exists()


def test_a_run_whose_loss_is_never_finite_says_so_and_writes_nothing(tmp_path):
    out = tmp_path / "m.safetensors"
    unrated = _song("v", np.nan, seed=2)  # a validation song with no rated frame: loss NaN
    with pytest.raises(ParameterError, match="no finite validation loss.*no checkpoint written"):
        train_model([_song("a", 0.2)], [unrated],
                    TrainConfig(model="baseline", max_epochs=2, min_epochs=1, patience=1,
                                progress=False), spec=CAE_SPEC, out=out)
    assert not out.exists()


# ---- hyper-parameters bound memory -----------------------------------------------------

@pytest.mark.parametrize("model, hparams, batch", [
    ("cae", {"channels": [1024, 1024, 1024, 1024]}, 16),
    ("rnn", {"hidden": 4096, "conv_channels": 4096, "num_layers": 16}, 16),
    ("cae", {"channels": [256, 256, 256, 256]}, 4096),
    ("baseline", {"hidden": 4096, "context": 512}, 16),
])
def test_hparams_within_their_limits_but_beyond_the_memory_bound_are_refused_at_once(
        tmp_path, capsys, model, hparams, batch):
    weights, acts = training_bytes(model, hparams, batch)
    assert weights + acts > MAX_TRAINING_BYTES
    root = deam(tmp_path, [good_row("10")], audio=())
    out = tmp_path / "m.safetensors"
    rc = main(["train", "--data", f"deam:{root}", "--model", model, "--hparams", json.dumps(hparams),
               "--batch-size", str(batch), "--out", str(out), "--quiet"])
    line = one_error_line(capsys.readouterr().err)
    assert rc == 1 and "GiB a training run may use" in line and not out.exists()


def test_the_shipped_networks_are_far_below_the_memory_bound():
    for model in ("cae", "baseline", "rnn"):
        weights, acts = training_bytes(model, {}, 16)
        assert 0 < weights + acts < MAX_TRAINING_BYTES / 50


# ---- feature cache ----------------------------------------------------------------------

@pytest.fixture
def cached(tmp_path):
    """A cache with the honest entries of two different songs."""
    a = write_tone(tmp_path / "a.wav", 3.0, freq=300.0)
    b = write_tone(tmp_path / "b.wav", 4.0, freq=900.0)
    cache = FeatureCache(tmp_path / "cache")
    honest = {p: cache.frames(p) for p in (a, b)}
    assert cache.misses == 2 and cache.hits == 0
    return cache, a, b, honest


def _entry(cache: FeatureCache, audio: Path) -> Path:
    from emotrack.train.cache import file_digest

    return cache.entry_path(file_digest(audio))


def _assert_recomputed(cache, audio, honest, rejected=1):
    misses = cache.misses
    frames = cache.frames(audio)
    np.testing.assert_array_equal(frames, honest[audio])
    assert cache.misses == misses + 1 and cache.rejected == rejected
    np.testing.assert_array_equal(cache.frames(audio), honest[audio])  # rewritten: a hit now
    assert cache.misses == misses + 1


def test_honest_entries_are_hits(cached):
    cache, a, b, honest = cached
    np.testing.assert_array_equal(cache.frames(a), honest[a])
    assert cache.hits == 1 and cache.rejected == 0


def test_entries_swapped_between_songs_are_refused(cached):
    cache, a, b, honest = cached
    ea, eb = _entry(cache, a), _entry(cache, b)
    tmp = ea.with_suffix(".swap")
    os.replace(ea, tmp)
    os.replace(eb, ea)
    os.replace(tmp, eb)
    _assert_recomputed(cache, a, honest)
    _assert_recomputed(cache, b, honest, rejected=2)


def test_entries_poisoned_with_nan_are_refused(cached):
    cache, a, _, honest = cached
    entry = _entry(cache, a)
    frames = honest[a].copy()
    frames[3, 7] = np.nan
    with open(entry, "wb") as fh:
        np.savez(fh, frames=frames, key=np.array(entry.stem))
    _assert_recomputed(cache, a, honest)


def test_an_entry_whose_header_claims_10_to_the_12_rows_is_never_allocated(cached):
    cache, a, _, honest = cached
    entry = _entry(cache, a)
    raw = entry.read_bytes()
    rows = honest[a].shape[0]
    lie = raw.replace(f"'shape': ({rows}, 96)".encode(), b"'shape': (1000000000000, 96)")
    assert lie != raw
    entry.write_bytes(lie)  # the zip's sizes still say what is stored
    _assert_recomputed(cache, a, honest)


@pytest.mark.parametrize("kind", ["symlink_to_dev_zero", "folder", "fifo", "garbage", "old_npy"])
def test_entries_of_every_wrong_kind_are_recomputed(cached, kind):
    cache, a, _, honest = cached
    entry = _entry(cache, a)
    entry.unlink()
    if kind == "symlink_to_dev_zero":
        entry.symlink_to("/dev/zero")
    elif kind == "folder":
        entry.mkdir()
    elif kind == "fifo":
        os.mkfifo(entry)
    elif kind == "garbage":
        entry.write_bytes(b"PK\x03\x04" + os.urandom(300))
    else:  # the previous layout's bare .npy under the new name
        with open(entry, "wb") as fh:
            np.save(fh, honest[a])
    if kind == "folder":  # cannot be replaced by a file: computed, and the folder stays
        misses = cache.misses
        np.testing.assert_array_equal(cache.frames(a), honest[a])
        assert cache.misses == misses + 1 and cache.rejected == 1
        return
    _assert_recomputed(cache, a, honest)
    assert entry.is_file() and not entry.is_symlink()


def test_a_cache_folder_that_cannot_be_written_is_said_once_and_features_still_come(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    cache = FeatureCache(blocker / "cache")
    a = write_tone(tmp_path / "a.wav", 3.0)
    b = write_tone(tmp_path / "b.wav", 3.0, freq=600.0)
    assert cache.frames(a).shape[1] == 96 and cache.frames(b).shape[1] == 96
    err = capsys.readouterr().err
    assert err.count("cannot write the feature cache") == 1 and "Traceback" not in err


def test_musicnn_cache_entries_are_bound_to_their_content_like_the_mel_cache(tmp_path):
    """The musicnn feature cache (head fitting, 4Q evaluation) reads and writes through the mel
    cache's functions: an entry swapped from another file or poisoned with NaN is recomputed."""
    from emotrack.train.cache import file_digest, read_arrays, store_entry
    from emotrack.train.musicnn_features import MusicnnFeatureCache

    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    write_tone(a, 4.0, freq=220.0)
    write_tone(b, 4.0, freq=880.0)
    cache = MusicnnFeatureCache(tmp_path / "cache")
    fa, fb = cache.frames(a), cache.frames(b)
    assert cache.misses == 2 and cache.frames(a)["dense"].tobytes() == fa["dense"].tobytes()
    assert cache.hits == 1
    entry_a = cache.entry_path(file_digest(a))
    entry_b = cache.entry_path(file_digest(b))
    shutil.copy(entry_b, entry_a)  # b's outputs under a's name
    assert read_arrays(entry_a, key=file_digest(a), kinds={"level_db": "f"}) is None
    assert np.array_equal(cache.frames(a)["dense"], fa["dense"]) and cache.misses == 3
    poisoned = {k: v.copy() for k, v in fa.items()}
    poisoned["dense"][0, 0] = np.nan
    store_entry(entry_a, poisoned, key=file_digest(a))
    assert np.isfinite(cache.frames(a)["dense"]).all() and cache.misses == 4
    assert not np.array_equal(fa["dense"], fb["dense"])
