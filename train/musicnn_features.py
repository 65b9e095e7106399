"""Per-frame musicnn outputs of audio files, computed once and cached (for fitting heads).

Fitting and evaluating a musicnn head reads, for every causal 500 ms frame of every
file, the musicnn outputs a head may use (:data:`~emotrack.model.musicnn_tracker.INPUTS`)
and the frame's level (RMS dBFS, for the silence rule and "loudness alone").  The
musicnn pass costs ~8 s of CPU per audio minute, so the outputs are cached:
``<cache_dir>/musicnn-<VERSION>/<sha256 of the file's bytes, 32 hex>.npz``.  The key
is the file's content (renamed files hit the cache).  Entries are read and written by the
feature cache's own functions (:func:`~emotrack.train.cache.read_arrays`,
:func:`~emotrack.train.cache.store_entry`): atomic writes, entries bound to their content key,
headers checked against the bytes stored; a poisoned, swapped, foreign or non-regular entry is
recomputed.

The outputs are those of :class:`~emotrack.model.musicnn_tracker.MusicnnTracker`'s
own live path (:func:`~emotrack.model.musicnn_tracker.frame_outputs`), so a head
fitted on them sees exactly what it sees live.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..model.errors import AudioFileError, ParameterError
from ..model.musicnn_tracker import INPUTS
from .cache import decode_audio, default_cache_dir, file_digest, read_arrays, store_entry

VERSION = "v1"
"""Bump when what is cached changes."""
NAMES = (*INPUTS, "level_db")
"""Arrays of every entry: the musicnn outputs (n_frames, size) and ``level_db`` (n_frames,);
:meth:`MusicnnFeatureCache.frames` adds ``index``, the frames' ``k``."""


@dataclass
class MusicnnFeatureCache:
    """musicnn outputs of audio files, computed once per file content.

    Parameters
    ----------
    root : pathlib.Path
        Cache folder (created on first write).
    enabled : bool
        False computes every time (``--no-cache``).
    stride : int
        Compute only frames ``k = 0, stride, 2 stride ...`` of files not cached yet (1: every
        frame, exactly the tracker's results).  Song means over every ``stride``-th frame are
        estimates of the all-frame means (adjacent 3 s patches overlap by 5/6); an entry with
        every frame is used whenever one exists.
    stream : {"causal", "aligned", "patch"}
        How musicnn runs (:data:`~emotrack.model.musicnn_tracker.STREAMS`); each has its own entries.
    """

    root: Path = field(default_factory=default_cache_dir)
    enabled: bool = True
    stride: int = 1
    stream: str = "causal"
    hits: int = 0
    misses: int = 0
    _tracker: object = field(default=None, repr=False)

    def entry_path(self, digest: str, stride: int = 1) -> Path:
        """Where the outputs of a file with this content digest (every ``stride``-th frame) live."""
        name = "musicnn" if self.stream == "patch" else f"musicnn-{self.stream}"
        sub = f"{name}-{VERSION}" if stride == 1 else f"{name}-{VERSION}-stride{stride}"
        return Path(self.root) / sub / f"{digest}.npz"

    def for_stream(self, stream: str) -> "MusicnnFeatureCache":
        """This cache, for the outputs of another stream (the same folder and settings)."""
        if stream == self.stream:
            return self
        return replace(self, stream=stream, hits=0, misses=0, _tracker=None)

    def frames(self, audio_path: str | Path) -> dict[str, np.ndarray]:
        """Per-frame musicnn outputs and levels of a file (see :data:`NAMES`), float32.

        Raises
        ------
        AudioFileError
            The file is missing or cannot be decoded.
        """
        audio_path = Path(audio_path)
        if not audio_path.is_file():
            raise AudioFileError(f"audio file {str(audio_path)!r} does not exist")
        digest = file_digest(audio_path) if self.enabled else ""
        for stride in dict.fromkeys((1, self.stride)) if self.enabled else ():
            out = read_arrays(self.entry_path(digest, stride), key=digest, kinds=_KINDS)
            if out is not None and _consistent(out):
                self.hits += 1
                return out  # else absent, corrupt, poisoned or another file's: recompute it
        self.misses += 1
        audio, sr = decode_audio(audio_path)
        try:
            out = self._compute(audio, sr)
        except ParameterError as exc:
            raise AudioFileError(f"audio file {str(audio_path)!r}: {exc}") from None
        if self.enabled:
            store_entry(self.entry_path(digest, self.stride), out, key=digest)
        return out

    def _compute(self, audio: np.ndarray, sr: int) -> dict[str, np.ndarray]:
        from ..model.musicnn_tracker import MusicnnTracker, frame_outputs, strided_frame_outputs

        if self._tracker is None:
            self._tracker = MusicnnTracker(device="cpu", stream=self.stream)
        tr = self._tracker
        if self.stride > 1:
            out = strided_frame_outputs(audio, sr, tuple(INPUTS), stride=self.stride, tracker=tr)
        else:
            out = frame_outputs(audio, sr, tuple(INPUTS), tracker=tr)
            tr.reset(sr)  # the feature stage alone gives the frame levels
            batches = [tr.features.push(audio), tr.features.flush()]
            out["level_db"] = np.concatenate([b.level_db for b in batches]).astype(np.float32)
            out["index"] = np.arange(len(out["level_db"]))
        out = {k: np.asarray(v, np.int64 if k == "index" else np.float32) for k, v in out.items()}
        if not _consistent(out):
            raise RuntimeError(f"musicnn outputs and frame levels disagree: "
                               f"{ {k: v.shape for k, v in out.items()} }")
        return out


_KINDS = {**{name: "f" for name in NAMES}, "index": "i"}
"""Members of an entry and their dtype kinds (:func:`~emotrack.train.cache.read_arrays`)."""


def _consistent(out: dict[str, np.ndarray]) -> bool:
    n = out["level_db"].shape
    return (len(n) == 1 and out["index"].shape == n
            and all(out[k].shape == (n[0], size) for k, size in INPUTS.items()))


def counted(frames: dict[str, np.ndarray]) -> np.ndarray:
    """Mask of an entry's frames a song-level figure uses: ``k >= 6`` and not silent."""
    from ..model.musicnn_tracker import WARMUP_FRAMES
    from ..model.tracker import SilenceConfig

    return (frames["index"] >= WARMUP_FRAMES) & (frames["level_db"] >= SilenceConfig().threshold_dbfs)
