"""Double/debiased machine learning: orthogonal scores with cross-fitted nuisance models.

Chernozhukov et al. (2018) estimate a low-dimensional effect while the
confounding is learned by any machine-learning regressor. Two ingredients
remove the regularisation and overfitting bias of a plug-in:

* a **Neyman-orthogonal score**, whose expectation does not move with small
  errors in the nuisance functions (to first order), and
* **cross-fitting**: the units are split into ``folds``; each unit's nuisance
  predictions come from models fitted on the other folds, and the score is
  solved once over all the out-of-fold residuals (the paper's DML2).

:class:`LinearDML` — the partially linear model (paper, Section 4.1)::

    Y = theta(X) T + g(X, W) + e,    T = m(X, W) + v,    E[e | T, X, W] = 0

with effect modifiers ``X`` and further confounders ``W``. With
``l(X, W) = E[Y | X, W]``, partialling out gives ``Y - l = theta(X) (T - m) + e``:
the residual of ``Y`` is regressed on the residual of ``T`` times
``[1, X]``, so ``theta(X) = [1, X] . beta`` (Robinson 1988). ``T`` may be
continuous or binary (its nuisance then may be a classifier's probability).
Without effect modifiers ``theta`` is a constant and its standard error is the
paper's ``sigma^2 = J^-2 E[psi^2] / n`` with ``psi = (Y_res - theta T_res) T_res``,
``J = E[T_res^2]``; with them the same sandwich (HC0, heteroskedasticity-robust)
gives the covariance of ``beta`` and pointwise intervals for ``theta(x)``.

:class:`InteractiveDML` — the interactive regression model for a binary
treatment (Section 5.1): ``Y = g(T, X) + e``, ``T ~ Bernoulli(m(X))``, with no
restriction on how the effect varies. ATE and ATT come from the efficient
(AIPW) scores, with the outcome regressions and the propensity cross-fitted.

:class:`NonParamDML` — a nonparametric final stage: since
``Y_res = theta(X) T_res + e``, ``theta`` minimises
``E[T_res^2 (Y_res / T_res - theta(X))^2]``: any regressor fitted to the
pseudo-outcome ``Y_res / T_res`` with weights ``T_res^2`` estimates ``theta(X)``
(Nie & Wager 2021's R-learner loss). It gives no intervals.

**Repeated cross-fitting** (``repeats=K``, Section 3.4): the whole procedure is
run on ``K`` independent fold splits; the estimate is the median of the ``K``
estimates and its variance the median of ``sigma_k^2 + (theta_k - median)^2``,
which adds the variation due to the split. For a vector (``beta``) both medians
are taken element by element.

Nuisance models receive the covariates and effect modifiers (each column once,
covariates first) as a float array, are cloned (:func:`~causal.estimators.weighting.seeded_clone`:
an unset ``random_state`` is seeded) and fitted on one OpenMP and BLAS thread.

References
----------
V. Chernozhukov, D. Chetverikov, M. Demirer, E. Duflo, C. Hansen, W. Newey and
J. Robins (2018), "Double/debiased machine learning for treatment and structural
parameters", *The Econometrics Journal* 21(1), C1-C68.
P. M. Robinson (1988), "Root-N-consistent semiparametric regression",
*Econometrica* 56(4).
X. Nie and S. Wager (2021), "Quasi-oracle estimation of heterogeneous treatment
effects", *Biometrika* 108(2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators._dml_base import (
    _ADVICE,
    _aggregate,
    _check_level,
    _check_model,
    _Data,
    _estimate,
    _int_setting,
    _linear_final,
    _mean_effect,
    _median_rule,
    _modifier_rows,
    _names,
    _one_thread,
    _repeat_seeds,
    _Residualiser,
    _splits,
)
from causal.estimators._overlap import overlap_diagnostics
from causal.estimators.base import BaseEstimator, Estimate, normal_interval
from causal.estimators.nuisance import _fit_propensity, _fit_regressor, _proba, seeded_clone

__all__ = ["LinearDML", "InteractiveDML", "NonParamDML"]


# --------------------------------------------------------------------------- LinearDML
class LinearDML(_Residualiser):
    """Double ML for the partially linear model, with a linear effect ``theta(X) = [1, X] . beta``.

    Parameters
    ----------
    model_y : scikit-learn regressor, optional
        Model of ``E[Y | X, W]``; default ``LinearRegression()``. Pass a flexible
        learner (boosting, forests, splines) when the confounding is nonlinear.
    model_t : scikit-learn regressor or classifier, optional
        Model of ``E[T | X, W]``. For a binary 0/1 treatment a classifier's
        ``predict_proba`` is used (default: logistic regression,
        :func:`~causal.estimators.weighting.default_propensity`); otherwise a
        regressor (default ``LinearRegression()``).
    folds : int
        Cross-fitting folds (at least 2, at most the number of units).
    repeats : int
        Independent fold splits; the estimates are their median and the
        variance the paper's median of ``se_k^2 + (theta_k - median)^2``.
    random_state : int, numpy Generator or None
        Seeds the fold splits (further repetitions use seeds derived from it)
        and the nuisance models whose ``random_state`` is unset. Default 0:
        refits on the same data give the same bytes.
    overlap_warn : float
        For a binary treatment modelled by a classifier: warn
        (:class:`~causal.estimators.weighting.OverlapWarning`) when an
        out-of-fold propensity lies outside ``[overlap_warn, 1 - overlap_warn]``;
        a propensity of exactly 0 or 1 raises.
    level : float
        Confidence level of ``ate()``/``att()``.

    Attributes
    ----------
    coef_ : ndarray
        ``beta``: the intercept, then one slope per effect modifier.
    coef_cov_, coef_stderr_ : ndarray
        Its HC0 sandwich covariance (median-aggregated over repetitions) and standard errors.
    y_res_, t_res_ : ndarray of shape (repeats, n)
        The out-of-fold residuals of each repetition.
    repeat_results_ : dict
        ``{"coef": (repeats, p), "ate": (repeats, 2), "att": ...}``: each repetition's
        estimates (``ate`` and ``att`` as ``(value, stderr)``) before aggregation.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.normal(size=(2, 2000))
    >>> t = w + rng.normal(size=2000)
    >>> df = pd.DataFrame({"w": w, "x": x, "t": t, "y": (1 + x) * t + 2 * w + rng.normal(size=2000)})
    >>> est = LinearDML().fit(df, treatment="t", outcome="y", covariates=["w"], effect_modifiers=["x"])
    >>> np.round(est.coef_, 1).tolist(), bool(est.ate().covers(1.0))
    ([1.0, 1.0], True)
    >>> lo, hi = est.effect_interval(pd.DataFrame({"x": [0.0, 2.0]}))
    >>> bool(lo[1] < 3 < hi[1])
    True
    """

    def __init__(self, model_y: Any = None, model_t: Any = None, folds: int = 5, repeats: int = 1,
                 random_state: Any = 0, overlap_warn: float = 0.01, level: float = 0.95) -> None:
        self.model_y = model_y
        self.model_t = model_t
        self.folds = folds
        self.repeats = repeats
        self.random_state = random_state
        self.overlap_warn = overlap_warn
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None,
            effect_modifiers: Sequence[str] | str | None = None) -> LinearDML:
        """Cross-fit the nuisances, solve the orthogonal score for ``beta``; return ``self``.

        Raises
        ------
        EstimationError
            Missing, non-numeric or non-finite columns, a constant treatment, no
            covariates, ``folds`` below 2 or above the number of units, a nuisance
            without ``fit``/``predict``, collinear effect modifiers, or a
            treatment the covariates predict exactly.
        """
        name = type(self).__name__
        _check_level(self.level, name)
        d, runs, diag = self._fit_residuals(data, treatment, outcome, covariates, effect_modifiers)
        D = np.column_stack([np.ones(d.n), d.X])
        t1 = (d.t == 1) if d.binary else None
        coefs, covs, ates, atts = [], [], [], []
        for ry, rt in runs:
            beta, IF = _linear_final(ry, rt, D, name)
            coefs.append(beta)
            covs.append(IF.T @ IF / d.n**2)
            theta = D @ beta
            ates.append(_mean_effect(IF, D, theta, np.ones(d.n, dtype=bool)))
            if t1 is not None:
                atts.append(_mean_effect(IF, D, theta, t1))
        beta, cov = _median_rule(np.array(coefs), np.array(covs))
        self.coef_, self.coef_cov_ = beta, cov
        self.coef_stderr_ = np.sqrt(np.clip(np.diag(cov), 0, None))
        self.repeat_results_ = {"coef": np.array(coefs), "ate": np.array(ates)}
        self.results_ = {"ate": _aggregate(np.array(ates))}
        if atts:
            self.repeat_results_["att"] = np.array(atts)
            self.results_["att"] = _aggregate(np.array(atts))
        self.diagnostics_ = diag
        self.fitted_ = True
        return self

    def ate(self) -> Estimate:
        """The average of ``theta(X)`` over the sample (the constant ``theta`` without modifiers).

        Its standard error adds the sampling variation of the modifiers' mean to that of ``beta``.
        """
        return _estimate(self, "ate")

    def att(self) -> Estimate:
        """The average of ``theta(X)`` over the treated units (binary treatment only)."""
        self._check_fitted()
        if "att" not in self.results_:
            raise EstimationError(f"{type(self).__name__}: att() needs a binary 0/1 treatment; the treatment "
                                  "is continuous — use ate() or effect(X)")
        return _estimate(self, "att")

    def coef_estimates(self) -> dict[str, Estimate]:
        """``beta`` as :class:`Estimate` objects: ``"intercept"``, then one per effect modifier."""
        self._check_fitted()
        names = ["intercept", *self.effect_modifiers_]
        return {k: Estimate.normal(float(b), float(s), method=f"{type(self).__name__} coef", n=self.n_,
                                   level=float(self.level))
                for k, b, s in zip(names, self.coef_, self.coef_stderr_, strict=True)}

    def effect(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """``theta(x) = [1, x] . beta`` for each row of the effect modifiers ``X``."""
        M = _modifier_rows(self, X)
        return self.coef_[0] + M @ self.coef_[1:]

    def effect_interval(self, X: pd.DataFrame | np.ndarray,
                        alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise ``1 - alpha`` normal intervals ``(low, high)`` for ``theta(x)``.

        From the HC0 covariance of ``beta`` (median-aggregated over repetitions).
        """
        if isinstance(alpha, bool) or not (isinstance(alpha, float | int) and 0 < alpha < 1):
            raise EstimationError(f"{type(self).__name__}: alpha must be in (0, 1), got {alpha!r}")
        M = _modifier_rows(self, X)
        D = np.column_stack([np.ones(len(M)), M])
        se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", D, self.coef_cov_, D), 0, None))
        return normal_interval(D @ self.coef_, se, 1 - float(alpha))


