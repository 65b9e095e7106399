"""Benchmark: the trackers' streaming front ends vs librosa's batch mel spectrogram.

Both sides start from the same decoded 4-minute real recording (44.1 kHz) and
produce 96-band log-mel features at 16 kHz, for both feature specs:

* ``cae``: the poster's 500 ms frames (n_fft 960, hop 480, dB, pooled): ours is
  :class:`~emotrack.model.framing.PooledMelStream`;
* ``musicnn``: musicnn's windows (n_fft 512, hop 256, log10(1 + 10^4 x)): ours is
  :class:`~emotrack.model.framing.WindowMelStream`;

ours fed ``--block``-sample blocks (soxr streaming resampler, STFT, mel, log, the
500 ms frame clock and frame levels), the reference ``soxr.resample`` of the whole
signal, then ``librosa.feature.melspectrogram`` (same n_fft/hop/mels,
``center=False``) and the same log.  Prints the throughput of each as a multiple
of real time, their ratio (measured in the same run, interleaved), and the peak
Python heap (tracemalloc) of each.  Run::

    python tests/bench/bench_features.py [--track FILE] [--seconds 240] [--repeat 5] [--block 512]

Without ``--track`` it concatenates the emoMusic mini clips (real recordings in
``../shared``) to 240 s.
"""
from __future__ import annotations

import os

# Both sides on one core: after librosa's BLAS product OpenBLAS's threads keep spinning for a
# while, which slowed the streaming side's next run by up to 2x when the runs were interleaved
# on this 2-core machine.  Set EMOTRACK_BENCH_THREADS to compare with more threads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, os.environ.get("EMOTRACK_BENCH_THREADS", "1"))

import argparse  # noqa: E402
import time
import tracemalloc
from pathlib import Path

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CLIPS = REPO.parent / "shared" / "data" / "emomusic-mini" / "clips_45seconds"


def load_track(track: Path | None, seconds: float) -> tuple[np.ndarray, int, str]:
    """Decode ``track`` (or the concatenated emoMusic clips) to mono float32, cut to ``seconds``."""
    if track is not None:
        audio, sr = sf.read(track, dtype="float32", always_2d=True)
        audio, name = audio.mean(axis=1), track.name
    else:
        parts, sr = [], None
        for clip in sorted(CLIPS.glob("*.mp3"), key=lambda p: int(p.stem)):
            x, sr = sf.read(clip, dtype="float32", always_2d=True)
            parts.append(x.mean(axis=1))
        audio, name = np.concatenate(parts), f"{len(parts)} emoMusic clips concatenated"
    n = int(seconds * sr)
    if audio.size < n:
        raise SystemExit(f"{name} is only {audio.size / sr:.1f} s long; need {seconds} s")
    return np.ascontiguousarray(audio[:n]), sr, name


SPECS = ("cae", "musicnn")


def spec_of(name: str):
    from emotrack.model.features import CAE_SPEC
    from emotrack.model.musicnn import MUSICNN_SPEC

    return CAE_SPEC if name == "cae" else MUSICNN_SPEC


def ours(audio: np.ndarray, sr: int, block: int, name: str) -> int:
    """Push ``audio`` in blocks through the tracker's stage 1; returns the frames completed."""
    from emotrack.model.framing import PooledMelStream, WindowMelStream

    spec = spec_of(name)
    stream = PooledMelStream(spec, sr) if spec.pooled else WindowMelStream(spec, sr)
    push = stream.push
    for i in range(0, audio.size, block):
        push(audio[i:i + block])
    frames = stream.frames_emitted
    return frames + stream.flush().n


def reference(audio: np.ndarray, sr: int, name: str) -> np.ndarray:
    import librosa
    import soxr

    spec = spec_of(name)
    y = soxr.resample(audio, sr, 16000, quality="HQ")
    S = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=spec.n_fft, hop_length=spec.hop_length,
                                       center=False, n_mels=96, fmin=0.0, fmax=8000.0, norm="slaney")
    if spec.log == "db":
        return librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None)
    return np.log10(1.0 + spec.log_gain * S)


def measure(fns: dict, repeat: int) -> dict[str, tuple[float, float]]:
    """Best wall time of ``repeat`` interleaved runs and the peak traced heap (MiB) of one run, per name."""
    for fn in fns.values():
        fn()  # warm-up: caches, numba compilation, filterbanks
    times = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    out = {}
    for k, fn in fns.items():
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        out[k] = (min(times[k]), peak)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--track", type=Path)
    ap.add_argument("--seconds", type=float, default=240.0)
    ap.add_argument("--blocks", type=int, nargs="+", default=[512, 0],
                    help="block sizes in samples; 0 = one 500 ms frame of input per push, what the "
                    "live engine's feature thread pushes (it reads the ring once per frame)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--specs", nargs="+", default=list(SPECS), choices=SPECS)
    args = ap.parse_args()
    audio, sr, name = load_track(args.track, args.seconds)
    dur = audio.size / sr
    print(f"track: {name}, {dur:.1f} s at {sr} Hz; best of {args.repeat} interleaved runs")
    for spec in args.specs:
        for block in args.blocks:
            b = block or sr // 2
            res = measure({"ours": lambda: ours(audio, sr, b, spec),
                           "librosa": lambda: reference(audio, sr, spec)}, args.repeat)
            (t_o, m_o), (t_r, m_r) = res["ours"], res["librosa"]
            print(f"{spec:8s} {b:6d}-sample blocks: streaming {t_o:.3f} s = {dur / t_o:,.0f}x real time, "
                  f"peak heap {m_o:.1f} MiB | librosa batch (+soxr): {t_r:.3f} s = {dur / t_r:,.0f}x, "
                  f"peak heap {m_r:.1f} MiB | ratio streaming / batch: {t_r / t_o:.2f}x", flush=True)


if __name__ == "__main__":
    main()
