"""Predicted vs human emotion curves as a PNG (``emotrack evaluate``), drawn with matplotlib."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

DIMENSIONS = ("arousal", "valence")


def plot_curves_png(path: Path, curves: list[dict[str, Any]], *, title: str = "") -> Path:
    """Write one row per song: human vs predicted arousal (left) and valence (right).

    Parameters
    ----------
    path : pathlib.Path
        Where to write the PNG.
    curves : list of dict
        Each with ``song`` (label), ``time_s`` (n,), ``human`` (n, 2), ``predicted`` (n, 2)
        and optionally ``std`` (n, 2), the raters' standard deviation; columns (arousal, valence).
    title : str
        Figure title (e.g. the model and split).
    """
    import matplotlib

    matplotlib.use("Agg")  # no display needed; never loads Qt
    import matplotlib.pyplot as plt

    rows = max(1, len(curves))
    fig, axes = plt.subplots(rows, 2, figsize=(11, 2.3 * rows + 0.8), squeeze=False, sharey=True)
    for r, curve in enumerate(curves):
        t = np.asarray(curve["time_s"], float)
        human = np.asarray(curve["human"], float)
        pred = np.clip(np.asarray(curve["predicted"], float), -1, 1)
        std = curve.get("std")
        for d, name in enumerate(DIMENSIONS):
            ax = axes[r, d]
            if std is not None:
                s = np.asarray(std, float)[:, d]
                ax.fill_between(t, human[:, d] - s, human[:, d] + s, color="0.85", lw=0,
                                label="raters' std")
            ax.plot(t, human[:, d], color="black", lw=1.6, label="human (mean)")
            ax.plot(t, pred[:, d], color="tab:blue" if d else "tab:red", lw=1.6, label="predicted")
            ax.axhline(0, color="0.6", lw=0.6)
            ax.set_ylim(-1, 1)
            ax.grid(alpha=0.3)
            ax.set_title(f"song {curve.get('song', r)}: {name}", fontsize=10)
            if r == rows - 1:
                ax.set_xlabel("time (s)")
            if r == 0 and d == 1:
                ax.legend(loc="lower right", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
