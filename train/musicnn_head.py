"""Fitting the musicnn tracker's (arousal, valence) head on every labelled set at once.

The candidates (:func:`candidates`) were fixed in this file and in assets/MODEL_CARD.md
before any figure of them was computed.  Each is a ridge head on standardised song-mean
musicnn outputs (no second network, no extra live CPU):

* inputs: ``logits`` (50), ``penultimate`` (200) or ``pooled`` (1506 values);
* learns from: ``emotify``, ``4q`` or ``emotify+4q`` (one row per song, equal weights);
* valence target: ``label`` (Emotify's ``valence_fa`` / 4Q's sign) or ``resid``
  (Emotify's ``valence_fa`` minus its least-squares line on ``arousal_proxy``, fitted on
  the training songs: valence that is not arousal; 4Q's valence is balanced against
  arousal by design and stays its sign).

Targets per set are standardised on the training songs (Emotify: z-scores; 4Q: +-1,
already mean 0 and variance 1 on a balanced set), so both sets speak one scale.

The procedure that makes a head from training songs (:func:`fit_procedure`), the same
inside cross-validation and for the shipped head:

1. the songs are dealt into :attr:`HeadConfig.folds` folds by group (4Q artist, Emotify
   track), each set's groups shuffled and dealt round-robin;
2. for every candidate, ridge fits on each fold's complement give out-of-fold predictions
   of every song for every alpha; alpha per axis is the largest whose out-of-fold MSE is
   within one standard error of the smallest (one-SE rule);
3. the candidate with the highest :func:`selection_score` of its out-of-fold predictions
   is chosen (a selection inside the training songs only);
4. the head is the ensemble of its fold heads: the shipped coefficients are their mean
   (one linear head: no live cost), their spread is the model part of the uncertainty,
   and ``resid_sd`` per axis is the smallest value that makes nominal
   :attr:`HeadConfig.coverage` intervals ``out-of-fold prediction +- z sqrt(spread^2 +
   resid_sd^2)`` contain that share of the training songs' labels;
5. a least-squares line per axis from the ensemble's output onto the emoMusic clips' 2 Hz
   ratings puts outputs (and uncertainties, times the slope) on the rater scale.

:func:`cross_validate` runs the whole procedure inside outer folds (same grouping) and
keeps every candidate's held-out predictions and uncertainties beside the chosen ones.

Two variants of steps 2-4 exist for experiments (:class:`HeadConfig` ``alpha_rule="min"``,
``set_weights="equal_sets"``: alpha by the smallest out-of-fold error, and a weighted ridge giving
each labelled set equal total weight).  They were tried for issue 18 and not adopted
(``tools/head_rules_experiment.py``); the defaults are the shipped procedure.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from scipy.stats import norm

from ..model.errors import ParameterError
from ..model.ridge import DEFAULT_ALPHAS, RidgeHead, standardiser
from .head_data import CalibrationFrames, HeadSongs

INPUT_SETS: dict[str, tuple[str, ...]] = {
    "logits": ("logits",),
    "penultimate": ("penultimate",),
    "pooled": ("pooled",),
}
TRAINING_SETS: dict[str, tuple[str, ...]] = {
    "emotify": ("emotify",),
    "4q": ("4q",),
    "emotify+4q": ("emotify", "4q"),
}
VALENCE_TARGETS = ("label", "resid")
ALPHA_RULES = ("one_se", "min")
SET_WEIGHTS = ("song", "equal_sets")


@dataclass(frozen=True)
class Candidate:
    """One head candidate (see the module doc)."""

    inputs: str
    training: str
    valence: str

    @property
    def name(self) -> str:
        return f"{self.inputs} / {self.training} / valence {self.valence}"

    def to_dict(self) -> dict[str, str]:
        return {"inputs": self.inputs, "training": self.training, "valence": self.valence}


def candidates() -> list[Candidate]:
    """The fixed candidate list: 3 inputs x (4q; emotify and emotify+4q with 2 valence targets) = 15."""
    out = []
    for inputs in INPUT_SETS:
        for training in TRAINING_SETS:
            for valence in VALENCE_TARGETS:
                if valence == "resid" and "emotify" not in TRAINING_SETS[training]:
                    continue  # 4Q's valence is already independent of arousal: one target only
                out.append(Candidate(inputs, training, valence))
    return out


@dataclass(frozen=True)
class HeadConfig:
    """How heads are fitted and cross-validated.

    Attributes
    ----------
    folds : int
        Inner folds: alpha and candidate selection, and the ensemble's members.
    outer_folds, outer_repeats : int
        Outer cross-validation (figures); repeats use seeds ``seed .. seed + repeats - 1``.
    coverage : float
        Nominal coverage of the intervals ``resid_sd`` is fitted for.
    alphas : tuple of float
    seed : int
    n_boot : int
        Bootstrap resamples of every interval.
    alpha_rule : {"one_se", "min"}
        How each axis's alpha is picked from the out-of-fold errors: the largest within one
        standard error of the smallest (``one_se``), or the smallest (``min``).
    set_weights : {"song", "equal_sets"}
        Row weights of the ridge: one per song (``song``), or weights that give each labelled set
        a candidate learns from the same total (``equal_sets``; mean weight 1).  Centring, scaling
        and the alpha choice use the same weights; selection, intervals and figures stay per song.
    side_probability : float
        A mood word names a side of an axis (energetic / calm, pleasant / unpleasant) only where
        the calibrated probability that listeners put the song on that side is at least this
        (:func:`side_halfwidth_for`).
    """

    folds: int = 5
    outer_folds: int = 5
    outer_repeats: int = 2
    coverage: float = 0.8
    alphas: tuple[float, ...] = DEFAULT_ALPHAS
    seed: int = 0
    n_boot: int = 2000
    alpha_rule: str = "one_se"
    set_weights: str = "song"
    side_probability: float = 0.9

    def __post_init__(self) -> None:
        if self.folds < 2 or self.outer_folds < 2 or self.outer_repeats < 1:
            raise ParameterError(f"need at least 2 folds and 1 repeat, got {self}")
        if not 0.0 < self.coverage < 1.0:
            raise ParameterError(f"coverage must be in (0, 1), got {self.coverage}")
        if self.alpha_rule not in ALPHA_RULES:
            raise ParameterError(f"alpha_rule must be one of {ALPHA_RULES}, got {self.alpha_rule!r}")
        if self.set_weights not in SET_WEIGHTS:
            raise ParameterError(f"set_weights must be one of {SET_WEIGHTS}, got {self.set_weights!r}")

    @property
    def z(self) -> float:
        """Half-width of a nominal :attr:`coverage` normal interval in standard deviations."""
        return float(norm.ppf(0.5 + self.coverage / 2))


def group_folds(songs: HeadSongs, k: int, seed: int) -> np.ndarray:
    """Fold of every song: each set's groups shuffled and dealt round-robin into ``k`` folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(songs), int)
    offset = 0
    for ds in sorted(set(songs.dataset.tolist())):
        groups = np.unique(songs.group[songs.dataset == ds])
        order = rng.permutation(groups)
        of = {g: (i + offset) % k for i, g in enumerate(order)}
        offset += len(groups)
        for i in np.flatnonzero(songs.dataset == ds):
            fold[i] = of[songs.group[i]]
    return fold


