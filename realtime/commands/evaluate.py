"""``emotrack evaluate``: evaluate a checkpoint against human annotations."""
from __future__ import annotations

import argparse

from ._stub import register_stub


def register(sub: argparse._SubParsersAction) -> None:
    register_stub(sub, "evaluate", "evaluate a checkpoint against human annotations", "the training issue")
