"""Redraw cost of the desktop window over a simulated hour (not a test; run it by hand).

    QT_QPA_PLATFORM=offscreen python tests/bench/bench_gui.py [--minutes 60] [--fps 25]

Results arrive at 2 Hz of audio time; between two results the window redraws
``fps / 2`` times (the trail fades continuously) and Qt paints after every
redraw (``processEvents`` on the offscreen platform, so the paint cost counts).
Prints, per 10 minutes of simulated audio, the median and 99th-percentile time
of one frame (redraw + paint, CPU time of the GUI thread) and how many points the plots hold.  Bounded work
means the last block costs what the first one does.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--trail", type=int, default=20, help="trail seconds")
    ap.add_argument("--span", default="1 min", help="time-series span label ('all' = whole hour)")
    ap.add_argument("--size", default="1100x900")
    args = ap.parse_args()

    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    from emotrack.realtime.gui.main_window import MainWindow
    from emotrack.realtime.gui.settings import GuiSettings
    from fixtures_gui import FakeBackend, FakeResult, fake_values

    app = QApplication([])
    import tempfile

    tmp = tempfile.mkdtemp()
    settings = GuiSettings(QSettings(os.path.join(tmp, "b.ini"), QSettings.Format.IniFormat))
    w = MainWindow(FakeBackend(), settings=settings, autostart=False)
    w.redraw_timer.stop()
    w.status_timer.stop()
    width, height = (int(v) for v in args.size.split("x"))
    w.resize(width, height)
    w.show()
    w.source_bar.trail.setValue(args.trail)
    w.source_bar.span.setCurrentText(args.span)
    app.processEvents()

    n_results = int(args.minutes * 60 * 2)
    ticks_per_result = max(1, round(args.fps / 2))
    block = 10 * 60 * 2  # results per 10 minutes
    busy: list[float] = []  # frames in which a result arrived
    idle: list[float] = []  # the other frames (nothing new: the redraw is skipped)
    rows = []
    rng = np.random.default_rng(0)
    t_start = time.thread_time()
    for k in range(n_results):
        a, v = fake_values(k)
        a += 0.05 * rng.standard_normal()
        w.store.append([FakeResult(k, (k + 1) * 0.5, float(np.clip(a, -1, 1)),
                                   float(np.clip(v, -1, 1)), k < 59)])
        for j in range(ticks_per_result):
            t0 = time.thread_time()
            w.redraw()
            app.processEvents()
            (busy if j == 0 else idle).append(time.thread_time() - t0)
        if (k + 1) % block == 0 or k + 1 == n_results:
            b = np.array(busy) * 1e3
            i = np.array(idle) * 1e3
            cpu = (b.sum() + i.sum()) / 1e3 / (len(b) * 0.5)
            shown = len(w.series.curve_points()[0])
            rows.append((k + 1, float(np.median(b)), float(np.percentile(b, 99)),
                         float(np.median(i)) if len(i) else 0.0, 100 * cpu,
                         w.plane.point_count(), shown))
            busy.clear()
            idle.clear()
    wall = time.thread_time() - t_start
    print(f"window {width}x{height}, {args.fps} fps, trail {args.trail} s, plot span {args.span!r}, "
          f"{args.minutes:g} simulated minutes ({n_results} results, "
          f"{n_results * ticks_per_result} frames) in {wall:.0f} s of GUI-thread CPU")
    print("audio time | frame with new result, ms: median  p99 | other frames, ms: median "
          "| GUI thread, % of a core | trail pts | series pts")
    for n, med, p99, idle_med, cpu, trail, shown in rows:
        print(f"{n / 120:7.0f} min | {med:31.2f} {p99:5.2f} | {idle_med:24.3f} | {cpu:23.1f} "
              f"| {trail:9d} | {shown:10d}")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
