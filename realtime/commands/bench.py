"""``emotrack bench``: measure speed and memory of features, models and the live pipeline."""
from __future__ import annotations

import argparse

from ._stub import register_stub


def register(sub: argparse._SubParsersAction) -> None:
    register_stub(sub, "bench", "measure speed and memory of features, models and the live pipeline", "the benchmark sections of each issue")
