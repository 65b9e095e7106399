"""The work for one track, the same in every mode: in-process, a local process, a Ray task.

:func:`run_job` decodes a file, runs the tracker and returns everything the
coordinator writes: the rendered per-track files, the catalog rows and a summary.
It never raises for a problem of the track itself (a broken file, a disk error
while reading): that becomes a failed :class:`TrackOutcome` with a one-line reason.

Each worker process loads the tracker once (:func:`tracker_for`, a per-process
cache keyed by the :class:`TrackerSpec`) and keeps it for every track it is given.
"""
from __future__ import annotations

import errno
import importlib
import os
import resource
import sys
from dataclasses import dataclass, field
from typing import Any, Callable


from ...model.errors import AudioTooShortError, EmotrackError

QUADRANTS = ("happy", "tense", "sad", "calm")
"""Quadrants of the display plane: (+valence, +arousal), (-, +), (-, -), (+, -)."""


@dataclass(frozen=True)
class TrackerSpec:
    """How a worker builds its tracker.

    Attributes
    ----------
    model, checkpoint, device :
        Arguments of ``loader`` (:func:`emotrack.model.trackers.load_tracker`).
    mode : {"causal", "centered"}
    cores : int
        CPU cores each worker may use (:func:`~emotrack.model.trackers.use_cores`: one torch
        thread per call, and that many musicnn patch workers side by side).  Results do
        not depend on it: every call runs one torch thread wherever it runs (this
        process, local workers, Ray workers), so they are bit-identical.
    loader : str
        ``"module:function"`` that returns a tracker from ``(model, checkpoint, device=...)``.
    """

    model: str | None = None
    checkpoint: str | None = None
    device: str = "auto"
    mode: str = "centered"
    cores: int = 1
    loader: str = "emotrack.model.trackers:load_tracker"


@dataclass(frozen=True)
class TrackJob:
    """One track to analyse: its file, output name, content id and what to produce."""

    path: str
    name: str
    track_id: str
    formats: tuple[str, ...] = ()
    """Per-track files to render (csv, json, png)."""
    rows: bool = False
    """Whether the catalog's frame rows are wanted."""
    stamp: tuple[int, ...] = ()
    """:func:`~.inputs.file_stamp` of the file when ``track_id`` was computed (empty: unknown)."""


@dataclass
class TrackOutcome:
    """What :func:`run_job` gives back.

    ``ok`` False: ``reason`` says why in one line (``too_short``: no frame at all,
    not a failure).  ``ok`` True: ``rendered`` (format -> bytes), ``rows`` (one dict
    per frame, the trajectory schema) when asked, ``summary`` (one dict) and ``line``
    (the per-file text of ``analyze``).
    """

    job: TrackJob
    ok: bool
    reason: str = ""
    too_short: bool = False
    rendered: dict[str, bytes] = field(default_factory=dict)
    rows: list[dict[str, Any]] | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    line: str = ""
    early_end: str | None = None
    note: str | None = None
    """The one note about the file for the user (how decoding ended early, or what the
    decoder reported); None: nothing to say."""
    transient: bool = False
    """The failure is of the moment (the file vanished, changed or could not be read while
    analysed), not of its content: it is not recorded, so the next run tries again."""
    decoded_id: str = ""
    """The track id of the bytes decoded when they are not ``job.track_id``'s (replaced since)."""
    decoded_stamp: tuple[int, ...] = ()
    worker_pid: int = 0
    peak_rss_mb: float = 0.0


_LOADED: dict[TrackerSpec, Any] = {}
"""This process's trackers (a worker keeps one for its whole life)."""


def tracker_for(spec: TrackerSpec):
    """The tracker of ``spec``, loaded on first use in this process."""
    tracker = _LOADED.get(spec)
    if tracker is None:
        module, _, name = spec.loader.partition(":")
        load: Callable = getattr(importlib.import_module(module), name)
        tracker = _LOADED[spec] = load(spec.model, spec.checkpoint, device=spec.device)
        _use_cores(spec, tracker)
    return tracker


def _use_cores(spec: TrackerSpec, tracker) -> None:
    from ...model.trackers import use_cores

    use_cores(tracker, spec.cores)


