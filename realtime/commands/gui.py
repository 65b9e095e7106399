"""``emotrack gui``: open the desktop app (live valence-arousal view)."""
from __future__ import annotations

import argparse

from ._stub import register_stub


def register(sub: argparse._SubParsersAction) -> None:
    register_stub(sub, "gui", "open the desktop app (live valence-arousal view)", "the desktop-app issue")
