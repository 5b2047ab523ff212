"""Difference in differences on long panel data: 2x2, two-way fixed effects, staggered adoption.

Difference in differences (DiD) compares the change in outcome of treated units
with the change of comparison units. Under *parallel trends* — without
treatment, both groups' mean outcomes would have moved in parallel — the
comparison units' change is the treated units' counterfactual change, so the
difference of changes is the average effect **on the treated** (ATT). Nothing
is learned about the effect on units that were never treated, so ``att()`` is
the primary method; ``ate()`` returns the same ATT (labelled so) only to let a
DiD be plugged into tooling that calls ``ate()``.

:class:`DiD` takes one row per unit and period; ``treatment`` is the 0/1
indicator *treated in this period*. Three designs:

* ``"2x2"`` — two periods, two groups: the difference of mean changes, i.e.
  OLS of the unit-level change ``Y_i1 - Y_i0`` on the treated indicator, with
  HC2 (Welch) standard errors. With covariates (their first-period values) the
  regression is Lin's interacted one centred at the treated mean — Heckman,
  Ichimura and Todd's (1997) outcome-regression DiD (its HC2 error treats the
  treated covariate mean as fixed).
* ``"twfe"`` — OLS of the outcome on the treatment (and time-varying
  covariates) with unit and period fixed effects, by the within
  transformation (two-way demeaning, exact on a balanced panel), with
  unit-clustered CR1 standard errors (Liang and Zeger 1986). With staggered
  adoption and effects that vary over time or cohorts, its coefficient is a
  weighted average of effects with possibly negative weights (Goodman-Bacon
  2021): it is biased for every ATT. With a **single treated unit** the
  cluster-robust error is not valid (one treated cluster: Conley and Taber
  2011), so inference is by placebo instead: the treated unit is dropped and
  its treatment path given to each control unit in turn, the same regression
  giving one placebo estimate per control (Abadie, Diamond and Hainmueller
  2010). The two-sided p-value is the rank of ``|estimate|`` among the
  ``J + 1`` absolute estimates, ``(1 + #{|placebo| >= |estimate|}) / (J + 1)``;
  the interval inverts that test under a constant additive effect (which
  shifts the treated estimate and not the placebos): ``estimate ± c``, ``c``
  the ``floor((1 - level)(J + 1))``-th largest ``|placebo|`` — unbounded when
  there are too few controls to reject anything. ``stderr`` is then the
  placebo estimates' standard deviation, ``method`` says "placebo inference",
  and the diagnostics hold ``p_value``, ``placebo_estimates`` and a ``note``.
  Validity needs the units to be exchangeable under the null (comparable
  error variances; Ferman and Pinto 2019 discuss heteroskedastic corrections).
  ``"2x2"`` without covariates does the same (TWFE on two periods is the 2x2
  DiD); ``"staggered"`` and ``"2x2"`` with covariates still refuse.
* ``"staggered"`` — Callaway and Sant'Anna's (2021) group-time effects
  ``ATT(g, t)`` for each adoption cohort ``g`` (first treated period) and
  period ``t``: the DiD of cohort ``g`` against never-treated
  (``control="never"``) or not-yet-treated (``control="notyet"``: first
  treated after ``max(t, g - 1)``) units between ``t`` and the base period
  ``g - 1`` (a *universal* base period: pre-period cells ``t < g - 1`` are
  placebo tests, and ``t = g - 1`` is the omitted reference). Standard errors
  from each cell's influence function; ``att()`` is their "simple"
  aggregation (post-treatment cells weighted by cohort size: one weight per
  treated unit-period), ``event_study()`` aggregates by event time
  ``e = t - g`` (in periods), both including the estimation error of the
  weights. Unconditional parallel trends by default; with ``covariates``
  (their first-period values) each cell is the outcome-regression DiD
  (conditional parallel trends, Heckman et al. 1997 — the ``"reg"`` method of
  Callaway and Sant'Anna's ``did``); the doubly robust version is not
  implemented. Units treated in the first period have no pre-period and are
  dropped (counted in the diagnostics).

References
----------
B. Callaway and P. H. C. Sant'Anna (2021), "Difference-in-differences with
multiple time periods", *Journal of Econometrics* 225(2), 200-230.
A. Goodman-Bacon (2021), "Difference-in-differences with variation in treatment
timing", *Journal of Econometrics* 225(2), 254-277.
K.-Y. Liang and S. L. Zeger (1986), "Longitudinal data analysis using
generalized linear models", *Biometrika* 73(1), 13-22.
A. C. Cameron and D. L. Miller (2015), "A practitioner's guide to
cluster-robust inference", *Journal of Human Resources* 50(2), 317-372.
J. J. Heckman, H. Ichimura and P. E. Todd (1997), "Matching as an econometric
evaluation estimator", *Review of Economic Studies* 64(4), 605-654.
T. G. Conley and C. R. Taber (2011), "Inference with 'difference in
differences' with a small number of policy changes", *Review of Economics and
Statistics* 93(1), 113-125.
A. Abadie, A. Diamond and J. Hainmueller (2010), "Synthetic control methods for
comparative case studies", *Journal of the American Statistical Association*
105(490), 493-505.
B. Ferman and C. Pinto (2019), "Inference in differences-in-differences with
few treated groups and heteroskedasticity", *Review of Economics and
Statistics* 101(3), 452-467.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> n, T = 300, 6
>>> cohort = rng.choice([2, 4, 99], size=n)           # 99: never treated
>>> unit, time = np.repeat(np.arange(n), T), np.tile(np.arange(T), n)
>>> g = np.repeat(cohort, T)
>>> d = (time >= g).astype(int)
>>> effect = d * (1.0 + (time - g))                  # grows with time since adoption
>>> y = rng.normal(size=n)[unit] + 0.5 * time + effect + rng.normal(size=n * T)
>>> df = pd.DataFrame({"unit": unit, "time": time, "d": d, "y": y})
>>> did = DiD(design="staggered").fit(df, outcome="y", unit="unit", time="time", treatment="d")
>>> truth = effect[d == 1].mean()
>>> bool(did.att().covers(truth)), list(did.event_study().columns)
(True, ['event_time', 'att', 'stderr', 'ci_low', 'ci_high', 'n'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators.base import BaseEstimator, Estimate, as_binary, check_columns, normal_interval
from causal.estimators.simple import ols

__all__ = ["DiD"]

_SYNTH_HINT = "use SyntheticControl for a single treated unit"


# ----------------------------------------------------------------------------- panel data


@dataclass(frozen=True)
class _Panel:
    """A balanced panel in wide form: ``y``, ``d`` of shape (units, periods), ``x`` (units, periods, k)."""

    y: np.ndarray
    d: np.ndarray
    x: np.ndarray
    units: pd.Index
    times: pd.Index
    covariates: tuple[str, ...]

    def first_treated(self) -> np.ndarray:
        """Index of each unit's first treated period; ``n_periods`` for never-treated units."""
        ever = self.d.any(axis=1)
        return np.where(ever, self.d.argmax(axis=1), self.d.shape[1])

    def check_absorbing(self, estimator: str) -> None:
        """Raise unless treatment, once switched on, stays on."""
        off = np.diff(self.d, axis=1) < 0
        if off.any():
            bad = np.flatnonzero(off.any(axis=1))
            t = off[bad[0]].argmax() + 1
            raise EstimationError(
                f"{estimator}: treatment must be absorbing (once treated, treated in every later period), "
                f"but {len(bad)} unit(s) switch it off, e.g. unit {_lab(self.units[bad[0]])} at period "
                f"{_lab(self.times[t])}; recode treatment as 'ever treated so far' "
                "(data.groupby(unit)[treatment].cummax()) or use design='twfe'")


