"""Issue 13.10: long jobs show progress on a terminal, per file and within a long file; never with
--quiet or when standard error is not a terminal."""
from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios

import numpy as np
import pytest
import soundfile as sf


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("progress") / "forty seconds.wav"
    t = np.arange(40 * 16000) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(t))).astype(np.float32), 16000)
    return path


def _analyze(args: list[str], *, tty: bool) -> str:
    """Run ``emotrack analyze`` with standard error on a pseudo-terminal (or a pipe); its stderr."""
    cmd = [sys.executable, "-m", "emotrack.realtime.cli", "analyze", *args]
    env = {**os.environ, "COLUMNS": "120"}
    if not tty:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240).stderr
    master, slave = os.openpty()
    # a terminal of 120 x 40 (a fresh pseudo-terminal has 0 columns, where tqdm draws nothing)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=240) == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_default_model_shows_progress_within_a_long_file_on_a_terminal(long_wav, tmp_path):
    err = _analyze([str(long_wav), "--out", str(tmp_path / "a"), "--format", "csv", "--jobs", "1"], tty=True)
    shown = {int(m) for m in re.findall(r"(\d+)/40 s audio", err)}
    assert len(shown & set(range(1, 40))) >= 2, f"no progress inside the file: {err[-600:]!r}"


def test_no_bar_with_quiet_or_without_a_terminal(long_wav, tmp_path):
    quiet = _analyze([str(long_wav), "--out", str(tmp_path / "q"), "--format", "csv", "--jobs", "1",
                      "--quiet"], tty=True)
    piped = _analyze([str(long_wav), "--out", str(tmp_path / "p"), "--format", "csv", "--jobs", "1"],
                     tty=False)
    assert "s audio" not in quiet and "s audio" not in piped
    assert "emotrack: error" not in piped
