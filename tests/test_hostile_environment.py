"""Issue 23, class 8: every subcommand in a hostile environment.

One environment holds every hostile trait at once: the package and librosa installed
read-only, a read-only HOME (no XDG_CACHE_HOME, no NUMBA_CACHE_DIR, no EMOTRACK_CACHE),
``MPLBACKEND=nonexistent`` and ``DISPLAY=:N`` with no X server there (a free number).  Each subcommand
does real work in it (``--help`` is not enough): analyze writes its PNG, listen tracks a
file, train trains, evaluate writes its report with a PNG, and the GUI's entry ends with
one line instead of Qt's abort.  Then the traits the shared environment cannot hold:
a deleted working folder, a tight address-space limit, ``QT_QPA_PLATFORM=bogus``, and
settings files that are huge, a FIFO or a symlink.

Read-only is enforced for real: as root (whom permission bits do not stop) the copies
are bind-mounted read-only in a private mount namespace (``unshare -m``); otherwise their
write permissions are removed.  A probe checks that writing there fails before the
subcommands run.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, need
from fixtures_train import write_tone

pytestmark = pytest.mark.slow

PACKAGES = ("model", "realtime", "train", "assets")
def _free_display() -> str:
    """An X display number no server holds here (xvfb-run -a takes :99 first, so start above)."""
    for n in range(199, 999):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return f":{n}"
    raise RuntimeError("no free X display number between 199 and 998")


NO_SERVER_DISPLAY = _free_display()


def _copy_readonly(root: Path) -> Path:
    """A copy of emotrack (as the ``emotrack`` package) and of librosa to import from."""
    import librosa

    site = root / "install"
    for name in PACKAGES:
        shutil.copytree(REPO / name, site / "emotrack" / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(Path(librosa.__file__).parent, site / "librosa",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    return site


def _remove_write_permission(top: Path) -> None:
    for folder, dirs, files in os.walk(top):
        for name in files:
            p = Path(folder) / name
            p.chmod(p.stat().st_mode & ~0o222)
    for folder, dirs, files in os.walk(top, topdown=False):
        Path(folder).chmod(Path(folder).stat().st_mode & ~0o222)
    top.chmod(0o555)


class Hostile:
    """Runs ``python -m emotrack.realtime.cli ARGS`` in the hostile environment."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.site = _copy_readonly(root)
        self.home = root / "home"
        self.home.mkdir()
        self.readonly = [self.site, self.home]
        self.as_root = os.geteuid() == 0
        if self.as_root:
            need(shutil.which("unshare") is not None and shutil.which("mount") is not None,
                 "unshare/mount (util-linux) are needed to make a read-only install as root")
        else:
            for top in self.readonly:
                _remove_write_permission(top)
        drop = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
                "NUMBA_CACHE_DIR", "EMOTRACK_CACHE", "MPLBACKEND", "PYTHONPATH")
        self.env = {k: v for k, v in os.environ.items() if k not in drop}
        self.env.update(HOME=str(self.home), MPLBACKEND="nonexistent", DISPLAY=NO_SERVER_DISPLAY,
                        PYTHONPATH=str(self.site), PYTHONDONTWRITEBYTECODE="1")

    def command(self, argv: list[str]) -> list[str]:
        if not self.as_root:
            return argv
        mounts = "; ".join(f'mount --bind -o ro "{p}" "{p}"' for p in self.readonly)
        return ["unshare", "-m", "sh", "-c", f'set -e; {mounts}; exec "$@"', "sh", *argv]

    def run(self, args: list[str], *, cwd: Path, env: dict | None = None,
            timeout: float = 240) -> subprocess.CompletedProcess:
        argv = self.command([sys.executable, "-m", "emotrack.realtime.cli", *args])
        return subprocess.run(argv, cwd=cwd, env={**self.env, **(env or {})}, capture_output=True,
                              text=True, timeout=timeout)

    def probe(self) -> subprocess.CompletedProcess:
        code = ("import os, sys, emotrack.realtime.cli as c, librosa\n"
                "assert c.__file__.startswith(sys.argv[1]), c.__file__\n"
                "assert librosa.__file__.startswith(sys.argv[1]), librosa.__file__\n"
                "for folder in (os.path.dirname(librosa.__file__), os.environ['HOME']):\n"
                "    try:\n"
                "        open(os.path.join(folder, 'probe'), 'w')\n"
                "    except OSError:\n"
                "        continue\n"
                "    sys.exit('writable: ' + folder)\n")
        argv = self.command([sys.executable, "-c", code, str(self.site)])
        return subprocess.run(argv, cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=120)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-env")
    assert not Path(f"/tmp/.X11-unix/X{NO_SERVER_DISPLAY[1:]}").exists(), f"a server runs on {NO_SERVER_DISPLAY}"
    h = Hostile(root)
    probe = h.probe()
    if h.as_root and probe.returncode != 0 and "unshare" in probe.stderr:
        need(False, f"no private mount namespace here (unshare -m): {probe.stderr.strip()[:200]}")
    assert probe.returncode == 0, probe.stderr  # the install and HOME are really read-only
    work = root / "work"
    work.mkdir()
    write_tone(work / "song.wav", 4.0, sr=22050)
    yield h, work
    if not h.as_root:
        for top in h.readonly:
            for folder, dirs, _ in os.walk(top):
                Path(folder).chmod(0o755)
            top.chmod(0o755)


