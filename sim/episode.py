"""Episode states of the core (:mod:`sim.core`): the public, batched :class:`EpisodeState`, and
starting episodes in it — drawing each row's tape, tabulating what a whole episode can be computed
in advance, and placing each row at its first decision point.

Examples
--------
>>> from sim.testing import ToyScenario
>>> s = initial(ToyScenario(max_units=3), [np.random.default_rng(0)])
>>> s.batch, s.unit.tolist(), len(tape_of(s))
(1, [0], 3)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from causal import limits
from sim.errors import SimError
from sim.layout import Layout
from sim.scenario import Scenario
from sim.tape import Tape
from sim.timeline import Clock

__all__ = ["EpisodeState", "initial", "reset_rows", "tape_of", "episode_bytes", "check_episodes"]

#: Bytes of the block into which resets draw tapes before spreading them (stays in cache).
_SCRATCH_BYTES = 1 << 20


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

    def __repr__(self) -> str:
        """A one-line summary instead of every array."""
        lo, hi = (int(self.unit.min()), int(self.unit.max())) if self.batch else (0, -1)
        units = f"unit {lo}" if lo == hi else f"units {lo}-{hi}" if self.batch else "no units"
        return (f"<EpisodeState {self.scenario.name!r}: batch {self.batch}, {units}, "
                f"{int(self.terminated.sum())} terminated, {int(self.truncated.sum())} truncated, "
                f"noise {self.noise.shape}>")

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
        # units past an episode's last decision point are never read: tabulate up to the longest
        # (known at reset when a finite horizon may end episodes before max_units)
        units = m
        if lay.lengths and math.isfinite(sc.params.horizon):
            units = max(1, int(_lengths(sc, _times(state, where))[0].max()))
        _tabulate(state, block, where, len(part), units)
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
        times = _times(state, where)
        if not np.all((times[:, 0] <= sc.params.horizon) & np.isfinite(times[:, 0])):
            raise SimError("the episode has no decision point before the horizon; raise horizon")
        state.times[:, where] = times.T
        state.time[where] = times[:, 0]
        state.kind[where] = sc.timeline.kind
        if lay.lengths:
            state.length[where], state.terminal[where] = _lengths(sc, times)
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


def _times(state: EpisodeState, where: slice | np.ndarray) -> np.ndarray:
    """Closed-form decision times ``(rows, max_units)`` of the episodes in rows ``where``."""
    lay = Layout.of(state.scenario)
    return state.scenario.timeline.times(state.exponentials[where, :lay.draws])


def _lengths(sc: Scenario, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each episode's number of decision points (closed-form ``times``, no state ending it), and
    whether it then terminates (the timeline ends) rather than being truncated."""
    lay = Layout.of(sc)
    m = times.shape[1]
    inside = (times <= sc.params.horizon) & np.isfinite(times)
    first_out = np.where(inside.all(axis=1), m, np.argmin(inside, axis=1))
    end = m if lay.natural_end is None else lay.natural_end
    length = np.minimum(first_out, end)
    after = times[np.arange(len(times)), np.minimum(length, m - 1)]
    natural = (length == lay.natural_end) if lay.natural_end is not None \
        else np.zeros(len(times), dtype=bool)
    stops = (length < m) & ~natural & np.isinf(after) & (length == first_out)
    return length, natural | stops


def _tabulate(state: EpisodeState, block: np.ndarray, where: slice | np.ndarray, r: int,
              units: int) -> None:
    """Compute the fixed nodes (and, for tabulated layouts, every action's values and rewards)
    of the first ``units`` units of the ``r`` new episodes whose tapes are ``block``
    ``(r, nodes, max_units)`` (the table's later units keep stale values: never read)."""
    sc = state.scenario
    lay = Layout.of(sc)
    m = units
    n = r * m
    # unit-major flattening: entry u * r + b is unit u of the block's episode b
    noise = {v: np.ascontiguousarray(block[:, i, :m].T).reshape(-1) for v, i in lay.row.items()}
    values = sc.scm.compute(lay.fixed, {}, noise, n=n)
    fixed = state.tables["fixed"]
    for f, v in enumerate(lay.fixed):
        fixed[f][:m, where] = values[v].reshape(m, r)
    if lay.context_fixed:
        state.tables["obs"][:m, where] = sc.observe(values).reshape(m, r, -1)
    if not lay.tabulated:
        return
    acted = state.tables["acted"]
    for a in range(lay.n_actions):
        acts = np.full(n, a, dtype=np.int64)
        world = dict(values)
        world.update(sc.actions.values(acts))
        world = sc.scm.compute([v for v in lay.acted if v not in world], world, noise, n=n)
        for i, v in enumerate(lay.acted):
            acted[a, i][:m, where] = world[v].reshape(m, r)
        tot, parts = sc.total_reward(world, acts)
        if lay.parts is None:
            lay.parts = tuple(parts)
        if "reward" not in state.tables:  # rows: total, outcome, components
            state.tables["reward"] = np.zeros((lay.n_actions, 2 + len(lay.parts),
                                               sc.params.max_units, state.batch))
        table = state.tables["reward"][a]
        for p, x in enumerate((tot, world[sc.outcome], *(parts[k] for k in lay.parts))):
            table[p][:m, where] = np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)).reshape(m, r)


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


def _column(x: Any, n: int) -> np.ndarray:
    """``x`` (a scalar or ``n`` values) as a new float64 array of ``n`` values."""
    a = np.asarray(x, dtype=np.float64)
    return a.copy() if a.shape == (n,) else np.full(n, a)


def tape_of(state: EpisodeState, row: int = 0) -> Tape:
    """Row ``row``'s tape (copies): replay it with ``initial(scenario, tapes=[tape])``."""
    lay = Layout.of(state.scenario)
    return Tape({v: state.noise[i, :, row].copy() for i, v in enumerate(lay.noise_nodes)},
                state.exponentials[row].copy())
