r"""Estimands: how a causal effect is identified, and its plug-in value on data.

:func:`identify` reads a causal graph and returns an :class:`Estimand` for
:math:`P(y \mid do(x))`, trying, in order:

1. **back-door** adjustment [1]_ with a set ``Z`` of minimum size (found by
   max-flow, :func:`~causal.identify.adjustment.minimum_adjustment_set`):
   :math:`\sum_z P(y \mid x, z) P(z)`;
2. **front-door** [1]_ through an inclusion-minimal set ``M`` (found in
   polynomial time, :func:`~causal.identify.adjustment.minimal_frontdoor_set`):
   :math:`\sum_m P(m \mid x) \sum_{x'} P(y \mid m, x') P(x')`;
3. the complete **ID** algorithm [2]_ (:mod:`causal.identify.id_algorithm`);
4. an **instrumental variable** [3]_, unconditional or conditional on ``W``.

All of 1–3 identify the whole interventional distribution with no assumption
beyond the graph; an instrument identifies only the mean effect, and only
under extra assumptions (a constant linear effect), so it is the last resort:
used only when the effect is not identifiable nonparametrically. (Trying it
earlier would, e.g., answer the napkin graph, whose ID formula is exact, with
a conditional instrument.) If nothing applies, :class:`NotIdentifiable` names
the hedge found by ID.

When no outcome is a descendant of a treatment there is no effect to find:
:math:`P(y \mid do(x)) = P(y)`, which is what :func:`identify` returns
(strategy ``"backdoor"`` with the empty set if that set blocks every back-door
path, ``"id"`` otherwise); :attr:`Estimand.no_effect` tells such answers apart.

:meth:`Estimand.evaluate` computes the plug-in estimate on discrete data
(empirical probabilities in the formula); :meth:`Estimand.mean` the mean
:math:`E[Y \mid do(x)]`. Both raise :class:`~causal.errors.EstimationError`
rather than return a meaningless number: when a variable the formula
conditions on or sums over has too many distinct values (continuous data needs
an estimator from :mod:`causal.estimators`; see :meth:`Expression.evaluate`),
and when the identified distribution has no mass at the treatment value (a
value, or a configuration the formula needs, that never occurs in the data).

For an instrument ``Z`` (given ``W``) the effect of a unit change of ``X`` is
the Wald ratio
:math:`\beta = \sum_w P(w) \mathrm{Cov}(Y, Z \mid w) / \sum_w P(w)
\mathrm{Cov}(X, Z \mid w)` — for a binary ``Z`` and no ``W``,
:math:`(E[Y \mid Z=1] - E[Y \mid Z=0]) / (E[X \mid Z=1] - E[X \mid Z=0])` — and
:math:`E[Y \mid do(x)] = E[Y] + \beta (x - E[X])`, which holds when the effect
of ``X`` on ``Y`` is linear and the same for every unit [3]_ [4]_. With
heterogeneous effects and a binary, monotone treatment the ratio is the
complier average effect (LATE) [4]_ instead.

References
----------
.. [1] J. Pearl, "Causal diagrams for empirical research", Biometrika 82(4),
   1995; *Causality*, 2nd ed., 2009, §3.3.
.. [2] I. Shpitser and J. Pearl, "Identification of joint interventional
   distributions in recursive semi-Markovian causal models", AAAI 2006.
.. [3] B. van der Zander, J. Textor and M. Liśkiewicz, "Efficiently finding
   conditional instruments for causal inference", IJCAI 2015.
.. [4] G. W. Imbens and J. D. Angrist, "Identification and estimation of local
   average treatment effects", Econometrica 62(2), 1994.

Examples
--------
>>> from causal.graph import CausalGraph
>>> g = CausalGraph([("age", "treated"), ("age", "recovery"), ("treated", "recovery")])
>>> est = identify(g, "treated", "recovery")
>>> est.strategy, sorted(est.adjustment)
('backdoor', ['age'])
>>> print(est.expression)
sum_{age} P(recovery | treated, age) P(age)
>>> data = pd.DataFrame({"age": [0, 0, 1, 1, 1, 1], "treated": [0, 1, 0, 1, 1, 0],
...                      "recovery": [0, 1, 0, 1, 0, 1]})
>>> est.evaluate(data, 1, 1)
0.6666666666666666
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from causal.errors import CausalSimError, EstimationError
from causal.graph import CausalGraph
from causal.identify.adjustment import (
    Instrument,
    instruments,
    minimal_frontdoor_set,
    minimum_adjustment_set,
)
from causal.identify.expression import (
    Expression,
    PositivityWarning,
    Prob,
    Product,
    Sum,
    natural_key,
    prob,
    product,
    summation,
)
from causal.identify.id_algorithm import HedgeError, check_query, id_algorithm

__all__ = ["Estimand", "Strategy", "identify"]

Strategy = Literal["backdoor", "frontdoor", "iv", "id"]


def _sorted(vs: Iterable[str]) -> list[str]:
    return sorted(vs, key=natural_key)


def _opt_set(v: Any) -> frozenset[str] | None:
    return None if v is None else frozenset([v] if isinstance(v, str) else v)


@dataclass(frozen=True)
class Estimand:
    r"""An identified effect :math:`P(outcome \mid do(treatment))` and how to compute it.

    Attributes
    ----------
    treatment, outcome : frozenset of str
    strategy : {"backdoor", "frontdoor", "iv", "id"}
    adjustment : frozenset of str or None
        The back-door set (``strategy == "backdoor"``).
    frontdoor : frozenset of str or None
        The front-door set (``strategy == "frontdoor"``).
    instrument : Instrument or None
        The instrument and its conditioning set (``strategy == "iv"``).
    expression : str
        The formula, readable.
    formula : Expression or None
        The formula as an expression tree (``None`` for ``"iv"``, whose
        estimand is a ratio of covariances, not a probability formula).
    """

    treatment: frozenset[str]
    outcome: frozenset[str]
    strategy: Strategy
    adjustment: frozenset[str] | None = None
    frontdoor: frozenset[str] | None = None
    instrument: Instrument | None = None
    expression: str = ""
    formula: Expression | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("treatment", "outcome", "adjustment", "frontdoor"):
            object.__setattr__(self, name, _opt_set(getattr(self, name)))
        if not self.treatment or not self.outcome:
            raise CausalSimError("an Estimand needs a non-empty treatment and outcome")
        if self.strategy not in get_args(Strategy):
            raise CausalSimError(f"unknown strategy {self.strategy!r}; use one of "
                                 f"{', '.join(get_args(Strategy))}")
        need = {"backdoor": "adjustment", "frontdoor": "frontdoor", "iv": "instrument"}
        for strategy, attr in need.items():
            if (getattr(self, attr) is not None) != (self.strategy == strategy):
                raise CausalSimError(f"{attr!r} must be given exactly when strategy is "
                                     f"{strategy!r} (strategy is {self.strategy!r})")
        if self.strategy == "iv":
            if len(self.treatment) != 1 or len(self.outcome) != 1:
                raise CausalSimError("an instrumental-variable estimand needs a single "
                                     "treatment and a single outcome")
        elif not isinstance(self.formula, Expression):
            raise CausalSimError(f"strategy {self.strategy!r} needs a formula (an Expression)")
        if not self.expression:
            object.__setattr__(self, "expression", self._describe())

    def _describe(self) -> str:
        if self.formula is not None:
            return self.formula.to_string()
        (x,), (y,) = self.treatment, self.outcome
        z, w = self.instrument.instrument, _sorted(self.instrument.given)
        if not w:
            beta = f"Cov({y}, {z}) / Cov({x}, {z})"
        else:
            ws = ", ".join(w)
            beta = (f"[sum_{{{ws}}} P({ws}) Cov({y}, {z} | {ws})] / "
                    f"[sum_{{{ws}}} P({ws}) Cov({x}, {z} | {ws})]")
        return f"E[{y}] + beta ({x} - E[{x}]), beta = {beta}"

    @property
    def no_effect(self) -> bool:
        """True when the formula does not involve the treatment: ``do(X)`` leaves the outcome's
        distribution as it is (no outcome is a descendant of a treatment).

        >>> from causal.graph import CausalGraph
        >>> identify(CausalGraph.from_string("Y->X; Z->X; Z->Y"), "X", "Y").no_effect
        True
        """
        return self.formula is not None and self.treatment.isdisjoint(self.formula.free_variables())

    @property
    def query(self) -> str:
        """The target, e.g. ``'P(Y | do(X))'``."""
        return f"P({', '.join(_sorted(self.outcome))} | do({', '.join(_sorted(self.treatment))}))"

    def __str__(self) -> str:
        lhs = (f"E[{next(iter(self.outcome))} | do({next(iter(self.treatment))})]"
               if self.strategy == "iv" else self.query)
        return f"{lhs} = {self.expression}"

    # ---------------------------------------------------------------- evaluation
    def _assignment(self, value: Any) -> dict[str, Any]:
        names = _sorted(self.treatment)
        if isinstance(value, Mapping):
            if set(value) != set(names):
                raise CausalSimError(f"treatment_value must set exactly {names}, "
                                     f"got {sorted(value)}")
            return dict(value)
        if len(names) == 1:
            return {names[0]: value}
        if isinstance(value, (tuple, list)) and len(value) == len(names):
            return dict(zip(names, value, strict=True))
        raise CausalSimError(f"treatment_value must be a mapping {{name: value}} or a tuple "
                             f"in the order {names} for treatments {names}")

    def evaluate(self, data: pd.DataFrame, treatment_value: Any, outcome_value: Any = None, *,
                 weights: str | Iterable[float] | None = None) -> pd.Series | float:
        r"""Plug-in estimate of :math:`P(outcome \mid do(treatment = value))` on discrete data.

        Parameters
        ----------
        data : pandas.DataFrame
            Observational data with a column per variable in the formula.
        treatment_value : scalar, tuple or mapping
            The value of ``do(...)``; a mapping or a tuple in sorted name order
            for several treatments.
        outcome_value : scalar, tuple or None
            If given, return the probability of this outcome value.
        weights : str or array-like, optional
            Row weights (see :meth:`Expression.evaluate`).

        Returns
        -------
        pandas.Series or float
            The distribution of the outcome, indexed by its observed values
            (a MultiIndex in sorted name order for several outcomes), or the
            probability of ``outcome_value``. Free context variables of an ID
            formula (whose value does not change the effect) are averaged over
            their observed distribution. For ``"iv"`` only a binary 0/1
            outcome is supported (the linear probability ``P(Y=1) = E[Y]``).

        Raises
        ------
        EstimationError
            If the identified distribution has no mass at ``treatment_value``
            (e.g. a value that never occurs in ``data``), and for the reasons
            of :meth:`Expression.evaluate`, among them a variable with too many
            distinct values for a plug-in estimate (continuous data).

        Warns
        -----
        PositivityWarning
            If a conditioning configuration never occurs in ``data`` (the
            answer then misses the mass of those configurations).
        """
        assignment = self._assignment(treatment_value)
        if self.strategy == "iv":
            (y,) = self.outcome
            if y in data.columns and not set(pd.unique(data[y])) <= {0, 1}:
                raise EstimationError(f"an instrument identifies only the mean effect; the "
                                      f"distribution of {y!r} is available for a 0/1 outcome "
                                      "only — use Estimand.mean")
            m = self.mean(data, treatment_value, weights=weights)
            dist = pd.Series([1.0 - m, m], index=pd.Index([0, 1], name=y), name="P")
        else:
            e = self.formula
            extra = e.free_variables() - self.outcome - self.treatment
            if extra:  # the effect is the same at every value: average over P(extra)
                e = Sum(tuple(extra), Product((e, Prob(tuple(_sorted(extra))))))
            dist, zero_cells = e._evaluate(data, assignment, weights)
            if not isinstance(dist, pd.Series) or set(dist.index.names) != self.outcome:
                raise EstimationError(f"the formula of {self.query} did not yield a "
                                      "distribution over the outcome")
            mass = float(dist.sum())
            if not mass > _NO_MASS:  # all of it lost: an error, not a warning
                raise EstimationError(self._no_mass(data, assignment, weights))
            if zero_cells:
                warnings.warn(PositivityWarning(zero_cells, mass), stacklevel=2)
            if dist.index.nlevels > 1:
                dist = dist.reorder_levels(_sorted(self.outcome))
        if outcome_value is None:
            return dist
        try:
            return float(dist.loc[outcome_value])
        except KeyError:
            return 0.0  # a value never observed has plug-in probability 0

    def _no_mass(self, data: pd.DataFrame, assignment: dict[str, Any], weights: Any) -> str:
        """Why the identified distribution is empty at ``assignment``, and what to change."""
        what = ", ".join(f"{k}={v!r}" for k, v in sorted(assignment.items()))
        cols = [v for v in _sorted(assignment) if v in data.columns]
        hit = (np.ones(len(data), dtype=bool) if weights is None else np.asarray(
            data[weights] if isinstance(weights, str) else weights, dtype=float) > 0)
        for v in cols:
            hit &= (data[v] == assignment[v]).to_numpy()
        if not hit.any():
            seen = "; ".join(f"{v} takes {_some_values(data[v])}" for v in cols)
            head = (f"treatment value {assignment[cols[0]]!r} never occurs" if len(cols) == 1
                    else f"treatment values {what} never occur together")
            return (f"{head} with positive probability in the data ({seen}), so the plug-in "
                    f"estimate of {self.query} there is empty; choose a value that occurs, "
                    "or use an estimator from causal.estimators that extrapolates")
        return (f"the plug-in estimate of {self.query} at {what} is empty: the configurations "
                "of the variables it conditions on that it needs never occur in the data "
                "(positivity violation); choose another treatment value, collect more data, "
                "or use an estimator from causal.estimators")

    def mean(self, data: pd.DataFrame, treatment_value: Any, *,
             weights: str | Iterable[float] | None = None) -> float:
        r"""Plug-in estimate of :math:`E[Y \mid do(treatment = value)]` for one numeric outcome.

        For ``"iv"`` this is :math:`E[Y] + \beta (x - E[X])` with the Wald
        ratio :math:`\beta` (see the module docstring): valid under a constant
        linear effect. Otherwise the mean of :meth:`evaluate`'s distribution,
        which raises :class:`EstimationError` on continuous data or where that
        distribution is empty.
        """
        if len(self.outcome) != 1:
            raise EstimationError(f"mean() needs a single outcome, got {_sorted(self.outcome)}")
        (y,) = self.outcome
        if self.strategy == "iv":
            (x,) = self.treatment
            value = self._assignment(treatment_value)[x]
            return _iv_mean(data, x, y, self.instrument, value, weights)
        dist = self.evaluate(data, treatment_value, weights=weights)
        try:
            return float(np.dot(dist.index.to_numpy(dtype=float), dist.to_numpy()))
        except (TypeError, ValueError):
            raise EstimationError(f"outcome {y!r} is not numeric; use evaluate()") from None


def _iv_mean(data: pd.DataFrame, x: str, y: str, iv: Instrument, value: Any,
             weights: Any) -> float:
    cols = [x, y, iv.instrument, *_sorted(iv.given)]
    if missing := [c for c in cols if c not in data.columns]:
        raise EstimationError(f"columns {missing} are missing from the data")
    try:
        arr = data[[x, y, iv.instrument]].to_numpy(dtype=float)
        value = float(value)
    except (TypeError, ValueError):
        raise EstimationError("instrumental-variable estimation needs numeric treatment, "
                              "outcome and instrument") from None
    w = np.ones(len(data)) if weights is None else np.asarray(
        data[weights] if isinstance(weights, str) else weights, dtype=float)
    groups = (data.groupby(_sorted(iv.given), sort=False).ngroup().to_numpy() if iv.given
              else np.zeros(len(data), dtype=int))
    tot = np.bincount(groups, weights=w)

    def gmean(v: np.ndarray) -> np.ndarray:
        return np.bincount(groups, weights=w * v) / tot

    xs, ys, zs = arr.T
    cov_yz = gmean(ys * zs) - gmean(ys) * gmean(zs)
    cov_xz = gmean(xs * zs) - gmean(xs) * gmean(zs)
    num, den = np.dot(tot, cov_yz) / tot.sum(), np.dot(tot, cov_xz) / tot.sum()
    if not np.isfinite(den) or abs(den) < 1e-12:
        raise EstimationError(f"instrument {iv} does not move {x!r} in the data "
                              "(zero covariance); the Wald ratio is undefined")
    beta = num / den
    return float(np.dot(w, ys) / w.sum() + beta * (value - np.dot(w, xs) / w.sum()))


def _some_values(col: pd.Series, k: int = 6) -> str:
    """``'values 0, 1'``: the first ``k`` distinct values of ``col``, sorted where possible."""
    values = [v.item() if isinstance(v, np.generic) else v for v in pd.unique(col)]
    try:
        values = sorted(values)
    except TypeError:
        values = sorted(values, key=repr)
    more = f", ... ({len(values)} in all)" if len(values) > k else ""
    return "values " + ", ".join(map(repr, values[:k])) + more


# ------------------------------------------------------------------- identify
_NO_MASS = 1e-12  # an identified distribution with at most this total mass is empty


def identify(g: CausalGraph, treatment: str | Iterable[str],
             outcome: str | Iterable[str]) -> Estimand:
    r"""Identify :math:`P(outcome \mid do(treatment))` from the graph ``g``.

    Tries back-door, front-door, the ID algorithm, then an instrument (see the
    module docstring for why in this order). Hidden nodes of ``g`` are never
    used: no returned set contains one. The back-door set is one of minimum
    size, computed directly (polynomial time; see
    :func:`~causal.identify.adjustment.minimum_adjustment_set`). If no outcome
    is a descendant of a treatment, the answer is :math:`P(y)`
    (:attr:`Estimand.no_effect`).

    Parameters
    ----------
    g : CausalGraph
        The causal graph; may have bidirected edges and ``hidden`` nodes.
    treatment, outcome : str or collection of str
        Disjoint, non-empty sets of observed nodes.

    Returns
    -------
    Estimand

    Raises
    ------
    NotIdentifiable
        If no strategy applies; the message names the hedge (two c-forests).
    GraphError
        If a node is unknown or hidden, a set is empty, or they overlap.

    Examples
    --------
    >>> from causal.graph import CausalGraph
    >>> identify(CausalGraph.from_string("X->M->Y; X<->Y"), "X", "Y").strategy
    'frontdoor'
    >>> identify(CausalGraph.from_string("W->Z; Z->X; X->Y; W<->X; W<->Y"), "X", "Y").strategy
    'id'
    >>> print(identify(CausalGraph.from_string("Z->X->Y; X<->Y"), "X", "Y"))
    E[Y | do(X)] = E[Y] + beta (X - E[X]), beta = Cov(Y, Z) / Cov(X, Z)
    >>> print(identify(CausalGraph.from_string("Y->X; X<->Y"), "X", "Y"))
    P(Y | do(X)) = P(Y)
    >>> identify(CausalGraph.from_string("X->Y; X<->Y"), "X", "Y")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    causal.identify.id_algorithm.HedgeError: ... hedge F = {X, Y}, F' = {Y} (line 5 fails); ...
    """
    x, y = check_query(g, treatment, outcome)
    observed = frozenset(g.observed)
    xs, ys = _sorted(x), _sorted(y)
    single = len(x) == 1 and len(y) == 1

    z = minimum_adjustment_set(g, xs, ys)  # observed nodes only
    if g.descendants(x).isdisjoint(y):  # do(X) cannot reach Y: P(y | do(x)) = P(y), which ID returns
        if z == frozenset():
            return Estimand(x, y, "backdoor", adjustment=z, formula=prob(ys))
        return Estimand(x, y, "id", formula=id_algorithm(g, x, y))
    if z is not None:
        formula = summation(z, product(prob(ys, xs + _sorted(z)), prob(_sorted(z))))
        return Estimand(x, y, "backdoor", adjustment=z, formula=formula)

    if single:
        m = minimal_frontdoor_set(g, xs[0], ys[0])  # observed nodes; Y descends from X here
        if m:
            ms = _sorted(m)
            inner = summation(xs, product(prob(ys, ms + xs), prob(xs)))
            formula = summation(ms, product(prob(ms, xs), inner))
            return Estimand(x, y, "frontdoor", frontdoor=m, formula=formula)

    try:
        return Estimand(x, y, "id", formula=id_algorithm(g, x, y))
    except HedgeError as err:
        failure = err

    if single:
        found = [i for i in instruments(g, xs[0], ys[0])
                 if i.instrument in observed and i.given <= observed]
        if found:  # already sorted: unconditional first, then smallest conditioning set
            return Estimand(x, y, "iv", instrument=found[0])
    what = "back-door, front-door set or instrument" if single else "back-door set"
    raise HedgeError(f"{failure}; no {what} exists either", failure.hedge) from None
