r"""Meta-learners of the conditional average treatment effect (CATE).

Under no unmeasured confounding given covariates ``W`` and effect modifiers
``X`` (the features the effect is a function of), and overlap, the CATE of a
treatment level ``a`` against a ``control`` level ``c`` is

.. math:: \tau_a(x) = E[Y(a) - Y(c) \mid X = x],

and each meta-learner turns it into ordinary supervised learning with any
scikit-learn models (Künzel et al. 2019; Nie & Wager 2021; Kennedy 2023):

* :class:`SLearner` — one outcome model ``mu(x, w, t)`` with the treatment as a
  feature; ``tau(x) = mu(x, a) - mu(x, c)``. Simple, but a regulariser that
  ignores the treatment feature shrinks the effect towards zero.
* :class:`TLearner` — one outcome model per arm; ``tau(x) = mu_a(x) - mu_c(x)``.
  The difference of two separately regularised fits can be noisy.
* :class:`XLearner` — imputes each treated unit's effect ``Y - mu_c(x)`` and
  each control's ``mu_a(x) - Y``, regresses both on ``x`` and blends them with
  the propensity ``g(x)``: ``tau = g tau_c + (1 - g) tau_a`` (Künzel et al.
  2019). Good when one arm is much smaller than the other.
* :class:`DRLearner` — regresses the doubly robust (AIPW) pseudo-outcome
  ``mu_a - mu_c + 1{T=a}(Y - mu_a)/e_a - 1{T=c}(Y - mu_c)/e_c`` on ``x``, with
  cross-fitted nuisances (Kennedy 2023). Its pseudo-outcomes' mean is the AIPW
  estimate of the ATE, so :meth:`DRLearner.ate` and :meth:`DRLearner.att` have
  influence-function intervals, and with a linear final model
  (``final=LinearRegression()``) :meth:`DRLearner.effect_interval` gives
  heteroskedasticity-robust (HC1) intervals of the best linear approximation
  of the CATE (nuisances treated as known, which cross-fitting and the
  orthogonal score justify; Semenova & Chernozhukov 2021).
* :class:`RLearner` — Robinson's residual-on-residual loss: with cross-fitted
  ``m(x) = E[Y | x]`` and ``e(x) = P(T = a | x)``, it minimises
  ``sum (Y - m - tau(x) (T - e))^2``, i.e. a regression of
  ``(Y - m) / (T - e)`` on ``x`` with weights ``(T - e)^2`` (Nie & Wager 2021);
  the final model must accept ``sample_weight``.

Multi-valued treatments: every level other than ``control`` (default: the
lowest) gets its own contrast. S and T learners share one fit across arms; DR
uses the generalized propensity over all levels; X and R learners work on the
units of the two arms compared (``tau_a(x)`` is the same function of ``x`` in
that subpopulation under ignorability given ``x``, ``w``).

Nuisance models see ``effect_modifiers + covariates`` (columns in that order,
without duplicates), final models see ``effect_modifiers`` only; every model is
cloned, and unset ``random_state`` parameters are set to ``random_state``
(default 0), as are the folds (``StratifiedKFold(shuffle=True)`` on the
treatment). When there are covariates beyond the effect modifiers, the S and T
learners project their per-unit effects ``mu(x, w, a) - mu(x, w, c)`` on
``x`` with the final model. OpenMP threads of the fits are limited to one
(``threadpoolctl``): spinning threads on a busy machine slow boosting many-fold.

Propensity clipping: the DR, X and R learners clip propensities to
``[clip, 1 - clip]`` (default 0.05, so no residual is weighted by more than
20; ``diagnostics_["n_clipped"]`` counts the clipped units). The default is
coarser than :class:`~causal.estimators.weighting.AIPW`'s 0.01 because a final
model regresses the pseudo-outcomes themselves: on the healthcare scenario
(``hidden_confounder=False``, 8,000 logged units, true propensities at least
0.033) the misspecified logistic propensity extrapolates to 0.006, pseudo-outcomes
reach -1,100 days, and the DR-learner's PEHE was 2.5 days with ``clip=0.01``
against 0.96 with 0.05 (a constant effect: 1.49). Clipping
changes only the weights of the residuals (DR) or the blend (X), and bounds the
residualised treatment away from 0 (R).

Intervals. Only :class:`DRLearner` gives the ATE and ATT with intervals
(AIPW scores); the plug-in average of a machine-learned CATE of the S, T, X and
R learners has a regularisation bias of unknown size and no valid analytic
interval, so their ``ate()`` raises and :meth:`average_effect` gives the
point value only. ``effect_interval`` exists only for the DR-learner with a
linear final model.

References
----------
S. R. Künzel, J. S. Sekhon, P. J. Bickel and B. Yu (2019), "Metalearners for
estimating heterogeneous treatment effects using machine learning", *PNAS*
116(10), 4156-4165.
X. Nie and S. Wager (2021), "Quasi-oracle estimation of heterogeneous treatment
effects", *Biometrika* 108(2), 299-319.
E. H. Kennedy (2023), "Towards optimal doubly robust estimation of
heterogeneous causal effects", *Electronic Journal of Statistics* 17(2).
V. Semenova and V. Chernozhukov (2021), "Debiased machine learning of
conditional average treatment effects and other causal functions",
*The Econometrics Journal* 24(2).
P. M. Robinson (1988), "Root-N-consistent semiparametric regression",
*Econometrica* 56(4).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sklearn.linear_model import LinearRegression
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=3000)
>>> t = rng.binomial(1, 1 / (1 + np.exp(-x)))
>>> df = pd.DataFrame({"x": x, "t": t, "y": x + t * (1 + 2 * x) + rng.normal(size=3000)})
>>> dr = DRLearner(outcome=LinearRegression(), final=LinearRegression())
>>> dr = dr.fit(df, treatment="t", outcome="y", effect_modifiers=["x"])
>>> np.round(dr.effect(pd.DataFrame({"x": [0.0, 1.0]})), 1)
array([1., 3.])
>>> bool(dr.ate().covers(1.0))
True
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from causal.errors import EstimationError
from causal.estimators._overlap import OverlapWarning
from causal.estimators.base import BaseEstimator, Estimate, check_columns, normal_interval
from causal.estimators.multiarm import MAX_LEVELS, treatment_levels

__all__ = ["SLearner", "TLearner", "XLearner", "DRLearner", "RLearner", "default_regressor",
           "default_classifier"]


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
    if not (hasattr(template, "fit") and hasattr(template, "predict")):
        raise EstimationError(f"{name}: the {role} model {template!r} has no fit/predict; pass a "
                              "scikit-learn estimator")
    if proba and not hasattr(template, "predict_proba"):
        raise EstimationError(f"{name}: the {role} model {type(template).__name__} has no predict_proba; "
                              "pass a probabilistic classifier (e.g. LogisticRegression)")
    try:
        model = clone(template)
    except TypeError as exc:
        raise EstimationError(f"{name}: the {role} model cannot be cloned ({exc}); pass a scikit-learn "
                              "estimator") from None
    if weights:
        fit = model[-1].fit if isinstance(model, Pipeline) else model.fit
        if "sample_weight" not in inspect.signature(fit).parameters:
            raise EstimationError(f"{name}: the {role} model {type(model).__name__} does not accept "
                                  "sample_weight, which the R-learner's weighted loss needs")
    if seed is not None and hasattr(model, "get_params"):
        unset = {k: seed for k, v in model.get_params(deep=True).items()
                 if (k == "random_state" or k.endswith("__random_state")) and v is None}
        if unset:
            model.set_params(**unset)
    return model


def _fit(model: Any, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> Any:
    with threadpool_limits(1, user_api="openmp"):
        if sample_weight is None:
            return model.fit(X, y)
        if isinstance(model, Pipeline):
            return model.fit(X, y, **{f"{model.steps[-1][0]}__sample_weight": sample_weight})
        return model.fit(X, y, sample_weight=sample_weight)


def _predict(model: Any, X: np.ndarray) -> np.ndarray:
    with threadpool_limits(1, user_api="openmp"):
        return np.asarray(model.predict(X), dtype=float).reshape(len(X))


def _proba(model: Any, X: np.ndarray, k: int) -> np.ndarray:
    """``P(T = code | X)`` for the codes ``0..k-1`` (columns of classes the model never saw are 0)."""
    with threadpool_limits(1, user_api="openmp"):
        p = np.asarray(model.predict_proba(X), dtype=float)
    out = np.zeros((len(X), k))
    out[:, np.asarray(model.classes_, dtype=np.int64)] = p
    return out


def _overlap(e: np.ndarray, name: str, warn_at: float, clip: float) -> int:
    """Raise on (numerically) zero propensities, warn below ``warn_at``; return how many units warned.

    ``e`` holds, per unit, the propensities of the arms compared (columns).
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
        warnings.warn(f"{name}: {out} unit(s) have a propensity below {warn_at:g} for an arm compared "
                      f"(smallest {low.min():.2g}); their scores use the propensity clipped to {clip:g}. "
                      "Overlap is poor there: consider restricting the data to the overlap region",
                      OverlapWarning, stacklevel=3)
    return out


