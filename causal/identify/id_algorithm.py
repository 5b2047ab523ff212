r"""The complete identification algorithm ID of Shpitser and Pearl (2006).

Given an acyclic directed mixed graph ``G`` over observed variables ``V``
(bidirected edges stand for hidden common causes), ID decides whether the
interventional distribution :math:`P(y \mid do(x))` is a functional of the
observational distribution :math:`P(v)`, and returns that functional when it
is. It recurses on sub-problems, with ``P`` an expression over the current
graph's nodes (Algorithm 1 of [1]_, lines 1–7; ``An`` includes the nodes
themselves, ``C(G)`` are the c-components or districts, ``π`` a topological
order):

1. ``x = ∅``: return :math:`\sum_{v \setminus y} P`.
2. Nodes that are not ancestors of ``y`` are irrelevant: marginalize them out
   and recurse on :math:`G_{An(y)}`.
3. Intervening also on ``w``, the non-ancestors of ``y`` once ``x`` is cut off
   (:math:`G_{\overline X}`), changes nothing (rule 3): add ``w`` to ``x``.
4. If :math:`G \setminus X` has districts :math:`S_1, \dots, S_k`, ``k > 1``:
   :math:`\sum_{v \setminus (y \cup x)} \prod_i ID(s_i, v \setminus s_i)`.
5. With one district ``S``: if ``G`` itself is one district, FAIL — ``G`` and
   ``S`` form a *hedge* (two c-forests ``F ⊋ F'``): no formula exists.
6. If ``S`` is a district of ``G``: :math:`\sum_{s \setminus y}
   \prod_{V_i \in S} P(v_i \mid v_\pi^{(i-1)})`.
7. If ``S ⊊ S'`` for a district ``S'`` of ``G``: recurse on :math:`G_{S'}`
   with :math:`P' = \prod_{V_i \in S'} P(V_i \mid V_\pi^{(i-1)} \cap S',
   v_\pi^{(i-1)} \setminus S')`.

ID is sound and complete [1]_ [2]_: it fails exactly when the effect is not
identifiable. Explicit hidden nodes of ``g`` are projected out first
(:meth:`~causal.graph.CausalGraph.project`), which preserves identifiability.

Variables of the context that line 3 adds to ``x`` can stay free in the
returned formula (e.g. ``Z`` in the napkin example below); its value is the
same for every value of them.

References
----------
.. [1] I. Shpitser and J. Pearl, "Identification of joint interventional
   distributions in recursive semi-Markovian causal models", AAAI 2006,
   pp. 1219–1226.
.. [2] Y. Huang and M. Valtorta, "Pearl's calculus of intervention is
   complete", UAI 2006.
.. [3] J. Tian and J. Pearl, "A general identification condition for causal
   effects", AAAI 2002.
.. [4] I. Shpitser, "When does the ID algorithm fail?", arXiv:2307.03750, 2023
   (the hedge criterion as first stated needs care for sets of treatments).

Examples
--------
The napkin graph (Pearl and Mackenzie 2018):

>>> from causal.graph import CausalGraph
>>> g = CausalGraph.from_string("W->Z; Z->X; X->Y; W<->X; W<->Y")
>>> print(id_algorithm(g, "X", "Y"))
[sum_{W} P(X, Y | W, Z) P(W)] / [sum_{W} P(X | W, Z) P(W)]
>>> try:
...     id_algorithm(CausalGraph.from_string("X->Y; X<->Y"), "X", "Y")
... except NotIdentifiable as err:
...     print(err)
P(Y | do(X)) is not identifiable: hedge F = {X, Y}, F' = {Y} (line 5 fails)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from causal.errors import GraphError, NotIdentifiable
from causal.graph import CausalGraph
from causal.identify.expression import (
    Expression,
    Prob,
    Sum,
    fraction,
    natural_key,
    prob,
    product,
    summation,
)

__all__ = ["id_algorithm", "is_identifiable", "Hedge", "HedgeError", "check_query"]


def _fmt_set(vs: Iterable[str]) -> str:
    return "{" + ", ".join(sorted(vs, key=natural_key)) + "}"


@dataclass(frozen=True)
class Hedge:
    """The structure that makes an effect non-identifiable (Definition 5 of [1]_).

    ``forest`` (``F``) and ``subforest`` (``F'``) are node sets of two c-forests
    with ``F' ⊊ F``: ``F`` is one c-component (connected by bidirected edges),
    ``F'`` too, every node of ``F`` is an ancestor of ``F'`` inside ``F``, and
    ``F`` holds an intervened node while ``F'`` holds none. Two models that
    agree on ``P(v)`` but disagree on the effect can be built on them.

    Examples
    --------
    >>> str(Hedge(frozenset({"X", "Y"}), frozenset({"Y"})))
    "F = {X, Y}, F' = {Y}"
    """

    forest: frozenset[str]
    subforest: frozenset[str]

    def __str__(self) -> str:
        return f"F = {_fmt_set(self.forest)}, F' = {_fmt_set(self.subforest)}"


class HedgeError(NotIdentifiable):
    """:class:`~causal.errors.NotIdentifiable` raised by ID, carrying the :class:`Hedge`."""

    def __init__(self, message: str, hedge: Hedge) -> None:
        super().__init__(message)
        self.hedge = hedge


def check_query(g: CausalGraph, treatment: str | Iterable[str],
                outcome: str | Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Validate a query ``P(outcome | do(treatment))`` on ``g``; return the two node sets.

    Raises
    ------
    GraphError
        If ``g`` is not a CausalGraph, a node is unknown or hidden, a set is
        empty, or treatment and outcome overlap.

    Examples
    --------
    >>> g = CausalGraph.from_string("X->Y")
    >>> check_query(g, "X", ["Y"])
    (frozenset({'X'}), frozenset({'Y'}))
    >>> check_query(g, "X", "X")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    causal.errors.GraphError: treatment and outcome share ['X']; ...
    """
    if not isinstance(g, CausalGraph):
        raise GraphError(f"expected a CausalGraph, got {type(g).__name__}; build one with "
                         "CausalGraph(...) or CausalGraph.from_string(...)")
    sets = []
    for what, vs in (("treatment", treatment), ("outcome", outcome)):
        try:
            s = frozenset([vs] if isinstance(vs, str) else vs)
        except TypeError:
            raise GraphError(f"{what} must be a node name or a collection of names, "
                             f"got {vs!r}") from None
        if not s:
            raise GraphError(f"{what} is empty; name at least one node")
        if unknown := sorted(repr(v) for v in s if v not in g):
            raise GraphError(f"unknown {what} node(s) {', '.join(unknown)}; the graph has "
                             f"nodes {list(g.nodes)}")
        if hid := sorted(s & g.hidden):
            raise GraphError(f"{what} {hid} is hidden; effects are only defined between "
                             "observed variables (make it observed or pick another node)")
        sets.append(s)
    x, y = sets
    if common := x & y:
        raise GraphError(f"treatment and outcome share {sorted(common)}; an effect of a "
                         "variable on itself is not a causal query, make them disjoint")
    return x, y


def _sorted(vs: Iterable[str]) -> list[str]:
    return sorted(vs, key=natural_key)


def _conditional(p: Expression, scope: frozenset[str], v: str,
                 before: Iterable[str]) -> Expression:
    """``P(v | before)`` computed from ``p``, a distribution over ``scope``."""
    before = frozenset(before)
    if isinstance(p, Prob) and frozenset(p.vars) == scope:
        return prob([v], _sorted(before | frozenset(p.given)))
    return fraction(summation(scope - before - {v}, p), summation(scope - before, p))


def _id(y: frozenset[str], x: frozenset[str], p: Expression, g: CausalGraph,
        query: str) -> Expression:
    v = frozenset(g.nodes)
    if not x:  # line 1
        return summation(v - y, p)
    an = y | g.ancestors(y)
    if an != v:  # line 2
        return _id(y, x & an, summation(v - an, p), g.subgraph(an), query)
    w = (v - x) - (y | g.do(x).ancestors(y))
    if w:  # line 3
        return _id(y, x | w, p, g, query)
    districts = g.subgraph(v - x).c_components()
    if len(districts) > 1:  # line 4
        parts = [_id(s, v - s, p, g, query) for s in districts]
        # display: later districts first (as in P(y | x, z) P(z)), nested sums last
        parts = [e for _, e in sorted(enumerate(parts), key=lambda t: (isinstance(t[1], Sum),
                                                                          -t[0]))]
        return summation(v - (y | x), product(*parts))
    (s,) = districts
    whole = g.c_components()
    if len(whole) == 1:  # line 5
        hedge = Hedge(v, s)
        raise HedgeError(f"{query} is not identifiable: hedge {hedge} (line 5 fails)", hedge)
    order = g.topological_order()
    if s in whole:  # line 6
        factors = [_conditional(p, v, vi, order[:i]) for i, vi in enumerate(order) if vi in s]
        return summation(s - y, product(*reversed(factors)))
    (s2,) = [c for c in whole if s < c]  # line 7
    factors = [_conditional(p, v, vi, order[:i]) for i, vi in enumerate(order) if vi in s2]
    return _id(y, x & s2, product(*reversed(factors)), g.subgraph(s2), query)


def id_algorithm(g: CausalGraph, treatment: str | Iterable[str],
                 outcome: str | Iterable[str]) -> Expression:
    r"""Identify :math:`P(outcome \mid do(treatment))` with the ID algorithm.

    Parameters
    ----------
    g : CausalGraph
        The causal graph; hidden nodes are projected out first.
    treatment, outcome : str or collection of str
        Disjoint, non-empty sets of observed nodes ``X`` and ``Y``.

    Returns
    -------
    Expression
        A formula in the observational distribution, simplified. Its free
        variables are ``Y``, (some of) ``X``, and possibly context variables
        on whose values the effect does not depend.

    Raises
    ------
    HedgeError
        (a :class:`~causal.errors.NotIdentifiable`) if the effect is not
        identifiable; the message and ``.hedge`` name the two c-forests.
    GraphError
        On an invalid query (see :func:`check_query`).

    Examples
    --------
    Front-door (Pearl 1995): smoking ``X``, tar ``M``, cancer ``Y``.

    >>> g = CausalGraph.from_string("X->M->Y; X<->Y")
    >>> print(id_algorithm(g, "X", "Y"))
    sum_{M} P(M | X) sum_{X'} P(Y | M, X') P(X')
    >>> print(id_algorithm(CausalGraph.from_string("Z->X->Y; Z->Y"), "X", "Y"))
    sum_{Z} P(Y | X, Z) P(Z)
    """
    x, y = check_query(g, treatment, outcome)
    g = g.project()
    query = f"P({', '.join(_sorted(y))} | do({', '.join(_sorted(x))}))"
    return _id(y, x, prob(_sorted(g.nodes)), g, query)


def is_identifiable(g: CausalGraph, treatment: str | Iterable[str],
                    outcome: str | Iterable[str]) -> bool:
    """Whether :func:`id_algorithm` succeeds.

    >>> is_identifiable(CausalGraph.from_string("X->Y; Z->X; X<->Z"), "X", "Y")
    True
    """
    try:
        id_algorithm(g, treatment, outcome)
    except HedgeError:
        return False
    return True
