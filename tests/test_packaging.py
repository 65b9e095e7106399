"""The wheel installs only under the ``emotrack`` namespace and carries its assets."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_build(tmp_path_factory) -> tuple[Path, str]:
    """The wheel built from this checkout and the build's verbose log (the backend's warnings)."""
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(out),
                           str(REPO)], check=True, timeout=600, capture_output=True, text=True)
    (built,) = out.glob("emotrack-*.whl")
    return built, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def wheel(wheel_build) -> Path:
    return wheel_build[0]


def asset_files() -> list[str]:
    """Every file under assets/ (any folder depth), as the wheel should name it."""
    return sorted(f"emotrack/assets/{p.relative_to(REPO / 'assets').as_posix()}"
                  for p in (REPO / "assets").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


def test_wheel_claims_no_generic_top_level_names(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"emotrack"}
    for sub in ("model", "realtime", "train", "assets"):
        assert f"emotrack/{sub}/__init__.py" in names


def test_wheel_carries_every_package_folder(wheel):
    """Sub-packages (realtime/gui, realtime/commands ...) too: setuptools adds none by itself,
    and a wheel without them installs an app whose every command fails on import."""
    names = set(zipfile.ZipFile(wheel).namelist())
    folders = sorted(p.parent.relative_to(REPO).as_posix()
                     for top in ("model", "realtime", "train")
                     for p in (REPO / top).rglob("__init__.py") if "__pycache__" not in p.parts)
    assert "realtime/gui" in folders and "realtime/commands" in folders
    missing = [f for f in folders if f"emotrack/{f}/__init__.py" not in names]
    assert missing == []


def test_wheel_carries_every_asset_and_the_entry_point(wheel):
    zf = zipfile.ZipFile(wheel)
    names = zf.namelist()
    assets = asset_files()
    assert "emotrack/assets/demo/README.md" in assets  # licence and attribution travel too
    assert [a for a in assets if a not in names] == []
    (ep,) = [n for n in names if n.endswith("entry_points.txt")]
    assert "emotrack = emotrack.realtime.cli:main" in zf.read(ep).decode()


def test_building_prints_no_packaging_warning(wheel_build):
    """Asset folders are declared as data: setuptools does not take them for missing packages."""
    _, log = wheel_build
    assert "Building wheel" in log or "Created wheel" in log  # the log is the backend's
    assert "is absent from the `packages` configuration" not in log
    assert "SetuptoolsDeprecationWarning" not in log


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
