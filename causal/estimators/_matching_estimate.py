"""From matches to the matching estimates: imputation, bias correction and the Abadie–Imbens (2006) variance.

The statistics behind :mod:`causal.estimators.matching`, apart from its
estimator classes. :func:`_match_arms` matches the units of each arm among the
other arm (tie-inclusive, with replacement, within an optional radius);
:func:`_arm_regressions` fits the within-arm regressions ``μ̂_w(x)`` of the
bias correction (Abadie & Imbens 2011); :func:`_conditional_variance` estimates
``σ̂²(X_i, W_i)`` by matching within arms, and :func:`_combine` turns one
direction of matches (ATT) or two (ATE) into the effect, its variance
(Abadie & Imbens 2006, eq. 14) and the matched-sample weights.

References
----------
A. Abadie and G. W. Imbens (2006), "Large sample properties of matching
estimators for average treatment effects", *Econometrica* 74(1), 235-267.
A. Abadie and G. W. Imbens (2011), "Bias-corrected matching estimators for
average treatment effects", *Journal of Business & Economic Statistics* 29(1), 1-11.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from causal.errors import EstimationError
from causal.estimators._neighbors import _Index, _Line, _nearest

__all__: list[str] = []  # private helpers of the public module

_VAR_NEIGHBORS = 2  # J: same-arm matches for the conditional variance, AI (2006) eq. (14)


def _match_arms(Z: np.ndarray, t: np.ndarray, nns: dict[int, _Index], m: int, radius: float | None,
                name: str) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Matches of the units of each arm ``w`` among the other arm: ``{w: (unit, match, weight, dist)}``."""
    out = {}
    for w in (1, 0):
        own, other = np.flatnonzero(t == w), np.flatnonzero(t != w)
        own_index = nns[w]  # the units of arm w, already sorted if on a line
        q, p, d = _nearest(Z[own], nns[1 - w], m, radius, name,
                           own_index.order if isinstance(own_index, _Line) else None)
        weight = 1.0 / np.bincount(q, minlength=len(own))[q]
        out[w] = (own[q], other[p], weight, d)
    return out


def _conditional_variance(nns: dict[int, _Index], y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``σ̂²(X_i, W_i)`` by matching within arms on ``J`` neighbours, AI (2006) eq. (14)."""
    s2 = np.empty(len(y))
    for w in (0, 1):
        idx = np.flatnonzero(t == w)
        j = min(_VAR_NEIGHBORS, len(idx) - 1)
        nb = nns[w].kneighbors(n_neighbors=j, return_distance=False)  # X=None: a unit is not its own
        s2[idx] = j / (j + 1) * (y[idx] - y[idx][nb].mean(axis=1)) ** 2
    return s2


def _arm_regressions(X: np.ndarray, y: np.ndarray, t: np.ndarray, names: Sequence[str],
                     name: str) -> np.ndarray:
    """``μ̂_w(X_i)`` for both arms ``w`` and all units: OLS of ``Y`` on ``(1, X)`` within each arm."""
    D = np.column_stack([np.ones(len(y)), X])
    mu = np.empty((2, len(y)))
    for w in (0, 1):
        m = t == w
        if m.sum() <= D.shape[1]:
            raise EstimationError(f"{name}: bias_correction regresses the outcome on {X.shape[1]} "
                                  f"covariates within each arm, but the {('control', 'treated')[w]} arm "
                                  f"has only {int(m.sum())} units; use bias_correction=False")
        beta, _, rank, _ = np.linalg.lstsq(D[m], y[m], rcond=None)
        if rank < D.shape[1]:
            raise EstimationError(f"{name}: bias_correction needs covariates that are not collinear (nor "
                                  f"constant) within the {('control', 'treated')[w]} arm; covariates: "
                                  f"{', '.join(names)}")
        mu[w] = D @ beta
    return mu


def _combine(y: np.ndarray, t: np.ndarray, parts: Sequence[tuple[np.ndarray, ...]], mu: np.ndarray | None,
             s2: np.ndarray) -> dict[str, Any]:
    """Effect, AI (2006) variance and matched-sample weights from one or two directions of matches.

    A target ``i`` (a unit whose effect is averaged) gets ``d_i = (2 W_i - 1)(Y_i - Ŷ_i(1 - W_i))``.
    Unit ``j`` receives ``K_j = Σ_i w_ij`` and ``K2_j = Σ_i w_ij²`` from its matches; the AI (2006)
    variance is ``[Σ_targets (d_i - τ̂)² + Σ_j (K_j² + 2·target_j·K_j - K2_j) σ̂²_j] / N_t²``, which
    reduces to eq. (14) (ATE) and its ATT analogue when every target has ``M`` matches.
    """
    n = len(y)
    target = np.zeros(n, dtype=bool)
    imputed, K, K2 = np.zeros(n), np.zeros(n), np.zeros(n)
    for unit, match, weight, _ in parts:
        target[unit] = True
        value = y[match]
        if mu is not None and len(match):
            arm = int(t[match[0]])
            value = value + mu[arm, unit] - mu[arm, match]
        imputed += np.bincount(unit, weights=weight * value, minlength=n)
        K += np.bincount(match, weights=weight, minlength=n)
        K2 += np.bincount(match, weights=weight**2, minlength=n)
    d = (2 * t - 1) * (y - imputed)
    nt = int(target.sum())
    if nt == 0:
        return {"n_targets": 0}
    tau = float(d[target].mean())
    var = (((d[target] - tau) ** 2).sum() + ((K**2 + 2 * target * K - K2) * s2).sum()) / nt**2
    weights = target + K
    return {"value": tau, "var": float(var), "target": target, "weights": weights, "n_targets": nt,
            "n_used": int((weights > 0).sum())}
