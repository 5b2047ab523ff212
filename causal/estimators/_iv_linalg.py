"""Least-squares numerics of two-stage least squares: the QR route and the blocked Gram route.

The rank check and robust sandwich of the Householder-QR route, and the
normal-equation route that fits both stages from cache-sized blocks of
``[1, W, Z, T, Y]`` (:func:`_fit_gram`). Moved out of
:mod:`causal.estimators.iv` unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg.blas import daxpy as _axpy

from causal.estimators._fastfit import matmul
from causal.estimators._iv_checks import _COLLINEAR


def _collinear(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Thin QR of ``A`` and the columns (almost) in the span of the earlier ones."""
    Q, R = np.linalg.qr(A)
    norms = np.linalg.norm(A, axis=0)
    bad = [j for j in range(A.shape[1]) if abs(R[j, j]) <= _COLLINEAR * max(norms[j], np.finfo(float).tiny)]
    return Q, R, bad


def _sandwich(A: np.ndarray, u: np.ndarray, bread: np.ndarray, cov_type: str,
              clusters: np.ndarray | None) -> np.ndarray:
    """``bread [sum_g s_g s_g'] bread`` with ``s_g = sum_{i in g} A_i u_i`` and the small-sample factor.

    Unclustered: HC0 (factor 1) or HC1 (``n / (n - k)``). Clustered: CR0
    (factor 1) for ``"HC0"``, CR1 (``G / (G - 1) * (n - 1) / (n - k)``, as Stata)
    for ``"HC1"``.
    """
    n, k = A.shape
    scores = A * u[:, None]
    if clusters is None:
        factor = n / (n - k) if cov_type == "HC1" else 1.0
    else:
        G = int(clusters.max()) + 1
        scores = np.stack([np.bincount(clusters, weights=s, minlength=G) for s in scores.T], axis=1)
        factor = G / (G - 1) * (n - 1) / (n - k) if cov_type == "HC1" else 1.0
    return factor * (bread @ (scores.T @ scores) @ bread)

#: The normal-equation route of :func:`_fit_gram` is taken only when the column-scaled Gram matrices are
#: this well conditioned (rounding error about ``eps * cond``, below 1e-11 relative); otherwise the QR route.
_GRAM_MAX_COND = 1e4


def _cond(A: np.ndarray) -> float:
    """The 2-norm condition number of a symmetric positive definite ``A``."""
    ev = np.linalg.eigvalsh(A)
    return float(ev[-1] / ev[0]) if ev[0] > 0 else float("inf")


def _scaled_chol(G: np.ndarray) -> np.ndarray | None:
    """``G^{-1}`` of a Gram matrix through a column-scaled Cholesky factorisation, or ``None``.

    ``None`` when a column is zero, the factorisation fails, a column's share of its norm outside the
    span of the earlier columns (the scaled Cholesky diagonal) is below 1e-3 — far above the
    ``_COLLINEAR`` threshold, so any rank deficiency is left to the QR route to decide and name — or the
    scaled matrix is not well conditioned.
    """
    scale = np.sqrt(np.diag(G))
    if not (np.isfinite(scale).all() and (scale > 0).all()):
        return None
    A = G / np.outer(scale, scale)
    try:
        Ls = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return None
    if np.diag(Ls).min() <= 1e-3 or _cond(A) > _GRAM_MAX_COND:
        return None
    Linv = np.linalg.inv(Ls) / scale  # k x k: numpy's inv beats a LAPACK trtri call here
    return Linv.T @ Linv


#: Units per block in :func:`_fit_gram`: the block's rows (``[1, W, Z, T, Y]`` and the scores) stay
#: in cache and are reused, so no n-long temporaries are allocated; blocks this small also keep
#: OpenBLAS single-threaded, which measured fastest (2 cores: 1<<13 ~35 ms at n = 1e6, 1<<20 ~95 ms).
_BLOCK = 1 << 13

#: Designs with at most this many data columns (``W``, ``Z``, ``T``, ``Y``) take the column-wise route
#: of :func:`_cross_products` and :func:`_score_grams`: a dot product per pair of column slices, which
#: beats stacking each block into a matrix for BLAS-3 up to about this width (2 cores, n = 1e6, both
#: passes: 3 columns ~14 ms against ~24 ms, 8 columns ~79 ms against ~89 ms, 10 columns ~123 ms
#: against ~114 ms).
_NARROW = 8


