"""Start the desktop app: QApplication, the window, and an exception hook that never aborts."""
from __future__ import annotations

import dataclasses
import logging
import signal
import sys
import traceback

from .backend import Backend, BackendConfig, RealBackend

log = logging.getLogger(__name__)


def install_excepthook(window) -> None:
    """Show unexpected exceptions in the window's message banner instead of aborting.

    PyQt6 aborts the process on an exception that escapes a slot unless
    ``sys.excepthook`` is replaced.
    """
    def hook(exc_type, exc, tb):
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
        try:
            from .session import describe_error

            window.banner.set("gui", "error", f"Unexpected error: {describe_error(exc)} "
                              "(details on the terminal)")
        except Exception:  # noqa: BLE001 - the hook itself must not fail
            pass

    sys.excepthook = hook


def launch_config(config: BackendConfig, settings) -> BackendConfig:
    """The backend options of this launch: the command line's ``--model``/``--checkpoint``, else
    the Model menu's last choice (:attr:`GuiSettings.model <.settings.GuiSettings.model>`: musicnn
    or nothing, never a research model), else the default tracker."""
    if config.model is None and config.checkpoint is None and settings.model:
        return dataclasses.replace(config, model=settings.model)
    return config


def run_app(*, backend: Backend | None = None, config: BackendConfig | None = None,
            initial_file: str | None = None, initial_input: str | None = None, fps: int = 25,
            argv: list[str] | None = None) -> int:
    """Open the window and run the Qt event loop; returns the exit status."""
    from PyQt6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .settings import GuiSettings

    app = QApplication.instance() or QApplication(argv if argv is not None else [sys.argv[0]])
    app.setOrganizationName("emotrack")
    app.setApplicationName("emotrack")
    app.setApplicationDisplayName("emotrack")
    app.setDesktopFileName("emotrack")
    settings = GuiSettings()
    if backend is None:
        backend = RealBackend(launch_config(config or BackendConfig(), settings))
    window = MainWindow(backend, settings=settings, initial_file=initial_file,
                        initial_input=initial_input, fps=fps)
    install_excepthook(window)
    # Ctrl-C / SIGTERM close the window cleanly (the engine stops, settings are saved);
    # the 25 fps redraw timer returns to Python often enough for the handler to run.
    saved = {sig: signal.signal(sig, lambda *_: window.close()) for sig in (signal.SIGINT, signal.SIGTERM)}
    window.show()
    try:
        return int(app.exec())
    finally:
        # Let go of the window (and through it the tracker and its resampler) before the
        # interpreter shuts down: the hook and the handlers would otherwise keep it alive
        # until the extension modules are gone, and nanobind (soxr) prints leak reports.
        sys.excepthook = sys.__excepthook__
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        window.session.close()
        window.session.tracker = None
