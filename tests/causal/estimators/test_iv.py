"""Tests of causal.estimators.iv (TwoStageLeastSquares, Wald).

Statistical checks compare an estimate with the exact truth of its SCM within
``K = 4`` standard errors (the estimator's, combined with the Monte-Carlo error
of the truth where it has one): two-sided normal false-failure rate 6.3e-5 per
check. "Biased" checks require the naive estimate to miss the truth by more
than ``K`` of its standard errors. Data are seeded (default seed 0;
``CAUSALSIM_SEEDS=0-49`` or ``1,5,9`` sweeps others, opt-in). No retries.

The slow coverage test (``-m slow``) runs ``COVERAGE_REPS = 2000`` replications:
with a true coverage of 95% the band [93%, 97%] is then +-4.1 binomial standard
deviations (false-failure rate 4e-5); at 500 replications it would be only
+-2.05 SD (3.0%), and seeds 0-499 alone happen to give 97.4%.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from causal import load_scm
from causal.errors import EstimationError
from causal.estimators.iv import TwoStageLeastSquares, Wald, WeakInstrumentWarning
from causal.estimators.simple import DifferenceInMeans, RegressionAdjustment, ols
from causal.testing import seeds_from_env

K = 4.0
COVERAGE_REPS = 2000


SEEDS = seeds_from_env()

# ----------------------------------------------------------------- SCMs with a hidden confounder u
#: Continuous treatment, two instruments, one exogenous covariate, heteroskedastic outcome noise; effect 2.
CONTINUOUS = load_scm({"nodes": {
    "u": {"noise": "normal(0, 1)", "hidden": True},
    "z1": {"noise": "normal(0, 1)"},
    "z2": {"noise": "normal(0, 1)"},
    "w": {"noise": "normal(0, 1)"},
    "t": {"equation": "0.5 * z1 + 0.3 * z2 + 0.5 * w + u + noise", "noise": "normal(0, 1)"},
    "y": {"equation": "1 + 2 * t + w + 1.5 * u + (1 + abs(z1)) * noise", "noise": "normal(0, 1)"},
}})

#: Binary instrument (random encouragement), binary treatment, constant effect 2.
BINARY_CONSTANT = load_scm({"nodes": {
    "u": {"noise": "normal(0, 1)", "hidden": True},
    "z": {"type": "binary", "p": "0.5"},
    "t": {"type": "binary", "logit": "-1 + 2.5 * z + 1.5 * u"},
    "y": {"equation": "1 + 2 * t + u + noise", "noise": "normal(0, 1)"},
}})

#: As above with effect 2 + 3u: the ATE is 2, compliers (u in a middle band) have a larger mean effect.
BINARY_HETEROGENEOUS = load_scm({"nodes": {
    "u": {"noise": "normal(0, 1)", "hidden": True},
    "z": {"type": "binary", "p": "0.5"},
    "t": {"type": "binary", "logit": "-2 + 3 * z + 2 * u"},
    "y": {"equation": "1 + (2 + 3 * u) * t + u + noise", "noise": "normal(0, 1)"},
}})

ROLES = {"treatment": "t", "outcome": "y"}


def within(est, truth: float, truth_se: float = 0.0) -> bool:
    return abs(est.value - truth) <= K * np.hypot(est.stderr, truth_se)


def complier_effect(scm, n: int = 400_000, seed: int = 12345) -> tuple[float, float, float]:
    """Exact LATE from the SCM's noise: mean effect of units whose treatment changes with z.

    Returns (LATE, its Monte-Carlo SE, complier share); asserts there are no defiers.
    """
    _, noise = scm.sample(n, seed=seed, return_noise=True)
    t0 = scm.propagate(noise, {"z": 0})["t"]
    t1 = scm.propagate(noise, {"z": 1})["t"]
    assert not (t1 < t0).any()  # monotone: no defiers
    compliers = t1 > t0
    ite = scm.ite(noise, "t", "y", 1, 0)[compliers]
    return float(ite.mean()), float(ite.std(ddof=1) / np.sqrt(len(ite))), float(compliers.mean())


# ----------------------------------------------------------------- consistency under hidden confounding
@pytest.mark.parametrize("seed", SEEDS)
def test_continuous_treatment_only_iv_is_consistent(seed):
    data = CONTINUOUS.sample(4000, seed=seed)
    truth = CONTINUOUS.ate("t", "y", 1, 0, n=10_000, seed=1)
    assert truth.value == pytest.approx(2.0)
    iv = TwoStageLeastSquares().fit(data, **ROLES, instrument=["z1", "z2"], covariates=["w"]).ate()
    assert within(iv, truth.value, truth.stderr)
    # OLS on treatment and covariate (regression adjustment) is biased by the hidden u
    X = np.column_stack([np.ones(len(data)), data["t"], data["w"]])
    beta, cov = ols(X, data["y"].to_numpy(), cov_type="HC1")
    assert abs(beta[1] - truth.value) > K * np.sqrt(cov[1, 1])
    assert iv.diagnostics["n_instruments"] == 2 and iv.diagnostics["first_stage_F"] > 50


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_treatment_constant_effect(seed):
    data = BINARY_CONSTANT.sample(10_000, seed=seed)
    truth = BINARY_CONSTANT.ate("t", "y", 1, 0, n=10_000, seed=1)
    assert truth.value == pytest.approx(2.0) and truth.stderr < 1e-12  # constant effect
    tsls = TwoStageLeastSquares().fit(data, **ROLES, instrument="z").ate()
    wald = Wald().fit(data, **ROLES, instrument="z").ate()
    assert within(tsls, truth.value) and within(wald, truth.value)
    naive = DifferenceInMeans().fit(data, **ROLES).ate()
    adjusted = RegressionAdjustment().fit(data, **ROLES, covariates=["z"]).ate()
    for biased in (naive, adjusted):
        assert abs(biased.value - truth.value) > K * biased.stderr
    # Wald is 2SLS with one binary instrument and no covariates: same point, nearly the same SE
    assert wald.value == pytest.approx(tsls.value, rel=1e-10)
    assert wald.stderr == pytest.approx(tsls.stderr, rel=0.01)


@pytest.mark.parametrize("seed", SEEDS)
def test_heterogeneous_effects_recover_the_complier_effect(seed):
    late, late_se, share = complier_effect(BINARY_HETEROGENEOUS)
    ate = BINARY_HETEROGENEOUS.ate("t", "y", 1, 0, n=400_000, seed=7)
    data = BINARY_HETEROGENEOUS.sample(100_000, seed=seed)
    tsls = TwoStageLeastSquares().fit(data, **ROLES, instrument="z").ate()
    wald = Wald().fit(data, **ROLES, instrument="z")
    # the design tells the LATE from the ATE: they differ by more than 2K standard errors
    assert abs(late - ate.value) > 2 * K * np.hypot(tsls.stderr, late_se + ate.stderr)
    assert within(tsls, late, late_se) and within(wald.ate(), late, late_se)
    # under monotonicity the first-stage difference is the complier share
    share_se = np.sqrt(share * (1 - share) / 400_000)
    assert abs(wald.first_stage_diff_ - share) < K * np.hypot(0.5 * np.sqrt(4 / len(data)), share_se)


# ----------------------------------------------------------------- exact algebra
def _reference(data: pd.DataFrame, instruments: list[str], covariates: list[str],
               cluster: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """2SLS in the GMM form, a second implementation: beta and its HC1/CR1 covariance."""
    n = len(data)
    X = np.column_stack([np.ones(n), data["t"], data[covariates]])
    Z = np.column_stack([np.ones(n), data[instruments], data[covariates]])
    y = data["y"].to_numpy()
    A = X.T @ Z @ np.linalg.inv(Z.T @ Z)            # X'Z (Z'Z)^{-1}
    H = np.linalg.inv(A @ Z.T @ X)
    beta = H @ A @ Z.T @ y
    u = y - X @ beta                                # structural residuals
    g = Z * u[:, None]
    k = X.shape[1]
    if cluster is None:
        S, factor = g.T @ g, n / (n - k)
    else:
        sums = pd.DataFrame(g).groupby(data[cluster].to_numpy()).sum().to_numpy()
        G = len(sums)
        S, factor = sums.T @ sums, G / (G - 1) * (n - 1) / (n - k)
    return beta, factor * H @ A @ S @ A.T @ H


def test_matches_the_gmm_formula_and_avoids_the_second_stage_residual_error():
    data = CONTINUOUS.sample(2000, seed=3)
    est = TwoStageLeastSquares().fit(data, **ROLES, instrument=["z1", "z2"], covariates="w")
    beta, cov = _reference(data, ["z1", "z2"], ["w"])
    np.testing.assert_allclose(est.coef_.to_numpy(), beta, rtol=1e-10)
    np.testing.assert_allclose(est.cov_.to_numpy(), cov, rtol=1e-8)
    # HC0 is HC1 without the n / (n - k) factor
    hc0 = TwoStageLeastSquares(cov_type="HC0").fit(data, **ROLES, instrument=["z1", "z2"], covariates="w")
    np.testing.assert_allclose(hc0.cov_.to_numpy() * len(data) / (len(data) - 3), cov, rtol=1e-8)
    # two OLS regressions by hand give the same point but a wrong SE (second-stage residuals)
    Z = np.column_stack([np.ones(len(data)), data[["z1", "z2", "w"]]])
    t_hat = Z @ np.linalg.lstsq(Z, data["t"].to_numpy(), rcond=None)[0]
    b2, cov2 = ols(np.column_stack([np.ones(len(data)), t_hat, data["w"]]), data["y"].to_numpy(),
                   cov_type="HC1")
    assert b2[1] == pytest.approx(est.coef_["t"], rel=1e-10)
    assert abs(np.sqrt(cov2[1, 1]) / est.ate().stderr - 1) > 0.2


def test_first_stage_f_is_the_robust_wald_f():
    data = CONTINUOUS.sample(2000, seed=4)
    est = TwoStageLeastSquares().fit(data, **ROLES, instrument=["z1", "z2"], covariates="w")
    Z = np.column_stack([np.ones(len(data)), data[["w", "z1", "z2"]]])
    pi, cov = ols(Z, data["t"].to_numpy(), cov_type="HC1")
    wald = pi[2:] @ np.linalg.solve(cov[2:, 2:], pi[2:])
    assert est.first_stage_f_ == pytest.approx(wald / 2, rel=1e-8)
    assert est.ate().diagnostics["first_stage_F"] == est.first_stage_f_


# ----------------------------------------------------------------- clustered standard errors
def clustered(seed: int, G: int = 80, m: int = 25) -> pd.DataFrame:
    """The instrument varies mostly between clusters and the outcome has a cluster shock."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), m)
    z = rng.normal(size=G)[g] + 0.5 * rng.normal(size=G * m)
    u = rng.normal(size=G * m)
    t = z + u + rng.normal(size=G * m)
    y = 2 * t + 1.5 * u + 1.5 * rng.normal(size=G)[g] + rng.normal(size=G * m)
    return pd.DataFrame({"g": g, "z": z, "t": t, "y": y})


