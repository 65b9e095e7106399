"""Did decoding reach the end of the file?  One sentence for the user when it did not.

Three signs that a file stops before its end, all of them a file cut short (an
incomplete download or copy) or damaged:

- the stream ends in a decoder error after some audio was decoded;
- the header announces more audio than could be decoded (MP3 with a Xing/LAME
  header, FLAC, WAV...): more than :data:`TOLERANCE_S` or 1 % is missing;
- an Ogg file (Vorbis, Opus, FLAC in Ogg) whose last page has no end-of-stream
  mark, or is itself cut (libsndfile measures an Ogg file by scanning it, so its
  "header" length is whatever is there).
"""
from __future__ import annotations

import os

TOLERANCE_S = 0.05
"""Missing audio up to this plus 1 % of the announced length is not reported:
encoders' headers are off by a frame or two."""

_OGG_MAX_PAGE = 27 + 255 + 255 * 255


def early_end_note(path: str | os.PathLike, *, decoded_s: float, header_s: float,
                   file_format: str, error: str | None = None,
                   what: str = "the header announces") -> str | None:
    """One sentence saying how much was decoded, or None when the file was decoded to its end.

    >>> early_end_note("x.mp3", decoded_s=2.0, header_s=45.0, file_format="MP3")
    'decoded 2.0 s of 45.0 s the header announces; the rest is unreadable'
    """
    missing = header_s - decoded_s
    if missing > TOLERANCE_S + 0.01 * header_s:
        note = f"decoded {decoded_s:.1f} s of {header_s:.1f} s {what}; the rest is unreadable"
        return f"{note} ({error})" if error else note
    if error:
        return f"decoded {decoded_s:.1f} s, then the stream ends in an error ({error})"
    if file_format.upper() == "OGG" and ogg_is_cut(path):
        return (f"decoded {decoded_s:.1f} s; the file ends without the Ogg end-of-stream mark, "
                "so it was probably cut short")
    return None


def ogg_is_cut(path: str | os.PathLike) -> bool:
    """True when the last Ogg page of ``path`` lacks the end-of-stream flag or is incomplete."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - _OGG_MAX_PAGE - 4))
            tail = fh.read()
    except OSError:
        return False
    start = tail.rfind(b"OggS\x00")
    if start < 0 or len(tail) < start + 27:
        return True
    header_type, n_segments = tail[start + 5], tail[start + 26]
    lacing = tail[start + 27:start + 27 + n_segments]
    page_end = start + 27 + n_segments + sum(lacing)
    return len(lacing) < n_segments or page_end > len(tail) or not header_type & 0x04
