"""Keep the C decoders' own text off the terminal: :class:`DecoderChatter`.

libsndfile decodes MP3 through libmpg123, which prints what it finds in a damaged
stream straight to file descriptor 2 (``[src/libmpg123/layer3.c:...] error:
part2_3_length ...``, ``Note: Illegal Audio-MPEG-Header ...``), bypassing Python.
Around each decoding call (open, header, read) fd 2 is pointed at an anonymous
temporary file; afterwards the decoder's lines are kept for one emotrack note per
file (:meth:`DecoderChatter.note`) and anything else written meanwhile (another
thread's message) is copied to the real standard error, so nothing else is lost.

Thread safety: one process-wide lock guards the redirection; it is installed by the
first thread that enters and removed by the last one that leaves (nested and
concurrent decoding calls share it).  A temporary file, not a pipe, so a chatty
decoder can never block on a full pipe.  Never used in an audio callback.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from typing import Iterator

_DECODER_LINE = re.compile(
    r"^(\[src/|\[[^\]]*(mpg123|sndfile|vorbis|opus|flac)[^\]]*\]|(Note|Warning|Error): )", re.I)
"""What libmpg123 (and friends) print: ``[src/libmpg123/...]``, ``Note: ...``, ``Warning: ...``."""

MAX_KEPT = 20
"""Decoder lines kept per file (the rest are only counted)."""

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None
_capture = None  # the temporary file fd 2 points at while _depth > 0


class DecoderChatter:
    """What the decoders printed while decoding one file.

    Use :meth:`capture` around every decoding call on that file; :meth:`note` is the
    one sentence to show the user (None when the decoder said nothing).
    """

    def __init__(self, what: str = "decoder") -> None:
        self.what = what
        self.lines: list[str] = []
        """The first :data:`MAX_KEPT` decoder lines, stripped."""
        self.count = 0
        """Decoder lines seen in all."""

    @contextlib.contextmanager
    def capture(self) -> Iterator[None]:
        """Redirect fd 2 for the duration of one decoding call (see the module docstring)."""
        start = _enter()
        try:
            yield
        finally:
            for line in _leave(start):
                self.count += 1
                if len(self.lines) < MAX_KEPT:
                    self.lines.append(line)

    def note(self) -> str | None:
        """``"the MP3 decoder reported damaged data (3 messages, the first: ...)..."``, or None."""
        if not self.count:
            return None
        first = self.lines[0]
        first = re.sub(r"^\[[^\]]*\]\s*", "", first)  # the decoder's source file and line
        first = re.sub(r"^(error|note|warning):\s*", "", first, flags=re.I)
        messages = "1 message" if self.count == 1 else f"{self.count} messages"
        return (f"the {self.what} reported damaged data ({messages}, the first: {first!r}); "
                "the audio there may glitch")


def _enter() -> int:
    """Install the redirection (first caller) and return where this call's text starts
    (-1: it could not be installed, e.g. no fd 2 or no temporary folder; decoding goes on)."""
    global _depth, _saved_fd, _capture
    with _lock:
        if _depth == 0:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            try:
                capture = tempfile.TemporaryFile()
            except OSError:
                return -1
            try:
                saved = os.dup(2)
            except OSError:
                capture.close()
                return -1
            os.dup2(capture.fileno(), 2)
            _capture, _saved_fd = capture, saved
        _depth += 1
        return os.lseek(_capture.fileno(), 0, os.SEEK_END)


def _leave(start: int) -> list[str]:
    """Decoder lines written since ``start``; the last caller restores fd 2 and replays the rest."""
    global _depth, _saved_fd, _capture
    if start < 0:
        return []
    with _lock:
        fd = _capture.fileno()
        end = os.lseek(fd, 0, os.SEEK_END)
        text = os.pread(fd, end - start, start).decode("utf-8", "replace") if end > start else ""
        mine = [ln.strip() for ln in text.splitlines() if _DECODER_LINE.match(ln.strip())]
        _depth -= 1
        if _depth == 0:
            os.dup2(_saved_fd, 2)
            os.close(_saved_fd)
            rest = os.pread(fd, end, 0).decode("utf-8", "replace")
            other = [ln for ln in rest.splitlines(keepends=True)
                     if ln.strip() and not _DECODER_LINE.match(ln.strip())]
            _capture.close()
            _capture, _saved_fd = None, None
            if other:
                with contextlib.suppress(OSError):
                    os.write(2, "".join(other).encode("utf-8", "replace"))
        return mine
