"""Every registered scenario honours the contract (STYLE.md point 8: run over the whole registry).

Like Gymnasium's ``check_env`` over every registered environment: each name in
``scenarios.names()`` is built, passes :func:`sim.checks.check_scenario`, runs
as a single and as a vector Gymnasium environment, and documents its true
effects. No statistical assertions here (the per-scenario test files have
those), so nothing can fail by chance. Small samples keep it fast.
"""

from __future__ import annotations

import importlib
import re

import gymnasium as gym
import numpy as np
import pytest

import scenarios
from causalsim.cli import main as cli
from scenarios.common import KnobParams
from sim.checks import check_scenario
from sim.errors import ScenarioError
from sim.scenario import Scenario

NAMES = scenarios.names()


def test_the_catalogue():
    assert {"driving", "healthcare", "icecream", "marketing", "policy"} <= set(NAMES)
    assert NAMES == sorted(NAMES)
    ids = [scenarios.env_id(name) for name in NAMES]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"causalsim/[A-Za-z]+-v\d+", i) for i in ids)
    assert [row[0] for row in scenarios.describe()] == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_make(name):
    sc = scenarios.make(name)
    assert isinstance(sc, Scenario) and isinstance(sc, scenarios.get(name))
    assert sc.summary and sc.outcome in sc.scm.nodes
    assert scenarios.make(name.upper()).params == sc.params  # names are case-insensitive
    assert isinstance(sc.params, KnobParams)  # the shared difficulty knobs
    assert scenarios.make(name, confounding=0.0, noise=2.0).params.noise == 2.0


@pytest.mark.parametrize("name", NAMES)
def test_check_scenario(name):
    check_scenario(scenarios.make(name), n=500)


@pytest.mark.parametrize("name", NAMES)
def test_gymnasium_make_and_make_vec(name):
    env = gym.make(scenarios.env_id(name))
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    assert env.observation_space.contains(obs)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs) and np.isfinite(reward) and "outcome" in info
    env.close()

    venv = gym.make_vec(scenarios.env_id(name), num_envs=4)
    obs, _ = venv.reset(seed=0)
    venv.action_space.seed(0)
    assert obs.shape[0] == 4
    for _ in range(3):
        obs, reward, terminated, truncated, _ = venv.step(venv.action_space.sample())
    assert obs.shape[0] == 4 and reward.shape == (4,) and np.isfinite(reward).all()
    venv.close()


@pytest.mark.parametrize("name", NAMES)
def test_module_docstring_states_the_true_effects(name):
    module = importlib.import_module(scenarios.get(name).__module__)
    doc = module.__doc__ or ""
    assert len(doc) > 500, f"{module.__name__} needs a module docstring (story, graph, true effects)"
    assert re.search(r"true effects?", doc, re.IGNORECASE), \
        f"{module.__name__}'s docstring does not state the true effects"


def test_cli_lists_every_scenario(capsys):
    assert cli(["scenarios"]) == 0
    out = capsys.readouterr().out
    listed = {line.split()[0] for line in out.splitlines()[1:] if line.strip()}
    assert listed == set(NAMES)
    for name in NAMES:
        assert scenarios.env_id(name) in out


@pytest.mark.parametrize("call", [scenarios.make, scenarios.get, scenarios.env_id])
def test_unknown_names_suggest_the_closest(call):
    with pytest.raises(ScenarioError, match=r"unknown scenario 'icecrem'.*did you mean 'icecream'"):
        call("icecrem")
    with pytest.raises(ScenarioError, match=r"unknown scenario 'zzz' \(scenarios: driving, "):
        call("zzz")


def test_unknown_parameters_are_named():
    with pytest.raises(ScenarioError, match=r"unknown parameter\(s\) \['temprature'\]"):
        scenarios.make("icecream", temprature=30)
