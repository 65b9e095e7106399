"""Run ``emotrack`` in a fresh interpreter under resource limits (address space, file size).

Used by the crafted-input tests: a hostile file must fail cleanly *inside* a memory limit,
and a write that fails (as on a full disk) must name its file.
"""
from __future__ import annotations

import os
import subprocess
import sys

_SCRIPT = """
import resource, signal, sys
address_space, file_size = int(sys.argv[1]), int(sys.argv[2])
if address_space:
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
if file_size:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
from emotrack.realtime.cli import main
code = main(sys.argv[3:])
peak = next(l for l in open('/proc/self/status') if l.startswith('VmPeak'))
print('VMPEAK', int(peak.split()[1]) * 1024)
sys.exit(code)
"""


def run_cli_limited(argv: list[str], *, cwd, address_space: int = 0, file_size: int = 0,
                    timeout: float = 180) -> subprocess.CompletedProcess:
    """``emotrack ARGV`` with RLIMIT_AS / RLIMIT_FSIZE set (0 = unlimited) before emotrack loads."""
    return subprocess.run([sys.executable, "-c", _SCRIPT, str(address_space), str(file_size), *argv],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout, env=dict(os.environ))


def peak_address_space(proc: subprocess.CompletedProcess) -> int:
    """The peak address space (bytes) a successful :func:`run_cli_limited` run reported."""
    return int(next(line for line in proc.stdout.splitlines() if line.startswith("VMPEAK")).split()[1])


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The single ``emotrack: error:`` line of a failed run (asserts there is exactly one
    and no traceback)."""
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("emotrack: error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]
