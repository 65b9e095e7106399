"""Russell's valence-arousal plane: circumplex words, a fading trail, the current point."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QFont
from PyQt6.QtWidgets import QGraphicsItem, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..mood import Circumplex
from .theme import Theme, style_plot
from .trajectory import TrajectoryStore

#: Number of colour/opacity steps of the trail (brushes are cached per step).
TRAIL_LEVELS = 32
#: Visible range of both axes (the data lie in [-1, 1]).
PLANE_LIMIT = 1.12


class PlaneWidget(QWidget):
    """Valence on x, arousal on y, both [-1, 1]; the newest result large, older ones fading.

    Call :meth:`redraw` on every timer tick; it does nothing when neither the data
    nor the displayed time changed, and otherwise touches at most
    ``trail_s * 2`` points.  The trail's age is measured from the newest result,
    so the plane repaints when a result arrives (2 Hz), not on every tick.
    """

    def __init__(self, circumplex: Circumplex, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.circumplex = circumplex
        self.scale = None
        self.extra_names: tuple[str, ...] = ()
        """Names of the tracker's extras (musicnn's tags), shown under the mood word."""
        self.trail_s = 20.0
        self._last_key = None
        self._brushes: list = []
        self._sizes = 5.0 + 7.0 * (np.arange(TRAIL_LEVELS) + 1) / TRAIL_LEVELS

        self.header = QLabel("")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.header.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

        self.view = pg.PlotWidget()
        self.view.setMinimumSize(260, 260)
        plot = self.plot = self.view.getPlotItem()
        plot.setAspectLocked(True)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setXRange(-PLANE_LIMIT, PLANE_LIMIT, padding=0)
        plot.setYRange(-PLANE_LIMIT, PLANE_LIMIT, padding=0)
        ticks = [[(v, f"{v:g}") for v in (-1.0, -0.5, 0.0, 0.5, 1.0)]]
        for name in ("bottom", "left"):
            plot.getAxis(name).setTicks(ticks)
        plot.setLabel("bottom", "valence  (unpleasant \u2192 pleasant)")
        plot.setLabel("left", "arousal  (calm \u2192 energetic)")

        self._frame = pg.PlotCurveItem([-1, 1, 1, -1, -1], [-1, -1, 1, 1, -1])
        self._circle = pg.PlotCurveItem(np.cos(np.linspace(0, 2 * np.pi, 181)),
                                        np.sin(np.linspace(0, 2 * np.pi, 181)))
        self._hline = pg.PlotCurveItem([-1, 1], [0, 0])
        self._vline = pg.PlotCurveItem([0, 0], [-1, 1])
        for item in (self._frame, self._circle, self._hline, self._vline):
            plot.addItem(item)
        static = [self._frame, self._circle]
        self._words: list[pg.TextItem] = []
        word_font = QFont()
        word_font.setPointSizeF(max(9.0, word_font.pointSizeF()))
        for w in circumplex.words:
            x, y = w.position(circumplex.radius)
            item = pg.TextItem(w.word, anchor=(0.5, 0.5))
            item.setFont(word_font)
            item.setPos(x, y)
            plot.addItem(item)
            self._words.append(item)
            static.append(item)
        for item in static:  # drawn once into a pixmap, then blitted
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

        self._trail_line = pg.PlotCurveItem()
        self._trail = pg.ScatterPlotItem(pxMode=True)
        self._current = pg.ScatterPlotItem(pxMode=True, size=22)
        for item in (self._trail_line, self._trail, self._current):
            plot.addItem(item)
        self._hint = pg.TextItem("", anchor=(0.5, 0.5))
        self._hint.setPos(0, -0.45)
        plot.addItem(self._hint)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(_SquareBox(self.view), 1)
        self.apply_theme(theme)
        self.set_hint("")

    # ------------------------------------------------------------------ look
    def apply_theme(self, theme: Theme) -> None:
        """Recolour everything for a light or dark palette."""
        self.theme = theme
        style_plot(self.view, self.plot, theme)
        self._frame.setPen(pg.mkPen(theme.grid, width=1))
        self._circle.setPen(pg.mkPen(theme.grid, width=1, style=Qt.PenStyle.DashLine))
        for line in (self._hline, self._vline):
            line.setPen(pg.mkPen(theme.axis, width=1))
        for item in self._words:
            item.setColor(theme.word)
        self._hint.setColor(theme.foreground)
        cmap = pg.colormap.get("plasma")
        lo, hi = (0.15, 1.0) if theme.dark else (0.0, 0.85)
        self._brushes = []
        for i in range(TRAIL_LEVELS):
            f = (i + 1) / TRAIL_LEVELS  # freshness: 1 = newest
            c = QColor(cmap.map(lo + (hi - lo) * f, mode="qcolor"))
            c.setAlpha(int(25 + 215 * f))
            self._brushes.append(pg.mkBrush(c))
        # Pens and brushes are made once per theme: pyqtgraph caches rendered
        # symbols by the identity of these objects.
        self._no_pen = pg.mkPen(None)
        point = QColor(theme.point)
        faint = QColor(point)
        faint.setAlpha(90)
        self._point_brushes = {False: pg.mkBrush(point), True: pg.mkBrush(faint)}
        self._point_pen = pg.mkPen(theme.foreground, width=2)
        line = QColor(theme.foreground)
        line.setAlpha(70)
        self._trail_line.setPen(pg.mkPen(line, width=1.2))
        self._last_key = None

    def set_trail_seconds(self, seconds: float) -> None:
        self.trail_s = float(seconds)
        self._last_key = None

    def set_scale(self, scale) -> None:
        """Label the axes for the tracker's display scale (percentiles) or its raw values."""
        self.scale = scale
        if scale is None:
            self.plot.setLabel("bottom", "valence  (unpleasant \u2192 pleasant)")
            self.plot.setLabel("left", "arousal  (calm \u2192 energetic)")
            self.view.setToolTip("Raw predictions (this model has no reference scale)")
        else:
            self.plot.setLabel("bottom", "valence  (unpleasant \u2192 pleasant; centre = median)")
            self.plot.setLabel("left", "arousal  (calm \u2192 energetic; centre = median)")
            self.view.setToolTip("Position among " + scale.reference + ": the edge of the square is "
                                 "the 0th / 100th percentile, the centre the median")
        self._last_key = None

    def set_hint(self, text: str) -> None:
        """A line of grey text in the lower middle of the plane (e.g. 'waiting for audio')."""
        self._hint.setText(text)
        self._hint.setVisible(bool(text))

    # ------------------------------------------------------------------ data
    def redraw(self, store: TrajectoryStore, now_s: float | None = None) -> bool:
        """Draw the store's current segment; returns False when nothing needed redrawing.

        ``now_s`` is the audio time the trail's fading is measured from (default:
        the newest result's time).
        """
        latest = store.latest()
        if latest is None:
            key = (store.version, None)
        else:
            now_s = latest[0] if now_s is None else max(now_s, latest[0])
            key = (store.version, round(now_s * 10))
        if key == self._last_key:
            return False
        self._last_key = key
        if latest is None:
            self._trail.setData([], [])
            self._trail_line.setData([], [])
            self._current.setData([], [])
            self.header.setText("&nbsp;")
            return True
        tr = store.trail(self.trail_s)
        age = now_s - tr.time_s
        fresh = np.clip(1.0 - age / self.trail_s, 0.0, 1.0)
        keep = fresh > 0
        keep &= np.isfinite(tr.valence)  # silent frames are not drawn
        levels = np.minimum((fresh[keep] * TRAIL_LEVELS).astype(np.int64), TRAIL_LEVELS - 1)
        x = tr.valence[keep]
        y = tr.arousal[keep]
        # Brushes and sizes come from TRAIL_LEVELS fixed steps so pyqtgraph's symbol
        # atlas renders each step once instead of a new symbol every frame.
        brushes = [self._brushes[k] for k in levels]
        sizes = self._sizes[levels]
        self._trail.setData(x=x, y=y, brush=brushes, pen=self._no_pen, size=sizes)
        self._trail_line.setData(x=x, y=y)
        if latest.silent:
            self._current.setData([], [])
            self.header.setText("<span style='font-size:15pt; font-weight:600; color:gray'>silence"
                                "</span>&nbsp;&nbsp;(below -60 dBFS: no mood, no point)")
            return True
        self._current.setData(x=[latest.valence], y=[latest.arousal],
                              brush=[self._point_brushes[latest.warming_up]],
                              pen=self._point_pen, size=22)
        status = " &middot; <i>warming up</i>" if latest.warming_up else ""
        self.header.setText(f"<span style='font-size:15pt; font-weight:600'>{latest.mood}</span>"
                            f"&nbsp;&nbsp;{_value('valence', latest.raw_valence, latest.valence_pct)}"
                            f" &middot; {_value('arousal', latest.raw_arousal, latest.arousal_pct)}"
                            f"{status}{_tags(latest.extras, self.extra_names)}")
        return True

    def point_count(self) -> int:
        """Trail points currently drawn (for tests)."""
        return len(self._trail.data)

    def drawn_points(self) -> np.ndarray:
        """``(n, 2)`` array of drawn trail points ``(valence, arousal)``, oldest first."""
        d = self._trail.data
        return np.column_stack([d["x"], d["y"]]) if len(d) else np.zeros((0, 2))



