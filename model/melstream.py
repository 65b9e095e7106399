"""Streaming mel frames: :class:`MelFrameStream` (DESIGN contract 1).

Feeds audio of any block size at any input rate and emits exactly the frames
that :func:`emotrack.model.features.mel_frames` computes offline for the same
signal.  A thin adapter over the trackers' stage 1 (:mod:`emotrack.model.framing`)
that returns the frames as one array: pooled specs give one row per 500 ms frame,
un-pooled specs (musicnn's) one row per STFT window.  State is O(one frame): the
resampler's filter memory and the samples of the frame not yet complete.
"""
from __future__ import annotations

import numpy as np

from .features import CAE_SPEC, FeatureSpec
from .framing import PooledMelStream, WindowMelStream


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
        self._stream = PooledMelStream(spec, input_sr) if spec.pooled else WindowMelStream(spec, input_sr)
        self._rows = 0

    @property
    def input_sr(self) -> int:
        return self._stream.input_sr

    @property
    def samples_in(self) -> int:
        """Input samples (per channel, at ``input_sr``) pushed since the last reset."""
        return self._stream.samples_in

    @property
    def frames_emitted(self) -> int:
        """Rows (frames, or windows for an un-pooled spec) emitted since the last reset."""
        return self._rows

    def reset(self) -> None:
        """Forget all audio: the next sample pushed starts frame 0 again."""
        self._stream.reset()
        self._rows = 0

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
        return self._rows_of(self._stream.push(samples).data)

    def samples_until_next_frame(self) -> int:
        """Input samples still to be pushed before the next frame can complete (an estimate).

        Lets a consumer sleep until a frame can be due instead of polling.
        """
        return self._stream.samples_until_next_frame()

    def flush(self) -> np.ndarray:
        """Emit what is left (the resampler's tail and the final partial frame), then reset."""
        out = self._rows_of(self._stream.flush().data)
        self._rows = 0
        return out

    def _rows_of(self, data) -> np.ndarray:
        rows = data if self.spec.pooled else data.windows
        self._rows += len(rows)
        return rows