# --------------------------------------------------------------------------- InteractiveDML
class InteractiveDML(BaseEstimator):
    """Double ML in the interactive regression model: ATE and ATT of a binary treatment.

    The outcome regressions ``g(t, X) = E[Y | T = t, X]`` (fitted in each arm)
    and the propensity ``m(X) = P(T = 1 | X)`` are cross-fitted; the scores are
    the efficient ones of Chernozhukov et al. (2018, Section 5.1)::

        ATE:  g(1, X) - g(0, X) + T (Y - g(1, X)) / m(X) - (1 - T)(Y - g(0, X)) / (1 - m(X))
        ATT:  [T - (1 - T) m(X) / (1 - m(X))] (Y - g(0, X)) / P(T = 1)

    with standard errors from their empirical variance. The scores use the
    propensities clipped to ``[clip, 1 - clip]`` (default 0.01: no residual
    weighted by more than 100), since out-of-fold propensities can be far more
    extreme than in-sample ones; clipping changes only the weights of outcome
    residuals, so the score stays unbiased when the outcome model is right.
    ``diagnostics["n_clipped"]`` counts the clipped units (of the first split).

    Parameters
    ----------
    model_y : scikit-learn regressor, optional
        Default ``LinearRegression()`` (a clone per arm and fold).
    model_t : scikit-learn classifier with ``predict_proba``, optional
        Default :func:`~causal.estimators.weighting.default_propensity`.
    folds, repeats, random_state, level
        As for :class:`LinearDML`.
    clip : float
        Propensity clipping in the scores, in ``[0, 0.5)`` (0 disables).
    overlap_warn : float
        :class:`~causal.estimators.weighting.OverlapWarning` threshold on the
        out-of-fold propensities (a propensity of exactly 0 or 1 raises).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=3000)
    >>> t = rng.binomial(1, 1 / (1 + np.exp(-x)))
    >>> df = pd.DataFrame({"x": x, "t": t, "y": 2 * t + x + rng.normal(size=3000)})
    >>> est = InteractiveDML().fit(df, treatment="t", outcome="y", covariates=["x"])
    >>> bool(est.ate().covers(2.0)), bool(est.att().covers(2.0))
    (True, True)
    """

    def __init__(self, model_y: Any = None, model_t: Any = None, folds: int = 5, repeats: int = 1,
                 random_state: Any = 0, clip: float = 0.01, overlap_warn: float = 0.01,
                 level: float = 0.95) -> None:
        self.model_y = model_y
        self.model_t = model_t
        self.folds = folds
        self.repeats = repeats
        self.random_state = random_state
        self.clip = clip
        self.overlap_warn = overlap_warn
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None) -> InteractiveDML:
        """Cross-fit the outcome regressions and the propensity, average the scores; return ``self``."""
        from causal.estimators.base import as_binary

        name = type(self).__name__
        _check_level(self.level, name)
        folds = _int_setting(self.folds, name, "folds (the number of cross-fitting folds)", 2)
        repeats = _int_setting(self.repeats, name, "repeats (the number of fold splits)", 1)
        clip, ow = self.clip, self.overlap_warn
        if isinstance(clip, bool) or not (isinstance(clip, float | int) and 0 <= clip < 0.5):
            raise EstimationError(f"{name}: clip must be a number in [0, 0.5) (the scores use propensities "
                                  f"clipped to [clip, 1 - clip]; 0 disables), got {clip!r}")
        if isinstance(ow, bool) or not (isinstance(ow, float | int) and 0 <= ow < 0.5):
            raise EstimationError(f"{name}: overlap_warn must be in [0, 0.5), got {ow!r}")
        _check_model(self.model_y, "model_y", name)
        _check_model(self.model_t, "model_t", name, proba=True)
        d = _Data(data, name, treatment, outcome, covariates, None, folds)
        t = as_binary(d.t, estimator=name)
        runs_ate, runs_att = [], []
        diag: dict[str, Any] = {}
        with _one_thread():
            for seed in _repeat_seeds(self.random_state, repeats):
                splits = _splits(d.n, folds, seed, t, name)
                m, g0, g1 = self._nuisances(d, t, splits, seed, name)
                e = np.clip(m, clip, 1 - clip)
                if not diag:
                    diag = overlap_diagnostics(m, t, name, float(ow), _ADVICE, stacklevel=3, used=e)
                    diag["n_clipped"] = int(((m < clip) | (m > 1 - clip)).sum())
                    self.propensity_, self.mu0_, self.mu1_ = m, g0, g1
                c = 1 - t
                phi = g1 - g0 + t * (d.y - g1) / e - c * (d.y - g0) / (1 - e)
                ate = phi.mean()
                runs_ate.append((ate, float(np.sqrt(np.sum((phi - ate) ** 2)) / d.n)))
                g = (t - c * e / (1 - e)) * (d.y - g0)
                p = t.mean()
                att = g.mean() / p
                psi = (g - t * att) / p
                runs_att.append((att, float(np.sqrt(psi @ psi) / d.n)))
        self.repeat_results_ = {"ate": np.array(runs_ate), "att": np.array(runs_att)}
        self.results_ = {k: _aggregate(v) for k, v in self.repeat_results_.items()}
        self.ate_, self.att_ = self.results_["ate"][0], self.results_["att"][0]
        self.n_ = d.n
        self.diagnostics_ = {**diag, "folds": folds, "repeats": repeats,
                             "clip": (float(clip), 1 - float(clip))}
        self.fitted_ = True
        return self

    def _nuisances(self, d: _Data, t: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]], seed: Any,
                   name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        model_seed = seed if isinstance(seed, int | np.integer) and not isinstance(seed, bool) else None
        m, g0, g1 = np.empty(d.n), np.empty(d.n), np.empty(d.n)
        for train, test in splits:
            Ztr, Zte, ttr, ytr = d.Z[train], d.Z[test], t[train], d.y[train]
            ps, _ = _fit_propensity(self.model_t, Ztr, ttr, name, model_seed)
            m[test] = _proba(ps, Zte)
            for arm, out in ((0, g0), (1, g1)):
                model = _fit_regressor(self.model_y, Ztr[ttr == arm], ytr[ttr == arm], model_seed)
                out[test] = np.asarray(model.predict(Zte), dtype=float).ravel()
        if not (np.isfinite(g0).all() and np.isfinite(g1).all()):
            raise EstimationError(f"{name}: the outcome model predicted non-finite values")
        return m, g0, g1

    def ate(self) -> Estimate:
        """The average treatment effect from the cross-fitted AIPW score."""
        return _estimate(self, "ate")

    def effect(self, X: Any) -> np.ndarray:
        """Not available: the interactive model's scores give the ATE and the ATT, not a CATE."""
        raise EstimationError(f"{type(self).__name__} estimates the ATE and the ATT only (it takes no "
                              "effect_modifiers); for the CATE use DRLearner (the same AIPW scores regressed "
                              "on the effect modifiers), LinearDML or NonParamDML")

    def cate(self, data: pd.DataFrame) -> np.ndarray:
        """Not available: see :meth:`effect`."""
        return self.effect(data)

    def att(self) -> Estimate:
        """The average treatment effect on the treated from the cross-fitted orthogonal ATT score."""
        return _estimate(self, "att")


