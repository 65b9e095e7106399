"""Every option of every subcommand, with hostile values: one error line, never a traceback.

The options are enumerated from the real parser (``cli.build_parser``), so an option
added later is covered without touching this file.  Each subcommand runs with a
command line that fails fast *after* option validation (a missing input file or
dataset), so a hostile value that an option rightly accepts (``0`` as a seed, ``nan``
as a folder name) cannot start long work: it ends at the missing input with one line.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys

import pytest

from emotrack.realtime import cli

HOSTILE = ("-1", "0", "nan", "inf", "-inf", "1e309", "99999999999999999999", "\u0661\u0662",
           "", " ", "x" * 5000, "cuda:99", "cpu:-1", "a:b:c")
"""Negative, zero, NaN, infinities, huge and non-ASCII integers, empty, blank, very long,
and device-like strings."""


def base_commands(tmp) -> dict[str, tuple[list[str], dict[str, list[str]]]]:
    """Per subcommand: (argv before the hostile option, default positionals by dest).

    Every argv fails fast once its options are accepted (missing input). A subcommand
    added to the CLI must get an entry here (the test says so).
    """
    missing_wav = str(tmp / "missing.wav")
    data = f"emomusic:{tmp / 'no-dataset'}"
    return {
        "gui": (["gui"], {"file": [missing_wav]}),
        "listen": (["listen", "--no-playback", "--fast"], {"file": [missing_wav]}),
        "analyze": (["analyze", "--out", str(tmp / "out")], {"files": [missing_wav]}),
        "devices": (["devices"], {}),
        "train": (["train", "--data", data, "--out", str(tmp / "m.safetensors")], {}),
        "evaluate": (["evaluate", "--data", data], {"checkpoint": [str(tmp / "none.safetensors")]}),
    }


#: Subcommands whose base command line can succeed (nothing to leave missing).
MAY_SUCCEED = {"devices"}


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def value_actions(sp: argparse.ArgumentParser) -> list[argparse.Action]:
    """Every action of a subparser that takes a value (flags and --help excluded)."""
    return [a for a in sp._actions if a.nargs != 0 and a.dest != argparse.SUPPRESS
            and not isinstance(a, (argparse._HelpAction, argparse._VersionAction))]


def hostile_argv(name: str, action: argparse.Action, value: str, tmp) -> list[str]:
    prefix, positionals = base_commands(tmp)[name]
    n = action.nargs if isinstance(action.nargs, int) else 1
    if action.option_strings:
        opt = action.option_strings[-1]
        option = [f"{opt}={value}"] if n == 1 else [opt, *[value] * n]
        rest = [v for dest, vals in positionals.items() for v in vals]
        return [*prefix, *option, "--", *rest]
    positionals = {**positionals, action.dest: [value]}
    return [*prefix, "--", *[v for vals in positionals.values() for v in vals]]


def run_in_process(argv: list[str]) -> tuple[object, str]:
    """(exit status or the exception that escaped, stderr) of ``cli.main(argv)``."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            status: object = cli.main(argv)
        except SystemExit as stop:
            status = stop.code
        except BaseException as exc:  # noqa: BLE001 - what a user would see as a traceback
            status = f"uncaught {type(exc).__name__}: {exc}"[:300]
    return status, err.getvalue()


def problem(name: str, status: object, err: str) -> str | None:
    """What is wrong with one run's outcome, or None."""
    if not isinstance(status, int):
        return str(status)
    if "Traceback" in err:
        return "traceback: " + err[-300:]
    if status == 0:
        return None if name in MAY_SUCCEED else "exit status 0 for a command line that must fail"
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("emotrack: error:")]
    if len(errors) != 1 or any(not line.startswith("emotrack:") for line in lines):
        return f"expected one 'emotrack: error:' line, got: {err[-400:]!r}"
    return None


def test_every_subcommand_has_a_failing_base_command(tmp_path):
    missing = set(subcommands()) - set(base_commands(tmp_path))
    assert not missing, f"add a base command line for {sorted(missing)} in base_commands()"


def test_every_option_of_every_subcommand_refuses_hostile_values_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # options that accept a value as a name create folders here
    failures, cases = [], 0
    for name, sp in subcommands().items():
        for action in value_actions(sp):
            for value in HOSTILE:
                argv = hostile_argv(name, action, value, tmp_path)
                status, err = run_in_process(argv)
                cases += 1
                why = problem(name, status, err)
                if why:
                    failures.append(f"{name} {action.option_strings or action.dest} {value[:20]!r}: {why}")
    assert cases > 400  # the enumeration really ran over the options
    assert not failures, f"{len(failures)} of {cases} cases failed:\n" + "\n".join(failures[:40])


@pytest.mark.parametrize("argv", [
    ["gui", "--fps=nan", "missing.wav"],
    ["listen", "--device=99999999999999999999", "--source", "mic"],
    ["listen", "--device=\u0661\u0662", "--source", "mic"],
    ["listen", "--osc=" + "a" * 300 + ":9000", "missing.wav"],
    ["analyze", "--device=cpu:-1", "missing.wav"],
    ["analyze", "--device=cuda:99999", "missing.wav"],
    ["train", "--seed=-1", "--data", "emomusic:nowhere", "--out", "m.safetensors"],
    ["train", "--hparams=" + "[" * 5000, "--data", "emomusic:nowhere", "--out", "m.safetensors"],
])
def test_real_entry_point_prints_one_line(argv, tmp_path):
    """A sample through the real interpreter entry point (stderr of the process itself)."""
    proc = subprocess.run([sys.executable, "-m", "emotrack.realtime.cli", *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert proc.returncode in (1, 2), proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotrack: error:"), proc.stderr


@pytest.mark.parametrize("device, message", [
    ("cuda:99", "has 1 CUDA device"), ("cuda:1", "has 1 CUDA device"),
    ("cpu:-1", "must be auto, cpu, cuda"), ("meta", "must be auto, cpu, cuda"), ("garbage", "must be auto"),
])
def test_torch_device_is_checked_against_this_machine(monkeypatch, device, message):
    """On a one-GPU machine 'cuda:99' was accepted and failed at the first tensor (a traceback)."""
    import torch

    from emotrack.model.errors import EmotrackError
    from emotrack.model.trackers import resolve_device as _resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(EmotrackError, match=message):
        _resolve_device(device)
    assert _resolve_device("cuda:0") == "cuda:0" and _resolve_device("auto") == "cuda"


def test_audio_device_values(monkeypatch):
    from emotrack.model.errors import ParameterError
    from emotrack.model.validate import valid_audio_device

    assert valid_audio_device("3") == 3 and valid_audio_device(" pulse ") == "pulse"
    assert valid_audio_device("Mic \u0663") == "Mic \u0663"  # a name may hold any script
    for bad in ("-1", "1024", "99999999999999999999", "\u0661\u0662", "", "  ", "x" * 300, -1, True):
        with pytest.raises(ParameterError):
            valid_audio_device(bad)


def test_an_osc_host_with_an_overlong_label_is_one_line(capsys):
    """A 64-character DNS label made getaddrinfo raise UnicodeError: a traceback on main."""
    from emotrack.model.errors import ParameterError
    from emotrack.realtime.outputs.sets import OscSender

    with pytest.raises(ParameterError, match="cannot be resolved"):
        OscSender("a" * 64 + ".example:9000")
