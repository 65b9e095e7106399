"""Stage 1 of every tracker: audio blocks in, features of completed 500 ms frames out.

:class:`FrameStream` does what every tracker's front end shares: mono mixdown,
streaming soxr resampling to the model rate (16 kHz), the frame clock (frame
``k`` covers model-rate samples ``[k F, (k+1) F)``, ``F = frame_length``; DESIGN
contract 1) and the level of each frame.  A subclass says which samples its
features need (:meth:`FrameStream._keep_from`) and computes the features of a run
of complete frames (:meth:`FrameStream._features`).  Two subclasses exist:

* :class:`PooledMelStream`: the poster's 96-band mel frames (mean of the STFT
  windows inside each frame; :func:`~emotrack.model.features.frames_from_model_rate`);
* :class:`WindowMelStream`: un-pooled log-mel windows (musicnn's front end), handed
  over with the frames they complete.

Holding input: blocks are kept (copied) until enough input has arrived to complete
the next frame, counting the samples the resampler still holds back, so a stream
fed 512-sample blocks calls the resampler and the FFT about once per frame.  The
frames and the push that returns each of them are the same as processing every
block at once (soxr's stream does not depend on the chunking), so holding adds no
latency.

The final partial frame (at :meth:`FrameStream.flush`) counts when at least
``min_partial`` of it (half a frame) exists, as in
:func:`~emotrack.model.features.frames_from_model_rate`.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, NamedTuple

import numpy as np

from .features import FeatureSpec, frames_from_model_rate
from .validate import as_mono_float32, valid_sample_rate

LEVEL_FLOOR_DB = -200.0
"""Level reported for a frame of digital silence (all samples exactly zero)."""


class FeatureBatch(NamedTuple):
    """What a tracker's stage 1 hands its stage 2 for the frames completed by one push.

    Attributes
    ----------
    first_index : int
        Index ``k`` (since the last reset) of the first frame in the batch.
    level_db : np.ndarray, shape=(n,), float32
        RMS level of each frame's model-rate audio in dB re full scale
        (``10 log10(mean(x^2))``, at least :data:`LEVEL_FLOOR_DB`).
    data : Any
        The tracker-specific features of those frames (opaque to the engine).
    final : bool
        True for the batch returned by ``flush``: the stream ended after it.
    """

    first_index: int
    level_db: np.ndarray
    data: Any
    final: bool

    @property
    def n(self) -> int:
        """Number of frames in the batch."""
        return int(self.level_db.shape[0])


def frame_levels_db(x: np.ndarray) -> np.ndarray:
    """RMS level in dBFS of each row of ``x`` (frames x samples), floored at :data:`LEVEL_FLOOR_DB`."""
    power = np.einsum("ij,ij->i", x, x, dtype=np.float64) / max(1, x.shape[1])
    return np.maximum(10.0 * np.log10(np.maximum(power, 1e-30)), LEVEL_FLOOR_DB).astype(np.float32)


class FrameStream(ABC):
    """Resample, frame and featurise audio pushed in blocks of any size (madmom's online mode).

    Parameters
    ----------
    input_sr : int > 0
        Sample rate of the audio given to :meth:`push`; resampled (soxr HQ, streaming)
        to ``sample_rate`` when it differs.
    sample_rate : int
        The model rate (16000 for every shipped tracker).
    frame_length : int
        Samples per frame at the model rate (8000 = 500 ms).
    min_partial : float
        Fraction of a frame that the last, incomplete frame needs to count at :meth:`flush`.
    """

    def __init__(self, input_sr: int, *, sample_rate: int, frame_length: int,
                 min_partial: float = 0.5) -> None:
        self.input_sr = valid_sample_rate(input_sr)
        self.sample_rate = valid_sample_rate(sample_rate)
        self.frame_length = int(frame_length)
        self.min_partial = float(min_partial)
        self._ratio = self.sample_rate / self.input_sr
        self.reset()

    # ------------------------------------------------------------------ public API
    def reset(self) -> None:
        """Forget all audio: the next sample pushed is sample 0 of frame 0."""
        self._resampler = None
        if self.input_sr != self.sample_rate:
            import soxr

            self._resampler = soxr.ResampleStream(self.input_sr, self.sample_rate, 1,
                                                  dtype="float32", quality="HQ")
        # input held until the next frame can complete: one preallocated buffer, so a push
        # is one copy into it (no allocation, no list, no concatenation)
        self._hold = np.zeros(max(4096, 2 * self._frame_input()), np.float32)
        self._held_n = 0
        self._buf = np.zeros(0, np.float32)  # model-rate samples from absolute index _buf_start
        self._buf_start = 0
        self.frames_emitted = 0
        """Frames completed since the last reset."""
        self.samples_in = 0
        """Input samples (per channel, at ``input_sr``) pushed since the last reset."""
        self._new_state()

    def push(self, samples: np.ndarray) -> FeatureBatch:
        """Add audio; return the features of the frames it completed (often none).

        Parameters
        ----------
        samples : np.ndarray, shape=(n,) or (n, channels), floating point
            Any block size, including 0 and 1 samples; channels are averaged.  The stream
            keeps a copy, so the caller may reuse its buffer.

        Raises
        ------
        ParameterError (a ValueError)
            Wrong dtype or shape at once.  NaN/Inf samples are found when the held blocks
            are processed (by the push that completes their frame, or by :meth:`flush`);
            the held audio is then dropped.
        """
        if type(samples) is np.ndarray and samples.dtype == np.float32 and samples.ndim == 1:
            x = samples  # fast path for the common block type; finiteness checked per frame
        else:
            x = as_mono_float32(samples)
        n = x.size
        if n:
            held = self._held_n
            end = held + n
            if end > self._hold.size:
                self._hold = np.concatenate((self._hold[:held], np.zeros(max(end, 2 * held), np.float32)))
            self._hold[held:end] = x
            self._held_n = end
            self.samples_in += n
        if self._held_n < self._threshold:
            return self._no_batch
        return self._process(final=False)

    def flush(self) -> FeatureBatch:
        """Features of what is left (the resampler's tail, the final partial frame); then reset."""
        batch = self._process(final=True)
        self.reset()
        return batch

    def samples_until_next_frame(self) -> int:
        """Input samples still to be pushed before the next frame can complete (an estimate).

        Lets a consumer sleep until a frame can be due instead of polling.
        """
        return max(0, self._threshold - self._held_n)

    # ------------------------------------------------------------ for subclasses
    @abstractmethod
    def _features(self, buf: np.ndarray, buf_start: int, first: int, n: int, end: int,
                  final: bool) -> Any:
        """Features of frames ``first .. first+n-1`` (``n`` may be 0 at :meth:`flush`).

        ``buf[i]`` is model-rate sample ``buf_start + i``; ``end`` (= ``buf_start +
        len(buf)``) is the number of samples so far; ``final`` is True at :meth:`flush`.
        """

    @abstractmethod
    def _keep_from(self, next_frame: int) -> int:
        """First model-rate sample that the features of frame ``next_frame`` and later need."""

    @abstractmethod
    def _empty_data(self) -> Any:
        """The ``data`` of a batch without frames."""

    # ------------------------------------------------------------------ internals
    def _new_state(self) -> None:
        """Recompute what depends on the frames emitted so far (after reset and each batch)."""
        self._threshold = self._input_needed()
        self._no_batch = FeatureBatch(self.frames_emitted, _NO_LEVELS, self._empty_data(), False)

    def _input_needed(self) -> int:
        """Input samples to hold before the next frame can be complete.

        Counts the samples the resampler holds back (its current delay), so that one
        resampler call usually completes the frame instead of two.
        """
        missing = (self.frames_emitted + 1) * self.frame_length - (self._buf_start + self._buf.size)
        if self._resampler is not None:
            missing += int(self._resampler.delay())
        return max(1, math.ceil(missing / self._ratio))

    def _frame_input(self) -> int:
        """Input samples per frame (rounded up)."""
        return math.ceil(self.frame_length / self._ratio)

    def _take_held(self, final: bool) -> np.ndarray:
        x = self._hold[:self._held_n]
        self._held_n = 0
        if x.size and not np.isfinite(np.add.reduce(x)):
            as_mono_float32(x)  # raises ParameterError saying how many samples are bad
        if self._resampler is not None:
            return self._resampler.resample_chunk(x, last=final)
        return x.copy()  # the hold buffer is reused

    def _process(self, *, final: bool) -> FeatureBatch:
        x = self._take_held(final)
        buf = np.concatenate((self._buf, x)) if self._buf.size else x
        end = self._buf_start + buf.size
        F = self.frame_length
        first = self.frames_emitted
        n = end // F - first
        if final and end - (first + n) * F >= self.min_partial * F:
            n += 1  # the final partial frame
        if n > 0 or final:
            levels = self._levels(buf, first, n, end) if n > 0 else _NO_LEVELS
            data = self._features(buf, self._buf_start, first, n, end, final)
            self.frames_emitted += n
            batch = FeatureBatch(first, levels, data, final)
        else:
            batch = FeatureBatch(first, _NO_LEVELS, self._empty_data(), final)
        keep = min(max(self._keep_from(self.frames_emitted) - self._buf_start, 0), buf.size)
        self._buf = buf[keep:]  # a view: the next concatenation copies it anyway
        self._buf_start += keep
        self._new_state()
        return batch

    def _levels(self, buf: np.ndarray, first: int, n: int, end: int) -> np.ndarray:
        F = self.frame_length
        a = first * F - self._buf_start
        n_full = min(n, (end - first * F) // F)
        out = frame_levels_db(buf[a:a + n_full * F].reshape(n_full, F)) if n_full else _NO_LEVELS
        if n_full < n:  # the final partial frame
            out = np.concatenate((out, frame_levels_db(buf[a + n_full * F:][None])))
        return out


_NO_LEVELS = np.zeros(0, np.float32)
_NO_LEVELS.flags.writeable = False


class PooledMelStream(FrameStream):
    """The poster's mel frames (a pooled :class:`FeatureSpec`): ``data`` is ``(n, n_mels)``.

    Frame ``k`` depends only on its own samples, so nothing is kept between frames.
    """

    def __init__(self, spec: FeatureSpec, input_sr: int) -> None:
        if not spec.pooled:
            raise ValueError(f"PooledMelStream needs a pooled FeatureSpec, got {spec.name!r}")
        self.spec = spec
        self._no_frames = np.zeros((0, spec.n_mels), np.float32)
        self._no_frames.flags.writeable = False
        # frames_from_model_rate also needs one whole STFT window in a partial frame
        min_partial = max(spec.min_partial_fraction, spec.n_fft / spec.frame_length)
        super().__init__(input_sr, sample_rate=spec.sample_rate, frame_length=spec.frame_length,
                         min_partial=min_partial)

    def _features(self, buf, buf_start, first, n, end, final):
        if n == 0:
            return self._no_frames
        a = first * self.frame_length - buf_start
        return frames_from_model_rate(buf[a:], self.spec, first_frame=first, final=final)

    def _keep_from(self, next_frame: int) -> int:
        return next_frame * self.frame_length

    def _empty_data(self):
        return self._no_frames


class WindowBatch(NamedTuple):
    """Un-pooled log-mel windows handed over with a batch of frames.

    ``windows[i]`` is STFT window ``first_window + i`` (it covers model-rate samples
    ``[w*hop, w*hop + n_fft)`` with ``w = first_window + i``).  The windows of a batch
    are every window that lies entirely inside the audio up to the end of its last
    frame (at ``flush``: up to the end of the signal), and they continue those of the
    previous batch without gap or overlap.
    """

    first_window: int
    windows: np.ndarray


class WindowMelStream(FrameStream):
    """Un-pooled log-mel windows (e.g. musicnn's front end) on the 500 ms frame clock.

    Parameters
    ----------
    spec : FeatureSpec
        An un-pooled spec (``frame_length == 0``): its n_fft, hop and mel settings.
    input_sr : int
    frame_length : int
        The frame clock at the model rate (8000 = 500 ms).
    """

    def __init__(self, spec: FeatureSpec, input_sr: int, *, frame_length: int = 8000,
                 min_partial: float = 0.5) -> None:
        if spec.pooled:
            raise ValueError(f"WindowMelStream needs an un-pooled FeatureSpec, got {spec.name!r}")
        self.spec = spec
        super().__init__(input_sr, sample_rate=spec.sample_rate, frame_length=frame_length,
                         min_partial=min_partial)

    def reset(self) -> None:
        self._next_window = 0
        super().reset()

    def _features(self, buf, buf_start, first, n, end, final):
        spec = self.spec
        stop = end if final else (first + n) * self.frame_length  # windows must end by here
        last = (stop - spec.n_fft) // spec.hop_length  # last window inside [0, stop)
        w0 = self._next_window
        a = w0 * spec.hop_length - buf_start
        count = max(0, last - w0 + 1)
        segment = buf[a:a + (count - 1) * spec.hop_length + spec.n_fft] if count else buf[:0]
        windows = frames_from_model_rate(segment, spec)
        self._next_window = w0 + len(windows)
        return WindowBatch(w0, windows)

    def _keep_from(self, next_frame: int) -> int:
        return self._next_window * self.spec.hop_length

    def _empty_data(self):
        return WindowBatch(self._next_window, np.zeros((0, self.spec.n_mels), np.float32))
