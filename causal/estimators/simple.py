"""Simple estimators: difference in means and regression adjustment.

* :class:`DifferenceInMeans` — the randomised-experiment estimator with
  Neyman's conservative variance.
* :class:`RegressionAdjustment` — OLS of the outcome on treatment and
  covariates. With ``interacted=True`` (the default) it is Lin's (2013) fully
  interacted estimator: covariates centred at their mean (at the treated mean
  for the ATT) and interacted with treatment, so the treatment coefficient is
  the ATE (ATT) even when effects are heterogeneous. Robust HC2/HC3 sandwich
  standard errors, plus — for the interacted estimator — the variance of the
  effect's covariate part, ``beta_int' Sigma_X beta_int / n`` (ATE; over the
  treated units and ``n_1`` for the ATT): the sandwich alone is the variance
  for the effect at the sample's covariates, which under heterogeneous
  effects understates that for the population ATE (Lin 2013, section 5;
  Imbens & Wooldridge 2009, section 5.3).

References
----------
J. Neyman (1923/1990), "On the application of probability theory to
agricultural experiments", *Statistical Science* 5(4).
W. Lin (2013), "Agnostic notes on regression adjustments to experimental data:
reexamining Freedman's critique", *Annals of Applied Statistics* 7(1).
G. W. Imbens and J. M. Wooldridge (2009), "Recent developments in the
econometrics of program evaluation", *Journal of Economic Literature* 47(1).
J. G. MacKinnon and H. White (1985), "Some heteroskedasticity-consistent
covariance matrix estimators with improved finite sample properties",
*Journal of Econometrics* 29(3).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=4000); t = rng.integers(0, 2, 4000)
>>> df = pd.DataFrame({"x": x, "t": t, "y": 1 + 2 * t + x + rng.normal(size=4000)})
>>> est = RegressionAdjustment().fit(df, treatment="t", outcome="y", covariates=["x"]).ate()
>>> bool(est.ci_low < 2 < est.ci_high), est.method
(True, 'RegressionAdjustment')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators._fastfit import one_thread, single_threaded
from causal.estimators._overlap import overlap_diagnostics
from causal.estimators.base import BaseEstimator, Estimate, as_binary, check_columns

__all__ = ["DifferenceInMeans", "RegressionAdjustment", "ols"]


class DifferenceInMeans(BaseEstimator):
    """``mean(Y | T = 1) - mean(Y | T = 0)`` with Neyman's variance ``s1²/n1 + s0²/n0``.

    Unbiased for the ATE when treatment is randomised; biased otherwise
    (the naive comparison). It adjusts for nothing, so ``covariates`` other
    than ``None`` or ``[]`` raise :class:`~causal.errors.EstimationError`
    rather than being silently ignored (as :class:`~causal.estimators.Wald`
    refuses them); use :class:`RegressionAdjustment` to adjust.
    """

    def __init__(self, level: float = 0.95) -> None:
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | None = None) -> DifferenceInMeans:
        name = type(self).__name__
        covs = [covariates] if isinstance(covariates, str) else list(covariates or [])
        if covs:
            raise EstimationError(f"{name}: adjusts for no covariates, but covariates={covs} were given and "
                                  "would be ignored; use RegressionAdjustment, IPW or AIPW to adjust for "
                                  "them, or drop covariates= for a randomised treatment")
        frame = check_columns(data, estimator=name, treatment=treatment, outcome=outcome)
        t = as_binary(frame[treatment], estimator=name)
        y = frame[outcome].to_numpy(dtype=float)
        y1, y0 = y[t == 1], y[t == 0]
        if len(y1) < 2 or len(y0) < 2:
            raise EstimationError(f"{name}: need at least two treated and two control units "
                                  f"(got {len(y1)} and {len(y0)})")
        self.ate_ = float(y1.mean() - y0.mean())
        self.stderr_ = float(np.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0)))
        self.n_ = len(y)
        self.n_treated_ = len(y1)
        self.fitted_ = True
        return self

    def ate(self) -> Estimate:
        self._check_fitted()
        return Estimate.normal(self.ate_, self.stderr_, method=type(self).__name__, n=self.n_,
                               level=self.level, diagnostics={"n_treated": self.n_treated_})


_COV_TYPES = ("HC0", "HC1", "HC2", "HC3")
#: The normal-equation (Cholesky) route is taken only when the column-scaled ``X'X`` is this well
#: conditioned: its rounding error, about ``eps * cond``, is then below 1e-11 relative. Otherwise (nearly
#: collinear or rank-deficient designs) the Householder QR route decides and reports.
_CHOL_MAX_COND = 1e4


def _cond(A: np.ndarray) -> float:
    """The 2-norm condition number of a symmetric positive definite ``A``."""
    ev = np.linalg.eigvalsh(A)
    return float(ev[-1] / ev[0]) if ev[0] > 0 else float("inf")


def _chol_factor(XT: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(X'X, L^{-1})`` with ``X'X = L L'`` from the transposed design ``XT`` (k x n), or ``None``.

    ``None`` when a column is zero, the Cholesky factorisation fails, or the column-scaled ``X'X``
    is not well conditioned (a column nearly in the span of the others): the caller then takes the QR
    route, whose rank check names the collinear columns.
    """
    XtX = XT @ XT.T
    scale = np.sqrt(np.diag(XtX))
    if not (np.isfinite(scale).all() and (scale > 0).all()):
        return None
    A = XtX / np.outer(scale, scale)
    try:
        Ls = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return None
    # diag(Ls)^2 = 1 - R^2 of each column on the earlier ones: a cheap pivot-free collinearity screen
    if np.diag(Ls).min() ** 2 <= 1e-6 or _cond(A) > _CHOL_MAX_COND:
        return None
    Linv = np.linalg.inv(Ls) / scale  # (diag(scale) Ls)^{-1}; k x k: numpy inv is cheaper than trtri here
    return XtX, Linv


