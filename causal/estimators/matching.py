"""Nearest-neighbour matching with replacement, on the propensity score or on the covariates.

Under no unmeasured confounding given covariates ``X`` and overlap, a unit's
missing potential outcome can be imputed from units of the other arm that
look like it. Each unit ``i`` is matched to the set ``J(i)`` of its ``M``
nearest neighbours in the opposite arm (ties at the ``M``-th distance
included), *with replacement*: a unit may serve as a match many times. With
``Ŷ_i(1 - W_i)`` the mean outcome of ``J(i)`` and ``Ŷ_i(W_i) = Y_i``::

    ATE:  (1/N)  Σ_i          Ŷ_i(1) - Ŷ_i(0)  =  (1/N) Σ_i (2 W_i - 1) (1 + K_M(i)/M) Y_i
    ATT:  (1/N1) Σ_{W_i = 1}  Y_i - Ŷ_i(0)

where ``K_M(i)`` counts how often unit ``i`` is used as a match. Matching
finds neighbours in a metric space: :class:`PropensityMatching` matches on the
logit of a fitted propensity score ``e(X) = P(W = 1 | X)`` (a balancing score:
Rosenbaum & Rubin 1983), :class:`CovariateMatching` on the covariates
themselves under the Mahalanobis or inverse-variance metric. Neighbour searches
in a one-dimensional space (the score, or a single covariate) sort once and
bisect; in more dimensions they use scikit-learn's
:class:`~sklearn.neighbors.NearestNeighbors`.

**Standard errors** are Abadie & Imbens' (2006, eq. 14) for matching with
replacement: with ``σ̂²(X_i, W_i) = J/(J+1) (Y_i - mean of its J nearest same-arm
neighbours' Y)²`` (``J = 2``; residuals of the bias-correction regressions
instead of ``Y`` when ``bias_correction=True``), the variance of the ATE
estimate is::

    V̂ = (1/N²) Σ_i [ (Ŷ_i(1) - Ŷ_i(0) - τ̂)² + ((K_M(i)/M)² + (2M - 1)/M · K_M(i)/M) σ̂²(X_i, W_i) ]

and for the ATT ``(1/N1²) Σ_i [W_i (Y_i - Ŷ_i(0) - τ̂_t)² + (1 - W_i) K_M(i)(K_M(i) - 1)/M² σ̂²(X_i, W_i)]``.
They target the population effects; the usual bootstrap is not valid for
matching estimators (Abadie & Imbens 2008).

**Bias correction.** With k >= 2 continuous covariates the matching
discrepancy ``X_i - X_j`` leaves a bias of order ``N^{-1/k}``, which does not
vanish faster than the standard error. ``bias_correction=True`` fits a linear
regression ``μ̂_w(x)`` of the outcome on the covariates in each arm and imputes
``Y_j + μ̂_w(X_i) - μ̂_w(X_j)`` instead of ``Y_j`` (Abadie & Imbens 2011); the
variance estimator is unchanged.

**Calipers.** With ``caliper=c``, a match farther than ``c`` standard
deviations is not accepted: of the logit propensity score for
:class:`PropensityMatching` (Rosenbaum & Rubin 1985; Austin 2011 recommends
``c = 0.2``), and in the metric's own units for :class:`CovariateMatching`,
which are standard deviations (the Mahalanobis distance of one covariate is
``|x_i - x_j| / sd(x)``). A unit keeps those of its ``M`` nearest matches that
lie within the caliper; units with none are dropped: the estimand becomes the
effect among the matched units, the estimate's ``method`` says how many were
dropped and ``diagnostics`` counts them (``n_dropped``, ``n_dropped_treated``,
``n_dropped_control``). ``Estimate.n`` counts the units whose outcome enters
the estimate (targets and the units they are matched to).

**Balance.** ``balance()`` gives per covariate the standardized mean
difference (difference of means over the pooled standard deviation of the
unmatched arms, the same denominator before and after) and the ratio of
variances, before matching and in the matched sample, where each unit is
weighted by how often it is used (its own target weight plus ``K_M(i)/M``)
(Austin 2009; Stuart 2010). :func:`causal.plot.love_plot` draws it.

References
----------
P. R. Rosenbaum and D. B. Rubin (1983), "The central role of the propensity
score in observational studies for causal effects", *Biometrika* 70(1).
P. R. Rosenbaum and D. B. Rubin (1985), "Constructing a control group using
multivariate matched sampling methods that incorporate the propensity score",
*The American Statistician* 39(1).
A. Abadie and G. W. Imbens (2006), "Large sample properties of matching
estimators for average treatment effects", *Econometrica* 74(1), 235-267.
A. Abadie and G. W. Imbens (2008), "On the failure of the bootstrap for
matching estimators", *Econometrica* 76(6).
A. Abadie and G. W. Imbens (2011), "Bias-corrected matching estimators for
average treatment effects", *Journal of Business & Economic Statistics* 29(1), 1-11.
A. Abadie and G. W. Imbens (2016), "Matching on the estimated propensity
score", *Econometrica* 84(2), 781-807.
P. C. Austin (2009), "Balance diagnostics for comparing the distribution of
baseline covariates between treatment groups in propensity-score matched
samples", *Statistics in Medicine* 28(25).
E. A. Stuart (2010), "Matching methods for causal inference: a review and a
look forward", *Statistical Science* 25(1).
D. B. Rubin (2001), "Using propensity scores to help design observational
studies: application to the tobacco litigation", *Health Services and Outcomes
Research Methodology* 2(3-4).
P. C. Austin (2011), "Optimal caliper widths for propensity-score matching when
estimating differences in means and differences in proportions in
observational studies", *Pharmaceutical Statistics* 10(2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.linalg import solve_triangular

from causal.errors import EstimationError
from causal.estimators._fastfit import gram, single_threaded, tmatmul
from causal.estimators._neighbors import _Index, _index, _Line, _nearest
from causal.estimators._overlap import overlap_diagnostics
from causal.estimators.base import BaseEstimator, Estimate, as_binary, check_columns
from causal.estimators.nuisance import _fit_propensity_input, _glm_design

__all__ = ["PropensityMatching", "CovariateMatching"]

_VAR_NEIGHBORS = 2  # J: same-arm matches for the conditional variance, AI (2006) eq. (14)
_COV_NEIGHBORS = 4  # L: same-arm neighbours for the local covariances of AI (2016)
_Target = Literal["ate", "att"]
_OVERLAP_ADVICE = ("Matching reuses the few comparable units as heavily as weighting weights them, so the "
                   "matches there are far apart. Restrict the data to where both groups occur, set a caliper "
                   "(e.g. caliper=0.2) so units without a close match are dropped and say so, or change the "
                   "estimand: att() needs only propensities away from 1")


def _match_arms(Z: np.ndarray, t: np.ndarray, nns: dict[int, _Index], m: int, radius: float | None,
                name: str) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Matches of the units of each arm ``w`` among the other arm: ``{w: (unit, match, weight, dist)}``."""
    out = {}
    for w in (1, 0):
        own, other = np.flatnonzero(t == w), np.flatnonzero(t != w)
        own_index = nns[w]  # the units of arm w, already sorted if on a line
        q, p, d = _nearest(Z[own], nns[1 - w], m, radius, name,
                           own_index.order if isinstance(own_index, _Line) else None)
        weight = 1.0 / np.bincount(q, minlength=len(own))[q]
        out[w] = (own[q], other[p], weight, d)
    return out


