"""Fixtures of the bad-input suite: broken, odd and extreme audio files (reusable by any front end).

``bad_audio_files`` yields ``{name: path}`` for every case below, generated in a
temporary folder (nothing depends on files outside the repository).  Each case
is also described in :data:`BAD_AUDIO_CASES` with whether it is an *error* (the
job must fail with a one-line message naming the file) or an *edge* case that
must work (documented in docs/hardening.md).

``two_hour_wav`` (module scope, built only when asked for) is a 2-hour WAV
written block by block, so generating it never holds the audio in memory.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SR = 22050

#: name -> (kind, what it is).  kind "error": the job fails for this file with a one-line
#: message naming it; kind "edge": not an error, the file is analysed (see docs/hardening.md).
BAD_AUDIO_CASES: dict[str, tuple[str, str]] = {
    "empty_wav": ("error", "a valid WAV header with 0 samples"),
    "zero_bytes": ("error", "a 0-byte file named .wav"),
    "truncated_mp3": ("error", "an MP3 cut after its first 300 bytes (inside the first frame)"),
    "truncated_ogg": ("error", "an Ogg Vorbis file cut after 2 kB (inside its headers)"),
    "text_as_wav": ("error", "a text file named .wav"),
    "nan_inf_wav": ("error", "a 32-bit float WAV holding NaN and +/-Inf samples"),
    "one_sample": ("edge", "a WAV of 1 sample: 0 frames, said so, no output"),
    "silence_ogg": ("edge", "10 s of digital silence in Ogg Vorbis (like Wesnoth's silence.ogg)"),
    "rate_8k": ("edge", "3 s at 8 kHz"),
    "rate_192k": ("edge", "3 s at 192 kHz"),
    "six_channels": ("edge", "3 s of 5.1 audio (6 channels)"),
    "unicode_path": ("edge", "3 s in a folder with spaces and non-ASCII letters"),
    "cut_mp3_tail": ("edge", "an MP3 cut in the middle of its audio: the decodable part is used"),
}


def tone(seconds: float, sr: int, *, channels: int = 1, freq: float = 440.0) -> np.ndarray:
    """A quiet sine with a little seeded noise, shape (n, channels), float32."""
    t = np.arange(int(round(seconds * sr))) / sr
    x = 0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * np.random.default_rng(3).standard_normal(t.size)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def write_bad_audio_files(folder: Path) -> dict[str, Path]:
    """Create every case of :data:`BAD_AUDIO_CASES` in ``folder``; returns name -> path."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}

    def path(name: str, ext: str) -> Path:
        out[name] = folder / f"{name}.{ext}"
        return out[name]

    sf.write(path("empty_wav", "wav"), np.zeros((0, 1), np.float32), SR)
    path("zero_bytes", "wav").write_bytes(b"")
    full_mp3 = folder / "full.mp3.tmp"
    sf.write(full_mp3, tone(4.0, SR), SR, format="MP3")
    data = full_mp3.read_bytes()
    path("truncated_mp3", "mp3").write_bytes(data[:300])
    path("cut_mp3_tail", "mp3").write_bytes(data[: len(data) // 2])
    full_mp3.unlink()
    full_ogg = folder / "full.ogg.tmp"
    sf.write(full_ogg, tone(4.0, SR), SR, format="OGG", subtype="VORBIS")
    path("truncated_ogg", "ogg").write_bytes(full_ogg.read_bytes()[:2048])
    full_ogg.unlink()
    path("text_as_wav", "wav").write_text("this is not audio, just text with a .wav name\n")
    bad = tone(3.0, SR)
    bad[1000, 0], bad[2000, 0], bad[3000, 0] = np.nan, np.inf, -np.inf
    sf.write(path("nan_inf_wav", "wav"), bad, SR, subtype="FLOAT")
    sf.write(path("one_sample", "wav"), np.full((1, 1), 0.1, np.float32), SR)
    # Wesnoth ships 10 s of digital silence as data/core/music/silence.ogg (package
    # wesnoth-1.16-music, 44.1 kHz stereo Vorbis); this is the same thing, generated.
    sf.write(path("silence_ogg", "ogg"), np.zeros((10 * 44100, 2), np.float32), 44100,
             format="OGG", subtype="VORBIS")
    sf.write(path("rate_8k", "wav"), tone(3.0, 8000), 8000)
    sf.write(path("rate_192k", "wav"), tone(3.0, 192000), 192000)
    sf.write(path("six_channels", "wav"), tone(3.0, SR, channels=6), SR)
    odd = folder / "dir with spaces" / "Émotions ♪ 音楽"
    odd.mkdir(parents=True)
    out["unicode_path"] = odd / "chanson d'été ♫ 1.wav"
    sf.write(out["unicode_path"], tone(3.0, SR), SR)
    return out


@pytest.fixture(scope="session")
def bad_audio_folder(tmp_path_factory) -> dict[str, Path]:
    return write_bad_audio_files(tmp_path_factory.mktemp("bad-audio"))


@pytest.fixture
def bad_audio_files(bad_audio_folder) -> dict[str, Path]:
    """name -> path of each case in :data:`BAD_AUDIO_CASES` (shared, read-only: copy to modify)."""
    return dict(bad_audio_folder)


def write_long_wav(path: Path, seconds: float, *, sr: int = 8000, block_s: float = 60.0) -> Path:
    """A long mono 16-bit WAV written block by block (memory stays at one block)."""
    import soundfile as sf

    block = tone(block_s, sr)[:, 0]
    left = int(seconds * sr)
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
    return path


@pytest.fixture(scope="module")
def two_hour_wav(tmp_path_factory) -> Path:
    """2 hours of 8 kHz mono 16-bit audio (115 MB), written block by block."""
    return write_long_wav(tmp_path_factory.mktemp("long") / "two hours.wav", 2 * 3600.0)


def write_bad_emomusic_dataset(root: Path, audio: dict[str, Path]) -> dict[str, str]:
    """An emoMusic-layout dataset whose songs use the given files, plus broken rows.

    Songs 1..n take the files of ``audio`` (in order), development split; songs
    101-103 are good 20 s tones (101, 102 development, 103 evaluation); song 104
    has no audio file; song 105 has a non-numeric rating and song 106 a
    songs_info row with too few fields.  Ratings cover 15.0-19.5 s.

    Returns
    -------
    dict
        song id -> what it is (the audio case name, "good", "missing audio",
        "malformed rating", "malformed songs_info row").
    """
    import shutil

    import soundfile as sf

    ann, clips = root / "annotations", root / "clips_45seconds"
    ann.mkdir(parents=True)
    clips.mkdir()
    cols = [f"sample_{ms}ms" for ms in range(15000, 20000, 500)]
    songs: dict[str, str] = {}
    info_rows = []
    for i, (name, src) in enumerate(audio.items(), start=1):
        shutil.copyfile(src, clips / f"{i}{src.suffix}")
        songs[str(i)] = name
        info_rows.append(f'{i},"\t{i}{src.suffix}","A","T","0","0","G","development"')
    for sid, split in (("101", "development"), ("102", "development"), ("103", "evaluation")):
        sf.write(clips / f"{sid}.wav", tone(20.0, 8000, freq=200.0 + int(sid)), 8000)
        songs[sid] = "good"
        info_rows.append(f'{sid},"{sid}.wav","A","T","0","0","G","{split}"')
    songs["104"] = "missing audio"
    info_rows.append('104,"104.wav","A","T","0","0","G","development"')
    songs["105"] = "malformed rating"
    info_rows.append('105,"101.wav","A","T","0","0","G","development"')
    songs["106"] = "malformed songs_info row"
    info_rows.append('106,"101.wav","A"')
    header = '"song_id","file_name","Artist","Song title","start of the segment (min.sec)",' \
             '"end of the segment (min.sec)","Genre","Mediaeval 2013 set"'
    (ann / "songs_info.csv").write_text("\n".join([header, *info_rows]) + "\n")
    rng = np.random.default_rng(0)
    for dim in ("arousal", "valence"):
        lines = ["song_id," + ",".join(cols)]
        for sid in songs:
            values = [f"{v:.3f}" for v in rng.uniform(-0.5, 0.5, len(cols))]
            if songs[sid] == "malformed rating":
                values[3] = "oops"
            lines.append(sid + "," + ",".join(values))
        (ann / f"{dim}_cont_average.csv").write_text("\n".join(lines) + "\n")
    return songs


@pytest.fixture
def bad_emomusic_dataset(tmp_path, bad_audio_files) -> tuple[Path, dict[str, str]]:
    """(root, song id -> case) of :func:`write_bad_emomusic_dataset` over every bad file."""
    files = {k: v for k, v in bad_audio_files.items() if k != "unicode_path"}
    root = tmp_path / "emomusic bad"
    return root, write_bad_emomusic_dataset(root, files)
