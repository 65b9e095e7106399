#!/usr/bin/env python3
"""A second network (musicnn's MTT model) beside the MSD one as inputs of the musicnn head (issue 18).

Issue 18 allows a second network, "e.g. musicnn's MTT model, in the same ISC wheel", only if
it earns its CPU.  This tool runs the experiment that decides it.

Pre-registration (written 2026-12-07 01:31 UTC, before any MTT output or figure was computed)
---------------------------------------------------------------------------------------------
Network: ``MTT_musicnn`` of the musicnn 0.1.0 wheel (ISC), the same architecture as the shipped
``MSD_musicnn`` (checkpoints of equal size), converted to the layout of
``emotrack.model.musicnn.MusicnnMSD`` with the same variable mapping as
``tools/convert_musicnn.py`` (every non-optimizer variable mapped; none left over).

Features: the MTT network's ``logits`` (50), ``penultimate`` (200) and ``pooled`` (1506) per
causal tracker frame, computed by the tracker's own causal stream
(``emotrack.model.musicnn_tracker.frame_outputs`` with a ``MusicnnTracker(model=<MTT net>,
stream="causal")``), every frame; song value = the mean over the frames the MSD song means use
(``emotrack.train.musicnn_features.counted`` of the cached MSD entry).

Procedure A: the 15 candidates of ``musicnn_head.candidates()`` (MSD inputs).  Procedure B: those
and the same 15 with inputs ``logits+mtt``, ``penultimate+mtt``, ``pooled+mtt`` (the MSD output
with the same-named MTT output appended, standardised like every input).  Everything else
unchanged (``HeadConfig()``: 5 inner folds, 5 outer folds x 2 repeats, seeds, alphas, selection),
on the causal-stream song means of the 650 songs (200 Emotify dev, 450 listed 4Q dev).
Figures: the chosen row's held-out predictions averaged over the repeats; B - A paired bootstrap
over songs, 2000 resamples, seed 0.

Decision rule (the same as the tonal experiment's): B earns its place only if B - A of the Emotify
valence partial rho is > 0 with its 95 % CI excluding 0, and no other of the 6 figures has a paired
loss whose CI excludes 0.  If it does, the live CPU of the second causal network is measured before
it ships (the 5 % budget of issue 21 stands).  Descriptive only: per-candidate twins, per-repeat values.

Run (the conversion needs TensorFlow, as ``tools/convert_musicnn.py`` does; the rest the project's
environment, with the MSD causal-stream outputs cached as for ``compare_streams.py``)::

    /tmp/tfvenv/bin/python tools/mtt_experiment.py --convert /tmp/mn/musicnn-0.1.0-py3-none-any.whl \
        --mtt-weights /tmp/mtt_musicnn.safetensors
    for i in 0 1; do OMP_NUM_THREADS=1 python tools/mtt_experiment.py --data emotify:../shared/data/emotify-dev \
        --data 4q:/work/cache/4q-dev --cache-dir /work/cache/valence --mtt-weights /tmp/mtt_musicnn.safetensors \
        --out /tmp/mtt-exp --fill-shard $i/2 & done; wait   # the MTT outputs, one process per core
    OMP_NUM_THREADS=1 python tools/mtt_experiment.py --data emotify:../shared/data/emotify-dev \
        --data 4q:/work/cache/4q-dev --cache-dir /work/cache/valence --mtt-weights /tmp/mtt_musicnn.safetensors \
        --out /tmp/mtt-exp
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

VALENCE = "Emotify valence partial rho given arousal"
MTT_INPUTS = ("logits", "penultimate", "pooled")
MTT_DIR = "MTT_musicnn"


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tonal_experiment import experiment_parser

    ap = experiment_parser(__doc__, required=False)
    ap.add_argument("--convert", type=Path, metavar="WHEEL",
                    help="only convert MTT_musicnn of this musicnn-0.1.0 wheel to --mtt-weights, then stop "
                         "(needs TensorFlow: run it with the virtual environment of tools/convert_musicnn.py)")
    ap.add_argument("--mtt-weights", type=Path, required=True,
                    help="MTT_musicnn converted to safetensors (convert step: --convert WHEEL)")
    ap.add_argument("--out", type=Path,
                    help="folder for the MTT output cache (mtt-cache/) and report.md/.json")
    ap.add_argument("--fill-shard", metavar="I/N",
                    help="only compute the MTT outputs of every N-th song from the I-th (0-based) into the "
                         "cache, then stop (run N of these at once to use N cores)")
    args = ap.parse_args()
    if args.convert:
        return convert_mtt(args.convert, args.mtt_weights)
    if not (args.data and args.cache_dir and args.out):
        ap.error("--data, --cache-dir and --out are needed (or --convert)")

    import torch

    torch.set_num_threads(1)
    from compare_streams import paired_figures
    from tonal_experiment import cached_songs, cross_validate_all, write_report
    from tonal_experiment import report as tonal_report
    from emotrack.train.musicnn_head import HeadConfig

    t0 = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    songs, paths, msd = cached_songs(args.data, args.cache_dir)
    mtt = mtt_cache(args.out / "mtt-cache", args.mtt_weights)
    if args.fill_shard:
        i, n = (int(v) for v in args.fill_shard.split("/"))
        for j, key in enumerate(songs.keys[i::n]):
            mtt.frames(paths[key])
            print(f"shard {i}/{n}: {j + 1}/{len(songs.keys[i::n])}", file=sys.stderr, flush=True)
        return 0
    checks = add_mtt_means(songs, paths, msd, mtt)

    cfg = HeadConfig()
    cv = cross_validate_all(songs, procedures(), cfg)
    lines, facts = tonal_report(songs, cv, cfg.n_boot, paired_figures, block="mtt", label="MTT", features=())
    facts.update(checks=checks, wall_s=round(time.time() - t0, 1))
    lines += ["", "### Checks", "",
              f"- {len(songs)} songs; head_songs problems: {songs.problems or 'none'}; MSD cache misses: 0; "
              f"MTT outputs computed for {mtt.misses} files, read from its cache for {mtt.hits}",
              f"- MTT frame count differs from the MSD entry's in {checks['count_differs']} files",
              f"- A's 15 candidates fitted inside B give the same predictions as in A: {facts['a_identical_in_b']}",
              f"- wall {facts['wall_s']:.0f} s"]
    write_report(args.out, lines, facts)
    return 0


def convert_mtt(wheel: Path, out: Path) -> int:
    """Write MTT_musicnn's weights in the layout of MusicnnMSD (convert_musicnn's mapping; TensorFlow needed)."""
    import tempfile
    import zipfile

    import tensorflow as tf
    from safetensors.numpy import save_file

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import convert_musicnn

    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as z:
            z.extractall(tmp)
        reader = tf.compat.v1.train.NewCheckpointReader(str(Path(tmp) / "musicnn" / MTT_DIR) + "/")
        state, _ = convert_musicnn.convert(reader)  # raises if a non-optimizer variable is left over
    save_file(state, str(out), metadata={"source": f"{wheel.name} sha256:{convert_musicnn.sha256(wheel)} {MTT_DIR}"})
    print(f"wrote {out}: {len(state)} tensors, {sum(v.size for v in state.values())} parameters")
    return 0


def load_mtt(weights: Path):
    """The MTT network in the MSD network's class, strictly loaded (every parameter present)."""
    from safetensors.torch import load_file

    from emotrack.model.errors import CheckpointError
    from emotrack.model.musicnn import musicnn_from_state

    try:
        return musicnn_from_state(load_file(str(weights)))
    except CheckpointError as exc:
        raise SystemExit(f"MTT weights {weights}: {exc}") from None


