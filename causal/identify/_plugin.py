"""Plug-in evaluation of probability expressions on discrete data (dense numpy tables).

Each subexpression becomes a table with one axis per free variable: the
observed values of the variable, or a single value when it is assigned. A
``P(A | B)`` is a ratio of weighted counts (``numpy.bincount`` on the
row-wise cell index); products broadcast, sums add axes up. Nothing loops over
rows. See :mod:`causal.identify.expression` for the public entry point,
:meth:`~causal.identify.expression.Expression.evaluate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from causal.errors import CausalSimError, EstimationError
from causal.identify.expression import Expression, Fraction, Prob, Product, Sum

__all__ = ["MAX_LEVELS", "PlugIn", "check_discrete", "max_levels"]

_FULL = object()  # marker: the variable ranges over its observed support
MAX_LEVELS = 50  # distinct values a conditioned or summed variable may take, at most
_ROWS_PER_LEVEL = 5  # ... and, unweighted, at least this many rows per value once above
_FEW_LEVELS = 10  # this many


def max_levels(n_rows: int, weighted: bool = False) -> int:
    """The most distinct values plug-in evaluation accepts for a variable it conditions on.

    ``min(50, max(10, n_rows // 5))`` for unweighted rows (units): beyond 10
    values, at least five rows per value on average, and never more than 50
    values (a plug-in table over continuous data has a cell per unit and is
    both meaningless and slow). With weights the rows may be the cells of a
    table, not units, so only the cap of 50 applies.

    >>> max_levels(20_000), max_levels(100), max_levels(6), max_levels(6, weighted=True)
    (50, 20, 10, 50)
    """
    if weighted:
        return MAX_LEVELS
    return min(MAX_LEVELS, max(_FEW_LEVELS, n_rows // _ROWS_PER_LEVEL))


def conditioned(e: Expression) -> set[str]:
    """Variables that ``e`` conditions on (right of a ``|``) or sums over."""
    if isinstance(e, Prob):
        return set(e.given)
    if isinstance(e, Product):
        return set().union(*map(conditioned, e.factors))
    if isinstance(e, Sum):
        return set(e.over) | conditioned(e.body)
    if isinstance(e, Fraction):
        return conditioned(e.numerator) | conditioned(e.denominator)
    raise CausalSimError(f"cannot evaluate {type(e).__name__}")


def check_discrete(e: Expression, data: pd.DataFrame, weighted: bool) -> None:
    """Refuse, before any work, data on which the plug-in value of ``e`` is meaningless.

    Raises :class:`EstimationError` naming the first variable that ``e``
    conditions on or sums over with more than :func:`max_levels` distinct values.
    """
    if not isinstance(data, pd.DataFrame):
        return  # PlugIn reports it
    limit = max_levels(len(data), weighted)
    for v in sorted(conditioned(e)):
        if v in data.columns and (k := data[v].nunique()) > limit:
            raise EstimationError(
                f"plug-in evaluation needs discrete data: {v!r} has {k} distinct values in "
                f"{len(data)} rows, more than the {limit} allowed (at most {MAX_LEVELS}, and "
                f"{_ROWS_PER_LEVEL} rows per value beyond {_FEW_LEVELS}); discretise {v} "
                "(e.g. with pandas.cut) or use an estimator from causal.estimators")


class PlugIn:
    """Evaluates expressions on data as dense numpy tables over variable supports."""

    def __init__(self, data: pd.DataFrame, weights: Any) -> None:
        if not isinstance(data, pd.DataFrame):
            raise EstimationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        if len(data) == 0:
            raise EstimationError("data has no rows; plug-in probabilities need data")
        self.data = data
        if weights is None:
            self.w = None
        else:
            w = data[weights] if isinstance(weights, str) else weights
            self.w = np.asarray(w, dtype=float)
            if (self.w.shape != (len(data),) or not np.isfinite(self.w).all()
                    or (self.w < 0).any()):
                raise EstimationError("weights must be one finite non-negative number per row")
        self.support: dict[str, np.ndarray] = {}
        self.codes: dict[str, np.ndarray] = {}
        self.cache: dict[tuple, np.ndarray] = {}
        self.zero_cells = 0

    def _column(self, v: str) -> None:
        if v in self.support:
            return
        if v not in self.data.columns:
            raise EstimationError(f"variable {v!r} is not a column of the data; "
                                  f"columns are {list(self.data.columns)}")
        col = self.data[v]
        if col.isna().any():
            raise EstimationError(f"column {v!r} has missing values; drop or impute them first")
        self.support[v], self.codes[v] = np.unique(col.to_numpy(), return_inverse=True)

    def _axis(self, v: str, env: Mapping[str, Any]) -> tuple[int, np.ndarray]:
        """Length of ``v``'s axis and each row's code on it (-1: row does not match)."""
        self._column(v)
        value = env.get(v, _FULL)
        if value is _FULL:
            return len(self.support[v]), self.codes[v]
        hit = [i for i, s in enumerate(self.support[v]) if s == value]  # loop over values only
        return 1, np.where(self.codes[v] == hit[0], 0, -1) if hit else np.full(len(self.data), -1)

    def _count(self, vs: tuple[str, ...], env: Mapping[str, Any]) -> np.ndarray:
        key = (vs, tuple(env.get(v, _FULL) for v in vs))
        if key in self.cache:
            return self.cache[key]
        axes = [self._axis(v, env) for v in vs]
        shape = tuple(n for n, _ in axes)
        if not vs:
            out = np.array(float(len(self.data) if self.w is None else self.w.sum()))
        else:
            codes = np.stack([c for _, c in axes])
            ok = (codes >= 0).all(axis=0)
            flat = np.ravel_multi_index(tuple(codes[:, ok]), shape)
            w = None if self.w is None else self.w[ok]
            out = np.bincount(flat, weights=w, minlength=int(np.prod(shape))).reshape(shape)
        self.cache[key] = out.astype(float)
        return self.cache[key]

    def eval(self, e: Expression, env: dict[str, Any]) -> tuple[tuple[str, ...], np.ndarray]:
        if isinstance(e, Prob):
            vs = e.vars + e.given
            joint, den = self._count(vs, env), self._count(e.given, env)
            den = den.reshape((1,) * len(e.vars) + den.shape)
            self.zero_cells += int((den == 0).sum())
            with np.errstate(divide="ignore", invalid="ignore"):
                return vs, np.where(den > 0, joint / np.where(den > 0, den, 1), 0.0)
        if isinstance(e, Product):
            vs, arr = (), np.array(1.0)
            for f in e.factors:
                vs, arr, other = _align((vs, arr), self.eval(f, env))
                arr = arr * other
            return vs, arr
        if isinstance(e, Sum):
            inner = {**env, **dict.fromkeys(e.over, _FULL)}
            vs, arr = self.eval(e.body, inner)
            for v in e.over:
                if v in vs:
                    arr = arr.sum(axis=vs.index(v))
                    vs = tuple(u for u in vs if u != v)
                else:
                    self._column(v)
                    arr = arr * len(self.support[v])
            return vs, arr
        if isinstance(e, Fraction):
            vs, n, d = _align(self.eval(e.numerator, env), self.eval(e.denominator, env))
            n, d = np.broadcast_arrays(n, d)
            self.zero_cells += int((d == 0).sum())
            with np.errstate(divide="ignore", invalid="ignore"):
                return vs, np.where(d != 0, n / np.where(d != 0, d, 1), 0.0)
        raise CausalSimError(f"cannot evaluate {type(e).__name__}")

    def run(self, e: Expression, assignment: dict[str, Any]) -> float | pd.Series:
        vs, arr = self.eval(e, assignment)
        left = [v for v in vs if v not in assignment]
        for v in left:
            self._column(v)
        arr = _expand(vs, arr, tuple(left)) if left else arr.reshape(-1)[:1]
        if not left:
            return float(arr[0])
        if len(left) == 1:
            index = pd.Index(self.support[left[0]], name=left[0])
        else:
            index = pd.MultiIndex.from_product([self.support[v] for v in left], names=left)
        return pd.Series(arr.reshape(-1), index=index, name="P")


def _expand(vs: tuple[str, ...], arr: np.ndarray, target: tuple[str, ...]) -> np.ndarray:
    """``arr`` (axes ``vs``) transposed/broadcast onto ``target`` axes; other axes summed out.

    Axes of ``vs`` absent from ``target`` must have length 1 (assigned variables).
    """
    keep = [v for v in vs if v in target]
    drop = tuple(i for i, v in enumerate(vs) if v not in target)
    arr = arr.reshape([n for i, n in enumerate(arr.shape) if i not in drop]) if drop else arr
    arr = np.transpose(arr, [keep.index(v) for v in target if v in keep])
    return arr.reshape([arr.shape[[v for v in target if v in keep].index(v)] if v in keep else 1
                        for v in target])


def _align(a: tuple[tuple[str, ...], np.ndarray], b: tuple[tuple[str, ...], np.ndarray]
           ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Both tables on the union of their axes (broadcastable against each other)."""
    vs = a[0] + tuple(v for v in b[0] if v not in a[0])
    return vs, _expand(a[0], a[1], vs), _expand(b[0], b[1], vs)
