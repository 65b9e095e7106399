"""``emotrack listen``: track live audio from a microphone, system audio or a file, headless."""
from __future__ import annotations

import argparse
import math
import sys

from ...model.errors import EmotrackError, ParameterError
from ...model.validate import MAX_DURATION_S
from ..devices import parse_device
from ._model_options import add_model_options, load_tracker_from_args
from ._options import float_arg, osc_target, path_arg
from .audio_options import add_input_option, add_output_option, add_torch_device_option, torch_device


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "listen",
        help="track live audio from a microphone, system audio or a file, headless",
        description="Track where live music sits on the valence-arousal plane, headless: one "
        "line per 500 ms frame (time, raw arousal and valence with their percentile among the "
        "reference music, and a mood word; '(silence)' below -60 dBFS). Ctrl-C ends with a "
        "summary. The first frames are marked 'warming up' while the model's context is "
        "padded (musicnn: 3 s; the poster's networks: 30 s).",
        epilog="examples: emotrack listen  |  emotrack listen --source system  |  "
        "emotrack listen song.mp3 --csv song.csv  |  emotrack listen --jsonl - --osc 127.0.0.1:9000",
    )
    p.add_argument("file", nargs="?", metavar="FILE", type=path_arg,
                   help="audio file to play and analyse (implies --source file)")
    p.add_argument("--source", choices=("mic", "system", "file"),
                   help="what to listen to (default: file when FILE is given, else mic)")
    add_input_option(p, help="mic: PortAudio input index or name part (or a PulseAudio/PipeWire "
                     "source name); system: monitor source name (default: the default input, "
                     "or the default output's monitor)")
    add_output_option(p)
    add_torch_device_option(p)
    add_model_options(p)
    p.add_argument("--csv", metavar="PATH", type=path_arg,
                   help="also write results as CSV; during the run the rows grow in a part file "
                   "beside it (o.part.csv for o.csv) that replaces it when the run ends")
    p.add_argument("--jsonl", metavar="PATH|-", type=path_arg,
                   help="also write results as JSON lines ('-' = standard output instead of "
                   "the readable lines; a file grows as NAME.part.jsonl like --csv)")
    p.add_argument("--osc", metavar="HOST:PORT", type=osc_target,
                   help="send each result as OSC message /emotrack/va "
                   "(arousal, valence, time_s, warming_up) over UDP")
    p.add_argument("--duration", type=float_arg(0.0, MAX_DURATION_S, lo_open=True), metavar="S",
                   help="analyse exactly the first S seconds of audio (floor(2*S) frames, every one "
                   "published and written), then stop (at most 7 days)")
    p.add_argument("--no-playback", action="store_true",
                   help="file: analyse without playing (for machines without audio output)")
    p.add_argument("--fast", action="store_true",
                   help="file with --no-playback: as fast as possible instead of real time")
    p.add_argument("--record", metavar="WAV", type=path_arg,
                   help="tee the analysed audio to this file (re-analyse it later offline; grows "
                   "as NAME.part.wav like --csv)")
    p.add_argument("--quiet", action="store_true", help="no per-result lines, only the summary")
    p.set_defaults(handler=run)


def make_source(args: argparse.Namespace):
    """The Source the options ask for (not yet opened)."""
    from ..sources import FileSource, MicSource, SystemAudioSource

    kind = args.source or ("file" if args.file else "mic")
    if kind == "file":
        if not args.file:
            raise ParameterError("--source file needs a FILE argument")
        if args.input is not None:
            raise ParameterError(f"--input {args.input!r} chooses a microphone or system-audio "
                                 "source; a FILE is played through --output NAME|INDEX")
        if args.output is not None and args.no_playback:
            raise ParameterError(f"--output {args.output!r} has no use with --no-playback")
        return FileSource(args.file, playback=not args.no_playback,
                          realtime=not args.fast, device=parse_device(args.output))
    if args.file:
        raise ParameterError(f"FILE is only used with --source file, not --source {kind}")
    if args.no_playback or args.fast:
        raise ParameterError("--no-playback and --fast only apply to files")
    if args.output is not None:
        raise ParameterError(f"--output is the playback device for files; --source {kind} is "
                             "not played. Choose what to capture with --input NAME|INDEX")
    if kind == "system":
        return SystemAudioSource(args.input)
    return MicSource(parse_device(args.input))


def load_live_tracker(args: argparse.Namespace):
    """The tracker the options ask for, set up for live use (one torch thread on CPU)."""
    tracker = load_tracker_from_args(args)
    if str(tracker.device) == "cpu":
        # One frame every 500 ms is a tiny batch: torch's intra-op pool only adds wake-ups.
        # Measured (tests/bench/bench_pipeline.py, docs/realtime.md) with the rnn: 1 thread
        # 5 % CPU and 7.8 ms median latency, 2 threads 15 % and 43 ms.
        import torch

        torch.set_num_threads(1)
    return tracker


