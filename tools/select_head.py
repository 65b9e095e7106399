#!/usr/bin/env python3
"""Choose the musicnn tracker's output head on Emotify dev and the 10 emoMusic clips (issue 12).

Two steps:

``features``
    For the 200 emotify-dev tracks and the 10 emoMusic mini clips, compute once
    and cache (outside the repository, keyed by the file's SHA-256) every
    per-frame musicnn layer a head can read (dense, penultimate, logits, pooled;
    :data:`emotrack.model.musicnn_tracker.INPUTS`), the frame levels (RMS dBFS of each
    500 ms frame at 16 kHz) and the current default rnn's causal predictions.
    About 8 s of CPU per audio minute: run it with ``nice -n 10``.

``evaluate``
    Evaluate the head candidates fixed below (:data:`INPUT_SETS`,
    :data:`AROUSAL_TARGETS`, :data:`VALENCE_TARGETS`) beside the references
    (constant, loudness alone, the current rnn, the shipped 10-clip head) and print
    the table.  Heads that learn from Emotify are scored there only by repeated
    k-fold cross-validation by track (folds stratified by genre, alpha chosen inside
    each training fold).  ``--write-head NAME`` fits the named candidate on all
    200 tracks and writes assets/teacher/musicnn_va_head_issue12.safetensors (the issue-12
    head, now a reference; the shipped head is made by ``emotrack train --model musicnn``).

    nice -n 10 .venv/bin/python tools/select_head.py features
    nice -n 10 .venv/bin/python tools/select_head.py evaluate --json /work/cache/emotify/select.json
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
EMOTIFY = SHARED / "emotify-dev"
MINI = SHARED / "emomusic-mini"
CACHE = Path("/work/cache/emotify")
CACHE_VERSION = "v1"  # bump when what is cached changes


# --------------------------------------------------------------------------- features
def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:24]


def cached_features(path: Path, cache: Path) -> dict[str, np.ndarray]:
    """Head inputs, frame levels and rnn predictions of one audio file (computed once).

    The cache of the figures in assets/MODEL_CARD.md was written by the pre-tracker code
    (musicnn run through the old teacher's patch code); the musicnn tracker gives the same
    numbers within 2e-5 (checked on two files) and the same frame levels.
    """
    out = cache / f"{CACHE_VERSION}-{file_sha(path)}.npz"
    if not out.is_file():
        import soundfile as sf

        from emotrack.model.musicnn_tracker import INPUTS, frame_outputs

        audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
        musicnn, rnn = _trackers()
        layers = frame_outputs(audio, sr, tuple(INPUTS), tracker=musicnn)
        musicnn.reset(sr)  # stage 1 alone gives the frame levels
        batches = [musicnn.features.push(audio), musicnn.features.flush()]
        layers["level_db"] = np.concatenate([b.level_db for b in batches])
        layers["rnn"] = rnn.analyze([audio], sr, mode="causal").values
        if not len(layers["rnn"]) == len(layers["level_db"]) == len(layers["dense"]):
            raise RuntimeError(f"{path}: frame counts differ: rnn {len(layers['rnn'])}, musicnn "
                               f"{len(layers['dense'])}, levels {len(layers['level_db'])}")
        tmp = out.with_name(out.stem + ".tmp.npz")
        np.savez(tmp, source=str(path), **layers)
        os.replace(tmp, out)
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


_TRACKERS: list = []


def _trackers():
    """The musicnn tracker (outputs are read, its head is unused) and the rnn tracker, on CPU."""
    if not _TRACKERS:
        from emotrack.model.trackers import load_tracker

        _TRACKERS.extend((load_tracker("musicnn", device="cpu"), load_tracker("rnn", device="cpu")))
    return _TRACKERS


def head_input(layers: dict[str, np.ndarray], inputs) -> np.ndarray:
    """The named musicnn outputs concatenated in order: (n_frames, sum of sizes), float64."""
    return np.concatenate([np.asarray(layers[name], np.float64) for name in inputs], axis=1)


def audio_files(emotify: Path, mini: Path) -> list[Path]:
    """Every file the evaluation needs: Emotify dev tracks, then the emoMusic mini clips."""
    tracks = sorted((emotify / "audio").glob("*/*.opus"))
    clips = sorted((mini / "clips_45seconds").glob("*.mp3"), key=lambda p: int(p.stem))
    return tracks + clips


def features_command(args: argparse.Namespace) -> int:
    args.cache.mkdir(parents=True, exist_ok=True)
    files = audio_files(args.emotify, args.mini)
    t0 = time.process_time()
    for i, path in enumerate(files, 1):
        cached_features(path, args.cache)
        print(f"[{i}/{len(files)}] {path.relative_to(path.parents[2])} "
              f"(CPU {time.process_time() - t0:.0f} s)", flush=True)
    return 0


# --------------------------------------------------------------------------- the candidates
# Fixed before any figure was seen (see assets/MODEL_CARD.md, "Choosing the default head on
# Emotify"): five input sets, two arousal targets, three valence targets, one calibration.
INPUT_SETS: dict[str, tuple[str, ...]] = {
    "logits": ("logits",),
    "dense": ("dense",),
    "penultimate": ("penultimate",),
    "dense+logits": ("dense", "logits"),
    "pooled": ("pooled",),
}
AROUSAL_TARGETS = ("arousal_proxy", "arousal_fa")
VALENCE_TARGETS = ("valence_fa", "valence_proxy", "valence_fa_resid")
"""``valence_fa_resid``: valence_fa minus its least-squares line on arousal_proxy (fitted on the
training tracks of each fold): valence that is not arousal."""
TARGETS = (*AROUSAL_TARGETS, *VALENCE_TARGETS)
AXIS_OF = {t: 0 if t in AROUSAL_TARGETS else 1 for t in TARGETS}
N_FOLDS, N_REPEATS, INNER_FOLDS = 5, 5, 5
FIRST_LABEL, N_LABELS = 30, 60  # emoMusic sample_15000ms = frame 30; 60 labels per clip


class Data:
    """Everything the evaluation reads, from the feature cache and the label files."""

    def __init__(self, emotify: Path, mini: Path, cache: Path) -> None:
        from emotrack.train.emotify import counted_frames
        from emotrack.train.readers import load_dataset

        sys.path.insert(0, str(REPO / "tools"))
        from evaluate_teacher import read_labels

        ds = load_dataset(f"emotify:{emotify}")
        if ds.missing_audio:
            raise SystemExit(f"emotify tracks without audio: {ds.missing_audio}")
        self.songs = ds.songs
        self.ids = [s.song_id for s in self.songs]
        self.genres = np.array([s.genre for s in self.songs])
        self.labels = {k: np.array([s.labels[k] for s in self.songs]) for k in ds.label_names}
        self.tracks = [cached_features(s.audio_path, cache) for s in self.songs]
        self.counted = [counted_frames(t["level_db"]) for t in self.tracks]
        clip_labels = read_labels(mini)
        self.clip_ids = list(clip_labels)
        frames = np.arange(FIRST_LABEL, FIRST_LABEL + N_LABELS)
        clips = [cached_features(mini / "clips_45seconds" / f"{sid}.mp3", cache) for sid in self.clip_ids]
        self.clip_frames = [{k: v[frames] for k, v in c.items() if v.ndim >= 1 and len(v) == len(c["dense"])}
                            for c in clips]
        self.clip_levels = [c["level_db"] for c in clips]
        self.clip_y = np.concatenate([clip_labels[sid] for sid in self.clip_ids])
        self.clip_groups = np.repeat(np.arange(len(self.clip_ids)), N_LABELS)

    def song_x(self, inputs) -> np.ndarray:
        """Song-mean head input of every track (counted frames only): (200, d)."""
        return np.stack([head_input(t, inputs)[m].mean(axis=0) for t, m in zip(self.tracks, self.counted)])

    def frame_x(self, inputs, idx) -> list[np.ndarray]:
        """Head input of the counted frames of tracks ``idx``."""
        return [head_input(self.tracks[i], inputs)[self.counted[i]] for i in idx]

    def clip_x(self, inputs) -> np.ndarray:
        return np.concatenate([head_input(c, inputs) for c in self.clip_frames])


def stratified_folds(genres: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold index of every track: each genre's tracks shuffled and dealt round-robin into k folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(genres), int)
    for g in np.unique(genres):
        members = rng.permutation(np.flatnonzero(genres == g))
        fold[members] = np.arange(members.size) % k
    return fold


def targets_for(labels: dict[str, np.ndarray], train: np.ndarray) -> np.ndarray:
    """Training targets (n_train, len(TARGETS)); the residual target is fitted on ``train`` only."""
    a, v = labels["arousal_proxy"][train], labels["valence_fa"][train]
    slope, icpt = np.polyfit(a, v, 1)
    cols = {t: labels[t][train] for t in TARGETS if t in labels}
    cols["valence_fa_resid"] = v - (slope * a + icpt)
    return np.stack([cols[t] for t in TARGETS], axis=1)


def choose_alpha(x: np.ndarray, y: np.ndarray, genres: np.ndarray, seed: int) -> np.ndarray:
    """Alpha per target column by inner k-fold CV over tracks (genre-stratified), one-SE rule.

    The largest alpha whose inner-CV MSE is within one standard error (over tracks) of the
    smallest: the strongest regularisation the data cannot tell from the best.
    """
    from emotrack.model.ridge import DEFAULT_ALPHAS, loco_predictions

    groups = stratified_folds(genres, INNER_FOLDS, seed)
    alphas = np.asarray(DEFAULT_ALPHAS)
    sq = (loco_predictions(x, y, groups, alphas) - y[None]) ** 2  # (A, n, k)
    mse = sq.mean(axis=1)
    best = mse.argmin(axis=0)
    cols = np.arange(y.shape[1])
    se = sq[best, :, cols].std(axis=1) / np.sqrt(len(y))  # (k,)
    ok = mse <= (mse[best, cols] + se)[None]
    return np.array([alphas[np.flatnonzero(ok[:, j]).max()] for j in cols])


def calibration(raw: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares (slope, intercept) per column mapping raw head outputs onto labels y."""
    return np.array([np.polyfit(raw[:, j], y[:, j], 1) for j in range(raw.shape[1])])


def apply_cal(raw: np.ndarray, cal: np.ndarray) -> np.ndarray:
    """Calibrated, clipped outputs: ``clip(slope * raw + intercept, -1, 1)`` per column."""
    return np.clip(raw * cal[:, 0] + cal[:, 1], -1.0, 1.0)


def bake(coef: np.ndarray, intercept: np.ndarray, cal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ridge weights with the (linear) calibration folded in: the head then outputs the calibrated value."""
    return coef * cal[:, 0], intercept * cal[:, 0] + cal[:, 1]


def emotify_cv(data: Data, inputs) -> dict:
    """Out-of-fold song predictions of the uncalibrated head, for every target.

    The Emotify figures rank the head's own output (linear, so the song mean of the frame
    outputs is the output of the song-mean input).  The calibration onto the 10 clips is a
    line per axis; it keeps these ranks when its slope is positive and only then (the table
    shows the slope of the head fitted on all tracks).  Its per-fold slopes are kept to
    show how stable it is.

    Returns dict with ``pred`` (n_repeats, 200, len(TARGETS)), ``alpha`` (list per fold),
    ``slope`` (calibration slopes per fold).
    """
    from emotrack.model.ridge import ridge_fit

    xs = data.song_x(inputs)
    xc = data.clip_x(inputs)
    yc = data.clip_y[:, [AXIS_OF[t] for t in TARGETS]]
    pred = np.full((N_REPEATS, len(xs), len(TARGETS)), np.nan)
    alphas, slopes = [], []
    for rep in range(N_REPEATS):
        folds = stratified_folds(data.genres, N_FOLDS, seed=rep)
        for f in range(N_FOLDS):
            tr, te = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
            y = targets_for(data.labels, tr)
            alpha = choose_alpha(xs[tr], y, data.genres[tr], seed=1000 + 10 * rep + f)
            mean, std, coef, icpt = ridge_fit(xs[tr], y, alpha)
            cal = calibration((xc - mean) / std @ coef + icpt, yc)
            for i, xf in zip(te, data.frame_x(inputs, te)):
                pred[rep, i] = ((xf - mean) / std @ coef + icpt).mean(axis=0)
            alphas.append(alpha.tolist())
            slopes.append(cal[:, 0].tolist())
    return {"pred": pred, "alpha": alphas, "slope": slopes}


def full_fit(data: Data, inputs) -> dict:
    """Head fitted on all 200 tracks (alpha by inner CV), its calibration on all 10 clips, and
    its leave-one-clip-out figures (calibration refitted on 9 clips, the head untouched)."""
    from emotrack.model.ridge import ridge_fit

    xs = data.song_x(inputs)
    y = targets_for(data.labels, np.arange(len(xs)))
    alpha = choose_alpha(xs, y, data.genres, seed=999)
    mean, std, coef, icpt = ridge_fit(xs, y, alpha)
    raw = (data.clip_x(inputs) - mean) / std @ coef + icpt
    yc = data.clip_y[:, [AXIS_OF[t] for t in TARGETS]]
    loco = np.zeros_like(raw)
    for g in np.unique(data.clip_groups):
        held = data.clip_groups == g
        loco[held] = apply_cal(raw[held], calibration(raw[~held], yc[~held]))
    return {"mean": mean, "std": std, "coef": coef, "intercept": icpt, "alpha": alpha,
            "cal": calibration(raw, yc), "loco_pred": loco, "loco_y": yc}


def rmse_r(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from emotrack.train.metrics import pearson

    return float(np.sqrt(np.mean((pred - y) ** 2))), pearson(pred, y)


# --------------------------------------------------------------------------- the table
LOCO_KEYS = ("10-clip LOCO RMSE a / v", "10-clip LOCO r a / v")


def _pair(a: float, b: float, fmt: str = "{:.3f}") -> str:
    return " / ".join("-" if not np.isfinite(v) else fmt.format(v) for v in (a, b))


def _blank(row, keep: str):
    """Keep only the arousal or the valence figures of a report row (target variants)."""
    from emotrack.train.song_metrics import Estimate

    nan = Estimate(float("nan"), float("nan"), float("nan"), row.n_songs)
    names = ("valence", "valence_partial") if keep == "arousal" else ("arousal", "arousal_within")
    for name in names:
        setattr(row, name, nan)
    return row


def reference_rows(data: Data, n_boot: int) -> tuple[list, dict]:
    """Constant, loudness alone, the current rnn and the shipped 10-clip head."""
    from emotrack.model.checkpoint import load_checkpoint
    from emotrack.model.trackers import bundled_checkpoint
    from emotrack.model.ridge import RidgeHead, select_alpha_loco
    from emotrack.train.emotify import score_songs, song_mean
    from evaluate_teacher import constant_loco, nested_loco

    rows, facts = [], {}
    y, g = data.clip_y, data.clip_groups
    loco = {}
    # constant
    const = constant_loco(y, g)
    loco["constant"] = [rmse_r(const[:, j], y[:, j]) for j in (0, 1)]
    preds = {"constant": {sid: np.zeros(2) for sid in data.ids}}
    # loudness alone: song mean frame level; on the clips a line on the causal 3 s level
    preds["loudness alone"] = {sid: np.repeat(song_mean(t["level_db"], t["level_db"]), 2)
                               for sid, t in zip(data.ids, data.tracks)}
    frames = np.arange(FIRST_LABEL, FIRST_LABEL + N_LABELS)
    lev = np.concatenate([np.stack([lv[k - 5:k + 1].mean() for k in frames]) for lv in data.clip_levels])
    lp = np.zeros_like(y)
    for c in np.unique(g):
        held = g == c
        for j in (0, 1):
            slope, icpt = np.polyfit(lev[~held], y[~held, j], 1)
            lp[held, j] = np.clip(slope * lev[held] + icpt, -1, 1)
    loco["loudness alone"] = [rmse_r(lp[:, j], y[:, j]) for j in (0, 1)]
    # the current rnn (trained on 6 of the 10 clips: its 10-clip figures are its LOSO facts)
    preds["current rnn"] = {sid: song_mean(t["rnn"], t["level_db"]) for sid, t in zip(data.ids, data.tracks)}
    facts_rnn = load_checkpoint(bundled_checkpoint("rnn")).facts["evaluation_loso_10_clips"]["rnn"]
    loco["current rnn"] = [(facts_rnn[d]["rmse"], facts_rnn[d]["r_frames"]) for d in ("arousal", "valence")]
    # the old shipped head: refitted on the 10 clips as tools/evaluate_teacher.py --write-head did
    # (equal to the old asset within 1e-8); 10-clip figures by nested leave-one-clip-out refits
    alpha, _ = select_alpha_loco(data.clip_x(("dense",)), y, g)
    head = RidgeHead.fit(data.clip_x(("dense",)), y, alpha)
    preds["shipped 10-clip head"] = {
        sid: song_mean(head.predict(t["dense"]), t["level_db"]) for sid, t in zip(data.ids, data.tracks)}
    nested, _ = nested_loco(data.clip_x(("dense",)), y, g)
    loco["shipped 10-clip head"] = [rmse_r(nested[:, j], y[:, j]) for j in (0, 1)]
    notes = {
        "constant": "always (0, 0): no ranking; 10-clip figure: mean of the 9 other clips",
        "loudness alone": "mean frame level (dBFS) as both arousal and valence; 10 clips: a line on "
                          "the level of the causal 3 s, fitted on the 9 other clips",
        "current rnn": "assets/models/rnn.emotrack.safetensors, causal; 10-clip figures: its checkpoint's "
                       "leave-one-song-out facts (10 rnn models)",
        "shipped 10-clip head": "the old assets/teacher/musicnn_va_head.safetensors (ridge on dense, "
                                "fitted on the 10 clips; refitted here, equal within 1e-8); 10 clips: "
                                "nested leave-one-clip-out refits",
    }
    for name, p in preds.items():
        row = score_songs(name, p, data.songs, note=notes[name], n_boot=n_boot)
        (ra, rv) = loco[name]
        row.extras = {LOCO_KEYS[0]: _pair(ra[0], rv[0]), LOCO_KEYS[1]: _pair(ra[1], rv[1])}
        rows.append(row)
    facts["reference_loco"] = loco
    return rows, facts


def candidate_rows(data: Data, n_boot: int) -> tuple[list, dict, dict]:
    """Rows of every candidate: cross-validated on Emotify, leave-one-clip-out on the clips."""
    from emotrack.train.emotify import score_songs
    from emotrack.train.song_metrics import spearman

    rows, facts, oof = [], {}, {}
    for name, inputs in INPUT_SETS.items():
        t0 = time.time()
        cv = emotify_cv(data, inputs)
        fit = full_fit(data, inputs)
        mean_pred = oof[name] = cv["pred"].mean(axis=0)  # out of fold in every repeat
        per_rep = {t: [spearman(cv["pred"][r, :, j], data.labels["arousal_proxy" if AXIS_OF[t] == 0
                                                                 else "valence_fa"])
                       for r in range(N_REPEATS)] for j, t in enumerate(TARGETS)}
        loco = {t: rmse_r(fit["loco_pred"][:, j], fit["loco_y"][:, j]) for j, t in enumerate(TARGETS)}
        facts[name] = {
            "inputs": list(inputs), "cv_alpha_per_fold": cv["alpha"], "cv_calibration_slopes": cv["slope"],
            "per_repeat_rho": per_rep, "full_fit_alpha": fit["alpha"].tolist(),
            "full_fit_calibration": fit["cal"].tolist(), "loco": loco,
        }
        col = {t: j for j, t in enumerate(TARGETS)}
        pairs = [("arousal_proxy", "valence_fa", None), ("arousal_fa", "valence_fa", "arousal"),
                 ("arousal_proxy", "valence_proxy", "valence"), ("arousal_proxy", "valence_fa_resid", "valence")]
        for ta, tv, keep in pairs:
            p = {sid: mean_pred[i, [col[ta], col[tv]]] for i, sid in enumerate(data.ids)}
            label = f"{name}: {ta} / {tv}" if keep is None else f"{name}: {ta if keep == 'arousal' else tv}"
            row = score_songs(label, p, data.songs, n_boot=n_boot)
            if keep:
                row = _blank(row, keep)
            la, lv = loco[ta], loco[tv]
            if keep == "arousal":
                lv = (float("nan"), float("nan"))
            elif keep == "valence":
                la = (float("nan"), float("nan"))
            cal = fit["cal"][[col[ta], col[tv]], 0]
            row.extras = {LOCO_KEYS[0]: _pair(la[0], lv[0]), LOCO_KEYS[1]: _pair(la[1], lv[1]),
                          "alpha a / v": _pair(fit["alpha"][col[ta]], fit["alpha"][col[tv]], "{:.3g}"),
                          "cal. slope a / v": _pair(cal[0], cal[1], "{:.3g}")}
            rows.append(row)
        print(f"  {name}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return rows, facts, oof


def describe_valence(data: Data, oof: dict) -> dict:
    """What each cross-validated valence output follows: its rho with the predicted arousal, its
    rank partial correlation with GEMS terms given arousal_proxy, and its partial within genre."""
    from emotrack.train.song_metrics import partial_spearman, spearman

    lab, a_true = data.labels, data.labels["arousal_proxy"]
    out = {}
    for name, pred in oof.items():
        for target in ("valence_fa", "valence_fa_resid"):
            v = pred[:, TARGETS.index(target)]
            out[f"{name}: {target}"] = {
                "rho_with_predicted_arousal": spearman(v, pred[:, TARGETS.index("arousal_proxy")]),
                "partial_given_arousal_proxy": {g: partial_spearman(v, lab[g], a_true) for g in (
                    "joyful_activation", "tenderness", "calmness", "tension", "sadness", "power")},
                "partial_within_genre": {g: partial_spearman(v[data.genres == g], lab["valence_fa"][data.genres == g],
                                                             a_true[data.genres == g])
                                         for g in np.unique(data.genres).tolist()},
            }
    return out


def level_quantiles(data: Data) -> dict:
    """Frame level (RMS dBFS, 500 ms at 16 kHz) quantiles over emotify-dev and the 10 clips."""
    from emotrack.model.tracker import SilenceConfig

    allf = np.concatenate([t["level_db"] for t in data.tracks])
    counted = np.concatenate([t["level_db"][6:] for t in data.tracks])
    clips = np.concatenate(data.clip_levels)
    thr = SilenceConfig().threshold_dbfs
    q = (0.1, 1, 5, 50)
    return {
        "emotify_all_frames": {"n": int(allf.size), **{f"q{v:g}%": float(np.percentile(allf, v)) for v in q},
                               "min": float(allf.min()), f"below {thr:g}": int((allf < thr).sum()),
                               "tracks with a frame below": int(sum((t["level_db"] < thr).any() for t in data.tracks))},
        "emotify_frames_k_ge_6": {"n": int(counted.size),
                                  **{f"q{v:g}%": float(np.percentile(counted, v)) for v in q},
                                  f"below {thr:g}": int((counted < thr).sum())},
        "emomusic_10_clips_all_frames": {"n": int(clips.size),
                                         **{f"q{v:g}%": float(np.percentile(clips, v)) for v in q},
                                         "min": float(clips.min())},
    }


REFERENCE_MUSIC = ("frames of 200 one-minute tracks of classical, rock, electronic and pop "
                   "(Emotify dev, Magnatune recordings; causal frames k >= 6, not silent)")


def target_definitions(data: Data) -> dict[str, str]:
    """What each training target is, with the residual's line on all 200 tracks."""
    slope, icpt = np.polyfit(data.labels["arousal_proxy"], data.labels["valence_fa"], 1)
    return {
        "arousal_proxy": "mean(power, joyful_activation, tension, amazement) - mean(calmness, tenderness, "
                         "sadness, nostalgia, solemnity) of the GEMS fractions",
        "arousal_fa": "-Peacefulness factor score (Aljanaki et al. 2016, Table 8)",
        "valence_fa": "-Sadness factor score (Aljanaki et al. 2016, Table 8)",
        "valence_proxy": "mean(joyful_activation, amazement, tenderness, calmness) - mean(sadness, tension)",
        "valence_fa_resid": f"valence_fa - ({slope:.4f} * arousal_proxy + {icpt:.4f}): valence that is "
                            "not arousal (line fitted on the training tracks; here all 200)",
    }


def write_head(data: Data, spec: str, oof: dict, cand_facts: dict, levels: dict, *, n_boot: int,
               out: Path) -> None:
    """Fit candidate ``INPUTS:AROUSAL_TARGET:VALENCE_TARGET`` on all 200 tracks, bake in its
    calibration, attach its cross-validated figures and display scale, and save it."""
    from emotrack.model.ridge import RidgeHead
    from emotrack.model.scale import DisplayScale
    from emotrack.train.emotify import score_songs

    name, ta, tv = spec.split(":")
    if name not in INPUT_SETS or ta not in AROUSAL_TARGETS or tv not in VALENCE_TARGETS:
        raise SystemExit(f"--write-head wants INPUTS:AROUSAL_TARGET:VALENCE_TARGET from {list(INPUT_SETS)}, "
                         f"{AROUSAL_TARGETS}, {VALENCE_TARGETS}; got {spec!r}")
    inputs = INPUT_SETS[name]
    cols = [TARGETS.index(ta), TARGETS.index(tv)]
    fit = full_fit(data, inputs)
    slope, shift = fit["cal"][cols, 0], fit["cal"][cols, 1]
    coef, intercept = bake(fit["coef"][:, cols], fit["intercept"][cols], fit["cal"][cols])
    row = score_songs(spec, {sid: oof[name][i, cols] for i, sid in enumerate(data.ids)}, data.songs,
                      n_boot=n_boot)
    loco = cand_facts[name]["loco"]
    head = RidgeHead(fit["mean"], fit["std"], coef, intercept, fit["alpha"][cols])
    frames = np.concatenate([head.predict(head_input(t, inputs))[m] for t, m in zip(data.tracks, data.counted)])
    scale = DisplayScale.from_values(frames, reference=REFERENCE_MUSIC)
    clipped = np.mean(np.abs(frames) >= 1.0, axis=0)
    head.facts = {
        "tracker": "musicnn",
        "inputs": list(inputs),
        "input_description": "musicnn MSD layers of the causal 3 s patch ending at each 500 ms frame's end, "
                             "concatenated in this order (emotrack.model.musicnn_tracker.INPUTS)",
        "outputs": ["arousal", "valence"],
        "trained_on": "Emotify dev: 200 one-minute tracks (50 each classical, rock, electronic, pop), "
                      "song-level labels; features = mean over frames k >= 6 not below -60 dBFS",
        "training_songs": [s.key for s in data.songs],
        "targets": {"arousal": ta, "valence": tv},
        "target_definitions": target_definitions(data),
        "alpha": fit["alpha"][cols].tolist(),
        "alpha_selection": "per output: inner 5-fold CV over tracks (genre-stratified), MSE over "
                           "logspace(-1, 7, 33), one-SE rule (largest alpha within one standard error "
                           "of the best)",
        "calibration": {
            "what": "per axis, least-squares line from the ridge output onto the 10 emoMusic mini "
                    "clips' 2 Hz labels (frames 30-89, 600 frames); baked into coef and intercept, so "
                    "the outputs are on the emoMusic rater scale [-1, 1]",
            "slope": slope.tolist(), "intercept": shift.tolist(), "clips": data.clip_ids,
            "reference_frames_clipped_at_1": clipped.tolist()},
        "cv_emotify": {
            "protocol": f"{N_REPEATS} x {N_FOLDS}-fold CV by track, folds stratified by genre (seeds 0-4), "
                        "alpha chosen inside every training fold; out-of-fold song predictions of the "
                        "uncalibrated head averaged over repeats (the calibration slopes are > 0, so "
                        "the calibrated head ranks songs the same way up to clipping); 95 % bootstrap "
                        f"CI over tracks ({n_boot} resamples, seed 0)",
            **{k: getattr(row, k).to_dict() for k in ("arousal", "arousal_within", "valence", "valence_partial")},
            "labels": {"arousal": "arousal_proxy", "valence": "valence_fa",
                       "valence_partial_given": "arousal_proxy"},
        },
        "loco_10_clips": {
            "protocol": "head fitted on Emotify only; calibration refitted on 9 clips, RMSE and Pearson r "
                        "over the 600 held-out frames",
            "arousal": {"rmse": loco[ta][0], "r": loco[ta][1]},
            "valence": {"rmse": loco[tv][0], "r": loco[tv][1]}},
        "frame_levels_emotify_dbfs": levels["emotify_all_frames"],
        "command": "nice -n 10 .venv/bin/python tools/select_head.py features && "
                   f"nice -n 10 .venv/bin/python tools/select_head.py evaluate --write-head {spec}",
        "display_scale": scale.to_dict(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    head.save(out)
    print(f"wrote {out} ({spec}; {len(frames)} reference frames)", file=sys.stderr)


def evaluate_command(args: argparse.Namespace) -> int:
    from emotrack.train.emotify import EmotifyReport, format_emotify_report

    data = Data(args.emotify, args.mini, args.cache)
    print(f"{len(data.songs)} Emotify tracks, {len(data.clip_ids)} emoMusic clips", file=sys.stderr)
    ref_rows, ref_facts = reference_rows(data, args.n_boot)
    cand_rows, cand_facts, oof = candidate_rows(data, args.n_boot)
    report = EmotifyReport("Head candidates on Emotify dev (200 tracks) and the 10 emoMusic clips",
                           ref_rows + cand_rows, facts={
        "Emotify figures of candidates": f"{N_REPEATS} x {N_FOLDS}-fold cross-validation by track "
            "(folds stratified by genre, seeds 0-4), out-of-fold song predictions averaged over the "
            "repeats; alpha per target by inner 5-fold CV on the training tracks (one-SE rule)",
        "song prediction": "mean of the causal frame predictions over frames k >= 6 not below -60 "
                           "dBFS; candidates: of the uncalibrated head (its ranks are the calibrated "
                           "head's when the calibration slope is > 0; a slope <= 0 disqualifies it)",
        "calibration": "per axis, least-squares line from the head's raw output onto the 10 clips' "
                       "2 Hz labels (frames 30-89); 'cal. slope' is that of the head fitted on all "
                       "200 tracks",
        "10-clip LOCO of candidates": "head fitted on all 200 Emotify tracks, calibration fitted on "
                                      "9 clips, RMSE / Pearson r over the 600 held-out frames",
        "intervals": f"95 % percentile bootstrap over tracks, {args.n_boot} resamples (seed 0)",
    })
    text = format_emotify_report(report)
    print(text)
    levels = level_quantiles(data)
    print(json.dumps(levels, indent=1))
    valence = describe_valence(data, oof)
    print("valence outputs (cross-validated song predictions):")
    for key, d in valence.items():
        print(f"  {key}: rho with predicted arousal {d['rho_with_predicted_arousal']:+.2f}; partial given "
              "arousal_proxy " + ", ".join(f"{g} {r:+.2f}" for g, r in d["partial_given_arousal_proxy"].items())
              + "; partial within genre " + ", ".join(f"{g} {r:+.2f}" for g, r in d["partial_within_genre"].items()))
    if args.write_head:
        write_head(data, args.write_head, oof, cand_facts, levels, n_boot=args.n_boot, out=args.head_out)
    if args.json:
        args.json.write_text(json.dumps({"report": report.to_dict(), "reference_facts": ref_facts,
                                         "candidates": cand_facts, "levels": levels, "valence": valence,
                                         "markdown": text}, indent=1, default=float))
        print("wrote", args.json, file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--emotify", type=Path, default=EMOTIFY)
    ap.add_argument("--mini", type=Path, default=MINI)
    ap.add_argument("--cache", type=Path, default=CACHE)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("features", help="compute and cache per-frame features (slow, once)")
    ev = sub.add_parser("evaluate", help="print the table of candidates and references")
    ev.add_argument("--json", type=Path, default=None, help="write every figure here")
    ev.add_argument("--n-boot", type=int, default=2000)
    ev.add_argument("--write-head", metavar="INPUTS:AROUSAL_TARGET:VALENCE_TARGET", default=None,
                    help="fit this candidate on all tracks and write it (e.g. dense:arousal_proxy:valence_fa)")
    ev.add_argument("--head-out", type=Path,
                    default=REPO / "assets" / "teacher" / "musicnn_va_head_issue12.safetensors")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    if args.command == "features":
        return features_command(args)
    return evaluate_command(args)


if __name__ == "__main__":
    sys.exit(main())
