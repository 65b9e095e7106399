"""Where the per-track work runs: this process, local worker processes, or a Ray cluster.

Every executor runs :func:`~emotrack.realtime.catalog.work.run_job` and yields its
outcomes as tracks finish (in any order).  emotrack schedules nothing itself:

- :class:`InProcess`: one track after another (``--jobs 1``, or one file).
- :class:`LocalProcesses`: a :class:`concurrent.futures.ProcessPoolExecutor` of
  ``--jobs`` worker processes (spawned, each loading the tracker once).  A worker
  that dies (killed, out of memory) breaks the pool: the tracks that were in
  flight are retried one by one in a pool of their own (one that kills its worker
  :data:`MAX_ATTEMPTS` times becomes a failure), then a new pool goes on.
- :class:`RayTasks`: Ray tasks (``--cluster``), each worker process loading the
  tracker once; Ray retries a task whose worker dies (``max_retries``).
"""
from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterator

from ...model.errors import ParameterError
from .work import TrackerSpec, TrackJob, TrackOutcome, worker_init, run_job

MAX_ATTEMPTS = 3
"""Runs of one track whose worker died before it counts as failed."""


class InProcess:
    """Run each track here, one after another (``on_progress`` gets seconds of audio done)."""

    def __init__(self, spec: TrackerSpec, *, on_progress: Callable[[float], None] | None = None) -> None:
        self.spec = spec
        self.on_progress = on_progress

    def run(self, jobs: list[TrackJob]) -> Iterator[TrackOutcome]:
        for job in jobs:
            yield run_job(job, self.spec, self.on_progress)

    def close(self) -> None:
        pass


