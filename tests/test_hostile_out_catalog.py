"""Issue 23, classes 2 and 4: the catalog says what is true; a failure keeps what was good.

- A rerun checks the tables themselves: a deleted catalog or part is rebuilt,
  rows are never written twice (a torn ledger line included), and nothing but
  table parts lands in ``OUT/catalog``.
- A failure injected at every write of a run (track files, renames, journal,
  Parquet parts, ledger) leaves the earlier results as they were, and a clean
  rerun completes the catalog without duplicates.
- A different ``dirB/song.wav`` never silently replaces ``dirA/song.wav``'s outputs
  from an earlier run; ``listen --record``/``--csv`` whose writes fail never move a
  partial file over an existing one; ``train --out`` never overwrites an input.
"""
from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotrack.realtime.catalog.ledger import LEDGER_NAME
from emotrack.realtime.cli import main

pa = pytest.importorskip("pyarrow")
import pyarrow.dataset as ds  # noqa: E402


def _song(path: Path, seconds: float, freq: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * 16000)) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000)


@pytest.fixture
def music(tmp_path) -> Path:
    folder = tmp_path / "music"
    for i, rel in enumerate(("a/one.wav", "a/two.wav", "b/three.wav")):
        _song(folder / rel, 2.0 + i, 220 + 110 * i)
    return folder


def analyze(inputs, out: Path, ckpt: Path, *extra: str) -> int:
    inputs = inputs if isinstance(inputs, list) else [inputs]
    return main(["analyze", *map(str, inputs), "--out", str(out), "--checkpoint", str(ckpt),
                 "--quiet", *extra])


def model_dir(out: Path) -> Path:
    (m,) = [p for p in (out / "catalog").iterdir() if p.is_dir() and p.name != "failures"]
    return m


def rows(out: Path, table: str) -> list[dict]:
    return ds.dataset(model_dir(out) / table).to_table().to_pylist()


def assert_complete(out: Path, names: set[str]) -> None:
    """Every name in the tracks table, each track once, its frames once each in the frames table."""
    tracks = rows(out, "tracks")
    assert {r["name"] for r in tracks} == names
    ids = [r["track_id"] for r in tracks]
    assert len(ids) == len(set(ids)), "a track's summary written twice"
    frames = rows(out, "frames")
    keys = [(r["track_id"], r["frame_index"]) for r in frames]
    assert len(keys) == len(set(keys)), "frames written twice"
    per_track = {r["track_id"]: r["frames"] for r in tracks}
    assert {t: sum(1 for k in keys if k[0] == t) for t in per_track} == per_track


def test_a_deleted_catalog_is_rebuilt_not_reported_as_done(music, tmp_path, tiny_checkpoint, capsys):
    out = tmp_path / "out"
    assert analyze(music, out, tiny_checkpoint, "--format", "parquet,csv") == 0
    names = {"a/one", "a/two", "b/three"}
    import shutil

    shutil.rmtree(out / "catalog")
    capsys.readouterr()
    assert analyze(music, out, tiny_checkpoint, "--format", "parquet,csv") == 0
    assert "skipped" not in capsys.readouterr().err
    assert_complete(out, names)


@pytest.mark.parametrize("table", ["frames", "tracks"])
def test_a_deleted_part_is_rebuilt_and_its_partner_set_aside(music, tmp_path, tiny_checkpoint,
                                                            capsys, table):
    out = tmp_path / "out"
    assert analyze(music / "a", out, tiny_checkpoint, "--format", "parquet") == 0
    assert analyze(music / "b", out, tiny_checkpoint, "--format", "parquet") == 0
    parts = sorted((model_dir(out) / table).glob("*.parquet"))
    assert len(parts) == 2
    parts[0].unlink()  # the part of the first run: a/one and a/two
    capsys.readouterr()
    assert analyze([music / "a", music / "b"], out, tiny_checkpoint, "--format", "parquet") == 0
    err = capsys.readouterr().err
    assert "set aside" in err and "1 file(s) skipped" in err
    assert_complete(out, {"one", "two", "three"})
    assert list((out / ".emotrack-set-aside").rglob("*.parquet"))


def test_a_torn_ledger_line_never_duplicates_rows(music, tmp_path, tiny_checkpoint):
    out = tmp_path / "out"
    assert analyze(music / "a", out, tiny_checkpoint, "--format", "parquet") == 0
    with open(out / LEDGER_NAME, "a") as fh:
        fh.write('{"kind": "done", "name": "a/')  # a run killed while appending
    assert analyze(music / "b", out, tiny_checkpoint, "--format", "parquet") == 0
    assert analyze([music / "a", music / "b"], out, tiny_checkpoint, "--format", "parquet") == 0
    assert analyze([music / "a", music / "b"], out, tiny_checkpoint, "--format", "parquet",
                   "--force") == 0
    assert_complete(out, {"one", "two", "three"})


