"""Greedy Equivalence Search (GES): a CPDAG that maximises a decomposable score.

GES [1]_ moves through Markov equivalence classes, each represented by its
CPDAG. The **forward phase** starts from the empty graph and repeatedly applies
the best-scoring valid ``Insert(X, Y, T)`` (add ``X -> Y`` and orient the
undirected edges ``T -- Y`` into ``Y``) while the score improves; the
**backward phase** then applies the best ``Delete(X, Y, H)`` (remove the edge
``X - Y`` and orient ``Y -- H`` and ``X -- H`` away from them) while it improves.
After each move the graph is made a CPDAG again: a consistent DAG extension
(Dor & Tarsi [2]_), then its CPDAG. With a consistent score and faithful data
GES returns the true CPDAG in the large-sample limit [1]_.

Validity (Chickering 2002, Theorems 15 and 17), with ``NA`` the undirected
neighbours of ``Y`` adjacent to ``X``:

* ``Insert(X, Y, T)``, ``X`` and ``Y`` non-adjacent, ``T`` undirected
  neighbours of ``Y`` non-adjacent to ``X``: ``NA ∪ T`` is a clique and every
  semi-directed path from ``Y`` to ``X`` meets ``NA ∪ T``. Score change
  ``s(Y, Pa_Y ∪ NA ∪ T ∪ {X}) - s(Y, Pa_Y ∪ NA ∪ T)``.
* ``Delete(X, Y, H)``, ``H ⊆ NA``: ``NA \\ H`` is a clique. Score change
  ``s(Y, (Pa_Y ∪ NA \\ H) - {X}) - s(Y, Pa_Y ∪ NA \\ H ∪ {X})``.

**Score.** The linear-Gaussian BIC, decomposed into local scores
``s(Y, P) = -(n/2) log σ²(Y | P) - λ (|P| + 1) (log n) / 2``, where
``σ²(Y | P) = C_YY - C_YP C_PP^{-1} C_PY`` is read off the covariance matrix
``C`` (one small solve per local score, no pass over the data) and ``λ`` is the
penalty discount (1: the BIC). Local scores are cached by ``(Y, P)``.

**Background knowledge**: a forbidden edge is never inserted; a required edge
is in the starting graph and never deleted; at the end required edges are
oriented, undirected edges with one forbidden direction are oriented the other
way, and Meek's rules propagate.

References
----------
.. [1] D. M. Chickering, "Optimal structure identification with greedy search",
   JMLR 3, 2002.
.. [2] D. Dor and M. Tarsi, "A simple algorithm to construct a consistent
   extension of a partially oriented graph", Technical Report R-185, UCLA, 1992.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import combinations
from typing import Any

import numpy as np

from causal.discovery.citests import as_data
from causal.discovery.knowledge import Knowledge
from causal.discovery.pgraph import ARROW, TAIL, PartialGraph, cpdag
from causal.errors import EstimationError, GraphError
from causal.graph import CausalGraph

__all__ = ["ges", "BICScore", "consistent_extension"]


class BICScore:
    """Linear-Gaussian BIC local scores from the covariance matrix, cached.

    Parameters
    ----------
    x : (n, d) array
    penalty : float
        Penalty discount ``λ`` (1: the BIC; larger: sparser graphs).
    """

    def __init__(self, x: np.ndarray, penalty: float = 1.0) -> None:
        self.n, self.d = x.shape
        self.cov = np.cov(x, rowvar=False, bias=True)
        self.penalty = float(penalty)
        self._cache: dict[tuple[int, frozenset[int]], float] = {}

    def local(self, y: int, parents: frozenset[int]) -> float:
        """``s(y, parents)``: higher is better."""
        key = (y, parents)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        p = sorted(parents)
        var = self.cov[y, y]
        if p:
            c = self.cov[np.ix_(p, p)]
            b = self.cov[p, y]
            var = var - b @ np.linalg.solve(c, b)
        if not var > 0:
            raise EstimationError("a variable is an exact linear function of others (residual variance "
                                  f"{var:g}); drop duplicated or exactly dependent columns")
        out = -0.5 * self.n * np.log(var) - 0.5 * self.penalty * (len(p) + 1) * np.log(self.n)
        self._cache[key] = float(out)
        return float(out)


# ---------------------------------------------------------------------- graph state
# D[i, j]: directed edge i -> j; U[i, j] = U[j, i]: undirected edge i -- j.

def _adjacent(D: np.ndarray, U: np.ndarray) -> np.ndarray:
    return D | D.T | U


def _is_clique(nodes: list[int], adj: np.ndarray) -> bool:
    return all(adj[a, b] for a, b in combinations(nodes, 2))


def _semi_directed_reach(D: np.ndarray, U: np.ndarray, start: int, target: int, blocked: set[int]) -> bool:
    """Whether a semi-directed path (edges ``--`` or ``->`` forwards) leads from start to target
    avoiding ``blocked``."""
    step = D | U
    seen = {start} | blocked
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in np.nonzero(step[v])[0].tolist():
                if w == target:
                    return True
                if w not in seen:
                    seen.add(w)
                    nxt.append(w)
        frontier = nxt
    return False


def _extension(D: np.ndarray, U: np.ndarray) -> np.ndarray:
    """A DAG (adjacency ``A[i, j]``: i -> j) consistent with the PDAG (Dor & Tarsi 1992)."""
    D, U = D.copy(), U.copy()
    A = D.copy()
    left = set(range(len(D)))
    while left:
        for x in sorted(left):
            if D[x].any():                           # x must be a sink among the remaining nodes
                continue
            nb = np.nonzero(U[x])[0].tolist()
            adj = np.nonzero(_adjacent(D, U)[x])[0].tolist()
            if all(set(adj) - {y} <= set(np.nonzero(_adjacent(D, U)[y])[0].tolist()) | {y} for y in nb):
                for y in nb:
                    A[y, x] = True
                D[:, x] = D[x, :] = False
                U[:, x] = U[x, :] = False
                left.discard(x)
                break
        else:
            raise GraphError("the partially directed graph has no consistent DAG extension")
    return A


def consistent_extension(graph: PartialGraph) -> CausalGraph:
    """A DAG in the class a CPDAG (or, loosely, a PAG) describes: what :func:`causal.fit_scm` needs.

    ``->`` and ``o->`` edges keep their direction; ``--``, ``o-o`` and ``o--``
    edges are oriented by Dor & Tarsi's extension, so no new v-structure or
    cycle appears (when the graph has no consistent extension, e.g. a PC output
    with conflicting colliders, along a topological order of its directed part);
    ``<->`` edges (a hidden common cause) are dropped — a fitted model cannot hold them.

    Examples
    --------
    >>> consistent_extension(PartialGraph(["a", "b", "c"], [("a", "b", "--"), ("b", "c", "--")]))
    CausalGraph(...)
    """
    if not isinstance(graph, PartialGraph):
        raise GraphError(f"expected a PartialGraph, got {type(graph).__name__}")
    m = graph.matrix
    nodes = graph.nodes
    D = (m == ARROW) & (m.T != ARROW)
    U = (m != 0) & (m != ARROW) & (m.T != ARROW)
    try:
        A = _extension(D, U)
    except GraphError:
        import networkx as nx

        g = nx.DiGraph(list(zip(*np.nonzero(D), strict=True)))
        g.add_nodes_from(range(len(nodes)))
        if not nx.is_directed_acyclic_graph(g):
            raise GraphError("the found graph's directed edges form a cycle; it has no DAG in its "
                             "class") from None
        rank = {v: r for r, v in enumerate(nx.topological_sort(g))}
        A = D | (U & (np.array([rank[i] for i in range(len(nodes))])[:, None]
                      < np.array([rank[i] for i in range(len(nodes))])[None, :]))
    i, j = np.nonzero(A)
    return CausalGraph([(nodes[a], nodes[b]) for a, b in zip(i, j, strict=True)], nodes=nodes)


def _complete(D: np.ndarray, U: np.ndarray, nodes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The CPDAG of the PDAG's equivalence class, as (D, U)."""
    A = _extension(D, U)
    i, j = np.nonzero(A)
    m = cpdag(CausalGraph([(nodes[a], nodes[b]) for a, b in zip(i, j, strict=True)], nodes=nodes)).matrix
    return _split(m)


