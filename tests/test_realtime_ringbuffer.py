"""RingBuffer: wrap-around, overrun accounting, concurrent producer and consumer."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from emotrack.model.errors import ParameterError
from emotrack.realtime.ringbuffer import RingBuffer


def ramp(start: int, n: int, channels: int = 2) -> np.ndarray:
    col = np.arange(start, start + n, dtype=np.float32)
    return np.stack([col * (c + 1) for c in range(channels)], axis=1)


def test_wraps_around_and_keeps_order():
    ring = RingBuffer(10, channels=2)
    got = []
    pos = 0
    for n in (7, 6, 9, 3, 10, 1):  # every write crosses the end at some point
        assert ring.write(ramp(pos, n), t=float(pos)) == n
        pos += n
        got.append(ring.read())
    out = np.concatenate(got)
    np.testing.assert_array_equal(out, ramp(0, pos))
    assert ring.frames_written == ring.frames_read == pos
    assert ring.overrun_frames == 0 and ring.last_write_time == float(pos - 1)


def test_partial_reads_and_mono_blocks():
    ring = RingBuffer(8, channels=1)
    ring.write(np.arange(6, dtype=np.float32))
    np.testing.assert_array_equal(ring.read(4)[:, 0], [0, 1, 2, 3])
    ring.write(np.arange(6, 12, dtype=np.float32))  # wraps
    assert ring.available == 8 and ring.free == 0
    np.testing.assert_array_equal(ring.read()[:, 0], np.arange(4, 12))
    assert ring.read().shape == (0, 1)


def test_overrun_drops_the_new_samples_and_counts_them():
    ring = RingBuffer(10, channels=2)
    assert ring.write(ramp(0, 8)) == 8
    assert ring.write(ramp(8, 5)) == 2  # only 2 fit
    assert ring.write(ramp(13, 4)) == 0
    assert (ring.overrun_frames, ring.overrun_events) == (3 + 4, 2)
    np.testing.assert_array_equal(ring.read(), ramp(0, 10))  # nothing overwritten
    assert ring.write(ramp(17, 3)) == 3 and ring.overrun_events == 2


def test_clear_discards_what_is_waiting():
    ring = RingBuffer(4)
    ring.write(np.ones(3, np.float32))
    assert ring.clear() == 3 and ring.available == 0 and ring.free == 4


@pytest.mark.parametrize("capacity, channels", [(0, 1), (4, 0)])
def test_rejects_bad_sizes(capacity, channels):
    with pytest.raises(ParameterError):
        RingBuffer(capacity, channels)


@pytest.mark.parametrize("consumer_pause", [0.0, 0.002], ids=["fast-consumer", "slow-consumer"])
def test_concurrent_producer_and_consumer(consumer_pause):
    """Everything read is in order and unaltered; read + dropped == written."""
    ring = RingBuffer(1000, channels=1)
    total = 200_000
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 300, size=5000)
    done = threading.Event()
    received: list[np.ndarray] = []

    def producer():
        pos = 0
        for n in sizes:
            n = int(min(n, total - pos))
            if n <= 0:
                break
            ring.write(np.arange(pos, pos + n, dtype=np.float64).astype(np.float32)[:, None])
            pos += n
        done.set()

    def consumer():
        while not (done.is_set() and ring.available == 0):
            block = ring.read()
            if len(block):
                received.append(block[:, 0].copy())
            elif consumer_pause:
                done.wait(consumer_pause)

    threads = [threading.Thread(target=producer), threading.Thread(target=consumer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    got = np.concatenate(received) if received else np.zeros(0)
    sent = int(min(sizes.sum(), total))
    assert got.size + ring.overrun_frames == sent
    assert np.all(np.diff(got) > 0), "samples arrived out of order or duplicated"
    # every sample read is one that was written (values are their own positions)
    assert got.min() >= 0 and got.max() < sent
    if consumer_pause == 0.0:
        assert ring.overrun_frames < sent  # most of the stream got through
