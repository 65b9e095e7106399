"""Standard JSON only (RFC 8259): non-finite numbers become ``null``.

Python's :mod:`json` writes ``NaN`` and ``Infinity`` by default, which browsers'
``JSON.parse``, jq and most other parsers refuse.  Every JSON or JSON-lines file
emotrack writes goes through :func:`dumps`, the one place that replaces them.
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def finite_or_none(value: Any) -> Any:
    """``value`` with every NaN/Inf float (also inside dicts, lists, tuples and arrays) as None.

    >>> finite_or_none({"a": float("nan"), "b": [1.5, float("inf")]})
    {'a': None, 'b': [1.5, None]}
    """
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return finite_or_none(value.tolist())
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`finite_or_none` (``value``) with ``allow_nan=False``.

    >>> dumps([float("-inf"), 2])
    '[null, 2]'
    """
    return json.dumps(finite_or_none(value), allow_nan=False, **kwargs)
