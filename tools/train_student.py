#!/usr/bin/env python3
"""Train a real-time student (cae or rnn) on musicnn-teacher labels plus the human clips.

Data:

* the teacher-labelled corpus cached by ``tools/make_teacher_labels.py`` (CAE mel
  frames + musicnn embeddings every other frame); the (arousal, valence) targets
  are the ridge head's outputs on those embeddings, the other frames are
  unlabelled (masked out of the loss);
* the emoMusic mini clips with their human labels (frames 30..89), repeated
  ``--human-repeat`` times per epoch so 10 clips are not drowned by hours of music.

Validation (early stopping) uses ~10 % of the corpus tracks (by hash), scored on
their teacher labels.  Training itself is ``emotrack.train.trainer.train_model``
(masked MSE, Adam, feature-domain noise/gain augmentation).

``--loco`` runs the honest leave-one-clip-out evaluation: for each held-out clip
the teacher head is refitted on the other 9 (alpha by leave-one-clip-out), the
corpus is relabelled with it, a student is trained on corpus + the 9 clips and
predicts the held-out clip causally through the real checkpoint -> MelTracker path.
Without ``--loco`` it trains the final student on all 10 clips with the shipped head.

    nice -n 10 .venv/bin/python tools/train_student.py --model rnn --loco --json /tmp/teacher-cache/loco-rnn.json
    nice -n 10 .venv/bin/python tools/train_student.py --model rnn --out assets/student-rnn.emotrack.safetensors
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate_teacher as ev  # noqa: E402


def load_corpus(cache: Path, max_tracks: int | None = None) -> list[dict]:
    tracks = []
    for f in sorted(cache.glob("*.npz")):
        if f.name.endswith(".tmp.npz"):
            continue
        with np.load(f) as z:
            tracks.append({"sha": f.stem, "cae": z["cae_frames"], "label_frames": z["label_frames"],
                           "dense": z["dense"], "duration_s": float(z["duration_s"])})
    return tracks[:max_tracks] if max_tracks else tracks


def corpus_songs(tracks: list[dict], head) -> list:
    from emotrack.train.items import DEVELOPMENT, SongItem
    from emotrack.train.songs import SongFeatures

    out = []
    for t in tracks:
        n = len(t["cae"])
        targets = np.full((n, 2), np.nan, np.float32)
        targets[t["label_frames"]] = head.predict(t["dense"])
        item = SongItem(song_id=t["sha"], audio_path=Path(t["sha"]), arousal=targets[:, 0].copy(),
                        valence=targets[:, 1].copy(), arousal_std=None, valence_std=None,
                        split=DEVELOPMENT, first_frame=0, dataset="teacher")
        out.append(SongFeatures(item, t["cae"]))
    return out


def human_songs(clips: dict, sids: list[str], repeat: int) -> list:
    from emotrack.train.items import DEVELOPMENT, SongItem
    from emotrack.train.songs import SongFeatures

    out = []
    for sid in sids:
        lab = clips[sid]["labels"]
        for r in range(repeat):
            item = SongItem(song_id=f"{sid}#{r}", audio_path=Path(f"{sid}.mp3"), arousal=lab[:, 0].copy(),
                            valence=lab[:, 1].copy(), arousal_std=None, valence_std=None,
                            split=DEVELOPMENT, first_frame=ev.FIRST, dataset="emomusic")
            out.append(SongFeatures(item, clips[sid]["cae"]))
    return out


def split_sets(clips, sids, train_tracks, val_tracks, head, args):
    """(train, val) SongFeatures lists for the human clips ``sids`` and the corpus."""
    from emotrack.train.songs import split_validation

    if args.val == "human":
        tr, va = split_validation(list(sids), fraction=0.15, seed=args.seed)
        train = corpus_songs(train_tracks + val_tracks, head) + human_songs(clips, tr, args.human_repeat)
        return train, human_songs(clips, va, 1)
    train = corpus_songs(train_tracks, head) + human_songs(clips, sids, args.human_repeat)
    return train, corpus_songs(val_tracks, head)


def is_validation(sha: str, fraction: float = 0.1) -> bool:
    return int(hashlib.sha256(f"val:{sha}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < fraction


def train_one(train, val, args, out: Path, facts: dict):
    from emotrack.model.features import CAE_SPEC
    from emotrack.train.trainer import TrainConfig, train_model

    config = TrainConfig(model=args.model, lr=args.lr, batch_size=16, max_epochs=args.epochs,
                         patience=args.patience, min_epochs=min(5, args.epochs), seed=args.seed,
                         progress=not args.quiet)
    return train_model(train, val, config, spec=CAE_SPEC, out=out, facts=facts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=("cae", "rnn", "baseline"), default="rnn")
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/teacher-cache/music"))
    ap.add_argument("--clips-cache", type=Path, default=Path("/tmp/teacher-cache/emomusic"))
    ap.add_argument("--mini", type=Path, default=ev.MINI)
    ap.add_argument("--human-repeat", type=int, default=10, help="0 = teacher labels only")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--patience", type=int, default=5)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-tracks", type=int, default=None)
    ap.add_argument("--val", choices=("corpus", "human"), default="corpus",
                    help="early stopping on 10 %% of the corpus tracks (teacher labels) or on ~15 %% of "
                    "the training clips (human labels, as train.loso does)")
    ap.add_argument("--loco", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None, help="final checkpoint (without --loco)")
    ap.add_argument("--fidelity", type=Path, default=None, metavar="CKPT",
                    help="only compare CKPT's causal predictions on the 10 clips with the shipped "
                    "teacher's (how well a student imitates its teacher there)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from emotrack.model.mel_tracker import MelTracker
    from emotrack.model.musicnn_tracker import load_head
    from emotrack.model.ridge import RidgeHead, select_alpha_loco

    cpu0 = time.process_time()
    labels = ev.read_labels(args.mini)
    clips = {}
    for sid, lab in labels.items():
        f = ev.clip_features(sid, args.mini, args.clips_cache)
        clips[sid] = {"labels": lab, "cae": f["cae_frames"], "dense": f["dense"]}
    tracks = load_corpus(args.corpus, args.max_tracks)
    hours = sum(t["duration_s"] for t in tracks) / 3600
    val_tracks = [t for t in tracks if is_validation(t["sha"])]
    train_tracks = [t for t in tracks if not is_validation(t["sha"])]
    print(f"corpus: {len(tracks)} tracks, {hours:.2f} h ({len(val_tracks)} for validation)", flush=True)
    frames = np.arange(ev.FIRST, ev.FIRST + ev.N_LABELS)
    facts = {"teacher": "musicnn MSD dense (causal 3 s patch) -> ridge head (assets/teacher)",
             "corpus_tracks": len(tracks), "corpus_hours": round(hours, 3),
             "corpus_manifest": "tools/teacher_labels_manifest.json",
             "human_clips_repeat": args.human_repeat, "validation": args.val,
             "command": "nice -n 10 .venv/bin/python tools/train_student.py " + " ".join(sys.argv[1:])}

    if args.fidelity is not None:
        head = load_head()
        p = MelTracker.from_checkpoint(args.fidelity, device="cpu")
        st = np.concatenate([p.predict_frames(clips[s]["cae"], mode="causal")[frames] for s in clips])
        te = np.concatenate([head.predict(clips[s]["dense"][frames]) for s in clips])
        for j, name in enumerate(("arousal", "valence")):
            print(f"{args.fidelity.name} {name}: student vs teacher r {np.corrcoef(st[:, j], te[:, j])[0, 1]:+.3f}, "
                  f"RMSE {np.sqrt(((st[:, j] - te[:, j]) ** 2).mean()):.3f}; std student {st[:, j].std():.3f}, "
                  f"teacher {te[:, j].std():.3f}")
        labs = [head.predict(t["dense"]) for t in tracks]
        allv = np.concatenate(labs)
        within = np.mean([v.std(axis=0) for v in labs], axis=0)
        print(f"teacher labels on the corpus: mean {allv.mean(0).round(3)}, std {allv.std(0).round(3)}, "
              f"mean within-track std {within.round(3)}, arousal-valence r {np.corrcoef(allv.T)[0, 1]:.3f}")
        human = np.concatenate([clips[s]["labels"] for s in clips])
        print(f"human ratings of the clips: mean {human.mean(0).round(3)}, std {human.std(0).round(3)}")
        return 0

    if not args.loco:
        head = load_head()
        sids = list(clips)
        train, val = split_sets(clips, sids, train_tracks, val_tracks, head, args)
        facts["human_clips"] = sids
        res = train_one(train, val, args, args.out, facts)
        print(f"best epoch {res.best_epoch}/{res.epochs_run}, val loss {res.best_val_loss:.4f}, "
              f"{res.seconds:.0f} s; wrote {args.out}; CPU {time.process_time() - cpu0:.0f} s")
        return 0

    preds, ys, gs, folds = [], [], [], []
    sids = list(clips)
    with tempfile.TemporaryDirectory(prefix="emotrack-student-") as tmp:
        for held in sids:
            rest = [s for s in sids if s != held]
            x9 = np.concatenate([clips[s]["dense"][frames] for s in rest])
            y9 = np.concatenate([clips[s]["labels"] for s in rest])
            g9 = np.repeat(rest, ev.N_LABELS)
            alpha, _ = select_alpha_loco(x9, y9, g9)
            head = RidgeHead.fit(x9, y9, alpha)
            train, val = split_sets(clips, rest, train_tracks, val_tracks, head, args)
            ckpt = Path(tmp) / "fold.safetensors"
            res = train_one(train, val, args, ckpt, dict(facts, held_out=held))
            pred = MelTracker.from_checkpoint(ckpt, device="cpu").predict_frames(clips[held]["cae"], mode="causal")
            preds.append(pred[frames])
            ys.append(clips[held]["labels"])
            gs.append(np.full(ev.N_LABELS, held))
            folds.append({"held_out": held, "best_epoch": res.best_epoch, "epochs_run": res.epochs_run,
                          "alpha": alpha.tolist(), "seconds": round(res.seconds, 1)})
            print(f"fold {held}: best epoch {res.best_epoch}/{res.epochs_run}, {res.seconds:.0f} s", flush=True)
    pred, y, g = map(np.concatenate, (preds, ys, gs))
    m = ev.metrics(pred, y, g)
    const = ev.metrics(ev.constant_loco(y, g), y, g)
    print(f"student {args.model}: " + "  ".join(
        f"{k}: RMSE {m[k]['rmse']:.3f} r {m[k]['r']:+.3f} r(means) {m[k]['r_song_means']:+.3f}"
        for k in ("arousal", "valence")))
    print("constant: " + "  ".join(f"{k}: RMSE {const[k]['rmse']:.3f}" for k in ("arousal", "valence")))
    result = {"model": args.model, "metrics": m, "constant": const, "folds": folds, "facts": facts,
              "corr_pred_arousal_valence": float(np.corrcoef(pred[:, 0], pred[:, 1])[0, 1]),
              "cpu_seconds": round(time.process_time() - cpu0, 1)}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
