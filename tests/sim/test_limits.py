"""The memory cap (causal.limits) in the engine: episode states are checked before allocating."""


import numpy as np
import pytest

from causal import limits
from causal.testing import run_python
from sim import core, episode
from sim.env import CausalEnv
from sim.errors import ScenarioError, SimError
from sim.testing import ToyScenario
from sim.vector import CausalVectorEnv


def test_episode_estimate_follows_the_documented_formula():
    sc = ToyScenario(max_units=1000)
    per_row, detail = core.episode_bytes(sc)
    lay = core.Layout.of(sc)
    # at least the noise tapes and the fixed table, each max_units floats, plus the timeline draws
    assert per_row >= 8 * (1000 * (len(lay.noise_nodes) + len(lay.fixed)) + lay.tape.draws)
    assert per_row % 8 == 0 and "max_units=1,000" in detail


def test_vector_env_just_over_the_cap_is_refused_and_just_under_runs():
    sc = ToyScenario(max_units=200)
    per_row = core.episode_bytes(sc)[0]
    with limits.max_bytes(4 * per_row):
        envs = CausalVectorEnv(sc, num_envs=4)
        envs.reset(seed=0)
        envs.step(np.zeros(4, dtype=np.int64))
        with pytest.raises(SimError, match=r"CausalVectorEnv\(num_envs=5\)") as e:
            CausalVectorEnv(sc, num_envs=5)
        msg = str(e.value)
        assert "over the limit" in msg and "chunks of at most 4 envs per vector env" in msg
        assert "CAUSALSIM_MAX_BYTES" in msg and "raise the limit" in msg
    with limits.max_bytes(5 * per_row):
        CausalVectorEnv(sc, num_envs=5).reset(seed=0)


def test_initial_refuses_before_allocating(monkeypatch):
    sc = ToyScenario(max_units=200)
    per_row = core.episode_bytes(sc)[0]
    rngs = [np.random.default_rng(i) for i in range(3)]
    with limits.max_bytes(3 * per_row):
        core.initial(sc, rngs)
    monkeypatch.setattr(episode, "_empty", lambda *a: pytest.fail("allocated"))
    with limits.max_bytes(3 * per_row - 1), \
            pytest.raises(SimError, match=r"starting 3 episode\(s\) of 'toy'"):
        core.initial(sc, rngs)


def test_single_env_too_big_names_max_units():
    sc = ToyScenario(max_units=200)
    per_row = core.episode_bytes(sc)[0]
    with limits.max_bytes(per_row):
        CausalEnv(sc).reset(seed=0)
    with limits.max_bytes(per_row - 1), pytest.raises(SimError, match="lower max_units"):
        CausalEnv(sc)


def test_absurd_max_units_is_a_scenario_error():
    for m in (10**12, 2**62, 10**30):
        with pytest.raises(ScenarioError, match=r"max_units=.* over the limit.*lower max_units to at most"):
            ToyScenario(max_units=m)
    with limits.max_bytes(2**70), pytest.raises(ScenarioError, match="over the limit"):
        ToyScenario(max_units=2**62)   # 8 bytes per unit would overflow int64 whatever the cap


def test_environment_variable_caps_the_engine():
    sc = ToyScenario(max_units=200)
    per_row = core.episode_bytes(sc)[0]
    code = ("from sim.testing import ToyScenario\nfrom sim.vector import CausalVectorEnv\n"
            "from sim.errors import SimError\nsc = ToyScenario(max_units=200)\n"
            "CausalVectorEnv(sc, num_envs=2)\n"
            "try:\n    CausalVectorEnv(sc, num_envs=3)\n    print('ok')\n"
            "except SimError as e:\n    print('refused')\n")
    out, err = run_python(code, {limits.ENV_VAR: str(2 * per_row)})
    assert out == "refused", err
