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

The state and starting episodes live in :mod:`sim.episode`, the split of a
scenario's nodes in :mod:`sim.layout`; this module re-exports them.

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
  :func:`context_values` gives the same for many rows in one evaluation;
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

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from causal.expr_scalar import FALLBACK
from sim.episode import (
    EpisodeState,
    _as_state,
    _column,
    check_episodes,
    episode_bytes,
    initial,
    reset_rows,
    tape_of,
)
from sim.layout import Layout
from sim.scenario import Scenario

__all__ = ["EpisodeState", "Layout", "initial", "reset_rows", "observe", "transition", "done",
           "potential", "context_samples", "context_value", "context_values", "policy_samples", "tape_of",
           "episode_bytes", "check_episodes"]


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
    if rows is None and state.batch == 1 and _one_ok(sc) and type(sc).observe is Scenario.observe:
        got = _context_one(state)
        if got is not None:  # Scenario.observe's column_stack of these floats
            values = got[0]
            return np.array([[values[v] for v in sc.context]], dtype=np.float64)
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


# ---------------------------------------------------------------------- one episode, one unit
# A batch of one computes its current unit on Python floats (SCM.compute_one): for one unit a
# numpy call per operation costs more than the arithmetic. The values are those of the batch
# path to the last bit (causal.expr_scalar; tests/sim/test_scalar.py), and where Python refuses
# what numpy computes (a division by zero, a non-finite value) the batch path takes over.
def _one_ok(sc: Scenario) -> bool:
    """Whether the scalar path applies to ``sc`` (a model without interventions of its own)."""
    ok = sc.__dict__.get("_episode_one")
    if ok is None:
        ok = sc.__dict__["_episode_one"] = not sc.scm.interventions
    return ok


def _context_one(state: EpisodeState) -> tuple[dict[str, float], dict[str, float]] | None:
    """The fixed and context values (floats) of the one row's current unit, and its noise
    (cached in the state); ``None`` when the scalar path gives way to the batch path."""
    got = state.cache.get("one")
    if got is not None:
        return got
    sc = state.scenario
    lay = Layout.of(sc)
    u = int(state.unit[0])
    values = dict(zip(lay.fixed, state.tables["fixed"][:, u, 0].tolist(), strict=True))
    noise = dict(zip(lay.noise_nodes, state.noise[:, u, 0].tolist(), strict=True))
    if sc.state_nodes:
        st = {k: v.item(0) for k, v in state.state.items()}
        for v, x in sc.state_values(st).items():
            values[v] = x if type(x) is float else np.asarray(x, dtype=np.float64).item(0)
    if lay.context_live:
        try:
            sc.scm.compute_one(lay.context_live, values, noise)
        except FALLBACK:
            return None
    state.cache["one"] = got = (values, noise)
    return got


def _values_one(state: EpisodeState, actions: np.ndarray, arrays: bool = True
                ) -> tuple[dict[str, Any], Any, dict[str, Any]] | None:
    """:func:`_values` of a batch of one (not tabulated) on floats, or ``None`` (batch path);
    the reward and its components as one-element arrays (``arrays=False``: floats)."""
    sc = state.scenario
    got = _context_one(state)
    if got is None:
        return None
    values, noise = dict(got[0]), got[1]
    for v, x in sc.actions.values(actions).items():
        values[v] = x.item(0)
    try:
        sc.scm.compute_one(Layout.of(sc).after_context, values, noise)
    except FALLBACK:
        return None
    total, parts = sc.total_reward_one(values, actions)
    if not arrays:
        return values, total, parts
    return values, np.array([total]), {k: np.array([x]) for k, x in parts.items()}


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
    if state.batch == 1 and not (state.terminated[0] or state.truncated[0]):
        if lay.fast:
            return _step_one(state, actions, lay)
        if lay.lengths and not lay.tabulated and _one_ok(sc):
            got = _step_one_live(state, actions)
            if got is not None:
                return got
    if lay.tabulated and not sc.dynamic:
        outcome, total, parts = _rewards(state, actions, None)
        values = None
    else:
        got = _values_one(state, actions) if state.batch == 1 and _one_ok(sc) else None
        if got is None:
            values, total, parts = _values(state, actions)
            outcome = np.array(values[sc.outcome], dtype=np.float64)
        else:
            values, total, parts = got
            outcome = np.array([values[sc.outcome]], dtype=np.float64)
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


