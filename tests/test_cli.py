"""The ``emotrack`` command: help, version, stubs, ``devices`` and its error messages."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from emotrack.realtime import cli
from emotrack.realtime.commands._stub import register_stub


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m emotrack.realtime.cli ARGS`` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "emotrack.realtime.cli", *args],
                          capture_output=True, text=True, timeout=120,
                          env=env if env is not None else dict(os.environ))


def installed_console_script() -> Path:
    """Where installing emotrack into this interpreter's environment puts the ``emotrack`` script.

    In the README's ``.venv`` that is ``.venv/bin/emotrack``, which is not on PATH: looking
    the command up on PATH would find (or miss) whatever else is installed on the machine.
    """
    return Path(sysconfig.get_path("scripts")) / ("emotrack.exe" if os.name == "nt" else "emotrack")


def test_console_script_is_installed(tmp_path):
    exe = installed_console_script()
    assert exe.is_file(), f"installing emotrack should have created {exe}"
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.defpath, "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"emotrack {cli.version()}"


def test_help_lists_every_subcommand():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in cli.COMMANDS:
        assert f"\n    {name} " in proc.stdout


def test_every_subcommand_has_its_own_help():
    for name in cli.COMMANDS:
        proc = run_cli(name, "--help")
        assert proc.returncode == 0, (name, proc.stderr)
        assert proc.stdout.startswith(f"usage: emotrack {name}")
        assert "%%" not in proc.stdout, name  # argparse does not %-format a description: "%%" shows as is


def test_stub_says_it_is_not_implemented_and_fails(capsys):
    parser = argparse.ArgumentParser(prog="emotrack")
    register_stub(parser.add_subparsers(), "future", "do a future thing", "issue 99")
    args = parser.parse_args(["future", "song.mp3"])
    assert args.handler(args) == 2
    assert "not implemented yet (issue 99)" in capsys.readouterr().err


def test_user_errors_are_one_line_without_traceback(monkeypatch, capsys):
    from emotrack.model.errors import AudioFileError

    def boom(args):
        raise AudioFileError("song.wav: not an audio file")

    parser = cli.build_parser()
    parser._subparsers._group_actions[0].choices["devices"].set_defaults(handler=boom)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    assert cli.main(["devices"]) == 1
    err = capsys.readouterr().err
    assert err == "emotrack: error: song.wav: not an audio file\n"


def test_headless_commands_do_not_load_qt_or_train():
    code = ("import sys; from emotrack.realtime import cli; cli.build_parser(); "
            "bad = [m for m in sys.modules if m.startswith(('PyQt6', 'emotrack.train'))]; print(bad)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


@pytest.mark.audio_server
def test_devices_lists_monitor_sources_of_a_real_server(pulse_server):
    proc = run_cli("devices", env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert "test.monitor" in proc.stdout and "micfeed.monitor" in proc.stdout
    assert "pulse" in proc.stdout  # PortAudio's ALSA plugin device reaching the server


@pytest.mark.audio_server
def test_devices_lists_outputs_and_names_the_audio_options(pulse_server):
    text = run_cli("devices", env=dict(os.environ)).stdout
    outputs = text.split("Audio outputs")[1]
    assert "--output INDEX|NAME" in outputs and " pulse " in outputs
    assert "listen --input INDEX|NAME" in text and "--source system --input NAME" in text
    assert "--device" not in text  # --device is the torch device, not an audio device
    report = json.loads(run_cli("devices", "--json", env=dict(os.environ)).stdout)
    assert "pulse" in [d["name"] for d in report["outputs"]]


def test_devices_without_an_audio_server_explains(tmp_path):
    env = dict(os.environ, PULSE_SERVER=f"unix:{tmp_path}/no-such-socket", XDG_RUNTIME_DIR=str(tmp_path))
    proc = run_cli("devices", env=env)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "no PulseAudio/PipeWire server answered" in proc.stdout


def test_devices_without_pactl_says_what_to_install(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path), PULSE_SERVER=f"unix:{tmp_path}/none")
    proc = run_cli("devices", env=env)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "apt-get install pulseaudio-utils" in proc.stdout


def test_missing_portaudio_is_a_device_error(monkeypatch):
    import builtins

    from emotrack.model.errors import DeviceError
    from emotrack.realtime import devices

    real_import = builtins.__import__

    def no_portaudio(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    with pytest.raises(DeviceError, match="libportaudio2"):
        devices.list_input_devices()
