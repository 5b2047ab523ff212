"""DirectLiNGAM: the full causal DAG of linear data with non-Gaussian noise.

In a linear SCM ``x = B x + e`` with independent, non-Gaussian noise ``e`` the
whole DAG is identifiable, not only its equivalence class [1]_. DirectLiNGAM
[2]_ finds a causal order one variable at a time: the next variable is the one
most *exogenous* among those left — regressing any other on it leaves a residual
independent of it — then its linear effect is removed from the others and the
search repeats. Edges are the non-zero coefficients of each variable's
regression on its predecessors in the order, pruned (adaptive lasso with BIC,
or a t-test).

Exogeneity is judged with the pairwise likelihood-ratio measure of Hyvärinen
and Smith [3]_. For standardised ``x``, ``y`` with correlation ``rho``, the
log-likelihood ratio of ``x -> y`` against ``y -> x`` is, per unit,

.. math::

    R(x, y) = J(x) + J(r_{y|x}) - J(y) - J(r_{x|y}),

where ``r_{y|x} = (y - rho x) / sqrt(1 - rho^2)`` is the standardised residual
and ``J`` a negentropy (the entropy gap to a Gaussian of equal variance, which
the residual variances of both directions share and so cancel). ``J`` is the
maximum-entropy approximation of Hyvärinen [4]_,

.. math::

    J(u) = k_1 (E[\\log\\cosh u] - \\gamma)^2 + k_2 (E[u e^{-u^2/2}])^2,

with ``k1 = 79.047``, ``k2 = 7.4129``, ``gamma = 0.37457``. ``R > 0`` favours
``x -> y``. The candidate chosen is the ``i`` minimising
``sum_j min(0, R(x_i, x_j))^2`` — the least evidence against its being a cause
of all the others.

Background knowledge restricts the order (a variable is not chosen while a
required cause of it, or a variable of an earlier tier, is left) and the
regressions (a forbidden parent is left out; a required one is never pruned).

References
----------
.. [1] S. Shimizu, P. O. Hoyer, A. Hyvärinen and A. Kerminen, "A linear
   non-Gaussian acyclic model for causal discovery", JMLR 7, 2006.
.. [2] S. Shimizu et al., "DirectLiNGAM: a direct method for learning a linear
   non-Gaussian structural equation model", JMLR 12, 2011.
.. [3] A. Hyvärinen and S. M. Smith, "Pairwise likelihood ratios for estimation
   of non-Gaussian structural equation models", JMLR 14, 2013.
.. [4] A. Hyvärinen, "New approximations of differential entropy for
   independent component analysis and projection pursuit", NIPS 1998.
.. [5] H. Zou, "The adaptive lasso and its oracle properties", JASA 101, 2006.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from causal.discovery.citests import as_data
from causal.discovery.knowledge import Knowledge
from causal.discovery.pgraph import PartialGraph
from causal.errors import EstimationError, GraphError
from causal.graph import CausalGraph

__all__ = ["direct_lingam", "LiNGAMResult", "pairwise_measure"]

_K1, _K2, _GAMMA = 79.047, 7.4129, 0.37457


@dataclass(frozen=True)
class LiNGAMResult:
    """DirectLiNGAM's answer.

    Attributes
    ----------
    graph : CausalGraph
        The DAG (edges with a non-zero weight).
    weights : DataFrame
        ``weights.loc[cause, effect]``: the direct linear effect of ``cause`` on
        ``effect`` in the data's units (0 where there is no edge).
    order : tuple of str
        The causal order found (earliest first).
    """

    graph: CausalGraph
    weights: pd.DataFrame
    order: tuple[str, ...]

    @property
    def partial_graph(self) -> PartialGraph:
        """The DAG as a :class:`PartialGraph` (for :mod:`causal.discovery.metrics`, reference ``"graph"``)."""
        return PartialGraph.from_causal_graph(self.graph)


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _negentropy(u: np.ndarray) -> np.ndarray:
    """Hyvärinen's approximation ``J`` of each column of standardised ``u`` (axis 0 = units)."""
    with np.errstate(over="ignore"):
        a = np.log(np.cosh(u))
    if not np.isfinite(a).all():                # |u| > 710: log cosh u = |u| - log 2 to double precision
        a = np.where(np.isfinite(a), a, np.abs(u) - np.log(2.0))
    b = u * np.exp(-0.5 * u * u)
    return _K1 * (a.mean(axis=0) - _GAMMA) ** 2 + _K2 * b.mean(axis=0) ** 2


