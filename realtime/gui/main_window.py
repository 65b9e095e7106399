"""The main window: source bar, the plane beside (or over) the time series, transport, status bar.

The plane is the centre of the window: in a landscape window it sits on the left at the full
height of the plot area and the curves take the rest of the width; in a portrait window it
sits above them at the full width.  It grows with the window until the user drags the
splitter (that share is then kept, and remembered).
"""
from __future__ import annotations

import logging
import os
from datetime import datetime

from PyQt6.QtCore import QByteArray, QEvent, Qt, QTimer
from PyQt6.QtGui import QAction, QActionGroup, QKeySequence
from PyQt6.QtWidgets import (QFileDialog, QFrame, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
                             QSplitter, QToolButton, QVBoxLayout, QWidget)

from ...model.trackers import RESEARCH_TRACKERS
from ..mood import load_circumplex
from .backend import Backend, SourceChoice, SourceListing, input_choice
from .plane import PlaneWidget
from .series import SeriesWidget
from .session import EngineSession, describe_error
from .settings import SERIES_SPANS, GuiSettings
from .source_bar import SourceBar, TransportBar
from .theme import current_theme
from .trajectory import TrajectoryStore

log = logging.getLogger(__name__)

AUDIO_FILTER = ("Audio files (*.wav *.flac *.ogg *.oga *.opus *.mp3 *.aif *.aiff *.m4a);;"
                "All files (*)")
MODEL_FILTER = "emotrack model files (*.safetensors);;All files (*)"
#: The Model menu: tracker name -> label (musicnn first: the default; then the research models).
MODEL_LABELS = {
    "musicnn": "&musicnn (default: knows music)",
    "rnn": "&rnn \u2014 research model (650 labelled tracks)",
    "cae": "&cae \u2014 research model (the poster's network, 650 labelled tracks)",
    "baseline": "&baseline \u2014 research model (650 labelled tracks)",
}
#: Landscape layout (plane beside the curves) when the plot area is this much wider than tall.
LANDSCAPE_RATIO = 1.25
#: The plane's largest share of the plot area's length along the splitter.
MAX_PLANE_SHARE = 0.68


def research_message(name: str) -> str:
    """The banner line shown while a research model runs."""
    return (f"{name} is a research model (650 labelled tracks): it ranks energy less well than "
            "musicnn and its valence is close to chance (Model \u2192 Research models' "
            "figures). Model \u2192 musicnn is the default; the next start uses musicnn.")


def short_reason(problem: str, device=None) -> str:
    """A few words for why no sound plays (the full text goes into the tooltip).

    ``device`` is the output the user asked for (``--output``; None: the default output):
    when it is one, the line names it and how to choose another.
    """
    low = problem.lower()
    if device is not None:
        return f"output {str(device)!r} could not be opened; choose another with --output"
    if "no audio server" in low or "no sound card" in low or "pa_context_connect" in low:
        return "no sound card or audio server"
    if "portaudio is not available" in low:
        return "PortAudio is not installed"
    return "the default output could not be opened; choose one with --output"
#: The research models whose cross-validated figures the Model menu shows.
RESEARCH_MODELS = ("rnn", "cae", "baseline")


class MessageBanner(QFrame):
    """Messages above the plots (no model, no device, engine errors), one line each."""

    COLOURS = {"info": ("#dbeafe", "#1e3a8a"), "warning": ("#fef3c7", "#78350f"),
               "error": ("#fee2e2", "#7f1d1d")}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("\u2715")
        close.setAutoRaise(True)
        close.setToolTip("Hide these messages")
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.messages: dict[str, tuple[str, str]] = {}
        self.details: dict[str, str] = {}
        self.setVisible(False)

    def set(self, topic: str, level: str, text: str | None, detail: str | None = None) -> None:
        """Show ``text`` under ``topic`` (replacing the topic's old message); None removes it.

        ``detail`` (e.g. the audio system's own error) goes into the banner's tooltip, so the
        line itself stays short.
        """
        if text:
            self.messages[topic] = (level, text)
            if detail:
                self.details[topic] = detail
            else:
                self.details.pop(topic, None)
        else:
            self.messages.pop(topic, None)
            self.details.pop(topic, None)
        self._render()

    def dismiss(self) -> None:
        self.messages.clear()
        self.details.clear()
        self._render()

    def text(self) -> str:
        return "\n".join(t for _, t in self.messages.values())

    def _render(self) -> None:
        if not self.messages:
            self.setVisible(False)
            return
        levels = [lvl for lvl, _ in self.messages.values()]
        level = "error" if "error" in levels else "warning" if "warning" in levels else "info"
        bg, fg = self.COLOURS[level]
        self.setStyleSheet(f"#banner {{ background: {bg}; border: 1px solid {fg}; border-radius: 4px; }}"
                           f"#banner QLabel, #banner QToolButton {{ color: {fg}; }}")
        self.label.setText("\n".join(t for _, t in self.messages.values()))
        self.label.setToolTip("\n\n".join(self.details.values()))
        self.setVisible(True)


