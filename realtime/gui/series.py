"""Arousal and valence over audio time, scrolling, with the warm-up marked and, when the
tracker has an uncertainty model, a band of raw +- sd round each curve."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QPainterPath
from PyQt6.QtWidgets import QGraphicsPathItem, QLabel, QSizePolicy, QVBoxLayout, QWidget

from .readout import reading, scale_name, tick_labels
from .theme import Theme, style_plot
from .trajectory import TrajectoryStore

#: Regions kept ready for warm-up marks (one per warm-up run in the shown segment).
MAX_WARMUP_MARKS = 4
#: Points drawn per curve at most (longer views are block-averaged).
MAX_DRAWN_POINTS = 1500


def format_clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a time in seconds."""
    seconds = max(0.0, float(seconds))
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class ClockAxis(pg.AxisItem):
    """A time axis labelled ``m:ss``."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - Qt naming
        return [format_clock(v) if v >= 0 else "" for v in values]


class SeriesWidget(QWidget):
    """Two curves (arousal, valence) against audio time, the current values as numbers.

    ``span_s`` is the visible stretch (None = the whole segment, decimated).
    """

    def __init__(self, theme: Theme, *, warmup_s: float = 30.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.span_s: float | None = 60.0
        self.warmup_s = warmup_s
        self._last_key = None

        self.header = QLabel("")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

        self.view = pg.PlotWidget(axisItems={"bottom": ClockAxis("bottom")})
        self.view.setMinimumHeight(120)
        plot = self.plot = self.view.getPlotItem()
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setYRange(-1.12, 1.12, padding=0)
        plot.setLabel("bottom", "audio time")
        plot.showGrid(x=False, y=True, alpha=0.15)
        self._zero = pg.InfiniteLine(pos=0, angle=0, movable=False)
        plot.addItem(self._zero)
        self._marks: list[tuple[pg.LinearRegionItem, pg.TextItem]] = []
        for _ in range(MAX_WARMUP_MARKS):
            region = pg.LinearRegionItem(values=(0, 1), movable=False)
            region.setZValue(-10)
            label = pg.TextItem("warm-up", anchor=(0, 0))
            region.setVisible(False)
            label.setVisible(False)
            plot.addItem(region)
            plot.addItem(label)
            self._marks.append((region, label))
        # uncertainty bands (raw +- sd on the display plane), under the curves
        self.arousal_band = QGraphicsPathItem()
        self.valence_band = QGraphicsPathItem()
        for band in (self.arousal_band, self.valence_band):
            band.setZValue(-5)
            band.setVisible(False)
            plot.addItem(band)
        # silent frames are NaN: gaps in the curves
        self.arousal_curve = plot.plot([], [], name="arousal", connect="finite")
        self.valence_curve = plot.plot([], [], name="valence", connect="finite")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(self.view, 1)
        self.apply_theme(theme)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        style_plot(self.view, self.plot, theme)
        self._zero.setPen(pg.mkPen(theme.axis, width=1))
        self.arousal_curve.setPen(pg.mkPen(theme.arousal, width=2))
        self.valence_curve.setPen(pg.mkPen(theme.valence, width=2))
        for band, colour in ((self.arousal_band, theme.arousal), (self.valence_band, theme.valence)):
            fill = QColor(colour)
            fill.setAlpha(50)
            band.setBrush(pg.mkBrush(fill))
            band.setPen(pg.mkPen(None))
        for region, label in self._marks:
            region.setBrush(pg.mkBrush(theme.warmup))
            for line in region.lines:
                line.setPen(pg.mkPen(None))
            label.setColor(theme.foreground)
        self._last_key = None

    def set_scale(self, scale) -> None:
        """Label the y axis for the tracker's display scale (percentiles) or its raw values."""
        self.plot.getAxis("left").setTicks([tick_labels(scale is not None)])
        self.plot.setLabel("left", scale_name(scale is not None))
        self._last_key = None

    def set_span(self, span_s: float | None) -> None:
        self.span_s = span_s
        self._last_key = None

    def redraw(self, store: TrajectoryStore, *, now_s: float | None = None) -> bool:
        """Redraw if the data changed; returns whether anything was drawn."""
        key = (store.version, self.span_s)
        if key == self._last_key:
            return False
        self._last_key = key
        view = store.window(self.span_s, max_points=MAX_DRAWN_POINTS)
        self.arousal_curve.setData(view.time_s, view.arousal)
        self.valence_curve.setData(view.time_s, view.valence)
        for item, band in ((self.arousal_band, view.arousal_band), (self.valence_band, view.valence_band)):
            if band is None:
                item.setVisible(False)
            else:
                item.setPath(band_path(view.time_s, *band))
                item.setVisible(True)
        latest = store.latest()
        if latest is None:
            self.plot.setXRange(0, self.span_s or 60.0, padding=0)
            self._set_header(None)
            for region, label in self._marks:
                region.setVisible(False)
                label.setVisible(False)
            return True
        t_end = latest.time_s
        if self.span_s is None:
            t0 = float(view.time_s[0]) - 0.5 if len(view.time_s) else 0.0
            x0, x1 = t0, max(t_end, t0 + 10.0)
        else:
            x1 = max(t_end, float(view.time_s[0]) - 0.5 + self.span_s) if len(view.time_s) else t_end
            x0 = x1 - self.span_s
        self.plot.setXRange(x0, x1, padding=0.01)
        spans = store.warmup_spans()[-MAX_WARMUP_MARKS:]
        for i, (region, label) in enumerate(self._marks):
            if i < len(spans):
                a, b = spans[i]
                still = latest.warming_up and i == len(spans) - 1
                region.setRegion((a, b))
                label.setText("warming up" if still else "warm-up")
                label.setPos(max(a, x0), 1.11)
                region.setVisible(True)
                label.setVisible(True)
            else:
                region.setVisible(False)
                label.setVisible(False)
        self._set_header(latest, spans[-1] if spans and latest.warming_up else None)
        return True

    def _set_header(self, latest, warm_span=None) -> None:
        th = self.theme
        if latest is None:
            self.header.setText(
                f"<span style='color:{th.arousal.name()}'>&#9632; arousal</span> &nbsp; "
                f"<span style='color:{th.valence.name()}'>&#9632; valence</span> &nbsp; (no data yet)")
            return
        t = latest.time_s
        extra = ""
        if latest.warming_up and warm_span is not None:
            heard = min(t - warm_span[0], self.warmup_s)
            extra = f" &nbsp; <i>warming up: {heard:.1f} of {self.warmup_s:.1f} s heard</i>"
        if latest.silent:
            values = "<i>silence</i>"
        else:  # the same words and numbers as the plane's header (readout.reading)
            values = (f"<span style='color:{th.arousal.name()}; font-weight:600'>&#9632; "
                      f"{reading('arousal', latest, 'arousal')}</span> &nbsp;&nbsp; <span style='color:"
                      f"{th.valence.name()}; font-weight:600'>&#9632; "
                      f"{reading('valence', latest, 'valence')}</span>")
        self.header.setText(f"{values} &nbsp;&nbsp; at {format_clock(t)}{extra}")

    def band_visible(self) -> tuple[bool, bool]:
        """Whether the arousal and valence bands are drawn (for tests)."""
        return self.arousal_band.isVisible(), self.valence_band.isVisible()

    def curve_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(time_s, arousal, valence)`` as drawn (for tests)."""
        t, a = self.arousal_curve.getData()
        _, v = self.valence_curve.getData()
        empty = np.zeros(0)
        return (empty, empty, empty) if t is None else (t, a, v)


def band_path(t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> QPainterPath:
    """The area between ``lo`` and ``hi`` over ``t``, one closed polygon per run of finite values
    (a silent frame or a result without an sd is a gap).  Built by pyqtgraph from arrays: no
    Python loop over the points."""
    ok = np.isfinite(t) & np.isfinite(lo) & np.isfinite(hi)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    xs, ys, connect = [], [], []
    for a, b in zip(edges[::2], edges[1::2]):
        xs += [t[a:b], t[a:b][::-1], t[a:a + 1]]
        ys += [hi[a:b], lo[a:b][::-1], hi[a:a + 1]]
        c = np.ones(2 * (b - a) + 1, bool)
        c[-1] = False  # the next run starts a new polygon
        connect.append(c)
    if not xs:
        return QPainterPath()
    return pg.arrayToQPath(np.concatenate(xs).astype(np.float64), np.concatenate(ys).astype(np.float64),
                           connect=np.concatenate(connect))
