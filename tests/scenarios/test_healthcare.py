"""Acceptance tests of the healthcare scenario (``scenarios/healthcare.py``).

Statistical assertions allow K = 5 standard errors (of the estimate, plus the
Monte-Carlo error of the truth or documented number it is compared with). For
a normal statistic the two-sided false-failure rate is about 6e-7 per
assertion, so below 2e-5 for the ~30 statistical assertions here. Every draw is
seeded, so a run is reproducible; the tolerance, not the seed, makes the tests
pass. Where two configurations share a seed they share their units' noise, and
knob comparisons use the paired (per-unit) differences.
"""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import scenarios  # noqa: F401  (registers causalsim/Healthcare-v0)
from causal.identify import adjustment_sets, frontdoor_sets, identify, instruments
from causal.interventions import Hard
from scenarios.healthcare import Healthcare, HealthcareParams
from sim.errors import ScenarioError

K = 5.0
COVARIATES = ["age", "comorbidity", "severity_score"]
A, STD, B = 1, 0, 2  # protocol codes


# ----------------------------------------------------------------------------- estimators
def naive(d: pd.DataFrame, treat: int = A, control: int = STD) -> tuple[float, float]:
    """Difference in mean recovery between two logged arms, with its standard error."""
    y, t = d["recovery_days"].to_numpy(), d["protocol"].to_numpy()
    y1, y0 = y[t == treat], y[t == control]
    return y1.mean() - y0.mean(), math.sqrt(y1.var() / len(y1) + y0.var() / len(y0))


def _features(d: pd.DataFrame, covariates: list[str]) -> np.ndarray:
    x = d[covariates].to_numpy(float)
    pairs = [x[:, i] * x[:, j] for i in range(x.shape[1]) for j in range(i, x.shape[1])]
    return np.column_stack([np.ones(len(d)), x, *pairs])


def regression_adjustment(d: pd.DataFrame, covariates: list[str], treat: int = A,
                          control: int = STD) -> tuple[float, float]:
    """Back-door g-formula with per-arm OLS (quadratic in ``covariates``); influence-function SE."""
    y, t = d["recovery_days"].to_numpy(), d["protocol"].to_numpy()
    f = _features(d, covariates)
    n, fbar = len(y), f.mean(axis=0)
    pred, correction = {}, np.zeros(n)
    for arm, sign in ((treat, 1.0), (control, -1.0)):
        s = t == arm
        beta, *_ = np.linalg.lstsq(f[s], y[s], rcond=None)
        pred[arm] = f @ beta
        gram = f[s].T @ f[s] / n
        resid = np.where(s, y - pred[arm], 0.0)
        correction += sign * (f @ np.linalg.solve(gram, fbar)) * resid
    effect = pred[treat] - pred[control]
    psi = effect - effect.mean() + correction
    return effect.mean(), psi.std() / math.sqrt(n)


def wald_iv(d: pd.DataFrame) -> tuple[float, float]:
    """``Cov(Y, distance) / Cov(1[A], distance)`` with its influence-function SE."""
    y = d["recovery_days"].to_numpy()
    a = (d["protocol"].to_numpy() == A).astype(float)
    z = d["distance_km"].to_numpy() - d["distance_km"].mean()
    first = np.mean(a * z)
    beta = np.mean(y * z) / first
    psi = ((y - y.mean()) - beta * (a - a.mean())) * z / first
    return beta, psi.std() / math.sqrt(len(y))


