r"""The front-door estimator: an effect through a fully observed mediator despite hidden confounding.

When a hidden ``U`` confounds the treatment ``X`` and the outcome ``Y``, no
covariate adjustment removes the bias. If ``X`` acts on ``Y`` only through
mediators ``M``, nothing confounds ``X -> M``, and ``X`` blocks every back-door
path from ``M`` to ``Y`` (the front-door criterion), the effect is still
identified (Pearl 1995; *Causality* 2009, §3.3.2)::

    E[Y | do(x)] = sum_m P(m | x) sum_x' E[Y | m, x'] P(x')

— the effect of ``X`` on ``M`` (unconfounded) chained with the effect of ``M``
on ``Y`` (confounded by ``U`` only through ``X``, so adjusting for ``X``
removes it). Pre-treatment covariates ``C`` that are needed for these two
steps enter every term conditionally and are averaged over ``P(c)`` at the end
(the conditional front door).

* ``kind="plugin"``: discrete ``X``, ``M`` and ``C`` (``Y`` any numeric) — the
  formula above with empirical frequencies and cell means; the contrast of
  treatment levels 1 and 0. Standard error from the influence function of the
  functional (delta method; Fulcher, Shpitser, Marealle & Tchetgen Tchetgen
  2020), which is exact to first order and needs no resampling.
* ``kind="linear"``: linear structural equations — the product of the
  ``X -> M`` coefficient (``M`` on ``1, X, C``) and the ``M -> Y`` coefficient
  adjusted for ``X`` (``Y`` on ``1, M, X, C``), summed over mediators (Pearl
  2009, §3.3.2; Wright's path rule). Standard error from the stacked
  estimating equations of both regressions (M-estimation sandwich, HC0;
  Stefanski & Boos 2002), i.e. the delta method with the covariance between the
  two coefficients accounted for. A product of two coefficients is not normal
  when both are near zero (Sobel 1982), so the interval is then conservative.

Either can be driven by an identified :class:`~causal.identify.Estimand` with
``strategy == "frontdoor"`` (``fit(data, estimand=...)``), which supplies the
treatment, outcome and mediators.

References
----------
J. Pearl (1995), "Causal diagrams for empirical research", *Biometrika* 82(4).
J. Pearl (2009), *Causality*, 2nd ed., Cambridge University Press, §3.3.2.
M. E. Sobel (1982), "Asymptotic confidence intervals for indirect effects in
structural equation models", *Sociological Methodology* 13.
L. A. Stefanski and D. D. Boos (2002), "The calculus of M-estimation",
*The American Statistician* 56(1).
I. R. Fulcher, I. Shpitser, S. Marealle and E. J. Tchetgen Tchetgen (2020),
"Robust inference on population indirect causal effects: the generalized
front door criterion", *Journal of the Royal Statistical Society B* 82(1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators.base import BaseEstimator, Estimate, check_columns

__all__ = ["FrontDoor"]

_COLLINEAR = float(np.sqrt(np.finfo(float).eps))


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    return [x] if isinstance(x, str) else list(x or [])


class FrontDoor(BaseEstimator):
    r"""Front-door estimate of the effect of ``treatment`` on ``outcome`` through ``mediators``.

    Parameters
    ----------
    kind : {"linear", "plugin"}
        ``"linear"``: product of the ``X -> M`` and ``M -> Y | X`` least-squares
        coefficients (any numeric ``X``; the effect of a unit change of ``X``).
        ``"plugin"``: the front-door formula with empirical frequencies on
        discrete ``X``, ``M`` and covariates; the contrast
        ``E[Y | do(X=1)] - E[Y | do(X=0)]``.
    level : float
        Confidence level of the interval.

    Attributes
    ----------
    ate_, stderr_ : float
    mediators_, covariates_ : list of str
    x_to_m_, m_to_y_ : pandas.Series
        (``kind="linear"``) coefficient of ``X`` in each mediator's regression,
        and of each mediator in the outcome regression (adjusting for ``X``).
    means_ : dict
        (``kind="plugin"``) ``{1: E[Y | do(X=1)], 0: E[Y | do(X=0)]}``.
    influence_ : numpy.ndarray
        Per-unit influence-function values; ``stderr_ = sqrt(sum(influence_**2)) / n``.
    n_ : int

    References
    ----------
    .. [1] J. Pearl (1995), *Biometrika* 82(4); *Causality* (2009), §3.3.2.
    .. [2] I. R. Fulcher et al. (2020), *JRSS B* 82(1): the influence function.

    Examples
    --------
    Smoking ``x``, tar ``m``, cancer ``y``, hidden genotype ``u`` (true effect 0.7 · 0.5):

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> u, e1, e2, e3 = rng.normal(size=(4, 5000))
    >>> x = u + e1
    >>> m = 0.7 * x + e2
    >>> df = pd.DataFrame({"x": x, "m": m, "y": 0.5 * m + u + e3})
    >>> est = FrontDoor().fit(df, treatment="x", outcome="y", mediators="m").ate()
    >>> bool(est.ci_low < 0.35 < est.ci_high), est.method
    (True, 'FrontDoor (linear)')

    The same with binary variables and the plug-in formula (true effect 0.22):

    >>> u = rng.random(20000) < 0.5
    >>> x = (rng.random(20000) < np.where(u, 0.8, 0.2)).astype(int)
    >>> m = (rng.random(20000) < np.where(x == 1, 0.75, 0.2)).astype(int)
    >>> y = (rng.random(20000) < 0.1 + 0.4 * m + 0.4 * u).astype(int)
    >>> df = pd.DataFrame({"x": x, "m": m, "y": y})
    >>> est = FrontDoor(kind="plugin").fit(df, treatment="x", outcome="y", mediators=["m"]).ate()
    >>> bool(est.ci_low < 0.22 < est.ci_high)
    True
    """

    def __init__(self, kind: Literal["linear", "plugin"] = "linear", level: float = 0.95) -> None:
        self.kind = kind
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str | None = None, outcome: str | None = None,
            mediators: str | Sequence[str] | None = None, covariates: str | Sequence[str] | None = None,
            estimand: Any = None) -> FrontDoor:
        """Estimate the front-door effect.

        Parameters
        ----------
        data : pandas.DataFrame
        treatment, outcome : str
            Required unless ``estimand`` is given (then they must match it if given).
        mediators : str or list of str
            The front-door set; or give ``estimand`` instead.
        covariates : str or list of str, optional
            Pre-treatment covariates conditioned on in every term.
        estimand : causal.identify.Estimand, optional
            An estimand with ``strategy == "frontdoor"`` (from
            :func:`causal.identify`); supplies treatment, outcome and mediators.

        Returns
        -------
        FrontDoor
            ``self``, fitted.

        Raises
        ------
        EstimationError
            On bad arguments or columns, collinear regressors (linear), and for
            ``"plugin"`` when a treatment level 0 or 1 is missing or a
            (mediator, treatment) cell the formula needs is empty — typical of
            a continuous mediator, which needs ``kind="linear"``.
        """
        name = type(self).__name__
        if self.kind not in ("linear", "plugin"):
            raise EstimationError(f"{name}: kind must be 'linear' or 'plugin', got {self.kind!r}")
        if isinstance(self.level, bool) or not isinstance(self.level, float | int) or not 0 < self.level < 1:
            raise EstimationError(f"{name}: level must be in (0, 1), got {self.level!r}")
        treatment, outcome, meds = _roles(name, treatment, outcome, mediators, estimand)
        covs = _as_list(covariates)
        _check_roles(name, treatment, outcome, meds, covs)
        frame = check_columns(data, estimator=name, treatment=treatment, outcome=outcome,
                              mediators=meds, covariates=covs)
        x = frame[treatment].to_numpy(dtype=float)
        y = frame[outcome].to_numpy(dtype=float)
        M = frame[meds].to_numpy(dtype=float).reshape(len(y), len(meds))
        C = frame[covs].to_numpy(dtype=float).reshape(len(y), len(covs))
        if np.ptp(x) == 0:
            raise EstimationError(f"{name}: the treatment {treatment!r} is constant; there is no contrast")
        if self.kind == "linear":
            value, infl = self._fit_linear(name, x, M, y, C, treatment, meds, covs)
        else:
            value, infl = self._fit_plugin(name, x, M, y, C, treatment, meds, covs)
        n = len(y)
        self.ate_, self.stderr_ = float(value), float(np.sqrt(np.sum(infl**2)) / n)
        self.influence_ = infl
        self.treatment_, self.outcome_, self.mediators_, self.covariates_ = treatment, outcome, meds, covs
        self.n_ = n
        self.fitted_ = True
        return self

    # ------------------------------------------------------------------ linear
    def _fit_linear(self, name: str, x: np.ndarray, M: np.ndarray, y: np.ndarray, C: np.ndarray,
                    treatment: str, meds: list[str], covs: list[str]) -> tuple[float, np.ndarray]:
        n, J = M.shape
        one = np.ones((n, 1))
        # X -> M: each mediator on [1, X, C]; all at once
        D1 = np.column_stack([one, C, x])
        A, bread1 = _least_squares(D1, M, ["intercept", *covs, treatment], name, "mediator")
        E1 = M - D1 @ A
        a = A[-1]
        h1 = D1 @ bread1[:, -1]                 # row of (D1'D1)^{-1} D1' for the X coefficient
        infl_a = h1[:, None] * E1               # n x J: per-unit term of each a_j - a_j*
        # M -> Y adjusting for X: Y on [1, C, X, M]
        D2 = np.column_stack([one, C, x, M])
        B, bread2 = _least_squares(D2, y[:, None], ["intercept", *covs, treatment, *meds], name, "outcome")
        e2 = y - (D2 @ B)[:, 0]
        b = B[-J:, 0]
        infl_b = (D2 @ bread2[:, -J:]) * e2[:, None]
        self.x_to_m_ = pd.Series(a, index=meds, name=f"{treatment} -> mediator")
        self.m_to_y_ = pd.Series(b, index=meds, name="mediator -> outcome")
        # delta method on sum_j a_j b_j with the joint (stacked) per-unit terms; times n for influence scale
        infl = n * (infl_a @ b + infl_b @ a)
        return float(a @ b), infl

    # ------------------------------------------------------------------ plug-in
    def _fit_plugin(self, name: str, x: np.ndarray, M: np.ndarray, y: np.ndarray, C: np.ndarray,
                    treatment: str, meds: list[str], covs: list[str]) -> tuple[float, np.ndarray]:
        xs, xi = np.unique(x, return_inverse=True)
        missing = [v for v in (0.0, 1.0) if v not in xs]
        if missing:
            raise EstimationError(f"{name}: kind='plugin' contrasts treatment levels 1 and 0, but "
                                  f"{treatment!r} never takes the value {missing[0]:g}; recode it")
        ms, mi = np.unique(M, axis=0, return_inverse=True)
        cs, ci = (np.unique(C, axis=0, return_inverse=True) if C.shape[1]
                  else (np.zeros((1, 0)), np.zeros(len(y), dtype=np.intp)))
        mi, ci = mi.reshape(-1), ci.reshape(-1)
        nc, nx, nm = len(cs), len(xs), len(ms)
        if nc * nx * nm > max(10 * len(y), 10_000):
            raise EstimationError(f"{name}: kind='plugin' needs discrete variables, but the treatment, "
                                  f"mediators and covariates have {nx}, {nm} and {nc} distinct values; "
                                  "use kind='linear' or discretise them")
        cell = np.ravel_multi_index((ci, xi, mi), (nc, nx, nm))
        N = np.bincount(cell, minlength=nc * nx * nm).reshape(nc, nx, nm).astype(float)
        S = np.bincount(cell, weights=y, minlength=nc * nx * nm).reshape(nc, nx, nm)
        Nc, Ncx = N.sum(axis=(1, 2)), N.sum(axis=2)
        p_c = Nc / len(y)
        p_x = Ncx / Nc[:, None]                                   # P(x' | c)
        p_m = np.divide(N, Ncx[:, :, None], out=np.zeros_like(N), where=Ncx[:, :, None] > 0)  # P(m | x, c)
        Q = np.divide(S, N, out=np.zeros_like(S), where=N > 0)    # E[Y | m, x', c]
        means, infl = {}, {}
        for level in (1, 0):
            ix = int(np.flatnonzero(xs == level)[0])
            _positivity(name, N, Ncx, ix, xs, ms, cs, treatment, meds, covs)
            pm = p_m[:, ix, :]                                     # P(m | x=level, c): nc x nm
            G = np.einsum("cxm,cx->cm", Q, p_x)                    # sum_x' E[Y|m,x',c] P(x'|c)
            g = np.einsum("cm,cm->c", pm, G)                       # the formula within stratum c
            h = np.einsum("cm,cxm->cx", pm, Q)                     # sum_m P(m|level,c) E[Y|m,x',c]
            mu = float(p_c @ g)
            # influence function (Fulcher et al. 2020): P(c), P(m|x,c), E[Y|m,x',c] and P(x'|c) terms
            term_m = (xi == ix) / p_x[ci, ix] * (G[ci, mi] - g[ci])
            term_y = pm[ci, mi] / p_m[ci, xi, mi] * (y - Q[ci, xi, mi])
            term_x = h[ci, xi] - g[ci]
            means[level] = mu
            infl[level] = (g[ci] - mu) + term_m + term_y + term_x
        self.means_ = means
        return means[1] - means[0], infl[1] - infl[0]

    def ate(self) -> Estimate:
        """The front-door effect: of a unit change of the treatment (linear), of 1 vs 0 (plugin)."""
        self._check_fitted()
        diagnostics: dict[str, Any] = {"kind": self.kind, "mediators": list(self.mediators_)}
        if self.kind == "linear":
            diagnostics.update(x_to_m=self.x_to_m_.to_dict(), m_to_y=self.m_to_y_.to_dict(),
                               stderr_method="stacked-equations sandwich (delta method), HC0")
        else:
            diagnostics.update(mean_treated=self.means_[1], mean_control=self.means_[0],
                               stderr_method="influence function (delta method)")
        return Estimate.normal(self.ate_, self.stderr_, method=f"{type(self).__name__} ({self.kind})",
                               n=self.n_, level=self.level, diagnostics=diagnostics)


# --------------------------------------------------------------------------- helpers
def _roles(name: str, treatment: str | None, outcome: str | None, mediators: Any,
           estimand: Any) -> tuple[str, str, list[str]]:
    """Treatment, outcome and mediators from the arguments or from a front-door estimand."""
    if estimand is None:
        if treatment is None or outcome is None:
            raise EstimationError(f"{name}: give treatment= and outcome= (or estimand=)")
        meds = _as_list(mediators)
        if not meds:
            raise EstimationError(f"{name}: no mediators given; pass mediators='m' (the front-door set) "
                                  "or estimand=identify(graph, treatment, outcome)")
        return treatment, outcome, meds
    if mediators is not None:
        raise EstimationError(f"{name}: give mediators= or estimand=, not both")
    strategy = getattr(estimand, "strategy", None)
    if strategy != "frontdoor":
        raise EstimationError(f"{name}: the estimand's strategy is {strategy!r}, not 'frontdoor'; use the "
                              "estimator of that strategy (e.g. RegressionAdjustment for 'backdoor')")
    (t,), (o,) = estimand.treatment, estimand.outcome
    for role, given, wanted in (("treatment", treatment, t), ("outcome", outcome, o)):
        if given is not None and given != wanted:
            raise EstimationError(f"{name}: {role}={given!r} does not match the estimand's {wanted!r}")
    return t, o, sorted(estimand.frontdoor)


def _check_roles(name: str, treatment: str, outcome: str, meds: list[str], covs: list[str]) -> None:
    if treatment == outcome:
        raise EstimationError(f"{name}: treatment and outcome are the same column {treatment!r}")
    for role, cols in (("mediators", meds), ("covariates", covs)):
        dup = sorted({c for c in cols if cols.count(c) > 1})
        if dup:
            raise EstimationError(f"{name}: {role} lists {dup} more than once")
        for c in cols:
            if c in (treatment, outcome):
                raise EstimationError(f"{name}: {c!r} cannot be both one of the {role} and the "
                                      f"{'treatment' if c == treatment else 'outcome'}")
    both = sorted(set(meds) & set(covs))
    if both:
        raise EstimationError(f"{name}: {both} are both mediators and covariates; covariates must be "
                              "pre-treatment, mediators lie between treatment and outcome")


def _least_squares(D: np.ndarray, Y: np.ndarray, names: list[str], name: str,
                   what: str) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (columns of ``Y``) and ``(D'D)^{-1}``; raise naming a collinear column."""
    n, k = D.shape
    if n <= k:
        raise EstimationError(f"{name}: {n} rows for {k} coefficients in the {what} regression")
    Q, R = np.linalg.qr(D)
    norms = np.linalg.norm(D, axis=0)
    bad = [names[j] for j in range(k) if abs(R[j, j]) <= _COLLINEAR * max(norms[j], np.finfo(float).tiny)]
    if bad:
        raise EstimationError(f"{name}: in the {what} regression {', '.join(bad)} is constant or a linear "
                              "combination of the earlier regressors (intercept, covariates, treatment, "
                              "mediators); drop redundant columns")
    Rinv = np.linalg.inv(R)
    return Rinv @ (Q.T @ Y), Rinv @ Rinv.T