def model_key(tracker, mode: str) -> str:
    """``musicnn-centered-3f9a1c2e``: what results depend on (weights, head, settings, mode).

    A hash of the tracker's :meth:`describe` without the device (the same results on
    CPU and GPU) and of the frame columns, so another checkpoint or head, or another
    frames schema, gives another key.
    """
    import hashlib

    from ...model import json_strict

    from ..outputs.schema import COMMON_COLUMNS

    facts = {k: v for k, v in tracker.describe().items() if k != "device"}
    facts["frame_columns"] = list(COMMON_COLUMNS)  # another schema: another folder, never mixed
    digest = hashlib.sha256(json_strict.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()
    return f"{tracker.name}-{mode}-{digest[:8]}"


def run_job(job: TrackJob, spec: TrackerSpec,
            on_progress: Callable[[float], None] | None = None) -> TrackOutcome:
    """Analyse one track (see the module docstring)."""
    from ..analysis import analyze_file
    from .inputs import file_stamp, hashed

    decoded_id, before = "", _stamp(job.path)
    try:
        if job.stamp and before != job.stamp:  # replaced since it was hashed: hash what is decoded
            decoded_id, st = hashed(job.path)
            before = file_stamp(st)
        tracker = tracker_for(spec)
        result = analyze_file(job.path, tracker, mode=spec.mode, on_progress=on_progress)
        from ..outputs.track import render

        rendered = render(result, job.formats)
    except AudioTooShortError as exc:
        return _done(TrackOutcome(job, ok=False, too_short=True, reason=str(exc)))
    except (EmotrackError, OSError) as exc:
        if isinstance(exc, EmotrackError):
            reason = str(exc)
        else:
            reason = (f"'{exc.filename}': " if exc.filename else "") + str(exc.strerror or exc)
        after = _stamp(job.path)
        if after is None or before is None:
            reason = f"the file could not be reached while it was analysed ({reason})"
        elif after != before:
            reason = f"the file changed while it was analysed ({reason})"
        transient = (after is None or before is None or after != before
                     or (isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS))
        return _done(TrackOutcome(job, ok=False, reason=reason, transient=transient))
    if _stamp(job.path) != before:
        return _done(TrackOutcome(job, ok=False, transient=True,
                                  reason="the file changed while it was analysed"))
    if decoded_id == job.track_id:
        decoded_id = ""
    rows = None
    if job.rows:
        from ..outputs.schema import analysis_rows, tags_dict

        rows = list(analysis_rows(result))
        extras = result.frames.extras
        if result.extra_names and extras is not None:
            for row, values in zip(rows, extras):
                row["tags"] = tags_dict(result.extra_names, values)
    return _done(TrackOutcome(job, ok=True, rendered=rendered, rows=rows, summary=summarize(result),
                              line=file_summary(result), early_end=result.early_end,
                              note=result.note,
                              decoded_id=decoded_id, decoded_stamp=before if decoded_id else ()))


#: errno values of a file that is there but not reachable now (an unplugged drive, a network share).
_TRANSIENT_ERRNOS = {errno.ENOENT, errno.EIO, errno.ENXIO, errno.ENODEV, errno.ESTALE,
                     errno.ETIMEDOUT, errno.EAGAIN, errno.EHOSTUNREACH, errno.ENOTCONN}


def _stamp(path: str) -> tuple[int, ...] | None:
    """:func:`~.inputs.file_stamp` of ``path`` now, None when it cannot be reached."""
    from .inputs import file_stamp

    try:
        return file_stamp(os.stat(path))
    except OSError:
        return None


def file_summary(result) -> str:
    """``90 frames (4 silent), mean arousal +0.12 (p64), valence -0.05 (p41)`` for one file."""
    heard = ~result.silent
    n_silent = int(result.silent.sum())
    text = f"{len(result.values)} frames" + (f" ({n_silent} silent)" if n_silent else "")
    if not heard.any():
        return text + ", all silent"
    a, v = result.values[heard].mean(axis=0)
    pct = result.percentiles
    if pct is None:
        return text + f", mean arousal {a:+.2f}, valence {v:+.2f}"
    pa, pv = pct[heard].mean(axis=0)
    return text + f", mean arousal {a:+.2f} (p{pa:.0f}), valence {v:+.2f} (p{pv:.0f})"


def summarize(result) -> dict[str, Any]:
    """One track's summary row: duration, frames, mean/std of the heard frames, time per quadrant."""
    from ..outputs.schema import display_plane

    heard = ~result.silent
    n = len(result.values)
    values = result.values[heard]
    plane = display_plane(result)[heard]
    row: dict[str, Any] = {
        "duration_s": float(result.info.duration_s), "frames": n,
        "silent_share": float(1 - heard.mean()) if n else 0.0,
        "decoded_to_end": result.early_end is None, "early_end": result.early_end,
    }
    for i, dim in enumerate(("arousal", "valence")):
        row[f"{dim}_mean"] = float(values[:, i].mean()) if len(values) else None
        row[f"{dim}_std"] = float(values[:, i].std()) if len(values) else None
    v, a = plane[:, 1], plane[:, 0]
    shares = {"happy": (v >= 0) & (a >= 0), "tense": (v < 0) & (a >= 0),
              "sad": (v < 0) & (a < 0), "calm": (v >= 0) & (a < 0)}
    for q in QUADRANTS:
        row[f"share_{q}"] = float(shares[q].sum() / n) if n else 0.0
    return row


def _done(outcome: TrackOutcome) -> TrackOutcome:
    outcome.worker_pid = os.getpid()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome.peak_rss_mb = rss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return outcome


def adopt(spec: TrackerSpec, tracker) -> None:
    """Use ``tracker`` (already loaded by this process) for ``spec`` instead of loading another."""
    _use_cores(spec, tracker)
    _LOADED[spec] = tracker


def worker_init() -> None:
    """Set up a local worker process: Ctrl-C is the coordinator's, and a worker ends with it.

    The coordinator stops its workers itself, but if it is killed (SIGKILL) they
    would wait for work forever: a daemon thread ends the worker once its parent is gone.
    """
    import signal
    import threading
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="emotrack-parent-watch", daemon=True).start()
