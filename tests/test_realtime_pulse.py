"""The engine against a real PulseAudio server: system audio, virtual mic, playback, faults.

No timing thresholds: latencies are reported by the benchmark, not asserted.
"""
from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest
import soundfile as sf

from fixtures_realtime import FakePredictor
from emotrack.model.errors import DeviceError
from emotrack.realtime import cli
from emotrack.realtime.engine import Engine, EngineConfig
from emotrack.realtime.sources import FileSource, MicSource, SystemAudioSource

pytestmark = pytest.mark.audio_server

SR = 44100


@pytest.fixture
def known_wav(tmp_path):
    """2.5 s of chirp + seeded noise: easy to align by cross-correlation."""
    t = np.arange(int(2.5 * SR)) / SR
    x = 0.4 * np.sin(2 * np.pi * (200 * t + 900 * t ** 2))
    x += 0.1 * np.random.default_rng(7).standard_normal(t.size)
    path = tmp_path / "known.wav"
    sf.write(path, x.astype(np.float32), SR, subtype="FLOAT")
    return path


def aligned_correlation(reference: np.ndarray, captured: np.ndarray) -> float:
    """Pearson r between ``reference`` and the best-aligned slice of ``captured``."""
    n = reference.size
    assert captured.size >= n, "captured less audio than was played"
    size = 2 * captured.size
    xc = np.fft.irfft(np.fft.rfft(captured, size) * np.conj(np.fft.rfft(reference, size)), size)
    lag = int(np.argmax(xc[: captured.size - n + 1]))
    return float(np.corrcoef(reference, captured[lag:lag + n])[0, 1])


def mono(path) -> np.ndarray:
    x, _ = sf.read(path, dtype="float32", always_2d=True)
    return x.mean(axis=1)


def capture_while(server, source, wav, sink, tmp_path, *, after_s: float = 0.6):
    """Run an engine on ``source`` recording what it analyses while paplay plays ``wav``."""
    rec = tmp_path / "captured.wav"
    engine = Engine(source, FakePredictor(), EngineConfig(record_path=str(rec)))
    sub = engine.subscribe()
    engine.start()
    try:
        assert sub.wait(5.0), "no result within 5 s: audio is not arriving"
        subprocess.run(["paplay", f"--device={sink}", str(wav)], env=server.env, check=True,
                       timeout=30)
        time.sleep(after_s)
    finally:
        assert engine.stop()
    return engine, sub.drain(), rec


def test_system_audio_monitor_gives_results_of_what_plays(pulse_server, known_wav, tmp_path):
    source = SystemAudioSource("test.monitor")
    engine, results, rec = capture_while(pulse_server, source, known_wav, "test", tmp_path)
    assert engine.error is None
    m = engine.metrics()
    assert m.source_rate == SR and source.channels == 2
    assert len(results) >= 5 and m.results_out == m.frames_in == len(results)
    assert [r.frame_index for r in results] == list(range(len(results)))
    assert aligned_correlation(mono(known_wav), mono(rec)) > 0.99
    # the loud chirp shows up as a louder stretch in the frames the model saw
    levels = np.array([r.arousal for r in results])
    assert levels.max() - levels.min() > 0.1


def test_virtual_microphone_by_pulse_source_name(pulse_server, known_wav, tmp_path):
    source = MicSource("virtmic")
    engine, results, rec = capture_while(pulse_server, source, known_wav, "micfeed", tmp_path)
    assert engine.error is None and "virtmic" in source.description
    assert len(results) >= 5
    assert aligned_correlation(mono(known_wav), mono(rec)) > 0.99


def test_played_file_samples_are_the_analysed_samples(pulse_server, known_wav, tmp_path,
                                                      monkeypatch):
    """Play through sink ``test`` while capturing its monitor: what was analysed was heard."""
    heard_rec, analysed_rec = tmp_path / "heard.wav", tmp_path / "analysed.wav"
    listener = Engine(SystemAudioSource("test.monitor"), FakePredictor(),
                      EngineConfig(record_path=str(heard_rec)))
    heard = listener.subscribe()
    listener.start()
    try:
        assert heard.wait(5.0)
        monkeypatch.setenv("PULSE_SINK", "test")
        player = Engine(FileSource(known_wav, playback=True, device="pulse"), FakePredictor(),
                        EngineConfig(record_path=str(analysed_rec)))
        played = player.subscribe()
        player.start()
        assert player.finished.wait(15.0), "playback did not reach the end"
        assert player.stop()
        time.sleep(0.5)
    finally:
        assert listener.stop()
    assert player.error is None and listener.error is None
    analysed = mono(analysed_rec)
    np.testing.assert_array_equal(analysed, mono(known_wav))  # analysed == the whole file
    assert len(played.drain()) == 5
    assert aligned_correlation(analysed, mono(heard_rec)) > 0.99  # ...and it is what was heard


def test_killed_audio_server_ends_the_run_with_a_clear_error(killable_pulse_server):
    engine = Engine(SystemAudioSource("test.monitor"), FakePredictor())
    sub = engine.subscribe()
    engine.start()
    got = []
    while len(got) < 2:
        assert sub.wait(5.0), "no results before the kill"
        got += sub.drain()
    killable_pulse_server.kill()
    assert engine.finished.wait(10.0), "the run did not end after the server died"
    assert engine.stop()
    got += sub.drain()
    assert isinstance(engine.error, DeviceError)
    assert "test.monitor" in str(engine.error) and "audio server" in str(engine.error)
    assert len(got) >= 2 and [r.frame_index for r in got] == list(range(len(got)))
    assert engine.metrics().results_out == len(got)  # nothing computed was lost


def test_no_audio_server_is_a_one_line_cli_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/nothing-here")
    assert cli.main(["listen", "--source", "system"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("emotrack: error:") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
