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
  cross-fitted nuisances (Kennedy 2023); the outcome model is fitted per arm
  (default) or jointly on the features and treatment indicators
  (``outcome_fit="joint"``, EconML's design). Its pseudo-outcomes' mean is the AIPW
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

Overlap. The S and T learners use no propensity, and the X-learner's blends
on the effect modifiers only; each fits :func:`default_classifier` on all the
features as a diagnostic, so that perfectly separated arms raise
:class:`~causal.errors.EstimationError` and poor overlap warns, as in the DR
and R learners.

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

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from causal.errors import EstimationError
from causal.estimators._learner_base import (
    _clip_check_modifiers,
    _fit,
    _model,
    _OutcomeLearner,
    _overlap,
    _predict,
    _proba,
    _PropensityLearner,
    arm_design,
    default_classifier,
    default_regressor,
)
from causal.estimators.base import Estimate, normal_interval

__all__ = ["SLearner", "TLearner", "XLearner", "DRLearner", "RLearner", "default_regressor",
           "default_classifier"]


# --------------------------------------------------------------------------- S and T
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
    overlap_warn : float
        Overlap diagnostic: :func:`default_classifier` is fitted on all the
        features (for this check only); a level compared with a propensity of
        (numerically) 0 raises :class:`~causal.errors.EstimationError` (the
        outcome models would extrapolate into a region one arm never reaches),
        one below ``overlap_warn`` warns
        (:class:`~causal.estimators.weighting.OverlapWarning`; 0 disables).
    control : level, optional
        The reference level (default: the lowest).
    random_state : int or None
    level : float
    """

    def _design(self, Z: np.ndarray, code: int) -> np.ndarray:
        return arm_design(Z, np.full(len(Z), code), self._c, len(self.levels_))

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None,
            effect_modifiers: Sequence[str] | str | None = None) -> SLearner:
        """Fit the outcome model on features and treatment indicators; return ``self``."""
        Z, t, y = self._prepare(data, treatment, outcome, covariates, effect_modifiers)
        n_low = self._overlap_check(Z, t, "SLearner")
        k = len(self.levels_)
        others = [j for j in range(k) if j != self._c]
        model = _model(self.outcome, default_regressor, "outcome", "SLearner", self._seed())
        self.outcome_model_ = _fit(model, arm_design(Z, t, self._c, k), y)
        base = _predict(model, self._design(Z, self._c))
        taus = {j: _predict(model, self._design(Z, j)) - base for j in others}
        direct = self._plug_in if len(self.features_) == len(self.effect_modifiers_) else None
        self._finish(Z, taus, direct)
        self.diagnostics_ = {"levels": self.levels_, "control": self.control_, "n_low_propensity": n_low}
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
        n_low = self._overlap_check(Z, t, "TLearner")
        models = {}
        for j in range(len(self.levels_)):
            model = _model(self.outcome, default_regressor, "outcome", "TLearner", self._seed())
            models[j] = _fit(model, Z[t == j], y[t == j])
        self.outcome_models_ = models
        base = _predict(models[self._c], Z)
        taus = {j: _predict(models[j], Z) - base for j in models if j != self._c}
        direct = self._plug_in if len(self.features_) == len(self.effect_modifiers_) else None
        self._finish(Z, taus, direct)
        self.diagnostics_ = {"levels": self.levels_, "control": self.control_, "n_low_propensity": n_low}
        return self

    def _plug_in(self, Xm: np.ndarray, code: int) -> np.ndarray:
        return _predict(self.outcome_models_[code], Xm) - _predict(self.outcome_models_[self._c], Xm)


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
        if len(self.features_) > len(self.effect_modifiers_):  # the blending g(x) sees the modifiers only
            self._overlap_check(Z, t, name)
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
        ``E[Y | T = level, x, w]`` (default :func:`default_regressor`), fitted per fold as
        ``outcome_fit`` says.
    final : scikit-learn regressor, optional
        Regression of the pseudo-outcomes on the modifiers (default
        :func:`default_regressor`). ``LinearRegression()`` enables :meth:`effect_interval`.
    outcome_fit : {"per_arm", "joint"}
        ``"per_arm"`` (default): one outcome model per treatment level and fold, fitted on that
        level's units. ``"joint"``: one model per fold on ``[x, w, one indicator per non-control
        level]``, predicted with the indicators set to each level in turn — EconML's
        ``DRLearner`` design (with the same models and folds it gives EconML's estimates). A joint
        model borrows strength across arms but can only vary the effect where it splits on (or, if
        linear, adds) the indicators. Neither is faster with boosting (its cost grows with the units,
        and both fit every unit once per fold). Per-arm is the default because it is the more
        accurate on the external benchmark (IHDP surface B, 10 replications, default boosting on both
        stages: PEHE 1.69 per arm against 2.26 joint), although joint did better on the scenarios
        (``docs/heterogeneous_pehe.py`` data, seed 0, as a share of the constant effect's PEHE:
        healthcare 0.40 against 0.53, marketing revenue 0.95 against 1.02, conversion 0.85 against
        0.84).
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

    ate_interval = True

    def __init__(self, propensity: Any = None, outcome: Any = None, final: Any = None, folds: int = 2,
                 clip: float = 0.05, overlap_warn: float = 0.01, control: Any = None,
                 random_state: int | None = 0, level: float = 0.95, outcome_fit: str = "per_arm") -> None:
        super().__init__(propensity=propensity, outcome=outcome, final=final, folds=folds, clip=clip,
                         overlap_warn=overlap_warn, control=control, random_state=random_state, level=level)
        self.outcome_fit = outcome_fit

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None,
            effect_modifiers: Sequence[str] | str | None = None) -> DRLearner:
        """Cross-fit the nuisances, form the pseudo-outcomes, fit the final model; return ``self``."""
        name = "DRLearner"
        Z, t, y = self._prepare(data, treatment, outcome, covariates, effect_modifiers)
        _model(self.propensity, default_classifier, "propensity", name, None, proba=True)
        _model(self.outcome, default_regressor, "outcome", name, None)
        if self.outcome_fit not in ("joint", "per_arm"):
            raise EstimationError(f"{name}: outcome_fit must be 'per_arm' or 'joint', got "
                                  f"{self.outcome_fit!r}")
        k, seed, c = len(self.levels_), self._seed(), self._c
        n = len(t)
        e, mu = np.empty((n, k)), np.empty((n, k))
        for train, test in self._splits(t):
            ps = _fit(_model(self.propensity, default_classifier, "propensity", name, seed),
                      Z[train], t[train])
            e[test] = _proba(ps, Z[test], k)
            mu[test] = self._outcome_fold(Z, t, y, train, test, name, seed)
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
        # the final model's CATE at the fitted units: predicted on first use of unit_effects_ (a pass over
        # all n units that fit, effect and ate do not need)
        self._fitted_modifiers = Z[:, :mods].copy() if mods else None
        lo = float(e[np.arange(n), t].min())
        self.diagnostics_ = {"levels": self.levels_, "control": self.control_, "folds": int(self.folds),
                             "clip": (clip, 1 - clip), "n_clipped": int(((e < clip) | (e > 1 - clip)).sum()),
                             "propensity_min": float(e.min()), "propensity_own_arm_min": lo}
        return self

    @property
    def unit_effects_(self) -> dict[int, np.ndarray]:
        """Per treated level (code): the final model's CATE at the fitted units (computed on first use);
        the pseudo-outcomes when fitted without effect modifiers."""
        units = self.__dict__.get("_unit_effects")
        if units is None:
            raise AttributeError("unit_effects_")
        Xm = self.__dict__.get("_fitted_modifiers")
        if Xm is not None:
            units = {a: _predict(self.final_models_[a], Xm) for a in units}
            self._unit_effects, self._fitted_modifiers = units, None
        return units

    @unit_effects_.setter
    def unit_effects_(self, value: dict[int, np.ndarray]) -> None:
        self._unit_effects = value
        self._fitted_modifiers = None

    def _outcome_fold(self, Z: np.ndarray, t: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray,
                      name: str, seed: int | None) -> np.ndarray:
        """The outcome predictions ``(len(test), levels)`` of one fold's model(s) fitted on ``train``."""
        k = len(self.levels_)
        if self.outcome_fit == "per_arm":
            out = np.empty((len(test), k))
            Zt = Z[test]
            for j in range(k):
                arm = train[t[train] == j]
                model = _fit(_model(self.outcome, default_regressor, "outcome", name, seed), Z[arm], y[arm])
                out[:, j] = _predict(model, Zt)
            return out
        model = _fit(_model(self.outcome, default_regressor, "outcome", name, seed),
                     arm_design(Z[train], t[train], self._c, k), y[train])
        D = arm_design(Z[test], None, self._c, k)
        out = np.empty((len(test), k))
        others = [j for j in range(k) if j != self._c]
        for j in range(k):
            D[:, Z.shape[1]:] = 0.0
            if j != self._c:
                D[:, Z.shape[1] + others.index(j)] = 1.0
            out[:, j] = _predict(model, D)
        return out

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
