"""Soak: one hour of audio through the whole live pipeline at accelerated pace.

Usage::

    nice python tests/bench/bench_soak.py [--hours 1.0] [--checkpoint CKPT]

A file source with ``--no-playback --fast`` semantics (FileSource(playback=False,
realtime=False)) feeds the real engine: ring buffer, feature thread, inference
worker (the bundled model unless ``--checkpoint``), two subscribers (one drained
often, one rarely).  The input is a 1-hour 16 kHz WAV written block by block.
Reports results vs frames, lost results, RSS sampled every second and CPU time.  Not a
test: no thresholds beyond printing PASS/FAIL against the DESIGN budget (memory flat: RSS
growth < 5 % from a quarter of the run to its end).  RSS rises during the first minutes (the
worker threads' malloc arenas, torch's allocator, the rarely drained subscriber holding up
to 30 s of wall time of results) and then stays flat; the growth from 60 s of audio to the
maximum is printed too.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--model", default=None, help="tracker (default: musicnn)")
    ap.add_argument("--checkpoint", default=None)
    args = ap.parse_args()
    from fixtures_badinput import write_long_wav
    import torch

    from emotrack.model.trackers import load_tracker
    from emotrack.realtime.engine import Engine
    from emotrack.realtime.sources import FileSource

    tmp = Path(tempfile.mkdtemp(prefix="emotrack-soak-"))
    wav = write_long_wav(tmp / "soak.wav", args.hours * 3600, sr=16000)
    torch.set_num_threads(1)  # as listen does
    tracker = load_tracker(args.model, args.checkpoint, device="cpu")
    engine = Engine(FileSource(wav, playback=False, realtime=False), tracker)
    fast, slow = engine.subscribe(maxlen=100_000), engine.subscribe(maxlen=100_000)
    t0, cpu0 = time.monotonic(), time.process_time()
    engine.start()
    got_fast = got_slow = 0
    samples: list[tuple[float, float]] = []
    last_slow = time.monotonic()
    while not engine.finished.wait(1.0):
        got_fast += len(fast.drain())
        if time.monotonic() - last_slow > 30:
            got_slow += len(slow.drain())
            last_slow = time.monotonic()
        samples.append((engine.metrics().audio_seconds, rss_mb()))
    engine.stop()
    got_fast += len(fast.drain())
    got_slow += len(slow.drain())
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    m = engine.metrics()
    expected = int(round(args.hours * 3600 * 2))
    warm = [r for a, r in samples if a >= 60.0] or [r for _, r in samples]
    ramp = 100.0 * (max(warm) - warm[0]) / warm[0]
    print(f"audio {m.audio_seconds:.0f} s in {wall:.1f} s wall ({m.audio_seconds / wall:.0f}x real time), "
          f"CPU {cpu:.1f} s ({100 * cpu / wall:.0f} % of one core), model {m.model_name} on {m.device}")
    print(f"frames {m.frames_in} (expected {expected}), results {m.results_out}, "
          f"received fast {got_fast} slow {got_slow}, dropped {m.dropped_results}, "
          f"ring overruns {m.ring_overruns}, error {engine.error!r}")
    quarters = [next((r for a, r in samples if a >= q * m.audio_seconds), samples[-1][1]) for q in (0.25, 0.5, 0.75)]
    later = [r for a, r in samples if a >= 0.25 * m.audio_seconds] or [samples[-1][1]]
    growth = 100.0 * (max(later) - later[0]) / later[0]
    print("RSS at 25 / 50 / 75 / 100 % of the audio: " + " / ".join(f"{r:.1f}" for r in (*quarters, samples[-1][1]))
          + f" MB: growth {growth:.2f} % from 25 % to the end")
    print(f"RSS after 60 s of audio {warm[0]:.1f} MB, max {max(warm):.1f} MB (the start-up ramp: {ramp:.1f} %), "
          f"end {samples[-1][1]:.1f} MB ({len(samples)} samples); peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")
    ok = (m.results_out == m.frames_in == expected == got_fast == got_slow and m.dropped_results == 0
          and growth < 5.0 and engine.error is None)
    print("PASS" if ok else "FAIL")
    wav.unlink()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
