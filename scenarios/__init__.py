"""Concrete decision problems whose causal truth is known.

Importing this package registers every scenario with Gymnasium as
``causalsim/<Name>-v0`` (single and native vector entry points)::

    import gymnasium as gym
    import scenarios

    env = gym.make("causalsim/IceCream-v0")
    venv = gym.make_vec("causalsim/IceCream-v0", num_envs=1024)

``scenarios.make(name, **params)`` builds a scenario object (its SCM, truth,
logged data); ``scenarios.names()`` lists them.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium

from sim.errors import ScenarioError
from sim.scenario import Scenario

__all__ = ["make", "names", "get", "env_id", "describe"]

#: name -> (module, class, Gymnasium id[, factory suffix]): the module defines
#: ``make<suffix>_env`` and ``make<suffix>_vec_env`` (suffix "" by default).
_CATALOGUE: dict[str, tuple[str, ...]] = {
    "driving": ("scenarios.driving", "Driving", "causalsim/Driving-v0"),
    "driving_brake": ("scenarios.driving", "DrivingBrake", "causalsim/DrivingBrake-v0", "_brake"),
    "healthcare": ("scenarios.healthcare", "Healthcare", "causalsim/Healthcare-v0"),
    "icecream": ("scenarios.icecream", "IceCream", "causalsim/IceCream-v0"),
    "marketing": ("scenarios.marketing", "Marketing", "causalsim/Marketing-v0"),
    "policy": ("scenarios.policy", "PolicyRollout", "causalsim/Policy-v0"),
}


def names() -> list[str]:
    """Names of the registered scenarios."""
    return sorted(_CATALOGUE)


def get(name: str) -> type[Scenario]:
    """The scenario class registered under ``name``."""
    key = name.lower().replace("-", "_")
    if key not in _CATALOGUE:
        import difflib

        close = difflib.get_close_matches(key, _CATALOGUE, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ScenarioError(f"unknown scenario {name!r} (scenarios: {', '.join(names())}){hint}")
    module, cls = _CATALOGUE[key][:2]
    return getattr(importlib.import_module(module), cls)


def make(name: str, **params: Any) -> Scenario:
    """A scenario object with the given parameters (``scenarios.make("icecream", confounding=0)``)."""
    return get(name)(**params)


def env_id(name: str) -> str:
    """The Gymnasium id of a scenario."""
    get(name)
    return _CATALOGUE[name.lower().replace("-", "_")][2]


def describe() -> list[tuple[str, str, str]]:
    """``(name, Gymnasium id, one-line summary)`` of every scenario."""
    return [(n, _CATALOGUE[n][2], get(n).summary) for n in names()]


for _entry in _CATALOGUE.values():
    _module, _id, _suffix = _entry[0], _entry[2], (_entry[3] if len(_entry) > 3 else "")
    if _id not in gymnasium.registry:
        gymnasium.register(id=_id, entry_point=f"{_module}:make{_suffix}_env",
                           vector_entry_point=f"{_module}:make{_suffix}_vec_env")
