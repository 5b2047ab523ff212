"""Registering scenarios as Gymnasium environments.

:func:`register` makes a scenario class available to ``gymnasium.make`` (one
:class:`~sim.env.CausalEnv`) and to ``gymnasium.make_vec`` (a natively batched
:class:`~sim.vector.CausalVectorEnv`) under a versioned id. Keyword arguments
given to ``make``/``make_vec`` are the scenario's parameters, plus the
environment's own options (``render_mode``; ``query_budget`` and
``query_cost`` for single environments, which wrap it in
:class:`~sim.wrappers.QueryBudget`).

Examples
--------
>>> import gymnasium as gym
>>> from sim.testing import ToyScenario
>>> register("causalsim-doc/Toy-v0", ToyScenario)
>>> env = gym.make("causalsim-doc/Toy-v0", max_units=5, query_budget=2.0)
>>> env.unwrapped.scenario.params.max_units, env.unwrapped.query.budget
(5, 2.0)
>>> type(gym.make_vec("causalsim-doc/Toy-v0", num_envs=3)).__name__
'CausalVectorEnv'
"""

from __future__ import annotations

from typing import Any

import gymnasium

from sim.env import CausalEnv
from sim.errors import SimError
from sim.scenario import Scenario
from sim.vector import vector_factory
from sim.wrappers import QueryBudget

__all__ = ["env_factory", "register"]

#: Keyword arguments of ``make`` that configure :class:`CausalEnv` rather than the scenario.
_ENV_OPTIONS = ("render_mode", "query_budget", "query_cost")


class _EnvEntryPoint:
    """``(**kwargs) -> CausalEnv`` for a scenario class (a gymnasium entry point)."""

    metadata = CausalEnv.metadata  # lets gymnasium.make check render modes

    def __init__(self, scenario_cls: type[Scenario]) -> None:
        self.scenario_cls = scenario_cls

    def __call__(self, **kwargs: Any) -> CausalEnv | QueryBudget:
        options = {k: kwargs.pop(k) for k in _ENV_OPTIONS if k in kwargs}
        budget, cost = options.pop("query_budget", None), options.pop("query_cost", 0.0)
        env = CausalEnv(self.scenario_cls(**kwargs), **options)
        if budget is not None or cost:
            return QueryBudget(env, budget, cost)
        return env

    def __repr__(self) -> str:
        return f"env_factory({self.scenario_cls.__qualname__})"


def _check_scenario_cls(scenario_cls: Any) -> None:
    if not (isinstance(scenario_cls, type) and issubclass(scenario_cls, Scenario)):
        raise SimError(f"expected a Scenario subclass, got {scenario_cls!r}")


def env_factory(scenario_cls: type[Scenario]) -> _EnvEntryPoint:
    """A gymnasium ``entry_point`` making a :class:`CausalEnv` of ``scenario_cls``.

    Parameters
    ----------
    scenario_cls : subclass of Scenario

    Returns
    -------
    callable ``(**kwargs) -> CausalEnv``
        ``render_mode``, ``query_budget`` and ``query_cost`` go to
        :class:`CausalEnv`; every other keyword is a scenario parameter.

    Examples
    --------
    >>> from sim.testing import ToyScenario
    >>> env = env_factory(ToyScenario)(max_units=7, render_mode="ansi")
    >>> env.scenario.params.max_units, env.render_mode
    (7, 'ansi')
    """
    _check_scenario_cls(scenario_cls)
    return _EnvEntryPoint(scenario_cls)


def register(env_id: str, scenario_cls: type[Scenario], **kwargs: Any) -> None:
    """Register ``scenario_cls`` with Gymnasium under ``env_id`` (``"namespace/Name-vN"``).

    Parameters
    ----------
    env_id : str
        Bump the version whenever the scenario's behaviour changes.
    scenario_cls : subclass of Scenario
    **kwargs
        Default keyword arguments of the registered environment (scenario
        parameters or environment options), stored in the spec.

    See Also
    --------
    gymnasium.register, gymnasium.make, gymnasium.make_vec
    """
    _check_scenario_cls(scenario_cls)
    gymnasium.register(id=env_id, entry_point=env_factory(scenario_cls),
                       vector_entry_point=vector_factory(scenario_cls), kwargs=dict(kwargs))
