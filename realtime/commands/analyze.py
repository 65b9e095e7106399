"""``emotrack analyze``: analyse audio files offline and write CSV/JSON/PNG trajectories."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...model.errors import ParameterError
from ._model_options import add_model_options, load_tracker_from_args
from ._options import formats_arg, int_arg, parse_formats, path_arg, ray_address_arg, torch_device_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyse audio files offline and write CSV/JSON/PNG trajectories",
        description="Predict arousal and valence every 500 ms for each audio file (any format "
        "libsndfile decodes: wav, flac, ogg, opus, mp3...) and write, per file, "
        "NAME.emotrack.csv (the trajectory: time, raw arousal and valence, their percentiles "
        "among the reference music, mood word, warm-up and silence flags, level, and the "
        "tracker's extras such as musicnn's 50 tags), NAME.emotrack.json (the same plus model "
        "and file facts) and NAME.emotrack.png (the trajectory on the valence-arousal plane "
        "and both curves over time), all three or none. A directory argument analyses the audio "
        "files in it (recursively) and mirrors its tree under --out; a file argument is named by "
        "its file name without the extension; two inputs that would get the same name stop the "
        "run before it starts. With --format parquet, a catalog of every frame and track goes to "
        "OUT/catalog (Parquet). Tracks run in one process per CPU core (--jobs) or on a Ray "
        "cluster (--cluster); a rerun skips what OUT already holds for the same content and "
        "model. One run at a time per --out folder. The exit status is 0 only if every file "
        "succeeded.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", type=path_arg,
                   help="audio files or directories")
    p.add_argument("--manifest", action="append", default=[], metavar="LIST", type=path_arg,
                   help="a file listing audio files: CSV when named .csv/.tsv or when its first "
                   "line is a 'path' header (that column is read), else one path per line kept "
                   "exactly as written ('#' lines skipped); relative entries are relative to the "
                   "manifest's folder. Repeatable")
    add_model_options(p)
    p.add_argument("--mode", choices=("causal", "centered"), default="centered",
                   help="causal: each frame from the audio up to its end only, exactly what a live "
                   "run shows; centered: the tracker's average of the contexts around the frame, "
                   "real audio only at the edges (smoother; default)")
    p.add_argument("--out", metavar="DIR", default=".", type=path_arg,
                   help="output directory (default: current)")
    p.add_argument("--format", default="csv,json,png", metavar="LIST", type=formats_arg,
                   help="comma-separated subset of csv,json,png,parquet (default: csv,json,png); "
                   "parquet: the catalog tables in OUT/catalog (needs pyarrow: pip install "
                   "'emotrack[catalog]')")
    p.add_argument("--name-by", choices=("path", "id"), default="path",
                   help="path: outputs mirror the inputs' folders (default); id: named by the "
                   "track id (content hash), OUT/3f/3f9a....emotrack.csv")
    p.add_argument("--jobs", type=int_arg(1, 4096), metavar="N", default=None,
                   help="worker processes (default: one per CPU core; one with CUDA). At most "
                   "one per CPU core and per 0.5 GB of available memory: more is lowered, and said")
    p.add_argument("--cluster", metavar="ADDRESS", default=None, type=ray_address_arg,
                   help="run on a Ray cluster: 'auto' (the one started with 'ray start'), "
                   "HOST:PORT, ray://HOST:10001, or 'local' (a private one on this machine with "
                   "--jobs CPUs); needs pip install 'emotrack[cluster]'")
    p.add_argument("--force", action="store_true",
                   help="analyse every input again, even what OUT already holds")
    p.add_argument("--retry-failed", action="store_true",
                   help="try again the files that failed in an earlier run into OUT")
    p.add_argument("--device", default="auto", type=torch_device_arg,
                   help="torch device: auto (CUDA if available), cpu, cuda")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar and no per-file lines (the bar is also off when standard "
                   "error is not a terminal)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis import AUDIO_EXTENSIONS
    from ..catalog.run import RunOptions, run_catalog
    from ..catalog.work import TrackerSpec
    from ..outputs.names import name_inputs

    formats = parse_formats(args.format)
    if "parquet" in formats:
        from ..catalog.tables import _pyarrow

        _pyarrow()  # missing pyarrow: say so before any work
    from ..printable import printable

    rejected: list[str] = []  # manifest entries that name no file: each fails alone
    notes: list[str] = []  # links to folders, not followed
    tracks = name_inputs(args.files, extensions=AUDIO_EXTENSIONS, manifests=args.manifest,
                         rejected=rejected, notes=notes)
    for line in notes:
        print(printable(f"emotrack: note: {line}"), file=sys.stderr)
    for line in rejected:
        print(printable(f"emotrack: error: {line}"), file=sys.stderr)
    if not tracks:
        if rejected:
            print(f"emotrack: {len(rejected)} of {len(rejected)} input(s) failed",
                  file=sys.stderr)
            return 1
        raise ParameterError(f"no audio files found in {[*args.files, *args.manifest]}")
    tracker = load_tracker_from_args(args)
    spec = TrackerSpec(model=args.model, checkpoint=args.checkpoint, device=args.device,
                       mode=args.mode)
    opts = RunOptions(out=Path(args.out), formats=tuple(f for f in formats if f != "parquet"),
                      table="parquet" in formats, jobs=args.jobs, cluster=args.cluster,
                      name_by=args.name_by, force=args.force, retry_failed=args.retry_failed,
                      quiet=args.quiet)
    report = run_catalog(tracks, spec, tracker, opts)
    failed, total = report.failed + len(rejected), len(tracks) + len(rejected)
    if failed:
        print(f"emotrack: {failed} of {total} file(s) failed", file=sys.stderr)
        return 1
    return 0
