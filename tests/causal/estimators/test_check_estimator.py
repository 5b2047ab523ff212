"""``check_estimator`` passes for every registered estimator, and fails, naming the check, on broken ones.

The conformance suite runs per estimator and per check (``parametrize_with_checks``,
as in scikit-learn). The second half builds small estimators that break one
promise each and asserts that the matching check catches it: a check that
cannot fail would prove nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures

import causal.estimators as estimators
from causal.errors import EstimationError
from causal.estimators import (
    AIPW,
    IPW,
    METHODS,
    BaseEstimator,
    CausalForest,
    DiD,
    DifferenceInMeans,
    DRLearner,
    Estimate,
    FrontDoor,
    NonParamDML,
    PropensityMatching,
    RegressionAdjustment,
    RLearner,
    SLearner,
    TLearner,
    XLearner,
    check_estimator,
)
from causal.estimators.base import as_binary, check_columns
from causal.estimators.checks import CHECKS, estimator_checks, parametrize_with_checks
from causal.estimators.designs import (
    DESIGNS,
    Design,
    backdoor_design,
    design_for,
    experiment_design,
    iv_design,
)

_LIN = LinearRegression()

#: The heterogeneous-effect estimators with linear nuisance and final models (well specified on
#: designs.cate_design: the effect 2 + x3 is linear; the S-learner's outcome model has the t * x3
#: product) and a small forest: each fits in about 0.05 s instead of 0.5-2 s with the default boosting,
#: which the slow test_conformance_on_other_seeds checks.
FAST = {
    SLearner: SLearner(outcome=make_pipeline(PolynomialFeatures(2), LinearRegression()), final=_LIN),
    TLearner: TLearner(outcome=_LIN, final=_LIN),
    XLearner: XLearner(outcome=_LIN, final=_LIN, propensity=LogisticRegression()),
    DRLearner: DRLearner(outcome=_LIN, final=_LIN, propensity=LogisticRegression()),
    RLearner: RLearner(outcome=_LIN, final=_LIN, propensity=LogisticRegression()),
    NonParamDML: NonParamDML(model_final=_LIN),
    CausalForest: CausalForest(num_trees=20, cross_fit=2, propensity=LogisticRegression(), outcome=_LIN),
}

#: Every registered estimator (with its defaults, or fast models as above), and the variants that take
#: other code paths.
ESTIMATORS = [FAST[cls] if cls in FAST else cls() for cls in DESIGNS] + [
    RegressionAdjustment(interacted=False), IPW(normalized=False), AIPW(cross_fit=None),
    PropensityMatching(bias_correction=True), FrontDoor(kind="plugin"), DiD(design="twfe"),
    DiD(design="2x2"), DiD(control="notyet"),
]
#: The slow runs add the heterogeneous-effect estimators with their default (boosted) models.
SLOW_EXTRA = [cls() for cls in FAST]

def expected_failures(est: Any) -> dict[str, str]:
    """The checks known to fail, by estimator (``xfail(strict=True)``: they fail the suite once fixed)."""
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_conformance(estimator: Any, check: Any) -> None:
    check(estimator)


def test_every_estimator_has_a_design() -> None:
    """A new estimator class cannot slip past the suite: each exported or registered one has a design."""
    exported = [getattr(estimators, name) for name in estimators.__all__]
    # every exported effect estimator (a BaseEstimator with ate(); PolicyTree learns a policy, not an effect)
    classes = {c for c in exported if isinstance(c, type) and issubclass(c, BaseEstimator)
               and hasattr(c, "ate")} - {BaseEstimator}
    assert classes | set(METHODS.values()) <= set(DESIGNS)
    for cls in DESIGNS:
        design = design_for(cls())
        assert isinstance(design, Design) and np.isfinite(design.truth)


def test_designs_are_seeded() -> None:
    for cls in DESIGNS:
        a, b, c = design_for(cls(), 3), design_for(cls(), 3), design_for(cls(), 4)
        pd.testing.assert_frame_equal(a.data, b.data)
        assert not a.data.equals(c.data)


class Mine(DifferenceInMeans):
    pass


class Other(BaseEstimator):
    pass


def test_unknown_estimator_needs_a_design() -> None:
    check_estimator(Mine())  # a subclass takes its base class's design
    with pytest.raises(EstimationError, match="no known design for Other; pass design="):
        check_estimator(Other())
    with pytest.raises(EstimationError, match="design must be a causal.estimators.checks.Design"):
        check_estimator(DifferenceInMeans(), design=experiment_design(0).data)


def test_the_error_names_estimator_and_check() -> None:
    with pytest.raises(AssertionError, match=r"^check_estimator\(IPW\(normalized=False\)\): check "
                                              r"'covers the truth' failed: ate\(\): .* misses the truth 7"):
        d = backdoor_design(0)
        check_estimator(IPW(normalized=False), design=Design(d.data, d.roles, 7.0, "backdoor"))


def test_expected_failures_must_name_checks() -> None:
    with pytest.raises(EstimationError, match="no checks named \\['no such check'\\]"):
        parametrize_with_checks([DifferenceInMeans()], expected_failed_checks=lambda e: {"no such check": ""})


# ----------------------------------------------------------------------------- broken estimators
class Naive(BaseEstimator):
    """A correct difference in means (the base of the broken variants below)."""

    def __init__(self, level: float = 0.95) -> None:
        self.level = level

    def _arrays(self, data: pd.DataFrame, treatment: str, outcome: str) -> tuple[np.ndarray, np.ndarray]:
        frame = check_columns(data, estimator="Naive", treatment=treatment, outcome=outcome)
        return as_binary(frame[treatment], estimator="Naive"), frame[outcome].to_numpy(dtype=float)

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | None = None) -> Any:
        t, y = self._arrays(data, treatment, outcome)
        self._store(t, y)
        return self

    def _store(self, t: np.ndarray, y: np.ndarray) -> None:
        y1, y0 = y[t == 1], y[t == 0]
        self.ate_ = float(np.mean(y1) - np.mean(y0))
        self.stderr_ = float(np.sqrt(np.var(y1, ddof=1) / len(y1) + np.var(y0, ddof=1) / len(y0)))
        self.n_ = len(y)
        self.fitted_ = True

    def ate(self) -> Estimate:
        self._check_fitted()
        return Estimate.normal(self.ate_, self.stderr_, method="Naive", n=self.n_, level=self.level)


class ValidatesInInit(Naive):
    def __init__(self, level: float = 0.95) -> None:
        if not 0 < level < 1:
            raise EstimationError("level must be in (0, 1)")
        self.level = level


class RenamesParameter(Naive):
    def __init__(self, level: float = 0.95) -> None:
        self._level = self.level = level


class ReturnsNone(Naive):
    def fit(self, data: pd.DataFrame, **roles: Any) -> Any:  # type: ignore[override]
        super().fit(data, **roles)
        return None


class GlobalNoise(Naive):
    """Jitters its estimate with NumPy's global random state."""

    def _store(self, t: np.ndarray, y: np.ndarray) -> None:
        super()._store(t, y)
        self.ate_ += 1e-9 * np.random.standard_normal()


