"""The simple estimators' numerics: the Cholesky and QR routes of ``ols`` agree, collinearity is named,
the binary check, and the population-variance term of Lin's regression adjustment."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from causal.errors import EstimationError
from causal.estimators import simple
from causal.estimators._overlap import OverlapWarning
from causal.estimators.base import as_binary, check_columns, normal_interval
from causal.estimators.simple import RegressionAdjustment, ols


def _design(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.integers(0, 2, n), rng.normal(size=(n, 3)) * [1, 50, 0.01] + 2])
    y = X @ [1.0, 2.0, -1.0, 0.1, 30.0] + rng.normal(size=n) * (1 + np.abs(X[:, 2]))
    return X, y


@pytest.mark.parametrize("cov_type", ["HC0", "HC1", "HC2", "HC3"])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_cholesky_route_matches_qr(cov_type: str, layout: str) -> None:
    X, y = _design(2000)
    X = np.asarray(X, order=layout)
    beta, cov = ols(X, y, cov_type=cov_type)
    beta_qr, cov_qr = simple._ols_qr(X, y, cov_type=cov_type, names=None, estimator="OLS")
    np.testing.assert_allclose(beta, beta_qr, rtol=1e-10)
    np.testing.assert_allclose(cov, cov_qr, rtol=1e-10, atol=1e-12 * np.abs(cov_qr).max())


def test_ill_conditioned_design_takes_the_qr_route() -> None:
    X, y = _design(500)
    rng = np.random.default_rng(1)
    X = np.column_stack([X, X[:, 2] + 1e-5 * rng.normal(size=500)])  # nearly collinear, not exactly
    assert simple._chol_factor(np.ascontiguousarray(X.T)) is None
    beta, cov = ols(X, y)
    beta_qr, cov_qr = simple._ols_qr(X, y, cov_type="HC2", names=None, estimator="OLS")
    np.testing.assert_array_equal(beta, beta_qr)
    np.testing.assert_array_equal(cov, cov_qr)


@pytest.mark.parametrize("n", [50, 200_000])
def test_collinear_columns_are_named(n: int) -> None:
    X, y = _design(n)
    X = np.column_stack([X, 2 * X[:, 2] - X[:, 3]])
    with pytest.raises(EstimationError, match="x_dup is a linear combination"):
        ols(X, y, names=["intercept", "t", "a", "b", "c", "x_dup"])
    with pytest.raises(EstimationError, match="zero is a linear"):
        ols(np.column_stack([X[:, :3], np.zeros(n)]), y, names=["intercept", "t", "a", "zero"])


def test_bad_cov_type() -> None:
    X, y = _design(100)
    with pytest.raises(EstimationError, match="cov_type"):
        ols(X, y, cov_type="HC9")


def test_as_binary_fast_path_and_errors() -> None:
    np.testing.assert_array_equal(as_binary(np.array([0, 1, 1, 0]), estimator="E"), [0.0, 1.0, 1.0, 0.0])
    assert as_binary(np.array([True, False]), estimator="E").dtype == float
    with pytest.raises(EstimationError, match="constant"):
        as_binary(np.ones(5), estimator="E")
    with pytest.raises(EstimationError, match="binary 0/1"):
        as_binary(np.array([0, 1, 2]), estimator="E")


def test_check_columns_messages() -> None:
    df = pd.DataFrame({"a": [1.0, np.nan, 2.0], "b": [1.0, np.inf, 0.0], "c": ["x", "y", "z"],
                       "d": pd.array([1, None, 2], dtype="Int64"), "e": [1, 2, 3]})
    assert list(check_columns(df, estimator="E", outcome="e", covariates=["e"]).columns) == ["e"]
    with pytest.raises(EstimationError, match="'a' has 1 missing"):
        check_columns(df, estimator="E", outcome="a")
    with pytest.raises(EstimationError, match="'b' has infinite"):
        check_columns(df, estimator="E", outcome="b")
    with pytest.raises(EstimationError, match="'c' is not numeric"):
        check_columns(df, estimator="E", outcome="c")
    with pytest.raises(EstimationError, match="'d' has 1 missing"):
        check_columns(df, estimator="E", outcome="d")


def test_normal_interval_quantile() -> None:
    lo, hi = normal_interval(0.0, 1.0, 0.95)
    assert hi == pytest.approx(1.959963984540054, rel=1e-14) and lo == -hi


def _heterogeneous(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(2, n))
    t = (rng.random(n) < 1 / (1 + np.exp(-(0.2 + 0.8 * x1 - 0.5 * x2)))).astype(float)
    y = 1 + t * (2 + 0.5 * x1) + 2 * x1 - x2 + rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "t": t, "y": y})


def test_population_term_of_lin_variance() -> None:
    """The reported variance is the HC2 sandwich plus beta_int' Sigma beta_int / n (ATT: over the treated)."""
    df = _heterogeneous(3000, 0)
    est = RegressionAdjustment().fit(df, treatment="t", outcome="y", covariates=["x1", "x2"])
    X, t, y = df[["x1", "x2"]].to_numpy(), df["t"].to_numpy(), df["y"].to_numpy()
    for target, rows in (("ate", slice(None)), ("att", t == 1)):
        Xc = X - X[rows].mean(axis=0)
        D = np.column_stack([np.ones(len(y)), t, Xc, Xc * t[:, None]])
        beta, cov = simple._ols_qr(D, y, cov_type="HC2", names=None, estimator="OLS")
        b_int = beta[4:]
        expected = cov[1, 1] + b_int @ np.cov(X[rows].T) @ b_int / len(X[rows])
        value, se = est.results_[target]
        assert value == pytest.approx(beta[1], rel=1e-10)
        assert se == pytest.approx(np.sqrt(expected), rel=1e-10)
        assert se > np.sqrt(cov[1, 1])  # heterogeneous effect: the term is positive


