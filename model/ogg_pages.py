"""What an Ogg file's pages say, read without decoding: its chained links and their lengths.

An Ogg file may chain several logical streams one after another (stream recorders
write one per song, or one per reconnection); libsndfile decodes only the first, and
its length for such a file can be the first link's, or "unknown" (INT64_MAX).  A
page's granule position says how far its stream has got, so the last page of a link
says how much audio the link holds even when decoding stops early (a corrupted page
in the middle: libsndfile ends there without an error).

:func:`ogg_links` scans the file once for page headers (resynchronising on the
``OggS`` capture pattern after damage), in pieces of :data:`SCAN_BYTES`.
"""
from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass, replace

SCAN_BYTES = 1 << 20
MAX_LINKS = 4096
"""Most links reported; a file with more is read as far as this many."""
_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, type, granule, serial, sequence, crc, segments


@dataclass(frozen=True)
class OggLink:
    """One logical stream of a chain: its bytes and the granule positions of its pages.

    ``first_granule`` is the granule position of its first page that ends audio (-1:
    none), ``last_granule`` the largest one: for a stream that starts at 0 (what
    encoders write) the link's length in samples of its own rate.
    """

    start: int
    end: int
    first_granule: int = -1
    last_granule: int = 0

    def announced(self, *, start_limit: int) -> int | None:
        """Samples the pages announce, or None when the stream may not start at 0.

        A stream cut out of a longer one (a recorder) keeps its granule positions, so
        its first audio page's is large: beyond ``start_limit`` samples it is not
        trusted to mean that audio was lost.
        """
        if self.first_granule < 0 or self.first_granule > start_limit:
            return None
        return self.last_granule


def ogg_links(path: str | os.PathLike) -> list[OggLink]:
    """The links of an Ogg file in order (one for an ordinary file; empty when no page is found)."""
    links: list[OggLink] = []
    previous_bos = False
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        for offset, header_type, granule in _pages(fh, size):
            bos = bool(header_type & 0x02)
            if bos and not previous_bos:
                if len(links) >= MAX_LINKS:
                    break
                if links:
                    links[-1] = replace(links[-1], end=offset)
                links.append(OggLink(offset, size))
            previous_bos = bos
            if links and granule > 0:
                link = links[-1]
                links[-1] = replace(link, first_granule=granule if link.first_granule < 0 else link.first_granule,
                                    last_granule=max(link.last_granule, granule))
    return links


def _pages(fh, size: int):
    """(offset, header type, granule position) of every plausible page header in ``fh``."""
    pos = 0
    while pos < size:
        fh.seek(pos)
        chunk = fh.read(SCAN_BYTES + _HEADER.size)
        if len(chunk) < _HEADER.size:
            return
        last = len(chunk) < SCAN_BYTES + _HEADER.size  # later pieces overlap this one's tail
        at = 0
        while True:
            found = chunk.find(b"OggS\x00", at)
            if found < 0 or found + _HEADER.size > len(chunk) or (not last and found >= SCAN_BYTES):
                break
            _, version, header_type, granule, _serial, _seq, _crc, _n = _HEADER.unpack_from(chunk, found)
            if version == 0 and header_type < 8:
                yield pos + found, header_type, granule
            at = found + 1
        pos += SCAN_BYTES


class ByteRange(io.RawIOBase):
    """A read-only file object over ``[start, end)`` of an open file (one link, for soundfile)."""

    def __init__(self, fh, start: int, end: int) -> None:
        super().__init__()
        self._fh, self._start, self._end, self._pos = fh, start, end, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._end - self._start}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, n: int = -1) -> bytes:
        left = max(0, self._end - self._start - self._pos)
        n = left if n is None or n < 0 else min(n, left)
        self._fh.seek(self._start + self._pos)
        data = self._fh.read(n)
        self._pos += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)