def frontdoor_linear(d: pd.DataFrame, treat: int = A, control: int = STD) -> tuple[float, float]:
    """Front-door plug-in, ``E[Y | a', m]`` linear in ``m`` per arm; influence-function SE.

    ``E[Y | do(a)] = sum_a' P(a') (c_a' + b_a' E[m | a])``, so the contrast is
    ``(E[m | treat] - E[m | control]) sum_a' P(a') b_a'`` (Pearl 1995).
    """
    y, t, m = (d[c].to_numpy() for c in ("recovery_days", "protocol", "adherence"))
    n = len(y)
    slope_sum, slope_if, mean, mean_if = 0.0, np.zeros(n), {}, {}
    for arm in np.unique(t):
        s = t == arm
        pi = s.mean()
        m_a, y_a = m[s].mean(), y[s].mean()
        v_a = m[s].var()
        b_a = np.mean((m[s] - m_a) * (y[s] - y_a)) / v_a
        slope_sum += pi * b_a
        slope_if += (s - pi) * b_a + np.where(s, (m - m_a) * (y - y_a - b_a * (m - m_a)), 0.0) / v_a
        mean[arm], mean_if[arm] = m_a, np.where(s, m - m_a, 0.0) / pi
    gap = mean[treat] - mean[control]
    psi = slope_sum * (mean_if[treat] - mean_if[control]) + gap * slope_if
    return gap * slope_sum, psi.std() / math.sqrt(n)


def close(estimate: tuple[float, float], truth: float, truth_se: float = 0.0) -> bool:
    return abs(estimate[0] - truth) <= K * math.hypot(estimate[1], truth_se)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def default():
    sc = Healthcare()
    return sc, sc.observational(400_000, 11), sc.truth(n=200_000, seed=1)


@pytest.fixture(scope="module")
def frontdoor():
    sc = Healthcare(variant="frontdoor")
    return sc, sc.observational(200_000, 12), sc.truth(n=200_000, seed=1)


# ----------------------------------------------------------------------------- parameters, spec, graph
def test_params_are_validated():
    assert Healthcare().params == HealthcareParams()
    assert Healthcare(variant="frontdoor").params.frontdoor
    for bad in ({"variant": "backdoor"}, {"arrival_rate": 0.0}, {"arrival_rate": math.inf},
                {"confounding": -1.0}, {"overlap": 1.5}, {"noise": 0.0}, {"hidden_confounder": 1},
                {"severity": 2.0}):
        with pytest.raises(ScenarioError):
            Healthcare(**bad)


@pytest.mark.parametrize("variant", ["standard", "frontdoor"])
def test_spec_round_trips(variant, spec_round_trip):
    sc = Healthcare(variant=variant, confounding=0.7, overlap=0.4, heterogeneity=2.0, noise=1.5)
    spec_round_trip(sc, ["severity"], {"recovery_days": "days", "distance_km": "km"})


def test_graph_encodes_the_designs():
    g = Healthcare().scm.graph
    # exclusion restriction: distance is a root whose only effect is on the protocol
    assert g.parents("distance_km") == set() and g.children("distance_km") == {"protocol"}
    assert "severity" in g.parents("protocol") and "severity" in g.parents("adherence")
    assert Healthcare(hidden_confounder=False).scm.graph.parents("protocol") == {
        "age", "comorbidity", "severity_score", "distance_km"}
    fd = Healthcare(variant="frontdoor").scm.graph
    assert fd.parents("adherence") == {"protocol"} and "protocol" not in fd.parents("recovery_days")


def test_identification_on_the_observed_graph():
    g = Healthcare().scm.observed_graph
    est = identify(g, "protocol", "recovery_days")
    assert est.strategy == "iv" and est.instrument.instrument == "distance_km"
    assert [str(i) for i in instruments(g, "protocol", "recovery_days")] == ["distance_km"]
    assert frontdoor_sets(g, "protocol", "recovery_days") == []

    g = Healthcare(variant="frontdoor").scm.observed_graph
    est = identify(g, "protocol", "recovery_days")
    assert est.strategy == "frontdoor" and est.frontdoor == frozenset({"adherence"})
    observed = set(g.observed)
    assert not any(s <= observed for s in adjustment_sets(g, "protocol", "recovery_days"))

    for variant in ("standard", "frontdoor"):
        g = Healthcare(variant=variant, hidden_confounder=False).scm.observed_graph
        est = identify(g, "protocol", "recovery_days")
        assert est.strategy == "backdoor" and est.adjustment == frozenset(COVARIATES)


