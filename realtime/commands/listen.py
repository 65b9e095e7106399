"""``emotrack listen``: track live audio from a microphone, system audio or a file, headless."""
from __future__ import annotations

import argparse
import math
import sys

from ...model.errors import CheckpointError, EmotrackError, ParameterError
from ...model.validate import MAX_DURATION_S, check_input_file
from ._options import audio_device, float_arg, osc_target, path_arg


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
    p.add_argument("file", nargs="?", metavar="FILE", type=path_arg,
                   help="audio file to play and analyse (implies --source file)")
    p.add_argument("--source", choices=("mic", "system", "file"),
                   help="what to listen to (default: file when FILE is given, else mic)")
    p.add_argument("--device", metavar="NAME|INDEX", type=audio_device,
                   help="mic: PortAudio input index or name part (or a PulseAudio source name); "
                   "system: monitor source name; file: output device for playback. "
                   "See 'emotrack devices'")
    p.add_argument("--checkpoint", metavar="CKPT", type=path_arg,
                   help="model checkpoint (default: the one shipped with emotrack)")
    p.add_argument("--csv", metavar="PATH", type=path_arg, help="also write results as CSV")
    p.add_argument("--jsonl", metavar="PATH|-", type=path_arg,
                   help="also write results as JSON lines ('-' = standard output instead of "
                   "the readable lines)")
    p.add_argument("--osc", metavar="HOST:PORT", type=osc_target,
                   help="send each result as OSC message /emotrack/va "
                   "(arousal, valence, time_s, warming_up) over UDP")
    p.add_argument("--duration", type=float_arg(0.0, MAX_DURATION_S, lo_open=True), metavar="S",
                   help="stop after S seconds of audio (at most 7 days)")
    p.add_argument("--no-playback", action="store_true",
                   help="file: analyse without playing (for machines without audio output)")
    p.add_argument("--fast", action="store_true",
                   help="file with --no-playback: as fast as possible instead of real time")
    p.add_argument("--record", metavar="WAV", type=path_arg,
                   help="tee the analysed audio to this file (re-analyse it later offline)")
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
                          realtime=not args.fast, device=args.device)
    if args.file:
        raise ParameterError(f"FILE is only used with --source file, not --source {kind}")
    if args.no_playback or args.fast:
        raise ParameterError("--no-playback and --fast only apply to files")
    if kind == "system":
        return SystemAudioSource(None if args.device is None else str(args.device))
    return MicSource(args.device)


def load_predictor(checkpoint: str | None):
    """``Predictor.from_checkpoint`` with one-line errors for a missing model or checkpoint."""
    if checkpoint is not None:
        check_input_file(checkpoint, what="checkpoint", error=CheckpointError)
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


def _open_outputs(args: argparse.Namespace) -> list:
    from ..outputs import CsvWriter, JsonlWriter, OscSender

    outputs = []
    try:
        if args.csv:
            outputs.append(CsvWriter(args.csv))
        if args.jsonl:
            outputs.append(JsonlWriter(args.jsonl))
        if args.osc:
            outputs.append(OscSender(args.osc))
    except EmotrackError:
        for o in outputs:
            o.discard()
        raise
    return outputs


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
    from ..outputs import format_line

    source = make_source(args)
    source.open()  # a bad device or file fails here, before the model loads
    if args.record:
        from ...model.validate import writable_file

        writable_file(args.record, what="recording")
    outputs = _open_outputs(args)
    try:
        predictor = load_predictor(args.checkpoint)
    except BaseException:
        for o in outputs:
            o.discard()
        raise
    show_lines = not args.quiet and args.jsonl != "-"
    engine = Engine(source, predictor, EngineConfig(record_path=args.record))
    sub = engine.subscribe(maxlen=4096)

    def emit(results) -> None:
        for r in results:
            if show_lines:
                print(format_line(r), flush=True)
            for o in outputs:
                o.write(r)

    print(f"emotrack: listening to {source.description} with model {predictor.model_name} "
          f"on {predictor.device}; Ctrl-C to stop", file=sys.stderr)
    try:
        engine.start()
    except BaseException:  # the run never started: no output files left behind
        for o in outputs:
            o.discard()
        raise
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
        for o in outputs:
            o.close()
    print(f"emotrack: {summary(engine.metrics())}", file=sys.stderr)
    if engine.error is not None:
        if isinstance(engine.error, EmotrackError):
            raise engine.error
        print(engine.error_traceback or repr(engine.error), file=sys.stderr, end="")
        print(f"emotrack: error: internal error: {engine.error}", file=sys.stderr)
        return 1
    return 0
