"""Known designs: small seeded data sets with a known effect, one per identification strategy.

:func:`~causal.estimators.checks.check_estimator` checks each estimator on the
design its identification strategy calls for — back-door adjustment, a
randomised experiment, an instrument, a front-door mediator, a panel with
parallel trends, a single treated unit with a synthetic control — and, for the
estimators of heterogeneous effects, a back-door design whose effect varies
with an effect modifier (:func:`cate_design`, each row's true CATE in
``Design.cate``). In every design the ATE, the ATT and the LATE are equal, so
one ``truth`` serves them all. :data:`DESIGNS` maps each estimator class to
its design; a design of your own is a :class:`Design`.

Examples
--------
>>> d = backdoor_design(seed=0, n=500)
>>> d.truth, d.kind, dict(d.roles)
(2.0, 'backdoor', {'treatment': 't', 'outcome': 'y', 'covariates': ['x1', 'x2']})
>>> from causal.estimators import AIPW
>>> est = d.fit(AIPW()).ate()
>>> bool(est.covers(d.truth))
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators.base import BaseEstimator
from causal.estimators.dml import InteractiveDML, LinearDML, NonParamDML
from causal.estimators.forest import CausalForest
from causal.estimators.frontdoor import FrontDoor
from causal.estimators.iv import TwoStageLeastSquares
from causal.estimators.learners import DRLearner, RLearner, SLearner, TLearner, XLearner
from causal.estimators.matching import CovariateMatching, PropensityMatching
from causal.estimators.panel import DiD
from causal.estimators.simple import DifferenceInMeans, RegressionAdjustment
from causal.estimators.synth import SyntheticControl
from causal.estimators.wald import Wald
from causal.estimators.weighting import AIPW, IPW

__all__ = ["Design", "DESIGNS", "design_for", "backdoor_design", "cate_design", "experiment_design",
           "iv_design", "frontdoor_design", "panel_design", "synth_design"]

Kind = Literal["backdoor", "experiment", "iv", "frontdoor", "panel", "synth"]


@dataclass(frozen=True, eq=False)
class Design:
    """A data set with a known effect, and the roles an estimator is fitted with.

    Attributes
    ----------
    data : pandas.DataFrame
    roles : Mapping
        Keyword arguments of ``fit`` besides the data: ``treatment``, ``outcome``
        and as the strategy needs ``covariates``, ``instrument``, ``mediators``,
        ``unit``, ``time``.
    truth : float
        The effect ``ate()`` estimates (the same for the ATT and the LATE: the
        effect is constant, or varies only with what does not drive the treatment).
    kind : {"backdoor", "experiment", "iv", "frontdoor", "panel", "synth"}
        The identification strategy: which bad-input checks apply (separation
        and overlap for ``"backdoor"``, bad instruments for ``"iv"``).
    name : str
        Shown in failure messages.
    cate : ndarray, optional
        Each row's true conditional effect given the ``effect_modifiers`` role
        (designs for heterogeneous-effect estimators; ``None`` otherwise).
    """

    data: pd.DataFrame
    roles: Mapping[str, Any]
    truth: float
    kind: Kind
    name: str = ""
    cate: np.ndarray | None = None

    @property
    def treatment(self) -> str:
        return self.roles["treatment"]

    @property
    def outcome(self) -> str:
        return self.roles["outcome"]

    def columns(self) -> dict[str, str]:
        """Each column the roles name, with its role (``covariates[0]``, ``instrument``, ...)."""
        out: dict[str, str] = {}
        for role, cols in self.roles.items():
            if isinstance(cols, str):
                out[cols] = role
            elif cols is not None:
                for i, c in enumerate(cols):
                    out[c] = f"{role}[{i}]"
        return out

    def fit(self, est: BaseEstimator, data: pd.DataFrame | None = None, **roles: Any) -> Any:
        """``est.fit(data, **self.roles)``, with ``roles`` replacing some."""
        return est.fit(self.data if data is None else data, **{**self.roles, **roles})


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def backdoor_design(seed: int = 0, n: int = 2000) -> Design:
    """Confounding by ``x1``, ``x2``, a logistic propensity and a linear outcome; effect 2.

    Every back-door estimator's models are correctly specified: ``P(t = 1 | x)
    = sigmoid(0.5 x1 - 0.5 x2)`` (between 0.1 and 0.9 for nearly all units),
    ``y = 1 + 2 t + x1 - 0.5 x2 + N(0, 1)``: both covariates bias the naive
    difference upwards (by about 0.5).
    """
    rng = np.random.default_rng(seed)
    x1, x2, e = rng.normal(size=(3, n))
    t = (rng.random(n) < _sigmoid(0.5 * x1 - 0.5 * x2)).astype(int)
    y = 1 + 2.0 * t + x1 - 0.5 * x2 + e
    return Design(pd.DataFrame({"x1": x1, "x2": x2, "t": t, "y": y}),
                  {"treatment": "t", "outcome": "y", "covariates": ["x1", "x2"]}, 2.0, "backdoor", "backdoor")


def cate_design(seed: int = 0, n: int = 2000) -> Design:
    """Confounding by ``x1``, ``x2`` as in :func:`backdoor_design`; the effect ``2 + x3`` varies with ``x3``.

    ``P(t = 1 | x) = sigmoid(0.5 x1 - 0.5 x2)``, ``y = 1 + x1 - 0.5 x2 + 0.5 x3
    + (2 + x3) t + N(0, 1)`` with ``x1, x2, x3`` independent standard normals.
    Roles: covariates ``x1, x2``, effect modifier ``x3``. The effect modifier
    does not drive the treatment, so the ATE and the ATT are both 2; the true
    CATE of each row, ``2 + x3``, is ``Design.cate`` (the PEHE of the constant
    predictor 2 is the standard deviation of ``x3``, about 1).
    """
    rng = np.random.default_rng(seed)
    x1, x2, x3, e = rng.normal(size=(4, n))
    t = (rng.random(n) < _sigmoid(0.5 * x1 - 0.5 * x2)).astype(int)
    tau = 2.0 + x3
    y = 1 + x1 - 0.5 * x2 + 0.5 * x3 + tau * t + e
    roles = {"treatment": "t", "outcome": "y", "covariates": ["x1", "x2"], "effect_modifiers": ["x3"]}
    data = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "t": t, "y": y})
    return Design(data, roles, 2.0, "backdoor", "cate", tau)


def experiment_design(seed: int = 0, n: int = 2000) -> Design:
    """A randomised experiment: ``t ~ Bernoulli(0.5)``, ``y = 1 + 2 t + x + N(0, 1)``; effect 2."""
    rng = np.random.default_rng(seed)
    x, e = rng.normal(size=(2, n))
    t = rng.integers(0, 2, n)
    return Design(pd.DataFrame({"x": x, "t": t, "y": 1 + 2.0 * t + x + e}),
                  {"treatment": "t", "outcome": "y"}, 2.0, "experiment", "experiment")


def iv_design(seed: int = 0, n: int = 2000, covariates: bool = True, binary: bool = False) -> Design:
    """A binary instrument ``z``, a hidden confounder ``u``; a constant effect 2 (a strong first stage).

    ``t = z + 0.5 w + u + N(0, 1)`` (``binary``: ``t = 1[z + 0.5 w + u + N(0, 1) > 0.5]``),
    ``y = 2 t + w + 1.5 u + N(0, 1)``; with ``covariates`` the exogenous ``w``
    is a role, else ``w`` is left out (it is independent of ``z``, so the
    instrument stays valid without it).
    """
    rng = np.random.default_rng(seed)
    u, w, e1, e2 = rng.normal(size=(4, n))
    z = rng.integers(0, 2, n)
    t = z + 0.5 * w + u + e1
    if binary:
        t = (t > 0.5).astype(int)
    y = 2.0 * t + w + 1.5 * u + e2
    roles: dict[str, Any] = {"treatment": "t", "outcome": "y", "instrument": "z"}
    if covariates:
        roles["covariates"] = ["w"]
    return Design(pd.DataFrame({"z": z, "w": w, "t": t, "y": y}), roles, 2.0, "iv", "iv")


def frontdoor_design(seed: int = 0, n: int = 2000, discrete: bool = False) -> Design:
    """A hidden ``u`` confounds ``x`` and ``y``; ``x`` acts through the mediator ``m`` only.

    Linear (default): ``x = u + N``, ``m = 0.7 x + N``, ``y = 0.5 m + u + N``;
    effect 0.35. ``discrete``: binary ``u``, ``x``, ``m``, ``y`` with
    ``P(m | x) = 0.2 or 0.75`` and ``P(y | m, u) = 0.1 + 0.4 m + 0.4 u``; effect
    ``0.55 * 0.4 = 0.22``.
    """
    rng = np.random.default_rng(seed)
    if discrete:
        u = rng.random(n) < 0.5
        x = (rng.random(n) < np.where(u, 0.8, 0.2)).astype(int)
        m = (rng.random(n) < np.where(x == 1, 0.75, 0.2)).astype(int)
        y = (rng.random(n) < 0.1 + 0.4 * m + 0.4 * u).astype(int)
        truth = 0.55 * 0.4
    else:
        u, e1, e2, e3 = rng.normal(size=(4, n))
        x = u + e1
        m = 0.7 * x + e2
        y = 0.5 * m + u + e3
        truth = 0.7 * 0.5
    return Design(pd.DataFrame({"x": x, "m": m, "y": y}),
                  {"treatment": "x", "outcome": "y", "mediators": ["m"]}, truth, "frontdoor", "frontdoor")


def panel_design(seed: int = 0, n_units: int = 200, periods: int = 6) -> Design:
    """Staggered adoption under parallel trends, effect 2 in every treated period.

    Units adopt at period 2 or 4, or never (a third each); ``y = a_i + 0.5 t +
    2 d + N(0, 1)`` with unit levels ``a_i`` that differ by cohort. With
    ``periods=2`` half the units are treated in period 1 (a 2x2 design).
    """
    rng = np.random.default_rng(seed)
    if periods == 2:
        first = np.where(rng.random(n_units) < 0.5, 1, 99)
    else:
        first = rng.choice([2, 4, 99], size=n_units)
    unit, time = np.repeat(np.arange(n_units), periods), np.tile(np.arange(periods), n_units)
    level = rng.normal(size=n_units) + (first < 99)
    d = (time >= first[unit]).astype(int)
    y = level[unit] + 0.5 * time + 2.0 * d + rng.normal(size=n_units * periods)
    return Design(pd.DataFrame({"unit": unit, "time": time, "d": d, "y": y}),
                  {"outcome": "y", "unit": "unit", "time": "time", "treatment": "d"}, 2.0, "panel", "panel")


def synth_design(seed: int = 0, donors: int = 40, periods: int = 20, start: int = 14) -> Design:
    """One treated unit, a convex combination of donors before ``start``; effect 3 from ``start`` on.

    Donors follow two factors, ``y_jt = a_j + b_j f_t + g_j h_t + N(0, 0.1²)``;
    the treated unit is ``0.5, 0.3, 0.2`` of the first three donors' noiseless
    paths plus its own noise, and 3 more once treated.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(periods)
    f, h = np.sin(t / 3.0) + t / 10, np.cos(t / 4.0)
    a, b, g = rng.normal(size=(3, donors))
    clean = a[:, None] + b[:, None] * f + g[:, None] * h
    y0 = clean + 0.1 * rng.normal(size=clean.shape)
    treated = 0.5 * clean[0] + 0.3 * clean[1] + 0.2 * clean[2] + 0.1 * rng.normal(size=periods)
    treated = treated + 3.0 * (t >= start)
    ys = np.vstack([y0, treated])
    units = np.arange(donors + 1)
    d = np.zeros_like(ys, dtype=int)
    d[-1, start:] = 1
    df = pd.DataFrame({"unit": np.repeat(units, periods), "time": np.tile(t, donors + 1),
                       "d": d.ravel(), "y": ys.ravel()})
    roles = {"outcome": "y", "unit": "unit", "time": "time", "treatment": "d"}
    return Design(df, roles, 3.0, "synth", "synth")


