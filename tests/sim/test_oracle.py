"""The oracle: context values and regret against analytic answers.

In ToyScenario treating changes the reward by ``(1 + x) - 0.5 = 0.5 + x`` for
every unit (the hidden ``u`` and the noise ``e`` cancel), so with common random
numbers the context values differ by ``0.5 + x`` up to rounding, not up to
Monte-Carlo error: these assertions are exact (no false-failure rate). The one
Monte-Carlo assertion (a dynamic context value) allows K = 5 standard errors,
a two-sided false-failure rate of about 6e-7; its draws are seeded.
"""

import numpy as np
import pytest

from sim.env import CausalEnv
from sim.errors import SimError
from sim.oracle import Regret, context_values, regret, unit_values
from sim.testing import DoseScenario, DynamicScenario, ToyScenario
from sim.wrappers import QueryBudget


def units(env, seed, steps):
    """Yield ``x`` of each current unit of an episode (acting 'control' in between)."""
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        yield float(obs[0])
        obs, _, terminated, _, _ = env.step(0)
        if terminated:
            return


def test_context_value_difference_is_half_plus_x():
    env = CausalEnv(ToyScenario(max_units=10))
    for x in units(env, 0, 10):
        values = context_values(env, draws=500, seed=1)
        assert values.shape == (2,)
        assert values[1] - values[0] == pytest.approx(0.5 + x, abs=1e-9)


def test_unit_value_difference_is_half_plus_x_and_matches_the_counterfactual():
    env = CausalEnv(ToyScenario(max_units=10))
    q = env.unwrapped.query
    obs, _ = env.reset(seed=2)
    for _ in range(10):
        x = float(obs[0])
        values = unit_values(env)
        assert values[1] - values[0] == pytest.approx(0.5 + x, abs=1e-12)
        a = int(x > 0)
        obs, reward, terminated, _, _ = env.step(a)
        assert values[a] == reward
        assert values[1 - a] == pytest.approx(q.counterfactual(1 - a, reward=True).mean, abs=1e-12)
        if terminated:
            break


def test_regret_is_zero_for_the_oracle_action_and_non_negative_otherwise():
    env = CausalEnv(ToyScenario(max_units=25))
    for x in units(env, 3, 25):
        best = int(0.5 + x > 0)
        for a in (0, 1):
            r = regret(env, a, draws=300)
            assert isinstance(r, Regret) and r.action == a
            assert r.oracle_action == best
            assert r.vs_oracle >= 0 and r.vs_clairvoyant >= 0
            if a == best:
                assert r.vs_oracle == 0.0
            else:
                assert r.vs_oracle == pytest.approx(abs(0.5 + x), abs=1e-9)
            if a == r.clairvoyant_action:
                assert r.vs_clairvoyant == 0.0
        # labels name the same actions
        assert regret(env, "treat", draws=300) == regret(env, 1, draws=300)


def test_clairvoyant_regret_is_at_least_zero_and_is_the_unit_gap():
    env = CausalEnv(ToyScenario(max_units=25))
    for _ in units(env, 4, 25):
        values = unit_values(env)
        for a in (0, 1):
            r = regret(env, a, draws=50)
            assert r.vs_clairvoyant == values.max() - values[a] >= 0
            assert r.clairvoyant_action == int(np.argmax(values))


def test_dynamic_context_values_are_exact():
    # y = 2 a + s + e and acting costs 1: act minus wait is 2 - 1 = 1 in every state.
    env = CausalEnv(DynamicScenario(max_units=5))
    obs, _ = env.reset(seed=0)
    for a in (1, 1, 0, 1):
        values = context_values(env, draws=200)
        assert values[1] - values[0] == pytest.approx(1.0, abs=1e-9)
        # E[s + e] = s: a mean of 200 unit-variance draws, within K = 5 standard errors
        assert abs(values[0] - float(obs[0])) < 5.0 / np.sqrt(200)
        assert regret(env, "act", draws=200).vs_oracle == 0.0
        obs, *_ = env.step(a)


def test_the_oracle_never_changes_the_episode_or_charges_queries():
    def play(consult):
        env = QueryBudget(CausalEnv(ToyScenario(max_units=8)), budget=0.0, cost=1.0)
        obs, _ = env.reset(seed=5)
        seen = [obs.tobytes()]
        for t in range(8):
            if consult:
                regret(env, t % 2, draws=100)
            obs, reward, *_ = env.step(t % 2)
            seen += [obs.tobytes(), reward]
        return seen, env.unwrapped.query.spent

    assert play(True) == play(False)


def test_oracle_is_seeded():
    env = CausalEnv(ToyScenario())
    env.reset(seed=6)
    a = context_values(env, draws=100, seed=1)
    assert np.array_equal(a, context_values(env, draws=100, seed=1))
    assert not np.array_equal(a, context_values(env, draws=100, seed=2))


def test_oracle_errors():
    env = CausalEnv(DoseScenario())
    env.reset(seed=0)
    with pytest.raises(SimError, match="needs a discrete action space"):
        context_values(env)
    with pytest.raises(SimError, match="the oracle needs a CausalEnv"):
        unit_values(object())
    toy = CausalEnv(ToyScenario(max_units=1))
    toy.reset(seed=0)
    toy.step(0)
    with pytest.raises(SimError, match="no current unit"):
        regret(toy, 0)
