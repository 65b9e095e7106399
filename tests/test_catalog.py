"""A catalog run (issue 14): Parquet tables, resumable by content and model, local processes and Ray.

The Ray tests share one local Ray instance per test session (``ray.init(num_cpus=2)``,
no network), started by the ``ray_local`` fixture.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from catalog_helpers import MARKER_ENV
from emotrack.realtime.analysis import AUDIO_EXTENSIONS
from emotrack.realtime.catalog.ledger import LEDGER_NAME
from emotrack.realtime.catalog.run import RunOptions, run_catalog
from emotrack.realtime.catalog.work import TrackerSpec, model_key
from emotrack.realtime.cli import main
from emotrack.realtime.outputs.names import name_inputs, read_manifest

pa = pytest.importorskip("pyarrow")  # installed by the test extra (tools/install-and-test.sh)
import pyarrow.compute  # noqa: E402,F401
import pyarrow.dataset as ds  # noqa: E402

SECONDS = {"a/one.wav": 4.0, "a/two.wav": 3.0, "b/one.wav": 5.0, "c/three.flac": 2.5}
"""The test catalog: file -> seconds (frames = 2 per second)."""


@pytest.fixture
def music(tmp_path) -> Path:
    folder = tmp_path / "music"
    rng = np.random.default_rng(0)
    for i, (rel, seconds) in enumerate(SECONDS.items()):
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        t = np.arange(int(seconds * 16000)) / 16000
        x = 0.3 * np.sin(2 * np.pi * (220 + 110 * i) * t) + 0.05 * rng.standard_normal(t.size)
        sf.write(path, x.astype(np.float32), 16000)
    return folder


@pytest.fixture(scope="session")
def ray_local(tmp_path_factory):
    """One local Ray instance for the session; its workers can import tests/ and die once."""
    ray = pytest.importorskip("ray")
    tests_dir = str(Path(__file__).resolve().parent)
    marker = tmp_path_factory.mktemp("ray-marker") / "a-worker-died"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(
                 [tests_dir, os.environ.get("PYTHONPATH", "")]), MARKER_ENV: str(marker)}})
    yield marker
    ray.shutdown()


def tables(out: Path) -> dict[str, "pa.Table"]:
    """The catalog's tables: frames and tracks of its one model, and failures."""
    models = [p for p in (out / "catalog").iterdir() if p.is_dir() and p.name != "failures"]
    assert len(models) == 1, models
    read = {"frames": models[0] / "frames", "tracks": models[0] / "tracks",
            "failures": out / "catalog" / "failures"}
    return {k: ds.dataset(v).to_table() if v.exists() else None for k, v in read.items()}


def frames_by_track(t: "pa.Table") -> dict[str, np.ndarray]:
    """track name -> (n, 2) arousal, valence in frame order."""
    out = {}
    for name in set(t.column("name").to_pylist()):
        sub = t.filter(pa.compute.equal(t.column("name"), name)).sort_by("frame_index")
        out[name] = np.stack([sub.column("arousal").to_numpy(), sub.column("valence").to_numpy()], 1)
    return out


def run(music: Path, out: Path, checkpoint: Path, *extra: str) -> int:
    return main(["analyze", str(music), "--out", str(out), "--checkpoint", str(checkpoint),
                 "--quiet", "--format", "parquet", *extra])


