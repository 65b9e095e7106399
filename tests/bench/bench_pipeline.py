"""Benchmark (not a test): live pipeline CPU use and newest-frame-to-result latency.

Runs the whole engine headless (no GUI, no printing) and reports, for

* ``--source file`` (default): a file source paced in real time without playback
  (the same threads and code as a live capture, fed by a 20 ms pacing thread
  instead of a sound card);
* ``--source system``: real system-audio capture: a private PulseAudio server
  (tests/pulse.py) plays the file into a null sink with ``paplay`` and the engine
  captures the sink's monitor, as ``emotrack listen --source system`` does;

these figures:

* CPU use of the process in % of one core (budget in DESIGN: < 5 %),
* latency from the arrival of the block holding a frame's last sample to the
  published result: p50 / p99 / max (budget: p99 < 50 ms on CPU).

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
import sys
import time
from pathlib import Path

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
    ap.add_argument("--seconds", type=float, default=45.0, help="audio seconds to run")
    ap.add_argument("--model", default=None, help="tracker (default: musicnn)")
    ap.add_argument("--checkpoint")
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--fake-model", action="store_true")
    ap.add_argument("--json", action="store_true", help="print the metrics as JSON")
    ap.add_argument("--source", choices=("file", "system"), default="file")
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
        while not engine.finished.is_set() and engine.metrics().audio_seconds < args.seconds:
            time.sleep(0.1)
        engine.stop()
    finally:
        if player is not None:
            os.killpg(player.pid, 15)
            player.wait(timeout=5)
        if server is not None:
            server.stop()
    m = engine.metrics()
    n = len(sub.drain())
    if args.json:
        print(json.dumps(m.to_dict(), indent=2))
    print(f"{m.audio_seconds:.1f} s of audio in {time.monotonic() - t0:.1f} s wall, {n} results, "
          f"model {m.model_name} on {m.device} (torch threads {args.torch_threads}); "
          f"CPU {m.cpu_percent:.2f} % of one core; latency p50 {m.latency_ms_p50:.1f} ms, "
          f"p99 {m.latency_ms_p99:.1f} ms, max {m.latency_ms_max:.1f} ms; overruns "
          f"{m.callback_overruns}/{m.ring_overruns}, underruns {m.playback_underruns}; source {args.source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