@one_thread
def ols(X: np.ndarray, y: np.ndarray, *, cov_type: str = "HC2", names: Sequence[str] | None = None,
        estimator: str = "OLS") -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and their robust covariance (``"HC0"``, ``"HC1"``, ``"HC2"``, ``"HC3"``).

    Raises :class:`EstimationError` naming the columns when the design is rank deficient.

    A well-conditioned design is solved through the Cholesky factor ``L`` of ``X'X`` (one pass
    over the data for ``X'X``, leverages ``h_ii = ||L^{-1} x_i||^2``); otherwise through a
    Householder QR of ``X``, which also decides rank deficiency. Both give the same numbers up
    to rounding. ``X`` laid out column by column (``X.T`` C-contiguous, e.g. ``XT.T`` for a
    ``k x n`` array) avoids a transposing copy.
    """
    n, k = X.shape
    if n <= k:
        raise EstimationError(f"{estimator}: {n} rows for {k} coefficients; need more rows than "
                              "coefficients")
    XT = X.T if X.T.flags.c_contiguous else np.ascontiguousarray(X.T)
    fac = _chol_factor(XT)
    if fac is None:
        return _ols_qr(X, y, cov_type=cov_type, names=names, estimator=estimator)
    if cov_type not in _COV_TYPES:
        raise EstimationError(f"{estimator}: cov_type must be HC0, HC1, HC2 or HC3, got {cov_type!r}")
    _, Linv = fac
    bread = Linv.T @ Linv                      # (X'X)^{-1}
    beta = bread @ (XT @ y)
    resid = y - beta @ XT
    w = resid * resid
    if cov_type == "HC1":
        w *= n / (n - k)
    elif cov_type in ("HC2", "HC3"):
        Q = Linv @ XT                          # rows of Q' = X L^{-T}: orthonormal columns
        np.multiply(Q, Q, out=Q)
        h = np.ones(k) @ Q                     # leverages
        one_minus_h = np.clip(1 - h, 1e-12, None)
        w /= one_minus_h if cov_type == "HC2" else one_minus_h**2
    meat = (XT * w) @ XT.T
    return beta, bread @ meat @ bread


def _ols_qr(X: np.ndarray, y: np.ndarray, *, cov_type: str, names: Sequence[str] | None,
            estimator: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ols` through a Householder QR of ``X``: the route for ill-conditioned designs."""
    n, k = X.shape
    Q, R = np.linalg.qr(X)
    diag = np.abs(np.diag(R))
    tol = diag.max() * max(n, k) * np.finfo(float).eps * 1e3
    if (diag <= tol).any():
        bad = [names[j] if names else str(j) for j in np.flatnonzero(diag <= tol)]
        raise EstimationError(f"{estimator}: covariates are collinear ({', '.join(bad)} is a linear "
                              "combination of earlier columns, or constant); drop redundant columns")
    beta = np.linalg.solve(R, Q.T @ y)
    resid = y - X @ beta
    Rinv = np.linalg.inv(R)
    bread = Rinv @ Rinv.T                      # (X'X)^{-1}
    h = np.einsum("ij,ij->i", Q, Q)            # leverages
    if cov_type == "HC0":
        w = resid**2
    elif cov_type == "HC1":
        w = resid**2 * n / (n - k)
    elif cov_type == "HC2":
        w = resid**2 / np.clip(1 - h, 1e-12, None)
    elif cov_type == "HC3":
        w = resid**2 / np.clip(1 - h, 1e-12, None) ** 2
    else:
        raise EstimationError(f"{estimator}: cov_type must be HC0, HC1, HC2 or HC3, got {cov_type!r}")
    meat = (X * w[:, None]).T @ X
    return beta, bread @ meat @ bread