def pairwise_measure(x: np.ndarray) -> np.ndarray:
    """``R[i, j]``: the log-likelihood ratio of ``x_i -> x_j`` against ``x_j -> x_i`` per unit.

    ``x`` holds standardised columns. Positive entries favour ``i`` causing ``j``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.uniform(-1, 1, 20000); b = a + rng.uniform(-1, 1, 20000)
    >>> r = pairwise_measure(_standardise(np.column_stack([a, b])))
    >>> bool(r[0, 1] > 0), bool(np.isclose(r[1, 0], -r[0, 1]))
    (True, True)
    """
    n, m = x.shape
    rho = np.clip(x.T @ x / n, -1.0, 1.0)
    j_own = _negentropy(x)
    r = np.zeros((m, m))
    for i in range(m):
        # residuals of every other column on x_i, standardised: column j is r_{j|i}
        scale = np.sqrt(np.maximum(1.0 - rho[i] ** 2, 1e-12))
        res = (x - x[:, [i]] * rho[i][None, :]) / scale[None, :]
        j_res = _negentropy(res)                 # j_res[j] = J(r_{j|i})
        r[i] += j_own[i] + j_res                 # the x_i -> x_j half of R(i, j)
        r[:, i] -= j_own[i] + j_res              # the same terms enter R(j, i) with a minus sign
    np.fill_diagonal(r, 0.0)
    return r


def _candidates(left: list[int], names: tuple[str, ...], k: Knowledge) -> list[int]:
    if not k:
        return left
    out = []
    for i in left:
        blocked = any(k.is_required(names[j], names[i]) for j in left if j != i)
        ti = k.tier(names[i])
        earlier = ti is not None and any((tj := k.tier(names[j])) is not None and tj < ti for j in left)
        if not blocked and not earlier:
            out.append(i)
    if not out:
        raise GraphError("background knowledge leaves no variable that can come next in the causal order "
                         "(a cycle of required edges?); relax it")
    return out


def causal_order(x: np.ndarray, names: tuple[str, ...], k: Knowledge) -> list[int]:
    """DirectLiNGAM's causal order of the columns of ``x`` (indices, earliest first)."""
    left = list(range(x.shape[1]))
    z = _standardise(x)
    order: list[int] = []
    while len(left) > 1:
        cand = _candidates(left, names, k)
        r = pairwise_measure(z)
        pos = {v: p for p, v in enumerate(left)}
        score = [float((np.minimum(0.0, r[pos[i]]) ** 2).sum()) for i in cand]
        best = cand[int(np.argmin(score))]
        order.append(best)
        b = pos[best]
        # remove the chosen variable's linear effect from the others, then standardise again
        zb = z[:, b]
        rest = np.delete(z, b, axis=1)
        rest = rest - np.outer(zb, zb @ rest / (zb @ zb))
        z = _standardise(rest)
        left.remove(best)
    return order + left


