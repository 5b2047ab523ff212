"""Compiled (numba) kernels of :class:`~causal.estimators.forest.CausalForest`: growing a tree, routing.

Why compiled code: the split search of a causal tree is a scan, in feature order, of the node's
units with running sums; NumPy can vectorise it across the nodes, trees and features of a level
(sorted cumulative sums, stable partitions), but each level then makes some twenty passes over
every row of every feature, with gathers and temporaries, and stays three to four times slower
than a compiled single-threaded scan (measured at n = 10,000, p = 10, 500 trees). numba is a
dependency of EconML and shap already; the kernels run single-threaded, without fast-math, so
their floating-point operations are the ones written here, in this order, on any CPU.

Trees are stored flat, as in :mod:`causal.estimators._forest_split`: ``feature`` (-1 at a leaf),
``threshold`` (go left when ``x <= threshold``), ``left`` (the right child is ``left + 1``) and
``depth`` per node.

The random features tried at each node (``mtry < q``) come from a splitmix64 stream seeded per tree
(Steele, Lea & Flood 2014), so no global random state is touched.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

__all__ = ["forest_sums", "grow_tree", "route_pairs_kernel"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
#: Rows routed together through one tree at a time by :func:`forest_sums`.
_BLOCK = 512


@njit(**_JIT)
def _splitmix(state: np.ndarray) -> np.uint64:
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(**_JIT)
def _sorted_members(W, order, member, m):
    """For each feature, the tree's splitting units in that feature's (global, stable) order, and
    their values of the feature in the same order."""
    q, n = order.shape
    idx = np.empty((q, m), np.int64)
    xs = np.empty((q, m))
    for f in range(q):
        k = 0
        for j in range(n):
            u = order[f, j]
            if member[u]:
                idx[f, k] = u
                xs[f, k] = W[u, f]
                k += 1
    return idx, xs


@njit(**_JIT)
def _choose(allowed: np.ndarray, perm: np.ndarray, mtry: int, state: np.ndarray) -> None:
    """Mark ``mtry`` features drawn without replacement (a partial Fisher-Yates shuffle)."""
    q = len(allowed)
    if mtry >= q:
        allowed[:] = True
        return
    allowed[:] = False
    for i in range(mtry):
        j = i + np.int64(_splitmix(state) % np.uint64(q - i))
        perm[i], perm[j] = perm[j], perm[i]
        allowed[perm[i]] = True


@njit(**_JIT)
def _best_split(xs, idx, rho, treated, allowed, s, e, n1, s_par, min1, min0, minc):
    """The best (criterion, feature, position) of a node's units ``idx[:, s:e]`` (-inf if none).

    A cut after position ``k`` of feature ``f``'s order puts ``k - s + 1`` units left; it must keep
    ``minc`` units and ``min1`` treated and ``min0`` control units in each child and fall between
    distinct values. The criterion is ``sL^2 / nL + (s_par - sL)^2 / nR`` for the pseudo-outcomes'
    left sum ``sL``. Ties go to the lower feature, then the earlier position.
    """
    q = xs.shape[0]
    n_p = e - s
    best, bf, bpos = -np.inf, -1, -1
    for f in range(q):
        if not allowed[f]:
            continue
        s_left = 0.0
        t_left = 0
        for k in range(s, e - 1):
            u = idx[f, k]
            s_left += rho[u]
            t_left += treated[u]
            n_l = k - s + 1
            n_r = n_p - n_l
            if n_r < minc:
                break
            if n_l < minc:
                continue
            if t_left < max(min1, n1 - n_r + min0) or t_left > min(n_l - min0, n1 - min1):
                continue
            if not xs[f, k + 1] > xs[f, k]:
                continue
            d = s_par - s_left
            crit = s_left * s_left / n_l + d * d / n_r
            if crit > best:
                best, bf, bpos = crit, f, k
    return best, bf, bpos


@njit(**_JIT)
def grow_tree(W, order, tres, yres, treated, member, m, min_node_size, alpha, mtry, seed):
    """Grow one honest causal tree on the ``m`` units where ``member`` is true (its splitting half).

    Nodes are split breadth first (children get consecutive ids). A node ``P`` is split on GRF's
    pseudo-outcomes ``rho_i = (T~_i - T~_P)(Y~_i - Y~_P - (T~_i - T~_P) theta_P) / Var_P(T~)``
    when it has non-constant ``T~`` and room for two children of at least ``min_node_size`` and an
    ``alpha`` share of its treated and of its control units, and the best cut beats the parent's
    ``sum(rho)^2 / n``. Returns ``feature, threshold, left, depth``.
    """
    q = W.shape[1]
    idx, xs = _sorted_members(W, order, member, m)
    cap = 2 * m + 1
    feature = np.full(cap, -1, np.int32)
    threshold = np.zeros(cap)
    left = np.full(cap, -1, np.int64)
    depth = np.zeros(cap, np.int32)
    q_node = np.empty(cap, np.int64)
    q_start = np.empty(cap, np.int64)
    q_end = np.empty(cap, np.int64)
    q_node[0], q_start[0], q_end[0] = 0, 0, m
    head, tail, n_nodes = 0, 1, 1
    rho = np.zeros(len(tres))
    goes_left = np.zeros(len(tres), np.bool_)
    buf = np.empty(m, np.int64)
    xbuf = np.empty(m)
    allowed = np.zeros(q, np.bool_)
    perm = np.arange(q)
    state = np.array([seed], np.uint64)
    while head < tail:
        node, s, e = q_node[head], q_start[head], q_end[head]
        head += 1
        n_p = e - s
        if n_p < 2:
            continue
        st, stt, sy, sty, n1 = 0.0, 0.0, 0.0, 0.0, 0
        for k in range(s, e):
            u = idx[0, k]
            st += tres[u]
            stt += tres[u] * tres[u]
            sy += yres[u]
            sty += tres[u] * yres[u]
            n1 += treated[u]
        var_t = stt / n_p - (st / n_p) ** 2
        min1 = max(min_node_size, np.int64(np.ceil(alpha * n1)))
        min0 = max(min_node_size, np.int64(np.ceil(alpha * (n_p - n1))))
        if not (var_t > 1e-12 * max(stt / n_p, 1e-300)) or n1 < 2 * min1 or n_p - n1 < 2 * min0:
            continue
        tbar, ybar = st / n_p, sy / n_p
        theta = (sty / n_p - tbar * ybar) / var_t
        s_par = 0.0
        for k in range(s, e):
            u = idx[0, k]
            tc = tres[u] - tbar
            rho[u] = tc * (yres[u] - ybar - tc * theta) / var_t
            s_par += rho[u]
        minc = max(min_node_size, np.int64(np.ceil(alpha * n_p)))
        _choose(allowed, perm, mtry, state)
        best, bf, bpos = _best_split(xs, idx, rho, treated, allowed, s, e, n1, s_par, min1, min0, minc)
        if not (best > s_par * s_par / n_p + 1e-12 * abs(best)) or bf < 0:
            continue
        thr = 0.5 * (xs[bf, bpos] + xs[bf, bpos + 1])
        n_left = 0
        for k in range(s, e):
            u = idx[0, k]
            goes_left[u] = W[u, bf] <= thr
            n_left += goes_left[u]
        for f in range(q):  # stable partition of every feature's order: left units, then right
            a, b = s, 0
            for k in range(s, e):
                u = idx[f, k]
                x = xs[f, k]
                if goes_left[u]:
                    idx[f, a] = u
                    xs[f, a] = x
                    a += 1
                else:
                    buf[b] = u
                    xbuf[b] = x
                    b += 1
            idx[f, a:e] = buf[:b]
            xs[f, a:e] = xbuf[:b]
        kid = n_nodes
        feature[node], threshold[node], left[node] = bf, thr, kid
        depth[kid] = depth[kid + 1] = depth[node] + 1
        n_nodes += 2
        q_node[tail], q_start[tail], q_end[tail] = kid, s, s + n_left
        q_node[tail + 1], q_start[tail + 1], q_end[tail + 1] = kid + 1, s + n_left, e
        tail += 2
    return feature[:n_nodes], threshold[:n_nodes], left[:n_nodes], depth[:n_nodes]


@njit(**_JIT)
def _leaf(feature, threshold, left, X, i, node):
    while feature[node] >= 0:
        if X[i, feature[node]] > threshold[node]:
            node = left[node] + 1
        else:
            node = left[node]
    return node


@njit(**_JIT)
def route_pairs_kernel(feature, threshold, left, X, points, start):
    """The leaf reached by each row ``X[points[k]]`` from node ``start[k]``."""
    out = np.empty(len(points), np.int64)
    for k in range(len(points)):
        out[k] = _leaf(feature, threshold, left, X, points[k], start[k])
    return out


@njit(**_JIT)
def _block_sums(feature, threshold, left, roots, X, leaf_means, leaf_count, ell, inbag, oob, lo, hi,
                s_all, n_all, s_g, n_groups, s2_tree, s2_group):
    """:func:`forest_sums` for the rows ``lo:hi``, tree by tree (a tree's nodes stay in cache)."""
    groups = len(roots) // ell
    m = hi - lo
    vals = np.zeros((m, ell, 4))
    whole = np.empty(m, np.bool_)
    mg = np.zeros(4)
    for g in range(groups):
        whole[:] = True
        for j in range(ell):
            b = g * ell + j
            root = roots[b]
            for r in range(m):
                i = lo + r
                node = _leaf(feature, threshold, left, X, i, root)
                if leaf_count[node] > 0 and not (oob and inbag[b, i]):
                    for a in range(4):
                        vals[r, j, a] = leaf_means[node, a]
                        s_all[i, a] += leaf_means[node, a]
                    n_all[i] += 1.0
                else:
                    whole[r] = False
        if ell == 1:
            continue
        for r in range(m):
            if not whole[r]:
                continue
            i = lo + r
            n_groups[i] += 1.0
            for a in range(4):
                acc = 0.0
                for j in range(ell):
                    acc += vals[r, j, a]
                s_g[i, a] += acc
                mg[a] = acc / ell
            for a in range(4):
                for c in range(4):
                    acc = 0.0
                    for j in range(ell):
                        acc += vals[r, j, a] * vals[r, j, c]
                    s2_tree[i, a, c] += acc
                    s2_group[i, a, c] += mg[a] * mg[c]


def forest_sums(feature, threshold, left, roots, X, leaf_means, leaf_count, ell, inbag, oob, workers=1):
    """Per row of ``X``, the forest's sums of leaf means for the moment and its little-bags variance.

    Trees come in groups of ``ell``. A tree counts for row ``i`` when ``i``'s leaf holds
    estimation units (and, with ``oob``, when unit ``i`` was not in the tree's subsample,
    ``inbag[tree, i]``). Returns ``s_all`` (sum of the counted trees' leaf means, ``(nx, 4)``),
    ``n_all`` (their number), and over the groups whose trees all count: ``s_g`` (sum of their
    trees' leaf means), ``n_groups``, ``s2_tree`` (sum of the trees' outer products) and ``s2_group``
    (sum of the outer products of the group means). Blocks of rows run on ``workers`` threads;
    each row's sums run over the trees in order, so the result does not depend on their number.
    """
    nx = X.shape[0]
    out = (np.zeros((nx, 4)), np.zeros(nx), np.zeros((nx, 4)), np.zeros(nx), np.zeros((nx, 4, 4)),
           np.zeros((nx, 4, 4)))

    def block(lo: int) -> None:
        _block_sums(feature, threshold, left, roots, X, leaf_means, leaf_count, ell, inbag, oob, lo,
                    min(nx, lo + _BLOCK), *out)

    starts = range(0, nx, _BLOCK)
    if workers > 1 and nx > _BLOCK:
        with ThreadPoolExecutor(max_workers=workers) as pool:  # the kernel releases the GIL
            list(pool.map(block, starts))
    else:
        for lo in starts:
            block(lo)
    return out
