"""Orientation steps shared by :func:`~causal.discovery.pc` and :func:`~causal.discovery.pgraph.cpdag`.

All functions work in place on a mark matrix ``m`` (``m[i, j]`` is the mark at
``j`` of the edge ``i``–``j``; see :mod:`causal.discovery.pgraph`) holding
``--`` and ``->`` edges only.

Meek's rules [1]_, for an undirected edge ``a -- b``:

* R1: ``c -> a -- b`` with ``c``, ``b`` non-adjacent: ``a -> b`` (no new v-structure);
* R2: ``a -> c -> b`` and ``a -- b``: ``a -> b`` (no cycle);
* R3: ``a -- c -> b``, ``a -- d -> b``, ``c``, ``d`` non-adjacent: ``a -> b``;
* R4: ``a -- d -> c -> b`` with ``a`` adjacent to ``c`` and ``b``, ``d``
  non-adjacent: ``a -> b`` (only needed with background knowledge).

References
----------
.. [1] C. Meek, "Causal inference and causal explanation with background
   knowledge", UAI 1995.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from causal.discovery.pgraph import ARROW, NONE, TAIL

__all__ = ["orient_colliders", "meek", "orient", "undirected", "directed"]


def undirected(m: np.ndarray) -> np.ndarray:
    """Boolean matrix of ``--`` edges (symmetric)."""
    return (m == TAIL) & (m.T == TAIL)


def directed(m: np.ndarray) -> np.ndarray:
    """Boolean matrix ``D[i, j]``: ``i -> j``."""
    return (m == ARROW) & (m.T == TAIL)


def orient(m: np.ndarray, a: int, b: int) -> None:
    """Make the edge ``a -> b``."""
    m[a, b], m[b, a] = ARROW, TAIL


def orient_colliders(m: np.ndarray, triples: Iterable[tuple[int, int, int]],
                     allowed: np.ndarray | None = None) -> int:
    """Orient each ``(a, c, b)`` as the v-structure ``a -> c <- b``; return how many were oriented.

    A triple whose orientation would put an arrowhead at ``a`` or ``b`` against
    an existing one (``c -> a``: conflicting v-structures, from test errors) is
    skipped: earlier colliders keep priority, so the output stays a graph of
    ``->`` and ``--`` edges. ``allowed[i, j]`` False forbids ``i -> j``.
    """
    done = 0
    for a, c, b in triples:
        if m[c, a] == ARROW or m[c, b] == ARROW:
            continue
        if allowed is not None and not (allowed[a, c] and allowed[b, c]):
            continue
        orient(m, a, c)
        orient(m, b, c)
        done += 1
    return done


def _apply(m: np.ndarray, cand: np.ndarray) -> bool:
    """Orient every candidate ``i -> j`` (a pair proposed both ways keeps the first in node order)."""
    cand = cand & ~(cand.T & np.tril(np.ones_like(cand), -1).astype(bool))
    i, j = np.nonzero(cand)
    for a, b in zip(i, j, strict=True):
        orient(m, int(a), int(b))
    return bool(len(i))


def _rule3(m: np.ndarray, u: np.ndarray, d: np.ndarray, adj: np.ndarray) -> np.ndarray:
    out = np.zeros_like(u)
    for a, b in zip(*np.nonzero(u), strict=True):
        s = np.nonzero(u[a] & d[:, b])[0]
        if len(s) > 1 and (~adj[np.ix_(s, s)] & ~np.eye(len(s), dtype=bool)).any():
            out[a, b] = True
    return out


def _rule4(m: np.ndarray, u: np.ndarray, d: np.ndarray, adj: np.ndarray) -> np.ndarray:
    out = np.zeros_like(u)
    for a, b in zip(*np.nonzero(u), strict=True):
        cs = np.nonzero(adj[a] & d[:, b])[0]           # a adj c, c -> b
        for c in cs:
            ds = np.nonzero(u[a] & d[:, c] & ~adj[b])[0]  # a -- dd -> c, dd not adj b
            if len(ds[ds != b]):
                out[a, b] = True
                break
    return out


def meek(m: np.ndarray, rule4: bool = False, allowed: np.ndarray | None = None) -> None:
    """Apply Meek's rules R1-R3 (and R4 when ``rule4``) until nothing changes.

    ``allowed[i, j]`` False forbids orienting ``i -> j`` (background knowledge).
    """
    eye = np.eye(len(m), dtype=bool)
    while True:
        adj = m != NONE
        u, d = undirected(m), directed(m)
        di = d.astype(np.int64)
        cand = u & ((di.T @ (~adj & ~eye).astype(np.int64)) > 0)      # R1
        if not cand.any():
            cand = u & ((di @ di) > 0)                                 # R2
        if not cand.any():
            cand = _rule3(m, u, d, adj)
        if rule4 and not cand.any():
            cand = _rule4(m, u, d, adj)
        if allowed is not None:
            cand &= allowed
        if not cand.any() or not _apply(m, cand):
            return
