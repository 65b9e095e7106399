"""What an output folder already holds: the ledger that makes ``analyze`` resumable.

``OUT/.emotrack-ledger.jsonl`` gets one JSON line per track when its outputs are
in place (``done``: its per-track files and/or its catalog rows) or when it
failed (``failed``, with the one-line reason).  A rerun reads it to skip what is
complete for the same content (track id) and model, and to know the track id
of a file whose path, size and modification time are unchanged without reading
it again.  Lines are appended and flushed after the outputs they describe are
renamed in; a torn last line (a killed run) is ignored, and the next append
starts a new line.  Delete the file to make the next run start from zero (or
pass ``--force``).

The ledger is data, not instructions: it is read only when it is a regular
file (never through a symbolic link, never a FIFO or device), at most
:data:`MAX_LEDGER_BYTES`, and each line is checked against the schema of
:class:`Entry`.  A ledger that is not a regular file or is too large is moved
aside with one warning; lines that are not entries (not UTF-8, not JSON, nested,
wrong types) are ignored with one warning.
"""
from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Iterable

from ..outputs.state_files import BadStateFile, append_state, quarantine, state_lines, stderr_warning

LEDGER_NAME = ".emotrack-ledger.jsonl"
MAX_LEDGER_BYTES = 512 << 20
"""About a million tracks; a larger ledger was not written by emotrack."""
MAX_LINE_BYTES = 1 << 20
_TRACK_ID = re.compile(r"[0-9a-f]{32}\Z")


@dataclass(frozen=True)
class Entry:
    """One ledger line."""

    kind: str
    """``"done"`` or ``"failed"``."""
    name: str
    path: str
    track_id: str
    model_key: str
    formats: tuple[str, ...] = ()
    """What was written: per-track formats and ``"parquet"`` for catalog rows."""
    size: int = 0
    mtime_ns: int = 0
    reason: str = ""
    at: float = 0.0


class Ledger:
    """The ledger of one output folder (read at construction).

    Parameters
    ----------
    out_dir : path-like
    warn : callable, optional
        Prints one ``emotrack: warning: ...`` line (default: standard error).
    """

    def __init__(self, out_dir: str | os.PathLike,
                 warn: Callable[[str], None] | None = None) -> None:
        self.path = Path(out_dir) / LEDGER_NAME
        self._warn = warn or stderr_warning
        self._ids: dict[tuple[str, int, int], str] = {}
        self._files: dict[str, Entry] = {}
        self._folded: dict[str, Entry] = {}
        self._rows: set[tuple[str, str]] = set()
        self._state: dict[tuple[str, str], Entry] = {}
        for entry in self._read():
            self._index(entry)

    def known_id(self, path: str, size: int, mtime_ns: int) -> str | None:
        """The track id recorded for this exact file (path, size, time), if any."""
        return self._ids.get((path, size, mtime_ns))

    def files_hold(self, name: str, track_id: str, model_key: str, formats: Iterable[str]) -> bool:
        """Whether the per-track files of ``name`` hold this track and model in all ``formats``."""
        e = self._files.get(name)
        return (e is not None and (e.track_id, e.model_key) == (track_id, model_key)
                and set(formats) <= set(e.formats))

    def files_of(self, name: str) -> Entry | None:
        """The entry of the last track whose per-track files were written as ``name``."""
        return self._folded.get(name.casefold())

    def in_catalog(self, track_id: str, model_key: str) -> bool:
        """Whether the ledger says the catalog tables hold this track's rows for this model."""
        return (track_id, model_key) in self._rows

    def failure(self, track_id: str, model_key: str) -> str | None:
        """The reason of the last run's failure of this track and model (None: no failure)."""
        e = self._state.get((track_id, model_key))
        return e.reason if e is not None and e.kind == "failed" else None

    def append(self, entries: list[Entry]) -> None:
        """Add ``entries`` (one line each, flushed to disk)."""
        if not entries:
            return
        now = time.time()
        text = "".join(json.dumps({**asdict(e), "at": e.at or now}) + "\n" for e in entries)
        try:
            append_state(self.path, text.encode("utf-8"))
        except BadStateFile as exc:  # replaced during the run: set aside, start a new one
            quarantine(self.path, str(exc), warn=self._warn)
            append_state(self.path, text.encode("utf-8"))
        for e in entries:
            self._index(e)

    def _index(self, e: Entry) -> None:
        if e.size or e.mtime_ns:
            self._ids[(e.path, e.size, e.mtime_ns)] = e.track_id
        self._state[(e.track_id, e.model_key)] = e
        if e.kind == "done":
            if any(f != "parquet" for f in e.formats):
                self._files[e.name] = e
                self._folded[e.name.casefold()] = e
            if "parquet" in e.formats:
                self._rows.add((e.track_id, e.model_key))

    def _read(self) -> list[Entry]:
        entries: list[Entry] = []
        bad: list[str] = []
        try:
            lines = list(enumerate(state_lines(self.path, max_bytes=MAX_LEDGER_BYTES,
                                               max_line=MAX_LINE_BYTES), 1))
        except (BadStateFile, OSError) as exc:
            why = str(exc) if isinstance(exc, BadStateFile) else (exc.strerror or str(exc))
            quarantine(self.path, f"is not a ledger emotrack wrote ({why})", warn=self._warn)
            return []
        for number, line in lines:
            torn = number == len(lines) and line is not None and not line.endswith(b"\n")
            try:
                if line is None:
                    raise ValueError(f"longer than {MAX_LINE_BYTES} bytes")
                entries.append(parse_entry(line))
            except ValueError as exc:
                if not torn:  # a torn last line is a killed run, not a problem
                    bad.append(f"line {number}: {exc}")
        if bad:
            self._warn(f"emotrack: warning: '{self.path}': {len(bad)} line(s) are not ledger "
                       f"entries and are ignored (first: {bad[0][:120]})")
        return entries


def parse_entry(line: bytes) -> Entry:
    """One ledger line as an :class:`Entry`, every field checked.

    Raises
    ------
    ValueError
        Not UTF-8, not JSON, nested too deeply, a missing field or one of the wrong type.
    """
    try:
        d = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(d, dict):
        raise ValueError("not a JSON object")
    known = {f.name for f in fields(Entry)}
    d = {k: v for k, v in d.items() if k in known}
    missing = {"kind", "name", "path", "track_id", "model_key"} - d.keys()
    if missing:
        raise ValueError(f"missing {sorted(missing)}")

    def check(key: str, ok: Callable[[Any], bool]) -> None:
        if key in d and not ok(d[key]):
            raise ValueError(f"bad {key}: {str(d[key])[:60]!r}")

    def text(v: Any) -> bool:
        return isinstance(v, str) and "\0" not in v and len(v) <= 65536

    def count(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 63

    check("kind", lambda v: v in ("done", "failed"))
    for key in ("name", "path", "model_key", "reason"):
        check(key, text)
    check("track_id", lambda v: isinstance(v, str) and bool(_TRACK_ID.match(v)))
    check("formats", lambda v: isinstance(v, list) and len(v) <= 16 and all(text(f) for f in v))
    check("size", count)
    check("mtime_ns", count)
    check("at", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))
    return Entry(**{**d, "formats": tuple(d.get("formats", ()))})
