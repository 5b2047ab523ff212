"""Paired factual / counterfactual rollouts against hand-computed recursions; ``to_frame``.

DynamicScenario is linear: ``y_t = 2 a_t + s_t + e_t``, ``s_{t+1} = 0.5 s_t + a_t``,
``s_0 = 1``, reward ``y_t - a_t`` (acting costs 1). Given the recorded tape noise
``e_t`` of ``y`` both worlds follow by hand. No statistical assertions here.
"""

import numpy as np
import pytest

from sim.env import CausalEnv
from sim.errors import SimError
from sim.rollout import Trajectory, counterfactual_rollout, rollout
from sim.testing import DoseScenario, DynamicScenario, ToyScenario


def by_hand(e, policy):
    """The recursion of DynamicScenario on noise ``e`` under ``policy(s) -> a``."""
    s, rows = 1.0, []
    for t, e_t in enumerate(e):
        a = policy(s)
        y = 2 * a + s + e_t
        rows.append({"time": float(t), "s": s, "action": a, "outcome": y, "reward": y - a})
        s = 0.5 * s + a
    return rows


def act_when_low(obs):
    return int(obs[0] < 1.2)


@pytest.mark.parametrize("other", [lambda obs: 1, lambda obs: 0, lambda obs: int(obs[0] >= 1.2)],
                         ids=["always", "never", "opposite"])
def test_factual_and_counterfactual_rollouts_follow_the_linear_recursion(other):
    env = CausalEnv(DynamicScenario(max_units=20))
    fact = rollout(env, act_when_low, seed=3)
    cf = counterfactual_rollout(fact, other)
    e = fact.tape.noise["y"]
    assert cf.tape is fact.tape and len(fact) == len(cf) == 20
    for traj, policy in ((fact, act_when_low), (cf, other)):
        want = by_hand(e, lambda s, p=policy: p(np.array([s])))
        frame = traj.to_frame()
        for col in ("time", "s", "action", "outcome", "reward"):
            np.testing.assert_allclose(frame[col].to_numpy(dtype=float), [r[col] for r in want],
                                       rtol=0, atol=1e-12, err_msg=col)
    assert not np.array_equal(fact.outcomes, cf.outcomes)


def test_the_counterfactual_world_diverges_through_the_state():
    # Acting once at t = 0 raises every later state by 0.5^(t-1), hence every later outcome.
    env = CausalEnv(DynamicScenario(max_units=8))
    never = rollout(env, lambda obs: 0, seed=1)
    first = iter([1] + [0] * 7)
    once = counterfactual_rollout(never, lambda obs: next(first))
    diff = once.outcomes - never.outcomes
    np.testing.assert_allclose(diff, [2.0] + [0.5 ** (t - 1) for t in range(1, 8)], atol=1e-12)


def test_to_frame_has_potential_outcomes_beside_the_factual_one():
    env = CausalEnv(ToyScenario(max_units=12))
    rng = np.random.default_rng(0)
    traj = rollout(env, lambda obs: int(rng.integers(2)), seed=2)
    frame = traj.to_frame()
    assert list(frame.columns) == ["time", "unit", "x", "action", "action_label", "outcome", "reward",
                                   "y[control]", "reward[control]", "y[treat]", "reward[treat]"]
    assert len(frame) == 12 and frame["unit"].tolist() == list(range(12))
    assert set(frame["action"]) == {0, 1}
    for _, row in frame.iterrows():
        label = row["action_label"]
        assert label == ("treat" if row["action"] == 1 else "control")
        assert row[f"y[{label}]"] == row["outcome"]  # the taken action's potential outcome is the factual
        assert row[f"reward[{label}]"] == row["reward"]
        # and the potential outcomes differ by the unit's effect 1 + x
        assert row["y[treat]"] - row["y[control]"] == pytest.approx(1 + row["x"], abs=1e-12)
        assert row["reward[treat]"] - row["y[treat]"] == -0.5
    assert "u" not in frame.columns  # the hidden confounder is not exported


