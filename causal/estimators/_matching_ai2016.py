"""The Abadie–Imbens (2016) variance adjustment for matching on an estimated propensity score.

:func:`_ai2016` gives the change of the Abadie–Imbens (2006) variance of
:class:`causal.estimators.matching.PropensityMatching` when the score it
matches on comes from a (possibly ridge-penalised) logistic regression, for the
ATE and the ATT. The local covariances it needs, among ``L`` same-arm
neighbours on the score, are sums over runs of consecutive units in score
order: :func:`_run_sums` and its adjoint :func:`_spread`.

References
----------
A. Abadie and G. W. Imbens (2016), "Matching on the estimated propensity
score", *Econometrica* 84(2), 781-807.
"""

from __future__ import annotations

import numpy as np

from causal.estimators._fastfit import gram, tmatmul
from causal.estimators._neighbors import _Index, _Line

__all__: list[str] = []  # private helpers of the public module

_COV_NEIGHBORS = 4  # L: same-arm neighbours for the local covariances of AI (2016)


def _ai2016(design: tuple[np.ndarray, np.ndarray], e: np.ndarray, z: np.ndarray, t: np.ndarray,
            nns: dict[int, _Index], u_ate: np.ndarray, u_att: np.ndarray,
            tau_att: float) -> dict[str, float]:
    """Abadie & Imbens (2016) variance adjustments for matching on a logit score ``e = F(Φ'θ̂)``.

    The influence function of the estimate gains ``g' H⁻¹ s_i``, ``s_i = Φ_i (W_i - e_i)`` the
    logistic score, ``H`` its Hessian (with the ridge term of a penalised fit) and ``I = E[e(1-e) ΦΦ']``
    the information; ``Cov(ψ, s) = c`` (``c_t`` for the ATT), so the variance changes by
    ``(2 g'H⁻¹c + g'H⁻¹ I H⁻¹ g) / N`` — ``-c'I⁻¹c / N`` for the ATE (``g = -c``) and
    ``(-c_t'I⁻¹c_t + ∂τ_t'I⁻¹∂τ_t) / N`` for the ATT (``g = ∂τ_t - c_t``) when unpenalised. With
    ``f = e(1-e)`` (the logistic density at the index) and ``cov_w(i)`` the covariance of ``Φ`` and
    the outcome among ``L`` arm-``w`` neighbours of unit ``i`` on the score (an estimate of
    ``Cov(Φ, μ(w, X) | e(X))``)::

        c    = mean f (cov_1/e + cov_0/(1-e))
        c_t  = mean f [Φ (τ̄ - τ_t) + cov_1 + e/(1-e) cov_0] / P(W=1)
        ∂τ_t = mean f [Φ (τ̄ - τ_t) + cov_1 - cov_0] / P(W=1)

    ``τ̄_i`` the difference of the two arms' local mean outcomes (an estimate of
    ``E[Y(1) - Y(0) | e(X_i)]``). ``∂τ_t = E[f Φ (μ(1,X) - μ(0,X) - τ_t)] / P(W=1)``; the
    covariance terms turn ``τ̄(e)`` into ``μ(1,X) - μ(0,X)``.
    """
    Phi, ridge = design
    n = len(e)
    zo = np.argsort(z)  # units in the order of their score: neighbour searches run sequentially
    zs, e_s = z[zo], e[zo]
    f = e_s * (1 - e_s)
    odds = e_s / (1 - e_s)
    # Each mean of f·cov_w·(a scalar a_i per unit) is linear in the neighbours' Φ rows: Σ_j Φ_j r_j / n,
    # with r_j collecting the weights of unit j as a neighbour; so no (n, L, q) array is formed. The L
    # nearest arm-w units of unit i on the score are a run [lo_i, lo_i + L) of the arm's units sorted by
    # score, so r_j = (u_j Σ_{i ∋ j} a_i - Σ_{i ∋ j} a_i m_i) / (L - 1), the sums over the units i whose
    # run holds j (lo_i in (j - L, j]) and m_i the run's mean outcome: a scatter of a_i and a_i m_i to
    # lo_i, then a spread over the run. Rows of R: c, c_t and ∂τ_t (times P(W=1)), before multiplying by Φ;
    # rows with the same coefficient share one scatter.
    coef = {(1, "ate"): [((0,), f / e_s)], (0, "ate"): [((0,), f / (1 - e_s))],
            (1, "att"): [((1, 2), f)], (0, "att"): [((1,), f * odds), ((2,), -f)]}
    R = np.empty((3, n))
    mean: dict[int, np.ndarray] = {}
    for w in (0, 1):
        idx = np.flatnonzero(t == w)
        nn = nns[w] if isinstance(nns[w], _Line) else _Line(z[idx])
        ell = min(_COV_NEIGHBORS, len(idx))
        lo = nn.window_starts(zs, ell)
        units = idx[nn.order]  # the arm's units by score
        n_runs = len(idx) - ell + 1
        Rw = np.zeros((3, len(idx)))  # R's columns of these units, in this order
        for key, u in (("ate", u_ate), ("att", u_att)):
            uw = u[units]
            shift = uw.mean()
            uw -= shift  # centred: the products below then lose no precision to a large mean outcome
            m = _run_sums(uw, ell)[lo] / ell
            if key == "att":
                mean[w] = m + shift
            for rows, a in coef[w, key]:
                r = uw * _spread(np.bincount(lo, weights=a, minlength=n_runs), ell)
                r -= _spread(np.bincount(lo, weights=a * m, minlength=n_runs), ell)
                r /= ell - 1
                for row in rows:
                    Rw[row] += r
        for row in range(3):  # the arms partition the units: each column of R is set once
            R[row][units] = Rw[row]
    local = np.empty(n)
    local[zo] = f * (mean[1] - mean[0] - tau_att)
    R[1:] += local
    info = gram(Phi.T, e * (1 - e)) / n
    H = info + np.diag(ridge) / n

    def change(g: np.ndarray, c: np.ndarray) -> float:
        hg = np.linalg.solve(H, g)
        return float((2 * hg @ c + hg @ info @ hg) / n)

    p1 = t.mean()
    c, c_t, d_t = (tmatmul(Phi.T, R.T) / n).T
    c_t, d_t = c_t / p1, d_t / p1
    return {"ate": change(-c, c), "att": change(d_t - c_t, c_t)}


def _run_sums(v: np.ndarray, k: int) -> np.ndarray:
    """Totals of the runs of ``k`` consecutive entries: ``out[j] = v[j] + ... + v[j + k - 1]``.

    >>> _run_sums(np.array([1.0, 2.0, 3.0, 4.0]), 2)
    array([3., 5., 7.])
    """
    size = len(v) - k + 1
    out = v[:size].copy()
    for j in range(1, k):
        out += v[j:j + size]
    return out


def _spread(v: np.ndarray, k: int) -> np.ndarray:
    """Each run's value added to the ``k`` positions it covers: ``out[j] = v[j - k + 1] + ... + v[j]``.

    The adjoint of :func:`_run_sums`: ``len(out) = len(v) + k - 1``, entries out of range count 0.

    >>> _spread(np.array([3.0, 5.0, 7.0]), 2)
    array([ 3.,  8., 12.,  7.])
    """
    out = np.zeros(len(v) + k - 1)
    for j in range(k):
        out[j:j + len(v)] += v
    return out
