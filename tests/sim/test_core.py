"""The episode core: one implementation behind the single env, the vector env, rollouts and queries.

Every comparison here is exact (bytes), none statistical: the single and the vector
environment are two batch sizes of the same functions, so they must agree to the last bit
on every registered scenario, across autoresets, whatever the batch.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import scenarios
from sim import core
from sim.env import CausalEnv
from sim.rollout import rollout
from sim.vector import CausalVectorEnv

ROOT = Path(__file__).resolve().parents[2]
#: Small episodes (so that 30 steps hold autoresets) of every registered scenario.
SMALL = {"driving": {"max_units": 9}, "driving_brake": {"max_units": 9}, "healthcare": {"max_units": 9},
         "icecream": {"max_units": 9}, "marketing": {"max_units": 20, "horizon": 0.6},
         "policy": {"n_regions": 3, "n_quarters": 4}}
STEPS = 30
SEEDS = 100


def test_every_registered_scenario_has_a_small_configuration():
    assert set(SMALL) == set(scenarios.names())


def _actions(sc, seed: int, k: int) -> np.ndarray:
    return sc.random_actions(k, np.random.default_rng([seed, 99]))


def _single_stream(sc, seed: int, steps: int) -> list[tuple[bytes, float, bool, bool]]:
    """What one CausalEnv shows over ``steps`` steps (resetting without a seed when an episode ends),
    with the actions of sub-environment ``seed``."""
    env = CausalEnv(sc)
    obs, _ = env.reset(seed=seed)
    acts = _actions(sc, seed, steps)
    out = [(obs.tobytes(), 0.0, False, False)]
    ended = False
    for t in range(steps):
        if ended:  # what NEXT_STEP autoreset shows
            obs, _ = env.reset()
            out.append((obs.tobytes(), 0.0, False, False))
            ended = False
            continue
        obs, reward, term, trunc, _ = env.step(acts[t])
        out.append((obs.tobytes(), reward, term, trunc))
        ended = term or trunc
    return out


def _vector_stream(sc, seed: int, num_envs: int, steps: int, rows: range) -> dict[int, list]:
    venv = CausalVectorEnv(sc, num_envs)
    obs, _ = venv.reset(seed=seed)
    acts = np.stack([_actions(sc, seed + j, steps) for j in range(num_envs)], axis=1)
    out = {j: [(obs[j].tobytes(), 0.0, False, False)] for j in rows}
    for t in range(steps):
        obs, reward, term, trunc, _ = venv.step(acts[t])
        for j in rows:
            out[j].append((obs[j].tobytes(), float(reward[j]), bool(term[j]), bool(trunc[j])))
    return out


@pytest.mark.parametrize("name", sorted(SMALL))
def test_single_vector_and_rollout_agree_bit_for_bit(name):
    """100 seeds: CausalEnv, CausalVectorEnv with 1, 7 and 1024 sub-environments (autoresets
    included) and rollout() give the same bytes for the same seeds and actions."""
    sc = scenarios.make(name, **SMALL[name])
    singles = {s: _single_stream(sc, s, STEPS) for s in range(SEEDS)}
    wide = _vector_stream(sc, 0, 1024, STEPS, range(SEEDS))
    for s in range(SEEDS):
        assert wide[s] == singles[s], f"{name}: sub-environment {s} of 1024 differs from CausalEnv"
    for s in range(0, SEEDS, 7):
        seven = _vector_stream(sc, s, 7, STEPS, range(7))
        for j in range(7):
            if s + j < SEEDS:
                assert seven[j] == singles[s + j], f"{name}: sub-environment {j} of 7 (seed {s + j})"
    for s in range(0, SEEDS, 10):
        assert _vector_stream(sc, s, 1, STEPS, range(1))[0] == singles[s]
        acts = iter(_actions(sc, s, STEPS))
        traj = rollout(CausalEnv(sc), lambda obs, acts=acts: next(acts), seed=s)
        first = singles[s][1:len(traj) + 1]
        assert [r for _, r, _, _ in first] == traj.rewards.tolist()


@pytest.mark.parametrize("name", sorted(SMALL))
def test_the_core_computes_what_the_scm_computes(name):
    """Whatever the core precomputes per episode or computes per step, a unit's values under an
    action equal one propagation of its own noise under that action and its state, bit for bit."""
    sc = scenarios.make(name, **SMALL[name])
    env = CausalEnv(sc)
    env.reset(seed=4)
    acts = _actions(sc, 4, 12)
    for t in range(12):
        state = env.state
        if state.terminated[0] or state.truncated[0]:
            break
        unit = int(state.unit[0])
        tape = core.tape_of(state)
        noise = {v: arr[unit:unit + 1] for v, arr in tape.noise.items()}
        batch = np.asarray(acts[t:t + 1])
        want = sc.outcomes(noise, batch, state.row_state(0))
        got, total, _ = core.potential(state, batch)
        for v in sc.scm.nodes:
            assert np.asarray(got[v]).tobytes() == np.asarray(want[v], dtype=float).tobytes(), (name, t, v)
        assert total.tobytes() == np.asarray(sc.total_reward(want, batch)[0], dtype=float).tobytes()
        obs = core.observe(state)[0]
        assert obs.tobytes() == sc.observe(want)[0].tobytes()
        env.step(acts[t])


def test_transition_leaves_its_input_state_unchanged():
    sc = scenarios.make("marketing", **SMALL["marketing"])
    state = core.initial(sc, [np.random.default_rng(s) for s in range(5)])
    before = state.copy()
    new, *_ = core.transition(state, np.array([0, 1, 2, 3, 2]))
    for field in ("unit", "time", "terminated", "truncated"):
        assert getattr(state, field).tobytes() == getattr(before, field).tobytes()
    assert all(state.state[k].tobytes() == before.state[k].tobytes() for k in before.state)
    assert new is not state and (new.unit != state.unit).any() or new.truncated.any()


@pytest.mark.parametrize("name", scenarios.names())
def test_gymnasium_check_env_passes_without_warnings(name):
    env = gym.make(scenarios.env_id(name))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    assert env.unwrapped.feature_names == tuple(env.unwrapped.scenario.context)
    assert np.all(np.isfinite(env.observation_space.low)) and np.all(np.isfinite(env.observation_space.high))


@pytest.mark.parametrize("name", scenarios.names())
def test_stable_baselines3_check_env_passes(name):
    sb3 = pytest.importorskip("stable_baselines3.common.env_checker")
    sb3.check_env(gym.make(scenarios.env_id(name)).unwrapped, warn=True)


def test_no_module_reads_private_attributes_of_an_environment():
    """Only the core and the two adapters may touch episode internals; everything else goes
    through the public state and the core's functions."""
    private = re.compile(r"(?<!self)\._(tape|state_now|current_unit|last|replay|point|precomputed|clocks?)\b")
    allowed = {ROOT / "sim" / "core.py", ROOT / "sim" / "env.py", ROOT / "sim" / "vector.py"}
    offenders = []
    for folder in ("sim", "agents", "scenarios", "causalsim", "benchmarks", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            if path in allowed or path == Path(__file__).resolve():
                continue
            for k, line in enumerate(path.read_text().splitlines(), 1):
                if private.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{k}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_a_copy_survives_a_reset_of_the_original():
    sc = scenarios.make("policy", **SMALL["policy"])
    state = core.initial(sc, [np.random.default_rng(s) for s in range(3)])
    state, *_ = core.transition(state, np.array([1, 0, 1]))
    kept = state.copy()
    before = core.tape_of(state, 0)
    core.reset_rows(state, np.array([0, 2]), [np.random.default_rng(9), np.random.default_rng(10)])
    assert kept.unit.tolist() == [1, 1, 1] and state.unit.tolist() == [0, 1, 0]
    after, still = core.tape_of(state, 0), core.tape_of(kept, 0)
    assert all(still.noise[v].tobytes() == before.noise[v].tobytes() for v in before.noise)
    assert any(after.noise[v].tobytes() != before.noise[v].tobytes() for v in before.noise)
    assert kept.state["step"].tolist() == [1.0, 1.0, 1.0] and state.state["step"].tolist() == [0.0, 1.0, 0.0]
