"""The agent contract: what a decision maker may see, and the hooks an evaluation calls.

An :class:`Agent` is made for one scenario (``Agent(scenario, **settings)``): it
knows what a real decision maker knows about its world — the action space, the
observed context's names, the observed causal graph and its own reward function —
and nothing of the simulator's truth. The evaluation (:func:`agents.evaluate`)
calls, in order:

* ``fit(logs)`` — once, for agents that learn offline from the scenario's logged
  (confounded) data (:meth:`~sim.scenario.Scenario.observational`);
* ``reset(seed)`` — once per evaluation run: forget what was learned online, reseed;
* per episode ``start(env)`` — the environment of the episode, through which an
  agent may ask causal questions (``env.unwrapped.query``; budget and cost apply);
* per decision ``act(obs)`` then ``update(obs, action, reward, info)``.

Agents whose decisions do not depend on what they see during play (``batched =
True``) also give ``act_batch(obs)`` for a ``(n, d)`` array of observations, so the
evaluation can run many episodes side by side. Only the baselines that say so
(``reads_truth = True``: ``oracle`` and ``clairvoyant``) read the truth, through
:mod:`sim.oracle`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from causal.errors import CausalSimError
from sim.scenario import Scenario

__all__ = ["Agent", "AgentError", "Truth"]


class AgentError(CausalSimError):
    """An agent cannot do what was asked (unknown agent, unidentified effect, bad setting)."""


class Truth:
    """What the truth-reading baselines choose from, for a batch of current units.

    Attributes
    ----------
    context : ndarray (n, k)
        ``E[reward | do(a), context]`` of each unit for each of the ``k`` actions.
    unit : ndarray (n, k)
        Each unit's own reward under each action (its counterfactuals).
    """

    __slots__ = ("context", "unit")

    def __init__(self, context: np.ndarray, unit: np.ndarray) -> None:
        self.context, self.unit = context, unit


class Agent:
    """Base class of decision agents (see the module docstring for the contract).

    Parameters
    ----------
    scenario : Scenario
        The world the agent acts in (its public description only).

    Attributes
    ----------
    name : str
        Short name (the registry's).
    batched : bool
        ``act_batch`` gives the same decisions as ``act`` row by row, and nothing
        learned during play changes them.
    reads_truth : bool
        Only the oracle baselines.
    """

    name = "agent"
    batched = False
    reads_truth = False

    def __init__(self, scenario: Scenario) -> None:
        if not isinstance(scenario, Scenario):
            raise AgentError(f"an agent is made for a Scenario, got {type(scenario).__name__}")
        self.scenario = scenario
        self.env: Any = None
        self.rng = np.random.default_rng(0)
        self._k = int(scenario.actions.space.n) if hasattr(scenario.actions.space, "n") else 0

    # ------------------------------------------------------------------ hooks
    def fit(self, logs: pd.DataFrame) -> Agent:
        """Learn from logged data (default: nothing to learn). Returns the agent."""
        return self

    def reset(self, seed: int | None = 0) -> None:
        """Forget what was learned online and reseed the agent's own randomness."""
        self.rng = np.random.default_rng(seed)

    def start(self, env: Any) -> None:
        """A new episode begins in ``env`` (the agent may query it)."""
        self.env = env

    def act(self, obs: np.ndarray) -> Any:
        """The action for one observation."""
        raise NotImplementedError

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        """Actions for a batch of observations ``(n, d)`` (batched agents)."""
        return np.asarray([self.act(o) for o in np.asarray(obs)])

    def update(self, obs: np.ndarray, action: Any, reward: float, info: dict[str, Any]) -> None:
        """Feedback on the last decision (default: ignored)."""

    def choose(self, truth: Truth) -> np.ndarray:
        """Truth-reading baselines only: the actions for a batch of units given their truth."""
        raise AgentError(f"agent {self.name!r} does not read the truth")

    # ------------------------------------------------------------------ helpers
    @property
    def n_actions(self) -> int:
        if not self._k:
            raise AgentError(f"agent {self.name!r} needs a discrete action space; "
                             f"{self.scenario.name!r} has a continuous one")
        return self._k

    def _query(self):
        if self.env is None:
            raise AgentError(f"agent {self.name!r} asks the environment questions: call start(env) "
                             "at the beginning of each episode")
        return self.env.unwrapped.query

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} for {self.scenario.name!r}>"


def one_thread(fn):
    """Run ``fn`` with OpenMP limited to one thread: scikit-learn's gradient boosting spins
    its threads, and on a busy machine a fit that takes a second can take a minute and more."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            return fn(*args, **kwargs)
    return wrapper


def features(obs: np.ndarray) -> np.ndarray:
    """Observations as a float ``(n, d)`` array."""
    x = np.asarray(obs, dtype=np.float64)
    return x.reshape(1, -1) if x.ndim == 1 else x
