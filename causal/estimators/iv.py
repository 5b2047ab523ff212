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
  estimate in that case, with a delta-method standard error.

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
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.linalg.blas import daxpy as _axpy

from causal.errors import EstimationError
from causal.estimators._fastfit import matmul
from causal.estimators.base import BaseEstimator, Estimate, as_binary, check_columns, column_arrays

__all__ = ["TwoStageLeastSquares", "Wald", "WeakInstrumentWarning"]

#: A column is "collinear" when less than this share of its norm lies outside the span of earlier columns.
_COLLINEAR = float(np.sqrt(np.finfo(float).eps))


class WeakInstrumentWarning(UserWarning):
    """The first-stage F statistic of the excluded instruments is below the ``weak_f`` threshold.

    2SLS is then biased toward OLS and its interval may badly undercover
    (Staiger & Stock 1997; Stock & Yogo 2005). The message gives the F value.
    """


# --------------------------------------------------------------------------- helpers
def _as_list(x: str | Sequence[str] | None) -> list[str]:
    return [x] if isinstance(x, str) else list(x or [])


def _check_level(level: Any, name: str) -> None:
    if isinstance(level, bool) or not isinstance(level, float | int) or not 0 < level < 1:
        raise EstimationError(f"{name}: level must be in (0, 1), got {level!r}")


def _check_weak_f(weak_f: Any, name: str) -> None:
    if isinstance(weak_f, bool) or not isinstance(weak_f, float | int) or not weak_f >= 0:
        raise EstimationError(f"{name}: weak_f must be a non-negative number (0 disables the warning), "
                              f"got {weak_f!r}")


def _check_roles(name: str, treatment: str, outcome: str, instruments: list[str],
                 covariates: list[str]) -> None:
    """Every variable has one role; at least one instrument."""
    if not instruments:
        raise EstimationError(f"{name}: no instrument given; pass instrument='z' or a list of names "
                              "(at least one excluded instrument is needed to identify the effect)")
    for role, cols in (("instrument", instruments), ("covariates", covariates)):
        dup = sorted({c for c in cols if cols.count(c) > 1})
        if dup:
            raise EstimationError(f"{name}: {role} lists {dup} more than once")
    if treatment == outcome:
        raise EstimationError(f"{name}: treatment and outcome are the same column {treatment!r}")
    for z in instruments:
        if z == treatment:
            raise EstimationError(f"{name}: the treatment {z!r} cannot be its own instrument; an "
                                  "instrument must be a different variable that moves the treatment")
        if z == outcome:
            raise EstimationError(f"{name}: the outcome {z!r} cannot be an instrument")
        if z in covariates:
            raise EstimationError(f"{name}: {z!r} is both an instrument and a covariate; an instrument "
                                  "must be excluded from the outcome equation — drop it from one list")
    for w in covariates:
        if w in (treatment, outcome):
            raise EstimationError(f"{name}: the {'treatment' if w == treatment else 'outcome'} {w!r} "
                                  "cannot also be a covariate")


