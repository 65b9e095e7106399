"""Shared pytest configuration (the lead owns this file; areas add one import line each)."""
from __future__ import annotations

from pathlib import Path

#: /work/shared (the CI clone has shared/ beside the repository).
SHARED = Path(__file__).resolve().parents[1].parent / "shared"

from fixtures_realtime import *  # noqa: E402,F401,F403
