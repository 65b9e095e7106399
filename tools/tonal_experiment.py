#!/usr/bin/env python3
"""Tonal features (mode, key clarity) as extra inputs of the musicnn head: tried, not adopted (issue 18).

Issue 18 allowed mode / key-clarity features only if they earn their CPU.  This tool repeats the
experiment that decided it: 5 causal tonal features per tracker frame, their song means appended to
the head's inputs, the unchanged head procedure cross-validated with and without them, and the
paired bootstrap of the difference (``compare_streams.paired_figures``).  The features are not part
of the product; their code lives here only.

    OMP_NUM_THREADS=1 nice -n 10 python tools/tonal_experiment.py \\
        --data emotify:../shared/data/emotify-dev --data 4q:/work/cache/4q-dev \\
        --cache-dir /work/cache/valence --out /tmp/tonal-exp

Needs the causal-stream musicnn outputs cached for every file (a cache miss stops the run, as
nothing is recomputed); ``--out`` receives the song-level tonal features (``tonal_features.npz``,
reused by the next run unless ``--recompute``), ``report.md`` (what is printed) and ``report.json``.

Pre-registration (written 2026-12-06 23:07:58 UTC, before any figure; no amendments)
-------------------------------------------------------------------------------------
Features, per tracker frame k (ends at sample (k+1) * 8000 at 16 kHz), causal:

* audio decoded by ``emotrack.train.cache.decode_audio`` (mono mean), resampled to 16 kHz with
  ``emotrack.model.features.resample`` (soxr HQ);
* STFT n_fft 4096, hop 2048, periodic Hann, no centering, power; chroma per window =
  ``librosa.filters.chroma(sr=16000, n_fft=4096, tuning=0)`` @ power;
* C_k = sum of the chroma of the windows lying wholly inside the last 3 s and inside the audio;
  c = C_k / sum(C_k) (NaN features when there is none);
* rmaj / rmin = max over the 12 rotations of the Pearson correlation of c with the
  Krumhansl-Kessler major / minor profile; mode = rmaj - rmin; clarity = max(rmaj, rmin);
  entropy = -sum(c log c) / log 12;
* song value: nanmean over the frames the musicnn song means use (``counted``), by frame index.

Procedure A: the 15 candidates of ``musicnn_head.candidates()``.  Procedure B: those and the same
15 with inputs ``logits+tonal``, ``penultimate+tonal``, ``pooled+tonal`` (the 5 song means
appended, standardised like every input).  Everything else unchanged (``HeadConfig()``: 5 inner
folds, 5 outer folds x 2 repeats, seeds, alphas, selection).  Figures: the chosen row's held-out
predictions averaged over the repeats; B - A paired bootstrap, 2000 resamples, seed 0.

Decision rule: B earns its place only if B - A of the Emotify valence partial rho is > 0 with its
95 % CI excluding 0, and no other of the 6 figures has a paired loss whose CI excludes 0.
Descriptive only: each feature's own Emotify partial rho and 4Q valence AUC within arousal half,
and the CPU of the incremental per-frame computation.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from functools import lru_cache
from pathlib import Path

import numpy as np

SR = 16000
N_FFT = 4096
HOP = 2048
FRAME = 8000           # the tracker's 500 ms frame at 16 kHz
CONTEXT = 48000        # 3 s
FEATURES = ("rmaj", "rmin", "mode", "clarity", "entropy")
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
VALENCE = "Emotify valence partial rho given arousal"


def experiment_parser(doc: str, required: bool = True) -> argparse.ArgumentParser:
    """The options every head experiment of tools/ shares: --data (repeatable) and --cache-dir."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", required=required, metavar="NAME:PATH",
                    help="a labelled set the head learns from (emotify:PATH, 4q:PATH); repeat for both")
    ap.add_argument("--cache-dir", type=Path, required=required,
                    help="the musicnn output cache (causal stream), as for compare_streams.py")
    return ap


