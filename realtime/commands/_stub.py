"""Placeholder for subcommands whose issue has not landed yet.

A stub says so clearly and exits with status 2; it never pretends to work.
"""
from __future__ import annotations

import argparse
import sys


def register_stub(sub: argparse._SubParsersAction, name: str, help_text: str, issue: str) -> None:
    """Add a subcommand that only reports it is not implemented yet."""
    p = sub.add_parser(name, help=f"{help_text} [not implemented yet]",
                       description=f"{help_text[:1].upper() + help_text[1:]}. Not implemented yet: {issue}.")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def run(args: argparse.Namespace) -> int:
        print(f"emotrack {name}: not implemented yet ({issue})", file=sys.stderr)
        return 2

    p.set_defaults(handler=run)
