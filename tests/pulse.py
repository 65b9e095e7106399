"""Start and stop a private PulseAudio server for tests (per shared/recipes/pulseaudio.md).

The server has a null sink ``test`` whose monitor ``test.monitor`` is a
"system audio" source, and a virtual microphone ``virtmic`` fed by the null sink
``micfeed``.  Keep-alive streams keep the idle null sinks delivering promptly.
Everything is stopped by PID, never by name.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PulseServer:
    """A running private PulseAudio daemon and the environment that reaches it."""

    runtime_dir: Path
    pid: int
    env: dict[str, str]
    keepalive: list[subprocess.Popen] = field(default_factory=list)

    def pactl(self, *args: str) -> str:
        """Run ``pactl`` against this server and return its stdout."""
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True,
                              text=True, check=True, timeout=10).stdout

    def stop(self) -> None:
        """Stop the keep-alive streams and the daemon (by PID)."""
        for proc in self.keepalive:
            proc.kill()
            proc.wait(timeout=5)
        try:
            os.kill(self.pid, 15)
        except ProcessLookupError:
            pass
        for _ in range(50):
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


def missing_tools() -> list[str]:
    """The command-line tools this helper needs that are not installed."""
    return [t for t in ("pulseaudio", "pactl", "pacat", "paplay") if shutil.which(t) is None]


def start_pulse_server() -> PulseServer:
    """Start a daemon in a fresh runtime directory; raise RuntimeError if it does not answer."""
    runtime = Path(tempfile.mkdtemp(prefix="emotrack-pulse-"))
    runtime.chmod(0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime),
               PULSE_SERVER=f"unix:{runtime}/pulse/native", PULSE_RUNTIME_PATH=str(runtime / "pulse"))
    subprocess.run(
        ["pulseaudio", "-D", "-n", "--exit-idle-time=-1", f"--log-target=file:{runtime}/pulse.log",
         "--load=module-native-protocol-unix",
         "--load=module-null-sink sink_name=test",
         "--load=module-null-sink sink_name=micfeed",
         "--load=module-remap-source master=micfeed.monitor source_name=virtmic"],
        env=env, check=True, timeout=20, capture_output=True,
    )
    for _ in range(100):
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError(f"PulseAudio did not answer; see {runtime}/pulse.log")
    pid = int((runtime / "pulse" / "pid").read_text().split()[0])
    server = PulseServer(runtime_dir=runtime, pid=pid, env=env)
    for sink in ("test", "micfeed"):
        server.keepalive.append(subprocess.Popen(
            ["pacat", "-p", "--raw", f"--device={sink}", "--latency-msec=20"],
            stdin=open(os.devnull, "rb"), env=env,
        ))
    time.sleep(1.0)
    return server
