"""Causal queries of the current unit against analytic answers; budgets and costs.

In ToyScenario ``y = 1 + x + t (1 + x) + u + e`` with ``u, e ~ N(0, 1)``, so

* ``E[y | do(t = a), x] = (1 + a)(1 + x)`` (rung 2), and
* the unit's counterfactual under ``a'`` given its factual ``y`` under ``a`` is
  ``y - (1 + x)(a - a')`` exactly (rung 3).

Monte-Carlo assertions allow K = 5 standard errors of the answer (two-sided
false-failure rate about 6e-7 per assertion for a normal mean); all streams are seeded.
"""

import math

import gymnasium as gym
import numpy as np
import pytest

from sim.env import CausalEnv
from sim.errors import ActionError, QueryBudgetExceeded, SimError
from sim.registry import register
from sim.testing import DoseScenario, DynamicScenario, ToyScenario
from sim.wrappers import QueryBudget

if "causalsim-test/QueryToy-v0" not in gym.registry:
    register("causalsim-test/QueryToy-v0", ToyScenario)

K = 5.0


def test_interventional_mean_matches_the_analytic_conditional_mean():
    env = CausalEnv(ToyScenario(max_units=6))
    obs, _ = env.reset(seed=0)
    q = env.unwrapped.query
    for _ in range(6):
        x = float(obs[0])
        for a in (0, 1):
            ans = q.interventional(a, n=4000)
            assert ans.n == 4000 and len(ans.samples) == 4000
            # sd of y given x is sqrt(var u + var e) = sqrt(2)
            assert ans.stderr == pytest.approx(math.sqrt(2 / 4000), rel=0.1)
            assert abs(ans.mean - (1 + a) * (1 + x)) < K * ans.stderr
        obs, *_ = env.step(0)


def test_interventional_of_a_dose_and_of_the_reward():
    env = CausalEnv(DoseScenario())
    obs, _ = env.reset(seed=1)
    x = float(obs[0])
    ans = env.unwrapped.query.interventional(np.array([1.3]), n=4000)
    assert abs(ans.mean - 2.3 * (1 + x)) < K * ans.stderr
    # the reward subtracts the dose's cost, 0.25 per unit
    rew = env.unwrapped.query.interventional(np.array([1.3]), n=4000, reward=True)
    assert abs(rew.mean - (2.3 * (1 + x) - 0.325)) < K * rew.stderr


def test_interventional_holds_the_context_and_reads_observed_nodes_only():
    env = CausalEnv(ToyScenario())
    obs, _ = env.reset(seed=2)
    q = env.unwrapped.query
    np.testing.assert_array_equal(q.interventional("treat", n=50, node="x").samples, obs[0])
    assert set(q.interventional("treat", n=50, node="t").samples) == {1.0}
    with pytest.raises(SimError, match="'u' is hidden"):
        q.interventional(1, node="u")
    with pytest.raises(SimError, match="unknown node 'nope'"):
        q.interventional(1, node="nope")
    with pytest.raises(SimError, match="n must be an integer >= 2"):
        q.interventional(1, n=1)
    with pytest.raises(ActionError):
        q.interventional("maybe")


def test_interventional_in_a_dynamic_scenario_uses_the_current_state():
    # y = 2 a + s + e: E[y | do(a), s] = 2 a + s with s the current state.
    env = CausalEnv(DynamicScenario())
    env.reset(seed=0)
    env.step(1)  # s: 1 -> 0.5 + 1 = 1.5
    q = env.unwrapped.query
    ans = q.interventional("act", n=4000)
    assert abs(ans.mean - 3.5) < K * ans.stderr


def test_counterfactual_equals_the_analytic_unit_counterfactual():
    env = CausalEnv(ToyScenario(max_units=20))
    obs, _ = env.reset(seed=3)
    q = env.unwrapped.query
    rng = np.random.default_rng(3)
    done = False
    while not done:
        x, a = float(obs[0]), int(rng.integers(2))
        obs, reward, terminated, truncated, info = env.step(a)
        done = terminated or truncated
        y = info["outcome"]
        for b in (0, 1):
            cf = q.counterfactual(b)
            assert cf.stderr == 0.0 and cf.n == 1
            assert cf.mean == pytest.approx(y - (1 + x) * (a - b), abs=1e-12)
        # the counterfactual reward adds the cost difference
        assert q.counterfactual(1 - a, reward=True).mean == pytest.approx(
            y - (1 + x) * (2 * a - 1) - 0.5 * (1 - a), abs=1e-12)
        assert q.counterfactual(a, reward=True).mean == pytest.approx(reward, abs=1e-12)


def test_counterfactual_of_a_dose():
    env = CausalEnv(DoseScenario())
    obs, _ = env.reset(seed=4)
    x = float(obs[0])
    _, _, _, _, info = env.step(np.array([0.4]))
    cf = env.unwrapped.query.counterfactual(np.array([1.9])).mean
    assert cf == pytest.approx(info["outcome"] + (1 + x) * 1.5, abs=1e-12)


def test_counterfactual_needs_a_step_first():
    env = CausalEnv(ToyScenario())
    env.reset(seed=0)
    with pytest.raises(SimError, match=r"call step\(\) first"):
        env.unwrapped.query.counterfactual(0)


