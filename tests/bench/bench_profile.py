"""Benchmark (not a test): where a live frame's CPU time goes, stage by stage (issue 21).

Feeds a real recording to the default (musicnn) tracker in 500 ms blocks, as the
live engine's two threads do, and charges ``time.process_time`` (this process's CPU,
so waiting for a busy core is not counted) to each stage:

* ``front end``: resampling to 16 kHz and the log-mel windows (stage 1,
  ``tracker.features.push``);
* ``streamed branches``: the front-end branch positions computed once over the stream
  (:class:`~emotrack.model.musicnn_tracker.StreamedBranch.extend`); with the causal stream
  (``--stream causal``, the shipped head's) every layer's new positions
  (:meth:`~emotrack.model.musicnn_causal.CausalMusicnn.extend`);
* ``patch``: the patch's padded edges, mid-end, pooling and back-end (``_patch_outputs``
  less the edges is not separable cheaply, so both are one row); causal: the pooling over the
  stored positions and the back end;
* ``head``: the (arousal, valence) head and anything after it (the rest of ``infer``).

The engine's own cost (capture or pacing, ring buffer, queues, results) is what
``bench_pipeline.py --fake-model`` measures beside this.

Usage::

    python tests/bench/bench_profile.py [AUDIO] [--frames 120] [--stream causal|aligned|patch] [--sleep 0.45]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_AUDIO = REPO.parent / "shared" / "data" / "emomusic-mini" / "clips_45seconds" / "10.mp3"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="?", default=str(DEFAULT_AUDIO))
    ap.add_argument("--frames", type=int, default=80, help="frames measured after a 4 s warm-up")
    ap.add_argument("--stream", choices=("causal", "aligned", "patch"), default=None,
                    help="how musicnn runs (default: what the shipped head was fitted on)")
    ap.add_argument("--sleep", type=float, default=0.0, metavar="S",
                    help="sleep S seconds between frames, as the live worker does between results "
                         "(0.45: what a sleeping thread pays for cold caches; default: a tight loop)")
    args = ap.parse_args()

    import numpy as np
    import soundfile as sf
    import torch

    torch.set_num_threads(1)  # as listen and the GUI run it
    from emotrack.model.musicnn_causal import CausalMusicnn
    from emotrack.model.musicnn_tracker import MusicnnTracker, StreamedBranch

    tracker = MusicnnTracker(device="cpu", stream=args.stream)
    audio, sr = sf.read(args.audio, dtype="float32", always_2d=True)
    block = sr // 2
    spent = {"streamed branches": 0.0, "patch": 0.0}

    def timed(name, fn):
        def wrapper(*a, **k):
            t = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[name] += time.process_time() - t
        return wrapper

    original_extend = StreamedBranch.extend, CausalMusicnn.extend
    StreamedBranch.extend = timed("streamed branches", original_extend[0])
    CausalMusicnn.extend = timed("streamed branches", original_extend[1])
    if tracker.causal is not None:  # the pooling and the back end
        tracker.causal.pooled = timed("patch", tracker.causal.pooled)
        tracker._back_end = timed("patch", tracker._back_end)
    else:  # its own back end included
        tracker._patch_outputs = timed("patch", tracker._patch_outputs)
    tracker.reset(sr)
    tracker.push(audio[: 8 * block])
    for k in spent:
        spent[k] = 0.0
    front = infer = 0.0
    frames = 0
    i = 8
    while frames < args.frames and (i + 1) * block <= len(audio):
        t0 = time.process_time()
        batch = tracker.features.push(audio[i * block:(i + 1) * block])
        t1 = time.process_time()
        tracker.infer(batch)
        t2 = time.process_time()
        front += t1 - t0
        infer += t2 - t1
        frames += batch.n
        i += 1
        if args.sleep > 0:
            time.sleep(args.sleep)
    StreamedBranch.extend, CausalMusicnn.extend = original_extend
    head = infer - spent["streamed branches"] - spent["patch"]
    rows = [("front end", front), ("streamed branches", spent["streamed branches"]),
            ("patch", spent["patch"]), ("head and the rest of infer", head)]
    total = front + infer
    print(f"{frames} frames of {Path(args.audio).name} at {sr} Hz, musicnn stream {tracker.stream}, "
          f"{args.sleep:g} s sleep between frames, CPU ms per frame (share of one core at 2 Hz):")
    for name, s in rows:
        print(f"  {name:28s} {1000 * s / frames:6.2f} ms  ({100 * 2 * s / frames:4.2f} %)")
    print(f"  {'total':28s} {1000 * total / frames:6.2f} ms  ({100 * 2 * total / frames:4.2f} %)")
    _ = np


if __name__ == "__main__":
    main()