def test_clustered_covariance_matches_the_reference():
    data = clustered(0)
    est = TwoStageLeastSquares().fit(data, **ROLES, instrument="z", cluster="g")
    _, cov = _reference(data, ["z"], [], cluster="g")
    np.testing.assert_allclose(est.cov_.to_numpy(), cov, rtol=1e-8)
    diag = est.ate().diagnostics
    assert diag["n_clusters"] == 80 and diag["cov_type"] == "CR1"


def test_clustered_se_matches_the_monte_carlo_spread():
    """Over R = 300 data sets, mean clustered SE / SD of the estimates is within 20% of 1.

    The SD from R = 300 has a relative SE of about 1 / sqrt(2R) = 4.1%, so 20% is
    about 4.9 of them (CR1's own bias at G = 80 is a percent or two). HC1, which
    ignores the clusters, understates the spread by more than 40% here.
    """
    values, se_cluster, se_hc1 = [], [], []
    for r in range(300):
        data = clustered(1000 + SEEDS[0] * 300 + r)
        est = TwoStageLeastSquares().fit(data, **ROLES, instrument="z", cluster="g")
        values.append(est.coef_["t"])
        se_cluster.append(np.sqrt(est.cov_.loc["t", "t"]))
        se_hc1.append(TwoStageLeastSquares().fit(data, **ROLES, instrument="z").ate().stderr)
    sd = np.std(values, ddof=1)
    assert abs(np.mean(values) - 2.0) < K * sd / np.sqrt(len(values))
    assert abs(np.mean(se_cluster) / sd - 1) < 0.2
    assert np.mean(se_hc1) / sd < 0.6


