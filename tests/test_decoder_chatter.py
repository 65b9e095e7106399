"""The decoders' own text stays off the terminal; what matters becomes one emotrack note per file (issue 20.5)."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from emotrack.model.audio_io import BlockReader
from emotrack.model.decoder_chatter import DecoderChatter
from emotrack.realtime.cli import main

CHATTER = ("[src/libmpg123", "Note: Illegal", "Note: Trying", "Note: Skipped", "Warning: Xing")


@pytest.fixture(scope="module")
def mp3s(tmp_path_factory) -> dict[str, str]:
    """A clean MP3 and the same MP3 with a few bytes overwritten inside its audio (seeded)."""
    import soundfile as sf

    folder = tmp_path_factory.mktemp("mp3")
    sr = 44100
    t = np.arange(6 * sr) / sr
    x = (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    clean = folder / "clean.mp3"
    sf.write(clean, x, sr, format="MP3")
    data = bytearray(clean.read_bytes())
    rng = np.random.default_rng(0)
    for off in range(len(data) // 3, len(data) // 3 + 2000, 97):
        data[off:off + 8] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
    damaged = folder / "damaged.mp3"
    damaged.write_bytes(bytes(data))
    return {"clean": str(clean), "damaged": str(damaged)}


def test_damaged_mp3_makes_the_decoder_talk_and_the_reader_keeps_it(mp3s, capfd):
    reader = BlockReader(mp3s["damaged"])
    assert sum(len(b) for b in reader) > 0
    out, err = capfd.readouterr()
    assert reader.chatter.count > 0 and any("libmpg123" in ln for ln in reader.chatter.lines)
    assert err == "" and out == ""
    assert reader.note.startswith("the MP3 decoder reported damaged data")


def test_clean_mp3_analyse_prints_nothing_on_stderr(mp3s, tmp_path, capfd):
    assert main(["analyze", mp3s["clean"], "--out", str(tmp_path), "--format", "csv", "--quiet"]) == 0
    assert capfd.readouterr().err == ""


def test_damaged_mp3_gives_exactly_one_emotrack_note(mp3s, tmp_path, capfd):
    assert main(["analyze", mp3s["damaged"], "--out", str(tmp_path), "--format", "csv", "--quiet"]) == 0
    out, err = capfd.readouterr()
    assert not any(c in out + err for c in CHATTER), err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotrack: warning: ") and "MP3 decoder" in lines[0]
    assert "damaged.mp3" in lines[0]


def test_damaged_mp3_note_in_the_per_file_line(mp3s, tmp_path, capfd):
    assert main(["analyze", mp3s["damaged"], "--out", str(tmp_path), "--format", "json"]) == 0
    out, err = capfd.readouterr()
    assert not any(c in out + err for c in CHATTER)
    text = out + err
    assert text.count("MP3 decoder reported damaged data") == 1
    import json

    doc = json.loads((tmp_path / "damaged.emotrack.json").read_text())
    assert doc["decoding"]["decoder_note"].startswith("the MP3 decoder reported damaged data")
    assert doc["decoding"]["complete"] is True


def test_listen_damaged_mp3_one_note_after_the_summary(mp3s, capfd):
    assert main(["listen", mp3s["damaged"], "--no-playback", "--fast", "--quiet"]) == 0
    out, err = capfd.readouterr()
    assert not any(c in out + err for c in CHATTER)
    notes = [ln for ln in err.splitlines() if "decoder" in ln]
    assert len(notes) == 1 and notes[0].startswith("emotrack: note: ")


def test_other_text_written_during_decoding_still_reaches_stderr(capfd):
    chatter = DecoderChatter("MP3 decoder")
    with chatter.capture():
        os.write(2, b"[src/libmpg123/layer3.c:1] error: part2_3_length too large\n")
        t = threading.Thread(target=lambda: os.write(2, b"another thread's message\n"))
        t.start()
        t.join()
    err = capfd.readouterr().err
    assert err == "another thread's message\n"
    assert chatter.count == 1 and "part2_3_length" in chatter.note()


def test_nested_and_concurrent_captures_restore_stderr(capfd):
    a, b = DecoderChatter(), DecoderChatter()
    started, release = threading.Event(), threading.Event()

    def other() -> None:
        with b.capture():
            started.set()
            release.wait(5)
            os.write(2, b"Note: Illegal Audio-MPEG-Header 0x0 at offset 1.\n")

    t = threading.Thread(target=other)
    t.start()
    started.wait(5)
    with a.capture():
        os.write(2, b"Note: Trying to resync...\n")
    release.set()
    t.join()
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"
    assert a.count >= 1 and b.count >= 1


def test_without_a_stderr_decoding_still_works(tmp_path):
    import subprocess
    import sys

    code = ("import os; os.close(2)\n"
            "from emotrack.model.decoder_chatter import DecoderChatter\n"
            "c = DecoderChatter()\n"
            "with c.capture():\n    pass\n"
            "print('ok', c.count)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok 0"