# --------------------------------------------------------------------------- NonParamDML
def default_final() -> Any:
    """The default final stage of :class:`NonParamDML`: shallow gradient boosting (single-threaded)
    whose leaves hold at least 5% of the total weight.

    A unit's pseudo-outcome ``Y_res / T_res`` is worth its weight ``T_res^2``: where the propensity
    is close to 0 or 1 the pseudo-outcomes are huge and nearly weightless, and a leaf of a few such
    units (20, with the former ``min_samples_leaf`` alone) predicts nonsense for its whole region.
    On Healthcare (``hidden_confounder=False``, 144,594 training units, protocol A vs standard care)
    one evaluation point in 2,000 got an effect 564 days off, and the PEHE was 8.6 times the
    constant true ATE's; with ``min_weight_fraction_leaf=0.05`` it is 0.23 of it (worst error 1.7).

    >>> default_final().min_weight_fraction_leaf
    0.05
    """
    from sklearn.ensemble import GradientBoostingRegressor

    return GradientBoostingRegressor(n_estimators=100, max_depth=2, min_samples_leaf=20,
                                     min_weight_fraction_leaf=0.05)


class NonParamDML(_Residualiser):
    """Double ML with a nonparametric final stage: ``theta(X)`` by any weighted regressor.

    Residualises as :class:`LinearDML`, then fits ``model_final`` to the
    pseudo-outcome ``Y_res / T_res`` on the effect modifiers with sample
    weights ``T_res^2`` (units with ``T_res = 0`` carry no weight and are
    left out); this minimises the R-learner loss ``sum (Y_res - theta(X) T_res)^2``.
    With ``repeats=K``, ``effect(X)`` is the median of the ``K`` final models'
    predictions. No intervals: ``effect_interval`` and ``ate`` raise; use
    :class:`LinearDML` (``theta`` linear in the modifiers) or :class:`InteractiveDML`.

    Parameters
    ----------
    model_y, model_t, folds, repeats, random_state, overlap_warn
        As for :class:`LinearDML`.
    model_final : scikit-learn regressor accepting ``sample_weight``, optional
        Default :func:`default_final` (gradient boosting, depth 2, 100 trees, leaves of at least
        5% of the total weight).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.normal(size=(2, 4000))
    >>> t = w + rng.normal(size=4000)
    >>> y = np.where(x > 0, 2, 0) * t + w + rng.normal(size=4000)
    >>> df = pd.DataFrame({"w": w, "x": x, "t": t, "y": y})
    >>> est = NonParamDML().fit(df, treatment="t", outcome="y", covariates=["w"], effect_modifiers=["x"])
    >>> [round(float(v)) for v in est.effect(pd.DataFrame({"x": [-1.0, 1.0]}))]
    [0, 2]
    """

    #: ``ate()`` refuses (no standard errors); :func:`~causal.estimators.checks.check_estimator` checks
    #: ``effect(X)`` instead.
    ate_interval: ClassVar[bool] = False

    def __init__(self, model_y: Any = None, model_t: Any = None, model_final: Any = None, folds: int = 5,
                 repeats: int = 1, random_state: Any = 0, overlap_warn: float = 0.01) -> None:
        self.model_y = model_y
        self.model_t = model_t
        self.model_final = model_final
        self.folds = folds
        self.repeats = repeats
        self.random_state = random_state
        self.overlap_warn = overlap_warn

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None,
            effect_modifiers: Sequence[str] | str | None = None) -> NonParamDML:
        """Residualise, then fit the final model on the weighted pseudo-outcome; return ``self``."""
        from sklearn.pipeline import Pipeline
        from sklearn.utils.validation import has_fit_parameter

        name = type(self).__name__
        if not _names(effect_modifiers):
            raise EstimationError(f"{name}: effect_modifiers are required (theta(X) is fitted on them); "
                                  "for a constant effect use LinearDML or InteractiveDML")
        _check_model(self.model_final, "model_final", name)
        final = default_final() if self.model_final is None else self.model_final
        last = final[-1] if isinstance(final, Pipeline) else final
        if not has_fit_parameter(last, "sample_weight"):
            raise EstimationError(f"{name}: model_final {final!r} does not accept sample_weight in fit; the "
                                  "final stage weights each unit by its squared treatment residual")
        key = f"{final.steps[-1][0]}__sample_weight" if isinstance(final, Pipeline) else "sample_weight"
        d, runs, diag = self._fit_residuals(data, treatment, outcome, covariates, effect_modifiers)
        models = []
        with _one_thread():
            for (ry, rt), seed in zip(runs, _repeat_seeds(self.random_state, len(runs)), strict=True):
                keep = rt != 0
                model = seeded_clone(final, seed if isinstance(seed, int) else None)
                model.fit(d.X[keep], ry[keep] / rt[keep], **{key: rt[keep] ** 2})
                models.append(model)
        self.final_models_ = models
        self.diagnostics_ = diag
        self.fitted_ = True
        return self

    def effect(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """``theta(x)`` for each row of the effect modifiers (the median over repetitions)."""
        M = _modifier_rows(self, X)
        with _one_thread():
            preds = np.array([np.asarray(m.predict(M), dtype=float).ravel() for m in self.final_models_])
        return np.median(preds, axis=0)

    def effect_interval(self, X: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Not available: a nonparametric final stage comes without valid intervals."""
        raise EstimationError(f"{type(self).__name__} gives no intervals for theta(X); use LinearDML "
                              "(effect_interval for theta linear in the effect modifiers) or InteractiveDML "
                              "(ATE/ATT with standard errors)")

    def ate(self) -> Estimate:
        """Not available: see :meth:`effect_interval`; ``effect(X).mean()`` is a point estimate."""
        self._check_fitted()
        raise EstimationError(f"{type(self).__name__} gives no standard errors; for the ATE with an interval "
                              "use LinearDML or InteractiveDML (effect(X).mean() is a point estimate)")