def mtt_cache(root: Path, weights: Path):
    """A musicnn output cache whose tracker runs the MTT network (its own folder)."""
    from emotrack.model.musicnn_tracker import MusicnnTracker
    from emotrack.train.musicnn_features import MusicnnFeatureCache

    cache = MusicnnFeatureCache(root, stream="causal", stride=1)
    cache._tracker = MusicnnTracker(device="cpu", stream="causal", model=load_mtt(weights))
    return cache


def add_mtt_means(songs, paths: dict, msd, mtt) -> dict:
    """songs.means["mtt_<name>"]: MTT song means over the frames the MSD song means use."""
    from emotrack.train.musicnn_features import counted

    out = {name: [] for name in MTT_INPUTS}
    checks = {"count_differs": 0}
    t0 = time.time()
    for i, key in enumerate(songs.keys):
        ref, got = msd.frames(paths[key]), mtt.frames(paths[key])
        checks["count_differs"] += int(len(ref["index"]) != len(got["index"]))
        mask = counted(ref)
        for name in MTT_INPUTS:
            out[name].append(got[name][mask].astype(np.float64).mean(axis=0))
        if (i + 1) % 25 == 0 or i + 1 == len(songs.keys):
            el = time.time() - t0
            print(f"MTT outputs: {i + 1}/{len(songs.keys)} files, {el:.0f} s", file=sys.stderr, flush=True)
    for name in MTT_INPUTS:
        songs.means[f"mtt_{name}"] = np.stack(out[name])
    return checks


def procedures() -> dict:
    """Candidates of A (today's 15) and B (those and the same 15 with the MTT output appended)."""
    from emotrack.train import musicnn_head as mh

    cands_a = mh.candidates()  # before INPUT_SETS grows: candidates() iterates over it
    for base in MTT_INPUTS:
        mh.INPUT_SETS[f"{base}+mtt"] = (base, f"mtt_{base}")  # read by the unchanged cross_validate
    return {"A": cands_a, "B": cands_a + [mh.Candidate(f"{c.inputs}+mtt", c.training, c.valence) for c in cands_a]}


if __name__ == "__main__":
    sys.exit(main())
