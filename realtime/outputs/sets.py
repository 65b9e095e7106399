"""Where results go: a readable line, CSV, JSON lines and OSC over UDP.

Every writer has ``write(result)`` and ``close()``; files are flushed after each
row (2 rows a second), so they are complete whenever the run stops.  CSV and JSON
lines follow the trajectory schema of :mod:`emotrack.realtime.outputs.schema` (the same
columns as ``emotrack analyze`` writes, plus ``wall_time`` and ``latency_ms``).

OSC: each result is one OSC 1.0 message ``/emotrack/va`` with the float
arguments ``arousal, valence, time_s`` (the project's output order: arousal
first) and an int ``warming_up`` (1/0), then, when the tracker has an uncertainty
model, the floats ``arousal_sd, valence_sd``; sent as one UDP datagram.  A silent
frame carries no numbers: it is sent as ``/emotrack/silence time_s`` instead (a
receiver holds or fades its last value).  The encoding is a few lines of
:mod:`struct` (:func:`osc_message`), so no extra dependency.
"""
from __future__ import annotations

import csv
import socket
import struct
import sys
from pathlib import Path
from typing import IO, Callable

from ...model.errors import ParameterError
from ...model.validate import naming_write_errors
from ..results import TrackResult
from .schema import columns, csv_cell, dumps, extra_columns, live_row, tag_cells, tags_dict


def format_line(r: TrackResult) -> str:
    """One human-readable line, e.g. ``  12.5 s  arousal +0.31 (p78)  valence -0.12 (p35)  tense``.

    Percentiles (``p78``: more than 78 % of the reference music) appear when the tracker
    has a display scale, ``sd 0.08`` (on the raw scale) when it has an uncertainty model:
    ``arousal +0.31 (sd 0.08, p92)``; a silent frame has no numbers and no word:
    ``  12.5 s  (silence)``.
    """
    def part(name: str, value: float, sd: float | None, pct: float | None) -> str:
        notes = ([f"sd {sd:.2f}"] if sd is not None else []) + ([f"p{pct:02.0f}"] if pct is not None else [])
        return f"{name} {value:+.2f}" + (f" ({', '.join(notes)})" if notes else "")

    if r.silent:
        return f"{r.time_s:7.1f} s  (silence)"
    warm = "  (warming up)" if r.warming_up else ""
    return (f"{r.time_s:7.1f} s  {part('arousal', r.arousal, r.arousal_sd, r.arousal_pct)}  "
            f"{part('valence', r.valence, r.valence_sd, r.valence_pct)}  {r.mood:<10}{warm}").rstrip()


def _open_text(path: str | Path) -> IO[str]:
    try:
        return open(path, "w", newline="", encoding="utf-8")
    except OSError as exc:
        raise ParameterError(f"cannot write '{path}': {exc.strerror or exc}") from None


class CsvWriter:
    """Results as CSV rows: the live trajectory columns (:func:`~emotrack.realtime.outputs.schema.columns`).

    ``extra_names`` are the tracker's extras (e.g. musicnn's 50 tags), written as
    ``tag_<name>`` columns after the others.  ``label`` is the name error messages give
    the file (default ``path``; ``listen`` writes into a part file but names the output).
    """

    def __init__(self, path: str | Path, extra_names: tuple[str, ...] = (), *,
                 label: str | Path | None = None) -> None:
        self.path = Path(label if label is not None else path)
        self._extra = extra_columns(extra_names)
        self._fh = _open_text(path)
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self._fields = columns(extra_names, live=True)
        with naming_write_errors(self.path, what="CSV file"):
            self._writer.writerow(self._fields)
            self._fh.flush()

    def write(self, r: TrackResult) -> None:
        row = live_row(r)
        cells = [csv_cell(row[c]) for c in self._fields[:len(self._fields) - len(self._extra)]]
        if self._extra:
            cells += tag_cells(None if r.silent else r.extras, len(self._extra))
        with naming_write_errors(self.path, what="CSV file"):
            self._writer.writerow(cells)
            self._fh.flush()

    def close(self) -> None:
        with naming_write_errors(self.path, what="CSV file"):
            self._fh.close()


