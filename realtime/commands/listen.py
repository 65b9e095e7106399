"""``emotrack listen``: track live audio from a microphone, system audio or a file, headless."""
from __future__ import annotations

import argparse

from ._stub import register_stub


def register(sub: argparse._SubParsersAction) -> None:
    register_stub(sub, "listen", "track live audio from a microphone, system audio or a file, headless", "the real-time engine issue")
