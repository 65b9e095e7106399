"""Colours that follow the desktop's light or dark palette."""
from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import QApplication


@dataclass(frozen=True)
class Theme:
    """Colours of the plots; all ``QColor``."""

    dark: bool
    background: QColor
    foreground: QColor
    grid: QColor
    axis: QColor
    word: QColor
    arousal: QColor
    valence: QColor
    point: QColor
    warmup: QColor  #: fill of the warm-up region (translucent)


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether the palette's window colour is dark."""
    if palette is None:
        palette = QApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def current_theme(palette: QPalette | None = None) -> Theme:
    """The plot colours for the application's current palette."""
    if palette is None:
        palette = QApplication.palette()
    dark = is_dark(palette)
    bg = palette.color(QPalette.ColorRole.Base)
    fg = palette.color(QPalette.ColorRole.Text)
    if dark:
        return Theme(dark=True, background=bg, foreground=fg, grid=QColor(255, 255, 255, 40),
                     axis=QColor(255, 255, 255, 110), word=QColor(210, 210, 220),
                     arousal=QColor(255, 120, 80), valence=QColor(90, 170, 255),
                     point=QColor(255, 235, 120), warmup=QColor(255, 255, 255, 28))
    return Theme(dark=False, background=bg, foreground=fg, grid=QColor(0, 0, 0, 30),
                 axis=QColor(0, 0, 0, 110), word=QColor(70, 70, 85),
                 arousal=QColor(215, 70, 30), valence=QColor(25, 100, 200),
                 point=QColor(230, 60, 40), warmup=QColor(0, 0, 0, 22))


def style_plot(view, plot, theme: Theme) -> None:
    """Background and axis colours of a pyqtgraph ``view`` showing ``plot`` (both plots share it)."""
    import pyqtgraph as pg

    view.setBackground(theme.background)
    for name in ("bottom", "left"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(theme.axis))
        axis.setTextPen(pg.mkPen(theme.foreground))
