"""Benchmark: a catalog run (``emotrack analyze --format parquet``) with 1 and 2 local processes
and on a 2-CPU local Ray cluster, over the same real tracks.

Each configuration runs the real command in a subprocess, into a fresh output folder,
and reports wall time (start-up and model loading included), tracks and audio
minutes per wall minute, and the peak resident memory (VmHWM) of each process of
the run (the coordinator, its workers; for Ray also Ray's own daemons, reported
apart).  "Ray overhead per track" is (Ray wall - 2-process wall) / tracks, with and
without the time a local Ray takes to start and stop.  It also checks that the three
runs' frames tables are bit-identical.

Tracks: the first ``--per-genre`` files of each genre of the Emotify dev set
(one-minute Opus excerpts, 4 genres; /work/shared/data/emotify-dev).  Run::

    nice .venv/bin/python tests/bench/bench_catalog.py [--per-genre 5] [--model musicnn]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
EMOTIFY = REPO.parent / "shared" / "data" / "emotify-dev" / "audio"


def tracks(per_genre: int) -> list[Path]:
    """The first ``per_genre`` files of each genre folder (sorted by number)."""
    out = []
    for genre in sorted(p for p in EMOTIFY.iterdir() if p.is_dir()):
        files = sorted(genre.glob("*.opus"), key=lambda p: int(p.stem))
        out.extend(files[:per_genre])
    return out


def _tree(root: int) -> set[int]:
    """``root`` and every process below it (from /proc)."""
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(d.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, grew = {root}, True
    while grew:
        new = {pid for pid, ppid in parents.items() if ppid in tree} - tree
        tree |= new
        grew = bool(new)
    return tree


def _peak_kib(pid: int) -> tuple[str, int] | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        name = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return name, hwm


def run(argv: list[str]) -> tuple[float, dict[int, tuple[str, int]]]:
    """Wall seconds of ``emotrack ARGV`` and the peak memory of each process of its tree."""
    peaks: dict[int, tuple[str, int]] = {}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "emotrack.realtime.cli", *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for pid in _tree(proc.pid):
                got = _peak_kib(pid)
                if got is not None and got[1] >= peaks.get(pid, ("", 0))[1]:
                    peaks[pid] = got
            time.sleep(0.25)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"emotrack {' '.join(argv)} failed ({proc.returncode}):\n{err}")
    return wall, peaks


def describe_memory(peaks: dict[int, tuple[str, int]]) -> str:
    """``coordinator 610 MB; workers 520, 515 MB; other 3 processes 310 MB at most``."""
    coordinator = [kib for name, kib in peaks.values() if "emotrack.realtime.cli" in name]
    is_worker = lambda name: "spawn_main" in name or "ray::" in name  # noqa: E731
    workers = [kib for name, kib in peaks.values() if is_worker(name)]
    others = [kib for name, kib in peaks.values()
              if kib and "emotrack.realtime.cli" not in name and not is_worker(name)]
    mb = lambda k: f"{k / 1024:.0f}"  # noqa: E731
    text = f"coordinator {', '.join(mb(k) for k in coordinator)} MB"
    if workers:
        text += f"; workers {', '.join(mb(k) for k in sorted(workers, reverse=True))} MB"
    if others:
        text += f"; {len(others)} other processes {mb(max(others))} MB at most"
    return text


def catalog_frames(out: Path):
    """The frames table of a run, rows sorted by (track_id, frame_index), run-specific columns dropped."""
    import pyarrow.dataset as ds

    table = ds.dataset(next((out / "catalog").glob("*/frames"))).to_table()
    return table.drop_columns(["path", "name"]).sort_by([("track_id", "ascending"),
                                                         ("frame_index", "ascending")])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-genre", type=int, default=5)
    ap.add_argument("--model", default="musicnn")
    args = ap.parse_args()
    files = tracks(args.per_genre)
    minutes = sum(sf.info(str(f)).duration for f in files) / 60
    print(f"{len(files)} tracks, {minutes:.1f} audio minutes, model {args.model}, "
          f"{os.cpu_count()} CPUs (load average before: {os.getloadavg()[0]:.2f}); "
          "emotrack analyze --format parquet --quiet")
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "tracks.txt"
        manifest.write_text("".join(f"{f}\n" for f in files))
        configs = [("1 process", ["--jobs", "1"]), ("2 processes", ["--jobs", "2"]),
                   ("Ray, local, 2 CPUs", ["--cluster", "local", "--jobs", "2"])]
        walls, frames = {}, {}
        for label, extra in configs:
            out = Path(tmp) / label.replace(" ", "-").replace(",", "")
            wall, peaks = run(["analyze", "--manifest", str(manifest), "--model", args.model,
                               "--format", "parquet", "--quiet", "--out", str(out), *extra])
            walls[label] = wall
            frames[label] = catalog_frames(out)
            print(f"{label:>20}: {wall:6.1f} s wall, {len(files) / wall * 60:5.1f} tracks/min, "
                  f"{minutes / wall * 60:5.1f} audio min/min; {describe_memory(peaks)}")
        first = next(iter(frames.values()))
        same = all(t.equals(first) for t in frames.values())
        print(f"frames tables ({first.num_rows} rows, {first.num_columns} columns) bit-identical "
              f"in the three runs: {'yes' if same else 'NO'}")
    two, ray = walls["2 processes"], walls["Ray, local, 2 CPUs"]
    start = ray_start_seconds()
    print(f"2 vs 1 process: {walls['1 process'] / two:.2f}x; Ray overhead per track: "
          f"{(ray - two) / len(files):+.2f} s with start-up, {(ray - two - start) / len(files):+.2f} s "
          f"without (starting and stopping a 2-CPU local Ray alone: {start:.1f} s); load average "
          f"over the last 5 minutes: {os.getloadavg()[1]:.2f} (other work slows every run)")


def ray_start_seconds() -> float:
    """Wall seconds to start and stop a 2-CPU local Ray instance in a fresh process."""
    code = ("import time; t = time.perf_counter(); import ray; "
            "ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=40); "
            "ray.shutdown(); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
