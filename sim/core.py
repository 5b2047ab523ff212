"""The episode core: pure functions over a public, batched episode state.

Everything an environment does — draw an episode's world, observe the current
unit, act, move the clock, end the episode — is a function here over an
:class:`EpisodeState` that holds ``batch`` episodes side by side (one per row).
:class:`~sim.env.CausalEnv` is a batch of one, :class:`~sim.vector.CausalVectorEnv`
a batch of ``num_envs``; the query interface, the oracle, rollouts and the
conformance checks read the same state through the same functions. So the
single and the vector environment agree bit for bit *by construction*: they
run one code path, whose arithmetic is elementwise on contiguous arrays
(a row's numbers never depend on the other rows, nor on the batch size).

The shape follows Gymnasium's functional environments (``FuncEnv``):

* :func:`initial` — draw ``batch`` episodes (tape of exogenous noise, clock,
  persistent state) and move each to its first decision point;
  :func:`reset_rows` starts new episodes in some rows (autoreset);
* :func:`observe` — the observed context of each row's current unit;
* :func:`transition` — act: ``(state, actions) -> (state, outcomes, rewards, components)``;
* :func:`done` — ``(terminated, truncated)`` per row;
* :func:`potential` — these units under these actions, from their own noise
  (counterfactuals, potential outcomes, the clairvoyant);
* :func:`context_samples` / :func:`context_value` — ``E[R | do(a), context]``:
  the current unit's observed context held, every other noise redrawn;
* :func:`policy_samples` — the reward of a policy on fresh units in the current state.

How a step is computed
----------------------
A scenario's nodes fall into three groups (:class:`Layout`): *fixed* nodes
depend on neither the action nor the episode state, so at (auto)reset they are
computed for every unit of the new episodes in one vectorized call;
*acted* nodes depend on the action but not on the state — for a discrete
action space without state nodes they are computed at reset too, once per
action, with the rewards, and a step only gathers them; *live* nodes depend on
the state (or on a continuous action) and are computed at each step for the
batch's current units. The three groups run the SCM's own mechanisms
(:meth:`causal.scm.SCM.compute`), on the same noise, so a unit's values equal
``scenario.outcomes(noise, actions, state)`` to the last bit (tested).

Ending an episode
-----------------
``truncated`` when the episode is cut by ``max_units`` or the ``horizon``: the
world would go on, and the time left is not part of the observation.
``terminated`` when :meth:`~sim.scenario.Scenario.exhausted` says the state
ends it (a budget spent), or the timeline has no further decision point (it
ended by itself, e.g. after its :attr:`~sim.timeline.Timeline.length`
decision points: Policy's last quarter, which its observation shows coming).

State ownership
---------------
:func:`transition` never modifies the state it is given: it returns a new one
(the tape and the precomputed tables are shared, read-only, between the two).
:func:`reset_rows` writes the new episodes into the arrays of the state it is
given, which it returns: a state is spent by a reset (copy it with
:meth:`EpisodeState.copy` to keep it). Simpy clocks of state-dependent
timelines are the one mutable part: they advance in place.

Examples
--------
>>> from sim.testing import ToyScenario
>>> sc = ToyScenario(max_units=3)
>>> s = initial(sc, [np.random.default_rng(0), np.random.default_rng(1)])
>>> observe(s).shape, s.unit.tolist()
((2, 1), [0, 0])
>>> s, y, r, parts = transition(s, np.array([1, 0]))
>>> s.unit.tolist(), sorted(parts)
([1, 1], ['cost', 'outcome'])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from causal import limits
from sim.errors import SimError
from sim.scenario import Scenario
from sim.tape import Tape, TapePlan
from sim.timeline import Clock

__all__ = ["EpisodeState", "Layout", "initial", "reset_rows", "observe", "transition", "done",
           "potential", "context_samples", "context_value", "policy_samples", "tape_of"]

#: Bytes of the block into which resets draw tapes before spreading them (stays in cache).
_SCRATCH_BYTES = 1 << 20


# ---------------------------------------------------------------------- layout
class Layout:
    """How the core computes a scenario's episodes (made once per scenario object).

    Attributes
    ----------
    noise_nodes : tuple of str
        Nodes with noise, in tape order (row ``i`` of a tape is ``noise_nodes[i]``).
    fixed : tuple of str
        Nodes that depend on neither the action nor the state, in topological order:
        computed for whole episodes at reset.
    acted : tuple of str
        Nodes that depend on the action but not on the state (topological order).
    live : tuple of str
        Nodes computed at each step (topological order): those that depend on the state;
        with :attr:`tabulated` false, the acted nodes too.
    tabulated : bool
        Discrete actions and no state nodes: every unit's values and rewards under every
        action are computed at reset, and a step only looks them up.
    context_fixed : bool
        Every context node is fixed: observations are computed at reset.
    """

    def __init__(self, scenario: Scenario) -> None:
        sc = scenario
        g = sc.scm.graph
        order = g.topological_order()
        acts = set(sc.actions.nodes)
        state = set(sc.state_nodes)
        after_action = set(g.descendants(acts)) | acts
        after_state = set(g.descendants(state)) | state if state else set()
        self.tape = TapePlan.of(sc)
        self.noise_nodes: tuple[str, ...] = self.tape.nodes
        self.discrete = hasattr(sc.actions.space, "n")
        self.fixed = tuple(v for v in order if v not in after_action and v not in after_state)
        self.acted = tuple(v for v in order if v in after_action and v not in after_state)
        self.tabulated = self.discrete and not state
        live = after_state if self.tabulated else after_state | after_action
        self.live = tuple(v for v in order if v in live and v not in acts and v not in state)
        self.context_fixed = all(v in self.fixed for v in sc.context)
        self.context_live = tuple(v for v in order if v in live and v not in acts and v not in state
                                  and (v in sc.context or v in _ancestors_in(g, sc.context)))
        self.after_context = tuple(v for v in self.live if v not in self.context_live)
        self.n_actions = int(sc.actions.space.n) if self.discrete else 0
        self.row = {v: i for i, v in enumerate(self.noise_nodes)}
        noise = sc.scm.noise
        #: Nodes with noise that the context reads: held at the unit's own values by context queries.
        self.context_noise = tuple(v for v in order if noise[v] is not None
                                   and (v in sc.context or v in _ancestors_in(g, sc.context)))
        self.closed_form = sc.timeline.static
        self.ends_by_state = type(sc).exhausted is not Scenario.exhausted
        #: The unit count at which the timeline itself ends (the episode terminates there).
        length = sc.timeline.length
        self.natural_end = None if length is None or length > sc.params.max_units else int(length)
        #: Whether every episode's length is known at reset (closed-form times, no state ending it).
        self.lengths = self.closed_form and not self.ends_by_state
        #: Whether a step is a table read and a clock tick (no state at all).
        self.fast = self.tabulated and self.lengths and not sc.dynamic and not sc.arrives
        self.draws = sc.params.max_units * max(1, sc.timeline.draws_per_unit)
        #: reward component names, filled by the first tabulation (tabulated layouts)
        self.parts: tuple[str, ...] | None = None

    @classmethod
    def of(cls, scenario: Scenario) -> Layout:
        """The layout of ``scenario`` (made once per scenario object, kept on it: a scenario's
        parameters are frozen)."""
        out = scenario.__dict__.get("_episode_layout")
        if out is None:
            out = scenario.__dict__["_episode_layout"] = cls(scenario)
        return out


def _ancestors_in(g, nodes: Sequence[str]) -> set[str]:
    return set(g.ancestors(nodes)) if nodes else set()


# ---------------------------------------------------------------------- the state
@dataclass(frozen=True, eq=False)
class EpisodeState:
    """``batch`` episodes of one scenario, one per row (see the module docstring).

    Attributes
    ----------
    scenario : Scenario
    noise : array ``(len(noise_nodes), max_units, batch)``
        The tapes' unit noise: ``noise[i, u, j]`` is node ``noise_nodes[i]``'s noise of unit ``u``
        in row ``j``.
    exponentials : array ``(batch, draws)``
        The timelines' standard exponential draws, per row.
    unit : int array ``(batch,)``
        Each row's current unit (decision point index).
    time : float array ``(batch,)``
        Simulated time of each row's current decision point.
    kind : object array ``(batch,)``
        Kind of each row's current decision point.
    state : dict of float arrays ``(batch,)``
        The scenario's persistent state (:meth:`~sim.scenario.Scenario.initial_state` keys).
    terminated, truncated : bool arrays ``(batch,)``
        Whether each row's episode has ended (see :func:`done`).
    query_seeds : uint64 array ``(batch,)``
        One draw per row from its generator at reset, before the tape: seeds of the rows'
        query streams (so that asking never moves the episode's own draws).
    tables : dict of arrays
        Precomputed per-unit values (``"fixed"``, ``"obs"``, and for tabulated layouts
        ``"acted"`` — every action's values of the acted nodes — and ``"reward"`` — every
        action's reward, outcome and reward components); read-only for users.
    clocks : tuple of Clock or None
        Simpy clocks of state-dependent timelines (one per row; advanced in place).
    """

    scenario: Scenario
    noise: np.ndarray
    exponentials: np.ndarray
    unit: np.ndarray
    time: np.ndarray
    kind: np.ndarray
    state: dict[str, np.ndarray]
    terminated: np.ndarray
    truncated: np.ndarray
    query_seeds: np.ndarray
    tables: dict[str, np.ndarray]
    times: np.ndarray | None = None
    clocks: tuple[Any, ...] | None = None
    #: ``arange(batch)``, for gathers.
    cols: np.ndarray | None = None
    #: Closed-form timelines without a state that ends episodes: each row's number of decision
    #: points, and whether its episode then terminates (else it is truncated).
    length: np.ndarray | None = None
    terminal: np.ndarray | None = None
    #: Values computed from this state and kept for the next function (the current units'
    #: context values); never part of what the state means.
    cache: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def batch(self) -> int:
        return len(self.unit)

    @property
    def layout(self) -> Layout:
        return Layout.of(self.scenario)

    def _evolve(self, changes: Mapping[str, Any]) -> EpisodeState:
        """A shallow copy with ``changes`` (the fast path of :meth:`replace`)."""
        new = object.__new__(EpisodeState)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def copy(self) -> EpisodeState:
        """A deep copy (clocks excepted: they cannot be copied)."""
        return dataclasses.replace(
            self, noise=self.noise.copy(), exponentials=self.exponentials.copy(), unit=self.unit.copy(),
            time=self.time.copy(), kind=self.kind.copy(), state={k: v.copy() for k, v in self.state.items()},
            terminated=self.terminated.copy(), truncated=self.truncated.copy(),
            query_seeds=self.query_seeds.copy(), tables={k: v.copy() for k, v in self.tables.items()},
            times=None if self.times is None else self.times.copy(), cache={},
            length=None if self.length is None else self.length.copy(),
            terminal=None if self.terminal is None else self.terminal.copy())

    def row_state(self, j: int) -> dict[str, float]:
        """Row ``j``'s persistent state as floats."""
        return {k: float(v[j]) for k, v in self.state.items()}


class _StateBox:
    """What a state-dependent clock reads: the state of its row, set before each advance."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: dict[str, float] = {}

    def __call__(self) -> dict[str, float]:
        return self.value


# ---------------------------------------------------------------------- starting episodes
def _empty(scenario: Scenario, batch: int) -> EpisodeState:
    lay = Layout.of(scenario)
    sc = scenario
    m, k = sc.params.max_units, len(lay.noise_nodes)
    tables: dict[str, np.ndarray] = {"fixed": np.zeros((len(lay.fixed), m, batch))}
    if lay.context_fixed:
        tables["obs"] = np.zeros((m, batch, len(sc.context)))
    if lay.tabulated:
        tables["acted"] = np.zeros((lay.n_actions, len(lay.acted), m, batch))

    return EpisodeState(
        scenario=sc, noise=np.zeros((k, m, batch)), exponentials=np.zeros((batch, lay.tape.draws)),
        unit=np.zeros(batch, dtype=np.int64), time=np.zeros(batch), kind=np.full(batch, None, dtype=object),
        state={key: np.full(batch, float(v)) for key, v in sc.initial_state().items()},
        terminated=np.zeros(batch, dtype=bool), truncated=np.zeros(batch, dtype=bool),
        query_seeds=np.zeros(batch, dtype=np.uint64), tables=tables,
        times=np.zeros((m, batch)) if lay.closed_form else None,
        clocks=None if lay.closed_form else tuple(None for _ in range(batch)), cols=np.arange(batch),
        length=np.zeros(batch, dtype=np.int64) if lay.lengths else None,
        terminal=np.zeros(batch, dtype=bool) if lay.lengths else None)


def episode_bytes(scenario: Scenario) -> tuple[int, str]:
    """The estimated bytes of one row of an :class:`EpisodeState` of ``scenario``, and how.

    ``8 * (max_units * arrays + draws + 16)``: ``arrays`` tables of ``max_units`` floats
    (the noise nodes, the fixed nodes, the context when observed at reset, every action's
    acted nodes when tabulated, the closed-form times), the tape's timeline draws, and a
    constant for the per-row scalars (unit, time, state, flags).
    """
    lay = Layout.of(scenario)
    sc = scenario
    arrays = len(lay.noise_nodes) + len(lay.fixed) + (len(sc.context) if lay.context_fixed else 0) \
        + (lay.n_actions * len(lay.acted) if lay.tabulated else 0) + (1 if lay.closed_form else 0)
    m = sc.params.max_units
    return 8 * (m * arrays + lay.tape.draws + 16), \
        f"{arrays} arrays of max_units={m:,} + {lay.tape.draws:,} timeline draws, x 8 bytes per episode"


def check_episodes(scenario: Scenario, batch: int, what: str, noun: str = "episodes") -> None:
    """Raise :class:`SimError` when ``batch`` episodes of ``scenario`` would be over the memory
    cap (:data:`causal.limits.MAX_BYTES`), before anything is allocated."""
    per_row, detail = episode_bytes(scenario)
    limits.check_units(what, batch, per_row, detail, noun=noun, error=SimError,
                       none_fits="not even one episode fits: lower max_units")


def initial(scenario: Scenario, rngs: Sequence[np.random.Generator] | None = None, *,
            tapes: Sequence[Tape] | None = None) -> EpisodeState:
    """Start ``len(rngs)`` episodes of ``scenario`` (or replay recorded ``tapes``).

    Row ``j`` draws from ``rngs[j]``, in this order: one raw 64-bit draw (its query seed),
    then its tape (:class:`~sim.tape.TapePlan`). With ``tapes`` the rows replay those worlds;
    ``rngs`` then only give the query seeds (``None``: seed 0).
    """
    if not isinstance(scenario, Scenario):
        raise SimError(f"the episode core needs a Scenario, got {type(scenario).__name__}")
    if rngs is None and tapes is None:
        raise SimError("give one generator per row (rngs) or recorded tapes")
    batch = len(tapes) if tapes is not None else len(rngs)
    if batch < 1:
        raise SimError("an episode state needs at least one row")
    check_episodes(scenario, batch, f"starting {batch:,} episode(s) of {scenario.name!r}")
    state = _empty(scenario, batch)
    return reset_rows(state, np.arange(batch), rngs, tapes=tapes)


def reset_rows(state: EpisodeState, rows: np.ndarray, rngs: Sequence[np.random.Generator] | None, *,
               tapes: Sequence[Tape] | None = None) -> EpisodeState:
    """Start new episodes in ``rows`` (sorted row indices), drawing row ``rows[b]`` from
    ``rngs[b]`` (or replaying ``tapes[b]``). Writes into ``state``'s arrays and returns it."""
    sc = state.scenario
    lay = Layout.of(sc)
    rows = np.asarray(rows, dtype=np.int64)
    m = sc.params.max_units
    k = len(lay.noise_nodes)
    plan = lay.tape
    for key, v in sc.initial_state().items():  # copies: earlier states may share these arrays
        arr = state.state[key].copy() if key in state.state else np.zeros(state.batch)
        arr[rows] = float(v)
        state.state[key] = arr
    chunk = max(1, min(len(rows), _SCRATCH_BYTES // (8 * max(1, k * m))))
    scratch = np.empty((chunk, k, m))
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        block = scratch[:len(part)]
        for b, j in enumerate(part.tolist()):
            i = start + b
            if tapes is not None:
                tape = tapes[i]
                if set(tape.noise) != set(lay.noise_nodes):
                    raise SimError("the tape was recorded with another scenario (its noise nodes differ)")
                if len(tape) != m:
                    raise SimError(f"the tape was recorded with other parameters (max_units differs: "
                                   f"{len(tape)} units, the scenario has {m})")
                for r, v in enumerate(lay.noise_nodes):
                    block[b, r] = tape.noise[v]
                state.exponentials[j] = tape.exponentials
                state.query_seeds[j] = 0 if rngs is None else rngs[i].bit_generator.random_raw()
            else:
                rng = rngs[i]
                state.query_seeds[j] = rng.bit_generator.random_raw()
                plan.fill(rng, block[b], state.exponentials[j])
        if tapes is None:
            plan.finish(block)
        where = _as_index(part)
        state.noise[:, :, where] = block.transpose(1, 2, 0)
        _tabulate(state, block, where, len(part))
    state.cache.clear()
    state.unit[rows] = 0
    state.terminated[rows] = False
    state.truncated[rows] = False
    _first_points(state, rows)
    return state


def _first_points(state: EpisodeState, rows: np.ndarray) -> None:
    """Move ``rows`` (new episodes) to their first decision point and let the state arrive there."""
    sc = state.scenario
    lay = Layout.of(sc)
    if lay.closed_form:
        where = _as_index(rows)
        times = sc.timeline.times(state.exponentials[where, :lay.draws])
        if not np.all((times[:, 0] <= sc.params.horizon) & np.isfinite(times[:, 0])):
            raise SimError("the episode has no decision point before the horizon; raise horizon")
        state.times[:, where] = times.T
        state.time[where] = times[:, 0]
        state.kind[where] = sc.timeline.kind
        if lay.lengths:
            m = times.shape[1]
            inside = (times <= sc.params.horizon) & np.isfinite(times)
            first_out = np.where(inside.all(axis=1), m, np.argmin(inside, axis=1))
            end = m if lay.natural_end is None else lay.natural_end
            length = np.minimum(first_out, end)
            after = times[np.arange(len(times)), np.minimum(length, m - 1)]
            natural = (length == lay.natural_end) if lay.natural_end is not None \
                else np.zeros(len(times), dtype=bool)
            stops = (length < m) & ~natural & np.isinf(after) & (length == first_out)
            state.length[where] = length
            state.terminal[where] = natural | stops
    else:
        clocks = list(state.clocks)
        for j in rows.tolist():
            box = _StateBox()
            box.value = state.row_state(j)
            clock = Clock(sc.timeline, state.exponentials[j], max_units=sc.params.max_units,
                          horizon=sc.params.horizon, state=box)
            point = clock.advance()
            if point is None:
                raise SimError("the episode has no decision point before the horizon; raise horizon")
            clocks[j] = (clock, box)
            state.time[j], state.kind[j] = point.time, point.kind
        object.__setattr__(state, "clocks", tuple(clocks))
    if sc.arrives:
        new = _as_state(sc.arrive(state.state, state.time), state.batch, state.state)
        for key, v in new.items():
            if v is state.state.get(key):
                continue
            arr = state.state[key].copy() if key in state.state else np.zeros(state.batch)
            arr[rows] = v[rows]
            state.state[key] = arr


def _tabulate(state: EpisodeState, block: np.ndarray, where: slice | np.ndarray, r: int) -> None:
    """Compute the fixed nodes (and, for tabulated layouts, every action's values and rewards)
    of every unit of the ``r`` new episodes whose tapes are ``block`` ``(r, nodes, max_units)``."""
    sc = state.scenario
    lay = Layout.of(sc)
    m = sc.params.max_units
    n = r * m
    # unit-major flattening: entry u * r + b is unit u of the block's episode b
    noise = {v: np.ascontiguousarray(block[:, i, :].T).reshape(-1) for v, i in lay.row.items()}
    values = sc.scm.compute(lay.fixed, {}, noise, n=n)
    fixed = state.tables["fixed"]
    for f, v in enumerate(lay.fixed):
        fixed[f][:, where] = values[v].reshape(m, r)
    if lay.context_fixed:
        state.tables["obs"][:, where] = sc.observe(values).reshape(m, r, -1)
    if not lay.tabulated:
        return
    acted = state.tables["acted"]
    for a in range(lay.n_actions):
        acts = np.full(n, a, dtype=np.int64)
        world = dict(values)
        world.update(sc.actions.values(acts))
        world = sc.scm.compute([v for v in lay.acted if v not in world], world, noise, n=n)
        for i, v in enumerate(lay.acted):
            acted[a, i][:, where] = world[v].reshape(m, r)
        tot, parts = sc.total_reward(world, acts)
        if lay.parts is None:
            lay.parts = tuple(parts)
        if "reward" not in state.tables:  # rows: total, outcome, components
            state.tables["reward"] = np.zeros((lay.n_actions, 2 + len(lay.parts), m, state.batch))
        table = state.tables["reward"][a]
        for p, x in enumerate((tot, world[sc.outcome], *(parts[k] for k in lay.parts))):
            table[p][:, where] = np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)).reshape(m, r)


# ---------------------------------------------------------------------- gathering
def _same(units: np.ndarray) -> int | None:
    u = int(units[0])
    return u if len(units) == 1 or (units == u).all() else None


def _gather(table: np.ndarray, units: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """``table[..., units[b], rows[b]]`` for a table ``(..., max_units, batch)``: shape ``(..., len)``,
    each last-axis row contiguous. ``rows=None``: every row, ``units`` one per row."""
    if rows is None:
        u = _same(units)
        if u is not None:
            return table[..., u, :]
        rows = np.arange(table.shape[-1])
    return table[..., units, rows]


def _noise_at(state: EpisodeState, units: np.ndarray, rows: np.ndarray | None) -> dict[str, np.ndarray]:
    taken = _gather(state.noise, units, rows)
    return dict(zip(Layout.of(state.scenario).noise_nodes, taken, strict=True))


def _fixed_at(state: EpisodeState, units: np.ndarray, rows: np.ndarray | None) -> dict[str, np.ndarray]:
    lay = Layout.of(state.scenario)
    if not lay.fixed:
        return {}
    return dict(zip(lay.fixed, _gather(state.tables["fixed"], units, rows), strict=True))


def _state_at(state: EpisodeState, rows: np.ndarray | None) -> dict[str, np.ndarray]:
    return state.state if rows is None else {k: v[rows] for k, v in state.state.items()}


def _as_state(new: Mapping[str, Any], batch: int, old: Mapping[str, np.ndarray] | None = None
              ) -> dict[str, np.ndarray]:
    """A scenario's new state as float arrays of ``batch`` values; arrays it kept from ``old``
    (the same objects) are shared, not copied (states are never modified in place)."""
    if old is None:
        return {k: _column(v, batch) for k, v in new.items()}
    return {k: v if v is old.get(k) else _column(v, batch) for k, v in new.items()}


def _as_index(rows: np.ndarray) -> slice | np.ndarray:
    """Sorted distinct ``rows`` as a slice when they are a range (cheaper to read and write)."""
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


# ---------------------------------------------------------------------- the functions
def observe(state: EpisodeState, rows: np.ndarray | None = None) -> np.ndarray:
    """The observation ``(batch, len(context))`` of each row's current unit (or of ``rows``)."""
    sc = state.scenario
    lay = Layout.of(sc)
    units = state.unit if rows is None else state.unit[rows]
    if lay.context_fixed:
        obs = state.tables["obs"]
        if rows is None:
            u = _same(units)
            if u is not None:
                return obs[u].copy()
            rows = np.arange(state.batch)
        return obs[units, rows]
    values = _context_values(state, units, rows)
    return sc.observe(values)


def _context_values(state: EpisodeState, units: np.ndarray, rows: np.ndarray | None) -> dict[str, np.ndarray]:
    """Fixed and context-live values of the current units under the current state (cached in the
    state for all rows: a step reuses what the observation computed)."""
    if rows is None and state.cache.get("context") is not None:
        return dict(state.cache["context"])
    sc = state.scenario
    lay = Layout.of(sc)
    n = len(units)
    values = _fixed_at(state, units, rows)
    for v, x in sc.state_values(_state_at(state, rows)).items():
        values[v] = np.full(n, x) if np.ndim(x) == 0 else np.array(x, dtype=np.float64)
    if lay.context_live:
        sc.scm.compute(lay.context_live, values, _noise_at(state, units, rows), n=n)
    if rows is None:
        state.cache["context"] = dict(values)
    return values


def _lookup(state: EpisodeState, table: np.ndarray, actions: np.ndarray, rows: np.ndarray | None
            ) -> np.ndarray:
    """Tabulated layouts: rows ``table[actions[b], :, unit of b, b]`` of a per-action table
    ``(n_actions, k, max_units, batch)``, as a new ``(k, n)`` array (contiguous rows)."""
    if rows is None:
        units = state.unit
        if len(units) == 1:  # one episode: plain indexing
            return table[int(actions[0]), :, int(units[0]), :].copy()
        rows = state.cols
        u = _same(units)
        if u is not None:
            units = u
    else:
        units = state.unit[rows]
    return np.ascontiguousarray(table[actions, :, units, rows].T)


def _rewards(state: EpisodeState, actions: np.ndarray, rows: np.ndarray | None
             ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Tabulated layouts: outcomes, rewards and components, looked up."""
    got = _lookup(state, state.tables["reward"], actions, rows)
    return got[1], got[0], dict(zip(Layout.of(state.scenario).parts, got[2:], strict=True))


def _values(state: EpisodeState, actions: np.ndarray, rows: np.ndarray | None = None
            ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
    """Every node's value for the current units of ``rows`` (all: ``None``) under ``actions``
    (one per row), their rewards and reward components."""
    sc = state.scenario
    lay = Layout.of(sc)
    units = state.unit if rows is None else state.unit[rows]
    n = len(units)
    if lay.tabulated:
        values = _fixed_at(state, units, rows)
        acted = _lookup(state, state.tables["acted"], actions, rows)
        for i, v in enumerate(lay.acted):
            values[v] = acted[i]
        values.update(sc.actions.values(actions))
        _, total, parts = _rewards(state, actions, rows)
        return values, total, parts
    values = _context_values(state, units, rows)
    values.update(sc.actions.values(actions))
    sc.scm.compute(lay.after_context, values, _noise_at(state, units, rows), n=n)
    total, parts = sc.total_reward(values, actions)
    return values, _column(total, n), {k: _column(p, n) for k, p in parts.items()}


def _column(x: Any, n: int) -> np.ndarray:
    """``x`` (a scalar or ``n`` values) as a new float64 array of ``n`` values."""
    a = np.asarray(x, dtype=np.float64)
    return a.copy() if a.shape == (n,) else np.full(n, a)


def transition(state: EpisodeState, actions: np.ndarray
               ) -> tuple[EpisodeState, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Act on every row's current unit; move each row to its next decision point.

    Parameters
    ----------
    state : EpisodeState
        Rows whose episode has ended are computed too (their results are for the caller to
        ignore) and stay where they are.
    actions : array
        One valid action per row (``scenario.actions.check_batch``).

    Returns
    -------
    state, outcomes, rewards, components
        The next state (a new object; ``state`` is left as it was), the outcome node's value
        and the reward of each row's unit, and the reward's components.
    """
    sc = state.scenario
    lay = Layout.of(sc)
    if lay.fast and state.batch == 1 and not (state.terminated[0] or state.truncated[0]):
        return _step_one(state, actions, lay)
    if lay.tabulated and not sc.dynamic:
        outcome, total, parts = _rewards(state, actions, None)
        values = None
    else:
        values, total, parts = _values(state, actions)
        outcome = np.array(values[sc.outcome], dtype=np.float64)
    ended_before = state.terminated | state.truncated
    live = None if not ended_before.any() else ~ended_before
    st = state.state
    if sc.dynamic:
        new = _as_state(sc.transition(st, values, actions, state.time), state.batch, st)
        st = new if live is None else {k: np.where(live, new[k], st[k]) if k in st else new[k] for k in new}
    unit, time, kind, go, cut, ended = _advance(state, st, live)
    changes: dict[str, Any] = {"unit": unit, "time": time, "kind": kind, "state": st, "cache": {}}
    if cut is not None:
        ok = ~ended_before
        changes["terminated"] = state.terminated | (ok & ended)
        changes["truncated"] = state.truncated | (ok & cut & ~ended)
    new_state = state._evolve(changes)
    if sc.arrives and (go is None or go.any()):
        go = np.ones(state.batch, dtype=bool) if go is None else go
        arrived = _as_state(sc.arrive(st, time), state.batch, st)
        st2 = dict(st)
        for k, v in arrived.items():
            st2[k] = np.where(go, v, st[k]) if k in st else v
        new_state.__dict__["state"] = st2
    return new_state, outcome, total, parts


def _step_one(state: EpisodeState, actions: np.ndarray, lay: Layout
              ) -> tuple[EpisodeState, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """:func:`transition` of one live episode of a tabulated scenario with known episode lengths
    and no state: the same table reads, with the bookkeeping done on Python numbers."""
    u = int(state.unit[0])
    got = state.tables["reward"][int(actions[0]), :, u, :].copy()
    following = u + 1
    if following < int(state.length[0]):
        changes = {"unit": np.array([following]), "time": state.times[following].copy(), "cache": {}}
    elif state.terminal[0]:
        changes = {"terminated": np.ones(1, dtype=bool), "cache": {}}
    else:
        changes = {"truncated": np.ones(1, dtype=bool), "cache": {}}
    return state._evolve(changes), got[1], got[0], dict(zip(lay.parts, got[2:], strict=True))


def _advance(state: EpisodeState, st: Mapping[str, np.ndarray], live: np.ndarray | None):
    """Each live row's next decision point: ``unit, time, kind`` and the masks ``go`` (moved on),
    ``cut`` (max_units or horizon reached) and ``ended`` (the state or the timeline ends it)."""
    sc = state.scenario
    lay = Layout.of(sc)
    m = sc.params.max_units
    following = state.unit + 1
    if lay.lengths:  # every row's episode length is known: one comparison
        stop = following >= state.length
        u = _same(following)
        if u is not None:
            nxt = state.times[min(u, m - 1)]
        else:
            nxt = state.times[np.minimum(following, m - 1), state.cols]
        if live is None and not stop.any():
            return following, nxt.copy(), state.kind, None, None, None
        ended = stop & state.terminal
        cut = stop & ~state.terminal
        go = ~stop if live is None else live & ~stop
        return np.where(go, following, state.unit), np.where(go, nxt, state.time), state.kind, go, cut, ended
    if lay.natural_end is not None:
        ended = following >= lay.natural_end
        cut = (following >= m) & ~ended
    else:
        cut = following >= m
        ended = np.zeros(state.batch, dtype=bool)
    if lay.ends_by_state:
        ended |= np.asarray(sc.exhausted(st), dtype=bool) & ~cut
    if lay.closed_form:
        u = _same(following)
        if u is not None:
            nxt = state.times[min(u, m - 1)]
        else:
            nxt = state.times[np.minimum(following, m - 1), state.cols]
        beyond = nxt > sc.params.horizon
        cut |= beyond
        ended |= ~beyond & ~np.isfinite(nxt) & ~cut
        go = ~(cut | ended)
        if live is not None:
            go &= live
        if go.all():
            return following, nxt.copy(), state.kind, go, cut, ended
        return np.where(go, following, state.unit), np.where(go, nxt, state.time), state.kind, go, cut, ended
    unit, time, kind = state.unit.copy(), state.time.copy(), state.kind.copy()
    go = ~(cut | ended) if live is None else live & ~(cut | ended)
    for j in np.flatnonzero(go).tolist():
        clock, box = state.clocks[j]
        box.value = {k: float(v[j]) for k, v in st.items()}
        point = clock.advance()
        if point is None:
            go[j] = False
            if clock.exhausted:
                ended[j] = True
            else:
                cut[j] = True
        else:
            time[j], unit[j], kind[j] = point.time, point.unit, point.kind
    return unit, time, kind, go, cut, ended


def done(state: EpisodeState) -> tuple[np.ndarray, np.ndarray]:
    """``(terminated, truncated)`` per row (copies)."""
    return state.terminated.copy(), state.truncated.copy()


def potential(state: EpisodeState, actions: Any, rows: np.ndarray | None = None
              ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
    """These units under these actions, from their own noise: every node's value, the reward and
    its components.

    ``actions`` holds one action per row (``rows=None``) or one per entry of ``rows`` (row
    indices, repeats allowed: ``rows=np.zeros(k, int)`` with ``k`` actions asks row 0's unit
    under each of them). Exact: the units' own noise, in the state they are in.
    """
    sc = state.scenario
    rows_ = None if rows is None else np.asarray(rows, dtype=np.int64)
    n = state.batch if rows_ is None else len(rows_)
    acts = sc.actions.check_batch(actions, n)
    return _values(state, acts, rows_)


def _context_noise(state: EpisodeState, row: int, draws: int, rng: np.random.Generator
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Noise of ``draws`` units sharing row ``row``'s current context (other noise redrawn), and
    the row's state repeated ``draws`` times."""
    sc = state.scenario
    u = int(state.unit[row])
    noise = {v: dist.sample(draws, rng) for v, dist in sc.noise_items}
    lay = Layout.of(sc)
    for v in lay.context_noise:
        noise[v] = np.full(draws, state.noise[lay.row[v], u, row])
    return noise, state.row_state(row)


def context_samples(state: EpisodeState, actions: Sequence[Any], draws: int, rng: np.random.Generator,
                    *, row: int = 0, node: str | None = None) -> np.ndarray:
    """Samples ``(len(actions), draws)`` of the reward (or of ``node``) under ``do(a)`` for units
    that share row ``row``'s observed context, every other noise redrawn — the same draws for
    every action (common random numbers). Their means are ``E[R | do(a), context]``."""
    sc = state.scenario
    noise, st = _context_noise(state, row, draws, rng)
    out = np.empty((len(actions), draws))
    for i, a in enumerate(actions):
        batch = sc.actions.repeat(a, draws)
        values = sc.outcomes(noise, batch, st)
        out[i] = values[node] if node is not None else sc.total_reward(values, batch)[0]
    return out


def context_value(state: EpisodeState, actions: Sequence[Any], draws: int, rng: np.random.Generator,
                  *, row: int = 0) -> np.ndarray:
    """``E[R | do(a), context]`` of row ``row``'s current unit for each of ``actions``
    (Monte-Carlo means over ``draws`` common draws)."""
    return context_samples(state, actions, draws, rng, row=row).mean(axis=1)


def policy_samples(state: EpisodeState, policy: Callable[[np.ndarray], Any], n: int,
                   rng: np.random.Generator, *, row: int = 0) -> np.ndarray:
    """The reward of ``policy`` (observations ``(n, d)`` -> actions) on ``n`` fresh units, in the
    persistent state of row ``row``."""
    sc = state.scenario
    noise = {v: dist.sample(n, rng) for v, dist in sc.noise_items}
    st = state.row_state(row)
    ctx = sc.scm.propagate(noise, sc.state_interventions(st) if sc.state_nodes else None, nodes=sc.context)
    actions = sc.actions.check_batch(policy(sc.observe(ctx)), n)
    values = sc.outcomes(noise, actions, st)
    return sc.total_reward(values, actions)[0]


def tape_of(state: EpisodeState, row: int = 0) -> Tape:
    """Row ``row``'s tape (copies): replay it with ``initial(scenario, tapes=[tape])``."""
    lay = Layout.of(state.scenario)
    return Tape({v: state.noise[i, :, row].copy() for i, v in enumerate(lay.noise_nodes)},
                state.exponentials[row].copy())

