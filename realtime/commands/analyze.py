"""``emotrack analyze``: analyse audio files offline and write CSV/JSON/PNG trajectories."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...model.errors import AudioTooShortError, EmotrackError, ParameterError
from ...model.trackers import use_cores
from ._model_options import add_model_options, load_tracker_from_args
from ._options import formats_arg, path_arg, torch_device_arg

FORMATS = ("csv", "json", "png")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyse audio files offline and write CSV/JSON/PNG trajectories",
        description="Predict arousal and valence every 500 ms for each audio file (any format "
        "libsndfile decodes: wav, flac, ogg, opus, mp3...) and write, per file, "
        "STEM.emotrack.csv (the trajectory: time, raw arousal and valence, their percentiles "
        "among the reference music, mood word, warm-up and silence flags, level, and the "
        "tracker's extras such as musicnn's 50 tags), STEM.emotrack.json (the same plus model "
        "and file facts) and STEM.emotrack.png (the trajectory on the valence-arousal plane "
        "and both curves over time). A directory argument analyses the audio files in it "
        "(recursively). The exit status is 0 only if every file succeeded.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", type=path_arg, help="audio files or directories")
    add_model_options(p)
    p.add_argument("--mode", choices=("causal", "centered"), default="centered",
                   help="causal: each frame from the audio up to its end only, exactly what a live "
                   "run shows; centered: average of every causal context covering the frame "
                   "(smoother; default)")
    p.add_argument("--out", metavar="DIR", default=".", type=path_arg, help="output directory (default: current)")
    p.add_argument("--format", default="csv,json,png", metavar="LIST", type=formats_arg,
                   help="comma-separated subset of csv,json,png (default: all three)")
    p.add_argument("--device", default="auto", type=torch_device_arg, help="torch device: auto (CUDA if available), cpu, cuda")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar and no per-file lines (the bar is also off when standard "
                   "error is not a terminal)")
    p.set_defaults(handler=run)


def parse_formats(text: str) -> tuple[str, ...]:
    """``"csv,png"`` -> ``("csv", "png")``; unknown names are a ParameterError."""
    names = tuple(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))
    bad = [n for n in names if n not in FORMATS]
    if bad or not names:
        raise ParameterError(f"--format must be a comma-separated subset of {','.join(FORMATS)}, got {text!r}")
    return names


def output_stems(files: list[Path]) -> list[str]:
    """Unique output stems: ``song`` or, when two inputs share a stem, ``song``, ``song-2``..."""
    seen: dict[str, int] = {}
    stems = []
    for f in files:
        n = seen.get(f.stem, 0) + 1
        seen[f.stem] = n
        stems.append(f.stem if n == 1 else f"{f.stem}-{n}")
    return stems


def file_summary(result) -> str:
    """``90 frames (4 silent), mean arousal +0.12 (p64), valence -0.05 (p41)`` for one file."""
    heard = ~result.silent
    n_silent = int(result.silent.sum())
    text = f"{len(result.values)} frames" + (f" ({n_silent} silent)" if n_silent else "")
    if not heard.any():
        return text + ", all silent"
    a, v = result.values[heard].mean(axis=0)
    pct = result.percentiles
    if pct is None:
        return text + f", mean arousal {a:+.2f}, valence {v:+.2f}"
    pa, pv = pct[heard].mean(axis=0)
    return text + f", mean arousal {a:+.2f} (p{pa:.0f}), valence {v:+.2f} (p{pv:.0f})"


def _write(writer, result, path: Path) -> Path:
    """``writer(result, path)``; a failed write (disk full...) names ``path`` (OutputError)."""
    from ...model.validate import naming_write_errors

    with naming_write_errors(path, what="output"):
        return writer(result, path)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..analysis import analyze_file, audio_info, expand_inputs
    from ..trajectory_files import write_csv, write_json

    formats = parse_formats(args.format)
    files = expand_inputs(args.files)
    if not files:
        raise ParameterError(f"no audio files found in {args.files}")
    tracker = load_tracker_from_args(args)
    use_cores(tracker)
    out_dir = Path(args.out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"cannot create output directory '{out_dir}': {exc.strerror}") from None

    durations = {}
    for f in files:
        try:
            durations[f] = audio_info(f).duration_s
        except EmotrackError:
            durations[f] = 0.0  # reported when its turn comes
    total = sum(durations.values())
    failures = 0
    with tqdm(total=round(total, 1), unit="s", unit_scale=False, desc="analysing", leave=False,
              disable=True if args.quiet else None, file=sys.stderr,
              bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}]") as bar:
        for f, stem in zip(files, output_stems(files)):
            done = 0.0

            def progress(seconds: float) -> None:
                nonlocal done
                done += seconds
                bar.update(seconds)

            written = []
            try:
                result = analyze_file(f, tracker, mode=args.mode, on_progress=progress)
                base = out_dir / stem
                if "csv" in formats:
                    written.append(_write(write_csv, result, base.with_name(f"{stem}.emotrack.csv")))
                if "json" in formats:
                    written.append(_write(write_json, result, base.with_name(f"{stem}.emotrack.json")))
                if "png" in formats:
                    from ..plots import write_png

                    written.append(_write(write_png, result, base.with_name(f"{stem}.emotrack.png")))
            except AudioTooShortError as exc:
                # Not a broken file: it holds less audio than one frame. Say so, write nothing.
                bar.update(max(0.0, durations[f] - done))
                tqdm.write(f"emotrack: {f}: 0 frames, no output written ({exc})", file=sys.stderr)
                continue
            except EmotrackError as exc:
                failures += 1
                for path in written:
                    Path(path).unlink(missing_ok=True)
                bar.update(max(0.0, durations[f] - done))
                tqdm.write(f"emotrack: error: {f}: {exc}", file=sys.stderr)
                continue
            except OSError as exc:  # e.g. output disk full or not writable
                failures += 1
                for path in written:  # no incomplete set of outputs for this file
                    Path(path).unlink(missing_ok=True)
                tqdm.write(f"emotrack: error: {f}: cannot write output: {exc.strerror or exc}", file=sys.stderr)
                continue
            if not args.quiet:
                tqdm.write(f"{f}: {file_summary(result)} -> {', '.join(str(w) for w in written)}")
            if result.early_end is not None:  # even with --quiet: the file is not what it claims
                tqdm.write(f"emotrack: warning: {f}: {result.early_end}", file=sys.stderr)
    if failures:
        print(f"emotrack: {failures} of {len(files)} file(s) failed", file=sys.stderr)
        return 1
    return 0
