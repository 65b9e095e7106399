"""Benchmark: streaming MelFrameStream vs librosa's batch mel spectrogram (issue: foundation).

Both sides start from the same decoded 4-minute real recording (44.1 kHz) and
produce 96-band log-mel features at 16 kHz:

* ours: ``MelFrameStream`` fed 512-sample blocks (soxr streaming resampler,
  STFT, mel, log, 500 ms pooling);
* reference: ``soxr.resample`` of the whole signal, then
  ``librosa.feature.melspectrogram`` (same n_fft/hop/mels) and ``power_to_db``.

Prints the throughput of each as a multiple of real time, their ratio, and the
peak Python heap (tracemalloc) of each.  Run::

    python tests/bench/bench_features.py [--track FILE] [--seconds 240] [--repeat 3]

Without ``--track`` it concatenates the emoMusic mini clips (real recordings in
``../shared``) to 240 s.
"""
from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import numpy as np
import soundfile as sf

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


def ours(audio: np.ndarray, sr: int, block: int) -> np.ndarray:
    from emotrack.model.features import CAE_SPEC
    from emotrack.model.melstream import MelFrameStream

    stream = MelFrameStream(CAE_SPEC, sr)
    out = [stream.push(audio[i:i + block]) for i in range(0, audio.size, block)]
    out.append(stream.flush())
    return np.concatenate(out)


def reference(audio: np.ndarray, sr: int) -> np.ndarray:
    import librosa
    import soxr

    y = soxr.resample(audio, sr, 16000, quality="HQ")
    S = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=960, hop_length=480, center=False,
                                       n_mels=96, fmin=0.0, fmax=8000.0, norm="slaney")
    return librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None)


def measure(fn, repeat: int) -> tuple[float, float]:
    """Best wall time of ``repeat`` runs and the peak traced heap (MiB) of one run."""
    fn()  # warm-up: caches, numba compilation, filterbank
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return min(times), peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--track", type=Path)
    ap.add_argument("--seconds", type=float, default=240.0)
    ap.add_argument("--block", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    audio, sr, name = load_track(args.track, args.seconds)
    print(f"track: {name}, {audio.size / sr:.1f} s at {sr} Hz; best of {args.repeat}")
    t_ours, m_ours = measure(lambda: ours(audio, sr, args.block), args.repeat)
    t_ref, m_ref = measure(lambda: reference(audio, sr), args.repeat)
    dur = audio.size / sr
    print(f"MelFrameStream ({args.block}-sample blocks): {t_ours:.3f} s = {dur / t_ours:,.0f}x real time, "
          f"peak heap {m_ours:.1f} MiB")
    print(f"librosa batch melspectrogram (+soxr):      {t_ref:.3f} s = {dur / t_ref:,.0f}x real time, "
          f"peak heap {m_ref:.1f} MiB")
    print(f"throughput ratio streaming / librosa batch: {t_ref / t_ours:.2f}x")


if __name__ == "__main__":
    main()
