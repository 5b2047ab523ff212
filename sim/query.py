"""Causal questions an agent may ask about the current unit: rungs 2 and 3.

``env.unwrapped.query`` answers

* ``interventional(action, n)`` — samples of the outcome for the current unit's
  observed context under ``do(action)``, everything else resampled:
  ``E[Y | do(a), context]`` is their mean;
* ``counterfactual(action)`` — after a step, what this very unit would have
  had under another action (its own noise replayed: exact);
* ``policy_value(policy, n)`` — the expected reward of a whole policy on fresh
  units.

Queries draw from their own random stream, so asking never changes the
episode's future. An optional per-episode budget with a cost per query models
limited experimentation: the cost is charged to the next step's reward (as
the ``"queries"`` component) and :class:`~sim.errors.QueryBudgetExceeded` is
raised once the budget is spent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import QueryBudgetExceeded, SimError

if TYPE_CHECKING:
    from sim.env import CausalEnv

__all__ = ["Answer", "Query"]


@dataclass(frozen=True)
class Answer:
    """An answer: the ``mean`` of ``samples`` with its standard error (0 when exact)."""

    mean: float
    stderr: float
    n: int
    samples: np.ndarray = field(repr=False)

    def __float__(self) -> float:
        return self.mean


def _answer(samples: np.ndarray) -> Answer:
    samples = np.asarray(samples, dtype=float)
    se = float(samples.std(ddof=1) / math.sqrt(len(samples))) if len(samples) > 1 else 0.0
    return Answer(float(samples.mean()), se, len(samples), samples)


class Query:
    """The query interface of one environment (see the module docstring).

    Parameters
    ----------
    env : CausalEnv
    budget : float, optional
        Total query spending allowed per episode (``None``: unlimited).
    cost : float
        Cost of one query.
    """

    def __init__(self, env: CausalEnv, budget: float | None = None, cost: float = 0.0) -> None:
        if budget is not None and not (isinstance(budget, (int, float)) and budget >= 0):
            raise SimError(f"query budget must be a number >= 0 or None, got {budget!r}")
        if not (isinstance(cost, (int, float)) and math.isfinite(cost) and cost >= 0):
            raise SimError(f"query cost must be a finite number >= 0, got {cost!r}")
        self._env = env
        self.budget = budget
        self.cost = float(cost)
        self.spent = 0.0
        self.count = 0
        self._pending = 0.0
        self._rng = np.random.default_rng(0)

    def _reset(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self.spent = 0.0
        self.count = 0
        self._pending = 0.0

    @property
    def remaining(self) -> float:
        """Budget left this episode (``inf`` without a budget)."""
        return math.inf if self.budget is None else self.budget - self.spent

    def _charge(self) -> None:
        if self.budget is not None and self.spent + self.cost > self.budget + 1e-12:
            raise QueryBudgetExceeded(
                f"query budget spent: {self.spent:g} of {self.budget:g} used and a query costs "
                f"{self.cost:g}; act without asking, or raise query_budget")
        self.spent += self.cost
        self._pending += self.cost
        self.count += 1

    def _take_pending(self) -> float:
        p, self._pending = self._pending, 0.0
        return p

    def _fresh_noise(self, n: int) -> dict[str, np.ndarray]:
        return {v: dist.sample(n, self._rng) for v, dist in self._env.scenario.noise_items}

    def interventional(self, action: Any, n: int = 256, *, node: str | None = None,
                       reward: bool = False) -> Answer:
        """Outcome (or ``node``, or total ``reward``) samples under ``do(action)`` for this context."""
        env = self._env
        sc = env.scenario
        a = sc.actions.index(action)
        n = _count(n)
        i = env._current_unit()
        self._charge()
        noise = self._fresh_noise(n)
        for v in env._context_noise_nodes:
            noise[v] = np.full(n, env._tape.noise[v][i])
        actions = _batch(a, n)
        values = sc.outcomes(noise, actions, env._state_now())
        return _answer(self._pick(values, actions, node, reward))

    def counterfactual(self, action: Any, *, node: str | None = None, reward: bool = False) -> Answer:
        """What the unit of the last step would have had under ``action`` (exact)."""
        env = self._env
        if env._last is None:
            raise SimError("counterfactual() asks about the unit of the last step: call step() first")
        sc = env.scenario
        a = sc.actions.index(action)
        self._charge()
        unit, _, state, _ = env._last
        actions = _batch(a, 1)
        values = sc.outcomes(env._tape.unit(unit), actions, state)
        return _answer(self._pick(values, actions, node, reward))

    def policy_value(self, policy: Callable[[np.ndarray], Any], n: int = 1000) -> Answer:
        """Expected reward of ``policy`` (observations ``(n, d)`` -> actions) on fresh units."""
        env = self._env
        sc = env.scenario
        n = _count(n)
        self._charge()
        noise = self._fresh_noise(n)
        state = env._state_now()
        ctx = sc.scm.propagate(noise, sc.state_interventions(state) if sc.state_nodes else None,
                               nodes=sc.context)
        actions = sc.actions.check_batch(policy(sc.observe(ctx)), n)
        values = sc.outcomes(noise, actions, state)
        return _answer(sc.total_reward(values, actions)[0])

    def _pick(self, values: dict[str, np.ndarray], actions: np.ndarray, node: str | None,
              reward: bool) -> np.ndarray:
        sc = self._env.scenario
        if reward:
            return sc.total_reward(values, actions)[0]
        y = node or sc.outcome
        if y not in values:
            raise SimError(f"unknown node {y!r}")
        if y in sc.scm.hidden:
            raise SimError(f"{y!r} is hidden: queries answer about observed nodes only")
        return values[y]


def _count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise SimError(f"n must be an integer >= 2, got {n!r}")
    return int(n)


def _batch(a: Any, n: int) -> np.ndarray:
    if isinstance(a, (int, np.integer)):
        return np.full(n, int(a), dtype=np.int64)
    return np.repeat(np.asarray(a, dtype=float)[None, :], n, axis=0)
