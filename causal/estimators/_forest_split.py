"""Growing and reading the honest causal trees of :class:`~causal.estimators.forest.CausalForest`.

Each tree is grown by a compiled kernel (:func:`causal.estimators._forest_kernel.grow_tree`):
the tree's splitting units are kept, per feature, in that feature's order (taken from one global
stable argsort per feature), each node is one contiguous segment of those orders, and a split
scans the segment once per tried feature with running sums of the pseudo-outcomes and of the
treated units (Athey, Tibshirani & Wager 2019, Section 2.3: a CART-style split on the
gradient-based pseudo-outcomes), then partitions every order stably into the two children.

The forest is stored flat: ``feature`` (-1 at a leaf), ``threshold`` (go left when
``x <= threshold``), ``left``/``right`` child (always ``right = left + 1``) and ``depth`` per
node, and ``roots`` per tree.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from causal.errors import EstimationError

__all__ = ["Forest", "grow_trees", "kernels", "route_pairs", "threads"]


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


def kernels() -> Any:
    """The compiled kernels module; a clear error when numba is missing."""
    try:
        from causal.estimators import _forest_kernel
    except ImportError as exc:  # numba is a runtime dependency of the forest
        raise EstimationError("CausalForest needs numba (its tree kernels are compiled): "
                              "python -m pip install numba") from exc
    return _forest_kernel


def route_pairs(nodes: dict[str, np.ndarray], X: np.ndarray, points: np.ndarray,
                start: np.ndarray) -> np.ndarray:
    """The leaf reached by each row ``X[points[k]]`` from node ``start[k]`` (e.g. its tree's root)."""
    return kernels().route_pairs_kernel(nodes["feature"], nodes["threshold"], nodes["left"],
                                        np.ascontiguousarray(X, dtype=float),
                                        np.asarray(points, dtype=np.int64), np.asarray(start, dtype=np.int64))


def grow_trees(W: np.ndarray, tres: np.ndarray, yres: np.ndarray, treated: np.ndarray,
               split_rows: np.ndarray, *, min_node_size: int, alpha: float, mtry: int,
               rng: np.random.Generator) -> Forest:
    """Grow one tree per row of ``split_rows`` (a ``(B, n)`` mask of each tree's splitting half).

    Each tree's feature draws (when ``mtry`` is below the number of features) come from its own
    64-bit seed, drawn from ``rng`` in tree order.
    """
    k = kernels()
    W = np.ascontiguousarray(W, dtype=float)
    order = np.stack([np.argsort(W[:, f], kind="stable") for f in range(W.shape[1])]).astype(np.int64)
    tr, yr = np.ascontiguousarray(tres, dtype=float), np.ascontiguousarray(yres, dtype=float)
    tb = np.ascontiguousarray(treated, dtype=np.int64)
    seeds = rng.integers(0, 2**63, size=len(split_rows), dtype=np.int64)

    def one(b: int) -> tuple[np.ndarray, ...]:
        member = split_rows[b]
        return k.grow_tree(W, order, tr, yr, tb, member, int(member.sum()), int(min_node_size), float(alpha),
                           int(mtry), np.uint64(seeds[b]))

    forest = Forest()
    workers = max(1, min(threads(), len(split_rows)))
    with ThreadPoolExecutor(max_workers=workers) as pool:  # the kernel releases the GIL
        for feature, threshold, left, depth in pool.map(one, range(len(split_rows))):
            forest.add(feature, threshold, left, np.where(left >= 0, left + 1, -1), depth,
                       np.zeros(1, np.int64))
    return forest


def threads() -> int:
    """Threads for growing trees: the CPUs this process may use (each tree is independent, so the
    forest is the same for any number)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