# ----------------------------------------------------------------------------- truth
def test_truth_agrees_with_brute_force(default):
    sc, _, truth = default
    scm, n = sc.scm, 50_000
    noise = scm.sample_noise(truth.n, seed=1)  # the truth's own units: common random numbers
    worlds = {a: scm.propagate(noise, {"protocol": Hard(float(a))}) for a in (STD, A, B)}
    for label, a in (("protocol_A", A), ("protocol_B", B)):
        for node in ("recovery_days", "adverse_event"):
            d = worlds[a][node] - worlds[STD][node]
            assert truth.ate(label, "standard", node).value == pytest.approx(d.mean(), abs=1e-12)
            np.testing.assert_allclose(truth.ite(label, "standard", node), d, atol=1e-12)
    # independent units: the interventional means of the mutilated model
    for label, a in (("standard", STD), ("protocol_A", A), ("protocol_B", B)):
        fresh = scm.do({"protocol": float(a)}).sample(n, seed=100 + a)
        y = fresh["recovery_days"] + 30 * fresh["adverse_event"]
        want = truth.mean(label)
        assert abs(fresh["recovery_days"].mean() - want.value) <= K * math.hypot(
            fresh["recovery_days"].std() / math.sqrt(n), want.stderr)
        value = truth.value(label)
        cost = sc.actions.cost(np.array([a]))[0]
        assert abs(-y.mean() - cost - value.value) <= K * math.hypot(y.std() / math.sqrt(n), value.stderr)


def test_cate_is_analytic():
    contexts = pd.DataFrame({"age": [45.0, 60.0, 80.0], "comorbidity": [0.0, 1.0, 3.0],
                             "severity_score": [4.0, 5.0, 7.0], "distance_km": [10.0, 30.0, 80.0]})
    k = 1 - (0.015 * (contexts["age"] - 60) + 0.15 * (contexts["comorbidity"] - 1))
    for variant, effect in (("standard", -4.5), ("frontdoor", -3.0)):
        truth = Healthcare(variant=variant).truth(n=1000)
        cate = truth.cate("protocol_A", "standard", contexts, samples=4000, seed=2)
        # exact up to the clipping of adherence at 1 (< 0.01 day, see the module docstring)
        np.testing.assert_allclose(cate, effect * k, atol=0.01)
    flat = Healthcare(heterogeneity=0.0).truth(n=20_000)
    assert flat.ate("protocol_B", "standard").value == pytest.approx(-2.0, abs=0.01)


def test_documented_effects(default, frontdoor):
    # docstring values (n = 1e6, SE <= 0.002 there) vs these n = 2e5 truths (SE from Effect)
    for truth, label, doc in ((default[2], "protocol_A", -4.511), (default[2], "protocol_B", -2.006),
                              (frontdoor[2], "protocol_A", -3.009), (frontdoor[2], "protocol_B", -1.505)):
        e = truth.ate(label, "standard")
        assert abs(e.value - doc) <= K * math.hypot(e.stderr, 0.0015)
    e = default[2].ate("protocol_A", "standard", "adverse_event")
    assert abs(e.value - 0.0748) <= K * math.hypot(e.stderr, 0.0003)
    late = default[2].complier_effect()
    assert abs(late.value - (-4.637)) <= K * math.hypot(late.stderr, 0.0024)


def test_complier_effect_equals_ate_without_heterogeneity():
    truth = Healthcare(heterogeneity=0.0).truth(n=50_000)
    # constant effects (up to adherence clipping): every weighting of them gives the ATE
    assert truth.complier_effect().value == pytest.approx(truth.ate("protocol_A", "standard").value,
                                                          abs=0.01)


def test_personalised_policy_beats_every_constant_one(default):
    sc, _, truth = default

    def by_benefit(obs: np.ndarray) -> np.ndarray:
        age, comorbidity = obs[:, 0], obs[:, 1]
        k = 1 - (0.015 * (age - 60) + 0.15 * (comorbidity - 1))
        return np.where(k > 1.25, A, np.where(k > 0.8, B, STD))

    rule = truth.policy_value(by_benefit)
    best = max((truth.value(a) for a in sc.actions.labels), key=lambda e: e.value)
    assert rule.value - best.value > K * math.hypot(rule.stderr, best.stderr)


