"""Wrappers of :class:`~sim.env.CausalEnv`.

:class:`QueryBudget` models limited experimentation, the way Gymnasium's
``TimeLimit`` models a time limit: it gives the environment's query interface a
per-episode budget and a cost per query, and charges each step's reward with
the queries asked since the previous step (the ``"queries"`` component of
``info["rewards"]``). ``gymnasium.make(id, query_budget=..., query_cost=...)``
applies it.

Examples
--------
>>> from sim.env import CausalEnv
>>> from sim.testing import ToyScenario
>>> env = QueryBudget(CausalEnv(ToyScenario()), budget=1.0, cost=0.4)
>>> _ = env.reset(seed=0)
>>> _ = env.unwrapped.query.interventional("treat", n=16)
>>> env.unwrapped.query.remaining
0.6
>>> obs, reward, terminated, truncated, info = env.step(0)
>>> info["rewards"]["queries"], info["queries"]
(-0.4, 0.4)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from sim.env import CausalEnv
from sim.errors import SimError
from sim.query import check_limits

__all__ = ["QueryBudget"]


class QueryBudget(gym.Wrapper):
    """A per-episode query budget and a cost per query, charged to the next step's reward.

    Parameters
    ----------
    env : CausalEnv (possibly wrapped)
    budget : float or None
        Total query spending allowed per episode (``None``: unlimited).
    cost : float
        Cost of one query (``>= 0``).

    Raises
    ------
    SimError
        For a bad budget or cost, or an environment that is not a ``CausalEnv``.
    """

    def __init__(self, env: gym.Env, budget: float | None = None, cost: float = 0.0) -> None:
        super().__init__(env)
        if not isinstance(env.unwrapped, CausalEnv):
            raise SimError(f"QueryBudget wraps a CausalEnv, got {type(env.unwrapped).__name__}")
        self.budget, self.cost = check_limits(budget, cost)
        query = env.unwrapped.query
        query.budget, query.cost = self.budget, self.cost

    @property
    def query(self):
        """The environment's query interface (with this budget)."""
        return self.env.unwrapped.query

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        spent = self.query.settle()
        if spent:
            info["rewards"]["queries"] = -spent
            reward -= spent
        info["queries"] = self.query.spent
        return obs, reward, terminated, truncated, info