# --------------------------------------------------------------------------- the shared base
class _MetaLearner(BaseEstimator):
    """Validation, folds, treatment levels and the ``effect`` plumbing of every meta-learner."""

    _uses_folds = True

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
        self._check_fitted()
        name = type(self).__name__
        mods = self.effect_modifiers_
        if not mods:
            raise EstimationError(f"{name}: the CATE needs effect modifiers; fit with effect_modifiers=[...] "
                                  "(the columns the effect varies with)")
        if isinstance(X, pd.DataFrame):
            return check_columns(X, estimator=name, effect_modifiers=mods).to_numpy(dtype=float)
        arr = np.asarray(X, dtype=float)
        if arr.ndim == 1 and len(mods) == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[1] != len(mods):
            raise EstimationError(f"{name}: X must be a DataFrame with columns {mods} or an array of shape "
                                  f"(n, {len(mods)}), got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise EstimationError(f"{name}: X has missing or infinite values")
        return arr

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

    def __init__(self, outcome: Any = None, final: Any = None, folds: int = 2, control: Any = None,
                 random_state: int | None = 0, level: float = 0.95) -> None:
        self.outcome = outcome
        self.final = final
        self.folds = folds
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


class SLearner(_OutcomeLearner):
    """One outcome model with the treatment as features (one indicator per non-control level).

    Parameters
    ----------
    outcome : scikit-learn regressor, optional
        Default :func:`default_regressor`.
    final : scikit-learn regressor, optional
        Projects per-unit effects on the effect modifiers when there are
        covariates beyond them (default :func:`default_regressor`).
    folds : int
        Validated like the other learners' (2 <= folds <= n, every level at
        least ``folds`` units); the S-learner itself fits on all units.
    control : level, optional
        The reference level (default: the lowest).
    random_state : int or None
    level : float
    """

    def _design(self, Z: np.ndarray, code: int) -> np.ndarray:
        k = len(self.levels_)
        onehot = np.zeros((len(Z), k - 1))
        others = [j for j in range(k) if j != self._c]
        if code != self._c:
            onehot[:, others.index(code)] = 1.0
        return np.column_stack([Z, onehot])

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None,
            effect_modifiers: Sequence[str] | str | None = None) -> SLearner:
        """Fit the outcome model on features and treatment indicators; return ``self``."""
        Z, t, y = self._prepare(data, treatment, outcome, covariates, effect_modifiers)
        k = len(self.levels_)
        others = [j for j in range(k) if j != self._c]
        D = np.column_stack([Z, (t[:, None] == np.asarray(others)[None, :]).astype(float)])
        model = _model(self.outcome, default_regressor, "outcome", "SLearner", self._seed())
        self.outcome_model_ = _fit(model, D, y)
        base = _predict(model, self._design(Z, self._c))
        taus = {j: _predict(model, self._design(Z, j)) - base for j in others}
        direct = self._plug_in if len(self.features_) == len(self.effect_modifiers_) else None
        self._finish(Z, taus, direct)
        self.diagnostics_ = {"levels": self.levels_, "control": self.control_}
        return self

    def _plug_in(self, Xm: np.ndarray, code: int) -> np.ndarray:
        model = self.outcome_model_
        return _predict(model, self._design(Xm, code)) - _predict(model, self._design(Xm, self._c))


