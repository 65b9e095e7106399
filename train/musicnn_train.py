"""``emotrack train --model musicnn``: fit, cross-validate and write the musicnn tracker's head.

Reads song-level sets (``emotify:PATH``, ``4q:PATH``) to learn from and 2 Hz emoMusic
clips (``emomusic:PATH``) for the rater-scale calibration, runs the candidates and the
procedure of :mod:`emotrack.train.musicnn_head` inside outer cross-validation for the
figures, then once on every song for the head, fits its display scale, and writes the
head with everything needed to read it in its facts.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..model.errors import ParameterError
from ..model.ridge import RidgeHead
from ..model.scale import DisplayScale
from .emotify import score_songs
from .musicnn_features import counted
from .head_data import LABELS, HeadSongs, calibration_frames, head_songs
from .head_report import HeadReport, coverage_table, side_claims_table
from .items import SongLabelDataset
from .musicnn_features import MusicnnFeatureCache
from .musicnn_head import (INPUT_SETS, CrossValidation, HeadConfig, RaterCalibration, candidates,
                           cross_validate, fit_procedure, rater_calibration, to_ridge_head)
from .quadrant_metrics import score_quadrants

LABEL_MAPPING = (
    "held-out labels on the head's target scale, standardised with the training songs' statistics: "
    "Emotify arousal_proxy and valence_fa (or its residual on arousal_proxy, as the candidate learns) "
    "as z-scores; 4Q high / positive = +1, low / negative = -1. On the emoMusic rater scale both "
    "the head's output and these labels go through the same calibration line, so the shares are "
    "the same there")


def _say(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def split_datasets(data: list[str]) -> tuple[list[SongLabelDataset], list]:
    """Song-level sets to learn from and 2 Hz sets to calibrate on, from ``NAME:PATH`` specs."""
    from .readers import load_dataset

    learn, calibrate = [], []
    for spec in data:
        d = load_dataset(spec)
        if isinstance(d, SongLabelDataset):
            if d.name not in LABELS:
                raise ParameterError(f"{spec}: a musicnn head learns from {', '.join(LABELS)} song labels")
            learn.append(d)
        elif d.name == "emomusic":
            calibrate.append(d)
        else:
            raise ParameterError(f"{spec}: a musicnn head learns from emotify and 4q song labels and is "
                                 "calibrated on emomusic clips; other sets are for the networks")
    if not learn:
        raise ParameterError("a musicnn head needs song labels to learn from: add --data emotify:PATH "
                             "and/or --data 4q:PATH")
    if not calibrate:
        raise ParameterError("a musicnn head is put on the emoMusic rater scale by a line fitted on "
                             "rated clips: add --data emomusic:PATH (the 10 clips of emomusic-mini suffice)")
    return learn, calibrate


def cv_rows(songs: HeadSongs, datasets: list[SongLabelDataset], cv: CrossValidation, name: str,
            *, n_boot: int, note: str = "") -> tuple[Any, Any]:
    """The quadrant row and the Emotify row of one name's held-out predictions (mean over repeats)."""
    pred = np.nanmean(cv.pred[name], axis=0)
    return rows_for(songs, datasets, pred, name, n_boot=n_boot, note=note)


def rows_for(songs: HeadSongs, datasets: list[SongLabelDataset], pred: np.ndarray, name: str, *,
             n_boot: int, note: str = "") -> tuple[Any, Any]:
    """(quadrant row or None, Emotify row or None) of song-level predictions ``pred`` (n, 2)."""
    q = songs.dataset == "4q"
    qrow = (score_quadrants(name, pred[q], songs.y[q, 0], songs.y[q, 1], songs.genre[q], note=note,
                            n_boot=n_boot) if q.any() else None)
    e = songs.dataset == "emotify"
    erow = None
    if e.any():
        labelled = [s for d in datasets if d.name == "emotify" for s in d.songs]
        ids = {k.split(":", 1)[1]: pred[i] for i, k in enumerate(songs.keys) if songs.dataset[i] == "emotify"}
        erow = score_songs(name, ids, labelled, note=note, n_boot=n_boot)
    return qrow, erow


def head_frames(head: RidgeHead, inputs: list[str], songs: HeadSongs, cache: MusicnnFeatureCache,
                paths: dict[str, Path]) -> np.ndarray:
    """The head's causal frame outputs (counted frames) over every song: (n_frames, 2)."""
    out = []
    for key in songs.keys:
        frames = cache.frames(paths[key])
        mask = counted(frames)
        x = np.concatenate([frames[n] for n in inputs], axis=1)[mask]
        out.append(head.predict(x))
    return np.concatenate(out)


