"""Synthetic control for one treated unit, with in-space placebo inference.

Abadie, Diamond and Hainmueller (2010) estimate the untreated path of a single
treated unit by a *synthetic control*: a convex combination of untreated
"donor" units whose pre-treatment outcomes track the treated unit's. Weights
``w`` solve

    min_w || Y1_pre - Y0_pre w ||²   subject to   w >= 0,  sum(w) = 1,

over the pre-treatment periods. In their linear factor model
``Y_it = delta_t + theta_t Z_i + lambda_t mu_i + eps_it``, if the treated
unit's ``(Z_1, mu_1)`` is a convex combination of the donors' and the
pre-period is long relative to the noise, the synthetic control's post-period
path is nearly unbiased for the treated unit's untreated path. The gaps
``Y1_t - Y0_t w`` estimate the effect in each post period; ``att()`` is their
average.

The weights are computed by non-negative least squares (Lawson and Hanson
1974, ``scipy.optimize.nnls``) on the system augmented with a heavily weighted
row of ones, which enforces ``sum(w) = 1`` to about 1e-8 (Lawson and Hanson's
weighting method for equality constraints, ch. 22), then rescaled to sum
exactly to one. Outcomes are scaled to unit root-mean-square first. NNLS is an
exact active-set method: it ends at a vertex-sparse optimum, not stalled at
equal weights as generic optimizers started there often do. Only pre-period
outcomes are matched: covariate predictors with a ``V`` weighting matrix (the
nested optimisation of Abadie et al.) are not implemented; append pre-period
averages of covariates as extra outcome rows yourself if needed.

Inference (``placebo=True``) is by in-space placebos (Abadie et al. 2010,
§2.4): each donor in turn is treated as if treated and fitted from the other
donors. The p-value is the rank of the treated unit's ratio of post- to
pre-period RMSPE among all ``J + 1`` ratios, ``(1 + #{j: r_j >= r_1}) / (J + 1)``
(smallest possible: ``1 / (J + 1)``). The interval inverts the placebo
distribution of the ATT: ``tau_0`` is accepted when ``att - tau_0`` (the
treated unit's average post gap after removing an additive effect
``tau_0``; the weights do not change) is not among the ``k`` largest or ``k``
smallest of it and the ``J`` placebo ATTs, ``k = floor((1 - level)(J + 1) / 2)``:
``[att - a_(J+1-k), att - a_(k)]`` with ``a_(i)`` the sorted placebo ATTs. It
is a permutation interval, not a normal one, valid when units are exchangeable
(e.g. the treated unit is chosen at random); its exact level
``1 - 2k / (J + 1) >= level`` is in the diagnostics. With too few donors for
the level (``k = 0``: fewer than ``2 / (1 - level) - 1``, 39 at 95 %) no
``tau_0`` can be rejected and the interval is infinite. ``stderr`` is the
standard deviation of the placebo ATTs, for reference only.

References
----------
A. Abadie, A. Diamond and J. Hainmueller (2010), "Synthetic control methods for
comparative case studies: estimating the effect of California's tobacco control
program", *Journal of the American Statistical Association* 105(490), 493-505.
A. Abadie (2021), "Using synthetic controls: feasibility, data requirements, and
methodological aspects", *Journal of Economic Literature* 59(2), 391-425.
S. Firpo and V. Possebom (2018), "Synthetic control method: inference,
sensitivity analysis and confidence sets", *Journal of Causal Inference* 6(2).
C. L. Lawson and R. J. Hanson (1974), *Solving Least Squares Problems*,
Prentice-Hall (ch. 22-23).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> J, T, T0 = 30, 40, 30
>>> mu = rng.normal(size=(J, 2))
>>> lam = rng.normal(size=(T, 2))
>>> y0 = 5 + lam @ mu.T + 0.1 * rng.normal(size=(T, J))             # donors (T, J)
>>> w_true = np.r_[0.5, 0.3, 0.2, np.zeros(J - 3)]
>>> y1 = 5 + lam @ (mu.T @ w_true) + 0.1 * rng.normal(size=T) + 2.0 * (np.arange(T) >= T0)
>>> Y = np.column_stack([y1, y0])
>>> df = pd.DataFrame({"unit": np.tile(np.arange(J + 1), T), "time": np.repeat(np.arange(T), J + 1),
...                    "d": ((np.arange(J + 1) == 0)[None, :] & (np.arange(T) >= T0)[:, None]).ravel(),
...                    "y": Y.ravel()})
>>> sc = SyntheticControl().fit(df, outcome="y", unit="unit", time="time", treatment="d")
>>> est = sc.att()
>>> bool(abs(est.value - 2.0) < 0.3), bool(np.isclose(sc.weights_.sum(), 1.0)), est.diagnostics["p_value"]
(True, True, 0.03225806451612903)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from causal.errors import EstimationError
from causal.estimators.base import BaseEstimator, Estimate
from causal.estimators.panel import _check_level, _lab, panel_data

__all__ = ["SyntheticControl", "simplex_least_squares"]

#: Weight of the sum-to-one row (after scaling the data to unit root-mean-square).
_PENALTY = 1e4


def simplex_least_squares(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``argmin ||A w - b||`` over the simplex ``w >= 0, sum(w) = 1``.

    Non-negative least squares on ``[A; M 1'] w = [b; M]`` with a large ``M``
    after scaling ``A`` and ``b`` to unit root-mean-square, then rescaled to
    sum exactly to one.

    Examples
    --------
    >>> A = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, 3.0]])
    >>> simplex_least_squares(A, np.array([0.5, 0.5])).round(6).tolist()
    [0.5, 0.5, 0.0]
    """
    A, b = np.asarray(A, dtype=float), np.asarray(b, dtype=float)
    scale = math.sqrt(max(float(np.mean(A**2)), float(np.mean(b**2)), 1e-300))
    k = A.shape[1]
    aug = np.vstack([A / scale, np.full((1, k), _PENALTY)])
    w = nnls(aug, np.r_[b / scale, _PENALTY], maxiter=50 * k)[0]
    total = w.sum()
    if not total > 0:
        return np.full(k, 1.0 / k)
    return w / total