def _value(name: str, raw: float, pct: float) -> str:
    """``arousal +0.12 (78th pct)`` (no percentile without a display scale)."""
    if pct != pct:  # NaN: no display scale
        return f"{name} {raw:+.2f}"
    return f"{name} {raw:+.2f} ({ordinal(round(pct))} pct)"


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``22nd`` ...

    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 100)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '100th']
    """
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _tags(extras, names, top: int = 3) -> str:
    """The ``top`` most probable tags of a frame as a second header line ("" without extras)."""
    if extras is None or not names:
        return ""
    best = sorted(zip(extras, names), reverse=True)[:top]
    return "<br><span style='font-size:9pt'>tags: " + " &middot; ".join(
        f"{n} {p:.2f}" for p, n in best) + "</span>"


class _SquareBox(QWidget):
    """Keeps its one child square and centred (the plane has a locked 1:1 aspect)."""

    def __init__(self, child: QWidget) -> None:
        super().__init__()
        self.child = child
        child.setParent(self)
        self.setMinimumSize(child.minimumSize())

    def resizeEvent(self, event):  # noqa: N802 - Qt naming
        side = min(self.width(), self.height())
        self.child.setGeometry((self.width() - side) // 2, (self.height() - side) // 2, side, side)
        super().resizeEvent(event)