class Sticky(Naive):
    """Keeps the first fit's estimate on every later fit."""

    def _store(self, t: np.ndarray, y: np.ndarray) -> None:
        first = getattr(self, "ate_", None)
        super()._store(t, y)
        if first is not None:
            self.ate_ = first


class MutatesData(Naive):
    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | None = None) -> Any:
        data[outcome] = data[outcome] - data[outcome].mean()
        return super().fit(data, treatment=treatment, outcome=outcome)


class NanTolerant(Naive):
    """Drops missing outcomes silently instead of saying so."""

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | None = None) -> Any:
        clean = data.dropna(subset=[outcome])
        return super().fit(clean, treatment=treatment, outcome=outcome)


class Overconfident(Naive):
    """Reports a hundredth of its standard error: intervals that miss."""

    def _store(self, t: np.ndarray, y: np.ndarray) -> None:
        super()._store(t, y)
        self.stderr_ /= 100


class Unbounded(Naive):
    """An interval that covers everything (as a permutation interval with too few placebos does)."""

    def ate(self) -> Estimate:
        est = super().ate()
        return Estimate(est.value, est.stderr, -np.inf, np.inf, est.level, "Unbounded", est.n)


class NoFitCheck(Naive):
    def ate(self) -> Estimate:
        return Estimate.normal(getattr(self, "ate_", 0.0), getattr(self, "stderr_", 1.0), method="x", n=0)


class Regression(BaseEstimator):
    """OLS adjustment with no overlap check: silent on separated data."""

    def __init__(self, level: float = 0.95) -> None:
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str, covariates: Sequence[str]) -> Any:
        frame = check_columns(data, estimator="Regression", treatment=treatment, outcome=outcome,
                              covariates=covariates)
        t = as_binary(frame[treatment], estimator="Regression")
        X = np.column_stack([np.ones(len(t)), t, frame[list(covariates)].to_numpy(dtype=float)])
        y = frame[outcome].to_numpy(dtype=float)
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - X @ beta
        cov = np.linalg.inv(X.T @ X) * (resid @ resid) / (len(y) - X.shape[1])
        self.ate_, self.stderr_ = float(beta[1]), float(np.sqrt(cov[1, 1]))
        self.n_, self.fitted_ = len(y), True
        return self

    def ate(self) -> Estimate:
        self._check_fitted()
        return Estimate.normal(self.ate_, self.stderr_, method="Regression", n=self.n_, level=self.level)


