"""Covariate balance of a matched sample: standardized mean differences and variance ratios.

:func:`_balance` describes, for :meth:`causal.estimators.matching.PropensityMatching.balance`
and :meth:`causal.estimators.matching.CovariateMatching.balance`, each covariate
before matching and in the matched sample, where every unit is weighted by how
often it is used (Austin 2009; Stuart 2010).

References
----------
P. C. Austin (2009), "Balance diagnostics for comparing the distribution of
baseline covariates between treatment groups in propensity-score matched
samples", *Statistics in Medicine* 28(25).
E. A. Stuart (2010), "Matching methods for causal inference: a review and a
look forward", *Statistical Science* 25(1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from causal.estimators._fastfit import tmatmul

__all__: list[str] = []  # private helpers of the public module


def _balance(X: np.ndarray, t: np.ndarray, weights: dict[str, np.ndarray],
             names: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Standardized mean differences and variance ratios before and after matching, per estimand."""
    keys = list(weights)
    stats: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for arm in (1, 0):
        a = t == arm
        # Weighted means of the arm's covariates from one product with all the arm's weights
        # (normalised; unweighted first), then the variances by a second, compensated pass over the
        # deviations from each mean: exact to rounding wherever the units lie. A covariate constant
        # in the arm gets its value as mean and variance 0 exactly.
        XT = X.T[:, a]
        V = np.empty((XT.shape[1], 1 + len(keys)))
        V[:, 0] = 1.0
        for j, key in enumerate(keys, start=1):
            V[:, j] = weights[key][a]
        total = V.sum(axis=0)
        V /= np.where(total > 0, total, 1.0)
        M = tmatmul(XT, V)
        var = np.empty_like(M)
        D = np.empty_like(XT)
        for j in range(V.shape[1]):
            np.subtract(XT, M[:, j:j + 1], out=D)
            r = tmatmul(D, V[:, j])
            np.square(D, out=D)
            var[:, j] = tmatmul(D, V[:, j]) - r * r
        if XT.shape[1]:
            const = XT.min(axis=1) == XT.max(axis=1)
            M[const] = XT[const, :1]
            var[const] = 0.0
        used = total > 0  # an arm none of whose units is used has mean and variance 0
        stats[arm] = (np.where(used, M, 0.0), np.where(used, np.maximum(var, 0.0), 0.0))

    def moments(j: int) -> tuple[np.ndarray, ...]:
        """Means and variances of both arms, unweighted (j = 0) or with the j-th weights."""
        return stats[1][0][:, j], stats[1][1][:, j], stats[0][0][:, j], stats[0][1][:, j]

    m1, v1, m0, v0 = moments(0)
    sd = np.sqrt((v1 + v0) / 2)
    tables = {}
    for j, key in enumerate(keys, start=1):
        a1, u1, a0, u0 = moments(j)
        with np.errstate(divide="ignore", invalid="ignore"):
            smd_b = np.where(sd > 0, (m1 - m0) / sd, 0.0)
            smd_a = np.where(sd > 0, (a1 - a0) / sd, 0.0)
            vr_b = np.where(v0 > 0, v1 / v0, np.nan)
            vr_a = np.where(u0 > 0, u1 / u0, np.nan)
        tables[key] = pd.DataFrame({"smd_before": smd_b, "smd_after": smd_a, "var_ratio_before": vr_b,
                                    "var_ratio_after": vr_a}, index=pd.Index(list(names), name="covariate"))
    return tables