def _conditional_variance(nns: dict[int, _Index], y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``σ̂²(X_i, W_i)`` by matching within arms on ``J`` neighbours, AI (2006) eq. (14)."""
    s2 = np.empty(len(y))
    for w in (0, 1):
        idx = np.flatnonzero(t == w)
        j = min(_VAR_NEIGHBORS, len(idx) - 1)
        nb = nns[w].kneighbors(n_neighbors=j, return_distance=False)  # X=None: a unit is not its own
        s2[idx] = j / (j + 1) * (y[idx] - y[idx][nb].mean(axis=1)) ** 2
    return s2


def _arm_regressions(X: np.ndarray, y: np.ndarray, t: np.ndarray, names: Sequence[str],
                     name: str) -> np.ndarray:
    """``μ̂_w(X_i)`` for both arms ``w`` and all units: OLS of ``Y`` on ``(1, X)`` within each arm."""
    D = np.column_stack([np.ones(len(y)), X])
    mu = np.empty((2, len(y)))
    for w in (0, 1):
        m = t == w
        if m.sum() <= D.shape[1]:
            raise EstimationError(f"{name}: bias_correction regresses the outcome on {X.shape[1]} "
                                  f"covariates within each arm, but the {('control', 'treated')[w]} arm "
                                  f"has only {int(m.sum())} units; use bias_correction=False")
        beta, _, rank, _ = np.linalg.lstsq(D[m], y[m], rcond=None)
        if rank < D.shape[1]:
            raise EstimationError(f"{name}: bias_correction needs covariates that are not collinear (nor "
                                  f"constant) within the {('control', 'treated')[w]} arm; covariates: "
                                  f"{', '.join(names)}")
        mu[w] = D @ beta
    return mu


# --------------------------------------------------------------------------- estimates
def _combine(y: np.ndarray, t: np.ndarray, parts: Sequence[tuple[np.ndarray, ...]], mu: np.ndarray | None,
             s2: np.ndarray) -> dict[str, Any]:
    """Effect, AI (2006) variance and matched-sample weights from one or two directions of matches.

    A target ``i`` (a unit whose effect is averaged) gets ``d_i = (2 W_i - 1)(Y_i - Ŷ_i(1 - W_i))``.
    Unit ``j`` receives ``K_j = Σ_i w_ij`` and ``K2_j = Σ_i w_ij²`` from its matches; the AI (2006)
    variance is ``[Σ_targets (d_i - τ̂)² + Σ_j (K_j² + 2·target_j·K_j - K2_j) σ̂²_j] / N_t²``, which
    reduces to eq. (14) (ATE) and its ATT analogue when every target has ``M`` matches.
    """
    n = len(y)
    target = np.zeros(n, dtype=bool)
    imputed, K, K2 = np.zeros(n), np.zeros(n), np.zeros(n)
    for unit, match, weight, _ in parts:
        target[unit] = True
        value = y[match]
        if mu is not None and len(match):
            arm = int(t[match[0]])
            value = value + mu[arm, unit] - mu[arm, match]
        imputed += np.bincount(unit, weights=weight * value, minlength=n)
        K += np.bincount(match, weights=weight, minlength=n)
        K2 += np.bincount(match, weights=weight**2, minlength=n)
    d = (2 * t - 1) * (y - imputed)
    nt = int(target.sum())
    if nt == 0:
        return {"n_targets": 0}
    tau = float(d[target].mean())
    var = (((d[target] - tau) ** 2).sum() + ((K**2 + 2 * target * K - K2) * s2).sum()) / nt**2
    weights = target + K
    return {"value": tau, "var": float(var), "target": target, "weights": weights, "n_targets": nt,
            "n_used": int((weights > 0).sum())}


def _balance(X: np.ndarray, t: np.ndarray, weights: dict[str, np.ndarray],
             names: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Standardized mean differences and variance ratios before and after matching, per estimand."""
    keys = list(weights)
    stats: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for arm in (1, 0):
        a = t == arm
        # Weighted means of the arm's covariates from one product with all the arm's weights
        # (normalised; unweighted first), then the variances by a second, compensated pass over the
        # deviations from each mean: exact to rounding wherever the units lie. A covariate constant
        # in the arm gets its value as mean and variance 0 exactly.
        XT = X.T[:, a]
        V = np.empty((XT.shape[1], 1 + len(keys)))
        V[:, 0] = 1.0
        for j, key in enumerate(keys, start=1):
            V[:, j] = weights[key][a]
        total = V.sum(axis=0)
        V /= np.where(total > 0, total, 1.0)
        M = tmatmul(XT, V)
        var = np.empty_like(M)
        D = np.empty_like(XT)
        for j in range(V.shape[1]):
            np.subtract(XT, M[:, j:j + 1], out=D)
            r = tmatmul(D, V[:, j])
            np.square(D, out=D)
            var[:, j] = tmatmul(D, V[:, j]) - r * r
        if XT.shape[1]:
            const = XT.min(axis=1) == XT.max(axis=1)
            M[const] = XT[const, :1]
            var[const] = 0.0
        used = total > 0  # an arm none of whose units is used has mean and variance 0
        stats[arm] = (np.where(used, M, 0.0), np.where(used, np.maximum(var, 0.0), 0.0))

    def moments(j: int) -> tuple[np.ndarray, ...]:
        """Means and variances of both arms, unweighted (j = 0) or with the j-th weights."""
        return stats[1][0][:, j], stats[1][1][:, j], stats[0][0][:, j], stats[0][1][:, j]

    m1, v1, m0, v0 = moments(0)
    sd = np.sqrt((v1 + v0) / 2)
    tables = {}
    for j, key in enumerate(keys, start=1):
        a1, u1, a0, u0 = moments(j)
        with np.errstate(divide="ignore", invalid="ignore"):
            smd_b = np.where(sd > 0, (m1 - m0) / sd, 0.0)
            smd_a = np.where(sd > 0, (a1 - a0) / sd, 0.0)
            vr_b = np.where(v0 > 0, v1 / v0, np.nan)
            vr_a = np.where(u0 > 0, u1 / u0, np.nan)
        tables[key] = pd.DataFrame({"smd_before": smd_b, "smd_after": smd_a, "var_ratio_before": vr_b,
                                    "var_ratio_after": vr_a}, index=pd.Index(list(names), name="covariate"))
    return tables


# --------------------------------------------------------------------------- the shared estimator
class _Matching(BaseEstimator):
    """Fit logic shared by both matching estimators; subclasses supply the matching space."""

    n_neighbors: int
    caliper: float | None
    bias_correction: bool
    overlap_warn: float
    level: float

    def _space(self, X: np.ndarray, t: np.ndarray, names: Sequence[str],
               name: str) -> tuple[np.ndarray, float | None]:
        raise NotImplementedError

    def _adjust(self, est: dict[str, dict[str, Any]], X: np.ndarray, t: np.ndarray, y: np.ndarray,
                mu: np.ndarray | None, nns: dict[int, _Index]) -> dict[str, Any]:
        return {}

    def _overlap_propensity(self, X: np.ndarray, t: np.ndarray, name: str) -> np.ndarray:
        """Propensities for the overlap diagnostic."""
        raise NotImplementedError

    def _check_settings(self, name: str) -> None:
        m = self.n_neighbors
        if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 1:
            raise EstimationError(f"{name}: n_neighbors must be a positive integer, got {m!r}")
        c = self.caliper
        if c is not None and (isinstance(c, bool) or not isinstance(c, float | int) or not 0 < c < np.inf):
            raise EstimationError(f"{name}: caliper must be None or a positive number of standard "
                                  f"deviations (e.g. 0.2), got {c!r}")
        if not (isinstance(self.level, float | int) and 0 < self.level < 1):
            raise EstimationError(f"{name}: level must be in (0, 1), got {self.level!r}")
        w = self.overlap_warn
        if isinstance(w, bool) or not (isinstance(w, float | int) and 0 <= w < 0.5):
            raise EstimationError(f"{name}: overlap_warn must be in [0, 0.5), got {w!r}")

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None) -> _Matching:
        """Match every unit to the other arm, compute the ATE and the ATT; return ``self``.

        Parameters
        ----------
        data : pandas.DataFrame
        treatment : str
            A binary 0/1 column.
        outcome : str
        covariates : list of str
            The confounders to match on (through the propensity score for
            :class:`PropensityMatching`).

        Returns
        -------
        self

        Raises
        ------
        EstimationError
            Missing, non-numeric or NaN columns, a non-binary or constant
            treatment, no covariates, an arm with fewer than
            ``max(2, n_neighbors)`` units, invalid settings, covariates that
            perfectly separate treated from control units (a fitted propensity
            of exactly 0 or 1).

        Warns
        -----
        OverlapWarning
            When a fitted propensity lies outside ``[overlap_warn, 1 - overlap_warn]``.
        """
        with single_threaded():  # small BLAS calls stall on busy cores
            name = type(self).__name__
            self._check_settings(name)
            covs = [covariates] if isinstance(covariates, str) else list(covariates or [])
            frame = check_columns(data, estimator=name, treatment=treatment, outcome=outcome, covariates=covs)
            if not covs:
                raise EstimationError(f"{name}: covariates are required to match on; for a randomised "
                                      "experiment without covariates use DifferenceInMeans")
            if treatment in covs or outcome in covs:
                raise EstimationError(f"{name}: the treatment and the outcome cannot also be covariates")
            t = as_binary(frame[treatment], estimator=name)
            n1 = int(t.sum())
            need = max(2, int(self.n_neighbors))
            if min(n1, len(t) - n1) < need:
                raise EstimationError(f"{name}: need at least {need} treated and {need} control units "
                                      f"(max(2, n_neighbors)); got {n1} and {len(t) - n1}")
            X = frame[covs].to_numpy(dtype=float)
            y = frame[outcome].to_numpy(dtype=float)
            Z, radius = self._space(X, t, covs, name)
            self.overlap_ = overlap_diagnostics(self._overlap_propensity(X, t, name), t, name,
                                                float(self.overlap_warn), _OVERLAP_ADVICE, stacklevel=3)
            nns = {w: _index(Z[t == w]) for w in (0, 1)}
            matches = _match_arms(Z, t, nns, int(self.n_neighbors), radius, name)
            mu = _arm_regressions(X, y, t, covs, name) if self.bias_correction else None
            resid = y if mu is None else y - mu[t.astype(int), np.arange(len(y))]
            s2 = _conditional_variance(nns, resid, t)
            est = {"ate": _combine(y, t, [matches[1], matches[0]], mu, s2),
                   "att": _combine(y, t, [matches[1]], mu, s2)}
            for target, e in est.items():
                if e["n_targets"] == 0:
                    who = "unit" if target == "ate" else "treated unit"
                    raise EstimationError(f"{name}: no {who} has a match within caliper={self.caliper}; "
                                          "widen the caliper")
            extra = self._adjust(est, X, t, y, mu, nns)
            self.n_ = len(y)
            self.covariates_ = covs
            self.matched_ = est["ate"]["target"]
            self.n_unmatched_ = int((~self.matched_).sum())
            index = data.index
            unit, match, weight, dist = (np.concatenate(a) for a in zip(matches[1], matches[0], strict=True))
            self.matches_ = pd.DataFrame({"unit": index[unit], "match": index[match], "weight": weight,
                                          "distance": dist})
            self.balance_ = _balance(X, t, {k: e["weights"] for k, e in est.items()}, covs)
            self.results_ = {}
            for target, e in est.items():
                var, how = e["var"], "Abadie-Imbens (2006)"
                adj = extra.get(target)
                if adj is not None:
                    var = var + adj
                    how = "Abadie-Imbens (2016), accounting for the estimated propensity score"
                n_pool = len(y) if target == "ate" else n1
                self.results_[target] = {
                    "value": e["value"], "stderr": float(np.sqrt(var)), "n": e["n_used"], "se_method": how,
                    "stderr_ai2006": float(np.sqrt(e["var"])),
                    "n_matched": e["n_targets"], "n_dropped": n_pool - e["n_targets"],
                    "n_dropped_treated": n1 - int(e["target"][t == 1].sum()),
                    "n_dropped_control": ((len(y) - n1 - int(e["target"][t == 0].sum()))
                                          if target == "ate" else 0)}
            self.ate_ = self.results_["ate"]["value"]
            self.att_ = self.results_["att"]["value"]
            self.fitted_ = True
            return self

    def _estimate(self, target: _Target) -> Estimate:
        self._check_fitted()
        r = self.results_[target]
        method = type(self).__name__
        label = [] if target == "ate" else ["ATT"]
        if r["n_dropped"]:
            who = "units" if target == "ate" else "treated units"
            label.append(f"caliper: {r['n_dropped']} of {r['n_dropped'] + r['n_matched']} {who} unmatched "
                         "and dropped")
        if label:
            method += f" ({'; '.join(label)})"
        diag = {k: r[k] for k in ("n_matched", "n_dropped", "n_dropped_treated", "n_dropped_control",
                                  "se_method", "stderr_ai2006")}
        diag.update(self.overlap_)
        diag.update(n_neighbors=int(self.n_neighbors), caliper=self.caliper,
                    bias_correction=bool(self.bias_correction), balance=self.balance_[target].copy(),
                    **self._diagnostics())
        return Estimate.normal(r["value"], r["stderr"], method=method, n=r["n"], level=self.level,
                               diagnostics=diag)

    def _diagnostics(self) -> dict[str, Any]:
        return {}

    def ate(self) -> Estimate:
        """The average treatment effect (among matched units if the caliper dropped some)."""
        return self._estimate("ate")

    def att(self) -> Estimate:
        """The average treatment effect on the treated: treated units matched to controls."""
        return self._estimate("att")

    def balance(self, estimand: Literal["ate", "att"] | None = None) -> pd.DataFrame:
        """Covariate balance before and after matching, one row per covariate.

        Parameters
        ----------
        estimand : "ate" or "att", optional
            Whose matched sample to describe: both arms reweighted towards the
            (matched) population for the ATE, the treated and their matched
            controls for the ATT. Default: the estimator's ``estimand`` if it
            has one, else ``"ate"``.

        Returns
        -------
        pandas.DataFrame
            Columns ``smd_before``, ``smd_after`` (standardized mean
            differences, treated minus control, over the pooled standard
            deviation of the unmatched arms) and ``var_ratio_before``,
            ``var_ratio_after`` (treated over control variance; near 1 is
            balanced, outside [0.5, 2] is poor: Rubin 2001). Matched units are
            weighted by how often they are used.
        """
        self._check_fitted()
        estimand = estimand if estimand is not None else getattr(self, "estimand", "ate")
        if estimand not in ("ate", "att"):
            raise EstimationError(f"{type(self).__name__}: estimand must be 'ate' or 'att', got {estimand!r}")
        return self.balance_[estimand].copy()


