"""Feature cache keyed by audio content and FeatureSpec.

``<cache_dir>/<spec.hash>/<sha256 of the audio file's bytes, 32 hex>.npz`` holds
the (n_frames, n_mels) float32 mel frames of that file under that spec (``frames``)
and the content key they belong to (``key``).  The key is the file's *content*, so
renamed or copied files hit the cache and an edited file misses it.  Writes go to a
temporary file in the same folder followed by ``os.replace``: concurrent runs at
worst compute the same frames twice and never see a half-written file.

A cache folder is outside input: an entry is used only when it is a regular file
holding exactly the ``frames`` its header claims (read without trusting the header
for an allocation: a header claiming 10^12 rows is refused, not allocated), of the
spec's width, all finite, and stored under its own key (an entry copied or swapped
from another song is refused).  A refused entry is recomputed and overwritten
(:attr:`FeatureCache.rejected` counts them).  A cache folder that cannot be written
(a read-only HOME) is said once on standard error; features are then computed
without caching.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..model.errors import AudioFileError, EmotrackError, ParameterError
from ..model.features import CAE_SPEC, FeatureSpec, mel_frames
from ..model.audio_io import MAX_BLOCK_VALUES
from ..model.validate import check_audio_header, check_input_file, decoder_message, find_sample_fault


def default_cache_dir() -> Path:
    """``$EMOTRACK_CACHE`` or ``$XDG_CACHE_HOME/emotrack/features`` (``~/.cache/...``)."""
    if os.environ.get("EMOTRACK_CACHE"):
        return Path(os.environ["EMOTRACK_CACHE"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "emotrack" / "features"


def file_digest(path: Path, *, chunk: int = 1 << 20) -> str:
    """First 32 hex digits of the SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()[:32]


DECODE_BLOCK_FRAMES = 1 << 18
"""Frames read per block by :func:`decode_audio` (memory follows the audio, not the header)."""


