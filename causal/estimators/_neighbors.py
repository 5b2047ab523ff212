"""Nearest-neighbour search for the matching estimators.

:class:`_Line` is an exact, vectorised 1-D search (sort once, bisect, walk
outwards) used whenever the matching space is one-dimensional (the propensity
score, or a single covariate); other spaces use scikit-learn's
:class:`~sklearn.neighbors.NearestNeighbors`. :func:`_nearest` returns every
match of a query, ties at the M-th distance included.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors

from causal.errors import EstimationError

_MAX_CANDIDATES = 20_000_000  # candidate pairs held at once while resolving ties
_TIE = 1e-10  # relative tolerance: distances this close to the M-th count as ties

# --------------------------------------------------------------------------- neighbour search
class _Line:
    """Exact nearest neighbours on a line: a 1-D matching space, sorted once, searched by bisection.

    Mirrors the parts of :class:`~sklearn.neighbors.NearestNeighbors` the
    estimators use (``kneighbors``, ``n_samples_fit_``) and adds
    :meth:`within`, the tie-inclusive matches of :func:`_nearest`. Distances
    are ``|z_q - z_p|`` exactly as the KD-tree computes them (``sqrt(d²) = |d|``
    in floating point). Everything is vectorised over the queries: the ``k``
    nearest points of a query are a window around its insertion point, found by
    ``k`` steps of a two-pointer merge; tie-inclusive sets by bisection of the
    distance cut-off on both sides.
    """

    def __init__(self, z: np.ndarray) -> None:
        z = np.asarray(z, dtype=float).ravel()
        self.order = np.argsort(z)
        self.s = z[self.order]
        self.n_samples_fit_ = len(z)
        self._pad, self._padded = 0, self.s

    def _padded_pool(self, k: int) -> tuple[np.ndarray, int]:
        """The sorted pool with ``pad > k`` sentinels -inf / +inf beyond both ends (at infinite distance)."""
        if self._pad <= k:
            self._pad = max(k + 1, 8)
            fill = np.full(self._pad, np.inf)
            self._padded = np.concatenate([-fill, self.s, fill])
        return self._padded, self._pad

    def _walk(self, q: np.ndarray, left: np.ndarray, right: np.ndarray,
              k: int) -> tuple[np.ndarray, np.ndarray]:
        """Sorted positions and distances of the ``k`` nearest points, merging outwards from the pointers.

        Returns ``(pos, dist)`` of shape ``(k, len(q))``: the ``j``-th nearest in row ``j``.
        """
        s, pad = self._padded_pool(k)
        pos, dist = np.empty((k, len(q)), dtype=np.intp), np.empty((k, len(q)))
        left = left + pad
        gap = right - left + pad  # right - left: grows by one with every point taken
        for step in range(k):
            right = left + (gap + step)
            dl, dr = q - s[left], s[right] - q
            go_left = dl <= dr
            np.copyto(pos[step], right)
            np.copyto(pos[step], left, where=go_left)
            np.minimum(dl, dr, out=dist[step])
            left -= go_left
        pos -= pad
        return pos, dist

    def window_starts(self, q: np.ndarray, k: int) -> np.ndarray:
        """Sorted-pool positions ``lo`` such that ``s[lo:lo + k]`` are the ``k`` nearest points of each query.

        The ``k`` nearest points on a line are a run of the sorted pool: these are the points of
        :meth:`kneighbors_sorted`, ties broken alike (the same two-pointer merge, counting the steps
        taken to the left instead of recording every point). Needs ``k <= n_samples_fit_``.
        """
        s, pad = self._padded_pool(k)
        at = np.searchsorted(self.s, q)
        left = at + (pad - 1)
        dl, dr, go_left = np.empty(len(q)), np.empty(len(q)), np.empty(len(q), dtype=bool)
        for step in range(k):
            np.subtract(q, s[left], out=dl)
            np.subtract(s[left + (step + 1)], q, out=dr)  # the right pointer: one past the points taken
            np.less_equal(dl, dr, out=go_left)
            left -= go_left
        left += 1 - pad
        return left

    def kneighbors_sorted(self, q: np.ndarray, k: int) -> np.ndarray:
        """Pool indices ``(k, len(q))`` of the ``k`` nearest points of queries ``q`` sorted ascending."""
        at = np.searchsorted(self.s, q)
        pos, _ = self._walk(q, at - 1, at, k)
        return self.order[pos]

    def kneighbors(self, X: np.ndarray | None = None, n_neighbors: int = 1,
                   return_distance: bool = True) -> Any:
        """The ``n_neighbors`` nearest pool points (indices into the pool), as ``NearestNeighbors``.

        With ``X=None`` the queries are the pool points themselves, each excluding itself.
        Ties at the last distance are broken arbitrarily, as by scikit-learn.
        """
        if X is None:
            q = self.s
            at = np.arange(self.n_samples_fit_)
            pos, dist = self._walk(q, at - 1, at + 1, n_neighbors)
            idx = np.empty((len(q), n_neighbors), dtype=np.intp)
            idx[self.order] = self.order[pos.T]
            d = np.empty((len(q), n_neighbors))
            d[self.order] = dist.T
        else:
            q = np.asarray(X, dtype=float).ravel()
            qo = np.argsort(q)  # sorted queries: local memory access, fast bisection
            qs = q[qo]
            at = np.searchsorted(self.s, qs)
            pos, dist = self._walk(qs, at - 1, at, n_neighbors)
            idx = np.empty((len(q), n_neighbors), dtype=np.intp)
            idx[qo] = self.order[pos.T]
            d = np.empty((len(q), n_neighbors))
            d[qo] = dist.T
        return (d, idx) if return_distance else idx

    def within(self, q: np.ndarray, m: int, radius: float | None, name: str,
               query_order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pairs of :func:`_nearest`: pool points within the ``m``-th distance (ties kept), ``radius``.

        ``query_order``, if known, is a permutation sorting ``q``.
        """
        s, n_pool = self.s, self.n_samples_fit_
        # sorted queries: local memory access, fast bisection
        qo = np.argsort(q) if query_order is None else query_order
        q_all, q = q, q[qo]
        at = np.searchsorted(s, q)
        _, dist = self._walk(q, at - 1, at, m)
        cut = dist[m - 1] * (1 + _TIE)
        if radius is not None:
            cut = np.minimum(cut, radius)
        # left end a: the first sorted position < at with q - s[a] <= cut (monotone in a)
        a = np.minimum(np.searchsorted(s, q - cut, side="left"), at)
        while (bad := np.flatnonzero((a < at) & ~(q - s[np.minimum(a, n_pool - 1)] <= cut))).size:
            a[bad] = np.minimum(np.searchsorted(s, s[a[bad]], side="right"), at[bad])
        while (bad := np.flatnonzero((a > 0) & (q - s[np.maximum(a - 1, 0)] <= cut))).size:
            a[bad] = np.searchsorted(s, s[a[bad] - 1], side="left")
        # right end b (exclusive): past the last sorted position >= at with s[b] - q <= cut
        b = np.maximum(np.searchsorted(s, q + cut, side="right"), at)
        while (bad := np.flatnonzero((b > at) & ~(s[np.maximum(b - 1, 0)] - q <= cut))).size:
            b[bad] = np.maximum(np.searchsorted(s, s[b[bad] - 1], side="left"), at[bad])
        while (bad := np.flatnonzero((b < n_pool) & (s[np.minimum(b, n_pool - 1)] - q <= cut))).size:
            b[bad] = np.searchsorted(s, s[b[bad]], side="right")
        first = np.empty_like(a)
        first[qo] = a
        counts = np.empty_like(a)
        counts[qo] = b - a
        a, q = first, q_all
        total = int(counts.sum())
        if total > _MAX_CANDIDATES:
            raise EstimationError(
                f"{name}: the matching variables take so few distinct values that the ties give {total} "
                "matched pairs; match exactly within strata (or add a continuous covariate) instead")
        rows = np.repeat(np.arange(len(q)), counts)
        start = np.cumsum(counts) - counts
        sp = a[rows] + (np.arange(total) - start[rows])
        d = np.abs(q[rows] - s[sp])
        several = np.flatnonzero(counts[rows] > 1)
        if several.size:  # order each unit's matches by distance, as kneighbors does
            sp[several] = sp[several[np.lexsort((d[several], rows[several]))]]
            d = np.abs(q[rows] - s[sp])
        return rows, self.order[sp], d


