r"""Identify, then estimate: drive an estimator from an identified :class:`~causal.identify.Estimand`.

:func:`causal.identify.identify` answers *whether* and *how* an effect is
identified from a causal graph; :func:`estimate` computes it from data with the
estimator that the identification strategy calls for, so the whole analysis is
one line::

    estimate(data, identify(graph, "treated", "recovery"))

* ``"backdoor"`` — the adjustment set as covariates: ``"aipw"`` (the default
  for a binary treatment), ``"ipw"``, ``"regression"`` (the default for a
  numeric treatment), ``"matching"`` (on the covariates), ``"psm"`` (on the
  propensity score), ``"difference"`` (the default when the set is empty);
* ``"frontdoor"`` — the front-door set as mediators of :class:`FrontDoor`:
  ``"plugin"`` (the default for a binary treatment and discrete mediators) or
  ``"linear"`` (otherwise);
* ``"iv"`` — the instrument, its conditioning set as covariates: ``"2sls"``
  (default) or ``"wald"`` (a binary instrument with no conditioning set);
* ``"id"`` — ``"plugin"``: the ID formula evaluated on discrete data,
  :math:`E[Y \mid do(1)] - E[Y \mid do(0)]` via :meth:`Estimand.mean`, with a
  seeded bootstrap standard error and interval
  (:func:`~causal.estimators.bootstrap.bootstrap`).

A back-door estimand with an empty adjustment set defaults to
``"difference"``. With a numeric (non-binary) treatment, ``"regression"`` is
the least-squares coefficient of the treatment adjusted for the set — the effect
of a unit change if the outcome is linear in it — with HC2 standard errors.
:func:`assume` builds an estimand from roles the analyst asserts instead of a
graph (``--covariates`` and ``--instrument`` of ``causalsim estimate``).

Every :class:`~causal.estimators.base.Estimate` returned carries in its
``diagnostics`` the ``strategy``, the ``estimand`` (its formula) and the sets
used, beside the estimator's own diagnostics (propensity range, first-stage F,
...).

References
----------
J. Pearl (2009), *Causality*, 2nd ed., Cambridge University Press, ch. 3.
I. Shpitser and J. Pearl (2006), "Identification of joint interventional
distributions in recursive semi-Markovian causal models", AAAI.
B. Efron and R. J. Tibshirani (1993), *An Introduction to the Bootstrap*,
Chapman & Hall (the standard error of the plug-in ID estimate).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from causal import CausalGraph, identify
>>> rng = np.random.default_rng(0)
>>> age = rng.normal(size=4000)
>>> treated = rng.binomial(1, 1 / (1 + np.exp(-age)))
>>> df = pd.DataFrame({"age": age, "treated": treated,
...                    "recovery": 2 * treated + age + rng.normal(size=4000)})
>>> g = CausalGraph([("age", "treated"), ("age", "recovery"), ("treated", "recovery")])
>>> est = estimate(df, identify(g, "treated", "recovery"))
>>> est.method, est.diagnostics["strategy"], est.diagnostics["adjustment"]
('AIPW', 'backdoor', ['age'])
>>> bool(est.ci_low < 2 < est.ci_high)
True
>>> estimate(df, identify(g, "treated", "recovery"), "ipw").method
'IPW'
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from causal.errors import CausalSimError, EstimationError
from causal.estimators.base import BaseEstimator, Estimate, check_columns
from causal.estimators.bootstrap import bootstrap
from causal.estimators.frontdoor import FrontDoor
from causal.estimators.iv import TwoStageLeastSquares, Wald
from causal.estimators.matching import CovariateMatching, PropensityMatching
from causal.estimators.simple import DifferenceInMeans, RegressionAdjustment, ols
from causal.estimators.weighting import AIPW, IPW
from causal.identify.adjustment import Instrument
from causal.identify.estimand import Estimand
from causal.identify.expression import natural_key, prob, product, summation

__all__ = ["estimate", "assume", "METHODS", "STRATEGY_METHODS"]

#: Estimator classes by method name: the estimators that take explicit roles
#: (``treatment=``, ``outcome=``, ``covariates=``, ``instrument=``).
METHODS: Mapping[str, type[BaseEstimator]] = MappingProxyType({
    "aipw": AIPW,
    "ipw": IPW,
    "regression": RegressionAdjustment,
    "matching": CovariateMatching,
    "psm": PropensityMatching,
    "difference": DifferenceInMeans,
    "2sls": TwoStageLeastSquares,
    "wald": Wald,
})

#: The methods :func:`estimate` accepts for each identification strategy; the first is the default.
STRATEGY_METHODS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "backdoor": ("aipw", "ipw", "regression", "matching", "psm", "difference"),
    "frontdoor": ("plugin", "linear"),
    "iv": ("2sls", "wald"),
    "id": ("plugin",),
})

_BINARY_ONLY = frozenset({"aipw", "ipw", "matching", "psm", "difference"})
_MAX_LEVELS = 50  # distinct values a variable of an ID formula may take (plug-in needs discrete data)
_MAX_MEDIATOR_LEVELS = 20  # a front-door mediator with at most this many integer values is "discrete"


def _sorted(vs: Iterable[str]) -> list[str]:
    return sorted(vs, key=natural_key)


# ----------------------------------------------------------------------------- public API
def assume(treatment: str, outcome: str, *, adjustment: Iterable[str] | str | None = None,
           instrument: str | None = None, given: Iterable[str] | str = (),
           frontdoor: Iterable[str] | str | None = None) -> Estimand:
    """An :class:`~causal.identify.Estimand` asserted by the analyst instead of derived from a graph.

    Give at most one of ``adjustment`` (a back-door set, the default: empty),
    ``instrument`` (with its conditioning set ``given``) or ``frontdoor`` (a
    front-door set of mediators). The estimand is only as valid as the
    assumption: :func:`causal.identify.identify` checks it against a graph.

    Parameters
    ----------
    treatment, outcome : str
    adjustment : str or iterable of str, optional
        Covariates that block every back-door path.
    instrument : str, optional
        An instrument for the treatment.
    given : str or iterable of str
        Covariates the instrument is conditionally valid given (only with ``instrument``).
    frontdoor : str or iterable of str, optional
        Mediators satisfying the front-door criterion.

    Returns
    -------
    Estimand

    Raises
    ------
    EstimationError
        If more than one strategy is given, ``given`` without ``instrument``,
        or a variable plays two roles.

    Examples
    --------
    >>> print(assume("T", "Y", adjustment=["A", "B"]))
    P(Y | do(T)) = sum_{A, B} P(Y | T, A, B) P(A, B)
    >>> assume("T", "Y", instrument="Z", given="W").instrument
    Instrument(instrument='Z', given=frozenset({'W'}))
    """
    for role, v in (("treatment", treatment), ("outcome", outcome)):
        if not isinstance(v, str) or not v:
            raise EstimationError(f"assume: {role} must be a column name, got {v!r}")
    if treatment == outcome:
        raise EstimationError(f"assume: treatment and outcome are the same column {treatment!r}")
    chosen = [k for k, v in (("adjustment", adjustment), ("instrument", instrument),
                             ("frontdoor", frontdoor)) if v is not None]
    if len(chosen) > 1:
        raise EstimationError(f"assume: give one of adjustment=, instrument= or frontdoor=, not "
                              f"{' and '.join(chosen)}")
    given_set = _set(given)
    if given_set and instrument is None:
        raise EstimationError("assume: given= is the conditioning set of an instrument; pass instrument= too "
                              "(or put the variables in adjustment=)")
    roles = {treatment, outcome}
    sets = {"adjustment": _set(adjustment or ()), "given": given_set, "frontdoor": _set(frontdoor or ()),
            "instrument": frozenset([instrument] if instrument else [])}
    for name, s in sets.items():
        if s & roles:
            raise EstimationError(f"assume: {name} cannot contain the treatment or the outcome "
                                  f"({', '.join(_sorted(s & roles))})")
    if instrument is not None and instrument in given_set:
        raise EstimationError(f"assume: the instrument {instrument!r} cannot be in its own given= set")
    x, y = [treatment], [outcome]
    try:
        if instrument is not None:
            return Estimand(frozenset(x), frozenset(y), "iv", instrument=Instrument(instrument, given_set))
        if frontdoor is not None:
            ms = _sorted(sets["frontdoor"])
            if not ms:
                raise EstimationError("assume: frontdoor= needs at least one mediator")
            inner = summation(x, product(prob(y, ms + x), prob(x)))
            return Estimand(frozenset(x), frozenset(y), "frontdoor", frontdoor=frozenset(ms),
                            formula=summation(ms, product(prob(ms, x), inner)))
        z = _sorted(sets["adjustment"])
        formula = summation(z, product(prob(y, x + z), prob(z)))
        return Estimand(frozenset(x), frozenset(y), "backdoor", adjustment=frozenset(z), formula=formula)
    except EstimationError:
        raise
    except CausalSimError as err:  # a malformed name surfaces from the identify layer
        raise EstimationError(f"assume: {err}") from None


def estimate(data: pd.DataFrame, estimand: Estimand, method: str | None = None, *, level: float = 0.95,
             seed: int | np.random.Generator | None = 0, **options: Any) -> Estimate:
    r"""Estimate the effect identified by ``estimand`` from ``data`` with the matching estimator.

    Parameters
    ----------
    data : pandas.DataFrame
        Observational data with a numeric column for every variable the
        estimand uses.
    estimand : Estimand
        From :func:`causal.identify.identify` (or :func:`assume`); a single
        treatment and a single outcome.
    method : str, optional
        The estimator, among ``STRATEGY_METHODS[estimand.strategy]`` (see the
        module docstring); default the first that fits the data.
    level : float
        Confidence level of the interval.
    seed : int, numpy Generator or None
        Randomness: the cross-fitting folds of ``"aipw"`` (its
        ``random_state``) and the bootstrap of the ``"id"`` plug-in. The same
        seed gives the same estimate.
    **options
        Keyword arguments of the estimator's constructor (e.g.
        ``cross_fit=5``, ``propensity=LogisticRegression()``, ``caliper=0.2``,
        ``cov_type="HC0"``). For the ``"id"`` plug-in: ``reps`` (bootstrap
        replications, default 200), ``interval`` (``"percentile"`` or
        ``"normal"``), ``n_jobs``, ``treat`` and ``control`` (the contrasted
        treatment values, default 1 and 0).

    Returns
    -------
    Estimate
        The estimator's estimate; ``diagnostics`` also holds ``strategy``,
        ``estimand`` (the formula as text) and the sets used (``adjustment``,
        ``frontdoor``, ``instrument`` and ``given``).

    Raises
    ------
    EstimationError
        For a method that does not apply to the strategy (listing those that
        do), an option the estimator does not take, several treatments or
        outcomes, missing or non-numeric columns, a binary-only method on a
        numeric treatment, a non-discrete variable in an ID formula, or any
        failure of the estimator itself.

    Warns
    -----
    OverlapWarning, WeakInstrumentWarning, PositivityWarning
        Passed on from the estimator.

    Examples
    --------
    An instrument found by identification, estimated by 2SLS (true effect 2):

    >>> import numpy as np, pandas as pd
    >>> from causal import CausalGraph, identify
    >>> rng = np.random.default_rng(1)
    >>> u, z = rng.normal(size=(2, 3000))
    >>> x = z + u + rng.normal(size=3000)
    >>> df = pd.DataFrame({"Z": z, "X": x, "Y": 2 * x + 2 * u + rng.normal(size=3000)})
    >>> est = estimate(df, identify(CausalGraph.from_string("Z->X->Y; X<->Y"), "X", "Y"))
    >>> est.method, est.diagnostics["instrument"], bool(est.ci_low < 2 < est.ci_high)
    ('TwoStageLeastSquares', 'Z', True)
    >>> estimate(df, identify(CausalGraph.from_string("Z->X->Y; X<->Y"), "X", "Y"), "aipw")
    Traceback (most recent call last):
    ...
    causal.errors.EstimationError: method 'aipw' does not apply to the 'iv' strategy; use one of: 2sls, ...
    """
    if not isinstance(estimand, Estimand):
        raise EstimationError(f"estimate: estimand must be a causal.identify.Estimand (from identify(...) or "
                              f"assume(...)), got {type(estimand).__name__}")
    if len(estimand.treatment) != 1 or len(estimand.outcome) != 1:
        raise EstimationError(f"estimate: the estimators take a single treatment and a single outcome; "
                              f"the estimand has treatment {_sorted(estimand.treatment)} and outcome "
                              f"{_sorted(estimand.outcome)}")
    if not isinstance(data, pd.DataFrame):
        raise EstimationError(f"estimate: data must be a pandas DataFrame, got {type(data).__name__}")
    strategy = estimand.strategy
    (x,), (y,) = estimand.treatment, estimand.outcome
    if method is not None:
        valid = STRATEGY_METHODS[strategy]
        if not isinstance(method, str) or method not in valid:
            hint = ""
            others = [s for s, ms in STRATEGY_METHODS.items() if method in ms and s != strategy]
            if others:
                hint = f" ({method!r} is for the {' or '.join(repr(s) for s in others)} strategy)"
            raise EstimationError(f"method {method!r} does not apply to the {strategy!r} strategy; use "
                                  f"one of: {', '.join(valid)}{hint}")
    check_columns(data, estimator="estimate", treatment=x, outcome=y, **_role_columns(estimand))
    info: dict[str, Any] = {"strategy": strategy, "estimand": str(estimand)}
    if strategy == "backdoor":
        est = _backdoor(data, estimand, x, y, method, level, seed, options, info)
    elif strategy == "frontdoor":
        est = _frontdoor(data, estimand, x, method, level, options, info)
    elif strategy == "iv":
        est = _iv(data, estimand, x, y, method, level, options, info)
    else:
        est = _id(data, estimand, x, y, level, seed, options, info)
    return dataclasses.replace(est, diagnostics={**est.diagnostics, **info})


# ----------------------------------------------------------------------------- strategies
def _set(v: Iterable[str] | str | None) -> frozenset[str]:
    if v is None:
        return frozenset()
    return frozenset([v] if isinstance(v, str) else v)


def _role_columns(estimand: Estimand) -> dict[str, list[str]]:
    if estimand.strategy == "backdoor":
        return {"adjustment": _sorted(estimand.adjustment)}
    if estimand.strategy == "frontdoor":
        return {"mediators": _sorted(estimand.frontdoor)}
    if estimand.strategy == "iv":
        return {"instrument": [estimand.instrument.instrument], "given": _sorted(estimand.instrument.given)}
    return {"formula": _sorted(estimand.formula.variables() - estimand.treatment - estimand.outcome)}


def _is_binary(col: pd.Series) -> bool:
    values = np.unique(col.to_numpy(dtype=float))
    return len(values) == 2 and bool(np.array_equal(values, [0.0, 1.0]))


def _build(cls: type, method: str, options: Mapping[str, Any], **defaults: Any) -> Any:
    """``cls(**defaults, **options)``, with an unknown option reported as an EstimationError."""
    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise EstimationError(f"method {method!r} ({cls.__name__}) takes no option "
                              f"{', '.join(map(repr, unknown))}; its options: {', '.join(params)}")
    kwargs = {k: v for k, v in defaults.items() if k in params}
    kwargs.update(options)
    return cls(**kwargs)


def _backdoor(data: pd.DataFrame, estimand: Estimand, x: str, y: str, method: str | None, level: float,
              seed: Any, options: Mapping[str, Any], info: dict[str, Any]) -> Estimate:
    z = _sorted(estimand.adjustment)
    info["adjustment"] = z
    binary = _is_binary(data[x])
    if method is None:
        method = "regression" if not binary else ("aipw" if z else "difference")
    if method in _BINARY_ONLY and not binary:
        raise EstimationError(f"method {method!r} needs a binary 0/1 treatment, but {x!r} takes other "
                              "values; use method='regression' (the least-squares effect of a unit change, "
                              "valid when the outcome is linear in the treatment), or recode the treatment")
    if method == "difference" and z:
        raise EstimationError(f"method 'difference' does not adjust for the back-door set "
                              f"{{{', '.join(z)}}}; the difference in means is biased unless the set is "
                              "empty (e.g. a randomised treatment). Use one of: "
                              f"{', '.join(STRATEGY_METHODS['backdoor'][:-1])}")
    if method == "regression" and not binary:
        est = _build(_LinearAdjustment, method, options, level=level)
    else:
        est = _build(METHODS[method], method, options, level=level, random_state=seed)
    return est.fit(data, treatment=x, outcome=y, covariates=z).ate()


def _frontdoor(data: pd.DataFrame, estimand: Estimand, x: str, method: str | None, level: float,
               options: Mapping[str, Any], info: dict[str, Any]) -> Estimate:
    meds = _sorted(estimand.frontdoor)
    info["frontdoor"] = meds
    if method is None:
        discrete = all(_few_integers(data[m], _MAX_MEDIATOR_LEVELS) for m in meds)
        method = "plugin" if _is_binary(data[x]) and discrete else "linear"
    if "kind" in options:
        raise EstimationError("estimate: choose the front-door estimator with method='plugin' or "
                              "'linear', not kind=")
    est = _build(FrontDoor, method, options, level=level, kind=method)
    return est.fit(data, estimand=estimand).ate()


def _iv(data: pd.DataFrame, estimand: Estimand, x: str, y: str, method: str | None, level: float,
        options: Mapping[str, Any], info: dict[str, Any]) -> Estimate:
    iv = estimand.instrument
    given = _sorted(iv.given)
    info["instrument"], info["given"] = iv.instrument, given
    method = method or "2sls"
    if method == "wald" and given:
        raise EstimationError(f"method 'wald' takes no covariates, but the instrument {iv.instrument!r} is "
                              f"valid only given {{{', '.join(given)}}}; use method='2sls'")
    est = _build(METHODS[method], method, options, level=level)
    kwargs = {"covariates": given} if given else {}
    return est.fit(data, treatment=x, outcome=y, instrument=iv.instrument, **kwargs).ate()


def _id(data: pd.DataFrame, estimand: Estimand, x: str, y: str, level: float, seed: Any,
        options: Mapping[str, Any], info: dict[str, Any]) -> Estimate:
    variables = _sorted(estimand.formula.variables() - {y})
    info["formula_variables"] = variables
    for v in variables:
        k = data[v].nunique()
        if k > _MAX_LEVELS:
            raise EstimationError(f"the ID formula is evaluated by plug-in on discrete data, but {v!r} "
                                  f"takes {k} distinct values (at most {_MAX_LEVELS}); discretise it first "
                                  "(e.g. pandas.cut) or estimate with a parametric model")
    boot = {"reps": 200, "interval": "percentile", "n_jobs": 1}
    unknown = sorted(set(options) - set(boot) - {"treat", "control"})
    if unknown:
        raise EstimationError(f"method 'plugin' (ID formula) takes no option "
                              f"{', '.join(map(repr, unknown))}; its options: reps, interval, n_jobs, treat, "
                              "control")
    boot.update({k: v for k, v in options.items() if k in boot})
    plug = _FormulaPlugIn(estimand=estimand, treat=options.get("treat", 1),
                          control=options.get("control", 0), level=level)
    cols = [*variables, y]
    return bootstrap(plug, data[cols], reps=boot["reps"], seed=seed, level=level, n_jobs=boot["n_jobs"],
                     method=boot["interval"], treatment=x, outcome=y)


def _few_integers(col: pd.Series, most: int) -> bool:
    v = col.to_numpy(dtype=float)
    return bool(np.all(v == np.round(v))) and len(np.unique(v)) <= most


# ----------------------------------------------------------------------------- private estimators
class _LinearAdjustment(BaseEstimator):
    """OLS of the outcome on ``[1, treatment, covariates]``: the treatment's coefficient, HC2 errors.

    The effect of a unit change of a numeric treatment when the outcome is
    linear in it (and in the covariates); used by :func:`estimate` for
    ``"regression"`` with a non-binary treatment.
    """

    def __init__(self, cov_type: str = "HC2", level: float = 0.95) -> None:
        self.cov_type = cov_type
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | None = None) -> _LinearAdjustment:
        name = "RegressionAdjustment"
        covs = list(covariates or [])
        frame = check_columns(data, estimator=name, treatment=treatment, outcome=outcome, covariates=covs)
        t = frame[treatment].to_numpy(dtype=float)
        if np.ptp(t) == 0:
            raise EstimationError(f"{name}: the treatment {treatment!r} is constant; there is no contrast")
        X = np.column_stack([np.ones(len(t)), t, frame[covs].to_numpy(dtype=float).reshape(len(t), -1)])
        beta, cov = ols(X, frame[outcome].to_numpy(dtype=float), cov_type=self.cov_type,
                        names=["intercept", treatment, *covs], estimator=name)
        self.ate_, self.stderr_, self.n_ = float(beta[1]), float(np.sqrt(cov[1, 1])), len(t)
        self.fitted_ = True
        return self

    def ate(self) -> Estimate:
        self._check_fitted()
        return Estimate.normal(self.ate_, self.stderr_, method="RegressionAdjustment (linear, per unit)",
                               n=self.n_, level=self.level,
                               diagnostics={"cov_type": self.cov_type, "numeric_treatment": True})


class _FormulaPlugIn(BaseEstimator):
    """``E[Y | do(treat)] - E[Y | do(control)]`` by plug-in of an estimand's formula (bootstrapped)."""

    def __init__(self, estimand: Estimand | None = None, treat: Any = 1, control: Any = 0,
                 level: float = 0.95) -> None:
        self.estimand = estimand
        self.treat = treat
        self.control = control
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str) -> _FormulaPlugIn:
        values = data[treatment].to_numpy()
        for v in (self.treat, self.control):
            if not np.any(values == v):
                raise EstimationError(f"the ID plug-in contrasts {treatment}={self.treat!r} with "
                                      f"{treatment}={self.control!r}, but {v!r} never occurs in the data; "
                                      "pass treat= and control= values that do")
        self.means_ = {v: float(self.estimand.mean(data, v)) for v in (self.treat, self.control)}
        self.ate_ = self.means_[self.treat] - self.means_[self.control]
        if not np.isfinite(self.ate_):
            raise EstimationError("the ID plug-in estimate is not finite; check positivity")
        self.n_ = len(data)
        self.fitted_ = True
        return self

    def ate(self) -> Estimate:
        self._check_fitted()
        return Estimate(self.ate_, float("nan"), float("nan"), float("nan"), self.level,
                        "ID plug-in", self.n_,
                        {"mean_treated": self.means_[self.treat], "mean_control": self.means_[self.control]})

