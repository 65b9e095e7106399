"""Predicted vs human curves as a PNG, with numpy and zlib only (no plotting dependency).

Layout: one row per song; left panel arousal, right panel valence; x = time
(the rated span of the song), y = [-1, 1] with light grid lines at +-0.5 and
a darker zero line.  Human ratings are black, predictions blue, the human
rating +- the raters' std (where the dataset gives it) a grey band.  The image
carries no text: the Markdown report that accompanies it names the songs in
row order.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

PANEL_W, PANEL_H, MARGIN = 360, 140, 12
BLACK, BLUE, GREY, GRID, ZERO, WHITE = ((0, 0, 0), (31, 119, 180), (200, 200, 200),
                                       (232, 232, 232), (170, 170, 170), (255, 255, 255))


def encode_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of an (h, w, 3) uint8 image."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _polyline(img: np.ndarray, xs: np.ndarray, ys: np.ndarray, color, width: int = 2) -> None:
    h, w, _ = img.shape
    for (x0, y0, x1, y1) in zip(xs[:-1], ys[:-1], xs[1:], ys[1:]):
        if np.isnan(y0) or np.isnan(y1):
            continue
        n = int(max(abs(x1 - x0), abs(y1 - y0)) * 2) + 1
        px = np.linspace(x0, x1, n)
        py = np.linspace(y0, y1, n)
        for dx in range(width):
            for dy in range(width):
                xi = np.clip(np.round(px).astype(int) + dx, 0, w - 1)
                yi = np.clip(np.round(py).astype(int) + dy, 0, h - 1)
                img[yi, xi] = color


def _panel(img, x0, y0, t, human, pred, std) -> None:
    img[y0:y0 + PANEL_H, x0:x0 + PANEL_W] = WHITE
    to_y = lambda v: y0 + (1.0 - (np.asarray(v) + 1.0) / 2.0) * (PANEL_H - 1)  # noqa: E731
    for v, c in ((0.5, GRID), (-0.5, GRID), (0.0, ZERO)):
        img[int(round(float(to_y(v)))), x0:x0 + PANEL_W] = c
    span = max(float(t[-1] - t[0]), 1e-6)
    xs = x0 + (t - t[0]) / span * (PANEL_W - 3)
    if std is not None:
        lo, hi = to_y(np.clip(human - std, -1, 1)), to_y(np.clip(human + std, -1, 1))
        step = int(np.ceil(PANEL_W / max(len(xs), 1))) + 1
        for x, a, b in zip(xs, hi, lo):
            if not (np.isnan(a) or np.isnan(b)):
                img[int(a):int(b) + 1, int(x):min(int(x) + step, x0 + PANEL_W)] = GREY
    _polyline(img, xs, to_y(human), BLACK)
    _polyline(img, xs, to_y(np.clip(pred, -1, 1)), BLUE)
    img[[y0, y0 + PANEL_H - 1], x0:x0 + PANEL_W] = ZERO
    img[y0:y0 + PANEL_H, [x0, x0 + PANEL_W - 1]] = ZERO


def plot_curves_png(path: Path, curves: list[dict[str, Any]], *, title: str = "") -> Path:
    """Write the curves PNG.

    Parameters
    ----------
    path : pathlib.Path
    curves : list of dict
        Each with ``time_s`` (n,), ``human`` (n, 2), ``predicted`` (n, 2) and
        optionally ``std`` (n, 2); columns (arousal, valence).
    title : str
        Unused in the image (no font); kept for callers' symmetry.
    """
    rows = max(1, len(curves))
    h = rows * (PANEL_H + MARGIN) + MARGIN
    w = 2 * (PANEL_W + MARGIN) + MARGIN
    img = np.full((h, w, 3), 245, np.uint8)
    for r, c in enumerate(curves):
        std = c.get("std")
        for d in range(2):
            _panel(img, MARGIN + d * (PANEL_W + MARGIN), MARGIN + r * (PANEL_H + MARGIN),
                   np.asarray(c["time_s"], float), np.asarray(c["human"], float)[:, d],
                   np.asarray(c["predicted"], float)[:, d],
                   None if std is None else np.asarray(std, float)[:, d])
    Path(path).write_bytes(encode_png(img))
    return Path(path)