def _affine_copy(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` and ``b`` are the same variable up to a linear function: equal, or |correlation| 1.

    >>> x = np.array([0.0, 1.0, 1.0, 0.0])
    >>> _affine_copy(x, 1 - x), _affine_copy(x, np.array([0.0, 1.0, 0.0, 1.0]))
    (True, False)
    """
    if np.array_equal(a, b):
        return True
    da, db = a - a.mean(), b - b.mean()
    with np.errstate(all="ignore"):
        saa, sbb = float(da @ da), float(db @ db)
        if not (saa > 0 and sbb > 0 and np.isfinite(saa * sbb)):
            return False
        r = float(da @ db) / np.sqrt(saa * sbb)
    return bool(abs(r) >= 1 - 1e-10)


def _check_distinct(name: str, treatment: str, instruments: list[str], covariates: list[str],
                    cols: dict[str, np.ndarray]) -> None:
    """Raise when an instrument holds the treatment's or a covariate's values (a copy under another
    name, or a linear function of it): the checks by name in :func:`_check_roles` cannot see those."""
    for z in instruments:
        if _affine_copy(cols[z], cols[treatment]):
            raise EstimationError(
                f"{name}: the instrument {z!r} is the treatment {treatment!r} itself (the same values, or a "
                "linear function of them), so the IV estimate would be the confounded regression of the "
                "outcome on the treatment with a confident interval. The instrument must differ from the "
                "treatment and the covariates: a variable that moves the treatment and affects the "
                "outcome only through it. If the treatment itself was randomised, estimate its effect "
                "directly (DifferenceInMeans or RegressionAdjustment)")
        for w in covariates:
            if _affine_copy(cols[z], cols[w]):
                raise EstimationError(
                    f"{name}: the instrument {z!r} is the covariate {w!r} (the same values, or a linear "
                    "function of them); the instrument must differ from the treatment and the covariates "
                    "— a variable included in the outcome equation cannot be the excluded instrument")


def _collinear(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Thin QR of ``A`` and the columns (almost) in the span of the earlier ones."""
    Q, R = np.linalg.qr(A)
    norms = np.linalg.norm(A, axis=0)
    bad = [j for j in range(A.shape[1]) if abs(R[j, j]) <= _COLLINEAR * max(norms[j], np.finfo(float).tiny)]
    return Q, R, bad


def _cluster_codes(data: pd.DataFrame, cluster: str | None, name: str) -> np.ndarray | None:
    if cluster is None:
        return None
    if not isinstance(cluster, str):
        raise EstimationError(f"{name}: cluster must be one column name, got {cluster!r}")
    if cluster not in data.columns:
        raise EstimationError(f"{name}: cluster column {cluster!r} is not in the data")
    col = data[cluster]
    if col.isna().any():
        raise EstimationError(f"{name}: cluster column {cluster!r} has missing values")
    codes = pd.factorize(col)[0]
    if codes.max() + 1 < 2:
        raise EstimationError(f"{name}: cluster column {cluster!r} has a single cluster; cluster-robust "
                              "errors need many clusters (dozens)")
    return codes


def _sandwich(A: np.ndarray, u: np.ndarray, bread: np.ndarray, cov_type: str,
              clusters: np.ndarray | None) -> np.ndarray:
    """``bread [sum_g s_g s_g'] bread`` with ``s_g = sum_{i in g} A_i u_i`` and the small-sample factor.

    Unclustered: HC0 (factor 1) or HC1 (``n / (n - k)``). Clustered: CR0
    (factor 1) for ``"HC0"``, CR1 (``G / (G - 1) * (n - 1) / (n - k)``, as Stata)
    for ``"HC1"``.
    """
    n, k = A.shape
    scores = A * u[:, None]
    if clusters is None:
        factor = n / (n - k) if cov_type == "HC1" else 1.0
    else:
        G = int(clusters.max()) + 1
        scores = np.stack([np.bincount(clusters, weights=s, minlength=G) for s in scores.T], axis=1)
        factor = G / (G - 1) * (n - 1) / (n - k) if cov_type == "HC1" else 1.0
    return factor * (bread @ (scores.T @ scores) @ bread)


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


#: The normal-equation route of :func:`_fit_gram` is taken only when the column-scaled Gram matrices are
#: this well conditioned (rounding error about ``eps * cond``, below 1e-11 relative); otherwise the QR route.
_GRAM_MAX_COND = 1e4


def _cond(A: np.ndarray) -> float:
    """The 2-norm condition number of a symmetric positive definite ``A``."""
    ev = np.linalg.eigvalsh(A)
    return float(ev[-1] / ev[0]) if ev[0] > 0 else float("inf")


def _scaled_chol(G: np.ndarray) -> np.ndarray | None:
    """``G^{-1}`` of a Gram matrix through a column-scaled Cholesky factorisation, or ``None``.

    ``None`` when a column is zero, the factorisation fails, a column's share of its norm outside the
    span of the earlier columns (the scaled Cholesky diagonal) is below 1e-3 — far above the
    ``_COLLINEAR`` threshold, so any rank deficiency is left to the QR route to decide and name — or the
    scaled matrix is not well conditioned.
    """
    scale = np.sqrt(np.diag(G))
    if not (np.isfinite(scale).all() and (scale > 0).all()):
        return None
    A = G / np.outer(scale, scale)
    try:
        Ls = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return None
    if np.diag(Ls).min() <= 1e-3 or _cond(A) > _GRAM_MAX_COND:
        return None
    Linv = np.linalg.inv(Ls) / scale  # k x k: numpy's inv beats a LAPACK trtri call here
    return Linv.T @ Linv


#: Units per block in :func:`_fit_gram`: the block's rows (``[1, W, Z, T, Y]`` and the scores) stay
#: in cache and are reused, so no n-long temporaries are allocated; blocks this small also keep
#: OpenBLAS single-threaded, which measured fastest (2 cores: 1<<13 ~35 ms at n = 1e6, 1<<20 ~95 ms).
_BLOCK = 1 << 13

#: Designs with at most this many data columns (``W``, ``Z``, ``T``, ``Y``) take the column-wise route
#: of :func:`_cross_products` and :func:`_score_grams`: a dot product per pair of column slices, which
#: beats stacking each block into a matrix for BLAS-3 up to about this width (2 cores, n = 1e6, both
#: passes: 3 columns ~14 ms against ~24 ms, 8 columns ~79 ms against ~89 ms, 10 columns ~123 ms
#: against ~114 ms).
_NARROW = 8


def _cross_products(cols: list[np.ndarray]) -> np.ndarray:
    """The Gram matrix of ``[1, *cols]`` (each column of length ``n``), summed block by block.

    >>> _cross_products([np.array([1.0, 2.0, 3.0])])
    array([[ 3.,  6.],
           [ 6., 14.]])
    """
    n, c = len(cols[0]), len(cols)
    G = np.zeros((c + 1, c + 1))
    if c > _NARROW:
        buf = np.empty((c + 1, min(n, _BLOCK)))
        buf[0] = 1.0
        for start in range(0, n, _BLOCK):
            B = buf[:, :min(n - start, _BLOCK)]
            for r, col in enumerate(cols, start=1):
                B[r] = col[start:start + _BLOCK]
            G += B @ B.T
        return G
    pairs = [(i, j) for i in range(c) for j in range(i, c)]
    sums, prods = [0.0] * c, [0.0] * len(pairs)
    ones = np.ones(min(n, _BLOCK))
    for start in range(0, n, _BLOCK):
        v = [col[start:start + _BLOCK] for col in cols]
        o = ones[:len(v[0])]
        for i, x in enumerate(v):
            sums[i] += np.dot(x, o)  # a dot product (BLAS) beats np.sum on a block in cache
        for q, (i, j) in enumerate(pairs):
            prods[q] += np.dot(v[i], v[j])
    G[0, 0] = n
    G[0, 1:] = G[1:, 0] = sums
    for (i, j), value in zip(pairs, prods, strict=True):
        G[i + 1, j + 1] = G[j + 1, i + 1] = value
    return G


def _score_grams(exog: list[np.ndarray], t: np.ndarray, y: np.ndarray, C: np.ndarray) -> np.ndarray:
    """``sum_i r_ji² z_i z_i'`` for each residual ``r_j = C_j . [1, W, Z, T, Y]`` (rows of ``C``).

    ``z = [1, W, Z]`` (``exog`` holds ``W`` and ``Z``); each row of ``C`` (shape (r, m + 2)) has a
    non-zero coefficient on some data column. Returns an array of shape (r, m, m). One pass over the
    data in blocks; each residual is formed only within its block.
    """
    n, m = len(y), 1 + len(exog)
    cols = [*exog, t, y]
    out = np.zeros((len(C), m, m))
    size = min(n, _BLOCK)
    if len(cols) > _NARROW:
        buf = np.empty((m + 2, size))
        buf[0] = 1.0
        S = np.empty((len(C) * m, size))
        for start in range(0, n, _BLOCK):
            B = buf[:, :min(n - start, _BLOCK)]
            for r, col in enumerate(cols, start=1):
                B[r] = col[start:start + _BLOCK]
            R = C @ B
            Sb = S[:, :B.shape[1]]
            for j in range(len(C)):
                np.multiply(B[:m], R[j], out=Sb[j * m:(j + 1) * m])
            SS = Sb @ Sb.T
            for j in range(len(C)):
                out[j] += SS[j * m:(j + 1) * m, j * m:(j + 1) * m]
        return out
    pairs = [(a, b) for a in range(m) for b in range(a, m)]
    acc = [[0.0] * len(pairs) for _ in C]
    # Each residual starts from a column with coefficient 1 if it has one (the outcome Y of u, the
    # treatment T of v), plus the constant, in one operation; BLAS axpy adds the other terms in one
    # call each (blocks below OpenBLAS's threading threshold, as for the dot products).
    plans = []
    for row in C:
        terms = [(i, float(c)) for i, c in enumerate(row[1:]) if c]
        first = next((q for q, (_, c) in enumerate(terms) if c == 1.0), 0)
        plans.append((terms[first], terms[:first] + terms[first + 1:], float(row[0])))
    S = np.empty((len(C), m, size))  # the scores z_i r_ji of a block
    for start in range(0, n, _BLOCK):
        v = [col[start:start + _BLOCK] for col in cols]
        k = len(v[0])
        for j, ((i, c), rest, const) in enumerate(plans):
            Sj = S[j, :, :k]
            r = Sj[0]  # z's first entry is 1
            if c == 1.0:
                np.add(v[i], const, out=r)
            else:
                np.multiply(v[i], c, out=r)
                r += const
            for i, c in rest:
                _axpy(v[i], r, a=c)
            for a in range(1, m):
                np.multiply(v[a - 1], r, out=Sj[a])
            for q, (a, b) in enumerate(pairs):
                acc[j][q] += np.dot(Sj[a], Sj[b])
    for j in range(len(C)):
        for (a, b), value in zip(pairs, acc[j], strict=True):
            out[j, a, b] = out[j, b, a] = value
    return out


def _fit_gram(y: np.ndarray, t: np.ndarray, exog: list[np.ndarray], L: int, cov_type: str,
              clusters: np.ndarray | None, gram: np.ndarray | None = None) -> tuple[Any, ...] | None:
    """Both stages from one Gram matrix of ``[1, W, Z, T, Y]`` and the score Gram of ``[1, W, Z]``.

    ``exog`` holds the columns of ``W`` then of ``Z`` (``L`` instruments). The projection of
    ``X = [1, T, W]`` on ``Z_full = [1, W, Z]`` is ``Z_full P`` with ``P`` selecting the exogenous
    columns and holding the first-stage coefficients ``pi`` in the treatment's column, so every cross
    product of ``X_hat`` is ``P' (Z_full' . Z_full) P`` — the second-stage sandwich included, as
    ``x_hat_i u_i = P' z_i u_i``. One factorisation of ``Z_full'Z_full`` serves both stages. Two
    passes over the data in cache-sized blocks: the Gram matrix (:func:`_cross_products`), then the
    residuals ``u = Y - X beta`` (structural) and ``v = T - Z_full pi`` (first stage) with their score
    Grams (:func:`_score_grams`); ``gram``, if given, is the first: ``_cross_products([*exog, t, y])``.
    Returns ``beta, cov, pi, cov_pi, (||v||, ||T - mean T||)``, or ``None`` (leaving the design to the
    QR route) when a Gram matrix is ill conditioned or nearly rank deficient.
    """
    n = len(y)
    m = 1 + len(exog)
    p = m - 1 - L
    k = 2 + p
    G = _cross_products([*exog, t, y]) if gram is None else gram
    ZtZ_inv = _scaled_chol(G[:m, :m])
    if ZtZ_inv is None:
        return None
    pi = ZtZ_inv @ G[:m, m]
    P = np.zeros((m, k))  # X_hat = Z_full P, X_hat columns [1, T_hat, W]
    P[0, 0] = 1.0
    P[:, 1] = pi
    P[1 + np.arange(p), 2 + np.arange(p)] = 1.0
    order = [0, *range(2, k), 1]  # the treatment last, as in the QR route's rank check
    inv_o = _scaled_chol((P.T @ G[:m, :m] @ P)[np.ix_(order, order)])
    if inv_o is None:
        return None
    bread = np.empty((k, k))
    bread[np.ix_(order, order)] = inv_o
    beta = bread @ (P.T @ G[:m, m + 1])

    # u = Y - [1, T, W] beta and v = T - Z_full pi as rows of C @ [1, W, Z, T, Y]
    C = np.zeros((2, m + 2))
    C[0, 0], C[0, 1:1 + p], C[0, m], C[0, m + 1] = -beta[0], -beta[2:], -beta[1], 1.0
    C[1, :m], C[1, m] = -pi, 1.0
    if clusters is None:
        meat_u, meat_v = _score_grams(exog, t, y, C)
        f2 = n / (n - k) if cov_type == "HC1" else 1.0
        f1 = n / (n - m) if cov_type == "HC1" else 1.0
        ss_v = float(meat_v[0, 0])  # Z_full's first column is 1
    else:
        ZT = np.vstack([np.ones(n), *exog])
        uv = matmul(C[:, :m], ZT)  # in blocks: a BLAS call on all n rows may go multi-threaded
        for j in range(2):
            for col, c in ((t, C[j, m]), (y, C[j, m + 1])):
                if c:
                    uv[j] += c * col
        meat_u, meat_v = _meat(ZT, uv[0], clusters), _meat(ZT, uv[1], clusters)
        n_g = int(clusters.max()) + 1
        f2 = n_g / (n_g - 1) * (n - 1) / (n - k) if cov_type == "HC1" else 1.0
        f1 = n_g / (n_g - 1) * (n - 1) / (n - m) if cov_type == "HC1" else 1.0
        ss_v = float(uv[1] @ uv[1])
    cov = f2 * (bread @ (P.T @ meat_u @ P) @ bread)
    cov_pi = f1 * (ZtZ_inv @ meat_v @ ZtZ_inv)
    ss_t = float(G[m, m] - G[0, m] ** 2 / n)  # sum (T - mean T)^2, unless cancellation spoils it
    if not ss_t > 1e-6 * G[m, m]:
        ss_t = float(np.sum((t - t.mean()) ** 2))
    return beta, cov, pi, cov_pi, (np.sqrt(ss_v), np.sqrt(ss_t))


def _meat(ZT: np.ndarray, u: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """``sum_g s_g s_g'`` with ``s_g = sum_{i in g} z_i u_i``, for the transposed design ``ZT`` (m x n)."""
    G = int(clusters.max()) + 1
    scores = np.stack([np.bincount(clusters, weights=row * u, minlength=G) for row in ZT], axis=1)
    return scores.T @ scores


def _wald_f(coef: np.ndarray, cov: np.ndarray, norm_resid: float, norm_t: float) -> float:
    """``coef' cov^{-1} coef / len(coef)``; ``inf`` when the first stage fits exactly.

    ``norm_resid`` is the norm of the first-stage residuals, ``norm_t`` that of the centred treatment.
    """
    if norm_resid <= 1e-10 * max(norm_t, np.finfo(float).tiny):
        return float("inf")
    try:
        stat = float(coef @ np.linalg.solve(cov, coef))
    except np.linalg.LinAlgError:
        return float("inf")
    return stat / len(coef)


# --------------------------------------------------------------------------- Wald
class Wald(BaseEstimator):
    r"""The Wald (1940) ratio for a binary instrument, with a delta-method standard error.

    .. math::

        \hat\beta = \frac{\bar Y_{Z=1} - \bar Y_{Z=0}}{\bar T_{Z=1} - \bar T_{Z=0}}

    For a binary treatment and monotone instrument it is the LATE of the
    compliers (Imbens & Angrist 1994); it equals 2SLS with ``Z`` as the only
    instrument and no covariates. The standard error linearises the ratio:
    with ``e = Y - beta T``, ``SE = sqrt(s²_1(e)/n_1 + s²_0(e)/n_0) / |dT|``
    (sample variances within the instrument arms).

    Parameters
    ----------
    weak_f : float
        Warn with :class:`WeakInstrumentWarning` when the first-stage F
        (the squared t statistic of ``dT``) is below this; 0 disables.
    level : float

    Attributes
    ----------
    ate_, stderr_ : float
    first_stage_diff_ : float
        ``mean(T | Z=1) - mean(T | Z=0)`` — the complier share for a binary
        treatment under monotonicity.
    reduced_form_diff_ : float
        ``mean(Y | Z=1) - mean(Y | Z=0)`` (the intention-to-treat effect).
    first_stage_f_ : float
    n_ : int

    References
    ----------
    .. [1] A. Wald (1940), *Annals of Mathematical Statistics* 11(3).
    .. [2] G. W. Imbens and J. D. Angrist (1994), *Econometrica* 62(2).

    Examples
    --------
    Random encouragement ``z``; hidden ``u`` drives both take-up and outcome.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> n = 4000
    >>> u, z = rng.normal(size=n), rng.integers(0, 2, n)
    >>> t = (rng.normal(size=n) + u < -0.5 + 1.5 * z).astype(int)
    >>> df = pd.DataFrame({"z": z, "t": t, "y": 1.0 * t + u + rng.normal(size=n)})
    >>> est = Wald().fit(df, treatment="t", outcome="y", instrument="z").ate()
    >>> bool(est.ci_low < 1.0 < est.ci_high)
    True
    """

    def __init__(self, weak_f: float = 10.0, level: float = 0.95) -> None:
        self.weak_f = weak_f
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str, instrument: str,
            covariates: Sequence[str] | None = None) -> Wald:
        """Compute the ratio of the reduced-form and first-stage differences.

        Raises
        ------
        EstimationError
            On bad columns, a non-binary instrument, covariates (use
            :class:`TwoStageLeastSquares`), fewer than two units in an
            instrument arm, or a first-stage difference of (numerically) zero.
        """
        name = type(self).__name__
        _check_weak_f(self.weak_f, name)
        _check_level(self.level, name)
        instruments = _as_list(instrument)
        if len(instruments) > 1:
            raise EstimationError(f"{name}: takes one binary instrument, got {instruments}; use "
                                  "TwoStageLeastSquares for several")
        if covariates is not None and len(_as_list(covariates)):
            raise EstimationError(f"{name}: takes no covariates; use TwoStageLeastSquares(...).fit(..., "
                                  "covariates=...) to adjust for them")
        _check_roles(name, treatment, outcome, instruments, [])
        frame = check_columns(data, estimator=name, treatment=treatment, outcome=outcome,
                              instrument=instruments)
        z = as_binary(frame[instruments[0]], estimator=name, name=f"instrument {instruments[0]!r}")
        t = frame[treatment].to_numpy(dtype=float)
        y = frame[outcome].to_numpy(dtype=float)
        _check_distinct(name, treatment, instruments, [], {instruments[0]: z, treatment: t})
        arms = [z == 0, z == 1]
        n0, n1 = (int(a.sum()) for a in arms)
        if min(n0, n1) < 2:
            raise EstimationError(f"{name}: need at least two units at each instrument value "
                                  f"(got {n0} with {instruments[0]}=0 and {n1} with =1)")
        dt = t[arms[1]].mean() - t[arms[0]].mean()
        dy = y[arms[1]].mean() - y[arms[0]].mean()
        if abs(dt) <= _COLLINEAR * max(t.std(), np.finfo(float).tiny) or t.std() == 0:
            raise EstimationError(f"{name}: the instrument {instruments[0]!r} does not move {treatment!r} "
                                  f"(first-stage difference {dt:.3g}); the Wald ratio is undefined — "
                                  "the instrument is irrelevant")
        beta = dy / dt
        e = y - beta * t
        se = np.sqrt(e[arms[1]].var(ddof=1) / n1 + e[arms[0]].var(ddof=1) / n0) / abs(dt)
        se_dt = np.sqrt(t[arms[1]].var(ddof=1) / n1 + t[arms[0]].var(ddof=1) / n0)
        self.first_stage_f_ = float((dt / se_dt) ** 2) if se_dt > 0 else float("inf")
        self.ate_, self.stderr_ = float(beta), float(se)
        self.first_stage_diff_, self.reduced_form_diff_ = float(dt), float(dy)
        self.n_ = len(y)
        self.fitted_ = True
        if self.first_stage_f_ < self.weak_f:
            warnings.warn(WeakInstrumentWarning(
                f"{name}: weak instrument — first-stage F = {self.first_stage_f_:.3g} < {self.weak_f:g} "
                f"({instruments[0]!r} moves {treatment!r} by {dt:.3g}); the ratio is unstable and its "
                "interval may undercover (Staiger & Stock 1997)"), stacklevel=2)
        return self

    def ate(self) -> Estimate:
        """The Wald ratio: the LATE of the compliers (the effect itself under a constant effect)."""
        self._check_fitted()
        return Estimate.normal(self.ate_, self.stderr_, method=type(self).__name__, n=self.n_,
                               level=self.level, diagnostics={
                                   "first_stage_F": self.first_stage_f_,
                                   "first_stage_diff": self.first_stage_diff_,
                                   "reduced_form_diff": self.reduced_form_diff_,
                                   "weak_instruments": bool(self.first_stage_f_ < self.weak_f)})
