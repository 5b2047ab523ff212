"""Conditional independence tests for constraint-based discovery.

Each test answers "is ``X`` independent of ``Y`` given ``S``?" with a p-value
(small: dependent). Variables are column indices of the data; results are
cached by ``(min(x, y), max(x, y), sorted(S))`` (the set ``S`` in canonical
order), so PC and FCI never compute the same test twice.

* :class:`FisherZ` (continuous, linear-Gaussian): the partial correlation
  ``r`` of ``X`` and ``Y`` given ``S`` is read off the inverse of the
  correlation submatrix over ``{X, Y} ∪ S`` (``r = -P_xy / sqrt(P_xx P_yy)``),
  from one correlation matrix computed once; Fisher's
  ``z = atanh(r) * sqrt(n - |S| - 3)`` is standard normal under independence
  [1]_. Many conditioning sets of one pair are evaluated in one batched
  matrix inversion.
* :class:`GSquare` (discrete): the likelihood-ratio statistic
  ``G² = 2 Σ n_xyz log(n_xyz n_z / (n_xz n_yz))`` from contingency counts
  (``np.bincount`` on combined codes), chi-square with
  ``Σ_z (|X_z| - 1)(|Y_z| - 1)`` degrees of freedom, where ``|X_z|`` counts
  the values of ``X`` seen in stratum ``z`` (empty cells carry no freedom) [2]_.
  When that sum is 0 — ``S`` determines ``X`` or ``Y``, as with a
  deterministic node — the data hold no evidence of independence and the
  p-value is 0, so the edge stays (causal-learn returns 1 and removes it,
  which loses e.g. ``either -> xray`` in the ASIA network).
* :class:`DSeparation`: an oracle on a known graph (p = 1 if d-separated,
  else 0). PC with it returns the true CPDAG and FCI the true PAG.

Bad data (NaNs, a constant column, fewer rows than variables, collinear
columns) raises :class:`~causal.errors.EstimationError` saying what to change.

References
----------
.. [1] R. A. Fisher, "The distribution of the partial correlation coefficient",
   Metron 3, 1924.
.. [2] P. Spirtes, C. Glymour and R. Scheines, *Causation, Prediction, and
   Search*, 2nd ed., MIT Press, 2000, §5.4.2.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from causal.errors import EstimationError, GraphError
from causal.graph import CausalGraph

__all__ = ["CITest", "FisherZ", "GSquare", "DSeparation", "make_test", "as_data"]


def as_data(data: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """Validate a DataFrame or 2-D array; return ``(float array, column names)``.

    Raises
    ------
    EstimationError
        On non-numeric columns, NaN/inf, a constant column, or fewer than
        three rows more than columns.
    """
    if isinstance(data, pd.DataFrame):
        names = tuple(str(c) for c in data.columns)
        if len(set(names)) != len(names):
            raise EstimationError("data has duplicate column names; rename them")
        bad = [c for c in data.columns if not (pd.api.types.is_numeric_dtype(data[c])
                                               or pd.api.types.is_bool_dtype(data[c]))]
        if bad:
            raise EstimationError(f"columns {bad} are not numeric; encode them as numbers (e.g. category "
                                  "codes) or drop them")
        x = data.to_numpy(dtype=float)
    else:
        try:
            x = np.asarray(data, dtype=float)
        except (TypeError, ValueError):
            raise EstimationError("data must be a DataFrame or a numeric 2-D array") from None
        if x.ndim != 2:
            raise EstimationError(f"data must be 2-D (rows = units, columns = variables), "
                                  f"got shape {x.shape}")
        names = tuple(f"X{i}" for i in range(x.shape[1]))
    n, d = x.shape
    if d < 2:
        raise EstimationError(f"discovery needs at least two variables, got {d}")
    if not np.isfinite(x).all():
        cols = [names[j] for j in np.nonzero(~np.isfinite(x).all(axis=0))[0]]
        raise EstimationError(f"columns {cols} contain NaN or infinite values; drop or impute those "
                              "rows first")
    if n < d + 3:
        raise EstimationError(f"{d} variables but only {n} rows; conditional independence tests need "
                              f"more rows than variables (at least {d + 3}): collect more data or drop "
                              "variables")
    const = [names[j] for j in np.nonzero((x == x[0]).all(axis=0))[0]]
    if const:
        raise EstimationError(f"columns {const} are constant, so nothing can be learned about them; "
                              "drop them")
    return x, names


class CITest(abc.ABC):
    """A conditional independence test over the columns of one data set.

    Subclasses implement :meth:`_compute` (a batch of conditioning sets of one
    pair); :meth:`pvalue` and :meth:`pvalues` add the cache.

    Attributes
    ----------
    nodes : tuple of str
        Variable names, index ``i`` is column ``i``.
    n_tests : int
        Tests actually computed (cache misses).
    """

    nodes: tuple[str, ...]

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int, tuple[int, ...]], float] = {}
        self.n_tests = 0

    @abc.abstractmethod
    def _compute(self, x: int, y: int, sets: np.ndarray) -> np.ndarray:
        """p-values of ``x ⟂ y | S`` for each row ``S`` of the int array ``sets`` (shape k × l)."""

    def pvalues(self, x: int, y: int, sets: Sequence[Sequence[int]] | np.ndarray, *,
                canonical: bool = False) -> np.ndarray:
        """p-values for many conditioning sets of one pair, cached by ``(min(x, y), max(x, y), sorted S)``.

        ``canonical=True`` promises that ``sets`` are already sorted tuples of ints (as
        ``itertools.combinations`` of a sorted list gives them), which skips re-sorting.
        """
        if not canonical:
            sets = [tuple(sorted(int(v) for v in s)) for s in sets]
        a, b = min(x, y), max(x, y)
        cache = self._cache
        out = [cache.get((a, b, s)) for s in sets]
        todo = [i for i, p in enumerate(out) if p is None]
        if todo:
            size = len(sets[todo[0]])
            if any(len(sets[i]) != size for i in todo):
                fresh = np.concatenate([self._compute(x, y, np.asarray([sets[i]], dtype=np.int64)
                                                      .reshape(1, -1)) for i in todo])
            else:
                fresh = self._compute(x, y, np.asarray([sets[i] for i in todo], dtype=np.int64)
                                      .reshape(len(todo), size))
            self.n_tests += len(todo)
            for i, p in zip(todo, fresh.tolist(), strict=True):
                cache[(a, b, sets[i])] = out[i] = p
        return np.asarray(out, dtype=float)

    def pvalue(self, x: int, y: int, s: Sequence[int] = ()) -> float:
        """p-value of ``x ⟂ y | s``."""
        return float(self.pvalues(x, y, [tuple(s)])[0])

    def pairwise(self) -> np.ndarray:
        """Symmetric matrix of unconditional p-values (diagonal 0)."""
        d = len(self.nodes)
        p = np.zeros((d, d))
        for i in range(d):
            for j in range(i + 1, d):
                p[i, j] = p[j, i] = self.pvalues(i, j, [()])[0]
        return p


class FisherZ(CITest):
    """Fisher-z test of zero partial correlation (linear-Gaussian data).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=2000); x = z + rng.normal(size=2000); y = z + rng.normal(size=2000)
    >>> t = FisherZ(np.column_stack([x, y, z]))
    >>> t.pvalue(0, 1) < 1e-6, t.pvalue(0, 1, [2]) > 0.01
    (True, True)
    """

    def __init__(self, data: Any) -> None:
        super().__init__()
        x, self.nodes = as_data(data)
        self.n = len(x)
        self.corr = np.corrcoef(x, rowvar=False)
        values, vectors = np.linalg.eigh(self.corr)
        if values[0] < 1e-10 * len(values):
            names = [self.nodes[i] for i in np.nonzero(np.abs(vectors[:, 0]) > 1e-3)[0]]
            raise EstimationError(f"the correlation matrix is singular: columns {names} are exactly linearly "
                                  "dependent (one is a linear function of the others); drop one of them")

    def _z_to_p(self, r: np.ndarray, size: int) -> np.ndarray:
        r = np.clip(r, -1 + np.finfo(float).eps, 1 - np.finfo(float).eps)
        z = np.arctanh(r) * np.sqrt(self.n - size - 3)
        return special.erfc(np.abs(z) / np.sqrt(2.0))

    def _compute(self, x: int, y: int, sets: np.ndarray) -> np.ndarray:
        k, size = sets.shape
        if size == 0:
            return np.repeat(self._z_to_p(np.array([self.corr[x, y]]), 0), k)
        idx = np.column_stack([np.full(k, x), np.full(k, y), sets])
        sub = self.corr[idx[:, :, None], idx[:, None, :]]
        try:
            prec = np.linalg.inv(sub)
        except np.linalg.LinAlgError:
            names = [self.nodes[i] for i in np.unique(idx)]
            raise EstimationError(f"the correlation matrix of {names} is singular: some columns are exact "
                                  "linear functions of others; drop the redundant columns") from None
        r = -prec[:, 0, 1] / np.sqrt(np.abs(prec[:, 0, 0] * prec[:, 1, 1]))
        return self._z_to_p(r, size)

    def pairwise(self) -> np.ndarray:
        """All unconditional p-values at once, from the correlation matrix."""
        p = self._z_to_p(self.corr, 0)
        np.fill_diagonal(p, 0.0)
        d = len(self.nodes)
        for i in range(d):
            for j in range(i + 1, d):
                self._cache[(i, j, ())] = float(p[i, j])
        self.n_tests += d * (d - 1) // 2
        return p


class GSquare(CITest):
    """G² (likelihood-ratio) test of conditional independence for discrete data.

    Columns are recoded to ``0..k-1``; any numeric values are accepted as categories.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.integers(0, 3, 5000)
    >>> x = (z + rng.integers(0, 2, 5000)) % 3; y = (z + rng.integers(0, 2, 5000)) % 3
    >>> t = GSquare(np.column_stack([x, y, z]))
    >>> t.pvalue(0, 1) < 1e-6, t.pvalue(0, 1, [2]) > 0.01
    (True, True)
    """

    def __init__(self, data: Any, max_levels: int = 50) -> None:
        super().__init__()
        x, self.nodes = as_data(data)
        self.n = len(x)
        codes, cards = [], []
        for j in range(x.shape[1]):
            values, inverse = np.unique(x[:, j], return_inverse=True)
            if len(values) > max_levels:
                raise EstimationError(f"column {self.nodes[j]!r} has {len(values)} distinct values: it looks "
                                      "continuous, and G² would treat each value as a category; use "
                                      "test='fisherz', discretise it, or raise max_levels")
            codes.append(inverse.astype(np.int64))
            cards.append(len(values))
        self.codes = np.column_stack(codes)
        self.cards = np.asarray(cards, dtype=np.int64)

    def _strata(self, s: np.ndarray) -> tuple[np.ndarray, int]:
        if len(s) == 0:
            return np.zeros(self.n, dtype=np.int64), 1
        if np.prod(self.cards[s].astype(float)) < 2.0 ** 62:
            radix = np.cumprod(np.concatenate([[1], self.cards[s][:-1]]))
            combined = self.codes[:, s] @ radix
        else:
            combined = self.codes[:, s]
        _, z = np.unique(combined, axis=0 if combined.ndim == 2 else None, return_inverse=True)
        z = z.reshape(-1)
        return z, int(z.max()) + 1

    def _one(self, x: int, y: int, s: np.ndarray) -> float:
        z, nz = self._strata(s)
        cx, cy = int(self.cards[x]), int(self.cards[y])
        counts = np.bincount((z * cx + self.codes[:, x]) * cy + self.codes[:, y],
                             minlength=nz * cx * cy).reshape(nz, cx, cy).astype(float)
        nxz, nyz = counts.sum(axis=2), counts.sum(axis=1)
        nz_ = nxz.sum(axis=1)
        expected = nxz[:, :, None] * nyz[:, None, :] / nz_[:, None, None]
        pos = counts > 0
        g2 = 2.0 * float(np.sum(counts[pos] * np.log(counts[pos] / expected[pos])))
        df = int(np.sum(np.maximum((nxz > 0).sum(axis=1) - 1, 0) * np.maximum((nyz > 0).sum(axis=1) - 1, 0)))
        return 0.0 if df == 0 else float(stats.chi2.sf(g2, df))

    def _compute(self, x: int, y: int, sets: np.ndarray) -> np.ndarray:
        return np.array([self._one(x, y, s) for s in sets])


class DSeparation(CITest):
    """Oracle test on a known graph: p = 1 when d-separated (hidden nodes latent), else 0.

    Examples
    --------
    >>> t = DSeparation(CausalGraph.from_string("a -> b -> c"))
    >>> t.pvalue(0, 2), t.pvalue(0, 2, [1])
    (0.0, 1.0)
    """

    def __init__(self, graph: CausalGraph) -> None:
        if not isinstance(graph, CausalGraph):
            raise GraphError(f"DSeparation needs a CausalGraph, got {type(graph).__name__}")
        super().__init__()
        self.graph = graph
        self.nodes = graph.observed
        self.n = np.inf

    def _compute(self, x: int, y: int, sets: np.ndarray) -> np.ndarray:
        v = self.nodes
        return np.array([float(self.graph.d_separated(v[x], v[y], [v[i] for i in s])) for s in sets])


def _is_discrete(x: np.ndarray, max_levels: int) -> bool:
    return bool(np.all(x == np.round(x))) and all(len(np.unique(col)) <= max_levels for col in x.T)


def make_test(data: Any, test: str | CITest = "fisherz", max_levels: int = 10) -> CITest:
    """Build a test by name: ``"fisherz"``, ``"g2"``, or ``"auto"``; a :class:`CITest` passes through.

    ``"auto"`` picks G² when every column is integer-valued with at most
    ``max_levels`` distinct values, Fisher-z otherwise.

    Raises
    ------
    GraphError
        On an unknown test name.
    EstimationError
        On bad data (see :func:`as_data`).
    """
    if isinstance(test, CITest):
        if data is not None:
            names = as_data(data)[1]
            if tuple(names) != tuple(test.nodes):
                raise GraphError(f"the test's variables {list(test.nodes)} differ from the data's columns "
                                 f"{list(names)}; pass data=None or a matching test")
        return test
    if test not in ("fisherz", "g2", "auto"):
        raise GraphError(f"unknown test {test!r}; use 'fisherz', 'g2', 'auto' or a CITest instance")
    if data is None:
        raise EstimationError("no data given; pass a DataFrame or a 2-D array")
    if test == "auto":
        x, _ = as_data(data)
        test = "g2" if _is_discrete(x, max_levels) else "fisherz"
    return FisherZ(data) if test == "fisherz" else GSquare(data)
