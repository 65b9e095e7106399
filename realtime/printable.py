"""Names and messages made safe to print on one terminal line, in any encoding.

A file name may hold anything but ``/`` and NUL: newlines, terminal escape
sequences (``ESC [2J`` clears the screen), bytes that are not UTF-8.  Every line
emotrack prints about a file goes through :func:`printable`, which writes those
characters as Python escapes (``\\n``, ``\\x1b``, ``\\xff``), so a name can
neither forge a second line nor drive the terminal.  :func:`safe_streams` makes
standard output and error write what their encoding cannot hold as
backslash escapes (``PYTHONIOENCODING=ascii``, ``LANG=C``) instead of raising.
"""
from __future__ import annotations

import re
import sys

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    ch = match.group()
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    return ch.encode("unicode_escape").decode("ascii") if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with control characters, line separators, bidi overrides and undecodable
    bytes written as escapes (``'a\\nb'`` -> ``'a\\\\nb'``).

    >>> printable("song\\n\\x1b[2J.wav")
    'song\\\\n\\\\x1b[2J.wav'
    """
    return _UNSAFE.sub(_escape, str(text))


def safe_streams() -> None:
    """Standard output and error write unencodable characters as backslash escapes."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a detached or closed stream
                pass
