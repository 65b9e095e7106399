"""The ``emotrack`` console command: a thin dispatcher over ``realtime/commands``.

Every subcommand lives in its own module (``commands/<name>.py``) with a
``register(subparsers)`` function.  Every option value is checked by its
argparse ``type=`` converter (``commands/_options.py``) before any work starts.

Exit status and messages: a usage error (unknown option, a value an option
refuses) prints one line ``emotrack: error: argument --x: ...`` and exits with
status 2 (argparse's convention for usage errors); errors from the
:class:`EmotrackError` family and ``OSError`` (a file that cannot be read or
written) print one line ``emotrack: error: ...`` and exit with status 1;
Ctrl-C exits with 130.  No user mistake ever shows a traceback.  No subcommand imports train/ or Qt at start-up: the
``train``/``evaluate`` handlers import train/ lazily, the GUI handler imports Qt.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from importlib import metadata

from ..model.errors import EmotrackError

#: Subcommand modules in the order ``--help`` lists them.
COMMANDS = ("gui", "listen", "analyze", "devices", "train", "evaluate")


def version() -> str:
    """The installed distribution's version."""
    try:
        return metadata.version("emotrack")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


_MAX_USAGE_MESSAGE = 400


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, ``emotrack: error: ...``, exit status 2.

    Subcommand parsers inherit the class (argparse creates them with the parent's class).
    """

    def error(self, message: str):  # type: ignore[override]
        from .printable import printable

        text = printable(" ".join(message.split()))  # a value may hold escapes: never raw
        if len(text) > _MAX_USAGE_MESSAGE:
            text = text[:_MAX_USAGE_MESSAGE] + "..."
        self.exit(2, f"emotrack: error: {text} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used to render docs)."""
    parser = OneLineErrorParser(
        prog="emotrack",
        description="Track where music sits on Russell's valence-arousal plane, live at 2 Hz, "
        "from a microphone, system audio or a file. With no subcommand the desktop app opens.",
        epilog="Run 'emotrack SUBCOMMAND --help' for each subcommand's options.",
    )
    parser.add_argument("--version", action="version", version=f"emotrack {version()}")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.commands.{name}").register(sub)
    return parser


_OUT_OF_MEMORY = ("out of memory{where}: the address space allowed ('ulimit -v') is too small "
                  "for torch and the model (about 1.6 GB is enough); raise the limit or free memory")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``emotrack`` console script; returns the exit status."""
    from .printable import printable, safe_streams

    safe_streams()  # PYTHONIOENCODING=ascii, LANG=C: a name is printed with escapes, never a traceback
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        from .environment import prepare_environment

        prepare_environment()  # before numba, matplotlib or torch load (read-only HOME, MPLBACKEND...)
        parser = build_parser()
    except EmotrackError as exc:
        print(f"emotrack: error: {exc}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"emotrack: error: {_OUT_OF_MEMORY.format(where=' while starting')}", file=sys.stderr)
        return 1
    args = parser.parse_args(argv or ["gui"])
    try:
        return int(args.handler(args) or 0)
    except MemoryError:  # an address-space limit (ulimit -v) below what torch needs to load
        print(f"emotrack: error: {_OUT_OF_MEMORY.format(where='')}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # torch's allocator, or no memory left for a thread's stack
        if not _is_memory_error(exc):
            raise
        print(f"emotrack: error: {_OUT_OF_MEMORY.format(where='')}", file=sys.stderr)
        return 1
    except ImportError as exc:
        if not _is_memory_error(exc):
            raise
        where = f" loading {exc.name or 'a library'}"
        print(f"emotrack: error: {_OUT_OF_MEMORY.format(where=where)}", file=sys.stderr)
        return 1
    except EmotrackError as exc:
        print(printable(f"emotrack: error: {exc}"), file=sys.stderr)
        return 1
    except OSError as exc:  # a file the job needed could not be read or written (disk full...)
        where = f"'{exc.filename}': " if exc.filename else ""
        print(printable(f"emotrack: error: {where}{exc.strerror or exc}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("emotrack: interrupted", file=sys.stderr)
        return 130


def _is_memory_error(exc: Exception) -> bool:
    """Whether an ImportError (the loader) or RuntimeError (torch's allocator, a thread's
    stack) means the process ran out of address space (``ulimit -v``)."""
    text = str(exc).lower()
    return any(k in text for k in ("cannot allocate memory", "can't allocate memory",
                                   "failed to map segment", "out of memory", "memoryerror",
                                   "can't start new thread"))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