def _clean(proc: subprocess.CompletedProcess) -> str:
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "cannot cache function" not in text, text[-3000:]
    return text


def test_analyze_writes_its_png(hostile):
    h, work = hostile
    proc = h.run(["analyze", "song.wav", "--out", "out"], cwd=work)
    _clean(proc)
    assert proc.returncode == 0, proc.stderr
    assert (work / "out" / "song.emotrack.png").read_bytes()[:4] == b"\x89PNG"
    assert (work / "out" / "song.emotrack.csv").stat().st_size > 0


def test_listen_tracks_a_file(hostile):
    h, work = hostile
    proc = h.run(["listen", "song.wav", "--no-playback", "--fast", "--csv", "live.csv", "--quiet"],
                 cwd=work)
    _clean(proc)
    assert proc.returncode == 0, proc.stderr
    rows = (work / "live.csv").read_text().splitlines()
    assert len(rows) == 1 + 8  # header + 8 frames of 0.5 s


def _tiny_deam(work: Path) -> Path:
    root = work / "deam"
    ann = root / "annotations" / "annotations averaged per song" / "dynamic (per second annotations)"
    ann.mkdir(parents=True)
    head = "song_id," + ",".join(f"sample_{15000 + 500 * i}ms" for i in range(10))
    for dim, base in (("arousal", 0.2), ("valence", -0.1)):
        rows = [f"{song}," + ",".join(f"{base + 0.01 * i * k:.3f}" for i in range(10))
                for k, song in enumerate(("10", "20", "2001"))]
        (ann / f"{dim}.csv").write_text("\n".join([head, *rows]) + "\n")
    (root / "MEMD_audio").mkdir()
    for k, song in enumerate(("10", "20", "2001")):
        write_tone(root / "MEMD_audio" / f"{song}.mp3", 21.0, freq=300.0 + 200 * k)
    return root


def test_train_then_evaluate_with_its_report_png(hostile):
    h, work = hostile
    data = _tiny_deam(work)
    proc = h.run(["train", "--data", f"deam:{data}", "--model", "baseline", "--epochs", "2",
                  "--out", "m.safetensors", "--quiet"], cwd=work)
    _clean(proc)
    assert proc.returncode == 0, proc.stderr
    assert (work / "m.safetensors").stat().st_size > 0
    proc = h.run(["evaluate", "m.safetensors", "--data", f"deam:{data}", "--split", "evaluation",
                  "--out", "report", "--quiet"], cwd=work)
    _clean(proc)
    assert proc.returncode == 0, proc.stderr
    assert (work / "report" / "evaluation.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("env, says", [
    ({}, f"DISPLAY='{NO_SERVER_DISPLAY}' is set but no display server answers"),
    ({"DISPLAY": "", "WAYLAND_DISPLAY": "wayland-99"}, "WAYLAND_DISPLAY='wayland-99' is set but no"),
    ({"QT_QPA_PLATFORM": "bogus"}, "QT_QPA_PLATFORM='bogus' names no platform plugin"),
])
def test_the_gui_entry_says_why_no_window_can_open(hostile, env, says):
    h, work = hostile
    proc = h.run(["gui", "song.wav"], cwd=work, env=env)
    text = _clean(proc)
    assert proc.returncode == 1, (proc.returncode, text)  # Qt's abort would be 134 / -6
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "emotrack listen" in lines[0], proc.stderr


# ---- traits the shared environment cannot hold ------------------------------------------