def check_outputs(args: argparse.Namespace) -> list:
    """Check --csv/--jsonl/--record before anything is opened (see realtime/outputs/checks.py)."""
    from ..outputs.checks import check_output_paths, check_record_format

    targets = check_output_paths(
        {"--csv": args.csv, "--jsonl": None if args.jsonl == "-" else args.jsonl,
         "--record": args.record},
        inputs=[args.file] if args.file else [])
    if args.record:
        check_record_format(args.record, option="--record")
    return targets


def summary(m) -> str:
    """The closing summary line of a run."""
    def ms(v: float) -> str:
        return "n/a" if math.isnan(v) else f"{v:.1f} ms"

    return (f"{m.audio_seconds:.1f} s of audio in {m.wall_seconds:.1f} s from {m.source}; "
            f"{m.frames_in} frames, {m.results_out} results ({m.silent_frames} silent), "
            f"{m.frames_discarded} discarded at stop; overruns: "
            f"{m.callback_overruns} callback, {m.ring_overruns} ring samples; "
            f"dropped results {m.dropped_results}; latency p50 {ms(m.latency_ms_p50)}, "
            f"p99 {ms(m.latency_ms_p99)}; CPU {m.cpu_percent:.1f} % of one core "
            f"(model {m.model_name} on {m.device})")


def _write_failed(error: BaseException | None, path: str | None) -> bool:
    """Whether ``error`` is a failed write of the file ``path`` (an OutputError naming it)."""
    from ...model.errors import OutputError

    return path is not None and isinstance(error, OutputError) and f"'{path}'" in str(error)


def run(args: argparse.Namespace) -> int:
    from ..engine import Engine, EngineConfig
    from ..printable import printable
    from ..outputs.live import LiveOutputs
    from ..outputs.sets import OscSender, format_line
    from ..termination import terminate_as_interrupt

    torch_device(args.device)  # '--device 3' means an audio device: say so before opening any
    # Everything is checked before any output file is touched; files are created last.
    source = make_source(args)
    targets = check_outputs(args)
    outputs = LiveOutputs(targets, jsonl_stdout=args.jsonl == "-",
                          osc=OscSender(args.osc) if args.osc else None)
    try:
        source.open()  # a bad device or file fails here, before the model loads
        tracker = load_live_tracker(args)
    except BaseException:
        outputs.discard()
        raise
    show_lines = not args.quiet and args.jsonl != "-"
    with terminate_as_interrupt():
        outputs.open(tuple(tracker.extra_names))
        try:
            engine = Engine(source, tracker, EngineConfig(record_path=outputs.record_part,
                                                          max_seconds=args.duration))
            sub = engine.subscribe(maxlen=4096)
            print(printable(f"emotrack: listening to {source.description} with model "
                            f"{tracker.name} on {tracker.device}; Ctrl-C to stop"), file=sys.stderr)
            if outputs.files:
                print(printable(f"emotrack: writing {outputs.describe()}"), file=sys.stderr)
            engine.start()
        except BaseException:  # the run never started: the earlier files stay as they were
            outputs.discard()
            raise

        def emit(results) -> None:
            for r in results:
                if show_lines:
                    print(format_line(r), flush=True)
                outputs.write(r)

        try:
            while not engine.finished.is_set():  # --duration ends the run inside the engine
                sub.wait(1.0)  # results, or the engine finishing, wake it at once
                emit(sub.drain())
        except KeyboardInterrupt:
            pass
        finally:
            if not engine.stop():
                engine.join(30.0)  # the process ends next: never with a worker inside torch
            try:
                emit(sub.drain())
            finally:
                if _write_failed(engine.error, outputs.record_part):
                    outputs.mark_failed("--record")  # a partial recording never replaces one
                outputs.commit()
                for part in outputs.kept_parts:
                    print(printable(f"emotrack: '{part}' kept as it is (its writes failed); the "
                                    "file it was to replace is unchanged"), file=sys.stderr)
    osc_summary = f"; {outputs.osc.summary()}" if outputs.osc is not None else ""
    print(printable(f"emotrack: {summary(engine.metrics())}{osc_summary}"), file=sys.stderr)
    chatter = getattr(source, "chatter", None)
    note = chatter.note() if chatter is not None and engine.error is None else None
    if note:
        print(printable(f"emotrack: note: '{source.path}': {note}"), file=sys.stderr)
    if engine.error is None and outputs.close_errors:  # a file's last flush failed
        raise outputs.close_errors[0]
    if engine.error is not None:
        if isinstance(engine.error, EmotrackError):
            raise engine.error
        print(engine.error_traceback or repr(engine.error), file=sys.stderr, end="")
        print(f"emotrack: error: internal error: {engine.error}", file=sys.stderr)
        return 1
    return 0
