"""The estimator protocol: scikit-learn style, with honest uncertainty.

Every effect estimator follows scikit-learn's contract: ``__init__`` stores its
keyword arguments under the same names and does nothing else; ``fit(data,
treatment=..., outcome=..., covariates=..., [instrument=, unit=, time=])``
validates the data, fits and returns ``self``; learned state ends in ``_``;
randomness comes from an argument. ``ate()`` (and ``att()`` where the design
supports it) return an :class:`Estimate` whose interval is real: analytic
(sandwich or influence function) or bootstrap.

Bad input — a missing column, a NaN, a constant or non-binary treatment where a
binary one is required — raises :class:`~causal.errors.EstimationError` saying
what to change, before any numerics run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causal.errors import EstimationError

__all__ = ["Estimate", "BaseEstimator", "check_columns", "column_arrays", "as_binary", "normal_interval"]


def normal_interval(value: float, stderr: float, level: float) -> tuple[float, float]:
    """A symmetric normal interval ``value ± z_{(1+level)/2} · stderr``."""
    from scipy.special import ndtri  # the normal quantile, without scipy.stats' per-call overhead

    z = float(ndtri(0.5 + level / 2))
    return value - z * stderr, value + z * stderr


@dataclass(frozen=True)
class Estimate:
    """An effect estimate with its uncertainty.

    Attributes
    ----------
    value : float
    stderr : float
    ci_low, ci_high : float
        The ``level`` confidence interval.
    level : float
    method : str
    n : int
        Units used.
    diagnostics : dict
        Method-specific extras (propensity range, first-stage F, balance, ...).
    """

    value: float
    stderr: float
    ci_low: float
    ci_high: float
    level: float = 0.95
    method: str = ""
    n: int = 0
    diagnostics: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def normal(cls, value: float, stderr: float, *, method: str, n: int, level: float = 0.95,
               diagnostics: Mapping[str, Any] | None = None) -> Estimate:
        """An estimate with a normal-approximation interval."""
        if not (math.isfinite(value) and math.isfinite(stderr) and stderr >= 0):
            raise EstimationError(f"{method}: the estimate is not finite (value {value}, stderr {stderr}); "
                                  "check overlap and collinearity")
        lo, hi = normal_interval(value, stderr, level)
        return cls(float(value), float(stderr), lo, hi, level, method, int(n), dict(diagnostics or {}))

    def covers(self, truth: float) -> bool:
        """Whether the interval contains ``truth``."""
        return self.ci_low <= truth <= self.ci_high

    def __float__(self) -> float:
        return self.value

    def __repr__(self) -> str:
        return (f"Estimate(value={self.value:.4g}, stderr={self.stderr:.3g}, ci_low={self.ci_low:.4g}, "
                f"ci_high={self.ci_high:.4g}, method={self.method!r}, n={self.n})")


def _names(x: str | Iterable[str] | None, what: str) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    try:
        out = list(x)
    except TypeError:
        raise EstimationError(f"{what} must be a column name or a list of names, got {x!r}") from None
    for c in out:
        if not isinstance(c, str):
            raise EstimationError(f"{what} must be column names, got {c!r}")
    return out


def _used_columns(data: Any, estimator: str, roles: dict[str, str | Sequence[str] | None]) -> list[str]:
    """The distinct columns named by ``roles``, once ``data`` is known to be a non-empty frame with them."""
    if not isinstance(data, pd.DataFrame):
        raise EstimationError(f"{estimator}: data must be a pandas DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise EstimationError(f"{estimator}: data has no rows")
    used: list[str] = []
    for role, cols in roles.items():
        for c in _names(cols, role):
            if c not in data.columns:
                raise EstimationError(f"{estimator}: {role} column {c!r} is not in the data "
                                      f"(columns: {', '.join(map(str, data.columns[:20]))})")
            if c not in used:
                used.append(c)
    return used


def _check_column(col: pd.Series, name: str, estimator: str) -> None:
    """Raise the error that says what is wrong with a column: not numeric, missing or infinite values."""
    if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
        raise EstimationError(f"{estimator}: column {name!r} is not numeric (dtype {col.dtype}); "
                              "encode it first (e.g. pandas.get_dummies)")
    bad = int(col.isna().sum())
    if bad:
        raise EstimationError(f"{estimator}: column {name!r} has {bad} missing values; drop or impute "
                              "them first")
    if not np.isfinite(col.to_numpy(dtype=float)).all():
        raise EstimationError(f"{estimator}: column {name!r} has infinite values")


def check_columns(data: Any, *, estimator: str, **roles: str | Sequence[str] | None) -> pd.DataFrame:
    """Validate ``data`` has the role columns, numeric and without NaN; return the used columns.

    ``roles`` maps a role (``treatment``, ``outcome``, ``covariates``, ...) to
    column names. Raises :class:`EstimationError` naming the role and column.
    """
    used = _used_columns(data, estimator, roles)
    frame = data[used]
    # fast path: every column numeric and finite, checked with one pass per column over a zero-copy
    # view (a whole-frame block would be copied when the frame holds several dtype blocks)
    try:
        if all(pd.api.types.is_numeric_dtype(d) or pd.api.types.is_bool_dtype(d) for d in frame.dtypes) \
                and all(np.isfinite(frame[c].to_numpy(dtype=float)).all() for c in used):
            return frame
    except (TypeError, ValueError):  # e.g. nullable dtypes holding pd.NA: the pass below explains
        pass
    for c in used:
        _check_column(frame[c], c, estimator)
    return frame


def column_arrays(data: Any, *, estimator: str, finite: bool = True,
                  **roles: str | Sequence[str] | None) -> dict[str, np.ndarray]:
    """The role columns as float arrays (views where the columns are float), validated as by
    :func:`check_columns` but without building a sub-frame.

    ``finite=False`` leaves NaN and infinite values in columns of NumPy dtypes to the caller, which
    checks them in a pass over the data it makes anyway (e.g. on the sums of a Gram matrix) and
    calls :func:`check_columns` to report them.

    >>> arrays = column_arrays(pd.DataFrame({"t": [0, 1], "y": [1.5, 2.0]}), estimator="E", outcome="y",
    ...                        treatment="t")
    >>> {name: a.tolist() for name, a in arrays.items()}
    {'y': [1.5, 2.0], 't': [0.0, 1.0]}
    """
    used = _used_columns(data, estimator, roles)
    cols = {c: data[c] for c in used}
    try:
        if all(pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)
               for s in cols.values()):
            if not finite and all(isinstance(s.dtype, np.dtype) for s in cols.values()):
                return {c: s.to_numpy(dtype=float) for c, s in cols.items()}
            arrays = {c: s.to_numpy(dtype=float) for c, s in cols.items()}
            if all(np.isfinite(a).all() for a in arrays.values()):
                return arrays
    except (TypeError, ValueError):  # e.g. nullable dtypes holding pd.NA: the pass below explains
        pass
    for c, s in cols.items():
        _check_column(s, c, estimator)
    return {c: s.to_numpy(dtype=float) for c, s in cols.items()}


def as_binary(t: pd.Series | np.ndarray, *, estimator: str, name: str = "treatment") -> np.ndarray:
    """The treatment as a 0/1 float array; raise unless it takes exactly the values 0 and 1."""
    arr = np.asarray(t, dtype=float)
    n1 = int(np.count_nonzero(arr == 1.0))
    if 0 < n1 < len(arr) and n1 + int(np.count_nonzero(arr == 0.0)) == len(arr):
        return arr  # exactly the values 0 and 1: no sort needed
    values = np.unique(arr)
    if len(values) == 1:
        raise EstimationError(f"{estimator}: {name} is constant ({values[0]:g}) — there is no contrast "
                              "to estimate; both treated and untreated units are needed")
    if not np.array_equal(values, [0.0, 1.0]):
        shown = ", ".join(f"{v:g}" for v in values[:6]) + (" ..." if len(values) > 6 else "")
        raise EstimationError(f"{estimator}: {name} must be binary 0/1, got values {shown}; recode it "
                              "(e.g. data[t] = (data[t] == level).astype(int))")
    return arr


class BaseEstimator:
    """Shared plumbing: scikit-learn ``get_params``/``set_params`` and the fitted check.

    Subclasses define ``__init__`` with keyword arguments stored as-is, ``fit``
    returning ``self``, and ``ate()`` (``att()`` where supported).
    """

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {k: getattr(self, k) for k in names}

    def set_params(self, **params: Any) -> BaseEstimator:
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise EstimationError(f"{type(self).__name__} has no parameter {k!r}; "
                                      f"parameters: {', '.join(valid)}")
            setattr(self, k, v)
        return self

    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise EstimationError(f"{type(self).__name__} is not fitted: call fit(data, treatment=..., "
                                  "outcome=...) first")

    def att(self) -> Estimate:
        raise EstimationError(f"{type(self).__name__} does not estimate the ATT; use ate()")

    def cate(self, data: pd.DataFrame) -> np.ndarray:
        raise EstimationError(f"{type(self).__name__} is not a heterogeneous-effect estimator")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