def test_potential_outcomes_in_a_dynamic_world_use_the_state_the_unit_was_in():
    env = CausalEnv(DynamicScenario(max_units=10))
    frame = rollout(env, act_when_low, seed=4).to_frame()
    np.testing.assert_allclose(frame["y[act]"] - frame["y[wait]"], 2.0, atol=1e-12)
    taken = np.where(frame["action"] == 1, frame["y[act]"], frame["y[wait]"])
    np.testing.assert_array_equal(taken, frame["outcome"])


def test_counterfactual_rollout_realises_the_potential_outcome_columns_in_a_static_world():
    env = CausalEnv(ToyScenario(max_units=10))
    fact = rollout(env, lambda obs: int(obs[0] > 0), seed=5)
    frame = fact.to_frame()
    for label, policy in (("treat", lambda obs: 1), ("control", lambda obs: 0)):
        cf = counterfactual_rollout(fact, policy).to_frame()
        np.testing.assert_array_equal(cf["outcome"], frame[f"y[{label}]"])
        np.testing.assert_array_equal(cf["reward"], frame[f"reward[{label}]"])
        np.testing.assert_array_equal(cf["x"], frame["x"])


def test_a_continuous_rollout_has_no_potential_outcome_columns():
    env = CausalEnv(DoseScenario(max_units=5))
    frame = rollout(env, lambda obs: np.array([0.5]), seed=0).to_frame()
    assert not [c for c in frame.columns if "[" in c]
    assert frame["action"].tolist() == [[0.5]] * 5


def test_rollout_accepts_agents_and_is_reproducible():
    class Agent:
        def act(self, obs):
            return 1

    env = CausalEnv(ToyScenario(max_units=6))
    a = rollout(env, Agent(), seed=7)
    b = rollout(env, lambda obs: 1, seed=7)
    assert isinstance(a, Trajectory)
    assert a.to_frame().equals(b.to_frame())
    np.testing.assert_array_equal(a.rewards, a.to_frame()["reward"])


def test_rollout_errors():
    env = CausalEnv(ToyScenario(max_units=3))
    with pytest.raises(SimError, match="a policy is a callable"):
        rollout(env, 1, seed=0)
    with pytest.raises(SimError, match="rollout needs a CausalEnv"):
        rollout(object(), lambda obs: 0, seed=0)
    traj = rollout(env, lambda obs: 0, seed=0)
    other = CausalEnv(ToyScenario(max_units=4))
    with pytest.raises(SimError, match="max_units differs"):
        rollout(other, lambda obs: 0, seed=0, tape=traj.tape)


def test_large_results_print_as_one_line_summaries():
    # print(rollout(...)) once dumped every noise array (tens of thousands of characters).
    env = CausalEnv(ToyScenario(max_units=200))
    traj = rollout(env, lambda obs: int(obs[0] > 0), seed=0)
    labels = traj.to_frame()["action_label"]
    treated = int((labels == "treat").sum())
    assert repr(traj) == (f"<Trajectory 'toy': 200 steps, seed 0, return {traj.rewards.sum():.6g}, "
                          f"actions {{control: {200 - treated}, treat: {treated}}}>")
    draws = len(traj.tape.exponentials)
    assert repr(traj.tape) == f"<Tape: 200 units x 4 noise nodes, {draws} timeline draws>"
    assert repr(env.state) == ("<EpisodeState 'toy': batch 1, unit 199, 0 terminated, 1 truncated, "
                               "noise (4, 200, 1)>")
    continuous = rollout(CausalEnv(DoseScenario(max_units=50)), lambda obs: np.array([0.5]), seed=0)
    assert "actions" not in repr(continuous)
    for obj in (traj, traj.tape, env.state, continuous, continuous.tape, continuous.env.state):
        assert len(repr(obj)) < 300 and "\n" not in repr(obj)
