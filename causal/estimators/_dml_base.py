"""The shared plumbing of double ML (:mod:`causal.estimators.dml`).

Validation of settings and nuisance models, the fold splits and their
repetitions (with the median rule of Chernozhukov et al. 2018, Section 3.4),
the validated arrays of a fit (:class:`_Data`), cross-fitted residuals
(:class:`_Residualiser`, the base of :class:`~causal.estimators.dml.LinearDML`
and :class:`~causal.estimators.dml.NonParamDML`), the linear final stage and
the aggregation of repeated estimates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators._learner_base import _controller, modifier_matrix
from causal.estimators._overlap import overlap_diagnostics
from causal.estimators.base import BaseEstimator, Estimate, column_arrays
from causal.estimators.nuisance import _fit_propensity, _fit_regressor, _proba

__all__: list[str] = []

_ADVICE = ("the effect is identified only where the treatment still varies given the covariates: restrict "
           "the population or the covariates, or target the ATT")


# --------------------------------------------------------------------------- shared plumbing
def _one_thread() -> Any:
    """A context in which OpenMP and BLAS run on one thread (spinning threads starve a busy machine);
    the loaded libraries are scanned once per process (see ``_learner_base._controller``)."""
    return _controller().limit(limits=1)


def _int_setting(value: Any, name: str, what: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise EstimationError(f"{name}: {what} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_level(level: Any, name: str) -> float:
    if isinstance(level, bool) or not (isinstance(level, float | int) and 0 < level < 1):
        raise EstimationError(f"{name}: level must be in (0, 1), got {level!r}")
    return float(level)


def _check_model(model: Any, role: str, name: str, proba: bool = False) -> None:
    """A nuisance must be a scikit-learn style model: ``fit`` and ``predict`` (``predict_proba``)."""
    if model is None:
        return
    need = ("fit", "predict_proba") if proba else ("fit", "predict")
    missing = [m for m in need if not callable(getattr(model, m, None))]
    if missing:
        raise EstimationError(f"{name}: {role} {model!r} has no {' or '.join(missing)}; pass a scikit-learn "
                              f"{'classifier' if proba else 'regressor'} (e.g. "
                              f"{'LogisticRegression()' if proba else 'HistGradientBoostingRegressor()'})")


def _names(cols: str | Sequence[str] | None) -> list[str]:
    return [cols] if isinstance(cols, str) else list(cols or [])


def _repeat_seeds(random_state: Any, repeats: int) -> list[Any]:
    """One seed per repetition: ``random_state`` itself first, then seeds derived from it."""
    seed = random_state
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**32))
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        derived = [int(np.random.SeedSequence([int(seed), k]).generate_state(1)[0])
                   for k in range(1, repeats)]
        return [int(seed), *derived]
    return [seed] * repeats  # None (NumPy's global state) or a RandomState, which advances between splits


def _splits(n: int, k: int, seed: Any, t: np.ndarray | None,
            name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold

    splits = list(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.empty((n, 1))))
    if t is not None:
        for train, _ in splits:
            n1 = int(t[train].sum())
            if min(n1, len(train) - n1) < 2:
                raise EstimationError(f"{name}: a cross-fitting training fold has fewer than two treated or "
                                      "two control units; use fewer folds or more data")
    return splits


def _median_rule(values: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chernozhukov et al. (2018, Section 3.4): the median estimate over ``K`` splits and the
    median of ``cov_k + d_k d_k'`` with ``d_k = value_k - median`` (element by element).

    >>> v, c = _median_rule(np.array([[1.0], [2.0], [4.0]]), np.full((3, 1, 1), 0.25))
    >>> float(v[0]), float(c[0, 0])
    (2.0, 1.25)
    """
    med = np.median(values, axis=0)
    d = values - med
    return med, np.median(covs + d[:, :, None] * d[:, None, :], axis=0)


