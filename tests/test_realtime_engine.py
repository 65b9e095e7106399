"""The engine with a file source (no audio device needed) and a fake predictor."""
from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf

from conftest import SHARED
from fixtures_realtime import FakeTracker
from emotrack.model.errors import AudioFileError, DeviceError
from emotrack.model.features import CAE_SPEC, mel_frames
from emotrack.realtime.engine import Engine, EngineConfig
from emotrack.realtime.sources import FileSource, MicSource

CLIP = SHARED / "data" / "emomusic-mini" / "clips_45seconds" / "10.mp3"
#: dB; streaming soxr vs one-shot soxr differ by float rounding only (measured max 4e-4 dB)
FRAME_ATOL_DB = 1e-2


@pytest.fixture
def wav(tmp_path):
    """6.3 s of stereo chirp + noise at 22.05 kHz (exercises resampling and mixdown)."""
    sr = 22050
    t = np.arange(int(6.3 * sr)) / sr
    rng = np.random.default_rng(3)
    left = 0.3 * np.sin(2 * np.pi * (100 * t + 300 * t ** 2)) + 0.05 * rng.standard_normal(t.size)
    right = 0.2 * rng.standard_normal(t.size)
    path = tmp_path / "chirp.wav"
    sf.write(path, np.stack([left, right], 1).astype(np.float32), sr, subtype="FLOAT")
    return path


def run_to_end(engine: Engine, timeout: float = 60.0) -> None:
    engine.start()
    assert engine.finished.wait(timeout), "the run did not end"
    assert engine.stop()


def test_fast_file_gives_exactly_the_offline_frames_in_order():
    if not CLIP.is_file():
        pytest.skip(f"clip not found: {CLIP}")
    pred = FakeTracker()
    engine = Engine(FileSource(CLIP, playback=False, realtime=False), pred)
    sub = engine.subscribe(maxlen=10_000)
    run_to_end(engine)
    assert engine.error is None
    audio, sr = sf.read(CLIP, dtype="float32")
    offline = mel_frames(audio, sr, CAE_SPEC)
    streamed = np.stack(pred.frames)
    assert streamed.shape == offline.shape == (90, 96)
    np.testing.assert_allclose(streamed, offline, rtol=0, atol=FRAME_ATOL_DB)
    results = sub.drain()
    assert [r.frame_index for r in results] == list(range(90))
    assert [r.time_s for r in results] == pytest.approx([(k + 1) * 0.5 for k in range(90)])
    assert all(r.t_ready >= r.t_last_sample for r in results)
    m = engine.metrics()
    assert (m.frames_in, m.results_out, m.ring_overruns, m.dropped_results) == (90, 90, 0, 0)
    assert m.source_rate == 44100 and m.model_rate == 16000
    assert m.audio_seconds == pytest.approx(audio.shape[0] / sr)


def test_resampled_stereo_file_matches_offline_and_record_tee_is_the_file(wav, tmp_path):
    pred = FakeTracker()
    rec = tmp_path / "rec.wav"
    engine = Engine(FileSource(wav, playback=False, realtime=False), pred,
                    EngineConfig(record_path=str(rec)))
    sub = engine.subscribe()
    run_to_end(engine)
    audio, sr = sf.read(wav, dtype="float32")
    offline = mel_frames(audio, sr)
    assert len(sub.drain()) == len(offline) == 13  # 12 full frames + the 0.3 s tail
    np.testing.assert_allclose(np.stack(pred.frames), offline, atol=FRAME_ATOL_DB)
    recorded, rec_sr = sf.read(rec, dtype="float32")
    assert rec_sr == sr
    np.testing.assert_array_equal(recorded, audio)  # the analysed samples are the file's


def test_stop_joins_within_one_second_mid_run(wav):
    engine = Engine(FileSource(wav, playback=False, realtime=True), FakeTracker(delay_s=0.05))
    sub = engine.subscribe()
    engine.start()
    assert sub.wait(5.0), "no result within 5 s"
    assert engine.running
    t0 = time.monotonic()
    assert engine.stop(timeout=1.0)
    assert time.monotonic() - t0 < 1.0
    assert not engine.running and engine.finished.is_set()
    assert all(not t.is_alive() for t in engine._threads)
    assert engine.error is None
    kept = sub.drain()
    assert kept and kept[0].frame_index == 0


def test_slow_subscriber_loses_its_own_oldest_and_counts(wav):
    engine = Engine(FileSource(wav, playback=False, realtime=False), FakeTracker())
    fast = engine.subscribe(maxlen=1000)
    slow = engine.subscribe(maxlen=4)  # never drained during the run
    run_to_end(engine)
    everything = fast.drain()
    kept = slow.drain()
    assert len(everything) == 13 and fast.dropped == 0
    assert slow.dropped == 13 - 4
    assert kept == everything[-4:]  # the newest survive, the oldest went
    assert engine.metrics().dropped_results == 9
    assert engine.metrics().results_out == 13  # the worker published everything


