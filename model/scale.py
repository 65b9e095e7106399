"""What a position on the plane means: :class:`DisplayScale`.

Trackers predict raw (arousal, valence) on the emoMusic rater scale, where real
music mostly sits within ~0.3 of the centre.  Read by eye, that makes clearly
calm and clearly energetic music look alike.  A display scale maps each raw value
to its **percentile among the frames of a reference set of music** (stored as
101 quantiles per axis with the tracker's head or checkpoint): arousal percentile
80 means "more energetic than 80 % of the reference music's frames".  The plane
and the mood words use ``plane = percentile / 50 - 1`` in [-1, 1]; files keep the
raw values and add the percentiles.

The mapping is monotone per axis, so rankings (and Spearman correlations) are
the same on both scales.  The musicnn head's scale is smooth
(:meth:`DisplayScale.smooth_from_values`: a logistic fitted to the reference's
percentiles, its 1st-99th percentile inside +-0.9 of the plane), so its
"percentiles" are those of that smoothed reference distribution.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ParameterError
from .validate import MAX_REFERENCE_CHARS, quote

N_QUANTILES = 101
"""Quantiles stored per axis: the 0th, 1st, ..., 100th percentile."""
MIN_SMOOTH_ROWS = 20
"""Fewest reference values :meth:`DisplayScale.smooth_from_values` fits a logistic to."""


@dataclass(frozen=True)
class DisplayScale:
    """Raw values -> percentiles of a reference set of music.

    Attributes
    ----------
    reference : str
        What the reference music is (shown in ``--help``, the JSON and the docs).
    arousal_quantiles, valence_quantiles : np.ndarray, shape=(101,)
        Non-decreasing raw values at the 0th ... 100th percentile.
    """

    reference: str
    arousal_quantiles: np.ndarray
    valence_quantiles: np.ndarray

    def __post_init__(self) -> None:
        for name in ("arousal_quantiles", "valence_quantiles"):
            q = np.asarray(getattr(self, name), np.float64)
            if q.shape != (N_QUANTILES,) or not np.isfinite(q).all() or np.any(np.diff(q) < 0):
                raise ParameterError(
                    f"display scale {name} must be {N_QUANTILES} finite, non-decreasing numbers")
            if q[-1] - q[0] <= 0:
                raise ParameterError(f"display scale {name} spans no range ({q[0]:g} .. {q[-1]:g})")
            object.__setattr__(self, name, q)

    @classmethod
    def from_values(cls, values: np.ndarray, reference: str) -> "DisplayScale":
        """Fit the scale to raw (arousal, valence) values ``(n, 2)`` of a reference set."""
        v = np.asarray(values, np.float64)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < N_QUANTILES:
            raise ParameterError(f"need at least {N_QUANTILES} (arousal, valence) rows, got {v.shape}")
        qs = np.linspace(0.0, 100.0, N_QUANTILES)
        return cls(reference, np.percentile(v[:, 0], qs), np.percentile(v[:, 1], qs))

    @classmethod
    def smooth_from_values(cls, values: np.ndarray, reference: str, *, inner: float = 0.9) -> "DisplayScale":
        """A smooth scale for raw (arousal, valence) values ``(n, 2)`` of a reference set.

        Per axis, a logistic distribution (location ``mu``, scale ``s``) is fitted by least
        squares to the values' 1st ... 99th percentiles (``q_p = mu + s logit(p)``); where that
        would put the 1st or 99th percentile outside ``+-inner`` on the plane, ``s`` is widened
        until both lie inside.  The stored quantiles are the logistic's (0th and 100th: its
        0.25 % and 99.75 % points), so the plane follows a smooth S-curve of the raw value: an
        unusual song moves towards the edge gradually instead of piling up on it as it does
        with the reference's raw empirical percentiles (:meth:`from_values`).
        """
        v = np.asarray(values, np.float64)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < MIN_SMOOTH_ROWS:
            raise ParameterError(f"need at least {MIN_SMOOTH_ROWS} (arousal, valence) rows, got {v.shape}")
        if not 0.0 < inner < 1.0:
            raise ParameterError(f"inner must be in (0, 1), got {inner}")
        p = np.arange(1, 100) / 100.0
        logit = np.log(p / (1 - p))
        limit = float(np.log((1 + inner) / (1 - inner)))  # |logit| at plane +-inner
        grid = np.linspace(0.0, 1.0, N_QUANTILES)
        grid[0], grid[-1] = 0.0025, 0.9975
        out = []
        for j in range(2):
            q = np.percentile(v[:, j], p * 100)
            s, mu = np.polyfit(logit, q, 1)
            if not s > 0:
                raise ParameterError("the reference values do not spread: cannot fit a display scale")
            s = max(s, (mu - q[0]) / limit, (q[-1] - mu) / limit)
            out.append(mu + s * np.log(grid / (1 - grid)))
        return cls(reference, out[0], out[1])

    def percentiles(self, values: np.ndarray) -> np.ndarray:
        """Raw ``(n, 2)`` (arousal, valence) -> percentiles in [0, 100] (piecewise linear)."""
        v = np.asarray(values, np.float64).reshape(-1, 2)
        grid = np.linspace(0.0, 100.0, N_QUANTILES)
        out = np.empty_like(v)
        for j, q in enumerate((self.arousal_quantiles, self.valence_quantiles)):
            # ties in q (flat stretches) map to the middle of their percentile range
            lo = np.interp(v[:, j], q, grid)
            hi = -np.interp(-v[:, j], -q[::-1], -grid[::-1])
            out[:, j] = 0.5 * (lo + hi)
        return out.astype(np.float32)

    def plane(self, values: np.ndarray) -> np.ndarray:
        """Raw ``(n, 2)`` (arousal, valence) -> display coordinates in [-1, 1]."""
        return plane_of(values, self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored in head and checkpoint facts)."""
        return {"reference": self.reference,
                "arousal_quantiles": [round(float(x), 6) for x in self.arousal_quantiles],
                "valence_quantiles": [round(float(x), 6) for x in self.valence_quantiles]}

    @classmethod
    def from_dict(cls, data: Any) -> "DisplayScale":
        """Inverse of :meth:`to_dict`; ParameterError when malformed."""
        if not isinstance(data, dict):
            raise ParameterError(f"a display scale must be a JSON object, got {type(data).__name__}")
        reference = data.get("reference")
        if not isinstance(reference, str) or len(reference) > MAX_REFERENCE_CHARS:
            raise ParameterError(f"a display scale's reference must be text of at most "
                                 f"{MAX_REFERENCE_CHARS} characters, got {quote(reference)}")
        try:
            return cls(reference, np.asarray(data["arousal_quantiles"], np.float64),
                       np.asarray(data["valence_quantiles"], np.float64))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ParameterError):
                raise
            raise ParameterError(f"malformed display scale: {exc!r}") from None


def plane_of(values: np.ndarray, scale: DisplayScale | None, *,
             percentiles: np.ndarray | None = None) -> np.ndarray:
    """Display coordinates of raw values: ``percentile / 50 - 1`` on the scale, or the raw values
    clipped to [-1, 1] without one.  ``percentiles`` (``scale.percentiles(values)``, when the
    caller has them already) saves computing them again."""
    if scale is None:
        return np.clip(np.asarray(values, np.float32).reshape(-1, 2), -1.0, 1.0)
    pct = scale.percentiles(values) if percentiles is None else percentiles
    return (np.asarray(pct, np.float32) / 50.0 - 1.0).astype(np.float32)
