"""Evaluation by regret against the simulator's oracle: the same units for every agent.

:func:`evaluate` plays each agent through the same seeded episodes (common random
numbers: episode ``e`` draws the same world for every agent) and scores every
decision against the truth the agents cannot see:

* **regret vs the oracle**: ``R_o - R_a``, where ``o = argmax_b E[R | do(b), context]``
  is the best action for what was observed (Monte-Carlo with ``draws`` common
  draws per action; :func:`sim.core.context_value`) and ``R_b`` is *this unit's*
  reward under ``b``, from its own noise (:func:`sim.core.potential`, exact);
* **regret vs the clairvoyant**: ``max_b R_b - R_a``, the best this very unit
  could have had.

Both are realised on the unit's own noise, so the oracle's regret vs the oracle
and the clairvoyant's vs the clairvoyant are exactly 0, and every decision's
regret vs the clairvoyant is at least its regret vs the oracle. A unit's regret
vs the oracle can be negative (another action happened to suit this unit
better); its expectation over units with the same context is not. In a
scenario with state (Marketing's weekly budget) the regrets are those of each
decision in the state the agent's own earlier decisions left.

Agents whose play does not change their decisions (``batched``: random, naive,
correlational, causal, the oracle baselines) run all episodes side by side on
the episode core (:mod:`sim.core`, what :class:`~sim.vector.CausalVectorEnv`
runs); learners run episode after episode through a :class:`~sim.env.CausalEnv`
(with a :class:`~sim.wrappers.QueryBudget` when a budget or cost is given). Both
paths give the same numbers for the same agent (tested). The agents' own code
runs with :func:`sim.oracle.sealed`: an agent that reads the truth fails.

Examples
--------
>>> import scenarios
>>> df = evaluate(["random", "naive", "oracle"], "icecream", episodes=4, seed=0, logs=2000)
>>> sorted(df.agent.unique())
['naive', 'oracle', 'random']
>>> float(df[df.agent == "oracle"].regret_oracle.abs().max())
0.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from agents.base import Agent, AgentError, Truth
from sim import core, oracle
from sim.env import CausalEnv
from sim.scenario import Scenario

__all__ = ["evaluate", "summarize", "paired", "plot_regret", "episode_seeds"]

AgentLike = str | Agent | Callable[[Scenario], Agent]


def episode_seeds(seed: int, episodes: int) -> list[int]:
    """The reset seed of each episode: the same for every agent (common random numbers)."""
    state = np.random.SeedSequence(seed).generate_state(episodes, dtype=np.uint32)
    return [int(s) for s in state]


def _scenario(source: Any, params: Mapping[str, Any]) -> Scenario:
    if isinstance(source, Scenario):
        return type(source)(source.params, **dict(params)) if params else source
    if isinstance(source, str):
        import scenarios

        name = source.split("/")[-1].split("-v")[0].lower() if "/" in source else source
        lookup = {n.replace("_", ""): n for n in scenarios.names()}
        key = lookup.get(name.replace("_", "").replace("-", "").lower())
        if key is None:
            raise AgentError(f"unknown scenario {source!r}; known: {', '.join(scenarios.names())}")
        return scenarios.make(key, **dict(params))
    raise AgentError(f"a scenario is a Scenario, a registered name or an env id, got {source!r}")


def _agent(spec: AgentLike, sc: Scenario, fallback_query: bool) -> Agent:
    from agents.registry import make

    if isinstance(spec, str):
        return make(spec, sc)
    if isinstance(spec, Agent):
        return spec
    if callable(spec):
        agent = spec(sc)
        if not isinstance(agent, Agent):
            raise AgentError(f"an agent factory must return an Agent, got {type(agent).__name__}")
        return agent
    raise AgentError(f"an agent is a registered name, an Agent or a factory scenario -> Agent, got {spec!r}")


class _TruthCache:
    """Each unit's context values, computed once per (episode, unit, state) and shared by agents.

    The values of the rows not yet cached are computed together, in one batched SCM evaluation
    (:func:`sim.core.context_values`): each row draws from its own generator
    ``default_rng([seed, episode_seed, unit])``, so a row's values do not depend on the others.
    """

    def __init__(self, sc: Scenario, draws: int, seed: int) -> None:
        self.acts = sc.actions.enumerate()
        self.draws, self.seed = draws, seed
        self.values: dict[tuple, np.ndarray] = {}

    def contexts(self, state: core.EpisodeState, rows: np.ndarray, episode_seeds: Sequence[int]
                 ) -> np.ndarray:
        """Context values ``(len(rows), n_actions)`` of ``rows``; ``episode_seeds[i]`` is row
        ``rows[i]``'s episode seed."""
        units = state.unit[rows].tolist()
        names = sorted(state.state)
        cols = [np.asarray(state.state[k], dtype=np.float64)[rows].tolist() for k in names]
        keys = [(s, u, tuple(zip(names, vals, strict=True)))
                for s, u, *vals in zip(episode_seeds, units, *cols, strict=True)]
        missing: dict[tuple, int] = {}
        for i, key in enumerate(keys):
            if key not in self.values and key not in missing:
                missing[key] = i
        if missing:
            at = list(missing.values())
            rngs = [np.random.default_rng([self.seed, keys[i][0], keys[i][1]]) for i in at]
            got = core.context_values(state, self.acts, self.draws, rngs, np.asarray(rows)[at])
            for key, value in zip(missing, got, strict=True):
                self.values[key] = value
        return np.stack([self.values[key] for key in keys])