def test_no_population_term_without_interactions_or_heterogeneity() -> None:
    df = _heterogeneous(2000, 1)
    plain = RegressionAdjustment(interacted=False).fit(df, treatment="t", outcome="y", covariates=["x1"])
    D = np.column_stack([np.ones(len(df)), df["t"], df["x1"] - df["x1"].mean()])
    _, cov = simple._ols_qr(D, df["y"].to_numpy(), cov_type="HC2", names=None, estimator="OLS")
    assert plain.ate().stderr == pytest.approx(np.sqrt(cov[1, 1]), rel=1e-10)
    no_covs = RegressionAdjustment().fit(df, treatment="t", outcome="y")
    assert np.isfinite(no_covs.ate().stderr) and no_covs.att().stderr == no_covs.ate().stderr


@pytest.mark.parametrize("interacted", [True, False])
def test_perfect_separation_raises_as_weighting_does(interacted: bool) -> None:
    # A covariate that perfectly predicts treatment: RegressionAdjustment used to extrapolate silently
    # (ATE 2.16 here) where IPW/AIPW/PropensityMatching raise. Deterministic: no tolerance.
    x = np.linspace(-3, 3, 400)
    rng = np.random.default_rng(0)
    t = (x > 0).astype(int)
    data = pd.DataFrame({"x": x, "w": rng.normal(size=400), "t": t, "y": 2 * t + x + rng.normal(size=400)})
    fit = {"treatment": "t", "outcome": "y", "covariates": ["x", "w"]}
    with pytest.raises(EstimationError, match=r"\d+ of 400 units have a fitted propensity of exactly 0 or 1"
                                              r".*perfectly separate"):
        RegressionAdjustment(interacted=interacted).fit(data, **fit)
    # overlapping data still fit, with the overlap numbers kept as overlap_; no covariates, no check
    data["t"] = rng.binomial(1, 1 / (1 + np.exp(-x)))
    d = RegressionAdjustment(interacted=interacted).fit(data, **fit).overlap_
    assert 0 < d["propensity_min"] < d["propensity_max"] < 1 and d["ess"] > 0
    assert RegressionAdjustment().fit(data, treatment="t", outcome="y").overlap_ == {}


def _overlap_data(slope: float, n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Treatment with propensity ``sigmoid(slope * x)``: the larger the slope, the poorer the overlap."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = rng.binomial(1, 1 / (1 + np.exp(-slope * x)))
    return pd.DataFrame({"x": x, "t": t, "y": 2 * t + x + rng.normal(size=n)})


@pytest.mark.parametrize("interacted", [True, False])
def test_poor_overlap_warns_as_weighting_does(interacted: bool) -> None:
    # Regression extrapolates its outcome model exactly where overlap is poor: it warns as IPW/AIPW do
    # (issue 11). Propensity sigmoid(6 x) on 2000 normal x: its fitted range reaches far beyond
    # [0.01, 0.99] (at |x| > 0.77, about 44% of the units); sigmoid(0.5 x) stays inside (|x| < 9.2).
    fit = {"treatment": "t", "outcome": "y", "covariates": ["x"]}
    poor = _overlap_data(6.0)
    with pytest.warns(OverlapWarning, match=r"RegressionAdjustment: \d+ of 2000 propensity scores lie "
                                            r"outside \[0.01, 0.99\].*extrapolates") as record:
        est = RegressionAdjustment(interacted=interacted).fit(poor, **fit)
    assert all(w.filename == __file__ for w in record)  # points at the caller of fit
    assert est.overlap_["n_outside_overlap"] > 0 and est.overlap_["overlap_band"] == (0.01, 0.99)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RegressionAdjustment(interacted=interacted, overlap_warn=0).fit(poor, **fit)  # 0 disables
        good = RegressionAdjustment(interacted=interacted).fit(_overlap_data(0.5), **fit)
    assert good.overlap_["n_outside_overlap"] == 0
    with pytest.raises(EstimationError, match=r"overlap_warn must be in \[0, 0.5\), got 0.5"):
        RegressionAdjustment(overlap_warn=0.5).fit(poor, **fit)
