"""Crafted audio headers and samples, device files as input, failed writes: one line that
blames the right thing (issue 15 items 7 and 10, and the --record traceback of item 8).

Every place that opens audio (``analyze``'s ``audio_info``, ``listen``'s and the GUI's
``FileSource``, training's ``decode_audio``) checks the header through one validator,
:func:`emotrack.model.validate.check_audio_header`.
"""
from __future__ import annotations

import os
import struct

import numpy as np
import pytest
import soundfile as sf

from emotrack.model.errors import AudioFileError
from emotrack.realtime.analysis import audio_info
from emotrack.realtime.cli import main
from emotrack.realtime.sources import FileSource
from emotrack.train.cache import decode_audio
from fixtures_badinput import SR, tone
from limits import one_error_line, peak_address_space, run_cli_limited


def _patched_wav(path, *, rate=None, channels=None):
    """A 16-bit PCM WAV of 441000 samples (862 KB) whose header claims another rate/channel count."""
    sf.write(path, tone(441000 / SR, SR), SR, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    if rate is not None:
        data[24:28] = struct.pack("<I", rate)
        data[28:32] = struct.pack("<I", rate * 2)
    if channels is not None:
        data[22:24] = struct.pack("<H", channels)
    path.write_bytes(bytes(data))
    return path


def _mp3_claiming_years(path):
    """3 s of 8 kHz MP3 whose Xing header claims 2**32-1 frames (about 10 years)."""
    sf.write(path, tone(3.0, 8000), 8000, format="MP3")
    data = bytearray(path.read_bytes())
    at = max(data.find(b"Xing"), data.find(b"Info"))
    assert at > 0, "libsndfile wrote no Xing/Info header"
    data[at + 8:at + 12] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    assert sf.info(str(path)).frames / 8000 > 3e8  # the decoder believes it
    return path


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    d = tmp_path_factory.mktemp("crafted")
    return {
        "rate 1 Hz": _patched_wav(d / "rate1.wav", rate=1),
        "rate 999 Hz": _patched_wav(d / "rate999.wav", rate=999),
        "rate 2 MHz": _patched_wav(d / "rate2M.wav", rate=2_000_000),
        "1000 channels": _patched_wav(d / "ch1000.wav", channels=1000),
        "mp3 claiming years": _mp3_claiming_years(d / "years.mp3"),
    }


EXPECTED = {"rate 1 Hz": "sample rate 1 Hz is outside", "rate 999 Hz": "sample rate 999 Hz",
            "rate 2 MHz": "sample rate 2000000 Hz", "1000 channels": "channel count",
            "mp3 claiming years": "days of audio"}


def _opens(kind, path):
    if kind == "analyze":
        return audio_info(path)
    if kind == "listen/gui":
        src = FileSource(path, playback=False)
        try:
            return src.open()
        finally:
            src.stop()
    return decode_audio(path)


@pytest.mark.parametrize("kind", ["analyze", "listen/gui", "train"])
@pytest.mark.parametrize("case", list(EXPECTED))
def test_every_audio_opener_refuses_impossible_headers_naming_the_file(crafted, case, kind):
    with pytest.raises(AudioFileError, match=EXPECTED[case]) as err:
        _opens(kind, crafted[case])
    assert crafted[case].name in str(err.value)


def test_real_rates_and_lengths_still_open(tmp_path):
    for rate in (8000, 22050, 192000):
        path = tmp_path / f"r{rate}.wav"
        sf.write(path, tone(1.0, rate), rate)
        assert audio_info(path).sample_rate == rate
        assert decode_audio(path)[1] == rate


@pytest.mark.parametrize("argv", [["analyze", "FILE", "--out", "out", "--device", "cpu"],
                                  ["listen", "FILE", "--no-playback", "--fast", "--quiet"]])
def test_a_header_claiming_1_hz_fails_at_once_inside_a_memory_limit(crafted, tmp_path, argv):
    """On main an 862 KB WAV claiming 1 Hz became 441,000 s of audio: 2 GB and 92 s."""
    honest = tmp_path / "honest.wav"
    sf.write(honest, tone(30.0, SR), SR, subtype="PCM_16")  # about the crafted file's size
    base = run_cli_limited([str(honest) if a == "FILE" else a for a in argv], cwd=tmp_path)
    assert base.returncode == 0, base.stderr
    path = crafted["rate 1 Hz"]
    assert path.stat().st_size < 900_000
    proc = run_cli_limited([str(path) if a == "FILE" else a for a in argv], cwd=tmp_path,
                           address_space=peak_address_space(base) + 512 * 2**20, timeout=120)
    assert proc.returncode == 1
    line = one_error_line(proc)
    assert "rate1.wav" in line and "sample rate 1 Hz" in line


def _float_wav(path, *, value, at_s=3.0):
    x = tone(5.0, SR)
    x[int(at_s * SR):int(at_s * SR) + 100] = value
    sf.write(path, x, SR, subtype="FLOAT")
    return path


@pytest.mark.parametrize("value", [3e38, 1e30, 40000.0])
def test_huge_finite_samples_are_named_as_such_with_their_time(tmp_path, capsys, value):
    """On main 3e38 was reported as "frames contain NaN or infinite values" (no file, no time)
    and 1e30 was analysed into garbage without a word."""
    path = _float_wav(tmp_path / "loud.wav", value=value)
    assert main(["analyze", str(path), "--out", str(tmp_path / "out"), "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert "far outside [-1, 1]" in err and "first at 3.000 s" in err and "loud.wav" in err
    assert "NaN" not in err and "Warning" not in err
    assert main(["listen", str(path), "--no-playback", "--fast", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "far outside [-1, 1]" in err and "first at 3.000 s" in err and "NaN" not in err
    with pytest.raises(AudioFileError, match=r"far outside \[-1, 1\].*first at 3.000 s"):
        decode_audio(path)


def test_nan_samples_are_still_named_nan(tmp_path):
    path = _float_wav(tmp_path / "nan.wav", value=np.nan, at_s=1.5)
    with pytest.raises(AudioFileError, match=r"NaN or infinite samples \(100, first at 1.500 s\)"):
        decode_audio(path)


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.wav"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("argv", [["analyze", "IN", "--out", "out"], ["listen", "IN", "--no-playback"],
                                  ["gui", "IN"]])
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "FIFO"])
def test_a_device_or_pipe_as_input_is_called_that_not_missing(argv, device, fifo, tmp_path, capsys,
                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = str(fifo) if device == "FIFO" else device
    assert main([target if a == "IN" else a for a in argv]) == 1
    err = capsys.readouterr().err
    assert "not found" not in err and "does not exist" not in err
    assert ("is a pipe" if device == "FIFO" else "is a device") in err and target in err
    with pytest.raises(AudioFileError, match="is a pipe" if device == "FIFO" else "is a device"):
        decode_audio(fifo if device == "FIFO" else device)


@pytest.mark.parametrize("argv, limit, output", [
    (["listen", "SONG", "--no-playback", "--fast", "--quiet", "--record", "rec.wav"], 100_000, "rec.wav"),
    (["listen", "SONG", "--no-playback", "--fast", "--quiet", "--csv", "r.csv"], 500, "r.csv"),
    (["listen", "SONG", "--no-playback", "--fast", "--quiet", "--jsonl", "r.jsonl"], 500, "r.jsonl"),
    (["analyze", "SONG", "--out", "out", "--format", "json", "--device", "cpu"], 1500, "song.emotrack.json"),
])
def test_a_failed_write_names_the_file_it_could_not_write(tmp_path, argv, limit, output):
    """The disk filling up (here: a file size limit) ends the run with one line naming the
    output; on main --record printed a traceback and --csv said only "File too large"."""
    song = tmp_path / "song.wav"
    sf.write(song, tone(20.0, SR), SR)
    argv = [str(song) if a == "SONG" else a for a in argv]
    proc = run_cli_limited(argv, cwd=tmp_path, file_size=limit, timeout=120)
    assert proc.returncode == 1, proc.stderr
    line = one_error_line(proc)
    assert output in line and "cannot write" in line
