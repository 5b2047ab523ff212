"""Acceptance tests of the marketing scenario (``scenarios/marketing.py``).

Statistical assertions allow K = 5 standard errors (of the estimate, combined
with the Monte-Carlo error of the truth or of the documented number it is
compared with). For a normal statistic the two-sided false-failure rate is
5.7e-7 per assertion, so below 3e-5 for the ~50 statistical assertions here.
Every draw is seeded, so a run is reproducible; the tolerance, not the seed,
makes the tests pass.

The estimators are written here, small and textbook: the difference in means,
a multi-arm AIPW with a multinomial-logistic propensity and linear outcome
models (Robins, Rotnitzky & Zhao 1994), and the Wald ratio with its
influence-function standard error. The documented numbers (the module
docstring's table) were computed with 4 x 1,000,000 units and an exact
observed-data propensity (Gauss-Hermite quadrature over the hidden intent).
"""

from __future__ import annotations

import functools
import math
import warnings

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import yaml
from gymnasium.utils.env_checker import check_env
from sklearn.linear_model import LinearRegression, LogisticRegression

import scenarios  # noqa: F401  (registers causalsim/Marketing-v0)
from causal import CausalGraph, dump_spec, identify, instruments, load_scm
from causal.interventions import Hard
from scenarios.marketing import (
    ACTIONS,
    BASE,
    COMMON_UPLIFT,
    SEGMENTS,
    SPREAD,
    STRENGTH,
    Marketing,
    MarketingParams,
)
from sim.env import CausalEnv
from sim.errors import ScenarioError

K = 5.0  #: standard errors per tolerance: two-sided false-failure rate 5.7e-7 per assertion
N = 100_000  #: units per statistical test (a full run of this file takes ~15 s on one core)
DISCOUNT, NONE = ACTIONS.index("discount"), ACTIONS.index("none")

#: The module docstring's numbers at the default parameters: (value, Monte-Carlo SE).
DOC = {
    "conversion": {"ate": (0.0627, 0.0001), "bias": (0.2259, 0.0007), "hidden": (0.1587, 0.0010)},
    "revenue": {"ate": (2.751, 0.007), "bias": (13.16, 0.04), "hidden": (7.50, 0.05)},
}
DOC_SHARES = (0.3188, 0.3524, 0.2403, 0.0884)  #: segment shares, SE <= 0.0003


# ----------------------------------------------------------------------------- estimators
def naive(d: pd.DataFrame, outcome: str) -> tuple[float, float]:
    """Mean ``outcome`` of logged discount customers minus that of untouched ones, with its SE."""
    y, a = d[outcome].to_numpy(float), d["action"].to_numpy()
    y1, y0 = y[a == DISCOUNT], y[a == NONE]
    return float(y1.mean() - y0.mean()), math.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))


def naive_influence(d: pd.DataFrame, outcome: str) -> np.ndarray:
    """Per-unit influence of :func:`naive` (mean zero): paired comparisons across knob settings."""
    y, a = d[outcome].to_numpy(float), d["action"].to_numpy()
    t, c = a == DISCOUNT, a == NONE
    return t * (y - y[t].mean()) / t.mean() - c * (y - y[c].mean()) / c.mean()


def features(d: pd.DataFrame, covariates: list[str]) -> np.ndarray:
    """Standardised design: numeric covariates (spend on the log scale), channel as dummies."""
    cols = []
    for v in sorted(covariates):
        x = d[v].to_numpy(float)
        if v == "channel":
            cols += [x == 1, x == 2]
        else:
            cols.append(np.log(x) if v == "past_spend" else x)
    X = np.column_stack(cols).astype(float)
    return (X - X.mean(axis=0)) / X.std(axis=0)


def aipw(d: pd.DataFrame, outcome: str, covariates: list[str]) -> tuple[float, float]:
    """Multi-arm AIPW of ``E[Y | do(discount)] - E[Y | do(none)]`` over the whole population.

    Propensities ``P(action | X)`` from a multinomial logistic regression (the
    historical rule is softmax-linear in these features, so with
    ``overlap=0`` and no hidden intent the model is correctly specified);
    outcome models: least squares per arm. SE from the efficient influence function.
    """
    X, a, y = features(d, covariates), d["action"].to_numpy(), d[outcome].to_numpy(float)
    e = LogisticRegression(C=1e6, max_iter=1000).fit(X, a).predict_proba(X)
    psi = {}
    for arm in (DISCOUNT, NONE):
        mu = LinearRegression().fit(X[a == arm], y[a == arm]).predict(X)
        psi[arm] = mu + (a == arm) * (y - mu) / e[:, arm]
    diff = psi[DISCOUNT] - psi[NONE]
    return float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(len(diff)))


