r"""Covariate adjustment, front-door sets and instruments, read off a causal graph.

All four questions are reachability questions on a graph derived from ``g``.
Bidirected edges ``a <-> b`` are treated as ``a <- U -> b`` with a fresh latent
``U``, and hidden nodes are ordinary nodes that may never be conditioned on.

* **Back-door** [1]_: ``Z`` is valid for ``(X, Y)`` when no node of ``Z`` is a
  descendant of ``X`` and ``Z`` d-separates ``X`` from ``Y`` in
  :math:`G_{\underline X}` (``G`` without the edges out of ``X``). Then
  :math:`P(y \mid do(x)) = \sum_z P(y \mid x, z) P(z)`.
* **Generalized adjustment** [2]_ [3]_: the same formula holds exactly when
  ``Z`` avoids :math:`\mathrm{Forb}(X, Y)` (``X`` and the descendants of every
  node outside ``X`` on a proper causal path) and blocks every proper
  non-causal path, i.e. d-separates ``X`` and ``Y`` in the proper back-door
  graph (``G`` without the first edge of each proper causal path) [4]_.
* **Front-door** [1]_: ``Z`` intercepts every directed path ``X -> Y``, has no
  open back-door path from ``X``, and ``X`` blocks every back-door path from
  ``Z`` to ``Y``. The sets meeting the last two conditions are closed under
  union, so there is a largest one, and a front-door set exists iff it meets
  the first; an inclusion-minimal one is carved out of it by three graph
  searches [8]_.
* **Instruments** [5]_: ``Z`` is an instrument given ``W`` when ``W`` avoids
  the descendants of ``Y`` and of the causal paths, ``W`` d-separates ``Z``
  from ``Y`` in the proper back-door graph and does not d-separate ``Z`` from
  ``X`` there.

Minimal separators are enumerated with polynomial delay [4]_ [6]_: in the moral
graph of the ancestors of ``X ∪ Y`` (where d-separation becomes vertex
separation), the nodes that may not be adjusted for are eliminated, ``X`` and
``Y`` are merged into two terminals, and Takata's branching lists every
minimal vertex separator, each branch checked non-empty with ``close`` (the
FindMinSep step) before it is entered. There can be exponentially many; one
set of minimum size is a minimum vertex cut between the two terminals of the
same graph, found by max-flow in polynomial time [4]_ [7]_.

References
----------
.. [1] J. Pearl, *Causality*, 2nd ed., Cambridge University Press, 2009, §3.3.
.. [2] I. Shpitser, T. VanderWeele and J. M. Robins, "On the validity of
   covariate adjustment for estimating causal effects", UAI 2010.
.. [3] E. Perković, J. Textor, M. Kalisch and M. H. Maathuis, "Complete
   graphical characterization and construction of adjustment sets in Markov
   equivalence classes of ancestral graphs", JMLR 18(220), 2018.
.. [4] B. van der Zander, M. Liśkiewicz and J. Textor, "Separators and
   adjustment sets in causal graphs: complete criteria and an algorithmic
   framework", Artificial Intelligence 270, 2019 (UAI 2014 for ancestral graphs).
.. [5] B. van der Zander, J. Textor and M. Liśkiewicz, "Efficiently finding
   conditional instruments for causal inference", IJCAI 2015.
.. [6] K. Takata, "Space-optimal, backtracking algorithms to list the minimal
   vertex separators of a graph", Discrete Applied Mathematics 158, 2010.
.. [7] E. Smucler, F. Sapienza and A. Rotnitzky, "Efficient adjustment sets in
   causal graphical models with hidden variables", Biometrika 109(1), 2022.
.. [8] M. Wienöbst, B. van der Zander and M. Liśkiewicz, "Linear-time algorithms
   for front-door adjustment in causal graphs", AAAI 2024 (arXiv:2211.16468).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from causal.errors import CausalSimError, GraphError
from causal.graph import CausalGraph
from causal.identify._separators import (
    SINK,
    SOURCE,
    boundary,
    minimal_separators,
    minimum_separator,
    reach,
    terminal_graph,
)

__all__ = ["Instrument", "adjustment_sets", "frontdoor_sets", "instruments",
           "is_valid_adjustment", "minimal_frontdoor_set", "minimum_adjustment_set"]

_MAX_FRONTDOOR = 20  # candidate nodes searched exhaustively by frontdoor_sets
_MAX_POOL = 25  # candidate nodes for adjustment_sets(minimal=False) without max_size


class _Dag:
    """A DAG view of a :class:`CausalGraph`: ``a <-> b`` becomes ``a <- ("U", a, b) -> b``."""

    __slots__ = ("pa", "ch")

    def __init__(self, pa: dict[Any, set], ch: dict[Any, set]) -> None:
        self.pa, self.ch = pa, ch

    @classmethod
    def of(cls, g: CausalGraph) -> _Dag:
        pa: dict[Any, set] = {v: set() for v in g.nodes}
        ch: dict[Any, set] = {v: set() for v in g.nodes}  # Any: latents are tuples
        for a, b in g.directed_edges:
            pa[b].add(a)
            ch[a].add(b)
        for a, b in g.bidirected_edges:
            u = ("U", a, b)
            pa[u], ch[u] = set(), {a, b}
            pa[a].add(u)
            pa[b].add(u)
        return cls(pa, ch)

    def cut(self, drop: Callable[[Any, Any], bool]) -> _Dag:
        """A copy without the edges ``a -> b`` for which ``drop(a, b)``."""
        return _Dag({v: {p for p in ps if not drop(p, v)} for v, ps in self.pa.items()},
                    {v: {c for c in cs if not drop(v, c)} for v, cs in self.ch.items()})

    def anc(self, vs: Iterable) -> set:  # vs included
        return reach(vs, self.pa)

    def desc(self, vs: Iterable) -> set:  # vs included
        return reach(vs, self.ch)

    def moral(self, nodes: set) -> dict[Any, set]:
        """The moral graph of the subgraph on an ancestral set ``nodes``."""
        adj: dict[Any, set] = {v: set() for v in nodes}
        for v in nodes:
            for p in self.pa[v]:
                adj[v].add(p)
                adj[p].add(v)
            for p, q in itertools.combinations(self.pa[v], 2):
                adj[p].add(q)
                adj[q].add(p)
        return adj

    def dsep(self, xs: Iterable, ys: Iterable, zs: Iterable) -> bool:
        """d-separation by the Bayes-ball reachability of Koller & Friedman (Alg. 3.1)."""
        ys = set(ys)
        return not any(v in ys for v, _ in self.trails(xs, zs))

    def trails(self, xs: Iterable, zs: Iterable) -> Iterator[tuple[Any, bool]]:
        """The states ``(v, up)`` that active trails from ``xs`` given ``zs`` reach, as found.

        ``up``: ``v`` was entered from a child (moving up); otherwise from a
        parent, so the trail read from ``v`` starts with an edge into ``v``.
        """
        zs = set(zs)
        opens = self.anc(zs)  # colliders in here are open
        seen: set = set()
        stack = [(x, True) for x in xs]  # a start may go both ways
        while stack:
            v, up = stack.pop()
            if (v, up) in seen:
                continue
            seen.add((v, up))
            yield v, up
            if v not in zs:
                stack.extend((c, False) for c in self.ch[v])
                if up:
                    stack.extend((p, True) for p in self.pa[v])
            if not up and v in opens:
                stack.extend((p, True) for p in self.pa[v])


def _sort_key(s: frozenset[str]) -> tuple[int, list[str]]:
    return len(s), sorted(s)


# ------------------------------------------------------------------ validation
def _names(g: CausalGraph, vs: Any, what: str) -> frozenset[str]:
    try:
        out = frozenset([vs] if isinstance(vs, str) else vs)
    except TypeError:
        raise GraphError(f"{what} must be a node name or a collection of names, "
                         f"got {vs!r}") from None
    if unknown := sorted(repr(v) for v in out if not (isinstance(v, str) and v in g)):
        raise GraphError(f"unknown {what} node(s) {', '.join(unknown)}; "
                         f"the graph has nodes {list(g.nodes)}")
    return out


def _roles(g: CausalGraph, treatment: Any, outcome: Any) -> tuple[frozenset, frozenset]:
    if not isinstance(g, CausalGraph):
        raise GraphError(f"expected a CausalGraph, got {type(g).__name__}; "
                         "build one with CausalGraph(...) or CausalGraph.from_string(...)")
    xs, ys = _names(g, treatment, "treatment"), _names(g, outcome, "outcome")
    if not xs or not ys:
        raise GraphError("treatment and outcome must each name at least one node")
    if common := xs & ys:
        raise GraphError(f"treatment and outcome share {sorted(common)}; make them disjoint")
    if hid := sorted((xs | ys) & g.hidden):
        raise GraphError(f"treatment/outcome {hid} are hidden nodes; effects are only "
                         "defined between observed variables")
    return xs, ys


def _single(g: CausalGraph, treatment: Any, outcome: Any, fn: str) -> tuple[str, str]:
    xs, ys = _roles(g, treatment, outcome)
    if len(xs) != 1 or len(ys) != 1:
        raise GraphError(f"{fn} needs a single treatment and a single outcome, got "
                         f"{sorted(xs)} and {sorted(ys)}")
    return next(iter(xs)), next(iter(ys))


def _proper_causal(d: _Dag, xs: frozenset, ys: frozenset) -> set:
    r"""Nodes outside ``X`` on proper causal paths: :math:`De_{G_{\overline X}}(X) \cap
    An_{G_{\underline X}}(Y)` minus ``X`` (a path is proper if only its first node is in ``X``)."""
    return (reach(xs, d.ch, avoid=xs) - xs) & reach(ys, d.pa, avoid=xs)


# --------------------------------------------------------------- public API
def _backdoor(g: CausalGraph, xs: frozenset, ys: frozenset) -> tuple[_Dag, set]:
    r""":math:`G_{\underline X}` and the back-door candidates: observed, not ``Y``, not in De(X)."""
    d = _Dag.of(g)
    return d.cut(lambda a, _b: a in xs), set(g.observed) - d.desc(xs) - ys


def _backdoor_terminal_graph(below: _Dag, xs: frozenset, ys: frozenset,
                             pool: set) -> dict[Any, set] | None:
    """The terminal graph whose source-sink separators are the minimal back-door sets."""
    anc = below.anc(xs | ys)
    return terminal_graph(below.moral(anc), xs, ys, pool & anc)


def adjustment_sets(g: CausalGraph, treatment: str | Iterable[str], outcome: str | Iterable[str],
                    minimal: bool = True, max_size: int | None = None) -> list[frozenset[str]]:
    r"""Sets satisfying Pearl's back-door criterion, every inclusion-minimal one by default.

    ``Z`` is valid for ``(X, Y)`` if it holds no descendant of ``X`` and
    d-separates ``X`` from ``Y`` in :math:`G_{\underline X}` [1]_. Candidates
    are observed nodes other than ``X``, ``Y`` and the descendants of ``X``.

    Parameters
    ----------
    g : CausalGraph
    treatment, outcome : str or collection of str
        Disjoint, observed node sets ``X`` and ``Y``.
    minimal : bool
        True: every inclusion-minimal valid set, enumerated with polynomial
        delay on the moral graph of :math:`An(X \cup Y)` in
        :math:`G_{\underline X}` [4]_ [6]_. False: every valid set with at most
        ``max_size`` nodes (exhaustive search).
    max_size : int, optional
        Keep only sets of at most this size. With ``minimal=False`` it
        defaults to 4, and must be given when there are more than 25 candidates.

    Returns
    -------
    list of frozenset of str
        Sorted by (size, sorted names). ``[]``: no valid set (of at most
        ``max_size`` nodes); ``[frozenset()]``: no adjustment needed.

    Raises
    ------
    GraphError
        Unknown, hidden or overlapping treatment/outcome nodes.
    CausalSimError
        ``minimal=False`` over more than 25 candidates without ``max_size``.

    Examples
    --------
    The butterfly: ``M`` is a confounder and a collider at once.

    >>> g = CausalGraph.from_string("A->X; A->M; B->M; B->Y; M->X; M->Y; X->Y")
    >>> [sorted(z) for z in adjustment_sets(g, "X", "Y")]
    [['A', 'M'], ['B', 'M']]
    >>> adjustment_sets(CausalGraph.from_string("X->Y; X<->Y"), "X", "Y")
    []
    """
    xs, ys = _roles(g, treatment, outcome)
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int)
                                 or max_size < 0):
        raise CausalSimError(f"max_size must be a non-negative integer or None, got {max_size!r}")
    below, pool = _backdoor(g, xs, ys)
    if minimal:
        h = _backdoor_terminal_graph(below, xs, ys, pool)
        found = [] if h is None else list(minimal_separators(h))
        if max_size is not None:
            found = [z for z in found if len(z) <= max_size]
        return sorted(found, key=_sort_key)
    if max_size is None:
        if len(pool) > _MAX_POOL:
            raise CausalSimError(f"{len(pool)} candidate nodes for minimal=False; pass "
                                 "max_size= to bound the exhaustive search")
        max_size = 4
    cands = sorted(pool)
    return [frozenset(c) for k in range(min(max_size, len(cands)) + 1)
            for c in itertools.combinations(cands, k) if below.dsep(xs, ys, c)]


def minimum_adjustment_set(g: CausalGraph, treatment: str | Iterable[str],
                           outcome: str | Iterable[str]) -> frozenset[str] | None:
    r"""One back-door set of minimum size, in polynomial time; None if there is none.

    The criterion and the candidates are those of :func:`adjustment_sets`
    (Pearl's back-door criterion; observed non-descendants of ``X``), and the
    result is one of its sets of smallest size, but found without listing
    them, of which there can be exponentially many: a minimum vertex cut
    between ``X`` and ``Y`` in the moral graph of :math:`An(X \cup Y)` in
    :math:`G_{\underline X}`, where the nodes that may not be adjusted for
    (hidden ones, descendants of ``X``) are eliminated so that they cannot be
    cut [4]_. The cut is computed by max-flow, O(k (n + m)) for a set of
    size k. Of several minimum sets, the one nearest to the outcome is
    returned, as in the optimal minimum adjustment set of [7]_ (sets nearer
    to the outcome tend to give the more precise estimates).

    Parameters
    ----------
    g : CausalGraph
    treatment, outcome : str or collection of str
        Disjoint, observed node sets ``X`` and ``Y``.

    Returns
    -------
    frozenset of str or None
        ``frozenset()`` if no adjustment is needed; None if no back-door set
        exists.

    Raises
    ------
    GraphError
        Unknown, hidden or overlapping treatment/outcome nodes.

    Examples
    --------
    Two back-door paths ``X <- A <- B -> Y`` and one through a confounder
    ``C``: one node per path suffices; ``B`` is nearer to ``Y`` than ``A``.

    >>> g = CausalGraph.from_string("B->A->X; B->Y; C->X; C->Y; X->Y")
    >>> sorted(minimum_adjustment_set(g, "X", "Y"))
    ['B', 'C']
    >>> [sorted(z) for z in adjustment_sets(g, "X", "Y")]
    [['A', 'C'], ['B', 'C']]
    >>> minimum_adjustment_set(CausalGraph.from_string("X->Y; X<->Y"), "X", "Y") is None
    True
    """
    xs, ys = _roles(g, treatment, outcome)
    below, pool = _backdoor(g, xs, ys)
    h = _backdoor_terminal_graph(below, xs, ys, pool)
    return None if h is None else minimum_separator(h, SINK, SOURCE)


def is_valid_adjustment(g: CausalGraph, treatment: str | Iterable[str],
                        outcome: str | Iterable[str], z: str | Iterable[str]) -> bool:
    r"""Whether ``z`` is an adjustment set for ``(X, Y)``: the generalized criterion.

    ``Z`` is valid iff :math:`P(y \mid do(x)) = \sum_z P(y \mid x, z) P(z)` in
    every model compatible with ``g`` (hidden nodes and bidirected edges
    included) [2]_ [3]_, which holds iff

    1. ``Z`` has no node of :math:`\mathrm{Forb}(X, Y)`: ``X`` and the
       descendants (in ``G``) of every node outside ``X`` on a proper causal
       path from ``X`` to ``Y``; and
    2. ``Z`` blocks every proper non-causal path, equivalently d-separates
       ``X`` and ``Y`` in the proper back-door graph [4]_.

    Unlike the back-door criterion it admits harmless descendants of ``X``.

    Parameters
    ----------
    g : CausalGraph
    treatment, outcome : str or collection of str
    z : str or collection of str
        Observed nodes, disjoint from treatment and outcome.

    Raises
    ------
    GraphError
        Unknown nodes, overlapping sets, or a hidden node in any of them.

    Examples
    --------
    >>> g = CausalGraph.from_string("X->Y; X->D")
    >>> is_valid_adjustment(g, "X", "Y", {"D"}), adjustment_sets(g, "X", "Y")
    (True, [frozenset()])
    >>> is_valid_adjustment(CausalGraph.from_string("X->M->Y; M->D"), "X", "Y", {"D"})
    False
    """
    xs, ys = _roles(g, treatment, outcome)
    zs = _names(g, z, "z")
    if hid := sorted(zs & g.hidden):
        raise GraphError(f"cannot adjust for hidden nodes {hid}; z must be observed")
    if common := sorted(zs & (xs | ys)):
        raise GraphError(f"z shares {common} with the treatment/outcome; make them disjoint")
    d = _Dag.of(g)
    pcp = _proper_causal(d, xs, ys)
    if not zs.isdisjoint(d.desc(pcp)):
        return False
    return d.cut(lambda a, b: a in xs and b in pcp).dsep(xs, ys, zs)


def frontdoor_sets(g: CausalGraph, treatment: str, outcome: str) -> list[frozenset[str]]:
    r"""Every inclusion-minimal set satisfying Pearl's front-door criterion.

    ``Z`` satisfies it for ``(X, Y)`` when (i) ``Z`` intercepts every
    directed path from ``X`` to ``Y``, (ii) ``X`` and ``Z`` are d-separated in
    :math:`G_{\underline X}` (no open back-door path from ``X`` to ``Z``) and
    (iii) ``Z`` and ``Y`` are d-separated by ``X`` in :math:`G_{\underline Z}`.
    Then :math:`P(y \mid do(x)) = \sum_z P(z \mid x) \sum_{x'} P(y \mid x', z) P(x')` [1]_.

    The search is exhaustive over the observed ancestors of ``Y`` passing
    (ii) on their own (minimal sets lie among them; they need not descend from
    ``X``), smallest sets first, skipping supersets of sets already found.

    Returns
    -------
    list of frozenset of str
        Sorted by (size, sorted names); ``[]`` if none exists;
        ``[frozenset()]`` if ``Y`` is not a descendant of ``X``.

    Raises
    ------
    GraphError
        Bad treatment/outcome (see :func:`adjustment_sets`); not a single pair.
    CausalSimError
        More than 20 candidate nodes.

    Examples
    --------
    Smoking, tar and cancer with an unobserved genotype (Pearl 1995):

    >>> g = CausalGraph.from_string("X->M->Y; X<->Y")
    >>> frontdoor_sets(g, "X", "Y")
    [frozenset({'M'})]
    """
    x, y = _single(g, treatment, outcome, "frontdoor_sets")
    d = _Dag.of(g)
    if y not in d.desc([x]):
        return [frozenset()]
    below = d.cut(lambda a, _b: a == x)
    anc_y = d.anc([y])
    cands = [v for v in sorted(g.observed)
             if v in anc_y and v not in (x, y) and below.dsep([x], [v], ())]
    if len(cands) > _MAX_FRONTDOOR:
        raise CausalSimError(f"{len(cands)} front-door candidates ({cands[:5]}...); the "
                             f"exhaustive search is limited to {_MAX_FRONTDOOR}")
    found: list[frozenset[str]] = []
    for k in range(1, len(cands) + 1):
        for c in itertools.combinations(cands, k):
            zs = frozenset(c)
            if (not any(f <= zs for f in found) and y not in reach([x], d.ch, avoid=zs)
                    and below.dsep([x], zs, ())
                    and d.cut(lambda a, _b, zs=zs: a in zs).dsep(zs, [y], [x])):
                found.append(zs)
    return found


def _largest_frontdoor(d: _Dag, x: str, y: str, allowed: set) -> set:
    r"""The largest subset of ``allowed`` meeting front-door conditions (ii) and (iii) [8]_.

    (ii) holds node by node (d-separation from ``X`` in :math:`G_{\underline X}`
    given nothing). (iii) for ``z`` in ``S`` (``X`` blocks every back-door path
    from ``z`` to ``Y`` in :math:`G_{\underline S}`) only gets easier as ``S``
    grows, so the sets meeting both are closed under union; the largest is the
    fixpoint of dropping, from all candidates, every node that an active trail
    from ``Y`` given ``X`` enters through an arrowhead. Each round is one
    Bayes-ball search, at most one round per node.
    """
    below = d.cut(lambda a, _b: a == x)
    s = set(allowed) - {v for v, _ in below.trails([x], ())}
    while True:
        cut = d.cut(lambda a, _b, s=s: a in s)
        bad = {v for v, up in cut.trails([y], [x]) if not up and v in s}
        if not bad:
            return s
        s -= bad


def _search(d: _Dag, start: Iterable, step: Callable[[str, Any, Any, str], tuple[bool, bool]]
            ) -> set:
    """Nodes yielded by a walk from ``start`` whose moves ``step`` rules on.

    ``step(arrived, v, w, move)``: at ``v``, entered ``"start"``, ``"down"`` (from a
    parent) or ``"up"`` (from a child), may the walk ``move`` (``"down"`` to the
    child ``w``, ``"up"`` to the parent ``w``); returns (continue there, yield ``w``).
    """
    out: set = set()
    seen: set = set()
    stack = [(v, "start") for v in start]
    while stack:
        v, arrived = stack.pop()
        for move, nbrs in (("down", d.ch[v]), ("up", d.pa[v])):
            for w in nbrs:
                go, hit = step(arrived, v, w, move)
                if hit:
                    out.add(w)
                if go and (w, move) not in seen:
                    seen.add((w, move))
                    stack.append((w, move))
    return out


def minimal_frontdoor_set(g: CausalGraph, treatment: str, outcome: str) -> frozenset[str] | None:
    r"""One inclusion-minimal front-door set, in polynomial time; None if there is none.

    The criterion is Pearl's, as in :func:`frontdoor_sets`, whose list holds
    the answer, but no list is made (the exhaustive search behind it is
    exponential in the number of candidates). Following [8]_: the largest set
    ``M`` meeting conditions (ii) and (iii) is a fixpoint of Bayes-ball
    searches, and a front-door set exists iff ``M`` intercepts every directed
    path from ``X`` to ``Y``. Then ``Z_Y``, the nodes of ``M`` with a directed
    path to ``Y`` avoiding ``M``, ``Z_XY``, those of ``Z_Y`` that ``X`` reaches
    by a directed path avoiding ``Z_Y`` (these intercept every causal path),
    plus the nodes of ``Z_Y`` that must be added to block the back-door paths
    of ``Z_XY`` (and of what is added), form an inclusion-minimal front-door set.

    Returns
    -------
    frozenset of str or None
        ``frozenset()`` if ``Y`` is not a descendant of ``X``; None if no
        front-door set exists.

    Raises
    ------
    GraphError
        Bad treatment/outcome (see :func:`adjustment_sets`); not a single pair.

    Examples
    --------
    Either ``M1`` or ``M2`` intercepts the upper path; the one nearer to ``Y`` is kept.

    >>> g = CausalGraph.from_string("X->M1->M2->Y; X->M3->Y; X<->Y")
    >>> sorted(minimal_frontdoor_set(g, "X", "Y")), frontdoor_sets(g, "X", "Y")[0] == {"M1", "M3"}
    (['M2', 'M3'], True)
    >>> minimal_frontdoor_set(CausalGraph.from_string("X->M->Y; X<->M"), "X", "Y") is None
    True
    """
    x, y = _single(g, treatment, outcome, "minimal_frontdoor_set")
    d = _Dag.of(g)
    if y not in d.desc([x]):
        return frozenset()
    m = _largest_frontdoor(d, x, y, set(g.observed) - {x, y})
    if y in reach([x], d.ch, avoid=m):  # (i) fails even for the largest set
        return None

    def to_y(arrived: str, v: Any, w: Any, move: str) -> tuple[bool, bool]:
        return move == "up" and w not in m and w not in (x, y), move == "up" and w in m

    z_y = _search(d, [y], to_y)

    def from_x(arrived: str, v: Any, w: Any, move: str) -> tuple[bool, bool]:
        return move == "down" and w not in z_y and w not in (x, y), move == "down" and w in z_y

    z_xy = _search(d, [x], from_x)

    def blockers(arrived: str, v: Any, w: Any, move: str) -> tuple[bool, bool]:
        if move == "up" and (arrived != "down" or v in z_y):  # chain up, or a new back-door path
            return w != x and w not in z_xy, w in z_y
        if move == "down" and arrived != "start" and v not in z_y:  # fork or chain down
            return w != x, w in z_y
        return False, False

    return frozenset(z_xy | _search(d, z_xy, blockers))


@dataclass(frozen=True)
class Instrument:
    """An instrumental variable, conditional on ``given`` (empty: unconditional).

    Examples
    --------
    >>> str(Instrument("Z", frozenset({"W"}))), str(Instrument("Z"))
    ('Z | W', 'Z')
    """

    instrument: str
    given: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.instrument, str) or not self.instrument:
            raise GraphError(f"instrument must be a node name, got {self.instrument!r}")
        object.__setattr__(self, "given", frozenset(self.given))
        if self.instrument in self.given:
            raise GraphError(f"instrument {self.instrument!r} cannot be in its own 'given' set")

    def __str__(self) -> str:
        return self.instrument + (" | " + ", ".join(sorted(self.given)) if self.given else "")


def _nearest_separator(gc: _Dag, y: str, z: str, allowed: set) -> frozenset[str] | None:
    """The minimal separator of ``y`` and ``z`` inside ``allowed`` nearest to ``y`` [5]_."""
    anc = gc.anc([y, z])
    m = gc.moral(anc)
    near_y = reach([y], m, avoid=allowed & anc)
    if z in near_y:
        return None
    w0 = boundary(m, near_y)
    return frozenset(w0 & boundary(m, reach([z], m, avoid=w0)))


def instruments(g: CausalGraph, treatment: str, outcome: str) -> list[Instrument]:
    r"""Unconditional and conditional instruments for the effect of ``X`` on ``Y``.

    With :math:`G_c` the proper back-door graph (``G`` without the first edge
    of every proper causal path from ``X`` to ``Y``), ``Z`` is an instrument
    given ``W`` [5]_ if

    (a) ``W`` holds only observed nodes, not ``X``, ``Y``, ``Z``, nor any
        descendant of ``Y`` or of a node on a proper causal path;
    (b) ``W`` d-separates ``Z`` and ``Y`` in :math:`G_c`;
    (c) ``W`` does not d-separate ``Z`` and ``X`` in :math:`G_c`.

    ``W = ∅`` is tried first (unconditional instrument). Otherwise ``W`` is
    the minimal separator of ``Y`` and ``Z`` nearest to ``Y`` among
    :math:`An_{G_c}(Y, Z)`: by [5]_ it is a valid ``W`` whenever any ancestral
    one is, so each node is tested in O(n + m). A node that is an instrument
    only given non-ancestral sets (e.g. a collider it shares with ``X``) is not
    listed, but whenever any conditional instrument exists, one is listed [5]_.

    Returns
    -------
    list of Instrument
        Unconditional ones first, then by (size of ``given``, names).

    Raises
    ------
    GraphError
        Bad treatment/outcome (see :func:`adjustment_sets`); not a single pair.

    Examples
    --------
    >>> g = CausalGraph([("W", "Z"), ("Z", "X"), ("X", "Y"), ("W", "U"), ("U", "X"),
    ...                  ("U", "Y")], hidden=["U"])
    >>> [str(i) for i in instruments(g, "X", "Y")]
    ['Z | W']
    """
    x, y = _single(g, treatment, outcome, "instruments")
    d = _Dag.of(g)
    pcp = _proper_causal(d, frozenset([x]), frozenset([y]))
    gc = d.cut(lambda a, b: a == x and b in pcp)
    banned = d.desc(pcp | {y}) | {x}
    allowed = set(g.observed) - banned
    out = []
    for z in g.observed:
        if z in banned:
            continue
        if gc.dsep([z], [y], ()) and not gc.dsep([z], [x], ()):
            out.append(Instrument(z))
            continue
        w = _nearest_separator(gc, y, z, allowed - {z})
        if w is not None and not gc.dsep([z], [x], w):
            out.append(Instrument(z, w))
    return sorted(out, key=lambda i: (len(i.given), sorted(i.given), i.instrument))
