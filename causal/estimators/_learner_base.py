"""The shared machinery of the meta-learners (:mod:`causal.estimators.learners`).

Default models, seeded cloning and the checks of a nuisance model's methods,
single-threaded fits and predictions, the overlap check of propensities, and
the base classes: :class:`_MetaLearner` (validation, treatment levels, folds,
``effect``) and the settings of the learners without (:class:`_OutcomeLearner`)
and with (:class:`_PropensityLearner`) a propensity model.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import ThreadpoolController

from causal.errors import EstimationError
from causal.estimators._overlap import OverlapWarning
from causal.estimators.base import BaseEstimator, Estimate, check_columns, column_arrays
from causal.estimators.multiarm import MAX_LEVELS, treatment_levels
from causal.estimators.nuisance import check_model, seeded_clone

__all__ = ["default_regressor", "default_classifier"]


def default_regressor() -> HistGradientBoostingRegressor:
    """The default outcome and final model: regularised histogram gradient boosting, ``random_state=0``.

    Small trees (8 leaves, at least 50 units each), a slow learning rate, an L2
    penalty and early stopping on a 10 % validation split: the final stages
    regress noisy pseudo-outcomes (a DR pseudo-outcome can have ten times the
    outcome's spread where propensities are small), which scikit-learn's
    default boosting (31 leaves, no early stopping below 10,000 units) fits
    into noise — on the healthcare scenario (4,000 logged units) it gave the
    DR-learner a PEHE of 7.6 days against 1.5 for a constant effect.

    >>> default_regressor().random_state
    0
    """
    return HistGradientBoostingRegressor(max_iter=200, max_leaf_nodes=8, learning_rate=0.05,
                                         min_samples_leaf=50, l2_regularization=1.0, early_stopping=True,
                                         random_state=0)


def default_classifier() -> Pipeline:
    """The default propensity model: standardised features, logistic regression (multinomial for
    several levels) with a weak penalty ``C=1e3``.

    >>> default_classifier()[-1].C
    1000.0
    """
    return make_pipeline(StandardScaler(), LogisticRegression(C=1e3, max_iter=2000))


# --------------------------------------------------------------------------- helpers
def _names(cols: Sequence[str] | str | None) -> list[str]:
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


def _model(template: Any, default: Any, role: str, name: str, seed: int | None, *,
           proba: bool = False, weights: bool = False) -> Any:
    """A seeded clone of ``template`` (or ``default()``), checked for the methods its role needs."""
    if template is None:  # the defaults carry random_state=0; a fit's own seed replaces it
        model = default()
        if seed is not None:
            model.set_params(**{k: seed for k in model.get_params(deep=True)
                                if k == "random_state" or k.endswith("__random_state")})
        return model
    check_model(template, role, name, proba=proba)
    try:
        model = seeded_clone(template, seed)
    except TypeError as exc:
        raise EstimationError(f"{name}: the {role} model cannot be cloned ({exc}); pass a scikit-learn "
                              "estimator") from None
    if weights:
        fit = model[-1].fit if isinstance(model, Pipeline) else model.fit
        if "sample_weight" not in inspect.signature(fit).parameters:
            raise EstimationError(f"{name}: the {role} model {type(model).__name__} does not accept "
                                  "sample_weight, which the R-learner's weighted loss needs")
    return model


@functools.cache
def _controller() -> ThreadpoolController:
    """One scan of the loaded thread-pool libraries per process (after scikit-learn's OpenMP runtime
    is loaded by this module's imports): ``threadpool_limits`` rescans them on every call, which
    took about 50 ms — more than fitting a linear model on a few thousand units."""
    return ThreadpoolController()


def _one_thread() -> Any:
    """A context in which OpenMP runs on one thread (spinning threads slow boosting on a busy machine)."""
    return _controller().limit(limits=1, user_api="openmp")


def _fit(model: Any, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> Any:
    with _one_thread():
        if sample_weight is None:
            return model.fit(X, y)
        if isinstance(model, Pipeline):
            return model.fit(X, y, **{f"{model.steps[-1][0]}__sample_weight": sample_weight})
        return model.fit(X, y, sample_weight=sample_weight)


def _predict(model: Any, X: np.ndarray) -> np.ndarray:
    with _one_thread():
        return np.asarray(model.predict(X), dtype=float).reshape(len(X))


def _proba(model: Any, X: np.ndarray, k: int) -> np.ndarray:
    """``P(T = code | X)`` for the codes ``0..k-1`` (columns of classes the model never saw are 0)."""
    with _one_thread():
        p = np.asarray(model.predict_proba(X), dtype=float)
    out = np.zeros((len(X), k))
    out[:, np.asarray(model.classes_, dtype=np.int64)] = p
    return out


def _overlap(e: np.ndarray, name: str, warn_at: float, clip: float | None) -> int:
    """Raise on (numerically) zero propensities, warn below ``warn_at``; return how many units warned.

    ``e`` holds, per unit, the propensities of the arms compared (columns). ``clip=None``: the
    learner uses the propensity for this diagnostic only (S and T learners).
    """
    low = e.min(axis=1)
    zero = int((low < 1e-12).sum())
    if zero:
        raise EstimationError(f"{name}: {zero} unit(s) have a propensity of 0 for an arm compared: the "
                              "features (nearly) perfectly separate the arms, so the effect is not "
                              "identified there; drop or coarsen covariates, or restrict the data to the "
                              "overlap region")
    out = int((low < warn_at).sum())
    if out:
        used = ("the outcome models extrapolate to them from the other arm" if clip is None
                else f"their scores use the propensity clipped to {clip:g}")
        warnings.warn(f"{name}: {out} unit(s) have a propensity below {warn_at:g} for an arm compared "
                      f"(smallest {low.min():.2g}); {used}. "
                      "Overlap is poor there: consider restricting the data to the overlap region",
                      OverlapWarning, stacklevel=3)
    return out


def arm_design(Z: np.ndarray, t: np.ndarray | None, control: int, k: int) -> np.ndarray:
    """``[Z, 1{t = j} for each level code j != control]``: the features of a joint outcome model.

    ``t=None`` gives the indicator columns as zeros (the control arm), for the caller to set in place.
    The S-learner's outcome model and the DR-learner's joint one (``outcome_fit="joint"``) see it.
    """
    n, p = Z.shape
    D = np.zeros((n, p + k - 1))
    D[:, :p] = Z
    if t is not None:
        others = np.array([j for j in range(k) if j != control])
        D[:, p:] = t[:, None] == others[None, :]
    return D


# --------------------------------------------------------------------------- the shared base

def modifier_matrix(est: Any, X: Any) -> np.ndarray:
    """The effect modifiers at which a fitted CATE estimator is asked its effect, as an ``(n, k)`` array.

    ``X`` is a data frame holding the modifiers by name (any column order), or an array with them in
    the order given to ``fit``. One implementation for the meta-learners and double ML.
    """
    est._check_fitted()
    name = type(est).__name__
    mods = est.effect_modifiers_
    if not mods:
        raise EstimationError(f"{name} was fitted without effect_modifiers, so effect(X) has nothing to vary "
                              "with; fit(..., effect_modifiers=[...]) or use ate() for the average effect")
    if isinstance(X, pd.DataFrame):
        arrays = column_arrays(X, estimator=name, effect_modifiers=mods)
        return np.column_stack([arrays[c] for c in mods])
    M = np.asarray(X, dtype=float)
    if M.ndim == 1 and len(mods) == 1:
        M = M[:, None]
    if M.ndim != 2 or M.shape[1] != len(mods):
        raise EstimationError(f"{name}: effect(X) needs the {len(mods)} effect modifiers {mods} as columns "
                              f"(a data frame by name, or an array of shape (n, {len(mods)})); got shape "
                              f"{M.shape}")
    if not np.isfinite(M).all():
        raise EstimationError(f"{name}: effect(X) got missing or infinite effect-modifier values")
    return M


class _MetaLearner(BaseEstimator):
    """Validation, folds, treatment levels and the ``effect`` plumbing of every meta-learner."""

    _uses_folds = True
    #: ``ate()`` gives an estimate with an interval (only the DR-learner's does: AIPW scores); read by
    #: :func:`~causal.estimators.checks.check_estimator`, which checks the others on ``effect(X)``.
    ate_interval: ClassVar[bool] = False

    def _overlap_check(self, Z: np.ndarray, t: np.ndarray, name: str) -> int:
        """The overlap diagnostic of learners that use no propensity (S, T) or one on the effect
        modifiers only (X): ``default_classifier`` fitted on all features, in-sample; raise where a
        level compared has a propensity of (numerically) 0, warn below ``overlap_warn``."""
        model = _fit(_model(None, default_classifier, "propensity", name, self._seed()), Z, t)
        e = _proba(model, Z, len(self.levels_))
        return _overlap(e, name, float(self.overlap_warn), getattr(self, "clip", None))

    def _check_settings(self, name: str, n: int) -> None:
        k = self.folds
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise EstimationError(f"{name}: folds must be an integer >= 2, got {k!r}")
        if k < 2:
            raise EstimationError(f"{name}: folds must be at least 2 (cross-fitting needs a held-out fold), "
                                  f"got {k}")
        if k > n:
            raise EstimationError(f"{name}: folds={k} but only {n} units; use fewer folds")
        clip = getattr(self, "clip", 0.0)
        if isinstance(clip, bool) or not (isinstance(clip, float | int) and 0 <= clip < 0.5):
            raise EstimationError(f"{name}: clip must be a number in [0, 0.5), got {clip!r}")
        warn = getattr(self, "overlap_warn", 0.0)
        if isinstance(warn, bool) or not (isinstance(warn, float | int) and 0 <= warn < 0.5):
            raise EstimationError(f"{name}: overlap_warn must be a number in [0, 0.5), got {warn!r}")
        if not (isinstance(self.level, float | int) and 0 < self.level < 1):
            raise EstimationError(f"{name}: level must be in (0, 1), got {self.level!r}")

    def _prepare(self, data: pd.DataFrame, treatment: str, outcome: str,
                 covariates: Sequence[str] | str | None,
                 effect_modifiers: Sequence[str] | str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        name = type(self).__name__
        mods, covs = _names(effect_modifiers), _names(covariates)
        frame = check_columns(data, estimator=name, treatment=treatment, outcome=outcome, covariates=covs,
                              effect_modifiers=mods)
        for role, col in (("treatment", treatment), ("outcome", outcome)):
            if col in mods or col in covs:
                raise EstimationError(f"{name}: the {role} {col!r} is also listed as a covariate or effect "
                                      f"modifier; drop it from those")
        features = mods + [c for c in covs if c not in mods]
        if not features:
            raise EstimationError(f"{name}: give covariates and/or effect_modifiers: the nuisance models "
                                  "need features")
        self._check_settings(name, len(frame))
        t_raw = frame[treatment].to_numpy(dtype=float)
        levels = treatment_levels(t_raw)
        if len(levels) < 2:
            raise EstimationError(f"{name}: treatment {treatment!r} is constant ({levels[0]}); there is no "
                                  "contrast to estimate")
        if len(levels) > MAX_LEVELS or not all(float(v).is_integer() for v in levels):
            raise EstimationError(f"{name}: treatment {treatment!r} has {len(levels)} distinct values "
                                  f"({', '.join(map(str, levels[:5]))}, ...); meta-learners take a discrete "
                                  f"treatment with at most {MAX_LEVELS} integer levels")
        if self.control is None:
            control = levels[0]
        else:
            match = [v for v in levels if float(v) == float(self.control)]
            if not match:
                raise EstimationError(f"{name}: control={self.control!r} is not a level of {treatment!r} "
                                      f"(levels: {', '.join(map(str, levels))})")
            control = match[0]
        t = np.searchsorted(np.asarray(levels, dtype=float), t_raw)
        counts = np.bincount(t, minlength=len(levels))
        if counts.min() < self.folds:
            small = ", ".join(f"{levels[j]} ({counts[j]})" for j in range(len(levels))
                              if counts[j] < self.folds)
            raise EstimationError(f"{name}: every treatment level needs at least folds={self.folds} units; "
                                  f"{small}")
        self.levels_ = levels
        self.control_ = control
        self.contrasts_ = [v for v in levels if v != control]
        self.effect_modifiers_, self.covariates_, self.features_ = mods, covs, features
        self.n_ = len(frame)
        self.counts_ = dict(zip(levels, counts.tolist(), strict=True))
        self._c = levels.index(control)
        return frame[features].to_numpy(dtype=float), t, frame[outcome].to_numpy(dtype=float)

    def _splits(self, t: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        skf = StratifiedKFold(n_splits=int(self.folds), shuffle=True, random_state=self.random_state)
        return list(skf.split(np.empty((len(t), 1)), t))

    def _seed(self) -> int | None:
        s = self.random_state
        return int(s) if isinstance(s, int | np.integer) and not isinstance(s, bool) else None

    def _code(self, treat: Any) -> int:
        self._check_fitted()
        if treat is None:
            if len(self.contrasts_) != 1:
                raise EstimationError(f"{type(self).__name__}: the treatment has {len(self.levels_)} levels; "
                                      f"say which contrast with treat= (one of "
                                      f"{', '.join(map(str, self.contrasts_))})")
            treat = self.contrasts_[0]
        for v in self.contrasts_:
            if float(v) == float(treat):
                return self.levels_.index(v)
        raise EstimationError(f"{type(self).__name__}: treat={treat!r} is not a treated level (levels "
                              f"against control {self.control_}: {', '.join(map(str, self.contrasts_))})")

    def _modifiers(self, X: Any) -> np.ndarray:
        return modifier_matrix(self, X)

    def effect(self, X: Any, treat: Any = None) -> np.ndarray:
        """The CATE ``E[Y(treat) - Y(control) | X]`` at each row of ``X``.

        ``X`` is a DataFrame with the effect-modifier columns, or an array with
        them in the order given to ``fit``; ``treat`` is needed when the
        treatment has more than two levels.
        """
        code = self._code(treat)
        return self._effect(self._modifiers(X), code)

    def cate(self, data: pd.DataFrame) -> np.ndarray:
        """The CATE at the rows of ``data`` (the protocol's name for :meth:`effect`)."""
        return self.effect(data)

    def average_effect(self, treat: Any = None) -> float:
        """The mean of the fitted per-unit effects over the fitted units: a point value, no interval."""
        code = self._code(treat)
        return float(np.mean(self.unit_effects_[code]))

    def effect_interval(self, X: Any, alpha: float = 0.05,
                        treat: Any = None) -> tuple[np.ndarray, np.ndarray]:
        raise EstimationError(f"{type(self).__name__} gives no CATE intervals; only DRLearner with a linear "
                              "final model (final=LinearRegression()) does (heteroskedasticity-robust)")

    def ate(self, treat: Any = None) -> Estimate:
        raise EstimationError(f"{type(self).__name__}: a plug-in average of a machine-learned CATE has no "
                              "valid "
                              "analytic interval; use DRLearner().ate() (AIPW scores), or average_effect() "
                              "for the point value")

    def att(self, treat: Any = None) -> Estimate:
        raise EstimationError(f"{type(self).__name__}: a plug-in average of a machine-learned CATE has no "
                              "valid "
                              "analytic interval; use DRLearner().att() (AIPW scores)")

    def _finish(self, X: np.ndarray, taus: dict[int, np.ndarray], direct: Any = None) -> None:
        """Store per-unit effects; fit the final projection on the modifiers where needed."""
        self.unit_effects_ = taus
        self._direct = direct
        self.final_models_ = {}
        mods = len(self.effect_modifiers_)
        if direct is None and mods:
            for code, tau in taus.items():
                model = _model(self.final, default_regressor, "final", type(self).__name__, self._seed())
                self.final_models_[code] = _fit(model, X[:, :mods], tau)
        self.fitted_ = True

    def _effect(self, Xm: np.ndarray, code: int) -> np.ndarray:
        if self._direct is not None:
            return self._direct(Xm, code)
        return _predict(self.final_models_[code], Xm)


# --------------------------------------------------------------------------- S and T
class _OutcomeLearner(_MetaLearner):
    """The settings of the learners without a propensity model (S and T)."""

    def __init__(self, outcome: Any = None, final: Any = None, folds: int = 2, overlap_warn: float = 0.01,
                 control: Any = None, random_state: int | None = 0, level: float = 0.95) -> None:
        self.outcome = outcome
        self.final = final
        self.folds = folds
        self.overlap_warn = overlap_warn
        self.control = control
        self.random_state = random_state
        self.level = level


class _PropensityLearner(_MetaLearner):
    """The settings of the learners with a propensity model (X, DR and R)."""

    def __init__(self, propensity: Any = None, outcome: Any = None, final: Any = None, folds: int = 2,
                 clip: float = 0.05, overlap_warn: float = 0.01, control: Any = None,
                 random_state: int | None = 0, level: float = 0.95) -> None:
        self.propensity = propensity
        self.outcome = outcome
        self.final = final
        self.folds = folds
        self.clip = clip
        self.overlap_warn = overlap_warn
        self.control = control
        self.random_state = random_state
        self.level = level


def _clip_check_modifiers(est: _MetaLearner) -> None:
    if not est.effect_modifiers_:
        raise EstimationError(f"{type(est).__name__}: needs effect_modifiers=[...] (the columns its final "
                              "models regress the effect on)")
