"""Issue 23, classes 3 and 6: any name a file system allows; manifests read as written.

Names of every odd kind (``..wav``, ``.wav``, not UTF-8, newlines, terminal
escapes, a leading ``-``, 251 bytes, paths over 4096 bytes) are analysed (CSV,
JSON, Parquet) or fail alone, and are printed escaped, also under
``PYTHONIOENCODING=ascii``.  Manifests: the format comes from the extension or a
``path`` header, entries are kept as written, and a bad entry fails alone.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotrack.model.errors import ParameterError
from emotrack.realtime.analysis import AUDIO_EXTENSIONS
from emotrack.realtime.cli import main
from emotrack.realtime.outputs.names import name_inputs, read_manifest

ODD = {b"..wav": "..wav", b".wav": ".wav", b"\xff\xfe.wav": "\udcff\udcfe",
       b"new\nline.wav": "new\nline", b"esc\x1b[2J.wav": "esc\x1b[2J", b"-dash.wav": "-dash",
       b"y" * 251 + b".wav": None}
"""File name -> expected output name (None: cut and hashed, it is too long to keep)."""


def _wav(path: bytes | str | Path, seconds: float = 1.5) -> None:
    t = np.arange(int(seconds * 16000)) / 16000
    data = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    tmp = Path(os.fsdecode(path)).with_name("tmp-song.wav")  # soundfile guesses by extension
    sf.write(tmp, data, 16000)
    os.rename(tmp, path)


@pytest.fixture
def odd_music(tmp_path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    for name in ODD:
        _wav(os.path.join(os.fsencode(folder), name))
    return folder


def test_every_odd_name_is_analysed_into_every_format(odd_music, tmp_path, tiny_checkpoint, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.dataset as ds

    out = tmp_path / "out"
    rc = main(["analyze", str(odd_music), "--out", str(out), "--checkpoint", str(tiny_checkpoint),
               "--format", "csv,json,parquet"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    names = os.listdir(out)
    for raw, stem in ODD.items():
        if stem is None:  # 251 bytes + ".emotrack.json" would pass NAME_MAX: cut, with a hash
            long = [n for n in names if n.startswith("y" * 200)]
            assert len(long) == 2 and all(len(os.fsencode(n)) <= 255 for n in long)
        else:
            assert f"{stem}.emotrack.csv" in names and f"{stem}.emotrack.json" in names, stem
    # printed escaped: one line per file, no raw newline or escape character
    lines = captured.out.splitlines()
    assert len(lines) == len(ODD) and "\x1b" not in captured.out + captured.err
    assert any("new\\nline" in ln for ln in lines) and any("esc\\x1b[2J" in ln for ln in lines)
    assert any("\\xff\\xfe" in ln for ln in lines)
    (model,) = [p for p in (out / "catalog").iterdir() if p.name != "failures"]
    stored = ds.dataset(model / "tracks").to_table().column("name").to_pylist()
    assert len(stored) == len(ODD) and "\\xff\\xfe" in stored and "new\nline" in stored
    assert isinstance(pa, object)


def test_names_print_under_an_ascii_or_c_locale_without_a_traceback(odd_music, tmp_path,
                                                                    tiny_checkpoint):
    _wav(odd_music / "été.wav")
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LANG": "C", "LC_ALL": "C"}
    proc = subprocess.run([sys.executable, "-m", "emotrack.realtime.cli", "analyze", str(odd_music),
                           "--out", str(tmp_path / "out"), "--checkpoint", str(tiny_checkpoint),
                           "--format", "csv"], env=env, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    assert b"Traceback" not in proc.stderr
    assert b"\\xe9t\\xe9" in proc.stdout and b"\\xff\\xfe" in proc.stdout


def test_listen_plays_and_records_a_file_whose_name_is_not_utf8(tmp_path, tiny_checkpoint, capsys):
    song = os.path.join(os.fsencode(tmp_path), b"\xff-song.wav")
    _wav(song, 2.0)
    record = os.path.join(os.fsencode(tmp_path), b"\xfe-rec.wav")
    rc = main(["listen", os.fsdecode(song), "--no-playback", "--fast", "--quiet",
               "--checkpoint", str(tiny_checkpoint), "--csv", str(tmp_path / "o.csv"),
               "--record", os.fsdecode(record)])
    assert rc == 0, capsys.readouterr().err
    assert sf.info(record).frames == 2 * 16000  # bytes: soundfile encodes str strictly
    assert (tmp_path / "o.csv").read_text().count("\n") == 1 + 4


def test_a_path_over_4096_bytes_fails_alone(tmp_path, tiny_checkpoint, capsys):
    music = tmp_path / "music"
    music.mkdir()
    _wav(music / "ok.wav")
    fd = os.open(music, os.O_RDONLY)
    try:  # a tree deeper than PATH_MAX, built relative to open folders
        for i in range(20):
            name = f"{i:02d}" + "d" * 240
            os.mkdir(name, dir_fd=fd)
            new = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = new
    finally:
        os.close(fd)
    rc = main(["analyze", str(music), "--out", str(tmp_path / "out"), "--checkpoint",
               str(tiny_checkpoint), "--quiet", "--format", "csv"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err and "1 of 2 file(s) failed" in err
    assert (tmp_path / "out" / "ok.emotrack.csv").is_file()


def _entries(path: Path) -> list[str]:
    return read_manifest(path)


def test_a_comma_in_a_file_name_does_not_make_a_manifest_csv(tmp_path):
    text = tmp_path / "list.txt"
    text.write_text("Artist, Title.wav\n  leading space.wav\ntrailing space.wav \n# comment\n\n"
                    "#1 is a comment too\n")
    assert _entries(text) == ["Artist, Title.wav", "  leading space.wav", "trailing space.wav "]


def test_a_csv_manifest_is_decided_by_extension_or_header(tmp_path):
    csv = tmp_path / "list.csv"
    csv.write_text('path,comment\n"a, b.wav",x\n"two\nlines.wav",y\n  spaced.wav,z\n')
    assert _entries(csv) == ["a, b.wav", "two\nlines.wav", "  spaced.wav"]
    header = tmp_path / "list.txt"
    header.write_text('path\tnote\n"tab\tname.wav"\tx\n')
    assert _entries(header) == ["tab\tname.wav"]
    headless = tmp_path / "plain.csv"
    headless.write_text("first.wav,extra\n")
    assert _entries(headless) == ["first.wav"]


def test_bad_manifest_entries_fail_alone(tmp_path):
    manifest = tmp_path / "list.csv"
    long = "x" * 200_000 + ".wav"
    manifest.write_text(f'path\n"nul\0.wav"\n.\n/\n..\n{long}\ngood.wav\n')
    rejected: list[str] = []
    named = name_inputs([], extensions=AUDIO_EXTENSIONS, manifests=[manifest], rejected=rejected)
    assert [n.name for n in named] == ["good"]
    assert len(rejected) == 5 and all(f"'{manifest}' line" in r for r in rejected)
    assert "NUL" in rejected[0] and "too long" in rejected[4]
    with pytest.raises(ParameterError, match="NUL"):
        name_inputs([], extensions=AUDIO_EXTENSIONS, manifests=[manifest])


def test_bad_manifest_entries_fail_alone_through_the_cli(tmp_path, tiny_checkpoint, capsys):
    _wav(tmp_path / "good.wav")
    manifest = tmp_path / "list.txt"
    manifest.write_text("good.wav\n/\n.\n")
    rc = main(["analyze", "--manifest", str(manifest), "--out", str(tmp_path / "out"),
               "--checkpoint", str(tiny_checkpoint), "--quiet", "--format", "csv"])
    err = capsys.readouterr().err
    assert rc == 1 and "2 of 3 file(s) failed" in err and "Traceback" not in err
    assert (tmp_path / "out" / "good.emotrack.csv").is_file()


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_a_manifest_that_is_not_a_regular_file_is_refused_without_waiting(tmp_path, kind):
    path = tmp_path / "list.txt"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path = Path("/dev/zero")
    box: dict = {}

    def read():
        try:
            read_manifest(path)
        except ParameterError as exc:
            box["error"] = str(exc)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(20)
    assert not t.is_alive(), "blocked on the manifest"
    assert "not a regular file" in box["error"] or "folder" in box["error"]


def test_printable_escapes_what_could_forge_a_line_or_drive_a_terminal():
    from emotrack.realtime.printable import printable

    assert printable("a\nb\rc\x1b[2J\x07\x9b\u2028\u202e" + os.fsdecode(b"\xff")) == \
        "a\\nb\\rc\\x1b[2J\\x07\\x9b\\u2028\\u202e\\xff"
    assert printable("été ♪ 日本") == "été ♪ 日本"


def test_a_linked_album_folder_is_said_not_silently_skipped(tmp_path, tiny_checkpoint, capsys):
    """Issue 23 class 5: links to folders inside a folder are not followed (a loop, a second copy
    of a collection), and analyze says so, one note per link; the real files are analysed."""
    music = tmp_path / "music"
    (music / "album").mkdir(parents=True)
    _wav(music / "album" / "a.wav")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _wav(elsewhere / "b.wav")
    os.symlink(elsewhere, music / "linked-album")
    assert main(["analyze", str(music), "--out", str(tmp_path / "out"), "--format", "csv",
                 "--checkpoint", str(tiny_checkpoint), "--quiet"]) == 0
    err = capsys.readouterr().err
    notes = [ln for ln in err.splitlines() if "linked-album" in ln]
    assert len(notes) == 1 and "note:" in notes[0] and "link to a folder" in notes[0]
    assert (tmp_path / "out" / "album" / "a.emotrack.csv").is_file()
    assert not list((tmp_path / "out").rglob("b.emotrack.csv"))
