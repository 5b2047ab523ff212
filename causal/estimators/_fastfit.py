"""Exact fits and products with a tall design, computed in cache-sized blocks.

The estimators' nuisance fits and sandwich variances reduce to a few
operations on a tall design ``Phi`` (``n`` rows, a handful of columns):
``Phi' diag(w) Phi``, ``Phi' V`` and ``Phi b``. Here the design is held
transposed, as a C-contiguous ``(q, n)`` array ``PhiT``, and each product runs
over blocks of :data:`_BLOCK` units: the block's rows and temporaries stay in
cache, no ``n``-long temporaries are allocated, and the BLAS calls are small
enough to stay in cache.

Threads. OpenBLAS threads a product once it passes a small size threshold
(a 9 x 8,192 block already does), and on a busy machine each threaded call
waits for a core another process holds: ``gram`` of a 9 x 10^6 design took
1,350-1,860 ms with two BLAS threads on two loaded cores against 73 ms with
one. The estimators' BLAS work is small (a handful of columns), so
:func:`single_threaded` runs a whole fit with one BLAS and one OpenMP thread.
It reuses one ``threadpoolctl.ThreadpoolController`` per process (made at the
first fit; making one scans the loaded libraries and costs about 14 ms, while
entering and leaving its limit costs about 0.04 ms). The estimators enter it at
the top of ``fit`` (a ``with`` block adds no stack frame, so their warnings still
point at the caller); :func:`one_thread` decorates helper functions that do not
warn (``causal.estimators.simple.ols``).

:func:`newton_logistic` fits an L2-penalised logistic regression — the
default propensity model's objective — by Newton's method (iteratively
reweighted least squares) with Cholesky solves and a backtracking line search,
taking the steps of scikit-learn's ``newton-cholesky`` solver and stopping
where it stops, so that it reproduces that solver's fit to rounding, with one
blocked pass over the data per step. It returns ``None`` rather than a poor fit
when the problem is ill conditioned or the iterations do not converge, so that
a caller can fall back to scikit-learn itself.

References
----------
P. McCullagh and J. A. Nelder (1989), *Generalized Linear Models*, 2nd ed.,
Chapman & Hall, section 2.5 (iteratively reweighted least squares).
S. Boyd and L. Vandenberghe (2004), *Convex Optimization*, Cambridge
University Press, section 9.5 (Newton's method, backtracking line search).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, NamedTuple, TypeVar

import numpy as np
from scipy.linalg import cho_factor, cho_solve

__all__ = ["gram", "tmatmul", "matmul", "proba", "newton_logistic", "LogitFit", "single_threaded",
           "one_thread"]

#: Units per block. Blocks this small keep OpenBLAS single-threaded (a few columns times 8,192 rows is
#: below its threading threshold) and a block's rows and temporaries in the L2 cache.
_BLOCK = 1 << 13

#: Largest condition number of the diagonally scaled Hessian :func:`newton_logistic` accepts.
_MAX_COND = 1e10


_CONTROLLER: Any = None
_F = TypeVar("_F", bound=Callable[..., Any])


def single_threaded() -> AbstractContextManager[Any]:
    """A context in which BLAS and OpenMP run on one thread, restoring the previous limits after.

    The ``threadpoolctl`` controller is made once per process, at the first call (by then numpy's,
    scipy's and scikit-learn's pools are loaded); a library loaded later is not limited.

    >>> with single_threaded():
    ...     float(np.ones((3, 3)).sum())
    9.0
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)


