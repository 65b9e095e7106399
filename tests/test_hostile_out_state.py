"""Issue 23, class 1: the output folder is data, not instructions.

Hostile state of every kind is planted in ``--out`` (journals with ``../`` and
absolute paths, swapped entries, journals and ledgers that are symbolic links,
FIFOs, folders, ``/dev/zero``, non-UTF-8, deeply nested or wrongly typed JSON),
then emotrack runs.  File hashes of everything outside ``--out`` (and of the
earlier results inside it) must not change, nothing may hang or traceback, and
each bad state file is set aside with one warning.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotrack.realtime.catalog.ledger import LEDGER_NAME, Entry, Ledger
from emotrack.realtime.cli import main
from emotrack.realtime.outputs.atomic_files import JOURNAL_SUFFIX, OutputSet, clean_leftovers

TID = "0123456789abcdef0123456789abcdef"


def hashes(root: Path, *, skip: Path | None = None) -> dict[str, str]:
    """Relative path -> SHA-256 (or the link target / 'dir' / 'fifo') of everything under ``root``."""
    out = {}
    for top, dirs, files in os.walk(root):
        if skip is not None and Path(top) == skip:
            dirs[:] = []
            continue
        for name in dirs + files:
            p = Path(top) / name
            if skip is not None and p == skip:
                continue
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_fifo():
                out[rel] = "fifo"
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def within(seconds: float, fn, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` in a thread; fail (instead of hanging the suite) after ``seconds``."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"{fn.__name__} still running after {seconds} s (blocked on a FIFO?)"
    if "error" in box:
        raise box["error"]
    return box.get("value")


@pytest.fixture
def victim(tmp_path) -> Path:
    """A folder outside --out with files a hostile journal or ledger points at."""
    v = tmp_path / "victim"
    v.mkdir()
    (v / "secret.txt").write_text("secret\n")
    (v / "target.txt").write_text("target\n")
    (v / ".x.0badc0de.emotrack-tmp").write_text("a temporary outside --out\n")
    (v / "ledger.jsonl").write_text("")
    return v


def _results(folder: Path) -> None:
    (folder / "one.emotrack.csv").write_text("one\n")
    (folder / "two.emotrack.csv").write_text("two\n")


def _tmp_of(target: str) -> str:
    """The hidden temporary emotrack would create for ``target`` (token 0badc0de)."""
    return f".{target}.0badc0de.emotrack-tmp"


HOSTILE_JOURNALS = {
    "climbs with ../": lambda v: json.dumps([["../victim/secret.txt", "../victim/target.txt"]]),
    "absolute paths": lambda v: json.dumps([[str(v / "secret.txt"), str(v / "target.txt")]]),
    "one result over another": lambda v: json.dumps([["one.emotrack.csv", "two.emotrack.csv"]]),
    "a temporary of another target": lambda v: json.dumps([[_tmp_of("one.emotrack.csv"),
                                                            "two.emotrack.csv"]]),
    "an object": lambda v: json.dumps({"ab": 1}),
    "wrong types": lambda v: json.dumps([[1, None], "x"]),
    "nested deeply": lambda v: "[" * 100_000 + "]" * 100_000,
    "not UTF-8": lambda v: b'[["\xff\xfe", "two.emotrack.csv"]]',
    "not JSON": lambda v: "garbage",
    "through a symlinked folder": lambda v: json.dumps([["link/.x.0badc0de.emotrack-tmp", "link/x"]]),
    "too large": lambda v: " " * (2 << 20),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_JOURNALS))
def test_a_planted_journal_renames_nothing_and_is_set_aside(tmp_path, victim, case):
    out = tmp_path / "out"
    out.mkdir()
    _results(out)
    (out / "link").symlink_to(victim)
    (out / _tmp_of("one.emotrack.csv")).write_text("planted temporary\n")
    content = HOSTILE_JOURNALS[case](victim)
    journal = out / f".planted.0badc0de{JOURNAL_SUFFIX}"
    journal.write_bytes(content if isinstance(content, bytes) else content.encode())
    before_out = {k: v for k, v in hashes(out).items() if k.endswith(".csv")}
    before = hashes(victim)
    warnings: list[str] = []
    clean_leftovers(out, warn=warnings.append)
    assert hashes(victim) == before
    assert {k: v for k, v in hashes(out).items() if k.endswith(".csv")} == before_out
    assert not journal.exists() and len(warnings) == 1 and str(journal) in warnings[0]
    assert [p.name for p in out.iterdir() if p.name.startswith(journal.name + ".bad-")]


@pytest.mark.parametrize("kind", ["symlink to a journal outside", "fifo", "folder",
                                  "symlink to /dev/zero"])
def test_a_journal_of_the_wrong_kind_is_never_opened(tmp_path, victim, kind):
    out = tmp_path / "out"
    out.mkdir()
    _results(out)
    outside = victim / "journal.json"  # would rename inside victim/ if followed
    outside.write_text(json.dumps([[".x.0badc0de.emotrack-tmp", "x"]]))
    journal = out / f".planted.0badc0de{JOURNAL_SUFFIX}"
    if kind == "fifo":
        os.mkfifo(journal)
    elif kind == "folder":
        journal.mkdir()
    else:
        journal.symlink_to(outside if "outside" in kind else "/dev/zero")
    before = hashes(victim)
    warnings: list[str] = []
    within(20, clean_leftovers, out, warn=warnings.append)
    assert hashes(victim) == before and (victim / ".x.0badc0de.emotrack-tmp").exists()
    assert len(warnings) == 1 and not os.path.lexists(journal)


def test_a_journal_emotrack_wrote_is_still_finished(tmp_path):
    """The checks refuse nothing emotrack itself writes: a run killed mid-rename is completed."""
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    targets = [out / "a.emotrack.csv", out / "sub" / ("é" * 120 + ".emotrack.json")]
    s = OutputSet(targets, root=out)
    s.__enter__()
    for i, t in enumerate(targets):
        s.temp(t).write_text(f"new {i}\n")
    pairs = [[os.path.relpath(s.temp(t), out), os.path.relpath(t, out)] for t in targets]
    (out / f".a.emotrack.csv.0badc0de{JOURNAL_SUFFIX}").write_text(json.dumps(pairs))
    s._temps.clear()  # killed before the renames
    warnings: list[str] = []
    clean_leftovers(out, warn=warnings.append)
    assert [t.read_text() for t in targets] == ["new 0\n", "new 1\n"] and warnings == []
    assert not [p for p in out.rglob("*") if "emotrack-" in p.name]


def test_temporaries_of_the_wrong_kind_are_removed_as_entries_only(tmp_path, victim):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".a.0badc0de.emotrack-tmp").symlink_to(victim / "secret.txt")
    (out / ".b.0badc0de.emotrack-tmp").mkdir()
    (out / ".b.0badc0de.emotrack-tmp" / "keep.txt").write_text("kept\n")
    os.mkfifo(out / ".c.0badc0de.emotrack-tmp")
    before = hashes(victim)
    within(20, clean_leftovers, out)
    assert hashes(victim) == before
    assert sorted(p.name for p in out.iterdir()) == [".b.0badc0de.emotrack-tmp"]
    assert (out / ".b.0badc0de.emotrack-tmp" / "keep.txt").read_text() == "kept\n"


def _good_line(name: str = "a") -> str:
    return json.dumps({"kind": "done", "name": name, "path": f"/m/{name}.wav", "track_id": TID,
                       "model_key": "k", "formats": ["csv"], "size": 1, "mtime_ns": 2,
                       "reason": "", "at": 0.0}) + "\n"


@pytest.mark.parametrize("kind", ["symlink to a ledger outside", "fifo", "folder",
                                  "symlink to /dev/zero", "too large", "hard link to a ledger outside"])
def test_a_ledger_of_the_wrong_kind_is_set_aside_and_a_new_one_begun(tmp_path, victim, kind):
    out = tmp_path / "out"
    out.mkdir()
    ledger = out / LEDGER_NAME
    if kind == "fifo":
        os.mkfifo(ledger)
    elif kind == "folder":
        ledger.mkdir()
    elif kind.startswith("hard link"):
        (victim / "ledger.jsonl").write_text(_good_line())
        os.link(victim / "ledger.jsonl", ledger)
    elif kind == "too large":
        with open(ledger, "wb") as fh:  # sparse: 600 MB claimed, nothing on disk
            fh.truncate(600 << 20)
    else:
        (victim / "ledger.jsonl").write_text(_good_line())
        ledger.symlink_to(victim / "ledger.jsonl" if "outside" in kind else "/dev/zero")
    before = hashes(victim)
    warnings: list[str] = []
    led = within(20, Ledger, out, warn=warnings.append)
    if kind.startswith("hard link"):  # read (harmless), set aside only when written
        assert warnings == [] and led.known_id("/m/a.wav", 1, 2) == TID
    else:
        assert len(warnings) == 1 and "ledger" in warnings[0] and led.known_id("/m/a.wav", 1, 2) is None
    led.append([Entry("done", "b", "/m/b.wav", TID, "k", ("csv",), 1, 2)])
    assert hashes(victim) == before
    assert ledger.is_file() and not ledger.is_symlink()
    assert Ledger(out).known_id("/m/b.wav", 1, 2) == TID


def test_bad_ledger_lines_are_ignored_with_one_warning(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    bad = [b"\xff\xfe not utf-8\n", b"[" * 100_000 + b"]" * 100_000 + b"\n", b"[1, 2]\n",
           json.dumps({"kind": "done"}).encode() + b"\n",
           json.dumps({**json.loads(_good_line()), "size": "big"}).encode() + b"\n",
           json.dumps({**json.loads(_good_line()), "formats": {"csv": 1}}).encode() + b"\n",
           json.dumps({**json.loads(_good_line()), "track_id": "../../x"}).encode() + b"\n",
           json.dumps({**json.loads(_good_line()), "kind": "rename"}).encode() + b"\n",
           b"x" * (2 << 20) + b"\n"]
    (out / LEDGER_NAME).write_bytes(_good_line("a").encode() + b"".join(bad)
                                    + _good_line("c").encode().replace(b"/m/a", b"/m/c"))
    warnings: list[str] = []
    led = Ledger(out, warn=warnings.append)
    assert led.files_hold("a", TID, "k", ("csv",)) and led.files_hold("c", TID, "k", ("csv",))
    assert len(warnings) == 1 and f"{len(bad)} line(s)" in warnings[0]


def test_an_append_after_a_torn_line_starts_a_new_line(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / LEDGER_NAME).write_text(_good_line("a") + '{"kind": "done", "name": "b')
    warnings: list[str] = []
    Ledger(out, warn=warnings.append).append([Entry("done", "c", "/m/c.wav", TID, "k", ("csv",))])
    assert warnings == []  # a torn last line is a killed run, not a problem
    assert Ledger(out).files_hold("c", TID, "k", ("csv",))


@pytest.fixture
def music(tmp_path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    for i, name in enumerate(("one.wav", "two.wav")):
        t = np.arange(2 * 16000) / 16000
        sf.write(folder / name, (0.3 * np.sin(2 * np.pi * (220 + 110 * i) * t)).astype(np.float32),
                 16000)
    return folder


def test_hostile_state_of_every_kind_changes_nothing_outside_out(tmp_path, music, victim,
                                                                 tiny_checkpoint, capsys):
    """One rerun into an output folder planted with everything at once (the issue's test)."""
    out = tmp_path / "out"
    args = ["analyze", str(music), "--out", str(out), "--checkpoint", str(tiny_checkpoint),
            "--quiet", "--format", "csv,json,parquet"]
    assert main(args) == 0
    results = {k: v for k, v in hashes(out).items() if k.endswith(".csv")}
    (out / "link").symlink_to(victim)
    for i, case in enumerate(sorted(HOSTILE_JOURNALS)):
        content = HOSTILE_JOURNALS[case](victim)
        (out / f".j{i}.0badc0de{JOURNAL_SUFFIX}").write_bytes(
            content if isinstance(content, bytes) else content.encode())
    (out / f".jlink.0badc0de{JOURNAL_SUFFIX}").symlink_to(victim / "target.txt")
    os.mkfifo(out / f".jfifo.0badc0de{JOURNAL_SUFFIX}")
    os.mkfifo(out / "catalog" / f".jfifo.0badc0de{JOURNAL_SUFFIX}")
    (out / ".t.0badc0de.emotrack-tmp").symlink_to(victim / "secret.txt")
    (out / LEDGER_NAME).unlink()
    (out / LEDGER_NAME).symlink_to(victim / "ledger.jsonl")
    before = hashes(tmp_path, skip=out)
    assert within(300, main, args) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "warning" in err
    assert hashes(tmp_path, skip=out) == before
    assert {k: v for k, v in hashes(out).items() if k.endswith(".csv")} == results
    assert not [p for p in out.iterdir() if p.name.endswith(JOURNAL_SUFFIX)]
    assert (out / LEDGER_NAME).is_file() and not (out / LEDGER_NAME).is_symlink()


def test_outputs_are_never_written_through_a_symlinked_folder(tmp_path, victim, tiny_checkpoint,
                                                              capsys):
    music = tmp_path / "music"
    (music / "sub").mkdir(parents=True)
    (music / "top").mkdir()
    for rel in ("sub/a.wav", "top/b.wav"):
        sf.write(music / rel, np.full(16000, 0.1, np.float32), 16000)
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(victim)  # OUT/sub/a.emotrack.csv would land in victim/
    (out / "catalog").symlink_to(victim)
    before = hashes(victim)
    rc = main(["analyze", str(music), "--out", str(out), "--checkpoint", str(tiny_checkpoint),
               "--quiet", "--format", "csv"])
    err = capsys.readouterr().err
    assert rc == 1 and "outside the output folder" in err and "1 of 2 file(s) failed" in err
    assert hashes(victim) == before and (out / "top" / "b.emotrack.csv").is_file()
    rc = main(["analyze", str(music), "--out", str(out), "--checkpoint", str(tiny_checkpoint),
               "--quiet", "--format", "parquet"])
    assert rc == 1 and "catalog" in capsys.readouterr().err and hashes(victim) == before
