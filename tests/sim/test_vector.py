"""CausalVectorEnv against SyncVectorEnv over single CausalEnvs, autoreset, registry, bad actions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.vector.utils import batch_space

import sim.core
import sim.episode
import sim.vector
from causal.spec import load_scm
from sim.env import CausalEnv
from sim.errors import ActionError, SimError
from sim.registry import env_factory, register
from sim.tape import TapePlan
from sim.testing import DoseScenario, DynamicScenario, ToyScenario
from sim.timeline import StateDependent
from sim.vector import CausalVectorEnv, vector_factory


class CappedScenario(DynamicScenario):
    """Episodes end once the state passes 1.6 (a vectorized ``exhausted``)."""

    name = "capped"

    def exhausted(self, state):
        return np.asarray(state["s"]) > 1.6


class BusyScenario(DynamicScenario):
    """Arrivals speed up with the state: a non-static timeline (one simpy clock per sub-env)."""

    name = "busy"

    def build_timeline(self):
        return StateDependent(rate=lambda state: 1.0 + state["s"] ** 2)


class MixedScenario(ToyScenario):
    """The toy world with noise of several families, affine parts included, and two context nodes."""

    name = "mixed"
    context = ("x", "w")

    def build_scm(self):
        return load_scm({"name": "mixed", "nodes": {
            "x": {"noise": "normal(1, 2)"},
            "w": {"equation": "0.5 * x + noise", "noise": "uniform(-1, 3)"},
            "u": {"noise": "exponential(2.5)", "hidden": True},
            "v": {"noise": "lognormal(0, 0.5)", "hidden": True},
            "t": {"type": "binary", "logit": "x - u"},
            "y": {"equation": "1 + x + t * (1 + w) + u - v + noise", "noise": "normal(0, 0.5)"},
        }})


SCENARIOS = {
    "toy": lambda: ToyScenario(max_units=6),
    "toy-horizon": lambda: ToyScenario(max_units=30, horizon=12.0),
    "dynamic": lambda: DynamicScenario(max_units=5),
    "dose": lambda: DoseScenario(max_units=7),
    "capped": lambda: CappedScenario(max_units=9),
    "busy": lambda: BusyScenario(max_units=12, horizon=4.0),
    "mixed-horizon": lambda: MixedScenario(max_units=10, horizon=7.0),
}

register("causalsim-test/Toy-v0", ToyScenario)


def random_actions(space: gym.Space, n: int, rng: np.random.Generator) -> np.ndarray:
    if hasattr(space, "n"):
        return rng.integers(0, int(space.n), size=n)
    return rng.uniform(space.low, space.high, size=(n, *space.shape))


def assert_info_equal(ours: dict, ref: dict, keys=("outcome", "time", "unit", "kind")) -> None:
    for key in keys:
        assert (key in ours) == (key in ref), key
        if key in ours:
            mask = ours[f"_{key}"]
            np.testing.assert_array_equal(mask, ref[f"_{key}"], err_msg=key)
            if key == "kind":
                assert list(ours[key][mask]) == list(ref[key][mask])
            else:
                np.testing.assert_allclose(ours[key][mask], ref[key][mask], rtol=0, atol=1e-12, err_msg=key)
    if "rewards" in ours or "rewards" in ref:
        np.testing.assert_array_equal(ours["_rewards"], ref["_rewards"])
        parts = [k for k in ref["rewards"] if not k.startswith("_")]
        assert sorted(parts) == sorted(k for k in ours["rewards"] if not k.startswith("_"))
        mask = ref["_rewards"]
        for k in parts:
            np.testing.assert_allclose(ours["rewards"][k][mask], ref["rewards"][k][mask], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_equals_sync_vector_env_of_single_envs(name):
    make, n, seed = SCENARIOS[name], 6, 11
    ours = CausalVectorEnv(make(), n)
    ref = SyncVectorEnv([lambda: CausalEnv(make()) for _ in range(n)])
    assert ours.single_observation_space == ref.single_observation_space
    assert ours.single_action_space == ref.single_action_space
    assert ours.observation_space == ref.observation_space and ours.action_space == ref.action_space
    obs, info = ours.reset(seed=seed)
    ref_obs, ref_info = ref.reset(seed=seed)
    np.testing.assert_array_equal(obs, ref_obs)
    assert_info_equal(info, ref_info)
    rng = np.random.default_rng(0)
    resets = 0
    for _ in range(45):
        actions = random_actions(ours.single_action_space, n, rng)
        obs, reward, term, trunc, info = ours.step(actions)
        r_obs, r_reward, r_term, r_trunc, r_info = ref.step(actions)
        np.testing.assert_allclose(obs, r_obs, rtol=0, atol=1e-12)
        np.testing.assert_allclose(reward, r_reward, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(term, r_term)
        np.testing.assert_array_equal(trunc, r_trunc)
        assert obs.dtype == r_obs.dtype and reward.dtype == np.float64 and term.dtype == np.bool_
        assert_info_equal(info, r_info)
        resets += int(info.get("_kind", np.zeros(n, bool)).sum())
    assert resets >= n  # several episodes, autoresets included


def test_linear_scenarios_are_bit_identical():
    ours = CausalVectorEnv(DynamicScenario(max_units=4), 3)
    ref = SyncVectorEnv([lambda: CausalEnv(DynamicScenario(max_units=4)) for _ in range(3)])
    ours.reset(seed=5)
    ref.reset(seed=5)
    rng = np.random.default_rng(3)
    for _ in range(12):
        a = rng.integers(0, 2, 3)
        mine, theirs = ours.step(a), ref.step(a)
        for x, y in zip(mine[:4], theirs[:4], strict=True):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_bit_identical_whatever_the_reset_blocks(monkeypatch, chunk):
    """Resets draw tapes in blocks of sub-environments; any block size gives the single envs' bits,
    with episodes in step (every sub-env at the same unit) and out of step (horizon, reset_mask)."""
    nodes = len(MixedScenario().noise_items)
    monkeypatch.setattr(sim.episode, "_SCRATCH_BYTES", chunk * 8 * nodes * 10)  # tapes of 10 units
    for params in ({}, {"horizon": 6.0}):
        n = 7
        ours = CausalVectorEnv(MixedScenario(max_units=10, **params), n)
        ref = SyncVectorEnv([lambda params=params: CausalEnv(MixedScenario(max_units=10, **params))] * n)
        for x, y in zip(ours.reset(seed=3)[:1], ref.reset(seed=3)[:1], strict=True):
            np.testing.assert_array_equal(x, y)
        rng = np.random.default_rng(1)
        for k in range(40):
            if k == 17:
                mask = np.array([True, False, True, True, False, False, True])
                seeds = [50 + i if m else None for i, m in enumerate(mask)]
                obs, _ = ours.reset(seed=seeds, options={"reset_mask": mask})
                r_obs, _ = ref.reset(seed=seeds, options={"reset_mask": mask})
                np.testing.assert_array_equal(obs, r_obs)
            a = rng.integers(0, 2, n)
            mine, theirs = ours.step(a), ref.step(a)
            for x, y in zip(mine[:4], theirs[:4], strict=True):
                np.testing.assert_array_equal(x, y)
            for key in ("outcome", "time", "unit"):
                if key in theirs[4]:
                    mask = theirs[4][f"_{key}"]
                    np.testing.assert_array_equal(mine[4][key][mask], theirs[4][key][mask])


def test_each_row_draws_its_query_seed_then_its_tape():
    sc = ToyScenario(max_units=5)
    state = sim.core.initial(sc, [np.random.default_rng(5)])
    rng = np.random.default_rng(5)
    assert int(state.query_seeds[0]) == rng.bit_generator.random_raw()
    tape = TapePlan.of(sc).draw(rng)
    for v, row in tape.noise.items():
        assert row.tobytes() == sim.core.tape_of(state).noise[v].tobytes()


def test_sub_env_replays_a_single_env_across_autoresets():
    n, seed = 4, 100
    venv = CausalVectorEnv(ToyScenario(max_units=3), n)
    single = CausalEnv(ToyScenario(max_units=3))
    obs, _ = venv.reset(seed=seed)
    s_obs, _ = single.reset(seed=seed + 2)
    np.testing.assert_array_equal(obs[2], s_obs)
    for t in range(11):  # episodes of 3 steps, each followed by a reset step
        actions = np.full(n, t % 2)
        obs, reward, term, _, info = venv.step(actions)
        if t % 4 == 3:
            s_obs, _ = single.reset()
            assert reward[2] == 0.0 and not term[2]
        else:
            s_obs, s_reward, s_term, _, s_info = single.step(t % 2)
            assert reward[2] == s_reward and term[2] == s_term and info["outcome"][2] == s_info["outcome"]
        np.testing.assert_array_equal(obs[2], s_obs)


def test_next_step_autoreset_semantics():
    venv = CausalVectorEnv(ToyScenario(max_units=2), 3)
    assert venv.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    venv.reset(seed=0)
    _, _, term, trunc, _ = venv.step(np.zeros(3, dtype=int))
    assert not term.any() and not trunc.any()
    last_obs, _, term, trunc, info = venv.step(np.ones(3, dtype=int))
    assert trunc.all() and not term.any() and info["_outcome"].all()  # max_units truncates
    # the action of an ended sub-env is ignored; it is reset with reward 0
    obs, reward, term, trunc, info = venv.step(np.ones(3, dtype=int))
    assert not term.any() and not trunc.any() and (reward == 0).all()
    assert "outcome" not in info and info["_kind"].all() and (info["unit"] == 0).all()
    assert not np.array_equal(obs, last_obs)
    _, reward, term, _, info = venv.step(np.ones(3, dtype=int))
    assert info["_outcome"].all() and (info["unit"] == 0).all() and not term.any()


def test_terminal_observation_is_kept_and_masks_mix():
    venv = CausalVectorEnv(CappedScenario(max_units=9), 16)
    venv.reset(seed=1)
    rng = np.random.default_rng(2)
    prev = None
    seen_mixed = False
    for _ in range(30):
        obs, _, term, _, info = venv.step(rng.integers(0, 2, 16))
        if prev is not None:
            np.testing.assert_array_equal(obs[term], prev[term])  # terminal obs: the unit acted on
        if "_kind" in info and info["_kind"].any() and info["_outcome"].any():
            seen_mixed = True
            np.testing.assert_array_equal(info["_kind"], ~info["_outcome"])
            assert (info["outcome"][info["_kind"]] == 0).all()
        prev = obs
    assert seen_mixed


def test_seeding_and_determinism():
    a = CausalVectorEnv(DoseScenario(max_units=4), 3)
    b = CausalVectorEnv(DoseScenario(max_units=4), 3)
    oa, _ = a.reset(seed=9)
    ob, _ = b.reset(seed=[9, 10, 11])
    np.testing.assert_array_equal(oa, ob)
    assert a.np_random_seed == (9, 10, 11)
    acts = np.linspace(0, 2, 3)[:, None]
    for _ in range(10):
        for x, y in zip(a.step(acts)[:4], b.step(acts)[:4], strict=True):
            np.testing.assert_array_equal(x, y)
    oc, _ = a.reset(seed=9)
    np.testing.assert_array_equal(oc, oa)
    od, _ = a.reset()  # unseeded: the generators run on, a new episode
    assert not np.array_equal(od, oa)


def test_reset_mask_resets_only_the_masked_sub_envs():
    venv = CausalVectorEnv(ToyScenario(max_units=5), 3)
    venv.reset(seed=0)
    obs, *_ = venv.step(np.zeros(3, dtype=int))
    new, info = venv.reset(seed=[None, 42, None], options={"reset_mask": np.array([False, True, False])})
    np.testing.assert_array_equal(new[[0, 2]], obs[[0, 2]])
    np.testing.assert_array_equal(new[1], CausalEnv(ToyScenario(max_units=5)).reset(seed=42)[0])
    np.testing.assert_array_equal(info["_unit"], [False, True, False])
    with pytest.raises(SimError, match="reset_mask"):
        venv.reset(options={"reset_mask": np.zeros(3, dtype=bool)})
    with pytest.raises(SimError, match="one seed per"):
        venv.reset(seed=[1, 2])
    with pytest.raises(SimError, match="seed must be"):
        venv.reset(seed="7")
    np.testing.assert_array_equal(venv.reset(seed=np.arange(7, 10))[0], venv.reset(seed=7)[0])


@pytest.mark.parametrize("bad", [np.zeros(2, dtype=int), np.array([0, 1, 2, 0]),
                                 np.array([0.0, np.nan, 1.0, 0.0]), np.array([0.5, 1.0, 0.0, 1.0]),
                                 np.zeros((4, 1), dtype=int), np.array([True, False, True, False])])
def test_bad_discrete_actions(bad):
    venv = CausalVectorEnv(ToyScenario(), 4)
    venv.reset(seed=0)
    with pytest.raises(ActionError):
        venv.step(bad)


@pytest.mark.parametrize("bad", [np.full((3, 1), 2.5), np.array([[0.1], [np.nan], [1.0]]), np.ones((3, 2)),
                                 np.ones(4)])
def test_bad_continuous_actions(bad):
    venv = CausalVectorEnv(DoseScenario(), 3)
    venv.reset(seed=0)
    with pytest.raises(ActionError):
        venv.step(bad)


def test_bad_actions_leave_the_episode_untouched():
    venv, ref = CausalVectorEnv(ToyScenario(), 2), CausalVectorEnv(ToyScenario(), 2)
    venv.reset(seed=4)
    ref.reset(seed=4)
    with pytest.raises(ActionError, match="outside"):
        venv.step(np.array([0, 7]))
    for x, y in zip(venv.step(np.array([1, 0]))[:4], ref.step(np.array([1, 0]))[:4], strict=True):
        np.testing.assert_array_equal(x, y)


def test_construction_errors_and_render():
    with pytest.raises(SimError, match="num_envs"):
        CausalVectorEnv(ToyScenario(), 0)
    with pytest.raises(SimError, match="Scenario"):
        CausalVectorEnv("toy", 2)
    with pytest.raises(SimError, match="render_mode"):
        CausalVectorEnv(ToyScenario(), 2, render_mode="human")
    venv = CausalVectorEnv(ToyScenario(), 2, render_mode="ansi")
    with pytest.raises(SimError, match="reset"):
        venv.step(np.zeros(2, dtype=int))
    venv.reset(seed=0)
    frames = venv.render()
    assert len(frames) == 2 and all(f.startswith("toy[") for f in frames)
    assert CausalVectorEnv(ToyScenario(), 2).render() is None
    assert venv.observation_space == batch_space(venv.single_observation_space, 2)


def test_reset_rejects_params_and_unknown_options():
    venv = CausalVectorEnv(ToyScenario(), 2)
    with pytest.raises(SimError, match="new vector environment"):
        venv.reset(seed=0, options={"params": {"max_units": 3}})
    with pytest.raises(SimError, match="unknown reset option"):
        venv.reset(seed=0, options={"speed": 2})


def test_registry_make_and_make_vec():
    venv = gym.make_vec("causalsim-test/Toy-v0", num_envs=8)
    assert isinstance(venv, CausalVectorEnv) and venv.num_envs == 8
    venv = gym.make_vec("causalsim-test/Toy-v0", num_envs=2, max_units=4, confounding=0.0)
    assert venv.scenario.params.max_units == 4 and venv.scenario.params.confounding == 0.0
    env = gym.make("causalsim-test/Toy-v0", max_units=4, query_cost=0.5)
    assert isinstance(env.unwrapped, CausalEnv) and env.unwrapped.query.cost == 0.5
    obs, _ = env.reset(seed=3)
    np.testing.assert_array_equal(obs, venv.reset(seed=3)[0][0])
    with pytest.raises(SimError, match="query"):
        gym.make_vec("causalsim-test/Toy-v0", num_envs=2, query_budget=1.0)
    with pytest.raises(SimError, match="Scenario"):
        vector_factory(dict)
    with pytest.raises(SimError, match="Scenario"):
        env_factory(object)
