"""Simple estimators: difference in means and regression adjustment.

* :class:`DifferenceInMeans` — the randomised-experiment estimator with
  Neyman's conservative variance.
* :class:`RegressionAdjustment` — OLS of the outcome on treatment and
  covariates. With ``interacted=True`` (the default) it is Lin's (2013) fully
  interacted estimator: covariates centred at their mean (at the treated mean
  for the ATT) and interacted with treatment, so the treatment coefficient is
  the ATE (ATT) even when effects are heterogeneous. Robust HC2/HC3 sandwich
  standard errors.

References
----------
J. Neyman (1923/1990), "On the application of probability theory to
agricultural experiments", *Statistical Science* 5(4).
W. Lin (2013), "Agnostic notes on regression adjustments to experimental data:
reexamining Freedman's critique", *Annals of Applied Statistics* 7(1).
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
from typing import Literal

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators.base import BaseEstimator, Estimate, as_binary, check_columns

__all__ = ["DifferenceInMeans", "RegressionAdjustment", "ols"]


class DifferenceInMeans(BaseEstimator):
    """``mean(Y | T = 1) - mean(Y | T = 0)`` with Neyman's variance ``s1²/n1 + s0²/n0``.

    Unbiased for the ATE when treatment is randomised; biased otherwise
    (the naive comparison).
    """

    def __init__(self, level: float = 0.95) -> None:
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | None = None) -> DifferenceInMeans:
        name = type(self).__name__
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


def ols(X: np.ndarray, y: np.ndarray, *, cov_type: str = "HC2", names: Sequence[str] | None = None,
        estimator: str = "OLS") -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and their robust covariance (``"HC0"``, ``"HC1"``, ``"HC2"``, ``"HC3"``).

    Raises :class:`EstimationError` naming the columns when the design is rank deficient.
    """
    n, k = X.shape
    if n <= k:
        raise EstimationError(f"{estimator}: {n} rows for {k} coefficients; need more rows than "
                              "coefficients")
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


class RegressionAdjustment(BaseEstimator):
    """OLS adjustment for covariates, interacted (Lin 2013) by default, robust errors.

    Parameters
    ----------
    interacted : bool
        Interact centred covariates with treatment (Lin's estimator). Without
        interactions the coefficient is a variance-weighted average of effects,
        not the ATE, when effects are heterogeneous.
    cov_type : "HC0" | "HC1" | "HC2" | "HC3"
    level : float
    """

    def __init__(self, interacted: bool = True, cov_type: Literal["HC0", "HC1", "HC2", "HC3"] = "HC2",
                 level: float = 0.95) -> None:
        self.interacted = interacted
        self.cov_type = cov_type
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | None = None) -> RegressionAdjustment:
        name = type(self).__name__
        covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
        frame = check_columns(data, estimator=name, treatment=treatment, outcome=outcome,
                              covariates=covariates)
        t = as_binary(frame[treatment], estimator=name)
        y = frame[outcome].to_numpy(dtype=float)
        X = frame[covariates].to_numpy(dtype=float) if covariates else np.empty((len(y), 0))
        self.n_, self.covariates_ = len(y), covariates
        self.results_ = {}
        for target, centre in (("ate", X.mean(axis=0)), ("att", X[t == 1].mean(axis=0))):
            Xc = X - centre
            cols = [np.ones(len(y)), t, *Xc.T]
            names = ["intercept", treatment, *covariates]
            if self.interacted:
                cols += list((Xc * t[:, None]).T)
                names += [f"{treatment}:{c}" for c in covariates]
            beta, cov = ols(np.column_stack(cols), y, cov_type=self.cov_type, names=names, estimator=name)
            self.results_[target] = (float(beta[1]), float(np.sqrt(cov[1, 1])))
            if target == "ate":
                self.coef_ = pd.Series(beta, index=names)
            if not self.interacted:
                self.results_["att"] = self.results_["ate"]
                break
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