class SyntheticControl(BaseEstimator):
    """Synthetic control for one treated unit (Abadie, Diamond & Hainmueller 2010) with placebo inference.

    See the module docstring for the weights, the p-value and the interval.

    Parameters
    ----------
    placebo : bool
        Run the in-space placebos (one refit per donor) for the p-value and
        interval. Without them ``att()`` has no interval (NaN).
    level : float
        Nominal level of the permutation interval.

    Attributes
    ----------
    weights_ : pandas.Series
        Donor weights (non-negative, summing to one), indexed by donor unit.
    gaps_ : pandas.Series
        Treated minus synthetic outcome, per period.
    synthetic_ : pandas.Series
        The synthetic control's outcome path.
    treated_unit_, start_ :
        The treated unit and its first treated period.
    pre_rmspe_, post_rmspe_, att_ : float
    placebo_gaps_ : pandas.DataFrame
        Periods x donors: each donor's gaps when it is the pseudo-treated unit.
    placebo_ratios_ : pandas.Series
        Post/pre RMSPE ratio of each donor's placebo; the treated unit's is ``rmspe_ratio_``.
    p_value_ : float

    Raises
    ------
    EstimationError
        From ``fit``: missing columns or NaNs, an unbalanced panel,
        non-absorbing treatment, more than one treated unit (use
        :class:`~causal.estimators.panel.DiD`), fewer than two pre-periods or
        donors.

    References
    ----------
    A. Abadie, A. Diamond and J. Hainmueller (2010), *JASA* 105(490), 493-505.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(12)
    >>> paths = {"a": t, "b": t**2 / 10, "c": np.full(12, 5.0)}       # treated = a / 4 + 3 c / 4 before 8
    >>> paths["x"] = t / 4 + 3.75 + 3.0 * (t >= 8)
    >>> df = pd.DataFrame({"unit": np.repeat(list(paths), 12), "t": np.tile(t, 4),
    ...                    "y": np.concatenate(list(paths.values())), "d": 0})
    >>> df.loc[(df.unit == "x") & (df.t >= 8), "d"] = 1
    >>> sc = SyntheticControl(placebo=False).fit(df, outcome="y", unit="unit", time="t", treatment="d")
    >>> sc.weights_.round(3).to_dict(), round(sc.att().value, 6)
    ({'a': 0.25, 'b': 0.0, 'c': 0.75}, 3.0)
    """

    def __init__(self, placebo: bool = True, level: float = 0.95) -> None:
        self.placebo = placebo
        self.level = level

    def fit(self, data: pd.DataFrame, *, outcome: str, unit: str, time: str, treatment: str,
            covariates: None = None) -> SyntheticControl:
        """Fit on long panel data (one row per unit and period); returns ``self``.

        ``treatment`` is 0/1 treated-in-this-period, 1 for exactly one unit
        from its start period on; every other unit is a donor.
        """
        name = type(self).__name__
        _check_level(self.level, name)
        if covariates is not None:
            raise EstimationError(f"{name}: covariate predictors (with V weights) are not implemented; "
                                  "only pre-period outcomes are matched — drop covariates=")
        panel = panel_data(data, estimator=name, outcome=outcome, unit=unit, time=time, treatment=treatment)
        panel.check_absorbing(name)
        y, T = panel.y, panel.y.shape[1]
        ever = panel.d.any(axis=1)
        if ever.sum() > 1:
            shown = ", ".join(map(_lab, panel.units[ever][:5])) + (", ..." if ever.sum() > 5 else "")
            raise EstimationError(f"{name}: fits one treated unit, got {int(ever.sum())} ({shown}); "
                                  "fit each treated unit against the never-treated donors separately, or "
                                  "use DiD(design='staggered') for many treated units")
        i1 = int(np.flatnonzero(ever)[0])
        t0 = int(panel.d[i1].argmax())
        if t0 < 2:
            raise EstimationError(f"{name}: the treated unit {_lab(panel.units[i1])} is treated from period "
                                  f"{_lab(panel.times[t0])}, leaving {t0} pre-treatment period(s); at least "
                                  "two are needed to fit weights (many more for a good fit)")
        donors = np.flatnonzero(~ever)
        if len(donors) < 2:
            raise EstimationError(f"{name}: {len(donors)} donor unit(s); at least two never-treated units "
                                  "are needed")
        y1, y0 = y[i1], y[donors]
        w = simplex_least_squares(y0[:, :t0].T, y1[:t0])
        gaps = y1 - w @ y0
        self.treated_unit_, self.start_ = (x.item() if isinstance(x, np.generic) else x
                                           for x in (panel.units[i1], panel.times[t0]))
        self.weights_ = pd.Series(w, index=panel.units[donors], name="weight")
        self.synthetic_ = pd.Series(w @ y0, index=panel.times, name="synthetic")
        self.gaps_ = pd.Series(gaps, index=panel.times, name="gap")
        self.att_ = float(gaps[t0:].mean())
        self.pre_rmspe_, self.post_rmspe_ = _rmspe(gaps[:t0]), _rmspe(gaps[t0:])
        self.rmspe_ratio_ = self.post_rmspe_ / max(self.pre_rmspe_, 1e-12 * (1 + np.abs(y1).max()))
        self.n_, self.n_pre_, self.n_post_ = len(donors) + 1, t0, T - t0
        for attr in ("placebo_gaps_", "placebo_ratios_", "p_value_"):
            self.__dict__.pop(attr, None)
        if self.placebo:
            self._placebos(y0, t0, panel.units[donors], panel.times)
        self.fitted_ = True
        return self

    def _placebos(self, y0: np.ndarray, t0: int, donors: pd.Index, times: pd.Index) -> None:
        """Refit with each donor as the pseudo-treated unit (one NNLS per donor), from the other donors."""
        J = len(y0)
        gaps = np.empty((J, y0.shape[1]))
        for j in range(J):                                      # one small NNLS per donor
            others = np.delete(y0, j, axis=0)
            gaps[j] = y0[j] - simplex_least_squares(others[:, :t0].T, y0[j, :t0]) @ others
        pre = np.sqrt(np.mean(gaps[:, :t0] ** 2, axis=1))
        post = np.sqrt(np.mean(gaps[:, t0:] ** 2, axis=1))
        ratios = post / np.maximum(pre, 1e-12 * (1 + np.abs(y0).max()))
        self.placebo_gaps_ = pd.DataFrame(gaps.T, index=times, columns=donors)
        self.placebo_ratios_ = pd.Series(ratios, index=donors, name="rmspe_ratio")
        self.p_value_ = float((1 + np.sum(ratios >= self.rmspe_ratio_ * (1 - 1e-12))) / (J + 1))

    def att(self) -> Estimate:
        """The average post-period gap, with the placebo p-value and permutation interval.

        ``diagnostics``: ``p_value``, ``achieved_level`` (exact level of the
        interval), ``pre_rmspe``, ``post_rmspe``, ``rmspe_ratio``, ``n_donors``,
        ``n_pre``, ``n_post``.
        """
        self._check_fitted()
        diag = {"pre_rmspe": self.pre_rmspe_, "post_rmspe": self.post_rmspe_,
                "rmspe_ratio": self.rmspe_ratio_, "n_donors": self.n_ - 1, "n_pre": self.n_pre_,
                "n_post": self.n_post_, "treated_unit": self.treated_unit_}
        method = type(self).__name__
        if not self.placebo:
            return Estimate(self.att_, math.nan, math.nan, math.nan, self.level, method + " (no inference)",
                            self.n_, {**diag, "inference": "none (placebo=False)"})
        a = np.sort(self.placebo_gaps_.to_numpy()[self.n_pre_:].mean(axis=0))
        J = len(a)
        k = math.floor((1 - self.level) * (J + 1) / 2 + 1e-9)
        lo, hi = (self.att_ - a[J - k], self.att_ - a[k - 1]) if k >= 1 else (-math.inf, math.inf)
        diag.update(p_value=self.p_value_, achieved_level=1 - 2 * k / (J + 1),
                    inference="in-space placebo permutation")
        return Estimate(self.att_, float(np.std(a, ddof=1)), float(lo), float(hi), self.level, method,
                        self.n_, diag)

    def ate(self) -> Estimate:
        """The ATT of the treated unit (see :meth:`att`); the design identifies nothing else."""
        est = self.att()
        return Estimate(est.value, est.stderr, est.ci_low, est.ci_high, est.level, est.method + " (ATT)",
                        est.n, {**est.diagnostics, "target": "ATT"})


def _rmspe(gaps: np.ndarray) -> float:
    return float(np.sqrt(np.mean(gaps**2)))