class _Data:
    """The validated arrays of one fit: outcome, treatment, nuisance input, effect modifiers."""

    def __init__(self, data: Any, name: str, treatment: str, outcome: str, covariates: Any,
                 effect_modifiers: Any, folds: int) -> None:
        covs, mods = _names(covariates), _names(effect_modifiers)
        arrays = column_arrays(data, estimator=name, treatment=treatment, outcome=outcome, covariates=covs,
                               effect_modifiers=mods)
        for role, col in (("treatment", treatment), ("outcome", outcome)):
            if col in covs or col in mods:
                raise EstimationError(f"{name}: the {role} {col!r} is also listed as a covariate or effect "
                                      f"modifier; drop it from those")
        if treatment == outcome:
            raise EstimationError(f"{name}: the treatment and the outcome are the same column {treatment!r}")
        inputs = list(dict.fromkeys(covs + mods))
        if not inputs:
            raise EstimationError(f"{name}: covariates (or effect_modifiers) are required: double ML "
                                  "residualises the outcome and the treatment on them; for a randomised "
                                  "experiment without covariates use DifferenceInMeans")
        self.y, self.t = arrays[outcome], arrays[treatment]
        self.n = len(self.y)
        if np.ptp(self.t) == 0:
            raise EstimationError(f"{name}: the treatment {treatment!r} is constant ({self.t[0]:g}) — there "
                                  "is no contrast to estimate")
        if folds > self.n:
            raise EstimationError(f"{name}: folds={folds} but only {self.n} units; use at most {self.n} "
                                  "folds")
        self.Z = np.column_stack([arrays[c] for c in inputs])
        self.X = np.column_stack([arrays[c] for c in mods]) if mods else np.empty((self.n, 0))
        self.binary = bool(np.all((self.t == 0) | (self.t == 1)))
        self.modifiers = mods


#: The effect modifiers of effect(X): one implementation with the meta-learners.
_modifier_rows = modifier_matrix


