"""The oracle: the truth an agent cannot see, for scoring its decisions by regret.

For the current unit of an environment, two benchmarks of an action ``a``:

* against the **context oracle** — the best action for the unit's observed
  context: ``max_b E[R | do(b), context] - E[R | do(a), context]`` (what an agent
  that knew the causal model perfectly, but saw only the context, would lose
  nothing of);
* against the **clairvoyant** — the best action for the unit itself, from its
  own counterfactuals: ``max_b R_b - R_a`` (no agent can do better).

Both are the episode core's quantities (:func:`sim.core.context_value` and
:func:`sim.core.potential`) on the environment's public state; they never
charge the query budget and never touch the episode's random streams. The
context expectations are Monte-Carlo means over ``draws`` redrawn non-context
noises, with common random numbers across actions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

from sim import core
from sim.core import EpisodeState
from sim.env import CausalEnv
from sim.errors import SimError

__all__ = ["Regret", "context_values", "unit_values", "regret", "sealed"]

_SEALED: ContextVar[str | None] = ContextVar("causalsim_oracle_sealed", default=None)


@contextmanager
def sealed(who: str) -> Iterator[None]:
    """Within this block the oracle refuses to answer (:class:`SimError` naming ``who``): the
    evaluation runs an agent's own code sealed, so an agent that reads the truth fails loudly."""
    token = _SEALED.set(who)
    try:
        yield
    finally:
        _SEALED.reset(token)


def _state(env) -> tuple[CausalEnv, EpisodeState]:
    who = _SEALED.get()
    if who is not None:
        raise SimError(f"{who} read the truth (sim.oracle) while acting: only the oracle and "
                       "clairvoyant baselines may")
    base = env.unwrapped if hasattr(env, "unwrapped") else env
    if not isinstance(base, CausalEnv):
        raise SimError(f"the oracle needs a CausalEnv, got {type(base).__name__}")
    if not hasattr(base.action_space, "n"):
        raise SimError("the oracle enumerates actions: it needs a discrete action space")
    base.check_current()
    return base, base.state


def context_values(env, draws: int = 4000, seed: int = 0) -> np.ndarray:
    """``E[reward | do(a), context]`` of the current unit for every action ``a``."""
    base, state = _state(env)
    acts = base.scenario.actions.enumerate()
    rng = np.random.default_rng([seed, base.current_unit])
    return core.context_value(state, acts, draws, rng)


def unit_values(env) -> np.ndarray:
    """The current unit's reward under every action (its own noise: exact)."""
    base, state = _state(env)
    acts = np.asarray(base.scenario.actions.enumerate(), dtype=np.int64)
    return core.potential(state, acts, rows=np.zeros(len(acts), dtype=np.int64))[1]


@dataclass(frozen=True)
class Regret:
    """Regret of one decision against the context oracle and against the clairvoyant."""

    action: int
    oracle_action: int
    clairvoyant_action: int
    vs_oracle: float
    vs_clairvoyant: float


def regret(env, action, draws: int = 4000, seed: int = 0) -> Regret:
    """Regret of taking ``action`` for the current unit (call before ``env.step``)."""
    base, _ = _state(env)
    a = base.scenario.actions.index(action)
    ctx = context_values(base, draws=draws, seed=seed)
    unit = unit_values(base)
    return Regret(a, int(np.argmax(ctx)), int(np.argmax(unit)),
                  float(ctx.max() - ctx[a]), float(unit.max() - unit[a]))