def _cross_products(cols: list[np.ndarray]) -> np.ndarray:
    """The Gram matrix of ``[1, *cols]`` (each column of length ``n``), summed block by block.

    >>> _cross_products([np.array([1.0, 2.0, 3.0])])
    array([[ 3.,  6.],
           [ 6., 14.]])
    """
    n, c = len(cols[0]), len(cols)
    G = np.zeros((c + 1, c + 1))
    if c > _NARROW:
        buf = np.empty((c + 1, min(n, _BLOCK)))
        buf[0] = 1.0
        for start in range(0, n, _BLOCK):
            B = buf[:, :min(n - start, _BLOCK)]
            for r, col in enumerate(cols, start=1):
                B[r] = col[start:start + _BLOCK]
            G += B @ B.T
        return G
    pairs = [(i, j) for i in range(c) for j in range(i, c)]
    sums, prods = [0.0] * c, [0.0] * len(pairs)
    ones = np.ones(min(n, _BLOCK))
    for start in range(0, n, _BLOCK):
        v = [col[start:start + _BLOCK] for col in cols]
        o = ones[:len(v[0])]
        for i, x in enumerate(v):
            sums[i] += np.dot(x, o)  # a dot product (BLAS) beats np.sum on a block in cache
        for q, (i, j) in enumerate(pairs):
            prods[q] += np.dot(v[i], v[j])
    G[0, 0] = n
    G[0, 1:] = G[1:, 0] = sums
    for (i, j), value in zip(pairs, prods, strict=True):
        G[i + 1, j + 1] = G[j + 1, i + 1] = value
    return G


def _score_grams(exog: list[np.ndarray], t: np.ndarray, y: np.ndarray, C: np.ndarray) -> np.ndarray:
    """``sum_i r_ji² z_i z_i'`` for each residual ``r_j = C_j . [1, W, Z, T, Y]`` (rows of ``C``).

    ``z = [1, W, Z]`` (``exog`` holds ``W`` and ``Z``); each row of ``C`` (shape (r, m + 2)) has a
    non-zero coefficient on some data column. Returns an array of shape (r, m, m). One pass over the
    data in blocks; each residual is formed only within its block.
    """
    n, m = len(y), 1 + len(exog)
    cols = [*exog, t, y]
    out = np.zeros((len(C), m, m))
    size = min(n, _BLOCK)
    if len(cols) > _NARROW:
        buf = np.empty((m + 2, size))
        buf[0] = 1.0
        S = np.empty((len(C) * m, size))
        for start in range(0, n, _BLOCK):
            B = buf[:, :min(n - start, _BLOCK)]
            for r, col in enumerate(cols, start=1):
                B[r] = col[start:start + _BLOCK]
            R = C @ B
            Sb = S[:, :B.shape[1]]
            for j in range(len(C)):
                np.multiply(B[:m], R[j], out=Sb[j * m:(j + 1) * m])
            SS = Sb @ Sb.T
            for j in range(len(C)):
                out[j] += SS[j * m:(j + 1) * m, j * m:(j + 1) * m]
        return out
    pairs = [(a, b) for a in range(m) for b in range(a, m)]
    acc = [[0.0] * len(pairs) for _ in C]
    # Each residual starts from a column with coefficient 1 if it has one (the outcome Y of u, the
    # treatment T of v), plus the constant, in one operation; BLAS axpy adds the other terms in one
    # call each (blocks below OpenBLAS's threading threshold, as for the dot products).
    plans = []
    for row in C:
        terms = [(i, float(c)) for i, c in enumerate(row[1:]) if c]
        first = next((q for q, (_, c) in enumerate(terms) if c == 1.0), 0)
        plans.append((terms[first], terms[:first] + terms[first + 1:], float(row[0])))
    S = np.empty((len(C), m, size))  # the scores z_i r_ji of a block
    for start in range(0, n, _BLOCK):
        v = [col[start:start + _BLOCK] for col in cols]
        k = len(v[0])
        for j, ((i, c), rest, const) in enumerate(plans):
            Sj = S[j, :, :k]
            r = Sj[0]  # z's first entry is 1
            if c == 1.0:
                np.add(v[i], const, out=r)
            else:
                np.multiply(v[i], c, out=r)
                r += const
            for i, c in rest:
                _axpy(v[i], r, a=c)
            for a in range(1, m):
                np.multiply(v[a - 1], r, out=Sj[a])
            for q, (a, b) in enumerate(pairs):
                acc[j][q] += np.dot(Sj[a], Sj[b])
    for j in range(len(C)):
        for (a, b), value in zip(pairs, acc[j], strict=True):
            out[j, a, b] = out[j, b, a] = value
    return out