def _step_one_live(state: EpisodeState, actions: np.ndarray
                   ) -> tuple[EpisodeState, np.ndarray, np.ndarray, dict[str, np.ndarray]] | None:
    """:func:`transition` of one live episode with known episode lengths, not tabulated: the unit
    computed on floats (:func:`_values_one`), the state's hooks called as the batch path calls
    them, the bookkeeping on Python numbers. ``None``: the batch path takes over."""
    got = _values_one(state, actions, arrays=False)
    if got is None:
        return None
    values, total, parts = got
    sc = state.scenario
    u = int(state.unit[0])
    following = u + 1
    changes: dict[str, Any] = {"cache": {}}
    go = following < int(state.length[0])
    if go:
        changes["unit"] = np.array([following])
        changes["time"] = state.times[following].copy()
    elif state.terminal[0]:
        changes["terminated"] = np.ones(1, dtype=bool)
    else:
        changes["truncated"] = np.ones(1, dtype=bool)
    st = state.state
    if sc.dynamic:
        st = changes["state"] = _as_state(sc.transition(st, values, actions, state.time), 1, st)
    if sc.arrives and go:
        arrived = _as_state(sc.arrive(st, changes["time"]), 1, st)
        changes["state"] = {**st, **arrived}
    return (state._evolve(changes), np.array([values[sc.outcome]], dtype=np.float64),
            np.array([total], dtype=np.float64),
            {k: np.array([x], dtype=np.float64) for k, x in parts.items()})


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
    k = len(actions)
    if k == 1:
        batch = sc.actions.repeat(actions[0], draws)
    else:  # every action on the same draws, in one evaluation (elementwise: the same numbers)
        noise = {v: np.tile(x, k) for v, x in noise.items()}
        st = {v: np.tile(x, k) if np.ndim(x) else x for v, x in st.items()}
        batch = np.concatenate([sc.actions.repeat(a, draws) for a in actions])
    values = sc.outcomes(noise, batch, st)
    out = values[node] if node is not None else sc.total_reward(values, batch)[0]
    return np.asarray(out, dtype=np.float64).reshape(k, draws)


def context_value(state: EpisodeState, actions: Sequence[Any], draws: int, rng: np.random.Generator,
                  *, row: int = 0) -> np.ndarray:
    """``E[R | do(a), context]`` of row ``row``'s current unit for each of ``actions``
    (Monte-Carlo means over ``draws`` common draws)."""
    return context_samples(state, actions, draws, rng, row=row).mean(axis=1)


def context_values(state: EpisodeState, actions: Sequence[Any], draws: int,
                   rngs: Sequence[np.random.Generator], rows: Sequence[int], *,
                   chunk: int = 1 << 16) -> np.ndarray:
    """:func:`context_value` of many rows, ``(len(rows), len(actions))``, in few SCM evaluations.

    Row ``rows[i]`` draws its noise from ``rngs[i]`` exactly as ``context_value(state, actions,
    draws, rngs[i], row=rows[i])`` does, and the evaluation is elementwise, so row ``i`` of the
    result equals that call bit for bit. Rows are evaluated together, ``chunk`` unit-actions
    (``len(rows) * len(actions) * draws``) at most per evaluation.
    """
    sc = state.scenario
    lay = Layout.of(sc)
    rows_ = np.asarray(rows, dtype=np.int64).reshape(-1)
    if len(rngs) != len(rows_):
        raise ValueError(f"one generator per row: {len(rngs)} generators for {len(rows_)} rows")
    k = len(actions)
    out = np.empty((len(rows_), k), dtype=np.float64)
    per = max(1, chunk // max(1, k * draws))
    acts = np.concatenate([sc.actions.repeat(a, draws) for a in actions])
    # Scenario.outcomes is scm.propagate under the action's and the state's interventions; its
    # nodes that neither the action nor the state reach are the same for every action
    split = type(sc).outcomes is Scenario.outcomes and not sc.scm.interventions
    rest = tuple(v for v in sc.scm.graph.topological_order() if v not in lay.fixed)
    for lo in range(0, len(rows_), per):
        rs = rows_[lo:lo + per]
        m = len(rs)
        drawn = {v: np.empty((m, draws)) for v, _ in sc.noise_items}
        for i, rng in enumerate(rngs[lo:lo + per]):  # each row's draws, in context_samples' order
            for v, dist in sc.noise_items:
                dist.sample_into(drawn[v][i], rng)
        units = state.unit[rs]
        for v in lay.context_noise:
            drawn[v][:] = state.noise[lay.row[v], units, rs][:, None]
        batch = np.tile(acts, (m,) + (1,) * (acts.ndim - 1))
        if split:  # the nodes the action cannot change once per draw, the others per action
            values = sc.scm.compute(lay.fixed, {}, {v: drawn[v].reshape(-1) for v in lay.fixed
                                                    if v in drawn}, n=m * draws)
            for v in lay.fixed:
                values[v] = _per_action(values[v], m, k, draws)
            noise = {v: _per_action(x.reshape(-1), m, k, draws) for v, x in drawn.items()
                     if v not in values}
            ivs = sc.actions.to_interventions(batch)
            if sc.state_nodes:
                st = {v: np.repeat(np.asarray(x[rs], dtype=np.float64), k * draws)
                      for v, x in state.state.items()}
                ivs.update(sc.state_interventions(st))
            sc.scm.compute(rest, values, noise, ivs, n=m * k * draws)
        else:
            noise = {v: _per_action(x.reshape(-1), m, k, draws) for v, x in drawn.items()}
            st = {v: np.repeat(np.asarray(x[rs], dtype=np.float64), k * draws)
                  for v, x in state.state.items()}
            values = sc.outcomes(noise, batch, st)
        samples = np.asarray(sc.total_reward(values, batch)[0], dtype=np.float64).reshape(m, k, draws)
        for i in range(m):  # each row's means as context_value takes them: a (k, draws) array
            out[lo + i] = samples[i].mean(axis=1)
    return out


def _per_action(x: np.ndarray, m: int, k: int, draws: int) -> np.ndarray:
    """``m`` rows' ``draws`` values, repeated for each of ``k`` actions: layout ``(m, k, draws)``."""
    return np.broadcast_to(x.reshape(m, 1, draws), (m, k, draws)).reshape(-1)


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
