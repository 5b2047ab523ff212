"""Scores of heterogeneous-effect estimates against the truth a simulator knows.

References
----------
J. L. Hill (2011), "Bayesian nonparametric modeling for causal inference",
*Journal of Computational and Graphical Statistics* 20(1) — the precision in
estimation of heterogeneous effects (PEHE).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from causal.errors import EstimationError

__all__ = ["pehe"]


def pehe(estimate: Any, true_cate: Any) -> float:
    """Root mean squared error of a CATE estimate: ``sqrt(mean((tau_hat - tau)^2))``.

    Parameters
    ----------
    estimate, true_cate : array-like of shape (n,)
        Estimated and true effects of the same units, in the same order
        (an ``(n, 1)`` column is accepted).

    Raises
    ------
    EstimationError
        Shapes differ, an array is empty or not one-dimensional, or a value is not finite.

    Examples
    --------
    >>> pehe([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    1.1547005383792515
    """
    a = _vector(estimate, "estimate")
    b = _vector(true_cate, "true_cate")
    if a.shape != b.shape:
        raise EstimationError(f"pehe: estimate has {a.shape[0]} values but true_cate {b.shape[0]}; give one "
                              "effect per unit for both")
    return float(np.sqrt(np.mean((a - b) ** 2)))


def _vector(x: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise EstimationError(f"pehe: {what} must be numeric, got {type(x).__name__}") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.size == 0:
        raise EstimationError(f"pehe: {what} must be a non-empty 1-d array (one effect per unit), "
                              f"got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise EstimationError(f"pehe: {what} has missing or infinite values")
    return arr
