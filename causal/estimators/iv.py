r"""Instrumental variables: two-stage least squares and the Wald ratio.

A hidden common cause ``U`` of the treatment ``T`` and the outcome ``Y`` biases
every regression of ``Y`` on ``T``, whatever covariates are added. An
*instrument* ``Z`` moves ``T`` (relevance), is as good as randomly assigned
given the exogenous covariates ``W`` and affects ``Y`` only through ``T``
(exclusion). Then the instrument-induced variation in ``T`` identifies its
effect (Wright 1928; Angrist, Imbens & Rubin 1996)::

    Y = a + beta T + W'g + e,   E[Z e | W] = 0

* :class:`TwoStageLeastSquares` — several instruments, exogenous covariates,
  a continuous or binary treatment. First stage: project the structural
  regressors ``X = [1, T, W]`` on the instruments ``[1, Z, W]``; second stage:
  OLS of ``Y`` on the projection ``X_hat``, i.e.
  ``beta = (X_hat'X_hat)^{-1} X_hat'Y`` (Theil 1953; Basmann 1957).
  Standard errors are the heteroskedasticity-robust (White 1980) or
  cluster-robust (Liang & Zeger 1986; Cameron & Miller 2015) sandwich
  ``(X_hat'X_hat)^{-1} [sum_g s_g s_g'] (X_hat'X_hat)^{-1}`` with scores
  ``s_g = sum_{i in g} x_hat_i u_i`` built from the **structural** residuals
  ``u = Y - X beta`` — with the actual treatment, not its first-stage fitted
  value. (Using the second-stage residuals ``Y - X_hat beta``, what running two
  OLS regressions by hand gives, is the classic mistake: they also contain
  ``beta (T - T_hat)`` and the standard errors are wrong.)
* :class:`Wald` — a binary instrument without covariates:
  ``(E[Y|Z=1] - E[Y|Z=0]) / (E[T|Z=1] - E[T|Z=0])`` (Wald 1940), the 2SLS
  estimate in that case, with a delta-method standard error. It lives in
  :mod:`causal.estimators.wald` and is re-exported here.

**What is estimated.** Under a constant effect, ``beta`` is the effect of a
unit change of ``T``. With heterogeneous effects, a binary treatment and a
binary instrument that moves everyone's treatment in the same direction
(monotonicity: no *defiers*), the Wald ratio — and 2SLS with that single
instrument and no covariates — is the **local average treatment effect**
(LATE): the mean effect among *compliers*, the units whose treatment changes
with the instrument (Imbens & Angrist 1994). It is not the ATE, and different
instruments have different compliers, hence different LATEs.

**Weak instruments.** When the instruments barely move the treatment, 2SLS is
biased toward OLS and its normal interval undercovers (Bound, Jaeger & Baker
1995; Staiger & Stock 1997). Every fit reports the first-stage F statistic —
the robust Wald statistic for the excluded instruments' first-stage
coefficients, divided by their number (with one endogenous regressor this is
the Kleibergen & Paap 2006 F) — and warns with a
:class:`WeakInstrumentWarning` when it is below ``weak_f`` (10 by default, the
Staiger & Stock rule of thumb; Stock & Yogo 2005 tabulate sharper thresholds).

References
----------
P. G. Wright (1928), *The Tariff on Animal and Vegetable Oils*, Macmillan, appendix B.
A. Wald (1940), "The fitting of straight lines if both variables are subject
to error", *Annals of Mathematical Statistics* 11(3).
H. Theil (1953), "Repeated least squares applied to complete equation
systems", Central Planning Bureau, The Hague.
R. L. Basmann (1957), "A generalized classical method of linear estimation of
coefficients in a structural equation", *Econometrica* 25(1).
H. White (1980), "A heteroskedasticity-consistent covariance matrix estimator
and a direct test for heteroskedasticity", *Econometrica* 48(4).
K.-Y. Liang and S. L. Zeger (1986), "Longitudinal data analysis using
generalized linear models", *Biometrika* 73(1).
G. W. Imbens and J. D. Angrist (1994), "Identification and estimation of
local average treatment effects", *Econometrica* 62(2).
J. D. Angrist, G. W. Imbens and D. B. Rubin (1996), "Identification of causal
effects using instrumental variables", *JASA* 91(434).
J. Bound, D. A. Jaeger and R. M. Baker (1995), "Problems with instrumental
variables estimation when the correlation between the instruments and the
endogenous explanatory variable is weak", *JASA* 90(430).
D. Staiger and J. H. Stock (1997), "Instrumental variables regression with
weak instruments", *Econometrica* 65(3).
J. H. Stock and M. Yogo (2005), "Testing for weak instruments in linear IV
regression", in *Identification and Inference for Econometric Models*,
Cambridge University Press.
F. Kleibergen and R. Paap (2006), "Generalized reduced rank tests using the
singular value decomposition", *Journal of Econometrics* 133(1).
A. C. Cameron and D. L. Miller (2015), "A practitioner's guide to
cluster-robust inference", *Journal of Human Resources* 50(2).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators._iv_checks import (
    WeakInstrumentWarning,
    _as_list,
    _check_distinct,
    _check_level,
    _check_roles,
    _check_weak_f,
    _cluster_codes,
    _wald_f,
)
from causal.estimators._iv_linalg import (
    _BLOCK,  # noqa: F401  (re-exported: the tests read it from this module)
    _NARROW,  # noqa: F401  (re-exported: the tests read it from this module)
    _collinear,
    _cross_products,
    _fit_gram,
    _sandwich,
)
from causal.estimators.base import BaseEstimator, Estimate, check_columns, column_arrays
from causal.estimators.wald import Wald

__all__ = ["TwoStageLeastSquares", "Wald", "WeakInstrumentWarning"]


# --------------------------------------------------------------------------- 2SLS
class TwoStageLeastSquares(BaseEstimator):
    r"""Two-stage least squares with robust or clustered standard errors and a weak-IV check.

    The structural equation is ``Y = a + beta T + W'g + u`` with the treatment
    ``T`` endogenous, instruments ``Z`` excluded from it and exogenous
    covariates ``W`` in both stages. ``beta`` is computed in closed form
    (project ``[1, T, W]`` on ``[1, Z, W]``, then least squares on the
    projection; Theil 1953); its standard error is the robust sandwich with the
    structural residuals ``Y - [1, T, W] coef`` (see the module docstring for
    why not the second-stage ones).

    Under a constant effect ``beta`` is the effect of a unit change in ``T``.
    With heterogeneous effects, a binary treatment, one binary instrument and
    monotonicity it is the local average treatment effect of the compliers
    (Imbens & Angrist 1994), not the ATE; with covariates or several
    instruments, a weighted average of such effects.

    Parameters
    ----------
    cov_type : {"HC1", "HC0"}
        Small-sample factor of the sandwich: ``n / (n - k)`` (HC1), or none
        (HC0). With ``cluster=`` in :meth:`fit` they become CR1
        (``G/(G-1) (n-1)/(n-k)``, Stata's) and CR0.
    weak_f : float
        Warn with :class:`WeakInstrumentWarning` when the first-stage F is below
        this (Staiger & Stock 1997); 0 disables the warning.
    level : float
        Confidence level of the interval.

    Attributes
    ----------
    coef_ : pandas.Series
        Structural coefficients (``intercept``, the treatment, covariates).
    cov_ : pandas.DataFrame
        Their robust covariance.
    first_stage_ : pandas.Series
        First-stage coefficients of the treatment on ``[1, Z, W]``.
    first_stage_f_ : float
        Robust Wald F of the excluded instruments in the first stage
        (``inf`` when the instruments fit the treatment exactly).
    n_, n_clusters_ : int, int or None

    References
    ----------
    .. [1] H. Theil (1953); R. L. Basmann (1957): two-stage least squares.
    .. [2] G. W. Imbens and J. D. Angrist (1994), *Econometrica* 62(2): LATE.
    .. [3] D. Staiger and J. H. Stock (1997), *Econometrica* 65(3); J. H. Stock
       and M. Yogo (2005): weak instruments.

    Examples
    --------
    A hidden ``u`` confounds ``t`` and ``y``; the true effect is 2.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n = 5000
    >>> u, z, w = rng.normal(size=(3, n))
    >>> t = 0.8 * z + 0.5 * w + u + rng.normal(size=n)
    >>> df = pd.DataFrame({"z": z, "w": w, "t": t, "y": 2 * t + w + 1.5 * u + rng.normal(size=n)})
    >>> est = TwoStageLeastSquares().fit(df, treatment="t", outcome="y", instrument="z",
    ...                                  covariates=["w"]).ate()
    >>> bool(est.ci_low < 2 < est.ci_high), est.diagnostics["first_stage_F"] > 10
    (True, True)
    >>> est.method
    'TwoStageLeastSquares'
    """

    def __init__(self, cov_type: Literal["HC1", "HC0"] = "HC1", weak_f: float = 10.0,
                 level: float = 0.95) -> None:
        self.cov_type = cov_type
        self.weak_f = weak_f
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            instrument: str | Sequence[str], covariates: Sequence[str] | str | None = None,
            cluster: str | None = None) -> TwoStageLeastSquares:
        """Fit the first and second stages.

        Parameters
        ----------
        data : pandas.DataFrame
        treatment : str
            The endogenous treatment (continuous or binary).
        outcome : str
        instrument : str or list of str
            Excluded instruments (at least one).
        covariates : str or list of str, optional
            Exogenous covariates, included in both stages.
        cluster : str, optional
            Column identifying clusters for cluster-robust standard errors.

        Returns
        -------
        TwoStageLeastSquares
            ``self``, fitted.

        Raises
        ------
        EstimationError
            On missing or non-numeric columns, no instrument, a variable in two
            roles, collinear instruments/covariates (rank-deficient first
            stage), or instruments that do not move the treatment at all.

        Warns
        -----
        WeakInstrumentWarning
            When the first-stage F is below ``weak_f``.
        """
        name = type(self).__name__
        if self.cov_type not in ("HC0", "HC1"):
            raise EstimationError(f"{name}: cov_type must be 'HC0' or 'HC1', got {self.cov_type!r}")
        _check_weak_f(self.weak_f, name)
        _check_level(self.level, name)
        instruments, covs = _as_list(instrument), _as_list(covariates)
        _check_roles(name, treatment, outcome, instruments, covs)
        roles = {"treatment": treatment, "outcome": outcome, "instrument": instruments, "covariates": covs}
        cols = column_arrays(data, estimator=name, finite=False, **roles)  # finite: on the Gram, below
        y, t = cols[outcome], cols[treatment]
        exog = [cols[c] for c in (*covs, *instruments)]  # views for float columns
        # The sums of squares on its diagonal are finite exactly when the data are (or finite values
        # overflow them: those go on to the QR route); otherwise name the column.
        gram = _cross_products([*exog, t, y])
        if not np.isfinite(gram).all():
            check_columns(data, estimator=name, **roles)
        _check_distinct(name, treatment, instruments, covs, cols)
        clusters = _cluster_codes(data, cluster, name)
        n, k, L = len(y), 2 + len(covs), len(instruments)
        if n <= k + L:
            raise EstimationError(f"{name}: {n} rows for {k + L} first-stage coefficients; need more rows")

        fast = _fit_gram(y, t, exog, L, self.cov_type, clusters, gram)
        if fast is not None:
            beta, cov, pi, cov_pi, (norm_v, norm_t) = fast
        else:
            W = np.column_stack([np.empty((n, 0)), *exog[:len(covs)]])
            Zx = np.column_stack(exog[len(covs):])
            beta, cov, pi, cov_pi, v = self._fit_qr(name, y, t, W, Zx, clusters, treatment, covs, instruments)
            norm_v, norm_t = np.linalg.norm(v), np.linalg.norm(t - t.mean())
        ex = slice(len(pi) - L, None)
        self.first_stage_f_ = _wald_f(pi[ex], cov_pi[ex, ex], norm_v, norm_t)

        # coef_, cov_ and first_stage_ are built from these on access (pandas objects cost more to
        # make than the whole fit of a small data set)
        self._coef, self._cov, self._first_stage = beta, cov, pi
        self.n_, self.n_clusters_ = n, None if clusters is None else int(clusters.max()) + 1
        self.treatment_, self.instruments_, self.covariates_ = treatment, instruments, covs
        self.fitted_ = True
        if self.first_stage_f_ < self.weak_f:
            warnings.warn(WeakInstrumentWarning(
                f"{name}: weak instruments — first-stage F = {self.first_stage_f_:.3g} < {self.weak_f:g} "
                f"for {instruments} on {treatment!r}; 2SLS is biased toward OLS and its interval may "
                "undercover (Staiger & Stock 1997; Stock & Yogo 2005). Use stronger instruments or "
                "weak-instrument-robust inference"), stacklevel=2)
        return self

    def _fit_qr(self, name: str, y: np.ndarray, t: np.ndarray, W: np.ndarray, Zx: np.ndarray,
                clusters: np.ndarray | None, treatment: str, covs: list[str], instruments: list[str],
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Both stages through Householder QRs: the route for ill-conditioned or rank-deficient designs,
        whose rank checks name the offending columns. Returns ``beta, cov, pi, cov_pi, v``."""
        n, k = len(y), 2 + W.shape[1]
        # first stage: instruments [1, W, Z] (covariates first, so collinearity is blamed on instruments)
        Zfull = np.column_stack([np.ones(n), W, Zx])
        zn = ["intercept", *covs, *instruments]
        Q, R, bad = _collinear(Zfull)
        if bad:
            cols = [zn[j] for j in bad]
            raise EstimationError(f"{name}: the first stage is rank deficient — {', '.join(cols)} is "
                                  "constant or a linear combination of the intercept, covariates and other "
                                  "instruments; drop it")
        X = np.column_stack([np.ones(n), t, W])
        Xhat = Q @ (Q.T @ X)  # P_Z X; exogenous columns are reproduced exactly (up to rounding)
        Xhat[:, [0, *range(2, k)]] = X[:, [0, *range(2, k)]]
        order = [0, *range(2, k), 1]  # the treatment last: it is the column that may be unexplained
        _, _, bad = _collinear(Xhat[:, order])
        if bad:
            raise EstimationError(f"{name}: the first stage is rank deficient — the instruments "
                                  f"{instruments} do not move {treatment!r} once the covariates are "
                                  "accounted for (or the treatment is a linear combination of the "
                                  "covariates); the effect is not identified")

        # second stage: beta = (Xhat'Xhat)^{-1} Xhat'y; structural residuals use the actual treatment
        Rinv = np.linalg.inv(np.linalg.qr(Xhat, mode="r"))
        bread = Rinv @ Rinv.T
        beta = bread @ (Xhat.T @ y)
        resid = y - X @ beta
        cov = _sandwich(Xhat, resid, bread, self.cov_type, clusters)

        # first-stage regression of the treatment and the robust F of the excluded instruments
        Rz_inv = np.linalg.inv(R)
        pi = Rz_inv @ (Q.T @ t)
        v = t - Zfull @ pi
        cov_pi = _sandwich(Zfull, v, Rz_inv @ Rz_inv.T, self.cov_type, clusters)
        return beta, cov, pi, cov_pi, v

    def _require(self, attr: str) -> None:
        # AttributeError (not EstimationError) so that hasattr() and scikit-learn see "not fitted"
        if "_coef" not in self.__dict__:
            raise AttributeError(f"{attr}: this {type(self).__name__} is not fitted yet; call fit(data, ...)")

    @property
    def coef_(self) -> pd.Series:
        """Structural coefficients (``intercept``, the treatment, covariates)."""
        self._require("coef_")
        return pd.Series(self._coef, index=["intercept", self.treatment_, *self.covariates_])

    @property
    def cov_(self) -> pd.DataFrame:
        """The robust covariance of :attr:`coef_`."""
        self._require("cov_")
        names = ["intercept", self.treatment_, *self.covariates_]
        return pd.DataFrame(self._cov, index=names, columns=names)

    @property
    def first_stage_(self) -> pd.Series:
        """First-stage coefficients of the treatment on ``[1, W, Z]``."""
        self._require("first_stage_")
        return pd.Series(self._first_stage, index=["intercept", *self.covariates_, *self.instruments_])

    def ate(self) -> Estimate:
        """The coefficient on the treatment with its robust interval.

        The effect of a unit change in the treatment under a constant effect;
        with heterogeneous effects, a binary treatment and a binary instrument,
        the local average treatment effect of the compliers (Imbens & Angrist
        1994). ``diagnostics`` holds ``first_stage_F``, ``first_stage_coef``
        (excluded instruments), ``n_instruments``, ``cov_type`` and
        ``n_clusters``.
        """
        self._check_fitted()
        excluded = self._first_stage[len(self._first_stage) - len(self.instruments_):]
        diagnostics = {
            "first_stage_F": float(self.first_stage_f_),
            "first_stage_coef": {z: float(c) for z, c in zip(self.instruments_, excluded, strict=True)},
            "weak_instruments": bool(self.first_stage_f_ < self.weak_f),
            "n_instruments": len(self.instruments_),
            "cov_type": self.cov_type if self.n_clusters_ is None else
            {"HC0": "CR0", "HC1": "CR1"}[self.cov_type],
            "n_clusters": self.n_clusters_,
        }
        return Estimate.normal(float(self._coef[1]), float(np.sqrt(self._cov[1, 1])),
                               method=type(self).__name__, n=self.n_, level=self.level,
                               diagnostics=diagnostics)
