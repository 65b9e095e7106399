"""The engine against a real PulseAudio server: system audio, virtual mic, playback, faults.

No timing thresholds: latencies are reported by the benchmark, not asserted.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from fixtures_realtime import FakeTracker
from emotrack.model.errors import DeviceError
from emotrack.realtime import cli
from emotrack.realtime.engine import Engine, EngineConfig
from emotrack.realtime.sources import FileSource, MicSource, SystemAudioSource

pytestmark = pytest.mark.audio_server

SR = 44100
REPO = Path(__file__).resolve().parents[1]


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


def _best_lag(piece: np.ndarray, captured: np.ndarray) -> int:
    size = 1 << int(np.ceil(np.log2(2 * captured.size)))
    xc = np.fft.irfft(np.fft.rfft(captured, size) * np.conj(np.fft.rfft(piece, size)), size)
    return int(np.argmax(xc[: captured.size - piece.size + 1]))


def piecewise_alignment(reference: np.ndarray, captured: np.ndarray, *, piece: int = 2205):
    """Find each 50 ms piece of ``reference`` in ``captured``.

    Returns (r, offset) per piece: Pearson r at the best lag and ``lag - start``
    (how far the piece sits later in ``captured`` than in ``reference``).  Under CPU
    load the player's stream can underrun and the audio server then plays silence
    in between, so the heard audio is the played audio with gaps: offsets grow at
    each gap, and only a piece straddling a gap fails to match.
    """
    out = []
    for start in range(0, reference.size - piece + 1, piece):
        seg = reference[start:start + piece]
        lag = _best_lag(seg, captured)
        out.append((float(np.corrcoef(seg, captured[lag:lag + piece])[0, 1]), lag - start))
    return out


def assert_heard_in_order(reference: np.ndarray, captured: np.ndarray) -> None:
    """Every piece of ``reference`` was heard, in order, except pieces cut by a playback gap."""
    pieces = piecewise_alignment(reference, captured)
    good = [(i, off) for i, (r, off) in enumerate(pieces) if r > 0.99]
    offsets = [off for _, off in good]
    assert len(good) >= 0.9 * len(pieces), f"only {len(good)} of {len(pieces)} pieces heard"
    assert all(b >= a - 2 for a, b in zip(offsets, offsets[1:])), \
        f"heard out of order or with audio missing: offsets {offsets}"
    jumps = sum(1 for a, b in zip(offsets, offsets[1:]) if b > a + 2)
    # the very first piece may be slightly altered by the stream's start (measured r 0.986)
    edges = sum(1 for i in (0, len(pieces) - 1) if pieces[i][0] <= 0.99)
    assert len(pieces) - len(good) <= 2 * jumps + edges, \
        f"{len(pieces) - len(good)} pieces unheard but only {jumps} gap(s): {pieces}"


def mono(path) -> np.ndarray:
    x, _ = sf.read(path, dtype="float32", always_2d=True)
    return x.mean(axis=1)


def capture_while(server, source, wav, sink, tmp_path, *, after_s: float = 0.6, tracker=None):
    """Run an engine on ``source`` recording what it analyses while paplay plays ``wav``."""
    rec = tmp_path / "captured.wav"
    engine = Engine(source, tracker or FakeTracker(), EngineConfig(record_path=str(rec)))
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
    levels = np.array([r.arousal for r in results if not r.silent])  # silent frames have no value
    assert levels.max() - levels.min() > 0.1


def test_default_tracker_live_capture_equals_offline_causal_analysis(pulse_server, tmp_path):
    """Real music through a real audio server into the default (musicnn) tracker: every live
    result equals ``analyze --mode causal`` of the audio the engine analysed (its --record tee)."""
    import torch

    from emotrack.model.musicnn_tracker import TOLERANCE
    from emotrack.model.trackers import load_tracker
    from emotrack.realtime.analysis import analyze_file

    torch.set_num_threads(1)  # as listen does
    demo, sr = sf.read(REPO / "assets" / "demo" / "revelation-excerpt.ogg", dtype="float32")
    wav = tmp_path / "demo.wav"
    sf.write(wav, demo[: int(5.0 * sr)], sr)
    tracker = load_tracker(device="cpu")
    assert tracker.name == "musicnn"
    engine, live, rec = capture_while(pulse_server, SystemAudioSource("test.monitor"), wav, "test",
                                      tmp_path, after_s=1.0, tracker=tracker)
    assert engine.error is None and len(live) >= 10
    offline = analyze_file(rec, tracker, mode="causal")
    n = len(live)
    assert len(offline.values) >= n
    np.testing.assert_allclose([[r.arousal, r.valence] for r in live], offline.values[:n],
                               atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose([r.extras for r in live], offline.frames.extras[:n], atol=TOLERANCE)
    assert [r.warming_up for r in live] == list(offline.warming_up[:n])
    assert [r.silent for r in live] == list(offline.silent[:n])
    heard = [r for r in live if not r.silent]
    assert heard and all(r.mood and r.arousal_pct is not None for r in heard)


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
    listener = Engine(SystemAudioSource("test.monitor"), FakeTracker(),
                      EngineConfig(record_path=str(heard_rec)))
    heard = listener.subscribe()
    listener.start()
    try:
        assert heard.wait(5.0)
        monkeypatch.setenv("PULSE_SINK", "test")
        player = Engine(FileSource(known_wav, playback=True, device="pulse"), FakeTracker(),
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
    # ...and it is what was heard: every 50 ms of it, in order.  Not one global alignment:
    # under CPU load the player's stream can underrun (not always flagged to PortAudio) and
    # PulseAudio then plays silence in between, which shifts the rest of the file (r 0.6-0.7
    # over the whole file, while each piece still matches at r > 0.99).
    assert_heard_in_order(analysed, mono(heard_rec))


def test_killed_audio_server_ends_the_run_with_a_clear_error(killable_pulse_server):
    engine = Engine(SystemAudioSource("test.monitor"), FakeTracker())
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


def test_capture_delivers_20_ms_blocks_not_a_callback_storm(pulse_server):
    """Issue 21: with PortAudio's "low" latency alone the pulse device called back ~430
    times a second (~90 frames each), 6 % of a core in callbacks; the capture sources ask
    for blocks of ``block_s`` seconds."""
    import time

    from emotrack.realtime.ringbuffer import RingBuffer

    source = SystemAudioSource("test.monitor")
    source.open()
    sizes: list[int] = []

    class Recording(RingBuffer):
        def write(self, block, now):
            sizes.append(len(block))
            return super().write(block, now)

    source.start(Recording(source.sample_rate * 2, source.channels))
    try:
        deadline = time.monotonic() + 10
        while len(sizes) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        source.stop()
    expected = int(round(source.block_s * source.sample_rate))
    assert len(sizes) >= 20, "the monitor delivered fewer than 20 blocks in 10 s"
    assert set(sizes) == {expected}, sorted(set(sizes))