def _did_design(est: DiD, seed: int) -> Design:
    return panel_design(seed, periods=2) if est.design == "2x2" else panel_design(seed)


def _frontdoor(est: FrontDoor, seed: int) -> Design:
    return frontdoor_design(seed, n=4000, discrete=True) if est.kind == "plugin" else frontdoor_design(seed)


def _cate(est: Any, seed: int) -> Design:
    # 1,000 units: a CATE estimator fits several models per fit, and the checks fit about 30 times; the
    # PEHE of the constant ATE is about 1 against 0.1-0.4 for the learners (default or linear models)
    return cate_design(seed, n=1000)


#: The known design of each estimator class: ``factory(estimator, seed) -> Design``.
DESIGNS: Mapping[type, Callable[[Any, int], Design]] = MappingProxyType({
    DifferenceInMeans: lambda est, seed: experiment_design(seed),
    RegressionAdjustment: lambda est, seed: backdoor_design(seed),
    IPW: lambda est, seed: backdoor_design(seed),
    AIPW: lambda est, seed: backdoor_design(seed),
    PropensityMatching: lambda est, seed: backdoor_design(seed),
    CovariateMatching: lambda est, seed: backdoor_design(seed),
    TwoStageLeastSquares: lambda est, seed: iv_design(seed),
    Wald: lambda est, seed: iv_design(seed, covariates=False, binary=True),
    FrontDoor: _frontdoor,
    DiD: _did_design,
    SyntheticControl: lambda est, seed: synth_design(seed),
    # heterogeneous effects: the effect 2 + x3 (LinearDML's theta is linear in x3, so it is well specified)
    SLearner: _cate,
    TLearner: _cate,
    XLearner: _cate,
    DRLearner: _cate,
    RLearner: _cate,
    LinearDML: _cate,
    NonParamDML: _cate,
    CausalForest: _cate,
    InteractiveDML: lambda est, seed: backdoor_design(seed),  # the ATE and ATT only: no effect modifiers
})


def design_for(est: Any, seed: int = 0) -> Design:
    """The known design of ``est`` (by its class, or the nearest registered base class).

    Raises
    ------
    EstimationError
        When no design is registered for the estimator's class; pass ``design=`` to
        :func:`check_estimator` instead.
    """
    for cls in type(est).__mro__:
        if cls in DESIGNS:
            return DESIGNS[cls](est, seed)
    raise EstimationError(f"check_estimator: no known design for {type(est).__name__}; pass "
                          "design=Design(data, roles, truth, kind), e.g. backdoor_design(seed) for an "
                          "estimator that adjusts for covariates")