def _lab(x: object) -> str:
    """``repr`` of a unit or period label, numpy scalars shown as Python ones."""
    return repr(x.item() if isinstance(x, np.generic) else x)


def _label_column(data: pd.DataFrame, col: object, role: str, estimator: str) -> pd.Series:
    if not isinstance(col, str):
        raise EstimationError(f"{estimator}: {role} must be a column name, got {col!r}")
    if col not in data.columns:
        raise EstimationError(f"{estimator}: {role} column {col!r} is not in the data "
                              f"(columns: {', '.join(map(str, data.columns[:20]))})")
    s = data[col]
    bad = int(s.isna().sum())
    if bad:
        raise EstimationError(f"{estimator}: {role} column {col!r} has {bad} missing values; drop those rows")
    return s


def panel_data(data: pd.DataFrame, *, estimator: str, outcome: str, unit: str, time: str, treatment: str,
               covariates: Sequence[str] | str | None = None) -> _Panel:
    """Validate long panel data (one row per unit and period) and return it in wide form.

    Raises :class:`EstimationError` for missing columns, NaNs, a non-binary or
    constant treatment, duplicated unit-periods and an unbalanced panel (naming
    what is missing and what to do).
    """
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
    frame = check_columns(data, estimator=estimator, outcome=outcome, treatment=treatment,
                          covariates=covariates)
    u = _label_column(data, unit, "unit", estimator)
    s = _label_column(data, time, "time", estimator)
    if unit == time or unit in (outcome, treatment) or time in (outcome, treatment):
        raise EstimationError(f"{estimator}: unit, time, outcome and treatment must be different columns")
    d = as_binary(frame[treatment], estimator=estimator)
    ui, units = pd.factorize(u, sort=True)
    ti, times = pd.factorize(s, sort=True)
    n, T = len(units), len(times)
    if T < 2:
        raise EstimationError(f"{estimator}: the panel has a single period ({_lab(times[0])}); DiD needs at "
                              "least two")
    key = ui * T + ti
    counts = np.bincount(key, minlength=n * T).reshape(n, T)
    if (counts > 1).any():
        i, t = np.argwhere(counts > 1)[0]
        raise EstimationError(f"{estimator}: unit {_lab(units[i])} has {counts[i, t]} rows for period "
                              f"{_lab(times[t])}; the panel needs one row per unit and period "
                              "(aggregate first)")
    missing = counts == 0
    if missing.any():
        bad = np.flatnonzero(missing.any(axis=1))
        shown = "; ".join(f"unit {_lab(units[i])} lacks {times[missing[i]][:5].tolist()}" for i in bad[:3])
        raise EstimationError(
            f"{estimator}: unbalanced panel: {int(missing.sum())} of {n * T} unit-periods are missing "
            f"({len(bad)} of {n} units incomplete: {shown}); keep complete units "
            f"(data.groupby({unit!r}).filter(lambda g: len(g) == {T})) or fill the missing periods")

    def wide(values: np.ndarray) -> np.ndarray:
        out = np.empty(n * T)
        out[key] = values
        return out.reshape(n, T)

    x = np.stack([wide(frame[c].to_numpy(dtype=float)) for c in covariates], axis=-1) if covariates \
        else np.empty((n, T, 0))
    return _Panel(wide(frame[outcome].to_numpy(dtype=float)), wide(d), x, units, times, tuple(covariates))


