"""``CausalEnv``: a scenario as a Gymnasium environment (a batch of one of the episode core).

At each decision point the agent sees the observed context of the current
unit (never a hidden variable); its action becomes an intervention; the unit's
own noise — drawn once per episode on the tape — is propagated under it; the
reward is computed from the outcome and the action's cost. ``info`` carries the
factual outcome, the reward components, simulated time and query spending —
never the truth.

Everything is computed by :mod:`sim.core` on the public :attr:`CausalEnv.state`
(an :class:`~sim.core.EpisodeState` with one row); :attr:`CausalEnv.previous`
is the state before the last step (what ``query.counterfactual`` asks about).

``reset(seed=...)`` makes an episode bit-reproducible: the query stream's seed
and the tape are drawn from the environment's generator in a fixed order.
Reaching ``max_units`` or the ``horizon`` *truncates* the episode; a state that
ends it (a spent budget) or a timeline without further decision points
*terminates* it.

Examples
--------
>>> from sim.testing import ToyScenario
>>> env = CausalEnv(ToyScenario())
>>> obs, info = env.reset(seed=0)
>>> obs.shape, sorted(info), env.feature_names
((1,), ['kind', 'queries', 'time', 'unit'], ('x',))
>>> obs, reward, terminated, truncated, info = env.step(1)
>>> sorted(info["rewards"])
['cost', 'outcome']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sim import core
from sim.actions import ContinuousActions, DiscreteActions
from sim.core import EpisodeState
from sim.errors import SimError
from sim.query import Query
from sim.scenario import Scenario
from sim.tape import Tape

__all__ = ["CausalEnv", "observation_space"]


def observation_space(scenario: Scenario) -> spaces.Box:
    """The Box of a scenario's observations: its context's physical bounds
    (:meth:`~sim.scenario.Scenario.observation_bounds`)."""
    low, high = scenario.observation_bounds()
    return spaces.Box(low, high, shape=(len(scenario.context),), dtype=np.float64)


class CausalEnv(gym.Env):
    """A scenario as a Gymnasium environment.

    Parameters
    ----------
    scenario : Scenario
    render_mode : ``"ansi"``, ``"rgb_array"`` or ``None``

    Attributes
    ----------
    state : EpisodeState or None
        The episode (one row), public: :mod:`sim.core` functions take it.
    previous : EpisodeState or None
        The state before the last step (``None`` before the first step of an episode).
    query : Query
        Causal questions about the current unit (see :mod:`sim.query`); for a
        budget and a cost per query, wrap the environment in
        :class:`~sim.wrappers.QueryBudget` (``gymnasium.make(..., query_budget=...)``
        and ``CausalEnv(scenario, query_budget=..., query_cost=...)`` return it so wrapped).
    feature_names : tuple of str
        The observation's columns (the scenario's context nodes).
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __new__(cls, scenario: Scenario = None, render_mode: str | None = None,
                query_budget: float | None = None, query_cost: float = 0.0):
        """``CausalEnv(scenario, query_budget=..., query_cost=...)`` is a shortcut for
        ``QueryBudget(CausalEnv(scenario), query_budget, query_cost)`` (it returns the wrapper)."""
        env = super().__new__(cls)
        if query_budget is None and not query_cost:
            return env
        from sim.wrappers import QueryBudget

        env.__init__(scenario, render_mode)
        return QueryBudget(env, query_budget, query_cost)

    def __init__(self, scenario: Scenario, render_mode: str | None = None,
                 query_budget: float | None = None, query_cost: float = 0.0) -> None:
        if not isinstance(scenario, Scenario):
            raise SimError(f"CausalEnv needs a Scenario, got {type(scenario).__name__}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise SimError(f"render_mode must be one of {self.metadata['render_modes']} or None, "
                           f"got {render_mode!r}")
        core.check_episodes(scenario, 1, f"CausalEnv of {scenario.name!r}")
        self.render_mode = render_mode
        self._base_scenario = scenario
        self._set_scenario(scenario)
        self.query = Query(self)
        self.state: EpisodeState | None = None
        self.previous: EpisodeState | None = None
        self.last_action: Any = None
        self._obs: np.ndarray | None = None
        self._shown: dict[str, Any] | None = None

    def _set_scenario(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.observation_space = observation_space(scenario)
        self.action_space = scenario.actions.space
        self.feature_names = scenario.feature_names
        self._discrete = hasattr(self.action_space, "n")
        # what an action needs to pass the check without numpy (else ActionMap.check decides)
        check = type(scenario.actions).check
        self._n = int(self.action_space.n) if self._discrete and check is DiscreteActions.check else None
        self._box = None if self._discrete or check is not ContinuousActions.check else (
            self.action_space.shape, tuple(np.asarray(self.action_space.low, dtype=np.float64).tolist()),
            tuple(np.asarray(self.action_space.high, dtype=np.float64).tolist()))

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode.

        ``options={"params": {...}}`` overrides scenario parameters for this
        episode; ``options={"tape": tape}`` replays a recorded world
        (:class:`~sim.tape.Tape`, e.g. ``Trajectory.tape``) instead of drawing one.
        """
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                raise SimError(f"seed must be a non-negative integer or None, got {seed!r}")
            seed = int(seed)
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"params", "tape"}
        if unknown:
            raise SimError(f"unknown reset option(s) {sorted(unknown)}; use options={{'params': {{...}}}} "
                           "or {'tape': tape}")
        params = options.get("params")
        if params:
            if not isinstance(params, Mapping):
                raise SimError("options['params'] must be a mapping of parameter -> value")
            base = self._base_scenario
            new = type(base)(base.params, **dict(params))
            if new.context != base.context or new.actions.space != base.actions.space:
                raise SimError("these parameters change the observation or action space; "
                               "make a new environment instead")
            self._set_scenario(new)     # for this episode only
        elif self.scenario is not self._base_scenario:
            self._set_scenario(self._base_scenario)
        tape = options.get("tape")
        if tape is not None and not isinstance(tape, Tape):
            raise SimError(f"options['tape'] must be a Tape (e.g. Trajectory.tape), "
                           f"got {type(tape).__name__}")
        rng = self.np_random
        if tape is None:
            self.state = core.initial(self.scenario, [rng])
        else:
            self.state = core.initial(self.scenario, [rng], tapes=[tape])
        self.query._reset(np.random.default_rng(int(self.state.query_seeds[0])))
        self.previous = None
        self.last_action = None
        self._shown = None
        self._obs = core.observe(self.state)[0]
        return self._obs.copy(), self._info_reset()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        state = self.state
        if state is None or state.terminated[0] or state.truncated[0]:
            raise SimError("the episode is over (or never started): call reset()")
        sc = self.scenario
        a = self._checked(action)
        batch = np.array([a], dtype=np.int64) if self._discrete else a[None, :]
        new, outcome, total, parts = core.transition(state, batch)
        self.previous, self.state, self.last_action = state, new, a
        y = float(outcome[0])
        if self.render_mode is not None:
            self._remember(a, y)
        terminated, truncated = bool(new.terminated[0]), bool(new.truncated[0])
        if not (terminated or truncated):
            self._obs = core.observe(new)[0]
        info = {"outcome": y, "rewards": {k: float(v[0]) for k, v in parts.items()},
                "time": float(state.time[0]), "unit": int(state.unit[0]), "action": sc.actions.label(a),
                "queries": self.query.spent}
        return self._obs.copy(), float(total[0]), terminated, truncated, info

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'rgb_array'")
            return None
        if self.state is None:
            raise SimError("call reset() before render()")
        values = self._shown or dict(zip(self.scenario.context, self._obs.tolist(), strict=True))
        if self.render_mode == "ansi":
            t = float(self.state.time[0])
            lines = [f"{self.scenario.name}  t = {t:.3f}"]
            lines += [f"  {k:<16} {v:>12.4g}" for k, v in values.items() if not k.startswith("_")]
            if "_action" in values:
                lines.append(f"  action: {values['_action']}")
            return "\n".join(lines) + "\n"
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        from causal.plot import draw_graph

        numeric = {k: v for k, v in values.items() if not k.startswith("_")}
        fig = draw_graph(self.scenario.scm.graph, values=numeric, highlight=self.scenario.actions.nodes,
                         title=f"{self.scenario.name}: {values.get('_action', 'awaiting action')}")
        canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()

    # ------------------------------------------------------------------ public helpers
    @property
    def current_unit(self) -> int:
        """The index of the unit awaiting an action (raises once the episode is over)."""
        self.check_current()
        return int(self.state.unit[0])

    def check_current(self) -> None:
        """Raise :class:`SimError` unless a unit awaits an action."""
        s = self.state
        if s is None or s.terminated[0] or s.truncated[0]:
            raise SimError("no current unit: call reset(), or the episode is over")

    @property
    def tape(self) -> Tape:
        """This episode's tape (a copy): replay it with ``reset(options={"tape": tape})``."""
        if self.state is None:
            raise SimError("call reset() first")
        return core.tape_of(self.state)

    # ------------------------------------------------------------------ internals
    def _checked(self, action: Any) -> Any:
        """``scenario.actions.check(action)``, without numpy for the usual valid actions: a
        Python or numpy integer in range (discrete), a float64 array of the space's shape within
        its bounds (box). Anything else goes to the action map's own check (and its errors)."""
        kind = type(action)
        if self._n is not None:
            if (kind is int or kind is np.int64) and 0 <= action < self._n:
                return int(action)
        elif self._box is not None and kind is np.ndarray and action.dtype == np.float64:
            shape, low, high = self._box
            if action.shape == shape and all(lo <= x <= hi for lo, x, hi
                                             in zip(low, action.tolist(), high, strict=True)):
                return action
        return self.scenario.actions.check(action)

    def _info_reset(self) -> dict[str, Any]:
        s = self.state
        return {"time": float(s.time[0]), "unit": int(s.unit[0]), "kind": s.kind[0],
                "queries": self.query.spent}

    def _remember(self, a: Any, y: float) -> None:
        sc = self.scenario
        values = dict(zip(sc.context, self._obs.tolist(), strict=True))
        batch = np.array([a]) if self._discrete else a[None, :]
        for v, iv in sc.actions.to_interventions(batch).items():
            if v not in sc.scm.hidden:
                values[v] = float(np.asarray(iv.value)[0])
        values[sc.outcome] = y
        values["_action"] = sc.actions.label(a)
        self._shown = values
