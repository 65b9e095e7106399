"""``emotrack analyze``: analyse audio files offline and write CSV/JSON/PNG trajectories."""
from __future__ import annotations

import argparse
import sys

from ...model.errors import AudioTooShortError, EmotrackError, ParameterError
from ..termination import terminate_as_interrupt


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyse audio files offline and write CSV/JSON/PNG trajectories",
        description="Predict arousal and valence every 500 ms for each audio file (any format "
        "libsndfile decodes: wav, flac, ogg, opus, mp3...) and write, per file, "
        "NAME.emotrack.csv (time_s, arousal, valence), NAME.emotrack.json (the same plus model "
        "and feature facts) and NAME.emotrack.png (the trajectory on the valence-arousal plane "
        "and both curves over time), all three or none. A directory argument analyses the audio "
        "files in it (recursively) and mirrors its tree under --out; a file argument is named by "
        "its file name without the extension; two inputs that would get the same name stop the "
        "run before it starts. One run at a time per --out folder. The exit status is 0 only if "
        "every file succeeded.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files or directories")
    p.add_argument("--checkpoint", metavar="CKPT", default=None,
                   help="model checkpoint (.safetensors); default: the bundled model")
    p.add_argument("--model", choices=("checkpoint", "musicnn"), default="checkpoint",
                   help="checkpoint: the network of --checkpoint (default); musicnn: the musicnn "
                   "teacher (ridge head on musicnn embeddings of 3 s patches; ~0.1 s CPU per 500 ms "
                   "frame), whose JSON also holds musicnn's 50 tags over time")
    p.add_argument("--mode", choices=("causal", "centered"), default="centered",
                   help="causal: each frame from the 30 s up to it, exactly what a live run shows; "
                   "centered: average of every 30 s window covering the frame (smoother; default)")
    p.add_argument("--out", metavar="DIR", default=".", help="output directory (default: current)")
    p.add_argument("--format", default="csv,json,png", metavar="LIST",
                   help="comma-separated subset of csv,json,png (default: all three)")
    p.add_argument("--device", default="auto", help="torch device: auto (CUDA if available), cpu, cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no per-file lines")
    p.set_defaults(handler=run)


def parse_formats(text: str) -> tuple[str, ...]:
    """``"csv,png"`` -> ``("csv", "png")``; unknown names are a ParameterError."""
    from ..track_outputs import FORMATS

    names = tuple(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))
    bad = [n for n in names if n not in FORMATS]
    if bad or not names:
        raise ParameterError(f"--format must be a comma-separated subset of {','.join(FORMATS)}, got {text!r}")
    return names


def run(args: argparse.Namespace) -> int:
    from ...model.predictor import Predictor
    from ..analysis import AUDIO_EXTENSIONS, analyze_file
    from ..output_names import name_inputs
    from ..track_outputs import TrackWriter

    formats = parse_formats(args.format)
    tracks = name_inputs(args.files, extensions=AUDIO_EXTENSIONS)  # refuses clashing names
    if not tracks:
        raise ParameterError(f"no audio files found in {args.files}")
    if args.model == "musicnn":
        if args.checkpoint is not None:
            raise ParameterError("--checkpoint cannot be combined with --model musicnn (the teacher "
                                 "uses its bundled ridge head); drop one of them")
        from ...model.teacher import load_head
        from ..analysis import analyze_file_teacher

        head = load_head()

        def analyze_one(f, mode, on_progress):
            return analyze_file_teacher(f, mode=mode, head=head, on_progress=on_progress)
    else:
        predictor = Predictor.from_checkpoint(args.checkpoint, device=args.device)

        def analyze_one(f, mode, on_progress):
            return analyze_file(f, predictor, mode=mode, on_progress=on_progress)
    with TrackWriter(args.out, formats) as writer, terminate_as_interrupt():
        failures = _analyze_all(tracks, writer, analyze_one, args)
    if failures:
        print(f"emotrack: {failures} of {len(tracks)} file(s) failed", file=sys.stderr)
        return 1
    return 0


def _analyze_all(tracks, writer, analyze_one, args) -> int:
    """Analyse every track and write its files; returns the number of failed tracks."""
    from tqdm import tqdm

    from ..analysis import audio_info

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
                result = analyze_one(f, args.mode, progress)
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
            note = result.info.early_end
            if not args.quiet:
                a, v = result.values.mean(axis=0) if len(result.values) else (0.0, 0.0)
                tqdm.write(f"{f}: {len(result.values)} frames, mean arousal {a:+.2f}, "
                           f"valence {v:+.2f} -> {', '.join(str(w) for w in written)}"
                           + (f"; {note}" if note else ""))
            elif note:
                tqdm.write(f"emotrack: warning: {f}: {note}", file=sys.stderr)
    return failures
