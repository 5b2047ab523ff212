"""FCI: a PAG from conditional independence tests, allowing hidden common causes.

PC assumes every common cause is measured; with a hidden confounder it
orients edges that are not causal. FCI [1]_ returns a partial ancestral graph
(PAG, :mod:`causal.discovery.pgraph`) whose marks hold in every causal model
with hidden variables that fits the independences: ``a -> b`` (a causes b, no
confounding needed), ``a <-> b`` (a hidden common cause, neither causes the
other), ``a o-> b`` (b does not cause a), ``a o-o b`` (undetermined).

What is implemented (no selection bias is assumed):

1. the stable PC skeleton (:func:`causal.discovery.pc.skeleton`);
2. R0: unshielded colliders ``a *-> c <-* b`` when ``c`` is not in the
   separating set of ``a`` and ``b``;
3. the Possible-D-SEP stage: each remaining edge ``x — y`` is tested again
   given subsets of Possible-D-SEP(x) and of Possible-D-SEP(y) [2]_, then all
   marks are reset to circles and R0 is redone;
4. background knowledge: tiers put an arrowhead at the earlier node (a later
   variable is not an ancestor), required edges become ``->``; forbidden pairs
   (both ways) are not adjacent;
5. Zhang's orientation rules R1, R2, R3, R4 (discriminating paths), R8, R9
   and R10 [3]_, applied until nothing changes. R5-R7 concern selection bias
   and are not implemented, so undirected ``--`` edges never appear.

With a d-separation oracle (:func:`true_pag`) this is the complete FCI of
Zhang (2008) for the no-selection-bias case and returns the true PAG.

References
----------
.. [1] P. Spirtes, C. Glymour and R. Scheines, *Causation, Prediction, and
   Search*, 2nd ed., MIT Press, 2000, ch. 6.
.. [2] P. Spirtes, C. Meek and T. Richardson, "An algorithm for causal
   inference in the presence of latent variables and selection bias", in
   *Computation, Causation, and Discovery*, 1999.
.. [3] J. Zhang, "On the completeness of orientation rules for causal discovery
   in the presence of latent confounders and selection bias", Artificial
   Intelligence 172, 2008.
"""

from __future__ import annotations

from collections import deque
from itertools import combinations
from typing import Any

import numpy as np

from causal.discovery.citests import CITest, DSeparation, make_test
from causal.discovery.knowledge import Knowledge
from causal.discovery.pc import _first_separating, check_settings, skeleton, unshielded_colliders
from causal.discovery.pgraph import ARROW, CIRCLE, NONE, TAIL, PartialGraph
from causal.graph import CausalGraph

__all__ = ["fci", "true_pag", "possible_dsep"]

Sepsets = dict[frozenset[int], tuple[int, ...]]


def possible_dsep(m: np.ndarray, x: int) -> set[int]:
    """Possible-D-SEP(x): nodes reachable by a path on which every inner node is a collider or in a triangle.

    For each consecutive triple ``<a, b, c>`` of the path, ``a *-> b <-* c``
    or ``a`` and ``c`` adjacent. Computed by a search over edges ``(a, b)``.
    """
    adj = m != NONE
    out: set[int] = set()
    seen: set[tuple[int, int]] = set()
    queue = deque()
    for b in np.nonzero(adj[x])[0]:
        out.add(int(b))
        queue.append((x, int(b)))
        seen.add((x, int(b)))
    while queue:
        a, b = queue.popleft()
        for c in np.nonzero(adj[b])[0]:
            c = int(c)
            if c == a or c == x or (b, c) in seen:
                continue
            if (m[a, b] == ARROW and m[c, b] == ARROW) or adj[a, c]:
                seen.add((b, c))
                out.add(c)
                queue.append((b, c))
    out.discard(x)
    return out


def _colliders(adj: np.ndarray, sepsets: Sepsets) -> np.ndarray:
    m = np.where(adj, CIRCLE, NONE).astype(np.int8)
    for a, c, b in unshielded_colliders(adj, sepsets):
        m[a, c] = m[b, c] = ARROW
    return m


def _pds_stage(test: CITest, alpha: float, adj: np.ndarray, sepsets: Sepsets, m: np.ndarray,
               keep: np.ndarray, max_cond: int | None) -> None:
    """Remove edges separated by subsets of Possible-D-SEP (in place on adj and sepsets)."""
    d = len(adj)
    pds = [possible_dsep(m, x) for x in range(d)]
    for x in range(d):
        for y in np.nonzero(adj[x])[0]:
            y = int(y)
            if y < x or keep[x, y]:
                continue
            found = None
            for side, other in ((x, y), (y, x)):
                cands = np.array(sorted(pds[side] - {other}), dtype=np.int64)
                top = len(cands) if max_cond is None else min(len(cands), max_cond)
                for level in range(top + 1):
                    found = _first_separating(test, side, other, cands, level, alpha)
                    if found is not None:
                        break
                if found is not None:
                    break
            if found is not None:
                adj[x, y] = adj[y, x] = False
                sepsets[frozenset((x, y))] = found