# ----------------------------------------------------------------- weak instruments
def weak(seed: int, n: int = 1000, strength: float = 0.05) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z, u = rng.integers(0, 2, n), rng.normal(size=n)
    t = strength * z + u + rng.normal(size=n)
    return pd.DataFrame({"z": z, "t": t, "y": t + u + rng.normal(size=n)})


def test_weak_instrument_warning_reports_the_f():
    data = weak(0)
    with pytest.warns(WeakInstrumentWarning, match="first-stage F") as caught:
        est = TwoStageLeastSquares().fit(data, **ROLES, instrument="z")
    f = est.ate().diagnostics["first_stage_F"]
    assert f < 10 and est.ate().diagnostics["weak_instruments"]
    assert f"F = {f:.3g}" in str(caught[0].message)
    assert issubclass(WeakInstrumentWarning, UserWarning)
    with pytest.warns(WeakInstrumentWarning) as caught:
        wald = Wald().fit(data, **ROLES, instrument="z")
    assert f"F = {wald.first_stage_f_:.3g} < 10" in str(caught[0].message)


def test_no_warning_for_strong_instruments_or_when_disabled():
    with warnings.catch_warnings():
        warnings.simplefilter("error", WeakInstrumentWarning)
        TwoStageLeastSquares().fit(weak(0, strength=1.0), **ROLES, instrument="z")
        TwoStageLeastSquares(weak_f=0).fit(weak(0), **ROLES, instrument="z")
        Wald(weak_f=0).fit(weak(0), **ROLES, instrument="z")