def _units(state: core.EpisodeState, rows: np.ndarray, k: int) -> np.ndarray:
    """Each row's unit reward under each of the ``k`` actions ``(len(rows), k)`` (exact)."""
    reps = np.repeat(rows, k)
    acts = np.tile(np.arange(k, dtype=np.int64), len(rows))
    return core.potential(state, acts, rows=reps)[1].reshape(len(rows), k)


class _Tally:
    """Per-episode sums of one agent's decisions."""

    def __init__(self, sc: Scenario, episodes: int) -> None:
        k = int(sc.actions.space.n)
        self.k, self.labels = k, sc.actions.labels
        z = np.zeros(episodes)
        self.steps, self.reward, self.decision = z.copy(), z.copy(), z.copy()
        self.vs_oracle, self.vs_clairvoyant, self.outcome = z.copy(), z.copy(), z.copy()
        self.queries, self.spent = z.copy(), z.copy()
        self.chosen = np.zeros((episodes, k))
        self.oracle_chose = np.zeros((episodes, k))
        self.agreed = np.zeros((episodes, k))

    def add(self, eps: np.ndarray, actions: np.ndarray, truth: Truth, outcome: np.ndarray) -> None:
        idx = np.arange(len(eps))
        o = np.argmax(truth.context, axis=1)
        own = truth.unit[idx, actions]
        np.add.at(self.steps, eps, 1.0)
        np.add.at(self.decision, eps, own)
        np.add.at(self.vs_oracle, eps, truth.unit[idx, o] - own)
        np.add.at(self.vs_clairvoyant, eps, truth.unit.max(axis=1) - own)
        np.add.at(self.outcome, eps, outcome)
        np.add.at(self.chosen, (eps, actions), 1.0)
        np.add.at(self.oracle_chose, (eps, o), 1.0)
        np.add.at(self.agreed, (eps, o), (o == actions).astype(float))

    def frame(self, name: str, seeds: list[int]) -> pd.DataFrame:
        steps = np.maximum(self.steps, 1.0)
        cols: dict[str, Any] = {
            "agent": name, "episode": np.arange(len(seeds)), "seed": seeds,
            "decisions": self.steps.astype(np.int64), "reward": self.reward,
            "decision_reward": self.decision, "regret_oracle": self.vs_oracle,
            "regret_clairvoyant": self.vs_clairvoyant, "outcome_mean": self.outcome / steps,
            "queries": self.queries.astype(np.int64), "query_spent": self.spent,
        }
        for j, label in enumerate(self.labels):
            cols[f"share_{label}"] = self.chosen[:, j] / steps
        for j, label in enumerate(self.labels):
            cols[f"oracle_{label}"] = self.oracle_chose[:, j].astype(np.int64)
            cols[f"agrees_{label}"] = self.agreed[:, j].astype(np.int64)
        return pd.DataFrame(cols)


def _check_actions(agent: Agent, actions: Any, n: int, k: int) -> np.ndarray:
    arr = np.asarray(actions)
    if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
        raise AgentError(f"agent {agent.name!r} returned {actions!r}; expected {n} action(s) in 0..{k - 1}")
    ints = arr.astype(np.int64)
    if (ints != arr).any() or (ints < 0).any() or (ints >= k).any():
        bad = arr[(ints != arr) | (ints < 0) | (ints >= k)][0]
        raise AgentError(f"agent {agent.name!r} chose action {bad!r}, outside the action space "
                         f"0..{k - 1}")
    return ints