def test_only_table_parts_are_written_inside_the_catalog(music, tmp_path, tiny_checkpoint):
    manifest = music / "list.txt"
    _song(music / "catalog" / "x.wav", 1.0, 440)
    _song(music / "Catalog" / "failures" / "y.wav", 1.0, 550)
    manifest.write_text("catalog/x.wav\nCatalog/failures/y.wav\na/one.wav\n")
    out = tmp_path / "out"
    assert main(["analyze", "--manifest", str(manifest), "--out", str(out), "--checkpoint",
                 str(tiny_checkpoint), "--quiet", "--format", "parquet,csv,json"]) == 0
    inside = [p for p in (out / "catalog").rglob("*") if p.is_file()]
    assert inside and all(p.suffix == ".parquet" for p in inside), inside
    assert (out / "catalog_" / "x.emotrack.csv").is_file()
    assert (out / "Catalog_" / "failures" / "y.emotrack.json").is_file()


def test_another_file_under_an_earlier_name_is_refused_across_runs(tmp_path, tiny_checkpoint, capsys):
    _song(tmp_path / "dirA" / "song.wav", 2.0, 220)
    _song(tmp_path / "dirB" / "song.wav", 3.0, 440)
    out = tmp_path / "out"
    assert analyze(tmp_path / "dirA" / "song.wav", out, tiny_checkpoint, "--format", "csv,json") == 0
    first = (out / "song.emotrack.csv").read_bytes()
    capsys.readouterr()
    assert analyze(tmp_path / "dirB" / "song.wav", out, tiny_checkpoint, "--format", "csv,json") == 1
    err = capsys.readouterr().err
    assert "dirA" in err and "hold another file" in err
    assert (out / "song.emotrack.csv").read_bytes() == first
    # the same file edited in place is the same track: analysed again, no refusal
    _song(tmp_path / "dirA" / "song.wav", 2.5, 330)
    assert analyze(tmp_path / "dirA" / "song.wav", out, tiny_checkpoint, "--format", "csv,json") == 0
    assert (out / "song.emotrack.csv").read_bytes() != first
    # --force replaces them, and the ledger then says dirB owns the name
    assert analyze(tmp_path / "dirB" / "song.wav", out, tiny_checkpoint, "--format", "csv,json",
                   "--force") == 0
    assert analyze(tmp_path / "dirA" / "song.wav", out, tiny_checkpoint, "--format", "csv,json") == 1
    assert "dirB" in capsys.readouterr().err


def _fail_nth(monkeypatch, owner, attr: str, n: int, calls: list) -> None:
    """Make the ``n``-th call of ``owner.attr`` (counting from 1) fail as a full disk would."""
    real = getattr(owner, attr)

    def failing(*args, **kwargs):
        calls.append(attr)
        if len(calls) == n:
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, attr, failing)


WRITES = {
    "a track file": ("pathlib.Path", "write_bytes"),
    "a rename": ("os", "replace"),
    "a journal": ("pathlib.Path", "write_text"),
    "a parquet part": ("pyarrow.parquet", "write_table"),
    "the ledger": ("emotrack.realtime.catalog.ledger", "append_state"),
}


@pytest.mark.slow
@pytest.mark.parametrize("where, nth", [(w, 1) for w in sorted(WRITES)] + [("a rename", 3)])
def test_a_failed_write_anywhere_keeps_the_earlier_results(music, tmp_path, tiny_checkpoint,
                                                           monkeypatch, capsys, where, nth):
    import importlib

    out = tmp_path / "out"
    fmt = ("--format", "csv,json,parquet")
    assert analyze(music, out, tiny_checkpoint, *fmt) == 0
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*.emotrack.*")}
    for i, rel in enumerate(("a/one.wav", "b/three.wav")):  # new content: written again
        _song(music / rel, 2.0, 600 + 50 * i)
    module, attr = WRITES[where]
    owner = Path if module == "pathlib.Path" else importlib.import_module(module)
    calls: list = []
    _fail_nth(monkeypatch, owner, attr, nth, calls)
    rc = analyze(music, out, tiny_checkpoint, *fmt)
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert calls, f"no {where} was written"
    assert rc in (0, 1)

    def same_as_before(stem: str) -> list[bool]:
        files = [p for p in before if p.relative_to(out).as_posix().startswith(stem + ".")]
        return [before[p] == hashlib.sha256(p.read_bytes()).hexdigest() for p in files]

    # each track's files are all as before or all new, never a partial file; only a rename
    # failing half-way through a set mixes them, and then its journal stays for the next run
    for stem in ("a/one", "a/two", "b/three"):
        same = same_as_before(stem)
        if not (all(same) or not any(same)):
            folder = (out / stem).parent
            assert list(folder.glob(".*.emotrack-commit")), (stem, same)
    # a clean rerun completes everything, rows once each
    assert analyze(music, out, tiny_checkpoint, *fmt) == 0
    assert_complete(out, {"a/one", "a/two", "b/three"})
    assert not [p for p in out.rglob("*") if p.name.endswith((".emotrack-tmp", ".emotrack-commit"))]
    assert [any(same_as_before(s)) for s in ("a/one", "a/two", "b/three")] == [False, True, False]