_OVERLAP_ADVICE = ("Regression adjustment then extrapolates its outcome model into the region where one "
                   "arm has few or no units, so the estimate rests on the model's functional form there. "
                   "Restrict the data to where both groups occur, use IPW or AIPW with trimming (trim=0.05 "
                   "drops units with propensity outside [0.05, 0.95]; the estimand becomes the effect in the "
                   "overlap population), or change the estimand: att() needs only propensities away from 1")


def _check_overlap(XcovT: np.ndarray, t: np.ndarray, name: str, warn_at: float) -> dict[str, Any]:
    """Raise on perfect separation and warn on poor overlap, as weighting and matching do.

    Regression compares treated and control units through its outcome model: where one arm has
    (almost) no units, the effect there is (almost) pure extrapolation of that model. The check fits
    the default propensity model (:func:`~causal.estimators.weighting.default_propensity`) and
    returns its overlap diagnostics (propensity range, effective sample sizes), kept as ``overlap_``;
    it warns with :class:`~causal.estimators.OverlapWarning` on the same terms as :class:`IPW`.
    """
    # scikit-learn: imported on first use
    from causal.estimators.nuisance import _fit_propensity_input
    from causal.estimators.weighting import MIN_ESS_FRACTION

    _, e, _ = _fit_propensity_input(None, np.ascontiguousarray(XcovT.T), t, name)
    # stacklevel 4: the warning points at the caller of fit (overlap_diagnostics, this, fit, caller)
    return overlap_diagnostics(e, t, name, warn_at, _OVERLAP_ADVICE, stacklevel=4, min_ess=MIN_ESS_FRACTION)


