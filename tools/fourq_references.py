#!/usr/bin/env python3
"""4Q figures of a shipped tracker and of loudness alone, for the model card's table (issue 22).

Runs a tracker (causal, the live path) over every 4Q clip with audio, takes the song-level
prediction the same way ``emotrack evaluate`` does on Emotify (mean of the frames k >= 6 that
are not silent) and the mean frame level as "loudness alone", and prints the arousal AUC and
the valence AUC within arousal halves with 95 % bootstrap intervals (clips resampled within
quadrant).  The tracker must not have learned from these clips (musicnn's head was fitted on
Emotify only); the poster's networks get their 4Q figures from ``emotrack train --folds``.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python tools/fourq_references.py 4Q_DIR --model musicnn --out f.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fourq", type=Path, help="folder with 4q-dev's labels.csv and the clips at its paths")
    ap.add_argument("--model", default="musicnn")
    ap.add_argument("--out", type=Path, default=None, help="write the figures and song predictions as JSON")
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    torch.set_num_threads(1)
    from emotrack.model.trackers import load_tracker
    from emotrack.train.emotify import song_level_db, song_prediction
    from emotrack.train.quadrant_cv import score_quadrants
    from emotrack.train.readers.fourq import read_fourq
    from emotrack.train.run import song_frames

    d = read_fourq(args.fourq)
    songs = d.songs_with_audio()
    tracker = load_tracker(args.model, device="cpu")
    problems: list[str] = []
    frames = song_frames(tracker, songs, mode="causal", problems=problems)
    preds = {sid: song_prediction(f) for sid, f in frames.items()}
    loud = {sid: np.repeat(song_level_db(f), 2) for sid, f in frames.items()}
    rows = [score_quadrants(args.model, preds, songs), score_quadrants("loudness alone", loud, songs)]
    for r in rows:
        print(f"{r.name}: {r.n_songs} clips; arousal AUC {r.arousal_auc.text()}; "
              f"valence AUC within arousal {r.valence_auc_within.text()}")
    for p in problems:
        print(f"  skipped: {p}", file=sys.stderr)
    if args.out is not None:
        args.out.write_text(json.dumps({"rows": [r.to_dict() for r in rows], "problems": problems,
                                        "predictions": {k: [float(x) for x in v] for k, v in preds.items()},
                                        "loudness_db": {k: float(v[0]) for k, v in loud.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
