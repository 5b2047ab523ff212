"""Paired factual and counterfactual episodes.

:func:`rollout` runs a policy through an episode and records, beside what
happened, the exogenous tape and — for discrete actions — every potential
outcome of every unit (ground truth, from the unit's own noise and the state it
was in). :func:`counterfactual_rollout` replays the *same* tape under another
policy, through the dynamics: with state carried between decision points the
paired episode diverges exactly as the world would have.

``Trajectory.to_frame()`` is a long pandas frame, one row per decision point:
time, unit, observed context, action, outcome, reward, and the potential
outcome (``y[label]``) and reward (``reward[label]``) under every action. This
is how users export data with potential outcomes.

Examples
--------
>>> from sim.env import CausalEnv
>>> from sim.testing import ToyScenario
>>> env = CausalEnv(ToyScenario(max_units=5))
>>> treat_all = rollout(env, lambda obs: 1, seed=3)
>>> treat_all
<Trajectory 'toy': 5 steps, seed 3, return 2.2101, actions {control: 0, treat: 5}>
>>> treat_none = counterfactual_rollout(treat_all, lambda obs: 0)
>>> frame = treat_all.to_frame()
>>> bool((frame["y[control]"].to_numpy() == treat_none.to_frame()["outcome"].to_numpy()).all())
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim import core
from sim.env import CausalEnv
from sim.errors import SimError
from sim.tape import Tape

__all__ = ["Trajectory", "rollout", "counterfactual_rollout"]

PolicyLike = Callable[[np.ndarray], Any] | Any


def _act(policy: PolicyLike) -> Callable[[np.ndarray], Any]:
    if hasattr(policy, "act"):
        return policy.act
    if callable(policy):
        return policy
    raise SimError(f"a policy is a callable obs -> action or an agent with act(obs), got {policy!r}")


@dataclass
class Trajectory:
    """One episode: per-step records plus what is needed to replay it."""

    env: CausalEnv
    seed: int | None
    tape: Tape
    rows: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        """A one-line summary; the rows are in :meth:`to_frame`, the world in ``tape``."""
        labels = [str(r["action_label"]) for r in self.rows]
        kinds = [str(k) for k in getattr(self.env.scenario.actions, "labels", ()) or ()]
        actions = ""
        if labels and 0 < len(kinds) <= 8:  # discrete actions: how often each was taken
            actions = ", actions {" + ", ".join(f"{k}: {labels.count(k)}" for k in kinds) + "}"
        total = float(self.rewards.sum()) if self.rows else 0.0
        return (f"<Trajectory {self.env.scenario.name!r}: {len(self)} steps, seed {self.seed}, "
                f"return {total:.6g}{actions}>")

    @property
    def rewards(self) -> np.ndarray:
        return np.array([r["reward"] for r in self.rows])

    @property
    def outcomes(self) -> np.ndarray:
        return np.array([r["outcome"] for r in self.rows])

    def to_frame(self) -> pd.DataFrame:
        """Long frame: one row per decision point, potential outcomes beside the factual one."""
        return pd.DataFrame(self.rows)


def _potential(env: CausalEnv) -> dict[str, float]:
    """Outcome and reward of the current unit under every discrete action (ground truth)."""
    sc = env.scenario
    if not hasattr(env.action_space, "n"):
        return {}
    acts = np.asarray(sc.actions.enumerate(), dtype=np.int64)
    values, total, _ = core.potential(env.state, acts, rows=np.zeros(len(acts), dtype=np.int64))
    out = {}
    for k, a in enumerate(acts):
        label = sc.actions.label(a)
        out[f"y[{label}]"] = float(values[sc.outcome][k])
        out[f"reward[{label}]"] = float(total[k])
    return out


def rollout(env: CausalEnv, policy: PolicyLike, seed: int | None = None, *,
            tape: Tape | None = None) -> Trajectory:
    """Run ``policy`` for one episode of ``env`` (reset with ``seed``) and record it.

    ``policy`` maps an observation to an action, or is an agent with ``act``.
    ``tape`` replays a recorded world instead of drawing one (see
    :func:`counterfactual_rollout`).
    """
    base = env.unwrapped if hasattr(env, "unwrapped") else env
    if not isinstance(base, CausalEnv):
        raise SimError(f"rollout needs a CausalEnv, got {type(base).__name__}")
    act = _act(policy)
    obs, info = base.reset(seed=seed, options=None if tape is None else {"tape": tape})
    traj = Trajectory(base, seed, base.tape if tape is None else tape)
    sc = base.scenario
    done = False
    while not done:
        unit, time = info["unit"], info["time"]
        potential = _potential(base)
        action = act(obs)
        obs_before = obs
        obs, reward, terminated, truncated, step_info = base.step(action)
        row = {"time": time, "unit": unit}
        row.update({k: float(x) for k, x in zip(sc.context, obs_before, strict=True)})
        a = sc.actions.check(action)
        row["action"] = a if isinstance(a, int) else a.tolist()
        row["action_label"] = step_info["action"]
        row["outcome"] = step_info["outcome"]
        row["reward"] = reward
        row.update(potential)
        traj.rows.append(row)
        done = terminated or truncated
        if not done:
            info = {"unit": int(base.state.unit[0]), "time": float(base.state.time[0])}
    return traj


def counterfactual_rollout(trajectory: Trajectory, other_policy: PolicyLike) -> Trajectory:
    """The same world (tape) as ``trajectory``, lived under ``other_policy``."""
    return rollout(trajectory.env, other_policy, trajectory.seed, tape=trajectory.tape)