class RegressionAdjustment(BaseEstimator):
    """OLS adjustment for covariates, interacted (Lin 2013) by default, robust errors.

    Parameters
    ----------
    interacted : bool
        Interact centred covariates with treatment (Lin's estimator). Without
        interactions the coefficient is a variance-weighted average of effects,
        not the ATE, when effects are heterogeneous.
    cov_type : "HC0" | "HC1" | "HC2" | "HC3"
    overlap_warn : float
        Emit :class:`~causal.estimators.OverlapWarning` when a fitted
        propensity lies outside ``[overlap_warn, 1 - overlap_warn]``, or the
        effective sample size of the inverse-propensity weights falls below
        :data:`~causal.estimators.weighting.MIN_ESS_FRACTION` of an arm, as
        in :class:`IPW` and :class:`AIPW` (0 disables the warning, not the
        separation error). Only with covariates.
    level : float

    Notes
    -----
    The standard error targets the population effect. With ``interacted=True``
    the sandwich variance of the treatment coefficient is the variance for the
    effect at the sample's covariates (the *sample* ATE given ``X``); the
    population ATE adds the sampling variance of the covariate mean in
    ``tau(x) = tau + (x - xbar)' beta_int``, i.e. ``beta_int' Sigma_X beta_int / n``
    with ``beta_int`` the interaction coefficients and ``Sigma_X`` the sample
    covariance of the covariates; for the ATT, ``beta_int' Sigma_{X|T=1} beta_int / n_1``
    over the treated units (Lin 2013, section 5; Imbens & Wooldridge 2009,
    section 5.3). It is zero under a constant effect. ``interacted=False``
    does not target the ATE under heterogeneity and gets no such term.

    Overlap is checked as in :class:`IPW`, :class:`AIPW` and the matching
    estimators, with the default logistic propensity model: covariates that
    perfectly separate treated from control units (a fitted probability of
    exactly 0 or 1) raise :class:`~causal.errors.EstimationError`, since the
    effect would be pure extrapolation of the outcome model; poor overlap
    short of that (see ``overlap_warn``) emits an
    :class:`~causal.estimators.OverlapWarning`, since regression then
    extrapolates exactly where the data are thin, and its interval reflects
    the outcome model's fit, not that extrapolation. The propensity range and
    effective sample sizes are in ``overlap_`` (empty without covariates).
    """

    def __init__(self, interacted: bool = True, cov_type: Literal["HC0", "HC1", "HC2", "HC3"] = "HC2",
                 overlap_warn: float = 0.01, level: float = 0.95) -> None:
        self.interacted = interacted
        self.cov_type = cov_type
        self.overlap_warn = overlap_warn
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | None = None) -> RegressionAdjustment:
        with single_threaded():  # small BLAS calls stall on busy cores
            name = type(self).__name__
            w = self.overlap_warn
            if isinstance(w, bool) or not (isinstance(w, float | int) and 0 <= w < 0.5):
                raise EstimationError(f"{name}: overlap_warn must be in [0, 0.5), got {w!r}")
            covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
            frame = check_columns(data, estimator=name, treatment=treatment, outcome=outcome,
                                  covariates=covariates)
            t = as_binary(frame[treatment], estimator=name)
            y = frame[outcome].to_numpy(dtype=float)
            XcovT = frame[covariates].to_numpy(dtype=float).T if covariates else np.empty((0, len(y)))
            n, p = len(y), len(covariates)
            treated = t == 1
            self.n_, self.covariates_ = n, covariates
            self.results_ = {}
            names = ["intercept", treatment, *covariates]
            if self.interacted:
                names += [f"{treatment}:{c}" for c in covariates]
            # the design is built transposed (k x n, C order): X = XT.T, column by column, no transposing copy
            XT = np.empty((len(names), n))
            XT[0] = 1.0
            XT[1] = t
            for target, centre in (("ate", XcovT.mean(axis=1)), ("att", XcovT[:, treated].mean(axis=1))):
                np.subtract(XcovT, centre[:, None], out=XT[2:2 + p])
                if self.interacted:
                    np.multiply(XT[2:2 + p], t, out=XT[2 + p:])
                beta, cov = ols(XT.T, y, cov_type=self.cov_type, names=names, estimator=name)
                var = cov[1, 1]
                if self.interacted and p:
                    # Lin's HC2 variance is for the effect at the sample's covariates; the population
                    # ATE (ATT) adds the variance of the effect's covariate part, beta_int' Sigma beta_int / n
                    # (Lin 2013, sec. 4-5; Imbens & Wooldridge 2009, sec. 5.3)
                    units = XcovT if target == "ate" else XcovT[:, treated]
                    b_int = beta[2 + p:]
                    if units.shape[1] > 1:
                        sigma = np.atleast_2d(np.cov(units))
                        var += float(b_int @ sigma @ b_int) / units.shape[1]
                self.results_[target] = (float(beta[1]), float(np.sqrt(var)))
                if target == "ate":
                    self.coef_ = pd.Series(beta, index=names)
                if not self.interacted:
                    self.results_["att"] = self.results_["ate"]
                    break
            self.overlap_ = _check_overlap(XcovT, t, name, float(w)) if p else {}
            self.fitted_ = True
            return self

    def ate(self) -> Estimate:
        self._check_fitted()
        value, se = self.results_["ate"]
        return Estimate.normal(value, se, method=type(self).__name__, n=self.n_, level=self.level,
                               diagnostics={"cov_type": self.cov_type, "interacted": self.interacted})

    def att(self) -> Estimate:
        self._check_fitted()
        if not self.interacted:
            raise EstimationError("RegressionAdjustment(interacted=False) does not target the ATT; "
                                  "use interacted=True")
        value, se = self.results_["att"]
        return Estimate.normal(value, se, method=type(self).__name__ + " (ATT)", n=self.n_,
                               level=self.level, diagnostics={"cov_type": self.cov_type})
