"""Save a screenshot of the running desktop app analysing real music.

    python tools/screenshot_gui.py [--file CLIP] [--checkpoint PATH] [--out docs/img/gui.png]

The file is analysed without playback, as fast as the model allows, up to
``--until`` seconds (default: the whole file), then the window is grabbed with
Qt.  Under a real X server (``xvfb-run -a python tools/screenshot_gui.py
--root-shot out.png``) imagemagick's ``import -window root`` also captures the
screen as the window manager shows it.  Set ``QT_QPA_PLATFORM=offscreen`` to
render without any display.
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_clip() -> str:
    clips = sorted(glob.glob(os.path.join(REPO, "..", "shared", "data", "emomusic-mini",
                                          "clips_45seconds", "*.mp3")))
    if clips:
        return clips[0]
    return os.path.join(REPO, "assets", "demo", "revelation-excerpt.ogg")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", default=None, help="audio file (default: an emoMusic mini clip)")
    ap.add_argument("--model", default=None, help="tracker (default: musicnn)")
    ap.add_argument("--checkpoint", default=None, help="checkpoint or musicnn head (default: the bundled one)")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "img", "gui.png"))
    ap.add_argument("--size", default="1024x700", help="window size WxH")
    ap.add_argument("--trail", type=int, default=20, help="trail seconds")
    ap.add_argument("--until", type=float, default=None,
                    help="pause the file at this position (seconds) before the shot")
    ap.add_argument("--root-shot", default=None,
                    help="also save 'import -window root' (needs an X server and imagemagick)")
    ap.add_argument("--dark", action="store_true", help="use a dark palette (Fusion style)")
    args = ap.parse_args()

    from PyQt6.QtCore import QSettings
    from PyQt6.QtGui import QColor, QPalette
    from PyQt6.QtWidgets import QApplication

    from emotrack.realtime.gui.backend import BackendConfig, RealBackend
    from emotrack.realtime.gui.main_window import MainWindow
    from emotrack.realtime.gui.settings import GuiSettings

    app = QApplication([sys.argv[0]])
    if args.dark:
        app.setStyle("Fusion")
        pal = QPalette()
        for role, colour in ((QPalette.ColorRole.Window, "#2b2b2e"), (QPalette.ColorRole.WindowText, "#e6e6e6"),
                             (QPalette.ColorRole.Base, "#1e1e21"), (QPalette.ColorRole.Text, "#e6e6e6"),
                             (QPalette.ColorRole.Button, "#3a3a3e"), (QPalette.ColorRole.ButtonText, "#e6e6e6"),
                             (QPalette.ColorRole.AlternateBase, "#2b2b2e")):
            pal.setColor(role, QColor(colour))
        app.setPalette(pal)
    tmp = tempfile.mkdtemp(prefix="emotrack-shot-")
    settings = GuiSettings(QSettings(os.path.join(tmp, "s.ini"), QSettings.Format.IniFormat))
    settings.trail_s = args.trail
    settings.series_span = "1 min"
    path = os.path.abspath(args.file or default_clip())
    backend = RealBackend(BackendConfig(model=args.model, checkpoint=args.checkpoint, playback=False,
                                        realtime=args.until is not None))
    w = MainWindow(backend, settings=settings, autostart=False)
    width, height = (int(v) for v in args.size.split("x"))
    w.resize(width, height)
    w.show()
    app.processEvents()
    w.startup()  # loads the model, lists devices (messages appear if there are none)
    if not w.open_file(path):
        print("could not open the file:", w.banner.text(), file=sys.stderr)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
        w.tick()
        s = w.session
        if s.engine is None or s.at_end:
            break
        if args.until is not None and s.position_s >= args.until:
            w.toggle_pause()
            break
    for _ in range(20):
        w.tick()
        w.update_status()
        app.processEvents()
        time.sleep(0.02)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    w.grab().save(args.out)
    print(f"saved {args.out} ({len(w.store)} results from {os.path.basename(path)})")
    if args.root_shot:
        if shutil.which("import") is None:
            print("imagemagick 'import' not found", file=sys.stderr)
        else:
            subprocess.run(["import", "-window", "root", args.root_shot], check=False)
            print(f"saved {args.root_shot}")
    w.close()
    w.session.tracker = None  # free the resampler before the interpreter's shutdown (see gui/app.py)
    return 0


if __name__ == "__main__":
    sys.exit(main())
