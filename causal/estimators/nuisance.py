"""Nuisance models of the weighting and matching estimators: the default propensity, seeded clones,
fast fits of the default logistic model, and the GLM designs behind the M-estimation correction.

The estimators of :mod:`causal.estimators.weighting` (IPW, AIPW), :mod:`causal.estimators.matching`,
:mod:`causal.estimators.simple`, the double ML estimators and the causal forest fit their nuisance
models here, so that every one clones, seeds and checks a user's model the same way.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from causal.errors import EstimationError
from causal.estimators._fastfit import gram, matmul, newton_logistic, tmatmul

__all__ = ["default_propensity", "seeded_clone", "check_model"]


def default_propensity() -> Pipeline:
    """The default propensity model: standardised covariates, logistic regression with ``C=1e6``.

    ``C=1e6`` makes the L2 penalty negligible — nearly the unpenalised maximum
    likelihood fit — while keeping the solver finite on near-separated data;
    standardising helps the solver and does not change the fitted
    probabilities of an (effectively) unpenalised fit.

    >>> default_propensity()[-1].C
    1000000.0
    """
    return make_pipeline(StandardScaler(), LogisticRegression(C=1e6, solver="newton-cholesky", max_iter=1000))


def seeded_clone(template: Any, seed: int | None = 0) -> Any:
    """A clone of a scikit-learn model whose unset ``random_state`` parameters are ``seed``.

    Nuisance models with internal randomness (forests, boosting, ``solver="sag"``) then give the
    same fit on the same data, instead of drawing from NumPy's global random state. Parameters the
    user set are kept; ``seed=None`` only clones. Nested models (pipeline steps) are seeded too.

    >>> from sklearn.ensemble import RandomForestRegressor
    >>> seeded_clone(RandomForestRegressor()).random_state
    0
    >>> seeded_clone(RandomForestRegressor(random_state=3)).random_state
    3
    """
    model = clone(template)
    if seed is not None and hasattr(model, "get_params"):
        unset = {k: seed for k, v in model.get_params(deep=True).items()
                 if (k == "random_state" or k.endswith("__random_state")) and v is None}
        if unset:
            model.set_params(**unset)
    return model


def _fit_propensity(template: Any, X: np.ndarray, t: np.ndarray, name: str,
                    seed: int | None = 0) -> tuple[Any, np.ndarray]:
    """Fit a clone of the classifier; return it and its fitted ``P(T = 1 | X)``."""
    model, e, _ = _fit_propensity_input(template, X, t, name, seed)
    return model, e


def _fit_propensity_input(template: Any, X: np.ndarray, t: np.ndarray,
                          name: str, seed: int | None = 0) -> tuple[Any, np.ndarray, Any]:
    """As :func:`_fit_propensity`, also returning the input of the model's final step.

    For a pipeline that input is the transformed design (transformed once, for both the fitted
    probabilities and :func:`_glm_design`); for any other model it is ``X`` itself. The default model
    (``template=None``) is fitted by :func:`_fit_default_propensity` where it can be, and the input is
    then the whole :class:`_Design`.
    """
    if template is None:
        fast = _fit_default_propensity(X, t, name)
        if fast is not None:
            return fast
    model = default_propensity() if template is None else seeded_clone(template, seed)
    if not hasattr(model, "predict_proba"):
        raise EstimationError(f"{name}: the propensity model {type(model).__name__} has no predict_proba; "
                              "pass a probabilistic classifier (e.g. LogisticRegression)")
    model.fit(X, t.astype(np.int64))
    if isinstance(model, Pipeline) and len(model.steps) > 1 and not isinstance(model[-1], str):
        Z = model[:-1].transform(X)
        return model, _proba(model[-1], Z), Z
    return model, _proba(model, X), X


class _Design(NamedTuple):
    """The design of a fitted GLM nuisance and its ridge diagonal, as :func:`_glm_design` returns them."""

    Phi: np.ndarray
    ridge: np.ndarray


#: :func:`_fit_default_propensity` leaves to scikit-learn fits with a propensity this close to 0 or 1
#: (a linear index beyond about +-30): near separation, where the estimators' errors and warnings are
#: those of scikit-learn's fit.
_SEPARATION = 1e-13


def _fit_default_propensity(X: np.ndarray, t: np.ndarray,
                            name: str = "propensity") -> tuple[Pipeline, np.ndarray, _Design] | None:
    """:func:`default_propensity` fitted by Newton's method; ``None`` leaves the fit to scikit-learn.

    The same model: covariates standardised as ``StandardScaler`` does (mean, standard deviation with
    ``ddof=0``), then the objective of the pipeline's ``LogisticRegression`` (its ``C`` as the ridge
    on the slopes, its ``tol``) minimised by :func:`~causal.estimators._fastfit.newton_logistic`,
    which takes the steps of scikit-learn's ``newton-cholesky`` solver and stops where it stops: the
    fitted probabilities agree with scikit-learn's to rounding, in a fraction of the time (one
    blocked pass over the transposed design per step). The returned pipeline is an ordinary fitted
    scikit-learn pipeline (``predict_proba``, ``[-1].coef_``, ...); the design
    ``[1, standardised X]`` is returned too, for the sandwich.

    ``None`` — a (nearly) constant covariate, an ill-conditioned or non-converging fit, or fitted
    propensities within :data:`_SEPARATION` of 0 or 1 — leaves the fit to scikit-learn, whose
    warnings and whose separation error the estimators then report as before.
    """
    model = default_propensity()
    scaler, logit = model[0], model[-1]
    n, p = X.shape
    mean = X.mean(axis=0)
    PhiT = np.empty((p + 1, n))  # the transposed design [1, standardised X]
    PhiT[0] = 1.0
    Z = PhiT[1:]
    np.subtract(X.T, mean[:, None], out=Z)
    with np.errstate(over="ignore", invalid="ignore"):
        var = np.einsum("ij,ij->i", Z, Z) / n
    if not np.isfinite(var).all():
        bad = [int(j) for j in np.flatnonzero(~np.isfinite(var))]
        raise EstimationError(f"{name}: covariate column(s) {bad} (0-based) are too large to standardise "
                              "(their squared deviations overflow float64, |x| above ~1e154); rescale them")
    scale = np.sqrt(var)
    if not ((scale > 0) & (scale > 1e-7 * np.abs(mean))).all():
        return None
    Z /= scale[:, None]
    ridge = np.zeros(p + 1)
    ridge[1:] = 1.0 / logit.C
    fit = newton_logistic(PhiT, t, ridge, tol=logit.tol, max_iter=min(logit.max_iter, 100))
    if fit is None:
        return None
    e = fit.proba
    if not (e.min() >= _SEPARATION and e.max() <= 1 - _SEPARATION):
        return None
    scaler.mean_, scaler.var_, scaler.scale_ = mean, var, scale
    scaler.n_samples_seen_, scaler.n_features_in_ = np.float64(n), p
    logit.classes_ = np.array([0, 1])
    logit.coef_, logit.intercept_ = fit.coef[None, 1:].copy(), fit.coef[:1].copy()
    logit.n_iter_, logit.n_features_in_ = np.array([fit.n_iter], dtype=np.int32), p
    return model, e, _Design(PhiT.T, ridge)


def _proba(model: Any, X: np.ndarray) -> np.ndarray:
    col = int(np.flatnonzero(np.asarray(model.classes_) == 1)[0])
    return np.asarray(model.predict_proba(X), dtype=float)[:, col]


def _fit_regressor(template: Any, X: np.ndarray, y: np.ndarray, seed: int | None = 0) -> Any:
    model = LinearRegression() if template is None else seeded_clone(template, seed)
    return model.fit(X, y)


def _glm_design(model: Any, X: np.ndarray, kind: str,
                final_input: Any = None) -> tuple[np.ndarray, np.ndarray] | None:
    """``(Phi, ridge)`` of a fitted GLM nuisance whose estimation the sandwich can account for.

    ``Phi`` is the design the final step sees (intercept first), ``ridge`` the
    diagonal of its L2 penalty in sum-of-losses units. ``None`` for any other
    model, which is then treated as known. ``final_input``, when given, is that
    design already transformed (from :func:`_fit_propensity_input`), or the
    whole :class:`_Design` of a default propensity model fitted by
    :func:`_fit_default_propensity`.
    """
    if isinstance(final_input, _Design):  # already built by _fit_default_propensity
        return final_input.Phi, final_input.ridge
    pre, final = (model[:-1], model[-1]) if isinstance(model, Pipeline) else (None, model)
    if pre is not None and len(pre.steps) == 0:
        pre = None
    if kind == "logistic":
        if type(final) is not LogisticRegression or final.class_weight is not None:
            return None
        penalty = final.get_params().get("penalty", "deprecated")
        l1_ratio = final.l1_ratio or 0.0
        l2 = penalty == "l2" or (penalty in ("deprecated", "elasticnet") and l1_ratio == 0)
        if penalty is not None and not l2:
            return None
        strength = 0.0 if penalty is None or np.isinf(final.C) else 1.0 / final.C
    else:
        if type(final) is LinearRegression and not final.positive:
            strength = 0.0
        elif type(final) is Ridge and np.ndim(final.alpha) == 0 and not final.positive:
            strength = float(final.alpha)
        else:
            return None
    Z = final_input if final_input is not None else X if pre is None else pre.transform(X)
    Z = Z.toarray() if sparse.issparse(Z) else np.asarray(Z, dtype=float)
    if final.fit_intercept:
        ones = np.empty((len(Z), Z.shape[1] + 1))
        ones[:, 0] = 1.0
        ones[:, 1:] = Z
        Z = ones
    ridge = np.full(Z.shape[1], strength)
    if final.fit_intercept:
        ridge[0] = 0.0
    return Z, ridge


def _correction(design: tuple[np.ndarray, np.ndarray], dpsi: np.ndarray, dmean: np.ndarray,
                hess_w: np.ndarray, resid: np.ndarray) -> np.ndarray:
    """The M-estimation term ``A_tb H^{-1} s_i`` added to the influence function.

    For a GLM nuisance ``m_i = g(Phi_i' b)`` with score ``s_i = Phi_i resid_i``
    (minus the ridge term) and Hessian ``H = Phi' diag(hess_w) Phi / n + R / n``,
    ``A_tb = mean(dpsi_i dmean_i Phi_i)`` where ``dpsi = d psi / d m`` and
    ``dmean = d m / d eta``. ``dpsi`` has one column per estimand.
    """
    Phi, ridge = design
    n = len(Phi)
    PhiT = Phi.T  # the products with the tall design run in blocks (see causal.estimators._fastfit)
    G = tmatmul(PhiT, dpsi * dmean[:, None]) / n
    H = (gram(PhiT, hess_w) + np.diag(ridge)) / n
    C = np.linalg.lstsq(H, G, rcond=None)[0]
    out = matmul(C.T, PhiT)
    out *= resid
    return out.T


def check_model(template: Any, role: str, name: str, *, proba: bool = False) -> None:
    """Refuse a nuisance model that is not a scikit-learn estimator fit for its role.

    ``role`` names it in the message (``"outcome"``, ``"propensity"``); ``proba`` asks for
    ``predict_proba`` (a classifier whose probabilities the estimator divides by).

    Raises
    ------
    EstimationError
        No ``fit``/``predict``, no ``predict_proba`` where needed, or no ``get_params`` (it cannot be
        cloned).
    """
    if not (hasattr(template, "fit") and hasattr(template, "predict")):
        raise EstimationError(f"{name}: the {role} model {template!r} has no fit/predict; pass a "
                              "scikit-learn estimator")
    if proba and not hasattr(template, "predict_proba"):
        raise EstimationError(f"{name}: the {role} model {type(template).__name__} has no predict_proba; "
                              "pass a probabilistic classifier (e.g. LogisticRegression)")
    if not hasattr(template, "get_params"):
        raise EstimationError(f"{name}: the {role} model {type(template).__name__} cannot be cloned (no "
                              "get_params); pass a scikit-learn estimator")
