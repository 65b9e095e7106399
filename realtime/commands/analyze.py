"""``emotrack analyze``: analyse audio files offline and write CSV/JSON/PNG trajectories."""
from __future__ import annotations

import argparse

from ._stub import register_stub


def register(sub: argparse._SubParsersAction) -> None:
    register_stub(sub, "analyze", "analyse audio files offline and write CSV/JSON/PNG trajectories", "the model issue")