class LocalProcesses:
    """Run tracks in ``processes`` local worker processes (see the module docstring)."""

    def __init__(self, spec: TrackerSpec, *, processes: int) -> None:
        self.spec = spec
        self.processes = max(1, int(processes))
        self._pool: ProcessPoolExecutor | None = None

    def run(self, jobs: list[TrackJob]) -> Iterator[TrackOutcome]:
        remaining = list(jobs)
        while remaining:
            suspects: list[TrackJob] = []
            for item in self._run_pool(remaining, self.processes, suspects):
                remaining.remove(item.job)
                yield item
            for job in suspects:  # a worker died: retry what it may have been running, alone
                yield self._isolated(job)
                remaining.remove(job)

    def _run_pool(self, jobs: list[TrackJob], workers: int,
                  suspects: list[TrackJob]) -> Iterator[TrackOutcome]:
        """Run ``jobs`` with ``workers`` processes, one job in flight per worker.

        Keeping no more jobs in flight than workers means that when a worker dies,
        the jobs in flight are exactly those that may have been running: they go to
        ``suspects`` and the iteration ends.
        """
        pool = self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=worker_init)
        queue = list(reversed(jobs))
        in_flight: dict = {}
        try:
            while queue or in_flight:
                while queue and len(in_flight) < workers:
                    job = queue.pop()
                    in_flight[pool.submit(run_job, job, self.spec)] = job
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for fut in done:
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        suspects.extend(in_flight.values())
                        return
                    del in_flight[fut]
                    yield outcome
        finally:
            self.close()

    def _isolated(self, job: TrackJob) -> TrackOutcome:
        for _ in range(MAX_ATTEMPTS):
            suspects: list[TrackJob] = []
            for outcome in self._run_pool([job], 1, suspects):
                return outcome
        return TrackOutcome(job, ok=False, reason=f"its worker process died {MAX_ATTEMPTS} times "
                                                  "while analysing it (out of memory? a crash in the decoder?)")

    def close(self) -> None:
        """Stop the worker processes now (Ctrl-C, SIGTERM, the end of the run)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            if proc.is_alive():
                proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


class RayTasks:
    """Run tracks as Ray tasks on a cluster (``pip install 'emotrack[cluster]'``).

    Parameters
    ----------
    spec : TrackerSpec
    address : str
        ``"local"`` starts a private Ray instance on this machine with ``num_cpus``;
        anything else is Ray's own address syntax (``"auto"``, ``"HOST:6379"``,
        ``"ray://HOST:10001"``).  When Ray is already initialised in this process it is used.
    num_cpus : int, optional
        CPUs of a ``"local"`` instance.
    max_retries : int
        Ray's retries of a task whose worker process died.
    """

    def __init__(self, spec: TrackerSpec, *, address: str = "auto", num_cpus: int | None = None,
                 max_retries: int = MAX_ATTEMPTS) -> None:
        try:
            import ray
        except ImportError:
            raise ParameterError("--cluster needs Ray; install it with: pip install "
                                 "'emotrack[cluster]'") from None
        self._ray = ray
        self._owned = not ray.is_initialized()
        if self._owned:
            local = address == "local"
            if not local and address != "auto":
                _check_reachable(address)
            try:
                ray.init(address=None if local else address, num_cpus=num_cpus if local else None,
                         include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ParameterError(f"cannot reach the Ray cluster {address!r}: {exc} (start one "
                                     "with 'ray start --head', or use --cluster local)") from None
        resources = ray.cluster_resources()
        self.cpus = int(resources.get("CPU", 1))
        gpus = resources.get("GPU", 0) if spec.device != "cpu" else 0
        self.spec = TrackerSpec(**{**spec.__dict__, "device": "auto" if gpus else "cpu"})
        self._task = ray.remote(num_cpus=1 if not gpus else 0, num_gpus=1 if gpus else 0,
                                max_retries=max_retries)(run_job)

    def run(self, jobs: list[TrackJob]) -> Iterator[TrackOutcome]:
        ray = self._ray
        queue = list(reversed(jobs))
        in_flight: dict = {}
        window = 2 * self.cpus  # a few tasks queued per CPU, not the whole catalog at once
        while queue or in_flight:
            while queue and len(in_flight) < window:
                job = queue.pop()
                in_flight[self._task.remote(job, self.spec)] = job
            done, _ = ray.wait(list(in_flight), num_returns=1)
            job = in_flight.pop(done[0])
            try:
                yield ray.get(done[0])
            except ray.exceptions.RayError as exc:
                yield TrackOutcome(job, ok=False, reason=f"the Ray task failed after "
                                   f"{MAX_ATTEMPTS} retries: {type(exc).__name__}")

    def close(self) -> None:
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()


def _check_reachable(address: str, *, timeout_s: float = 5.0) -> None:
    """ParameterError unless a TCP connection to ``[ray://]HOST:PORT`` opens within ``timeout_s``.

    Ray itself retries an unreachable address for minutes; this says so at once.
    """
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        sock = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s)
    except (OSError, ValueError) as exc:
        raise ParameterError(f"cannot reach the Ray cluster {address!r}: "
                             f"{getattr(exc, 'strerror', None) or exc} (is 'ray start --head' "
                             "running there, and the port open?)") from None
    with sock:
        answer = _grpc_answer(sock, timeout_s)
    if answer is not None:
        raise ParameterError(f"{address!r} is not a Ray cluster: {answer} (Ray's head listens on "
                             "port 6379, its client server on 10001; give the address "
                             "'ray start --head' printed)")


#: What an HTTP/2 (gRPC) client sends first: the connection preface and an empty SETTINGS frame.
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def _grpc_answer(sock, timeout_s: float) -> str | None:
    """None when the server at ``sock`` speaks HTTP/2 as Ray's gRPC servers do, else what it did.

    Ray (the GCS at HOST:6379 and the client server behind ``ray://``) speaks gRPC, so its
    first frame is a SETTINGS frame (type 4).  An HTTP/1 server answers text, and a server
    that says nothing is left after ``timeout_s`` (``ray.init`` would wait for it forever).
    """
    sock.settimeout(timeout_s)
    try:
        sock.sendall(_H2_PREFACE)
        head = b""
        while len(head) < 9:
            piece = sock.recv(9 - len(head))
            if not piece:
                break
            head += piece
    except socket_timeout():
        return f"it sent nothing in {timeout_s:g} s"
    except OSError as exc:
        return f"the connection failed ({exc.strerror or exc})"
    if len(head) == 9 and head[3] == 0x04:
        return None
    if head.startswith(b"HTTP/"):
        return f"it answers HTTP/1 ({head.decode('ascii', 'replace').strip()!r}...), not gRPC"
    return f"it answered {head[:9]!r}, not a gRPC (HTTP/2) frame"


def socket_timeout() -> type[BaseException]:
    import socket

    return socket.timeout