_Index = NearestNeighbors | _Line


def _index(Z: np.ndarray) -> _Index:
    """A neighbour index of the points ``Z``: exact 1-D search on a line, else scikit-learn's."""
    return _Line(Z[:, 0]) if Z.shape[1] == 1 else NearestNeighbors().fit(Z)


def _nearest(Zq: np.ndarray, nn: _Index, m: int, radius: float | None, name: str,
             query_order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (query row, pool row, distance) of the ``m`` nearest points of ``nn``'s pool, ties included.

    Only pairs within ``radius`` are kept. Ties at the ``m``-th distance are
    resolved by doubling the number of neighbours asked for, for the query
    rows that still have ties: a loop over doublings, never over units. On a
    line (:class:`_Line`) the tie-inclusive sets are found directly.
    """
    if isinstance(nn, _Line):
        return nn.within(Zq[:, 0], m, radius, name, query_order)
    n_pool = nn.n_samples_fit_
    rows = np.arange(len(Zq))
    k = min(m + 1, n_pool)
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    while rows.size:
        if rows.size * k > _MAX_CANDIDATES:
            raise EstimationError(
                f"{name}: the matching variables take so few distinct values that resolving ties would "
                f"compare {rows.size} units with {k} candidates each; match exactly within strata "
                "(or add a continuous covariate) instead")
        dist, idx = nn.kneighbors(Zq[rows], n_neighbors=k)
        thr = dist[:, m - 1] * (1 + _TIE)
        more = (dist[:, -1] <= thr) if k < n_pool else np.zeros(len(rows), dtype=bool)
        keep = (dist <= thr[:, None]) & ~more[:, None]
        if radius is not None:
            keep &= dist <= radius
        out.append((np.repeat(rows, keep.sum(axis=1)), idx[keep], dist[keep]))
        rows, k = rows[more], min(2 * k, n_pool)
    q, p, d = (np.concatenate(parts) for parts in zip(*out, strict=True))
    return q, p, d