class TLearner(_OutcomeLearner):
    """One outcome model per treatment level; the CATE is the difference of two arms' predictions.

    Parameters as :class:`SLearner`.
    """

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None,
            effect_modifiers: Sequence[str] | str | None = None) -> TLearner:
        """Fit one outcome model per level; return ``self``."""
        Z, t, y = self._prepare(data, treatment, outcome, covariates, effect_modifiers)
        models = {}
        for j in range(len(self.levels_)):
            model = _model(self.outcome, default_regressor, "outcome", "TLearner", self._seed())
            models[j] = _fit(model, Z[t == j], y[t == j])
        self.outcome_models_ = models
        base = _predict(models[self._c], Z)
        taus = {j: _predict(models[j], Z) - base for j in models if j != self._c}
        direct = self._plug_in if len(self.features_) == len(self.effect_modifiers_) else None
        self._finish(Z, taus, direct)
        self.diagnostics_ = {"levels": self.levels_, "control": self.control_}
        return self

    def _plug_in(self, Xm: np.ndarray, code: int) -> np.ndarray:
        return _predict(self.outcome_models_[code], Xm) - _predict(self.outcome_models_[self._c], Xm)


def _clip_check_modifiers(est: _MetaLearner) -> None:
    if not est.effect_modifiers_:
        raise EstimationError(f"{type(est).__name__}: needs effect_modifiers=[...] (the columns its final "
                              "models regress the effect on)")


