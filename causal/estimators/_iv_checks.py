"""Instrument checks and first-stage diagnostics shared by the IV estimators.

Argument and role validation (one role per variable, an instrument that is not
a copy of the treatment or a covariate), cluster codes, the
:class:`WeakInstrumentWarning` and the robust first-stage F statistic used by
:class:`~causal.estimators.iv.TwoStageLeastSquares` and
:class:`~causal.estimators.wald.Wald`. Moved out of :mod:`causal.estimators.iv`
unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from causal.errors import EstimationError

#: A column is "collinear" when less than this share of its norm lies outside the span of earlier columns.
_COLLINEAR = float(np.sqrt(np.finfo(float).eps))


class WeakInstrumentWarning(UserWarning):
    """The first-stage F statistic of the excluded instruments is below the ``weak_f`` threshold.

    2SLS is then biased toward OLS and its interval may badly undercover
    (Staiger & Stock 1997; Stock & Yogo 2005). The message gives the F value.
    """


# --------------------------------------------------------------------------- helpers
def _as_list(x: str | Sequence[str] | None) -> list[str]:
    return [x] if isinstance(x, str) else list(x or [])


def _check_level(level: Any, name: str) -> None:
    if isinstance(level, bool) or not isinstance(level, float | int) or not 0 < level < 1:
        raise EstimationError(f"{name}: level must be in (0, 1), got {level!r}")


def _check_weak_f(weak_f: Any, name: str) -> None:
    if isinstance(weak_f, bool) or not isinstance(weak_f, float | int) or not weak_f >= 0:
        raise EstimationError(f"{name}: weak_f must be a non-negative number (0 disables the warning), "
                              f"got {weak_f!r}")


def _check_roles(name: str, treatment: str, outcome: str, instruments: list[str],
                 covariates: list[str]) -> None:
    """Every variable has one role; at least one instrument."""
    if not instruments:
        raise EstimationError(f"{name}: no instrument given; pass instrument='z' or a list of names "
                              "(at least one excluded instrument is needed to identify the effect)")
    for role, cols in (("instrument", instruments), ("covariates", covariates)):
        dup = sorted({c for c in cols if cols.count(c) > 1})
        if dup:
            raise EstimationError(f"{name}: {role} lists {dup} more than once")
    if treatment == outcome:
        raise EstimationError(f"{name}: treatment and outcome are the same column {treatment!r}")
    for z in instruments:
        if z == treatment:
            raise EstimationError(f"{name}: the treatment {z!r} cannot be its own instrument; an "
                                  "instrument must be a different variable that moves the treatment")
        if z == outcome:
            raise EstimationError(f"{name}: the outcome {z!r} cannot be an instrument")
        if z in covariates:
            raise EstimationError(f"{name}: {z!r} is both an instrument and a covariate; an instrument "
                                  "must be excluded from the outcome equation — drop it from one list")
    for w in covariates:
        if w in (treatment, outcome):
            raise EstimationError(f"{name}: the {'treatment' if w == treatment else 'outcome'} {w!r} "
                                  "cannot also be a covariate")


def _affine_copy(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` and ``b`` are the same variable up to a linear function: equal, or |correlation| 1.

    >>> x = np.array([0.0, 1.0, 1.0, 0.0])
    >>> _affine_copy(x, 1 - x), _affine_copy(x, np.array([0.0, 1.0, 0.0, 1.0]))
    (True, False)
    """
    if np.array_equal(a, b):
        return True
    da, db = a - a.mean(), b - b.mean()
    with np.errstate(all="ignore"):
        saa, sbb = float(da @ da), float(db @ db)
        if not (saa > 0 and sbb > 0 and np.isfinite(saa * sbb)):
            return False
        r = float(da @ db) / np.sqrt(saa * sbb)
    return bool(abs(r) >= 1 - 1e-10)


def _check_distinct(name: str, treatment: str, instruments: list[str], covariates: list[str],
                    cols: dict[str, np.ndarray]) -> None:
    """Raise when an instrument holds the treatment's or a covariate's values (a copy under another
    name, or a linear function of it): the checks by name in :func:`_check_roles` cannot see those."""
    for z in instruments:
        if _affine_copy(cols[z], cols[treatment]):
            raise EstimationError(
                f"{name}: the instrument {z!r} is the treatment {treatment!r} itself (the same values, or a "
                "linear function of them), so the IV estimate would be the confounded regression of the "
                "outcome on the treatment with a confident interval. The instrument must differ from the "
                "treatment and the covariates: a variable that moves the treatment and affects the "
                "outcome only through it. If the treatment itself was randomised, estimate its effect "
                "directly (DifferenceInMeans or RegressionAdjustment)")
        for w in covariates:
            if _affine_copy(cols[z], cols[w]):
                raise EstimationError(
                    f"{name}: the instrument {z!r} is the covariate {w!r} (the same values, or a linear "
                    "function of them); the instrument must differ from the treatment and the covariates "
                    "— a variable included in the outcome equation cannot be the excluded instrument")

def _cluster_codes(data: pd.DataFrame, cluster: str | None, name: str) -> np.ndarray | None:
    if cluster is None:
        return None
    if not isinstance(cluster, str):
        raise EstimationError(f"{name}: cluster must be one column name, got {cluster!r}")
    if cluster not in data.columns:
        raise EstimationError(f"{name}: cluster column {cluster!r} is not in the data")
    col = data[cluster]
    if col.isna().any():
        raise EstimationError(f"{name}: cluster column {cluster!r} has missing values")
    codes = pd.factorize(col)[0]
    if codes.max() + 1 < 2:
        raise EstimationError(f"{name}: cluster column {cluster!r} has a single cluster; cluster-robust "
                              "errors need many clusters (dozens)")
    return codes

def _wald_f(coef: np.ndarray, cov: np.ndarray, norm_resid: float, norm_t: float) -> float:
    """``coef' cov^{-1} coef / len(coef)``; ``inf`` when the first stage fits exactly.

    ``norm_resid`` is the norm of the first-stage residuals, ``norm_t`` that of the centred treatment.
    """
    if norm_resid <= 1e-10 * max(norm_t, np.finfo(float).tiny):
        return float("inf")
    try:
        stat = float(coef @ np.linalg.solve(cov, coef))
    except np.linalg.LinAlgError:
        return float("inf")
    return stat / len(coef)
