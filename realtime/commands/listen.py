"""``emotrack listen``: track live audio from a microphone, system audio or a file, headless."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ...model.errors import CheckpointError, EmotrackError, ParameterError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "listen",
        help="track live audio from a microphone, system audio or a file, headless",
        description="Track where live music sits on the valence-arousal plane, headless: one "
        "line per 500 ms frame (time, arousal, valence, quadrant). Ctrl-C ends with a summary. "
        "The first 30 s are marked 'warming up' (the model's window is still padded).",
        epilog="examples: emotrack listen  |  emotrack listen --source system  |  "
        "emotrack listen song.mp3 --csv song.csv  |  emotrack listen --jsonl - --osc 127.0.0.1:9000",
    )
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="audio file to play and analyse (implies --source file)")
    p.add_argument("--source", choices=("mic", "system", "file"),
                   help="what to listen to (default: file when FILE is given, else mic)")
    p.add_argument("--device", metavar="NAME|INDEX",
                   help="mic: PortAudio input index or name part (or a PulseAudio source name); "
                   "system: monitor source name; file: output device for playback. "
                   "See 'emotrack devices'")
    p.add_argument("--checkpoint", metavar="CKPT",
                   help="model checkpoint (default: the one shipped with emotrack)")
    p.add_argument("--csv", metavar="PATH",
                   help="also write results as CSV; during the run the rows grow in a part file "
                   "beside it (o.part.csv for o.csv) that replaces it when the run ends")
    p.add_argument("--jsonl", metavar="PATH|-",
                   help="also write results as JSON lines ('-' = standard output instead of "
                   "the readable lines; a file grows as NAME.part.jsonl like --csv)")
    p.add_argument("--osc", metavar="HOST:PORT",
                   help="send each result as OSC message /emotrack/va "
                   "(arousal, valence, time_s, warming_up) over UDP")
    p.add_argument("--duration", type=float, metavar="S",
                   help="stop after S seconds of audio")
    p.add_argument("--no-playback", action="store_true",
                   help="file: analyse without playing (for machines without audio output)")
    p.add_argument("--fast", action="store_true",
                   help="file with --no-playback: as fast as possible instead of real time")
    p.add_argument("--record", metavar="WAV",
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
        return FileSource(args.file, playback=not args.no_playback,
                          realtime=not args.fast, device=_device(args.device))
    if args.file:
        raise ParameterError(f"FILE is only used with --source file, not --source {kind}")
    if args.no_playback or args.fast:
        raise ParameterError("--no-playback and --fast only apply to files")
    if kind == "system":
        return SystemAudioSource(args.device)
    return MicSource(_device(args.device))


def _device(text: str | None) -> int | str | None:
    if text is None:
        return None
    return int(text) if text.strip().isdigit() else text


def load_predictor(checkpoint: str | None):
    """``Predictor.from_checkpoint`` with one-line errors for a missing model or checkpoint."""
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise CheckpointError(f"checkpoint not found: '{checkpoint}'")
    try:
        from ...model.predictor import Predictor
    except ImportError as exc:
        raise CheckpointError(f"this emotrack installation has no model code ({exc}); "
                              "reinstall emotrack") from None
    predictor = Predictor.from_checkpoint(checkpoint, device="auto")
    if str(predictor.device) == "cpu":
        # One frame every 500 ms is a tiny batch: torch's intra-op pool only adds wake-ups.
        # Measured (tests/bench/bench_pipeline.py, docs/realtime.md): 1 thread 5 % CPU and
        # 7.8 ms median latency, 2 threads 15 % and 43 ms.
        import torch

        torch.set_num_threads(1)
    return predictor


def check_outputs(args: argparse.Namespace) -> list:
    """Check --csv/--jsonl/--record before anything is opened (see realtime/output_checks.py)."""
    from ..output_checks import check_output_paths, check_record_format

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
            f"{m.frames_in} frames, {m.results_out} results; overruns: "
            f"{m.callback_overruns} callback, {m.ring_overruns} ring samples; "
            f"dropped results {m.dropped_results}; latency p50 {ms(m.latency_ms_p50)}, "
            f"p99 {ms(m.latency_ms_p99)}; CPU {m.cpu_percent:.1f} % of one core "
            f"(model {m.model_name} on {m.device})")


def run(args: argparse.Namespace) -> int:
    from ..engine import Engine, EngineConfig
    from ..live_outputs import LiveOutputs
    from ..outputs import OscSender, format_line
    from ..termination import terminate_as_interrupt

    if args.duration is not None and not args.duration > 0:
        raise ParameterError(f"--duration must be a positive number of seconds, got {args.duration}")
    # Everything is checked before any output file is touched; files are created last.
    source = make_source(args)
    targets = check_outputs(args)
    outputs = LiveOutputs(targets, jsonl_stdout=args.jsonl == "-",
                          osc=OscSender(args.osc) if args.osc else None)
    try:
        source.open()  # a bad device or file fails here, before the model loads
        predictor = load_predictor(args.checkpoint)
    except BaseException:
        outputs.discard()
        raise
    show_lines = not args.quiet and args.jsonl != "-"
    with terminate_as_interrupt():
        outputs.open()
        try:
            engine = Engine(source, predictor, EngineConfig(record_path=outputs.record_part))
            sub = engine.subscribe(maxlen=4096)
            print(f"emotrack: listening to {source.description} with model "
                  f"{predictor.model_name} on {predictor.device}; Ctrl-C to stop", file=sys.stderr)
            if outputs.files:
                print(f"emotrack: writing {outputs.describe()}", file=sys.stderr)
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
            while not engine.finished.is_set():
                sub.wait(0.1)
                emit(sub.drain())
                if args.duration is not None and engine.metrics().audio_seconds >= args.duration:
                    break
        except KeyboardInterrupt:
            pass
        finally:
            engine.stop()
            emit(sub.drain())
            outputs.commit()
    osc_summary = f"; {outputs.osc.summary()}" if outputs.osc is not None else ""
    print(f"emotrack: {summary(engine.metrics())}{osc_summary}", file=sys.stderr)
    if engine.error is not None:
        if isinstance(engine.error, EmotrackError):
            raise engine.error
        print(engine.error_traceback or repr(engine.error), file=sys.stderr, end="")
        print(f"emotrack: error: internal error: {engine.error}", file=sys.stderr)
        return 1
    return 0
