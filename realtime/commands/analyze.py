"""``emotrack analyze``: analyse audio files offline and write CSV/JSON/PNG trajectories."""
from __future__ import annotations

import argparse
import sys

from ...model.errors import AudioTooShortError, EmotrackError, ParameterError
from ..termination import terminate_as_interrupt
from ._model_options import add_model_options, load_tracker_from_args


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
        "run before it starts. One run at a time per --out folder. The exit status is 0 only if "
        "every file succeeded.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files or directories")
    add_model_options(p)
    p.add_argument("--mode", choices=("causal", "centered"), default="centered",
                   help="causal: each frame from the audio up to its end only, exactly what a live "
                   "run shows; centered: average of every causal context covering the frame "
                   "(smoother; default)")
    p.add_argument("--out", metavar="DIR", default=".", help="output directory (default: current)")
    p.add_argument("--format", default="csv,json,png", metavar="LIST",
                   help="comma-separated subset of csv,json,png (default: all three)")
    p.add_argument("--device", default="auto", help="torch device: auto (CUDA if available), cpu, cuda")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar and no per-file lines (the bar is also off when standard "
                   "error is not a terminal)")
    p.set_defaults(handler=run)


def parse_formats(text: str) -> tuple[str, ...]:
    """``"csv,png"`` -> ``("csv", "png")``; unknown names are a ParameterError."""
    from ..track_outputs import FORMATS

    names = tuple(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))
    bad = [n for n in names if n not in FORMATS]
    if bad or not names:
        raise ParameterError(f"--format must be a comma-separated subset of {','.join(FORMATS)}, got {text!r}")
    return names


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


def run(args: argparse.Namespace) -> int:
    from ..analysis import AUDIO_EXTENSIONS
    from ..output_names import name_inputs
    from ..track_outputs import TrackWriter

    formats = parse_formats(args.format)
    tracks = name_inputs(args.files, extensions=AUDIO_EXTENSIONS)  # refuses clashing names
    if not tracks:
        raise ParameterError(f"no audio files found in {args.files}")
    tracker = load_tracker_from_args(args)
    with TrackWriter(args.out, formats) as writer, terminate_as_interrupt():
        failures = _analyze_all(tracks, writer, tracker, args)
    if failures:
        print(f"emotrack: {failures} of {len(tracks)} file(s) failed", file=sys.stderr)
        return 1
    return 0


def _analyze_all(tracks, writer, tracker, args) -> int:
    """Analyse every track and write its files; returns the number of failed tracks."""
    from tqdm import tqdm

    from ..analysis import analyze_file, audio_info

    durations = {}
    for t in tracks:
        try:
            durations[t.path] = audio_info(t.path).duration_s
        except EmotrackError:
            durations[t.path] = 0.0  # reported when its turn comes
    total = sum(durations.values())
    failures = 0
    with tqdm(total=round(total, 1), unit="s", unit_scale=False, desc="analysing", leave=False,
              disable=True if args.quiet else None, file=sys.stderr,
              bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}]") as bar:
        for track in tracks:
            f = track.path
            done = 0.0

            def progress(seconds: float) -> None:
                nonlocal done
                done += seconds
                bar.update(seconds)

            try:
                writer.check(track)  # an output name taken by a folder: fail before the work
                result = analyze_file(f, tracker, mode=args.mode, on_progress=progress)
                written = writer.write(track, result)
            except AudioTooShortError as exc:
                # Not a broken file: it holds less audio than one frame. Say so, write nothing.
                bar.update(max(0.0, durations[f] - done))
                tqdm.write(f"emotrack: {f}: 0 frames, no output written ({exc})", file=sys.stderr)
                continue
            except EmotrackError as exc:
                failures += 1
                bar.update(max(0.0, durations[f] - done))
                tqdm.write(f"emotrack: error: {f}: {exc}", file=sys.stderr)
                continue
            except OSError as exc:  # e.g. output disk full or not writable: earlier files kept
                failures += 1
                where = f" '{exc.filename}'" if exc.filename else ""
                tqdm.write(f"emotrack: error: {f}: cannot write output{where}: "
                           f"{exc.strerror or exc}", file=sys.stderr)
                continue
            bar.update(max(0.0, durations[f] - done))  # a file shorter than its header says
            note = result.early_end  # the file is not what it claims: said even with --quiet
            if not args.quiet:
                tqdm.write(f"{f}: {file_summary(result)} -> {', '.join(str(w) for w in written)}"
                           + (f"; {note}" if note else ""))
            elif note:
                tqdm.write(f"emotrack: warning: {f}: {note}", file=sys.stderr)
    return failures
