"""The real-time engine: source -> ring buffer -> feature thread -> inference worker -> subscribers.

Threads (DESIGN "Threads")::

    audio callback ──RingBuffer──> feature thread ──bounded queue──> inference worker ──> subscriptions
    (copy + count)                 (tracker stage 1:                  (tracker stage 2:    (each a bounded
                                    resampling, frames,                network + head,      deque; a slow one
                                    features; --record tee)            one batch a push)    loses its own oldest)

The engine knows models only through the :class:`~emotrack.model.tracker.Tracker`
interface: the feature thread calls ``tracker.features.push(block)`` and hands each
non-empty :class:`~emotrack.model.framing.FeatureBatch` to the worker, which calls
``tracker.infer(batch)`` -- the same two calls ``Tracker.push`` makes offline, so a
live run and ``analyze --mode causal`` give the same results.

Back-pressure: the feature thread waits when the frame queue is full, so a model
slower than real time shows up as ring-buffer overruns (counted), never as a
blocked audio callback.  Nothing a subscriber does can block the worker.

Errors (device lost, server killed, decode error, a failing model) end the run:
what was already extracted is still predicted and published, the source is
closed, :attr:`Engine.error` holds the exception (``str()`` is a readable
message) and :attr:`Engine.finished` is set.
"""
from __future__ import annotations

import collections
import contextlib
import math
import queue
import sys
import threading
import time
import traceback
from dataclasses import dataclass

import numpy as np

from ..model.errors import AudioFileError, EmotrackError, ParameterError
from ..model.framing import FeatureBatch, FrameStream
from ..model.tracker import FRAME_SECONDS, TrackerFrames
from .mood import mood_words
from .results import TrackResult
from .ringbuffer import RingBuffer
from .sources import Source


@dataclass
class EngineConfig:
    """Tuning of the pipeline (the defaults suit live use).

    Attributes
    ----------
    ring_seconds : float
        Capacity of the capture ring buffer in seconds of source audio.
    frame_queue : int
        Frames the feature thread may queue ahead of the inference worker.
    poll_s : float
        How often the feature thread looks into the ring buffer (seconds); half
        of it is the average delay it adds to the latency.
    max_sleep_s : float
        The longest the feature thread and the inference worker sleep with nothing to do
        (seconds): how soon the end of a file, a seek or a failing device is noticed when
        no frame is due.  Stopping wakes both at once.  Every wake-up of a sleeping
        thread costs CPU (issue 21: 0.1 s cost the two threads 35 wake-ups a second).
    record_path : str or None
        Tee the analysed audio (source rate and channels) to this sound file
        (``--record``); WAV files are written as 32-bit float.
    latency_history : int
        How many recent results the latency percentiles are computed over.
    max_seconds : float or None
        Analyse exactly ``floor(2 * max_seconds)`` frames (the audio up to their end), publish
        every one of them, then end as at the end of a file (``listen --duration``).
    """

    ring_seconds: float = 10.0
    frame_queue: int = 32
    poll_s: float = 0.005
    max_sleep_s: float = 0.5
    record_path: str | None = None
    latency_history: int = 4096
    max_seconds: float | None = None


@dataclass(frozen=True)
class EngineMetrics:
    """A snapshot of the pipeline's counters (any thread may ask, any time)."""

    frames_in: int
    """Frames extracted by the feature thread."""
    results_out: int
    """Results published."""
    frames_discarded: int
    """Frames extracted but never published: queued when the run was stopped, or lost to a
    failing model (``frames_in - results_out`` once the run is over)."""
    callback_overruns: int
    """Audio callbacks flagged by PortAudio (input overflow / output underflow)."""
    ring_overruns: int
    """Samples dropped because the ring buffer was full."""
    playback_underruns: int
    """File playback callbacks that found no decoded audio ready."""
    dropped_results: int
    """Results lost by slow subscribers (summed over subscriptions)."""
    latency_ms_p50: float
    latency_ms_p99: float
    latency_ms_max: float
    cpu_seconds: float
    """CPU time of the whole process since start (threads of the pipeline, torch's pool
    and the front end)."""
    wall_seconds: float
    audio_seconds: float
    """Seconds of source audio taken from the ring buffer."""
    source_rate: int
    model_rate: int
    source: str
    device: str
    model_name: str
    silent_frames: int = 0
    """Published results flagged silent."""

    @property
    def cpu_percent(self) -> float:
        """CPU use in percent of one core over the run."""
        return 100.0 * self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_dict(self) -> dict:
        import dataclasses

        out = dataclasses.asdict(self)
        out["cpu_percent"] = self.cpu_percent
        return out


