"""Timelines: decision times on the simpy clock against closed forms, bit for bit; episode ends.

No statistical assertions here: every comparison is exact. Hypothesis runs
derandomized (seeded) so the examples are the same on every run.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.env import CausalEnv
from sim.errors import ScenarioError, SimError
from sim.testing import DynamicScenario, ToyScenario
from sim.timeline import Clock, DecisionPoint, Poisson, Scheduled, StateDependent

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


def clock_times(timeline, tape, **kwargs):
    clock = Clock(timeline, tape, **kwargs)
    return [p.time for p in iter(clock.advance, None)]


def bits(xs):
    return np.asarray(xs, dtype=np.float64).tobytes()


# ---------------------------------------------------------------------- closed forms
@SETTINGS
@given(rate=st.floats(0.01, 100.0), k=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_poisson_clock_equals_closed_form_bit_for_bit(rate, k, seed):
    tape = np.random.default_rng(seed).standard_exponential(k + 1)
    times = clock_times(Poisson(rate), tape, max_units=k)
    assert len(times) == k
    assert bits(times) == bits(Poisson(rate).times(tape[None, :k])[0])


@SETTINGS
@given(interval=st.floats(1e-3, 1e3), start=st.one_of(st.just(0.0), st.floats(0.0, 1e3)),
       k=st.integers(1, 40))
def test_scheduled_clock_equals_closed_form_bit_for_bit(interval, start, k):
    tl = Scheduled(interval=interval, start=start)
    times = clock_times(tl, np.empty(0), max_units=k)
    assert bits(times) == bits(tl.times(np.zeros((1, k)))[0])
    assert times[0] == start


def test_closed_forms_are_vectorized_over_episodes():
    tapes = np.random.default_rng(0).standard_exponential((4, 6))
    rows = Poisson(2.5).times(tapes)
    assert rows.shape == (4, 6)
    for tape, row in zip(tapes, rows, strict=True):
        assert bits(clock_times(Poisson(2.5), np.append(tape, 1.0), max_units=6)) == bits(row)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 25))
def test_state_dependent_clock_equals_the_hand_recursion(seed, k):
    # The rate is read at the start of each gap, from the state the agent's last action left.
    rng = np.random.default_rng(seed)
    tape = rng.standard_exponential(k + 1)
    jumps = rng.uniform(0.1, 3.0, size=k)
    state = {"r": 1.0}
    clock = Clock(StateDependent(rate=lambda s: s["r"]), tape, max_units=k, state=lambda: state)
    got, want, now = [], [], 0.0
    for j in range(k):
        now = now + tape[j] / state["r"]
        want.append(now)
        point = clock.advance()
        got.append(point.time)
        state = {"r": jumps[j]}  # the decision changes the rate of the next gap
    assert clock.advance() is None
    assert bits(got) == bits(want)


def test_decision_points_carry_kind_and_unit():
    clock = Clock(Poisson(1.0, kind="customer"), np.ones(4), max_units=3)
    points = list(iter(clock.advance, None))
    assert points == [DecisionPoint(float(i + 1), "customer", i) for i in range(3)]


def test_state_dependent_timelines_have_no_closed_form():
    tl = StateDependent(rate=lambda s: 1.0)
    assert not tl.static and Poisson(1.0).static and Scheduled(1.0).static
    with pytest.raises(SimError, match="StateDependent has no closed-form decision times"):
        tl.times(np.ones((1, 3)))


# ---------------------------------------------------------------------- ends and errors
def test_horizon_ends_the_clock_inclusively():
    # Scheduled at 0, 1, 2, ...: with horizon 5 the decision at exactly t = 5 still happens.
    assert clock_times(Scheduled(1.0), np.empty(0), max_units=100, horizon=5.0) == [0, 1, 2, 3, 4, 5]
    assert clock_times(Scheduled(1.0), np.empty(0), max_units=100, horizon=4.5) == [0, 1, 2, 3, 4]


def test_max_units_ends_the_clock():
    assert clock_times(Scheduled(2.0, start=1.0), np.empty(0), max_units=3) == [1.0, 3.0, 5.0]


def test_a_short_tape_raises_sim_error():
    with pytest.raises(SimError, match="more random draws than the episode tape holds"):
        clock_times(Poisson(1.0), np.ones(2), max_units=5)


def test_a_non_positive_state_dependent_rate_raises():
    with pytest.raises(ScenarioError, match="StateDependent rate must be positive, got 0.0"):
        clock_times(StateDependent(rate=lambda s: 0.0), np.ones(3), max_units=2)


@pytest.mark.parametrize("make", [
    lambda: Poisson(0.0), lambda: Poisson(-1.0), lambda: Poisson(math.nan), lambda: Poisson(math.inf),
    lambda: Scheduled(0.0), lambda: Scheduled(math.inf), lambda: Scheduled(1.0, start=-1.0),
    lambda: Scheduled(1.0, start=math.nan),
])
def test_bad_timeline_parameters_raise_scenario_error(make):
    with pytest.raises(ScenarioError):
        make()


# ---------------------------------------------------------------------- in the environment
def run(env, seed, policy=lambda obs: 0):
    obs, info = env.reset(seed=seed)
    times = [info["time"]]
    while True:
        obs, _, terminated, truncated, info = env.step(policy(obs))
        assert info["time"] == times[-1]
        if terminated or truncated:
            return times
        times.append(float(env.unwrapped.state.time[0]))


def test_env_decision_times_are_the_closed_form_of_its_tape():
    env = CausalEnv(ToyScenario(max_units=30))
    times = run(env, seed=5)
    tape = env.unwrapped.tape.exponentials
    assert len(times) == 30
    assert bits(times) == bits(Poisson(1.0).times(tape[None, :30])[0])


def test_horizon_ends_an_episode():
    env = CausalEnv(ToyScenario(max_units=10_000, horizon=7.5))
    times = run(env, seed=2)
    closed = Poisson(1.0).times(env.unwrapped.tape.exponentials[None, :])[0]
    assert len(times) == int(np.sum(closed <= 7.5)) > 0
    assert bits(times) == bits(closed[:len(times)])


def test_max_units_ends_an_episode():
    assert len(run(CausalEnv(ToyScenario(max_units=7)), seed=0)) == 7
    assert run(CausalEnv(DynamicScenario(max_units=4)), seed=0) == [0.0, 1.0, 2.0, 3.0]


def test_an_episode_without_decision_before_the_horizon_cannot_start():
    env = CausalEnv(DynamicScenario(horizon=1.0))
    assert len(run(env, seed=0)) == 2
    with pytest.raises(SimError, match="no decision point before the horizon"):
        CausalEnv(ToyScenario(horizon=1e-12)).reset(seed=0)


class Fatigue(DynamicScenario):
    """DynamicScenario whose arrivals come at rate 1 + s (the state)."""

    name = "fatigue"

    def build_timeline(self):
        return StateDependent(rate=lambda state: 1.0 + state["s"])


def test_state_dependent_timeline_in_the_env_follows_the_state():
    # s_0 = 1 and s_{k+1} = 0.5 s_k + a_k; gap k is e_k / (1 + s_k).
    env = CausalEnv(Fatigue(max_units=12))
    acts = [1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1]
    it = iter(acts)
    times = run(env, seed=9, policy=lambda obs: next(it))
    e = env.unwrapped.tape.exponentials
    want, s, now = [], 1.0, 0.0
    for k, a in enumerate(acts):
        now = now + e[k] / (1.0 + s)
        want.append(now)
        s = 0.5 * s + a
    assert bits(times) == bits(want)
