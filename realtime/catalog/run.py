"""One ``emotrack analyze`` run over many tracks: decide what to do, dispatch it, write it, record it.

The coordinator (this module) owns every file under the output folder: workers
(:mod:`.executors`) only read audio and return rendered results, so the output
folder needs to be reachable from this machine only (the inputs, from every worker).

1. Each input gets its stable name (:mod:`~emotrack.realtime.outputs.names`) and its
   track id (:mod:`.inputs`).
2. The ledger (:mod:`.ledger`) says what is complete for this content and model:
   those tracks are skipped, and so are tracks that failed before (unless
   ``retry_failed``), reported again as failures.
3. The rest runs on the executor; each finished track's files are renamed in
   together (:class:`~emotrack.realtime.outputs.track.TrackWriter`), its catalog rows
   buffered (:class:`.tables.CatalogTables`), and the ledger records it once they
   are on disk.  Ctrl-C or SIGTERM stops the workers and still writes every
   finished track.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from ...model.errors import EmotrackError
from ..outputs.atomic_files import signals_deferred
from ..outputs.names import OUTPUT_INFIX, NamedInput, id_name
from ..printable import printable
from ..termination import terminate_as_interrupt
from ..outputs.track import TrackWriter
from .executors import InProcess, LocalProcesses, RayTasks
from .inputs import FileFacts, identify
from .ledger import Entry, Ledger
from .work import TrackerSpec, TrackJob, TrackOutcome, adopt, model_key


@dataclass(frozen=True)
class RunOptions:
    """What to produce and where to run.

    Attributes
    ----------
    out : Path
    formats : tuple of str
        Per-track files (csv, json, png); may be empty.
    table : bool
        Write the Parquet catalog (:mod:`.tables`).
    jobs : int or None
        Local worker processes (None: one per CPU core; one with a CUDA tracker).
    cluster : str or None
        Ray address (``"local"``, ``"auto"``, ``"HOST:PORT"``...); None: no Ray.
    name_by : {"path", "id"}
    force, retry_failed, quiet : bool
    flush_every : int
        Tracks per catalog part file.
    """

    out: Path
    formats: tuple[str, ...]
    table: bool = False
    jobs: int | None = None
    cluster: str | None = None
    name_by: str = "path"
    force: bool = False
    retry_failed: bool = False
    quiet: bool = False
    flush_every: int = 64


@dataclass
class RunReport:
    """Counts of one run."""

    analysed: int = 0
    failed: int = 0
    skipped: int = 0
    too_short: int = 0


def run_catalog(tracks: list[NamedInput], spec: TrackerSpec, tracker, opts: RunOptions, *,
                say: Callable[[str], None] | None = None,
                warn: Callable[[str], None] | None = None) -> RunReport:
    """Analyse ``tracks`` with ``tracker`` (loaded here, for its key; workers load their own).

    ``say`` prints a per-file line (standard output), ``warn`` an ``emotrack:`` line
    (standard error).
    """
    from tqdm import tqdm

    # every line names files: escaped, so a name can neither break a line nor drive the terminal
    say_raw = say or (lambda line: tqdm.write(line))
    warn_raw = warn or (lambda line: tqdm.write(line, file=sys.stderr))
    say = lambda line: say_raw(printable(line))  # noqa: E731
    warn = lambda line: warn_raw(printable(line))  # noqa: E731
    report = RunReport()
    key = model_key(tracker, spec.mode)
    executor = None
    try:
        with TrackWriter(opts.out, opts.formats, warn=warn) as writer:
            ledger = Ledger(opts.out, warn=warn)
            facts = identify([t.path for t in tracks], ledger, threads=min(8, os.cpu_count() or 1))
            if opts.name_by == "id":
                tracks = _named_by_id(tracks, facts)
            tables = _open_tables(opts, key, spec, tracker, warn)
            recorder = _Recorder(ledger, tables, opts.flush_every)
            jobs: list[TrackJob] = []
            by_path: dict[str, tuple[NamedInput, FileFacts]] = {}
            for t in tracks:
                job = _plan(t, facts[t.path], opts, key, ledger, writer, report, tables, warn)
                if job is not None:
                    jobs.append(job)
                    by_path[job.path] = (t, facts[t.path])
            if report.skipped:
                warn(f"emotrack: {report.skipped} file(s) skipped: already analysed with the same "
                     f"content and model {key} (--force analyses them again)")
            if jobs:  # a cluster is reached only when there is work for it
                executor = _cluster(spec, opts) or _local_executor(spec, opts, tracker, len(jobs), warn)
            else:
                executor = InProcess(spec)
            try:
                with terminate_as_interrupt(), _progress(jobs, opts.quiet) as bar:
                    if isinstance(executor, InProcess):
                        executor.on_progress = bar.advance
                    for outcome in executor.run(jobs):
                        track, fact = by_path[outcome.job.path]
                        bar.finish(outcome.job.path)
                        with signals_deferred():  # a track's files and rows, or neither
                            _record(outcome, track, fact, key, writer, recorder, report, opts,
                                    say, warn)
            finally:
                executor.close()
                recorder.flush()
    finally:
        if executor is not None:
            executor.close()
    return report


def _plan(t: NamedInput, fact: FileFacts | str, opts: RunOptions, key: str, ledger: Ledger,
          writer: TrackWriter, report: RunReport, tables, warn) -> TrackJob | None:
    """The job of one track, or None when it is skipped or fails before any work."""
    if isinstance(fact, str):  # missing or unreadable: nothing to hash, nothing to record
        report.failed += 1
        warn(f"emotrack: error: {t.path}: {fact}")
        if tables is not None:
            tables.add_failure(track_id=None, name=t.name, path=str(t.path), reason=fact)
        return None
    try:
        files_done = not opts.formats or (
            ledger.files_hold(t.name, fact.track_id, key, opts.formats)
            and all(p.is_file() for p in writer.targets(t).values()))
    except OSError:  # a name too long for the file system: said by writer.check below
        files_done = False
    rows_done = not opts.table or tables.holds(fact.track_id)  # the tables themselves say
    if files_done and rows_done and not opts.force:
        report.skipped += 1
        return None
    failed_before = ledger.failure(fact.track_id, key)
    if failed_before is not None and not (opts.retry_failed or opts.force):
        report.failed += 1
        warn(f"emotrack: error: {t.path}: failed before: {failed_before} (--retry-failed tries again)")
        return None
    clash = _earlier_owner(t, fact, ledger) if opts.formats and not files_done else None
    if clash is not None and not opts.force:
        report.failed += 1
        warn(f"emotrack: error: {t.path}: its outputs '{t.name}{OUTPUT_INFIX}.*' hold another "
             f"file, '{clash}', analysed into this folder before; give a folder that holds both "
             "(its tree is mirrored), another --out or --name-by id (--force replaces them)")
        return None
    try:
        writer.check(t)  # an output name taken by a folder, or leading out of --out: fail now
    except EmotrackError as exc:
        report.failed += 1
        warn(f"emotrack: error: {t.path}: {exc}")
        return None
    except OSError as exc:  # e.g. a path too long for the file system: this file only
        report.failed += 1
        warn(f"emotrack: error: {t.path}: cannot write its outputs: {exc.strerror or exc}")
        return None
    return TrackJob(path=str(t.path), name=t.name, track_id=fact.track_id, stamp=fact.stamp,
                    formats=opts.formats if (opts.force or not files_done) else (),
                    rows=opts.table and not tables.holds(fact.track_id))


def _earlier_owner(t: NamedInput, fact: FileFacts, ledger: Ledger) -> str | None:
    """The path of another file whose outputs ``t``'s name holds (an earlier run), else None.

    Another path *and* another content: a file edited in place (same path) or a
    library moved elsewhere (same content) is the same track.
    """
    e = ledger.files_of(t.name)
    if e is None or e.path == fact.path or e.track_id == fact.track_id:
        return None
    return e.path


def _record(outcome: TrackOutcome, track: NamedInput, fact: FileFacts, key: str,
            writer: TrackWriter, recorder: "_Recorder", report: RunReport, opts: RunOptions,
            say, warn) -> None:
    """Write one finished track's files and rows, and say how it went."""
    if outcome.transient:  # not a verdict on the content: nothing recorded, the next run retries
        report.failed += 1
        warn(f"emotrack: error: {track.path}: {outcome.reason}; not recorded as a failure, the "
             "next run tries again")
        return
    if outcome.decoded_id:  # replaced after it was hashed: recorded as what was decoded
        size, mtime_ns = outcome.decoded_stamp[:2]
        fact = replace(fact, track_id=outcome.decoded_id, size=size, mtime_ns=mtime_ns,
                       stamp=outcome.decoded_stamp)
        outcome.job = replace(outcome.job, track_id=outcome.decoded_id)
    job = outcome.job
    entry = Entry("done", name=job.name, path=fact.path, track_id=job.track_id, model_key=key,
                  size=fact.size, mtime_ns=fact.mtime_ns)
    if outcome.too_short:
        report.too_short += 1
        warn(f"emotrack: {track.path}: 0 frames, no output written ({outcome.reason})")
        return
    if not outcome.ok:
        report.failed += 1
        warn(f"emotrack: error: {track.path}: {outcome.reason}")
        recorder.failed(replace(entry, kind="failed", reason=outcome.reason))
        return
    try:
        written = writer.write_rendered(track, outcome.rendered)
    except EmotrackError as exc:  # e.g. output disk full: the earlier files of this track are kept
        report.failed += 1
        warn(f"emotrack: error: {track.path}: {exc}")
        return
    except OSError as exc:  # a rename refused
        report.failed += 1
        where = f" '{exc.filename}'" if exc.filename else ""
        warn(f"emotrack: error: {track.path}: cannot write output{where}: {exc.strerror or exc}")
        return
    report.analysed += 1
    recorder.done(replace(entry, formats=job.formats + (("parquet",) if job.rows else ())),
                  outcome, fact)
    note = outcome.note  # the file is not what it claims: said even when quiet
    if not opts.quiet:
        where = f" -> {', '.join(str(w) for w in written)}" if written else ""
        say(f"{track.path}: {outcome.line}{where}" + (f"; {note}" if note else ""))
    elif note:
        warn(f"emotrack: warning: {track.path}: {note}")