# --------------------------------------------------------------------------- X
class XLearner(_PropensityLearner):
    """Imputed effects regressed on the modifiers in each arm, blended by the propensity.

    Parameters
    ----------
    propensity : scikit-learn classifier, optional
        ``g(x) = P(T = a | x, T in {a, c})`` on the effect modifiers, the blending
        weight, clipped to ``[clip, 1 - clip]`` (default :func:`default_classifier`).
    outcome, final : scikit-learn regressors, optional
        Arm outcome models (on modifiers and covariates) and the two effect
        models (on the modifiers); default :func:`default_regressor`.
    folds : int
        Validated as for the other learners; the arm models predict the other
        arm's units, which they were not fitted on, so no cross-fitting is needed.
    clip, control, random_state, level
    overlap_warn : float
        Warn (:class:`~causal.estimators.weighting.OverlapWarning`) when ``g`` falls
        below it or above ``1 -`` it (0 disables); ``g`` of 0 or 1 raises.
    """

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None,
            effect_modifiers: Sequence[str] | str | None = None) -> XLearner:
        """Fit the arm models, the imputed-effect models and the blending propensity; return ``self``."""
        name = "XLearner"
        Z, t, y = self._prepare(data, treatment, outcome, covariates, effect_modifiers)
        _clip_check_modifiers(self)
        _model(self.propensity, default_classifier, "propensity", name, None, proba=True)
        Xm = Z[:, :len(self.effect_modifiers_)]
        seed, c = self._seed(), self._c
        arms = {j: _fit(_model(self.outcome, default_regressor, "outcome", name, seed), Z[t == j], y[t == j])
                for j in range(len(self.levels_))}
        self.outcome_models_ = arms
        self._parts: dict[int, tuple[Any, Any, Any]] = {}
        n_clipped = 0
        for a in range(len(self.levels_)):
            if a == c:
                continue
            ia, ic = t == a, t == c
            tau_a = _fit(_model(self.final, default_regressor, "final", name, seed), Xm[ia],
                         y[ia] - _predict(arms[c], Z[ia]))
            tau_c = _fit(_model(self.final, default_regressor, "final", name, seed), Xm[ic],
                         _predict(arms[a], Z[ic]) - y[ic])
            sub = ia | ic
            g = _fit(_model(self.propensity, default_classifier, "propensity", name, seed), Xm[sub],
                     ia[sub].astype(np.int64))
            self._parts[a] = (tau_a, tau_c, g)
            e = _proba(g, Xm, 2)[:, 1]
            _overlap(np.column_stack([e, 1 - e]), name, float(self.overlap_warn), float(self.clip))
            n_clipped += int(((e < self.clip) | (e > 1 - self.clip)).sum())
        taus = {a: self._blend(Xm, a) for a in self._parts}
        self._finish(Xm, taus, self._blend)
        self.diagnostics_ = {"levels": self.levels_, "control": self.control_,
                             "clip": (float(self.clip), 1 - float(self.clip)), "n_clipped": n_clipped}
        return self

    def _blend(self, Xm: np.ndarray, code: int) -> np.ndarray:
        tau_a, tau_c, g = self._parts[code]
        e = np.clip(_proba(g, Xm, 2)[:, 1], self.clip, 1 - self.clip)
        return e * _predict(tau_c, Xm) + (1 - e) * _predict(tau_a, Xm)


