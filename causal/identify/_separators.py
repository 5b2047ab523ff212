r"""Vertex separators between two terminals of an undirected graph.

The machinery behind :mod:`causal.identify.adjustment`: there, d-separation
in a DAG becomes vertex separation in a moral graph whose treatment and
outcome nodes are merged into the terminals ``SOURCE`` and ``SINK`` and
whose nodes that may not be adjusted for are eliminated
(:func:`terminal_graph`). Then

* :func:`close` is the FindMinSep step: the minimal separator nearest to a
  connected part that holds the source [1]_;
* :func:`minimal_separators` lists every minimal separator with polynomial
  delay, by Takata's branching [2]_;
* :func:`minimum_separator` finds one of minimum size by max-flow [1]_.

Graphs are ``dict[node, set[node]]``, symmetric.

References
----------
.. [1] B. van der Zander, M. Liśkiewicz and J. Textor, "Separators and
   adjustment sets in causal graphs: complete criteria and an algorithmic
   framework", Artificial Intelligence 270, 2019.
.. [2] K. Takata, "Space-optimal, backtracking algorithms to list the minimal
   vertex separators of a graph", Discrete Applied Mathematics 158, 2010.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["SINK", "SOURCE", "boundary", "close", "minimal_separators", "minimum_separator",
           "reach", "terminal_graph"]

SOURCE, SINK = ("<treatment>",), ("<outcome>",)  # merged terminals; tuples never clash


def reach(start: Iterable, adj: dict[Any, set], avoid: Iterable = ()) -> set:
    """``start`` and every node reachable from it along ``adj`` without entering ``avoid``."""
    seen, avoid = set(start), set(avoid)
    stack = list(seen)
    while stack:
        for w in adj[stack.pop()]:
            if w not in seen and w not in avoid:
                seen.add(w)
                stack.append(w)
    return seen


def boundary(adj: dict[Any, set], part: set) -> set:
    """The neighbours of ``part`` outside it."""
    return {w for v in part for w in adj[v]} - part


def terminal_graph(adj: dict[Any, set], xs: frozenset, ys: frozenset,
                   allowed: set) -> dict[Any, set] | None:
    """Reduce vertex separation in ``adj`` to separators inside ``allowed``.

    Each connected group of non-allowed nodes is eliminated: merged into the
    source if it holds a treatment, into the sink if it holds an outcome, and
    otherwise replaced by a clique on its neighbours. Separators inside
    ``allowed`` are the same before and after. None if a group holds both.
    """
    h: dict[Any, set] = {v: adj[v] & allowed for v in allowed}
    h[SOURCE], h[SINK] = set(), set()
    done: set = set()
    for v in adj:
        if v in allowed or v in done:
            continue
        group = reach([v], adj, avoid=allowed)
        done |= group
        border = boundary(adj, group)
        to_x, to_y = not xs.isdisjoint(group), not ys.isdisjoint(group)
        if to_x and to_y:
            return None
        if to_x or to_y:
            t = SOURCE if to_x else SINK
            h[t] |= border
            for w in border:
                h[w].add(t)
        else:
            for w in border:
                h[w] |= border - {w}
    return h


def close(h: dict[Any, set], part: set) -> set:
    """FindMinSep: the minimal source-sink separator nearest to ``part`` (connected, ∋ source)."""
    return boundary(h, reach([SINK], h, avoid=boundary(h, part)))


def minimal_separators(h: dict[Any, set]) -> Iterator[frozenset]:
    """Every minimal source-sink vertex separator of ``h`` with polynomial delay [2]_.

    A branch ``(part, out)`` stands for the separators whose source-side full
    component contains ``part`` and avoids ``out``; the nearest one, ``close``,
    shows in O(n + m) whether the branch holds any, so no branch is a dead end.
    """
    stack = [({SOURCE}, {SINK} | h[SINK])]
    while stack:
        part, out = stack.pop()
        sep = close(h, part)
        side = reach([SOURCE], h, avoid=sep)
        if not side.isdisjoint(out):
            continue
        free = sep - out
        if not free:
            yield frozenset(sep)
            continue
        v = min(free)
        stack.append((side, out | {v}))  # separators that contain v ...
        stack.append((side | {v}, out))  # ... and those with v on the treatment side


def minimum_separator(h: dict[Any, set], near: Any, far: Any) -> frozenset | None:
    """A minimum ``near``-``far`` vertex separator of ``h``: the one nearest to ``near``.

    Max-flow on the split graph (each node ``v`` other than the terminals
    becomes ``(v, 0) -> (v, 1)`` of capacity 1, each edge ``{a, b}`` the arcs
    ``(a, 1) -> (b, 0)`` and ``(b, 1) -> (a, 0)`` of unbounded capacity), one
    shortest augmenting path per unit of flow (at most one per neighbour of
    ``near``), so O(k (n + m)) for a separator of size k. The nodes whose
    in-copy but not out-copy the final residual search from ``near`` reaches
    form the cut; that reachable set is the same for every maximum flow, so
    the answer does not depend on iteration order. None if ``near`` and
    ``far`` are adjacent (no separator exists).
    """
    if far in h[near]:
        return None
    through: dict[Any, int] = {}  # flow (v, 0) -> (v, 1): 0 or 1 (terminals: unused)
    along: dict[tuple, int] = {}  # flow (a, 1) -> (b, 0), keyed (a, b)
    start, goal = (near, 1), (far, 0)

    def residual(u: tuple) -> Iterator[tuple]:
        v, side = u
        if side == 0:
            if v in (near, far) or not through.get(v):
                yield v, 1
            for a in h[v]:
                if along.get((a, v)):
                    yield a, 1
        else:
            for b in h[v]:
                yield b, 0
            if v not in (near, far) and through.get(v):
                yield v, 0

    while True:
        parent: dict[tuple, tuple | None] = {start: None}
        queue = [start]
        for u in queue:  # breadth-first: the list grows while it is read
            for w in residual(u):
                if w not in parent:
                    parent[w] = u
                    queue.append(w)
            if goal in parent:
                break
        if goal not in parent:
            reached = parent
            break
        w = goal
        while (u := parent[w]) is not None:
            (a, sa), (b, _) = u, w
            if a == b:  # through a node, forwards (0 -> 1) or cancelling (1 -> 0)
                through[a] = through.get(a, 0) + (1 if sa == 0 else -1)
            elif sa == 1:
                along[a, b] = along.get((a, b), 0) + 1
            else:  # (a, 0) -> (b, 1) cancels flow on (b, 1) -> (a, 0)
                along[b, a] -= 1
            w = u
    return frozenset(v for v in h if v not in (near, far)
                     and (v, 0) in reached and (v, 1) not in reached)
