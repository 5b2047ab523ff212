"""``CausalVectorEnv``: many episodes of a scenario, batched natively.

Each of the ``num_envs`` sub-environments is one :class:`~sim.env.CausalEnv`
episode stream — same tape, same clock, same rewards — but a step serves them
all with *one* vectorized SCM call: the sub-environments' tapes are stacked
in one array ``(noise nodes, num_envs, max_units)``, the current units' noise
is gathered at once (``noise[:, np.arange(num_envs), unit]``, as one flat
``take``) and propagated under the batch of actions (and the per-unit state,
for stateful scenarios).

* Static timelines (:attr:`~sim.timeline.Timeline.static`) give every
  sub-environment's decision times in closed form at (auto)reset
  (:meth:`~sim.timeline.Timeline.times`, equal to the simpy clock to the last
  bit). State-dependent timelines fall back to one simpy
  :class:`~sim.timeline.Clock` per sub-environment, advanced in a Python loop.
* The next units' observations come from one propagation of their context
  nodes (under the per-unit state). Precomputing whole episodes' observations
  at reset for static scenarios was measured no faster (1024 sub-environments,
  100 units) and is not done.
* The scenario's ``transition`` and ``exhausted`` are called once per step on
  the whole batch (state as ``{key: array (num_envs,)}``), so both must be
  vectorized.

Seeding follows :class:`gymnasium.vector.SyncVectorEnv`: ``reset(seed=s)``
seeds sub-environment ``i`` with ``s + i`` (or takes a list of seeds), and each
sub-environment draws from its own generator exactly what ``CausalEnv.reset``
draws, in the same order. Sub-environment ``i`` therefore replays a
``CausalEnv`` reset with seed ``s + i`` given the same actions, across
autoresets too. Autoreset is ``NEXT_STEP``: the step after a sub-environment
terminated ignores its action and returns its reset observation with reward 0.

``info`` holds arrays with ``_key`` masks, as ``SyncVectorEnv`` builds them:
``outcome`` and ``rewards`` (components) for sub-environments that stepped,
``time`` and ``unit`` for all, ``kind`` for those that were reset. The vector
environment has no query interface (use single environments for queries).

Examples
--------
>>> from sim.testing import ToyScenario
>>> envs = CausalVectorEnv(ToyScenario(max_units=3), num_envs=4)
>>> obs, info = envs.reset(seed=0)
>>> obs.shape, sorted(info)
((4, 1), ['_kind', '_time', '_unit', 'kind', 'time', 'unit'])
>>> obs, reward, terminated, truncated, info = envs.step(np.array([1, 0, 1, 0]))
>>> reward.shape, sorted(info["rewards"])
((4,), ['_cost', '_outcome', 'cost', 'outcome'])
>>> from sim.env import CausalEnv
>>> single = CausalEnv(ToyScenario(max_units=3))
>>> _ = single.reset(seed=2)
>>> bool(single.step(1)[1] == reward[2])
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from sim.errors import SimError
from sim.scenario import Scenario
from sim.tape import draw_tape
from sim.timeline import Clock

__all__ = ["CausalVectorEnv", "vector_factory"]


class CausalVectorEnv(VectorEnv):
    """``num_envs`` episodes of ``scenario`` stepped together (see the module docstring).

    Parameters
    ----------
    scenario : Scenario
    num_envs : int
        Number of sub-environments.
    render_mode : ``"ansi"`` or ``None``
        ``render()`` then returns one text frame per sub-environment.

    Raises
    ------
    SimError
        For a non-scenario, a bad ``num_envs`` or an unknown ``render_mode``.

    Notes
    -----
    With :class:`~sim.testing.ToyScenario` (``max_units=100``), 1024
    sub-environments and random actions, this environment ran about 2
    million environment steps per second, some 80 times a
    ``gymnasium.vector.SyncVectorEnv`` over 1024 ``CausalEnv``. Autoresets
    cost a Python loop over the sub-environments being reset (each draws its
    tape from its own generator); with state-dependent timelines every step
    also advances one simpy clock per sub-environment.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, scenario: Scenario, num_envs: int, render_mode: str | None = None) -> None:
        if not isinstance(scenario, Scenario):
            raise SimError(f"CausalVectorEnv needs a Scenario, got {type(scenario).__name__}")
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise SimError(f"num_envs must be a positive integer, got {num_envs!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise SimError(f"render_mode must be one of {self.metadata['render_modes']} or None, "
                           f"got {render_mode!r}")
        self.num_envs = int(num_envs)
        self.render_mode = render_mode
        self.metadata = dict(self.metadata)
        self._set_scenario(scenario)
        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._seeds: list[int | None] = [None] * self.num_envs
        self._started = False

    def _set_scenario(self, scenario: Scenario) -> None:
        self.scenario = scenario
        n, m = self.num_envs, scenario.params.max_units
        self.single_observation_space = spaces.Box(-np.inf, np.inf, shape=(len(scenario.context),),
                                                   dtype=np.float64)
        self.single_action_space = scenario.actions.space
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        self._rows = np.arange(n)
        self._closed_form = scenario.timeline.static
        self._ends_by_state = type(scenario).exhausted is not Scenario.exhausted
        draws = m * max(1, scenario.timeline.draws_per_unit)
        self._draws = draws
        #: The tapes' unit noise: ``(num_envs, max_units, len(noise_items))``, so that one unit's
        #: noise is one contiguous row (a step gathers ``num_envs`` rows, not ``num_envs * nodes``
        #: scattered values).
        self._noise_nodes = tuple(v for v, _ in scenario.noise_items)
        self._noise = np.zeros((n, m, len(self._noise_nodes)))
        #: The current units' noise ``(len(noise_items), num_envs)``, gathered by ``_observe``.
        self._current = np.zeros((len(self._noise_nodes), n))
        self._exponentials = np.zeros((n, draws + 1))
        self._times = np.zeros((n, m)) if self._closed_form else None
        self._clocks: list[Clock | None] = [None] * n
        self._unit = np.zeros(n, dtype=np.int64)
        self._time = np.zeros(n)
        self._kind = np.full(n, None, dtype=object)
        self._obs = np.zeros((n, len(scenario.context)))
        self._state = {k: np.full(n, float(v)) for k, v in scenario.initial_state().items()}
        self._autoreset = np.zeros(n, dtype=bool)

    # ------------------------------------------------------------------ gymnasium API
    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:
        """The sub-environments' generators (created with a random seed if never reset)."""
        return tuple(self._generator(j) for j in range(self.num_envs))

    @property
    def np_random_seed(self) -> tuple[int, ...]:
        """The seeds of the sub-environments' generators (as ``SyncVectorEnv`` reports them)."""
        for j in range(self.num_envs):
            self._generator(j)
        return tuple(self._seeds)

    def reset(self, *, seed: int | Sequence[int | None] | None = None,
              options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every sub-environment (or those in ``options["reset_mask"]``).

        Parameters
        ----------
        seed : int, list of int or None, or None
            An int ``s`` seeds sub-environment ``i`` with ``s + i``; ``None``
            keeps each generator running (random on the first reset).
        options : dict, optional
            ``"reset_mask"``: boolean array ``(num_envs,)`` of sub-environments
            to reset. (``CausalEnv``'s per-episode ``"params"`` cannot be
            batched: sub-environments autoreset at different steps. Make a new
            vector environment with other parameters instead.)

        Returns
        -------
        observations : array ``(num_envs, len(context))``
        info : dict of arrays with ``_key`` masks: ``time``, ``unit``, ``kind``
        """
        n = self.num_envs
        if seed is None:
            seeds: list[Any] = [None] * n
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seeds = [int(seed) + i for i in range(n)]
        elif isinstance(seed, (Sequence, np.ndarray)) and not isinstance(seed, str):
            seeds = [int(s) if isinstance(s, np.integer) else s for s in seed]
            if len(seeds) != n:
                raise SimError(f"give one seed per sub-environment ({n}), got {len(seeds)}")
        else:
            raise SimError(f"seed must be an int, a list of {n} ints (or None) or None, got {seed!r}")
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        if "params" in options:
            raise SimError("CausalVectorEnv cannot change scenario parameters at reset (sub-environments "
                           "autoreset at different steps); make a new vector environment, e.g. "
                           "CausalVectorEnv(type(scenario)(**params), num_envs)")
        if options:
            raise SimError(f"unknown reset option(s) {sorted(options)}; the only option is 'reset_mask'")
        if mask is None:
            mask = np.ones(n, dtype=bool)
        else:
            mask = np.asarray(mask)
            if mask.shape != (n,) or mask.dtype != np.bool_ or not mask.any():
                raise SimError(f"options['reset_mask'] must be a boolean array of shape ({n},) with at "
                               "least one True value")
            if not self._started:
                raise SimError("the first reset() resets every sub-environment; drop 'reset_mask'")
        rows = np.flatnonzero(mask)
        fresh = {j: seeding.np_random(seeds[j]) for j in rows if seeds[j] is not None}  # validates first
        for j, (rng, used) in fresh.items():
            self._rngs[j], self._seeds[j] = rng, used
        self._reset_rows(rows)
        self._autoreset[rows] = False
        self._started = True
        info: dict[str, Any] = {}
        self._add_reset_info(info, mask)
        return self._obs.copy(), info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every sub-environment; those that terminated last step are reset instead.

        Parameters
        ----------
        actions : array in :attr:`action_space`
            One action per sub-environment (ignored for those being reset).

        Returns
        -------
        observations, rewards, terminations, truncations, info
            ``truncations`` is always ``False``; ``info`` holds ``outcome``,
            ``rewards`` (components), ``time`` and ``unit`` of the units acted
            on, and the reset info of sub-environments that were reset.

        Raises
        ------
        ActionError
            If ``actions`` has the wrong shape, is not finite or leaves the space.
        SimError
            If ``reset()`` was never called.
        """
        if not self._started:
            raise SimError("call reset() before step()")
        sc = self.scenario
        acts = sc.actions.check_batch(actions, self.num_envs)
        resetting = self._autoreset
        stepping = ~resetting
        unit = self._unit.copy()
        noise = dict(zip(self._noise_nodes, self._current, strict=True))
        values = sc.outcomes(noise, acts, self._state)
        rewards, parts = sc.total_reward(values, acts)
        outcome = np.array(values[sc.outcome], dtype=np.float64)
        now = self._time.copy()
        if sc.dynamic:
            self._state = self._as_state(sc.transition(self._state, values, acts, now))
        done = self._advance(stepping, unit + 1)
        terminated = stepping & done
        live = np.flatnonzero(stepping & ~done)
        self._arrive(live)
        if len(live):
            self._obs[live] = self._observe(live)
        rewards = np.array(rewards, dtype=np.float64)
        parts = {k: np.array(p, dtype=np.float64) for k, p in parts.items()}
        any_reset = bool(resetting.any())
        if any_reset:  # what SyncVectorEnv reports for sub-environments that did not step
            for arr in (rewards, outcome, *parts.values()):
                arr[resetting] = 0.0
        info: dict[str, Any] = {}
        if not any_reset or stepping.any():
            info["outcome"], info["_outcome"] = outcome, stepping
            info["rewards"] = {**parts, **{f"_{k}": stepping for k in parts}}
            info["_rewards"] = stepping
        info["time"], info["_time"] = now, np.ones(self.num_envs, dtype=bool)
        info["unit"], info["_unit"] = unit, np.ones(self.num_envs, dtype=bool)
        if any_reset:
            self._reset_rows(np.flatnonzero(resetting))
            self._add_reset_info(info, resetting)
        self._autoreset = terminated
        return self._obs.copy(), rewards, terminated, np.zeros(self.num_envs, dtype=bool), info

    def render(self) -> tuple[str, ...] | None:
        """One text frame per sub-environment (``render_mode="ansi"``), else ``None``."""
        if self.render_mode is None:
            return None
        if not self._started:
            raise SimError("call reset() before render()")
        sc = self.scenario
        frames = []
        for j in range(self.num_envs):
            lines = [f"{sc.name}[{j}]  t = {self._time[j]:.3f}  unit {self._unit[j]}"]
            lines += [f"  {k:<16} {v:>12.4g}" for k, v in zip(sc.context, self._obs[j], strict=True)]
            frames.append("\n".join(lines) + "\n")
        return tuple(frames)

    # ------------------------------------------------------------------ internals
    def _as_state(self, state: Mapping[str, Any]) -> dict[str, np.ndarray]:
        n = self.num_envs
        out = {}
        for k, v in state.items():
            a = np.asarray(v, dtype=np.float64)
            out[k] = a.copy() if a.shape == (n,) else np.array(np.broadcast_to(a, (n,)))
        return out

    def _generator(self, j: int) -> np.random.Generator:
        """Sub-environment ``j``'s generator; like ``gymnasium.Env``, random-seeded if never seeded."""
        if self._rngs[j] is None:
            self._rngs[j], self._seeds[j] = seeding.np_random()
        return self._rngs[j]

    def _state_of(self, j: int) -> dict[str, float]:
        return {k: float(v[j]) for k, v in self._state.items()}

    def _reset_rows(self, rows: np.ndarray) -> None:
        """Start a new episode in sub-environments ``rows``, drawing as ``CausalEnv.reset`` does."""
        sc = self.scenario
        for k, v in sc.initial_state().items():
            if k not in self._state:
                self._state[k] = np.zeros(self.num_envs)
            self._state[k][rows] = float(v)
        for j in rows:
            rng = self._generator(j)
            rng.integers(2**63)  # CausalEnv's query stream: drawn to stay in step
            tape = draw_tape(sc, rng)
            noise_j = self._noise[j]
            for i, v in enumerate(self._noise_nodes):
                noise_j[:, i] = tape.noise[v]
            self._exponentials[j] = tape.exponentials
            if not self._closed_form:
                clock = Clock(sc.timeline, self._exponentials[j], max_units=sc.params.max_units,
                              horizon=sc.params.horizon, state=lambda j=j: self._state_of(j))
                point = clock.advance()
                if point is None:
                    raise SimError("the episode has no decision point before the horizon; raise horizon")
                self._clocks[j] = clock
                self._time[j], self._kind[j] = point.time, point.kind
        self._unit[rows] = 0
        if self._closed_form:
            times = sc.timeline.times(self._exponentials[rows, :self._draws])
            if not np.all((times[:, 0] <= sc.params.horizon) & np.isfinite(times[:, 0])):
                raise SimError("the episode has no decision point before the horizon; raise horizon")
            self._times[rows] = times
            self._time[rows] = times[:, 0]
            self._kind[rows] = sc.timeline.kind
        self._arrive(rows)
        self._obs[rows] = self._observe(rows)

    def _advance(self, stepping: np.ndarray, following: np.ndarray) -> np.ndarray:
        """Move stepping sub-environments to their next decision point; return where episodes end."""
        sc = self.scenario
        done = following >= sc.params.max_units
        if self._ends_by_state:
            done = done | np.broadcast_to(np.asarray(sc.exhausted(self._state), dtype=bool), done.shape)
        if self._closed_form:
            m = sc.params.max_units
            nxt = self._times.reshape(-1).take(self._rows * m + np.minimum(following, m - 1))
            done = done | ~((nxt <= sc.params.horizon) & np.isfinite(nxt))
            go = stepping & ~done
            self._time[go] = nxt[go]
            self._unit[go] = following[go]
            return done
        done = done.copy()
        for j in np.flatnonzero(stepping & ~done):  # state-dependent clocks: one simpy clock each
            point = self._clocks[j].advance()
            if point is None:
                done[j] = True
            else:
                self._time[j], self._unit[j], self._kind[j] = point.time, point.unit, point.kind
        return done

    def _arrive(self, rows: np.ndarray) -> None:
        """``Scenario.arrive`` for sub-environments ``rows`` that reached a new decision point."""
        sc = self.scenario
        if not sc.arrives or not len(rows):
            return
        new = self._as_state(sc.arrive(self._state, self._time))
        for k, v in new.items():
            if k not in self._state:
                self._state[k] = np.zeros(self.num_envs)
            self._state[k][rows] = v[rows]

    def _observe(self, rows: np.ndarray) -> np.ndarray:
        """Observations of the current units of sub-environments ``rows``."""
        sc = self.scenario
        taken = self._gather(rows, self._unit[rows])
        if len(rows) == self.num_envs:
            self._current = taken
        else:  # a new array: the last step's values may alias the old one
            self._current = self._current.copy()
            self._current[:, rows] = taken
        noise = dict(zip(self._noise_nodes, taken, strict=True))
        state = self._state if len(rows) == self.num_envs else {k: v[rows] for k, v in self._state.items()}
        ivs = sc.state_interventions(state)
        return sc.observe(sc.scm.propagate(noise, ivs, nodes=sc.context))

    def _gather(self, rows: np.ndarray, unit: np.ndarray) -> np.ndarray:
        """The noise ``(nodes, len(rows))`` of unit ``unit[i]`` of sub-environment ``rows[i]`` (one
        gather of contiguous rows)."""
        flat = self._noise.reshape(-1, len(self._noise_nodes))
        return np.ascontiguousarray(flat.take(rows * self.scenario.params.max_units + unit, axis=0).T)

    def _add_reset_info(self, info: dict[str, Any], mask: np.ndarray) -> None:
        n = self.num_envs
        for key, value in (("time", self._time), ("unit", self._unit)):
            if key in info:  # a step: every sub-environment already has one
                info[key] = np.where(mask, value, info[key])
            else:
                info[key], info[f"_{key}"] = np.where(mask, value, np.zeros_like(value)), mask.copy()
        kind = np.full(n, None, dtype=object)
        kind[mask] = self._kind[mask]
        info["kind"], info["_kind"] = kind, mask.copy()


class _VectorEntryPoint:
    """``(num_envs, **kwargs) -> CausalVectorEnv`` for a scenario class (a gymnasium vector entry point)."""

    def __init__(self, scenario_cls: type[Scenario]) -> None:
        self.scenario_cls = scenario_cls

    def __call__(self, num_envs: int = 1, *, render_mode: str | None = None,
                 query_budget: float | None = None, query_cost: float = 0.0,
                 **params: Any) -> CausalVectorEnv:
        if query_budget is not None or query_cost:
            raise SimError("CausalVectorEnv has no query interface; drop query_budget and query_cost "
                           "or use single environments (gymnasium.make)")
        return CausalVectorEnv(self.scenario_cls(**params), num_envs, render_mode=render_mode)

    def __repr__(self) -> str:
        return f"vector_factory({self.scenario_cls.__qualname__})"


def vector_factory(scenario_cls: type[Scenario]) -> _VectorEntryPoint:
    """A gymnasium ``vector_entry_point`` making :class:`CausalVectorEnv` of ``scenario_cls``.

    Parameters
    ----------
    scenario_cls : subclass of Scenario

    Returns
    -------
    callable ``(num_envs, render_mode=None, **params) -> CausalVectorEnv``
        ``params`` are the scenario's parameters.

    Examples
    --------
    >>> from sim.testing import ToyScenario
    >>> make = vector_factory(ToyScenario)
    >>> make(num_envs=2, max_units=5).scenario.params.max_units
    5
    """
    if not (isinstance(scenario_cls, type) and issubclass(scenario_cls, Scenario)):
        raise SimError(f"vector_factory needs a Scenario subclass, got {scenario_cls!r}")
    return _VectorEntryPoint(scenario_cls)
