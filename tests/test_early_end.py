"""A file cut short is analysed as far as it decodes, and ``analyze`` says how far (issue 13 item 7)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from emotrack.realtime.cli import main
from emotrack.model.early_end import early_end_note, ogg_is_cut

DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo" / "revelation-excerpt.ogg"
"""60 s of Ogg Vorbis music in the repository (GPL, see assets/demo/README.md)."""


@pytest.fixture(scope="module")
def cut_files(tmp_path_factory) -> dict[str, Path]:
    """The demo Ogg and 20 s of it as MP3 and FLAC, whole and cut in half (as a broken download)."""
    folder = tmp_path_factory.mktemp("cut")
    audio, sr = sf.read(DEMO, dtype="float32")
    files = {"ogg": DEMO}
    for ext, fmt, sub in (("mp3", "MP3", "MPEG_LAYER_III"), ("flac", "FLAC", "PCM_16")):
        files[ext] = folder / f"whole.{ext}"
        sf.write(files[ext], audio[: 20 * sr], sr, format=fmt, subtype=sub)
    for ext, whole in list(files.items()):
        data = whole.read_bytes()
        files[f"cut_{ext}"] = folder / f"cut.{ext}"
        files[f"cut_{ext}"].write_bytes(data[: len(data) // 2])
    return files


def analyze(path: Path, out: Path, checkpoint: Path, *extra: str) -> int:
    return main(["analyze", str(path), "--out", str(out), "--checkpoint", str(checkpoint),
                 "--format", "json", *extra])


@pytest.mark.parametrize("name, words, decoded", [
    ("cut_ogg", "; the file ends without the Ogg end-of-stream mark, so it was probably cut short",
     (25, 35)),
    ("cut_mp3", " of 20.0 s the header announces; the rest is unreadable", (8, 11)),
    # the block that ends in the decoder error is read again in small pieces (issue 23): the
    # audio up to the cut (~10.1 s of this 20-s file cut in half) is kept, not only whole blocks
    ("cut_flac", " of 20.0 s the header announces; the rest is unreadable (", (9.9, 10.2)),
])
def test_a_file_cut_short_says_how_much_was_analysed(name, words, decoded, cut_files, tmp_path,
                                                     tiny_checkpoint, capsys):
    assert analyze(cut_files[name], tmp_path, tiny_checkpoint) == 0
    out, err = capsys.readouterr()
    line = next(x for x in out.splitlines() if x.startswith(str(cut_files[name])))
    assert "decoded " in line and words in line, line
    doc = json.loads((tmp_path / "cut.emotrack.json").read_text())
    audio, note = doc["audio"], doc["decoding"]["note"]
    assert doc["decoding"]["complete"] is False and line.endswith(f"; {note}")
    assert decoded[0] <= audio["duration_s"] <= decoded[1]
    assert len(doc["frames"]) == round(audio["duration_s"] * 2)
    assert f"decoded {audio['duration_s']:.1f} s" in line
    # --quiet hides the per-file line, not the warning
    assert analyze(cut_files[name], tmp_path / "q", tiny_checkpoint, "--quiet") == 0
    out, err = capsys.readouterr()
    assert out == "" and err.strip() == f"emotrack: warning: {cut_files[name]}: {note}"


@pytest.mark.parametrize("name", ["ogg", "mp3", "flac"])
def test_a_whole_file_has_no_note(name, cut_files, tmp_path, tiny_checkpoint, capsys):
    assert analyze(cut_files[name], tmp_path, tiny_checkpoint, "--quiet") == 0
    assert capsys.readouterr().err == ""
    doc = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert doc["decoding"] == {"complete": True, "note": None, "decoder_note": None}


def test_ogg_end_of_stream_mark(cut_files, tmp_path):
    assert not ogg_is_cut(DEMO)
    assert ogg_is_cut(cut_files["cut_ogg"])
    data = DEMO.read_bytes()
    page = data.rfind(b"OggS")
    at_page_boundary = tmp_path / "boundary.ogg"  # whole pages, but not the last one
    at_page_boundary.write_bytes(data[:page])
    assert ogg_is_cut(at_page_boundary)


def test_early_end_note_tolerates_headers_a_frame_off():
    assert early_end_note("a.mp3", decoded_s=179.6, header_s=180.0, file_format="MP3") is None
    assert early_end_note("a.mp3", decoded_s=2.0, header_s=45.0, file_format="MP3") == (
        "decoded 2.0 s of 45.0 s the header announces; the rest is unreadable")
    assert early_end_note("a.wav", decoded_s=3.0, header_s=3.0, file_format="WAV",
                          error="unexpected end") == (
        "decoded 3.0 s, then the stream ends in an error (unexpected end)")