def targets(songs: HeadSongs, train: np.ndarray, cand: Candidate) -> np.ndarray:
    """Standardised targets (n, 2) of every song, from statistics of the ``train`` songs of the
    candidate's sets; NaN rows for songs of other sets."""
    y = np.full((len(songs), 2), np.nan)
    for ds in TRAINING_SETS[cand.training]:
        rows = songs.dataset == ds
        fit = rows & train
        if not fit.any():
            continue
        a, v = songs.y[:, 0].copy(), songs.y[:, 1].copy()
        if ds == "emotify":
            if cand.valence == "resid":
                slope, icpt = np.polyfit(a[fit], v[fit], 1)
                v = v - (slope * a + icpt)
            a = (a - a[fit].mean()) / a[fit].std()
            v = (v - v[fit].mean()) / v[fit].std()
        y[rows, 0], y[rows, 1] = a[rows], v[rows]
    return y


@dataclass
class Fitted:
    """One candidate fitted by the procedure on some training songs.

    ``members_*``: the fold heads on the common standardisation (``mean``, ``std`` of the
    training songs); ``oof``/``oof_sd``: out-of-fold predictions and uncertainties of the
    training songs (target scale); ``alpha`` per axis; ``resid_sd`` per axis.
    """

    cand: Candidate
    mean: np.ndarray
    std: np.ndarray
    members_coef: np.ndarray
    members_intercept: np.ndarray
    alpha: np.ndarray
    resid_sd: np.ndarray
    oof: np.ndarray
    oof_sd: np.ndarray
    score: float = math.nan
    side_halfwidth: np.ndarray = field(default_factory=lambda: np.full(2, np.inf))
    """Per axis, on the target scale: how far from the middle a prediction must lie for its side
    to be named (:func:`side_halfwidth_for`; set by :func:`fit_procedure` on the chosen
    candidate only); inf: never."""

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and uncertainty ``sqrt(spread^2 + resid_sd^2)`` of inputs x (n, d)."""
        outs = self.member_outputs(x)
        return outs.mean(axis=1), np.sqrt(outs.std(axis=1, ddof=1) ** 2 + self.resid_sd ** 2)

    def member_outputs(self, x: np.ndarray) -> np.ndarray:
        xs = (np.asarray(x, np.float64) - self.mean) / self.std
        return np.einsum("nd,mdk->nmk", xs, self.members_coef) + self.members_intercept[None]


def row_weights(songs: HeadSongs, rows: np.ndarray, how: str) -> np.ndarray:
    """Weight of every song (0 outside ``rows``, a mask): 1 each (``song``), or each set's songs of
    ``rows`` sharing an equal total (``equal_sets``); mean 1 over ``rows``."""
    w = np.zeros(len(songs))
    if how == "song":
        w[rows] = 1.0
        return w
    sets = sorted(set(songs.dataset[rows].tolist()))
    for ds in sets:
        in_set = rows & (songs.dataset == ds)
        w[in_set] = rows.sum() / (len(sets) * in_set.sum())
    return w


def _min_mse(sq: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Alpha index per column with the smallest mean squared error: ``sq`` (A, n, k)."""
    return sq.mean(axis=1).argmin(axis=0)


