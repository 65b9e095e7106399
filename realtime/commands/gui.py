"""``emotrack gui [FILE]``: open the desktop app (live valence-arousal view)."""
from __future__ import annotations

import argparse

from ...model.errors import EmotrackError
from ...model.validate import check_input_file
from ._options import int_arg, path_arg, torch_device


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
    p.add_argument("--checkpoint", metavar="PATH", type=path_arg,
                   help="model checkpoint (default: the one shipped in emotrack's assets)")
    p.add_argument("--device", default="auto", metavar="DEV", type=torch_device,
                   help="torch device for the model: auto, cpu, cuda, cuda:1 ... (default: auto)")
    p.add_argument("--no-playback", action="store_true",
                   help="analyse files without playing them (machines without an output device)")
    p.add_argument("--fps", type=int_arg(5, 60), default=25, metavar="N",
                   help="redraw rate of the plots, 5-60 (default: 25)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.file is not None:
        check_input_file(args.file)  # missing, a folder, a device...: one line before Qt starts
    try:
        import pyqtgraph  # noqa: F401
        from PyQt6 import QtWidgets  # noqa: F401
    except ImportError as exc:
        raise EmotrackError(f"the desktop app needs PyQt6 and pyqtgraph ({exc}); install them with "
                            "\"pip install 'emotrack[gui]'\"") from None
    from ..gui.app import run_app
    from ..gui.backend import BackendConfig

    config = BackendConfig(checkpoint=args.checkpoint, device=args.device,
                           playback=not args.no_playback)
    return run_app(config=config, initial_file=args.file, fps=args.fps)