def main() -> int:
    ap = experiment_parser(__doc__)
    ap.add_argument("--out", type=Path, required=True,
                    help="folder for the tonal feature cache (tonal_features.npz) and report.md/.json")
    ap.add_argument("--recompute", action="store_true", help="recompute the tonal features even if cached")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from compare_streams import paired_figures
    from emotrack.train.musicnn_head import HeadConfig

    t0 = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    songs, paths, cache = cached_songs(args.data, args.cache_dir)
    songs.means["tonal"], checks = song_tonal_means(songs.keys, paths, cache, args.out, args.recompute)
    cpu = cpu_per_frame(paths[songs.keys[0]])

    cfg = HeadConfig()
    cv = cross_validate_all(songs, procedures(), cfg)
    lines, facts = report(songs, cv, cfg.n_boot, paired_figures)
    facts.update(checks=checks, cpu=cpu, wall_s=round(time.time() - t0, 1))
    lines += ["", "### Checks", "",
              f"- {len(songs)} songs; head_songs problems: {songs.problems or 'none'}; musicnn cache misses: 0",
              f"- tonal frame count differs from the cached musicnn frame count in {checks['count_differs']} files; "
              f"{checks['counted_frames']} counted frames, {checks['nan_counted_frames']} with NaN features",
              f"- A's 15 candidates fitted inside B give the same predictions as in A: {facts['a_identical_in_b']}",
              f"- CPU, incremental (one 500 ms block a call, one thread, 200 frames x 3): mean "
              f"{', '.join(f'{m:.3f}' for m in cpu['mean_ms'])} ms a frame = "
              f"{100 * 2 * max(cpu['mean_ms']) / 1000:.3f} % of one core at 2 Hz at most; "
              f"max |stream - offline| {cpu['max_abs_diff']:.1e}",
              f"- wall {facts['wall_s']:.0f} s"]
    write_report(args.out, lines, facts)
    return 0


def write_report(out: Path, lines: list[str], facts: dict) -> None:
    """Print the report and write it to ``out``/report.md, its facts to report.json."""
    text = "\n".join(lines)
    print(text)
    (out / "report.md").write_text(text + "\n")
    (out / "report.json").write_text(json.dumps(facts, indent=1, default=str))


def cached_songs(data: list[str], cache_dir: Path, stream: str = "causal"):
    """The labelled songs' MSD song means of ``stream`` (all cached), their audio paths and the cache."""
    from emotrack.train.head_data import head_songs
    from emotrack.train.musicnn_features import MusicnnFeatureCache
    from emotrack.train.readers import load_dataset

    learn = [load_dataset(spec) for spec in data]
    cache = MusicnnFeatureCache(cache_dir, stream=stream, stride=1)
    songs = head_songs(learn, cache)
    if cache.misses:
        raise SystemExit(f"{cache.misses} musicnn outputs not cached: cache them first (not recomputed here)")
    return songs, {s.key: s.audio_path for d in learn for s in d.songs_with_audio()}, cache


def choice_and_coverage_lines(cv: dict, songs_of: dict, z: float, label: str = "procedure") -> list[str]:
    """Report lines: what each cross-validated procedure chose in its outer folds, and the coverage
    of its nominal 80 % intervals on the held-out songs (``songs_of``: procedure -> its songs)."""
    from emotrack.train.head_report import coverage_table

    lines = []
    for p, c in cv.items():
        lines += ["", f"### {p} chose ({len(c.choices)} outer folds)", ""]
        lines += [f"- {c.choices.count(n)} x {n}" for n in dict.fromkeys(c.choices)]
    lines += ["", "### Coverage of nominal 80 % intervals (held-out songs, chosen row, mean of 2 repeats)", "",
              f"| {label} | songs | arousal | valence |", "|---|---|---|---|"]
    for p, songs in songs_of.items():
        c = cv[p]
        table = coverage_table(c.pred["chosen"], c.sd["chosen"], c.labels["chosen"], songs.dataset, z)
        for key, name in (("all", "all"), ("4q", "4Q"), ("emotify", "Emotify")):
            lines.append(f"| {p} | {name} | {100 * table[key]['arousal']:.1f} % | "
                         f"{100 * table[key]['valence']:.1f} % |")
    return lines


def cross_validate_all(songs, procs: dict, cfg) -> dict:
    """The head procedure cross-validated once per named candidate list, with progress on stderr."""
    from emotrack.train.musicnn_head import cross_validate

    cv = {}
    for proc, cands in procs.items():
        print(f"{proc}: cross-validating {len(cands)} candidates on {len(songs)} songs", file=sys.stderr, flush=True)
        cv[proc] = cross_validate(songs, cfg, cands=cands,
                                  progress=lambda s, p=proc: print(f"  {p}: {s}", file=sys.stderr, flush=True))
    return cv


# ---------------------------------------------------------------- the tonal features

def _profile_matrix(profile: np.ndarray) -> np.ndarray:
    """(12, 12): row r = roll(profile, r), centred and scaled to unit norm (a dot product = Pearson r)."""
    rows = np.stack([np.roll(profile, r) for r in range(12)])
    rows = rows - rows.mean(axis=1, keepdims=True)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


PROFILES = np.concatenate([_profile_matrix(MAJOR), _profile_matrix(MINOR)])  # (24, 12)