class Subscription:
    """A bounded mailbox of results for one consumer (CLI printer, writer, GUI, network).

    Never blocks the publisher: when full, the oldest item is dropped and counted
    in :attr:`dropped`.
    """

    def __init__(self, maxlen: int) -> None:
        if int(maxlen) <= 0:
            raise ParameterError(f"subscription maxlen must be positive, got {maxlen!r}")
        self.maxlen = int(maxlen)
        self.dropped = 0
        """Results this subscriber lost because it did not drain in time."""
        self._items: collections.deque[TrackResult] = collections.deque()
        self._lock = threading.Lock()
        self._event = threading.Event()

    def _offer(self, item: TrackResult) -> None:
        with self._lock:
            if len(self._items) >= self.maxlen:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
        self._event.set()

    def drain(self) -> list[TrackResult]:
        """All results received since the last drain, oldest first (non-blocking)."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._event.clear()
        return items

    def wait(self, timeout: float | None = None) -> bool:
        """Block the *subscriber* until results are waiting, the engine has finished (its
        :attr:`Engine.finished` is set), or ``timeout`` passes."""
        return self._event.wait(timeout)

    def _wake(self) -> None:
        """Let a waiting subscriber look again (the engine finished)."""
        self._event.set()

    def __len__(self) -> int:
        return len(self._items)


class _Segment:
    """In-band marker: the audio that follows starts at source time ``time_s`` (a seek)."""

    __slots__ = ("time_s",)

    def __init__(self, time_s: float) -> None:
        self.time_s = time_s


_END = object()


class Engine:
    """Runs one source through the model until stopped, the source ends or an error.

    Parameters
    ----------
    source : Source
        Not yet started; :meth:`start` opens it.
    tracker : emotrack.model.tracker.Tracker
        Loaded once, reused across runs (:meth:`start` resets it for the source's rate);
        stage 1 runs in the feature thread, stage 2 in the inference worker.
    config : EngineConfig

    Examples
    --------
    >>> engine = Engine(FileSource("song.mp3"), load_tracker())  # doctest: +SKIP
    >>> sub = engine.subscribe()
    >>> engine.start(); engine.finished.wait(); engine.stop()
    >>> results = sub.drain()
    """

    def __init__(self, source: Source, tracker, config: EngineConfig | None = None) -> None:
        self.source = source
        self.tracker = tracker
        self.config = config or EngineConfig()
        self.extra_names: tuple[str, ...] = tuple(getattr(tracker, "extra_names", ()))
        """Names of each result's ``extras`` (musicnn: its 50 tags)."""
        self.error: BaseException | None = None
        """The exception that ended the run, or None; ``str(error)`` is a readable message."""
        self.error_traceback: str | None = None
        """Traceback text when the error was an unexpected exception (a bug), else None."""
        self.finished = threading.Event()
        """Set when the run is over: end of the file, an error, or :meth:`stop`."""
        self._stop = threading.Event()
        self._subs: list[Subscription] = []
        self._subs_lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, self.config.frame_queue))
        self._threads: list[threading.Thread] = []
        self._ring: RingBuffer | None = None
        self._stream: FrameStream | None = None
        self._recorder = None
        self._latencies: collections.deque[float] = collections.deque(
            maxlen=self.config.latency_history)
        self._lat_lock = threading.Lock()
        self._frames_in = 0
        self._results_out = 0
        self._silent_out = 0
        self._samples_in = 0
        self._sample_limit: int | None = None
        self._t0 = 0.0
        self._cpu0 = 0.0
        self._t_end: float | None = None
        self._cpu_end: float | None = None
        self._started = False
        self._alive = 0
        self._alive_lock = threading.Lock()

    # --- subscribers -----------------------------------------------------
    def subscribe(self, maxlen: int = 1024) -> Subscription:
        """A new mailbox receiving every result from now on (oldest dropped beyond ``maxlen``)."""
        sub = Subscription(maxlen)
        with self._subs_lock:
            self._subs = [*self._subs, sub]
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._subs_lock:
            self._subs = [s for s in self._subs if s is not sub]

    # --- life cycle --------------------------------------------------------
    @property
    def running(self) -> bool:
        """True from :meth:`start` until every pipeline thread has ended."""
        return self._started and self._alive > 0

    def start(self) -> None:
        """Open the source (errors raise here: DeviceError, AudioFileError...) and run."""
        if self._started:
            raise RuntimeError("an Engine runs once; create a new one")
        src = self.source
        if not src.sample_rate:
            src.open()
        self._ring = RingBuffer(max(int(self.config.ring_seconds * src.sample_rate), 4096),
                                src.channels)
        _warm_up(self.tracker, src.sample_rate)
        self._stream = self.tracker.features
        if self.config.max_seconds is not None:
            frames = int(math.floor(2.0 * self.config.max_seconds + 1e-9))
            self._sample_limit = math.ceil(frames * FRAME_SECONDS * src.sample_rate)
        if self.config.record_path:
            self._recorder = _open_recorder(self.config.record_path, src.sample_rate,
                                            src.channels)
        self._t0 = time.monotonic()
        self._cpu0 = time.process_time()
        self._started = True
        self._alive = 2
        self._threads = [
            threading.Thread(target=self._feature_loop, name="emotrack-features", daemon=True),
            threading.Thread(target=self._inference_loop, name="emotrack-inference", daemon=True),
        ]
        for t in self._threads:
            t.start()
        try:
            src.start(self._ring)
        except BaseException:
            self.stop()
            if self._recorder is not None:
                with contextlib.suppress(Exception):
                    self._recorder.close()
            raise

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop now: close the source, end the threads, complete the output file.

        Frames not yet predicted are discarded; results already published stay
        in the subscriptions.  Returns True when every thread ended within
        ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        self._stop.set()
        with contextlib.suppress(queue.Full):  # wake the worker (a full queue: it is busy)
            self._queue.put_nowait(_END)
        self.source.stop()
        ok = True
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(max(0.0, deadline - time.monotonic()))
                ok = ok and not t.is_alive()
        self._mark_end()
        self._set_finished()
        return ok

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds more for threads :meth:`stop` left running (a worker
        inside a long frame on a busy machine).  Call it before the process exits: a thread
        still inside torch when Python shuts down aborts the process ("terminate called
        without an active exception").  Returns True when every thread has ended."""
        deadline = time.monotonic() + timeout
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads if t is not threading.current_thread())

    # --- metrics --------------------------------------------------------------
    def metrics(self) -> EngineMetrics:
        """Counters and latency percentiles so far (cheap; any thread)."""
        with self._lat_lock:
            lat = np.array(self._latencies, dtype=np.float64)
        p50, p99, pmax = ((float(np.percentile(lat, 50)), float(np.percentile(lat, 99)),
                           float(lat.max())) if lat.size else (float("nan"),) * 3)
        now_t = self._t_end if self._t_end is not None else time.monotonic()
        now_cpu = self._cpu_end if self._cpu_end is not None else time.process_time()
        ring = self._ring
        with self._subs_lock:
            dropped = sum(s.dropped for s in self._subs)
        src = self.source
        over = self.finished.is_set() and not self.running
        return EngineMetrics(
            frames_in=self._frames_in,
            results_out=self._results_out,
            frames_discarded=(self._frames_in - self._results_out) if over else 0,
            callback_overruns=src.callback_overruns,
            ring_overruns=ring.overrun_frames if ring else 0,
            playback_underruns=getattr(src, "playback_underruns", 0),
            dropped_results=dropped,
            latency_ms_p50=p50, latency_ms_p99=p99, latency_ms_max=pmax,
            cpu_seconds=(now_cpu - self._cpu0) if self._started else 0.0,
            wall_seconds=(now_t - self._t0) if self._started else 0.0,
            audio_seconds=self._samples_in / src.sample_rate if src.sample_rate else 0.0,
            source_rate=src.sample_rate,
            model_rate=self._stream.sample_rate if self._stream is not None else 0,
            source=src.description,
            device=str(getattr(self.tracker, "device", "?")),
            model_name=str(getattr(self.tracker, "name", "?")),
            silent_frames=self._silent_out,
        )

    # --- internals --------------------------------------------------------------
    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            if not isinstance(exc, EmotrackError):
                self.error_traceback = "".join(traceback.format_exception(exc))
            self.error = exc

    def _thread_done(self) -> None:
        with self._alive_lock:
            self._alive -= 1
            last = self._alive == 0
        if last:
            self._mark_end()
            self._set_finished()

    def _set_finished(self) -> None:
        """Set :attr:`finished` and wake every subscriber, so none waits out its timeout."""
        self.finished.set()
        with self._subs_lock:
            subs = list(self._subs)
        for sub in subs:
            sub._wake()

    def _mark_end(self) -> None:
        if self._t_end is None and self._started:
            self._cpu_end = time.process_time()
            self._t_end = time.monotonic()

    def _put(self, item) -> bool:
        """Queue an item for the worker, waiting while it is full; False when stopping."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _feature_loop(self) -> None:
        src, ring, stream = self.source, self._ring, self._stream
        offset_s = 0.0
        poll, longest = self.config.poll_s, self.config.max_sleep_s
        try:
            while not self._stop.is_set():
                message = src.failure()
                if message is not None:
                    # take what already arrived, then end
                    self._process(ring.read(self._room()), ring.last_write_time, stream, offset_s)
                    raise _SourceFailed(message)
                # a discontinuity (seek) inside the available audio?
                mark = src.marks[0] if src.marks else None
                if mark is not None and mark[0] <= ring.frames_read:
                    src.marks.popleft()
                    if stream.samples_in:
                        stream.reset()
                    offset_s = mark[1]
                    if not self._put(_Segment(offset_s)):
                        break
                    continue
                limit = (mark[0] - ring.frames_read) if mark is not None else None
                room = self._room()
                if room is not None:
                    limit = room if limit is None else min(limit, room)
                block = ring.read(limit)
                t_block = ring.last_write_time
                if len(block):
                    if not self._process(block, t_block, stream, offset_s):
                        break
                    continue
                if room == 0 or (src.exhausted and ring.available == 0 and not src.marks):
                    # the end: of the file, or of --duration (exactly its frames, then stop)
                    self._emit(stream.flush(), time.monotonic(), offset_s)
                    break
                self._stop.wait(self._idle_wait(stream, ring, time.monotonic(), poll, longest,
                                                src.realtime))
        except _SourceFailed as exc:
            self._fail(_to_device_error(exc))
        except Exception as exc:  # noqa: BLE001 - surfaced through engine.error
            self._fail(exc)
        finally:
            if self._recorder is not None:
                with contextlib.suppress(Exception):
                    self._recorder.close()
            if not self._stop.is_set():
                # ended on its own (end of file, --duration or error): close the source,
                # let the worker publish everything queued
                self.source.stop()
                self._put(_END)
            self._thread_done()

    def _room(self) -> int | None:
        """Samples the run may still take (``max_seconds``), or None when unlimited."""
        if self._sample_limit is None:
            return None
        return max(0, self._sample_limit - self._samples_in)

    @staticmethod
    def _idle_wait(stream: FrameStream, ring: RingBuffer, now: float, poll: float,
                   longest: float, paced: bool) -> float:
        """Seconds to sleep when the ring is empty: until the block that completes the next
        frame is due, less ``poll``; then every ``poll`` seconds until it is there.

        A paced source delivers blocks of ``ring.last_write_frames`` at the audio's own pace,
        so the block holding the next frame's last sample arrives about ``ceil(missing /
        block)`` blocks after the last one.  Sleeping for the missing samples' duration
        from *now* instead (the earlier rule) woke the thread again and again before that
        block arrived and added up to a block's duration to the latency.  At most
        ``longest``, so the end of a file, a seek or a failure is noticed within it.  A source
        that is not ``paced`` (a ``--fast`` file) refills the ring as fast as it decodes:
        there, ``poll``.
        """
        if not paced:
            return poll
        missing = stream.samples_until_next_frame()
        block = ring.last_write_frames
        if block > 0:
            due = ring.last_write_time + math.ceil(missing / block) * block / stream.input_sr
        else:  # nothing delivered yet: count from now
            due = now + missing / stream.input_sr
        return min(max(poll, due - poll - now), longest)

    def _process(self, block: np.ndarray, t_block: float, stream: FrameStream,
                 offset_s: float) -> bool:
        if not len(block):
            return True
        self._samples_in += len(block)
        if self._recorder is not None:
            self._recorder.write(block)
        return self._emit(stream.push(block), t_block, offset_s)

    def _emit(self, batch: FeatureBatch, t_block: float, offset_s: float) -> bool:
        if batch.n == 0:
            return True
        self._frames_in += batch.n
        return self._put((batch, offset_s, t_block))

    def _inference_loop(self) -> None:
        tracker = self.tracker
        index = 0
        try:
            with _inference_context():
                while True:
                    try:
                        item = self._queue.get(timeout=self.config.max_sleep_s)
                    except queue.Empty:
                        if self._stop.is_set():
                            break
                        continue
                    if self._stop.is_set() or item is _END:
                        break
                    if isinstance(item, _Segment):
                        tracker.reset_network()
                        continue
                    batch, offset_s, t_last = item
                    out = tracker.infer(batch)
                    if batch.final:
                        tracker.reset_network()
                    index = self._publish(out, offset_s, t_last, index)
        except Exception as exc:  # noqa: BLE001 - a failing model ends the run, visibly
            self._fail(exc)
            self._stop.set()
            self.source.stop()
        finally:
            self._thread_done()

    def _publish(self, out: TrackerFrames, offset_s: float, t_last: float, index: int) -> int:
        """Turn a batch of tracker results into TrackResults for every subscriber."""
        t_ready = time.monotonic()
        t_wall = time.time()
        scale = getattr(self.tracker, "scale", None)
        pct = scale.percentiles(out.values) if scale is not None else None
        moods = mood_words(out.values, scale=scale, sd=out.sd, silent=out.silent, percentiles=pct,
                           side_halfwidth=getattr(self.tracker, "side_halfwidth", None))
        for i in range(len(out)):
            silent = bool(out.silent[i])  # values, sd and extras are NaN: no numbers, no word
            result = TrackResult(
                frame_index=index, time_s=float(offset_s + out.time_s[i]),
                arousal=float(out.values[i, 0]), valence=float(out.values[i, 1]),
                warming_up=bool(out.warming_up[i]), t_last_sample=t_last, t_ready=t_ready,
                silent=silent,
                arousal_pct=None if pct is None or silent else float(pct[i, 0]),
                valence_pct=None if pct is None or silent else float(pct[i, 1]),
                mood=moods[i],
                t_wall=t_wall,
                extras=None if out.extras is None else tuple(float(x) for x in out.extras[i]),
                level_db=float(out.level_db[i]),
                arousal_sd=None if out.sd is None or silent else float(out.sd[i, 0]),
                valence_sd=None if out.sd is None or silent else float(out.sd[i, 1]))
            index += 1
            with self._lat_lock:
                self._latencies.append(1000.0 * (t_ready - t_last))
            self._results_out += 1
            self._silent_out += silent
            for sub in self._subs:
                sub._offer(result)
        return index


class _SourceFailed(Exception):
    pass


def _to_device_error(exc: _SourceFailed) -> EmotrackError:
    from ..model.errors import DeviceError

    if "decoding" in str(exc):
        return AudioFileError(str(exc))
    return DeviceError(str(exc))


def _warm_up(tracker, sample_rate: int) -> None:
    """Reset the tracker for ``sample_rate`` and run 1 s of a quiet tone through both stages.

    The first frame otherwise pays for imports (librosa, numba), filterbanks and the
    network's first call, seconds during which the threads could not be stopped.  A tone
    at -29 dBFS, not silence: a silent frame runs no network (``Tracker.skips_silent``).
    """
    tracker.reset(sample_rate)
    t = np.arange(sample_rate, dtype=np.float32) / sample_rate
    with _inference_context():
        tracker.push((0.05 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32))
    tracker.reset(sample_rate)


def _inference_context():
    """``torch.inference_mode()`` when torch is loaded (a real tracker), else a no-op."""
    torch = sys.modules.get("torch")
    return torch.inference_mode() if torch is not None else contextlib.nullcontext()


def _open_recorder(path: str, sample_rate: int, channels: int):
    """Open the ``--record`` tee file (float WAV for .wav, the format's default otherwise)."""
    import os

    import soundfile as sf

    from ..model.validate import writable_file

    writable_file(path, what="recording")
    kwargs = {"subtype": "FLOAT"} if str(path).lower().endswith(".wav") else {}
    fmt = os.path.splitext(str(path))[1][1:].upper() or None  # given: the path goes as bytes
    try:
        return _Recording(path, sf.SoundFile(os.fsencode(path), "w", samplerate=sample_rate,
                                             channels=channels, format=fmt, **kwargs))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
        raise ParameterError(f"cannot write the recording '{path}': {exc}") from None


class _Recording:
    """The ``--record`` tee file: a failed write (disk full) ends the run with one error
    naming the file (:class:`~emotrack.model.errors.OutputError`), not a traceback."""

    def __init__(self, path: str, file) -> None:
        self.path = path
        self._file = file

    def write(self, block: np.ndarray) -> None:
        with self._errors():
            self._file.write(block)

    def close(self) -> None:
        with self._errors():
            self._file.close()

    def _errors(self):
        import soundfile as sf

        from ..model.validate import naming_write_errors

        return naming_write_errors(self.path, what="the recording", also=(sf.LibsndfileError,))