def _one_se(sq: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Largest alpha per column within one SE of the best: ``sq`` (A, n, k) squared errors."""
    mse = sq.mean(axis=1)
    best = mse.argmin(axis=0)
    cols = np.arange(sq.shape[2])
    se = sq[best, :, cols].std(axis=1) / np.sqrt(sq.shape[1])
    ok = mse <= (mse[best, cols] + se)[None]
    return np.array([np.flatnonzero(ok[:, j]).max() for j in cols])


def resid_sd_for(err: np.ndarray, spread: np.ndarray, z: float, coverage: float) -> np.ndarray:
    """Smallest ``r`` per column with ``|err| <= z sqrt(spread^2 + r^2)`` for ``coverage`` of rows."""
    need = np.sqrt(np.maximum((err / z) ** 2 - spread ** 2, 0.0))  # r that just covers each row
    return np.array([np.quantile(need[np.isfinite(need[:, j]), j], coverage) for j in range(err.shape[1])])


def side_halfwidth_for(pred: np.ndarray, labels: np.ndarray, probability: float) -> np.ndarray:
    """Per axis: the distance from the middle at which a song's side is known.

    A logistic regression of ``labels > 0`` (the side listeners put the song on, on the head's
    target scale: 4Q's quadrant, Emotify's rating above its mean) on the out-of-fold ``pred``,
    per axis, ``P(high) = expit(a + b pred)``; a side is known where that probability reaches
    ``probability`` or ``1 - probability``, i.e. ``logit(probability) / b`` from the
    logistic's middle (``-a / b``, close to 0).  That distance is returned; inf where the
    predictions do not rank the sides (``b <= 0``) or one side has no song.  A tiny ridge
    penalty (1e-3 b^2) keeps ``b`` finite when the sides are perfectly separated.

    Parameters
    ----------
    pred, labels : np.ndarray, shape=(n, 2)
        Out-of-fold predictions and labels of the training songs (NaN rows are left out).
    probability : float
        In (0.5, 1).
    """
    from scipy.optimize import minimize
    from scipy.special import log_expit

    if not 0.5 < probability < 1:
        raise ParameterError(f"side probability must lie in (0.5, 1), got {probability!r}")
    out = np.full(2, np.inf)
    for j in range(2):
        ok = np.isfinite(pred[:, j]) & np.isfinite(labels[:, j])
        x, high = pred[ok, j], labels[ok, j] > 0
        if len(x) < 5 or high.all() or not high.any():
            continue
        scale = float(x.std()) or 1.0
        u = x / scale

        def loss(w: np.ndarray) -> float:
            t = w[0] + w[1] * u
            return float(-(log_expit(t[high]).sum() + log_expit(-t[~high]).sum()) + 1e-3 * w[1] ** 2)

        b = minimize(loss, np.array([0.0, 1.0]), method="BFGS").x[1] / scale
        if b > 0:
            out[j] = math.log(probability / (1 - probability)) / b
    return out


def fit_candidate(songs: HeadSongs, train: np.ndarray, cand: Candidate, cfg: HeadConfig,
                  fold: np.ndarray) -> Fitted:
    """Steps 2 and 4 of the procedure for one candidate on the ``train`` songs (mask).

    ``fold``: inner fold of every song (only training songs' folds are used).
    """
    x = songs.x(INPUT_SETS[cand.inputs])
    y = targets(songs, train, cand)
    learn = train & np.isfinite(y).all(axis=1)
    if learn.sum() < 5:
        raise ParameterError(f"{cand.name}: only {int(learn.sum())} training songs")
    alphas = np.asarray(cfg.alphas)
    tr_idx = np.flatnonzero(train)
    weight = row_weights(songs, learn, cfg.set_weights)
    preds = np.full((len(alphas), len(songs), 2), np.nan)
    fold_fits = []
    for f in range(cfg.folds):
        fit_rows = learn & (fold != f)
        held = train & (fold == f)
        w = weight[fit_rows]
        by = None if cfg.set_weights == "song" else w  # one per song: the plain means, bit for bit
        mean, std = standardiser(x[fit_rows], by)
        y_mean = np.average(y[fit_rows], axis=0, weights=by)
        root = np.sqrt(w)[:, None]
        xs = (x[fit_rows] - mean) / std * root
        u, s, vt = np.linalg.svd(xs, full_matrices=False)
        uty = u.T @ ((y[fit_rows] - y_mean) * root)
        fold_fits.append((mean, std, y_mean, s, vt, uty))
        xt = (x[held] - mean) / std @ vt.T
        for i, a in enumerate(alphas):
            preds[i, held] = xt @ ((s / (s ** 2 + a))[:, None] * uty) + y_mean
    sq = (preds[:, learn] - y[None, learn]) ** 2 * weight[learn][None, :, None]
    pick = (_min_mse if cfg.alpha_rule == "min" else _one_se)(sq, alphas)
    alpha = alphas[pick]
    oof = np.stack([preds[pick[j], :, j] for j in range(2)], axis=1)
    mean, std = standardiser(x[learn])
    m_coef, m_icpt = [], []
    for (fm, fs, ym, s, vt, uty) in fold_fits:
        w = np.stack([vt.T @ (s / (s ** 2 + alpha[j]) * uty[:, j]) for j in range(2)], axis=1)  # on fold scale
        # re-express on the common standardisation: (x - fm)/fs @ w = (x - mean)/std @ (w std/fs) + c
        w_common = w * (std / fs)[:, None]
        c = ym + ((mean - fm) / fs) @ w
        m_coef.append(w_common)
        m_icpt.append(c)
    fitted = Fitted(cand, mean, std, np.array(m_coef), np.array(m_icpt), alpha, np.zeros(2),
                    oof, np.full_like(oof, np.nan))
    spread = fitted.member_outputs(x[tr_idx]).std(axis=1, ddof=1)
    err = (oof - y)[tr_idx]
    fitted.resid_sd = resid_sd_for(err, spread, cfg.z, cfg.coverage)
    fitted.oof_sd[tr_idx] = np.sqrt(spread ** 2 + fitted.resid_sd ** 2)
    return fitted


def selection_score(songs: HeadSongs, idx: np.ndarray, pred: np.ndarray) -> float:
    """The candidate-selection criterion on songs ``idx`` with predictions ``pred`` (n, 2):
    the mean of 4Q arousal ``2 AUC - 1``, Emotify arousal Spearman rho, 4Q valence
    ``2 AUC - 1`` within arousal half and within genre, and Emotify valence rank partial
    correlation given ``arousal_proxy`` (terms of a set absent from ``idx`` are left out)."""
    from .quadrant_metrics import pair_matrix, weighted_auc
    from .song_metrics import partial_spearman, spearman

    terms = []
    ds = songs.dataset[idx]
    q = idx[ds == "4q"]
    if q.size >= 8:
        a, v = songs.y[q, 0] > 0, songs.y[q, 1] > 0
        ones = np.ones((1, q.size))
        for score, pos, strata in ((pred[q, 0], a, None), (pred[q, 1], v, a), (pred[q, 1], v, songs.genre[q])):
            h, m = pair_matrix(score, pos, strata)
            terms.append(2 * float(weighted_auc(h, m, ones)[0]) - 1)
    e = idx[ds == "emotify"]
    if e.size >= 8:
        terms.append(spearman(pred[e, 0], songs.y[e, 0]))
        terms.append(partial_spearman(pred[e, 1], songs.y[e, 1], songs.given[e]))
    terms = [t for t in terms if np.isfinite(t)]
    return float(np.mean(terms)) if terms else math.nan


@dataclass
class ProcedureResult:
    """What :func:`fit_procedure` made: every candidate fitted, and the chosen one."""

    fitted: list[Fitted]
    chosen: Fitted
    fold: np.ndarray


def fit_procedure(songs: HeadSongs, train: np.ndarray, cfg: HeadConfig, *, seed: int,
                  cands: Sequence[Candidate] | None = None) -> ProcedureResult:
    """Steps 1-4 of the procedure on the ``train`` songs (boolean mask)."""
    sub_fold = np.full(len(songs), -1)
    tr = np.flatnonzero(train)
    sub_fold[tr] = group_folds(songs.subset(tr), cfg.folds, seed)
    fitted = []
    for cand in (cands or candidates()):
        f = fit_candidate(songs, train, cand, cfg, sub_fold)
        f.score = selection_score(songs, tr, f.oof)
        fitted.append(f)
    chosen = max(fitted, key=lambda f: -math.inf if math.isnan(f.score) else f.score)
    chosen.side_halfwidth = side_halfwidth_for(chosen.oof[train], targets(songs, train, chosen.cand)[train],
                                               cfg.side_probability)  # only the chosen head names words
    return ProcedureResult(fitted, chosen, sub_fold)


@dataclass
class CrossValidation:
    """Held-out predictions of every candidate and of the procedure's choice, per repeat.

    ``pred``/``sd``: name -> (repeats, n, 2) on the target scale (name ``"chosen"`` for the
    procedure's choice); ``labels``: (repeats, n, 2) held-out songs' standardised labels
    (statistics of each outer fold's training songs, for the calibration check);
    ``choices``: the candidate chosen in each outer fold.
    """

    pred: dict[str, np.ndarray]
    sd: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    choices: list[str] = field(default_factory=list)
    side: dict[str, np.ndarray] = field(default_factory=dict)
    """``"chosen"`` -> (repeats, n, 2): the chosen head's :attr:`Fitted.side_halfwidth` for each
    held-out song."""


def cross_validate(songs: HeadSongs, cfg: HeadConfig, *, cands: Sequence[Candidate] | None = None,
                   progress: Callable[[str], None] | None = None) -> CrossValidation:
    """The whole procedure inside :attr:`HeadConfig.outer_folds` outer folds, repeated."""
    cands = list(cands or candidates())
    n, r = len(songs), cfg.outer_repeats
    names = [c.name for c in cands] + ["chosen"]
    pred = {k: np.full((r, n, 2), np.nan) for k in names}
    sd = {k: np.full((r, n, 2), np.nan) for k in names}
    labels = {k: np.full((r, n, 2), np.nan) for k in names}
    side = {"chosen": np.full((r, n, 2), np.nan)}
    choices = []
    for rep in range(r):
        outer = group_folds(songs, cfg.outer_folds, seed=cfg.seed + rep)
        for f in range(cfg.outer_folds):
            train, held = outer != f, outer == f
            res = fit_procedure(songs, train, cfg, seed=cfg.seed + 1000 + 10 * rep + f, cands=cands)
            for fit in res.fitted:
                x = songs.x(INPUT_SETS[fit.cand.inputs])[held]
                p, s = fit.predict(x)
                keys = [fit.cand.name] + (["chosen"] if fit is res.chosen else [])
                for k in keys:
                    pred[k][rep, held], sd[k][rep, held] = p, s
                    labels[k][rep, held] = _all_set_targets(songs, train, fit.cand)[held]
            side["chosen"][rep, held] = res.chosen.side_halfwidth
            choices.append(res.chosen.cand.name)
            if progress is not None:
                progress(f"outer repeat {rep + 1}/{r}, fold {f + 1}/{cfg.outer_folds}: chose {res.chosen.cand.name}")
    return CrossValidation(pred, sd, labels, choices, side)


def _all_set_targets(songs: HeadSongs, train: np.ndarray, cand: Candidate) -> np.ndarray:
    """Standardised labels of every song of both sets (the candidate's valence target for Emotify),
    statistics from the training songs: the scale the calibration check compares on."""
    both = Candidate(cand.inputs, "emotify+4q", cand.valence)
    return targets(songs, train, both)


@dataclass
class RaterCalibration:
    """Per-axis line ``rater = slope * output + intercept`` onto the emoMusic clips' ratings."""

    slope: np.ndarray
    intercept: np.ndarray
    clips: list[str]
    n_frames: int

    def to_dict(self) -> dict:
        return {"slope": self.slope.tolist(), "intercept": self.intercept.tolist(), "clips": self.clips,
                "n_frames": self.n_frames}


def rater_calibration(fit: Fitted, cal: CalibrationFrames) -> RaterCalibration:
    """Least-squares line per axis from the ensemble's frame outputs onto the clips' ratings.

    Raises
    ------
    ParameterError
        A slope <= 0: the head ranks the clips backwards, and the line would flip it.
    """
    p, _ = fit.predict(cal.x(INPUT_SETS[fit.cand.inputs]))
    lines = np.array([np.polyfit(p[:, j], cal.y[:, j], 1) for j in range(2)])
    if np.any(lines[:, 0] <= 0):
        raise ParameterError(f"the head's outputs anti-correlate with the emoMusic ratings (calibration "
                             f"slopes {lines[:, 0].round(4).tolist()}); it cannot be put on the rater scale")
    return RaterCalibration(lines[:, 0], lines[:, 1], list(cal.keys), int(len(cal.y)))


def to_ridge_head(fit: Fitted, cal: RaterCalibration, facts: dict) -> RidgeHead:
    """The shipped head: ensemble mean and members with the rater-scale line baked in."""
    slope, icpt = cal.slope, cal.intercept
    members_coef = fit.members_coef * slope[None, None, :]
    members_icpt = fit.members_intercept * slope[None, :] + icpt[None, :]
    return RidgeHead(fit.mean, fit.std, members_coef.mean(axis=0), members_icpt.mean(axis=0),
                     fit.alpha.astype(np.float64), dict(facts), members_coef, members_icpt,
                     fit.resid_sd * slope)