@lru_cache(maxsize=1)
def chroma_filter() -> np.ndarray:
    """librosa's chroma filterbank (12, N_FFT // 2 + 1), built once."""
    import librosa

    return np.ascontiguousarray(librosa.filters.chroma(sr=SR, n_fft=N_FFT, tuning=0.0), np.float64)


@lru_cache(maxsize=1)
def hann() -> np.ndarray:
    """The periodic Hann window librosa uses."""
    from scipy.signal import get_window

    return get_window("hann", N_FFT, fftbins=True).astype(np.float64)


def window_chroma(windows: np.ndarray) -> np.ndarray:
    """Chroma (m, 12) of m windows of audio (m, N_FFT)."""
    spec = np.fft.rfft(windows * hann(), axis=1)
    return (spec.real ** 2 + spec.imag ** 2) @ chroma_filter().T


def features_from_sum(C: np.ndarray) -> np.ndarray:
    """The 5 features (..., 5) of summed chroma C (..., 12); NaN where the sum is 0."""
    C = np.asarray(C, np.float64)
    tot = C.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(tot > 0, C / np.where(tot > 0, tot, 1.0), np.nan)
        cc = c - c.mean(axis=-1, keepdims=True)
        r = (cc / np.linalg.norm(cc, axis=-1, keepdims=True)) @ PROFILES.T  # (..., 24) Pearson r
        rmaj, rmin = r[..., :12].max(axis=-1), r[..., 12:].max(axis=-1)
        clog = np.where(c > 0, c * np.log(np.where(c > 0, c, 1.0)), 0.0)
        ent = np.where(np.isfinite(c).all(axis=-1), -clog.sum(axis=-1) / np.log(12), np.nan)
    return np.stack([rmaj, rmin, rmaj - rmin, np.maximum(rmaj, rmin), ent], axis=-1)


def n_frames(length: int) -> int:
    """The tracker's frame count for ``length`` samples (a final partial frame if at least half)."""
    return length // FRAME + (1 if length % FRAME >= FRAME // 2 else 0)