def decode_audio(path: Path) -> tuple[np.ndarray, int]:
    """Decode a whole audio file to float32 (mono mixdown happens in mel_frames).

    soundfile (libsndfile >= 1.1 reads MP3) first, librosa/audioread as a fallback.
    The header is checked (:func:`~emotrack.model.validate.check_audio_header`) and the
    file read in blocks, so a header claiming years of audio costs nothing.

    Raises
    ------
    AudioFileError
        Missing, not a regular file, empty, undecodable, an impossible header, or
        NaN/Inf/huge samples (the message names the file and the time).
    """
    path = check_input_file(path)
    try:
        import soundfile as sf

        with sf.SoundFile(str(path)) as f:
            header = check_audio_header(path, sample_rate=f.samplerate, channels=f.channels,
                                        frames=f.frames)
            sr = header.sample_rate
            step = max(1, min(DECODE_BLOCK_FRAMES, MAX_BLOCK_VALUES // header.channels))
            blocks = []
            while len(block := f.read(step, dtype="float32", always_2d=True)):
                fault = find_sample_fault(block)
                if fault is not None:
                    raise AudioFileError(f"audio file {str(path)!r} contains "
                                         f"{fault.describe(sample_rate=sr, offset=sum(map(len, blocks)))}")
                # mixed down per block (as mel_frames would): memory follows the mono audio
                blocks.append(block[:, 0].copy() if block.shape[1] == 1 else block.mean(axis=1))
    except EmotrackError:
        raise
    except Exception as first_exc:  # noqa: BLE001 - any decoder failure -> try the fallback
        audio, sr = _decode_fallback(path, first_exc)
        check_audio_header(path, sample_rate=sr, channels=1, frames=len(audio))
        blocks = [audio]
    offset = 0
    for block in blocks:
        fault = find_sample_fault(block)
        if fault is not None:
            raise AudioFileError(f"audio file {str(path)!r} contains "
                                 f"{fault.describe(sample_rate=sr, offset=offset)}")
        offset += len(block)
    if offset == 0:
        raise AudioFileError(f"audio file {str(path)!r} contains no samples")
    audio = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    return np.asarray(audio, dtype=np.float32), int(sr)


def _decode_fallback(path: Path, first_exc: BaseException) -> tuple[np.ndarray, int]:
    try:
        import warnings

        import librosa

        with warnings.catch_warnings():  # its "PySoundFile failed" notices are not for users
            warnings.simplefilter("ignore")
            audio, sr = librosa.load(str(path), sr=None, mono=True)
    except Exception:  # noqa: BLE001
        raise AudioFileError(f"cannot decode audio file {str(path)!r}: "
                             f"{decoder_message(first_exc)}") from None
    return audio, sr


@dataclass
class FeatureCache:
    """Mel frames of audio files, computed once per (file content, spec).

    Parameters
    ----------
    root : pathlib.Path
        Cache folder (created on first write).
    spec : FeatureSpec
    enabled : bool
        False computes every time (``--no-cache``).

    Attributes
    ----------
    hits, misses : int
        Counters for reports and benchmarks.
    """

    root: Path = field(default_factory=default_cache_dir)
    spec: FeatureSpec = CAE_SPEC
    enabled: bool = True
    hits: int = 0
    misses: int = 0

    rejected: int = 0
    warn_write: bool = True

    def entry_path(self, digest: str) -> Path:
        """Where the frames of a file with this content digest live."""
        return Path(self.root) / self.spec.hash / f"{digest}.npz"

    def frames(self, audio_path: str | Path) -> np.ndarray:
        """Mel frames of a file, shape=(n_frames, spec.n_mels), float32 (cached).

        Raises
        ------
        AudioFileError
            The file is missing or cannot be decoded.
        """
        audio_path = Path(audio_path)
        if not audio_path.is_file():
            raise AudioFileError(f"audio file {str(audio_path)!r} does not exist")
        digest = file_digest(audio_path) if self.enabled else ""
        entry = self.entry_path(digest) if self.enabled else None
        if entry is not None and entry.exists():
            frames = read_entry(entry, key=digest, n_mels=self.spec.n_mels)
            if frames is not None:
                self.hits += 1
                return frames
            self.rejected += 1  # corrupt, poisoned or another song's: recompute and overwrite it
        self.misses += 1
        audio, sr = decode_audio(audio_path)
        try:
            frames = mel_frames(audio, sr, self.spec)
        except ParameterError as exc:  # e.g. NaN samples: name the file
            raise AudioFileError(f"audio file {str(audio_path)!r}: {exc}") from None
        if entry is not None:
            try:
                store_entry(entry, {"frames": np.ascontiguousarray(frames, dtype=np.float32)}, key=digest)
            except OSError as exc:  # a read-only or full cache folder: go on without caching
                if self.warn_write:
                    self.warn_write = False
                    print(f"emotrack: warning: cannot write the feature cache "
                          f"'{exc.filename or entry.parent}': {exc.strerror or exc}; features are "
                          "not cached (--cache-dir chooses another folder)", file=sys.stderr)
        return frames

def store_entry(entry: Path, arrays: dict[str, np.ndarray], *, key: str) -> None:
    """Write ``arrays`` and the content ``key`` as an uncompressed ``.npz`` entry, atomically
    (temporary file + ``os.replace``); a link or non-file at ``entry`` is replaced, never
    written through."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    if entry.is_symlink() or (entry.exists() and not entry.is_file()):
        entry.unlink()  # os.replace below would write through nothing else
    fd, tmp = tempfile.mkstemp(prefix=entry.stem, suffix=".tmp", dir=entry.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays, key=np.array(key))
        os.replace(tmp, entry)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_arrays(entry: Path, *, key: str, kinds: dict[str, str]) -> dict[str, np.ndarray] | None:
    """The arrays of a cache entry written by :func:`store_entry`, or None when it is not a
    sound entry of ``key``: a regular file holding exactly the members ``kinds`` names (name ->
    allowed dtype kinds, e.g. ``"f"``) and ``key``, uncompressed, each header checked against the
    bytes actually stored before anything is allocated, so an entry can never cost more memory
    than its size on disk.  Float arrays must be finite."""
    import stat
    import zipfile

    try:
        st = os.lstat(entry)
        if not stat.S_ISREG(st.st_mode):
            return None
        with zipfile.ZipFile(entry) as z:
            members = {i.filename: i for i in z.infolist()}
            if set(members) != {f"{name}.npy" for name in (*kinds, "key")}:
                return None
            if any(i.compress_type != zipfile.ZIP_STORED or i.file_size > st.st_size
                   for i in members.values()):
                return None
            stored_key = _read_member(z, members["key.npy"], kinds="U", max_items=1)
            if stored_key is None or stored_key.shape != () or str(stored_key) != key:
                return None
            out = {name: _read_member(z, members[f"{name}.npy"], kinds=k, max_items=None)
                   for name, k in kinds.items()}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return None
    if any(a is None or (a.dtype.kind == "f" and not np.isfinite(a).all()) for a in out.values()):
        return None
    return out


def read_entry(entry: Path, *, key: str, n_mels: int) -> np.ndarray | None:
    """The mel frames of a :class:`FeatureCache` entry, or None when it is not a sound entry
    of ``key`` (:func:`read_arrays`) or not ``(n, n_mels)`` float32."""
    arrays = read_arrays(entry, key=key, kinds={"frames": "f"})
    frames = None if arrays is None else arrays["frames"]
    if frames is None or frames.dtype != np.float32 or frames.ndim != 2 or frames.shape[1] != n_mels:
        return None
    return frames


def _read_member(z, info, *, kinds: str, max_items: int | None) -> np.ndarray | None:
    """One ``.npy`` member read only when its header matches the bytes stored."""
    with z.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            return None
        if fortran or dtype.kind not in kinds or dtype.hasobject:
            return None
        count = int(np.prod(shape, dtype=object))
        if max_items is not None and count > max_items:
            return None
        if count * dtype.itemsize != info.file_size - fh.tell():
            return None  # the header lies about what is stored
        data = fh.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        return None
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