# ------------------------------------------------------------------ orientation rules (Zhang 2008)
def _pd(m: np.ndarray, u: int, v: int) -> bool:
    """Whether the edge u *-* v can be oriented u -> v (no arrowhead at u, no tail at v)."""
    return m[u, v] != NONE and m[v, u] != ARROW and m[u, v] != TAIL


def _uncovered_pd_reach(m: np.ndarray, a: int, b: int, target: int) -> bool:
    """Whether an uncovered potentially directed path <a, b, ..., target> exists (a -> b: caller)."""
    if b == target:
        return True
    adj = m != NONE
    seen = {(a, b)}
    queue = deque([(a, b)])
    while queue:
        p, c = queue.popleft()
        for w in np.nonzero(adj[c])[0]:
            w = int(w)
            if w in (p, a) or adj[p, w] or not _pd(m, c, w) or (c, w) in seen:
                continue
            if w == target:
                return True
            seen.add((c, w))
            queue.append((c, w))
    return False


def _rules_1_to_3(m: np.ndarray) -> bool:
    adj, changed = m != NONE, False
    d = len(m)
    for b in range(d):
        nb = np.nonzero(adj[b])[0]
        for a in nb:
            for c in nb:
                if a == c:
                    continue
                # R1: a *-> b o-* c, a and c non-adjacent => b -> c
                if m[a, b] == ARROW and m[c, b] == CIRCLE and not adj[a, c]:
                    m[c, b], m[b, c] = TAIL, ARROW
                    changed = True
        # R2: a -> b *-> c or a *-> b -> c, and a *-o c => a *-> c
        for a in nb:
            for c in nb:
                if a != c and adj[a, c] and m[a, c] == CIRCLE and m[a, b] == ARROW and m[b, c] == ARROW \
                        and (m[b, a] == TAIL or m[c, b] == TAIL):
                    m[a, c] = ARROW
                    changed = True
        # R3: a *-> b <-* c, a *-o t o-* c, a, c non-adjacent, t *-o b => t *-> b
        into = [int(a) for a in nb if m[a, b] == ARROW]
        for a, c in combinations(into, 2):
            if adj[a, c]:
                continue
            for t in np.nonzero(adj[a] & adj[c] & adj[b])[0]:
                if m[a, t] == CIRCLE and m[c, t] == CIRCLE and m[t, b] == CIRCLE:
                    m[t, b] = ARROW
                    changed = True
    return changed


def _rule4(m: np.ndarray, sepsets: Sepsets) -> bool:
    """R4: discriminating paths <t, ..., a, b, c> for b with b o-* c."""
    adj, changed = m != NONE, False
    d = len(m)
    for c in range(d):
        for b in np.nonzero(m[c] == CIRCLE)[0]:          # circle at b on b *-* c
            b = int(b)
            if m[c, b] != CIRCLE:
                continue
            for a in np.nonzero(adj[b] & adj[c])[0]:
                a = int(a)                                  # a <-* b and a -> c
                if not (m[b, a] == ARROW and m[a, c] == ARROW and m[c, a] == TAIL):
                    continue
                t = _discriminating_end(m, adj, a, b, c)
                if t is None:
                    continue
                if b in sepsets.get(frozenset((t, c)), ()):
                    m[c, b], m[b, c] = TAIL, ARROW
                else:
                    m[a, b] = m[b, a] = m[c, b] = m[b, c] = ARROW
                changed = True
                break
    return changed


def _discriminating_end(m: np.ndarray, adj: np.ndarray, a: int, b: int, c: int) -> int | None:
    """The far end t of a discriminating path <t, ..., a, b, c>, or None."""
    seen = {a, b, c}
    queue = deque([a])
    while queue:
        v = queue.popleft()
        for w in np.nonzero(adj[v])[0]:
            w = int(w)
            if w in seen or m[w, v] != ARROW:               # w *-> v: v is a collider
                continue
            if not adj[w, c]:
                return w
            if m[v, w] == ARROW and m[w, c] == ARROW and m[c, w] == TAIL:   # w collider and w -> c
                seen.add(w)
                queue.append(w)
    return None