def _fit_gram(y: np.ndarray, t: np.ndarray, exog: list[np.ndarray], L: int, cov_type: str,
              clusters: np.ndarray | None, gram: np.ndarray | None = None) -> tuple[Any, ...] | None:
    """Both stages from one Gram matrix of ``[1, W, Z, T, Y]`` and the score Gram of ``[1, W, Z]``.

    ``exog`` holds the columns of ``W`` then of ``Z`` (``L`` instruments). The projection of
    ``X = [1, T, W]`` on ``Z_full = [1, W, Z]`` is ``Z_full P`` with ``P`` selecting the exogenous
    columns and holding the first-stage coefficients ``pi`` in the treatment's column, so every cross
    product of ``X_hat`` is ``P' (Z_full' . Z_full) P`` — the second-stage sandwich included, as
    ``x_hat_i u_i = P' z_i u_i``. One factorisation of ``Z_full'Z_full`` serves both stages. Two
    passes over the data in cache-sized blocks: the Gram matrix (:func:`_cross_products`), then the
    residuals ``u = Y - X beta`` (structural) and ``v = T - Z_full pi`` (first stage) with their score
    Grams (:func:`_score_grams`); ``gram``, if given, is the first: ``_cross_products([*exog, t, y])``.
    Returns ``beta, cov, pi, cov_pi, (||v||, ||T - mean T||)``, or ``None`` (leaving the design to the
    QR route) when a Gram matrix is ill conditioned or nearly rank deficient.
    """
    n = len(y)
    m = 1 + len(exog)
    p = m - 1 - L
    k = 2 + p
    G = _cross_products([*exog, t, y]) if gram is None else gram
    ZtZ_inv = _scaled_chol(G[:m, :m])
    if ZtZ_inv is None:
        return None
    pi = ZtZ_inv @ G[:m, m]
    P = np.zeros((m, k))  # X_hat = Z_full P, X_hat columns [1, T_hat, W]
    P[0, 0] = 1.0
    P[:, 1] = pi
    P[1 + np.arange(p), 2 + np.arange(p)] = 1.0
    order = [0, *range(2, k), 1]  # the treatment last, as in the QR route's rank check
    inv_o = _scaled_chol((P.T @ G[:m, :m] @ P)[np.ix_(order, order)])
    if inv_o is None:
        return None
    bread = np.empty((k, k))
    bread[np.ix_(order, order)] = inv_o
    beta = bread @ (P.T @ G[:m, m + 1])

    # u = Y - [1, T, W] beta and v = T - Z_full pi as rows of C @ [1, W, Z, T, Y]
    C = np.zeros((2, m + 2))
    C[0, 0], C[0, 1:1 + p], C[0, m], C[0, m + 1] = -beta[0], -beta[2:], -beta[1], 1.0
    C[1, :m], C[1, m] = -pi, 1.0
    if clusters is None:
        meat_u, meat_v = _score_grams(exog, t, y, C)
        f2 = n / (n - k) if cov_type == "HC1" else 1.0
        f1 = n / (n - m) if cov_type == "HC1" else 1.0
        ss_v = float(meat_v[0, 0])  # Z_full's first column is 1
    else:
        ZT = np.vstack([np.ones(n), *exog])
        uv = matmul(C[:, :m], ZT)  # in blocks: a BLAS call on all n rows may go multi-threaded
        for j in range(2):
            for col, c in ((t, C[j, m]), (y, C[j, m + 1])):
                if c:
                    uv[j] += c * col
        meat_u, meat_v = _meat(ZT, uv[0], clusters), _meat(ZT, uv[1], clusters)
        n_g = int(clusters.max()) + 1
        f2 = n_g / (n_g - 1) * (n - 1) / (n - k) if cov_type == "HC1" else 1.0
        f1 = n_g / (n_g - 1) * (n - 1) / (n - m) if cov_type == "HC1" else 1.0
        ss_v = float(uv[1] @ uv[1])
    cov = f2 * (bread @ (P.T @ meat_u @ P) @ bread)
    cov_pi = f1 * (ZtZ_inv @ meat_v @ ZtZ_inv)
    ss_t = float(G[m, m] - G[0, m] ** 2 / n)  # sum (T - mean T)^2, unless cancellation spoils it
    if not ss_t > 1e-6 * G[m, m]:
        ss_t = float(np.sum((t - t.mean()) ** 2))
    return beta, cov, pi, cov_pi, (np.sqrt(ss_v), np.sqrt(ss_t))


def _meat(ZT: np.ndarray, u: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """``sum_g s_g s_g'`` with ``s_g = sum_{i in g} z_i u_i``, for the transposed design ``ZT`` (m x n)."""
    G = int(clusters.max()) + 1
    scores = np.stack([np.bincount(clusters, weights=row * u, minlength=G) for row in ZT], axis=1)
    return scores.T @ scores
