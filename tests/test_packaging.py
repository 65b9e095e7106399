"""The wheel installs only under the ``emotrack`` namespace and carries its assets."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, timeout=600, capture_output=True)
    (built,) = out.glob("emotrack-*.whl")
    return built


def test_wheel_claims_no_generic_top_level_names(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"emotrack"}
    for sub in ("model", "realtime", "train", "assets"):
        assert f"emotrack/{sub}/__init__.py" in names


def test_wheel_carries_assets_and_entry_point(wheel):
    zf = zipfile.ZipFile(wheel)
    names = zf.namelist()
    assert "emotrack/assets/demo/revelation-excerpt.ogg" in names
    assert "emotrack/assets/demo/README.md" in names  # licence and attribution travel with it
    (ep,) = [n for n in names if n.endswith("entry_points.txt")]
    assert "emotrack = emotrack.realtime.cli:main" in zf.read(ep).decode()


def test_installed_wheel_imports_from_its_own_files(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, timeout=300, capture_output=True)
    assert not (target / "model").exists() and not (target / "train").exists()
    code = ("import emotrack.model.features as f, emotrack.realtime.cli as c, emotrack.train; "
            "print(f.__file__); print(c.version())")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    path, version = proc.stdout.split()
    assert Path(path).is_relative_to(target)
    assert version == "0.1.0"
