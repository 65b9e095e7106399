"""Benchmark (not a test): offline analysis speed and causal per-frame latency of each model.

Run:  .venv/bin/python tests/bench/bench_model.py [--threads 1 2] [--seconds 240] [--format ogg]

Builds a 4-minute real-music track by concatenating emoMusic clips from
shared/data/emomusic-mini (44.1 kHz), writes it as a compressed file, then for
each model ("cae", "baseline", "rnn"; untrained weights, speed does not depend
on training):
* offline: decode + features + inference with ``analyze_file`` in causal and
  centered modes, as a multiple of real time (best of ``--repeat`` runs);
* live: ``Predictor.push_frame`` latency per 500 ms frame (median, p99).
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

from emotrack.model.checkpoint import create_untrained_checkpoint
from emotrack.model.features import CAE_SPEC
from emotrack.model.predictor import Predictor
from emotrack.realtime.analysis import analyze_file, decode_frames

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


def bench_offline(path: Path, predictor: Predictor, mode: str, repeat: int, duration: float) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        analyze_file(path, predictor, mode=mode)
        best = min(best, time.perf_counter() - t0)
    return duration / best


def bench_step(frames: np.ndarray, predictor: Predictor, n: int) -> tuple[float, float]:
    predictor.reset()
    for f in frames[:10]:  # warm up allocations
        predictor.push_frame(f)
    times = []
    for f in frames[10:10 + n]:
        t0 = time.perf_counter()
        predictor.push_frame(f)
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1e3
    return float(np.median(ms)), float(np.percentile(ms, 99))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seconds", type=float, default=240.0)
    ap.add_argument("--format", default="ogg", help="container of the test track (ogg, flac, wav, mp3)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--models", nargs="+", default=["cae", "baseline", "rnn"])
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        track = make_track(Path(tmp) / f"track.{args.format}", args.seconds)
        info = sf.info(str(track))
        duration = info.frames / info.samplerate
        t0 = time.perf_counter()
        frames, _ = decode_frames(track, CAE_SPEC)
        t_feat = time.perf_counter() - t0
        t0 = time.perf_counter()
        sf.read(track, dtype="float32")
        t_dec = time.perf_counter() - t0
        print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
              f"track {duration:.0f} s {args.format} {info.samplerate} Hz {info.channels} ch; "
              f"decode alone {duration / t_dec:.0f}x, decode+features (first run) {duration / t_feat:.0f}x real time")
        print("| model | threads | offline causal (x real time) | offline centered (x real time) "
              "| causal step median (ms) | causal step p99 (ms) |")
        print("|---|---|---|---|---|---|")
        for name in args.models:
            ckpt = create_untrained_checkpoint(Path(tmp) / f"{name}.safetensors", name)
            predictor = Predictor.from_checkpoint(ckpt, device="cpu")
            for threads in args.threads:
                torch.set_num_threads(threads)
                causal = bench_offline(track, predictor, "causal", args.repeat, duration)
                centered = bench_offline(track, predictor, "centered", args.repeat, duration)
                med, p99 = bench_step(frames, predictor, min(400, len(frames) - 10))
                print(f"| {name} | {threads} | {causal:.0f} | {centered:.0f} | {med:.2f} | {p99:.2f} |",
                      flush=True)


if __name__ == "__main__":
    main()
