"""Benchmark: how the default tracker follows the music inside a piece, and the choice of its
temporal stage (issue 19).

What it measures (definitions in ``emotrack.train.steps`` and ``emotrack.train.tracking``):

* **medleys** of dev pieces of different quadrants, 25 s of each, joined by hard cuts and
  by 2 s linear crossfades: the time from a change to 90 % of the way between the two
  pieces' own means (each piece analysed alone), the 10 -> 90 % rise, the overshoot, the
  error of each segment's settled mean against the same audio analysed alone, and the
  jitter of the pieces analysed alone; causal and centered; on the display plane.
  - 4Q dev clips (the 450 listed in /work/shared/data/4q-dev/labels.csv, audio under
    /work/data/4q; only clips with ``p_quadrant >= 0.75``): three orders of the four
    quadrants (Q4 Q1 Q2 Q3, Q3 Q2 Q1 Q4, Q1 Q3 Q4 Q2: calm -> energetic, pleasant ->
    unpleasant and the diagonals), clips drawn with a seeded generator, 25 s from 2.5 s;
  - Emotify dev tracks (quadrant = above/below the median of ``arousal_proxy`` and of
    ``valence_proxy``): two orders (Q4 Q1 Q2 Q3, Q1 Q3 Q4 Q2), 25 s from 10 s;
  each order once with cuts and once with crossfades (10 medleys, 40 segments, 20 pieces).
* **the 10 emoMusic clips** (2 Hz human curves): mean within-song Pearson r at zero lag and
  at the best lag (0-5 s), RMSE with the calibration refitted without each clip (the head's
  calibration line was fitted on these clips), beside the RMSE of each song's own mean.

``--candidates`` evaluates the fixed candidate list below and applies the selection rule,
both written before any candidate was scored:

* causal: ``context_s`` in {0.5, 1.5, 3.0} x ``tau_s`` in {0, 0.5, 1, 2} (12);
  centered: ``centered_span`` in {6, 10, 16} frames (3, 5, 8 s) x ``centered_tau_s`` in
  {0, 1, 2} (9); with the causal choice fixed;
* rule (each mode): among candidates whose median time to 90 % over the timed medley steps
  (not reached = infinite) is at most 3.0 s, the highest mean within-song r on the clips
  (mean of arousal and valence, zero lag); ties: the lower jitter.  Its clip figure is
  **nested leave-one-clip-out**: for each clip the rule is applied on the other 9 and
  the chosen candidate is scored on the held-out clip.  The choice printed last (on all
  10) is what ``emotrack.model.musicnn_tracker.TEMPORAL`` ships.

musicnn runs once per audio (the temporal stage bypassed: raw head outputs, cached by head
file and audio under ``--cache``); every candidate is then the stage's own functions
(``causal_values``/``centered_values``) on those outputs.  A check at the start runs the
shipped tracker itself on one medley, causal and centered, and compares.

Run::

    nice -n 10 .venv/bin/python tests/bench/bench_steps.py [--candidates] [--checkpoint HEAD] [--json out.json]
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")

CAUSAL = [(c, t) for c in (0.5, 1.5, 3.0) for t in (0.0, 0.5, 1.0, 2.0)]
CENTERED = [(s, t) for s in (6, 10, 16) for t in (0.0, 1.0, 2.0)]
BUDGET_S = 3.0
ORDERS_4Q = (("Q4", "Q1", "Q2", "Q3"), ("Q3", "Q2", "Q1", "Q4"), ("Q1", "Q3", "Q4", "Q2"))
ORDERS_EMOTIFY = (("Q4", "Q1", "Q2", "Q3"), ("Q1", "Q3", "Q4", "Q2"))
SEGMENT_S = 25.0
CROSSFADE_S = 2.0


def load_mono16k(path: Path) -> np.ndarray:
    """A whole file as mono float32 at 16 kHz (soxr, as the tracker's own front end resamples)."""
    import soxr

    from emotrack.model.audio_io import BlockReader

    reader = BlockReader(path)
    x = np.concatenate([b.mean(axis=1) if b.ndim == 2 else b for b in reader]).astype(np.float32)
    sr = reader.info.sample_rate
    return x if sr == 16000 else soxr.resample(x, sr, 16000).astype(np.float32)


def pick_pieces(fourq: Path, emotify: Path, seed: int = 0) -> tuple[dict[str, Path], list[tuple[str, list[str]]]]:
    """The pieces (id -> file) and the medley orders (name, piece ids)."""
    rng = np.random.default_rng(seed)
    files: dict[str, Path] = {}
    medleys: list[tuple[str, list[str]]] = []
    labels = SHARED / "4q-dev" / "labels.csv"
    if labels.is_file() and fourq.is_dir():
        rows = [r for r in csv.DictReader(open(labels)) if float(r["p_quadrant"]) >= 0.75
                and (fourq / r["path"]).is_file()]
        by_q = {q: sorted((r for r in rows if r["quadrant"] == q), key=lambda r: r["song_id"])
                for q in ("Q1", "Q2", "Q3", "Q4")}
        medleys += draw_medleys(rng, by_q, ORDERS_4Q, "4q", lambda r: r["song_id"],
                                lambda r: fourq / r["path"], files)
    else:
        print(f"4Q audio not found under {fourq}: 4Q medleys skipped", file=sys.stderr)
    labels = emotify / "labels.csv"
    if labels.is_file():
        rows = list(csv.DictReader(open(labels)))
        am = np.median([float(r["arousal_proxy"]) for r in rows])
        vm = np.median([float(r["valence_proxy"]) for r in rows])
        quad = lambda r: ("Q1" if float(r["valence_proxy"]) > vm else "Q2") if float(r["arousal_proxy"]) > am \
            else ("Q4" if float(r["valence_proxy"]) > vm else "Q3")  # noqa: E731
        by_q = {q: sorted((r for r in rows if quad(r) == q and (emotify / r["file"]).is_file()),
                          key=lambda r: int(r["track_id"])) for q in ("Q1", "Q2", "Q3", "Q4")}
        medleys += draw_medleys(rng, by_q, ORDERS_EMOTIFY, "emotify", lambda r: r["track_id"],
                                lambda r: emotify / r["file"], files)
    else:
        print(f"Emotify dev not found under {emotify}: Emotify medleys skipped", file=sys.stderr)
    return files, medleys


def draw_medleys(rng, by_q: dict, orders, name: str, song_id, path, files: dict) -> list:
    """One medley per quadrant order of ``name``'s pieces: for each quadrant a piece drawn with
    ``rng`` from ``by_q`` among those not used yet; ``files`` gets each piece's path."""
    used: set[str] = set()
    medleys = []
    for i, order in enumerate(orders):
        ids = []
        for q in order:
            pool = [r for r in by_q[q] if song_id(r) not in used]
            r = pool[int(rng.integers(len(pool)))]
            used.add(song_id(r))
            files[f"{name}:{song_id(r)}"] = path(r)
            ids.append(f"{name}:{song_id(r)}")
        medleys.append((f"{name}-{i + 1} " + "-".join(order), ids))
    return medleys


def offset_of(piece: str) -> float:
    return 2.5 if piece.startswith("4q:") else 10.0


class Raw:
    """Raw (bypassed temporal stage) causal outputs of the shipped tracker (or of the head at
    ``head_path``), cached on disk by head file."""

    def __init__(self, cache: Path, head_path: Path | None = None) -> None:
        from emotrack.model.musicnn_tracker import MusicnnTracker, default_head_path

        self.tracker = MusicnnTracker(head_path=head_path)
        head = Path(self.tracker.head_path or default_head_path())
        self.tag = hashlib.sha256(head.read_bytes()).hexdigest()[:16]
        self.cache = cache / self.tag
        self.cache.mkdir(parents=True, exist_ok=True)
        self.seconds = 0.0

    def outputs(self, name: str, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values (n, 2), warming_up (n,)) of the raw causal outputs."""
        key = hashlib.sha256(np.ascontiguousarray(audio).tobytes()).hexdigest()[:16]
        f = self.cache / f"{key}.npz"
        if f.is_file():
            z = np.load(f)
            return z["values"], z["warming_up"]
        t0 = time.perf_counter()
        with self.tracker.temporal.bypassed():
            fr = self.tracker.analyze([audio], 16000, mode="causal")
        self.seconds += time.perf_counter() - t0
        np.savez(f, values=fr.values, warming_up=fr.warming_up)
        return fr.values, fr.warming_up


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fourq", type=Path, default=Path("/work/data/4q"))
    ap.add_argument("--emotify", type=Path, default=SHARED / "emotify-dev")
    ap.add_argument("--mini", type=Path, default=SHARED / "emomusic-mini")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                    / "emotrack" / "bench_steps")
    ap.add_argument("--candidates", action="store_true", help="evaluate the candidate list and choose")
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="a musicnn head file to measure instead of the shipped one (its own stream)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from emotrack.model.musicnn_tracker import TEMPORAL
    from emotrack.model.scale import plane_of
    from emotrack.model.temporal import TemporalConfig, causal_values, centered_values
    from emotrack.train.readers.emomusic import read_emomusic
    from emotrack.train.steps import (Segment, build_medley, excerpt_frames, jitter, segment_errors,
                                      step_response)
    from emotrack.train.tracking import TrackingConfig, loco_recalibrate, song_tracking, summarise

    raw = Raw(args.cache, args.checkpoint)
    tr = raw.tracker
    warm, own, lag = tr.warmup_frames, tr.centered_span, tr.centered_lag
    files, orders = pick_pieces(args.fourq, args.emotify)
    t0 = time.perf_counter()
    audio = {p: load_mono16k(f) for p, f in files.items()}
    medleys = []
    for name, ids in orders:
        segs = [Segment(p, offset_of(p), SEGMENT_S) for p in ids]
        for fade in (0.0, CROSSFADE_S):
            medleys.append((f"{name} {'crossfade' if fade else 'cut'}", build_medley(audio, segs, crossfade_s=fade)))
    alone = {p: raw.outputs(p, a) for p, a in audio.items()}
    med_raw = {n: raw.outputs(n, m.audio) for n, m in medleys}
    mini = read_emomusic(args.mini)
    clips = [it for it in mini.with_audio()]
    clip_raw = {it.key: raw.outputs(it.key, load_mono16k(it.audio_path))[0] for it in clips}
    print(f"{len(files)} pieces, {len(medleys)} medleys, {len(clips)} clips; musicnn "
          f"{raw.seconds:.0f} s (0 when cached), all inputs {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    # the bench's stage functions are the shipped tracker's: check on one medley
    name, m = medleys[1] if len(medleys) > 1 else medleys[0]
    for mode in ("causal", "centered"):
        got = tr.analyze([m.audio], 16000, mode=mode).values
        v = med_raw[name][0]
        want = causal_values(v, TEMPORAL, warm) if mode == "causal" else centered_values(v, TEMPORAL, own, warm, lag)[0]
        err = float(np.nanmax(np.abs(got - want)))
        print(f"check: tracker.analyze({mode}) vs the stage on raw outputs: max |diff| {err:.2e}", file=sys.stderr)
        if err > 1e-4:
            raise SystemExit("the bench does not measure the shipped code path")

    def apply(cfg: TemporalConfig, mode: str, values: np.ndarray) -> np.ndarray:
        return causal_values(values, cfg, warm) if mode == "causal" else centered_values(values, cfg, own, warm, lag)[0]

    def medley_figures(cfg: TemporalConfig, mode: str) -> dict:
        alone_plane = {p: plane_of(apply(cfg, mode, v), tr.scale) for p, (v, w) in alone.items()}
        means = {p: np.nanmean(pl[excerpt_frames(Segment(p, offset_of(p), SEGMENT_S))], axis=0)
                 for p, pl in alone_plane.items()}
        steps, errors = [], []
        for n, m in medleys:
            pl = plane_of(apply(cfg, mode, med_raw[n][0]), tr.scale)
            for i, ch in enumerate(m.changes_s):
                a, b = means[m.segments[i].piece], means[m.segments[i + 1].piece]
                nxt = m.changes_s[i + 1] if i + 1 < len(m.changes_s) else len(pl) * 0.5
                lo = ch if mode == "causal" else m.changes_s[i - 1] if i else 0.0
                s = step_response(pl, ch, a, b, search_from_s=lo, until_s=nxt, medley=n, index=i)
                if s is not None:
                    steps.append((s, m.crossfade_s > 0))
            errors += segment_errors(pl, m, alone_plane)
        jit = [jitter(alone_plane[p], w) for p, (v, w) in alone.items()]
        t90 = np.array([s.to_90_s for s, _ in steps])
        return {"steps": len(steps), "reached": int(np.isfinite(t90).sum()),
                "t90_median": float(np.median(np.where(np.isfinite(t90), t90, np.inf))) if len(t90) else math.nan,
                "t90_cut": _med([s.to_90_s for s, x in steps if not x]),
                "t90_crossfade": _med([s.to_90_s for s, x in steps if x]),
                "within_budget": f"{int(np.sum(t90 <= BUDGET_S))}/{len(t90)}",
                "t90_max": float(np.max(np.where(np.isfinite(t90), t90, np.inf))) if len(t90) else math.nan,
                "rise_median": _med([s.rise_s for s, _ in steps]),
                "overshoot_median_pct": _med([s.overshoot_pct for s, _ in steps]),
                "segment_error_median": float(np.median(errors)), "segment_error_max": float(np.max(errors)),
                "segments_within_0.1": f"{int(np.sum(np.array(errors) <= 0.1))}/{len(errors)}",
                "jitter_median": float(np.median(jit)),
                "step_sizes": [round(s.step, 2) for s, _ in steps]}

    cfg_tracking = TrackingConfig()
    items = {it.key: it for it in clips}

    def clip_figures(cfg: TemporalConfig, mode: str) -> tuple:
        preds = {k: apply(cfg, mode, v).astype(np.float64) for k, v in clip_raw.items()}
        loco = loco_recalibrate(preds, items, list(preds))
        per = [song_tracking(k, loco[k], items[k].targets(), items[k].first_frame, cfg_tracking.lags) for k in preds]
        return per, summarise(f"{mode}", per, cfg_tracking)

    def report(cfg: TemporalConfig, label: str) -> dict:
        out = {"config": cfg.to_dict()}
        for mode in ("causal", "centered"):
            mf = medley_figures(cfg, mode)
            _, summ = clip_figures(cfg, mode)
            out[mode] = {"medleys": mf, "clips": summ.to_dict()}
            print(f"\n## {label}: {mode} ({cfg.label()})")
            print(f"medleys: {mf['steps']} timed steps (|B - A| >= 0.3 of {sum(len(m.changes_s) for _, m in medleys)}), "
                  f"{mf['reached']} reach 90 %; time to 90 %: median {mf['t90_median']:.1f} s (cuts "
                  f"{mf['t90_cut']:.1f}, crossfades {mf['t90_crossfade']:.1f}), max {mf['t90_max']:.1f} s, "
                  f"within {BUDGET_S:g} s: {mf['within_budget']}; "
                  f"rise 10->90 % median {mf['rise_median']:.1f} s; overshoot median {mf['overshoot_median_pct']:.0f} %; "
                  f"segment-mean error median {mf['segment_error_median']:.3f}, max {mf['segment_error_max']:.3f}, "
                  f"within 0.1: {mf['segments_within_0.1']}; jitter (alone) median {mf['jitter_median']:.3f}")
            from emotrack.train.tracking import tracking_markdown

            print(tracking_markdown(summ).split("\n\n| song")[0])
        return out

    result = {"shipped": report(TEMPORAL, "shipped")}
    if args.candidates:
        result["candidates"] = choose(TEMPORAL, apply, medley_figures, clip_figures, report, clips)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=float))
    return 0


def _med(v) -> float:
    v = np.asarray(v, np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if len(v) else math.nan


def choose(shipped, apply, medley_figures, clip_figures, report, clips) -> dict:
    """The candidate list, the rule and its nested leave-one-clip-out figure (module docstring)."""
    from emotrack.model.temporal import TemporalConfig

    out = {}
    causal_pick = None
    for mode in ("causal", "centered"):
        if mode == "causal":
            cands = [TemporalConfig(context_s=c, tau_s=t) for c, t in CAUSAL]
        else:
            cands = [replace(causal_pick, centered_span=s, centered_tau_s=t) for s, t in CENTERED]
        rows = []
        for cfg in cands:
            mf = medley_figures(cfg, mode)
            per, summ = clip_figures(cfg, mode)
            r = np.array([[s.r[0, 0], s.r[0, 1]] for s in per])  # (clips, 2), zero lag
            rows.append((cfg, mf, r, summ))
            print(f"{mode:8s} {cfg.label():50s} t90 med {mf['t90_median']:5.1f} s  jitter {mf['jitter_median']:.3f}  "
                  f"seg err {mf['segment_error_median']:.3f}  r a {np.nanmean(r[:, 0]):+.3f} v {np.nanmean(r[:, 1]):+.3f}  "
                  f"(best lag a {summ.best_lag_s['arousal']:.1f} s {summ.means['arousal']['r_best_lag'].value:+.3f}, "
                  f"v {summ.best_lag_s['valence']:.1f} s {summ.means['valence']['r_best_lag'].value:+.3f})",
                  file=sys.stderr)
        ok = [i for i, (_, mf, _, _) in enumerate(rows) if mf["t90_median"] <= BUDGET_S]
        if not ok:
            print(f"{mode}: no candidate meets the {BUDGET_S} s budget; choosing among all", file=sys.stderr)
            ok = list(range(len(rows)))

        def pick(mask: np.ndarray) -> int:
            score = [(np.nanmean(np.nanmean(rows[i][2][mask], axis=0)), -rows[i][1]["jitter_median"], -i) for i in ok]
            return ok[int(np.argmax([s[0] for s in score]))] if not all(math.isnan(s[0]) for s in score) else ok[0]

        n = len(clips)
        held = np.full((n, 2), np.nan)
        chosen_per_fold = []
        for c in range(n):
            mask = np.arange(n) != c
            j = pick(mask)
            chosen_per_fold.append(rows[j][0].label())
            held[c] = rows[j][2][c]
        j = pick(np.ones(n, bool))
        if mode == "causal":
            causal_pick = rows[j][0]
        out[mode] = {"chosen": rows[j][0].to_dict(), "chosen_label": rows[j][0].label(),
                     "nested_loco_mean_r": {"arousal": float(np.nanmean(held[:, 0])),
                                            "valence": float(np.nanmean(held[:, 1]))},
                     "chosen_per_fold": chosen_per_fold,
                     "table": [{"config": cfg.to_dict(), "medleys": mf,
                                "mean_r": [float(np.nanmean(r[:, 0])), float(np.nanmean(r[:, 1]))],
                                "best_lag_s": summ.best_lag_s,
                                "r_best_lag": [summ.means[d]["r_best_lag"].value for d in ("arousal", "valence")]}
                               for cfg, mf, r, summ in rows]}
        print(f"\n{mode}: chosen {rows[j][0].label()}; nested leave-one-clip-out mean within-song r: arousal "
              f"{np.nanmean(held[:, 0]):+.3f}, valence {np.nanmean(held[:, 1]):+.3f} (fold choices: "
              f"{sorted(set(chosen_per_fold))})")
    final = replace(causal_pick, centered_span=out["centered"]["chosen"]["centered_span"],
                    centered_tau_s=out["centered"]["chosen"]["centered_tau_s"])
    print(f"\nchosen: TemporalConfig({', '.join(f'{k}={v!r}' for k, v in final.to_dict().items())})"
          f"{'  (= shipped)' if final == shipped else '  (shipped: ' + shipped.label() + ')'}")
    out["final"] = final.to_dict()
    out["final_report"] = report(final, "chosen")
    return out


if __name__ == "__main__":
    sys.exit(main())