def one_thread(method: _F) -> _F:
    """Decorate a function so that it runs inside :func:`single_threaded`.

    The wrapper is one more stack frame: a function whose warnings count frames (``stacklevel``)
    should enter :func:`single_threaded` in its body instead.
    """
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with single_threaded():
            return method(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def _spans(n: int) -> range:
    return range(0, n, _BLOCK)


def gram(PhiT: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """``Phi' diag(w) Phi`` (``Phi' Phi`` without ``w``) for the transposed design ``PhiT`` of shape (q, n).

    >>> PhiT = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])
    >>> gram(PhiT, np.array([1.0, 2.0, 3.0]))
    array([[ 6.,  8.],
           [ 8., 14.]])
    """
    q, n = PhiT.shape
    out = np.zeros((q, q))
    buf = np.empty((q, min(n, _BLOCK)))
    for s in _spans(n):
        P = PhiT[:, s:s + _BLOCK]
        if w is None:
            out += P @ P.T
        else:
            B = buf[:, :P.shape[1]]
            np.multiply(P, w[s:s + _BLOCK], out=B)
            out += B @ P.T
    return out


def tmatmul(PhiT: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``Phi' V`` for ``PhiT`` of shape (q, n) and ``V`` of shape (n,) or (n, r).

    >>> tmatmul(np.array([[1.0, 1.0], [0.0, 2.0]]), np.array([3.0, 4.0]))
    array([7., 8.])
    """
    q, n = PhiT.shape
    out = np.zeros((q,) + V.shape[1:])
    for s in _spans(n):
        out += PhiT[:, s:s + _BLOCK] @ V[s:s + _BLOCK]
    return out


def matmul(A: np.ndarray, PhiT: np.ndarray) -> np.ndarray:
    """``A Phi'`` — the (r, n) array of ``Phi`` times each row of ``A`` (r, q); ``A`` may be 1-D.

    >>> matmul(np.array([1.0, 2.0]), np.array([[1.0, 1.0], [0.0, 2.0]]))
    array([1., 5.])
    """
    n = PhiT.shape[1]
    out = np.empty(A.shape[:-1] + (n,))
    for s in _spans(n):
        np.matmul(A, PhiT[:, s:s + _BLOCK], out=out[..., s:s + _BLOCK])
    return out


class LogitFit(NamedTuple):
    """The result of :func:`newton_logistic`."""

    coef: np.ndarray
    """Coefficients, one per row of the design."""
    proba: np.ndarray
    """Fitted probabilities ``1 / (1 + exp(-Phi coef))``."""
    n_iter: int
    """Newton steps taken."""


def _loss_derivatives(PhiT: np.ndarray, t: np.ndarray, b: np.ndarray, ridge: np.ndarray,
                      e: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Penalised negative log-likelihood, its gradient and Hessian at ``b``, in one pass over the data.

    ``f(b) = sum_i [log(1 + exp(eta_i)) - t_i eta_i] + b' diag(ridge) b / 2`` with ``eta = Phi b``;
    per unit, with ``r = exp(-eta)``, ``log(1 + exp(eta)) - t eta = log1p(r) + (1 - t) eta`` and
    the probability ``1 / (1 + r)``, written to ``e``. (``r`` overflows to ``inf`` for ``eta < -709``:
    the probability is then 0 and the loss ``inf``, which a line search rejects.)
    """
    q, n = PhiT.shape
    loss, grad, hess = 0.0, np.zeros(q), np.zeros((q, q))
    size = min(n, _BLOCK)
    eta_b, w_b, X_b = np.empty(size), np.empty(size), np.empty((q, size))
    for s in _spans(n):
        P, tb, r = PhiT[:, s:s + _BLOCK], t[s:s + _BLOCK], e[s:s + _BLOCK]
        k = P.shape[1]
        eta, w, X = eta_b[:k], w_b[:k], X_b[:, :k]
        np.matmul(b, P, out=eta)
        np.negative(eta, out=r)
        np.exp(r, out=r)
        np.log1p(r, out=w)
        loss += w.sum() + eta.sum() - tb @ eta
        r += 1.0
        np.reciprocal(r, out=r)  # the probability
        np.subtract(1.0, r, out=w)
        w *= r  # e (1 - e)
        np.sqrt(w, out=w)
        np.multiply(P, w, out=X)
        hess += X @ X.T
        np.subtract(r, tb, out=w)
        grad += P @ w
    return loss + 0.5 * (ridge * b) @ b, grad + ridge * b, hess + np.diag(ridge)


def proba(PhiT: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-Phi b))`` for the transposed design ``PhiT`` (q, n).

    >>> proba(np.array([[1.0, 1.0], [0.0, 2.0]]), np.array([0.0, 1.0])).round(4)
    array([0.5   , 0.8808])
    """
    e = matmul(b, PhiT)
    with np.errstate(over="ignore"):  # exp(-eta) = inf for eta < -709: e = 0, as in the limit
        np.negative(e, out=e)
        np.exp(e, out=e)
    e += 1.0
    return np.reciprocal(e, out=e)


#: Armijo's sufficient-decrease constant and the halvings of the line search before giving up.
_ARMIJO, _HALVINGS = 2.0**-11, 20


def newton_logistic(PhiT: np.ndarray, t: np.ndarray, ridge: np.ndarray, *, start: np.ndarray | None = None,
                    tol: float = 1e-4, max_iter: int = 100) -> LogitFit | None:
    """Penalised logistic regression by Newton's method; ``None`` if it cannot be fitted reliably.

    Minimises ``sum_i [log(1 + exp(eta_i)) - t_i eta_i] + b' diag(ridge) b / 2``, ``eta = Phi b``:
    scikit-learn's ``LogisticRegression(C)`` objective (divided by ``C``) when ``ridge`` is ``1/C`` on
    the slopes and 0 on the intercept. The iterations are those of scikit-learn's ``newton-cholesky``
    solver: from ``start`` (default zero), the Newton step ``d = -H^{-1} g`` by Cholesky, a
    backtracking line search (Armijo's condition with constant 2**-11, halving the step; a change of
    the loss within rounding is accepted when it lowers the L1 norm of the gradient), and the
    stopping rule on the loss *averaged* over units: the largest absolute gradient at the new point
    and half the squared Newton decrement ``d' H d`` of the step taken both at most ``tol``. So for the
    same design the fit coincides with scikit-learn's up to rounding (each step is a deterministic
    function of the current coefficients), in a fraction of the time: one blocked pass over the data
    per step gives the loss, the gradient, the Hessian and the probabilities.

    Parameters
    ----------
    PhiT : ndarray of shape (q, n)
        The transposed design (C-contiguous for speed), e.g. an intercept row and covariates.
    t : ndarray of shape (n,)
        The 0/1 outcome, as floats.
    ridge : ndarray of shape (q,)
        Diagonal of the L2 penalty, in units of the summed loss.
    start : ndarray of shape (q,), optional
        Starting coefficients (default zero, as scikit-learn).
    tol : float
        Stopping tolerance, as ``LogisticRegression(tol=...)``.
    max_iter : int
        Most Newton steps.

    Returns
    -------
    LogitFit or None
        ``None`` when the (diagonally scaled) Hessian is singular or its condition number exceeds
        1e10 (collinear or constant columns without a penalty to fix them), the line search fails,
        or ``max_iter`` steps do not converge (e.g. under perfect separation without a penalty):
        cases in which scikit-learn warns and changes solver.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=20_000)
    >>> t = (rng.random(20_000) < 1 / (1 + np.exp(-(0.5 + x)))).astype(float)
    >>> fit = newton_logistic(np.vstack([np.ones_like(x), x]), t, np.zeros(2))
    >>> fit.coef.round(1), fit.n_iter < 10
    (array([0.5, 1. ]), True)
    """
    q, n = PhiT.shape
    b = np.zeros(q) if start is None else np.array(start, dtype=float)
    e = np.empty(n)
    tiny = 16 * np.finfo(float).eps
    with np.errstate(over="ignore"):
        f, g, H = _loss_derivatives(PhiT, t, b, ridge, e)
        for it in range(1, max_iter + 1):
            d = np.sqrt(np.diag(H))
            if not (np.isfinite(H).all() and (d > 0).all()):
                return None
            Hs = H / np.outer(d, d)  # unit diagonal: its condition number is that of the problem
            try:
                factor = cho_factor(Hs, lower=True, check_finite=False)
            except np.linalg.LinAlgError:
                return None
            ev = np.linalg.eigvalsh(Hs)
            if not ev[0] > ev[-1] / _MAX_COND:
                return None
            step = -cho_solve(factor, g / d, check_finite=False) / d
            slope = float(g @ step)  # < 0: a descent direction
            s = 1.0
            for _ in range(_HALVINGS + 1):
                trial = b + s * step
                f_new, g_new, H_new = _loss_derivatives(PhiT, t, trial, ridge, e)
                change = f_new - f
                if change <= s * _ARMIJO * slope or (
                        abs(change) <= tiny * abs(f) and np.abs(g_new).sum() < np.abs(g).sum()):
                    break
                s *= 0.5
            else:
                return None
            converged = np.abs(g_new).max() <= tol * n and 0.5 * step @ H @ step <= tol * n
            b, f, g, H = trial, f_new, g_new, H_new
            if converged:
                return LogitFit(b, e, it)
    return None
