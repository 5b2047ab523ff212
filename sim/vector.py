"""``CausalVectorEnv``: many episodes of a scenario, batched natively.

Each of the ``num_envs`` sub-environments is one :class:`~sim.env.CausalEnv`
episode stream — same tape, same clock, same rewards — because both are
adapters over the same episode core (:mod:`sim.core`): ``CausalEnv`` is a
batch of one, this environment a batch of ``num_envs``, and a step serves
them all with one vectorized call of :func:`sim.core.transition` on the
public :attr:`CausalVectorEnv.state`. The core's arithmetic is elementwise on
contiguous arrays, so a row's numbers are the same whatever the batch: bit
equality with ``CausalEnv`` holds by construction.

* (Auto)resets are batched (:func:`sim.core.reset_rows`): the sub-environments
  that end on the same step draw their tapes one after the other, each from
  its own generator, and the rest — decision times in closed form, the
  per-episode tables of nodes that depend on neither the action nor the state,
  observations of static scenarios — is computed for the whole block at once.
* State-dependent timelines advance one simpy clock per sub-environment.
* The scenario's ``transition``, ``arrive`` and ``exhausted`` are called once
  per step on the whole batch (state as ``{key: array (num_envs,)}``), so they
  must be vectorized.

Seeding follows :class:`gymnasium.vector.SyncVectorEnv`: ``reset(seed=s)``
seeds sub-environment ``i`` with ``s + i`` (or takes a list of seeds), and each
sub-environment draws from its own generator exactly what ``CausalEnv.reset``
draws, in the same order. Sub-environment ``i`` therefore replays a
``CausalEnv`` reset with seed ``s + i`` given the same actions, across
autoresets too. Autoreset is ``NEXT_STEP``: the step after a sub-environment
terminated or was truncated ignores its action and returns its reset
observation with reward 0.

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
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from sim import core
from sim.core import EpisodeState
from sim.env import observation_space
from sim.errors import SimError
from sim.scenario import Scenario

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

    Attributes
    ----------
    state : EpisodeState or None
        The episodes (one row per sub-environment), public: :mod:`sim.core` functions take it.
    feature_names : tuple of str
        The observation's columns (the scenario's context nodes).

    Raises
    ------
    SimError
        For a non-scenario, a bad ``num_envs`` or an unknown ``render_mode``.
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
        core.check_episodes(scenario, int(num_envs), f"CausalVectorEnv(num_envs={int(num_envs):,})",
                            noun="envs per vector env")
        self.num_envs = int(num_envs)
        self.render_mode = render_mode
        self.metadata = dict(self.metadata)
        self.scenario = scenario
        self.feature_names = scenario.feature_names
        self.single_observation_space = observation_space(scenario)
        self.single_action_space = scenario.actions.space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.state: EpisodeState | None = None
        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._seeds: list[int | None] = [None] * self.num_envs
        self._obs: np.ndarray | None = None
        self._autoreset = np.zeros(self.num_envs, dtype=bool)

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
            if self.state is None:
                raise SimError("the first reset() resets every sub-environment; drop 'reset_mask'")
        rows = np.flatnonzero(mask)
        fresh = {j: seeding.np_random(seeds[j]) for j in rows if seeds[j] is not None}  # validates first
        for j, (rng, used) in fresh.items():
            self._rngs[j], self._seeds[j] = rng, used
        rngs = [self._generator(j) for j in rows.tolist()]
        if self.state is None:
            self.state = core.initial(self.scenario, rngs)
            self._obs = core.observe(self.state)
        else:
            self.state = core.reset_rows(self.state, rows, rngs)
            self._obs[rows] = core.observe(self.state, rows)
        self._autoreset[rows] = False
        info: dict[str, Any] = {}
        self._add_reset_info(info, mask)
        return self._obs.copy(), info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every sub-environment; those whose episode ended last step are reset instead.

        Parameters
        ----------
        actions : array in :attr:`action_space`
            One action per sub-environment (ignored for those being reset).

        Returns
        -------
        observations, rewards, terminations, truncations, info
            ``info`` holds ``outcome``, ``rewards`` (components), ``time`` and
            ``unit`` of the units acted on, and the reset info of
            sub-environments that were reset.

        Raises
        ------
        ActionError
            If ``actions`` has the wrong shape, is not finite or leaves the space.
        SimError
            If ``reset()`` was never called.
        """
        if self.state is None:
            raise SimError("call reset() before step()")
        sc = self.scenario
        n = self.num_envs
        acts = sc.actions.check_batch(actions, n)
        resetting = self._autoreset
        any_reset = bool(resetting.any())
        stepping = ~resetting
        before = self.state
        state, outcome, rewards, parts = core.transition(before, acts)
        terminated = stepping & state.terminated
        truncated = stepping & state.truncated
        going = stepping & ~(terminated | truncated)
        if going.all():
            self._obs = core.observe(state)
        elif going.any():
            rows = np.flatnonzero(going)
            self._obs[rows] = core.observe(state, rows)
        if any_reset:  # what SyncVectorEnv reports for sub-environments that did not step
            for arr in (rewards, outcome, *parts.values()):
                arr[resetting] = 0.0
        info: dict[str, Any] = {}
        if not any_reset or stepping.any():
            info["outcome"], info["_outcome"] = outcome, stepping
            info["rewards"] = {**parts, **{f"_{k}": stepping for k in parts}}
            info["_rewards"] = stepping
        info["time"], info["_time"] = before.time.copy(), np.ones(n, dtype=bool)
        info["unit"], info["_unit"] = before.unit.copy(), np.ones(n, dtype=bool)
        self.state = state
        if any_reset:
            rows = np.flatnonzero(resetting)
            self.state = core.reset_rows(state, rows, [self._generator(j) for j in rows.tolist()])
            self._obs[rows] = core.observe(self.state, rows)
            self._add_reset_info(info, resetting)
        self._autoreset = terminated | truncated
        return self._obs.copy(), rewards, terminated, truncated, info

    def render(self) -> tuple[str, ...] | None:
        """One text frame per sub-environment (``render_mode="ansi"``), else ``None``."""
        if self.render_mode is None:
            return None
        if self.state is None:
            raise SimError("call reset() before render()")
        sc = self.scenario
        frames = []
        for j in range(self.num_envs):
            lines = [f"{sc.name}[{j}]  t = {self.state.time[j]:.3f}  unit {self.state.unit[j]}"]
            lines += [f"  {k:<16} {v:>12.4g}" for k, v in zip(sc.context, self._obs[j], strict=True)]
            frames.append("\n".join(lines) + "\n")
        return tuple(frames)

    # ------------------------------------------------------------------ internals
    def _generator(self, j: int) -> np.random.Generator:
        """Sub-environment ``j``'s generator; like ``gymnasium.Env``, random-seeded if never seeded."""
        if self._rngs[j] is None:
            self._rngs[j], self._seeds[j] = seeding.np_random()
        return self._rngs[j]

    def _add_reset_info(self, info: dict[str, Any], mask: np.ndarray) -> None:
        n = self.num_envs
        s = self.state
        for key, value in (("time", s.time), ("unit", s.unit)):
            if key in info:  # a step: every sub-environment already has one
                info[key] = np.where(mask, value, info[key])
            else:
                info[key], info[f"_{key}"] = np.where(mask, value, np.zeros_like(value)), mask.copy()
        kind = np.full(n, None, dtype=object)
        kind[mask] = s.kind[mask]
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
