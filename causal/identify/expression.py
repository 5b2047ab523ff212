r"""Probability expressions: the formulas that identification produces.

An identified causal effect is a *functional* of the observational
distribution, written with four building blocks:

* :class:`Prob` — a conditional probability term ``P(Y, Z | X, W)``;
* :class:`Product` — a product of terms (the empty product is :data:`ONE`);
* :class:`Sum` — a sum of a term over all values of some variables
  (``sum_{Z} ...``); the summed variables are *bound* inside it;
* :class:`Fraction` — a ratio of two terms (``[...] / [...]``).

The tree is immutable and hashable. The smart constructors :func:`prob`,
:func:`product`, :func:`summation` and :func:`fraction` simplify while they
build, with rules that are identities of probability calculus:

* trivial sums and products vanish: ``sum_{} e = e``, ``1 * e = e``;
* marginalization: ``sum_{a} P(a, B | C) = P(B | C)`` when ``a`` occurs in no
  other factor of the summand; ``P( | C) = 1``;
* factors that do not mention a summed variable move out of the sum;
* the chain rule: ``P(A | B, C) P(B | C) = P(A, B | C)``;
* common factors cancel in fractions, and ``P(A, B | C) / P(B | C) = P(A | B, C)``.

Summation binds its variables, so ``P(M | X) sum_{X} P(Y | M, X) P(X)`` is
the front-door formula: the inner ``X`` is a different variable from the free
``X``. :meth:`Expression.to_string` primes such shadowed names
(``sum_{X'} P(Y | M, X') P(X')``).

:meth:`Expression.evaluate` computes the plug-in value on discrete data:
every ``P(A | B)`` becomes an empirical conditional frequency, each sum runs
over the observed values of its variables, all vectorized over dense numpy
tables. A conditional whose conditioning configuration never occurs (a
positivity violation) contributes 0, not NaN, and is counted: a
:class:`PositivityWarning` reports how many such cells were met.

References
----------
.. [1] J. Pearl, *Causality*, 2nd ed., Cambridge University Press, 2009, ch. 3.
.. [2] I. Shpitser and J. Pearl, "Identification of joint interventional
   distributions in recursive semi-Markovian causal models", AAAI 2006.

Examples
--------
>>> e = summation(["Z"], product(prob(["Y"], ["X", "Z"]), prob(["Z"])))
>>> print(e)
sum_{Z} P(Y | X, Z) P(Z)
>>> sorted(e.free_variables())
['X', 'Y']
>>> print(summation(["Y"], product(prob(["Y"], ["X", "W"]), prob(["X"], ["W"]))))
P(X | W)
"""

from __future__ import annotations

import re
import warnings
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from causal.errors import CausalSimError

__all__ = [
    "Expression",
    "Prob",
    "Product",
    "Sum",
    "Fraction",
    "ONE",
    "prob",
    "product",
    "summation",
    "fraction",
    "simplify",
    "natural_key",
    "PositivityWarning",
]


def natural_key(name: str) -> tuple:
    """Sort key that orders ``Z2`` before ``Z10`` (digits compare as numbers).

    >>> sorted(["Z10", "Z2", "A"], key=natural_key)
    ['A', 'Z2', 'Z10']
    """
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"(\d+)", name) if t)


def _names(vs: Iterable[str] | str, what: str) -> tuple[str, ...]:
    vs = (vs,) if isinstance(vs, str) else tuple(vs)
    for v in vs:
        if not isinstance(v, str) or not v:
            raise CausalSimError(f"{what} must be non-empty variable names, got {v!r}")
    if len(set(vs)) != len(vs):
        raise CausalSimError(f"{what} repeat a variable: {list(vs)}")
    return vs


def _fmt(vs: Iterable[str], rename: Mapping[str, str] | None = None) -> str:
    rename = rename or {}
    return ", ".join(rename.get(v, v) for v in vs)


class PositivityWarning(UserWarning):
    """Some conditioning configurations had zero count; their terms were taken as 0.

    ``count`` is the number of such cells met during one evaluation; ``mass``,
    when known, the total probability of the estimated distribution (below 1
    by the mass of those cells).
    """

    def __init__(self, count: int, mass: float | None = None) -> None:
        lost = "" if mass is None else f"; the estimated distribution sums to {mass:.4g}, not 1"
        super().__init__(f"{count} conditioning configuration(s) never occur in the data "
                         f"(positivity violation); their terms were taken as 0{lost}")
        self.count, self.mass = count, mass