class _Recorder:
    """Ledger entries, written once the outputs they describe are on disk."""

    def __init__(self, ledger: Ledger, tables, flush_every: int) -> None:
        self.ledger, self.tables, self.flush_every = ledger, tables, flush_every
        self._pending: list[Entry] = []

    def done(self, entry: Entry, outcome: TrackOutcome, fact: FileFacts) -> None:
        if self.tables is not None and "parquet" in entry.formats:
            self.tables.add_track(outcome, fact)
        self._add(entry)

    def failed(self, entry: Entry) -> None:
        if self.tables is not None:
            self.tables.add_failure(track_id=entry.track_id, name=entry.name, path=entry.path,
                                    reason=entry.reason)
        self._add(entry)

    def _add(self, entry: Entry) -> None:
        self._pending.append(entry)
        if self.tables is None or self.tables.pending >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if self.tables is not None:
            self.tables.flush()
        self.ledger.append(self._pending)
        self._pending = []


def _named_by_id(tracks: list[NamedInput], facts: dict) -> list[NamedInput]:
    """Tracks renamed by their id; a content seen twice is analysed once."""
    out, seen = [], set()
    for t in tracks:
        fact = facts[t.path]
        if isinstance(fact, str):
            out.append(t)
        elif fact.track_id not in seen:
            seen.add(fact.track_id)
            out.append(NamedInput(t.path, id_name(fact.track_id), t.argument))
    return out


