"""Issue 23, classes 9 and 10: valid files that were refused or cut, and decode blocks bounded
by what a file is.

Every file is made here from generated audio: a chained Ogg is two Ogg files' bytes
concatenated (what stream recorders write), a cut FLAC is the first part of a FLAC file's
bytes, a corrupted Ogg has a run of its audio pages zeroed.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotrack.model import audio_io
from emotrack.model.audio_io import MAX_BLOCK_VALUES, BlockReader, audio_info
from emotrack.model.ogg_pages import OggLink, ogg_links
from emotrack.model.validate import UNKNOWN_FRAMES, check_audio_header
from emotrack.realtime.cli import main

SR = 22050


def tone(seconds: float, sr: int = SR, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    x = 0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * np.random.default_rng(int(freq)).standard_normal(t.size)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def ogg(path: Path, seconds: float, *, sr: int = SR, freq: float = 440.0) -> Path:
    sf.write(path, tone(seconds, sr, freq), sr, format="OGG", subtype="VORBIS")
    return path


def chain(tmp_path: Path, *parts: Path) -> Path:
    out = tmp_path / "chained.ogg"
    out.write_bytes(b"".join(p.read_bytes() for p in parts))
    return out


def analyze_json(tmp_path: Path, path: Path, capsys) -> tuple[dict, str]:
    rc = main(["analyze", str(path), "--out", str(tmp_path / "out"), "--format", "json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "Traceback" not in captured.err
    doc = json.loads((tmp_path / "out" / f"{path.stem}.emotrack.json").read_text())
    return doc, captured.out + captured.err


def test_a_chained_ogg_is_analysed_to_its_end(tmp_path, capsys):
    path = chain(tmp_path, ogg(tmp_path / "a.ogg", 5.0, freq=300.0), ogg(tmp_path / "b.ogg", 5.0, freq=900.0))
    assert len(ogg_links(path)) == 2
    assert audio_info(path).duration_s == pytest.approx(10.0, abs=0.01)
    reader = BlockReader(path)
    decoded = np.concatenate(list(reader))
    assert reader.early_end is None
    assert len(decoded) == pytest.approx(10.0 * SR, abs=2)
    # the second half is the second stream's audio, not the first one's again
    second = sf.read(tmp_path / "b.ogg", dtype="float32", always_2d=True)[0]
    np.testing.assert_allclose(decoded[-len(second):], second, atol=1e-6)
    doc, _ = analyze_json(tmp_path, path, capsys)
    assert doc["decoding"]["complete"] is True
    assert len(doc["frames"]) == 20


def test_a_chain_whose_second_stream_has_another_rate_says_what_was_left_out(tmp_path, capsys):
    path = chain(tmp_path, ogg(tmp_path / "a.ogg", 5.0), ogg(tmp_path / "b.ogg", 5.0, sr=44100))
    doc, _ = analyze_json(tmp_path, path, capsys)
    assert doc["decoding"]["complete"] is False
    assert "stream 2 of the 2 chained Ogg streams has 44100 Hz" in doc["decoding"]["note"]
    assert len(doc["frames"]) == 10


def test_an_unknown_length_is_not_a_corrupt_header(tmp_path, monkeypatch):
    assert check_audio_header("x.ogg", sample_rate=44100, channels=2, frames=UNKNOWN_FRAMES).frames == 0
    path = chain(tmp_path, ogg(tmp_path / "a.ogg", 3.0), ogg(tmp_path / "b.ogg", 2.0))
    real_info = sf.info

    class Unknown:  # what some libsndfile builds report for a chained Ogg
        def __init__(self, p):
            i = real_info(p)
            self.samplerate, self.channels, self.format, self.frames = (
                i.samplerate, i.channels, i.format, UNKNOWN_FRAMES)

    monkeypatch.setattr(sf, "info", Unknown)
    info = audio_info(path)  # main: "claims 2420680071 days ... header is corrupt"
    assert info.duration_s == pytest.approx(5.0, abs=0.01)


def test_a_flac_cut_in_its_audio_is_analysed_as_far_as_it_decodes(tmp_path, capsys):
    full = tmp_path / "full.flac"
    sf.write(full, tone(10.0), SR, format="FLAC")
    cut = tmp_path / "cut.flac"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    reader = BlockReader(cut)
    decoded = np.concatenate(list(reader))
    assert 2.0 * SR < len(decoded) < 10.0 * SR
    reference = sf.read(full, dtype="float32", always_2d=True)[0]
    np.testing.assert_array_equal(decoded, reference[:len(decoded)])  # what decodes is right
    doc, text = analyze_json(tmp_path, cut, capsys)
    assert doc["decoding"]["complete"] is False
    assert "of 10.0 s the header announces" in doc["decoding"]["note"]
    assert len(decoded) * 2 // SR <= len(doc["frames"]) <= len(decoded) * 2 // SR + 1


def test_a_corrupted_ogg_is_not_called_complete(tmp_path, capsys):
    path = tmp_path / "c.ogg"
    t = np.arange(10 * SR) / SR
    sf.write(path, (0.3 * np.sin(2 * np.pi * 300.0 * t)).astype(np.float32), SR, format="OGG",
             subtype="VORBIS")
    data = bytearray(path.read_bytes())
    start = len(data) // 4
    data[start:start + 2000] = bytes(2000)  # a damaged run of audio pages
    path.write_bytes(bytes(data))
    assert sf.info(path).frames < 9.0 * SR  # libsndfile's own length stops at the damage too
    reader = BlockReader(path)
    decoded = sum(len(b) for b in reader)
    assert decoded < 9.0 * SR  # libsndfile stops at the damage without an error
    doc, _ = analyze_json(tmp_path, path, capsys)
    assert doc["decoding"]["complete"] is False
    assert "10.0 s the Ogg pages announce" in doc["decoding"]["note"]


def test_an_intact_ogg_is_complete(tmp_path, capsys):
    doc, _ = analyze_json(tmp_path, ogg(tmp_path / "fine.ogg", 6.0), capsys)
    assert doc["decoding"] == {"complete": True, "note": None, "decoder_note": None}


def test_pages_of_a_stream_cut_from_a_longer_one_are_not_trusted():
    link = OggLink(0, 100, first_granule=3_600 * SR, last_granule=3_610 * SR)
    assert link.announced(start_limit=10 * SR) is None
    assert OggLink(0, 100, first_granule=4096, last_granule=10 * SR).announced(start_limit=10 * SR) == 10 * SR


@pytest.mark.parametrize("sr, channels", [(768_000, 64), (192_000, 6), (48_000, 2), (8_000, 1)])
def test_decode_blocks_are_bounded_in_samples_times_channels(tmp_path, sr, channels):
    path = tmp_path / f"{sr}-{channels}.wav"
    sf.write(path, tone(0.2 if channels > 8 else 12.0, sr, channels=channels), sr, subtype="FLOAT")
    reader = BlockReader(path)
    blocks = list(reader)
    assert max(b.size for b in blocks) <= MAX_BLOCK_VALUES
    expected = min(int(audio_io.BLOCK_SECONDS * sr), MAX_BLOCK_VALUES // channels)
    assert len(blocks[0]) == min(expected, reader.samples_read)
    assert reader.samples_read == sf.info(path).frames and reader.early_end is None