class Expression(ABC):
    """Base class of the immutable expression tree."""

    @abstractmethod
    def free_variables(self) -> frozenset[str]:
        """Variables not bound by a sum: the arguments of the formula."""

    @abstractmethod
    def variables(self) -> frozenset[str]:
        """Every variable name that occurs, bound or free."""

    @abstractmethod
    def _render(self, rename: dict[str, str], taken: frozenset[str]) -> str: ...

    def to_string(self) -> str:
        """A readable formula; bound names that shadow outer ones are primed."""
        return self._render({}, self.free_variables())

    def __str__(self) -> str:
        return self.to_string()

    def evaluate(self, data: pd.DataFrame, assignment: Mapping[str, Any] | None = None, *,
                 weights: str | Iterable[float] | None = None) -> float | pd.Series:
        """Plug-in value of the formula on discrete data.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per unit, a column per variable (discrete values).
        assignment : mapping, optional
            Values of free variables. Variables left free are enumerated over
            their observed values.
        weights : str or array-like, optional
            A column name or one non-negative weight per row (e.g. exact
            probabilities of the rows of a probability table).

        Returns
        -------
        float or pandas.Series
            A float when every free variable is assigned; otherwise a Series
            indexed by the observed values of the unassigned free variables.

        Raises
        ------
        EstimationError
            If a variable is missing from ``data`` or has missing values; or,
            checked first, if a variable the formula conditions on or sums
            over has too many distinct values for a plug-in estimate: more than
            50, or, without weights, more than ``max(10, len(data) // 5)``
            (continuous data: discretise it or use :mod:`causal.estimators`).

        Warns
        -----
        PositivityWarning
            If a conditioning configuration never occurs (those terms are 0).

        Examples
        --------
        >>> df = pd.DataFrame({"X": [0, 0, 1, 1], "Y": [0, 1, 1, 1]})
        >>> prob(["Y"], ["X"]).evaluate(df, {"X": 0, "Y": 1})
        0.5
        >>> prob(["Y"], ["X"]).evaluate(df, {"X": 1}).to_dict()
        {0: 0.0, 1: 1.0}
        """
        out, zero_cells = self._evaluate(data, assignment, weights)
        if zero_cells:
            warnings.warn(PositivityWarning(zero_cells), stacklevel=2)
        return out

    def _evaluate(self, data: pd.DataFrame, assignment: Mapping[str, Any] | None,
                  weights: str | Iterable[float] | None) -> tuple[float | pd.Series, int]:
        """:meth:`evaluate` without the warning: the value and the count of zero cells."""
        from causal.identify._plugin import PlugIn, check_discrete  # numerics live apart

        check_discrete(self, data, weighted=weights is not None)
        ev = PlugIn(data, weights)
        out = ev.run(self, dict(assignment or {}))
        return out, ev.zero_cells


def _tuple_eq(a: tuple, b: tuple) -> bool:
    return Counter(a) == Counter(b)


@dataclass(frozen=True, eq=False)
class Prob(Expression):
    """The term ``P(vars | given)``; equality ignores the order of the names.

    Examples
    --------
    >>> str(Prob(("X", "Y"), ("Z",)))
    'P(X, Y | Z)'
    >>> Prob(("X", "Y")) == Prob(("Y", "X"))
    True
    """

    vars: tuple[str, ...]
    given: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "vars", _names(self.vars, "P() variables"))
        object.__setattr__(self, "given", _names(self.given, "P() conditioning variables"))
        if not self.vars:
            raise CausalSimError("P() needs at least one variable; use ONE for P( | ...)")
        if both := set(self.vars) & set(self.given):
            raise CausalSimError(f"P() both on and given {sorted(both)}; make them disjoint")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Prob) and frozenset(self.vars) == frozenset(other.vars)
                and frozenset(self.given) == frozenset(other.given))

    def __hash__(self) -> int:
        return hash(("P", frozenset(self.vars), frozenset(self.given)))

    def free_variables(self) -> frozenset[str]:
        return frozenset(self.vars + self.given)

    variables = free_variables

    def _render(self, rename: dict[str, str], taken: frozenset[str]) -> str:
        cond = f" | {_fmt(self.given, rename)}" if self.given else ""
        return f"P({_fmt(self.vars, rename)}{cond})"


