#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian/Ubuntu machine, then run it.
# System packages: PortAudio (sounddevice), libsndfile (soundfile), a PulseAudio server and
# its tools (the capture tests start a private server), Xvfb (GUI tests in a real X server).
# Python packages go into ./.venv; torch is pinned to the CPU build by constraints-cpu.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    libportaudio2 libsndfile1 pulseaudio pulseaudio-utils libasound2-plugins \
    xvfb xauth libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 \
    libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 >/dev/null

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints-cpu.txt -e '.[test]'
exec .venv/bin/python -m pytest "$@"
