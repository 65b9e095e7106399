"""Benchmark (not a test): offline analysis speed and live per-frame cost of each tracker.

Run:  .venv/bin/python tests/bench/bench_model.py [--threads 1 2] [--seconds 240] [--models musicnn rnn]

Builds a 4-minute real-music track by concatenating emoMusic clips from
shared/data/emomusic-mini (44.1 kHz) and writes it as Ogg/Vorbis.  For each tracker
(the shipped weights):

* offline: ``emotrack analyze``'s work (``analyze_file``: decode + features + network
  + head) in causal and centered modes, as a multiple of real time (best of ``--repeat``);
* live: the tracker fed one 500 ms block at a time, as the engine does, CPU time
  per frame (median and p99 of ``time.process_time`` per push) and its share of one
  core at 2 frames per second;
* for musicnn, the reference the tracker replaces: musicnn run on each frame's
  causal 3 s patch separately (``MusicnnMSD`` on 187 log-mel windows per frame),
  measured on the same track in one run, and the ratio.
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from emotrack.model.trackers import load_tracker
from emotrack.realtime.analysis import analyze_file

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CLIPS = SHARED / "data" / "emomusic-mini" / "clips_45seconds"


def make_track(path: Path, seconds: float) -> Path:
    clips = sorted(CLIPS.glob("*.mp3"))
    if not clips:
        raise SystemExit(f"no emoMusic clips found in {CLIPS}")
    parts, total, sr = [], 0, None
    for clip in clips * 10:
        x, sr_clip = sf.read(clip, dtype="float32", always_2d=True)
        sr = sr or sr_clip
        parts.append(x)
        total += len(x)
        if total >= seconds * sr:
            break
    audio = np.concatenate(parts)[: int(seconds * sr)]
    # written in blocks: libsndfile's Vorbis encoder crashes on one huge write
    with sf.SoundFile(path, "w", samplerate=sr, channels=audio.shape[1]) as f:
        for i in range(0, len(audio), 65536):
            f.write(audio[i:i + 65536])
    return path


def bench_offline(path: Path, tracker, mode: str, repeat: int, duration: float) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        analyze_file(path, tracker, mode=mode)
        best = min(best, time.perf_counter() - t0)
    return duration / best


def bench_live(audio: np.ndarray, sr: int, tracker, n: int) -> tuple[float, float]:
    """CPU ms per 500 ms block pushed (median, p99), after 10 warm-up frames."""
    tracker.reset(sr)
    half = sr // 2
    times = []
    for k in range(n + 10):
        block = audio[k * half:(k + 1) * half]
        t0 = time.process_time()
        tracker.push(block)
        if k >= 10:
            times.append(time.process_time() - t0)
    ms = np.array(times) * 1e3
    return float(np.median(ms)), float(np.percentile(ms, 99))


def bench_patch_by_patch(audio: np.ndarray, sr: int, tracker, n: int) -> float:
    """Seconds per frame of musicnn run on each frame's whole causal patch (the naive way)."""
    from emotrack.model.features import frames_from_model_rate, resample
    from emotrack.model.musicnn import MUSICNN_SPEC, PATCH_FRAMES, interleave_pools
    from emotrack.model.musicnn_tracker import last_window

    t0 = time.perf_counter()
    x = resample(audio, sr, 16000)
    logmel = frames_from_model_rate(x, MUSICNN_SPEC)
    with torch.inference_mode():
        for k in range(6, 6 + n):
            end = int(last_window(k))
            patch = torch.from_numpy(logmel[end - PATCH_FRAMES + 1:end + 1])[None]
            out = tracker.net(patch)
            named = {"dense": out.dense, "penultimate": out.penultimate, "logits": out.logits,
                     "pooled": tracker.net.pool_bn(interleave_pools(out.max_pool, out.mean_pool))}
            tracker.head.predict(np.concatenate([named[k].numpy() for k in tracker.inputs], axis=1))
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seconds", type=float, default=240.0)
    ap.add_argument("--format", default="ogg", help="container of the test track (ogg, flac, wav, mp3)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=["musicnn", "rnn", "cae", "baseline"])
    ap.add_argument("--live-frames", type=int, default=120)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        track = make_track(Path(tmp) / f"track.{args.format}", args.seconds)
        info = sf.info(str(track))
        duration = info.frames / info.samplerate
        t0 = time.perf_counter()
        audio, sr = sf.read(track, dtype="float32", always_2d=True)
        t_dec = time.perf_counter() - t0
        mono = np.ascontiguousarray(audio.mean(axis=1), np.float32)
        print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
              f"track {duration:.0f} s {args.format} {info.samplerate} Hz {info.channels} ch; "
              f"decode alone {duration / t_dec:.0f}x real time")
        print("| tracker | threads | offline causal (x real time) | offline centered (x real time) "
              "| live CPU per frame, median / p99 (ms) | live share of one core |")
        print("|---|---|---|---|---|---|")
        for name in args.models:
            tracker = load_tracker(name, device="cpu")
            setups = [(f"{t} torch", t, 1) for t in args.threads]
            if hasattr(tracker, "workers"):  # what `emotrack analyze` does: use_cores()
                setups.append((f"1 torch x {max(args.threads)} patch workers (analyze)", 1, max(args.threads)))
            for label, threads, workers in setups:
                torch.set_num_threads(threads)
                if hasattr(tracker, "workers"):
                    tracker.workers = workers
                causal = bench_offline(track, tracker, "causal", args.repeat, duration)
                centered = bench_offline(track, tracker, "centered", args.repeat, duration)
                torch.set_num_threads(1)  # live: listen and the GUI use one torch thread
                med, p99 = bench_live(mono, sr, tracker, args.live_frames) if workers == 1 else (np.nan,) * 2
                print(f"| {name} | {label} | {causal:.0f} | {centered:.0f} | {med:.2f} / {p99:.2f} "
                      f"| {100 * med / 500:.2f} % |", flush=True)
            if name == "musicnn":
                torch.set_num_threads(1)
                tracker.workers = 1
                naive = bench_patch_by_patch(mono, sr, tracker, args.live_frames)
                t0 = time.perf_counter()
                analyze_file(track, tracker, mode="causal")
                ours = (time.perf_counter() - t0) / (2 * duration)
                print(f"# musicnn patch by patch (1 thread, features excluded): {1e3 * naive:.1f} ms per "
                      f"frame = {0.5 / naive:.0f}x real time; the tracker's offline causal analysis "
                      f"(1 thread, decode included): {1e3 * ours:.1f} ms per frame; "
                      f"ratio {naive / ours:.1f}x", flush=True)


if __name__ == "__main__":
    main()
