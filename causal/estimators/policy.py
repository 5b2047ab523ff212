r"""Policy learning and uplift: whom to treat, and how much a targeting rule is worth.

A *policy* maps a unit's features ``x`` to an arm (an action, a treatment level).
Its value is the mean outcome when everyone follows it,
:math:`V(\pi) = E[Y(\pi(X))]`. Under no unmeasured confounding given the
covariates and overlap, each arm's mean potential outcome is identified, and the
doubly robust (AIPW) score of unit ``i`` for arm ``a`` (Robins, Rotnitzky & Zhao
1994; Dudík, Langford & Li 2011),

.. math::
    \Gamma_i(a) = \mu_a(x_i) + \frac{1\{T_i = a\}}{e_a(x_i)} \bigl(Y_i - \mu_a(x_i)\bigr),

with the outcome regression :math:`\mu_a(x) = E[Y \mid T = a, x]` and the
generalized propensity :math:`e_a(x) = P(T = a \mid x)`, both cross-fitted, has
mean :math:`E[Y(a)]` whenever either nuisance is right. So
:math:`\hat V(\pi) = \frac1n \sum_i \Gamma_i(\pi(x_i))` estimates a policy's
value with a central-limit interval, and maximising it over a class of
policies — depth-2 trees in :class:`PolicyTree` — is policy learning with a regret
of order :math:`1/\sqrt n` (Athey & Wager 2021; Zhou, Athey & Wager 2023).

This module gives:

* :func:`dr_scores` — the cross-fitted :math:`\Gamma_i(a)` of every arm, binary or multi-valued;
* :func:`policy_value` — :math:`\hat V(\pi)` with its interval, or the paired difference against
  another policy or a single arm;
* :func:`policy_from_cate` — treat where an estimated effect exceeds the cost (for several arms,
  the arm with the largest positive net effect);
* :class:`PolicyTree` — the exhaustive depth-1/depth-2 policy tree on DR scores
  (:mod:`causal.estimators._policy_tree`);
* uplift metrics of a ranking by predicted effect: :func:`uplift_curve`, :func:`qini_curve`,
  their areas :func:`auuc` and :func:`qini_coefficient`, and :func:`plot_uplift` (defined in
  :mod:`causal.estimators.uplift`, importable from here).

The value of a policy learned on the same scores it is evaluated on is biased
upwards (the tree picked the splits where the noise helped). Estimate the value of
a learned policy on held-out units, or cross-fit the learning.

References
----------
J. M. Robins, A. Rotnitzky and L. P. Zhao (1994), "Estimation of regression
coefficients when some regressors are not always observed", *JASA* 89(427).
M. Dudík, J. Langford and L. Li (2011), "Doubly robust policy evaluation and
learning", *ICML*.
N. J. Radcliffe (2007), "Using control groups to target on predicted lift:
building and assessing uplift models", *Direct Marketing Analytics Journal* 1.
S. Athey and S. Wager (2021), "Policy learning with observational data",
*Econometrica* 89(1), 133-161.
Z. Zhou, S. Athey and S. Wager (2023), "Offline multi-action policy learning:
generalization and optimization", *Operations Research* 71(1), 148-183.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> x = rng.uniform(-1, 1, 4000)
>>> t = rng.binomial(1, 0.5, 4000)
>>> df = pd.DataFrame({"x": x, "t": t, "y": t * x + rng.normal(size=4000)})
>>> scores = dr_scores(df, "t", "y", ["x"], propensity=np.full(4000, 0.5))
>>> list(scores.columns)
[0, 1]
>>> est = policy_value((x > 0).astype(int), scores)        # treat where x > 0: value 0.25
>>> bool(est.covers(0.25))
True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from causal.errors import EstimationError
from causal.estimators._overlap import OverlapWarning
from causal.estimators._policy_tree import PolicyTree, score_matrix
from causal.estimators.base import Estimate, check_columns
from causal.estimators.learners import _fit, _model, _predict, _proba, default_classifier, default_regressor
from causal.estimators.multiarm import MAX_LEVELS, treatment_levels
from causal.estimators.uplift import auuc, plot_uplift, qini_coefficient, qini_curve, uplift_curve

__all__ = ["dr_scores", "policy_value", "policy_from_cate", "CatePolicy", "PolicyTree", "uplift_curve",
           "qini_curve", "auuc", "qini_coefficient", "plot_uplift"]

#: Propensities below the clip warn (:class:`OverlapWarning`) when more than this share of units has one.
_WARN_FRACTION = 0.005


# --------------------------------------------------------------------------- DR scores
def _names(cols: Sequence[str] | str | None) -> list[str]:
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise EstimationError(f"dr_scores: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _known_propensity(p: Any, n: int, k: int) -> np.ndarray:
    """Known propensities as an ``(n, k)`` array (a vector is ``P(T = second level)`` of two levels)."""
    arr = np.asarray(p, dtype=float)
    if arr.ndim == 1 and k == 2 and len(arr) == n:
        arr = np.column_stack([1 - arr, arr])
    if arr.shape != (n, k):
        raise EstimationError(f"dr_scores: known propensities must have shape ({n}, {k}) (one column per "
                              f"treatment level, in sorted order; a vector of P(T = higher level) for two "
                              f"levels), got shape {np.shape(p)}")
    if not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1).any():
        raise EstimationError("dr_scores: known propensities must be finite probabilities in [0, 1]")
    if not np.allclose(arr.sum(axis=1), 1.0, atol=1e-6):
        raise EstimationError("dr_scores: each row of the known propensities must sum to 1 over the levels")
    return arr


def _levels(t_raw: np.ndarray, treatment: str, arms: Sequence[Any] | None) -> tuple[list[Any], list[int]]:
    levels = treatment_levels(t_raw)
    if len(levels) < 2:
        raise EstimationError(f"dr_scores: treatment {treatment!r} is constant ({levels[0]}); scores of "
                              "other arms are not identified from these data")
    if len(levels) > MAX_LEVELS or not all(float(v).is_integer() for v in levels):
        raise EstimationError(f"dr_scores: treatment {treatment!r} has {len(levels)} distinct values; "
                              f"give a discrete treatment with at most {MAX_LEVELS} integer levels")
    if arms is None:
        return levels, list(range(len(levels)))
    wanted = list(arms) if not isinstance(arms, str) else [arms]
    codes = []
    for a in wanted:
        match = [j for j, v in enumerate(levels) if _same(v, a)]
        if not match:
            raise EstimationError(f"dr_scores: arm {a!r} never occurs in treatment {treatment!r} (levels: "
                                  f"{', '.join(map(str, levels))}); its outcome cannot be modelled")
        if match[0] in codes:
            raise EstimationError(f"dr_scores: arm {a!r} is listed twice in arms")
        codes.append(match[0])
    if not codes:
        raise EstimationError("dr_scores: arms is empty; give at least one treatment level")
    return levels, codes


def _same(level: Any, a: Any) -> bool:
    try:
        return float(level) == float(a)
    except (TypeError, ValueError):
        return False


def dr_scores(data: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str] | str, *,
              arms: Sequence[Any] | None = None, propensity: Any = None, outcome_model: Any = None,
              folds: int = 5, clip: float = 0.01, seed: int | None = 0) -> pd.DataFrame:
    r"""Cross-fitted doubly robust (AIPW) scores :math:`\Gamma_i(a)` of every arm ``a``.

    :math:`\Gamma_i(a) = \mu_a(x_i) + 1\{T_i = a\} (Y_i - \mu_a(x_i)) / e_a(x_i)`, whose mean over
    units estimates :math:`E[Y(a)]` (see the module docstring). The outcome model of each arm is
    fitted on that arm's units of the other folds and predicts every unit of the held-out fold; the
    generalized propensity over all levels likewise (``StratifiedKFold(shuffle=True)`` on the
    treatment, seeded by ``seed``).

    Parameters
    ----------
    data : pandas.DataFrame
    treatment : str
        A discrete treatment: 0/1 or up to 10 integer levels.
    outcome : str
    covariates : list of str
        The features of both nuisance models (a back-door adjustment set, and whatever the policy
        will look at).
    arms : list of levels, optional
        The levels to score, in the order of the columns (default: every level, sorted). Every
        level still enters the generalized propensity.
    propensity : scikit-learn classifier or array, optional
        A classifier with ``predict_proba`` (cloned; default
        :func:`~causal.estimators.learners.default_classifier`, a multinomial logistic regression), or
        the known propensities: an ``(n, levels)`` array (columns in sorted level order), or for two
        levels a vector of ``P(T = higher level)`` — a randomised trial, or logged propensities.
    outcome_model : scikit-learn regressor, optional
        Fitted per arm and fold (default :func:`~causal.estimators.learners.default_regressor`,
        regularised gradient boosting).
    folds : int
        Cross-fitting folds (at least 2, at most the size of the smallest arm).
    clip : float in [0, 0.5)
        The scores divide by the propensity clipped to ``[clip, 1 - clip]`` (0 disables). When more
        than 0.5 % of the units have a propensity below ``clip`` for some arm, an
        :class:`~causal.estimators.weighting.OverlapWarning` says so.
    seed : int or None
        Seeds the folds and the nuisance models' unset ``random_state``.

    Returns
    -------
    pandas.DataFrame
        ``(n, len(arms))``, indexed like ``data``, one column per arm labelled by the level.
        ``attrs`` holds ``propensity_min`` (the smallest propensity of any arm, before clipping),
        ``n_clipped`` (units with some propensity clipped), ``folds`` and ``clip``.

    Raises
    ------
    EstimationError
        Missing or non-numeric columns, missing values, a constant or continuous treatment, an arm
        that never occurs, bad ``folds``/``clip``, a model without ``fit``/``predict``
        (``predict_proba`` for the propensity), or known propensities of the wrong shape.
    """
    covs = _names(covariates)
    if not covs:
        raise EstimationError("dr_scores: give covariates: the outcome and propensity models need features")
    frame = check_columns(data, estimator="dr_scores", treatment=treatment, outcome=outcome, covariates=covs)
    for role, col in (("treatment", treatment), ("outcome", outcome)):
        if col in covs:
            raise EstimationError(f"dr_scores: the {role} {col!r} is also listed as a covariate; drop it")
    if isinstance(clip, bool) or not (isinstance(clip, float | int) and 0 <= clip < 0.5):
        raise EstimationError(f"dr_scores: clip must be a number in [0, 0.5), got {clip!r}")
    folds = _check_int(folds, "folds", 2)
    if seed is not None:
        seed = _check_int(seed, "seed", 0)
    t_raw = frame[treatment].to_numpy(dtype=float)
    levels, codes = _levels(t_raw, treatment, arms)
    t = np.searchsorted(np.asarray(levels, dtype=float), t_raw)
    counts = np.bincount(t, minlength=len(levels))
    if counts.min() < folds:
        small = ", ".join(f"{levels[j]} ({counts[j]} units)" for j in range(len(levels))
                          if counts[j] < folds)
        raise EstimationError(f"dr_scores: every treatment level needs at least folds={folds} units; "
                              f"{small}. Use fewer folds or drop the rare level")
    X = frame[covs].to_numpy(dtype=float)
    y = frame[outcome].to_numpy(dtype=float)
    n, k = len(t), len(levels)
    known = None
    if propensity is not None and not hasattr(propensity, "fit"):
        known = _known_propensity(propensity, n, k)
    else:
        _model(propensity, default_classifier, "propensity", "dr_scores", None, proba=True)
    _model(outcome_model, default_regressor, "outcome", "dr_scores", None)
    e = known.copy() if known is not None else np.empty((n, k))
    mu = np.empty((n, len(codes)))
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.empty((n, 1)), t)
    for train, test in splits:
        if known is None:
            ps = _fit(_model(propensity, default_classifier, "propensity", "dr_scores", seed),
                      X[train], t[train])
            e[test] = _proba(ps, X[test], k)
        for col, j in enumerate(codes):
            arm = train[t[train] == j]
            model = _fit(_model(outcome_model, default_regressor, "outcome", "dr_scores", seed),
                         X[arm], y[arm])
            mu[test, col] = _predict(model, X[test])
    clip = float(clip)
    low = e[:, codes].min(axis=1)
    clipped = int((low < clip).sum()) if clip > 0 else 0
    if clipped > _WARN_FRACTION * n:
        warnings.warn(f"dr_scores: {clipped} of {n} units have a propensity below clip={clip:g} for a scored "
                      f"arm (smallest {low.min():.2g}); their scores use the clipped propensity. Overlap "
                      "is poor there: consider restricting the policy class or the data to the overlap "
                      "region", OverlapWarning, stacklevel=2)
    ec = np.clip(e[:, codes], clip, 1.0) if clip > 0 else e[:, codes]
    if (ec <= 0).any():
        raise EstimationError("dr_scores: a propensity is 0 for an arm with clip=0; the score divides by "
                              "it. Set clip > 0 or give propensities away from 0")
    own = t[:, None] == np.asarray(codes)[None, :]
    gamma = mu + own * (y[:, None] - mu) / ec
    out = pd.DataFrame(gamma, index=data.index, columns=pd.Index([levels[j] for j in codes]))
    out.attrs.update({"propensity_min": float(e.min()), "n_clipped": clipped, "folds": folds, "clip": clip})
    return out


# --------------------------------------------------------------------------- policy value
def _action_codes(actions: Any, n: int, cols: pd.Index | None, k: int, what: str) -> np.ndarray:
    """Column positions of the arms in ``actions`` (a label per unit, or one label for everyone)."""
    arr = np.asarray(actions)
    if arr.ndim == 0:
        arr = np.full(n, arr.item() if hasattr(arr, "item") else arr)
    arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1 or len(arr) != n:
        raise EstimationError(f"policy_value: {what} must give one arm per unit ({n}) or a single arm, got "
                              f"shape {np.shape(actions)}")
    if cols is not None:
        codes = cols.get_indexer(arr)
        if (codes < 0).any():
            try:  # labels given as floats for integer columns (or the reverse)
                codes = pd.Index(np.asarray(cols, dtype=float)).get_indexer(arr.astype(float))
            except (TypeError, ValueError):
                pass
        if (codes < 0).any():
            bad = arr[codes < 0][0]
            raise EstimationError(f"policy_value: {what} holds {bad!r}, which is not an arm of the scores "
                                  f"(columns: {', '.join(map(str, cols))})")
        return codes.astype(np.int64)
    try:
        codes = arr.astype(float)
    except (TypeError, ValueError):
        raise EstimationError(f"policy_value: with an array of scores, {what} must be column positions "
                              "0..arms-1") from None
    if not (np.isfinite(codes).all() and (codes == np.round(codes)).all() and codes.min() >= 0
            and codes.max() < k):
        raise EstimationError(f"policy_value: with an array of scores, {what} must be column positions "
                              f"0..{k - 1}")
    return codes.astype(np.int64)


def policy_value(actions: Any, scores: Any, alpha: float = 0.05, *, against: Any = None) -> Estimate:
    r"""The value of a policy from DR scores, :math:`\frac1n \sum_i \Gamma_i(\pi(x_i))`, with its interval.

    Parameters
    ----------
    actions : array-like of shape (n,) or a single arm
        The arm the policy gives each unit (labels of the columns of a DataFrame of scores, or column
        positions of an array), e.g. ``tree.predict(X)``.
    scores : DataFrame or ndarray of shape (n, arms)
        DR scores, e.g. from :func:`dr_scores` (of units the policy was *not* learned on, for an
        honest value).
    alpha : float
        The interval has level ``1 - alpha``.
    against : array-like or a single arm, optional
        Another policy's arms (or one arm for everyone): the estimate is then the paired difference
        :math:`\frac1n \sum_i [\Gamma_i(\pi(x_i)) - \Gamma_i(\pi'(x_i))]`, whose interval is much
        narrower than that of either value, as both use the same units.

    Returns
    -------
    Estimate
        The mean, ``stderr = sd / sqrt(n)`` of the per-unit terms, and a normal interval
        (central-limit theorem; the nuisances treated as known, which cross-fitting justifies).

    Raises
    ------
    EstimationError
        Scores not 2-d or not finite, actions of the wrong length or not arms, ``alpha`` outside (0, 1).

    Examples
    --------
    >>> s = pd.DataFrame({"none": [1.0, 2.0, 0.0, 1.0], "mail": [2.0, 1.0, 1.0, 3.0]})
    >>> policy_value(["mail", "none", "mail", "mail"], s).value
    2.0
    >>> policy_value(["mail", "none", "mail", "mail"], s, against="none").value
    1.0
    """
    if isinstance(alpha, bool) or not isinstance(alpha, float | int) or not 0 < alpha < 1:
        raise EstimationError(f"policy_value: alpha must be in (0, 1), got {alpha!r}")
    S, cols = score_matrix(scores, "policy_value: scores")
    n, k = S.shape
    rows = np.arange(n)
    terms = S[rows, _action_codes(actions, n, cols, k, "actions")]
    method = "policy value (DR scores)"
    if against is not None:
        terms = terms - S[rows, _action_codes(against, n, cols, k, "against")]
        method = "policy value difference (DR scores)"
    se = float(terms.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    if not math.isfinite(se):
        raise EstimationError("policy_value: one unit gives no standard error; give at least two units")
    return Estimate.normal(float(terms.mean()), se, method=method, n=n, level=1 - float(alpha))


# --------------------------------------------------------------------------- a policy from a CATE model
class CatePolicy:
    """Treat where an estimated effect exceeds its cost: the policy :func:`policy_from_cate` returns.

    Calling it on features ``X`` (a DataFrame with the model's effect modifiers, or an array whose
    columns are ``features`` — or the model's effect modifiers in order) returns one arm per row:
    among the treated arms whose net effect ``tau_a(x) - cost_a`` is positive, the largest; the
    control where none is.

    Attributes
    ----------
    model : fitted CATE estimator
    arms : list
        The treated levels compared with ``control`` (one for a binary treatment).
    control : level
    costs : ndarray
        The cost of each arm in ``arms`` (in outcome units, per unit treated).
    features : tuple of str or None
    """

    def __init__(self, model: Any, arms: list[Any], control: Any, costs: np.ndarray,
                 features: tuple[str, ...] | None, multi: bool) -> None:
        self.model = model
        self.arms = arms
        self.control = control
        self.costs = costs
        self.features = features
        self._multi = multi

    def net_effects(self, X: Any) -> np.ndarray:
        """``tau_a(x) - cost_a`` for each row of ``X`` and arm ``a``: shape ``(n, len(arms))``."""
        if self.features is not None and not isinstance(X, pd.DataFrame):
            arr = np.asarray(X, dtype=float)
            if arr.ndim != 2 or arr.shape[1] != len(self.features):
                raise EstimationError(f"CatePolicy: X must have the {len(self.features)} columns "
                                      f"{list(self.features)}, got shape {arr.shape}")
            X = pd.DataFrame(arr, columns=list(self.features))
        if self._multi:
            taus = [np.asarray(self.model.effect(X, treat=a), dtype=float) for a in self.arms]
        else:
            taus = [np.asarray(self.model.effect(X), dtype=float)]
        return np.column_stack([t.reshape(-1) for t in taus]) - self.costs[None, :]

    def __call__(self, X: Any) -> np.ndarray:
        net = self.net_effects(X)
        best = net.argmax(axis=1)
        treat = net[np.arange(len(net)), best] > 0
        labels = np.asarray(self.arms + [self.control])
        return np.where(treat, labels[best], labels[-1])

    def __repr__(self) -> str:
        costs = ", ".join(f"{a}: {c:g}" for a, c in zip(self.arms, self.costs, strict=True))
        return f"CatePolicy({type(self.model).__name__}, control={self.control!r}, costs={{{costs}}})"


def policy_from_cate(model: Any, cost: float | Mapping[Any, float] | Sequence[float] = 0.0, *,
                     features: Sequence[str] | None = None) -> CatePolicy:
    """The policy that treats where a fitted CATE model's effect exceeds the cost.

    Parameters
    ----------
    model : fitted estimator with ``effect(X)``
        A meta-learner (:mod:`causal.estimators.learners`; several arms: ``effect(X, treat=a)``
        against its ``control_``), :class:`~causal.estimators.forest.CausalForest` or a DML estimator
        (binary: treated level 1, control 0).
    cost : float, mapping or sequence
        Cost of treating one unit, in outcome units: one number for every arm, a mapping
        ``{arm: cost}``, or a sequence in the order of the model's treated levels.
    features : list of str, optional
        Column names of array inputs (e.g. ``scenario.feature_names``, whose observation arrays
        :meth:`sim.scenario.Truth.policy_value` passes); the model picks its effect modifiers from
        them. Without it, arrays must hold the effect modifiers in the model's order.

    Returns
    -------
    CatePolicy
        Callable on ``X`` returning one arm per row.

    Raises
    ------
    EstimationError
        The model is not fitted or has no ``effect``, the cost is not finite or names unknown arms,
        or ``features`` misses an effect modifier.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from causal.estimators.learners import TLearner
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, 2000); t = rng.binomial(1, 0.5, 2000)
    >>> df = pd.DataFrame({"x": x, "t": t, "y": t * 2 * x + rng.normal(size=2000)})
    >>> m = TLearner(outcome=LinearRegression()).fit(df, treatment="t", outcome="y", effect_modifiers=["x"])
    >>> policy_from_cate(m, cost=1.0)(np.array([[-0.5], [0.2], [0.9]])).tolist()   # treat where 2x > 1
    [0, 0, 1]
    """
    if not hasattr(model, "effect"):
        raise EstimationError(f"policy_from_cate: {type(model).__name__} has no effect(X); pass a fitted "
                              "CATE estimator (a meta-learner, CausalForest, LinearDML, ...)")
    if not getattr(model, "fitted_", False):
        raise EstimationError(f"policy_from_cate: {type(model).__name__} is not fitted; call fit first")
    contrasts = getattr(model, "contrasts_", None)
    if contrasts is not None:
        arms, control = list(contrasts), model.control_
    else:
        arms, control = [1], 0
    multi = contrasts is not None and len(arms) > 1
    costs = _costs(cost, arms)
    feats = None
    if features is not None:
        feats = tuple(_names(features))
        mods = list(getattr(model, "effect_modifiers_", []) or [])
        missing = [m for m in mods if m not in feats]
        if missing:
            raise EstimationError(f"policy_from_cate: features lack the model's effect modifiers {missing}")
    return CatePolicy(model, arms, control, costs, feats, multi)


def _costs(cost: Any, arms: list[Any]) -> np.ndarray:
    if isinstance(cost, Mapping):
        out = np.zeros(len(arms))
        for key, c in cost.items():
            match = [j for j, a in enumerate(arms) if _same(a, key)]
            if not match:
                raise EstimationError(f"policy_from_cate: cost names arm {key!r}, which is not a treated "
                                      f"level of the model ({', '.join(map(str, arms))})")
            out[match[0]] = c
    elif np.ndim(cost) == 0:
        out = np.full(len(arms), cost, dtype=float) if not isinstance(cost, bool) else None
    else:
        out = np.asarray(cost, dtype=float)
        if out.shape != (len(arms),):
            raise EstimationError(f"policy_from_cate: cost has {out.size} values for {len(arms)} treated "
                                  "arms")
    if out is None or not np.isfinite(out).all():
        raise EstimationError(f"policy_from_cate: cost must be finite numbers, got {cost!r}")
    return out.astype(float)
