"""Agents that learn while they play: bandits (rung 1), experiments (rung 2), counterfactuals (rung 3).

* :class:`EpsilonGreedy`, :class:`UCB1`, :class:`Thompson` — bandits over the
  actions, learning each action's mean reward from the rewards they get;
* :class:`LinUCB` — a contextual bandit (one ridge regression per action on the
  observation, with an upper confidence bonus; Li et al. 2010, "disjoint" model);
* :class:`QueryAgent` — before acting, spends the episode's query budget on
  ``query.interventional(a)`` for the unit's context (rung 2: an experiment
  holding what it observes), takes the best answer, and learns a per-action ridge
  model of the answers to act on when the budget is spent;
* :class:`CounterfactualLearner` — after each step asks ``query.counterfactual(b)``
  for the actions it did not take (rung 3): full-information feedback, so it
  needs no exploration.

Rewards learned from are the decision's own (``info["rewards"]`` without the
query charges), so paying for questions does not bias what an agent learns.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.base import Agent, AgentError, features
from sim.errors import QueryBudgetExceeded

__all__ = ["EpsilonGreedy", "UCB1", "Thompson", "LinUCB", "QueryAgent", "CounterfactualLearner",
           "decision_reward"]


def decision_reward(reward: float, info: dict[str, Any]) -> float:
    """The reward of the decision itself: ``reward`` without the query charges in ``info``."""
    return float(reward) - float(info.get("rewards", {}).get("queries", 0.0))


class _Means(Agent):
    """Running mean and variance of each action's reward (Welford)."""

    def reset(self, seed: int | None = 0) -> None:
        super().reset(seed)
        k = self.n_actions
        self.counts = np.zeros(k)
        self.means = np.zeros(k)
        self._m2 = np.zeros(k)

    def learn(self, action: int, reward: float) -> None:
        self.counts[action] += 1
        d = reward - self.means[action]
        self.means[action] += d / self.counts[action]
        self._m2[action] += d * (reward - self.means[action])

    def spread(self) -> float:
        """A pooled standard deviation of rewards (1 before two observations)."""
        n = self.counts.sum()
        return math.sqrt(self._m2.sum() / (n - 1)) if n > 1 and self._m2.sum() > 0 else 1.0

    def update(self, obs, action, reward, info) -> None:
        self.learn(int(action), decision_reward(reward, info))

    def _untried(self) -> int | None:
        zero = np.flatnonzero(self.counts == 0)
        return int(zero[0]) if len(zero) else None


class EpsilonGreedy(_Means):
    """The best mean so far, a random action with probability ``epsilon``."""

    name = "epsilon-greedy"

    def __init__(self, scenario, epsilon: float = 0.1) -> None:
        super().__init__(scenario)
        if not 0.0 <= epsilon <= 1.0:
            raise AgentError(f"epsilon must be in [0, 1], got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.reset(0)

    def act(self, obs: np.ndarray) -> int:
        first = self._untried()
        if first is not None:
            return first
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n_actions))
        return int(np.argmax(self.means))


class UCB1(_Means):
    """Upper confidence bound ``mean + c * sd * sqrt(2 ln t / n_a)`` (Auer et al. 2002; rewards
    scaled by their pooled standard deviation, as they are not in [0, 1])."""

    name = "ucb1"

    def __init__(self, scenario, c: float = 1.0) -> None:
        super().__init__(scenario)
        if not c >= 0:
            raise AgentError(f"c must be >= 0, got {c!r}")
        self.c = float(c)
        self.reset(0)

    def act(self, obs: np.ndarray) -> int:
        first = self._untried()
        if first is not None:
            return first
        t = self.counts.sum()
        bonus = self.c * self.spread() * np.sqrt(2.0 * math.log(t) / self.counts)
        return int(np.argmax(self.means + bonus))


class Thompson(_Means):
    """Thompson sampling: Gaussian posteriors of the means (``family="gaussian"``), or Beta
    posteriors for rewards in {0, 1} (``family="bernoulli"``)."""

    name = "thompson"

    def __init__(self, scenario, family: str = "gaussian") -> None:
        super().__init__(scenario)
        if family not in ("gaussian", "bernoulli"):
            raise AgentError(f"family must be 'gaussian' or 'bernoulli', got {family!r}")
        self.family = family
        self.reset(0)

    def act(self, obs: np.ndarray) -> int:
        if self.family == "bernoulli":
            wins = self.means * self.counts
            draw = self.rng.beta(1.0 + wins, 1.0 + self.counts - wins)
            return int(np.argmax(draw))
        first = self._untried()
        if first is not None:
            return first
        draw = self.rng.normal(self.means, self.spread() / np.sqrt(self.counts))
        return int(np.argmax(draw))

    def update(self, obs, action, reward, info) -> None:
        r = decision_reward(reward, info)
        if self.family == "bernoulli" and r not in (0.0, 1.0):
            raise AgentError(f"Thompson(family='bernoulli') needs rewards 0 or 1, got {r!r}; "
                             "use family='gaussian'")
        self.learn(int(action), r)


