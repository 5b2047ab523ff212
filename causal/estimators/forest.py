"""A causal forest in the style of generalized random forests (GRF).

The conditional average treatment effect ``tau(x) = E[Y(1) - Y(0) | X = x]`` of a binary
treatment is estimated as a forest-weighted local moment (Athey, Tibshirani & Wager 2019):

1. *Orthogonalise* (Robinson 1988; Chernozhukov et al. 2018): cross-fitted nuisance models give
   ``m(X) = E[Y | X]`` and ``e(X) = E[T | X]``; the forest works on the residuals
   ``Y~ = Y - m(X)`` and ``T~ = T - e(X)``.
2. *Grow honest trees on subsamples*: each tree draws a subsample without replacement
   (``sample_fraction``), splits on one half of it and estimates its leaves on the other
   (honesty, Wager & Athey 2018). A node ``P`` is split by CART on GRF's pseudo-outcomes
   ``rho_i = (T~_i - T~_P)(Y~_i - Y~_P - (T~_i - T~_P) theta_P) / Var_P(T~)``, the
   influence of unit ``i`` on the parent's local solution ``theta_P``, maximising
   ``sum_children (sum rho)^2 / n_child``. As GRF's stabilised splits do for a binary
   treatment, each child keeps at least ``min_node_size`` treated and ``min_node_size`` control
   units, and at least an ``alpha`` share of the parent's units, of its treated and of its
   control units; ``mtry`` random features are tried per node.
3. *Estimate with forest weights*: ``a_i(x)`` is the average over trees of ``1[i in leaf(x)] /
   |leaf(x)|`` over estimation halves, and ``tau(x)`` solves the weighted moment
   ``sum_i a_i(x) (T~_i - T~_a)(Y~_i - Y~_a - tau (T~_i - T~_a)) = 0`` (``T~_a``, ``Y~_a``
   the ``a``-weighted means).
4. *Variance by little bags* (Sexton & Laake 2009; Athey et al. 2019, Section 4): trees come in
   groups of ``ci_group_size`` grown on one half-sample; the between-group variance of the
   trees' moment contributions, less the within-group noise, over the squared moment slope.

Trees are grown and read by compiled kernels (:mod:`causal.estimators._forest_kernel`, numba):
each tree's split search is a scan of its units in presorted feature order; trees and blocks of
prediction rows run on threads (the CPUs this process may use), each computed alone, so the fit
is the same bytes for any number of threads.

``ate()`` averages the doubly robust (AIPW) scores built from ``m``, ``e`` and the out-of-bag
``tau`` (GRF's ``average_treatment_effect``): ``tau_i + (T_i - e_i) / (e_i (1 - e_i)) (Y_i -
m_i - (T_i - e_i) tau_i)``, with the standard error of their mean.

References
----------
P. M. Robinson (1988), "Root-N-consistent semiparametric regression", *Econometrica* 56(4).
M. Sexton and P. Laake (2009), "Standard errors for bagged and random forest estimators",
*Computational Statistics & Data Analysis* 53(3).
S. Wager and S. Athey (2018), "Estimation and inference of heterogeneous treatment effects using
random forests", *JASA* 113(523).
S. Athey, J. Tibshirani and S. Wager (2019), "Generalized random forests", *Annals of
Statistics* 47(2).
V. Chernozhukov et al. (2018), "Double/debiased machine learning for treatment and structural
parameters", *The Econometrics Journal* 21(1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr
from sklearn.model_selection import KFold

from causal.errors import EstimationError
from causal.estimators._forest_split import grow_trees, kernels, route_pairs, threads
from causal.estimators._overlap import overlap_diagnostics
from causal.estimators.base import BaseEstimator, Estimate, as_binary, check_columns, normal_interval
from causal.estimators.nuisance import check_model, seeded_clone

__all__ = ["CausalForest"]

#: The default nuisance models' settings: histogram gradient boosting, slowed down and stopped early
#: on a validation split, with leaves of at least 50 units. scikit-learn's defaults (no early
#: stopping below 10,000 units) overfit the propensity: out-of-fold values of 0.007 and 0.98 where
#: the true ones lie in [0.2, 0.8] on the tests' design, against 0.24 and 0.70 with these.
_BOOSTING = {"learning_rate": 0.05, "max_iter": 200, "max_leaf_nodes": 15, "min_samples_leaf": 50,
             "early_stopping": True}


def _names(cols: Sequence[str] | str | None) -> list[str]:
    return [cols] if isinstance(cols, str) else list(cols or [])


class CausalForest(BaseEstimator):
    """Heterogeneous treatment effects by an honest, orthogonalised causal forest (GRF).

    Parameters
    ----------
    num_trees : int
        Trees grown (rounded up to a multiple of ``ci_group_size``).
    sample_fraction : float
        Share of the units each tree subsamples without replacement; at most 0.5 when
        ``ci_group_size > 1`` (a tree then subsamples its group's half-sample).
    mtry : int, optional
        Features tried per split; default ``min(ceil(sqrt(q) + 20), q)`` as in GRF.
    min_node_size : int
        The least number of treated, and of control, splitting units in a child.
    alpha : float
        Balance: a child holds at least this share of its parent's units, of its treated and of
        its control units.
    honesty : bool
        Split on one half of each subsample and estimate the leaves on the other.
    ci_group_size : int
        Trees per half-sample group for the little-bags variance (1 disables intervals).
    propensity, outcome : scikit-learn models, optional
        ``E[T | X]`` (a classifier with ``predict_proba``) and ``E[Y | X]``; default histogram
        gradient boosting (:data:`_BOOSTING`: learning rate 0.05, early stopping, leaves of at least
        50 units), seeded; every nuisance fit runs on one OpenMP thread.
    cross_fit : int
        Folds for the nuisance predictions (each unit's come from models fitted without it).
    clip : float
        ``ate()``'s scores use propensities clipped to ``[clip, 1 - clip]``.
    overlap_warn : float
        :class:`~causal.estimators.OverlapWarning` threshold on the fitted propensities.
    level : float
        Confidence level of ``ate()``.
    random_state : int or None
        Seeds the folds, the nuisance models and the trees; 0 makes fits reproducible.

    Attributes
    ----------
    propensity_, outcome_hat_ : ndarray
        Out-of-fold ``e(X)`` and ``m(X)``.
    feature_importances_ : ndarray
        GRF's ``variable_importance``: split frequencies at depths 1-4 weighted by depth^-2.
    effect_modifiers_ : list of str

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(1000, 2))
    >>> t = rng.binomial(1, 0.5, 1000)
    >>> df = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "t": t,
    ...                    "y": x[:, 1] + t * (1 + 2 * (x[:, 0] > 0)) + rng.normal(size=1000)})
    >>> cf = CausalForest(num_trees=50, cross_fit=2).fit(df, treatment="t", outcome="y",
    ...                                                  covariates=["x1", "x2"])
    >>> tau = cf.effect(np.array([[-1.0, 0.0], [1.0, 0.0]]))
    >>> bool(tau[0] < 2 < tau[1])
    True
    """

    def __init__(self, num_trees: int = 500, sample_fraction: float = 0.5, mtry: int | None = None,
                 min_node_size: int = 5, alpha: float = 0.05, honesty: bool = True,
                 ci_group_size: int = 2, propensity: Any = None, outcome: Any = None,
                 cross_fit: int = 5, clip: float = 0.01, overlap_warn: float = 0.01,
                 level: float = 0.95, random_state: Any = 0) -> None:
        self.num_trees = num_trees
        self.sample_fraction = sample_fraction
        self.mtry = mtry
        self.min_node_size = min_node_size
        self.alpha = alpha
        self.honesty = honesty
        self.ci_group_size = ci_group_size
        self.propensity = propensity
        self.outcome = outcome
        self.cross_fit = cross_fit
        self.clip = clip
        self.overlap_warn = overlap_warn
        self.level = level
        self.random_state = random_state

    # ------------------------------------------------------------------ validation
    def _settings(self, name: str, n: int, q: int) -> dict[str, Any]:
        def integer(v: Any, what: str, low: int) -> int:
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
                raise EstimationError(f"{name}: {what} must be an integer >= {low}, got {v!r}")
            return int(v)

        group = integer(self.ci_group_size, "ci_group_size", 1)
        trees = integer(self.num_trees, "num_trees", 1)
        frac = self.sample_fraction
        top = 0.5 if group > 1 else 1.0
        if isinstance(frac, bool) or not isinstance(frac, float | int) or not 0 < frac <= top:
            raise EstimationError(f"{name}: sample_fraction must be in (0, {top:g}] with ci_group_size="
                                  f"{group}, got {frac!r}")
        alpha = self.alpha
        if isinstance(alpha, bool) or not isinstance(alpha, float | int) or not 0 <= alpha < 0.25:
            raise EstimationError(f"{name}: alpha must be in [0, 0.25), got {alpha!r}")
        for what, v in (("level", self.level), ("clip", self.clip), ("overlap_warn", self.overlap_warn)):
            hi = 1.0 if what == "level" else 0.5
            if isinstance(v, bool) or not isinstance(v, float | int) or not (0 <= v < hi) \
                    or (what == "level" and v == 0):
                raise EstimationError(f"{name}: {what} must be in {'(0, 1)' if hi == 1 else '[0, 0.5)'}, "
                                      f"got {v!r}")
        mtry = min(math.ceil(math.sqrt(q) + 20), q) if self.mtry is None else integer(self.mtry, "mtry", 1)
        folds = integer(self.cross_fit, "cross_fit", 2)
        if folds > n:
            raise EstimationError(f"{name}: cross_fit={folds} folds but only {n} units")
        if self.random_state is not None and (isinstance(self.random_state, bool)
                                              or not isinstance(self.random_state, int | np.integer)):
            raise EstimationError(f"{name}: random_state must be an integer or None, "
                                  f"got {self.random_state!r}")
        return {"group": group, "trees": -(-trees // group) * group, "frac": float(frac),
                "alpha": float(alpha), "mtry": min(mtry, q), "folds": folds,
                "min_node": integer(self.min_node_size, "min_node_size", 1)}

    # ------------------------------------------------------------------ nuisances
    def _nuisances(self, X: np.ndarray, t: np.ndarray, y: np.ndarray, folds: int, seed: Any,
                   name: str) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        from threadpoolctl import threadpool_limits

        ps = HistGradientBoostingClassifier(**_BOOSTING) if self.propensity is None else self.propensity
        om = HistGradientBoostingRegressor(**_BOOSTING) if self.outcome is None else self.outcome
        check_model(ps, "propensity", name, proba=True)
        check_model(om, "outcome", name)
        e, m = np.empty(len(t)), np.empty(len(t))
        splits = KFold(n_splits=folds, shuffle=True, random_state=seed).split(X)
        with threadpool_limits(1, user_api="openmp"):
            for train, test in splits:
                tt = t[train]
                if min(tt.sum(), len(tt) - tt.sum()) < 2:
                    raise EstimationError(f"{name}: a cross-fitting fold has fewer than two treated or two "
                                          "control units; use fewer folds (cross_fit) or more data")
                p_model = seeded_clone(ps, seed)
                p_model.fit(X[train], tt.astype(np.int64))
                e[test] = p_model.predict_proba(X[test])[:, list(p_model.classes_).index(1)]
                m[test] = seeded_clone(om, seed).fit(X[train], y[train]).predict(X[test])
        return e, m

    # ------------------------------------------------------------------ fit
    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None,
            effect_modifiers: Sequence[str] | str | None = None) -> CausalForest:
        """Fit the nuisances, grow the forest and compute the out-of-bag effects; return ``self``.

        ``covariates`` (confounders) and ``effect_modifiers`` (the forest's features, default the
        covariates) together are the nuisance models' inputs.
        """
        name = type(self).__name__
        self.fitted_ = False
        covs, mods = _names(covariates), _names(effect_modifiers)
        frame = check_columns(data, estimator=name, treatment=treatment, outcome=outcome,
                              covariates=covs, effect_modifiers=mods)
        mods = mods or covs
        if not mods:
            raise EstimationError(f"{name}: covariates or effect_modifiers are required (the forest splits "
                                  "on them and the nuisance models adjust for them)")
        for role, col in (("treatment", treatment), ("outcome", outcome)):
            if col in covs or col in mods:
                raise EstimationError(f"{name}: the {role} {col!r} is also listed as a covariate or effect "
                                      f"modifier — drop it from those")
        t = as_binary(frame[treatment], estimator=name)
        if min(t.sum(), len(t) - t.sum()) < 2:
            raise EstimationError(f"{name}: need at least two treated and two control units")
        y = frame[outcome].to_numpy(dtype=float)
        nuis = covs + [c for c in mods if c not in covs]
        X, W = frame[nuis].to_numpy(dtype=float), frame[mods].to_numpy(dtype=float)
        n, q = W.shape
        s = self._settings(name, n, q)
        seed = self.random_state
        e, m = self._nuisances(X, t, y, s["folds"], seed, name)
        diag = overlap_diagnostics(e, t, name, float(self.overlap_warn),
                                   "Restrict the data to where both groups occur", stacklevel=3)
        tres, yres = t - e, y - m
        self._grow(W, tres, yres, t, s, np.random.default_rng(seed))
        self.effect_modifiers_, self.propensity_, self.outcome_hat_ = mods, e, m
        self.fitted_ = True
        tau, _ = self._predict(W, oob=True)
        missing = ~np.isfinite(tau)
        if missing.any():  # no out-of-bag tree (or only empty leaves): the whole forest's prediction
            tau[missing] = self._predict(W[missing])[0]
        if not np.isfinite(tau).all():
            raise EstimationError(f"{name}: the forest's effects are not finite; the treatment residuals "
                                  "do not vary within leaves — check overlap, or raise min_node_size")
        self.oob_effect_ = tau
        ec = np.clip(e, float(self.clip), 1 - float(self.clip))
        self.scores_ = tau + tres / (ec * (1 - ec)) * (yres - tres * tau)
        self.diagnostics_ = {**diag, "n": n, "trees": s["trees"], "mtry": s["mtry"],
                             "n_without_oob_trees": int(missing.sum())}
        return self

    def _grow(self, W: np.ndarray, tres: np.ndarray, yres: np.ndarray, t: np.ndarray,
              s: dict[str, Any], rng: np.random.Generator) -> None:
        n, q = W.shape
        group, trees = s["group"], s["trees"]
        size = max(2, int(round(s["frac"] * n)))
        inbag = np.zeros((trees, n), dtype=bool)
        est_rows = np.zeros((trees, n), dtype=bool)
        split_rows = np.zeros((trees, n), dtype=bool)
        for g in range(trees // group):
            if group == 1:
                pool = np.arange(n)
            elif g % 2 == 0:  # pairs of groups take complementary halves: every unit is out of bag in
                order = rng.permutation(n)  # half of the groups
                pool = order[: n // 2]
            else:
                pool = order[n // 2:]
            for b in range(g * group, (g + 1) * group):
                sub = rng.permutation(pool)[: min(size, len(pool))]
                inbag[b, sub] = True
                if self.honesty:
                    half = len(sub) // 2
                    split_rows[b, sub[:half]], est_rows[b, sub[half:]] = True, True
                else:
                    split_rows[b, sub], est_rows[b, sub] = True, True
        forest = grow_trees(W, tres, yres, t, split_rows, min_node_size=s["min_node"], alpha=s["alpha"],
                            mtry=s["mtry"], rng=rng)
        self.nodes_ = forest.freeze()
        # leaf statistics of the estimation halves: count and means of T~, Y~, T~Y~, T~^2
        tree_of, unit = np.nonzero(est_rows)
        leaf = route_pairs(self.nodes_, W, unit, self.nodes_["roots"][tree_of])
        size_nodes = len(self.nodes_["feature"])
        cnt = np.bincount(leaf, minlength=size_nodes).astype(float)
        stats = np.column_stack([np.bincount(leaf, v, size_nodes) for v in
                                 (tres[unit], yres[unit], tres[unit] * yres[unit], tres[unit] ** 2)])
        with np.errstate(invalid="ignore", divide="ignore"):
            self.leaf_means_ = stats / cnt[:, None]
        self.leaf_count_ = cnt
        self.inbag_ = np.packbits(inbag, axis=1)
        self.n_train_, self.group_ = n, group
        depth, feat = self.nodes_["depth"], self.nodes_["feature"]
        imp = np.zeros(q)
        weights = 0.0
        for k in range(4):  # GRF's variable_importance: depth k+1 split shares, weight (k+1)^-2
            at = feat[(depth == k) & (feat >= 0)]
            if len(at):
                imp += np.bincount(at, minlength=q) / len(at) * (k + 1) ** -2.0
                weights += (k + 1) ** -2.0
        self.feature_importances_ = imp / weights if weights else imp

    # ------------------------------------------------------------------ prediction
    def _predict(self, W: np.ndarray, oob: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``tau(x)`` and its little-bags variance for each row of ``W``."""
        nx = len(W)
        ell = self.group_
        nodes = self.nodes_
        inbag = (np.unpackbits(self.inbag_, axis=1, count=self.n_train_).astype(bool) if oob
                 else np.zeros((1, 1), dtype=bool))
        s_all, n_all, s_g, n_groups, s2_tree, s2_group = kernels().forest_sums(
            nodes["feature"], nodes["threshold"], nodes["left"], nodes["roots"],
            np.ascontiguousarray(W, dtype=float), self.leaf_means_, self.leaf_count_, ell, inbag, oob,
            threads())
        with np.errstate(invalid="ignore", divide="ignore"):
            mt, my, mty, mtt = (s_all / n_all[:, None]).T
            slope = mtt - mt**2
            tau = (mty - mt * my) / slope
            c = np.column_stack([2 * tau * mt - my, -mt, np.ones(nx), -tau])
            G = n_groups
            mu = s_g / (G * ell)[:, None]
            cov_tot = s2_tree / (G * ell)[:, None, None] - mu[:, :, None] * mu[:, None, :]
            cov_btw = s2_group / G[:, None, None] - mu[:, :, None] * mu[:, None, :]
            v_tot = np.einsum("ni,nij,nj->n", c, cov_tot, c)
            v_btw = np.einsum("ni,nij,nj->n", c, cov_btw, c)
            noise = (v_tot - v_btw) / max(ell - 1, 1)
            var = _debias(v_btw, noise, G) / slope**2
        if ell == 1:
            var = np.full(nx, np.nan)
        return tau, var

    def _points(self, X: Any) -> np.ndarray:
        name = type(self).__name__
        self._check_fitted()
        if isinstance(X, pd.DataFrame):
            X = check_columns(X, estimator=name, effect_modifiers=self.effect_modifiers_)
        W = np.asarray(X, dtype=float)
        if W.ndim == 1:
            W = W[None, :]
        if W.ndim != 2 or W.shape[1] != len(self.effect_modifiers_):
            raise EstimationError(f"{name}: X must have {len(self.effect_modifiers_)} columns "
                                  f"({', '.join(self.effect_modifiers_)}), got shape {W.shape}")
        if not np.isfinite(W).all():
            raise EstimationError(f"{name}: X has missing or infinite values")
        return W

    def effect(self, X: Any) -> np.ndarray:
        """The CATE ``tau(x)`` at each row of ``X`` (a frame with the effect modifiers, or an array)."""
        return self._predict(self._points(X))[0]

    def cate(self, data: pd.DataFrame) -> np.ndarray:
        return self.effect(data)

    def effect_interval(self, X: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """The ``1 - alpha`` pointwise normal intervals of ``tau(x)`` (little-bags variance)."""
        if isinstance(alpha, bool) or not isinstance(alpha, float | int) or not 0 < alpha < 1:
            raise EstimationError(f"{type(self).__name__}: alpha must be in (0, 1), got {alpha!r}")
        if self.group_ < 2:
            raise EstimationError(f"{type(self).__name__}: intervals need ci_group_size >= 2")
        tau, var = self._predict(self._points(X))
        return normal_interval(tau, np.sqrt(var), 1 - alpha)

    def effect_stderr(self, X: Any) -> np.ndarray:
        """The little-bags standard error of ``tau(x)`` at each row of ``X``."""
        return np.sqrt(self._predict(self._points(X))[1])

    def oob_effect(self) -> np.ndarray:
        """Out-of-bag ``tau(X_i)`` of the training units: only trees whose subsample excluded ``i``.

        With little bags, pairs of groups grow on complementary halves, so every unit is out of
        bag in half of the groups. A unit in every tree's subsample (possible with
        ``ci_group_size=1``) gets the whole forest's prediction; ``ate().diagnostics
        ["n_without_oob_trees"]`` counts them.
        """
        self._check_fitted()
        return self.oob_effect_.copy()

    def ate(self) -> Estimate:
        """The average treatment effect: the mean of the doubly robust scores with out-of-bag CATEs."""
        self._check_fitted()
        phi = self.scores_
        n = len(phi)
        return Estimate.normal(float(phi.mean()), float(phi.std(ddof=1) / math.sqrt(n)),
                               method="CausalForest", n=n, level=float(self.level),
                               diagnostics=self.diagnostics_)


def _debias(between: np.ndarray, noise: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The between-group variance less the group noise, kept positive.

    The raw difference can be negative with few groups; as GRF does, take the posterior mean of
    a variance known to be positive given a normal estimate ``between - noise`` whose standard
    deviation is about ``sqrt(2 / G)`` times ``between`` (a sample variance's).
    """
    mu = between - noise
    sd = np.sqrt(2.0 / np.maximum(groups, 1)) * np.maximum(between, 1e-300)
    z = mu / sd
    with np.errstate(divide="ignore", invalid="ignore", under="ignore", over="ignore"):
        phi = np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
        out = mu + sd * phi / np.maximum(ndtr(z), 1e-300)
    return np.where(z > 8, mu, np.maximum(out, 0.0))
