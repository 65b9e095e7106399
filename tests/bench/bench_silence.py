"""Benchmark: offline analysis of long digital silence with and without skipping silent frames.

A silent frame has no emotion (DESIGN contract 7), so the musicnn tracker runs no network
for it (``MusicnnTracker.skips_silent``).  This writes ``--minutes`` of digital silence as a
44.1 kHz stereo FLAC (issue 23 class 9: hours of silence in a FLAC) and analyses it with the
musicnn tracker twice, skipping (the default) and not skipping, on one torch thread, and
prints each run's wall and CPU seconds, network passes and the ratio.  Run::

    python tests/bench/bench_silence.py [--minutes 10]

What a skipped frame still costs is stage 1 (decoding, resampling, log-mel windows, level).
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402


def write_silence(path: Path, minutes: int, sr: int = 44100) -> None:
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=2, format="FLAC") as f:
        block = np.zeros((sr * 60, 2), np.float32)
        for _ in range(minutes):
            f.write(block)


def run(tracker, path: Path, *, skip: bool) -> tuple[float, float, int, int]:
    from emotrack.realtime.analysis import analyze_file

    tracker.skips_silent = skip
    before = tracker.patches_run
    t0, c0 = time.monotonic(), time.process_time()
    result = analyze_file(path, tracker)
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    return wall, cpu, tracker.patches_run - before, len(result.frames)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=int, default=10)
    args = ap.parse_args()
    import torch

    from emotrack.model.trackers import load_tracker

    torch.set_num_threads(1)
    tracker = load_tracker("musicnn", device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "silence.flac"
        write_silence(path, args.minutes)
        rows = {skip: run(tracker, path, skip=skip) for skip in (True, False)}
    for skip, (wall, cpu, passes, frames) in rows.items():
        print(f"{'skipping' if skip else 'not skipping'}: {args.minutes} min of digital silence, "
              f"{frames} frames, {passes} network passes, wall {wall:.1f} s, CPU {cpu:.1f} s")
    print(f"ratio (not skipping / skipping): wall {rows[False][0] / rows[True][0]:.1f}x, "
          f"CPU {rows[False][1] / rows[True][1]:.1f}x")


if __name__ == "__main__":
    main()
