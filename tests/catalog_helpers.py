"""Tracker loaders for catalog tests, importable by worker processes (local and Ray).

``dying_loader`` gives the real tracker wrapped so that the worker process that
first reaches its second track kills itself (SIGKILL) in the middle of it, once
per marker file (``EMOTRACK_TEST_DIE_MARKER``): a worker lost mid-run, as an
out-of-memory kill or a lost cluster node would do it.
"""
from __future__ import annotations

import os
import signal

from emotrack.model.trackers import load_tracker

MARKER_ENV = "EMOTRACK_TEST_DIE_MARKER"


class _DiesOnSecondTrack:
    def __init__(self, tracker) -> None:
        self._tracker = tracker
        self._tracks = 0

    def __getattr__(self, name):
        return getattr(self._tracker, name)

    def analyze(self, blocks, input_sr, **kwargs):
        self._tracks += 1
        marker = os.environ.get(MARKER_ENV)
        if self._tracks == 2 and marker:
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass  # another worker died already: this one works
            else:
                next(iter(blocks))  # mid-track: its audio is being decoded
                os.kill(os.getpid(), signal.SIGKILL)
        return self._tracker.analyze(blocks, input_sr, **kwargs)


def dying_loader(model=None, checkpoint=None, *, device="auto"):
    """:func:`load_tracker`, wrapped as the module docstring says."""
    return _DiesOnSecondTrack(load_tracker(model, checkpoint, device=device))
