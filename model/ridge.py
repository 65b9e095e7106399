"""Closed-form ridge regression heads with leave-one-group-out alpha selection.

A :class:`RidgeHead` maps a feature vector (e.g. a musicnn embedding) to
(arousal, valence).  Features are standardised with the training mean and
standard deviation, targets are centred, and the coefficients solve

    (Xs^T Xs + alpha I) w = Xs^T (y - mean(y))

which is what scikit-learn's ``Ridge(alpha, fit_intercept=True)`` computes on
the standardised features (a test checks this).  No scikit-learn at run time.

Head files are safetensors (tensors ``mean``, ``std``, ``coef``, ``intercept``,
``alpha``) with a JSON ``facts`` entry in the metadata; loading never unpickles.

Uncertainty (format version 2): a head may also hold an ensemble of ``m`` member
heads on the same standardised features (``members_coef`` (m, d, k),
``members_intercept`` (m, k), e.g. the heads of its cross-validation folds) and a
residual standard deviation per output (``resid_sd`` (k,)).  Its per-output
uncertainty is then ``sqrt(spread of the members' outputs ** 2 + resid_sd ** 2)``
(:meth:`RidgeHead.predict_sd`).  Version 1 files (no ensemble) still load; they have
no uncertainty.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import json_strict
from .errors import CheckpointError, ParameterError

HEAD_FORMAT = "emotrack-ridge-head"
HEAD_FORMAT_VERSION = 2
READABLE_VERSIONS = ("1", "2")
"""Format versions :meth:`RidgeHead.load` reads: 1 (no uncertainty) and 2 (members + resid_sd)."""
MAX_MEMBERS = 64
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-1, 7, 33))
"""Alpha grid searched by :func:`select_alpha_loco` (0.1 ... 1e7, 4 per decade; at the top the head is nearly the constant mean)."""


MIN_STD = 1e-6
"""Smallest feature std a head may hold; :func:`standardiser` replaces smaller ones by 1."""
MAX_FEATURES = 65536
MAX_OUTPUTS = 16


def standardiser(x: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and std of ``x`` (n, d), each row counted ``weights`` times when given;
    stds below :data:`MIN_STD` become 1 so (nearly) constant columns stay 0."""
    if weights is None:
        mean = x.mean(axis=0)
        std = x.std(axis=0)
    else:
        mean = np.average(x, axis=0, weights=weights)
        std = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=weights))
    return mean, np.where(std >= MIN_STD, std, 1.0)


