"""Streaming mel frames: :class:`MelFrameStream` (DESIGN contract 1).

Feeds audio of any block size at any input rate and emits exactly the frames
that :func:`emotrack.model.features.mel_frames` computes offline for the same
signal.  State is O(one frame): the resampler's filter memory and the samples
of the frame not yet complete.
"""
from __future__ import annotations

import numpy as np

from .features import CAE_SPEC, FeatureSpec, frames_from_model_rate
from .validate import as_mono_float32, valid_sample_rate


class MelFrameStream:
    """Incremental mel-frame extractor (``push``/``flush``/``reset``, after madmom).

    Parameters
    ----------
    spec : FeatureSpec
        The feature definition (the model's).
    input_sr : int > 0
        Sample rate of the audio given to :meth:`push`.  When it differs from
        ``spec.sample_rate`` a streaming soxr resampler (HQ) converts on the way.

    Examples
    --------
    >>> import numpy as np
    >>> stream = MelFrameStream(CAE_SPEC, 44100)
    >>> stream.push(np.zeros(44100, np.float32)).shape  # 1 s -> 2 frames of 96 bands
    (1, 96)

    (The resampler holds back a few milliseconds, so the second frame of that
    second only appears with the next block or with :meth:`flush`.)
    """

    def __init__(self, spec: FeatureSpec = CAE_SPEC, input_sr: int = CAE_SPEC.sample_rate) -> None:
        self.spec = spec
        self.input_sr = valid_sample_rate(input_sr)
        self._resampler = None
        self.reset()

    def reset(self) -> None:
        """Forget all audio: the next sample pushed starts frame 0 again."""
        if self.input_sr != self.spec.sample_rate:
            import soxr

            self._resampler = soxr.ResampleStream(
                self.input_sr, self.spec.sample_rate, 1, dtype="float32", quality="HQ"
            )
        self._pending = np.zeros(0, np.float32)  # model-rate samples of frames not yet complete
        self._held: list[np.ndarray] = []  # input blocks not yet resampled / framed
        self._held_samples = 0
        self._model_samples = 0  # model-rate samples that reached _pending so far
        self._empty = np.zeros((0, self.spec.n_mels), np.float32)
        self._empty.flags.writeable = False
        self.frames_emitted = 0
        """Number of frames emitted since the last reset."""
        self.samples_in = 0
        """Input samples (per channel, at ``input_sr``) pushed since the last reset."""
        self._threshold = self._input_needed_for_next_frame()

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Add audio and return the frames it completed.

        Parameters
        ----------
        samples : np.ndarray, shape=(n,) or (n, channels), floating point
            Any block size, including 0 and 1 samples.  Channels are averaged.
            The stream keeps a copy, so the caller may reuse its buffer.

        Returns
        -------
        np.ndarray, shape=(m, spec.n_mels), float32
            The ``m >= 0`` frames completed by this block, in order (read-only when empty).

        Raises
        ------
        ParameterError (a ValueError)
            Wrong dtype or shape at once.  NaN/Inf samples of a mono float32 block are
            found when the blocks held for the next frame are processed: by the push
            that completes that frame, or by :meth:`flush`; the held audio is then dropped.
        """
        if type(samples) is np.ndarray and samples.dtype == np.float32 and samples.ndim == 1:
            x = samples  # fast path for the common block type; finiteness checked per frame
        else:
            x = as_mono_float32(samples)
        if x.size:
            self.samples_in += x.size
            self._held.append(x.copy())
            self._held_samples += x.size
        # Blocks are held until they could complete the next frame: resampling and framing
        # cost ~20 us a call whatever the block size.  The frames and the call that returns
        # each one are the same as processing every block at once (soxr's stream does not
        # depend on the chunking), so holding adds no latency.
        if self._held_samples < self._threshold:
            return self._empty
        frames = self._consume(self._take_held(last=False), final=False)
        self._threshold = self._input_needed_for_next_frame()
        return frames

    def samples_until_next_frame(self) -> int:
        """Input samples still to be pushed before the next frame can complete (a lower bound).

        Lets a consumer sleep until a frame can be due instead of polling.
        """
        return max(0, self._threshold - self._held_samples)

    def flush(self) -> np.ndarray:
        """Emit what is left (the resampler's tail and the final partial frame), then reset."""
        frames = self._consume(self._take_held(last=True), final=True)
        self.reset()
        return frames

    def _input_needed_for_next_frame(self) -> int:
        """Input samples still to arrive before the next frame can be complete (a lower bound)."""
        spec = self.spec
        end = self.frames_emitted * spec.frame_step + (spec.frame_length if spec.pooled else spec.n_fft)
        missing = end - self._model_samples
        return max(1, missing * self.input_sr // spec.sample_rate)

    def _take_held(self, *, last: bool) -> np.ndarray:
        """The held input blocks as one model-rate array (resampled when needed)."""
        if not self._held:
            x = np.zeros(0, np.float32)
        else:
            x = np.concatenate(self._held) if len(self._held) > 1 else self._held[0]
        self._held.clear()
        self._held_samples = 0
        if x.size and not np.isfinite(np.add.reduce(x)):
            as_mono_float32(x)  # raises ParameterError saying how many samples are bad
        if self._resampler is not None:
            x = self._resampler.resample_chunk(x, last=last)
        self._model_samples += x.size
        return x

    def _consume(self, x: np.ndarray, *, final: bool) -> np.ndarray:
        """Append model-rate samples and cut every complete frame."""
        spec = self.spec
        buf = np.concatenate((self._pending, x)) if self._pending.size else x
        frames = frames_from_model_rate(buf, spec, first_frame=self.frames_emitted, final=final)
        n = len(frames)
        self.frames_emitted += n
        # keep only the samples that later frames still need
        self._pending = buf[n * spec.frame_step:].copy()
        return frames
