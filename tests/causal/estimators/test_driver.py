"""Tests of causal.estimators.driver: identify, then estimate.

Dispatch is checked exactly: the driver's estimate equals the estimator it
names, fitted by hand on the roles of the estimand (same value, same standard
error). Statistical checks compare with the exact truth of the SCM within
``K = 4`` standard errors (combined with the Monte-Carlo error of the truth):
two-sided normal false-failure rate 6.3e-5 per check. Data are seeded (default
seed 0; ``CAUSALSIM_SEEDS=0-49`` or ``1,5,9`` sweeps others, opt-in). No retries.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

from causal import CausalGraph, identify, load_scm
from causal.errors import EstimationError
from causal.estimators.base import BaseEstimator
from causal.estimators.driver import METHODS, STRATEGY_METHODS, assume, estimate
from causal.estimators.frontdoor import FrontDoor
from causal.estimators.iv import TwoStageLeastSquares, Wald
from causal.estimators.matching import CovariateMatching, PropensityMatching
from causal.estimators.simple import DifferenceInMeans, RegressionAdjustment, ols
from causal.estimators.weighting import AIPW, IPW, OverlapWarning
from causal.testing import seeds_from_env

K = 4.0
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples")


SEEDS = seeds_from_env()

#: Two confounders, binary treatment, heterogeneous effect 2 + x1 (ATE 2).
BACKDOOR = load_scm({"nodes": {
    "x1": {"noise": "normal(0, 1)"},
    "x2": {"noise": "normal(0, 1)"},
    "t": {"type": "binary", "logit": "0.2 + 0.6 * x1 - 0.4 * x2"},
    "y": {"equation": "1 + t * (2 + x1) + 2 * x1 - x2 + noise", "noise": "normal(0, 1)"}}})

#: A hidden u confounds x and y; z is an instrument only given w (w -> z, w -> y). Effect 2.
CONDITIONAL_IV = load_scm({"nodes": {
    "u": {"noise": "normal(0, 1)", "hidden": True},
    "w": {"noise": "normal(0, 1)"},
    "z": {"equation": "w + noise", "noise": "normal(0, 1)"},
    "x": {"equation": "z + u + noise", "noise": "normal(0, 1)"},
    "y": {"equation": "2 * x + w + u + noise", "noise": "normal(0, 1)"}}})

#: A randomised binary encouragement z; hidden u drives take-up and outcome. Constant effect 1.
BINARY_IV = load_scm({"nodes": {
    "u": {"noise": "normal(0, 1)", "hidden": True},
    "z": {"type": "binary", "logit": "0"},
    "t": {"type": "binary", "logit": "-1 + 2.5 * z + u"},
    "y": {"equation": "t + u + noise", "noise": "normal(0, 1)"}}})

#: Front door with binary x, m, y and a hidden confounder of x and y.
FRONTDOOR = load_scm({"nodes": {
    "u": {"type": "binary", "logit": "0", "hidden": True},
    "x": {"type": "binary", "logit": "-1.4 + 2.8 * u"},
    "m": {"type": "binary", "logit": "-1.4 + 2.5 * x"},
    "y": {"type": "binary", "logit": "-2 + 1.8 * m + 1.8 * u"}}})

#: The front-door graph with linear Gaussian equations: effect 0.7 * 0.5.
FRONTDOOR_LINEAR = load_scm({"nodes": {
    "u": {"noise": "normal(0, 1)", "hidden": True},
    "x": {"equation": "u + noise", "noise": "normal(0, 1)"},
    "m": {"equation": "0.7 * x + noise", "noise": "normal(0, 1)"},
    "y": {"equation": "0.5 * m + u + noise", "noise": "normal(0, 1)"}}})

#: W -> Z -> X -> Y with W <-> X and W <-> Y (hidden u1, u2): identified by the ID algorithm only.
ID_GRAPH = load_scm({"nodes": {
    "u1": {"noise": "normal(0, 1)", "hidden": True},
    "u2": {"noise": "normal(0, 1)", "hidden": True},
    "W": {"type": "binary", "logit": "u1 + 2 * u2"},
    "Z": {"type": "binary", "logit": "-1.5 + 3 * W"},
    "X": {"type": "binary", "logit": "-1 + 2 * Z + 1.2 * u1"},
    "Y": {"type": "binary", "logit": "-0.5 + X + 2 * u2"}}})


def truth(scm, x, y, n=400_000, seed=123):
    eff = scm.ate(x, y, 1, 0, n=n, seed=seed)
    return eff.value, eff.stderr


def assert_close(est, value, mc_se=0.0):
    tol = K * np.hypot(est.stderr, mc_se)
    assert abs(est.value - value) <= tol, f"{est!r}: truth {value:.4f}, allowed ±{tol:.4f}"


@pytest.fixture(scope="module")
def backdoor():
    return BACKDOOR.sample(3000, seed=1), identify(BACKDOOR.graph, "t", "y"), truth(BACKDOOR, "t", "y")


# ----------------------------------------------------------------------------- back-door
def test_backdoor_default_is_cross_fitted_aipw(backdoor):
    data, est, _ = backdoor
    assert est.strategy == "backdoor" and est.adjustment == {"x1", "x2"}
    got = estimate(data, est)
    direct = AIPW(random_state=0).fit(data, treatment="t", outcome="y", covariates=["x1", "x2"]).ate()
    assert (got.value, got.stderr, got.method) == (direct.value, direct.stderr, "AIPW")
    assert got.diagnostics["strategy"] == "backdoor"
    assert got.diagnostics["adjustment"] == ["x1", "x2"]
    assert got.diagnostics["estimand"] == str(est)
    assert got.diagnostics["cross_fit"] == 2 and "propensity_min" in got.diagnostics


@pytest.mark.parametrize(("method", "cls"), [
    ("aipw", AIPW), ("ipw", IPW), ("regression", RegressionAdjustment), ("matching", CovariateMatching),
    ("psm", PropensityMatching)])
def test_backdoor_methods_dispatch_to_their_estimator_and_recover_the_ate(backdoor, method, cls):
    data, est, (ate, mc) = backdoor
    got = estimate(data, est, method)
    kwargs = {"random_state": 0} if cls is AIPW else {}
    direct = cls(**kwargs).fit(data, treatment="t", outcome="y", covariates=["x1", "x2"]).ate()
    assert got.value == direct.value and got.stderr == direct.stderr
    assert METHODS[method] is cls
    if method != "matching":  # covariate matching without bias correction is biased, O(n^{-1/2}) with 2 covs
        assert_close(got, ate, mc)


@pytest.mark.parametrize("seed", SEEDS)
def test_naive_difference_is_refused_when_there_is_a_backdoor_set(seed):
    data = BACKDOOR.sample(1000, seed=seed)
    with pytest.raises(EstimationError, match=r"'difference' does not adjust for the back-door set \{x1, "
                                              r"x2\}"):
        estimate(data, identify(BACKDOOR.graph, "t", "y"), "difference")


def test_empty_adjustment_set_defaults_to_difference_in_means():
    rng = np.random.default_rng(SEEDS[0])
    t = rng.integers(0, 2, 2000)
    data = pd.DataFrame({"t": t, "y": 1.5 * t + rng.normal(size=2000)})
    est = identify(CausalGraph.from_string("t->y"), "t", "y")
    got = estimate(data, est)
    assert got.method == "DifferenceInMeans" and got.diagnostics["adjustment"] == []
    direct = DifferenceInMeans().fit(data, treatment="t", outcome="y").ate()
    assert got.value == direct.value and got.stderr == direct.stderr
    assert_close(got, 1.5)
    with pytest.raises(EstimationError, match="covariates are required"):
        estimate(data, est, "ipw")                      # the estimator's own message passes through


def test_numeric_treatment_uses_linear_regression():
    scm = load_scm(os.path.join(EXAMPLES, "linear.yaml"))
    data = scm.sample(4000, seed=SEEDS[0])
    est = identify(scm.graph, "training", "wage")
    got = estimate(data, est)
    assert got.method == "RegressionAdjustment (linear, per unit)"
    X = np.column_stack([np.ones(len(data)), data.training, data.ability])
    beta, cov = ols(X, data.wage.to_numpy(), cov_type="HC2")
    assert got.value == pytest.approx(beta[1], rel=1e-12) and got.stderr == pytest.approx(np.sqrt(cov[1, 1]))
    assert_close(got, 3.5)                              # examples/linear.yaml: total effect 1.5 * 2 + 0.5
    with pytest.raises(EstimationError, match="needs a binary 0/1 treatment.*method='regression'"):
        estimate(data, est, "aipw")


def test_options_go_to_the_estimator_and_unknown_ones_are_named(backdoor):
    data, est, _ = backdoor
    assert estimate(data, est, cross_fit=5).diagnostics["cross_fit"] == 5
    assert estimate(data, est, "psm", caliper=0.2).diagnostics["caliper"] == 0.2
    assert estimate(data, est, "ipw", level=0.9).level == 0.9
    with pytest.raises(EstimationError, match=r"'ipw' \(IPW\) takes no option 'cross_fit'; its options: "
                                              r"propensity, normalized, trim, overlap_warn, level"):
        estimate(data, est, "ipw", cross_fit=5)


def test_seed_fixes_the_cross_fitting_folds(backdoor):
    data, est, _ = backdoor
    assert estimate(data, est, seed=3) == estimate(data, est, seed=3)
    assert estimate(data, est, seed=3).value != estimate(data, est, seed=4).value
    assert estimate(data, est, seed=3, random_state=4).value == estimate(data, est, seed=4).value


@pytest.mark.parametrize(("method", "message"), [
    ("2sls", r"method '2sls' does not apply to the 'backdoor' strategy; use one of: aipw, ipw, regression, "
             r"matching, psm, difference \('2sls' is for the 'iv' strategy\)"),
    ("nope", r"method 'nope' does not apply to the 'backdoor' strategy; use one of: aipw, .*difference$"),
    ("AIPW", "does not apply"),
])
def test_unknown_method_lists_the_valid_ones(backdoor, method, message):
    data, est, _ = backdoor
    with pytest.raises(EstimationError, match=message):
        estimate(data, est, method)


# ----------------------------------------------------------------------------- instruments
@pytest.mark.parametrize("seed", SEEDS)
def test_conditional_instrument_uses_its_conditioning_set_as_covariates(seed):
    data = CONDITIONAL_IV.sample(4000, seed=seed)
    est = identify(CONDITIONAL_IV.graph, "x", "y")
    assert est.strategy == "iv" and est.instrument.given == {"w"}
    got = estimate(data, est)
    direct = TwoStageLeastSquares().fit(data, treatment="x", outcome="y", instrument="z",
                                        covariates=["w"]).ate()
    assert (got.value, got.stderr) == (direct.value, direct.stderr)
    assert got.diagnostics["instrument"] == "z" and got.diagnostics["given"] == ["w"]
    assert got.diagnostics["first_stage_F"] > 100
    assert_close(got, 2.0)
    with pytest.raises(EstimationError, match="'wald' takes no covariates.*given \\{w\\}; use method='2sls'"):
        estimate(data, est, "wald")


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_instrument_wald_equals_2sls(seed):
    data = BINARY_IV.sample(5000, seed=seed)
    est = identify(BINARY_IV.graph, "t", "y")
    wald, tsls = estimate(data, est, "wald"), estimate(data, est, "2sls")
    assert wald.method == "Wald" and tsls.method == "TwoStageLeastSquares"
    assert wald.value == pytest.approx(tsls.value, rel=1e-10)
    direct = Wald().fit(data, treatment="t", outcome="y", instrument="z").ate()
    assert wald.value == direct.value
    assert_close(wald, 1.0)


# ----------------------------------------------------------------------------- front door
@pytest.mark.parametrize("seed", SEEDS)
def test_frontdoor_discrete_data_use_the_plugin(seed):
    data = FRONTDOOR.sample(20_000, seed=seed)
    est = identify(FRONTDOOR.graph, "x", "y")
    assert est.strategy == "frontdoor" and est.frontdoor == {"m"}
    got = estimate(data, est)
    direct = FrontDoor(kind="plugin").fit(data, estimand=est).ate()
    assert got.method == "FrontDoor (plugin)" and (got.value, got.stderr) == (direct.value, direct.stderr)
    assert got.diagnostics["frontdoor"] == ["m"]
    assert_close(got, *truth(FRONTDOOR, "x", "y"))
    assert estimate(data, est, "linear").method == "FrontDoor (linear)"
    with pytest.raises(EstimationError, match="method='plugin' or 'linear', not kind="):
        estimate(data, est, kind="linear")


@pytest.mark.parametrize("seed", SEEDS)
def test_frontdoor_continuous_data_use_the_linear_estimator(seed):
    data = FRONTDOOR_LINEAR.sample(5000, seed=seed)
    est = identify(FRONTDOOR_LINEAR.graph, "x", "y")
    got = estimate(data, est)
    assert got.method == "FrontDoor (linear)"
    assert_close(got, 0.35)
    with pytest.raises(EstimationError, match="plugin"):  # FrontDoor's own refusal of continuous data
        estimate(data, est, "plugin")


# ----------------------------------------------------------------------------- ID plug-in
@pytest.fixture(scope="module")
def id_case():
    est = identify(ID_GRAPH.graph, "X", "Y")
    assert est.strategy == "id"
    return ID_GRAPH.sample(10_000, seed=SEEDS[0]), est, truth(ID_GRAPH, "X", "Y")


def test_id_plugin_recovers_the_effect_with_a_bootstrap_interval(id_case):
    data, est, (ate, mc) = id_case
    got = estimate(data, est, reps=100)
    assert got.method == "ID plug-in (bootstrap percentile)"
    assert got.diagnostics["bootstrap"]["reps"] == 100 and got.diagnostics["bootstrap"]["failures"] == 0
    assert got.diagnostics["mean_treated"] - got.diagnostics["mean_control"] == pytest.approx(got.value)
    assert got.value == pytest.approx(est.mean(data, 1) - est.mean(data, 0), abs=1e-12)
    assert_close(got, ate, mc)
    naive = data.Y[data.X == 1].mean() - data.Y[data.X == 0].mean()
    assert abs(naive - ate) > K * got.stderr          # the confounding the formula removes


def test_id_plugin_is_seeded(id_case):
    data, est, _ = id_case
    small = data.iloc[:2000]
    a, b = estimate(small, est, reps=30, seed=5), estimate(small, est, reps=30, seed=5)
    assert (a.value, a.stderr, a.ci_low) == (b.value, b.stderr, b.ci_low)
    assert estimate(small, est, reps=30, seed=6).stderr != a.stderr
    assert estimate(small, est, reps=30, interval="normal").method.endswith("(bootstrap normal)")


def test_id_plugin_refuses_continuous_variables_and_unknown_options(id_case):
    data, est, _ = id_case
    noisy = data.assign(Z=data.Z + np.random.default_rng(0).normal(size=len(data)))
    with pytest.raises(EstimationError, match="discrete data, but 'Z' takes 10000 distinct values"):
        estimate(noisy, est)
    with pytest.raises(EstimationError, match="takes no option 'cross_fit'; its options: reps"):
        estimate(data, est, cross_fit=2)
    with pytest.raises(EstimationError, match="X=2 .* never occurs"):
        estimate(data.iloc[:500], est, reps=5, treat=2)


# ----------------------------------------------------------------------------- bad input
def test_bad_estimands_and_data(backdoor):
    data, est, _ = backdoor
    with pytest.raises(EstimationError, match="must be a causal.identify.Estimand"):
        estimate(data, "t -> y")
    with pytest.raises(EstimationError, match="single treatment and a single outcome"):
        estimate(data, identify(CausalGraph.from_string("a->y; b->y"), ["a", "b"], "y"))
    with pytest.raises(EstimationError, match="data must be a pandas DataFrame"):
        estimate(data.to_numpy(), est)
    with pytest.raises(EstimationError, match="adjustment column 'x2' is not in the data"):
        estimate(data.drop(columns="x2"), est)
    with pytest.raises(EstimationError, match="column 'y' has 1 missing values"):
        estimate(data.assign(y=data.y.where(data.index != 3)), est)


def test_warnings_pass_through():
    scm = load_scm({"nodes": {"x": {"noise": "normal(0, 1)"}, "t": {"type": "binary", "logit": "3 * x"},
                              "y": {"equation": "t + x + noise", "noise": "normal(0, 1)"}}})
    with pytest.warns(OverlapWarning):
        estimate(scm.sample(2000, seed=0), identify(scm.graph, "t", "y"), "ipw")


# ----------------------------------------------------------------------------- assume
def test_assume_builds_the_estimand_identify_would():
    g = CausalGraph.from_string("Z->T->Y; Z->Y")
    assert assume("T", "Y", adjustment=["Z"]) == identify(g, "T", "Y")
    assert assume("X", "Y", frontdoor="M") == identify(CausalGraph.from_string("X->M->Y; X<->Y"), "X", "Y")
    iv = assume("X", "Y", instrument="Z", given="W")
    assert iv == identify(CausalGraph.from_string("W->Z; W->Y; Z->X; X->Y; X<->Y"), "X", "Y")
    assert assume("T", "Y").adjustment == frozenset()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"adjustment": ["A"], "instrument": "Z"}, "not adjustment and instrument"),
    ({"given": ["W"]}, "given= is the conditioning set of an instrument"),
    ({"adjustment": ["T"]}, "adjustment cannot contain the treatment or the outcome"),
    ({"instrument": "Z", "given": ["Z"]}, "cannot be in its own given= set"),
    ({"frontdoor": []}, "at least one mediator"),
])
def test_assume_rejects_contradictory_roles(kwargs, message):
    with pytest.raises(EstimationError, match=message):
        assume("T", "Y", **kwargs)
    with pytest.raises(EstimationError, match="same column"):
        assume("T", "T")


def test_method_tables_are_consistent():
    assert all(issubclass(cls, BaseEstimator) for cls in METHODS.values())
    backdoor_and_iv = set(STRATEGY_METHODS["backdoor"]) | set(STRATEGY_METHODS["iv"])
    assert backdoor_and_iv == set(METHODS)
    with pytest.raises(TypeError):
        METHODS["x"] = AIPW  # type: ignore[index]


def test_default_backdoor_estimate_is_quiet(backdoor):
    data, est, _ = backdoor
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimate(data, est)