def _rules_8_to_10(m: np.ndarray) -> bool:
    adj, changed = m != NONE, False
    d = len(m)
    for a in range(d):
        for c in np.nonzero((m[a] == ARROW) & (m[:, a] == CIRCLE))[0]:   # a o-> c
            c = int(c)
            if not (m[a, c] == ARROW and m[c, a] == CIRCLE):
                continue
            nb = [int(b) for b in np.nonzero(adj[a])[0] if b != c]
            # R8: a -> b -> c or a -o b -> c  =>  a -> c
            if any(m[b, a] == TAIL and m[a, b] in (ARROW, CIRCLE) and m[b, c] == ARROW and m[c, b] == TAIL
                   for b in nb):
                m[c, a] = TAIL
                changed = True
                continue
            # R9: uncovered p.d. path <a, b, ..., c> with b, c non-adjacent  =>  a -> c
            if any(_pd(m, a, b) and not adj[b, c] and _uncovered_pd_reach(m, a, b, c) for b in nb):
                m[c, a] = TAIL
                changed = True
                continue
            # R10: b -> c <- t, uncovered p.d. paths a..b and a..t starting at mu != omega, non-adjacent
            pars = [int(p) for p in np.nonzero((m[:, c] == ARROW) & (m[c] == TAIL))[0] if p != a]
            starts = [mu for mu in nb if _pd(m, a, mu)]
            reach = {p: {mu for mu in starts if _uncovered_pd_reach(m, a, mu, p)} for p in pars}
            if any(mu != om and not adj[mu, om] for p, t in combinations(pars, 2)
                   for mu in reach[p] for om in reach[t]):
                m[c, a] = TAIL
                changed = True
    return changed


def _knowledge_marks(m: np.ndarray, nodes: tuple[str, ...], k: Knowledge) -> None:
    idx = {v: i for i, v in enumerate(nodes)}
    for i, j in zip(*np.nonzero(m), strict=True):
        ti, tj = k.tier(nodes[i]), k.tier(nodes[j])
        if ti is not None and tj is not None and tj > ti:   # j later: j is no ancestor of i
            m[i, j] = ARROW
    for a, b in k.required:
        m[idx[a], idx[b]], m[idx[b], idx[a]] = ARROW, TAIL


def orient_pag(m: np.ndarray, sepsets: Sepsets) -> None:
    """Apply R1-R4 to closure, then R8-R10, repeating until nothing changes (in place)."""
    while True:
        while _rules_1_to_3(m) or _rule4(m, sepsets):
            pass
        if not _rules_8_to_10(m):
            return


def fci(data: Any, alpha: float = 0.01, test: str | CITest = "fisherz", *, stable: bool = True,
        knowledge: Knowledge | None = None, max_cond: int | None = None,
        possible_dsep_stage: bool = True) -> PartialGraph:
    """Learn a PAG with FCI (hidden common causes allowed, no selection bias).

    Parameters
    ----------
    data : pandas.DataFrame or 2-D array, or None
        Observations; ``None`` when ``test`` is a ready CITest (e.g. an oracle).
    alpha : float
        Significance level of each test, in (0, 1).
    test : {"fisherz", "g2", "auto"} or CITest
        The conditional independence test.
    stable : bool
        Order-independent skeleton search.
    knowledge : Knowledge, optional
        Tiers (an arrowhead at the earlier node), required edges (``->``),
        pairs forbidden both ways (never adjacent).
    max_cond : int, optional
        Largest conditioning set, in the skeleton and the Possible-D-SEP stage.
    possible_dsep_stage : bool
        Run the Possible-D-SEP stage (needed for correctness; costly on large graphs).

    Returns
    -------
    PartialGraph
        A PAG with ``->``, ``<->``, ``o->`` and ``o-o`` edges.

    Raises
    ------
    EstimationError
        Bad data (see :func:`causal.discovery.pc.pc`).
    GraphError
        Bad settings.

    Examples
    --------
    >>> g = CausalGraph.from_string("a -> x; b -> y; x <-> y")
    >>> fci(None, test=DSeparation(g))
    PartialGraph(a o-> x, x <-> y, b o-> y)
    """
    t = make_test(data, test)
    k = check_settings(alpha, max_cond, knowledge, t.nodes)
    adj, sepsets = skeleton(t, alpha, stable=stable, knowledge=k, max_cond=max_cond)
    m = _colliders(adj, sepsets)
    if possible_dsep_stage:
        keep = np.zeros_like(adj)
        for a, b in k.required:
            keep[t.nodes.index(a), t.nodes.index(b)] = keep[t.nodes.index(b), t.nodes.index(a)] = True
        before = adj.sum()
        _pds_stage(t, alpha, adj, sepsets, m, keep, max_cond)
        if adj.sum() != before:
            m = _colliders(adj, sepsets)
    if k:
        _knowledge_marks(m, t.nodes, k)
    orient_pag(m, sepsets)
    return PartialGraph.from_matrix(t.nodes, m)


def true_pag(graph: CausalGraph) -> PartialGraph:
    """The PAG of a causal graph over its observed nodes: FCI with a d-separation oracle.

    Hidden nodes and bidirected edges are latent common causes. Score FCI's
    output against this.

    Examples
    --------
    >>> true_pag(CausalGraph.from_string("a -> c; b -> c; c -> d"))
    PartialGraph(a o-> c, b o-> c, c -> d)
    """
    return fci(None, 0.5, DSeparation(graph))