def _split(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    D = (m == ARROW) & (m.T == TAIL)
    U = (m == TAIL) & (m.T == TAIL)
    return D, U


def _parents(D: np.ndarray, y: int) -> set[int]:
    return set(np.nonzero(D[:, y])[0].tolist())


# ---------------------------------------------------------------------- moves
def _cliques_of(base: list[int], pool: list[int], adj: np.ndarray) -> list[tuple[int, ...]]:
    """Subsets ``T`` of ``pool`` (including the empty one) with ``base ∪ T`` a clique."""
    if not _is_clique(base, adj):
        return []
    out: list[tuple[int, ...]] = [()]
    frontier: list[tuple[int, ...]] = [()]
    while frontier:
        nxt = []
        for t in frontier:
            for v in pool:
                if t and v <= t[-1]:
                    continue
                if all(adj[v, w] for w in (*base, *t)):
                    nxt.append((*t, v))
        out.extend(nxt)
        frontier = nxt
    return out


def _pairs(D, U, adj: np.ndarray,
           skip: Callable[[int, int], bool]) -> Iterator[tuple[int, int, set[int], list[int], list[int]]]:
    """``(x, y, parents of y, neighbours of y, NA_{y,x})`` for every ordered pair of nodes that
    ``skip(x, y)`` keeps, ``y`` outer; ``NA_{y,x}``: the neighbours of ``y`` adjacent to ``x``."""
    d = len(D)
    for y in range(d):
        pa = _parents(D, y)
        nb_y = np.nonzero(U[y])[0].tolist()
        for x in range(d):
            if skip(x, y):
                continue
            yield x, y, pa, nb_y, [v for v in nb_y if adj[v, x]]


def _best_insert(D, U, score: BICScore, k: Knowledge, nodes) -> tuple[float, Any]:
    adj = _adjacent(D, U)
    best: tuple[float, Any] = (0.0, None)

    def skip(x: int, y: int) -> bool:
        return x == y or adj[x, y] or k.is_forbidden(nodes[x], nodes[y])

    for x, y, pa, nb_y, na in _pairs(D, U, adj, skip):
        t0 = [v for v in nb_y if not adj[v, x] and not k.is_forbidden(nodes[v], nodes[y])]
        for t in _cliques_of(na, t0, adj):
            base = frozenset(pa | set(na) | set(t))
            delta = score.local(y, base | {x}) - score.local(y, base)
            if delta <= best[0] + 1e-9:
                continue
            if _semi_directed_reach(D, U, y, x, set(na) | set(t)):
                continue
            best = (delta, (x, y, t))
    return best


def _best_delete(D, U, score: BICScore, k: Knowledge, nodes) -> tuple[float, Any]:
    adj = _adjacent(D, U)
    best: tuple[float, Any] = (0.0, None)

    def skip(x: int, y: int) -> bool:
        return (not (D[x, y] or U[x, y])
                or k.is_required(nodes[x], nodes[y]) or k.is_required(nodes[y], nodes[x]))

    for x, y, pa, _, na in _pairs(D, U, adj, skip):
        for size in range(len(na) + 1):
            for h in combinations(na, size):
                rest = [v for v in na if v not in h]
                if not _is_clique(rest, adj):
                    continue
                base = frozenset((pa | set(rest)) - {x})
                delta = score.local(y, base) - score.local(y, base | {x})
                if delta > best[0] + 1e-9:
                    best = (delta, (x, y, h))
    return best


def _insert(D, U, x: int, y: int, t: tuple[int, ...]) -> None:
    D[x, y] = True
    for v in t:
        U[v, y] = U[y, v] = False
        D[v, y] = True


def _delete(D, U, x: int, y: int, h: tuple[int, ...]) -> None:
    D[x, y] = D[y, x] = U[x, y] = U[y, x] = False
    for v in h:
        if U[y, v]:
            U[y, v] = U[v, y] = False
            D[y, v] = True
        if U[x, v]:
            U[x, v] = U[v, x] = False
            D[x, v] = True


# ---------------------------------------------------------------------- GES
def ges(data: Any, score: str = "bic", *, penalty: float = 1.0, knowledge: Knowledge | None = None,
        max_steps: int | None = None) -> PartialGraph:
    """Learn a CPDAG with Greedy Equivalence Search and the linear-Gaussian BIC.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Continuous observations (rows = units); array columns are named ``X0, X1, ...``.
    score : {"bic"}
        The score: the linear-Gaussian BIC.
    penalty : float
        Penalty discount (> 0): 1 is the BIC, larger values give sparser graphs.
    knowledge : Knowledge, optional
        Forbidden/required edges and tiers.
    max_steps : int, optional
        Most moves per phase (default: until the score stops improving).

    Returns
    -------
    PartialGraph
        A CPDAG (``->`` and ``--`` edges).

    Raises
    ------
    EstimationError
        NaN or infinite values, a constant column, fewer rows than variables + 3,
        exactly dependent columns.
    GraphError
        An unknown score, a penalty that is not positive, knowledge naming unknown columns.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=3000); b = rng.normal(size=3000)
    >>> c = a + b + rng.normal(size=3000); d = c + rng.normal(size=3000)
    >>> ges(pd.DataFrame({"a": a, "b": b, "c": c, "d": d}))
    PartialGraph(a -> c, b -> c, c -> d)
    """
    if score != "bic":
        raise GraphError(f"unknown score {score!r}; GES here uses the linear-Gaussian 'bic'")
    if isinstance(penalty, bool) or not isinstance(penalty, (int, float)) or not penalty > 0:
        raise GraphError(f"penalty must be a positive number (1 is the BIC), got {penalty!r}")
    x, nodes = as_data(data)
    k = knowledge if knowledge is not None else Knowledge()
    if not isinstance(k, Knowledge):
        raise GraphError(f"knowledge must be a Knowledge, got {type(k).__name__}")
    k.check_nodes(nodes)
    sc = BICScore(x, penalty)
    d = len(nodes)
    D = np.zeros((d, d), dtype=bool)
    U = np.zeros((d, d), dtype=bool)
    idx = {v: i for i, v in enumerate(nodes)}
    for a, b in k.required:
        D[idx[a], idx[b]] = True
    if k.required:
        D, U = _complete(D, U, nodes)
    limit = max_steps if max_steps is not None else d * d
    for move, apply in ((_best_insert, _insert), (_best_delete, _delete)):
        for _ in range(limit):
            _, op = move(D, U, sc, k, nodes)
            if op is None:
                break
            apply(D, U, *op)
            D, U = _complete(D, U, nodes)
    m = np.where(D, ARROW, 0) + np.where(D.T, TAIL, 0) + np.where(U, TAIL, 0)
    m = m.astype(np.int8)
    if k:
        from causal.discovery._orient import meek
        from causal.discovery.pc import apply_knowledge

        apply_knowledge(m, nodes, k)
        meek(m, rule4=True, allowed=np.array([[i != j and not k.is_forbidden(nodes[i], nodes[j])
                                               for j in range(d)] for i in range(d)]))
    return PartialGraph.from_matrix(nodes, m)