def _check_level(level: object, estimator: str) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise EstimationError(f"{estimator}: level must be a number in (0, 1), e.g. 0.95; got {level!r}")
    return float(level)


def _check_groups(n_treated: int, n_control: int | None, estimator: str, control: str = "untreated",
                  single_ok: bool = False) -> None:
    if n_treated == 1 and not single_ok:
        raise EstimationError(f"{estimator}: only one treated unit; this design needs at least two "
                              "treated units for a standard error — use design='twfe' (placebo inference "
                              f"over the control units) or {_SYNTH_HINT}")
    if n_treated == 0:
        raise EstimationError(f"{estimator}: no unit is treated after the first period; nothing to compare")
    if n_control is not None and n_control < 2:
        raise EstimationError(f"{estimator}: {n_control} {control} unit(s); difference in differences needs "
                              "at least two comparison units")


# ----------------------------------------------------------------------------- one treated unit


def _within(a: np.ndarray) -> np.ndarray:
    """Two-way demeaning of a (units, periods) array: exact unit and period effects on a balanced panel."""
    return a - a.mean(axis=1, keepdims=True) - a.mean(axis=0, keepdims=True) + a.mean()


def _twfe_coef(y: np.ndarray, d: np.ndarray, x: np.ndarray) -> float:
    """The TWFE treatment coefficient (point estimate only), or NaN when it is not identified."""
    z = np.stack([_within(a) for a in (d, *np.moveaxis(x, -1, 0))], axis=-1).reshape(d.size, -1)
    beta, _, rank, _ = np.linalg.lstsq(z, _within(y).reshape(-1), rcond=None)
    return float(beta[0]) if rank == z.shape[1] else float("nan")