# --------------------------------------------------------------------------- propensity-score matching
class PropensityMatching(_Matching):
    """Nearest-neighbour matching with replacement on the logit of the estimated propensity score.

    Parameters
    ----------
    propensity : scikit-learn classifier with ``predict_proba``, optional
        Model of ``P(T = 1 | X)``, cloned before fitting. Default
        :func:`~causal.estimators.weighting.default_propensity` (standardised
        covariates, nearly unpenalised logistic regression).
    n_neighbors : int
        ``M``, matches per unit (ties at the ``M``-th distance are all used).
    caliper : float, optional
        Maximum distance of a match in standard deviations of the logit
        propensity score (0.2 is customary: Austin 2011). Units without a
        match within it are dropped and counted in ``diagnostics``.
    estimand : "ate" or "att"
        The matched sample that :meth:`balance` describes by default;
        ``ate()`` and ``att()`` are always both available.
    bias_correction : bool
        Regression bias correction on the covariates (Abadie & Imbens 2011).
    overlap_warn : float
        Emit :class:`~causal.estimators.weighting.OverlapWarning` when a fitted
        propensity lies outside ``[overlap_warn, 1 - overlap_warn]`` (0 disables),
        as the weighting estimators do; the numbers are in ``diagnostics``.
    level : float
        Confidence level of the intervals.

    Attributes
    ----------
    propensity_ : ndarray
        Fitted propensity scores of all rows.
    logit_propensity_ : ndarray
        Their logits, the matching variable.
    propensity_model_ : the fitted classifier.
    propensity_adjusted_ : dict
        ``{"ate": bool, "att": bool}``: whether the Abadie–Imbens (2016)
        adjustment for the estimated score was applied (see Notes).
    matches_ : pandas.DataFrame
        One row per match: ``unit`` and ``match`` (index labels of ``data``),
        ``weight`` (``1/|J(unit)|``) and ``distance`` (in logit units).
    matched_ : ndarray of bool
        Rows that found a match within the caliper (all without a caliper).
    ate_, att_ : float

    Notes
    -----
    The Abadie–Imbens (2006) standard error treats the propensity score as
    known. When the propensity model is a (pipeline ending in a) logistic
    regression without an L1 penalty, its estimation is accounted for by
    Abadie & Imbens' (2016, Theorems 1 and 2) adjustment: ``- c' I⁻¹ c / N``
    for the ATE (never positive: matching on the estimated score is more
    efficient than on the true one) and ``(- c_t' I⁻¹ c_t + ∂τ_t' I⁻¹ ∂τ_t) / N``
    for the ATT (either sign), with the conditional covariances of the
    covariates and the outcome given the score estimated from ``L = 4``
    same-arm neighbours on the score (with the bias-correction residuals as
    outcome when ``bias_correction=True``). ``diagnostics["se_method"]`` says
    which was used. Otherwise — another classifier, or when the caliper drops
    units, which the 2016 theory does not cover — the standard error ignores the
    estimation of the propensity score: conservative for the ATE (the
    adjustment is never positive), of unknown direction for the ATT.

    The adjustment is asymptotic. In simulations (the linear design of the
    tests, 300 to 800 replications) the adjusted standard errors were within
    a few percent of the sampling standard deviation at N = 2000 (95%
    intervals covered 93-94% of the time) but about 15% too small for the ATE
    at N = 400 (coverage 0.89 for the ATE, 0.92 for the ATT), where the AI
    (2006) error, ``diagnostics["stderr_ai2006"]``, was conservative (0.99 and
    0.98): in small samples the gain from estimating the score is not fully
    realised. For a few hundred units prefer that error, or
    ``bias_correction=True`` (coverage 0.92 and 0.94 there).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=3000)
    >>> t = rng.binomial(1, 1 / (1 + np.exp(-x)))
    >>> df = pd.DataFrame({"x": x, "t": t, "y": 2 * t + x + rng.normal(size=3000)})
    >>> naive = df.y[df.t == 1].mean() - df.y[df.t == 0].mean()
    >>> bool(naive > 2.5)
    True
    >>> est = PropensityMatching().fit(df, treatment="t", outcome="y", covariates=["x"])
    >>> ate = est.ate()
    >>> bool(ate.ci_low < 2 < ate.ci_high), ate.method
    (True, 'PropensityMatching')
    >>> b = est.balance()
    >>> bool(abs(b.loc["x", "smd_after"]) < abs(b.loc["x", "smd_before"]))
    True
    """

    def __init__(self, propensity: Any = None, n_neighbors: int = 1, caliper: float | None = None,
                 estimand: Literal["ate", "att"] = "ate", bias_correction: bool = False,
                 overlap_warn: float = 0.01, level: float = 0.95) -> None:
        self.propensity = propensity
        self.n_neighbors = n_neighbors
        self.caliper = caliper
        self.estimand = estimand
        self.bias_correction = bias_correction
        self.overlap_warn = overlap_warn
        self.level = level

    def _check_settings(self, name: str) -> None:
        super()._check_settings(name)
        if self.estimand not in ("ate", "att"):
            raise EstimationError(f"{name}: estimand must be 'ate' or 'att', got {self.estimand!r}")

    def _space(self, X: np.ndarray, t: np.ndarray, names: Sequence[str],
               name: str) -> tuple[np.ndarray, float | None]:
        model, e, self._propensity_input = _fit_propensity_input(self.propensity, X, t, name)
        at0, at1 = int((e <= 0).sum()), int((e >= 1).sum())
        if at0 or at1:
            raise EstimationError(
                f"{name}: {at0 + at1} of {len(e)} units have a fitted propensity of exactly 0 or 1: the "
                "covariates perfectly separate treated from control units, so they cannot be matched on "
                "the score. Drop or coarsen the separating covariates, restrict the data to where both "
                "groups occur, or use a penalised propensity model")
        self.propensity_model_, self.propensity_ = model, e
        z = np.log(e) - np.log1p(-e)
        self.logit_propensity_ = z
        radius = None if self.caliper is None else float(self.caliper) * float(z.std(ddof=1))
        return z[:, None], radius

    def _overlap_propensity(self, X: np.ndarray, t: np.ndarray, name: str) -> np.ndarray:
        return self.propensity_

    def _adjust(self, est: dict[str, dict[str, Any]], X: np.ndarray, t: np.ndarray, y: np.ndarray,
                mu: np.ndarray | None, nns: dict[int, _Index]) -> dict[str, Any]:
        """Variance adjustments of AI (2016) for the estimated (logistic) propensity score."""
        self.propensity_adjusted_ = {"ate": False, "att": False}
        design = _glm_design(self.propensity_model_, X, "logistic", vars(self).pop("_propensity_input", None))
        complete = {k: e["n_targets"] == (len(t) if k == "ate" else int(t.sum())) for k, e in est.items()}
        if design is None or not any(complete.values()):
            return {}
        u_ate = y if mu is None else y - mu[t.astype(int), np.arange(len(y))]
        u_att = y if mu is None else y - mu[0]
        adj = _ai2016(design, self.propensity_, self.logit_propensity_, t, nns, u_ate, u_att,
                      est["att"]["value"])
        out = {}
        for k, a in adj.items():
            if complete[k] and est[k]["var"] + a > 0:
                out[k] = a
                self.propensity_adjusted_[k] = True
        return out

    def _diagnostics(self) -> dict[str, Any]:
        e = self.propensity_
        return {"propensity_min": float(e.min()), "propensity_max": float(e.max()),
                "caliper_logit": None if self.caliper is None
                else float(self.caliper) * float(self.logit_propensity_.std(ddof=1))}