def ridge_fit(
    x: np.ndarray, y: np.ndarray, alpha: float | Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fit a standardised ridge regression in closed form.

    Parameters
    ----------
    x : np.ndarray, shape=(n, d)
    y : np.ndarray, shape=(n, k)
    alpha : float or sequence of k floats > 0
        Penalty, one per output column or shared.

    Returns
    -------
    mean, std : np.ndarray, shape=(d,)
        Standardisation of the features.
    coef : np.ndarray, shape=(d, k)
        Weights on the standardised features.
    intercept : np.ndarray, shape=(k,)
        The mean of ``y`` (the standardised features have zero mean).
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if x.ndim != 2 or y.shape[0] != x.shape[0] or x.shape[0] == 0:
        raise ParameterError(f"need x (n, d) and y (n, k) with the same n > 0, got {x.shape} and {y.shape}")
    alphas = np.broadcast_to(np.asarray(alpha, np.float64), (y.shape[1],))
    if np.any(alphas <= 0):
        raise ParameterError(f"ridge alpha must be > 0, got {alpha}")
    mean, std = standardiser(x)
    xs = (x - mean) / std
    y_mean = y.mean(axis=0)
    # SVD once, then every alpha is cheap: w = V diag(s / (s^2 + a)) U^T yc
    u, s, vt = np.linalg.svd(xs, full_matrices=False)
    uty = u.T @ (y - y_mean)
    coef = np.stack([vt.T @ (s / (s**2 + a) * uty[:, j]) for j, a in enumerate(alphas)], axis=1)
    return mean, std, coef, y_mean


def loco_predictions(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, alphas: Sequence[float]
) -> np.ndarray:
    """Leave-one-group-out predictions for every alpha.

    Each group (clip) is predicted by a ridge fitted (standardisation included)
    on all other groups.

    Returns
    -------
    np.ndarray, shape=(len(alphas), n, k)
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64).reshape(len(x), -1)
    groups = np.asarray(groups)
    out = np.zeros((len(alphas), *y.shape))
    for g in np.unique(groups):
        test = groups == g
        train = ~test
        mean, std = standardiser(x[train])
        xs = (x[train] - mean) / std
        y_mean = y[train].mean(axis=0)
        u, s, vt = np.linalg.svd(xs, full_matrices=False)
        uty = u.T @ (y[train] - y_mean)
        xt = (x[test] - mean) / std @ vt.T  # (m, r)
        for i, a in enumerate(alphas):
            out[i, test] = xt @ ((s / (s**2 + a))[:, None] * uty) + y_mean
    return out


def select_alpha_loco(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, alphas: Sequence[float] = DEFAULT_ALPHAS
) -> tuple[np.ndarray, np.ndarray]:
    """Alpha per output column minimising the leave-one-group-out MSE.

    Returns
    -------
    best : np.ndarray, shape=(k,)
        The chosen alpha of each output column.
    mse : np.ndarray, shape=(len(alphas), k)
        Leave-one-group-out MSE of every alpha (predictions clipped to [-1, 1]).
    """
    if len(np.unique(groups)) < 2:
        raise ParameterError("leave-one-group-out alpha selection needs at least 2 groups")
    y = np.asarray(y, np.float64).reshape(len(x), -1)
    pred = np.clip(loco_predictions(x, y, groups, alphas), -1.0, 1.0)
    mse = ((pred - y[None]) ** 2).mean(axis=1)
    return np.asarray(alphas, np.float64)[mse.argmin(axis=0)], mse


@dataclass
class RidgeHead:
    """Linear read-out ``clip(((x - mean) / std) @ coef + intercept, -1, 1)``.

    Shapes: ``mean``/``std`` (d,), ``coef`` (d, k), ``intercept`` (k,), ``alpha`` (k,).
    ``facts`` is a JSON-able dict (what it was trained on, how, its scores).
    Optional uncertainty model (all three or none): ``members_coef`` (m, d, k) and
    ``members_intercept`` (m, k), ``m >= 2`` ensemble members on the same standardised
    features, and ``resid_sd`` (k,) (see the module doc).
    """

    mean: np.ndarray
    std: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    alpha: np.ndarray
    facts: dict[str, Any] = field(default_factory=dict)
    members_coef: np.ndarray | None = None
    members_intercept: np.ndarray | None = None
    resid_sd: np.ndarray | None = None

    @property
    def has_sd(self) -> bool:
        """Whether the head has an uncertainty model (:meth:`predict_sd`)."""
        return self.members_coef is not None

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, alpha: float | Sequence[float], *,
            facts: dict[str, Any] | None = None) -> "RidgeHead":
        """Fit on features ``x`` (n, d) and targets ``y`` (n, k)."""
        mean, std, coef, intercept = ridge_fit(x, y, alpha)
        alphas = np.broadcast_to(np.asarray(alpha, np.float64), intercept.shape).copy()
        return cls(mean, std, coef, intercept, alphas, dict(facts or {}))

    def predict(self, x: np.ndarray, *, clip: bool = True) -> np.ndarray:
        """Outputs (n, k) for features ``x`` (n, d), clipped to [-1, 1] unless ``clip=False``."""
        x = np.asarray(x, np.float64)
        if x.ndim != 2 or x.shape[1] != self.mean.shape[0]:
            raise ParameterError(f"head expects features (n, {self.mean.shape[0]}), got {x.shape}")
        out = (x - self.mean) / self.std @ self.coef + self.intercept
        return (np.clip(out, -1.0, 1.0) if clip else out).astype(np.float32)

    def predict_sd(self, x: np.ndarray) -> np.ndarray | None:
        """Per-output uncertainty (n, k) of :meth:`predict`'s outputs, or None without a model.

        ``sqrt(std over members of their outputs ** 2 + resid_sd ** 2)``: the members'
        disagreement on this input plus the error they all share (fitted on held-out songs).
        """
        if self.members_coef is None:
            return None
        x = np.asarray(x, np.float64)
        if x.ndim != 2 or x.shape[1] != self.mean.shape[0]:
            raise ParameterError(f"head expects features (n, {self.mean.shape[0]}), got {x.shape}")
        m, d, k = self.members_coef.shape
        xs = (x - self.mean) / self.std
        outs = (xs @ self.members_coef.transpose(1, 0, 2).reshape(d, m * k)).reshape(-1, m, k)
        outs += self.members_intercept[None]
        spread = outs.std(axis=1, ddof=1)
        return np.sqrt(spread ** 2 + self.resid_sd[None] ** 2).astype(np.float32)

    def save(self, path: str | os.PathLike) -> Path:
        """Write a safetensors head file atomically; returns the path."""
        from safetensors.numpy import save_file

        path = Path(path)
        tensors = {
            "mean": self.mean.astype(np.float32), "std": self.std.astype(np.float32),
            "coef": self.coef.astype(np.float32), "intercept": self.intercept.astype(np.float32),
            "alpha": self.alpha.astype(np.float64),
        }
        from .validate import check_facts_size

        check_facts_size(self.facts, name="head facts")  # what load would refuse
        if self.has_sd:
            tensors.update(members_coef=np.asarray(self.members_coef, np.float32),
                           members_intercept=np.asarray(self.members_intercept, np.float32),
                           resid_sd=np.asarray(self.resid_sd, np.float32))
        meta = {"format": HEAD_FORMAT, "format_version": "2" if self.has_sd else "1",
                "facts": json_strict.dumps(self.facts, sort_keys=True)}  # NaN/inf -> null: strict JSON
        tmp = path.with_name(path.name + ".tmp")
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp), metadata=meta)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "RidgeHead":
        """Read a head file written by :meth:`save` (safetensors only: never unpickles).

        Checked before use: the tensors' dtypes exactly as :meth:`save` writes them
        (float32, alpha float64; no silent casts), their shapes (``d`` <= :data:`MAX_FEATURES`
        features, ``k`` <= :data:`MAX_OUTPUTS` outputs), finite values, ``std`` >=
        :data:`MIN_STD` and ``alpha`` > 0.

        Raises
        ------
        CheckpointError
            Missing, corrupt, foreign or inconsistent file, naming it.
        """
        from .checkpoint import check_display_scale, check_tensor, read_safetensors
        from .validate import MAX_FACTS_CHARS, json_object

        path, meta, tensors = read_safetensors(path, what="ridge head", framework="numpy")
        if meta.get("format") != HEAD_FORMAT:
            raise CheckpointError(f"'{path}' is not an emotrack ridge head (format {meta.get('format')!r})")
        version = meta.get("format_version")
        if version not in READABLE_VERSIONS:
            raise CheckpointError(
                f"'{path}' has ridge head format version {version!r}; "
                f"this emotrack reads versions {', '.join(READABLE_VERSIONS)}"
            )
        members = ("members_coef", "members_intercept", "resid_sd")
        needed = {"mean", "std", "coef", "intercept", "alpha", *(members if version == "2" else ())}
        missing = needed - set(tensors)
        if missing:
            raise CheckpointError(f"'{path}' lacks tensors {sorted(missing)}")
        extra = set(tensors) - needed
        if extra:
            raise CheckpointError(f"ridge head '{path}' (format version {version}) has unknown tensors "
                                  f"{sorted(extra)}")
        shape = tuple(tensors["coef"].shape)
        if len(shape) != 2 or not (1 <= shape[0] <= MAX_FEATURES and 1 <= shape[1] <= MAX_OUTPUTS):
            raise CheckpointError(f"ridge head '{path}': coef has shape {shape}; expected (d, k) with "
                                  f"1 <= d <= {MAX_FEATURES} features and 1 <= k <= {MAX_OUTPUTS} outputs")
        d, k = shape
        expected = {"mean": ("float32", (d,)), "std": ("float32", (d,)), "coef": ("float32", (d, k)),
                    "intercept": ("float32", (k,)), "alpha": ("float64", (k,))}
        if version == "2":
            m = tuple(tensors["members_coef"].shape)[:1] or (0,)
            if not 2 <= m[0] <= MAX_MEMBERS:
                raise CheckpointError(f"ridge head '{path}': members_coef has shape "
                                      f"{tuple(tensors['members_coef'].shape)}; expected (m, {d}, {k}) "
                                      f"with 2 <= m <= {MAX_MEMBERS}")
            expected.update(members_coef=("float32", (m[0], d, k)), members_intercept=("float32", (m[0], k)),
                            resid_sd=("float32", (k,)))
        for key, (dtype, want) in expected.items():
            check_tensor(path, key, tensors[key], dtype=dtype, shape=want,
                         owner=f"a head with coef {shape}", what="ridge head")
        if version == "2" and not (tensors["resid_sd"] >= 0).all():
            raise CheckpointError(f"ridge head '{path}': resid_sd must be >= 0, got "
                                  f"{tensors['resid_sd'].tolist()}")
        if not (tensors["std"] >= MIN_STD).all():
            raise CheckpointError(f"ridge head '{path}': std {float(tensors['std'].min()):.3g} is (nearly) "
                                  f"zero (at least {MIN_STD:g}); standardising by it gives infinite values")
        if not (tensors["alpha"] > 0).all():
            raise CheckpointError(f"ridge head '{path}': alpha must be > 0, got {tensors['alpha'].tolist()}")
        try:
            text = meta.get("facts", "{}")
            if isinstance(text, str) and len(text) > MAX_FACTS_CHARS:  # before parsing it
                raise ParameterError(f"its facts are {len(text)} characters of JSON, more than the "
                                     f"{MAX_FACTS_CHARS} emotrack accepts")
            facts = json_object(text, name="its facts")
        except ParameterError as exc:
            raise CheckpointError(f"ridge head '{path}' has malformed facts: {exc}") from None
        check_display_scale(path, facts)
        base = ("mean", "std", "coef", "intercept", "alpha")
        return cls(*(tensors[key].astype(np.float64) for key in base), facts,
                   *(tensors[key].astype(np.float64) if key in tensors else None for key in members))