# ----------------------------------------------------------------------------- the trap and its fixes
def test_naive_comparison_makes_protocol_a_look_harmful(default):
    _, data, truth = default
    ate = truth.ate("protocol_A", "standard")
    est = naive(data)
    assert est[0] > K * est[1]  # wrong sign: A "prolongs" recovery
    assert abs(est[0] - ate.value - 5.72) <= K * math.hypot(est[1], ate.stderr, 0.012)


def test_backdoor_adjustment_removes_only_the_observed_part(default):
    sc, data, truth = default
    ate = truth.ate("protocol_A", "standard").value
    adjusted = regression_adjustment(data, COVARIATES)
    naive_value = naive(data)[0]
    # documented: 3.41 days of the bias are observed, 2.31 hidden (population limits +- 0.03)
    assert abs(naive_value - adjusted[0] - 3.41) <= K * math.hypot(adjusted[1], 0.03)
    assert abs(adjusted[0] - ate - 2.31) <= K * math.hypot(adjusted[1], 0.03)


def test_backdoor_adjustment_recovers_the_truth_without_hidden_confounding():
    sc = Healthcare(hidden_confounder=False)
    g = sc.scm.observed_graph
    z = identify(g, "protocol", "recovery_days").adjustment
    data = sc.observational(200_000, 13)
    truth = sc.truth(n=100_000, seed=1)
    for label, arm in (("protocol_A", A), ("protocol_B", B)):
        ate = truth.ate(label, "standard")
        assert not close(naive(data, arm), ate.value, ate.stderr)
        assert close(regression_adjustment(data, sorted(z), arm), ate.value, ate.stderr)


def test_distance_recovers_the_complier_effect(default):
    _, data, truth = default
    late = truth.complier_effect()
    est = wald_iv(data)
    assert close(est, late.value, late.stderr)
    assert est[0] < -K * est[1]  # the right sign, unlike the naive comparison


def test_frontdoor_recovers_the_truth_where_backdoor_cannot(frontdoor):
    _, data, truth = frontdoor
    ate = truth.ate("protocol_A", "standard")
    assert close(frontdoor_linear(data), ate.value, ate.stderr)
    b = truth.ate("protocol_B", "standard")
    assert close(frontdoor_linear(data, B), b.value, b.stderr)
    adjusted = regression_adjustment(data, COVARIATES)
    assert adjusted[0] - ate.value > K * math.hypot(adjusted[1], ate.stderr)


def test_frontdoor_fails_in_the_standard_variant(default):
    _, data, truth = default
    ate = truth.ate("protocol_A", "standard")
    est = frontdoor_linear(data)
    assert abs(est[0] - ate.value) > K * math.hypot(est[1], ate.stderr)


# ----------------------------------------------------------------------------- knobs
def _naive_bias(n: int = 100_000, seed: int = 21, **params) -> tuple[float, float]:
    sc = Healthcare(**params)
    est = naive(sc.observational(n, seed))
    ate = sc.truth(n=50_000, seed=2).ate("protocol_A", "standard")
    return est[0] - ate.value, math.hypot(est[1], ate.stderr)


def _separated(low: tuple[float, float], high: tuple[float, float]) -> bool:
    return high[0] - low[0] > K * math.hypot(low[1], high[1])


def test_confounding_grows_the_bias():
    none, half, strong = (_naive_bias(confounding=c) for c in (0.0, 0.5, 2.0))
    assert abs(none[0]) <= K * none[1]
    assert _separated(none, half) and _separated(half, strong)


def test_overlap_shrinks_the_bias():
    poor, medium, full = (_naive_bias(overlap=o) for o in (0.0, 0.5, 1.0))
    assert _separated(medium, poor) and _separated(full, medium)