def _cli(args: list[str], *, cwd=None, preexec=None, env=None, timeout=240):
    return subprocess.run([sys.executable, "-m", "emotrack.realtime.cli", *args], cwd=cwd,
                          preexec_fn=preexec, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def test_a_deleted_working_folder_is_one_line(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    song = write_tone(tmp_path / "song.wav", 2.0)

    def enter_and_delete():
        os.chdir(gone)
        os.rmdir(gone)

    proc = _cli(["analyze", str(song), "--out", str(tmp_path / "out")], cwd=tmp_path,
                preexec=enter_and_delete)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [lines[0]] and "current folder no longer exists" in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def test_an_address_space_limit_below_what_torch_needs_is_one_line(tmp_path):
    import resource

    song = write_tone(tmp_path / "song.wav", 4.0)
    limit = 1200 * 1024 * 1024  # the 1.2 GB

    def tight():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = _cli(["analyze", str(song), "--out", str(tmp_path / "out")], preexec=tight)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    if proc.returncode == 0:  # this machine's libraries fit: nothing to report, and it worked
        assert (tmp_path / "out" / "song.emotrack.csv").is_file()
        return
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "out of memory" in lines[0] and "ulimit -v" in lines[0], proc.stderr


def test_a_user_numba_cache_is_kept_and_a_missing_one_is_given(tmp_path):
    from emotrack.realtime.environment import prepare_environment

    env = {"HOME": str(tmp_path / "ro"), "MPLBACKEND": "TkAgg", "NUMBA_CACHE_DIR": "/mine"}
    prepare_environment(env)
    assert env["NUMBA_CACHE_DIR"] == "/mine" and env["MPLBACKEND"] == "Agg"
    env = {"HOME": str(tmp_path / "h"), "XDG_CACHE_HOME": str(tmp_path / "c")}
    prepare_environment(env)
    folder = Path(env["NUMBA_CACHE_DIR"])
    assert folder == tmp_path / "c" / "emotrack" / "numba" and folder.is_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_temporary_numba_folder_of_another_user_is_never_used(tmp_path, monkeypatch):
    from emotrack.realtime import environment

    planted = tmp_path / f"emotrack-numba-{os.getuid()}"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)  # group/world writable: someone else could plant pickles there
    monkeypatch.setattr(environment.tempfile, "gettempdir", lambda: str(tmp_path))
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert environment.numba_cache_dir({"XDG_CACHE_HOME": str(blocked)}) is None


# ---- the GUI's settings file ------------------------------------------------------------

def _settings_file(tmp_path: Path, kind: str) -> tuple[Path, Path | None]:
    conf = tmp_path / "config" / "emotrack" / "emotrack.conf"
    conf.parent.mkdir(parents=True)
    target = None
    if kind == "huge":
        with open(conf, "wb") as fh:  # sparse: 2 GB claimed, no disk used
            fh.truncate(2 * 1024 ** 3)
    elif kind == "fifo":
        os.mkfifo(conf)
    elif kind == "symlink":
        target = tmp_path / "precious.txt"
        target.write_text("user data\n")
        conf.symlink_to(target)
    elif kind == "folder":
        conf.mkdir()
    return conf, target


@pytest.mark.parametrize("kind", ["huge", "fifo", "symlink", "folder"])
def test_a_settings_file_of_a_wrong_kind_is_neither_read_nor_written(tmp_path, kind):
    conf, target = _settings_file(tmp_path, kind)
    code = ("from PyQt6.QtWidgets import QApplication\n"
            "app = QApplication([])\n"
            "from emotrack.realtime.gui.settings import GuiSettings\n"
            "s = GuiSettings()\n"
            "print('trail', s.trail_s)\n"
            "s.trail_s = 33\n"
            "s.q.sync()\n"
            "print('reread', GuiSettings(s.q).trail_s)\n")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "QT_QPA_PLATFORM": "offscreen"}
    before = os.lstat(conf)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "trail 20" in proc.stdout and "reread 33" in proc.stdout  # defaults, then this session's
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("emotrack: warning: settings")]
    assert len(warnings) == 1 and str(conf) in warnings[0], proc.stderr
    after = os.lstat(conf)
    assert (after.st_ino, after.st_mode, after.st_size) == (before.st_ino, before.st_mode, before.st_size)
    if target is not None:
        assert target.read_text() == "user data\n"


def test_a_regular_settings_file_is_used(tmp_path):
    conf, _ = _settings_file(tmp_path, "regular")
    conf.write_text("[view]\ntrail_s=45\n")
    code = ("from PyQt6.QtWidgets import QApplication\n"
            "app = QApplication([])\n"
            "from emotrack.realtime.gui.settings import GuiSettings\n"
            "print('trail', GuiSettings().trail_s)\n")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and "trail 45" in proc.stdout, proc.stderr
    assert "warning" not in proc.stderr


def test_display_probe_accepts_a_listening_x_socket(tmp_path):
    """A DISPLAY whose socket accepts connections is no problem (the probe is not too strict)."""
    import socket

    from emotrack.realtime.gui import display

    path = tmp_path / "X7"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    try:
        assert display._answers(str(path))
        assert display._unanswered({"DISPLAY": ":7"}, ["xcb"]) is not None or Path(
            "/tmp/.X11-unix/X7").exists()
        assert display._x_socket(f"{path}:0") == [str(path)]  # launchd-style DISPLAY
    finally:
        server.close()
    assert not display._answers(str(path))
    assert display._x_socket("nonsense") == []
    assert display._x_socket("host:3") == [("host", 6003)]
