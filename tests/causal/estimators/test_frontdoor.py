"""Tests of causal.estimators.frontdoor (FrontDoor, linear and plug-in).

Statistical checks compare an estimate with the truth ``scm.ate(...)`` of its
SCM within ``K = 4`` standard errors (the estimator's combined with the
Monte-Carlo SE of the truth): two-sided normal false-failure rate 6.3e-5 per
check. "Biased" checks require the naive estimate to miss the truth by more
than ``K`` of its own standard errors. Standard errors are checked against a
second source — the Monte-Carlo spread over replications, or the bootstrap —
within 20% (about 4 relative SEs of the comparison; see each test). Data are
seeded (default seed 0; ``CAUSALSIM_SEEDS=0-49`` sweeps others, opt-in). No
retries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from causal import identify, load_scm
from causal.errors import EstimationError
from causal.estimators.bootstrap import bootstrap
from causal.estimators.frontdoor import FrontDoor
from causal.estimators.simple import DifferenceInMeans, ols
from causal.testing import seeds_from_env

K = 4.0


SEEDS = seeds_from_env()

# --------------------------------------------------------------- smoking -> tar -> cancer, hidden genotype u
#: Linear: effect of x on y = 0.7 * 0.5 = 0.35; u opens x <-> y.
LINEAR_SMOKING = load_scm({"nodes": {
    "u": {"noise": "normal(0, 1)", "hidden": True},
    "x": {"equation": "u + noise", "noise": "normal(0, 1)"},
    "m": {"equation": "0.7 * x + noise", "noise": "normal(0, 1)"},
    "y": {"equation": "0.5 * m + u + noise", "noise": "normal(0, 1)"},
}})

#: Binary: ATE = (0.75 - 0.2) * 0.4 = 0.22.
BINARY_SMOKING = load_scm({"nodes": {
    "u": {"type": "binary", "p": "0.5", "hidden": True},
    "x": {"type": "binary", "p": "where(u > 0, 0.8, 0.2)"},
    "m": {"type": "binary", "p": "where(x > 0, 0.75, 0.2)"},
    "y": {"type": "binary", "p": "0.1 + 0.4 * m + 0.4 * u"},
}})

#: Two chained mediators and an observed confounder c of every step; effect 0.7*0.5 + (-0.4 + 0.35)*1 = 0.3.
LINEAR_TWO_MEDIATORS = load_scm({"nodes": {
    "u": {"noise": "normal(0, 1)", "hidden": True},
    "c": {"noise": "normal(0, 1)"},
    "x": {"equation": "u + 0.5 * c + noise", "noise": "normal(0, 1)"},
    "m1": {"equation": "0.7 * x + c + noise", "noise": "normal(0, 1)"},
    "m2": {"equation": "-0.4 * x + 0.5 * m1 + noise", "noise": "normal(0, 1)"},
    "y": {"equation": "0.5 * m1 + m2 + u + c + noise", "noise": "normal(0, 1)"},
}})

#: Binary with a discrete observed confounder c of x -> m and m -> y (conditional front door), numeric y.
BINARY_CONDITIONAL = load_scm({"nodes": {
    "u": {"type": "binary", "p": "0.5", "hidden": True},
    "c": {"type": "categorical", "probs": [0.3, 0.4, 0.3]},
    "x": {"type": "binary", "p": "0.15 + 0.5 * u + 0.15 * c"},
    "m": {"type": "binary", "p": "0.1 + 0.5 * x + 0.15 * c"},
    "y": {"equation": "2 * m + u - 0.5 * c + m * c + noise", "noise": "normal(0, 1)"},
}})

ROLES = {"treatment": "x", "outcome": "y"}


def within(est, truth) -> bool:
    return abs(est.value - truth.value) <= K * np.hypot(est.stderr, truth.stderr)


# ----------------------------------------------------------------------------- the smoking example
@pytest.mark.parametrize("seed", SEEDS)
def test_linear_smoking(seed):
    data = LINEAR_SMOKING.sample(5000, seed=seed)
    truth = LINEAR_SMOKING.ate("x", "y", 1, 0, n=10_000, seed=1)
    assert truth.value == pytest.approx(0.35)
    est = FrontDoor().fit(data, **ROLES, mediators="m").ate()
    assert within(est, truth)
    assert est.diagnostics["x_to_m"]["m"] == pytest.approx(0.7, abs=K * 0.015)
    beta, cov = ols(np.column_stack([np.ones(len(data)), data["x"]]), data["y"].to_numpy())
    assert abs(beta[1] - truth.value) > K * np.sqrt(cov[1, 1])  # naive regression is biased


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_smoking(seed):
    data = BINARY_SMOKING.sample(20_000, seed=seed)
    truth = BINARY_SMOKING.ate("x", "y", 1, 0, n=400_000, seed=1)
    est = FrontDoor(kind="plugin").fit(data, **ROLES, mediators="m").ate()
    assert within(est, truth)
    naive = DifferenceInMeans().fit(data, **ROLES).ate()
    assert abs(naive.value - truth.value) > K * naive.stderr
    # the linear front door is also right here: y is linear in m and m's effect is constant
    assert within(FrontDoor(kind="linear").fit(data, **ROLES, mediators="m").ate(), truth)


def test_plugin_equals_the_identified_formula_and_takes_the_estimand():
    data = BINARY_SMOKING.sample(3000, seed=5)
    estimand = identify(BINARY_SMOKING.observed_graph, "x", "y")
    assert estimand.strategy == "frontdoor"
    via_estimand = FrontDoor(kind="plugin").fit(data, estimand=estimand)
    via_names = FrontDoor(kind="plugin").fit(data, **ROLES, mediators=["m"])
    formula = estimand.mean(data, 1) - estimand.mean(data, 0)
    assert via_estimand.ate_ == pytest.approx(formula, abs=1e-12)
    assert via_names.ate_ == via_estimand.ate_ and via_names.stderr_ == via_estimand.stderr_
    assert via_estimand.means_[1] == pytest.approx(estimand.mean(data, 1), abs=1e-12)
    # treatment/outcome may be repeated if they agree with the estimand
    FrontDoor(kind="linear").fit(data, treatment="x", estimand=estimand)


def test_plugin_influence_function_se_matches_the_bootstrap():
    """IF (delta-method) SE vs the bootstrap SD of 200 refits: relative SE of the latter ~ 1/sqrt(400) = 5%.

    The 20% tolerance is 4 of those (plus a small finite-sample difference).
    """
    data = BINARY_SMOKING.sample(2000, seed=11)
    est = FrontDoor(kind="plugin").fit(data, **ROLES, mediators="m").ate()
    boot = bootstrap(FrontDoor(kind="plugin"), data, reps=200, seed=0, method="normal", **ROLES,
                     mediators="m")
    assert boot.value == est.value
    assert abs(est.stderr / boot.stderr - 1) < 0.2


# ----------------------------------------------------------------------------- several mediators, covariates
@pytest.mark.parametrize("seed", SEEDS)
def test_linear_two_mediators_with_covariate(seed):
    data = LINEAR_TWO_MEDIATORS.sample(5000, seed=seed)
    truth = LINEAR_TWO_MEDIATORS.ate("x", "y", 1, 0, n=10_000, seed=1)
    assert truth.value == pytest.approx(0.3)
    est = FrontDoor().fit(data, **ROLES, mediators=["m1", "m2"], covariates="c").ate()
    assert within(est, truth)
    # without the covariate c (which confounds x -> m1 and m1 -> y) the product is biased
    bad = FrontDoor().fit(data, **ROLES, mediators=["m1", "m2"]).ate()
    assert abs(bad.value - truth.value) > K * bad.stderr


def test_linear_se_matches_the_monte_carlo_spread():
    """Mean sandwich SE / SD over R = 300 replications within 20% of 1 (the SD's relative SE is 4.1%)."""
    values, ses = [], []
    for r in range(300):
        data = LINEAR_TWO_MEDIATORS.sample(500, seed=10_000 + 300 * SEEDS[0] + r)
        est = FrontDoor().fit(data, **ROLES, mediators=["m1", "m2"], covariates=["c"])
        values.append(est.ate_)
        ses.append(est.stderr_)
    sd = np.std(values, ddof=1)
    assert abs(np.mean(values) - 0.3) < K * sd / np.sqrt(len(values))
    assert abs(np.mean(ses) / sd - 1) < 0.2


@pytest.mark.parametrize("seed", SEEDS)
def test_plugin_conditional_front_door(seed):
    data = BINARY_CONDITIONAL.sample(30_000, seed=seed)
    truth = BINARY_CONDITIONAL.ate("x", "y", 1, 0, n=400_000, seed=1)
    est = FrontDoor(kind="plugin").fit(data, **ROLES, mediators="m", covariates="c").ate()
    assert within(est, truth)
    naive = DifferenceInMeans().fit(data, **ROLES).ate()
    assert abs(naive.value - truth.value) > K * naive.stderr


# ----------------------------------------------------------------------------- bad input
def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    x = rng.integers(0, 2, n)
    m = (rng.random(n) < 0.2 + 0.5 * x).astype(int)
    return pd.DataFrame({"x": x, "m": m, "y": m + rng.normal(size=n), "m_cont": rng.normal(size=n),
                         "m2": 2 * m, "x12": x + 1, "c": rng.integers(0, 2, n), "const": 1.0})


@pytest.mark.parametrize(("params", "kwargs", "match"), [
    ({}, {"treatment": "x", "outcome": "y"}, "no mediators given"),
    ({}, {"outcome": "y", "mediators": "m"}, "give treatment= and outcome="),
    ({}, {**ROLES, "mediators": ["m", "x"]}, "'x' cannot be both one of the mediators and the treatment"),
    ({}, {**ROLES, "mediators": "m", "covariates": "m"}, "both mediators and covariates"),
    ({}, {**ROLES, "mediators": ["m", "m"]}, r"mediators lists \['m'\] more than once"),
    ({}, {"treatment": "x", "outcome": "x", "mediators": "m"}, "same column"),
    ({}, {**ROLES, "mediators": ["m", "m2"]}, "m2 is constant or a linear combination"),
    ({}, {**ROLES, "mediators": "m", "covariates": "const"}, "const is constant"),
    ({}, {**ROLES, "mediators": "nope"}, "mediators column 'nope' is not in the data"),
    ({}, {"treatment": "const", "outcome": "y", "mediators": "m"}, "treatment 'const' is constant"),
    ({"kind": "plugin"}, {**ROLES, "mediators": "m_cont"}, "no units with m_cont=.*kind='linear'"),
    ({"kind": "plugin"}, {"treatment": "x12", "outcome": "y", "mediators": "m"}, "never takes the value 0"),
    ({"kind": "iv"}, {**ROLES, "mediators": "m"}, "kind must be 'linear' or 'plugin'"),
    ({"level": 0}, {**ROLES, "mediators": "m"}, r"level must be in \(0, 1\)"),
])
def test_bad_input(params, kwargs, match):
    with pytest.raises(EstimationError, match=match):
        FrontDoor(**params).fit(_frame(), **kwargs)


def test_bad_estimand():
    frontdoor = identify(BINARY_SMOKING.observed_graph, "x", "y")
    backdoor = identify(load_scm({"nodes": {"c": {"noise": "normal(0, 1)"},
                                            "x": {"equation": "c + noise", "noise": "normal(0, 1)"},
                                            "y": {"equation": "x + c + noise", "noise": "normal(0, 1)"}}}
                                 ).observed_graph, "x", "y")
    with pytest.raises(EstimationError, match="strategy is 'backdoor', not 'frontdoor'"):
        FrontDoor().fit(_frame(), estimand=backdoor)
    with pytest.raises(EstimationError, match="give mediators= or estimand=, not both"):
        FrontDoor().fit(_frame(), estimand=frontdoor, mediators="m")
    with pytest.raises(EstimationError, match="outcome='m' does not match the estimand's 'y'"):
        FrontDoor().fit(_frame(), estimand=frontdoor, outcome="m")


def test_plugin_positivity_in_a_covariate_stratum():
    data = _frame()
    data.loc[(data.c == 1), "x"] = 1  # no untreated units where c = 1
    with pytest.raises(EstimationError, match="no units with x=0 in the stratum c=1"):
        FrontDoor(kind="plugin").fit(data, **ROLES, mediators="m", covariates="c")


def test_protocol_clone_and_unfitted():
    est = FrontDoor(kind="plugin", level=0.9)
    assert clone(est).get_params() == {"kind": "plugin", "level": 0.9}
    with pytest.raises(EstimationError, match="is not fitted"):
        est.ate()
    assert est.fit(_frame(), **ROLES, mediators="m") is est
    out = est.ate()
    assert out.level == 0.9 and out.method == "FrontDoor (plugin)" and out.n == 300
    assert out.diagnostics["mean_treated"] - out.diagnostics["mean_control"] == pytest.approx(out.value)