def test_seek_restarts_the_analysis_window(wav):
    source = FileSource(wav, playback=False, realtime=True)
    pred = FakeTracker(window=4)
    engine = Engine(source, pred)
    sub = engine.subscribe()
    engine.start()
    got = []
    while len(got) < 3:
        assert sub.wait(5.0)
        got += sub.drain()
    source.seek(4.0)
    assert engine.finished.wait(10.0)
    engine.stop()
    got += sub.drain()
    times = [r.time_s for r in got]
    i = times.index(4.5)  # first frame after the seek ends at 4.0 + 0.5
    assert times[:3] == [0.5, 1.0, 1.5]
    assert all(b > a for a, b in zip(times[i:], times[i + 1:]))
    assert got[i].warming_up and pred.resets >= 1
    assert [r.frame_index for r in got] == list(range(len(got)))  # running number
    assert times[-1] == pytest.approx(6.5)  # the flushed 0.3 s partial frame (k + 1) * 0.5


def test_pause_stops_time_and_resume_continues(wav):
    source = FileSource(wav, playback=False, realtime=True)
    engine = Engine(source, FakeTracker())
    sub = engine.subscribe()
    engine.start()
    assert sub.wait(5.0)
    source.pause()
    time.sleep(0.1)
    pos = source.position_s
    time.sleep(0.6)
    assert source.position_s == pos  # nothing played or analysed while paused
    frames_paused = engine.metrics().frames_in
    source.resume()
    deadline = time.monotonic() + 5.0
    while source.position_s <= pos + 0.3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert source.position_s > pos + 0.3  # time runs again
    assert engine.stop()
    assert engine.error is None and engine.metrics().frames_in >= frames_paused


def test_model_failure_ends_the_run_and_keeps_earlier_results(wav):
    class Failing(FakeTracker):
        """Fails on its second batch of frames of the stream (the first one is published)."""

        def _infer_values(self, batch):
            if batch.n and self.frames:
                raise RuntimeError("boom")
            return super()._infer_values(batch)

    tracker = Failing()
    engine = Engine(FileSource(wav, playback=False, realtime=False), tracker)
    sub = engine.subscribe()
    engine.start()
    assert engine.finished.wait(10.0)
    assert engine.stop()
    assert isinstance(engine.error, RuntimeError) and "boom" in str(engine.error)
    published = [r.frame_index for r in sub.drain()]
    assert published and published == list(range(len(tracker.frames)))
    assert engine.metrics().frames_discarded == engine.metrics().frames_in - len(published) > 0


def test_decode_error_mid_file_is_an_audio_file_error_and_keeps_results(wav):
    source = FileSource(wav, playback=False, realtime=False)
    source.open()
    real_read = source._file.read
    calls = {"n": 0}

    def flaky_read(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 20:  # about 3.7 s in
            raise RuntimeError("Internal psf_fseek() failed.")
        return real_read(*args, **kwargs)

    source._file.read = flaky_read
    engine = Engine(source, FakeTracker())
    sub = engine.subscribe()
    engine.start()
    assert engine.finished.wait(10.0)
    assert engine.stop()
    assert isinstance(engine.error, AudioFileError)
    assert "chirp.wav" in str(engine.error)
    results = sub.drain()
    assert 5 <= len(results) < 13  # what was decoded before the error was analysed
    assert [r.frame_index for r in results] == list(range(len(results)))


def test_missing_and_bad_files_raise_audio_file_error(tmp_path):
    with pytest.raises(AudioFileError, match="not found"):
        FileSource(tmp_path / "nope.wav").open()
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000WAVEjunkjunkjunk")
    with pytest.raises(AudioFileError, match="cannot decode"):
        Engine(FileSource(bad, playback=False), FakeTracker()).start()


def test_unknown_microphone_is_a_device_error():
    with pytest.raises(DeviceError, match="no-such-microphone"):
        MicSource("no-such-microphone").open()


def test_tracker_sd_reaches_every_result():
    """A tracker's per-axis uncertainty (TrackerFrames.sd) is carried into TrackerFrames and the
    engine's TrackResult (DESIGN contract 7); centered mode averages it like the values."""
    import numpy as np

    from emotrack.model.tracker import TrackerFrames

    frames = TrackerFrames(index=np.arange(3), values=np.zeros((3, 2), np.float32),
                           warming_up=np.zeros(3, bool), silent=np.zeros(3, bool),
                           level_db=np.zeros(3, np.float32),
                           sd=np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], np.float32))
    joined = TrackerFrames.concat([frames, frames])
    assert joined.sd.shape == (6, 2) and np.allclose(joined.sd[3], [0.1, 0.2])
    no_sd = frames.replace(sd=None)
    assert TrackerFrames.concat([frames, no_sd]).sd is None


