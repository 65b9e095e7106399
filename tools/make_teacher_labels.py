#!/usr/bin/env python3
"""Run the musicnn teacher over a free-music corpus and cache what the student needs.

For each track (a file, or a Frets-on-Fire song folder whose ``song.ogg`` and
``guitar.ogg``/``rhythm.ogg`` stems are summed) it writes ``CACHE/<sha>.npz``
keyed by the SHA-256 of the audio file(s), holding:

* ``cae_frames`` (n, 96): the student's input features (``CAE_SPEC`` mel frames);
* ``label_frames`` (m,): frame indices that carry teacher outputs (every
  ``--hop-frames``-th frame: 2 -> 1 Hz, the other frames are left unlabelled);
* ``dense`` (m, 200), ``tags`` (m, 50): musicnn's causal-patch embedding and tags
  of those frames (:mod:`emotrack.model.teacher`); the (arousal, valence) labels
  come from applying a ridge head to ``dense`` at training time, so a refitted
  head needs no new musicnn run.

Tracks are visited round-robin over the source folders so that a run stopped
early (``--max-hours``) still covers every package.  Finished tracks are never
recomputed.  A manifest (track, package, licence, duration, sha, frames) is written
to ``--manifest`` (committed: tools/teacher_labels_manifest.json).

Example::

    nice -n 10 .venv/bin/python tools/make_teacher_labels.py /tmp/musicpkgs/music \\
        --cache /tmp/teacher-cache/music --max-hours 4
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

AUDIO_EXT = (".ogg", ".mp3", ".opus", ".flac", ".wav")
LICENCES = {
    "wesnoth-1.16-music": "GPL-2+",
    "singularity-music": "CC-BY-SA-3.0",
    "fretsonfire-songs-muldjord": "CC-BY-SA-3.0",
    "asc-music": "GPL-2+",
    "warzone2100-music": "GPL-2+",
}
STEMS = ("song.ogg", "guitar.ogg", "rhythm.ogg")


def find_tracks(root: Path) -> list[tuple[str, list[Path]]]:
    """(package, [files]) per track, round-robin over the packages below ``root``."""
    per_pkg: dict[str, list[list[Path]]] = {}
    for pkg_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        tracks: list[list[Path]] = []
        seen_dirs = set()
        for f in sorted(pkg_dir.rglob("*")):
            if f.suffix.lower() not in AUDIO_EXT or not f.is_file():
                continue
            if f.name in STEMS:  # multi-stem song folder: one track
                if f.parent in seen_dirs:
                    continue
                seen_dirs.add(f.parent)
                tracks.append([f.parent / s for s in STEMS if (f.parent / s).is_file()])
            else:
                tracks.append([f])
        per_pkg[pkg_dir.name] = tracks
    out = []
    for i in range(max((len(t) for t in per_pkg.values()), default=0)):
        for pkg, tracks in per_pkg.items():
            if i < len(tracks):
                out.append((pkg, tracks[i]))
    return out


def sha_of(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:24]


def load_mix(paths: list[Path]) -> tuple[np.ndarray, int]:
    """Mono mix of the stems (summed, then scaled down if the sum would clip)."""
    import soundfile as sf

    mix, sr = None, None
    for p in paths:
        y, r = sf.read(str(p), dtype="float32", always_2d=True)
        y = y.mean(axis=1)
        if mix is None:
            mix, sr = y, r
        else:
            if r != sr:
                raise SystemExit(f"stems of {paths[0].parent} differ in rate")
            n = max(len(mix), len(y))
            mix = np.pad(mix, (0, n - len(mix))) + np.pad(y, (0, n - len(y)))
    peak = float(np.abs(mix).max()) if mix.size else 0.0
    if peak > 1.0:
        mix = mix / peak
    return mix.astype(np.float32), sr


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("roots", nargs="+", type=Path, help="folders holding one sub-folder per package")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/teacher-cache/music"))
    ap.add_argument("--manifest", type=Path, default=Path(__file__).with_name("teacher_labels_manifest.json"))
    ap.add_argument("--hop-frames", type=int, default=2, help="label every N-th 500 ms frame (2 = 1 Hz)")
    ap.add_argument("--max-hours", type=float, default=None, help="stop after this much audio")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cached-only", action="store_true",
                    help="compute nothing: list the tracks already in the cache in the manifest")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from emotrack.model.features import CAE_SPEC, frames_from_model_rate, resample
    from emotrack.model.musicnn_tracker import MusicnnTracker, frame_outputs
    from emotrack.model.validate import as_mono_float32

    tracker = MusicnnTracker()

    args.cache.mkdir(parents=True, exist_ok=True)
    tracks = [t for root in args.roots for t in find_tracks(root)]
    manifest = []
    total_s = 0.0
    cpu0 = time.process_time()
    for n_done, (pkg, paths) in enumerate(tracks):
        if args.max_hours is not None and total_s >= args.max_hours * 3600:
            break
        sha = sha_of(paths)
        out = args.cache / f"{sha}.npz"
        rel = str(paths[0].parent.name if len(paths) > 1 else paths[0].name)
        if not out.is_file() and args.cached_only:
            continue
        if not out.is_file():
            t0 = time.process_time()
            audio, sr = load_mix(paths)
            x = resample(as_mono_float32(audio), sr, CAE_SPEC.sample_rate)
            cae = frames_from_model_rate(x, CAE_SPEC)
            n = len(cae)
            label_frames = np.arange(args.hop_frames - 1, n, args.hop_frames)
            out = frame_outputs(audio, sr, ("dense", "tags"), tracker=tracker)
            assert len(out["dense"]) == n, (n, len(out["dense"]))
            dense, tags = out["dense"][label_frames], out["tags"][label_frames]
            tmp = args.cache / f"{sha}.tmp.npz"
            np.savez(tmp, cae_frames=cae, label_frames=label_frames, dense=dense, tags=tags,
                     cae_spec_hash=CAE_SPEC.hash, duration_s=x.size / CAE_SPEC.sample_rate)
            os.replace(tmp, out)
            print(f"[{n_done + 1}/{len(tracks)}] {pkg}/{rel}: {x.size / 16000:.0f} s audio, "
                  f"{len(label_frames)} patches, {time.process_time() - t0:.1f} s CPU", flush=True)
        with np.load(out) as z:
            dur = float(z["duration_s"])
            entry = {"package": pkg, "licence": LICENCES.get(pkg, "see package copyright"),
                     "track": rel, "files": [p.name for p in paths],
                     "sha": sha, "duration_s": round(dur, 2), "n_frames": int(len(z["cae_frames"])),
                     "n_labels": int(len(z["label_frames"]))}
        manifest.append(entry)
        total_s += dur
    facts = {
        "teacher": "musicnn MSD dense (pre-ReLU) of the causal 3 s patch ending at each frame end",
        "hop_frames": args.hop_frames, "tracks": len(manifest),
        "hours": round(total_s / 3600, 3),
        "hours_by_licence": {lic: round(sum(e["duration_s"] for e in manifest if e["licence"] == lic) / 3600, 3)
                             for lic in sorted({e["licence"] for e in manifest})},
        "command": "nice -n 10 .venv/bin/python tools/make_teacher_labels.py " + " ".join(sys.argv[1:]),
    }
    args.manifest.write_text(json.dumps({"facts": facts, "tracks": manifest}, indent=1) + "\n")
    print(f"{len(manifest)} tracks, {total_s / 3600:.2f} h; this run {time.process_time() - cpu0:.0f} s CPU; "
          f"manifest {args.manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
