"""The PC algorithm (stable variant): a CPDAG from conditional independence tests.

1. **Skeleton.** Start from the complete graph. At level ``l = 0, 1, ...``,
   remove the edge ``x — y`` when ``x ⟂ y | S`` for some ``S`` of size ``l``
   among the neighbours of ``x`` (or of ``y``) other than ``y``; the first such
   ``S`` is kept as the separating set. In the *stable* variant [2]_ the
   neighbourhoods are frozen at the start of each level and edges are removed
   at its end, so the skeleton does not depend on the column order.
2. **v-structures.** For each unshielded triple ``x — z — y`` (``x``, ``y``
   not adjacent), orient ``x -> z <- y`` when ``z`` is in none of the
   separating sets of ``x`` and ``y`` found at the level where their edge was
   removed (all subsets of that size from both neighbourhoods are checked, so
   the answer does not depend on which set is tried first). Conflicting
   v-structures (test errors) keep the earlier collider, in node order.
3. **Meek's rules** R1-R3 (R4 too with background knowledge) orient what
   follows (:mod:`causal.discovery._orient`) [3]_.

The result is a :class:`~causal.discovery.pgraph.PartialGraph` with ``->`` and
``--`` edges; under faithfulness and with correct tests it equals
:func:`~causal.discovery.pgraph.cpdag` of the true DAG [1]_.

Errors: data problems (NaN, constant column, too few rows) raise
:class:`~causal.errors.EstimationError`; bad settings (``alpha`` outside
(0, 1), unknown test, knowledge naming unknown columns) raise
:class:`~causal.errors.GraphError`.

References
----------
.. [1] P. Spirtes, C. Glymour and R. Scheines, *Causation, Prediction, and
   Search*, 2nd ed., MIT Press, 2000.
.. [2] D. Colombo and M. H. Maathuis, "Order-independent constraint-based
   causal structure learning", JMLR 15, 2014.
.. [3] C. Meek, "Causal inference and causal explanation with background
   knowledge", UAI 1995.
"""

from __future__ import annotations

from itertools import combinations, islice
from typing import Any

import numpy as np

from causal.discovery._orient import meek, orient, orient_colliders, undirected
from causal.discovery.citests import CITest, make_test
from causal.discovery.knowledge import Knowledge
from causal.discovery.pgraph import TAIL, PartialGraph
from causal.errors import GraphError

__all__ = ["pc", "skeleton", "check_settings"]

_CHUNK = 256  # conditioning sets evaluated per batch


