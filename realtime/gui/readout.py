"""The numbers a person reads in the app, on one named scale (no Qt).

Everywhere the window shows a number for arousal or valence (the plane's header, the
curves' legend, both plots' axes) it uses the same scale:

- with a display scale (the shipped trackers): the **percentile** among the reference
  music (``78th pct``: more energetic than 78 % of its frames); the plane and the curves
  draw ``percentile / 50 - 1``, so their axes are labelled 0, 25, 50, 75, 100;
- without one (a checkpoint of your own): the tracker's **raw value**, [-1, 1].

With an uncertainty (``arousal_sd``/``valence_sd``), a reading adds the range of the raw
value +- one sd on that scale (asymmetric where the percentile scale is).
The raw values themselves stay in the CSV export.
"""
from __future__ import annotations

import math

#: Positions of the axis ticks on the display plane (both plots).
TICK_POSITIONS = (-1.0, -0.5, 0.0, 0.5, 1.0)


def scale_name(has_scale: bool) -> str:
    """What the numbers are: ``"percentile"`` or ``"raw value"``."""
    return "percentile" if has_scale else "raw value"


def tick_labels(has_scale: bool) -> list[tuple[float, str]]:
    """``(position, label)`` of the axis ticks: percentiles 0 ... 100, or raw -1 ... 1."""
    if has_scale:
        return [(p, f"{round((p + 1) * 50)}") for p in TICK_POSITIONS]
    return [(p, f"{p:g}") for p in TICK_POSITIONS]


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``22nd`` ...

    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 100)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '100th']
    """
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def reading(name: str, latest, axis: str) -> str:
    """``arousal 78th pct`` (``(64-88)`` with an sd), or ``arousal +0.12`` without a scale.

    Parameters
    ----------
    name : str
        The word printed first (``"arousal"``, ``"valence"``).
    latest : Latest
        :meth:`~.trajectory.TrajectoryStore.latest` (its percentiles, raw values, band).
    axis : {"arousal", "valence"}
        Which of the result's values to read.

    Returns
    -------
    str
        Plain text (no markup); ``"arousal \u2014"`` when the value is missing.
    """
    j = 0 if axis == "arousal" else 1
    pct = latest.arousal_pct if j == 0 else latest.valence_pct
    raw = latest.raw_arousal if j == 0 else latest.raw_valence
    band = latest.band[2 * j: 2 * j + 2] if latest.band is not None else None
    if math.isfinite(pct):
        text = f"{name} {ordinal(round(pct))} pct"
        if band is not None:
            lo, hi = (round((b + 1) * 50) for b in band)
            text += f" ({lo}\u2013{hi})"
        return text
    if not math.isfinite(raw):
        return f"{name} \u2014"
    text = f"{name} {raw:+.2f}"
    if latest.raw_sd is not None:
        text += f" \u00b1 {latest.raw_sd[j]:.2f}"
    return text
