"""Causal graphs: directed acyclic graphs with bidirected (confounding) edges.

A :class:`CausalGraph` is an acyclic directed mixed graph (ADMG). A directed
edge ``a -> b`` says that ``a`` is a direct cause of ``b``; a bidirected edge
``a <-> b`` says that ``a`` and ``b`` share an unobserved common cause, i.e. it
stands for ``a <- U_ab -> b`` with a fresh latent ``U_ab``. Unobserved
variables can also be kept as explicit ``hidden`` nodes; :meth:`CausalGraph.project`
turns them into bidirected edges (the latent projection).

d-separation
------------
d-separation reads conditional independences off a graph. A path between
``x`` and ``y`` (a sequence of adjacent nodes, edge directions ignored) is
*blocked* by a set ``Z`` if it has an intermediate node ``v`` such that either

* ``v`` is a *non-collider* on the path (``-> v ->``, ``<- v <-`` or
  ``<- v ->``) and ``v`` is in ``Z``; or
* ``v`` is a *collider* (``-> v <-``; arrowheads of bidirected edges count)
  and neither ``v`` nor any of its descendants is in ``Z``.

``X`` and ``Y`` are d-separated by ``Z`` when every path between a node of
``X`` and a node of ``Y`` is blocked. In any distribution that factorizes
along the graph (the Markov condition), d-separation implies conditional
independence ``X ⟂ Y | Z``. With bidirected edges this is m-separation, which
equals d-separation in the DAG where each ``a <-> b`` is replaced by
``a <- U_ab -> b``; that is how it is computed here, with
:func:`networkx.is_d_separator` (a linear-time reachability algorithm).

References
----------
.. [1] J. Pearl, *Causality*, 2nd ed., Cambridge University Press, 2009, §1.2.3.
.. [2] T. S. Verma and J. Pearl, "Equivalence and synthesis of causal models",
   UAI 1990 (latent projection).
.. [3] J. Tian and J. Pearl, "A general identification condition for causal
   effects", AAAI 2002 (c-components, projection).
.. [4] T. S. Richardson, "Markov properties for acyclic directed mixed graphs",
   Scandinavian Journal of Statistics 30(1), 2003 (m-separation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import Any

import networkx as nx

from causal.errors import GraphError

__all__ = ["CausalGraph"]

Names = str | Iterable[str]


def _check_name(v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise GraphError(f"node names must be non-empty strings, got {v!r}; rename the node")
    return v


def _pairs(edges: Iterable[Any], kind: str) -> list[tuple[str, str]]:
    out = []
    for e in edges:
        if isinstance(e, str) or not isinstance(e, Iterable) or len(e := tuple(e)) != 2:
            raise GraphError(f"malformed {kind} edge {e!r}; give each edge as a pair (a, b)")
        a, b = _check_name(e[0]), _check_name(e[1])
        if a == b:
            raise GraphError(f"self-loop {a!r} in {kind} edges; remove the edge ({a!r}, {b!r})")
        out.append((a, b))
    return out


class CausalGraph:
    """An immutable acyclic directed mixed graph with optional hidden nodes.

    Parameters
    ----------
    directed : iterable of (str, str)
        Directed edges ``(cause, effect)``.
    bidirected : iterable of (str, str)
        Pairs with an unobserved common cause (order within a pair is irrelevant).
    nodes : iterable of str
        Extra (e.g. isolated) nodes; they come first in :attr:`nodes`.
    hidden : iterable of str
        Explicit unobserved nodes; each must be a node of the graph.

    Raises
    ------
    GraphError
        On a directed cycle, a self-loop, a duplicate name in ``nodes``, a
        hidden name that is not a node, a non-string or empty name, or an edge
        that is not a pair.

    Examples
    --------
    >>> g = CausalGraph([("z", "x"), ("z", "y"), ("x", "y")], bidirected=[("x", "y")])
    >>> g
    CausalGraph(3 nodes, 3 directed, 1 bidirected, 0 hidden)
    >>> g.nodes, sorted(g.parents("y")), sorted(g.spouses("x"))
    (('z', 'x', 'y'), ['x', 'z'], ['y'])
    >>> g.d_separated("z", "y", given="x")
    False
    """

    def __init__(self, directed: Iterable[tuple[str, str]] = (),
                 bidirected: Iterable[tuple[str, str]] = (), nodes: Iterable[str] = (),
                 hidden: Iterable[str] = ()) -> None:
        order: dict[str, int] = {}
        for v in [nodes] if isinstance(nodes, str) else nodes:
            if _check_name(v) in order:
                raise GraphError(f"duplicate node {v!r} in nodes; list each node once")
            order[v] = len(order)
        d_edges, b_edges = _pairs(directed, "directed"), _pairs(bidirected, "bidirected")
        for a, b in d_edges + b_edges:
            order.setdefault(a, len(order))
            order.setdefault(b, len(order))
        hidden = frozenset(map(_check_name, [hidden] if isinstance(hidden, str) else hidden))
        if unknown := sorted(hidden - order.keys()):
            raise GraphError(f"hidden nodes {unknown} are not nodes of the graph; add them first")
        dag = nx.DiGraph()
        dag.add_nodes_from(order)
        dag.add_edges_from(d_edges)
        try:
            cycle = nx.find_cycle(dag)
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle:
            path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
            raise GraphError(f"directed cycle {path}; remove one of its edges")
        self._index = order
        self._dag = dag
        self._bidirected = frozenset(frozenset(e) for e in b_edges)
        self._hidden = hidden

    # ----------------------------------------------------------------- structure
    @cached_property
    def nodes(self) -> tuple[str, ...]:
        """All nodes: ``nodes`` argument first, then by first appearance in edges."""
        return tuple(self._index)

    @cached_property
    def observed(self) -> tuple[str, ...]:
        """The nodes that are not hidden, in node order."""
        return tuple(v for v in self._index if v not in self._hidden)

    @property
    def hidden(self) -> frozenset[str]:
        """The explicit unobserved nodes."""
        return self._hidden

    @cached_property
    def directed_edges(self) -> tuple[tuple[str, str], ...]:
        """Directed edges ``(cause, effect)``, sorted by node order."""
        return tuple(sorted(self._dag.edges, key=lambda e: (self._index[e[0]], self._index[e[1]])))

    @cached_property
    def bidirected_edges(self) -> tuple[tuple[str, str], ...]:
        """Bidirected edges, each pair and the list sorted by node order."""
        pairs = (tuple(sorted(p, key=self._index.__getitem__)) for p in self._bidirected)
        return tuple(sorted(pairs, key=lambda e: (self._index[e[0]], self._index[e[1]])))

    def _set(self, vs: Names) -> frozenset[str]:
        try:
            out = frozenset([vs] if isinstance(vs, str) else vs)
        except TypeError:
            raise GraphError(f"expected a node name or a collection of names, got {vs!r}") from None
        for v in out:
            if v not in self._index:
                raise GraphError(f"unknown node {v!r}; the graph has nodes {list(self._index)}")
        return out

    def _one(self, v: str) -> str:
        if not isinstance(v, str):
            raise GraphError(f"expected one node name, got {v!r}")
        (v,) = self._set(v)
        return v

    def parents(self, v: str) -> frozenset[str]:
        """Direct causes of ``v``."""
        return frozenset(self._dag.pred[self._one(v)])

    def children(self, v: str) -> frozenset[str]:
        """Direct effects of ``v``."""
        return frozenset(self._dag.succ[self._one(v)])

    @cached_property
    def _spouse_map(self) -> dict[str, frozenset[str]]:
        out: dict[str, set[str]] = {v: set() for v in self._index}
        for a, b in self.bidirected_edges:
            out[a].add(b)
            out[b].add(a)
        return {v: frozenset(s) for v, s in out.items()}

    def spouses(self, v: str) -> frozenset[str]:
        """Nodes joined to ``v`` by a bidirected edge."""
        return self._spouse_map[self._one(v)]

    def _reach(self, vs: Names, adj: Any) -> frozenset[str]:
        start = self._set(vs)
        seen, stack = set(start), list(start)
        while stack:
            for w in adj[stack.pop()]:
                if w not in seen:
                    seen.add(w)
                    stack.append(w)
        return frozenset(seen - start)

    def ancestors(self, vs: Names) -> frozenset[str]:
        """Nodes with a directed path into ``vs``, excluding ``vs`` themselves."""
        return self._reach(vs, self._dag.pred)

    def descendants(self, vs: Names) -> frozenset[str]:
        """Nodes reachable by a directed path from ``vs``, excluding ``vs`` themselves."""
        return self._reach(vs, self._dag.succ)

    @cached_property
    def _topological(self) -> tuple[str, ...]:
        return tuple(nx.lexicographical_topological_sort(self._dag, key=self._index.__getitem__))

    def topological_order(self) -> tuple[str, ...]:
        """A topological order; ties are broken by node order, so it is deterministic.

        Examples
        --------
        >>> CausalGraph([("b", "c"), ("a", "c")], nodes=["a"]).topological_order()
        ('a', 'b', 'c')
        """
        return self._topological

    def c_components(self) -> list[frozenset[str]]:
        """Districts: connected components over bidirected edges, ordered by first node.

        Examples
        --------
        >>> g = CausalGraph([("x", "m"), ("m", "y")], bidirected=[("x", "y")])
        >>> [sorted(c) for c in g.c_components()]
        [['x', 'y'], ['m']]
        """
        ug = nx.Graph()
        ug.add_nodes_from(self._index)
        ug.add_edges_from(tuple(p) for p in self._bidirected)
        return sorted(map(frozenset, nx.connected_components(ug)),
                      key=lambda c: min(map(self._index.__getitem__, c)))

    # -------------------------------------------------------------- d-separation
    @cached_property
    def _augmented(self) -> nx.DiGraph:
        # Latent nodes are tuples, so they never collide with (string) node names.
        g = self._dag.copy()
        for a, b in self.bidirected_edges:
            g.add_edges_from([(("U", a, b), a), (("U", a, b), b)])
        return g

    def d_separated(self, xs: Names, ys: Names, given: Names = ()) -> bool:
        """Whether ``xs`` and ``ys`` are d-separated (m-separated) by ``given``.

        See the module docstring for the definition. Bidirected edges count as
        ``a <- U -> b`` with a fresh latent ``U``.

        Parameters
        ----------
        xs, ys, given : str or collection of str
            Pairwise disjoint node sets (a single name is a one-node set).

        Raises
        ------
        GraphError
            If a node is unknown or the sets overlap.

        Examples
        --------
        >>> g = CausalGraph([("a", "c"), ("b", "c"), ("c", "d")])
        >>> g.d_separated("a", "b"), g.d_separated("a", "b", given="d")
        (True, False)
        >>> CausalGraph([("c", "b")], bidirected=[("a", "b")]).d_separated("a", "c")
        True
        """
        x, y, z = self._set(xs), self._set(ys), self._set(given)
        for (n1, s1), (n2, s2) in [(("xs", x), ("ys", y)), (("xs", x), ("given", z)),
                                   (("ys", y), ("given", z))]:
            if common := s1 & s2:
                raise GraphError(f"{n1} and {n2} share {sorted(common)}; make the sets disjoint")
        return nx.is_d_separator(self._augmented, set(x), set(y), set(z))

    # -------------------------------------------------------- derived graphs
    def _new(self, directed: Iterable, bidirected: Iterable, keep: Iterable[str] | None = None,
             hidden: Iterable[str] | None = None) -> CausalGraph:
        keep = self.nodes if keep is None else [v for v in self._index if v in frozenset(keep)]
        return CausalGraph(directed, bidirected, nodes=keep,
                           hidden=self._hidden.intersection(keep) if hidden is None else hidden)

    def subgraph(self, vs: Names) -> CausalGraph:
        """The subgraph induced by ``vs`` (edges and hidden flags among ``vs`` kept)."""
        s = self._set(vs)
        return self._new([e for e in self.directed_edges if s.issuperset(e)],
                         [e for e in self.bidirected_edges if s.issuperset(e)], keep=s)

    def do(self, xs: Names) -> CausalGraph:
        r"""The mutilated graph :math:`G_{\overline X}`: edges *into* ``xs`` removed.

        Both incoming directed edges and bidirected edges touching ``xs`` go,
        as an intervention cuts ``xs`` off from all its causes, latent ones too.

        Examples
        --------
        >>> CausalGraph([("z", "x"), ("x", "y")], bidirected=[("x", "y")]).do("x")
        CausalGraph(3 nodes, 1 directed, 0 bidirected, 0 hidden)
        """
        s = self._set(xs)
        return self._new([e for e in self.directed_edges if e[1] not in s],
                         [e for e in self.bidirected_edges if s.isdisjoint(e)])

    def remove_outgoing(self, xs: Names) -> CausalGraph:
        r"""The graph :math:`G_{\underline X}`: directed edges *out of* ``xs`` removed."""
        s = self._set(xs)
        return self._new([e for e in self.directed_edges if e[0] not in s], self.bidirected_edges)

    def project(self, keep: Names | None = None) -> CausalGraph:
        """Latent projection onto ``keep`` (default: the observed nodes).

        With ``L`` the projected-out nodes, the result has

        * ``a -> b`` iff ``G`` has a directed path ``a -> ... -> b`` whose
          intermediate nodes are all in ``L``;
        * ``a <-> b`` iff ``a`` and ``b`` have a common ancestor in ``L``
          through paths inside ``L``, or a bidirected edge joins
          ``{a} ∪ An_L(a)`` and ``{b} ∪ An_L(b)``, where ``An_L(v)`` are the
          ancestors of ``v`` along paths inside ``L``.

        The projection preserves d-separation among the kept nodes and the
        identifiability of effects between them [2]_ [3]_. It has no hidden nodes.

        Examples
        --------
        >>> g = CausalGraph([("x", "h"), ("h", "y"), ("u", "x"), ("u", "y")], hidden=["h", "u"])
        >>> p = g.project()
        >>> p.directed_edges, p.bidirected_edges
        ((('x', 'y'),), (('x', 'y'),))
        """
        kept = self._set(self.observed if keep is None else keep)
        latent = frozenset(self._index) - kept
        up = {v: [p for p in self._dag.pred[v] if p in latent] for v in self._index}
        down = {v: [c for c in self._dag.succ[v] if c in latent] for v in self._index}
        directed, below = set(), {v: set() for v in self._index}
        for a in kept:
            # a -> b iff b is a child of a, or of a latent node reached from a inside L
            via = {a} | self._reach(a, down)
            directed.update((a, b) for w in via for b in self._dag.succ[w] if b in kept)
            for u in {a} | self._reach(a, up):  # u in {a} ∪ An_L(a)
                below[u].add(a)
        confounded = [(u, u) for u in latent] + [tuple(p) for p in self._bidirected]
        bidirected = {(a, b) for u, w in confounded for a in below[u] for b in below[w] if a != b}
        return self._new(directed, bidirected, keep=kept, hidden=())

    # ------------------------------------------------------------------ interop
    def to_networkx(self) -> nx.DiGraph:
        """A new ``networkx.DiGraph``: node attribute ``hidden``, graph attribute ``bidirected``."""
        g = nx.DiGraph(bidirected=list(self.bidirected_edges))
        g.add_nodes_from((v, {"hidden": v in self._hidden}) for v in self._index)
        g.add_edges_from(self.directed_edges)
        return g

    @classmethod
    def from_networkx(cls, g: nx.DiGraph) -> CausalGraph:
        """Inverse of :meth:`to_networkx`; any plain acyclic ``nx.DiGraph`` also works.

        Examples
        --------
        >>> CausalGraph.from_networkx(nx.DiGraph([("a", "b")])).directed_edges
        (('a', 'b'),)
        """
        if not isinstance(g, nx.DiGraph):
            raise GraphError(f"expected a networkx.DiGraph, got {type(g).__name__}")
        return cls(g.edges, g.graph.get("bidirected", ()), nodes=g.nodes,
                   hidden=[v for v, h in g.nodes(data="hidden") if h])

    def to_dot(self) -> str:
        """Graphviz DOT text: bidirected edges ``dir=both, style=dashed``, hidden nodes dashed.

        Examples
        --------
        >>> print(CausalGraph([("a", "b")], [("a", "c")], hidden=["c"]).to_dot())
        digraph {
          "a";
          "b";
          "c" [style=dashed];
          "a" -> "b";
          "a" -> "c" [dir=both, style=dashed];
        }
        """
        def q(v: str) -> str:
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'

        lines = [f"  {q(v)}" + (" [style=dashed];" if v in self._hidden else ";")
                 for v in self._index]
        lines += [f"  {q(a)} -> {q(b)};" for a, b in self.directed_edges]
        lines += [f"  {q(a)} -> {q(b)} [dir=both, style=dashed];" for a, b in self.bidirected_edges]
        return "digraph {\n" + "".join(line + "\n" for line in lines) + "}"

    @classmethod
    def from_dot(cls, text: str) -> CausalGraph:
        """Parse the simple subset of DOT that :meth:`to_dot` writes and people type.

        Understood: optional ``strict``, ``digraph [NAME] {...}``, node
        statements, edge chains ``a -> b -> c``, attribute lists, ``node [...]``
        / ``edge [...]`` defaults, graph attributes (ignored), ``;`` or
        newlines, and ``//``, ``/* */`` and ``#`` comments. An edge with
        ``dir=both`` is bidirected; a node with ``style=dashed`` is hidden.

        Raises
        ------
        GraphError
            On anything else, with the line number.

        Examples
        --------
        >>> CausalGraph.from_dot('digraph G { rankdir=LR; x -> m -> y; x -> y [dir=both] }')
        CausalGraph(3 nodes, 2 directed, 1 bidirected, 0 hidden)
        """
        return _DotParser(text).parse()

    @classmethod
    def from_string(cls, text: str) -> CausalGraph:
        """Parse the compact syntax ``"X->Y; Z->X; Z->Y; X<->Y"``.

        Statements are separated by ``;`` or newlines; each is a node name or
        a chain of names joined by ``->``, ``<-`` or ``<->``. Names are word
        characters (and dots), or double-quoted.

        Examples
        --------
        >>> g = CausalGraph.from_string("Z -> X -> Y; Z -> Y\\nX <-> Y; W")
        >>> g.nodes, g.bidirected_edges
        (('Z', 'X', 'Y', 'W'), (('X', 'Y'),))
        """
        directed, bidirected, nodes = [], [], {}
        for frag in re.findall(r'(?:"(?:[^"\\]|\\.)*"|[^;\n"]|")+', text):
            toks = re.findall(r'\s*(<->|->|<-|"(?:[^"\\]|\\.)*"|[\w.]+|\S)', frag)
            frag = frag.strip()
            if not frag:
                continue
            names = [_unquote(t) for t in toks[::2]]
            arrows = toks[1::2]
            if (len(toks) % 2 == 0 or any(a not in ("->", "<-", "<->") for a in arrows)
                    or not all(re.fullmatch(r'[\w.]+|".*"', t, re.S) for t in toks[::2])):
                raise GraphError(f"cannot parse fragment {frag!r}; write e.g. 'X -> Y', 'X <-> Y'")
            nodes.update(dict.fromkeys(names))
            for a, arrow, b in zip(names, arrows, names[1:], strict=False):
                {"->": directed, "<-": directed, "<->": bidirected}[arrow].append(
                    (b, a) if arrow == "<-" else (a, b))
        return cls(directed, bidirected, nodes=nodes)

    # ----------------------------------------------------------------- dunders
    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_"):
            raise AttributeError(f"CausalGraph is immutable; cannot set {name!r}. Derive a new "
                                 "graph with do(), subgraph(), project() or the constructor")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"CausalGraph is immutable; cannot delete {name!r}")
    def _key(self) -> tuple:
        return (frozenset(self._index), frozenset(self._dag.edges), self._bidirected, self._hidden)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CausalGraph) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"CausalGraph({len(self._index)} nodes, {self._dag.number_of_edges()} directed, "
                f"{len(self._bidirected)} bidirected, {len(self._hidden)} hidden)")

    def __contains__(self, v: object) -> bool:
        return isinstance(v, str) and v in self._index

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)


def _unquote(tok: str) -> str:
    return re.sub(r"\\(.)", r"\1", tok[1:-1]) if tok.startswith('"') else tok


class _DotParser:
    """A recursive-descent parser for a small subset of the DOT language."""

    _TOKEN = re.compile(r"""
        (?P<ws>[ \t\r\n]+|//[^\n]*|\#[^\n]*|/\*.*?\*/)
      | (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<id>[A-Za-z_\x80-\uffff][\w\x80-\uffff]*|-?(?:\.\d+|\d+(?:\.\d*)?))
      | (?P<op>->|--|[{}\[\];,=:<>])
      | (?P<bad>.)
      """, re.VERBOSE | re.DOTALL)
    _KEYWORDS = ("strict", "digraph", "graph", "node", "edge", "subgraph")

    def __init__(self, text: str) -> None:
        self.toks: list[tuple[str, str, int]] = []  # (kind, value, line)
        line = 1
        for m in self._TOKEN.finditer(text):
            kind, val = m.lastgroup, m.group()
            if kind == "bad":
                raise GraphError(f"DOT line {line}: unexpected character {val!r}")
            if kind == "id" and val.lower() in self._KEYWORDS:
                kind, val = "kw", val.lower()
            if kind != "ws":
                self.toks.append(("id" if kind == "str" else kind, _unquote(val), line))
            line += val.count("\n")
        self.toks.append(("eof", "end of input", line))
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self, kind: str, value: str | None = None) -> str:
        k, v, line = self.toks[self.i]
        if k != kind or (value is not None and v != value):
            want = value or {"id": "a name", "kw": "a keyword"}.get(kind, kind)
            raise GraphError(f"DOT line {line}: expected {want!r}, got {v!r}")
        self.i += 1
        return v

    def accept(self, kind: str, value: str) -> bool:
        if self.toks[self.i][:2] == (kind, value):
            self.i += 1
            return True
        return False

    def attrs(self) -> dict[str, str]:
        out: dict[str, str] = {}
        while self.accept("op", "["):
            while not self.accept("op", "]"):
                key = self.take("id")
                self.take("op", "=")
                out[key] = self.take("id")
                if not self.accept("op", ","):
                    self.accept("op", ";")
        return out

    def parse(self) -> CausalGraph:
        self.accept("kw", "strict")
        if self.peek()[:2] == ("kw", "graph"):
            raise GraphError(f"DOT line {self.peek()[2]}: undirected graph; use 'digraph'")
        self.take("kw", "digraph")
        if self.peek()[0] == "id":
            self.i += 1
        self.take("op", "{")
        nodes, hidden, directed, bidirected = [], set(), [], []
        defaults: dict[str, dict[str, str]] = {"node": {}, "edge": {}}

        def node(name: str, attrs: dict[str, str]) -> None:
            if name not in nodes:
                nodes.append(name)
                attrs = {**defaults["node"], **attrs}
            if "dashed" in attrs.get("style", "").split(","):
                hidden.add(name)

        while not self.accept("op", "}"):
            kind, val, line = self.peek()
            if kind == "kw" and val in ("node", "edge", "graph"):
                self.i += 1
                defaults.setdefault(val, {}).update(self.attrs())
            elif kind == "id":
                chain = [self.take("id")]
                if self.accept("op", "="):  # graph attribute, e.g. rankdir=LR
                    self.take("id")
                else:
                    while self.accept("op", "->"):
                        chain.append(self.take("id"))
                    if self.peek()[1] in ("--", ":", "{"):
                        raise GraphError(f"DOT line {self.peek()[2]}: {self.peek()[1]!r} is not "
                                         "supported; use plain 'a -> b' edges")
                    attrs = self.attrs()
                    if len(chain) == 1:
                        node(chain[0], attrs)
                        continue
                    attrs = {**defaults["edge"], **attrs}
                    for v in chain:
                        node(v, {})
                    direction = attrs.get("dir", "forward")
                    if direction not in ("forward", "both"):
                        raise GraphError(f"DOT line {line}: dir={direction} is not supported; "
                                         "write the edge as 'cause -> effect' or use dir=both")
                    target = bidirected if direction == "both" else directed
                    target.extend(zip(chain, chain[1:], strict=False))
            elif kind != "op" or val != ";":
                raise GraphError(f"DOT line {line}: unexpected {val!r}; expected a statement")
            else:
                self.i += 1
        if self.peek()[0] != "eof":
            raise GraphError(f"DOT line {self.peek()[2]}: unexpected {self.peek()[1]!r} after '}}'")
        return CausalGraph(directed, bidirected, nodes=nodes, hidden=hidden)
