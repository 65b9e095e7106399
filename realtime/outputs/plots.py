"""PNG report of an analysed track: the valence-arousal trajectory and the two curves over time.

Uses matplotlib's non-interactive Agg backend (no display, no Qt), imported
lazily so that only ``emotrack analyze --format png`` pays for it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

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


def write_png(result: AnalysisResult, path: str | os.PathLike, *, dpi: int = 110) -> Path:
    """Write :func:`save_png` atomically to ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        save_png(result, tmp, dpi=dpi)
    return path


def save_png(result: AnalysisResult, path: str | os.PathLike, *, dpi: int = 110) -> None:
    """Draw the report and save it as PNG at ``path`` (in place; see :func:`write_png`).

    Left: the trajectory on the valence (x) / arousal (y) display plane, both [-1, 1],
    coloured by time, with start and end marked and the quadrants labelled.
    Right: arousal and valence over time (the causal warm-up, when present, shaded).
    With a display scale the plane and the curves show ``percentile / 50 - 1`` (the
    position among the reference music, as in the GUI); silent frames are gaps.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # Figure + Agg canvas: no pyplot global state

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    t = result.time_s
    pct = result.percentiles
    shown = display_plane(result, pct)
    shown = np.where(result.silent[:, None], np.nan, shown)
    a, v = shown[:, 0], shown[:, 1]
    scale_note = " (percentile in the reference music: -1 = 0 %, 0 = median, +1 = 100 %)" \
        if pct is not None else ""
    fig = Figure(figsize=(12, 5.2), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax_va, ax_t = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.45]})

    # --- the valence-arousal plane --------------------------------------
    ax_va.set_xlim(-1, 1)
    ax_va.set_ylim(-1, 1)
    ax_va.set_aspect("equal")
    ax_va.axhline(0, color="0.6", lw=0.8)
    ax_va.axvline(0, color="0.6", lw=0.8)
    ax_va.add_patch(_circle())
    for (sx, sy), label in QUADRANTS.items():
        ax_va.text(0.96 * sx, 0.94 * sy, label, ha="right" if sx > 0 else "left",
                   va="top" if sy > 0 else "bottom", fontsize=9, color="0.35", style="italic")
    if len(t) > 1:
        from matplotlib.collections import LineCollection

        pts = np.column_stack((v, a))
        segs = np.stack((pts[:-1], pts[1:]), axis=1)
        lc = LineCollection(segs, cmap="viridis", linewidths=1.6, alpha=0.9)
        lc.set_array(t[1:])
        ax_va.add_collection(lc)
        cbar = fig.colorbar(lc, ax=ax_va, shrink=0.8, pad=0.02)
        cbar.set_label("time (s)")
    heard = np.flatnonzero(np.isfinite(a))
    if len(heard):
        ax_va.plot(v[heard[0]], a[heard[0]], "o", ms=7, mfc="white", mec="black", label="start")
        ax_va.plot(v[heard[-1]], a[heard[-1]], "s", ms=7, color="black", label="end")
        ax_va.plot(np.nanmean(v), np.nanmean(a), "x", ms=9, mew=2, color="crimson", label="mean")
        ax_va.legend(loc="lower left", bbox_to_anchor=(0.0, 0.08), fontsize=8, framealpha=0.8)
    ax_va.set_xlabel("valence  (negative \u2190 \u2192 positive)")
    ax_va.set_ylabel("arousal  (calm \u2190 \u2192 energetic)")
    ax_va.set_title("valence-arousal trajectory")

    # --- curves over time --------------------------------------------------
    ax_t.axhline(0, color="0.6", lw=0.8)
    ax_t.plot(t, a, color="tab:red", lw=1.5, label="arousal")
    ax_t.plot(t, v, color="tab:blue", lw=1.5, label="valence")
    if result.warming_up.any():
        end = t[result.warming_up][-1]
        ax_t.axvspan(0, end, color="0.85", alpha=0.6, lw=0, label="warming up")
    ax_t.set_xlim(0, max(float(t[-1]) if len(t) else 1.0, 1.0))
    ax_t.set_ylim(-1, 1)
    ax_t.set_xlabel("time (s)")
    ax_t.set_ylabel("position on the plane" if pct is not None else "prediction")
    ax_t.grid(True, alpha=0.3)
    ax_t.legend(loc="upper right", fontsize=8, ncols=3)
    ax_t.set_title(f"over time  ({result.mode} mode, {len(t)} frames at 2 Hz)")
    if scale_note:
        import textwrap

        note = "plane and curves: position among " + result.scale.reference + scale_note
        fig.supxlabel("\n".join(textwrap.wrap(note, 160)), fontsize=8, color="0.35")  # in the layout

    model = result.model or {}
    title = f"{result.info.path.name}  \u2014  model '{model.get('name', '?')}'"
    fig.suptitle(title, fontsize=12)
    if (model.get("facts") or {}).get("trained") is False:
        fig.text(0.5, 0.5, "UNTRAINED MODEL \u2014 values are meaningless", ha="center", va="center",
                 fontsize=26, color="crimson", alpha=0.25, rotation=12, weight="bold")
    fig.savefig(path, format="png", dpi=dpi)


def _circle():
    from matplotlib.patches import Circle

    return Circle((0, 0), 1.0, fill=False, color="0.8", lw=0.8, ls="--")