def test_join_waits_for_a_worker_that_stop_left_inside_a_frame(wav):
    """stop() gives threads one second; a worker inside a slow frame outlives it, and the CLI
    then joins it before the process exits (a thread inside torch at interpreter shutdown
    aborts the process: "terminate called without an active exception")."""
    engine = Engine(FileSource(wav, playback=False, realtime=False), FakeTracker(delay_s=1.5))
    engine.start()
    deadline = time.monotonic() + 20
    while engine.metrics().frames_in == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # the worker is now inside its 1.5 s frame
    assert engine.stop(timeout=0.05) is False
    assert engine.join(20.0) is True


def test_stop_wakes_threads_that_sleep_long(wav):
    """stop() wakes the inference worker and the feature thread at once, however long they
    may sleep with nothing to do (``max_sleep_s``): nothing waits out its timeout."""
    engine = Engine(FileSource(wav, playback=False, realtime=True), FakeTracker(),
                    EngineConfig(max_sleep_s=60.0))
    sub = engine.subscribe()
    engine.start()
    assert sub.wait(10.0), "no result within 10 s"
    assert engine.stop(timeout=10.0), "a thread slept through stop()"
    assert all(not t.is_alive() for t in engine._threads)


def test_a_subscriber_waiting_is_woken_when_the_run_ends(wav):
    """A consumer that waits for results (listen's loop) learns that the run ended at once,
    not after its own timeout: the end wakes every subscription, results or none."""
    import threading

    src = FileSource(wav, playback=False, realtime=True)
    engine = Engine(src, FakeTracker())
    sub = engine.subscribe(maxlen=1000)
    engine.start()
    assert sub.wait(10.0), "no result within 10 s"
    src.pause()  # no more audio, so no more results: only the end can wake the subscriber
    time.sleep(1.0)  # let a frame already on its way be published
    sub.drain()
    stopper = threading.Timer(0.2, engine.stop)
    stopper.start()
    try:
        assert sub.wait(60.0), "the end of the run did not wake the waiting subscriber"
        assert engine.finished.is_set()
    finally:
        stopper.join()
    late = engine.subscribe()  # subscribed after the end: nothing to wake it for
    assert not late.wait(0.0)


def test_the_feature_thread_sleeps_until_the_block_completing_a_frame_is_due():
    """Paced audio arrives in blocks at its own pace: the feature thread sleeps until the block
    that holds the next frame's last sample is due (less one poll), counted from the last
    block's arrival, not from now; a --fast file refills the ring as fast as it decodes, so
    the thread only polls there."""
    from emotrack.realtime.ringbuffer import RingBuffer

    tracker = FakeTracker()
    tracker.reset(16000)
    features = tracker.features
    missing = features.samples_until_next_frame()
    assert missing == 8000  # a whole 500 ms frame at 16 kHz is still to come
    ring = RingBuffer(16000)
    poll, longest = 0.005, 10.0
    # nothing delivered yet: the missing samples' duration from now
    assert Engine._idle_wait(features, ring, 100.0, poll, longest, True) == pytest.approx(0.5 - poll)
    # 20 ms blocks, the last one arrived at t = 100: the 25th block after it completes the frame
    ring.write(np.zeros(320, np.float32), 100.0)
    ring.read()
    assert Engine._idle_wait(features, ring, 100.01, poll, longest, True) == pytest.approx(0.49 - poll)
    # 3000-sample blocks: the 3rd block after the last (at 100 + 9000 / 16000 s) holds sample 8000
    ring.write(np.zeros(3000, np.float32), 100.0)
    ring.read()
    assert Engine._idle_wait(features, ring, 100.2, poll, longest, True) == pytest.approx(0.5625 - 0.2 - poll)
    # past the due time (the block is late): poll; never longer than `longest`; --fast: poll
    assert Engine._idle_wait(features, ring, 101.0, poll, longest, True) == poll
    assert Engine._idle_wait(features, ring, 100.0, poll, 0.25, True) == 0.25
    assert Engine._idle_wait(features, ring, 100.0, poll, longest, False) == poll


def test_the_decoder_is_woken_only_when_the_queue_runs_low(wav):
    """The file source refills its decoded-block queue in bursts: taking one block from a full
    queue does not wake the decoder; taking it down to ``refill_blocks`` does."""
    from emotrack.realtime.ringbuffer import RingBuffer

    src = FileSource(wav, playback=False, realtime=True)
    src.open()
    src._ring = RingBuffer(1 << 20, src.channels)
    block = np.zeros((src.block_frames, src.channels), np.float32)
    for i in range(src.queue_blocks):
        src._queue.append((0, i * src.block_frames, block))
    out = np.zeros((src.block_frames, src.channels), np.float32)
    src._fill(out, 0.0, count_underrun=False)
    assert not src._wake.is_set()
    while len(src._queue) > src.refill_blocks:
        src._fill(out, 0.0, count_underrun=False)
    assert src._wake.is_set()