class JsonlWriter:
    """One JSON object per line (the trajectory columns; extras as ``"tags": {name: p}``).

    ``"-"`` writes to standard output; ``label`` as for :class:`CsvWriter`.
    """

    def __init__(self, path: str | Path, extra_names: tuple[str, ...] = (), *,
                 label: str | Path | None = None) -> None:
        self._own = str(path) != "-"
        self.path = Path(label if label is not None else path) if self._own else None
        self.extra_names = tuple(extra_names)
        self._fh = _open_text(path) if self._own else sys.stdout

    def write(self, r: TrackResult) -> None:
        row = live_row(r)
        if self.extra_names:
            row["tags"] = None if r.silent else tags_dict(self.extra_names, r.extras)
        with naming_write_errors(self.path or "standard output", what="JSON lines"):
            self._fh.write(dumps(row) + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._own:
            with naming_write_errors(self.path, what="JSON lines"):
                self._fh.close()


def _osc_string(s: str) -> bytes:
    raw = s.encode("ascii") + b"\0"
    return raw + b"\0" * (-len(raw) % 4)


def osc_message(address: str, *args: float | int) -> bytes:
    """Encode one OSC 1.0 message (float32 ``f`` and int32 ``i`` arguments, big-endian).

    >>> osc_message("/a", 1.0).hex()
    '2f6100002c6600003f800000'
    """
    if not address.startswith("/"):
        raise ParameterError(f"an OSC address starts with '/', got {address!r}")
    tags = ","
    payload = b""
    for a in args:
        if isinstance(a, (bool, int)):
            tags += "i"
            payload += struct.pack(">i", int(a))
        else:
            tags += "f"
            payload += struct.pack(">f", float(a))
    return _osc_string(address) + _osc_string(tags) + payload


def parse_host_port(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9000"`` -> ("127.0.0.1", 9000); ParameterError when malformed.

    The port is 1-65535 in ASCII digits; the host (name, IPv4, or IPv6 in brackets)
    is 1-253 characters without spaces or control characters.
    """
    from ...model.validate import quote

    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if (not sep or not host or len(host) > 253 or not (port.isascii() and port.isdigit())
            or not 0 < int(port) < 65536 or any(c.isspace() or not c.isprintable() for c in host)):
        raise ParameterError(f"--osc needs HOST:PORT such as 127.0.0.1:9000 (port 1-65535), "
                             f"got {quote(text)}")
    return host, int(port)


class OscSender:
    """Sends ``/emotrack/va arousal valence time_s warming_up [arousal_sd valence_sd]`` per
    result over UDP, ``/emotrack/silence time_s`` for a silent frame (see the module docstring).

    A datagram the OS refuses (e.g. a broadcast address without permission) is
    counted in :attr:`errors`; the first refusal is reported once through ``warn``
    (a callable taking one line; default: print it to standard error), and
    :meth:`summary` says how many were lost.
    """

    address = "/emotrack/va"
    silence_address = "/emotrack/silence"

    def __init__(self, target: str, *, warn: Callable[[str], None] | None = None) -> None:
        self.host, self.port = parse_host_port(target)
        try:
            info = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
        except (socket.gaierror, UnicodeError) as exc:  # UnicodeError: a name label over 63 chars
            raise ParameterError(f"--osc host {self.host!r} cannot be resolved: {exc}") from None
        self._sock = socket.socket(info[0], socket.SOCK_DGRAM)
        self._addr = info[4]
        self._warn = warn if warn is not None else _print_to_stderr
        self.sent = 0
        """Datagrams handed to the OS."""
        self.errors = 0
        """Datagrams the OS refused to send (UDP has no delivery guarantee anyway)."""
        self.first_error: str | None = None

    def write(self, r: TrackResult) -> None:
        if r.silent:
            message = osc_message(self.silence_address, r.time_s)
        else:
            sd = () if r.arousal_sd is None or r.valence_sd is None else (r.arousal_sd, r.valence_sd)
            message = osc_message(self.address, r.arousal, r.valence, r.time_s, int(r.warming_up), *sd)
        try:
            self._sock.sendto(message, self._addr)
        except OSError as exc:
            self.errors += 1
            if self.first_error is None:
                self.first_error = exc.strerror or str(exc)
                self._warn(f"emotrack: warning: OSC messages to {self.host}:{self.port} cannot be "
                           f"sent ({self.first_error}); further failures are only counted "
                           "in the summary")
        else:
            self.sent += 1

    def summary(self) -> str:
        """``"OSC 12 sent, 3 not sent (Permission denied)"`` for the closing summary."""
        failed = f", {self.errors} not sent ({self.first_error})" if self.errors else ""
        return f"OSC {self.sent} sent{failed}"

    def close(self) -> None:
        self._sock.close()


def _print_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