class RatioIV(BaseEstimator):
    """``cov(z, y) / cov(z, t)`` with no instrument checks."""

    def __init__(self, level: float = 0.95) -> None:
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str, instrument: str) -> Any:
        frame = check_columns(data, estimator="RatioIV", treatment=treatment, outcome=outcome,
                              instrument=instrument)
        z, t, y = (frame[c].to_numpy(dtype=float) for c in (instrument, treatment, outcome))
        if np.ptp(t) == 0:
            raise EstimationError("RatioIV: the treatment is constant")
        zc = z - z.mean()
        beta = (zc @ y) / (zc @ t)
        e = y - y.mean() - beta * (t - t.mean())
        self.ate_ = float(beta)
        self.stderr_ = float(np.sqrt(np.sum(zc**2 * e**2)) / abs(zc @ t))
        self.n_, self.fitted_ = len(y), True
        return self

    def ate(self) -> Estimate:
        self._check_fitted()
        return Estimate.normal(self.ate_, self.stderr_, method="RatioIV", n=self.n_, level=self.level)


def _check(est: Any, name: str, design: Design) -> None:
    dict(estimator_checks(est, design=design))[name](est)


EXPERIMENT = experiment_design(0, n=1000)
BACKDOOR = backdoor_design(0, n=1000)
IV = iv_design(0, n=1000, covariates=False)


def test_the_correct_estimators_pass() -> None:
    check_estimator(Naive(), design=EXPERIMENT)
    check_estimator(RatioIV(), design=Design(IV.data, IV.roles, IV.truth, "experiment"))


@pytest.mark.parametrize("est, design, check, message", [
    (ValidatesInInit(), EXPERIMENT, "init stores params", "__init__ validates its arguments"),
    (RenamesParameter(), EXPERIMENT, "init stores params", r"sets attributes \['_level'\]"),
    (ReturnsNone(), EXPERIMENT, "fit returns self", "fit returned NoneType, not self"),
    (MutatesData(), EXPERIMENT, "fit returns self", "fit modified the data frame"),
    (GlobalNoise(), EXPERIMENT, "same data, same bytes", "differs between a fit and a second fit"),
    (GlobalNoise(), EXPERIMENT, "no global random state", "advanced the global random state"),
    (Sticky(), EXPERIMENT, "refit forgets", "keeps state from the previous fit"),
    (NanTolerant(), EXPERIMENT, "NaN and inf", "NaN in the outcome column 'y'.*fitted without an error"),
    (Overconfident(), EXPERIMENT, "covers the truth", "the 0.999 interval .* misses the truth 2"),
    (Unbounded(), BACKDOOR, "covers the truth", r"the estimate 2.6\d* is \d+.\d standard errors"),
    (NoFitCheck(), EXPERIMENT, "not fitted", r"ate\(\) before fit returned a result"),
    (Naive(), BACKDOOR, "covers the truth", "misses the truth 2"),          # confounded: biased by ~0.6
    (Naive(), BACKDOOR, "missing column", "covariates\\[0\\] column 'x1' missing: fitted without an error"),
    (Regression(), BACKDOOR, "perfect separation", "fitted silently; expected an EstimationError or a "
                                                   "OverlapWarning"),
    (Regression(), BACKDOOR, "poor overlap", "fitted silently"),
    (RatioIV(), IV, "bad instrument", "instrument = the treatment column: fitted without an error"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None)
def test_a_broken_estimator_fails_the_check(est: Any, design: Design, check: str, message: str) -> None:
    assert check in CHECKS
    with pytest.raises(AssertionError, match=rf"^check_estimator\({type(est).__name__}\(\)\): check "
                                             rf"'{check}' failed: .*{message}"):
        _check(est, check, design)


def test_difference_in_means_refuses_covariates() -> None:
    """It adjusts for nothing: covariates would be silently ignored (found by the 'missing column' check)."""
    with pytest.raises(EstimationError, match=r"adjusts for no covariates, but covariates=\['x1', 'x2'\]"):
        DifferenceInMeans().fit(BACKDOOR.data, **BACKDOOR.roles)
    with pytest.raises(EstimationError, match=r"covariates=\['x1'\]"):
        DifferenceInMeans().fit(BACKDOOR.data, treatment="t", outcome="y", covariates="x1")
    plain = DifferenceInMeans().fit(BACKDOOR.data, treatment="t", outcome="y", covariates=[]).ate()
    assert plain == DifferenceInMeans().fit(BACKDOOR.data, treatment="t", outcome="y").ate()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("est", ESTIMATORS + SLOW_EXTRA, ids=repr)
def test_conformance_on_other_seeds(est: Any, seed: int) -> None:
    """The suite is not tuned to seed 0 (each seed's coverage check fails a calibrated interval with
    probability 0.001; matching without bias correction, biased by about 0.4 standard errors with two
    covariates, about 0.004). The heterogeneous-effect estimators run here with their default models
    too (S-, T-, X-, R-learner and NonParamDML are checked on effect(X): PEHE below the constant true
    ATE's, about 1 against 0.1-0.4)."""
    for _, check in estimator_checks(est, seed=seed):
        check(est)