def test_tables_hold_every_frame_and_a_summary_per_track(music, tmp_path, tiny_checkpoint):
    out = tmp_path / "out"
    assert run(music, out, tiny_checkpoint, "--jobs", "1", "--format", "parquet,csv") == 0
    t = tables(out)
    tracks = t["tracks"].to_pylist()
    assert sorted(r["name"] for r in tracks) == ["a/one", "a/two", "b/one", "c/three"]
    assert len({r["track_id"] for r in tracks}) == 4
    assert t["frames"].num_rows == sum(round(s * 2) for s in SECONDS.values())
    for r in tracks:
        assert r["frames"] == round(SECONDS[next(k for k in SECONDS if k.startswith(r["name"]))] * 2)
        assert r["model"] == "cae" and r["mode"] == "centered" and r["decoded_to_end"]
        assert sum(r[f"share_{q}"] for q in ("happy", "tense", "sad", "calm")) == pytest.approx(1)
    # the per-track CSVs hold the same numbers as the catalog
    csv = np.genfromtxt(out / "b" / "one.emotrack.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(frames_by_track(t["frames"])["b/one"][:, 0], csv["arousal"].astype(np.float32))
    assert t["failures"] is None


def test_a_rerun_skips_what_is_complete_by_content_and_model(music, tmp_path, tiny_checkpoint, capsys):
    out = tmp_path / "out"
    assert run(music, out, tiny_checkpoint, "--jobs", "1") == 0
    parts = sorted((out / "catalog").rglob("*.parquet"))
    capsys.readouterr()
    # the same files, one of them touched (same content): nothing to do
    os.utime(music / "a" / "one.wav", ns=(1, 1))
    assert run(music, out, tiny_checkpoint, "--jobs", "1") == 0
    assert "4 file(s) skipped" in capsys.readouterr().err
    assert sorted((out / "catalog").rglob("*.parquet")) == parts
    # new content under an old name is analysed again; another model is another catalog
    sf.write(music / "a" / "two.wav", np.zeros(16000, np.float32) + 0.1, 16000)
    assert run(music, out, tiny_checkpoint, "--jobs", "1") == 0
    assert "3 file(s) skipped" in capsys.readouterr().err
    t = tables(out)
    assert t["tracks"].num_rows == 5 and t["frames"].num_rows == 29 + 2


def test_a_corrupt_file_is_recorded_and_retried_only_when_asked(music, tmp_path, tiny_checkpoint,
                                                               capsys):
    (music / "a" / "bad.wav").write_bytes(b"RIFF" + b"\x00" * 100)
    out = tmp_path / "out"
    assert run(music, out, tiny_checkpoint, "--jobs", "1") == 1
    err = capsys.readouterr().err
    assert "bad.wav: cannot decode" in err and "1 of 5 file(s) failed" in err
    failures = tables(out)["failures"].to_pylist()
    assert [(Path(f["path"]).name, f["name"]) for f in failures] == [("bad.wav", "a/bad")]
    assert "cannot decode" in failures[0]["reason"] and failures[0]["track_id"]
    assert tables(out)["tracks"].num_rows == 4
    # a rerun does not try it again, but says so (and fails)
    assert run(music, out, tiny_checkpoint, "--jobs", "1") == 1
    err = capsys.readouterr().err
    assert "bad.wav: failed before: cannot decode" in err and "--retry-failed" in err
    assert run(music, out, tiny_checkpoint, "--jobs", "1", "--retry-failed") == 1
    assert len(tables(out)["failures"].to_pylist()) == 2  # tried and failed again


@pytest.mark.slow
def test_local_processes_give_the_single_process_results_even_when_a_worker_dies(
        music, tmp_path, tiny_checkpoint, monkeypatch):
    one = tmp_path / "one"
    assert run(music, one, tiny_checkpoint, "--jobs", "1") == 0
    monkeypatch.setenv(MARKER_ENV, str(tmp_path / "died"))
    tracker_spec = TrackerSpec(checkpoint=str(tiny_checkpoint), device="cpu",
                               loader="catalog_helpers:dying_loader")
    two = tmp_path / "two"
    report = _run_direct(music, two, tracker_spec, tiny_checkpoint, jobs=2)
    assert (tmp_path / "died").exists(), "no worker was killed"
    assert report.analysed == 4 and report.failed == 0
    assert_same_tables(one, two)


@pytest.mark.slow
def test_ray_gives_the_single_process_results_and_survives_a_killed_worker(
        ray_local, music, tmp_path, tiny_checkpoint, capsys):
    one = tmp_path / "one"
    assert run(music, one, tiny_checkpoint, "--jobs", "1") == 0
    spec = TrackerSpec(checkpoint=str(tiny_checkpoint), device="cpu",
                       loader="catalog_helpers:dying_loader")
    ray_out = tmp_path / "ray"
    report = _run_direct(music, ray_out, spec, tiny_checkpoint, cluster="auto")
    assert ray_local.exists(), "no Ray worker was killed"
    assert report.analysed == 4 and report.failed == 0
    assert_same_tables(one, ray_out)
    # a rerun on the cluster skips everything
    assert run(music, ray_out, tiny_checkpoint, "--cluster", "auto") == 0
    assert "4 file(s) skipped" in capsys.readouterr().err


@pytest.mark.slow
def test_ray_records_a_corrupt_file_and_analyses_the_rest(ray_local, music, tmp_path,
                                                         tiny_checkpoint, capsys):
    (music / "b" / "broken.mp3").write_bytes(b"ID3" + b"\xff" * 300)
    out = tmp_path / "out"
    assert run(music, out, tiny_checkpoint, "--cluster", "auto") == 1
    t = tables(out)
    assert [Path(f["path"]).name for f in t["failures"].to_pylist()] == ["broken.mp3"]
    assert t["tracks"].num_rows == 4 and t["frames"].num_rows == 29


def _run_direct(music, out, spec, checkpoint, **options):
    from emotrack.model.trackers import load_tracker

    tracker = load_tracker(None, str(checkpoint), device="cpu")
    tracks = name_inputs([music], extensions=AUDIO_EXTENSIONS)
    return run_catalog(tracks, spec, tracker, RunOptions(out=out, formats=(), table=True,
                                                        quiet=True, **options))


def assert_same_tables(a: Path, b: Path) -> None:
    """The same tracks with bit-identical frames (arousal, valence, tags) and the same summaries."""
    ta, tb = tables(a), tables(b)
    fa, fb = frames_by_track(ta["frames"]), frames_by_track(tb["frames"])
    assert fa.keys() == fb.keys()
    for name in fa:
        assert np.array_equal(fa[name], fb[name]), name
    key = ["track_id", "name", "frames", "arousal_mean", "valence_mean", "share_happy"]
    rows = lambda t: sorted(tuple(r[k] for k in key) for r in t["tracks"].to_pylist())  # noqa: E731
    assert rows(ta) == rows(tb)


def test_manifest_names_entries_by_their_path(tmp_path, music):
    manifest = music / "list.csv"
    manifest.write_text("path,comment\na/one.wav,x\n# a comment\n\nb/one.wav,y\n"
                        f"{music / 'c' / 'three.flac'},absolute\n")
    assert read_manifest(manifest) == ["a/one.wav", "b/one.wav", str(music / "c" / "three.flac")]
    named = name_inputs([], extensions=AUDIO_EXTENSIONS, manifests=[manifest])
    assert [(n.path, n.name) for n in named] == [(music / "a" / "one.wav", "a/one"),
                                                  (music / "b" / "one.wav", "b/one"),
                                                  (music / "c" / "three.flac",
                                                   (music / "c" / "three").as_posix().lstrip("/"))]
    text = tmp_path / "list.txt"
    text.write_text(f"{music}/a/two.wav\n")
    assert read_manifest(text) == [f"{music}/a/two.wav"]


def test_names_by_track_id_are_the_same_wherever_the_file_lies(music, tmp_path, tiny_checkpoint):
    out = tmp_path / "out"
    assert main(["analyze", str(music / "a"), "--out", str(out), "--checkpoint",
                 str(tiny_checkpoint), "--quiet", "--format", "csv", "--name-by", "id"]) == 0
    first = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.csv"))
    moved = tmp_path / "elsewhere"
    shutil.copytree(music / "a", moved)
    out2 = tmp_path / "out2"
    assert main(["analyze", str(moved), "--out", str(out2), "--checkpoint",
                 str(tiny_checkpoint), "--quiet", "--format", "csv", "--name-by", "id"]) == 0
    assert sorted(p.relative_to(out2).as_posix() for p in out2.rglob("*.csv")) == first
    assert len(first) == 2 and all(len(Path(p).parts) == 2 for p in first)


def test_model_key_names_what_the_results_depend_on(tiny_checkpoint, model_checkpoint_factory):
    from emotrack.model.trackers import load_tracker

    a = load_tracker(None, str(tiny_checkpoint), device="cpu")
    b = load_tracker(None, str(model_checkpoint_factory("cae", seed=1, channels=[4, 4, 4, 4])),
                     device="cpu")
    assert model_key(a, "centered").startswith("cae-centered-")
    assert model_key(a, "centered") != model_key(a, "causal") != model_key(b, "causal")
    assert model_key(a, "causal") == model_key(load_tracker(None, str(tiny_checkpoint), device="cpu"),
                                               "causal")


def test_the_ledger_survives_a_torn_line(music, tmp_path, tiny_checkpoint, capsys):
    out = tmp_path / "out"
    assert run(music, out, tiny_checkpoint, "--jobs", "1") == 0
    with open(out / LEDGER_NAME, "a") as fh:
        fh.write('{"kind": "done", "name": "a/')  # a run killed while appending
    capsys.readouterr()
    assert run(music, out, tiny_checkpoint, "--jobs", "1") == 0
    assert "4 file(s) skipped" in capsys.readouterr().err


@pytest.mark.slow
def test_sigterm_loses_no_finished_track_and_the_rerun_completes_the_catalog(tmp_path, tiny_checkpoint):
    import signal
    import subprocess
    import sys
    import time

    songs = tmp_path / "songs"
    for i in range(12):
        noise = np.random.default_rng(i).standard_normal(4 * 16000).astype(np.float32) * 0.2
        songs.mkdir(exist_ok=True)
        sf.write(songs / f"s{i:02d}.wav", noise, 16000)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "emotrack.realtime.cli", "analyze", str(songs), "--out", str(out),
            "--checkpoint", str(tiny_checkpoint), "--quiet", "--format", "csv,png,parquet", "--jobs", "2"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240  # a guard against a hung run, not a measurement
    while time.monotonic() < deadline and proc.poll() is None and len(list(out.glob("*.csv"))) < 3:
        time.sleep(0.01)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    finished = {p.name.split(".")[0] for p in out.glob("*.csv")}
    assert 3 <= len(finished) < 12
    t = tables(out)
    assert sorted(t["tracks"].column("name").to_pylist()) == sorted(finished)  # every one, once
    assert set(t["frames"].column("name").to_pylist()) == finished
    rerun = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(finished)} file(s) skipped" in rerun.stderr
    t = tables(out)
    assert sorted(t["tracks"].column("name").to_pylist()) == [f"s{i:02d}" for i in range(12)]
    assert t["frames"].num_rows == 12 * 8