@dataclass(frozen=True, eq=False)
class Product(Expression):
    """A product of factors; equality ignores their order. ``Product(())`` is 1."""

    factors: tuple[Expression, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "factors", tuple(self.factors))
        for f in self.factors:
            if not isinstance(f, Expression):
                raise CausalSimError(f"a product factor must be an Expression, got {f!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Product) and _tuple_eq(self.factors, other.factors)

    def __hash__(self) -> int:
        return hash(("*", frozenset(Counter(self.factors).items())))

    def free_variables(self) -> frozenset[str]:
        return frozenset().union(*(f.free_variables() for f in self.factors))

    def variables(self) -> frozenset[str]:
        return frozenset().union(*(f.variables() for f in self.factors))

    def _render(self, rename: dict[str, str], taken: frozenset[str]) -> str:
        if not self.factors:
            return "1"
        parts = []
        for i, f in enumerate(self.factors):
            s = f._render(rename, taken)
            if isinstance(f, Fraction) or (isinstance(f, Sum) and i < len(self.factors) - 1):
                s = f"({s})" if isinstance(f, Fraction) else f"[{s}]"
            parts.append(s)
        return " ".join(parts)


ONE = Product(())
"""The empty product, the constant 1."""


@dataclass(frozen=True, eq=False)
class Sum(Expression):
    """``sum_{over} body``: the sum of ``body`` over all values of ``over``."""

    over: tuple[str, ...]
    body: Expression

    def __post_init__(self) -> None:
        over = tuple(sorted(_names(self.over, "summation variables"), key=natural_key))
        object.__setattr__(self, "over", over)
        if not isinstance(self.body, Expression):
            raise CausalSimError(f"a sum's body must be an Expression, got {self.body!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sum) and self.over == other.over and self.body == other.body

    def __hash__(self) -> int:
        return hash(("sum", self.over, self.body))

    def free_variables(self) -> frozenset[str]:
        return self.body.free_variables() - frozenset(self.over)

    def variables(self) -> frozenset[str]:
        return self.body.variables() | frozenset(self.over)

    def _render(self, rename: dict[str, str], taken: frozenset[str]) -> str:
        rename, new = dict(rename), []
        avoid = taken | self.variables()
        for v in self.over:
            name = v
            if v in taken:  # shadows a free or an enclosing bound variable: prime it
                while name in avoid:
                    name += "'"
            rename[v] = name
            new.append(name)
        body = self.body._render(rename, taken | frozenset(new))
        return f"sum_{{{', '.join(new)}}} {body}"


@dataclass(frozen=True, eq=False)
class Fraction(Expression):
    """``[numerator] / [denominator]``."""

    numerator: Expression
    denominator: Expression

    def __post_init__(self) -> None:
        for part in (self.numerator, self.denominator):
            if not isinstance(part, Expression):
                raise CausalSimError(f"a fraction's parts must be Expressions, got {part!r}")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Fraction) and self.numerator == other.numerator
                and self.denominator == other.denominator)

    def __hash__(self) -> int:
        return hash(("/", self.numerator, self.denominator))

    def free_variables(self) -> frozenset[str]:
        return self.numerator.free_variables() | self.denominator.free_variables()

    def variables(self) -> frozenset[str]:
        return self.numerator.variables() | self.denominator.variables()

    def _render(self, rename: dict[str, str], taken: frozenset[str]) -> str:
        return (f"[{self.numerator._render(rename, taken)}] / "
                f"[{self.denominator._render(rename, taken)}]")


# ------------------------------------------------------------- smart constructors
def prob(vars: Iterable[str] | str, given: Iterable[str] | str = ()) -> Expression:
    """``P(vars | given)``, or :data:`ONE` when ``vars`` is empty."""
    vars = _names(vars, "P() variables")
    return Prob(vars, tuple(given) if not isinstance(given, str) else (given,)) if vars else ONE


