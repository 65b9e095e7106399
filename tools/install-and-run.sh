#!/usr/bin/env bash
# Install emotrack on a fresh Debian/Ubuntu machine and run the main job on the bundled demo:
# the desktop app where a display exists, else a headless live trajectory in the terminal.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends libportaudio2 libsndfile1 \
    libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0 >/dev/null

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints-cpu.txt -e '.[gui]'
DEMO=assets/demo/revelation-excerpt.ogg
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    exec .venv/bin/emotrack gui "${@:-$DEMO}"
else
    # no display: print the live trajectory of the demo, paced in real time, without a sound card
    exec .venv/bin/emotrack listen --source file --no-playback "${@:-$DEMO}"
fi
