"""``emotrack gui [FILE]``: open the desktop app (live valence-arousal view)."""
from __future__ import annotations

import argparse

from ...model.errors import EmotrackError, ParameterError
from ...model.validate import check_input_file
from ._model_options import add_model_options
from ._options import int_arg, path_arg
from .audio_options import add_input_option, add_output_option, add_torch_device_option, torch_device


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gui",
        help="open the desktop app (live valence-arousal view); the default with no subcommand",
        description="Open the desktop app: Russell's valence-arousal plane with a fading trail, "
        "arousal and valence over time, and a source bar (microphones, system audio, files). "
        "Needs the 'gui' extra: pip install 'emotrack[gui]'.",
    )
    p.add_argument("file", nargs="?", type=path_arg, help="audio file to play and analyse at start "
                   "(default: the source used last time)")
    add_model_options(p)
    add_torch_device_option(p)
    add_input_option(p, help="open this microphone or system-audio source at start instead of "
                     "the one used last time: a PortAudio input index or name part, a "
                     "PulseAudio/PipeWire source or monitor name")
    add_output_option(p)
    p.add_argument("--no-playback", action="store_true",
                   help="analyse files without playing them. Without an audio output the app "
                   "does this by itself (and says so)")
    p.add_argument("--fps", type=int_arg(5, 60), default=25, metavar="N",
                   help="redraw rate of the plots, 5-60 (default: 25)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.file is not None:
        check_input_file(args.file)  # missing, a folder, a device...: one line before Qt starts
    if args.file is not None and args.input is not None:
        raise ParameterError(f"give FILE or --input {args.input!r}, not both: the app starts "
                             "with one source")
    device = torch_device(args.device)
    from ..gui.display import display_problem

    problem = display_problem()  # before Qt starts: without a display Qt aborts (exit 134)
    if problem:
        raise EmotrackError(problem)
    try:
        import pyqtgraph  # noqa: F401
        from PyQt6 import QtWidgets  # noqa: F401
    except ImportError as exc:
        raise EmotrackError(f"the desktop app needs PyQt6 and pyqtgraph ({exc}); install them with "
                            "\"pip install 'emotrack[gui]'\"") from None
    from ..gui.app import run_app
    from ..gui.backend import BackendConfig

    config = BackendConfig(model=args.model, checkpoint=args.checkpoint, device=device,
                           playback=not args.no_playback, output=args.output)
    return run_app(config=config, initial_file=args.file, initial_input=args.input, fps=args.fps)
