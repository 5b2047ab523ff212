"""Weighting estimators: inverse-probability weighting (IPW) and doubly robust AIPW.

Under no unmeasured confounding given covariates ``X`` and overlap
``0 < e(X) < 1``, where ``e(X) = P(T = 1 | X)`` is the propensity score, the
average treatment effect is a weighted contrast of observed outcomes::

    ATE = E[T Y / e(X)] - E[(1 - T) Y / (1 - e(X))]

* :class:`IPW` plugs in a fitted propensity score: Horvitz & Thompson's (1952)
  estimator, or Hájek's normalised version, which divides by the sum of the
  weights in each arm and so is location invariant and usually more stable.
* :class:`AIPW` adds an outcome regression ``mu_t(X) = E[Y | T = t, X]`` and
  weights only its residuals (Robins, Rotnitzky & Zhao 1994)::

      phi = mu_1(X) - mu_0(X) + T (Y - mu_1(X)) / e(X) - (1 - T) (Y - mu_0(X)) / (1 - e(X))

  The mean of ``phi`` is consistent when *either* the propensity model *or*
  the outcome model is correct (double robustness; Bang & Robins 2005), and
  efficient when both are (Hahn 1998). Cross-fitting (Chernozhukov et al.
  2018) lets flexible machine-learning nuisance models be used.

Standard errors come from the influence function, the per-unit contribution
to the estimator's error. When nuisance models are parametric and fitted on
the same data (no cross-fitting) — a (pipeline ending in a) logistic regression
with an L2 or no penalty for the propensity, a linear or ridge regression for
the outcome — their estimation is accounted for by M-estimation: the
estimating equations of the effect and of the nuisance fits are stacked and
the sandwich variance applies (Lunceford & Davidian 2004; Stefanski & Boos
2002). For IPW this *lowers* the standard error of the ATE compared with
treating the propensities as known. Other nuisance models are treated as
known, which is valid for AIPW with cross-fitting when both are consistent
(the score is Neyman orthogonal) and conservative for the IPW ATE with a
correctly specified propensity. ``Estimate.diagnostics["nuisance_accounted"]``
says which ones were accounted for.

Nuisance models are any scikit-learn estimators; each receives the covariates
as a float array with columns in the order of ``covariates`` (select columns by
position, e.g. in a ``ColumnTransformer``), and is cloned before fitting.

Overlap is checked on every fit: a propensity of exactly 0 or 1 (perfect
separation) raises :class:`~causal.errors.EstimationError`; propensities outside
``[overlap_warn, 1 - overlap_warn]``, or weights whose Kish effective sample size
falls below :data:`MIN_ESS_FRACTION` of an arm, emit an :class:`OverlapWarning`
with the range, the count and the effective sample size of the weights used.
Trimming (``trim=``) *drops* units outside a propensity range (Crump, Hotz,
Imbens & Mitnik 2009): the estimand becomes the effect in that overlap
population. It acts on the propensities the scores use (out-of-fold ones when
:class:`AIPW` cross-fits) and refits nothing, since ``e(X)`` and ``E[Y | T, X]``
are the same functions in a population selected on ``X`` — a refit on the
smaller sample would only extrapolate to new extreme propensities. Nuisances
fitted on all units still enter the sandwich through their estimating
equations over all units (the retained set taken as fixed).

:class:`AIPW` also clips the propensities in its scores to ``[clip, 1 - clip]``
(default 0.01, so no residual is weighted by more than 100): out-of-fold
propensities can be far more extreme than in-sample ones (a training fold
without any treated unit of a rare covariate cell sends that coefficient
towards infinity), and a few residuals divided by ``1e-5`` then swamp the
estimate. Clipping changes only the weights of the outcome residuals, so the
score stays unbiased when the outcome model is correct; the intervals account
for it (the scores and their influence function use the clipped propensities,
and a clipped propensity does not move with the propensity fit in the stacked
equations). :class:`IPW` does not clip: its clipped weights would estimate a
hybrid, not the effect; trim instead.

References
----------
D. G. Horvitz and D. J. Thompson (1952), "A generalization of sampling without
replacement from a finite universe", *JASA* 47(260).
J. M. Robins, A. Rotnitzky and L. P. Zhao (1994), "Estimation of regression
coefficients when some regressors are not always observed", *JASA* 89(427).
J. Hahn (1998), "On the role of the propensity score in efficient
semiparametric estimation of average treatment effects", *Econometrica* 66(2).
J. K. Lunceford and M. Davidian (2004), "Stratification and weighting via the
propensity score in estimation of causal treatment effects: a comparative
study", *Statistics in Medicine* 23(19).
H. Bang and J. M. Robins (2005), "Doubly robust estimation in missing data and
causal inference models", *Biometrics* 61(4).
J. D. Y. Kang and J. L. Schafer (2007), "Demystifying double robustness",
*Statistical Science* 22(4).
R. K. Crump, V. J. Hotz, G. W. Imbens and O. A. Mitnik (2009), "Dealing with
limited overlap in estimation of average treatment effects", *Biometrika* 96(1).
V. Chernozhukov et al. (2018), "Double/debiased machine learning for treatment
and structural parameters", *The Econometrics Journal* 21(1).
E. E. M. Moodie, O. Saarela and D. A. Stephens (2018), "A doubly robust
weighting estimator of the average treatment effect on the treated", *Stat* 7(1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from causal.errors import EstimationError
from causal.estimators._fastfit import single_threaded
from causal.estimators._overlap import OverlapWarning, overlap_diagnostics
from causal.estimators.base import BaseEstimator, Estimate, as_binary, check_columns
from causal.estimators.nuisance import (
    _correction,
    _fit_propensity,
    _fit_propensity_input,
    _fit_regressor,
    _glm_design,
    _proba,
    default_propensity,
    seeded_clone,
)

__all__ = ["IPW", "AIPW", "MIN_ESS_FRACTION", "OverlapWarning", "default_propensity", "seeded_clone"]


# --------------------------------------------------------------------------- validation
def _check_settings(est: Any, name: str) -> tuple[float, float] | None:
    """Validate the shared settings; return the trimming bounds (or None)."""
    if not (isinstance(est.level, float | int) and 0 < est.level < 1):
        raise EstimationError(f"{name}: level must be in (0, 1), got {est.level!r}")
    if not (isinstance(est.overlap_warn, float | int) and 0 <= est.overlap_warn < 0.5):
        raise EstimationError(f"{name}: overlap_warn must be in [0, 0.5), got {est.overlap_warn!r}")
    clip = getattr(est, "clip", 0.0)
    if isinstance(clip, bool) or not (isinstance(clip, float | int) and 0 <= clip < 0.5):
        raise EstimationError(f"{name}: clip must be a number in [0, 0.5) (the scores use propensities "
                              f"clipped to [clip, 1 - clip]; 0 disables), got {clip!r}")
    trim = est.trim
    if trim is None:
        return None
    if isinstance(trim, float | int) and not isinstance(trim, bool):
        if not 0 < trim < 0.5:
            raise EstimationError(f"{name}: trim as a number is the margin eps (keep units with "
                                  f"eps <= e(X) <= 1 - eps) and must be in (0, 0.5), got {trim!r}")
        return float(trim), 1.0 - float(trim)
    try:
        low, high = (float(v) for v in trim)
    except (TypeError, ValueError):
        raise EstimationError(f"{name}: trim must be None, a margin eps in (0, 0.5) or a pair "
                              f"(low, high), got {trim!r}") from None
    if not 0 <= low < high <= 1:
        raise EstimationError(f"{name}: trim=(low, high) needs 0 <= low < high <= 1, got {trim!r}")
    return low, high


def _prepare(data: pd.DataFrame, name: str, treatment: str, outcome: str,
             covariates: Sequence[str] | str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    covs = [covariates] if isinstance(covariates, str) else list(covariates or [])
    frame = check_columns(data, estimator=name, treatment=treatment, outcome=outcome, covariates=covs)
    if not covs:
        raise EstimationError(f"{name}: covariates are required to model the propensity score; "
                              "for a randomised experiment without covariates use DifferenceInMeans")
    for role, col in (("treatment", treatment), ("outcome", outcome)):
        if col in covs:
            raise EstimationError(f"{name}: the {role} {col!r} is also listed as a covariate; the "
                                  f"{role} cannot adjust for itself — drop it from covariates")
    t = as_binary(frame[treatment], estimator=name)
    _check_arms(t, name)
    return frame[covs].to_numpy(dtype=float), t, frame[outcome].to_numpy(dtype=float)


def _check_arms(t: np.ndarray, name: str, after: str = "") -> None:
    n1 = int(t.sum())
    if n1 < 2 or len(t) - n1 < 2:
        raise EstimationError(f"{name}: need at least two treated and two control units{after} "
                              f"(got {n1} and {len(t) - n1})")


# --------------------------------------------------------------------------- overlap
_TRIM_ADVICE = ("Trim (e.g. trim={suggest:g} drops units with propensity outside [{suggest:g}, {upper:g}]; "
                "the estimand becomes the effect in the overlap population), or change the estimand: "
                "att() needs only propensities away from 1")


#: :class:`OverlapWarning` also fires when the Kish effective sample size of either arm's weights is
#: below this fraction of the arm's units, even with every propensity inside the ``overlap_warn`` band:
#: then a tenth of the units carry the estimate. Measured at n = 1000: 0.75 to 0.94 on the confounded
#: designs of the tests, 0.37 on Kang & Schafer's (2007) misspecified one; the unclipped out-of-fold
#: weights of the IHDP-like design of ``test_extreme_propensity.py`` fall to 1 of 141 treated.
MIN_ESS_FRACTION = 0.1


def _overlap(e: np.ndarray, t: np.ndarray, name: str, warn_at: float,
             used: np.ndarray | None = None) -> dict[str, Any]:
    """Raise on perfect separation, warn on poor overlap; return the overlap diagnostics."""
    suggest = max(0.05, warn_at)
    return overlap_diagnostics(e, t, name, warn_at, _TRIM_ADVICE.format(suggest=suggest, upper=1 - suggest),
                               stacklevel=4, used=used, min_ess=MIN_ESS_FRACTION)


def _trim(e: np.ndarray, t: np.ndarray, bounds: tuple[float, float] | None, name: str) -> np.ndarray:
    """Which units to keep: those whose propensity ``e`` (as the scores use it) lies in ``bounds``.

    Nothing is refitted on the retained units: trimming selects on ``X``, and ``e(X)`` and
    ``E[Y | T, X]`` are the same functions in a population selected on ``X``; a refit on the smaller
    sample would only extrapolate to new extreme propensities.
    """
    if bounds is None:
        return np.ones(len(t), dtype=bool)
    kept = (e >= bounds[0]) & (e <= bounds[1])
    _check_arms(t[kept], name, after=f" after trimming to propensities in [{bounds[0]:g}, {bounds[1]:g}]")
    return kept


def _embed(rows: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """``rows`` of the retained units placed in an array over all units, zero for the dropped ones."""
    out = np.zeros((len(kept), *rows.shape[1:]))
    out[kept] = rows
    return out


def _finish(est: Any, name: str, values: np.ndarray, influence: np.ndarray, kept: np.ndarray,
            bounds: tuple[float, float] | None, diag: dict[str, Any]) -> None:
    """Store the results; ``influence`` has a row per retained unit, or per input row (then ``kept``
    selects the retained ones and the dropped rows carry only nuisance-estimation terms)."""
    se = influence.std(axis=0, ddof=1) / np.sqrt(len(influence))
    n = int(kept.sum())
    est.results_ = {"ate": (float(values[0]), float(se[0])), "att": (float(values[1]), float(se[1]))}
    est.ate_, est.att_ = float(values[0]), float(values[1])
    est.influence_ = {"ate": influence[:, 0], "att": influence[:, 1]}
    est.kept_ = kept
    est.n_ = n
    est.n_trimmed_ = int((~kept).sum())
    est.diagnostics_ = {**diag, "n_trimmed": est.n_trimmed_, "trim": bounds}
    est.fitted_ = True


def _estimate(est: Any, target: str) -> Estimate:
    est._check_fitted()
    value, se = est.results_[target]
    method = type(est).__name__ + (" (ATT)" if target == "att" else "")
    return Estimate.normal(value, se, method=method, n=est.n_, level=est.level,
                           diagnostics=dict(est.diagnostics_))


# --------------------------------------------------------------------------- IPW
class IPW(BaseEstimator):
    """Inverse-probability weighting: Horvitz–Thompson or Hájek, with a sandwich variance.

    Parameters
    ----------
    propensity : scikit-learn classifier with ``predict_proba``, optional
        Model of ``P(T = 1 | X)``; cloned before fitting. Default
        :func:`default_propensity`: standardised covariates and
        ``LogisticRegression(C=1e6)``, nearly unpenalised maximum likelihood.
    normalized : bool
        ``True`` (default): Hájek — weights normalised to sum to one in each arm.
        ``False``: Horvitz–Thompson — raw weights ``1/e`` and ``1/(1-e)``.
    trim : float or (float, float), optional
        Drop units with fitted propensity outside ``[eps, 1 - eps]`` (a float
        ``eps``) or ``[low, high]`` (Crump et al. 2009); the propensity model
        is not refitted (see the module notes). The estimand becomes the
        effect in the retained population; the count dropped is
        ``diagnostics["n_trimmed"]``.
    overlap_warn : float
        Emit :class:`OverlapWarning` when a propensity lies outside
        ``[overlap_warn, 1 - overlap_warn]`` (0 disables the warning).
    level : float
        Confidence level of the intervals.

    Attributes
    ----------
    propensity_ : ndarray
        Fitted propensities of the retained units (rows ``data[kept_]``).
    weights_ : ndarray
        ATE weights ``T/e + (1-T)/(1-e)`` of the retained units.
    propensity_model_ : the fitted classifier.
    influence_ : dict
        Per-unit influence-function values for ``"ate"`` and ``"att"``: of the
        retained units, or, when trimmed with a logistic propensity, of every
        input row (the dropped ones carry only the propensity-estimation term).
    kept_ : ndarray of bool
        Which input rows were used (all, unless trimmed).
    ate_, att_ : float

    Notes
    -----
    With a logistic propensity model (see the module notes) the standard
    errors account for its estimation through the stacked estimating
    equations; otherwise the propensities are treated as known.

    Small samples: the interval is a normal approximation and the Hájek ratio
    is skewed at small n. On the project's confounded design
    (``tests/causal/estimators/test_coverage.py``) the 95% interval covers
    93.1% ± 0.25 (10,000 replications) at n = 300, with the misses one-sided
    and the sandwich SE 6% below the sampling sd, and 94.0% ± 0.24 at
    n = 1000; expect less with fewer units or poorer overlap. A factor
    ``sqrt(n / (n - k))`` for the ``k`` stacked parameters gains 0.3 points.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=5000)
    >>> t = rng.binomial(1, 1 / (1 + np.exp(-x)))
    >>> df = pd.DataFrame({"x": x, "t": t, "y": 2 * t + x + rng.normal(size=5000)})
    >>> naive = df.y[df.t == 1].mean() - df.y[df.t == 0].mean()
    >>> bool(naive > 2.5)
    True
    >>> est = IPW().fit(df, treatment="t", outcome="y", covariates=["x"]).ate()
    >>> bool(est.ci_low < 2 < est.ci_high), est.method
    (True, 'IPW')
    """

    def __init__(self, propensity: Any = None, normalized: bool = True,
                 trim: float | tuple[float, float] | None = None, overlap_warn: float = 0.01,
                 level: float = 0.95) -> None:
        self.propensity = propensity
        self.normalized = normalized
        self.trim = trim
        self.overlap_warn = overlap_warn
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None) -> IPW:
        """Fit the propensity model and compute both the ATE and the ATT; return ``self``."""
        with single_threaded():  # small BLAS calls stall on busy cores
            name = type(self).__name__
            bounds = _check_settings(self, name)
            X, t, y = _prepare(data, name, treatment, outcome, covariates)
            model, e_fit, final_input = _fit_propensity_input(self.propensity, X, t, name)
            kept = _trim(e_fit, t, bounds, name)
            e, tk, yk = e_fit[kept], t[kept], y[kept]
            diag = _overlap(e, tk, name, self.overlap_warn)
            values, psi, dpsi_de = _ipw_scores(tk, yk, e, bool(self.normalized))
            design = _glm_design(model, X, "logistic", final_input)
            accounted: tuple[str, ...] = ()
            if design is not None:
                if not kept.all():  # the model was fitted on every unit: its equations run over all rows,
                    share = kept.mean()  # the effect's over the retained ones (a mean over all rows / share)
                    psi, dpsi_de = _embed(psi / share, kept), _embed(dpsi_de / share, kept)
                v = e_fit * (1 - e_fit)
                psi = psi + _correction(design, dpsi_de, v, v, t - e_fit)
                accounted = ("propensity",)
            self.propensity_ = e
            self.weights_ = np.where(tk == 1, 1 / e, 1 / (1 - e))
            self.propensity_model_ = model
            _finish(self, name, values, psi, kept, bounds,
                    {**diag, "normalized": bool(self.normalized), "nuisance_accounted": accounted})
            return self

    def ate(self) -> Estimate:
        """The average treatment effect (in the retained population when trimmed)."""
        return _estimate(self, "ate")

    def att(self) -> Estimate:
        """The average treatment effect on the treated: controls weighted by ``e/(1-e)``."""
        return _estimate(self, "att")


def _ipw_scores(t: np.ndarray, y: np.ndarray, e: np.ndarray,
                normalized: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates ``[ate, att]``, their influence functions ``psi`` (n, 2) and ``d psi / d e``."""
    n = len(t)
    p = t.mean()
    c = 1 - t
    ie, ic = 1 / e, 1 / (1 - e)
    a, b = t * ie, c * ic  # t / e and (1 - t) / (1 - e)
    if normalized:
        m1, m0 = a.mean(), b.mean()
        mu1, mu0 = (a @ y) / n / m1, (b @ y) / n / m0
        u1, u0 = a * (y - mu1) / m1, b * (y - mu0) / m0
        cr = b * e  # (1 - t) e / (1 - e)
        q = cr.mean()
        mu1t, mu0t = (t @ y) / n / p, (cr @ y) / n / q
        v0 = b * (y - mu0t) / q
        psi = np.stack([u1 - u0, t * (y - mu1t) / p - v0 * e])
        d = np.stack([-(u1 * ie + u0 * ic), -v0 * ic])
        values = np.array([mu1 - mu0, mu1t - mu0t])
    else:
        ay, by = a * y, b * y
        ate = (ay - by).mean()
        g = t * y - by * e
        att = g.mean() / p
        psi = np.stack([ay - by - ate, (g - t * att) / p])
        d = np.stack([-(ay * ie + by * ic), -by * ic / p])
        values = np.array([ate, att])
    return values, psi.T, d.T