class MainWindow(QMainWindow):
    """The emotrack desktop window.

    Parameters
    ----------
    backend : Backend
        Lists sources, loads the model, builds source + engine.
    settings : GuiSettings
        Remembered choices and geometry.
    initial_file : str, optional
        A file to open at start instead of the remembered source.
    initial_input : str, optional
        A microphone or system-audio source to open at start (``--input``; see
        :func:`~.backend.input_choice`).
    fps : int
        Redraw rate of the plots.
    autostart : bool
        Open the initial/remembered source once the event loop runs.
    """

    def __init__(self, backend: Backend, *, settings: GuiSettings, initial_file: str | None = None,
                 initial_input: str | None = None, fps: int = 25, autostart: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("emotrack")
        self.setAcceptDrops(True)
        self.settings = settings
        self.session = EngineSession(backend)
        self.store = TrajectoryStore(frame_seconds=0.5)
        self.listing = SourceListing()
        self._files: list[SourceChoice] = []
        self._initial_file = initial_file
        self._initial_input = initial_input
        self._last_status = ""
        theme = current_theme()

        self.source_bar = SourceBar()
        self.banner = MessageBanner()
        self.plane = PlaneWidget(load_circumplex(), theme)
        self.series = SeriesWidget(theme, warmup_s=3.0)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.plane)
        self.splitter.addWidget(self.series)
        self.splitter.setChildrenCollapsible(False)
        self._plane_share: float | None = None  # None: fit the plane; else the user's share
        self._devices_problem: tuple[str, str] | None = None
        self.splitter.splitterMoved.connect(self._on_splitter_moved)
        self.splitter.installEventFilter(self)
        self.transport = TransportBar()
        self.transport.setVisible(False)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(4)
        layout.addWidget(self.source_bar)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.transport)
        self.setCentralWidget(central)

        self.status_source = QLabel()
        self.status_rates = QLabel()
        self.status_model = QLabel()
        self.status_latency = QLabel()
        self.status_overruns = QLabel()
        for w in (self.status_source, self.status_rates, self.status_model, self.status_latency,
                  self.status_overruns):
            self.statusBar().addPermanentWidget(w)
        self.status_source.setToolTip("What is being analysed")
        self.status_rates.setToolTip("Sample rate of the source \u2192 sample rate of the model")
        self.status_latency.setToolTip("From the last sample of a 500 ms frame to its prediction "
                                       "(median / 99th percentile)")
        self.status_overruns.setToolTip("Audio blocks lost (device or ring-buffer overruns) and "
                                         "results the window could not take")

        self._make_actions()
        self.source_bar.source_chosen.connect(self.open_choice)
        self.source_bar.open_file_requested.connect(self.choose_file)
        self.source_bar.refresh_requested.connect(self.refresh_sources)
        self.source_bar.trail_changed.connect(self._on_trail)
        self.source_bar.span_changed.connect(self._on_span)
        self.transport.play_toggled.connect(self.toggle_pause)
        self.transport.seek_requested.connect(self.seek)

        self.source_bar.trail.setValue(settings.trail_s)
        self.source_bar.span.setCurrentText(settings.series_span)
        self._on_trail(settings.trail_s)
        self._on_span(settings.series_span)

        self.resize(1100, 760)
        if settings.geometry is not None:
            self.restoreGeometry(settings.geometry)
        if settings.splitter is not None and self.splitter.restoreState(settings.splitter):
            sizes = self.splitter.sizes()
            if sum(sizes) > 0:  # the user's share, kept while the orientation is the same
                self._plane_share = sizes[0] / sum(sizes)

        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(max(1, int(1000 / fps)))
        self.redraw_timer.timeout.connect(self.tick)
        self.status_timer = QTimer(self)
        self.status_timer.setInterval(500)
        self.status_timer.timeout.connect(self.update_status)
        self.redraw_timer.start()
        self.status_timer.start()
        self.update_status()
        self._update_hint()
        if autostart:
            QTimer.singleShot(0, self.startup)

    # ------------------------------------------------------------------ setup
    def _make_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.act_open = QAction("&Open file\u2026", self, shortcut=QKeySequence.StandardKey.Open,
                                triggered=self.choose_file)
        self.act_csv = QAction("Export trajectory as &CSV\u2026", self, shortcut=QKeySequence("Ctrl+E"),
                               triggered=self.choose_csv)
        self.act_png = QAction("Export view as &PNG\u2026", self, shortcut=QKeySequence("Ctrl+Shift+E"),
                               triggered=self.choose_png)
        self.act_quit = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit,
                                triggered=self.close)
        for a in (self.act_open, None, self.act_csv, self.act_png, None, self.act_quit):
            file_menu.addSeparator() if a is None else file_menu.addAction(a)
        play_menu = menu.addMenu("&Playback")
        self.act_play = QAction("&Play / pause", self, shortcut=QKeySequence(Qt.Key.Key_Space),
                                triggered=self.toggle_pause)
        self.act_play.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.act_refresh = QAction("&Refresh sources", self, shortcut=QKeySequence.StandardKey.Refresh,
                                   triggered=self.refresh_sources)
        play_menu.addAction(self.act_play)
        play_menu.addAction(self.act_refresh)
        model_menu = menu.addMenu("&Model")
        self.model_group = QActionGroup(self)
        self.model_actions: dict[str, QAction] = {}
        for name, label in MODEL_LABELS.items():
            act = QAction(label, self, checkable=True)
            act.triggered.connect(lambda _checked=False, n=name: self.choose_model(n))
            self.model_group.addAction(act)
            model_menu.addAction(act)
            self.model_actions[name] = act
        model_menu.addSeparator()
        model_menu.addAction(QAction("Model &file\u2026", self, triggered=self.choose_model_file))
        self.act_figures = QAction("Research models' &figures\u2026", self, triggered=self.show_figures)
        model_menu.addAction(self.act_figures)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(QAction("&About emotrack", self, triggered=self.about))
        self.addAction(self.act_play)

    def startup(self) -> None:
        """Load the model, list sources and open the first source (called once shown)."""
        if not self.session.ensure_tracker():
            self.banner.set("model", "error",
                            f"No model loaded: {self.session.tracker_error}  "
                            "The window works, but nothing can be analysed until a checkpoint "
                            "is available (see 'emotrack gui --help').")
        self._model_changed()
        self.refresh_sources()
        choice = None
        if self._initial_file:
            choice = SourceChoice("file", os.path.abspath(self._initial_file),
                                  os.path.basename(self._initial_file))
        elif self._initial_input:
            choice = input_choice(self._initial_input, self.listing)
        else:
            remembered = SourceChoice.from_key(self.settings.source_key)
            if remembered is not None and remembered.kind == "file":
                if os.path.isfile(remembered.device):
                    self._add_file(remembered)
                    choice = remembered
            elif remembered is not None:
                choice = next((c for c in self.listing.live if c.key() == remembered.key()), None)
            if choice is None and self.listing.mics:
                choice = self.listing.mics[0]
        if choice is not None and self.session.tracker is not None:
            self.open_choice(choice)
        else:
            self._refresh_menu()
            self._update_hint()

    def refresh_sources(self) -> None:
        """List microphones and system-audio monitors again."""
        try:
            self.listing = self.session.backend.list_sources()
        except Exception as exc:  # noqa: BLE001
            self.listing = SourceListing(problems=[describe_error(exc)])
        if not self.listing.live:
            why = "; ".join(self.listing.problems) if self.listing.problems else "none was found"
            self._devices_problem = (f"No audio input device: {why}.  You can still open an audio "
                                     "file (Ctrl+O or drop it on the window).", why)
        else:
            self._devices_problem = None
        self._show_device_problem()
        self._refresh_menu()

    def _show_device_problem(self) -> None:
        """Say that no microphone or system audio was found, unless a file is what the user
        opened: then the inputs do not matter and the banner stays one short line."""
        playing_file = self.session.choice is not None and self.session.choice.kind == "file"
        if self._devices_problem is None or playing_file:
            self.banner.set("devices", "info", None)
        else:
            self.banner.set("devices", "warning", *self._devices_problem)

    def _refresh_menu(self) -> None:
        self.source_bar.set_listing(self.listing, files=self._files, current=self.session.choice
                                    if self.session.engine is not None else None)

    def _add_file(self, choice: SourceChoice) -> None:
        self._files = [c for c in self._files if c.key() != choice.key()][-4:] + [choice]

    # ------------------------------------------------------------------ model
    def choose_model(self, name: str | None, checkpoint: str | None = None) -> bool:
        """Switch to another tracker; the current source restarts with it.  False on failure."""
        if name is not None and name == self.session.model_name and checkpoint is None:
            return True
        self.store.clear()
        self.statusBar().showMessage(f"Loading model {name or checkpoint}\u2026")
        message = self.session.set_model(name, checkpoint)
        self.statusBar().clearMessage()
        if message:
            self.banner.set("model", "error", message)
        else:
            self.banner.set("model", "error", None)
            # Remembered for the next start: musicnn only.  A research model or a model file
            # is never carried silently into the next launch (the next start uses musicnn).
            remembered = checkpoint is None and name is not None and name not in RESEARCH_TRACKERS
            self.settings.model = name if remembered else ""
        self._model_changed()
        self._refresh_menu()
        self.transport.setVisible(self.session.is_file)
        self._update_hint()
        self.update_status()
        return message is None

    def choose_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a checkpoint or musicnn head",
                                              self.settings.last_dir, MODEL_FILTER)
        if path:
            self.choose_model(None, path)

    def _model_changed(self) -> None:
        """Reflect the loaded tracker: the checked menu entry, the warm-up span, the axis labels."""
        tracker = self.session.tracker
        name = self.session.model_name
        for key, act in self.model_actions.items():
            act.setChecked(key == name)
        self.series.warmup_s = self.session.warmup_s
        self.plane.extra_names = tuple(getattr(tracker, "extra_names", ()) or ())
        scale = getattr(tracker, "scale", None) if tracker is not None else None
        self.store.scale = scale
        self.plane.set_scale(scale)
        self.series.set_scale(scale)
        research = name in RESEARCH_TRACKERS
        self.banner.set("research", "warning", research_message(name) if research else None)

    # ------------------------------------------------------------------ sources
    def open_choice(self, choice: SourceChoice) -> bool:
        """Stop the running source and start ``choice``; False (and a message) on failure."""
        if choice.kind == "file":
            self._add_file(choice)
        self.store.clear()
        self.statusBar().showMessage(f"Opening {choice.label}\u2026")
        message = self.session.open(choice)
        self.statusBar().clearMessage()
        self._show_device_problem()
        problem = getattr(self.session.source, "playback_problem", None) if self.session.is_file else None
        if problem:
            self.banner.set("playback", "warning",
                            f"No sound ({short_reason(problem, getattr(self.session.source, 'device', None))}): "
                            f"{choice.label} is analysed in "
                            "sync, without being heard.", self.session.no_sound_message)
        else:
            self.banner.set("playback", "warning", None)
        if message:
            topic = "model" if self.session.tracker is None else "engine"
            self.banner.set(topic, "error", message)
        else:
            self.banner.set("engine", "error", None)
            self.settings.source_key = choice.key()
            if choice.kind == "file" and choice.device:
                self.settings.last_dir = os.path.dirname(choice.device)
        self._refresh_menu()
        self.transport.setVisible(self.session.is_file)
        self._update_hint()
        self.update_status()
        self.tick()
        return message is None

    def open_file(self, path: str) -> bool:
        """Analyse (and play) an audio file."""
        path = os.path.abspath(path)
        return self.open_choice(SourceChoice("file", path, os.path.basename(path)))

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an audio file", self.settings.last_dir,
                                              AUDIO_FILTER)
        if path:
            self.open_file(path)

    def toggle_pause(self) -> None:
        restarting = self.session.at_end
        message = self.session.toggle_pause()
        if restarting and message is None:
            self.store.clear()
        if message:
            self.banner.set("engine", "error", message)
        self._sync_transport()

    def seek(self, seconds: float) -> None:
        """Jump in the file; the plots restart (warm-up shown again) at the new position."""
        was_running = self.session.engine is not None and not self.session.at_end
        self.store.begin_segment(expect_time_s=seconds + self.store.frame_seconds)
        message = self.session.seek(seconds)
        if not was_running and self.session.engine is not None:
            # the file had ended: a fresh engine runs now, whose results start at the seek
            self.store.clear()
            self.store.begin_segment(expect_time_s=seconds + self.store.frame_seconds)
        if message:
            self.banner.set("engine", "error", message)
        self._sync_transport()
        self._update_hint()

    # ------------------------------------------------------------------ drawing
    def tick(self) -> None:
        """Drain new results and redraw (the redraw timer calls this ~25 times a second)."""
        try:
            poll = self.session.poll()
            if poll.results:
                self.store.append(poll.results)
            if poll.error:
                if self.session.running:
                    self.banner.set("engine", "warning", f"Audio analysis problem: {poll.error}")
                else:
                    self.session.close()
                    self.banner.set("engine", "error",
                                    f"Audio analysis stopped: {poll.error}  "
                                    "Choose a source to start again.")
                    self.transport.setVisible(False)
                    self._update_hint()
            if poll.finished:
                self.statusBar().showMessage("End of file. Press Space to play it again.", 5000)
            self.redraw()
            if self.session.is_file:
                self._sync_transport()
        except Exception as exc:  # noqa: BLE001 - a redraw must never take the window down
            log.exception("redraw failed")
            self.banner.set("gui", "error", f"Display problem: {describe_error(exc)}")

    def redraw(self, now_s: float | None = None) -> None:
        """Update the plots from the store (bounded work; skipped when nothing changed)."""
        self.plane.redraw(self.store, now_s)
        if self.series.redraw(self.store):
            self._update_hint()

    def _sync_transport(self) -> None:
        if not self.session.is_file:
            return
        self.transport.set_state(position_s=self.session.position_s,
                                 duration_s=self.session.duration_s, paused=self.session.paused)

    def _update_hint(self) -> None:
        if self.store.segment_len():
            self.plane.set_hint("")
        elif self.session.tracker is None and self.session.tracker_error:
            self.plane.set_hint("no model loaded")
        elif self.session.engine is not None:
            self.plane.set_hint("listening\u2026 the first point appears after 0.5 s of audio")
        else:
            self.plane.set_hint("choose a source above, or open / drop an audio file")

    def update_status(self) -> None:
        """Refresh the permanent status-bar fields (twice a second)."""
        s = self.session
        self.status_source.setText(f"Source: {s.choice.label}" if s.engine is not None and s.choice
                                   else "Source: none")
        model = s.model_name
        device = getattr(s.tracker, "device", None)
        kind = "research model, " if model in RESEARCH_TRACKERS else ""
        self.status_model.setText(f"Model: {model} ({kind}{device})" if model else "Model: none")
        m = s.metrics()
        src_rate = getattr(m, "source_rate", None)
        mdl_rate = getattr(m, "model_rate", None)
        if src_rate and mdl_rate:
            self.status_rates.setText(f"{src_rate / 1000:g} kHz \u2192 {mdl_rate / 1000:g} kHz")
        else:
            self.status_rates.setText("\u2014 kHz")
        p50 = getattr(m, "latency_ms_p50", None)
        p99 = getattr(m, "latency_ms_p99", None)
        if p50 is not None and p50 == p50:  # not None, not NaN
            tail = f" / {p99:.0f}" if p99 is not None and p99 == p99 else ""
            self.status_latency.setText(f"Latency {p50:.0f}{tail} ms")
        else:
            self.status_latency.setText("Latency \u2014")
        overruns = int(getattr(m, "callback_overruns", 0) or 0) + int(getattr(m, "ring_overruns", 0) or 0)
        dropped = int(getattr(m, "dropped_results", 0) or 0) + s.dropped
        text = f"Overruns {overruns}" + (f", dropped {dropped}" if dropped else "")
        self.status_overruns.setText(text)
        self.status_overruns.setStyleSheet("color: #c0392b; font-weight: 600;" if overruns or dropped else "")

    # ------------------------------------------------------------------ options
    def _on_trail(self, seconds: int) -> None:
        self.plane.set_trail_seconds(seconds)
        self.settings.trail_s = seconds

    def _on_span(self, label: str) -> None:
        if label in SERIES_SPANS:
            self.series.set_span(SERIES_SPANS[label])
            self.settings.series_span = label

    # ------------------------------------------------------------------ export
    def _default_name(self, ext: str) -> str:
        stem = "emotrack"
        if self.session.choice is not None:
            base = os.path.splitext(os.path.basename(self.session.choice.device or self.session.choice.kind))[0]
            stem += "-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in base)[:40]
        name = f"{stem}-{datetime.now():%Y%m%d-%H%M%S}.{ext}"
        return os.path.join(self.settings.last_dir or os.path.expanduser("~"), name)

    def export_csv(self, path: str) -> int:
        """Write the whole trajectory (every segment) as CSV; returns the row count."""
        return self.store.write_csv(path)

    def export_png(self, path: str) -> bool:
        """Save the plane and the time series as they are on screen."""
        return self.splitter.grab().save(path, "PNG")

    def choose_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export trajectory", self._default_name("csv"),
                                              "CSV (*.csv)")
        if path:
            try:
                rows = self.export_csv(path)
            except OSError as exc:
                self.banner.set("export", "error", f"Could not write {path}: {exc.strerror or exc}")
            else:
                self.banner.set("export", "info", None)
                self.statusBar().showMessage(f"Wrote {rows} rows to {path}", 5000)

    def choose_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export view", self._default_name("png"),
                                              "PNG image (*.png)")
        if path:
            if self.export_png(path):
                self.banner.set("export", "info", None)
                self.statusBar().showMessage(f"Saved {path}", 5000)
            else:
                self.banner.set("export", "error", f"Could not write {path}")

    def figures_text(self) -> str:
        """The cross-validated figures of the shipped research models (assets/MODEL_CARD.md)."""
        from ...model.research_figures import bundled_figures

        return "\n\n".join(bundled_figures(name) for name in RESEARCH_MODELS) + (
            "\n\nThe default, musicnn, beside them and loudness alone: assets/MODEL_CARD.md.")

    def show_figures(self) -> None:
        QMessageBox.information(self, "Research models' figures", self.figures_text())

    def about(self) -> None:
        from ..cli import version

        QMessageBox.about(self, "About emotrack",
                          f"<b>emotrack {version()}</b><br>Live music emotion on Russell's "
                          "valence-arousal plane, twice a second.<br>"
                          f"Model: {self.session.model_name or 'none loaded'}<br>"
                          "Licence: GPL-3.0-or-later")

    # ------------------------------------------------------------------ layout
    def _on_splitter_moved(self, pos: int, index: int) -> None:
        sizes = self.splitter.sizes()
        if sum(sizes) > 0:
            self._plane_share = sizes[0] / sum(sizes)

    def fit_layout(self) -> None:
        """Orient the splitter for the window's shape and size the plane (called on resize)."""
        w, h = self.splitter.width(), self.splitter.height()
        if w <= 0 or h <= 0:
            return
        orientation = (Qt.Orientation.Horizontal if w >= LANDSCAPE_RATIO * h
                       else Qt.Orientation.Vertical)
        if orientation != self.splitter.orientation():
            self.splitter.setOrientation(orientation)
            self._plane_share = None  # a share along the other direction means nothing here
        total = (w if orientation == Qt.Orientation.Horizontal else h) - self.splitter.handleWidth()
        if self._plane_share is not None:
            plane = round(self._plane_share * total)
        else:  # the plane's square as large as the other direction allows
            header = self.plane.header.sizeHint().height() + self.plane.layout().spacing()
            side = h - header if orientation == Qt.Orientation.Horizontal else w + header
            plane = min(side, round(MAX_PLANE_SHARE * total))
        self.splitter.setSizes([plane, max(1, total - plane)])

    def eventFilter(self, obj, event):  # noqa: N802 - Qt naming
        if obj is self.splitter and event.type() == QEvent.Type.Resize:
            self.fit_layout()
        return super().eventFilter(obj, event)

    # ------------------------------------------------------------------ Qt events
    def dragEnterEvent(self, event):  # noqa: N802 - Qt naming
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_file(paths[0])

    def changeEvent(self, event):  # noqa: N802
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            theme = current_theme()
            self.plane.apply_theme(theme)
            self.series.apply_theme(theme)
        super().changeEvent(event)

    def closeEvent(self, event):  # noqa: N802
        self.redraw_timer.stop()
        self.status_timer.stop()
        self.settings.geometry = self.saveGeometry()
        # the splitter's place only when the user chose it; otherwise the plane is fitted again
        self.settings.splitter = self.splitter.saveState() if self._plane_share is not None else QByteArray()
        self.settings.sync()
        self.session.close()
        super().closeEvent(event)