# ----------------------------------------------------------------- bad input
def _bad_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    w, z = rng.normal(size=(2, n))
    t = z + rng.normal(size=n)
    # an instrument exactly orthogonal to [1, w, t] in the sample: it does not move t at all
    r = rng.normal(size=n)
    B = np.column_stack([np.ones(n), w, t])
    orth = r - B @ np.linalg.lstsq(B, r, rcond=None)[0]
    return pd.DataFrame({"t": t, "y": t + rng.normal(size=n), "z": z, "w": w, "z2": 2 * z, "const": 1.0,
                         "zw": z + w, "orth": orth, "wt": 3 * w, "name": ["a"] * n,
                         "t_bin": (t > 0).astype(int), "z3": rng.integers(0, 3, n)})


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"instrument": []}, "no instrument given"),
    ({"instrument": None}, "no instrument given"),
    ({"instrument": "z", "covariates": ["z"]}, "both an instrument and a covariate"),
    ({"instrument": ["z", "t"]}, "cannot be its own instrument"),
    ({"instrument": "y"}, "outcome 'y' cannot be an instrument"),
    ({"instrument": ["z", "z"]}, r"instrument lists \['z'\] more than once"),
    ({"instrument": "z", "covariates": ["t"]}, "treatment 't' cannot also be a covariate"),
    ({"instrument": ["z", "z2"]}, "rank deficient — z2 is constant or a linear combination"),
    ({"instrument": "const"}, "rank deficient — const"),
    ({"instrument": ["zw", "z"], "covariates": ["w"]}, "rank deficient — z is"),
    ({"instrument": "orth", "covariates": ["w"]}, r"do not move 't'"),
    ({"instrument": "z", "covariates": ["w"], "treatment": "wt"}, r"do not move 'wt'"),
    ({"instrument": "missing"}, "instrument column 'missing' is not in the data"),
    ({"instrument": "name"}, "column 'name' is not numeric"),
    ({"instrument": "z", "cluster": "nope"}, "cluster column 'nope' is not in the data"),
    ({"instrument": "z", "cluster": "const"}, "single cluster"),
])
def test_two_stage_least_squares_bad_input(kwargs, match):
    roles = {**ROLES, **kwargs}
    with pytest.raises(EstimationError, match=match):
        TwoStageLeastSquares(weak_f=0).fit(_bad_frame(), **roles)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"instrument": "z"}, "instrument 'z' must be binary 0/1"),
    ({"instrument": "t_bin", "covariates": ["w"]}, "takes no covariates"),
    ({"instrument": ["t_bin", "z"]}, "takes one binary instrument"),
    ({"instrument": "const"}, "instrument 'const' is constant"),
])
def test_wald_bad_input(kwargs, match):
    with pytest.raises(EstimationError, match=match):
        Wald().fit(_bad_frame(), **{**ROLES, **kwargs})


