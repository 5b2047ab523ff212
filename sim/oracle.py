"""The oracle: the truth an agent cannot see, for scoring its decisions by regret.

For the current unit of an environment, two benchmarks of an action ``a``:

* against the **context oracle** — the best action for the unit's observed
  context: ``max_b E[R | do(b), context] - E[R | do(a), context]`` (what an agent
  that knew the causal model perfectly, but saw only the context, would lose
  nothing of);
* against the **clairvoyant** — the best action for the unit itself, from its
  own counterfactuals: ``max_b R_b - R_a`` (no agent can do better).

Both read the episode's tape and the scenario's SCM directly; they never
charge the query budget and never touch the episode's random streams. The
context expectations are Monte-Carlo means over ``draws`` redrawn non-context
noises, with common random numbers across actions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.env import CausalEnv
from sim.errors import SimError

__all__ = ["Regret", "context_values", "unit_values", "regret"]


def _base(env) -> CausalEnv:
    base = env.unwrapped if hasattr(env, "unwrapped") else env
    if not isinstance(base, CausalEnv):
        raise SimError(f"the oracle needs a CausalEnv, got {type(base).__name__}")
    if not base._discrete:
        raise SimError("the oracle enumerates actions: it needs a discrete action space")
    return base


def context_values(env, draws: int = 4000, seed: int = 0) -> np.ndarray:
    """``E[reward | do(a), context]`` of the current unit for every action ``a``."""
    base = _base(env)
    sc = base.scenario
    i = base._current_unit()
    acts = np.asarray(sc.actions.enumerate(), dtype=np.int64)
    rng = np.random.default_rng([seed, i])
    noise = {v: dist.sample(draws, rng) for v, dist in sc.noise_items}
    for v in base._context_noise_nodes:
        noise[v] = np.full(draws, base._tape.noise[v][i])
    state = base._state_now()
    out = np.empty(len(acts))
    for k, a in enumerate(acts):
        batch = np.full(draws, a, dtype=np.int64)
        out[k] = sc.total_reward(sc.outcomes(noise, batch, state), batch)[0].mean()
    return out


def unit_values(env) -> np.ndarray:
    """The current unit's reward under every action (its own noise: exact)."""
    base = _base(env)
    sc = base.scenario
    i = base._current_unit()
    acts = np.asarray(sc.actions.enumerate(), dtype=np.int64)
    noise = {v: np.repeat(arr[i:i + 1], len(acts)) for v, arr in base._tape.noise.items()}
    values = sc.outcomes(noise, acts, base._state_now())
    return sc.total_reward(values, acts)[0]


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
    base = _base(env)
    a = base.scenario.actions.index(action)
    ctx = context_values(base, draws=draws, seed=seed)
    unit = unit_values(base)
    return Regret(a, int(np.argmax(ctx)), int(np.argmax(unit)),
                  float(ctx.max() - ctx[a]), float(unit.max() - unit[a]))
