"""Causal questions an agent may ask about the current unit: rungs 2 and 3.

``env.unwrapped.query`` answers

* ``interventional(action, n)`` — samples of the outcome for the current unit's
  observed context under ``do(action)``, everything else resampled:
  ``E[Y | do(a), context]`` is their mean (:func:`sim.core.context_samples`);
* ``counterfactual(action)`` — after a step, what this very unit would have
  had under another action (its own noise replayed in the state it was in:
  exact; :func:`sim.core.potential` on the state before the step);
* ``policy_value(policy, n)`` — the expected reward of a whole policy on fresh
  units (:func:`sim.core.policy_samples`).

Queries draw from their own random stream (seeded from the episode's generator
at reset), so asking never changes the episode's future. Limited
experimentation — a per-episode budget and a cost per query, charged to the
next step's reward — is the :class:`~sim.wrappers.QueryBudget` wrapper, which
sets :attr:`Query.budget` and :attr:`Query.cost` and settles the spending;
:class:`~sim.errors.QueryBudgetExceeded` is raised once the budget is spent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim import core
from sim.errors import QueryBudgetExceeded, SimError

if TYPE_CHECKING:
    from sim.env import CausalEnv

__all__ = ["Answer", "Query", "check_limits"]


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


def check_limits(budget: Any, cost: Any) -> tuple[float | None, float]:
    """Validate a query budget (``None``: unlimited) and a cost per query."""
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float))
                               or not budget >= 0):
        raise SimError(f"query budget must be a number >= 0 or None, got {budget!r}")
    if isinstance(cost, bool) or not (isinstance(cost, (int, float)) and math.isfinite(cost) and cost >= 0):
        raise SimError(f"query cost must be a finite number >= 0, got {cost!r}")
    return (None if budget is None else float(budget)), float(cost)


class Query:
    """The query interface of one environment (see the module docstring).

    Attributes
    ----------
    budget : float or None
        Total query spending allowed per episode (``None``: unlimited).
    cost : float
        Cost of one query.
    spent, count : float, int
        Spending and number of queries this episode.
    """

    def __init__(self, env: CausalEnv) -> None:
        self._env = env
        self.budget: float | None = None
        self.cost = 0.0
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

    def settle(self) -> float:
        """The spending not yet charged to a reward, which this call marks as charged."""
        p, self._pending = self._pending, 0.0
        return p

    def _state(self):
        env = self._env
        env.check_current()
        return env.state

    def interventional(self, action: Any, n: int = 256, *, node: str | None = None,
                       reward: bool = False) -> Answer:
        """Outcome (or ``node``, or total ``reward``) samples under ``do(action)`` for this context."""
        sc = self._env.scenario
        a = sc.actions.index(action)
        n = _count(n)
        state = self._state()
        y = None if reward else self._node(node)
        self._charge()
        return _answer(core.context_samples(state, [a], n, self._rng, node=y)[0])

    def counterfactual(self, action: Any, *, node: str | None = None, reward: bool = False) -> Answer:
        """What the unit of the last step would have had under ``action`` (exact)."""
        env = self._env
        if env.previous is None:
            raise SimError("counterfactual() asks about the unit of the last step: call step() first")
        sc = env.scenario
        a = sc.actions.index(action)
        y = None if reward else self._node(node)
        self._charge()
        values, total, _ = core.potential(env.previous, sc.actions.repeat(a, 1))
        return _answer(total if y is None else values[y])

    def policy_value(self, policy: Callable[[np.ndarray], Any], n: int = 1000) -> Answer:
        """Expected reward of ``policy`` (observations ``(n, d)`` -> actions) on fresh units."""
        n = _count(n)
        state = self._state()
        self._charge()
        return _answer(core.policy_samples(state, policy, n, self._rng))

    def _node(self, node: str | None) -> str:
        sc = self._env.scenario
        y = node or sc.outcome
        if y not in sc.scm.mechanisms:
            raise SimError(f"unknown node {y!r}")
        if y in sc.scm.hidden:
            raise SimError(f"{y!r} is hidden: queries answer about observed nodes only")
        return y


def _count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise SimError(f"n must be an integer >= 2, got {n!r}")
    return int(n)