def _placebo_twfe(y: np.ndarray, d: np.ndarray, x: np.ndarray, treated: int) -> np.ndarray:
    """Placebo estimates: the treated unit dropped, its treatment path given to each control unit in turn.

    Each placebo is the same TWFE regression on the control units alone, so under the null of no effect
    (and exchangeable units) the treated unit's estimate is one more draw from the placebo distribution.
    """
    keep = np.arange(len(y)) != treated
    y0, x0, path = y[keep], x[keep], d[treated]
    out = np.empty(len(y0))
    for j in range(len(y0)):
        dj = np.zeros_like(y0)
        dj[j] = path
        out[j] = _twfe_coef(y0, dj, x0)
    return out


def placebo_inference(value: float, placebos: np.ndarray, level: float) -> tuple[float, float, float]:
    """Permutation p-value and the interval that inverts it, from placebo estimates.

    ``p = (1 + #{j: |placebo_j| >= |value|}) / (J + 1)``: the rank of ``|value|`` among the ``J + 1``
    absolute estimates (ties counted against the treated unit, so the test is conservative). Under a
    constant additive effect ``a`` the treated unit's estimate shifts by ``a`` and the placebos (which
    exclude it) do not, so the test of effect ``a`` ranks ``|value - a|``; the set of ``a`` it does not
    reject at ``1 - level`` is ``value ± c``, ``c`` the ``k``-th largest ``|placebo_j|``,
    ``k = floor((1 - level)(J + 1))``. With ``k = 0`` (fewer than ``1 / (1 - level) - 1`` placebos) no
    effect can be rejected and the interval is the whole line. Returns ``(p, ci_low, ci_high)``.

    >>> placebo_inference(1.0, np.array([0.5, -2.0, 0.9, -1.0]), 0.6)
    (0.6, 0.0, 2.0)
    """
    a = np.sort(np.abs(placebos))[::-1]
    J = len(a)
    p = (1 + int(np.count_nonzero(a >= abs(value) * (1 - 1e-12)))) / (J + 1)
    k = int(np.floor((1 - level) * (J + 1) + 1e-9))
    if k == 0:
        return p, -np.inf, np.inf
    return p, value - float(a[k - 1]), value + float(a[k - 1])


# ----------------------------------------------------------------------------- group-time DiD


def _cell(dy: np.ndarray, treated: np.ndarray, control: np.ndarray, x: np.ndarray | None,
          estimator: str) -> tuple[float, np.ndarray]:
    """One DiD cell: the ATT and its influence function over all ``len(dy)`` units.

    Without covariates ``mean(dy | treated) - mean(dy | control)``; with them
    (``x`` includes the intercept) the outcome-regression DiD
    ``mean(dy - x'b | treated)``, ``b`` the OLS of ``dy`` on ``x`` among controls.
    ``att_hat - att ≈ mean(psi)``.
    """
    n = len(dy)
    p1 = treated.mean()
    if x is None:
        p0 = control.mean()
        m1, m0 = dy[treated].mean(), dy[control].mean()
        psi = treated * (dy - m1) / p1 - control * (dy - m0) / p0
        return float(m1 - m0), psi
    xc = x[control]
    if len(xc) <= x.shape[1] or np.linalg.matrix_rank(xc) < x.shape[1]:
        raise EstimationError(f"{estimator}: {len(xc)} comparison units cannot fit {x.shape[1] - 1} "
                              "covariates (too few, or collinear within the comparison group); drop "
                              "covariates or use control='notyet'")
    beta = np.linalg.lstsq(xc, dy[control], rcond=None)[0]
    e = dy - x @ beta
    att = float(e[treated].mean())
    lever = x @ np.linalg.solve(xc.T @ xc / n, x[treated].mean(axis=0))
    psi = treated * (e - att) / p1 - control * lever * e
    return att, psi


