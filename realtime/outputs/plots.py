"""PNG report of an analysed track: the valence-arousal trajectory and the two curves over time.

Nothing that is not data is drawn where data can be: the quadrant labels sit outside the
plane's square, every legend (start/end/mean markers, the two curves, the warm-up, the
uncertainty band) is one row below both plots, and the plane's limits leave room for a
marker on the edge.  Numbers are read on one scale, named on the axes: the percentile among
the tracker's reference music (0-100; the plots draw ``percentile / 50 - 1``), or the raw
value for a model without a display scale, as in the desktop app.

Uses matplotlib's non-interactive Agg backend (no display, no Qt), imported
lazily so that only ``emotrack analyze --format png`` pays for it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...model.scale import plane_of
from ..analysis import AnalysisResult
from .atomic_files import atomic_path
from .schema import display_plane

QUADRANTS = {
    (1, 1): "happy / excited",
    (-1, 1): "tense / angry",
    (-1, -1): "sad / depressed",
    (1, -1): "calm / relaxed",
}
"""Quadrant labels of Russell's circumplex, keyed by (sign of valence, sign of arousal)."""

PLANE_LIMIT = 1.07
"""Both axes of the plane and the curves' y axis show [-PLANE_LIMIT, PLANE_LIMIT]: data lie in
[-1, 1], the margin keeps a marker on the edge whole."""
TICKS = (-1.0, -0.5, 0.0, 0.5, 1.0)