# --------------------------------------------------------------------------- AIPW
class AIPW(BaseEstimator):
    """Augmented IPW: the doubly robust estimator of the ATE and the ATT, optionally cross-fitted.

    Parameters
    ----------
    propensity : scikit-learn classifier with ``predict_proba``, optional
        Model of ``P(T = 1 | X)``, cloned before fitting; default
        :func:`default_propensity` (nearly unpenalised logistic regression).
    outcome : scikit-learn regressor, optional
        Model of ``E[Y | X]`` fitted separately in each arm (a clone per arm
        and fold); default ``LinearRegression()``.
    cross_fit : int or None
        Number of folds for cross-fitting: nuisance predictions for each unit
        come from models fitted on the other folds (``KFold(shuffle=True)``).
        ``None`` or 1 fits and predicts on all the data.
    random_state : int, numpy Generator or None
        Seeds the fold split and the nuisance models whose own ``random_state``
        is unset (a Generator is drawn from once per fit). The default 0 makes
        refits on the same data identical; ``None`` draws the folds from
        NumPy's global random state.
    trim : float or (float, float), optional
        Drop units whose propensity (out-of-fold when cross-fitting, as the
        scores use it) lies outside ``[eps, 1 - eps]`` or ``[low, high]``. The
        nuisance models are not refitted: trimming selects on ``X``, which
        leaves ``e(X)`` and ``E[Y | T, X]`` unchanged, while a refit would
        extrapolate again. With ``cross_fit=None`` the standard error still
        accounts for the nuisance fits on every unit.
    clip : float
        The scores use the propensities clipped to ``[clip, 1 - clip]``
        (default 0.01: no residual weighted by more than 100; 0 disables).
        ``propensity_`` and the overlap range report the fitted values,
        ``diagnostics["n_clipped"]`` how many were clipped.
    overlap_warn : float
        :class:`OverlapWarning` threshold (0 disables): propensities outside
        ``[overlap_warn, 1 - overlap_warn]``, or an effective sample size of
        the (clipped) weights below :data:`MIN_ESS_FRACTION` of an arm.
    level : float
        Confidence level.

    Attributes
    ----------
    propensity_, mu0_, mu1_ : ndarray
        Fitted (out-of-fold when cross-fitting) nuisance predictions of the
        retained units; ``propensity_`` before clipping.
    scores_ : ndarray
        The per-unit AIPW pseudo-outcomes ``phi`` (with clipped propensities)
        whose mean is ``ate_``.
    influence_ : dict
        Per-unit influence-function values for ``"ate"`` and ``"att"``: of the
        retained units, or, when trimmed with ``cross_fit=None``, of every
        input row (the dropped ones carry only the nuisance-estimation terms).
    propensity_models_, outcome_models_ : list
        Fitted models, one (pair ``(arm 0, arm 1)``) per fold.
    kept_ : ndarray of bool
    ate_, att_ : float

    Notes
    -----
    The ATT uses the doubly robust score (Hahn 1998; Chernozhukov et al. 2018;
    Moodie et al. 2018)::

        ATT = sum_i [T_i - (1 - T_i) e_i / (1 - e_i)] (Y_i - mu_0(X_i)) / n_1

    Without cross-fitting, parametric nuisance fits (logistic propensity,
    linear or ridge outcome) enter the sandwich variance, which then stays
    valid when one of the two models is misspecified. With cross-fitting or
    other learners the nuisances are treated as known, which the orthogonal
    score justifies when both converge.

    Out-of-fold propensities can be far more extreme than in-sample ones. On
    an IHDP-like design (``tests/causal/estimators/test_extreme_propensity.py``:
    747 units, 25 covariates, near separation, true effect 4) the unclipped
    2-fold estimate had mean 10.5, sd 50.4 over 100 outcome draws; with
    ``clip=0.01`` 4.06, sd 0.90; in-sample (``cross_fit=None``) 3.99, sd 0.15.
    With a small effective sample size in the warning, prefer ``cross_fit=None``
    with parametric nuisances, more folds, or trimming.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> x = rng.normal(size=4000)
    >>> t = rng.binomial(1, 1 / (1 + np.exp(-x)))
    >>> df = pd.DataFrame({"x": x, "t": t, "y": t * (1 + x) + 2 * x + rng.normal(size=4000)})
    >>> est = AIPW(cross_fit=2, random_state=0).fit(df, treatment="t", outcome="y", covariates=["x"])
    >>> ate = est.ate()
    >>> bool(ate.ci_low < 1 < ate.ci_high), ate.method, est.scores_.shape
    (True, 'AIPW', (4000,))
    """

    def __init__(self, propensity: Any = None, outcome: Any = None, cross_fit: int | None = 2,
                 random_state: Any = 0, trim: float | tuple[float, float] | None = None,
                 clip: float = 0.01, overlap_warn: float = 0.01, level: float = 0.95) -> None:
        self.propensity = propensity
        self.outcome = outcome
        self.cross_fit = cross_fit
        self.random_state = random_state
        self.trim = trim
        self.clip = clip
        self.overlap_warn = overlap_warn
        self.level = level

    def _folds(self, name: str) -> int:
        k = self.cross_fit
        if k is None:
            return 1
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise EstimationError(f"{name}: cross_fit must be None or a positive number of folds, got {k!r}")
        return int(k)

    def _seed(self) -> Any:
        """The fit's seed: ``random_state``, or one draw from it when it is a Generator."""
        seed = self.random_state
        if isinstance(seed, np.random.Generator):
            seed = int(seed.integers(2**32))
        return seed

    def _nuisances(self, X: np.ndarray, t: np.ndarray, y: np.ndarray, k: int, name: str,
                   seed: Any) -> dict[str, Any]:
        n = len(t)
        model_seed = seed if isinstance(seed, int | np.integer) and not isinstance(seed, bool) else None
        if k == 1:
            splits = [(np.arange(n), np.arange(n))]
        else:
            if k > n:
                raise EstimationError(f"{name}: cross_fit={k} folds but only {n} units")
            splits = list(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.empty((n, 1))))
        e, mu0, mu1 = np.empty(n), np.empty(n), np.empty(n)
        ps_models, out_models = [], []
        for train, test in splits:
            tt = t[train]
            if min(tt.sum(), len(tt) - tt.sum()) < 2:
                raise EstimationError(f"{name}: a cross-fitting training fold has fewer than two treated or "
                                      "two control units; use fewer folds (cross_fit) or more data")
            Xtr = X[train]
            ps, _ = _fit_propensity(self.propensity, Xtr, tt, name, model_seed)
            arms = tuple(_fit_regressor(self.outcome, Xtr[tt == a],
                                        y[train][tt == a], model_seed) for a in (0, 1))
            Xte = X[test]
            e[test] = _proba(ps, Xte)
            mu0[test] = arms[0].predict(Xte)
            mu1[test] = arms[1].predict(Xte)
            ps_models.append(ps)
            out_models.append(arms)
        return {"e": e, "mu0": mu0, "mu1": mu1, "ps": ps_models, "out": out_models}

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None) -> AIPW:
        """Fit the nuisance models (per fold) and compute both the ATE and the ATT; return ``self``."""
        with single_threaded():  # small BLAS calls stall on busy cores
            name = type(self).__name__
            bounds = _check_settings(self, name)
            k = self._folds(name)
            X, t, y = _prepare(data, name, treatment, outcome, covariates)
            nu = self._nuisances(X, t, y, k, name, self._seed())
            e_fit, mu0, mu1 = nu["e"], nu["mu0"], nu["mu1"]
            kept = _trim(e_fit, t, bounds, name)  # on the propensities the scores use (out-of-fold ones)
            clip = float(self.clip)
            e = np.clip(e_fit, clip, 1 - clip)
            diag = _overlap(e_fit[kept], t[kept], name, self.overlap_warn, used=e[kept])
            c = 1 - t
            w = kept.astype(float)
            w_ate, w_att = w / w.mean(), w / (w @ t / len(t))  # a mean over the retained (treated) units
            phi = mu1 - mu0 + t * (y - mu1) / e - c * (y - mu0) / (1 - e)
            g = (t - c * e / (1 - e)) * (y - mu0)
            values = np.array([(w_ate @ phi) / len(t), (w @ g) / (w @ t)])
            psi = np.column_stack([w_ate * (phi - values[0]), w_att * (g - t * values[1])])
            accounted: list[str] = []
            if k == 1:
                psi = psi + self._m_correction(X, t, y, e_fit, e, mu0, mu1, (w_ate, w_att), nu, accounted)
            # cross-fitted nuisances are treated as known: dropped units add nothing
            if not kept.all() and k > 1:
                psi = psi[kept] * w.mean()  # per retained unit: (phi - ate) and (g - t att) / share treated
            self.propensity_, self.mu0_, self.mu1_ = e_fit[kept], mu0[kept], mu1[kept]
            self.scores_ = phi[kept]
            self.propensity_models_, self.outcome_models_ = nu["ps"], nu["out"]
            n_clipped = int(((e_fit[kept] < clip) | (e_fit[kept] > 1 - clip)).sum())
            _finish(self, name, values, psi, kept, bounds,
                    {**diag, "cross_fit": k if k > 1 else None, "nuisance_accounted": tuple(accounted),
                     "clip": (clip, 1 - clip), "n_clipped": n_clipped})
            return self

    @staticmethod
    def _m_correction(X: np.ndarray, t: np.ndarray, y: np.ndarray, e_fit: np.ndarray, e: np.ndarray,
                      mu0: np.ndarray, mu1: np.ndarray, weights: tuple[np.ndarray, np.ndarray],
                      nu: dict[str, Any], accounted: list[str]) -> np.ndarray:
        """Stacked-equation corrections for parametric nuisances fitted on the same data.

        ``e_fit`` are the fitted propensities, ``e`` the clipped ones the scores use: a clipped
        propensity does not move with the fit (``d e / d eta = 0``), an unclipped one moves by
        ``e (1 - e)``. ``weights`` turn the scores into means over the retained (treated) units,
        while the nuisance equations run over every unit, as the nuisances were fitted on all.
        """
        c = 1 - t
        w_ate, w_att = weights
        out = np.zeros((len(t), 2))
        design = _glm_design(nu["ps"][0], X, "logistic")
        if design is not None:
            d_e = np.column_stack([w_ate * (-t * (y - mu1) / e**2 - c * (y - mu0) / (1 - e) ** 2),
                                   -w_att * c * (y - mu0) / (1 - e) ** 2])
            v = e_fit * (1 - e_fit)
            out += _correction(design, d_e, v * (e == e_fit), v, t - e_fit)
            accounted.append("propensity")
        ones = np.ones(len(t))
        d_mu = {0: np.column_stack([w_ate * (c / (1 - e) - 1), w_att * (c * e / (1 - e) - t)]),
                1: np.column_stack([w_ate * (1 - t / e), np.zeros(len(t))])}
        for arm, mu, ind in ((0, mu0, c), (1, mu1, t)):
            design = _glm_design(nu["out"][0][arm], X, "linear")
            if design is not None:
                out += _correction(design, d_mu[arm], ones, ind, ind * (y - mu))
                accounted.append(f"outcome[{arm}]")
        return out

    def ate(self) -> Estimate:
        """The doubly robust average treatment effect (in the retained population when trimmed)."""
        return _estimate(self, "ate")

    def att(self) -> Estimate:
        """The doubly robust average treatment effect on the treated."""
        return _estimate(self, "att")
