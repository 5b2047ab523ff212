"""Partially oriented graphs: CPDAGs (PC's output) and PAGs (FCI's output).

A :class:`~causal.graph.CausalGraph` holds one causal model. Discovery from
observational data can only find an *equivalence class* of models, which is
drawn as a graph whose edges carry a *mark* at each end:

* ``-`` (tail), ``>`` (arrowhead), ``o`` (circle: "either, the data cannot tell").

Edge strings read from the first node to the second: ``"->"`` (tail at the
first node, arrowhead at the second), ``"--"`` (undirected), ``"<->"``
(bidirected), ``"o->"``, ``"o-o"``, ``"<-o"``, ``"o--"`` ...

* A **CPDAG** (completed partially directed acyclic graph) has ``->`` and
  ``--`` edges: ``a -> b`` when every DAG of the Markov equivalence class has
  it, ``a -- b`` when some have ``a -> b`` and others ``b -> a`` [1]_.
* A **PAG** (partial ancestral graph) has ``->``, ``<->``, ``o->``, ``o-o``
  (and, with selection bias, ``--``, ``o--``): an arrowhead at ``b`` says that
  ``b`` is not an ancestor of ``a`` in any model of the class, a tail that it
  is in all, a circle that it varies [2]_.

:func:`cpdag` computes the true CPDAG of a DAG (what PC can at best find);
a :class:`PartialGraph` is immutable, like :class:`~causal.graph.CausalGraph`.

References
----------
.. [1] C. Meek, "Causal inference and causal explanation with background
   knowledge", UAI 1995.
.. [2] J. Zhang, "On the completeness of orientation rules for causal discovery
   in the presence of latent confounders and selection bias", Artificial
   Intelligence 172, 2008.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from causal.errors import GraphError
from causal.graph import CausalGraph

__all__ = ["PartialGraph", "cpdag", "TAIL", "ARROW", "CIRCLE"]

#: Integer codes of the endpoint marks in the adjacency matrix ``M``:
#: ``M[i, j]`` is the mark at ``j`` of the edge between ``i`` and ``j`` (0: no edge).
NONE, TAIL, ARROW, CIRCLE = 0, 1, 2, 3
_FIRST = {"-": TAIL, "<": ARROW, "o": CIRCLE}
_LAST = {"-": TAIL, ">": ARROW, "o": CIRCLE}
_SHOW_FIRST = {TAIL: "-", ARROW: "<", CIRCLE: "o"}
_SHOW_LAST = {TAIL: "-", ARROW: ">", CIRCLE: "o"}


def _parse_kind(kind: str) -> tuple[int, int]:
    """``"o->"`` -> (mark at the first node, mark at the second node)."""
    if not isinstance(kind, str) or len(kind) not in (2, 3) or kind[0] not in _FIRST \
            or kind[-1] not in _LAST or (len(kind) == 3 and kind[1] != "-"):
        raise GraphError(f"unknown edge type {kind!r}; use one of '->', '<-', '--', '<->', 'o->', "
                         "'<-o', 'o-o', 'o--', '--o'")
    return _FIRST[kind[0]], _LAST[kind[-1]]


def _show_kind(at_a: int, at_b: int) -> str:
    """(mark at the first node, mark at the second node) -> ``"o->"``."""
    if at_a == TAIL and at_b in (TAIL, ARROW):
        return "--" if at_b == TAIL else "->"
    if at_a == ARROW and at_b == TAIL:
        return "<-"
    return _SHOW_FIRST[at_a] + "-" + _SHOW_LAST[at_b]


class PartialGraph:
    """An immutable graph whose edges carry a tail, arrowhead or circle mark at each end.

    Parameters
    ----------
    nodes : iterable of str
        The nodes, in order.
    edges : iterable of (str, str, str)
        Triples ``(a, b, kind)`` with ``kind`` one of ``"->"``, ``"<-"``,
        ``"--"``, ``"<->"``, ``"o->"``, ``"<-o"``, ``"o-o"``, ``"o--"``,
        ``"--o"``; at most one edge per pair of nodes.

    Raises
    ------
    GraphError
        On an unknown node, a self-loop, two edges between one pair, or an
        unknown edge type.

    Examples
    --------
    >>> g = PartialGraph(["a", "b", "c"], [("a", "b", "o->"), ("c", "b", "<->")])
    >>> g
    PartialGraph(a o-> b, b <-> c)
    >>> g.mark("a", "b"), g.mark("b", "a")
    ('>', 'o')
    >>> g.bidirected_edges
    (('b', 'c'),)
    """

    __slots__ = ("_nodes", "_index", "_m")

    def __init__(self, nodes: Iterable[str], edges: Iterable[tuple[str, str, str]] = ()) -> None:
        nodes = tuple([nodes] if isinstance(nodes, str) else nodes)
        index: dict[str, int] = {}
        for v in nodes:
            if not isinstance(v, str) or not v:
                raise GraphError(f"node names must be non-empty strings, got {v!r}")
            if v in index:
                raise GraphError(f"duplicate node {v!r}; list each node once")
            index[v] = len(index)
        m = np.zeros((len(nodes), len(nodes)), dtype=np.int8)
        for e in edges:
            if isinstance(e, str) or len(e := tuple(e)) != 3:
                raise GraphError(f"malformed edge {e!r}; give (a, b, kind), e.g. ('x', 'y', 'o->')")
            a, b, kind = e
            for v in (a, b):
                if v not in index:
                    raise GraphError(f"edge {e!r} names unknown node {v!r}; add it to nodes")
            if a == b:
                raise GraphError(f"self-loop on {a!r}; remove the edge")
            i, j = index[a], index[b]
            if m[i, j]:
                raise GraphError(f"two edges between {a!r} and {b!r}; keep one")
            m[j, i], m[i, j] = _parse_kind(kind)
        m.setflags(write=False)
        object.__setattr__(self, "_nodes", nodes)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_m", m)

    @classmethod
    def from_matrix(cls, nodes: Iterable[str], m: np.ndarray) -> PartialGraph:
        """Build from a mark matrix: ``m[i, j]`` is the mark at node ``j`` of edge ``i``–``j``.

        Codes: 0 no edge, 1 tail, 2 arrowhead, 3 circle (:data:`TAIL`, :data:`ARROW`, :data:`CIRCLE`).
        """
        nodes = tuple(nodes)
        m = np.asarray(m)
        if m.shape != (len(nodes), len(nodes)) or ((m != 0) != (m.T != 0)).any() or np.diag(m).any() \
                or not np.isin(m, (NONE, TAIL, ARROW, CIRCLE)).all():
            raise GraphError("mark matrix must be square over the nodes, symmetric in which entries are "
                             "non-zero, zero on the diagonal, with codes 0-3")
        i, j = np.nonzero(np.triu(m))
        return cls(nodes, [(nodes[a], nodes[b], _show_kind(int(m[b, a]), int(m[a, b])))
                           for a, b in zip(i, j, strict=True)])

    @classmethod
    def from_causallearn(cls, graph: Any, nodes: Iterable[str]) -> PartialGraph:
        """Convert causal-learn's output (a ``GeneralGraph`` or its ``.graph`` matrix).

        causal-learn stores in ``G[i, j]`` the endpoint *at* ``i`` of the edge
        ``i``–``j``: -1 tail, 1 arrowhead, 2 circle, 0 no edge. Used to compare
        with causal-learn in tests and benchmarks; causal-learn is not imported.

        Examples
        --------
        >>> PartialGraph.from_causallearn(np.array([[0, -1], [1, 0]]), ["a", "b"])
        PartialGraph(a -> b)
        """
        g = np.asarray(getattr(graph, "graph", graph))
        code = {0: NONE, -1: TAIL, 1: ARROW, 2: CIRCLE}
        if g.ndim != 2 or not set(np.unique(g).tolist()) <= set(code):
            raise GraphError("expected a causal-learn graph matrix with entries in {-1, 0, 1, 2}")
        m = np.vectorize(code.__getitem__, otypes=[np.int8])(g).T
        return cls.from_matrix(nodes, m)

    # ----------------------------------------------------------------- structure
    @property
    def nodes(self) -> tuple[str, ...]:
        """The nodes, in order."""
        return self._nodes

    @property
    def matrix(self) -> np.ndarray:
        """A copy of the mark matrix (see :meth:`from_matrix`)."""
        return self._m.copy()

    def _i(self, v: str) -> int:
        try:
            return self._index[v]
        except (KeyError, TypeError):
            raise GraphError(f"unknown node {v!r}; the graph has {list(self._nodes)}") from None

    def _pairs(self, at_a: int, at_b: int) -> tuple[tuple[str, str], ...]:
        m, out = self._m, []
        for i, j in zip(*np.nonzero(m), strict=True):
            if m[j, i] == at_a and m[i, j] == at_b and (at_a != at_b or i < j):
                out.append((self._nodes[i], self._nodes[j]))
        return tuple(sorted(out, key=lambda e: (self._index[e[0]], self._index[e[1]])))

    @property
    def edges(self) -> tuple[tuple[str, str, str], ...]:
        """All edges as ``(a, b, kind)`` with ``a`` before ``b`` in node order."""
        m = self._m
        i, j = np.nonzero(np.triu(m))
        return tuple((self._nodes[a], self._nodes[b], _show_kind(int(m[b, a]), int(m[a, b])))
                     for a, b in zip(i, j, strict=True))

    @property
    def directed_edges(self) -> tuple[tuple[str, str], ...]:
        """Edges ``a -> b`` (tail at ``a``, arrowhead at ``b``) as ``(a, b)``."""
        return self._pairs(TAIL, ARROW)

    @property
    def undirected_edges(self) -> tuple[tuple[str, str], ...]:
        """Edges ``a -- b`` (tails at both ends)."""
        return self._pairs(TAIL, TAIL)

    @property
    def bidirected_edges(self) -> tuple[tuple[str, str], ...]:
        """Edges ``a <-> b`` (arrowheads at both ends)."""
        return self._pairs(ARROW, ARROW)

    @property
    def circle_edges(self) -> tuple[tuple[str, str, str], ...]:
        """Edges with at least one circle mark (``o->``, ``o-o``, ``o--``), as ``(a, b, kind)``."""
        return tuple(e for e in self.edges if "o" in e[2])

    @property
    def adjacencies(self) -> frozenset[frozenset[str]]:
        """The skeleton: each adjacent pair as a frozenset."""
        i, j = np.nonzero(np.triu(self._m))
        return frozenset(frozenset((self._nodes[a], self._nodes[b])) for a, b in zip(i, j, strict=True))

    def adjacent(self, a: str, b: str) -> bool:
        """Whether an edge joins ``a`` and ``b``."""
        return bool(self._m[self._i(a), self._i(b)])

    def mark(self, a: str, b: str) -> str | None:
        """The mark at ``b`` of the edge between ``a`` and ``b`` (``'-'``, ``'>'``, ``'o'``), or ``None``."""
        code = int(self._m[self._i(a), self._i(b)])
        return _SHOW_LAST[code] if code else None

    def neighbors(self, v: str) -> tuple[str, ...]:
        """Nodes adjacent to ``v``, in node order."""
        return tuple(self._nodes[j] for j in np.nonzero(self._m[self._i(v)])[0])

    # ----------------------------------------------------------------- conversion
    def to_causal_graph(self) -> CausalGraph:
        """The :class:`CausalGraph` with the same ``->`` and ``<->`` edges.

        Raises
        ------
        GraphError
            If an undirected edge or a circle mark remains (the class holds more
            than one model: pick an orientation first, e.g. from background
            knowledge), or the directed edges form a cycle.
        """
        open_ = self.undirected_edges + tuple((a, b) for a, b, _ in self.circle_edges)
        if open_:
            a, b = open_[0]
            raise GraphError(f"{len(open_)} edge(s) are not fully oriented (e.g. {a!r} {self._kind(a, b)} "
                             f"{b!r}); orient them (background knowledge, or choose a member of the "
                             "equivalence class) before converting to a CausalGraph")
        return CausalGraph(self.directed_edges, self.bidirected_edges, nodes=self._nodes)

    def _kind(self, a: str, b: str) -> str:
        i, j = self._i(a), self._i(b)
        return _show_kind(int(self._m[j, i]), int(self._m[i, j]))

    @classmethod
    def from_causal_graph(cls, g: CausalGraph) -> PartialGraph:
        """The same graph with marks; hidden nodes are projected out first (``g.project()``)."""
        if not isinstance(g, CausalGraph):
            raise GraphError(f"expected a CausalGraph, got {type(g).__name__}")
        if g.hidden:
            g = g.project()
        return cls(g.nodes, [(a, b, "->") for a, b in g.directed_edges]
                   + [(a, b, "<->") for a, b in g.bidirected_edges])

    def to_dot(self) -> str:
        """Graphviz DOT text; each end drawn as ``arrowhead``/``arrowtail`` normal, none or odot.

        Examples
        --------
        >>> print(PartialGraph(["a", "b"], [("a", "b", "o->")]).to_dot())
        digraph {
          "a";
          "b";
          "a" -> "b" [dir=both, arrowtail=odot, arrowhead=normal];
        }
        """
        def q(v: str) -> str:
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'

        style = {TAIL: "none", ARROW: "normal", CIRCLE: "odot"}
        lines = [f"  {q(v)};" for v in self._nodes]
        for a, b, kind in self.edges:
            ta, hb = _parse_kind(kind)
            lines.append(f"  {q(a)} -> {q(b)} [dir=both, arrowtail={style[ta]}, arrowhead={style[hb]}];")
        return "digraph {\n" + "".join(line + "\n" for line in lines) + "}"

    # ----------------------------------------------------------------- protocol
    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("PartialGraph is immutable; build a new one")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartialGraph) and set(self._nodes) == set(other._nodes) \
            and set(self._canon()) == set(other._canon())

    def _canon(self) -> Iterator[tuple[str, str, str]]:
        for a, b, kind in self.edges:
            if b < a:
                x, y = _parse_kind(kind)
                yield b, a, _show_kind(y, x)
            else:
                yield a, b, kind

    def __hash__(self) -> int:
        return hash((frozenset(self._nodes), frozenset(self._canon())))

    def __repr__(self) -> str:
        flip = {"<-": "->", "<-o": "o->", "o--": "--o"}
        body = ", ".join(f"{b} {flip[k]} {a}" if k in flip else f"{a} {k} {b}" for a, b, k in self.edges)
        lone = [v for v in self._nodes if not self._m[self._index[v]].any()]
        if lone:
            body += ("; " if body else "") + "isolated: " + ", ".join(lone)
        return f"PartialGraph({body})"

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, v: object) -> bool:
        return v in self._index


def cpdag(dag: CausalGraph) -> PartialGraph:
    """The CPDAG of a DAG: its skeleton and v-structures, closed under Meek's rules 1-3.

    This is the best any method that only sees conditional independences
    (PC, GES) can recover; score PC against it. Hidden nodes are not allowed
    (project them out and use a PAG instead).

    Parameters
    ----------
    dag : CausalGraph
        A graph without bidirected edges or hidden nodes.

    Returns
    -------
    PartialGraph
        ``->`` for edges shared by the whole Markov equivalence class, ``--`` for the others.

    Examples
    --------
    >>> cpdag(CausalGraph([("a", "b"), ("b", "c")]))
    PartialGraph(a -- b, b -- c)
    >>> cpdag(CausalGraph([("a", "c"), ("b", "c"), ("c", "d")]))
    PartialGraph(a -> c, b -> c, c -> d)
    """
    from causal.discovery._orient import meek, orient_colliders

    if not isinstance(dag, CausalGraph):
        raise GraphError(f"cpdag expects a CausalGraph, got {type(dag).__name__}")
    if dag.bidirected_edges or dag.hidden:
        raise GraphError("cpdag needs a DAG without bidirected edges or hidden nodes; a graph with hidden "
                         "confounders is described by a PAG (compare FCI's output instead)")
    nodes = dag.nodes
    idx = {v: i for i, v in enumerate(nodes)}
    parents = np.zeros((len(nodes), len(nodes)), dtype=bool)
    for a, b in dag.directed_edges:
        parents[idx[a], idx[b]] = True
    m = np.where(parents | parents.T, TAIL, NONE).astype(np.int8)
    colliders = [(a, c, b) for c in range(len(nodes)) for a in np.nonzero(parents[:, c])[0]
                 for b in np.nonzero(parents[:, c])[0] if a < b and not (parents[a, b] or parents[b, a])]
    orient_colliders(m, colliders)
    meek(m)
    return PartialGraph.from_matrix(nodes, m)