def _open_tables(opts: RunOptions, key: str, spec: TrackerSpec, tracker, warn):
    if not opts.table:
        return None
    from ..cli import version
    from .tables import CatalogTables

    return CatalogTables(opts.out, model_key=key, model=tracker.name, mode=spec.mode,
                         version=version(), extra_names=tuple(tracker.extra_names),
                         flush_every=opts.flush_every, warn=warn)


def _cluster(spec: TrackerSpec, opts: RunOptions):
    """The Ray executor of ``--cluster`` (None without it)."""
    if not opts.cluster:
        return None
    cpus = min(opts.jobs, worker_limit()[0]) if opts.jobs and opts.cluster == "local" else opts.jobs
    return RayTasks(spec, address=opts.cluster, num_cpus=cpus)


WORKER_MEMORY_BYTES = 512 * 1024 ** 2
"""Memory one local worker process is counted at (torch, the tracker, a track in flight):
docs/catalog.md measured musicnn workers at 447-454 MB each."""


def worker_limit(*, cores: int | None = None, available: int | None = None) -> tuple[int, str]:
    """Most local worker processes this machine runs well, and why (cores, memory)."""
    cores = cores if cores is not None else (os.cpu_count() or 1)
    available = available if available is not None else available_memory()
    by_memory = max(1, available // WORKER_MEMORY_BYTES) if available else cores
    limit = max(1, min(cores, by_memory))
    why = (f"{cores} CPU core(s)" if limit == cores else
           f"{available / 1024 ** 3:.1f} GB of memory available, about "
           f"{WORKER_MEMORY_BYTES / 1024 ** 3:.1f} GB per worker")
    return limit, why


def available_memory() -> int | None:
    """Bytes of memory available for new processes (Linux ``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _local_executor(spec: TrackerSpec, opts: RunOptions, tracker, n_jobs: int, warn=None):
    processes = opts.jobs
    if processes is None:
        processes = 1 if str(tracker.device).startswith("cuda") else (os.cpu_count() or 1)
    limit, why = worker_limit()
    if processes > limit:
        if opts.jobs is not None and warn is not None:
            warn(f"emotrack: warning: --jobs {opts.jobs} lowered to {limit} ({why})")
        processes = limit
    processes = min(processes, n_jobs)
    cores = os.cpu_count() or 1
    if processes <= 1:
        here = replace(spec, cores=cores)
        adopt(here, tracker)  # the tracker loaded for the run's key does the work too
        return InProcess(here, on_progress=None)
    return LocalProcesses(replace(spec, cores=max(1, cores // processes)), processes=processes)


class _Bar:
    """Progress in seconds of audio: within a file in this process, per file elsewhere."""

    def __init__(self, bar, durations: dict[str, float]) -> None:
        self._bar, self._durations, self._done = bar, durations, 0.0

    def advance(self, seconds: float) -> None:
        self._done += seconds
        self._bar.update(seconds)

    def finish(self, path: str) -> None:
        self._bar.update(max(0.0, self._durations.get(path, 0.0) - self._done))
        self._done = 0.0


class _progress:
    """The tqdm bar of a run (off with ``quiet`` or when standard error is not a terminal)."""

    def __init__(self, jobs: list[TrackJob], quiet: bool) -> None:
        from ...model.errors import EmotrackError
        from ..analysis import audio_info

        self.quiet = quiet or not sys.stderr.isatty()
        self.durations: dict[str, float] = {}
        for job in [] if self.quiet else jobs:  # reading every header only for a visible bar
            try:
                self.durations[job.path] = audio_info(job.path).duration_s
            except EmotrackError:
                self.durations[job.path] = 0.0  # reported when its turn comes

    def __enter__(self) -> _Bar:
        from tqdm import tqdm

        self._tqdm = tqdm(total=round(sum(self.durations.values()), 1), unit="s", leave=False,
                          desc="analysing", disable=True if self.quiet else None, file=sys.stderr,
                          bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}]")
        return _Bar(self._tqdm, self.durations)

    def __exit__(self, *exc) -> None:
        self._tqdm.close()