def wald(y: np.ndarray, d: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    """Wald ratio ``Cov(Y, Z) / Cov(D, Z)`` and its influence-function (sandwich) SE."""
    yc, dc, zc = y - y.mean(), d - d.mean(), z - z.mean()
    first = np.mean(dc * zc)
    beta = np.mean(yc * zc) / first
    phi = (yc - beta * dc) * zc / first
    return float(beta), float(phi.std(ddof=1) / math.sqrt(len(y)))


def backdoor_set(sc: Marketing) -> list[str]:
    """The back-door set ``causal.identify`` gives on the observed graph with the latent edges dropped.

    That is the analyst's graph when intent is (wrongly or rightly) assumed away.
    """
    g = sc.scm.observed_graph
    est = identify(CausalGraph(g.directed_edges, nodes=g.nodes), "action", sc.outcome)
    assert est.strategy == "backdoor"
    return sorted(est.adjustment)


def close(value: float, target: float, *ses: float) -> bool:
    return abs(value - target) <= K * math.sqrt(sum(s * s for s in ses))


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def default() -> Marketing:
    return Marketing()


@pytest.fixture(scope="module")
def logged(default: Marketing) -> pd.DataFrame:
    return default.observational(N, 11)


@pytest.fixture(scope="module")
def truth(default: Marketing):
    return default.truth(n=N, seed=12)


# ----------------------------------------------------------------------------- truth API
def test_truth_equals_brute_force_with_common_random_numbers(default: Marketing) -> None:
    n, seed = 20_000, 3
    tr = default.truth(n=n, seed=seed)
    scm = default.scm
    noise = scm.sample_noise(n, seed)
    p = default.params
    worlds = {a: scm.propagate(noise, {"action": Hard(float(k)), "spent": Hard(0.0)})
              for k, a in enumerate(ACTIONS)}
    for a, w in worlds.items():
        for node in ("conversion", "revenue", "delivered"):
            assert tr.mean(a, node).value == pytest.approx(w[node].mean(), rel=1e-12, abs=1e-12)
        send = np.select([w["delivered"] == 1, w["delivered"] == 2, w["delivered"] == 3],
                         [p.email_cost, p.email_cost, p.ad_cost], 0.0)
        profit = w["revenue"] - send - p.coupon * (w["delivered"] == 2) * w["conversion"]
        assert tr.value(a).value == pytest.approx(profit.mean(), rel=1e-12)
    ite = worlds["discount"]["revenue"] - worlds["none"]["revenue"]
    np.testing.assert_allclose(tr.ite("discount", "none"), ite, rtol=0, atol=1e-12)
    ate = tr.ate("discount", "none")
    assert ate.value == pytest.approx(ite.mean(), rel=1e-12)
    assert ate.stderr == pytest.approx(ite.std(ddof=1) / math.sqrt(n), rel=1e-9)
    always = tr.policy_value(lambda obs: np.full(len(obs), DISCOUNT))
    assert always.value == pytest.approx(tr.value("discount").value, rel=1e-12)


def test_truth_agrees_with_an_independent_sample_and_the_analytic_formula(default: Marketing,
                                                                           truth) -> None:
    noise = default.scm.sample_noise(N, 99)
    do = {a: default.scm.propagate(noise, {"action": Hard(float(k)), "spent": Hard(0.0)})
          for k, a in enumerate(ACTIONS)}
    for a in ("email", "discount", "ad"):
        for node in ("conversion", "revenue"):
            d = do[a][node] - do["none"][node]
            t = truth.ate(a, "none", node)
            assert close(t.value, d.mean(), t.stderr, d.std(ddof=1) / math.sqrt(N)), (a, node)
    # conversion: (1 - outage rate) * sum over segments of share * strength * (common + h * spread)
    shares = np.bincount(do["none"]["segment"].astype(int), minlength=4) / N
    q = default.params.outage_rate
    for k, a in enumerate(ACTIONS[1:], start=1):
        blocked = q if a in ("email", "discount") else 0.0
        analytic = (1 - blocked) * STRENGTH[k] * float(shares @ (COMMON_UPLIFT + np.array(SPREAD)))
        t = truth.ate(a, "none", "conversion")
        se_shares = STRENGTH[k] * 0.35 * math.sqrt(0.25 / N)  # share error times the largest uplift
        assert close(t.value, analytic, t.stderr, se_shares), a
    t = truth.ate("discount", "none", "conversion")
    assert close(t.value, DOC["conversion"]["ate"][0], t.stderr, DOC["conversion"]["ate"][1])
    t = truth.ate("discount", "none", "revenue")
    assert close(t.value, DOC["revenue"]["ate"][0], t.stderr, DOC["revenue"]["ate"][1])


def test_cate_agrees_with_quadrature_over_the_hidden_intent(default: Marketing, logged: pd.DataFrame) -> None:
    """``truth.cate`` (posterior sampling) against ``(1 - q) (30 + 0.1 spend) sum_g P(g | x) uplift_g``."""
    rows = logged.iloc[:4]
    got = default.truth(n=100).cate("discount", "none", rows, samples=20_000, seed=1)
    mech = default.scm.mechanisms["segment"]
    x, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / math.sqrt(2 * math.pi)
    uplift = COMMON_UPLIFT + np.array(SPREAD)
    for i, (_, row) in enumerate(rows.iterrows()):
        parents = {p: np.full(len(x), float(row[p])) for p in mech.parents if p != "intent"}
        parents["intent"] = x
        share = w @ mech.probabilities(parents, len(x))
        want = (1 - default.params.outage_rate) * (30 + 0.1 * row["past_spend"]) * float(share @ uplift)
        # per-unit effects: |delta revenue| <= a basket (~50, lognormal sd 0.4) when the purchase flips
        se = 1.2 * (30 + 0.1 * row["past_spend"]) * math.sqrt(0.3 / 20_000)
        assert close(got[i], want, se), (i, got[i], want)


# ----------------------------------------------------------------------------- the trap
@pytest.mark.parametrize("outcome", ["conversion", "revenue"])
def test_naive_discount_effect_is_inflated_by_the_documented_amount(logged: pd.DataFrame, truth,
                                                                    outcome: str) -> None:
    est, se = naive(logged, outcome)
    t = truth.ate("discount", "none", outcome)
    bias, bias_se = DOC[outcome]["bias"]
    assert est > t.value + K * math.hypot(se, t.stderr)
    assert close(est - t.value, bias, se, t.stderr, bias_se)


@pytest.mark.parametrize("outcome", ["conversion", "revenue"])
def test_backdoor_adjustment_removes_only_the_observed_part(default: Marketing, logged: pd.DataFrame,
                                                            truth, outcome: str) -> None:
    covariates = backdoor_set(default)
    assert covariates == ["age", "channel", "past_spend", "tenure"]
    est, se = aipw(logged, outcome, covariates)
    raw, raw_se = naive(logged, outcome)
    t = truth.ate("discount", "none", outcome)
    hidden, hidden_se = DOC[outcome]["hidden"]
    assert close(est - t.value, hidden, se, t.stderr, hidden_se)   # what intent leaves behind
    assert est < raw - K * math.hypot(se, raw_se)                   # the observed part is gone
    assert est > t.value + K * math.hypot(se, t.stderr)             # ... and only that part


@pytest.mark.parametrize("outcome", ["conversion", "revenue"])
def test_backdoor_adjustment_recovers_the_truth_without_hidden_intent(outcome: str) -> None:
    # overlap = 0: the logged propensity is exactly multinomial-logistic, so the AIPW is consistent
    sc = Marketing(hidden_confounder=False, overlap=0.0)
    g = sc.scm.observed_graph
    assert not g.bidirected_edges  # intent still drives purchases, but not the targeting
    estimand = identify(g, "action", outcome)
    assert estimand.strategy == "backdoor"
    d = sc.observational(N, 21)
    est, se = aipw(d, outcome, sorted(estimand.adjustment))
    t = sc.truth(n=N, seed=22).ate("discount", "none", outcome)
    assert close(est, t.value, se, t.stderr)
    raw, raw_se = naive(d, outcome)
    assert raw > t.value + K * math.hypot(raw_se, t.stderr)  # observed confounding alone still biases


@pytest.mark.parametrize("outcome", ["conversion", "revenue"])
def test_outage_wald_estimate_recovers_the_complier_effect(default: Marketing, logged: pd.DataFrame,
                                                           outcome: str) -> None:
    assert any(i.instrument == "outage" and not i.given
               for i in instruments(default.scm.observed_graph, "delivered", outcome))
    targeted = logged[logged["action"] == DISCOUNT]
    y = targeted[outcome].to_numpy(float)
    got = (targeted["delivered"] == DISCOUNT).to_numpy(float)
    z = targeted["outage"].to_numpy(float)
    assert np.all(got == 1 - z)  # one-sided non-compliance: only the outage stops a discount
    est, se = wald(y, got, z)
    late = default.complier_effect(outcome, n=N, seed=31)
    assert close(est, late.value, se, late.stderr)
    raw, raw_se = naive(logged, outcome)
    assert raw > est + K * math.hypot(raw_se, se)
    # the LATE is that of the targeted (mostly sure things): below the population effect of a delivery
    scm = default.scm.do({"spent": 0.0})
    noise = scm.sample_noise(N, 32)
    d = scm.propagate(noise, {"delivered": 2.0})[outcome] - scm.propagate(noise, {"delivered": 0.0})[outcome]
    assert late.value < d.mean() - K * math.hypot(late.stderr, d.std(ddof=1) / math.sqrt(N))


# ----------------------------------------------------------------------------- knobs
@functools.lru_cache(maxsize=8)
def naive_bias_parts(params: MarketingParams, outcome: str) -> tuple[float, np.ndarray, np.ndarray]:
    """Naive bias, the naive estimate's per-unit influence and the units' effects (same seeds always)."""
    sc = Marketing(params)
    d = sc.observational(N, 41)
    ite = sc.truth(n=N, seed=42).ite("discount", "none", outcome)
    return naive(d, outcome)[0] - ite.mean(), naive_influence(d, outcome), ite


def bias_change(low: dict, high: dict, outcome: str = "conversion") -> tuple[float, float]:
    """``bias(high) - bias(low)`` of the naive estimate, paired by common random numbers, with its SE."""
    (b0, phi0, ite0), (b1, phi1, ite1) = (naive_bias_parts(MarketingParams(**kw), outcome)
                                          for kw in (low, high))
    se = math.sqrt((np.var(phi1 - phi0, ddof=1) + np.var(ite1 - ite0, ddof=1)) / N)
    return b1 - b0, se


@pytest.mark.parametrize(("knob", "low", "high", "sign"), [
    ("confounding", 0.0, 1.0, +1),
    ("confounding", 1.0, 2.0, +1),
    ("overlap", 0.0, 1.0, -1),
    ("hidden_confounder", False, True, +1),
    ("heterogeneity", 0.0, 1.5, -1),
])
def test_each_knob_moves_the_bias_in_the_documented_direction(knob: str, low, high, sign: int) -> None:
    change, se = bias_change({knob: low}, {knob: high})
    assert sign * change > K * se, (knob, change, se)


def test_without_confounding_logged_data_are_unbiased() -> None:
    sc = Marketing(confounding=0.0)
    for outcome in ("conversion", "revenue"):
        est, se = naive(sc.observational(N, 51), outcome)
        t = sc.truth(n=N, seed=52).ate("discount", "none", outcome)
        assert close(est, t.value, se, t.stderr), outcome


def test_noise_scales_revenue_only() -> None:
    quiet, loud = Marketing(noise=0.5).observational(N, 61), Marketing(noise=3.0).observational(N, 61)
    np.testing.assert_array_equal(quiet["conversion"].to_numpy(), loud["conversion"].to_numpy())
    assert loud["revenue"].std() > 1.5 * quiet["revenue"].std()
    change, se = bias_change({"noise": 0.5}, {"noise": 3.0}, outcome="revenue")
    assert abs(change) <= K * se


# ----------------------------------------------------------------------------- segments
def test_the_four_segments_have_the_documented_shares_and_uplift_signs(default: Marketing) -> None:
    scm = default.scm.do({"spent": 0.0})
    noise = scm.sample_noise(N, 71)
    base = scm.propagate(noise, {"delivered": 0.0})
    seg = base["segment"].astype(int)
    shares = np.bincount(seg, minlength=4) / N
    for k, name in enumerate(SEGMENTS):
        assert close(shares[k], DOC_SHARES[k], math.sqrt(DOC_SHARES[k] * (1 - DOC_SHARES[k]) / N), 3e-4), name
        assert close(base["conversion"][seg == k].mean(), BASE[k],
                     math.sqrt(BASE[k] * (1 - BASE[k]) / (seg == k).sum())), name
    for a in (1, 2, 3):
        d = scm.propagate(noise, {"delivered": float(a)})["conversion"] - base["conversion"]
        for k, name in enumerate(SEGMENTS):
            dk = d[seg == k]
            se = dk.std(ddof=1) / math.sqrt(len(dk)) if dk.std() > 0 else 1e-12
            assert close(dk.mean(), STRENGTH[a] * (COMMON_UPLIFT + SPREAD[k]), se), (ACTIONS[a], name)
            sign = {"persuadable": 1, "sleeping_dog": -1}.get(name, 0)
            if sign:
                assert sign * dk.mean() > K * se, (ACTIONS[a], name)
            else:
                assert abs(dk.mean()) <= K * se, (ACTIONS[a], name)


@pytest.mark.parametrize("h", [0.0, 1.0, 1.5])
def test_purchase_probabilities_follow_the_documented_table(h: float) -> None:
    mech = Marketing(heterogeneity=h).scm.mechanisms["conversion"]
    segment, delivered = np.repeat(np.arange(4.0), 4), np.tile(np.arange(4.0), 4)
    p = mech.probability({"segment": segment, "delivered": delivered}, 16).reshape(4, 4)
    want = np.clip(np.array(BASE)[:, None] + np.array(STRENGTH)[None, :]
                   * (COMMON_UPLIFT + h * np.array(SPREAD))[:, None], 0, 1)
    np.testing.assert_allclose(p, want, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- engine contract
def test_determinism(default: Marketing) -> None:
    pd.testing.assert_frame_equal(default.observational(500, 5), default.observational(500, 5))
    pd.testing.assert_frame_equal(default.rct(500, 5), default.rct(500, 5))
    assert not default.observational(500, 5).equals(default.observational(500, 6))

    def episode(seed: int) -> list:
        env = CausalEnv(default)
        obs, _ = env.reset(seed=seed)
        out, rng = [obs.tolist()], np.random.default_rng(0)
        while True:
            obs, r, term, trunc, info = env.step(int(rng.integers(4)))
            out.append((obs.tolist(), r, info["time"], info["outcome"]))
            if term or trunc:
                return out

    assert episode(3) == episode(3)
    assert episode(3) != episode(4)


def test_check_scenario(default: Marketing) -> None:
    import sim.checks as checks
    checks.check_scenario(default)


def test_gymnasium_check_env_and_vector_env() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unbounded Box observation warnings
        check_env(gym.make("causalsim/Marketing-v0").unwrapped)
    venv = gym.make_vec("causalsim/Marketing-v0", num_envs=16)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (16, len(Marketing.context))
    for _ in range(50):
        obs, reward, term, trunc, info = venv.step(venv.action_space.sample())
        assert obs.shape == (16, 5) and reward.shape == (16,) and np.all(np.isfinite(reward))
    venv.close()


# ----------------------------------------------------------------------------- the weekly budget
def weekly_spend(times: np.ndarray, spend: np.ndarray) -> pd.Series:
    return pd.Series(spend).groupby(np.floor(times)).sum()


@pytest.mark.parametrize("action", ["ad", "discount"])
def test_the_weekly_budget_is_enforced_in_an_episode(action: str) -> None:
    sc = Marketing(horizon=6.0, arrival_rate=40.0, max_units=400)
    p = sc.params
    env = gym.make("causalsim/Marketing-v0", horizon=6.0, arrival_rate=40.0, max_units=400)
    obs, _ = env.reset(seed=7)
    times, spend, seen = [], [], []
    while True:
        seen.append(float(obs[Marketing.context.index("spent")]))
        obs, reward, term, trunc, info = env.step(ACTIONS.index(action))
        times.append(info["time"])
        spend.append(-(info["rewards"]["cost"] + info["rewards"]["coupon"]))
        if term or trunc:
            break
    times, spend, seen = np.array(times), np.array(spend), np.array(seen)
    week = weekly_spend(times, spend)
    most = p.max_cost[ACTIONS.index(action)]
    assert len(week) == 6
    assert week.max() <= p.weekly_budget + 1e-9              # never overspent
    assert (week >= p.weekly_budget - most).all()            # and used up every week
    gated = seen + most > p.weekly_budget
    assert gated.sum() > 10 and np.all(spend[gated] == 0)   # refused sends cost nothing
    # the observation's `spent` is the running spend of the week (the state node)
    same_week = np.floor(times[1:]) == np.floor(times[:-1])
    running = np.array([spend[: i + 1][np.floor(times[: i + 1]) == np.floor(times[i])].sum()
                        for i in range(len(times) - 1)])
    np.testing.assert_allclose(seen[1:][same_week], running[same_week], atol=1e-9)


def test_the_vector_env_enforces_the_budget_too() -> None:
    venv = gym.make_vec("causalsim/Marketing-v0", num_envs=8, horizon=3.0, arrival_rate=40.0)
    venv.reset(seed=0)
    spend: dict[tuple[int, float], float] = {}
    done = np.zeros(8, dtype=bool)
    while not done.all():
        _, _, term, trunc, info = venv.step(np.full(8, ACTIONS.index("ad")))
        for j in np.flatnonzero(info["_rewards"] & ~done):
            key = (j, math.floor(info["time"][j]))
            spend[key] = spend.get(key, 0.0) - info["rewards"]["cost"][j]
        done |= term | trunc  # the horizon truncates an episode
    venv.close()
    assert max(spend.values()) <= MarketingParams().weekly_budget + 1e-9


def test_blocked_actions_cost_nothing_and_do_nothing(default: Marketing) -> None:
    noise = default.scm.sample_noise(2000, 81)
    broke = {"spent": default.params.weekly_budget, "week": 0.0}
    full = default.outcomes(noise, np.full(2000, DISCOUNT), broke)
    none = default.outcomes(noise, np.full(2000, NONE), {"spent": 0.0, "week": 0.0})
    assert np.all(full["delivered"] == 0)
    np.testing.assert_array_equal(full["conversion"], none["conversion"])
    total, parts = default.total_reward(full, np.full(2000, DISCOUNT))
    np.testing.assert_array_equal(total, full["revenue"])


# ----------------------------------------------------------------------------- spec, CLI, params
def test_spec_round_trips_through_yaml(default: Marketing) -> None:
    scm = load_scm(default.spec())
    again = load_scm(yaml.safe_dump(dump_spec(scm), sort_keys=False))
    a, b = default.scm.sample(2000, 1, hidden=True), again.sample(2000, 1, hidden=True)
    pd.testing.assert_frame_equal(a, b)
    assert set(again.hidden) == {"intent", "segment"}


def test_the_action_node_is_what_agents_and_the_cli_set(default: Marketing) -> None:
    assert default.actions.nodes == ("action",)
    assert default.actions.labels == ACTIONS
    np.testing.assert_array_equal(default.actions.value("action", np.arange(4)), [0, 1, 2, 3])
    tr = default.truth(n=5000, seed=0)
    noise = default.scm.sample_noise(5000, 0)
    worlds = default.scm.do({"spent": 0.0, "action": 2.0}).propagate(noise)
    assert tr.mean("discount").value == pytest.approx(worlds["revenue"].mean(), rel=1e-12)


@pytest.mark.parametrize("bad", [
    {"arrival_rate": 0.0}, {"weekly_budget": -1.0}, {"outage_rate": 1.0}, {"coupon": math.nan},
    {"ad_cost": True}, {"confounding": -1.0}, {"hidden_confounder": 1},
])
def test_bad_parameters_raise(bad: dict) -> None:
    with pytest.raises(ScenarioError):
        Marketing(**bad)
