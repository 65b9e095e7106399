"""What an output folder already holds: the ledger that makes ``analyze`` resumable.

``OUT/.emotrack-ledger.jsonl`` gets one JSON line per track when its outputs are
in place (``done``: its per-track files and/or its catalog rows) or when it
failed (``failed``, with the one-line reason).  A rerun reads it to skip what is
complete for the same content (track id) and model, and to know the track id
of a file whose path, size and modification time are unchanged without reading
it again.  Lines are appended and flushed after the outputs they describe are
renamed in; a torn last line (a killed run) is ignored.  Delete the file to
make the next run start from zero (or pass ``--force``).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

LEDGER_NAME = ".emotrack-ledger.jsonl"


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
    """The ledger of one output folder (read at construction)."""

    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.path = Path(out_dir) / LEDGER_NAME
        self._ids: dict[tuple[str, int, int], str] = {}
        self._files: dict[str, Entry] = {}
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

    def in_catalog(self, track_id: str, model_key: str) -> bool:
        """Whether the catalog tables hold this track's rows for this model."""
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
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        for e in entries:
            self._index(e)

    def _index(self, e: Entry) -> None:
        if e.size or e.mtime_ns:
            self._ids[(e.path, e.size, e.mtime_ns)] = e.track_id
        self._state[(e.track_id, e.model_key)] = e
        if e.kind == "done":
            if any(f != "parquet" for f in e.formats):
                self._files[e.name] = e
            if "parquet" in e.formats:
                self._rows.add((e.track_id, e.model_key))

    def _read(self) -> list[Entry]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        entries = []
        for line in text.splitlines():
            try:
                d = json.loads(line)
                entries.append(Entry(**{**d, "formats": tuple(d.get("formats", ()))}))
            except (ValueError, TypeError):
                continue  # a line torn by a killed run
        return entries
