"""A played file when no audio output can be opened: an error, or (``silent_fallback``,
what the GUI uses) the same analysis in sync without sound.  Against a real PulseAudio
server (an output that does not exist) and with no audio server at all."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from fixtures_realtime import FakeTracker
from emotrack.model.errors import DeviceError
from emotrack.realtime.engine import Engine, EngineConfig
from emotrack.realtime.sources import FileSource

SR = 22050


@pytest.fixture
def wav(tmp_path):
    x = 0.2 * np.random.default_rng(3).standard_normal(int(2.0 * SR)).astype(np.float32)
    path = tmp_path / "noise.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    return path


def run_to_end(source: FileSource, record) -> tuple[Engine, list]:
    engine = Engine(source, FakeTracker(), EngineConfig(record_path=str(record)))
    sub = engine.subscribe()
    engine.start()
    assert engine.finished.wait(30.0), "the file was not analysed to its end"
    assert engine.stop()
    return engine, sub.drain()


def assert_analysed_silently_in_sync(source, engine, results, wav, record, *, named: str):
    assert engine.error is None
    assert not source.playback and source.realtime  # paced like --no-playback, never --fast
    assert named in source.playback_problem and "no sound" in source.description
    assert [r.frame_index for r in results] == [0, 1, 2, 3]  # 2 s at 2 Hz, nothing lost
    np.testing.assert_array_equal(sf.read(record, dtype="float32")[0],
                                  sf.read(wav, dtype="float32")[0])  # every sample analysed


def test_no_audio_server_falls_back_to_silent_real_time_analysis(no_audio_server, wav, tmp_path):
    source = FileSource(wav, silent_fallback=True)
    engine, results = run_to_end(source, tmp_path / "analysed.wav")
    assert_analysed_silently_in_sync(source, engine, results, wav, tmp_path / "analysed.wav",
                                     named="the default audio output")


def test_no_audio_server_without_fallback_is_an_error_naming_the_option(no_audio_server, wav):
    with pytest.raises(DeviceError, match="--output NAME.INDEX.*--no-playback"):
        Engine(FileSource(wav), FakeTracker()).start()


@pytest.mark.audio_server
def test_an_output_the_server_lacks_falls_back_and_is_named(pulse_server, wav, tmp_path):
    source = FileSource(wav, device="no-such-output-xyz", silent_fallback=True)
    engine, results = run_to_end(source, tmp_path / "analysed.wav")
    assert_analysed_silently_in_sync(source, engine, results, wav, tmp_path / "analysed.wav",
                                     named="'no-such-output-xyz'")


@pytest.mark.audio_server
def test_a_working_output_plays_with_fallback_allowed(pulse_server, wav, tmp_path):
    source = FileSource(wav, silent_fallback=True)
    engine, results = run_to_end(source, tmp_path / "analysed.wav")
    assert engine.error is None and source.playback and source.playback_problem is None
    assert "playing" in source.description and len(results) == 4
