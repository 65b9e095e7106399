"""Shared pytest fixtures: data paths and the private PulseAudio server."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from pulse import PulseServer, missing_tools, start_pulse_server

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
"""The team's shared folder beside the checkout (CI clones with shared/ beside it)."""
EMOMUSIC_MINI = SHARED / "data" / "emomusic-mini"
IN_CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, reason: str) -> None:
    """Skip when a resource is missing locally, but fail under CI=true."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def emomusic_mini() -> Path:
    """The emoMusic mini set (annotations + 10 clips)."""
    need(EMOMUSIC_MINI.is_dir(), f"emoMusic mini set not found at {EMOMUSIC_MINI}")
    return EMOMUSIC_MINI


def _rescan_portaudio() -> None:
    """PortAudio lists devices once, at initialisation: re-initialise it if already loaded."""
    import sys

    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()


@pytest.fixture(scope="session")
def pulse_server():
    """A private PulseAudio server; its environment is applied to this process.

    Tests using it must be marked ``@pytest.mark.audio_server``.  It fails (not
    skips) when ``CI=true`` and the server cannot be started.
    """
    missing = missing_tools()
    need(not missing, f"PulseAudio tools not installed: {', '.join(missing)}")
    server = start_pulse_server()
    saved = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "PULSE_SERVER", "PULSE_RUNTIME_PATH")}
    for key in saved:
        os.environ[key] = server.env[key]
    _rescan_portaudio()
    try:
        yield server
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
from fixtures_model import *  # noqa: E402,F401,F403
from fixtures_realtime import *  # noqa: E402,F401,F403
from fixtures_gui import *  # noqa: E402,F401,F403
from fixtures_train import *  # noqa: E402,F401,F403
from fixtures_badinput import *  # noqa: E402,F401,F403