def _run_batched(agent: Agent, sc: Scenario, seeds: list[int], cache: _TruthCache) -> _Tally:
    from gymnasium.utils.seeding import np_random

    k = int(sc.actions.space.n)
    tally = _Tally(sc, len(seeds))
    state = core.initial(sc, [np_random(s)[0] for s in seeds])
    while True:
        live = np.flatnonzero(~(state.terminated | state.truncated))
        if not len(live):
            return tally
        context = cache.contexts(state, live, [seeds[j] for j in live])
        truth = Truth(context, _units(state, live, k))
        if agent.reads_truth:
            chosen = agent.choose(truth)
        else:
            obs = core.observe(state, live)
            with oracle.sealed(f"agent {agent.name!r}"):
                chosen = agent.act_batch(obs)
        chosen = _check_actions(agent, chosen, len(live), k)
        actions = np.zeros(state.batch, dtype=np.int64)
        actions[live] = chosen
        state, outcome, rewards, _ = core.transition(state, actions)
        tally.add(live, chosen, truth, outcome[live])
        np.add.at(tally.reward, live, rewards[live])


def _run_single(agent: Agent, sc: Scenario, seeds: list[int], cache: _TruthCache,
                budget: float | None, cost: float, bar: Any) -> _Tally:
    k = int(sc.actions.space.n)
    tally = _Tally(sc, len(seeds))
    env = CausalEnv(sc, query_budget=budget, query_cost=cost)
    base = env.unwrapped
    rows = np.zeros(1, dtype=np.int64)
    for e, s in enumerate(seeds):
        obs, info = env.reset(seed=s)
        with oracle.sealed(f"agent {agent.name!r}"):
            agent.start(env)
        done = False
        while not done:
            state = base.state
            truth = Truth(cache.contexts(state, rows, [s]), _units(state, rows, k))
            if agent.reads_truth:
                a = agent.choose(truth)
            else:
                with oracle.sealed(f"agent {agent.name!r}"):
                    a = [agent.act(obs)]
            a = _check_actions(agent, a, 1, k)
            eps = np.array([e])
            nxt, reward, terminated, truncated, info = env.step(int(a[0]))
            tally.add(eps, a, truth, np.array([info["outcome"]]))
            tally.reward[e] += reward
            if not agent.reads_truth:
                with oracle.sealed(f"agent {agent.name!r}"):
                    agent.update(obs, int(a[0]), reward, info)
            obs, done = nxt, terminated or truncated
        tally.queries[e] = base.query.count
        tally.spent[e] = base.query.spent
        if bar is not None:
            bar.update(1)
    return tally


