"""Benchmark (not a test): live pipeline CPU use and newest-frame-to-result latency.

Runs the whole engine headless (no GUI, no printing) on a file source paced in
real time without playback (the same threads and code as a live capture, fed
by a 20 ms pacing thread instead of a sound card) and reports:

* CPU use of the process in % of one core (budget in DESIGN: < 5 %),
* latency from the arrival of the block holding a frame's last sample to the
  published result: p50 / p99 / max (budget: median < 20 ms on CPU).

Usage::

    python tests/bench/bench_pipeline.py [AUDIO] [--seconds 60] [--checkpoint CKPT]
        [--torch-threads 1] [--fake-model]

Without ``--checkpoint`` an untrained CAE checkpoint is created (same network
and cost as a trained one).  ``--fake-model`` replaces the model with a
constant, to see the cost of capture + features alone.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_AUDIO = REPO.parent / "shared" / "data" / "emomusic-mini" / "clips_45seconds" / "10.mp3"


class ConstantModel:
    """A predictor that costs nothing: isolates the capture + feature cost."""

    model_name = "constant"
    device = "cpu"

    def __init__(self, spec):
        self.spec = spec
        self.n = 0

    def push_frame(self, frame):
        self.n += 1
        return 0.0, 0.0, self.n < 60

    def reset(self):
        self.n = 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="?", default=str(DEFAULT_AUDIO))
    ap.add_argument("--seconds", type=float, default=45.0, help="audio seconds to run")
    ap.add_argument("--checkpoint")
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--fake-model", action="store_true")
    ap.add_argument("--json", action="store_true", help="print the metrics as JSON")
    args = ap.parse_args()

    from emotrack.model.features import CAE_SPEC
    from emotrack.realtime.engine import Engine
    from emotrack.realtime.sources import FileSource

    if args.fake_model:
        predictor = ConstantModel(CAE_SPEC)
    else:
        import torch

        torch.set_num_threads(args.torch_threads)
        from emotrack.model.predictor import Predictor

        ckpt = args.checkpoint
        if ckpt is None:
            from emotrack.model.checkpoint import create_untrained_checkpoint

            ckpt = create_untrained_checkpoint(Path(tempfile.mkdtemp()) / "cae.safetensors")
        predictor = Predictor.from_checkpoint(ckpt, device="cpu")

    engine = Engine(FileSource(args.audio, playback=False, realtime=True), predictor)
    sub = engine.subscribe(maxlen=100_000)
    engine.start()
    t0 = time.monotonic()
    while not engine.finished.is_set() and engine.metrics().audio_seconds < args.seconds:
        time.sleep(0.1)
    engine.stop()
    m = engine.metrics()
    n = len(sub.drain())
    if args.json:
        print(json.dumps(m.to_dict(), indent=2))
    print(f"{m.audio_seconds:.1f} s of audio in {time.monotonic() - t0:.1f} s wall, {n} results, "
          f"model {m.model_name} on {m.device} (torch threads {args.torch_threads}); "
          f"CPU {m.cpu_percent:.2f} % of one core; latency p50 {m.latency_ms_p50:.1f} ms, "
          f"p99 {m.latency_ms_p99:.1f} ms, max {m.latency_ms_max:.1f} ms; overruns "
          f"{m.callback_overruns}/{m.ring_overruns}, underruns {m.playback_underruns}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