def write_png(result: AnalysisResult, path: str | os.PathLike, *, dpi: int = 110) -> Path:
    """Write :func:`save_png` atomically to ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        save_png(result, tmp, dpi=dpi)
    return path


def save_png(result: AnalysisResult, path: str | os.PathLike, *, dpi: int = 110) -> None:
    """Draw the report (:func:`draw_report`) and save it as PNG at ``path`` (in place; see
    :func:`write_png`)."""
    fig = draw_report(result, dpi=dpi)
    fig.savefig(path, format="png", dpi=dpi)


def uncertainty_band(result: AnalysisResult) -> np.ndarray | None:
    """``(n, 2, 2)``: for each frame, (arousal, valence) on the display plane at raw - sd
    (``[:, 0]``) and raw + sd (``[:, 1]``), through the tracker's display scale (asymmetric
    where the scale is); NaN for silent frames; None without an uncertainty model."""
    sd = result.frames.sd
    if sd is None:
        return None
    raw = np.asarray(result.values, np.float64)
    sd = np.asarray(sd, np.float64)
    lo = plane_of(raw - sd, result.scale)
    hi = plane_of(raw + sd, result.scale)
    band = np.stack([lo, hi], axis=1).astype(np.float64)
    band[np.asarray(result.silent, bool)] = np.nan
    return band


def draw_report(result: AnalysisResult, *, dpi: int = 110):
    """The report as a matplotlib ``Figure`` (Agg canvas attached; no pyplot state).

    Left: the trajectory on the valence (x) / arousal (y) display plane coloured by time,
    start, end and mean marked.  Right: arousal and valence over time (the causal warm-up,
    when present, shaded; with an uncertainty model a band of raw +- sd round each curve).
    Silent frames are gaps.  The axes ``ax_plane``, ``ax_time`` and ``ax_legend`` are kept on
    the figure as attributes for callers that inspect the layout.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure  # Figure + Agg canvas: no pyplot global state
    from matplotlib.patches import Patch

    t = np.asarray(result.time_s, np.float64)
    pct = result.percentiles
    shown = np.asarray(display_plane(result, pct), np.float64)
    shown = np.where(np.asarray(result.silent, bool)[:, None], np.nan, shown)
    a, v = shown[:, 0], shown[:, 1]
    band = uncertainty_band(result)
    unit = "percentile" if result.scale is not None else "raw value"
    tick_labels = ([f"{round((p + 1) * 50)}" for p in TICKS] if result.scale is not None
                   else [f"{p:g}" for p in TICKS])

    fig = Figure(figsize=(12, 6.0), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, width_ratios=[1, 1.45], height_ratios=[1, 0.07])
    ax_va = fig.add_subplot(grid[0, 0])
    ax_t = fig.add_subplot(grid[0, 1])
    ax_leg = fig.add_subplot(grid[1, :])
    ax_leg.set_axis_off()
    handles = []

    # --- the valence-arousal plane --------------------------------------
    ax_va.set_xlim(-PLANE_LIMIT, PLANE_LIMIT)
    ax_va.set_ylim(-PLANE_LIMIT, PLANE_LIMIT)
    ax_va.set_aspect("equal")
    ax_va.set_xticks(TICKS, tick_labels)
    ax_va.set_yticks(TICKS, tick_labels)
    ax_va.axhline(0, color="0.6", lw=0.8)
    ax_va.axvline(0, color="0.6", lw=0.8)
    ax_va.add_patch(_circle())
    ax_va.plot([-1, 1, 1, -1, -1], [-1, -1, 1, 1, -1], color="0.85", lw=0.8)
    # quadrant labels outside the square: above its top corners, below its bottom corners
    # (under the tick labels), where no point can be
    for (sx, sy), label in QUADRANTS.items():
        ax_va.annotate(label, xy=(0.0 if sx < 0 else 1.0, 1.0 if sy > 0 else 0.0),
                       xycoords="axes fraction", xytext=(0, 3 if sy > 0 else -17),
                       textcoords="offset points", ha="left" if sx < 0 else "right",
                       va="bottom" if sy > 0 else "top", fontsize=8.5, color="0.35",
                       style="italic", annotation_clip=False)
    if len(t) > 1:
        pts = np.column_stack((v, a))
        segs = np.stack((pts[:-1], pts[1:]), axis=1)
        lc = LineCollection(segs, cmap="viridis", linewidths=1.6, alpha=0.9)
        lc.set_array(t[1:])
        ax_va.add_collection(lc)
        cbar = fig.colorbar(lc, ax=ax_va, shrink=0.8, pad=0.02)
        cbar.set_label("time (s)")
    heard = np.flatnonzero(np.isfinite(a) & np.isfinite(v))
    if len(heard):
        marks = (
            ax_va.plot(v[heard[0]], a[heard[0]], "o", ms=7, mfc="white", mec="black", label="start"),
            ax_va.plot(v[heard[-1]], a[heard[-1]], "s", ms=7, color="black", label="end"),
            ax_va.plot(np.mean(v[heard]), np.mean(a[heard]), "x", ms=9, mew=2, color="crimson",
                       label="mean"))
        for (line,) in marks:
            line.set_clip_on(False)
            handles.append(line)
    ax_va.set_xlabel(f"valence {unit}  (negative \u2190 \u2192 positive)", labelpad=14)
    ax_va.set_ylabel(f"arousal {unit}  (calm \u2190 \u2192 energetic)")
    ax_va.set_title("valence-arousal trajectory", pad=16)

    # --- curves over time --------------------------------------------------
    ax_t.axhline(0, color="0.6", lw=0.8)
    (la,) = ax_t.plot(t, a, color="tab:red", lw=1.5, label="arousal")
    (lv,) = ax_t.plot(t, v, color="tab:blue", lw=1.5, label="valence")
    handles += [la, lv]
    if band is not None:
        for j, colour in ((0, "tab:red"), (1, "tab:blue")):
            ax_t.fill_between(t, band[:, 0, j], band[:, 1, j], color=colour, alpha=0.18, lw=0)
        handles.append(Patch(color="0.55", alpha=0.35, label="\u00b1 1 sd (raw scale)"))
    if result.warming_up.any():
        end = t[result.warming_up][-1]
        ax_t.axvspan(0, end, color="0.85", alpha=0.6, lw=0)
        handles.append(Patch(color="0.85", alpha=0.6, label="warming up"))
    ax_t.set_xlim(0, max(float(t[-1]) if len(t) else 1.0, 1.0))
    ax_t.set_ylim(-PLANE_LIMIT, PLANE_LIMIT)
    ax_t.set_yticks(TICKS, tick_labels)
    ax_t.set_xlabel("time (s)")
    ax_t.set_ylabel(unit)
    ax_t.grid(True, alpha=0.3)
    ax_t.set_title(f"over time  ({result.mode} mode, {len(t)} frames at 2 Hz)")

    # --- one legend row under both plots, where no data is ------------------
    if handles:
        ax_leg.legend(handles=handles, loc="center", ncols=len(handles), fontsize=8.5,
                      frameon=False, handlelength=1.8, columnspacing=1.6)
    if result.scale is not None:
        import textwrap

        reference = result.scale.reference
        among = "among " if reference.lower().startswith(("the ", "a ", "an ")) else "among the "
        note = "percentile: where each value sits " + among + reference + " (50 = their median)"
        fig.supxlabel("\n".join(textwrap.wrap(note, 160)), fontsize=8, color="0.35")  # in the layout

    model = result.model or {}
    title = f"{result.info.path.name}  \u2014  model '{model.get('name', '?')}'"
    fig.suptitle(title, fontsize=12)
    if (model.get("facts") or {}).get("trained") is False:
        fig.text(0.5, 0.5, "UNTRAINED MODEL \u2014 values are meaningless", ha="center", va="center",
                 fontsize=26, color="crimson", alpha=0.25, rotation=12, weight="bold")
    fig.ax_plane, fig.ax_time, fig.ax_legend = ax_va, ax_t, ax_leg
    return fig


def _circle():
    from matplotlib.patches import Circle

    return Circle((0, 0), 1.0, fill=False, color="0.8", lw=0.8, ls="--")
