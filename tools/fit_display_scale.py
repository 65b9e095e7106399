#!/usr/bin/env python3
"""Fit a tracker's display scale on a reference set of music and store it with its weights.

The display scale (``emotrack.model.scale.DisplayScale``) maps raw (arousal, valence) to
their percentiles among the frames of the reference music, so that the plane and the
mood words spread real music out.  This runs the tracker (causal, the live path) over
every audio file under the given folders, keeps the frames that are not warming up and
not silent, and prints their quantiles; ``--write`` stores the scale in the tracker's
shipped file (the checkpoint's or the head's facts, key ``display_scale``).

    nice -n 10 .venv/bin/python tools/fit_display_scale.py --model rnn ../shared/data/emotify-dev/audio --write

Rankings do not change (the map is monotone), so no accuracy figure depends on it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REFERENCE = ("frames of 200 one-minute excerpts of classical, rock, electronic and pop music "
             "(50 each; the Emotify dev set, Magnatune recordings)")


def collect(tracker, folders: list[Path]) -> tuple[np.ndarray, np.ndarray, int]:
    """Causal values (n, 2) of the heard, warmed-up frames, all frame levels, and the file count."""
    from tqdm import tqdm

    from emotrack.model.audio_io import BlockReader, expand_inputs

    files = expand_inputs(folders)
    values, levels = [], []
    for f in tqdm(files, desc=tracker.name, unit="file", file=sys.stderr):
        reader = BlockReader(f)
        out = tracker.analyze(iter(reader), reader.info.sample_rate, mode="causal")
        keep = ~out.warming_up & ~out.silent
        values.append(out.values[keep])
        levels.append(out.level_db)
    return np.concatenate(values), np.concatenate(levels), len(files)


def write_scale(tracker, scale) -> Path:
    """Store ``scale`` in the facts of the tracker's own file (checkpoint or head)."""
    if tracker.name == "musicnn":
        head = tracker.head
        head.facts["display_scale"] = scale.to_dict()
        return head.save(tracker.head_path)
    from emotrack.model.checkpoint import save_checkpoint

    ck = tracker.checkpoint
    facts = dict(ck.facts, display_scale=scale.to_dict())
    return save_checkpoint(tracker.path, model_name=ck.model_name, hparams=ck.hparams,
                           state_dict=ck.state_dict, spec=ck.spec, norm_mean=ck.norm_mean,
                           norm_std=ck.norm_std, facts=facts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", type=Path, help="reference audio (folders or files)")
    ap.add_argument("--model", default="musicnn")
    ap.add_argument("--checkpoint", default=None, help="default: the tracker's shipped file")
    ap.add_argument("--reference", default=REFERENCE, help="what the reference music is, in words")
    ap.add_argument("--write", action="store_true", help="store the scale in the tracker's file")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(2)
    from emotrack.model.scale import DisplayScale
    from emotrack.model.trackers import load_tracker

    tracker = load_tracker(args.model, args.checkpoint, device="cpu")
    values, levels, n_files = collect(tracker, args.folders)
    scale = DisplayScale.from_values(values, reference=args.reference)
    q = [1, 10, 25, 50, 75, 90, 99]
    print(f"{tracker.name}: {len(values)} frames of {n_files} files (warm-up and silent frames left out)")
    for name, col in (("arousal", scale.arousal_quantiles), ("valence", scale.valence_quantiles)):
        print(f"  {name:8s} percentiles " + "  ".join(f"p{p}={col[p]:+.3f}" for p in q))
    print("  frame level dBFS percentiles " + "  ".join(
        f"p{p}={v:.1f}" for p, v in zip((0.1, 1, 5, 50), np.percentile(levels, (0.1, 1, 5, 50)))))
    print(f"  arousal-valence correlation of the raw values: {np.corrcoef(values.T)[0, 1]:+.3f}")
    if args.write:
        print(f"wrote the scale into {write_scale(tracker, scale)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
