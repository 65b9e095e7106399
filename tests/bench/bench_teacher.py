"""Benchmark: cost of the musicnn teacher vs the real-time students, on one CPU thread.

Prints CPU seconds (``time.process_time``) for:

* teacher, offline: :func:`emotrack.model.teacher.teacher_curve` (resampling,
  musicnn mel, sliding musicnn, head) per minute of audio;
* teacher, live: one 3 s patch through musicnn per new 500 ms frame (what a live
  teacher would have to do each frame), in ms per frame;
* each student checkpoint given: ``Predictor.push_frame`` in ms per frame (the
  live cost, mel features excluded) and ``Predictor.analyze(..., "causal")`` per
  minute of audio.

The live budget is < 5 % of one core, i.e. < 25 ms CPU per 500 ms frame.  Run::

    nice .venv/bin/python tests/bench/bench_teacher.py [CHECKPOINT ...]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "assets" / "demo" / "revelation-excerpt.ogg"


def cpu(fn, repeat: int = 1) -> float:
    """Mean CPU seconds of ``fn()`` over ``repeat`` calls."""
    t = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - t) / repeat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoints", nargs="*", type=Path)
    ap.add_argument("--track", type=Path, default=DEMO)
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from emotrack.model.features import CAE_SPEC, mel_frames
    from emotrack.model.musicnn import PATCH_FRAMES, load_musicnn
    from emotrack.model.predictor import Predictor
    from emotrack.model.teacher import teacher_curve

    audio, sr = sf.read(str(args.track), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    reps = int(np.ceil(args.seconds * sr / len(audio)))
    audio = np.tile(audio, reps)[: int(args.seconds * sr)]
    minutes = len(audio) / sr / 60
    print(f"track {args.track.name}: {len(audio) / sr:.0f} s at {sr} Hz; torch threads 1")

    net = load_musicnn()
    teacher_curve(audio[: 5 * sr], sr, model=net)  # warm-up (librosa filters, allocations)
    t = cpu(lambda: teacher_curve(audio, sr, model=net))
    print(f"teacher offline: {t / minutes:.1f} s CPU per audio minute ({60 * minutes / t:.1f}x real time)")
    from emotrack.model.features import frames_from_model_rate
    from emotrack.model.musicnn import MUSICNN_SPEC
    from emotrack.model.teacher import causal_patch_starts, n_frames_of, to_model_rate

    def per_patch():  # the same outputs without the sliding front end: musicnn on every patch
        x = to_model_rate(audio, sr)
        lm = frames_from_model_rate(x, MUSICNN_SPEC)
        starts = causal_patch_starts(n_frames_of(x.size)) + PATCH_FRAMES
        lm = np.concatenate([np.zeros((PATCH_FRAMES, 96), np.float32), lm, np.zeros((PATCH_FRAMES, 96), np.float32)])
        with torch.inference_mode():
            for i in range(0, len(starts), 32):
                net(torch.from_numpy(np.stack([lm[s:s + PATCH_FRAMES] for s in starts[i:i + 32]])))

    t = cpu(per_patch)
    print(f"teacher offline without the sliding front end: {t / minutes:.1f} s CPU per audio minute")
    patch = torch.randn(1, PATCH_FRAMES, 96)
    with torch.inference_mode():
        net(patch)
        t = cpu(lambda: net(patch), repeat=10)
    print(f"teacher live: {1000 * t:.1f} ms CPU per 500 ms frame (one 3 s patch; {100 * t / 0.5:.1f} % of a core)")

    frames = mel_frames(audio, sr, CAE_SPEC)
    for ck in args.checkpoints:
        p = Predictor.from_checkpoint(ck, device="cpu")
        for f in frames[:70]:
            p.push_frame(f)
        n = min(200, len(frames))
        t = cpu(lambda: [p.push_frame(f) for f in frames[:n]]) / n
        t_off = cpu(lambda: p.analyze(frames, mode="causal"))
        print(f"student {ck.name} ({p.model_name}): live {1000 * t:.2f} ms CPU per frame "
              f"({100 * t / 0.5:.2f} % of a core); offline causal {1000 * t_off / minutes:.0f} ms CPU per audio minute")


if __name__ == "__main__":
    main()
