"""The source bar (which audio to analyse, view options) and the file transport bar."""
from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QStandardItemModel
from PyQt6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QStyle,
                             QStyleOptionSlider, QToolButton, QWidget)

from .backend import SourceChoice, SourceListing
from .series import format_clock
from .settings import SERIES_SPANS, TRAIL_RANGE_S

_QT_INT_MAX = 2**31 - 1

ROLE = Qt.ItemDataRole.UserRole


class SourceBar(QWidget):
    """Source menu (microphones, system-audio monitors, files), Open File, trail and span."""

    source_chosen = pyqtSignal(object)  #: a SourceChoice
    open_file_requested = pyqtSignal()
    refresh_requested = pyqtSignal()
    trail_changed = pyqtSignal(int)
    span_changed = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(28)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setToolTip("Audio to analyse: a microphone, what the computer plays "
                              "(system audio), or a file")
        self.combo.setPlaceholderText("nothing running — choose a source")
        self.combo.activated.connect(self._on_activated)
        self.refresh = QToolButton()
        self.refresh.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload))
        self.refresh.setToolTip("Look for audio devices again")
        self.refresh.clicked.connect(self.refresh_requested)
        self.open_button = QPushButton(self.style().standardIcon(QStyle.StandardPixmap.SP_DialogOpenButton),
                                       "Open file\u2026")
        self.open_button.setToolTip("Analyse an audio file while it plays (or drop a file on the window)")
        self.open_button.clicked.connect(self.open_file_requested)

        self.trail = QSpinBox()
        self.trail.setRange(*TRAIL_RANGE_S)
        self.trail.setSuffix(" s")
        self.trail.setToolTip("How many seconds of the past the trail on the plane shows")
        self.trail.valueChanged.connect(self.trail_changed)
        self.span = QComboBox()
        self.span.addItems(list(SERIES_SPANS))
        self.span.setToolTip("How much time the arousal/valence plot shows")
        self.span.currentTextChanged.connect(self.span_changed)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(QLabel("Source:"))
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.refresh)
        layout.addWidget(self.open_button)
        layout.addSpacing(16)
        layout.addWidget(QLabel("Trail:"))
        layout.addWidget(self.trail)
        layout.addWidget(QLabel("Plot:"))
        layout.addWidget(self.span)

    # ------------------------------------------------------------------ menu
    def set_listing(self, listing: SourceListing, *, files: list[SourceChoice] = (),
                    current: SourceChoice | None = None) -> None:
        """Fill the menu; ``files`` are file choices to offer too (e.g. the open file)."""
        self.combo.blockSignals(True)
        self.combo.clear()
        model: QStandardItemModel = self.combo.model()

        def header(text: str) -> None:
            self.combo.addItem(text)
            item = model.item(self.combo.count() - 1)
            item.setEnabled(False)
            font = item.font()
            font.setBold(True)
            item.setFont(font)

        def placeholder(text: str) -> None:
            self.combo.addItem(f"    {text}")
            model.item(self.combo.count() - 1).setEnabled(False)

        header("Microphones")
        for c in listing.mics:
            self.combo.addItem(f"    {c.label}", c)
        if not listing.mics:
            placeholder("no microphone found")
        header("System audio")
        for c in listing.monitors:
            self.combo.addItem(f"    {c.label}", c)
        if not listing.monitors:
            placeholder("no system-audio source found")
        header("Files")
        for c in files:
            self.combo.addItem(f"    {c.label}", c)
        if not files:
            placeholder("use Open file\u2026 or drop a file")
        self.combo.blockSignals(False)
        self.show_current(current)

    def choices(self) -> list[SourceChoice]:
        """Every selectable choice in the menu, in order."""
        return [self.combo.itemData(i, ROLE) for i in range(self.combo.count())
                if self.combo.itemData(i, ROLE) is not None]

    def show_current(self, choice: SourceChoice | None) -> None:
        """Select ``choice`` in the menu (matched by key) without emitting a signal."""
        self.combo.blockSignals(True)
        index = -1
        if choice is not None:
            for i in range(self.combo.count()):
                data = self.combo.itemData(i, ROLE)
                if data is not None and data.key() == choice.key():
                    index = i
                    break
        # index -1 shows the placeholder text: nothing runs, so no device is pretended.
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)

    def _on_activated(self, index: int) -> None:
        choice = self.combo.itemData(index, ROLE)
        if choice is not None:
            self.source_chosen.emit(choice)


class JumpSlider(QSlider):
    """A slider that jumps to where it is clicked (instead of paging)."""

    clicked_to = pyqtSignal(int)

    def mousePressEvent(self, event):  # noqa: N802 - Qt naming
        if event.button() == Qt.MouseButton.LeftButton:
            opt = QStyleOptionSlider()
            self.initStyleOption(opt)
            handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                                 QStyle.SubControl.SC_SliderHandle, self)
            if not handle.contains(event.position().toPoint()):
                value = QStyle.sliderValueFromPosition(self.minimum(), self.maximum(),
                                                       int(event.position().x()) - handle.width() // 2,
                                                       self.width() - handle.width())
                self.setValue(value)
                self.clicked_to.emit(value)
                event.accept()
                return
        super().mousePressEvent(event)


class TransportBar(QWidget):
    """Play/pause, a seek slider and the time, for file sources."""

    play_toggled = pyqtSignal()
    seek_requested = pyqtSignal(float)  #: seconds

    #: Slider steps per second.
    RESOLUTION = 10

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.play = QToolButton()
        self.play.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.play.setToolTip("Play / pause (Space)")
        self.play.clicked.connect(self.play_toggled)
        self.slider = JumpSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.setToolTip("Seek: the analysis restarts at the new position (30 s warm-up)")
        self.slider.sliderReleased.connect(lambda: self._emit_seek(self.slider.value()))
        self.slider.clicked_to.connect(self._emit_seek)
        self.slider.sliderMoved.connect(self._show_drag)
        self.time = QLabel("0:00 / 0:00")
        self.time.setMinimumWidth(self.time.fontMetrics().horizontalAdvance("00:00:00 / 00:00:00"))
        self.time.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.play)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.time)
        self._duration = 0.0
        self.set_state(position_s=0.0, duration_s=None, paused=True)

    def _ticks(self, seconds: float) -> int:
        """Seconds as slider steps, within what a Qt int holds (NaN/negative: 0).

        A source's duration comes from a file header, which can claim years.
        """
        seconds = float(seconds)
        return int(min(seconds * self.RESOLUTION, _QT_INT_MAX)) if seconds > 0 else 0

    def _emit_seek(self, value: int) -> None:
        self.seek_requested.emit(value / self.RESOLUTION)

    def _show_drag(self, value: int) -> None:
        self.time.setText(f"{format_clock(value / self.RESOLUTION)} / {format_clock(self._duration)}")

    def set_state(self, *, position_s: float, duration_s: float | None, paused: bool) -> None:
        """Show the file position; leaves the slider alone while the user drags it."""
        icon = QStyle.StandardPixmap.SP_MediaPlay if paused else QStyle.StandardPixmap.SP_MediaPause
        self.play.setIcon(self.style().standardIcon(icon))
        self.play.setProperty("paused", paused)
        self._duration = float(duration_s or 0.0)
        self.slider.setEnabled(bool(duration_s))
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setRange(0, self._ticks(self._duration))
            self.slider.setValue(self._ticks(position_s))
            self.slider.blockSignals(False)
            dur = format_clock(self._duration) if duration_s else "--:--"
            self.time.setText(f"{format_clock(position_s)} / {dur}")
