"""``emotrack gui`` without a display: one error line, decided before Qt starts (no abort)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from emotrack.realtime.gui.display import display_problem

NO_DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


@pytest.mark.parametrize("argv", [[], ["gui"], ["gui", "--fps", "30"]])
def test_no_display_is_one_error_line_saying_what_to_do(argv):
    env = {k: v for k, v in os.environ.items() if k not in NO_DISPLAY_VARS}
    proc = subprocess.run([sys.executable, "-m", "emotrack.realtime.cli", *argv], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)  # Qt's abort would be 134 (-6)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotrack: error: no display"), proc.stderr
    for advice in ("emotrack listen", "QT_QPA_PLATFORM=offscreen", "X server", "Wayland"):
        assert advice in lines[0]


@pytest.mark.parametrize("env", [
    {"DISPLAY": ":0"},
    {"WAYLAND_DISPLAY": "wayland-0"},
    {"QT_QPA_PLATFORM": "offscreen"},
    {"QT_QPA_PLATFORM": "offscreen:size=800x600"},
    {"QT_QPA_PLATFORM": "vnc"},
    {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":1"},
    {"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":1"},
    {"QT_QPA_PLATFORM": "wayland-egl", "WAYLAND_DISPLAY": "wayland-1"},
])
def test_a_display_qt_can_use_is_no_problem(env):
    assert display_problem(env, platform="linux") is None


@pytest.mark.parametrize("env, unset", [
    ({}, "DISPLAY and WAYLAND_DISPLAY are not set"),
    ({"DISPLAY": ""}, "DISPLAY and WAYLAND_DISPLAY are not set"),
    ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "DISPLAY is not set"),
    ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "WAYLAND_DISPLAY is not set"),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, "WAYLAND_DISPLAY and DISPLAY are not set"),
])
def test_a_missing_display_names_what_is_missing(env, unset):
    message = display_problem(env, platform="linux")
    assert unset in message and "emotrack listen" in message


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_macos_and_windows_always_have_a_display(platform):
    assert display_problem({}, platform=platform) is None
