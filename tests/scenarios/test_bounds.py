"""Observation bounds (``Scenario.context_bounds`` / ``observation_bounds``) of every scenario.

* Logged data and Gymnasium episodes (random actions) stay within the bounds, at the
  defaults and with other knobs (the bounds are exact, derived from the equations, so a
  sample outside them is a bug, not bad luck).
* The nodes left (partly) unbounded are listed here, with the reason: adding a bound, or
  losing one, must be a conscious change of this list.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import scenarios
from sim.env import CausalEnv
from sim.testing import DoseScenario, DynamicScenario, ToyScenario

NAMES = scenarios.names()
BIG = np.finfo(np.float64).max

#: Knob settings besides the defaults (every registered scenario has these knobs).
KNOBS = [{"confounding": 0.0, "overlap": 0.0, "noise": 3.0, "heterogeneity": 3.0},
         {"confounding": 3.0, "overlap": 1.0, "noise": 0.5, "heterogeneity": 0.0,
          "hidden_confounder": False}]

#: Scenario parameters that make the state-held bounds bind within an episode: a small weekly
#: budget (``spent`` reaches it), a small adoption budget (``budget_left`` reaches 0), few quarters.
TIGHT = {"marketing": {"weekly_budget": 12.0}, "policy": {"budget": 3, "n_quarters": 5, "n_regions": 6}}

#: Every context node with an infinite side: ``"below"``, ``"above"`` or ``"both"``. Any node not
#: listed must have finite bounds on both sides.
OPEN = {
    # distance = 30 visibility + Exp(80): at least 9 m, exponential tail above.
    "driving": {"distance": "above"},
    "driving_brake": {"distance": "above"},
    # age = 60 + N(0, 12^2) and severity_score (normal noise): unbounded; distance_km exponential.
    "healthcare": {"age": "both", "severity_score": "both", "distance_km": "above"},
    # temperature ~ N(25, 5^2).
    "icecream": {"temperature": "both"},
    # tenure exponential; past_spend = 50 exp(...) + lognormal, at least 50 exp(-0.56).
    "marketing": {"tenure": "above", "past_spend": "above"},
    # population lognormal (> 0); last_outcome is last quarter's employment (normal noise).
    "policy": {"population": "above", "last_outcome": "both"},
}
#: The same for the scenarios of ``sim.testing`` (x ~ N(0, 1); the state s stays in [0, 2]).
TEST_SCENARIOS = {ToyScenario: {"x": "both"}, DoseScenario: {"x": "both"}, DynamicScenario: {}}


def _open_sides(sc) -> dict[str, str]:
    low, high = sc.observation_bounds()
    out = {}
    for v, lo, hi in zip(sc.context, low, high, strict=True):
        below, above = lo <= -BIG, hi >= BIG
        if below or above:
            out[v] = "both" if below and above else ("below" if below else "above")
    return out


def _assert_within(sc, columns: dict[str, np.ndarray], where: str) -> None:
    low, high = sc.observation_bounds()
    for j, v in enumerate(sc.context):
        if v not in columns:
            continue
        x = np.asarray(columns[v], dtype=np.float64)
        assert np.isfinite(x).all(), f"{where}: {v} has non-finite values"
        bad = (x < low[j]) | (x > high[j])
        assert not bad.any(), (f"{where}: {v} outside [{low[j]}, {high[j]}]: "
                               f"min {x.min()!r}, max {x.max()!r}")


@pytest.mark.parametrize("name", NAMES)
def test_open_sides_are_the_listed_ones(name):
    assert set(OPEN) == set(NAMES)
    for knobs in ({}, *KNOBS, TIGHT.get(name, {})):
        assert _open_sides(scenarios.make(name, **knobs)) == OPEN[name], knobs


@pytest.mark.parametrize("cls", list(TEST_SCENARIOS), ids=lambda c: c.__name__)
def test_open_sides_of_the_test_scenarios(cls):
    assert _open_sides(cls()) == TEST_SCENARIOS[cls]


def test_bounds_follow_the_parameters():
    def bounds(sc):
        return dict(zip(sc.context, zip(*sc.observation_bounds(), strict=True), strict=True))

    assert bounds(scenarios.make("marketing", weekly_budget=25.0))["spent"] == (0.0, 25.0)
    policy = bounds(scenarios.make("policy", n_quarters=6, budget=3))
    assert policy["quarter"] == (0.0, 5.0) and policy["budget_left"] == (0.0, 3.0)
    # a zero budget keeps the state at 0; Scenario asks low < high, so the range is (0, 1)
    assert bounds(scenarios.make("marketing", weekly_budget=0.0))["spent"] == (0.0, 1.0)
    assert bounds(scenarios.make("policy", budget=0))["budget_left"] == (0.0, 1.0)


@pytest.mark.parametrize("knobs", [{}, *KNOBS], ids=["defaults", "knobs1", "knobs2"])
@pytest.mark.parametrize("name", NAMES)
def test_logged_data_within_bounds(name, knobs):
    sc = scenarios.make(name, **knobs)
    data = sc.observational(200_000, 11)
    present = [v for v in sc.context if v in data.columns]
    # the policy panel has the region's traits and the quarter, not the other state nodes
    assert len(present) >= (4 if name == "policy" else len(sc.context))
    _assert_within(sc, {v: data[v].to_numpy() for v in present}, f"{name} {knobs} observational")


@pytest.mark.parametrize("cls", list(TEST_SCENARIOS), ids=lambda c: c.__name__)
def test_logged_data_of_the_test_scenarios_within_bounds(cls):
    sc = cls()
    data = sc.observational(200_000, 11)
    _assert_within(sc, {v: data[v].to_numpy() for v in sc.context}, cls.__name__)


def _episodes(env, sc, where: str, episodes: int = 3) -> dict[str, np.ndarray]:
    """Run seeded episodes with random actions; every observation must lie within the bounds."""
    env.action_space.seed(0)
    every = []
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        seen = [obs]
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            seen.append(obs)
            done = terminated or truncated
        seen = np.asarray(seen)
        assert all(env.observation_space.contains(o) for o in seen), where
        _assert_within(sc, dict(zip(sc.context, seen.T, strict=True)), f"{where} seed {seed}")
        every.append(seen)
    return dict(zip(sc.context, np.concatenate(every).T, strict=True))


@pytest.mark.parametrize("tight", [False, True], ids=["defaults", "tight"])
@pytest.mark.parametrize("name", NAMES)
def test_episodes_within_observation_space(name, tight):
    params = TIGHT.get(name, {}) if tight else {}
    if tight and not params:
        pytest.skip("no state-held bound to tighten")
    env = gym.make(scenarios.env_id(name), **params)
    sc = env.unwrapped.scenario
    seen = _episodes(env, sc, f"{name} {params}")
    if name == "marketing" and tight:  # the bound is the budget, and the state gets near it
        assert seen["spent"].max() >= 12.0 - 3.0
    if name == "policy" and tight:
        assert seen["budget_left"].min() == 0.0 and seen["quarter"].max() == 4.0


def test_episodes_of_the_dynamic_test_scenario_within_bounds():
    sc = DynamicScenario(max_units=60)
    _episodes(CausalEnv(sc), sc, "dynamic")
