"""``CausalVectorEnv``: many episodes of a scenario, batched natively.

Each of the ``num_envs`` sub-environments is one :class:`~sim.env.CausalEnv`
episode stream — same tape, same clock, same rewards — but a step serves them
all with *one* vectorized SCM call: the sub-environments' tapes are stacked
unit-major in one array ``(max_units, num_envs, noise nodes)``, the current
units' noise is gathered at once (one flat ``take``; a plain view when every
sub-environment is at the same unit, as episodes of a fixed length stay) and
propagated under the batch of actions (and the per-unit state, for stateful
scenarios).

* Static timelines (:attr:`~sim.timeline.Timeline.static`) give every
  sub-environment's decision times in closed form at (auto)reset
  (:meth:`~sim.timeline.Timeline.times`, equal to the simpy clock to the last
  bit). State-dependent timelines fall back to one simpy
  :class:`~sim.timeline.Clock` per sub-environment, advanced in a Python loop.
* (Auto)resets are batched: the sub-environments that end on the same step
  draw their tapes one after the other, each from its own generator, through
  the scenario's :class:`~sim.tape.TapePlan` (a few generator calls writing
  into a block of preallocated rows), and the rest of the reset — the affine
  part of the noise, the transposition into the unit-major array, decision
  times, observations — is done for the whole block at once.
* Static scenarios (no state nodes) get every unit's observation at reset, in
  one propagation of the context nodes over the block's episodes; a step then
  only gathers them. Stateful ones propagate the context of the next units at
  each step (under the per-unit state).
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
from sim.tape import TapePlan
from sim.timeline import Clock

__all__ = ["CausalVectorEnv", "vector_factory"]

#: Bytes of the block into which resets draw tapes before transposing them (stays in cache).
_SCRATCH_BYTES = 1 << 20


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
    On the 10-node scenario of ``benchmarks/bench_env.py`` (200 units per
    episode, 1024 sub-environments, random actions) this environment runs
    some 70 times the environment steps per second of a
    ``gymnasium.vector.SyncVectorEnv`` over 1024 ``CausalEnv``. An autoreset
    still costs one short Python iteration per sub-environment being reset
    (its tape comes from its own generator, as in ``CausalEnv``); drawing
    the normal variates is most of it. With state-dependent timelines every
    step also advances one simpy clock per sub-environment.
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
        self._plan = TapePlan.of(scenario)
        self._draws = m * max(1, scenario.timeline.draws_per_unit)
        #: The tapes' unit noise, unit-major: ``(max_units, num_envs, len(noise_items))``. One unit's
        #: noise is one contiguous row, and sub-environments at the same unit (episodes of a fixed
        #: length stay in step) are neighbours: a step gathers one contiguous block.
        self._noise_nodes = self._plan.nodes
        k = len(self._noise_nodes)
        self._noise = np.zeros((m, n, k))
        #: Resets draw up to ``_chunk`` tapes at a time into ``_scratch`` in the tape's own layout
        #: ``(nodes, max_units)``, then transpose them into ``_noise`` (a block that stays in cache).
        self._chunk = max(1, min(n, _SCRATCH_BYTES // (8 * max(1, k * m))))
        self._scratch = np.zeros((self._chunk, k, m))
        #: The current units' noise ``(num_envs, len(noise_items))``, gathered by ``_observe`` (a view
        #: of ``_noise`` when every sub-environment is at the same unit).
        self._current = np.zeros((n, k))
        self._exponentials = np.zeros((n, self._plan.draws))
        #: Static scenarios: every unit's observation ``(max_units, num_envs, len(context))``,
        #: computed at (auto)reset for a whole block of episodes at once.
        self._obs_table = np.zeros((m, n, len(scenario.context))) if scenario.static else None
        self._context_rows = tuple(i for i, v in enumerate(self._noise_nodes) if v in scenario.context)
        self._zeros = np.zeros(self._chunk * m) if self._obs_table is not None else None
        self._times = np.zeros((m, n)) if self._closed_form else None  # unit-major too
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
        n = self.num_envs
        acts = sc.actions.check_batch(actions, n)
        resetting = self._autoreset
        any_reset = bool(resetting.any())
        stepping = ~resetting
        unit = self._unit.copy()
        now = self._time.copy()
        values = sc.outcomes(dict(zip(self._noise_nodes, self._current.T, strict=True)), acts, self._state)
        rewards, parts = sc.total_reward(values, acts)
        outcome = np.array(values[sc.outcome], dtype=np.float64)
        rewards = np.array(rewards, dtype=np.float64)
        parts = {k: np.array(p, dtype=np.float64) for k, p in parts.items()}
        if sc.dynamic:
            self._state = self._as_state(sc.transition(self._state, values, acts, now))
        done = self._advance(stepping, unit + 1)
        terminated = stepping & done
        going = stepping & ~done
        live = self._rows if not any_reset and going.all() else np.flatnonzero(going)
        self._arrive(live)
        self._observe(live)
        if any_reset:  # what SyncVectorEnv reports for sub-environments that did not step
            for arr in (rewards, outcome, *parts.values()):
                arr[resetting] = 0.0
        info: dict[str, Any] = {}
        if not any_reset or stepping.any():
            info["outcome"], info["_outcome"] = outcome, stepping
            info["rewards"] = {**parts, **{f"_{k}": stepping for k in parts}}
            info["_rewards"] = stepping
        info["time"], info["_time"] = now, np.ones(n, dtype=bool)
        info["unit"], info["_unit"] = unit, np.ones(n, dtype=bool)
        if any_reset:
            self._reset_rows(np.flatnonzero(resetting))
            self._add_reset_info(info, resetting)
        self._autoreset = terminated
        return self._obs.copy(), rewards, terminated, np.zeros(n, dtype=bool), info

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
        plan, exponentials = self._plan, self._exponentials
        for start in range(0, len(rows), self._chunk):
            part = rows[start:start + self._chunk]
            block = self._scratch[:len(part)]
            for b, j in enumerate(part.tolist()):
                rng = self._generator(j)
                _skip_query_seed(rng)
                plan.fill(rng, block[b], exponentials[j])
            plan.finish(block)
            where = _as_index(part)
            self._noise[:, where] = block.transpose(2, 0, 1)
            if self._obs_table is not None:
                self._obs_table[:, where] = self._contexts(block)
        self._unit[rows] = 0
        if self._closed_form:
            where = _as_index(rows)
            times = sc.timeline.times(exponentials[where, :self._draws])
            if not np.all((times[:, 0] <= sc.params.horizon) & np.isfinite(times[:, 0])):
                raise SimError("the episode has no decision point before the horizon; raise horizon")
            self._times[:, where] = times.T
            self._time[where] = times[:, 0]
            self._kind[where] = sc.timeline.kind
        else:
            for j in rows.tolist():
                clock = Clock(sc.timeline, exponentials[j], max_units=sc.params.max_units,
                              horizon=sc.params.horizon, state=lambda j=j: self._state_of(j))
                point = clock.advance()
                if point is None:
                    raise SimError("the episode has no decision point before the horizon; raise horizon")
                self._clocks[j] = clock
                self._time[j], self._kind[j] = point.time, point.kind
        self._arrive(rows)
        self._observe(rows)

    def _contexts(self, block: np.ndarray) -> np.ndarray:
        """Static scenarios: the observations ``(max_units, len(block), len(context))`` of every unit
        of the episodes whose noise is ``block`` ``(episodes, nodes, max_units)``."""
        sc = self.scenario
        episodes, _, m = block.shape
        zeros = self._zeros[:episodes * m]  # context nodes only read context noise (validated)
        noise = dict.fromkeys(self._noise_nodes, zeros)
        for i in self._context_rows:
            noise[self._noise_nodes[i]] = block[:, i, :].T.reshape(-1)
        obs = sc.observe(sc.scm.propagate(noise, nodes=sc.context))
        return obs.reshape(m, episodes, -1)

    def _advance(self, stepping: np.ndarray, following: np.ndarray) -> np.ndarray:
        """Move stepping sub-environments to their next decision point; return where episodes end."""
        sc = self.scenario
        m = sc.params.max_units
        done = following >= m
        if self._ends_by_state:
            done |= np.asarray(sc.exhausted(self._state), dtype=bool)
        if self._closed_form:
            u = self._same_unit(following)
            if u is not None:
                nxt = self._times[min(u, m - 1)]
            else:
                nxt = self._times.reshape(-1).take(np.minimum(following, m - 1) * self.num_envs + self._rows)
            done |= ~((nxt <= sc.params.horizon) & np.isfinite(nxt))
            go = stepping & ~done
            np.copyto(self._time, nxt, where=go)
            np.copyto(self._unit, following, where=go)
            return done
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

    def _observe(self, rows: np.ndarray) -> None:
        """Gather the noise of the current units of sub-environments ``rows`` into ``_current`` and
        set their observations."""
        sc = self.scenario
        n = self.num_envs
        if len(rows) == n:
            u = self._same_unit(self._unit)
            if u is not None:  # episodes in step: the current units are one contiguous block
                self._current = self._noise[u]
                if self._obs_table is not None:
                    self._obs[:] = self._obs_table[u]
                    return
            else:
                at = self._unit * n + self._rows
                self._current = self._noise.reshape(-1, self._noise.shape[2]).take(at, axis=0)
                if self._obs_table is not None:
                    self._obs_table.reshape(-1, self._obs_table.shape[2]).take(at, axis=0, out=self._obs)
                    return
            taken = self._current
        elif len(rows):
            at = self._unit[rows] * n + rows
            taken = self._noise.reshape(-1, self._noise.shape[2]).take(at, axis=0)
            self._current = self._current.copy()  # the last step's values may alias the old array
            self._current[rows] = taken
            if self._obs_table is not None:
                self._obs[rows] = self._obs_table.reshape(-1, self._obs_table.shape[2]).take(at, axis=0)
                return
        else:
            return
        noise = dict(zip(self._noise_nodes, taken.T, strict=True))
        state = self._state if len(rows) == n else {k: v[rows] for k, v in self._state.items()}
        obs = sc.observe(sc.scm.propagate(noise, sc.state_interventions(state), nodes=sc.context))
        if len(rows) == n:
            self._obs[:] = obs
        else:
            self._obs[rows] = obs

    def _same_unit(self, units: np.ndarray) -> int | None:
        """The unit every sub-environment is at, if they all are at the same one."""
        u = int(units[0])
        return u if (units == u).all() else None

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


def _skip_query_seed(rng: np.random.Generator) -> None:
    """Advance ``rng`` past ``CausalEnv.reset``'s query seed ``rng.integers(2**63)``.

    That call takes exactly one raw 64-bit draw (the range ``2**63`` is a power of two: no draw
    is ever rejected); ``random_raw`` takes the same draw at a fifth of the cost.
    """
    rng.bit_generator.random_raw()


def _as_index(rows: np.ndarray) -> slice | np.ndarray:
    """Sorted distinct ``rows`` as a slice when they are a range (cheaper to read and write)."""
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


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