def test_wald_irrelevant_instrument():
    data = pd.DataFrame({"z": [0, 0, 0, 0, 1, 1, 1, 1], "t": [0, 1, 0, 1, 0, 1, 0, 1],
                         "y": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    with pytest.raises(EstimationError, match="does not move 't'.*Wald ratio is undefined"):
        Wald().fit(data, **ROLES, instrument="z")


def test_an_instrument_holding_the_treatment_or_a_covariate_is_refused():
    # R12: a copy of the treatment under another name as the instrument gave the confounded OLS slope
    # with a confident interval (2SLS 2.644, CI [2.578, 2.710], truth 2; Wald 2.807, CI [2.685, 2.928]);
    # a copy of a covariate fell through to a generic rank message. Deterministic: no tolerance.
    data = CONTINUOUS.sample(2000, seed=0)
    data = data.assign(t_copy=data.t, t_lin=3 * data.t - 1, w_copy=data.w)
    two = TwoStageLeastSquares(weak_f=0)
    for z in ("t_copy", "t_lin"):
        with pytest.raises(EstimationError, match=rf"instrument '{z}' is the treatment 't' itself.*must "
                                                  "differ from the treatment and the covariates"):
            two.fit(data, **ROLES, instrument=["z1", z], covariates=["w"])
    with pytest.raises(EstimationError, match="instrument 'w_copy' is the covariate 'w'.*must differ from "
                                              "the treatment and the covariates"):
        two.fit(data, **ROLES, instrument=["z1", "w_copy"], covariates=["w"])
    binary = BINARY_CONSTANT.sample(2000, seed=0)
    for copy in (binary.t, 1 - binary.t):
        with pytest.raises(EstimationError, match="instrument 'c' is the treatment 't' itself"):
            Wald().fit(binary.assign(c=copy), **ROLES, instrument="c")
    # genuine instruments are unaffected
    assert within(two.fit(data, **ROLES, instrument=["z1", "z2"], covariates=["w"]).ate(), 2.0)
    assert within(Wald().fit(binary, **ROLES, instrument="z").ate(), 2.0)


@pytest.mark.parametrize(("params", "match"), [
    ({"cov_type": "HC3"}, "cov_type must be 'HC0' or 'HC1'"),
    ({"weak_f": -1}, "weak_f must be a non-negative number"),
    ({"level": 1.5}, r"level must be in \(0, 1\)"),
])
def test_bad_settings(params, match):
    with pytest.raises(EstimationError, match=match):
        TwoStageLeastSquares(**params).fit(_bad_frame(), **ROLES, instrument="z")


def test_protocol_clone_and_unfitted():
    est = TwoStageLeastSquares(cov_type="HC0", weak_f=5.0, level=0.9)
    assert clone(est).get_params() == {"cov_type": "HC0", "weak_f": 5.0, "level": 0.9}
    assert clone(Wald(level=0.9)).get_params() == {"weak_f": 10.0, "level": 0.9}
    for e in (est, Wald()):
        with pytest.raises(EstimationError, match="is not fitted"):
            e.ate()
    data = CONTINUOUS.sample(500, seed=0)
    assert est.fit(data, **ROLES, instrument="z1") is est
    fitted = est.ate()
    assert fitted.level == 0.9 and fitted.n == 500


# ----------------------------------------------------------------- coverage (slow)
@pytest.mark.slow
def test_interval_coverage():
    """The 95% interval covers the true effect in 93%-97% of replications (see the module docstring)."""
    start = time.perf_counter()
    covered = 0
    for seed in range(COVERAGE_REPS):
        data = CONTINUOUS.sample(1000, seed=seed)
        est = TwoStageLeastSquares().fit(data, **ROLES, instrument=["z1", "z2"], covariates="w").ate()
        covered += est.covers(2.0)
    rate = covered / COVERAGE_REPS
    print(f"\nTwoStageLeastSquares 95% interval coverage: {rate:.1%} over {COVERAGE_REPS} replications "
          f"({time.perf_counter() - start:.1f} s)")
    assert 0.93 <= rate <= 0.97


# --------------------------------------------------------------------------- Gram route vs QR route
@pytest.mark.parametrize("cov_type", ["HC0", "HC1"])
@pytest.mark.parametrize("cluster", [None, "g"])
def test_gram_route_matches_the_qr_route(cov_type: str, cluster: str | None) -> None:
    """The blocked normal-equation fit equals the Householder-QR one to rounding."""
    import causal.estimators.iv as iv_module

    rng = np.random.default_rng(7)
    n = 20_000  # several blocks, the last one partial
    w = rng.normal(size=(n, 2)) * [1, 30] + 5
    z = rng.normal(size=(n, 2))
    u = rng.normal(size=n)
    t = z @ [0.7, -0.4] + 0.2 * w.sum(1) + u + rng.normal(size=n)
    y = 2 * t + w @ [1, 0.1] + 1.5 * u + rng.normal(size=n) * (1 + np.abs(z[:, 0]))
    df = pd.DataFrame({"t": t, "y": y, "w1": w[:, 0], "w2": w[:, 1], "z1": z[:, 0], "z2": z[:, 1],
                       "g": rng.integers(0, 60, n)})
    kw = dict(treatment="t", outcome="y", instrument=["z1", "z2"], covariates=["w1", "w2"], cluster=cluster)
    fast = TwoStageLeastSquares(cov_type=cov_type).fit(df, **kw)
    exog = [df[c].to_numpy() for c in ("w1", "w2", "z1", "z2")]
    codes = None if cluster is None else pd.factorize(df[cluster])[0]
    assert iv_module._fit_gram(df["y"].to_numpy(), df["t"].to_numpy(), exog, 2, cov_type, codes) is not None
    est = TwoStageLeastSquares(cov_type=cov_type)
    beta, cov, pi, cov_pi, v = est._fit_qr("TwoStageLeastSquares", df["y"].to_numpy(), df["t"].to_numpy(),
                                           w, z, codes, "t", ["w1", "w2"], ["z1", "z2"])
    np.testing.assert_allclose(fast.coef_.to_numpy(), beta, rtol=1e-10)
    np.testing.assert_allclose(fast.cov_.to_numpy(), cov, rtol=1e-9, atol=1e-12 * np.abs(cov).max())
    np.testing.assert_allclose(fast.first_stage_.to_numpy(), pi, rtol=1e-10)
    ex = slice(3, None)
    f_qr = iv_module._wald_f(pi[ex], cov_pi[ex, ex], np.linalg.norm(v), np.linalg.norm(t - t.mean()))
    assert fast.first_stage_f_ == pytest.approx(f_qr, rel=1e-9)


def test_nearly_irrelevant_instrument_takes_the_qr_route() -> None:
    """A design the Gram route cannot vouch for is left to the QR route and its rank checks."""
    import causal.estimators.iv as iv_module

    rng = np.random.default_rng(3)
    n = 500
    z = rng.normal(size=n)
    w = rng.normal(size=n)
    df = pd.DataFrame({"z": z, "w": w, "t": 3 * w + 1e-10 * z, "y": rng.normal(size=n)})
    assert iv_module._fit_gram(df["y"].to_numpy(), df["t"].to_numpy(), [w, z], 1, "HC1", None) is None
    with pytest.raises(EstimationError, match="not identified|rank deficient"):
        TwoStageLeastSquares().fit(df, treatment="t", outcome="y", instrument="z", covariates=["w"])