def _prune_adaptive_lasso(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Adaptive lasso (weights ``|OLS|``) along the LARS path, the step chosen by BIC [5]_.

    Works on the Gram matrix only: the BIC of a step with coefficients ``b`` and
    ``df`` non-zeros is ``n log(RSS / n) + df log n``, with
    ``RSS = y'y - 2 b'X'y + b'X'X b``. Returns zeros where pruned.
    """
    from sklearn.linear_model import lars_path_gram

    n = len(y)
    gram, xy, yy = x.T @ x, x.T @ y, float(y @ y)
    beta = np.linalg.solve(gram, xy)
    w = np.abs(beta)
    if not (w > 0).any():
        return np.zeros_like(beta)
    gw, xyw = gram * np.outer(w, w), xy * w
    _, _, coefs = lars_path_gram(xyw, gw, n_samples=n, method="lasso")
    rss = yy - 2 * coefs.T @ xyw + np.einsum("ik,ij,jk->k", coefs, gw, coefs)
    df = (coefs != 0).sum(axis=0)
    bic = n * np.log(np.maximum(rss, 1e-300) / n) + df * np.log(n)
    return coefs[:, int(np.argmin(bic))] * w


def _prune_ttest(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    from scipy import stats

    n, p = x.shape
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    s2 = resid @ resid / max(n - p, 1)
    cov = s2 * np.linalg.pinv(x.T @ x)
    se = np.sqrt(np.maximum(np.diag(cov), 1e-300))
    pvals = 2 * stats.t.sf(np.abs(beta / se), df=max(n - p, 1))
    return np.where(pvals < alpha, beta, 0.0)


def direct_lingam(data: Any, *, prune: Literal["adaptive_lasso", "ttest"] = "adaptive_lasso",
                  alpha: float = 0.01, knowledge: Knowledge | None = None) -> LiNGAMResult:
    """Learn a linear non-Gaussian DAG with DirectLiNGAM (pairwise likelihood-ratio measure).

    Parameters
    ----------
    data : DataFrame or 2-D array
        Continuous observations (rows = units); array columns are named ``X0, X1, ...``.
    prune : {"adaptive_lasso", "ttest"}
        How the regressions on the predecessors are pruned to edges: adaptive
        lasso with the BIC, or a two-sided t-test at level ``alpha`` on OLS.
    alpha : float
        Level of the t-test (``prune="ttest"``), in (0, 1).
    knowledge : Knowledge, optional
        Forbidden/required edges and tiers.

    Returns
    -------
    LiNGAMResult
        ``graph``, ``weights`` (cause x effect) and ``order``.

    Raises
    ------
    EstimationError
        NaN or infinite values, a constant column, fewer rows than variables + 3.
    GraphError
        ``alpha`` outside (0, 1), an unknown ``prune``, knowledge naming unknown columns.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> a = rng.uniform(-1, 1, 5000); b = 2 * a + rng.uniform(-1, 1, 5000)
    >>> c = b - a + rng.uniform(-1, 1, 5000)
    >>> res = direct_lingam(pd.DataFrame({"c": c, "b": b, "a": a}))
    >>> res.order, sorted(res.graph.directed_edges)
    (('a', 'b', 'c'), [('a', 'b'), ('a', 'c'), ('b', 'c')])
    >>> print(round(res.weights.loc["a", "b"], 1))
    2.0
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise GraphError(f"alpha must be a significance level strictly between 0 and 1, got {alpha!r}")
    if prune not in ("adaptive_lasso", "ttest"):
        raise GraphError(f"prune must be 'adaptive_lasso' or 'ttest', got {prune!r}")
    x, names = as_data(data)
    k = knowledge if knowledge is not None else Knowledge()
    if not isinstance(k, Knowledge):
        raise GraphError(f"knowledge must be a Knowledge, got {type(k).__name__}")
    k.check_nodes(names)
    order = causal_order(x, names, k)
    xc = x - x.mean(axis=0)
    d = len(names)
    w = np.zeros((d, d))
    for pos, j in enumerate(order):
        preds = [i for i in order[:pos] if not k.is_forbidden(names[i], names[j])]
        if not preds:
            continue
        design = xc[:, preds]
        if prune == "ttest":
            beta = _prune_ttest(design, xc[:, j], alpha)
        else:
            beta = _prune_adaptive_lasso(design, xc[:, j])
        required = [p for p, i in enumerate(preds) if k.is_required(names[i], names[j])]
        if required:  # never pruned: refit on the kept and the required parents
            keep = sorted(set(np.nonzero(beta)[0].tolist()) | set(required))
            beta = np.zeros(len(preds))
            beta[keep] = np.linalg.lstsq(design[:, keep], xc[:, j], rcond=None)[0]
        w[preds, j] = beta
    if not np.isfinite(w).all():
        raise EstimationError("the regressions gave non-finite weights (collinear columns?); drop "
                              "duplicated or exactly dependent columns")
    edges = [(names[i], names[j]) for i, j in zip(*np.nonzero(w), strict=True)]
    graph = CausalGraph(edges, nodes=names)
    return LiNGAMResult(graph, pd.DataFrame(w, index=list(names), columns=list(names)),
                        tuple(names[i] for i in order))