def test_policy_value_matches_the_truth():
    # The value of "treat iff x > -0.5" is 1 + 0.5 Phi(0.5) + phi(0.5) (see test_scenario.py).
    phi = math.exp(-0.125) / math.sqrt(2 * math.pi)
    Phi = 0.5 * (1 + math.erf(0.5 / math.sqrt(2)))
    env = CausalEnv(ToyScenario())
    env.reset(seed=5)
    ans = env.unwrapped.query.policy_value(lambda obs: (obs[:, 0] > -0.5).astype(int), n=20_000)
    assert abs(ans.mean - (1 + 0.5 * Phi + phi)) < K * ans.stderr
    with pytest.raises(ActionError):
        env.unwrapped.query.policy_value(lambda obs: np.full(len(obs), 2), n=10)


# ---------------------------------------------------------------------- budgets and costs
def test_budget_is_enforced_and_costs_are_charged_to_the_next_reward():
    plain = CausalEnv(ToyScenario())
    env = QueryBudget(CausalEnv(ToyScenario()), budget=1.0, cost=0.4)
    q = env.unwrapped.query
    plain.reset(seed=6)
    env.reset(seed=6)
    assert q.remaining == 1.0
    q.interventional(1, n=10)
    q.policy_value(lambda obs: np.zeros(len(obs), dtype=int), n=10)
    assert q.spent == pytest.approx(0.8) and q.remaining == pytest.approx(0.2) and q.count == 2
    with pytest.raises(QueryBudgetExceeded, match="query budget spent: 0.8 of 1 used and a query costs 0.4"):
        q.interventional(1, n=10)
    assert q.spent == pytest.approx(0.8) and q.count == 2  # a refused query costs nothing

    _, r0, _, _, info0 = plain.step(1)
    _, r1, _, _, info1 = env.step(1)
    assert info1["rewards"]["queries"] == pytest.approx(-0.8)
    assert r1 == pytest.approx(r0 - 0.8, abs=1e-12)
    assert info1["queries"] == pytest.approx(0.8) and info1["outcome"] == info0["outcome"]
    # charged once: the next step carries no query cost
    _, r0, _, _, info0 = plain.step(0)
    _, r1, _, _, info1 = env.step(0)
    assert r1 == r0 and "queries" not in info1["rewards"]
    with pytest.raises(QueryBudgetExceeded):
        q.counterfactual(0)
    # a new episode has a new budget
    _, info = env.reset(seed=7)
    assert info["queries"] == 0.0 and q.remaining == 1.0
    q.interventional(0, n=5)
    assert q.spent == pytest.approx(0.4)


def test_without_a_budget_queries_are_unlimited_and_free_by_default():
    env = CausalEnv(ToyScenario())
    env.reset(seed=0)
    q = env.unwrapped.query
    for _ in range(50):
        q.interventional(0, n=2)
    assert q.remaining == math.inf and q.spent == 0.0 and q.count == 50
    *_, info = env.step(0)
    assert "queries" not in info["rewards"]


@pytest.mark.parametrize("kwargs, pattern", [
    ({"budget": -1.0}, "query budget must be a number >= 0"),
    ({"budget": "lots"}, "query budget must be a number >= 0"),
    ({"cost": -0.1}, "query cost must be a finite number >= 0"),
    ({"cost": math.nan}, "query cost must be a finite number >= 0"),
])
def test_bad_budgets_and_costs_are_rejected(kwargs, pattern):
    with pytest.raises(SimError, match=pattern):
        QueryBudget(CausalEnv(ToyScenario()), **kwargs)
    make_kwargs = {f"query_{k}": v for k, v in kwargs.items()}
    with pytest.raises(SimError, match=pattern):
        gym.make("causalsim-test/QueryToy-v0", **make_kwargs)


def test_the_budget_is_a_wrapper_and_make_applies_it():
    env = gym.make("causalsim-test/QueryToy-v0", query_budget=2.0, query_cost=0.5)
    assert isinstance(env, QueryBudget) or any(isinstance(w, QueryBudget) for w in _wrappers(env))
    assert env.unwrapped.query.budget == 2.0 and env.unwrapped.query.cost == 0.5
    assert not isinstance(gym.make("causalsim-test/QueryToy-v0"), QueryBudget)
    shortcut = CausalEnv(ToyScenario(), query_budget=1.0, query_cost=0.25)
    assert isinstance(shortcut, QueryBudget) and isinstance(shortcut.unwrapped, CausalEnv)
    assert shortcut.unwrapped.query.budget == 1.0 and shortcut.unwrapped.query.cost == 0.25
    assert type(CausalEnv(ToyScenario())) is CausalEnv


def _wrappers(env):
    while hasattr(env, "env"):
        yield env
        env = env.env


# ---------------------------------------------------------------------- queries are inert
@pytest.mark.parametrize("make", [ToyScenario, DynamicScenario, DoseScenario], ids=lambda s: s.__name__)
def test_queries_never_change_the_episode(make):
    sc = make(max_units=15)
    actions = sc.random_actions(15, np.random.default_rng(0))

    def play(ask):
        env = CausalEnv(sc)
        obs, info = env.reset(seed=8)
        seen = [obs.tobytes(), info]
        for a in actions:
            if ask:
                env.unwrapped.query.interventional(a, n=64)
                env.unwrapped.query.policy_value(
                    lambda o: sc.random_actions(len(o), np.random.default_rng(1)))
            obs, reward, terminated, _, info = env.step(a)
            if ask:
                env.unwrapped.query.counterfactual(actions[0])
            seen += [obs.tobytes(), reward, terminated, info]
        return seen

    assert play(ask=True) == play(ask=False)
