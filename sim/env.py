"""``CausalEnv``: a scenario as a Gymnasium environment.

At each decision point the agent sees the observed context of the current
unit (never a hidden variable); its action becomes an intervention; the unit's
own noise — drawn once per episode on the tape — is propagated under it; the
reward is computed from the outcome and the action's cost. ``info`` carries the
factual outcome, the reward components, simulated time and query spending —
never the truth.

``reset(seed=...)`` makes an episode bit-reproducible: the tape and the query
stream are drawn from the environment's generator in a fixed order.

Examples
--------
>>> from sim.testing import ToyScenario
>>> env = CausalEnv(ToyScenario())
>>> obs, info = env.reset(seed=0)
>>> obs.shape, sorted(info)
((1,), ['kind', 'queries', 'time', 'unit'])
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

from sim.errors import SimError
from sim.query import Query
from sim.scenario import Scenario
from sim.tape import Tape, draw_tape
from sim.timeline import Clock, DecisionPoint

__all__ = ["CausalEnv"]


class CausalEnv(gym.Env):
    """A scenario as a Gymnasium environment.

    Parameters
    ----------
    scenario : Scenario
    render_mode : ``"ansi"``, ``"rgb_array"`` or ``None``
    query_budget : float, optional
        Per-episode budget for ``env.unwrapped.query`` (``None``: unlimited).
    query_cost : float
        Cost per query, charged to the next step's reward.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, scenario: Scenario, render_mode: str | None = None,
                 query_budget: float | None = None, query_cost: float = 0.0) -> None:
        if not isinstance(scenario, Scenario):
            raise SimError(f"CausalEnv needs a Scenario, got {type(scenario).__name__}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise SimError(f"render_mode must be one of {self.metadata['render_modes']} or None, "
                           f"got {render_mode!r}")
        self.render_mode = render_mode
        self._base_scenario = scenario
        self._set_scenario(scenario)
        self.query = Query(self, budget=query_budget, cost=query_cost)
        self._tape: Tape | None = None
        self._point: DecisionPoint | None = None
        self._last: tuple[int, Any, dict[str, np.ndarray], float] | None = None
        self._last_values: dict[str, float] | None = None

    def _set_scenario(self, scenario: Scenario) -> None:
        self.scenario = scenario
        d = len(scenario.context)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(d,), dtype=np.float64)
        self.action_space = scenario.actions.space
        noise = scenario.scm.noise
        self._context_noise_nodes = tuple(v for v in scenario.context if noise[v] is not None)
        self._discrete = hasattr(self.action_space, "n")

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode. ``options={"params": {...}}`` overrides scenario parameters for it."""
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                raise SimError(f"seed must be a non-negative integer or None, got {seed!r}")
            seed = int(seed)
        super().reset(seed=seed)
        if options:
            unknown = set(options) - {"params"}
            if unknown:
                raise SimError(f"unknown reset option(s) {sorted(unknown)}; "
                               "use options={'params': {...}}")
            if not isinstance(options.get("params", {}), Mapping):
                raise SimError("options['params'] must be a mapping of parameter -> value")
            base = self._base_scenario
            new = type(base)(base.params, **dict(options.get("params", {})))
            if new.context != base.context or new.actions.space != base.actions.space:
                raise SimError("these parameters change the observation or action space; "
                               "make a new environment instead")
            self._set_scenario(new)     # for this episode only
        elif self.scenario is not self._base_scenario:
            self._set_scenario(self._base_scenario)
        rng = self.np_random
        self.query._reset(np.random.default_rng(int(rng.integers(2**63))))
        sc = self.scenario
        self._tape = draw_tape(sc, rng)
        self._state = {k: np.array([float(v)]) for k, v in sc.initial_state().items()}
        self._clock = Clock(sc.timeline, self._tape.exponentials, max_units=sc.params.max_units,
                            horizon=sc.params.horizon, state=self._state_now)
        self._tables: dict[str, Any] | None = None
        self._last = None
        self._last_values = None
        self._point = self._clock.advance()
        if self._point is None:
            raise SimError("the episode has no decision point before the horizon; raise horizon")
        self._arrive()
        self._obs = self._context(self._point.unit)
        return self._obs.copy(), self._info_reset()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._point is None:
            raise SimError("the episode is over (or never started): call reset()")
        sc = self.scenario
        a = sc.actions.check(action)
        point = self._point
        i = point.unit
        state_before = self._state_now()
        if sc.static and self._discrete:
            t = self._precomputed()
            total = float(t["total"][a][i])
            parts = {k: float(v[i]) for k, v in t["parts"][a].items()}
            values = t["values"][a]
            unit_values = {v: arr[i:i + 1] for v, arr in values.items()} if sc.dynamic else None
            y = float(values[sc.outcome][i])
        else:
            batch = np.array([a]) if self._discrete else a[None, :]
            unit_values = sc.outcomes(self._tape.unit(i), batch, state_before)
            tot, p = sc.total_reward(unit_values, batch)
            total, parts = float(tot[0]), {k: float(v[0]) for k, v in p.items()}
            y = float(unit_values[sc.outcome][0])
        spent = self.query._take_pending()
        if spent:
            parts["queries"] = -spent
            total -= spent
        self._last = (i, a, state_before, point.time)
        if sc.dynamic:
            batch = np.array([a]) if self._discrete else a[None, :]
            self._state = {k: np.asarray(v, dtype=float).reshape(1) for k, v in
                           sc.transition(self._state, unit_values, batch, np.array([point.time])).items()}
        if self.render_mode is not None:
            self._remember(i, a, y, state_before)
        self._point = None if sc.exhausted(self._state_now()) else self._clock.advance()
        terminated = self._point is None
        if not terminated:
            self._arrive()
            self._obs = self._context(self._point.unit)
        info = {"outcome": y, "rewards": parts, "time": point.time, "unit": i,
                "action": sc.actions.label(a), "queries": self.query.spent}
        return self._obs.copy(), total, terminated, False, info

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'rgb_array'")
            return None
        if self._tape is None:
            raise SimError("call reset() before render()")
        values = self._last_values or dict(zip(self.scenario.context, self._obs.tolist(), strict=True))
        if self.render_mode == "ansi":
            t = self._clock.now
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

    # ------------------------------------------------------------------ internals
    def _replay(self, tape: Tape) -> None:
        """Restart the current episode on a recorded tape (paired counterfactual worlds)."""
        sc = self.scenario
        if len(tape) != sc.params.max_units:
            raise SimError("the tape was recorded with other parameters (max_units differs)")
        self._tape = tape
        self._state = {k: np.array([float(v)]) for k, v in sc.initial_state().items()}
        self._clock = Clock(sc.timeline, tape.exponentials, max_units=sc.params.max_units,
                            horizon=sc.params.horizon, state=self._state_now)
        self._tables = None
        self._last = None
        self._last_values = None
        self._point = self._clock.advance()
        self._arrive()
        self._obs = self._context(self._point.unit)

    def _arrive(self) -> None:
        """Let the state evolve up to the current decision point (``Scenario.arrive``)."""
        sc = self.scenario
        if sc.arrives:
            new = sc.arrive(self._state, np.array([self._point.time]))
            self._state = {k: np.asarray(v, dtype=float).reshape(1) for k, v in new.items()}

    def _info_reset(self) -> dict[str, Any]:
        p = self._point
        return {"time": p.time, "unit": p.unit, "kind": p.kind, "queries": self.query.spent}

    def _state_now(self) -> dict[str, float]:
        return {k: float(v[0]) for k, v in self._state.items()} if self._tape is not None else {}

    def _current_unit(self) -> int:
        if self._point is None:
            raise SimError("no current unit: call reset(), or the episode is over")
        return self._point.unit

    def _context(self, i: int) -> np.ndarray:
        sc = self.scenario
        if sc.static:
            return self._precomputed()["obs"][i]
        ctx = sc.scm.propagate(self._tape.unit(i), sc.state_interventions(self._state_now()),
                               nodes=sc.context)
        return sc.observe(ctx)[0]

    def _precomputed(self) -> dict[str, Any]:
        """Static scenarios: every unit's context, and its outcome under every action, at once."""
        if self._tables is None:
            sc = self.scenario
            noise = self._tape.noise
            obs = sc.observe(sc.scm.propagate(noise, nodes=sc.context))
            tables: dict[str, Any] = {"obs": obs}
            if self._discrete:
                m = len(self._tape)
                tables["values"], tables["total"], tables["parts"] = [], [], []
                for a in sc.actions.enumerate():
                    acts = np.full(m, a, dtype=np.int64)
                    values = sc.outcomes(noise, acts)
                    total, parts = sc.total_reward(values, acts)
                    tables["values"].append(values)
                    tables["total"].append(total)
                    tables["parts"].append(parts)
            self._tables = tables
        return self._tables

    def _remember(self, i: int, a: Any, y: float, state: dict[str, float]) -> None:
        sc = self.scenario
        values = dict(zip(sc.context, self._obs.tolist(), strict=True))
        batch = np.array([a]) if self._discrete else a[None, :]
        for v in sc.actions.nodes:
            values[v] = float(sc.actions.value(v, batch)[0])
        values[sc.outcome] = y
        values["_action"] = sc.actions.label(a)
        self._last_values = values
