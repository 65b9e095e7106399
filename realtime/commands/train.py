"""``emotrack train``: train a model on emoMusic, DEAM or PMEmo."""
from __future__ import annotations

import argparse

from ._stub import register_stub


def register(sub: argparse._SubParsersAction) -> None:
    register_stub(sub, "train", "train a model on emoMusic, DEAM or PMEmo", "the training issue")
