"""Baselines: random, and the two truth-reading benchmarks every agent is scored against.

* :class:`RandomAgent` — a uniformly random action;
* :class:`OracleAgent` — the best action for the observed context,
  ``argmax_a E[R | do(a), context]`` (Monte-Carlo, common random numbers across
  actions): what an agent that knew the causal model, but saw only what it
  observes, would do;
* :class:`ClairvoyantAgent` — the best action for the unit itself, from its own
  counterfactual rewards: an upper bound no agent can reach.

The two benchmarks read the truth through :mod:`sim.oracle`; in an evaluation
their decisions are the evaluation's own (:meth:`Agent.choose` of the truth it
computed), so the oracle's regret against the oracle is exactly 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.base import Agent, Truth, features
from sim import oracle

__all__ = ["RandomAgent", "OracleAgent", "ClairvoyantAgent"]


class RandomAgent(Agent):
    """A uniformly random action (seeded by :meth:`reset`)."""

    name = "random"
    batched = True

    def act(self, obs: np.ndarray) -> Any:
        return self.act_batch(features(obs))[0]

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        n = len(features(obs))
        return self.scenario.random_actions(n, self.rng)


class OracleAgent(Agent):
    """The best action for the observed context (reads the truth).

    Parameters
    ----------
    draws : int
        Monte-Carlo draws per action for ``E[R | do(a), context]``.
    seed : int
        Seed of those draws.
    """

    name = "oracle"
    batched = True
    reads_truth = True

    def __init__(self, scenario, draws: int = 1000, seed: int = 0) -> None:
        super().__init__(scenario)
        self.draws, self.seed = int(draws), int(seed)

    def act(self, obs: np.ndarray) -> int:
        return int(np.argmax(oracle.context_values(self.env, draws=self.draws, seed=self.seed)))

    def choose(self, truth: Truth) -> np.ndarray:
        return np.argmax(truth.context, axis=1)


class ClairvoyantAgent(Agent):
    """The best action for the unit itself, from its counterfactuals (reads the truth)."""

    name = "clairvoyant"
    batched = True
    reads_truth = True

    def act(self, obs: np.ndarray) -> int:
        return int(np.argmax(oracle.unit_values(self.env)))

    def choose(self, truth: Truth) -> np.ndarray:
        return np.argmax(truth.unit, axis=1)