def check_settings(alpha: float, max_cond: int | None, knowledge: Knowledge | None,
                   nodes: tuple[str, ...]) -> Knowledge:
    """Validate the shared settings of PC and FCI; return the knowledge (empty if ``None``)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise GraphError(f"alpha must be a significance level strictly between 0 and 1, got {alpha!r} "
                         "(0.01 or 0.05 are usual)")
    if max_cond is not None and (isinstance(max_cond, bool) or not isinstance(max_cond, int) or max_cond < 0):
        raise GraphError(f"max_cond must be a non-negative integer or None, got {max_cond!r}")
    if knowledge is None:
        return Knowledge()
    if not isinstance(knowledge, Knowledge):
        raise GraphError(f"knowledge must be a causal.discovery.Knowledge, got {type(knowledge).__name__}")
    knowledge.check_nodes(nodes)
    return knowledge


def _first_separating(test: CITest, x: int, y: int, cands: np.ndarray, level: int,
                      alpha: float) -> tuple[int, ...] | None:
    """The first subset (in lexicographic order) of ``cands`` of size ``level`` separating x and y.

    Subsets are tested in batches that grow (8, 32, 128, ...): the first batches are small because a
    separating set is often found early, later ones large so that the batched test pays off.
    """
    combos = combinations(cands.tolist(), level)
    size = 8
    while chunk := list(islice(combos, size)):
        p = test.pvalues(x, y, chunk, canonical=True)
        hit = np.nonzero(p > alpha)[0]
        if len(hit):
            return tuple(chunk[hit[0]])
        size = min(4 * size, _CHUNK)
    return None


def _separating_union(test: CITest, x: int, y: int, cands: np.ndarray, level: int, alpha: float) -> set[int]:
    """The union of all subsets of ``cands`` of size ``level`` that separate x and y."""
    out: set[int] = set()
    combos = combinations(cands.tolist(), level)
    while chunk := list(islice(combos, _CHUNK)):
        p = test.pvalues(x, y, chunk, canonical=True)
        for i in np.nonzero(p > alpha)[0]:
            out.update(chunk[i])
    return out


def skeleton(test: CITest, alpha: float, *, stable: bool = True, knowledge: Knowledge | None = None,
             max_cond: int | None = None, union: bool = False
             ) -> tuple[np.ndarray, dict[frozenset[int], tuple[int, ...]]]:
    """The PC skeleton search.

    Parameters
    ----------
    test : CITest
        The conditional independence test.
    alpha : float
        Significance level: an edge is removed when some test's p-value exceeds it.
    stable : bool
        Order-independent variant (Colombo & Maathuis 2014).
    knowledge : Knowledge, optional
        Pairs forbidden both ways are never adjacent; required edges are never removed.
    max_cond : int, optional
        Largest conditioning set size tried.
    union : bool
        Record, instead of the first separating set found, the union of all
        separating sets of the level at which the edge was removed, from both
        endpoints' neighbourhoods (PC's v-structure rule then reads "z is in
        none of them", which does not depend on the order the sets are tried).

    Returns
    -------
    adj : ndarray of bool, shape (d, d)
        The skeleton.
    sepsets : dict
        ``frozenset({i, j}) -> separating set`` (sorted tuple) for every removed pair.
    """
    nodes, d = test.nodes, len(test.nodes)
    k = knowledge or Knowledge()
    adj = ~np.eye(d, dtype=bool)
    sepsets: dict[frozenset[int], tuple[int, ...]] = {}
    keep = np.zeros((d, d), dtype=bool)
    for a, b in k.required:
        keep[nodes.index(a), nodes.index(b)] = keep[nodes.index(b), nodes.index(a)] = True
    for i in range(d):
        for j in range(i + 1, d):
            if k and k.no_adjacency(nodes[i], nodes[j]) and not keep[i, j]:
                adj[i, j] = adj[j, i] = False
                sepsets[frozenset((i, j))] = ()
    p0 = test.pairwise()
    drop = adj & (p0 > alpha) & ~keep
    for i, j in zip(*np.nonzero(np.triu(drop)), strict=True):
        sepsets[frozenset((int(i), int(j)))] = ()
    adj &= ~drop
    level = 1
    while max_cond is None or level <= max_cond:
        degree = adj.sum(axis=1)
        if not adj.any() or (degree[np.nonzero(adj)[0]] - 1).max() < level:
            break
        frozen = adj.copy()
        removed = np.zeros_like(adj)
        for x in range(d):
            for y in np.nonzero(frozen[x])[0]:
                if keep[x, y] or removed[x, y] or not adj[x, y]:
                    continue
                row = frozen[x] if stable else adj[x]
                cands = np.nonzero(row)[0]
                cands = cands[cands != y]
                if len(cands) < level:
                    continue
                s = _first_separating(test, x, int(y), cands, level, alpha)
                if s is not None:
                    if union:
                        other = np.nonzero(frozen[y] if stable else adj[y])[0]
                        members = _separating_union(test, x, int(y), cands, level, alpha) \
                            | _separating_union(test, int(y), x, other[other != x], level, alpha)
                        s = tuple(sorted(members))
                    sepsets[frozenset((x, int(y)))] = s
                    removed[x, y] = removed[y, x] = True
                    if not stable:
                        adj[x, y] = adj[y, x] = False
        adj &= ~removed
        level += 1
    return adj, sepsets


def _allowed(nodes: tuple[str, ...], k: Knowledge) -> np.ndarray | None:
    if not k:
        return None
    d = len(nodes)
    return np.array([[i != j and not k.is_forbidden(nodes[i], nodes[j]) for j in range(d)] for i in range(d)])


def unshielded_colliders(adj: np.ndarray, sepsets: dict[frozenset[int], tuple[int, ...]]
                         ) -> list[tuple[int, int, int]]:
    """Triples ``(a, c, b)``, ``a < b`` non-adjacent, both adjacent to ``c``, ``c`` not in sepset(a, b)."""
    out = []
    for c in range(len(adj)):
        nb = np.nonzero(adj[c])[0]
        for a, b in combinations(nb.tolist(), 2):
            if not adj[a, b] and c not in sepsets.get(frozenset((a, b)), ()):
                out.append((a, c, b))
    return out


def apply_knowledge(m: np.ndarray, nodes: tuple[str, ...], k: Knowledge) -> None:
    """Orient required edges, and undirected edges whose other direction is forbidden (in place)."""
    idx = {v: i for i, v in enumerate(nodes)}
    for a, b in sorted(k.required):
        orient(m, idx[a], idx[b])
    u = undirected(m)
    for i, j in zip(*np.nonzero(np.triu(u)), strict=True):
        fij, fji = k.is_forbidden(nodes[i], nodes[j]), k.is_forbidden(nodes[j], nodes[i])
        if fij and not fji:
            orient(m, int(j), int(i))
        elif fji and not fij:
            orient(m, int(i), int(j))


def pc(data: Any, alpha: float = 0.01, test: str | CITest = "fisherz", *, stable: bool = True,
       knowledge: Knowledge | None = None, max_cond: int | None = None) -> PartialGraph:
    """Learn a CPDAG with the PC algorithm.

    Parameters
    ----------
    data : pandas.DataFrame or 2-D array, or None
        Observations (rows = units). Array columns are named ``X0, X1, ...``.
        May be ``None`` when ``test`` is a :class:`~causal.discovery.citests.CITest`.
    alpha : float
        Significance level of each test, in (0, 1).
    test : {"fisherz", "g2", "auto"} or CITest
        Fisher-z for continuous, G² for discrete data; ``"auto"`` chooses by
        the data; or a ready test (e.g. ``DSeparation(graph)``, an oracle).
    stable : bool
        Use the order-independent skeleton search (default).
    knowledge : Knowledge, optional
        Forbidden/required edges and tiers.
    max_cond : int, optional
        Largest conditioning set size (default: unbounded).

    Returns
    -------
    PartialGraph
        A CPDAG: ``->`` and ``--`` edges.

    Raises
    ------
    EstimationError
        Bad data: NaN or infinite values, a constant column, fewer rows than
        variables + 3, exactly collinear columns.
    GraphError
        ``alpha`` outside (0, 1), an unknown test, knowledge naming unknown columns.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=3000); b = rng.normal(size=3000)
    >>> c = a + b + rng.normal(size=3000); d = c + rng.normal(size=3000)
    >>> import pandas as pd
    >>> pc(pd.DataFrame({"a": a, "b": b, "c": c, "d": d}))
    PartialGraph(a -> c, b -> c, c -> d)
    """
    t = make_test(data, test)
    k = check_settings(alpha, max_cond, knowledge, t.nodes)
    adj, sepsets = skeleton(t, alpha, stable=stable, knowledge=k, max_cond=max_cond, union=True)
    return orient_cpdag(t.nodes, adj, sepsets, k)


def orient_cpdag(nodes: tuple[str, ...], adj: np.ndarray, sepsets: dict[frozenset[int], tuple[int, ...]],
                 k: Knowledge) -> PartialGraph:
    """v-structures, background knowledge and Meek's rules on a skeleton with separating sets."""
    m = np.where(adj, TAIL, 0).astype(np.int8)
    allowed = _allowed(nodes, k)
    orient_colliders(m, unshielded_colliders(adj, sepsets), allowed)
    if k:
        apply_knowledge(m, nodes, k)
    meek(m, rule4=bool(k), allowed=allowed)
    return PartialGraph.from_matrix(nodes, m)