# --------------------------------------------------------------------------- DR
class DRLearner(_PropensityLearner):
    """The doubly robust learner: AIPW pseudo-outcomes, cross-fitted, regressed on the modifiers.

    Parameters
    ----------
    propensity : scikit-learn classifier, optional
        Generalized propensity ``P(T = level | x, w)`` over all levels, cross-fitted
        (default :func:`default_classifier`), clipped to ``[clip, 1 - clip]`` in the scores.
    outcome : scikit-learn regressor, optional
        ``E[Y | T = level, x, w]``, one per level and fold (default :func:`default_regressor`).
    final : scikit-learn regressor, optional
        Regression of the pseudo-outcomes on the modifiers (default
        :func:`default_regressor`). ``LinearRegression()`` enables :meth:`effect_interval`.
    folds : int
        Cross-fitting folds (``StratifiedKFold(shuffle=True)`` on the treatment).
    clip : float
        Propensity clipping in the scores (default 0.05; 0 disables).
    overlap_warn : float
        Warn (:class:`~causal.estimators.weighting.OverlapWarning`) when a propensity of an arm
        compared falls below it (0 disables); a propensity of (numerically) 0 raises.
    control, random_state, level

    Attributes
    ----------
    propensity_ : ndarray (n, levels)
        Out-of-fold propensities before clipping.
    mu_ : ndarray (n, levels)
        Out-of-fold outcome predictions.
    pseudo_outcomes_ : dict
        Per treated level (code): the AIPW scores whose mean is the ATE.
    """

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None,
            effect_modifiers: Sequence[str] | str | None = None) -> DRLearner:
        """Cross-fit the nuisances, form the pseudo-outcomes, fit the final model; return ``self``."""
        name = "DRLearner"
        Z, t, y = self._prepare(data, treatment, outcome, covariates, effect_modifiers)
        _model(self.propensity, default_classifier, "propensity", name, None, proba=True)
        _model(self.outcome, default_regressor, "outcome", name, None)
        k, seed, c = len(self.levels_), self._seed(), self._c
        n = len(t)
        e, mu = np.empty((n, k)), np.empty((n, k))
        for train, test in self._splits(t):
            ps = _fit(_model(self.propensity, default_classifier, "propensity", name, seed),
                      Z[train], t[train])
            e[test] = _proba(ps, Z[test], k)
            for j in range(k):
                arm = train[t[train] == j]
                mu[test, j] = _predict(_fit(_model(self.outcome, default_regressor, "outcome", name, seed),
                                            Z[arm], y[arm]), Z[test])
        clip = float(self.clip)
        _overlap(e, name, float(self.overlap_warn), clip)
        ec = np.clip(e, clip, 1 - clip)
        onehot = np.eye(k)[t]
        phi = {a: mu[:, a] - mu[:, c] + onehot[:, a] * (y - mu[:, a]) / ec[:, a]
               - onehot[:, c] * (y - mu[:, c]) / ec[:, c] for a in range(k) if a != c}
        self.propensity_, self.mu_, self.pseudo_outcomes_ = e, mu, phi
        self._att = {a: (onehot[:, a] - onehot[:, c] * ec[:, a] / ec[:, c]) * (y - mu[:, c]) for a in phi}
        self._onehot = onehot
        self._linear: dict[int, tuple[np.ndarray, np.ndarray, bool]] = {}
        mods = len(self.effect_modifiers_)
        if mods and isinstance(self.final, LinearRegression):
            intercept = bool(self.final.fit_intercept)
            Xm = Z[:, :mods]
            D = np.column_stack([np.ones(n), Xm]) if intercept else Xm
            if np.linalg.matrix_rank(D) < D.shape[1]:
                raise EstimationError(f"{name}: the effect modifiers are collinear; the linear final stage "
                                      "is not identified")
            bread = np.linalg.inv(D.T @ D)
            for a, p in phi.items():
                beta = bread @ (D.T @ p)
                r = p - D @ beta
                meat = (D * r[:, None] ** 2).T @ D
                cov = bread @ meat @ bread * n / (n - D.shape[1])  # HC1
                self._linear[a] = (beta, cov, intercept)
        self._finish(Z, {a: p for a, p in phi.items()}, None)
        if mods:
            self.unit_effects_ = {a: _predict(self.final_models_[a], Z[:, :mods]) for a in phi}
        lo = float(e[np.arange(n), t].min())
        self.diagnostics_ = {"levels": self.levels_, "control": self.control_, "folds": int(self.folds),
                             "clip": (clip, 1 - clip), "n_clipped": int(((e < clip) | (e > 1 - clip)).sum()),
                             "propensity_min": float(e.min()), "propensity_own_arm_min": lo}
        return self

    def average_effect(self, treat: Any = None) -> float:
        """The AIPW estimate of the ATE (the mean of the pseudo-outcomes)."""
        return float(self.pseudo_outcomes_[self._code(treat)].mean())

    def ate(self, treat: Any = None) -> Estimate:
        """The AIPW estimate of ``E[Y(treat) - Y(control)]`` with its influence-function interval."""
        code = self._code(treat)
        phi = self.pseudo_outcomes_[code]
        return Estimate.normal(float(phi.mean()), float(phi.std(ddof=1) / math.sqrt(len(phi))),
                               method="DRLearner (AIPW)", n=len(phi), level=self.level,
                               diagnostics={**self.diagnostics_, "treat": self.levels_[code]})

    def att(self, treat: Any = None) -> Estimate:
        """The doubly robust effect on the units that received ``treat``:
        ``sum [1{T=a} - 1{T=c} e_a / e_c] (Y - mu_c) / n_a``, with its influence-function interval."""
        code = self._code(treat)
        g, ind = self._att[code], self._onehot[:, code]
        p = ind.mean()
        value = g.mean() / p
        infl = (g - ind * value) / p
        return Estimate.normal(float(value), float(infl.std(ddof=1) / math.sqrt(len(g))),
                               method="DRLearner (AIPW ATT)", n=len(g), level=self.level,
                               diagnostics={**self.diagnostics_, "treat": self.levels_[code]})

    def effect_interval(self, X: Any, alpha: float = 0.05,
                        treat: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise ``1 - alpha`` intervals of the CATE at the rows of ``X`` (linear final stage only).

        The HC1 (heteroskedasticity-robust) covariance of the final OLS of the
        pseudo-outcomes on the modifiers, nuisances treated as known (cross-fitted,
        orthogonal scores). It covers the best linear approximation of the CATE;
        the CATE itself when that is linear in the modifiers.
        """
        code = self._code(treat)
        if code not in self._linear:
            raise EstimationError("DRLearner: effect_interval needs a linear final stage "
                                  "(final=LinearRegression()); other final models give no CATE intervals")
        if not (isinstance(alpha, float | int) and 0 < alpha < 1):
            raise EstimationError(f"DRLearner: alpha must be in (0, 1), got {alpha!r}")
        Xm = self._modifiers(X)
        beta, cov, intercept = self._linear[code]
        D = np.column_stack([np.ones(len(Xm)), Xm]) if intercept else Xm
        value = D @ beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", D, cov, D))
        lo, hi = normal_interval(0.0, 1.0, 1 - alpha)
        return value + lo * se, value + hi * se


# --------------------------------------------------------------------------- R
class RLearner(_PropensityLearner):
    """Robinson's residual-on-residual learner (Nie & Wager 2021), cross-fitted.

    Parameters
    ----------
    propensity : scikit-learn classifier, optional
        ``e(x, w) = P(T = a | x, w, T in {a, c})``, cross-fitted, clipped to
        ``[clip, 1 - clip]`` (default :func:`default_classifier`).
    outcome : scikit-learn regressor, optional
        ``m(x, w) = E[Y | x, w, T in {a, c}]``, cross-fitted (default :func:`default_regressor`).
    final : scikit-learn regressor accepting ``sample_weight``, optional
        Fitted to ``(Y - m) / (T - e)`` with weights ``(T - e)^2`` (default :func:`default_regressor`).
    folds, clip, control, random_state, level
    overlap_warn : float
        :class:`~causal.estimators.weighting.OverlapWarning` when a propensity of an
        arm compared falls below it (0 disables); a propensity of (numerically) 0
        raises :class:`~causal.errors.EstimationError`.
    """

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None,
            effect_modifiers: Sequence[str] | str | None = None) -> RLearner:
        """Cross-fit ``m`` and ``e`` on the two arms of each contrast, then the weighted final fit."""
        name = "RLearner"
        Z, t, y = self._prepare(data, treatment, outcome, covariates, effect_modifiers)
        _clip_check_modifiers(self)
        _model(self.propensity, default_classifier, "propensity", name, None, proba=True)
        _model(self.outcome, default_regressor, "outcome", name, None)
        _model(self.final, default_regressor, "final", name, None, weights=True)
        mods, seed, c, clip = len(self.effect_modifiers_), self._seed(), self._c, float(self.clip)
        self.final_models_ = {}
        n_clipped = 0
        for a in range(len(self.levels_)):
            if a == c:
                continue
            sub = np.flatnonzero((t == a) | (t == c))
            Zs, ys, tb = Z[sub], y[sub], (t[sub] == a).astype(np.int64)
            m, e = np.empty(len(sub)), np.empty(len(sub))
            for train, test in self._splits(tb):
                m[test] = _predict(_fit(_model(self.outcome, default_regressor, "outcome", name, seed),
                                        Zs[train], ys[train]), Zs[test])
                ps = _fit(_model(self.propensity, default_classifier, "propensity", name, seed),
                          Zs[train], tb[train])
                e[test] = _proba(ps, Zs[test], 2)[:, 1]
            n_clipped += int(((e < clip) | (e > 1 - clip)).sum())
            _overlap(np.column_stack([e, 1 - e]), name, float(self.overlap_warn), clip)
            rt = tb - np.clip(e, clip, 1 - clip)
            model = _model(self.final, default_regressor, "final", name, seed, weights=True)
            self.final_models_[a] = _fit(model, Zs[:, :mods], (ys - m) / rt, sample_weight=rt**2)
        self.unit_effects_ = {a: _predict(f, Z[:, :mods]) for a, f in self.final_models_.items()}
        self._direct = None
        self.fitted_ = True
        self.diagnostics_ = {"levels": self.levels_, "control": self.control_, "folds": int(self.folds),
                             "clip": (clip, 1 - clip), "n_clipped": n_clipped}
        return self
