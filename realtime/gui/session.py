"""One running analysis: a source, its engine and the subscription the GUI drains.

:class:`EngineSession` owns the life cycle the window would otherwise get wrong:
the tracker is loaded once and reused (and replaced when the user picks another
model), switching source stops the old engine
(its threads join) before the new one starts, and every failure becomes a
message string instead of an exception in a Qt slot.  Plain Python (no Qt), so
the window polls it from its redraw timer.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ...model.errors import EmotrackError
from .backend import Backend, SourceChoice

log = logging.getLogger(__name__)

#: Results buffered for the GUI between two polls (about 8.5 minutes at 2 Hz), so a
#: stalled window loses nothing in ordinary use and memory stays bounded.
SUBSCRIPTION_MAXLEN = 1024


def describe_error(exc: BaseException) -> str:
    """A one-line, user-readable message for an exception."""
    if isinstance(exc, EmotrackError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class PollResult:
    """What changed since the last :meth:`EngineSession.poll`."""

    results: list
    error: str | None = None  #: a new engine error message (shown once)
    finished: bool = False  #: the file source has just reached its end


class EngineSession:
    """Start, stop, switch, pause and seek the engine; drain its results.

    Parameters
    ----------
    backend : Backend
        Lists sources, loads the tracker, builds ``(source, engine)``.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.tracker: Any = None
        self.tracker_error: str | None = None
        self.choice: SourceChoice | None = None
        self.source: Any = None
        self.engine: Any = None
        self._sub: Any = None
        self._reported_error: BaseException | None = None
        self._finished_reported = False
        self._user_paused = False

    # ------------------------------------------------------------ tracker
    def ensure_tracker(self) -> bool:
        """Load the tracker once; False (and :attr:`tracker_error` set) if impossible."""
        if self.tracker is not None:
            return True
        try:
            self.tracker = self.backend.load_tracker()
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message
            log.warning("model not loaded: %s", exc)
            self.tracker_error = describe_error(exc)
            return False
        self.tracker_error = None
        return True

    def set_model(self, model: str | None, checkpoint: str | None = None) -> str | None:
        """Load another tracker and restart the current source with it.

        Returns an error message (the old tracker stays in use) or None.
        """
        try:
            tracker = self.backend.load_tracker(model, checkpoint)
        except Exception as exc:  # noqa: BLE001
            log.warning("model %s not loaded: %s", model or checkpoint, exc)
            return f"Could not load model {model or checkpoint}: {describe_error(exc)}"
        running = self.engine is not None and self.choice is not None
        self.close()
        self.tracker, self.tracker_error = tracker, None
        return self.open(self.choice) if running else None

    @property
    def model_name(self) -> str | None:
        return getattr(self.tracker, "name", None)

    @property
    def warmup_s(self) -> float:
        """Seconds of audio flagged as warming up at the start (tracker-specific)."""
        return 0.5 * float(getattr(self.tracker, "warmup_frames", 60))

    # ------------------------------------------------------------ life cycle
    def open(self, choice: SourceChoice) -> str | None:
        """Stop whatever runs and start ``choice``; returns an error message or None."""
        self.close()
        self.choice = choice
        if not self.ensure_tracker():
            return f"No model loaded: {self.tracker_error}"
        try:
            source, engine = self.backend.open(choice, self.tracker)
            sub = engine.subscribe(maxlen=SUBSCRIPTION_MAXLEN)
            engine.start()
        except Exception as exc:  # noqa: BLE001
            log.warning("could not open %s: %s", choice.label, exc)
            return f"Could not open {choice.label}: {describe_error(exc)}"
        self.source, self.engine, self._sub = source, engine, sub
        self._reported_error = None
        self._finished_reported = False
        self._user_paused = False
        return None

    def close(self) -> None:
        """Stop the engine (threads join) and forget it; safe to call twice."""
        engine, self.engine, self._sub = self.engine, None, None
        self.source = None
        if engine is not None:
            try:
                engine.stop(timeout=1.0)
            except Exception as exc:  # noqa: BLE001 - stopping must never raise into Qt
                log.warning("engine did not stop cleanly: %s", exc)

    @property
    def running(self) -> bool:
        return bool(self.engine is not None and getattr(self.engine, "running", False))

    def poll(self) -> PollResult:
        """Drain new results and report a new error or the end of a file."""
        if self.engine is None or self._sub is None:
            return PollResult([])
        try:
            results = self._sub.drain()
        except Exception as exc:  # noqa: BLE001
            results = []
            log.warning("draining results failed: %s", exc)
        out = PollResult(results)
        err = getattr(self.engine, "error", None)
        if err is not None and err is not self._reported_error:
            self._reported_error = err
            out.error = describe_error(err)
            detail = getattr(self.engine, "error_traceback", None)
            if detail:
                log.error("engine failed:\n%s", detail)
        finished = getattr(self.engine, "finished", None)
        if (finished is not None and finished.is_set() and err is None
                and not self._finished_reported):
            self._finished_reported = True
            out.finished = True
        return out

    def metrics(self) -> Any:
        if self.engine is None:
            return None
        try:
            return self.engine.metrics()
        except Exception:  # noqa: BLE001 - a status line is not worth a crash
            return None

    @property
    def dropped(self) -> int:
        return int(getattr(self._sub, "dropped", 0) or 0)

    # ------------------------------------------------------------ file transport
    @property
    def is_file(self) -> bool:
        return self.choice is not None and self.choice.kind == "file" and self.source is not None

    @property
    def no_sound_message(self) -> str | None:
        """A banner line when the file is analysed without sound (no audio output); else None."""
        problem = getattr(self.source, "playback_problem", None) if self.is_file else None
        if not problem:
            return None
        return (f"No sound: {problem}. {self.choice.label} is analysed in sync, at playing "
                "speed, without being heard; choose an output with 'emotrack gui --output "
                "NAME|INDEX' (see 'emotrack devices').")

    @property
    def paused(self) -> bool:
        return bool(self.is_file and (self._user_paused or self.at_end))

    @property
    def at_end(self) -> bool:
        """The file has been played to its end (not stopped by an error)."""
        finished = getattr(self.engine, "finished", None)
        return bool(finished is not None and finished.is_set()
                     and getattr(self.engine, "error", None) is None)

    @property
    def position_s(self) -> float:
        return float(getattr(self.source, "position_s", 0.0) or 0.0) if self.source else 0.0

    @property
    def duration_s(self) -> float | None:
        d = getattr(self.source, "duration_s", None) if self.source else None
        return float(d) if d else None

    def toggle_pause(self) -> str | None:
        """Pause or resume a file; at the end, play it again from the start."""
        if not self.is_file:
            return None
        if self.at_end:
            return self.open(self.choice)
        try:
            if self._user_paused:
                self.source.resume()
                self._user_paused = False
            else:
                self.source.pause()
                self._user_paused = True
        except Exception as exc:  # noqa: BLE001
            return f"Pause/resume failed: {describe_error(exc)}"
        return None

    def seek(self, seconds: float) -> str | None:
        """Jump to ``seconds`` in the file; the engine restarts its analysis window there."""
        if self.choice is None or self.choice.kind != "file":
            return None
        if self.source is None or self.at_end:
            # The engine has finished (or failed): start it again, then seek.
            was_paused = self._user_paused
            msg = self.open(self.choice)
            if msg:
                return msg
            if was_paused:
                self.toggle_pause()
        try:
            self.source.seek(max(0.0, float(seconds)))
        except Exception as exc:  # noqa: BLE001
            return f"Seek failed: {describe_error(exc)}"
        return None