def _aggregate(att: np.ndarray, psi: np.ndarray, cohort: np.ndarray,
               first: np.ndarray) -> tuple[float, float]:
    """Cohort-size weighted mean of cells and its standard error, including the weights' estimation.

    ``att`` (cells), ``psi`` (units x cells), ``cohort`` (each cell's cohort),
    ``first`` (each unit's cohort). Weight ``w_c = p_g(c) / S``, ``S = sum_c p_g(c)``.
    """
    n = len(first)
    member = (first[:, None] == cohort[None, :]).astype(float)
    p = member.mean(axis=0)
    w = p / p.sum()
    dp = member - p
    dw = (dp - w * dp.sum(axis=1, keepdims=True)) / p.sum()
    inf = psi @ w + dw @ att
    return float(w @ att), float(np.sqrt(inf @ inf) / n)


# ----------------------------------------------------------------------------- the estimator


class DiD(BaseEstimator):
    """Difference in differences: 2x2, two-way fixed effects, or staggered adoption (Callaway–Sant'Anna).

    See the module docstring for the three designs and their assumptions.

    Parameters
    ----------
    design : {"staggered", "twfe", "2x2"}
        ``"staggered"`` (group-time ATT, robust to effects that vary by cohort
        and over time), ``"twfe"`` (two-way fixed effects OLS: unbiased only for
        a homogeneous effect) or ``"2x2"`` (exactly two periods).
    control : {"never", "notyet"}
        Comparison units of the staggered design: never-treated units, or units
        not yet treated by ``max(t, g - 1)`` (never-treated included). Ignored
        by the other designs.
    level : float
        Confidence level of the intervals.

    Attributes
    ----------
    att_, stderr_ : float
        The ATT and its standard error.
    n_, n_treated_ : int
        Units used and treated units among them.
    coef_ : pandas.Series
        ``"twfe"``: coefficients of the treatment and covariates.
    group_time_, event_study_ : pandas.DataFrame
        ``"staggered"``: see :meth:`group_time` and :meth:`event_study`.

    Raises
    ------
    EstimationError
        From ``fit``: missing columns or NaNs, a non-binary treatment, an
        unbalanced panel, a single treated unit with ``"staggered"`` or
        ``"2x2"`` with covariates (``"twfe"`` gives placebo inference; or use
        :class:`~causal.estimators.synth.SyntheticControl`), fewer than two
        units in a cohort or comparison group, non-absorbing treatment
        (staggered), no never-treated units with ``control="never"``.

    References
    ----------
    B. Callaway and P. H. C. Sant'Anna (2021), *Journal of Econometrics* 225(2), 200-230.
    K.-Y. Liang and S. L. Zeger (1986), *Biometrika* 73(1), 13-22.
    A. Goodman-Bacon (2021), *Journal of Econometrics* 225(2), 254-277.

    Examples
    --------
    A 2x2 design with a homogeneous effect of 2:

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> n = 400
    >>> g = rng.integers(0, 2, n)
    >>> y0 = rng.normal(size=n) + g                      # groups differ in levels: fine for DiD
    >>> y1 = y0 + 0.5 + 2.0 * g + rng.normal(size=n)
    >>> df = pd.DataFrame({"unit": np.r_[np.arange(n), np.arange(n)], "time": np.repeat([0, 1], n),
    ...                    "d": np.r_[np.zeros(n, int), g], "y": np.r_[y0, y1]})
    >>> est = DiD(design="2x2").fit(df, outcome="y", unit="unit", time="time", treatment="d").att()
    >>> bool(est.ci_low < 2.0 < est.ci_high), est.method
    (True, 'DiD(2x2)')
    """

    def __init__(self, design: Literal["staggered", "twfe", "2x2"] = "staggered",
                 control: Literal["never", "notyet"] = "never", level: float = 0.95) -> None:
        self.design = design
        self.control = control
        self.level = level

    def fit(self, data: pd.DataFrame, *, outcome: str, unit: str, time: str, treatment: str,
            covariates: Sequence[str] | None = None) -> DiD:
        """Fit on long panel data; returns ``self``.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per unit and period (balanced).
        outcome, unit, time, treatment : str
            Column names; ``treatment`` is 0/1 *treated in this period*.
        covariates : list of str, optional
            ``"twfe"``: time-varying controls. ``"2x2"`` and ``"staggered"``:
            their first-period values enter an outcome regression (conditional
            parallel trends).
        """
        name = f"DiD(design={self.design!r})"
        fits = {"2x2": self._fit_2x2, "twfe": self._fit_twfe, "staggered": self._fit_staggered}
        if self.design not in fits:
            raise EstimationError(f"DiD: design must be one of {', '.join(map(repr, fits))}; "
                                  f"got {self.design!r}")
        if self.control not in ("never", "notyet"):
            raise EstimationError(f"DiD: control must be 'never' or 'notyet', got {self.control!r}")
        _check_level(self.level, "DiD")
        panel = panel_data(data, estimator=name, outcome=outcome, unit=unit, time=time, treatment=treatment,
                           covariates=covariates)
        for attr in ("coef_", "group_time_", "event_study_", "placebo_"):
            self.__dict__.pop(attr, None)
        self.diagnostics_: dict[str, object] = {"design": self.design}
        fits[self.design](panel, name)
        self.fitted_ = True
        return self

    # -------------------------------------------------------------------- designs
    def _fit_2x2(self, panel: _Panel, name: str) -> None:
        y, d, x = panel.y, panel.d, panel.x
        if y.shape[1] != 2:
            raise EstimationError(f"{name}: needs exactly two periods, got {y.shape[1]} "
                                  f"({panel.times[:6].tolist()}); use design='twfe' or 'staggered'")
        if d[:, 0].any():
            raise EstimationError(f"{name}: {int(d[:, 0].sum())} unit(s) are treated in the first period "
                                  f"{_lab(panel.times[0])}; in a 2x2 design treatment is 1 only for treated "
                                  "units in the second period")
        treated = d[:, 1]
        if treated.sum() == 1 and not panel.covariates:
            _check_groups(1, int((1 - treated).sum()), name, single_ok=True)
            self._fit_twfe(panel, name)           # with two periods TWFE is the 2x2 DiD, exactly
            self.diagnostics_.pop("n_clusters", None)
            self.diagnostics_.pop("n_periods", None)
            self.diagnostics_["n_control"] = self.n_ - 1
            return
        _check_groups(int(treated.sum()), int((1 - treated).sum()), name)
        xc = x[:, 0, :] - x[treated == 1, 0, :].mean(axis=0)
        cols = [np.ones(len(y)), treated, *xc.T, *(xc * treated[:, None]).T]
        names = ["intercept", "treated", *panel.covariates, *(f"treated:{c}" for c in panel.covariates)]
        beta, cov = ols(np.column_stack(cols), y[:, 1] - y[:, 0], cov_type="HC2", names=names,
                        estimator=name)
        self.att_, self.stderr_ = float(beta[1]), float(np.sqrt(cov[1, 1]))
        self.n_, self.n_treated_ = len(y), int(treated.sum())
        self.diagnostics_.update(cov_type="HC2", n_control=self.n_ - self.n_treated_)

    def _fit_twfe(self, panel: _Panel, name: str) -> None:
        y, d = panel.y, panel.d
        n, T = y.shape
        _check_groups(int(d.any(axis=1).sum()), int((d == 0).any(axis=1).sum()), name,
                      "unit(s) with an untreated period", single_ok=True)
        within = _within

        regs = [d, *np.moveaxis(panel.x, -1, 0)]
        names = ["treatment", *panel.covariates]
        z = np.stack([within(a) for a in regs], axis=-1)                      # (n, T, k)
        for j, nm in enumerate(names):
            if np.sqrt(np.mean(z[..., j] ** 2)) > 1e-10 * max(np.abs(regs[j]).max(), 1.0):
                continue
            if j == 0:
                raise EstimationError(f"{name}: the treatment is absorbed by the unit and period effects "
                                      "(all treated units switch at the same period and no unit stays "
                                      "untreated); add never-treated units or use design='staggered'")
            raise EstimationError(f"{name}: covariate {nm!r} is absorbed by the unit and period effects "
                                  "(constant within units, or within periods); drop it")
        zf, yf = z.reshape(n * T, -1), within(y).reshape(n * T)
        bread = np.linalg.inv(zf.T @ zf)
        beta = bread @ zf.T @ yf
        u = (yf - zf @ beta).reshape(n, T)
        scores = np.einsum("itk,it->ik", z, u)                                # one score per cluster (unit)
        k = zf.shape[1] + T                                                   # + period effects and constant
        c = n / (n - 1) * (n * T - 1) / (n * T - k)
        cov = c * bread @ (scores.T @ scores) @ bread
        self.coef_ = pd.Series(beta, index=names)
        self.att_, self.stderr_ = float(beta[0]), float(np.sqrt(cov[0, 0]))
        self.n_, self.n_treated_ = n, int(d.any(axis=1).sum())
        self.diagnostics_.update(cov_type="CR1", n_clusters=n, n_periods=T)
        if self.n_treated_ == 1:
            self._placebo(panel, name)

    def _placebo(self, panel: _Panel, name: str) -> None:
        """One treated unit: replace the (invalid) cluster-robust inference by placebo inference."""
        treated = int(np.flatnonzero(panel.d.any(axis=1))[0])
        placebos = _placebo_twfe(panel.y, panel.d, panel.x, treated)
        if not np.isfinite(placebos).all():
            raise EstimationError(f"{name}: {int((~np.isfinite(placebos)).sum())} placebo regression(s) are "
                                  "not identified (a covariate is collinear among the control units); drop "
                                  "covariates")
        p, lo, hi = placebo_inference(self.att_, placebos, self.level)
        self.stderr_ = float(placebos.std(ddof=1)) if len(placebos) > 1 else float("nan")
        self.placebo_ = (p, lo, hi, placebos)
        self.diagnostics_.update(
            cov_type="placebo", inference="placebo (permutation over control units)", p_value=p,
            n_placebos=len(placebos), placebo_estimates=placebos, treated_unit=panel.units[treated],
            note=("one treated unit: cluster-robust standard errors are not valid with a single treated "
                  "cluster (Conley and Taber 2011), so inference is by placebo: the treated unit's treatment "
                  "path is given to each control unit in turn (Abadie, Diamond and Hainmueller 2010); the "
                  "p-value is the rank of |estimate| among the |placebo estimates| and the interval inverts "
                  "that test; stderr is the placebo estimates' standard deviation"
                  + ("; too few control units for any rejection at this level: the interval is unbounded"
                     if not np.isfinite(lo) else "")))

    def _fit_staggered(self, panel: _Panel, name: str) -> None:
        panel.check_absorbing(name)
        T = panel.y.shape[1]
        first_all = panel.first_treated()
        keep = first_all > 0                                 # treated from the start: no pre-period
        y, first = panel.y[keep], first_all[keep]
        x = np.column_stack([np.ones(len(y)), panel.x[keep, 0, :]]) if panel.covariates else None
        n = len(y)
        cohorts, sizes = np.unique(first[first < T], return_counts=True)
        never = int((first == T).sum())
        _check_groups(int(sizes.sum()), None, name)
        if (sizes < 2).any():
            g = cohorts[sizes < 2][0]
            raise EstimationError(f"{name}: the cohort first treated in period {_lab(panel.times[g])} has a "
                                  "single unit; group-time DiD needs at least two units per cohort — drop "
                                  f"it or merge it with a neighbouring cohort ({_SYNTH_HINT})")
        if self.control == "never" and never < 2:
            raise EstimationError(f"{name}: control='never' needs at least two never-treated units, found "
                                  f"{never}; use control='notyet' (not-yet-treated units as controls)")
        rows, psis, skipped = [], [], 0
        for g in cohorts:
            treated = first == g
            for t in range(T):
                if t == g - 1:
                    continue
                control = first == T if self.control == "never" else (first > max(t, g - 1)) & (first != g)
                if control.sum() < 2:
                    skipped += 1
                    continue
                att, psi = _cell(y[:, t] - y[:, g - 1], treated, control, x, name)
                rows.append((g, t, att, int(treated.sum()), int(control.sum())))
                psis.append(psi)
        cells = pd.DataFrame(rows, columns=["g", "t", "att", "n_treated", "n_control"])
        psi = np.column_stack(psis) if psis else np.empty((n, 0))
        post = (cells["t"] >= cells["g"]).to_numpy()
        if not post.any():
            raise EstimationError(f"{name}: no post-treatment cell has two comparison units; add "
                                  "never-treated units or use control='notyet'")
        att, g_cell = cells["att"].to_numpy(), cells["g"].to_numpy()
        self.att_, self.stderr_ = _aggregate(att[post], psi[:, post], g_cell[post], first)
        se = np.sqrt((psi**2).sum(axis=0)) / n
        lo, hi = normal_interval(att, se, self.level)
        self.group_time_ = pd.DataFrame({
            "group": panel.times[cells["g"]], "time": panel.times[cells["t"]],
            "event_time": cells["t"] - cells["g"], "att": att, "stderr": se, "ci_low": lo, "ci_high": hi,
            "n_treated": cells["n_treated"], "n_control": cells["n_control"]})
        es = []
        event = (cells["t"] - cells["g"]).to_numpy()
        for e in np.unique(event):
            sel = event == e
            value, s = _aggregate(att[sel], psi[:, sel], g_cell[sel], first)
            es.append((int(e), value, s, *normal_interval(value, s, self.level),
                       int(cells.loc[sel, "n_treated"].sum())))
        self.event_study_ = pd.DataFrame(es, columns=["event_time", "att", "stderr", "ci_low", "ci_high",
                                                      "n"])
        self.n_, self.n_treated_ = n, int(sizes.sum())
        self.diagnostics_.update(control=self.control, aggregation="simple", n_cohorts=len(cohorts),
                                 n_never_treated=never, n_cells=len(cells), n_skipped_cells=skipped,
                                 n_always_treated_dropped=int((~keep).sum()),
                                 estimation="outcome regression" if x is not None else "unconditional")

    # -------------------------------------------------------------------- results
    def att(self) -> Estimate:
        """The average effect on the treated, with a normal interval (a placebo one for one treated unit).

        ``"staggered"``: Callaway and Sant'Anna's simple aggregation (every
        treated unit-period weighs the same).
        """
        self._check_fitted()
        if self.n_treated_ == 1 and getattr(self, "placebo_", None) is not None:
            p, lo, hi, placebos = self.placebo_
            return Estimate(float(self.att_), self.stderr_, lo, hi, self.level,
                            f"DiD({self.design}), placebo inference (permutation over {len(placebos)} "
                            "control units)", self.n_, {**self.diagnostics_, "n_treated": 1})
        return Estimate.normal(self.att_, self.stderr_, method=f"DiD({self.design})", n=self.n_,
                               level=self.level, diagnostics={**self.diagnostics_,
                                                              "n_treated": self.n_treated_})

    def ate(self) -> Estimate:
        """The ATT (see :meth:`att`), labelled ``target="ATT"``.

        DiD identifies effects on the treated only: the never-treated units'
        effects are never contrasted with their counterfactual. This returns
        the ATT so a DiD fits tooling that calls ``ate()``; prefer :meth:`att`.
        """
        est = self.att()
        return Estimate(est.value, est.stderr, est.ci_low, est.ci_high, est.level, est.method + " (ATT)",
                        est.n, {**est.diagnostics, "target": "ATT"})

    def _staggered(self, what: str) -> pd.DataFrame:
        self._check_fitted()
        if self.design != "staggered":
            raise EstimationError(f"DiD: {what}() is available for design='staggered' only "
                                  f"(fitted with design={self.design!r})")
        return getattr(self, f"{what}_").copy()

    def group_time(self) -> pd.DataFrame:
        """Group-time effects: one row per cohort ``group`` (first treated period) and ``time``.

        Columns ``group``, ``time``, ``event_time`` (periods since adoption),
        ``att``, ``stderr``, ``ci_low``, ``ci_high``, ``n_treated``,
        ``n_control``. Rows with ``event_time < -1`` are pre-trend placebo
        cells (true value 0 under parallel trends); ``event_time = -1`` is the
        base period, omitted.
        """
        return self._staggered("group_time")

    def event_study(self) -> pd.DataFrame:
        """Effects by event time ``e = t - g`` (periods), cohorts weighted by size.

        Columns ``event_time``, ``att``, ``stderr``, ``ci_low``, ``ci_high``
        (pointwise, not simultaneous) and ``n`` (treated units contributing).
        """
        return self._staggered("event_study")