def train_head_command(data: list[str], out: Path, *, cache: MusicnnFeatureCache, cfg: HeadConfig,
                       report_dir: Path | None = None, quiet: bool = False) -> HeadReport:
    """Fit and write a musicnn head (see the module doc); returns the report it prints."""
    from ..model.validate import writable_file

    writable_file(out, what="head file")
    t0 = time.time()
    learn, calibrate = split_datasets(data)
    for d in (*learn, *calibrate):
        _say(d.summary(), quiet)
    songs = head_songs(learn, cache, progress=None if quiet else
                       lambda i, n: print(f"\rmusicnn outputs: {i + 1}/{n}", end="", file=sys.stderr))
    _say("", quiet)
    cal = calibration_frames(calibrate, cache)
    cands = candidates()
    _say(f"{len(songs)} songs ({', '.join(f'{d} {int((songs.dataset == d).sum())}' for d in sorted(set(songs.dataset)))}), "
         f"{len(cal.keys)} calibration clips; {len(cands)} candidates; outer CV "
         f"{cfg.outer_repeats} x {cfg.outer_folds} folds", quiet)
    cv = cross_validate(songs, cfg, cands=cands, progress=None if quiet else (lambda m: _say(m, False)))
    final = fit_procedure(songs, np.ones(len(songs), bool), cfg, seed=cfg.seed + 999, cands=cands)
    chosen = final.chosen
    _say(f"chosen on all songs: {chosen.cand.name}", quiet)
    line = rater_calibration(chosen, cal)

    report = HeadReport(f"musicnn head candidates, cross-validated ({', '.join(data)})")
    for name in ["chosen", *(c.name for c in cands)]:
        note = ("the procedure's own choice in each outer fold (candidate selection inside the "
                "training songs): the honest figure of the shipped head" if name == "chosen" else "")
        qrow, erow = cv_rows(songs, learn, cv, name, n_boot=cfg.n_boot, note=note)
        label = "procedure (chosen inside each fold)" if name == "chosen" else name
        if qrow is not None:
            qrow.name = label
            report.quadrant_rows.append(qrow)
        if erow is not None:
            erow.name = label
            report.emotify_rows.append(erow)
    report.coverage = {
        f"nominal {cfg.coverage:.0%} intervals, share of held-out songs' labels inside (procedure)":
            coverage_table(cv.pred["chosen"], cv.sd["chosen"], cv.labels["chosen"], songs.dataset, cfg.z),
        "labels mapped as": LABEL_MAPPING,
        f"mood words: held-out songs whose side is named (calibrated probability >= "
        f"{cfg.side_probability:.0%}), and the share of those on their label's side (procedure)":
            side_claims_table(cv.pred["chosen"], cv.side["chosen"], cv.labels["chosen"], songs.dataset),
        f"for comparison, the same when a side is named only where the nominal {cfg.coverage:.0%} interval "
        "lies on one side (the rule of heads without words.side_halfwidth)":
            side_claims_table(cv.pred["chosen"], cfg.z * cv.sd["chosen"], cv.labels["chosen"], songs.dataset),
    }
    paths = {s.key: s.audio_path for d in learn for s in d.songs}
    facts = head_facts(songs, learn, calibrate, cfg, cv, final, line, report, data, cache)
    if cache.stride > 1:
        facts["song_features"] += (f"; for files not cached with every frame, every {cache.stride}-th frame "
                                   f"(--frame-stride {cache.stride})")
    head = to_ridge_head(chosen, line, facts)
    inputs = list(INPUT_SETS[chosen.cand.inputs])
    frames = head_frames(head, inputs, songs, cache, paths)
    scale = DisplayScale.smooth_from_values(frames, reference=reference_text(songs))
    head.facts["display_scale"] = scale.to_dict()
    head.facts["display_scale_check"] = scale_check(scale, frames)
    head.facts["train_seconds"] = round(time.time() - t0, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    head.save(out)
    from ..model.musicnn_tracker import load_head

    load_head(out)  # what is written must load
    report.facts.update({"chosen (all songs)": chosen.cand.name,
                         "choices in the outer folds": cv.choices,
                         "display scale": head.facts["display_scale_check"],
                         "head written": str(out)})
    _say(f"wrote {out} ({time.time() - t0:.0f} s)", quiet)
    return report


def reference_text(songs: HeadSongs) -> str:
    n_e, n_q = int((songs.dataset == "emotify").sum()), int((songs.dataset == "4q").sum())
    parts = []
    if n_e:
        parts.append(f"{n_e} one-minute Emotify dev tracks (classical, rock, electronic, pop)")
    if n_q:
        parts.append(f"{n_q} 30 s 4Q dev clips of many genres")
    return ("the frames of " + " and ".join(parts)
            + " (smoothed: a logistic fitted to their percentiles, 1st-99th inside +-0.9)")


def scale_check(scale: DisplayScale, frames: np.ndarray) -> dict[str, Any]:
    """Where the reference frames' 1st and 99th percentiles land on the plane."""
    q = np.percentile(frames, [1, 99], axis=0)  # (2, 2)
    plane = scale.plane(q)
    return {"reference frames": int(len(frames)),
            "raw 1st / 99th percentile (arousal, valence)": np.round(q, 4).tolist(),
            "plane position of the 1st / 99th percentile (arousal, valence)": np.round(plane, 3).tolist()}


def head_facts(songs: HeadSongs, learn, calibrate, cfg: HeadConfig, cv: CrossValidation, final,
               line: RaterCalibration, report: HeadReport, data: list[str],
               cache: MusicnnFeatureCache) -> dict[str, Any]:
    """Everything the head file records about how it was made and how well it does."""
    chosen = final.chosen
    qrow = next((r for r in report.quadrant_rows if r.name.startswith("procedure")), None)
    erow = next((r for r in report.emotify_rows if r.name.startswith("procedure")), None)
    protocol = (f"{cfg.outer_repeats} x {cfg.outer_folds}-fold outer CV grouped by artist (4Q) and track "
                "(Emotify); in each outer training set the whole procedure (alpha, candidate choice, "
                "ensemble, residual sd) on inner folds; held-out song predictions averaged over repeats; "
                f"95 % bootstrap CI over songs ({cfg.n_boot} resamples, seed 0)")
    facts: dict[str, Any] = {
        "tracker": "musicnn",
        "stream": cache.stream,
        "inputs": list(INPUT_SETS[chosen.cand.inputs]),
        "outputs": ["arousal", "valence"],
        "candidate": chosen.cand.to_dict(),
        "candidates": [c.name for c in candidates()],
        "selection_scores_all_songs": {f.cand.name: round(f.score, 4) for f in final.fitted},
        "trained_on": ", ".join(f"{d.name}: {len(d.songs_with_audio())} songs ({d.root})" for d in learn),
        "training_songs": [k for k, ds in zip(songs.keys, songs.dataset)
                           if ds in ("emotify", "4q") and ds in _sets_of(chosen.cand)],
        "song_features": "mean of the causal frames' musicnn outputs over frames k >= 6 not below -60 dBFS",
        "alpha": chosen.alpha.tolist(),
        "alpha_rule": cfg.alpha_rule,
        "set_weights": cfg.set_weights,
        "ensemble": {"members": int(chosen.members_coef.shape[0]),
                     "what": "the head's fold heads (grouped inner folds); shipped coefficients are their "
                             "mean; sd = sqrt(spread of the members' outputs^2 + resid_sd^2)",
                     "resid_sd_target_scale": chosen.resid_sd.tolist(),
                     "coverage_fitted_for": cfg.coverage},
        "calibration": {"what": "per axis, least-squares line from the ensemble's frame outputs onto the "
                                "emoMusic clips' 2 Hz ratings (rated frames); baked into the weights and "
                                "the sd (times the slope)", **line.to_dict()},
        "words": {"side_halfwidth": [None if not math.isfinite(h) else float(h * k)
                                     for h, k in zip(chosen.side_halfwidth, line.slope)],
                  "side_probability": cfg.side_probability,
                  "what": "per axis, on the raw scale: how far from the middle of the plane a value must lie "
                          "for a mood word to name its side (energetic / calm, pleasant / unpleasant): the "
                          "distance at which a logistic fit of the training songs' label sides on their "
                          "out-of-fold predictions reaches side_probability, times the rater-scale slope; "
                          "null: never"},
        "cv_protocol": protocol,
        "cv_choices": cv.choices,
        "cv_coverage": report.coverage,
        "command": ("emotrack train --model musicnn " + " ".join(f"--data {d}" for d in data)
                    + f" --musicnn-stream {cache.stream} --alpha-rule {cfg.alpha_rule}"
                    + f" --set-weights {cfg.set_weights} --out HEAD"),
    }
    if qrow is not None:
        facts["cv_4q"] = {**{k: e.to_dict() for k, e in qrow.figures.items()}, "protocol": protocol}
    if erow is not None:
        facts["cv_emotify"] = {k: getattr(erow, k).to_dict()
                               for k in ("arousal", "arousal_within", "valence", "valence_partial")}
        facts["cv_emotify"]["protocol"] = protocol
        facts["cv_emotify"]["labels"] = {"arousal": "arousal_proxy", "valence": "valence_fa",
                                         "valence_partial_given": "arousal_proxy"}
    return facts


def _sets_of(cand) -> tuple[str, ...]:
    from .musicnn_head import TRAINING_SETS

    return TRAINING_SETS[cand.training]
