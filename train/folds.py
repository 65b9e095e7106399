"""Grouped folds: cross-validation by track (Emotify, emoMusic) and by artist (4Q).

Every song has a fold group (:attr:`~emotrack.train.items.SongItem.fold_group`): its
artist for 4Q clips, the song itself otherwise.  A group's songs are always on the same
side of a split, so a network is never scored on an artist it heard in training.

Groups are assigned per dataset: ordered by a seeded hash of the group key, then dealt
round-robin to the folds, so every fold holds about ``1/k`` of each dataset's groups.
The same seed and songs give the same folds whatever the network (the three networks
are compared on the same folds).
"""
from __future__ import annotations

import hashlib
from collections import defaultdict

from ..model.errors import ParameterError


def _rank(key: str, seed: int) -> str:
    return hashlib.sha256(f"fold:{seed}:{key}".encode()).hexdigest()


def assign_folds(groups: dict[str, str], datasets: dict[str, str], *, k: int, seed: int) -> dict[str, int]:
    """Fold (0 .. k-1) of every song.

    Parameters
    ----------
    groups : dict song key -> group key
    datasets : dict song key -> dataset name
    k : int >= 2
    seed : int

    Returns
    -------
    dict song key -> fold
    """
    if k < 2:
        raise ParameterError(f"cross-validation needs at least 2 folds, got {k}")
    by_dataset: dict[str, set[str]] = defaultdict(set)
    for key, group in groups.items():
        by_dataset[datasets[key]].add(group)
    fold_of_group: dict[str, int] = {}
    for name in sorted(by_dataset):
        for i, group in enumerate(sorted(by_dataset[name], key=lambda g: _rank(g, seed))):
            fold_of_group[group] = i % k
    return {key: fold_of_group[group] for key, group in groups.items()}


def split_groups(groups: dict[str, str], *, fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Carve validation songs out of training songs, whole groups at a time.

    Groups are ordered by a seeded hash; the first ones go to validation until
    ``ceil(fraction * n_groups)`` groups are taken (at least one when there are two or
    more groups; none when ``fraction == 0``).

    Returns
    -------
    train_keys, val_keys : list[str]
        Song keys, in the order of ``groups``.
    """
    import math

    if not 0.0 <= fraction < 1.0:
        raise ParameterError(f"validation fraction must be in [0, 1), got {fraction!r}")
    names = sorted(set(groups.values()), key=lambda g: hashlib.sha256(f"{seed}:{g}".encode()).hexdigest())
    n_val = 0 if fraction == 0 or len(names) < 2 else max(1, math.ceil(fraction * len(names)))
    val = set(names[:n_val])
    return [k for k, g in groups.items() if g not in val], [k for k, g in groups.items() if g in val]