class _Residualiser(BaseEstimator):
    """Cross-fitted residuals ``Y - l(Z)`` and ``T - m(Z)`` on the nuisance input ``Z``."""

    def cate(self, data: pd.DataFrame) -> np.ndarray:
        """The CATE at the rows of ``data`` (the protocol's name for ``effect``)."""
        return self.effect(data)

    def _settings(self) -> tuple[str, int, int]:
        name = type(self).__name__
        folds = _int_setting(self.folds, name, "folds (the number of cross-fitting folds)", 2)
        repeats = _int_setting(self.repeats, name, "repeats (the number of fold splits)", 1)
        ow = self.overlap_warn
        if isinstance(ow, bool) or not (isinstance(ow, float | int) and 0 <= ow < 0.5):
            raise EstimationError(f"{name}: overlap_warn must be in [0, 0.5), got {ow!r}")
        return name, folds, repeats

    def _treatment_is_proba(self, d: _Data, name: str) -> bool:
        classifier = self.model_t is not None and hasattr(self.model_t, "predict_proba")
        if not d.binary and classifier:
            raise EstimationError(f"{name}: model_t {self.model_t!r} is a classifier but the treatment is "
                                  "not binary 0/1; pass a regressor")
        proba = d.binary and (self.model_t is None or classifier)
        _check_model(self.model_y, "model_y", name)
        _check_model(self.model_t, "model_t", name, proba=proba)
        return proba

    def _residuals(self, d: _Data, splits: list[tuple[np.ndarray, np.ndarray]], seed: Any, proba: bool,
                   name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Out-of-fold ``Y - l``, ``T - m`` and the predictions ``m`` (propensities when ``proba``)."""
        model_seed = seed if isinstance(seed, int | np.integer) and not isinstance(seed, bool) else None
        ly, mt = np.empty(d.n), np.empty(d.n)
        for train, test in splits:
            Ztr, Zte = d.Z[train], d.Z[test]
            ly[test] = np.asarray(_fit_regressor(self.model_y, Ztr, d.y[train], model_seed).predict(Zte),
                                  dtype=float).ravel()
            if proba:
                model, _ = _fit_propensity(self.model_t, Ztr, d.t[train], name, model_seed)
                mt[test] = _proba(model, Zte)
            else:
                mt[test] = np.asarray(_fit_regressor(self.model_t, Ztr, d.t[train], model_seed).predict(Zte),
                                      dtype=float).ravel()
        ry, rt = d.y - ly, d.t - mt
        if not (np.isfinite(ry).all() and np.isfinite(rt).all()):
            raise EstimationError(f"{name}: a nuisance model predicted non-finite values")
        if rt @ rt <= 1e-12 * d.n * max(float(np.var(d.t)), 1e-300):
            raise EstimationError(f"{name}: the treatment residuals vanish — the treatment is (nearly) a "
                                  f"function of the covariates, so its effect is not identified; {_ADVICE}")
        return ry, rt, mt

    def _fit_residuals(self, data: Any, treatment: str, outcome: str, covariates: Any,
                       effect_modifiers: Any) -> tuple[_Data, list[tuple[np.ndarray, np.ndarray]], dict]:
        """Validate, then residualise once per repetition; store ``y_res_``, ``t_res_`` (repeats x n)."""
        name, folds, repeats = self._settings()
        d = _Data(data, name, treatment, outcome, covariates, effect_modifiers, folds)
        proba = self._treatment_is_proba(d, name)
        runs = []
        diag: dict[str, Any] = {}
        with _one_thread():
            for seed in _repeat_seeds(self.random_state, repeats):
                splits = _splits(d.n, folds, seed, d.t if proba else None, name)
                ry, rt, mt = self._residuals(d, splits, seed, proba, name)
                if proba and not diag:
                    diag = overlap_diagnostics(mt, d.t, name, float(self.overlap_warn), _ADVICE, stacklevel=4)
                runs.append((ry, rt))
        self.y_res_ = np.array([r[0] for r in runs])
        self.t_res_ = np.array([r[1] for r in runs])
        self.effect_modifiers_ = d.modifiers
        self.n_ = d.n
        base = {"folds": folds, "repeats": repeats,
                "treatment_model": "probability" if proba else "regression"}
        return d, runs, {**diag, **base}


def _linear_final(ry: np.ndarray, rt: np.ndarray, D: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``beta`` solving ``mean((ry - rt D beta) rt D) = 0`` and its influence ``J^-1 rt D_i e_i`` (n x p)."""
    n = len(ry)
    R = rt[:, None] * D
    J = R.T @ R / n
    if np.linalg.matrix_rank(J) < J.shape[0]:
        raise EstimationError(f"{name}: the final stage is rank deficient: an effect modifier is constant or "
                              "collinear with the others; drop it")
    beta = np.linalg.solve(J, R.T @ ry / n)
    IF = np.linalg.solve(J, (R * (ry - R @ beta)[:, None]).T).T
    return beta, IF


def _mean_effect(IF: np.ndarray, D: np.ndarray, theta: np.ndarray, rows: np.ndarray) -> tuple[float, float]:
    """The mean of ``theta`` over ``rows`` and its standard error: ``beta``'s influence through the
    mean design row, plus the variation of ``theta`` across the units averaged over."""
    share = rows.mean()
    value = float(theta[rows].mean())
    psi = IF @ D[rows].mean(axis=0) + rows * (theta - value) / share
    return value, float(np.sqrt(psi @ psi) / len(psi))


def _aggregate(runs: np.ndarray) -> tuple[float, float]:
    """``(value, stderr)`` of the median rule over the rows ``(value_k, stderr_k)``."""
    value, var = _median_rule(runs[:, :1], (runs[:, 1] ** 2)[:, None, None])
    return float(value[0]), float(np.sqrt(var[0, 0]))


def _estimate(est: Any, target: str) -> Estimate:
    est._check_fitted()
    value, se = est.results_[target]
    method = type(est).__name__ + (" (ATT)" if target == "att" else "")
    return Estimate.normal(value, se, method=method, n=est.n_, level=float(est.level),
                           diagnostics=dict(est.diagnostics_))