class _Ridge:
    """One ridge regression per action, updated one observation at a time (Sherman–Morrison)."""

    def __init__(self, k: int, d: int, ridge: float) -> None:
        self.inv = np.stack([np.eye(d) / ridge for _ in range(k)])
        self.b = np.zeros((k, d))
        self.n = np.zeros(k)

    def add(self, a: int, x: np.ndarray, y: float) -> None:
        inv = self.inv[a]
        v = inv @ x
        inv -= np.outer(v, v) / (1.0 + x @ v)
        self.b[a] += y * x
        self.n[a] += 1

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = np.einsum("kij,kj->ki", self.inv, self.b)
        mean = theta @ x
        width = np.sqrt(np.maximum(np.einsum("i,kij,j->k", x, self.inv, x), 0.0))
        return mean, width


class _Scaled(Agent):
    """Observations standardised by the observation space's bounds where finite (else as given),
    with an intercept."""

    def _design(self, obs: np.ndarray) -> np.ndarray:
        x = features(obs)[0]
        lo, hi = self._bounds
        return np.concatenate([[1.0], (x - lo) / hi])

    def _set_bounds(self) -> None:
        lo, hi = self.scenario.observation_bounds()
        lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        # sides at the largest float stand for "unbounded" (observation_bounds)
        finite = (np.abs(lo) < 1e300) & (np.abs(hi) < 1e300) & (hi > lo)
        width = np.where(finite, hi, 1.0) - np.where(finite, lo, 0.0)
        self._bounds = (np.where(finite, lo, 0.0), width)


class LinUCB(_Scaled):
    """Contextual bandit: per-action ridge regression of the reward on the observation, acting on
    ``prediction + alpha * sd * width`` (width from the ridge's inverse Gram matrix)."""

    name = "linucb"

    def __init__(self, scenario, alpha: float = 1.0, ridge: float = 1.0) -> None:
        super().__init__(scenario)
        if not alpha >= 0 or not ridge > 0:
            raise AgentError(f"alpha must be >= 0 and ridge > 0, got {alpha!r}, {ridge!r}")
        self.alpha, self.ridge = float(alpha), float(ridge)
        self._set_bounds()
        self.reset(0)

    def reset(self, seed: int | None = 0) -> None:
        super().reset(seed)
        self.model = _Ridge(self.n_actions, len(self.scenario.context) + 1, self.ridge)
        self._sq, self._count = 0.0, 0

    def act(self, obs: np.ndarray) -> int:
        mean, width = self.model.predict(self._design(obs))
        sd = math.sqrt(self._sq / self._count) if self._count > 1 and self._sq > 0 else 1.0
        return int(np.argmax(mean + self.alpha * sd * width))

    def update(self, obs, action, reward, info) -> None:
        x, r = self._design(obs), decision_reward(reward, info)
        mean, _ = self.model.predict(x)
        self._sq += (r - mean[int(action)]) ** 2
        self._count += 1
        self.model.add(int(action), x, r)


class QueryAgent(_Scaled):
    """Asks before acting: ``query.interventional(a, n, reward=True)`` for every action while the
    budget allows, then the action with the best answer; with the budget spent, the best action
    of a per-action ridge model fitted to all its answers so far (rung 2).

    Parameters
    ----------
    samples : int
        ``n`` of each interventional query.
    ridge : float
        Ridge penalty of the model of the answers.
    """

    name = "query"

    def __init__(self, scenario, samples: int = 64, ridge: float = 1.0) -> None:
        super().__init__(scenario)
        if not (isinstance(samples, int) and samples >= 2):
            raise AgentError(f"samples must be an integer >= 2, got {samples!r}")
        self.samples, self.ridge = samples, float(ridge)
        self._set_bounds()
        self.reset(0)

    def reset(self, seed: int | None = 0) -> None:
        super().reset(seed)
        self.model = _Ridge(self.n_actions, len(self.scenario.context) + 1, self.ridge)
        self.asked = 0

    def _can_ask(self, query) -> bool:
        return query.remaining >= self.n_actions * query.cost - 1e-12 and (
            query.budget is None or query.budget > 0)

    def act(self, obs: np.ndarray) -> int:
        query = self._query()
        x = self._design(obs)
        if self._can_ask(query):
            try:
                answers = [query.interventional(a, self.samples, reward=True).mean
                           for a in range(self.n_actions)]
            except QueryBudgetExceeded:
                answers = None
            if answers is not None:
                self.asked += self.n_actions
                for a, y in enumerate(answers):
                    self.model.add(a, x, y)
                return int(np.argmax(answers))
        if self.model.n.min() == 0:
            return int(self.rng.integers(self.n_actions))
        return int(np.argmax(self.model.predict(x)[0]))


class CounterfactualLearner(_Means):
    """After each step, asks what the unit would have got under every other action
    (``query.counterfactual(b, reward=True)``, exact) and learns every action's mean from every
    unit: full information, no exploration needed (rung 3). Acts on the best mean; with the budget
    spent it learns from its own rewards only."""

    name = "counterfactual"

    def __init__(self, scenario) -> None:
        super().__init__(scenario)
        self.reset(0)

    def act(self, obs: np.ndarray) -> int:
        first = self._untried()
        return first if first is not None else int(np.argmax(self.means))

    def update(self, obs, action, reward, info) -> None:
        a = int(action)
        self.learn(a, decision_reward(reward, info))
        query = self._query()
        for b in range(self.n_actions):
            if b == a:
                continue
            if query.remaining < query.cost - 1e-12 or query.budget == 0:
                return
            try:
                self.learn(b, query.counterfactual(b, reward=True).mean)
            except QueryBudgetExceeded:
                return