def _positivity(name: str, N: np.ndarray, Ncx: np.ndarray, ix: int, xs: np.ndarray, ms: np.ndarray,
                cs: np.ndarray, treatment: str, meds: list[str], covs: list[str]) -> None:
    """Every cell the formula reads for treatment level ``xs[ix]`` has data."""
    def where(c: int) -> str:
        cells = ", ".join(f"{v}={u:g}" for v, u in zip(covs, cs[c], strict=True))
        return f" in the stratum {cells}" if covs else ""

    empty_c = np.flatnonzero(Ncx[:, ix] == 0)
    if len(empty_c):
        raise EstimationError(f"{name}: no units with {treatment}={xs[ix]:g}{where(int(empty_c[0]))}, so "
                              f"P(mediators | {treatment}) is undefined there; coarsen the covariates")
    need = (N[:, ix, :] > 0)[:, None, :] & (Ncx > 0)[:, :, None]   # (c, x', m) the formula uses
    hole = np.argwhere(need & (N == 0))
    if len(hole):
        c, x2, m = hole[0]
        med = ", ".join(f"{v}={u:g}" for v, u in zip(meds, ms[m], strict=True))
        raise EstimationError(f"{name}: no units with {med} and {treatment}={xs[x2]:g}{where(int(c))} "
                              f"({len(hole)} such empty cells), so E[outcome | mediators, {treatment}] is "
                              "undefined where the front-door formula needs it; the plug-in needs discrete "
                              "mediators seen under every treatment level — discretise them or use "
                              "kind='linear'")