def _ai2016(design: tuple[np.ndarray, np.ndarray], e: np.ndarray, z: np.ndarray, t: np.ndarray,
            nns: dict[int, _Index], u_ate: np.ndarray, u_att: np.ndarray,
            tau_att: float) -> dict[str, float]:
    """Abadie & Imbens (2016) variance adjustments for matching on a logit score ``e = F(Φ'θ̂)``.

    The influence function of the estimate gains ``g' H⁻¹ s_i``, ``s_i = Φ_i (W_i - e_i)`` the
    logistic score, ``H`` its Hessian (with the ridge term of a penalised fit) and ``I = E[e(1-e) ΦΦ']``
    the information; ``Cov(ψ, s) = c`` (``c_t`` for the ATT), so the variance changes by
    ``(2 g'H⁻¹c + g'H⁻¹ I H⁻¹ g) / N`` — ``-c'I⁻¹c / N`` for the ATE (``g = -c``) and
    ``(-c_t'I⁻¹c_t + ∂τ_t'I⁻¹∂τ_t) / N`` for the ATT (``g = ∂τ_t - c_t``) when unpenalised. With
    ``f = e(1-e)`` (the logistic density at the index) and ``cov_w(i)`` the covariance of ``Φ`` and
    the outcome among ``L`` arm-``w`` neighbours of unit ``i`` on the score (an estimate of
    ``Cov(Φ, μ(w, X) | e(X))``)::

        c    = mean f (cov_1/e + cov_0/(1-e))
        c_t  = mean f [Φ (τ̄ - τ_t) + cov_1 + e/(1-e) cov_0] / P(W=1)
        ∂τ_t = mean f [Φ (τ̄ - τ_t) + cov_1 - cov_0] / P(W=1)

    ``τ̄_i`` the difference of the two arms' local mean outcomes (an estimate of
    ``E[Y(1) - Y(0) | e(X_i)]``). ``∂τ_t = E[f Φ (μ(1,X) - μ(0,X) - τ_t)] / P(W=1)``; the
    covariance terms turn ``τ̄(e)`` into ``μ(1,X) - μ(0,X)``.
    """
    Phi, ridge = design
    n = len(e)
    zo = np.argsort(z)  # units in the order of their score: neighbour searches run sequentially
    zs, e_s = z[zo], e[zo]
    f = e_s * (1 - e_s)
    odds = e_s / (1 - e_s)
    # Each mean of f·cov_w·(a scalar a_i per unit) is linear in the neighbours' Φ rows: Σ_j Φ_j r_j / n,
    # with r_j collecting the weights of unit j as a neighbour; so no (n, L, q) array is formed. The L
    # nearest arm-w units of unit i on the score are a run [lo_i, lo_i + L) of the arm's units sorted by
    # score, so r_j = (u_j Σ_{i ∋ j} a_i - Σ_{i ∋ j} a_i m_i) / (L - 1), the sums over the units i whose
    # run holds j (lo_i in (j - L, j]) and m_i the run's mean outcome: a scatter of a_i and a_i m_i to
    # lo_i, then a spread over the run. Rows of R: c, c_t and ∂τ_t (times P(W=1)), before multiplying by Φ;
    # rows with the same coefficient share one scatter.
    coef = {(1, "ate"): [((0,), f / e_s)], (0, "ate"): [((0,), f / (1 - e_s))],
            (1, "att"): [((1, 2), f)], (0, "att"): [((1,), f * odds), ((2,), -f)]}
    R = np.empty((3, n))
    mean: dict[int, np.ndarray] = {}
    for w in (0, 1):
        idx = np.flatnonzero(t == w)
        nn = nns[w] if isinstance(nns[w], _Line) else _Line(z[idx])
        ell = min(_COV_NEIGHBORS, len(idx))
        lo = nn.window_starts(zs, ell)
        units = idx[nn.order]  # the arm's units by score
        n_runs = len(idx) - ell + 1
        Rw = np.zeros((3, len(idx)))  # R's columns of these units, in this order
        for key, u in (("ate", u_ate), ("att", u_att)):
            uw = u[units]
            shift = uw.mean()
            uw -= shift  # centred: the products below then lose no precision to a large mean outcome
            m = _run_sums(uw, ell)[lo] / ell
            if key == "att":
                mean[w] = m + shift
            for rows, a in coef[w, key]:
                r = uw * _spread(np.bincount(lo, weights=a, minlength=n_runs), ell)
                r -= _spread(np.bincount(lo, weights=a * m, minlength=n_runs), ell)
                r /= ell - 1
                for row in rows:
                    Rw[row] += r
        for row in range(3):  # the arms partition the units: each column of R is set once
            R[row][units] = Rw[row]
    local = np.empty(n)
    local[zo] = f * (mean[1] - mean[0] - tau_att)
    R[1:] += local
    info = gram(Phi.T, e * (1 - e)) / n
    H = info + np.diag(ridge) / n

    def change(g: np.ndarray, c: np.ndarray) -> float:
        hg = np.linalg.solve(H, g)
        return float((2 * hg @ c + hg @ info @ hg) / n)

    p1 = t.mean()
    c, c_t, d_t = (tmatmul(Phi.T, R.T) / n).T
    c_t, d_t = c_t / p1, d_t / p1
    return {"ate": change(-c, c), "att": change(d_t - c_t, c_t)}


