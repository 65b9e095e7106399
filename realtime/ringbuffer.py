"""A preallocated single-producer/single-consumer ring buffer of audio frames.

The producer is the PortAudio callback (or a file reader thread), the consumer
the feature thread.  No locks: each side only writes its own counter
(``_written`` by the producer, ``_read`` by the consumer) and publishes it
*after* copying the samples, so the other side never sees a slot that is not
ready.  Under CPython's GIL a single attribute store is atomic, which is all
this relies on.  When the buffer is full the producer drops the samples that do
not fit and counts them (:attr:`overrun_frames`, :attr:`overrun_events`): an
overrun is visible, never silent, and never blocks the audio thread.
"""
from __future__ import annotations

import numpy as np

from ..model.errors import ParameterError


class RingBuffer:
    """Fixed-size SPSC ring of ``(capacity, channels)`` float32 audio frames.

    Parameters
    ----------
    capacity : int > 0
        Frames (samples per channel) it can hold.
    channels : int > 0

    Notes
    -----
    Counters are totals since creation (Python ints never wrap).  The producer
    also stores :attr:`last_write_time` (the ``t`` given to :meth:`write`)
    *before* publishing the frames, so a consumer that reads ``_written``
    and then ``last_write_time`` gets the time of the block holding the newest
    sample it is about to read (or of an even newer block).
    """

    def __init__(self, capacity: int, channels: int = 1) -> None:
        if int(capacity) <= 0 or int(channels) <= 0:
            raise ParameterError(f"ring buffer capacity and channels must be positive, "
                                 f"got {capacity!r} and {channels!r}")
        self.capacity = int(capacity)
        self.channels = int(channels)
        self._buf = np.zeros((self.capacity, self.channels), np.float32)
        self._written = 0
        self._read = 0
        self.overrun_frames = 0
        """Frames the producer dropped because the buffer was full."""
        self.overrun_events = 0
        """Writes that had to drop frames."""
        self.last_write_time = 0.0
        """``t`` of the latest :meth:`write` (``time.monotonic()`` seconds)."""
        self.last_write_frames = 0
        """Frames offered by the latest :meth:`write` with a ``t``: the size of the blocks the
        producer delivers, so a consumer can tell when the next one is due."""

    # --- producer side ---------------------------------------------------
    def write(self, block: np.ndarray, t: float | None = None) -> int:
        """Copy ``block`` (shape ``(n, channels)`` or ``(n,)`` when mono) in; never blocks.

        Returns the number of frames stored; the rest is counted as overrun.
        """
        n = len(block)
        free = self.capacity - (self._written - self._read)
        m = n if n <= free else free
        if m < n:
            self.overrun_frames += n - m
            self.overrun_events += 1
        if m > 0:
            start = self._written % self.capacity
            first = m if m <= self.capacity - start else self.capacity - start
            dst = self._buf
            if block.ndim == 1:
                dst[start:start + first, 0] = block[:first]
                if m > first:
                    dst[:m - first, 0] = block[first:m]
            else:
                dst[start:start + first] = block[:first]
                if m > first:
                    dst[:m - first] = block[first:m]
        if t is not None:
            self.last_write_time = t
            self.last_write_frames = n
        self._written += m  # publish after the copy
        return m

    @property
    def free(self) -> int:
        """Frames that can be written now without overrun."""
        return self.capacity - (self._written - self._read)

    # --- consumer side ---------------------------------------------------
    @property
    def available(self) -> int:
        """Frames ready to read."""
        return self._written - self._read

    @property
    def frames_written(self) -> int:
        """Total frames ever stored (dropped ones excluded)."""
        return self._written

    @property
    def frames_read(self) -> int:
        """Total frames ever read."""
        return self._read

    def read(self, max_frames: int | None = None) -> np.ndarray:
        """Take up to ``max_frames`` (default: all available) frames, oldest first.

        Returns
        -------
        np.ndarray, shape=(m, channels), float32
            A copy the caller owns; ``m`` may be 0.
        """
        m = self._written - self._read
        if max_frames is not None and max_frames < m:
            m = max(int(max_frames), 0)
        out = np.empty((m, self.channels), np.float32)
        if m:
            start = self._read % self.capacity
            first = min(m, self.capacity - start)
            out[:first] = self._buf[start:start + first]
            if m > first:
                out[first:] = self._buf[:m - first]
        self._read += m  # release the slots after the copy
        return out

    def clear(self) -> int:
        """Consumer side: discard everything available; returns the frames dropped."""
        m = self._written - self._read
        self._read += m
        return m
