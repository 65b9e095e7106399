"""The catalog: Parquet tables of every analysed frame and track (``analyze --format parquet``).

Layout under the output folder::

    catalog/MODEL_KEY/frames/part-*.parquet   one row per 500 ms frame
    catalog/MODEL_KEY/tracks/part-*.parquet   one row per track (summary)
    catalog/failures/part-*.parquet           one row per failed track (all models)

``MODEL_KEY`` (e.g. ``musicnn-centered-3f9a1c2e``) keeps the results of different
models or modes apart, each folder one schema.  Each folder is a Parquet dataset:
``pandas.read_parquet("OUT/catalog/MODEL_KEY/tracks")``,
``polars.read_parquet("OUT/catalog/*/tracks/*.parquet")`` or DuckDB's
``FROM 'OUT/catalog/*/frames/*.parquet'`` read it.  Rows are buffered and written
as new part files every :attr:`CatalogTables.flush_every` tracks and at the end of
the run; the part files of one flush (frames, tracks, failures) are renamed in
together (:class:`~emotrack.realtime.outputs.atomic_files.OutputSet`), so a track's frames
and its summary row never appear without each other.  Hidden temporaries
(``.part-*``) are skipped by Parquet readers.

What the tables hold is read from the tables themselves (:meth:`CatalogTables.held`),
not from the ledger: a deleted catalog or part is noticed and its tracks are
analysed again.  A part whose partner of the same flush is missing or
unreadable is moved out of the catalog to ``OUT/.emotrack-set-aside/`` (so a
rebuilt track's rows are never there twice), and nothing but part files is
ever written inside ``catalog/``.
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from ...model.errors import ParameterError
from ..outputs.atomic_files import OutputSet, clean_leftovers
from ..outputs.state_files import inside, stderr_warning
from ..outputs.schema import COMMON_COLUMNS, extra_columns
from .inputs import FileFacts
from .work import QUADRANTS, TrackOutcome

INSTALL_HINT = "install it with: pip install 'emotrack[catalog]'"
FLAGS = ("warming_up", "silent")
"""Columns that are 0/1 in CSV and JSON, booleans in the catalog."""


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ParameterError(f"--format parquet needs pyarrow; {INSTALL_HINT}") from None
    return pa, pq


def frame_schema(extra_names: tuple[str, ...]):
    """Columns of the frames table: the track, then the trajectory schema, then ``tag_*``."""
    pa, _ = _pyarrow()
    types = {"frame_index": pa.int32(), "mood": pa.string(), **{f: pa.bool_() for f in FLAGS}}
    fields = [pa.field("track_id", pa.string()), pa.field("name", pa.string()),
              pa.field("path", pa.string())]
    fields += [pa.field(c, types.get(c, pa.float32())) for c in COMMON_COLUMNS]
    fields += [pa.field(c, pa.float32()) for c in extra_columns(extra_names)]
    return pa.schema(fields)


def track_schema():
    """Columns of the tracks table (one row per track)."""
    pa, _ = _pyarrow()
    f64 = pa.float64()
    return pa.schema([
        ("track_id", pa.string()), ("name", pa.string()), ("path", pa.string()),
        ("size_bytes", pa.int64()), ("mtime_ns", pa.int64()),
        ("model", pa.string()), ("model_key", pa.string()), ("mode", pa.string()),
        ("emotrack_version", pa.string()), ("duration_s", f64), ("frames", pa.int32()),
        ("silent_share", f64), ("arousal_mean", f64), ("arousal_std", f64),
        ("valence_mean", f64), ("valence_std", f64),
        *[(f"share_{q}", f64) for q in QUADRANTS],
        ("decoded_to_end", pa.bool_()), ("early_end", pa.string()),
        ("analysed_at", pa.timestamp("s", tz="UTC")),
    ])


def failure_schema():
    """Columns of the failures table."""
    pa, _ = _pyarrow()
    return pa.schema([("track_id", pa.string()), ("name", pa.string()), ("path", pa.string()),
                      ("model_key", pa.string()), ("reason", pa.string()),
                      ("failed_at", pa.timestamp("s", tz="UTC"))])


class CatalogTables:
    """Buffers rows and writes them as Parquet part files (see the module docstring).

    Parameters
    ----------
    out_dir : path-like
        The output folder (its lock must be held by the caller).
    model_key, model, mode, version : str
        Recorded in each track row; ``model_key`` names the model's folder.
    extra_names : tuple of str
        The tracker's extras (columns ``tag_*`` of the frames table).
    flush_every : int
        Tracks buffered before their rows are written.
    """

    def __init__(self, out_dir: str | os.PathLike, *, model_key: str, model: str, mode: str,
                 version: str, extra_names: tuple[str, ...] = (), flush_every: int = 64,
                 warn=None) -> None:
        _pyarrow()
        self.out_dir = Path(out_dir)
        self.root = Path(out_dir) / "catalog"
        self._warn = warn or stderr_warning
        self.model_dir = self.root / model_key
        self.meta = {"model": model, "model_key": model_key, "mode": mode,
                     "emotrack_version": version}
        self.extra_names = tuple(extra_names)
        self._tag_columns = extra_columns(self.extra_names)
        self.flush_every = flush_every
        # unique per run (two runs within a second in one process included): parts never replace parts
        self._run = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(4)}"
        self._seq = 0
        self._frames: list[dict[str, Any]] = []
        self._tracks: list[dict[str, Any]] = []
        self._failures: list[dict[str, Any]] = []
        for folder in (self.root, self.model_dir / "frames", self.model_dir / "tracks",
                       self.root / "failures"):
            if os.path.lexists(folder) and (os.path.islink(folder) or not folder.is_dir()
                                            or not inside(folder, self.out_dir)):
                raise ParameterError(f"'{folder}' is not a folder of the output folder (a file or a "
                                     "symbolic link?); the catalog is written only inside --out: "
                                     "move it away")
            clean_leftovers(folder, warn=self._warn)
        self._held: set[str] | None = None

    def held(self) -> set[str]:
        """Track ids whose frames and summary are in the tables of this model (read once).

        A tracks part and a frames part of the same flush share a file name; a part
        without its partner, or one that cannot be read, is set aside (module docstring).
        """
        if self._held is None:
            _, pq = _pyarrow()
            ids: set[str] = set()
            frames, tracks = (_parts(self.model_dir / sub) for sub in ("frames", "tracks"))
            for name in sorted(set(frames) | set(tracks)):
                try:
                    if name not in frames or name not in tracks:
                        raise ValueError("its partner of the same flush is missing")
                    pq.read_metadata(frames[name])
                    column = pq.read_table(tracks[name], columns=["track_id"]).column("track_id")
                    got = {t for t in column.to_pylist() if isinstance(t, str)}
                except Exception as exc:  # noqa: BLE001 - any unreadable part is set aside
                    for path in (frames.get(name), tracks.get(name)):
                        if path is not None:
                            self._set_aside(path, str(exc).splitlines()[0][:120] if str(exc) else
                                            type(exc).__name__)
                    continue
                ids |= got
            self._held = ids
        return self._held

    def holds(self, track_id: str) -> bool:
        """Whether this track's rows are in the tables (:meth:`held`) or buffered."""
        return track_id in self.held()

    def _set_aside(self, path: Path, why: str) -> None:
        dest = self.out_dir / ".emotrack-set-aside" / path.relative_to(self.out_dir)
        if not inside(dest.parent, self.out_dir):
            raise ParameterError(f"'{self.out_dir / '.emotrack-set-aside'}' leads outside the "
                                 "output folder (a symbolic link?); move it away")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest)
        self._warn(f"emotrack: warning: catalog part '{path}' set aside to '{dest}' ({why}); "
                   "its tracks are analysed again")

    @property
    def pending(self) -> int:
        """Tracks (done or failed) whose rows are not written yet."""
        return len(self._tracks) + len(self._failures)

    def add_track(self, outcome: TrackOutcome, facts: FileFacts) -> None:
        """Buffer a finished track's frames and summary."""
        job = outcome.job
        if self._held is not None:
            self._held.add(job.track_id)
        for row in outcome.rows or []:
            tags = row.get("tags") or {}
            frame = {"track_id": job.track_id, "name": utf8(job.name), "path": utf8(facts.path),
                     **{c: row[c] for c in COMMON_COLUMNS}}
            for flag in FLAGS:
                frame[flag] = bool(frame[flag])
            frame.update(zip(self._tag_columns, (tags.get(n) for n in self.extra_names)))
            self._frames.append(frame)
        self._tracks.append({"track_id": job.track_id, "name": utf8(job.name), "path": utf8(facts.path),
                             "size_bytes": facts.size, "mtime_ns": facts.mtime_ns, **self.meta,
                             **outcome.summary, "analysed_at": int(time.time())})

    def add_failure(self, *, track_id: str | None, name: str, path: str, reason: str) -> None:
        """Buffer a failed track."""
        self._failures.append({"track_id": track_id, "name": utf8(name), "path": utf8(path),
                               "model_key": self.meta["model_key"], "reason": reason,
                               "failed_at": int(time.time())})

    def flush(self) -> list[Path]:
        """Write the buffered rows as new part files (all renamed in together)."""
        pa, pq = _pyarrow()
        self._seq += 1
        part = f"part-{self._run}-{self._seq:05d}.parquet"
        tables = []
        if self._tracks:
            tables.append((self.model_dir / "frames" / part,
                           pa.Table.from_pylist(self._frames, schema=frame_schema(self.extra_names))))
            tables.append((self.model_dir / "tracks" / part,
                           pa.Table.from_pylist(self._tracks, schema=track_schema())))
        if self._failures:
            tables.append((self.root / "failures" / part,
                           pa.Table.from_pylist(self._failures, schema=failure_schema())))
        if not tables:
            return []
        with OutputSet([p for p, _ in tables], root=self.root) as out:
            for path, table in tables:
                pq.write_table(table, out.temp(path))
            out.commit()
        self._frames.clear()
        self._tracks.clear()
        self._failures.clear()
        return [p for p, _ in tables]


def utf8(name: str) -> str:
    """A file name as valid UTF-8 text: bytes that are not UTF-8 become ``\\xNN`` (Parquet
    strings must be UTF-8; the name on disk keeps its bytes)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _parts(folder: Path) -> dict[str, Path]:
    """Visible ``*.parquet`` regular files (not links) of ``folder``, by name."""
    import stat

    try:
        names = os.listdir(folder)
    except OSError:
        return {}
    out = {}
    for name in names:
        if name.startswith((".", "_")) or not name.endswith(".parquet"):
            continue
        try:
            if stat.S_ISREG(os.lstat(folder / name).st_mode):
                out[name] = folder / name
        except OSError:
            continue
    return out