def _factors(e: Expression) -> list[Expression]:
    return list(e.factors) if isinstance(e, Product) else [e]


def _chain_merge(fs: list[Expression]) -> bool:
    """One application of ``P(A | B, C) P(B | C) = P(A, B | C)``; True if applied."""
    for i, f in enumerate(fs):
        if not isinstance(f, Prob):
            continue
        for j, g in enumerate(fs):
            if i == j or not isinstance(g, Prob):
                continue
            b = set(g.vars)
            if b <= set(f.given) and set(f.given) - b == set(g.given):
                fs[i] = Prob(g.vars + f.vars, tuple(v for v in f.given if v not in b))
                del fs[j]
                return True
    return False


def product(*factors: Expression) -> Expression:
    """The product of ``factors``: flattened, 1s dropped, chain rule applied.

    >>> print(product(prob("Y", ["X", "Z"]), ONE, prob("X", "Z")))
    P(X, Y | Z)
    """
    fs = [g for f in factors for g in _factors(f) if g != ONE]
    while _chain_merge(fs):
        pass
    return fs[0] if len(fs) == 1 else Product(tuple(fs))


def summation(over: Iterable[str] | str, body: Expression) -> Expression:
    """``sum_{over} body``, simplified by marginalization and by pulling out factors.

    >>> print(summation(["W", "Y"], product(prob(["X", "Y"], ["W", "Z"]), prob("W"))))
    sum_{W} P(X | W, Z) P(W)
    >>> print(summation("Z", product(prob("X"), prob("Z", "X"))))
    P(X)
    """
    over_set = set(_names(over, "summation variables"))
    while True:
        if isinstance(body, Sum) and over_set.isdisjoint(body.over):
            over_set |= set(body.over)
            body = body.body
        fs, changed = _factors(body), False
        for v in sorted(over_set, key=natural_key):
            hits = [i for i, f in enumerate(fs) if v in f.free_variables()]
            if len(hits) == 1 and isinstance(fs[hits[0]], Prob) and v in fs[hits[0]].vars:
                f = fs[hits[0]]
                fs[hits[0]] = prob([u for u in f.vars if u != v], f.given)
                over_set.discard(v)
                changed = True
        if not changed:
            break
        body = product(*fs)
    if not over_set:
        return product(*fs)
    outside = [f for f in fs if over_set.isdisjoint(f.free_variables())]
    inside = [f for f in fs if not over_set.isdisjoint(f.free_variables())]
    if not inside:  # a sum of a constant: keep it (it counts the summed values)
        return Sum(tuple(over_set), product(*fs))
    return product(*outside, Sum(tuple(over_set), product(*inside)))


def fraction(numerator: Expression, denominator: Expression) -> Expression:
    """``numerator / denominator`` with common factors cancelled.

    >>> print(fraction(product(prob("Y", ["X", "M"]), prob("X")), prob("X")))
    P(Y | X, M)
    >>> print(fraction(prob(["X", "Y"], "Z"), prob("X", "Z")))
    P(Y | X, Z)
    """
    num, den = _factors(numerator), _factors(denominator)
    for f in list(den):
        if f in num:
            num.remove(f)
            den.remove(f)
    numerator, denominator = product(*num), product(*den)
    if denominator == ONE:
        return numerator
    if (isinstance(numerator, Prob) and isinstance(denominator, Prob)
            and set(numerator.given) == set(denominator.given)
            and set(denominator.vars) < set(numerator.vars)):
        rest = tuple(v for v in numerator.vars if v not in denominator.vars)
        return Prob(rest, denominator.vars + numerator.given)
    return Fraction(numerator, denominator)


def simplify(e: Expression) -> Expression:
    """Rebuild ``e`` bottom-up with the simplifying constructors.

    >>> print(simplify(Sum(("Y",), Product((Prob(("Y",), ("X",)), Prob(("X",)))))))
    P(X)
    """
    if isinstance(e, Product):
        return product(*map(simplify, e.factors))
    if isinstance(e, Sum):
        return summation(e.over, simplify(e.body))
    if isinstance(e, Fraction):
        return fraction(simplify(e.numerator), simplify(e.denominator))
    return e
