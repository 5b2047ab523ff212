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
from causal.estimators._fastfit import single_threaded
from causal.estimators._matching_ai2016 import _ai2016
from causal.estimators._matching_balance import _balance
from causal.estimators._matching_estimate import (
    _arm_regressions,
    _combine,
    _conditional_variance,
    _match_arms,
)
from causal.estimators._neighbors import _Index, _index
from causal.estimators._neighbors import _Line as _Line  # re-exported: the tests import it from here
from causal.estimators._neighbors import _nearest as _nearest  # re-exported: the tests import it from here
from causal.estimators._overlap import overlap_diagnostics
from causal.estimators.base import BaseEstimator, Estimate, as_binary, check_columns
from causal.estimators.nuisance import _fit_propensity_input, _glm_design

__all__ = ["PropensityMatching", "CovariateMatching"]

_Target = Literal["ate", "att"]
_OVERLAP_ADVICE = ("Matching reuses the few comparable units as heavily as weighting weights them, so the "
                   "matches there are far apart. Restrict the data to where both groups occur, set a caliper "
                   "(e.g. caliper=0.2) so units without a close match are dropped and say so, or change the "
                   "estimand: att() needs only propensities away from 1")


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