def frame_features(x16: np.ndarray) -> np.ndarray:
    """Per-frame features (n_frames, 5) of mono 16 kHz audio, offline (whole signal at once)."""
    x16 = np.asarray(x16, np.float64)
    nwin = max(0, (x16.size - N_FFT) // HOP + 1)
    chroma = np.zeros((0, 12))
    if nwin:
        idx = np.arange(nwin)[:, None] * HOP + np.arange(N_FFT)[None]
        chroma = np.concatenate([window_chroma(x16[idx[i:i + 512]]) for i in range(0, nwin, 512)])
    cum = np.concatenate([np.zeros((1, 12)), np.cumsum(chroma, axis=0)])
    out = np.full((n_frames(x16.size), 5), np.nan)
    for k in range(len(out)):
        end = (k + 1) * FRAME
        lo = -(-max(end - CONTEXT, 0) // HOP)        # first window starting at or after end - 3 s
        hi = min((end - N_FFT) // HOP, nwin - 1)      # last window ending by end, inside the audio
        if hi >= lo:
            out[k] = features_from_sum(cum[hi + 1] - cum[lo])
    return out


class TonalStream:
    """The same features computed live: :meth:`push` one 500 ms block, get that frame's 5 values."""

    def __init__(self) -> None:
        self.buf = np.zeros(0)
        self.buf_start = 0                 # sample index of buf[0]
        self.next_win = 0                  # the next STFT window to compute
        self.wins: deque = deque()         # (start sample, chroma) of the last 3 s
        self.k = 0

    def push(self, block: np.ndarray) -> np.ndarray:
        self.buf = np.concatenate((self.buf, np.asarray(block, np.float64)))
        starts = []
        while self.next_win * HOP + N_FFT <= self.buf_start + self.buf.size:
            starts.append(self.next_win * HOP)
            self.next_win += 1
        if starts:
            off = np.array(starts) - self.buf_start
            self.wins.extend(zip(starts, window_chroma(self.buf[off[:, None] + np.arange(N_FFT)[None]])))
        while self.wins and self.wins[0][0] < (self.k + 1) * FRAME - CONTEXT:
            self.wins.popleft()
        keep = self.next_win * HOP - self.buf_start  # drop the samples no later window needs
        if keep > 0:
            self.buf, self.buf_start = self.buf[keep:], self.buf_start + keep
        self.k += 1
        if not self.wins:
            return np.full(5, np.nan)
        return features_from_sum(np.sum([ch for _, ch in self.wins], axis=0))


def audio_16k(path: Path) -> np.ndarray:
    """A file's audio as the musicnn cache reads it (mono mean), resampled to 16 kHz."""
    from emotrack.model.features import resample
    from emotrack.train.cache import decode_audio

    audio, sr = decode_audio(Path(path))
    x = np.asarray(audio, np.float32)
    return resample(x.mean(axis=1) if x.ndim > 1 else x, sr, SR)


def song_tonal_means(keys: list[str], paths: dict[str, Path], cache, out: Path,
                     recompute: bool) -> tuple[np.ndarray, dict]:
    """Song means (n, 5) of the tonal features over each song's counted musicnn frames, cached in ``out``."""
    from emotrack.train.musicnn_features import counted

    store = out / "tonal_features.npz"
    if store.exists() and not recompute:
        z = np.load(store)
        table = dict(zip(z["keys"].tolist(), z["song"]))
        if all(k in table for k in keys):
            print(f"tonal features: read from {store}", file=sys.stderr)
            checks = json.loads((out / "tonal_features.json").read_text())
            return np.stack([table[k] for k in keys]).astype(np.float64), checks
    chroma_filter(), hann()
    t0 = time.time()
    means = []
    checks = {"count_differs": 0, "index_not_0_to_n": 0, "counted_frames": 0, "nan_counted_frames": 0}
    for i, key in enumerate(keys):
        frames = cache.frames(paths[key])
        feats = frame_features(audio_16k(paths[key]))
        index = frames["index"]
        checks["count_differs"] += int(len(index) != len(feats))
        checks["index_not_0_to_n"] += int(not np.array_equal(index, np.arange(len(index))))
        sel = feats[index[counted(frames) & (index < len(feats))]]
        checks["counted_frames"] += int(sel.shape[0])
        checks["nan_counted_frames"] += int(np.isnan(sel).any(axis=1).sum())
        means.append(np.nanmean(sel, axis=0) if sel.size else np.full(5, np.nan))
        if (i + 1) % 25 == 0 or i + 1 == len(keys):
            el = time.time() - t0
            print(f"tonal features: {i + 1}/{len(keys)} files, {el:.0f} s, ~{el / (i + 1) * (len(keys) - i - 1):.0f} s "
                  "left", file=sys.stderr, flush=True)
    song = np.stack(means)
    bad = [k for k, m in zip(keys, song) if not np.isfinite(m).all()]
    if bad:
        raise SystemExit(f"NaN tonal song means (not imputed, as pre-registered): {bad[:5]}")
    np.savez_compressed(store, keys=np.array(keys), song=song, features=np.array(FEATURES))
    (out / "tonal_features.json").write_text(json.dumps(checks, indent=1))
    return song, checks


def cpu_per_frame(path: Path, n: int = 200, repeats: int = 3) -> dict:
    """Thread CPU of :meth:`TonalStream.push` per 500 ms frame over ``n`` frames of ``path`` (wrapped)."""
    x = audio_16k(path)
    offline = frame_features(x)
    blocks = [x[i * FRAME:(i + 1) * FRAME] for i in range(len(x) // FRAME)]
    mean_ms, err = [], 0.0
    for _ in range(repeats):
        stream, per, outs = TonalStream(), [], []
        for k in range(n):
            t = time.thread_time_ns()
            outs.append(stream.push(blocks[k % len(blocks)]))
            per.append(time.thread_time_ns() - t)
        mean_ms.append(float(np.mean(per)) / 1e6)
        m = min(len(blocks), n)
        err = max(err, float(np.nanmax(np.abs(np.array(outs[:m]) - offline[:m]))))
    return {"file": str(path), "mean_ms": mean_ms, "max_abs_diff": err}


# ---------------------------------------------------------------- procedures A and B, and the report

def procedures() -> dict:
    """Candidates of A (today's 15) and B (those and the same 15 with the tonal block appended)."""
    from emotrack.train import musicnn_head as mh

    cands_a = mh.candidates()  # before INPUT_SETS grows: candidates() iterates over it
    for base in ("logits", "penultimate", "pooled"):
        mh.INPUT_SETS[f"{base}+tonal"] = (base, "tonal")  # read by the unchanged cross_validate
    return {"A": cands_a, "B": cands_a + [mh.Candidate(f"{c.inputs}+tonal", c.training, c.valence) for c in cands_a]}


def report(songs, cv: dict, n_boot: int, paired_figures, *, block: str = "tonal", label: str = "tonal",
           features: tuple[str, ...] = FEATURES) -> tuple[list[str], dict]:
    """The markdown tables (lines) and the same facts as a dict.

    ``block``: the suffix of B's extra candidates (``<inputs>+<block>``, twins without it);
    ``label``: how the tables name it; ``features``: the columns of ``songs.means[block]`` to
    describe one by one (none: no per-feature table)."""
    from compare_streams import paired_cells
    from emotrack.train.quadrant_metrics import pair_matrix, weighted_auc
    from emotrack.train.song_metrics import partial_spearman

    mean = {p: np.nanmean(c.pred["chosen"], axis=0) for p, c in cv.items()}
    main = paired_figures(songs, mean["B"], mean["A"], n_boot=n_boot)  # its "causal" = B, "patch" = A
    gain = main[VALENCE]["diff"] > 0 and main[VALENCE]["low"] > 0
    losses = [n for n, r in main.items() if n != VALENCE and r["high"] < 0]
    facts = {"paired_B_minus_A": main, "valence_gain_ci_excludes_0": gain, "significant_losses": losses,
             "earns_its_place": gain and not losses,
             "a_identical_in_b": all(np.allclose(cv["A"].pred[c], cv["B"].pred[c], equal_nan=True)
                                     for c in cv["A"].pred if c != "chosen")}
    lines = [f"## A vs B (held-out, chosen row, mean of 2 repeats); B - A paired bootstrap, {n_boot} resamples", "",
             "| figure | A | B | B - A [95 % CI, paired] |", "|---|---|---|---|"]
    lines += [f"| {n} | {paired_cells(r)} |" for n, r in main.items()]
    lines += ["", f"Decision rule: valence partial gain with CI > 0: {gain}; figures with a paired loss whose CI "
              f"excludes 0: {', '.join(losses) or 'none'} -> B earns its place: {facts['earns_its_place']}"]
    for p, c in cv.items():
        lines += ["", f"### {p} chose ({len(c.choices)} outer folds)", ""]
        lines += [f"- {c.choices.count(n)} x {n}" for n in dict.fromkeys(c.choices)]

    e, q = songs.dataset == "emotify", songs.dataset == "4q"
    per_rep = [[partial_spearman(cv[p].pred["chosen"][r][e, 1], songs.y[e, 1], songs.given[e]) for p in cv]
               for r in range(len(cv["A"].pred["chosen"]))]
    facts["per_repeat_valence_partial"] = per_rep
    lines += ["", "### Emotify valence partial of the chosen row, each outer repeat alone (not pre-registered)", "",
              "| repeat | A | B |", "|---|---|---|"]
    lines += [f"| {r + 1} | {a:.3f} | {b:.3f} |" for r, (a, b) in enumerate(per_rep)]

    keys = {"Emotify valence partial": VALENCE, "4Q valence AUC within arousal": "4Q valence AUC within arousal half"}
    lines += ["", f"### Each {label} candidate against its twin (same candidate without {label}, same run; "
              "point values)",
              "", "| candidate | " + " | ".join(f"{k} | twin" for k in keys)
              + " | 4Q valence AUC within genre | Emotify arousal rho | 4Q arousal AUC |", "|---" * 8 + "|"]
    facts["per_candidate"] = {}
    for name in cv["B"].pred:
        if f"+{block}" not in name:
            continue
        f = paired_figures(songs, np.nanmean(cv["B"].pred[name], axis=0),
                           np.nanmean(cv["B"].pred[name.replace(f"+{block}", "")], axis=0), n_boot=250)
        facts["per_candidate"][name] = {k: {block: r["causal"], "twin": r["patch"]} for k, r in f.items()}
        cells = [f"{f[k]['causal']:.3f} | {f[k]['patch']:.3f}" for k in keys.values()]
        cells += [f"{f[k]['causal']:.3f}"
                  for k in ("4Q valence AUC within genre", "Emotify arousal rho", "4Q arousal AUC")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    if not features:
        return lines, facts
    t, a4, v4 = songs.means[block], songs.y[q, 0] > 0, songs.y[q, 1] > 0
    lines += ["", f"### Each song-level {label} feature alone (descriptive)", "",
              f"| feature | Emotify partial rho with valence_fa given arousal_proxy (n={e.sum()}) | "
              f"4Q valence AUC within arousal half (n={q.sum()}) |", "|---|---|---|"]
    facts["per_feature"] = {}
    for j, name in enumerate(features):
        pr = partial_spearman(t[e, j], songs.y[e, 1], songs.given[e])
        auc = float(weighted_auc(*pair_matrix(t[q, j], v4, a4), np.ones((1, int(q.sum()))))[0])
        facts["per_feature"][name] = {"emotify_partial": pr, "4q_auc_within_arousal": auc}
        lines.append(f"| {name} | {pr:+.3f} | {auc:.3f} |")
    return lines, facts


if __name__ == "__main__":
    sys.exit(main())