def _paired_naive_change(n: int = 100_000, seed: int = 22, **change) -> tuple[float, float]:
    """Naive A-vs-standard difference of ``Y(change) - Y(default)`` on the same units and protocols."""
    before = Healthcare().observational(n, seed)
    after = Healthcare(**change).observational(n, seed)
    assert (before["protocol"] == after["protocol"]).all()  # the knob leaves the logged policy alone
    return naive(before.assign(recovery_days=after["recovery_days"] - before["recovery_days"]))


def test_heterogeneity_grows_the_bias():
    # patients sent to A are more comorbid, so they benefit less than the average patient
    shift = _paired_naive_change(heterogeneity=4.0)
    ate_shift = (Healthcare(heterogeneity=4.0).truth(n=50_000, seed=2).ate("protocol_A", "standard").value
                 - Healthcare().truth(n=50_000, seed=2).ate("protocol_A", "standard").value)
    assert shift[0] - ate_shift > K * shift[1] + 0.01  # documented: 6.08 - 5.72 = 0.36 days


def test_noise_leaves_the_bias_alone():
    shift = _paired_naive_change(noise=2.0)
    assert abs(shift[0]) <= K * shift[1]


# ----------------------------------------------------------------------------- engine conformance
def test_deterministic():
    sc = Healthcare(variant="frontdoor")
    pd.testing.assert_frame_equal(sc.observational(500, 4), sc.observational(500, 4))
    pd.testing.assert_frame_equal(sc.rct(500, 4), sc.rct(500, 4))
    assert not sc.observational(500, 4).equals(sc.observational(500, 5))
    assert sc.truth(n=2000, seed=3).complier_effect() == sc.truth(n=2000, seed=3).complier_effect()
    runs = []
    for _ in range(2):
        env = gym.make("causalsim/Healthcare-v0", max_units=20).unwrapped
        obs, _ = env.reset(seed=9)
        steps = [obs]
        for t in range(10):
            obs, reward, *_ = env.step(t % 3)
            steps += [obs, np.array([reward])]
        runs.append(np.concatenate(steps))
    np.testing.assert_array_equal(*runs)


@pytest.mark.parametrize("variant", ["standard", "frontdoor"])
def test_check_scenario(variant):
    import sim.checks as checks
    checks.check_scenario(Healthcare(variant=variant))


def test_gymnasium_env_and_vector_env():
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():  # check_env flags the unbounded Box observations; that is by design
        warnings.simplefilter("ignore", UserWarning)
        check_env(gym.make("causalsim/Healthcare-v0").unwrapped)
    env = gym.make("causalsim/Healthcare-v0", variant="frontdoor").unwrapped
    obs, info = env.reset(seed=0)
    assert obs.shape == (4,) and env.scenario.params.variant == "frontdoor"
    obs, reward, _, _, info = env.step(1)
    parts = info["rewards"]
    assert set(parts) == {"recovery", "adverse", "cost"} and parts["cost"] == -2.5
    assert reward == pytest.approx(sum(parts.values()))
    assert parts["recovery"] == -info["outcome"] and parts["adverse"] in (0.0, -30.0)

    venv = gym.make_vec("causalsim/Healthcare-v0", num_envs=16)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (16, 4)
    for _ in range(5):
        obs, reward, terminated, truncated, _ = venv.step(venv.action_space.sample())
    assert reward.shape == (16,) and np.isfinite(reward).all()
    venv.close()


def test_poisson_admissions():
    env = gym.make("causalsim/Healthcare-v0", arrival_rate=4.0, max_units=500).unwrapped
    env.reset(seed=1)
    times = [0.0]
    for _ in range(400):
        *_, info = env.step(0)
        times.append(info["time"])  # admission time of the patient just treated
    gaps = np.diff(times)
    assert (gaps > 0).all()
    # exponential gaps with mean 1/4 day: SE of the mean gap is 0.25 / sqrt(400)
    assert abs(gaps.mean() - 0.25) <= K * 0.25 / math.sqrt(len(gaps))