def _run_sums(v: np.ndarray, k: int) -> np.ndarray:
    """Totals of the runs of ``k`` consecutive entries: ``out[j] = v[j] + ... + v[j + k - 1]``.

    >>> _run_sums(np.array([1.0, 2.0, 3.0, 4.0]), 2)
    array([3., 5., 7.])
    """
    size = len(v) - k + 1
    out = v[:size].copy()
    for j in range(1, k):
        out += v[j:j + size]
    return out


def _spread(v: np.ndarray, k: int) -> np.ndarray:
    """Each run's value added to the ``k`` positions it covers: ``out[j] = v[j - k + 1] + ... + v[j]``.

    The adjoint of :func:`_run_sums`: ``len(out) = len(v) + k - 1``, entries out of range count 0.

    >>> _spread(np.array([3.0, 5.0, 7.0]), 2)
    array([ 3.,  8., 12.,  7.])
    """
    out = np.zeros(len(v) + k - 1)
    for j in range(k):
        out[j:j + len(v)] += v
    return out


# --------------------------------------------------------------------------- covariate matching
class CovariateMatching(_Matching):
    """Nearest-neighbour matching with replacement on the covariates (Abadie & Imbens 2006).

    Parameters
    ----------
    metric : "mahalanobis" or "ivariance"
        ``"mahalanobis"``: distance under the inverse sample covariance of the
        covariates; ``"ivariance"``: under the inverse of its diagonal (each
        covariate scaled by its standard deviation, Abadie & Imbens' choice).
        Both measure distance in standard deviations.
    n_neighbors : int
        ``M``, matches per unit (ties at the ``M``-th distance are all used).
    caliper : float, optional
        Maximum distance of a match, in the metric's units (standard
        deviations). Units without a match within it are dropped and counted
        in ``diagnostics``.
    bias_correction : bool
        Regression bias correction (Abadie & Imbens 2011): recommended with
        more than one continuous covariate, where the matching bias is of the
        order of the standard error or larger.
    overlap_warn : float
        Emit :class:`~causal.estimators.weighting.OverlapWarning` when a
        propensity lies outside ``[overlap_warn, 1 - overlap_warn]`` (0
        disables). The propensities, for this diagnostic only, come from
        :func:`~causal.estimators.weighting.default_propensity` fitted on the
        covariates; covariates that separate the arms perfectly raise.
    level : float
        Confidence level of the intervals.

    Attributes
    ----------
    matches_ : pandas.DataFrame
        One row per match: ``unit`` and ``match`` (index labels of ``data``),
        ``weight`` (``1/|J(unit)|``) and ``distance`` (in the metric).
    matched_ : ndarray of bool
        Rows that found a match within the caliper (all without a caliper).
    propensity_ : ndarray
        The diagnostic propensities (see ``overlap_warn``).
    ate_, att_ : float

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x1, x2 = rng.normal(size=(2, 3000))
    >>> t = rng.binomial(1, 1 / (1 + np.exp(-(x1 - x2))))
    >>> y = 1 + (1 + x1) * t + 2 * x1 + x2 + rng.normal(size=3000)  # ATE 1, ATT 1 + E[x1 | t = 1]
    >>> df = pd.DataFrame({"x1": x1, "x2": x2, "t": t, "y": y})
    >>> est = CovariateMatching(bias_correction=True).fit(df, treatment="t", outcome="y",
    ...                                                   covariates=["x1", "x2"])
    >>> ate = est.ate()
    >>> bool(ate.ci_low < 1 < ate.ci_high), ate.method
    (True, 'CovariateMatching')
    >>> att, truth = est.att(), 1 + x1[t == 1].mean()
    >>> bool(att.ci_low < truth < att.ci_high), att.method
    (True, 'CovariateMatching (ATT)')
    """

    def __init__(self, metric: Literal["mahalanobis", "ivariance"] = "mahalanobis", n_neighbors: int = 1,
                 caliper: float | None = None, bias_correction: bool = False, overlap_warn: float = 0.01,
                 level: float = 0.95) -> None:
        self.metric = metric
        self.n_neighbors = n_neighbors
        self.caliper = caliper
        self.bias_correction = bias_correction
        self.overlap_warn = overlap_warn
        self.level = level

    def _check_settings(self, name: str) -> None:
        super()._check_settings(name)
        if self.metric not in ("mahalanobis", "ivariance"):
            raise EstimationError(f"{name}: metric must be 'mahalanobis' or 'ivariance', got {self.metric!r}")

    def _space(self, X: np.ndarray, t: np.ndarray, names: Sequence[str],
               name: str) -> tuple[np.ndarray, float | None]:
        Xc = X - X.mean(axis=0)
        sd = Xc.std(axis=0, ddof=1)
        if (sd <= 0).any():
            bad = [c for c, s in zip(names, sd, strict=True) if s <= 0]
            raise EstimationError(f"{name}: covariates {bad} are constant; drop them")
        if self.metric == "ivariance":
            Z = Xc / sd
        else:
            S = np.atleast_2d(np.cov(Xc / sd, rowvar=False))  # correlation: well scaled
            eig = np.linalg.eigvalsh(S)
            if eig[0] <= 1e-10 * eig[-1]:
                raise EstimationError(f"{name}: the covariates are collinear, so the Mahalanobis metric is "
                                      "undefined; drop redundant covariates or use metric='ivariance'")
            L = np.linalg.cholesky(S)
            Z = solve_triangular(L, (Xc / sd).T, lower=True).T
        return Z, None if self.caliper is None else float(self.caliper)

    def _overlap_propensity(self, X: np.ndarray, t: np.ndarray, name: str) -> np.ndarray:
        _, e, _ = _fit_propensity_input(None, X, t, name)
        self.propensity_ = e
        return e