def evaluate(agents: Sequence[AgentLike], scenario: Any, *, episodes: int = 100, seed: int = 0,
             query_budget: float | None = None, query_cost: float = 0.0,
             knobs: Mapping[str, Sequence[Any]] | None = None, logs: int = 20_000,
             draws: int = 1000, batched: bool = True, progress: bool = False) -> pd.DataFrame:
    """Play ``agents`` through the same seeded episodes of ``scenario`` and score them by regret.

    Parameters
    ----------
    agents : sequence of str, Agent or callable
        Registered names (:func:`agents.registry.names`), agents made for the scenario, or
        factories ``scenario -> Agent`` (needed with ``knobs``: each setting is a new scenario).
    scenario : Scenario, registered name (``"driving"``) or env id (``"causalsim/Driving-v0"``)
    episodes, seed : int
        Episode ``e`` is reset with ``episode_seeds(seed, episodes)[e]`` for every agent.
    query_budget, query_cost : optional
        Per-episode query budget and cost per query (a :class:`~sim.wrappers.QueryBudget`).
    knobs : mapping parameter -> values, optional
        Evaluate at every combination (e.g. ``{"hidden_confounder": [False, True]}``).
    logs : int
        Rows of logged data (``scenario.observational(logs, seed)``) the agents ``fit`` on.
    draws : int
        Monte-Carlo draws per action for the oracle's ``E[R | do(a), context]``.
    batched : bool
        Run batched agents side by side on the episode core (same numbers, faster).
    progress : bool
        A progress bar (tqdm) over agents and episodes.

    Returns
    -------
    DataFrame
        One row per knob setting x agent x episode: ``decisions``, ``reward`` (net of query
        costs), ``decision_reward``, ``regret_oracle``, ``regret_clairvoyant`` (sums over the
        episode's decisions), ``outcome_mean`` (the scenario's outcome node), ``queries``,
        ``query_spent``, the share of each action, and per action how often the oracle chose
        it (``oracle_<label>``) and the agent agreed (``agrees_<label>``).
    """
    for name, value, low in (("episodes", episodes, 1), ("logs", logs, 10), ("draws", draws, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise AgentError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AgentError(f"seed must be a non-negative integer, got {seed!r}")
    from sim.query import check_limits

    try:
        query_budget, query_cost = check_limits(query_budget, query_cost)
    except Exception as exc:
        raise AgentError(str(exc)) from None
    if isinstance(agents, (str, Agent)) or not len(agents):
        raise AgentError("give a non-empty list of agents")
    knobs = dict(knobs or {})
    grid = [dict(zip(knobs, values, strict=True)) for values in product(*knobs.values())] or [{}]
    if len(grid) > 1 and any(isinstance(a, Agent) for a in agents):
        raise AgentError("with knobs, each setting is a new scenario: give agent names or factories")
    seeds = episode_seeds(int(seed), int(episodes))
    frames = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(grid) * len(agents) * episodes, unit="episode", leave=False)
    try:
        for setting in grid:
            sc = _scenario(scenario, setting)
            if not hasattr(sc.actions.space, "n"):
                raise AgentError(f"evaluation by regret enumerates actions: {sc.name!r} has a "
                                 "continuous action space")
            made = [_agent(a, sc, False) for a in agents]
            names = [m.name for m in made]
            if len(set(names)) < len(names):
                raise AgentError(f"agent names must be unique, got {names}")
            data = None
            cache = _TruthCache(sc, int(draws), int(seed))
            for agent in made:
                if type(agent).fit is not Agent.fit:
                    if data is None:
                        data = sc.observational(int(logs), int(seed))
                    agent.fit(data)
                agent.reset(int(seed))
                if batched and agent.batched:
                    tally = _run_batched(agent, sc, seeds, cache)
                    if bar is not None:
                        bar.update(len(seeds))
                else:
                    tally = _run_single(agent, sc, seeds, cache, query_budget, query_cost, bar)
                frame = tally.frame(agent.name, seeds)
                for i, (key, value) in enumerate(setting.items()):
                    frame.insert(i, key, value)
                frames.append(frame)
    finally:
        if bar is not None:
            bar.close()
    return pd.concat(frames, ignore_index=True)


def _interval(x: np.ndarray) -> tuple[float, float, float]:
    x = np.asarray(x, dtype=float)
    m = float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
    return m, m - 1.96 * se, m + 1.96 * se


def summarize(df: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """Per agent (and knob setting): per-decision means over episodes with 95% intervals
    (normal, across episodes): reward, regret vs the oracle and vs the clairvoyant."""
    knob_cols = list(by) if by is not None else [c for c in df.columns[:list(df.columns).index("agent")]]
    rows = []
    for key, g in df.groupby([*knob_cols, "agent"], sort=False):
        key = key if isinstance(key, tuple) else (key,)
        per = np.maximum(g.decisions.to_numpy(), 1)
        row = dict(zip([*knob_cols, "agent"], key, strict=True))
        row["episodes"] = len(g)
        row["decisions"] = int(g.decisions.sum())
        for col in ("reward", "regret_oracle", "regret_clairvoyant"):
            m, lo, hi = _interval(g[col].to_numpy() / per)
            row[col], row[f"{col}_low"], row[f"{col}_high"] = m, lo, hi
        row["outcome_mean"] = float(np.average(g.outcome_mean, weights=per))
        row["queries"] = float(g.queries.mean())
        rows.append(row)
    return pd.DataFrame(rows)


def paired(df: pd.DataFrame, a: str, b: str, column: str = "regret_oracle") -> tuple[float, float, float]:
    """Mean per-episode difference ``a - b`` of ``column`` (per decision) over the same episodes,
    with its paired 95% interval: ``(mean, low, high)``."""
    ga = df[df.agent == a].set_index("episode")
    gb = df[df.agent == b].set_index("episode")
    if ga.empty or gb.empty:
        raise AgentError(f"both agents must be in the frame; have {sorted(df.agent.unique())}")
    common = ga.index.intersection(gb.index)
    da = ga.loc[common, column] / np.maximum(ga.loc[common, "decisions"], 1)
    db = gb.loc[common, column] / np.maximum(gb.loc[common, "decisions"], 1)
    return _interval((da - db).to_numpy())


def plot_regret(df: pd.DataFrame, column: str = "regret_oracle", ax: Any = None) -> Any:
    """Cumulative regret over episodes, one curve per agent, with a 95% band (the episodes'
    regrets taken as independent: the band of a sum grows as the square root of its length)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for name, g in df.groupby("agent", sort=False):
        g = g.sort_values("episode")
        y = g[column].to_numpy()
        cum = np.cumsum(y)
        t = np.arange(1, len(y) + 1)
        sd = float(y.std(ddof=1)) if len(y) > 1 else 0.0
        line, = ax.plot(t, cum, label=name)
        ax.fill_between(t, cum - 1.96 * sd * np.sqrt(t), cum + 1.96 * sd * np.sqrt(t),
                        color=line.get_color(), alpha=0.15, linewidth=0)
    ax.set_xlabel("episode")
    ax.set_ylabel(f"cumulative {column.replace('_', ' vs ')}")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax
