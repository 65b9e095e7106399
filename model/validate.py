"""Validators shared by model/, train/ and realtime/ (after librosa's ``valid_audio``).

One family of checks for every value that comes from outside: command-line options
(``realtime/commands/_options.py`` wraps these for argparse), checkpoint and head
fields, stored GUI settings and audio file headers.  Each raises
:class:`~emotrack.model.errors.ParameterError` (or :class:`AudioFileError` for a
file) whose message quotes the offending value (shortened by :func:`quote`).

Bounds (documented in docs/hardening.md)
----------------------------------------
* sample rates: :data:`MIN_SAMPLE_RATE` .. :data:`MAX_SAMPLE_RATE` Hz (1 kHz to 768 kHz:
  the lowest telephone-grade rates down to a margin below 8 kHz, up to the highest rate
  any DAC/ADC ships with);
* audio files: at most :data:`MAX_CHANNELS` channels and :data:`MAX_DURATION_S` seconds
  claimed by the header; float samples within +-:data:`MAX_ABS_SAMPLE`;
* paths: at most :data:`MAX_PATH_CHARS` characters, :data:`MAX_NAME_BYTES` bytes per component.
"""
from __future__ import annotations

import contextlib
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .errors import AudioFileError, ParameterError

MIN_SAMPLE_RATE = 1_000
"""Lowest sample rate accepted anywhere (Hz); below it no recording of music exists."""
MAX_SAMPLE_RATE = 768_000
"""Highest sample rate accepted anywhere (Hz): the highest rate audio hardware ships with."""
MAX_CHANNELS = 64
"""Most channels an audio file may have (3rd-order ambisonics has 16, a 7.1.4 bed 12)."""
MAX_DURATION_S = 7 * 24 * 3600.0
"""Longest duration (s) a file header may claim: longer claims are corrupt headers."""
MAX_ABS_SAMPLE = 1000.0
"""Largest magnitude of a float sample (+60 dBFS); beyond it the file is broken
(e.g. integer PCM stored as float without scaling), not loud."""
UNKNOWN_FRAMES = 2 ** 63 - 1
"""What libsndfile reports as a file's length when it does not know it (SF_COUNT_MAX)."""
MAX_PATH_CHARS = 4096
MAX_NAME_BYTES = 255

_QUOTE_CHARS = 60
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def quote(value: Any, limit: int = _QUOTE_CHARS) -> str:
    """``repr(value)`` shortened to about ``limit`` characters, for one-line messages.

    >>> quote("x" * 100, limit=10)
    "'xxxxxxxxx...' (100 characters)"
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str) else ""
    return text[: limit - 1] + "..." + ("'" if isinstance(value, str) else "") + size


def _prefix(name: str | None) -> str:
    return f"{name} " if name else ""


def _range_text(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f" from {lo:g} to {hi:g}" if isinstance(lo, float) or isinstance(hi, float) else f" from {lo} to {hi}"
    if lo is not None:
        return f" of at least {lo}"
    if hi is not None:
        return f" of at most {hi}"
    return ""


def as_int(value: Any, *, name: str | None = None, lo: int | None = None, hi: int | None = None,
           text: bool = False) -> int:
    """A whole number within ``[lo, hi]``: an int, or with ``text=True`` ASCII decimal text
    (command lines, settings files; a JSON field must hold a number, not text).

    Refused: bools, floats (even ``3.0``), ``"nan"``, ``"1e3"``, ``"1_000"``, non-ASCII
    digits (``"\u0661\u0662"``, which ``int()`` would accept), empty text.
    """
    if isinstance(value, bool):
        number = None
    elif isinstance(value, (int, np.integer)):
        number = int(value)
    elif text and isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        number = None
    if number is None or (lo is not None and number < lo) or (hi is not None and number > hi):
        raise ParameterError(f"{_prefix(name)}must be a whole number{_range_text(lo, hi)}, got {quote(value)}")
    return number


def as_float(value: Any, *, name: str | None = None, lo: float | None = None, hi: float | None = None,
             lo_open: bool = False, hi_open: bool = False, text: bool = False) -> float:
    """A finite number within the bounds: an int/float, or with ``text=True`` ASCII decimal text.

    ``lo_open``/``hi_open`` exclude the bound itself.  NaN, infinities (also ``"1e309"``,
    which overflows to infinity) and non-ASCII digits are refused.
    """
    number: float | None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    elif text and isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
        number = float(value.strip())
    else:
        number = None
    ok = number is not None and math.isfinite(number)
    if ok and lo is not None:
        ok = number > lo if lo_open else number >= lo
    if ok and hi is not None:
        ok = number < hi if hi_open else number <= hi
    if not ok:
        lo_t = "" if lo is None else f"{'>' if lo_open else '>='} {lo:g}"
        hi_t = "" if hi is None else f"{'<' if hi_open else '<='} {hi:g}"
        bounds = " and ".join(t for t in (lo_t, hi_t) if t)
        raise ParameterError(f"{_prefix(name)}must be a finite number{' ' + bounds if bounds else ''}, "
                             f"got {quote(value)}")
    return number


def as_bool(value: Any, *, name: str | None = None) -> bool:
    """A real bool (JSON ``true``/``false``); 0, 1 and strings are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{_prefix(name)}must be true or false, got {quote(value)}")
    return bool(value)


def as_text(value: Any, *, name: str | None = None, max_chars: int = 256, allow_empty: bool = False) -> str:
    """A string without control characters, at most ``max_chars`` long."""
    if not isinstance(value, str):
        raise ParameterError(f"{_prefix(name)}must be text, got {quote(value)}")
    if not value and not allow_empty:
        raise ParameterError(f"{_prefix(name)}must not be empty")
    if len(value) > max_chars:
        raise ParameterError(f"{_prefix(name)}must be at most {max_chars} characters, got {quote(value)}")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ParameterError(f"{_prefix(name)}must not contain control characters, got {quote(value)}")
    return value


def as_choice(value: Any, *, name: str | None = None, choices: Sequence[str]) -> str:
    """One of ``choices`` (exact match)."""
    if not isinstance(value, str) or value not in choices:
        raise ParameterError(f"{_prefix(name)}must be one of {', '.join(choices)}, got {quote(value)}")
    return value


def as_path_text(value: Any, *, name: str | None = None) -> str:
    """A usable file or folder name: not empty, no NUL, at most :data:`MAX_PATH_CHARS`
    characters and :data:`MAX_NAME_BYTES` bytes per component (what every common file
    system allows).  Existence is the caller's business."""
    if not isinstance(value, (str, os.PathLike)):
        raise ParameterError(f"{_prefix(name)}must be a path, got {quote(value)}")
    text = os.fspath(value)
    if not isinstance(text, str) or not text:
        raise ParameterError(f"{_prefix(name)}must be a non-empty path, got {quote(value)}")
    if "\0" in text:
        raise ParameterError(f"{_prefix(name)}must not contain a NUL character, got {quote(value)}")
    if len(text) > MAX_PATH_CHARS:
        raise ParameterError(f"{_prefix(name)}is too long ({len(text)} characters, at most "
                             f"{MAX_PATH_CHARS}): {quote(value)}")
    for part in Path(text).parts:
        if len(os.fsencode(part)) > MAX_NAME_BYTES:
            raise ParameterError(f"{_prefix(name)}has a name longer than {MAX_NAME_BYTES} bytes: "
                                 f"{quote(part)}")
    return text


def json_object(text: Any, *, name: str) -> dict:
    """Parse ``text`` as a JSON object; malformed, too deeply nested or not an object is a
    :class:`ParameterError` naming ``name``."""
    import json

    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise ParameterError(f"{name} is not valid JSON ({exc}): {quote(text)}") from None
    except RecursionError:
        raise ParameterError(f"{name} is nested too deeply to be read: {quote(text)}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{name} must be a JSON object, got {quote(text)}")
    return data


MAX_FACTS_CHARS = 256 * 1024
"""Longest JSON text of a checkpoint's or head's ``facts`` (the shipped head's are 8.6 kB):
facts travel into every track's JSON file and the catalog's model key."""
MAX_REFERENCE_CHARS = 1000
"""Longest description of a display scale's reference music."""


def check_facts_size(facts: Any, *, name: str) -> None:
    """ParameterError when ``facts`` written as JSON exceed :data:`MAX_FACTS_CHARS`."""
    import json

    try:
        size = len(json.dumps(facts, default=str))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ParameterError(f"{name} cannot be written as JSON: {exc}") from None
    if size > MAX_FACTS_CHARS:
        raise ParameterError(f"{name} are {size} characters of JSON, more than the "
                             f"{MAX_FACTS_CHARS} emotrack accepts (they are copied into every result)")


def valid_sample_rate(sr: float) -> int:
    """Return ``sr`` as an int after checking it is a whole number of Hz from
    :data:`MIN_SAMPLE_RATE` to :data:`MAX_SAMPLE_RATE`."""
    try:
        value = float(sr)
    except (TypeError, ValueError, OverflowError):
        raise ParameterError(f"sample rate must be a number of Hz, got {quote(sr)}") from None
    if isinstance(sr, bool) or not np.isfinite(value) or value <= 0 or value != int(value):
        raise ParameterError(
            f"sample rate must be a positive whole number of Hz, got {quote(sr)}"
        )
    if not MIN_SAMPLE_RATE <= value <= MAX_SAMPLE_RATE:
        raise ParameterError(
            f"sample rate {int(value)} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz "
            "(no real recording has it)"
        )
    return int(value)


@dataclass(frozen=True)
class AudioHeader:
    """What a decoder reports about a file, after :func:`check_audio_header`."""

    sample_rate: int
    channels: int
    frames: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def check_audio_header(path: str | os.PathLike, *, sample_rate: Any, channels: Any, frames: Any) -> AudioHeader:
    """Check what a decoder read from a file's header before anything trusts it.

    The one place where a header's sample rate, channel count and frame count are
    checked (``analyze``, ``listen``, the GUI and training all open files through it).

    Raises
    ------
    AudioFileError
        Naming the file: a rate outside 1 kHz..768 kHz, no or more than
        :data:`MAX_CHANNELS` channels, a negative frame count or a claimed duration
        beyond :data:`MAX_DURATION_S` (a corrupt header, e.g. a bogus MP3 Xing frame count).
    """
    try:
        sr = valid_sample_rate(sample_rate)
    except ParameterError as exc:
        raise AudioFileError(f"'{path}' has an impossible header: {exc}; the file is corrupt "
                             "or not what its header says") from None
    try:
        ch = as_int(channels, name="channel count", lo=1, hi=MAX_CHANNELS)
        n = as_int(frames, name="frame count", lo=0)
    except ParameterError as exc:
        raise AudioFileError(f"'{path}' has an unusable header: {exc}") from None
    if n >= UNKNOWN_FRAMES:  # libsndfile's "unknown length" (e.g. chained Ogg): learnt by decoding
        n = 0
    if n / sr > MAX_DURATION_S:
        raise AudioFileError(
            f"'{path}' claims {n / sr / 86400:.1f} days of audio ({n} frames at {sr} Hz), more "
            f"than the {MAX_DURATION_S / 86400:g} days emotrack accepts: its header is corrupt; "
            "re-encode the file")
    return AudioHeader(sr, ch, n)


def check_input_file(path: str | os.PathLike, *, what: str = "audio file",
                     error: type[Exception] = AudioFileError) -> Path:
    """Check that ``path`` names an existing, readable regular file, with the right verdict.

    Missing, a folder, a device or pipe (``/dev/zero``, a FIFO), unreadable and
    unusable names each get their own message naming the path.

    Raises
    ------
    AudioFileError
        Or ``error`` (e.g. :class:`CheckpointError` for a checkpoint).
    """
    import stat

    try:
        text = as_path_text(path)
    except ParameterError as exc:
        raise error(f"{what} path {exc}") from None
    p = Path(text)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise error(f"{what} not found: '{p}'") from None
    except OSError as exc:
        raise error(f"cannot open {what} '{p}': {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{what} '{p}' is a folder, not a regular file")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a pipe" if stat.S_ISFIFO(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise error(f"{what} '{p}' is {kind}, not a regular file")
    if not os.access(p, os.R_OK):
        raise error(f"{what} '{p}' is not readable (permission denied)")
    return p


MAX_DEVICE_INDEX = 1023
"""Largest PortAudio device index accepted (real systems list a few dozen)."""
TORCH_DEVICE_KINDS = ("auto", "cpu", "cuda", "mps")


def valid_audio_device(value: Any, *, name: str | None = "audio device") -> int | str | None:
    """An audio device as the user gave it: None, a PortAudio index or a name (part).

    ASCII digits are an index (0..:data:`MAX_DEVICE_INDEX`); anything else is a name of at
    most 256 characters.  Refused: empty text, negative or huge indices, digits in other
    scripts (``"\u0661\u0662"``: ambiguous between an index and a name), control characters.
    Whether the device exists is checked when it is opened (:class:`DeviceError`).
    """
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return as_int(value, name=f"{name} index" if name else "index", lo=0, hi=MAX_DEVICE_INDEX)
    text = as_text(value, name=name, max_chars=256).strip()
    if not text:
        raise ParameterError(f"{_prefix(name)}must not be blank, got {quote(value)}")
    if _INT_TEXT.fullmatch(text):
        return as_int(text, name=f"{name} index" if name else "index", lo=0, hi=MAX_DEVICE_INDEX,
                      text=True)
    if text.lstrip("+-").isdigit():
        raise ParameterError(f"{_prefix(name)}index must be written with the digits 0-9, got {quote(value)}")
    return text


def valid_torch_device(value: Any, *, name: str | None = "torch device") -> str:
    """``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` (syntax only; see :func:`resolve_torch_device`)."""
    text = as_text(value, name=name, max_chars=32) if isinstance(value, str) else None
    kind, sep, index = (text or "").partition(":")
    ok = kind in TORCH_DEVICE_KINDS and (
        not sep or (kind == "cuda" and index.isascii() and index.isdigit() and int(index) <= MAX_DEVICE_INDEX))
    if not ok:
        raise ParameterError(f"{_prefix(name)}must be auto, cpu, cuda, cuda:N or mps, got {quote(value)}")
    return text


def resolve_torch_device(value: Any) -> str:
    """The torch device to use for ``value`` on this machine (``auto``: CUDA if available).

    Raises
    ------
    ParameterError
        Malformed (see :func:`valid_torch_device`).
    DeviceError
        CUDA or MPS requested but not available, or a CUDA index this machine lacks.
    """
    import torch

    from .errors import DeviceError

    text = valid_torch_device(value)
    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    kind, _, index = text.partition(":")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"torch device {text!r} requested but CUDA is not available; "
                              "use 'cpu' or 'auto'")
        count = torch.cuda.device_count()
        if index and int(index) >= count:
            raise DeviceError(f"torch device {text!r} does not exist: this machine has {count} "
                              f"CUDA device(s) (cuda:0..cuda:{count - 1})")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) is not None
                              and torch.backends.mps.is_available()):
        raise DeviceError(f"torch device {text!r} requested but MPS is not available; use 'cpu' or 'auto'")
    return text


@contextlib.contextmanager
def naming_write_errors(path: str | os.PathLike, *, what: str = "output file",
                        also: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Turn a failed write (disk full, file too large, I/O error) into one error naming ``path``.

    ``write()`` errors carry no file name; without this the user reads only
    "No space left on device".  ``also`` adds a library's own write-error types
    (libsndfile reports a failed write as ``soundfile.LibsndfileError``: "System error.").

    Raises
    ------
    OutputError
    """
    from .errors import OutputError

    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write {what} '{path}': {exc.strerror or exc}") from None
    except also as exc:
        text = str(exc).strip().rstrip(".")
        hint = "" if "space" in text.lower() else " (is the disk full?)"
        raise OutputError(f"cannot write {what} '{path}': {text}{hint}") from None


def as_mono_float32(samples: np.ndarray, *, allow_empty: bool = True) -> np.ndarray:
    """Check audio samples and mix them down to mono float32.

    Parameters
    ----------
    samples : np.ndarray, shape=(n,) or (n, channels)
        Floating-point audio in [-1, 1] (values outside are accepted, not clipped).
        Integer arrays are refused: convert them with ``x / np.iinfo(x.dtype).max``.
    allow_empty : bool
        Whether a zero-length array is acceptable.

    Returns
    -------
    np.ndarray, shape=(n,), dtype float32
        The channel mean (mono mixdown); a view-free copy when mixing is needed.

    Raises
    ------
    ParameterError
        Wrong dtype or shape, empty input (if not allowed), NaN or Inf samples or
        samples beyond +-:data:`MAX_ABS_SAMPLE`.
    """
    x = np.asarray(samples)
    if x.dtype.kind != "f":
        raise ParameterError(
            f"audio must be floating point (float32 or float64), got dtype {x.dtype}; "
            "scale integer PCM to [-1, 1] first"
        )
    if x.ndim == 2:
        x = x.mean(axis=1) if x.shape[1] != 1 else x[:, 0]
    elif x.ndim != 1:
        raise ParameterError(
            f"audio must have shape (n,) or (n, channels), got shape {x.shape}"
        )
    if x.size == 0 and not allow_empty:
        raise ParameterError("audio is empty (0 samples): nothing to analyse")
    fault = find_sample_fault(x)
    if fault is not None:
        raise ParameterError(f"audio contains {fault.describe()}; "
                             "clean or re-export the audio before analysing it")
    return np.ascontiguousarray(x, dtype=np.float32)


#: libsndfile messages that mislead for a file that does exist -> what it means for a user.
_DECODER_REWORDING = {
    "file does not exist or is not a regular file": "not a decodable audio file (truncated or corrupt?)",
    "format not recognised": "format not recognised (not audio, or a format libsndfile cannot read)",
    "supported file format but file is malformed": "the file is malformed (truncated or corrupt?)",
}


def decoder_message(exc: BaseException) -> str:
    """A short, path-free description of a decoder (soundfile/libsndfile) failure.

    libsndfile says ``Error opening '/long/path': Format not recognised.``; the
    caller names the file itself, so the path prefix is dropped, the sentence's
    full stop removed, and the misleading "File does not exist" (which libsndfile
    reports for a truncated MP3 that does exist) reworded.

    >>> decoder_message(RuntimeError("Error opening 'a b.wav': Format not recognised."))
    'format not recognised (not audio, or a format libsndfile cannot read)'
    """
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else type(exc).__name__
    if text.startswith("Error opening ") and "': " in text:
        text = text.split("': ", 1)[1]
    text = text.rstrip(". ")
    low = text.lower()
    for key, better in _DECODER_REWORDING.items():
        if low.startswith(key):
            return better
    return text or type(exc).__name__


@dataclass(frozen=True)
class SampleFault:
    """Samples no decoder should deliver: NaN/Inf, or finite beyond +-:data:`MAX_ABS_SAMPLE`.

    ``first`` is the index of the first bad frame (row) of the block checked.
    """

    kind: str  #: "non-finite" or "too large"
    count: int
    first: int
    peak: float  #: largest magnitude among the finite samples (for "too large")

    def describe(self, *, sample_rate: int | None = None, offset: int = 0) -> str:
        """E.g. ``"NaN or infinite samples (2, first at 3.000 s)"``; times need ``sample_rate``."""
        at = (f"first at {(offset + self.first) / sample_rate:.3f} s" if sample_rate
              else f"first at frame {offset + self.first}")
        if self.kind == "non-finite":
            return f"NaN or infinite samples ({self.count}, {at})"
        return (f"samples far outside [-1, 1] ({self.count} of magnitude up to {self.peak:.3g}, {at}; "
                f"at most {MAX_ABS_SAMPLE:g} is accepted: integer PCM stored as float without scaling?)")


def find_sample_fault(samples: np.ndarray) -> SampleFault | None:
    """The first problem of a block of float samples, or None when it is clean.

    ``samples`` has shape (n,) or (n, channels).  Non-finite samples win over huge ones.
    Costs two reductions on a clean block (min and max propagate NaN; nothing overflows).
    """
    x = np.asarray(samples)
    if not x.size:
        return None
    hi, lo = x.max(), x.min()
    if np.isfinite(hi) and np.isfinite(lo) and max(float(hi), -float(lo)) <= MAX_ABS_SAMPLE:
        return None
    finite = np.isfinite(x)
    rows = (lambda m: m.any(axis=1) if m.ndim == 2 else m)
    peak = float(np.abs(x[finite]).max()) if finite.any() else 0.0
    if not finite.all():
        bad = ~finite
        return SampleFault("non-finite", int(bad.sum()), int(np.argmax(rows(bad))), peak)
    big = np.abs(x) > MAX_ABS_SAMPLE
    return SampleFault("too large", int(big.sum()), int(np.argmax(rows(big))), peak)


def count_non_finite(samples: np.ndarray) -> tuple[int, int]:
    """(number of NaN/Inf samples, index of the first such frame) of a block; (0, -1) if clean.

    ``samples`` has shape (n,) or (n, channels); the index counts frames (rows).
    See :func:`find_sample_fault` for the check decoders use (it also catches huge samples).
    """
    fault = find_sample_fault(samples)
    if fault is None or fault.kind != "non-finite":
        return 0, -1
    return fault.count, fault.first


def writable_dir(path, *, what: str = "output folder"):
    """Create ``path`` (with parents) if needed and check it is a writable folder.

    Called before long work starts, so a bad ``--out`` fails at once with one
    line instead of after minutes of training or analysis.

    Raises
    ------
    ParameterError
        The folder cannot be created (e.g. a parent is a regular file) or written.
    """
    import os
    from pathlib import Path

    p = Path(path)
    existing = next((q for q in (p, *p.parents) if q.exists()), None)
    if existing is not None and not existing.is_dir():
        where = "" if existing == p else f" ('{existing}' is a file, not a folder)"
        raise ParameterError(f"{what} '{p}' cannot be created{where}" if where
                             else f"{what} '{p}' is a file, not a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"cannot create {what} '{p}': {exc.strerror or exc}") from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise ParameterError(f"{what} '{p}' is not writable")
    return p


def writable_file(path, *, what: str = "output file"):
    """Check that a file can be created at ``path`` (its folder is created if needed).

    Raises
    ------
    ParameterError
        ``path`` is a folder, or its folder cannot be created or written.
    """
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        raise ParameterError(f"{what} '{p}' is a folder, not a file")
    writable_dir(p.parent if str(p.parent) else ".", what=f"folder of the {what}")
    return p
