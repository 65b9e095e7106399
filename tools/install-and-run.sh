#!/usr/bin/env bash
# Install emotrack on a fresh Debian/Ubuntu machine and run the main job on the bundled demo:
# the desktop app where a display exists, else a headless live trajectory in the terminal.
# Each step says what it does; pip shows its own progress (the first run downloads ~1 GB of
# wheels: torch's CPU build, PyQt6...).  A regular install, not an editable one: this is for
# running emotrack (developers: tools/install-and-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> [%s/4] %s\n' "$1" "$2"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PKGS=(libportaudio2 libsndfile1 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1
      libdbus-1-3 libxcb-cursor0)
# Debian and Ubuntu ship python3 without venv/ensurepip: 'python3 -m venv' fails without it.
if ! command -v python3 >/dev/null; then
    PKGS+=(python3 python3-venv)
elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    PKGS+=(python3-venv)
fi

step 1 "System libraries (apt-get): ${PKGS[*]}"
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${PKGS[@]}"

step 2 "Python virtual environment in ./.venv"
# A .venv left without pip (e.g. made before python3-venv was installed) is made again.
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
    python3 -m venv --clear .venv
fi
.venv/bin/python -m pip install -q --upgrade pip

step 3 "Python packages into ./.venv (torch CPU build, PyQt6, librosa...; a few minutes the first time)"
.venv/bin/python -m pip install --progress-bar on -c constraints-cpu.txt '.[gui]'

DEMO=assets/demo/revelation-excerpt.ogg
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    step 4 "Starting the desktop app (emotrack gui)"
    exec .venv/bin/emotrack gui "${@:-$DEMO}"
else
    # no display: print the live trajectory of the demo, paced in real time, without a sound card
    step 4 "No display: the live trajectory of the demo clip in the terminal (Ctrl-C stops)"
    exec .venv/bin/emotrack listen --source file --no-playback "${@:-$DEMO}"
fi
