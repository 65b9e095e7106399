"""The cross-validated figures a trained checkpoint records, as text for menus and ``--help``.

``emotrack train --folds K`` stores the held-out figures in a checkpoint's facts
(``cv_emotify``: Spearman rho on Emotify; ``cv_4q``: AUCs on 4Q; ``folds``).  This reads
them back and says them in one short paragraph, so the GUI's Model menu can show the
research models' figures one click away.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

from .errors import EmotrackError


def _estimate(value: Any) -> str:
    try:
        return f"{float(value['value']):.2f} [{float(value['low']):.2f}, {float(value['high']):.2f}]"
    except (KeyError, TypeError, ValueError):
        return "-"


def figures_text(name: str, facts: Mapping[str, Any]) -> str:
    """One paragraph with a checkpoint's cross-validated figures (or that it has none).

    Parameters
    ----------
    name : str
        The tracker's name (``"cae"``).
    facts : mapping
        The checkpoint's facts.
    """
    emotify, fourq = facts.get("cv_emotify"), facts.get("cv_4q")
    if not isinstance(emotify, Mapping) and not isinstance(fourq, Mapping):
        return f"{name}: no cross-validated figures recorded in its checkpoint."
    folds = facts.get("folds") if isinstance(facts.get("folds"), Mapping) else {}
    lines = [f"{name}: {folds.get('k', '?')}-fold cross-validation (by track on Emotify, by artist on 4Q), "
             "95 % bootstrap intervals."]
    if isinstance(emotify, Mapping):
        lines.append(f"Emotify (200 tracks): arousal rho {_estimate(emotify.get('arousal'))}, within genre "
                     f"{_estimate(emotify.get('arousal_within'))}, valence partial rho given arousal "
                     f"{_estimate(emotify.get('valence_partial'))}.")
    if isinstance(fourq, Mapping):
        lines.append(f"4Q (450 clips): arousal AUC {_estimate(fourq.get('arousal_auc'))}, valence AUC within "
                     f"arousal {_estimate(fourq.get('valence_auc_within'))}.")
    return "\n".join(lines)


def bundled_figures(name: str) -> str:
    """:func:`figures_text` of a shipped checkpoint (``rnn``, ``cae``, ``baseline``); a line saying
    why when it cannot be read."""
    from .checkpoint import load_checkpoint
    from .trackers import bundled_checkpoint

    path = bundled_checkpoint(name)
    try:
        return figures_text(name, load_checkpoint(os.fspath(path)).facts)
    except EmotrackError as exc:
        return f"{name}: {exc}"
