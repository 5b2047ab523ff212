"""Growing and reading the honest causal trees of :class:`~causal.estimators.forest.CausalForest`.

The trees of a batch are grown together, one level at a time, with NumPy only: every unit of
every tree's splitting half is a *row*; for each feature the rows are kept grouped by their
current node and sorted by the feature within it, so one cumulative sum per feature scores every
threshold of every open node of every tree at once (Athey, Tibshirani & Wager 2019, Section 2.3:
a CART-style split on the gradient-based pseudo-outcomes). After a level the groups are
partitioned stably into children in O(rows), without sorting again.

The forest is stored flat: ``feature`` (-1 at a leaf), ``threshold`` (go left when
``x <= threshold``), ``left``/``right`` child (always ``right = left + 1``) and ``depth`` per
node, and ``roots`` per tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Forest", "grow_batch", "route", "route_pairs"]


@dataclass
class Forest:
    """The flat node arrays of a forest (see the module docstring)."""

    feature: list[np.ndarray] = field(default_factory=list)
    threshold: list[np.ndarray] = field(default_factory=list)
    left: list[np.ndarray] = field(default_factory=list)
    right: list[np.ndarray] = field(default_factory=list)
    depth: list[np.ndarray] = field(default_factory=list)
    roots: list[np.ndarray] = field(default_factory=list)
    size: int = 0

    def add(self, feature: np.ndarray, threshold: np.ndarray, left: np.ndarray, right: np.ndarray,
            depth: np.ndarray, roots: np.ndarray) -> None:
        """Append a batch whose node ids start at 0 (children of -1 stay -1)."""
        off = self.size
        self.feature.append(feature.astype(np.int32))
        self.threshold.append(threshold)
        self.left.append(np.where(left >= 0, left + off, -1).astype(np.int64))
        self.right.append(np.where(right >= 0, right + off, -1).astype(np.int64))
        self.depth.append(depth.astype(np.int32))
        self.roots.append(roots + off)
        self.size += len(feature)

    def freeze(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(getattr(self, k)) for k in
                ("feature", "threshold", "left", "right", "depth", "roots")}


def route(nodes: dict[str, np.ndarray], X: np.ndarray, trees: np.ndarray) -> np.ndarray:
    """The leaf of every point of ``X`` (rows) in every tree of ``trees`` (columns): ``(len(X), T)``."""
    n, T = len(X), len(trees)
    points = np.repeat(np.arange(n, dtype=np.int64), T)  # point-major: pair k is point k // T
    return route_pairs(nodes, X, points, np.tile(nodes["roots"][trees], n)).reshape(n, T)


def route_pairs(nodes: dict[str, np.ndarray], X: np.ndarray, points: np.ndarray,
                start: np.ndarray) -> np.ndarray:
    """The leaf reached by each row ``X[points[k]]`` from node ``start[k]`` (e.g. its tree's root)."""
    feature, threshold, left, right = nodes["feature"], nodes["threshold"], nodes["left"], nodes["right"]
    q = X.shape[1]
    del right  # children come in pairs: right = left + 1
    idx = np.array(start, dtype=np.int64)
    flat = np.ascontiguousarray(X, dtype=float).ravel()
    active = np.flatnonzero(feature[idx] >= 0)
    at = points[active] * q  # the row's offset in flat, for the active pairs
    while len(active):
        nd = idx[active]
        nxt = left[nd] + (flat[at + feature[nd]] > threshold[nd])
        idx[active] = nxt
        inner = feature[nxt] >= 0
        active, at = active[inner], at[inner]
    return idx


def _segment_first(values: np.ndarray, starts: np.ndarray, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per contiguous segment: the maximum of ``values`` and the first position holding it."""
    best = np.maximum.reduceat(values, starts)
    hit = np.flatnonzero(values == best[seg])
    first = np.ones(len(hit), dtype=bool)
    first[1:] = seg[hit[1:]] != seg[hit[:-1]]
    pos = np.empty(len(starts), dtype=np.int64)
    pos[seg[hit[first]]] = hit[first]
    return best, pos


def grow_batch(W: np.ndarray, ranks: list[np.ndarray], tres: np.ndarray, yres: np.ndarray,
               treated: np.ndarray, members: np.ndarray, *, min_node_size: int, alpha: float,
               mtry: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Grow one tree per row of ``members`` (a ``(B, n)`` mask of each tree's splitting half).

    ``ranks[f]`` is the order of the units by feature ``f`` (``np.argsort(W[:, f], kind="stable")``).
    Returns ``feature, threshold, left, right, depth, roots`` with node ids from 0.
    """
    B, n = members.shape
    q = W.shape[1]
    tree_of_row, unit = np.nonzero(members)  # rows ordered by tree, then unit
    R = len(unit)
    counts = members.sum(axis=1)
    rid = np.cumsum(members, axis=1) - 1 + (np.cumsum(counts) - counts)[:, None]
    perms = []
    for f in range(q):
        m = members[:, ranks[f]]
        perms.append(rid[:, ranks[f]][m])
    del rid
    tr, yr, tb = tres[unit], yres[unit], treated[unit].astype(float)
    xs_all = [W[unit, f] for f in range(q)]
    cap = 2 * R + B
    feature = np.full(cap, -1, dtype=np.int64)
    threshold = np.zeros(cap)
    left = np.full(cap, -1, dtype=np.int64)
    right = np.full(cap, -1, dtype=np.int64)
    depth = np.zeros(cap, dtype=np.int64)
    n_nodes = B
    nodes = np.arange(B)  # the open nodes, in the order of their segments
    seg_n = counts.astype(np.int64)
    level = 0
    while len(nodes) and len(perms[0]):
        A = len(nodes)
        starts = np.cumsum(seg_n) - seg_n
        seg = np.repeat(np.arange(A), seg_n)
        rows0 = perms[0]
        nP = seg_n.astype(float)
        st, stt = np.bincount(seg, tr[rows0], A), np.bincount(seg, tr[rows0] ** 2, A)
        var_t = stt / nP - (st / nP) ** 2
        ok_node = var_t > 1e-12 * np.maximum(stt / nP, 1e-300)
        n1P = np.bincount(seg, tb[rows0], A)
        min1 = np.maximum(min_node_size, np.ceil(alpha * n1P))  # treated units per child
        min0 = np.maximum(min_node_size, np.ceil(alpha * (nP - n1P)))  # control units per child
        splittable = ok_node & (n1P >= 2 * min1) & (nP - n1P >= 2 * min0)
        if not splittable.all():  # leaves already: drop their rows before scoring any threshold
            keep = splittable[seg]
            perms = [p[keep] for p in perms]
            nodes, seg_n = nodes[splittable], seg_n[splittable]
            continue
        # the parent's local solution and the pseudo-outcomes rho (GRF's causal-forest gradient)
        sy, sty = np.bincount(seg, yr[rows0], A), np.bincount(seg, tr[rows0] * yr[rows0], A)
        tbar, ybar = st / nP, sy / nP
        theta = np.where(ok_node, (sty / nP - tbar * ybar) / np.where(ok_node, var_t, 1.0), 0.0)
        tc = tr[rows0] - tbar[seg]
        rho_rows = np.zeros(R)
        rho_rows[rows0] = np.where(ok_node[seg], tc * (yr[rows0] - ybar[seg] - tc * theta[seg])
                                   / np.where(ok_node, var_t, 1.0)[seg], 0.0)
        minc = np.maximum(min_node_size, np.ceil(alpha * nP))
        sP = np.bincount(seg, rho_rows[rows0], A)
        gain = np.full((A, q), -np.inf)
        thr = np.zeros((A, q))
        pos_in = np.arange(len(rows0)) - starts[seg]
        nL = (pos_in + 1).astype(float)
        nR = nP[seg] - nL
        # feature-free bounds on a left child's treated count t_L: both children keep min1 treated
        # and min0 control units; positions failing the size rule get an empty range
        n1 = n1P[seg]
        lo_t = np.maximum(min1[seg], n1 - nR + min0[seg])
        hi_t = np.minimum(nL - min0[seg], n1 - min1[seg])
        lo_t[(nL < minc[seg]) | (nR < minc[seg])] = np.inf
        inv_l, inv_r = 1.0 / nL, 1.0 / np.maximum(nR, 1.0)
        s_par = sP[seg]
        # subtracting the previous segment's total at each segment start makes one cumsum per
        # feature restart at every node
        shift_rho = -np.concatenate([[0.0], sP[:-1]])
        shift_t = -np.concatenate([[0.0], n1P[:-1]])
        chosen = np.argsort(rng.random((A, q)), axis=1)[:, :mtry]
        allowed = np.zeros((A, q), dtype=bool)
        np.put_along_axis(allowed, chosen, True, axis=1)
        for f in range(q):
            rp = perms[f]
            x = xs_all[f][rp]
            r = rho_rows[rp]
            r[starts] += shift_rho
            sL = np.cumsum(r)
            tt = tb[rp]
            tt[starts] += shift_t
            t_left = np.cumsum(tt)
            valid = (t_left >= lo_t - 0.5) & (t_left <= hi_t + 0.5)
            valid[:-1] &= x[1:] > x[:-1]
            valid[-1] = False
            crit = np.where(valid, sL * sL * inv_l + (s_par - sL) ** 2 * inv_r, -np.inf)
            best, pos = _segment_first(crit, starts, seg)
            gain[:, f] = best
            nxt = np.minimum(pos + 1, len(x) - 1)
            thr[:, f] = 0.5 * (x[pos] + x[nxt])
        gain[~allowed] = -np.inf
        fbest = np.argmax(gain, axis=1)
        gbest = gain[np.arange(A), fbest]
        split = np.isfinite(gbest) & (gbest > sP**2 / nP + 1e-12 * np.abs(gbest))
        if not split.any():
            break
        sn = np.flatnonzero(split)
        parents = nodes[sn]
        kids = n_nodes + 2 * np.arange(len(sn))
        feature[parents], threshold[parents] = fbest[sn], thr[sn, fbest[sn]]
        left[parents], right[parents] = kids, kids + 1
        depth[kids] = depth[kids + 1] = level + 1
        n_nodes += 2 * len(sn)
        # partition the rows of the split nodes, stably, into left then right children
        keep_seg = split[seg]
        new_index = np.cumsum(split) - 1
        rows_k = rows0[keep_seg]
        seg_k = new_index[seg[keep_seg]]
        row_feat = fbest[sn][seg_k]
        go = np.empty(R, dtype=bool)
        go[rows_k] = W[unit[rows_k], row_feat] <= thr[sn, fbest[sn]][seg_k]
        n_left = np.bincount(seg_k, go[rows_k], len(sn)).astype(np.int64)
        sizes = seg_n[sn]
        new_starts = np.cumsum(sizes) - sizes
        for f in range(q):
            rp = perms[f][keep_seg]
            g = go[rp]
            cl = np.cumsum(g) - g
            left_before = cl - cl[new_starts][seg_k]
            right_before = (np.arange(len(rp)) - new_starts[seg_k]) - left_before
            start = new_starts[seg_k]
            dest = np.where(g, start + left_before, start + n_left[seg_k] + right_before)
            out = np.empty_like(rp)
            out[dest] = rp
            perms[f] = out
        nodes = np.column_stack([kids, kids + 1]).ravel()
        seg_n = np.column_stack([n_left, sizes - n_left]).ravel()
        level += 1
    sl = slice(0, n_nodes)
    return feature[sl], threshold[sl], left[sl], right[sl], depth[sl], np.arange(B)
