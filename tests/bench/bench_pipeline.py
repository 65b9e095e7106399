"""Benchmark (not a test): live pipeline CPU use and newest-frame-to-result latency.

Runs the whole engine headless (no GUI, no printing) and reports, for

* ``--source file`` (default): a file source paced in real time without playback
  (the same threads and code as a live capture, fed by a 20 ms pacing thread
  instead of a sound card);
* ``--source system``: real system-audio capture: a private PulseAudio server
  (tests/pulse.py) plays the file into a null sink with ``paplay`` and the engine
  captures the sink's monitor, as ``emotrack listen --source system`` does;

these figures:

* CPU use of the process in % of one core (budget in DESIGN: < 5 %): over the whole run
  (the engine's own figure, from its start), and **steady**, over the run after its first
  ``--settle`` seconds (default 5): opening a PulseAudio capture costs about 0.9 s of CPU
  once (PortAudio's ALSA plugin starting, measured with ``--per-thread``), which is 3 % of a
  30 s run and nothing of an evening;
* latency from the arrival of the block holding a frame's last sample to the
  published result: p50 / p99 / max over the last 4096 frames (budget: p99 < 50 ms on CPU);
* resident memory sampled once a second (at a quarter, half, three quarters and the end of the
  run, and its maximum) and the peak (``ru_maxrss``): ``--seconds 3600`` is a real-time hour.

Usage::

    python tests/bench/bench_pipeline.py [AUDIO] [--seconds 60] [--model musicnn|rnn|cae|baseline]
        [--checkpoint FILE] [--torch-threads 1] [--fake-model] [--source file|system]

The default tracker is the product's default (musicnn), as ``emotrack listen`` runs it.
``--fake-model`` keeps the musicnn tracker's front end (resampling and log-mel windows)
and replaces its network with a constant, to see the cost of capture + features alone.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from bench_soak import rss_mb  # this folder is sys.path[0] when the bench runs as a script

REPO = Path(__file__).resolve().parents[2]
DEFAULT_AUDIO = REPO.parent / "shared" / "data" / "emomusic-mini" / "clips_45seconds" / "10.mp3"


def constant_tracker():
    """The musicnn tracker's stage 1 with a network that costs nothing."""
    import numpy as np

    from emotrack.model.framing import WindowMelStream
    from emotrack.model.musicnn import MUSICNN_SPEC
    from emotrack.model.tracker import Tracker

    class Constant(Tracker):
        name = "constant"
        warmup_frames = 6

        def _new_features(self, input_sr):
            return WindowMelStream(MUSICNN_SPEC, input_sr)

        def reset_network(self):
            pass

        def _infer_values(self, batch):
            return np.zeros((batch.n, 2), np.float32), None

        def describe(self):
            return {"name": self.name}

    return Constant()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="?", default=str(DEFAULT_AUDIO))
    ap.add_argument("--seconds", type=float, default=40.0,
                    help="audio seconds to run (stop before the end of the file: --per-thread reads "
                         "the threads while they run)")
    ap.add_argument("--model", default=None, help="tracker (default: musicnn)")
    ap.add_argument("--checkpoint")
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--fake-model", action="store_true")
    ap.add_argument("--json", action="store_true", help="print the metrics as JSON")
    ap.add_argument("--source", choices=("file", "system"), default="file")
    ap.add_argument("--settle", type=float, default=5.0,
                    help="seconds after the start left out of the steady CPU figure (default 5)")
    ap.add_argument("--per-thread", action="store_true",
                    help="also print each thread's CPU and wake-ups a second after the --settle "
                         "seconds (Linux /proc), e.g. PortAudio's")
    args = ap.parse_args()

    from emotrack.realtime.engine import Engine
    from emotrack.realtime.sources import FileSource

    if args.fake_model:
        tracker = constant_tracker()
    else:
        import torch

        torch.set_num_threads(args.torch_threads)
        from emotrack.model.trackers import load_tracker

        tracker = load_tracker(args.model, args.checkpoint, device="cpu")

    server = player = None
    if args.source == "system":
        import os
        import subprocess

        sys.path.insert(0, str(REPO / "tests"))
        from pulse import start_pulse_server

        from emotrack.realtime.sources import SystemAudioSource

        server = start_pulse_server()
        os.environ.update({k: server.env[k] for k in ("XDG_RUNTIME_DIR", "PULSE_SERVER",
                                                       "PULSE_RUNTIME_PATH")})
        source = SystemAudioSource("test.monitor")
    else:
        source = FileSource(args.audio, playback=False, realtime=True)
    try:
        engine = Engine(source, tracker)
        sub = engine.subscribe(maxlen=100_000)
        engine.start()
        if server is not None:  # loop the file into the null sink while the engine listens
            player = subprocess.Popen(
                ["bash", "-c", f'while true; do paplay --device=test "{args.audio}"; done'],
                env=server.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
        t0 = time.monotonic()
        threads0 = thread_cpu()
        steady0 = None
        n, checked = 0, t0
        rss: list[float] = []  # MB, once a second
        steady_lat: list[float] = []  # ms
        while not engine.finished.is_set():  # as `listen` waits: results or 1 s, then drain
            sub.wait(1.0)
            got = sub.drain()
            n += len(got)
            if steady0 is not None:  # latency of the results after the settle time
                steady_lat += [1000.0 * (r.t_ready - r.t_last_sample) for r in got]
            if time.monotonic() - checked >= 1.0:
                checked = time.monotonic()
                rss.append(rss_mb())
                if engine.metrics().audio_seconds >= args.seconds:
                    break
            if steady0 is None and time.monotonic() - t0 >= args.settle:
                steady0 = (time.process_time(), time.monotonic())
                threads0 = thread_cpu()  # per thread: steady too
        threads1 = thread_cpu()
        wall = time.monotonic() - (t0 if steady0 is None else steady0[1])
        steady = (None if steady0 is None else
                  100 * (time.process_time() - steady0[0]) / (time.monotonic() - steady0[1]))
        engine.stop()
    finally:
        if player is not None:
            os.killpg(player.pid, 15)
            player.wait(timeout=5)
        if server is not None:
            server.stop()
    m = engine.metrics()
    n += len(sub.drain())
    if args.json:
        print(json.dumps(m.to_dict(), indent=2))
    print(f"{m.audio_seconds:.1f} s of audio in {time.monotonic() - t0:.1f} s wall, {n} results, "
          f"model {m.model_name} on {m.device} (torch threads {args.torch_threads}); "
          f"CPU {m.cpu_percent:.2f} % of one core, steady (after {args.settle:g} s) "
          f"{'n/a' if steady is None else f'{steady:.2f} %'}; latency p50 {m.latency_ms_p50:.1f} ms, "
          f"p99 {m.latency_ms_p99:.1f} ms, max {m.latency_ms_max:.1f} ms; overruns "
          f"{m.callback_overruns}/{m.ring_overruns}, underruns {m.playback_underruns}; source {args.source}")
    if steady_lat:
        import numpy as np

        lat = np.array(steady_lat)
        print(f"steady latency (results after {args.settle:g} s, {lat.size}): p50 "
              f"{np.percentile(lat, 50):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms, max {lat.max():.1f} ms")
    if len(rss) >= 4:
        quarters = " / ".join(f"{rss[min(len(rss) - 1, round(q * len(rss)) - 1)]:.1f}" for q in (0.25, 0.5, 0.75, 1.0))
        print(f"RSS at 25 / 50 / 75 / 100 % of the run {quarters} MB, max sampled {max(rss):.1f} MB, "
              f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")
    if args.per_thread:
        rows = []
        for key, (cpu, waits) in threads1.items():
            cpu0, waits0 = threads0.get(key, (0.0, 0))
            if cpu > cpu0:
                rows.append((cpu - cpu0, waits - waits0, key[1]))
        for cpu, waits, name in sorted(rows, reverse=True):
            print(f"  thread {name:24s} {100 * cpu / wall:5.2f} % of one core, {waits / wall:6.1f} wake-ups/s")
    return 0


def thread_cpu() -> dict[tuple[int, str], tuple[float, int]]:
    """(thread id, name) -> (CPU seconds, voluntary context switches) so far, of every thread
    of this process (Linux); a switch is the thread going to sleep, so it counts wake-ups."""
    import os

    import threading

    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}  # native threads: their comm
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
            name = (task / "comm").read_text().strip()
            status = (task / "status").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        waits = int(status.split("voluntary_ctxt_switches:", 1)[1].split()[0])
        out[(int(task.name), names.get(int(task.name), name))] = (
            (int(fields[11]) + int(fields[12])) / tick, waits)  # utime + stime
    return out


if __name__ == "__main__":
    sys.exit(main())
