"""``.ci/run`` runs the README's test command in a clean environment.

The real test command installs packages and runs this suite, so here ``.ci/run`` is
copied beside a stand-in ``tools/install-and-test.sh`` that records what it was given.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_ci_with_recorder(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, dict[str, str], str]:
    root = tmp_path / "checkout"
    (root / ".ci").mkdir(parents=True)
    (root / "tools").mkdir()
    shutil.copy(REPO / ".ci" / "run", root / ".ci" / "run")
    record = tmp_path / "record"
    (root / "tools" / "install-and-test.sh").write_text(
        f'env -0 > "{record}.env"; echo "$PWD $*" > "{record}.args"; '
        f'ls -A "$HOME" > "{record}.home"; exit 3\n')
    proc = subprocess.run(["bash", str(root / ".ci" / "run")], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    seen = dict(item.split("=", 1) for item in
                Path(f"{record}.env").read_text().split("\0") if item)
    return proc, seen, Path(f"{record}.args").read_text().strip()


def test_ci_runs_the_test_command_in_a_clean_environment(tmp_path):
    caller = dict(os.environ, CI="true", EMOTRACK_SENTINEL="leaks",
                  PATH=f"{tmp_path}/bin-by-hand:{os.environ.get('PATH', '')}",
                  VIRTUAL_ENV=str(tmp_path / "venv"), PYTHONPATH=str(tmp_path),
                  HOME=str(tmp_path), XDG_RUNTIME_DIR=str(tmp_path))
    proc, seen, args = run_ci_with_recorder(tmp_path, caller)
    assert proc.returncode == 3  # the test command's status is CI's status
    assert args.endswith("/checkout -q")  # run from the checkout, with -q
    assert seen["PATH"] == "/usr/sbin:/usr/bin:/sbin:/bin"
    assert seen["CI"] == "true"
    for name in ("HOME", "XDG_RUNTIME_DIR"):  # fresh, private, gone afterwards
        assert seen[name] != caller[name] and not Path(seen[name]).exists()
    assert (tmp_path / "record.home").read_text() == ""  # HOME started empty
    # nothing else passes through (bash itself adds PWD, SHLVL and _)
    assert set(seen) - {"PWD", "OLDPWD", "SHLVL", "_"} == {"PATH", "HOME", "XDG_RUNTIME_DIR", "CI"}


def test_ci_passes_no_ci_variable_it_was_not_given(tmp_path):
    caller = {k: v for k, v in os.environ.items() if k != "CI"}
    _, seen, _ = run_ci_with_recorder(tmp_path, caller)
    assert "CI" not in seen
