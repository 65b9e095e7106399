"""Russell's valence-arousal plane: circumplex words, a fading trail, the current point.

Z order, bottom to top: frame and axes, the trail, the uncertainty ellipse, the current
point (a ring with a light translucent fill), then the circumplex words, so the point never
hides the word it sits on.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QFont, QPainterPath
from PyQt6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..mood import Circumplex
from .readout import ordinal, reading, scale_name, tick_labels
from .theme import Theme, style_plot
from .trajectory import TrajectoryStore

__all__ = ["PlaneWidget", "ordinal", "ellipse_path"]

#: Number of colour/opacity steps of the trail (brushes are cached per step).
TRAIL_LEVELS = 32
#: Visible range of both axes (the data lie in [-1, 1]).
PLANE_LIMIT = 1.12
#: Z values: data under the words, the words on top.
Z_TRAIL, Z_BAND, Z_POINT, Z_WORDS, Z_HINT = 1, 2, 3, 10, 11
#: Diameter of the current point in pixels.
POINT_SIZE = 22


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
        # room for the mood line and the tags line from the start, so the plane's square
        # does not jump when the first result (or a silence) changes the header
        self.header.setText(_header_html("neutral", "valence", "arousal", "", "tags"))
        self.header.setMinimumHeight(self.header.sizeHint().height())

        self.view = pg.PlotWidget()
        self.view.setMinimumSize(240, 240)
        plot = self.plot = self.view.getPlotItem()
        plot.setAspectLocked(True)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setXRange(-PLANE_LIMIT, PLANE_LIMIT, padding=0)
        plot.setYRange(-PLANE_LIMIT, PLANE_LIMIT, padding=0)

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
            item.setZValue(Z_WORDS)
            plot.addItem(item)
            self._words.append(item)
            static.append(item)
        for item in static:  # drawn once into a pixmap, then blitted
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

        self._trail_line = pg.PlotCurveItem()
        self._trail = pg.ScatterPlotItem(pxMode=True)
        self._band = QGraphicsPathItem()  # the current point's uncertainty (raw +- sd)
        self._band.setVisible(False)
        self._current = pg.ScatterPlotItem(pxMode=True, size=POINT_SIZE)
        for item, z in ((self._trail_line, Z_TRAIL), (self._trail, Z_TRAIL), (self._band, Z_BAND),
                        (self._current, Z_POINT)):
            item.setZValue(z)
            plot.addItem(item)
        self._hint = pg.TextItem("", anchor=(0.5, 0.5))
        self._hint.setPos(0, -0.45)
        self._hint.setZValue(Z_HINT)
        plot.addItem(self._hint)
        self.set_scale(None)

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
        # The current point is a ring with a light fill: the word under it stays readable.
        point = QColor(theme.point)
        fill, faint = QColor(point), QColor(point)
        fill.setAlpha(80)
        faint.setAlpha(35)
        self._point_brushes = {False: pg.mkBrush(fill), True: pg.mkBrush(faint)}
        ring, pale = QColor(point), QColor(point)
        pale.setAlpha(120)
        self._point_pens = {False: pg.mkPen(ring, width=3), True: pg.mkPen(pale, width=3)}
        band = QColor(point)
        band.setAlpha(40)
        self._band.setBrush(pg.mkBrush(band))
        edge = QColor(point)
        edge.setAlpha(140)
        self._band.setPen(pg.mkPen(edge, width=1, style=Qt.PenStyle.DashLine))
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
        unit = scale_name(scale is not None)
        ticks = [tick_labels(scale is not None)]
        for name in ("bottom", "left"):
            self.plot.getAxis(name).setTicks(ticks)
        self.plot.setLabel("bottom", f"valence {unit}  (unpleasant \u2192 pleasant)")
        self.plot.setLabel("left", f"arousal {unit}  (calm \u2192 energetic)")
        if scale is None:
            self.view.setToolTip("Raw predictions (this model has no reference scale)")
        else:
            self.view.setToolTip("Percentile among the " + scale.reference + ": 50 is their median, "
                                 "the edges of the square their 0th and 100th percentile")
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
            self._band.setVisible(False)
            self.header.setText("&nbsp;")
            return True
        tr = store.trail(self.trail_s)
        age = now_s - tr.time_s
        fresh = np.clip(1.0 - age / self.trail_s, 0.0, 1.0)
        keep = fresh > 0
        keep &= np.isfinite(tr.valence) & np.isfinite(tr.arousal)  # silent frames are not drawn
        levels = np.minimum((fresh[keep] * TRAIL_LEVELS).astype(np.int64), TRAIL_LEVELS - 1)
        x = tr.valence[keep]
        y = tr.arousal[keep]
        # Brushes and sizes come from TRAIL_LEVELS fixed steps so pyqtgraph's symbol
        # atlas renders each step once instead of a new symbol every frame.
        brushes = [self._brushes[k] for k in levels]
        sizes = self._sizes[levels]
        self._trail.setData(x=x, y=y, brush=brushes, pen=self._no_pen, size=sizes)
        self._trail_line.setData(x=x, y=y)
        if latest.silent or not (np.isfinite(latest.valence) and np.isfinite(latest.arousal)):
            self._current.setData([], [])
            self._band.setVisible(False)
            self.header.setText("<span style='font-size:15pt; font-weight:600; color:gray'>silence"
                                "</span>&nbsp;&nbsp;(below -60 dBFS: no mood, no point)"
                                if latest.silent else "&nbsp;")
            return True
        warm = latest.warming_up
        self._current.setData(x=[latest.valence], y=[latest.arousal],
                              brush=[self._point_brushes[warm]], pen=self._point_pens[warm],
                              size=POINT_SIZE)
        if latest.band is not None:
            self._band.setPath(ellipse_path(latest.valence, latest.arousal, latest.band))
            self._band.setVisible(True)
        else:
            self._band.setVisible(False)
        status = " &middot; <i>warming up</i>" if warm else ""
        self.header.setText(_header_html(latest.mood, reading("valence", latest, "valence"),
                                         reading("arousal", latest, "arousal"), status,
                                         _tags(latest.extras, self.extra_names)))
        return True

    def band_extent(self) -> tuple[float, float, float, float] | None:
        """``(valence_lo, valence_hi, arousal_lo, arousal_hi)`` of the drawn uncertainty ellipse
        (None when none is drawn; for tests)."""
        if not self._band.isVisible():
            return None
        r = self._band.path().boundingRect()
        return (r.left(), r.right(), r.top(), r.bottom())

    def point_count(self) -> int:
        """Trail points currently drawn (for tests)."""
        return len(self._trail.data)

    def drawn_points(self) -> np.ndarray:
        """``(n, 2)`` array of drawn trail points ``(valence, arousal)``, oldest first."""
        d = self._trail.data
        return np.column_stack([d["x"], d["y"]]) if len(d) else np.zeros((0, 2))



def ellipse_path(x: float, y: float, band: tuple[float, float, float, float], *,
                 steps: int = 24) -> QPainterPath:
    """A closed path round ``(x, y)`` through the band's four ends, in plane coordinates.

    ``band`` is ``(arousal_lo, arousal_hi, valence_lo, valence_hi)``; each quarter is a
    quarter ellipse with that quarter's two half-axes, so the shape is asymmetric where the
    display scale is (e.g. near the edge of the reference music).
    """
    a_lo, a_hi, v_lo, v_hi = band
    path = QPainterPath()
    for q in range(4):
        rx = (v_hi - x) if q in (0, 3) else (x - v_lo)
        ry = (a_hi - y) if q in (0, 1) else (y - a_lo)
        for k in range(steps + 1):
            t = (q + k / steps) * np.pi / 2
            px, py = x + rx * np.cos(t), y + ry * np.sin(t)
            if q == 0 and k == 0:
                path.moveTo(px, py)
            else:
                path.lineTo(px, py)
    path.closeSubpath()
    return path


def _header_html(mood: str, valence: str, arousal: str, status: str, tags: str) -> str:
    """The header: the mood word large, the two readings, then (second line) the tags."""
    line2 = f"<br><span style='font-size:9pt'>{tags}</span>" if tags else ""
    return (f"<span style='font-size:15pt; font-weight:600'>{mood}</span>"
            f"&nbsp;&nbsp;{valence} &middot; {arousal}{status}{line2}")


def _tags(extras, names, top: int = 3) -> str:
    """The ``top`` most probable tags of a frame ("" without extras)."""
    if extras is None or not names:
        return ""
    best = sorted(zip(extras, names), reverse=True)[:top]
    return "tags: " + " &middot; ".join(f"{n} {p:.2f}" for p, n in best)


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
