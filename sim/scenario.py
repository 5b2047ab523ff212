"""The Scenario contract every domain implements.

A scenario is a unit-level SCM plus what makes it a decision problem:

* ``context`` — the observed nodes an agent sees at a decision point. They must
  be functions of context noise only: every ancestor of a context node is a
  context node (or a state node), so no hidden variable leaks into what the
  agent sees, and the action is not an ancestor of the context.
* ``actions`` — an :class:`~sim.actions.ActionMap` from the Gymnasium action
  space to interventions, with costs.
* ``outcome`` and ``reward(values, actions)`` — reward components per unit.
* the behaviour (logging) policy: the SCM's own mechanism of the action nodes,
  usually confounded; :meth:`Scenario.observational` samples it and
  :meth:`Scenario.rct` randomises the action instead.
* dynamics: ``state_nodes`` are set from a state that persists between decision
  points; ``transition`` (a pure function) evolves it; the ``timeline`` produces
  the decision points on a simpy clock.
* :meth:`Scenario.truth` — the exact answers (ATE per contrast, CATE, the value
  of any policy) by common random numbers.

Parameters are a frozen dataclass validated at construction; the scenario
object holds no episode state (that lives in the environment).
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from causal import limits
from causal.interventions import Hard
from causal.mechanisms import DiscreteMechanism
from causal.scm import SCM, Effect, as_rng
from sim.actions import ActionMap
from sim.errors import ScenarioError
from sim.timeline import Timeline

__all__ = ["Params", "Scenario", "Truth"]


@dataclass(frozen=True)
class Params:
    """Parameters shared by every scenario; subclass and add fields (frozen, validated).

    Attributes
    ----------
    max_units : int
        Decision points per episode at most.
    horizon : float
        Simulated time at which an episode ends.
    """

    max_units: int = 100
    horizon: float = math.inf

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ScenarioError` on bad values; subclasses call ``super().validate()``."""
        if isinstance(self.max_units, bool) or not isinstance(self.max_units, int) or self.max_units < 1:
            raise ScenarioError(f"max_units must be a positive integer, got {self.max_units!r}")
        # every episode holds at least one float per unit: refuse at once what can never fit
        # (the full estimate, per node, is checked when episodes start: sim.core.check_episodes)
        limits.check_request(f"max_units={self.max_units:,} (at least 8 bytes per unit)", 8 * self.max_units,
                             f"lower max_units to at most {limits.MAX_BYTES // 8:,}", ScenarioError)
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, (int, float)) \
                or not self.horizon > 0:
            raise ScenarioError(f"horizon must be > 0, got {self.horizon!r}")

    def check_nonnegative(self, *names: str, strict: bool = False) -> None:
        """Helper for subclasses: each named field must be a finite number ``>= 0`` (``> 0`` if strict)."""
        for name in names:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v < 0 or (strict and v == 0):
                raise ScenarioError(f"{name} must be a finite number {'>' if strict else '>='} 0, got {v!r}")

    def check_unit_interval(self, **values: float) -> None:
        """Helper for subclasses: each value must be a number in [0, 1]."""
        for name, v in values.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise ScenarioError(f"{name} must be a number in [0, 1], got {v!r}")


class Scenario(ABC):
    """Base class of scenarios. Subclasses set the class attributes and build methods.

    Parameters
    ----------
    params : Params, optional
        Defaults to ``params_type()``.
    **overrides
        Field values replacing those of ``params`` (e.g. ``confounding=0.5``).
    """

    name: ClassVar[str] = "scenario"
    summary: ClassVar[str] = ""
    params_type: ClassVar[type[Params]] = Params
    #: Observed context nodes, in observation order.
    context: tuple[str, ...] = ()
    #: The outcome node.
    outcome: str = ""
    #: Nodes whose values come from the episode state (set by ``Hard`` each step).
    state_nodes: tuple[str, ...] = ()
    #: Physical range ``{context node: (low, high)}`` of context nodes, the bounds of the
    #: observation space (``inf`` for an unbounded side). Discrete nodes default to the range of
    #: their values; any other node left out is unbounded. ``check_scenario`` checks that every
    #: observation lies within them.
    context_bounds: ClassVar[Mapping[str, tuple[float, float]]] = {}

    def __init__(self, params: Params | None = None, **overrides: Any) -> None:
        base = self.params_type() if params is None else params
        if not isinstance(base, self.params_type):
            raise ScenarioError(f"{type(self).__name__} takes {self.params_type.__name__}, "
                                f"got {type(base).__name__}")
        if overrides:
            fields = {f.name for f in dataclasses.fields(base)}
            unknown = set(overrides) - fields
            if unknown:
                raise ScenarioError(f"unknown parameter(s) {sorted(unknown)} for {self.name}; "
                                    f"parameters: {', '.join(sorted(fields))}")
            base = dataclasses.replace(base, **overrides)
        self.params = base
        self.scm: SCM = self.build_scm()
        self.actions: ActionMap = self.build_actions()
        self.timeline: Timeline = self.build_timeline()
        self._validate()
        noise = self.scm.noise
        #: ``(node, Noise)`` for every node with noise, in topological order.
        self.noise_items = tuple((v, noise[v]) for v in self.scm.graph.topological_order()
                                 if noise[v] is not None)
        #: Whether the SCM's values are independent of the episode state.
        self.static = not self.state_nodes
        #: Whether the state evolves (``transition`` is overridden).
        self.dynamic = type(self).transition is not Scenario.transition
        #: Whether the state changes between decision points (``arrive`` is overridden).
        self.arrives = type(self).arrive is not Scenario.arrive

    # ------------------------------------------------------------------ to implement
    @abstractmethod
    def build_scm(self) -> SCM:
        """The unit-level SCM; the action nodes' own mechanisms are the behaviour policy."""

    @abstractmethod
    def build_actions(self) -> ActionMap:
        """The action map."""

    @abstractmethod
    def build_timeline(self) -> Timeline:
        """The simpy timeline."""

    def reward(self, values: Mapping[str, np.ndarray], actions: np.ndarray) -> dict[str, np.ndarray]:
        """Reward components per unit (summed into the reward). Default: outcome minus action cost."""
        return {"outcome": np.asarray(values[self.outcome], dtype=float),
                "cost": -self.actions.cost(actions)}

    def initial_state(self) -> dict[str, float]:
        """The state at the start of an episode (values of ``state_nodes`` and more)."""
        return {}

    def transition(self, state: Mapping[str, float], values: Mapping[str, float], action: Any,
                   time: float) -> dict[str, float]:
        """The state after a decision point (pure: return a new mapping)."""
        return dict(state)

    def arrive(self, state: Mapping[str, Any], time: Any) -> dict[str, Any]:
        """The state when the clock reaches a decision point at ``time``.

        What happens between decision points and does not depend on the last
        unit (a new week resets a weekly budget, stocks decay) goes here; it is
        called before the new unit is observed. Pure and vectorized like
        :meth:`transition` (``time`` is an array). Default: unchanged.
        """
        return dict(state)

    def exhausted(self, state: Mapping[str, float]) -> bool:
        """Whether the episode ends because of the state (e.g. budget spent).

        Vectorized like :meth:`transition`: state values may be arrays (one per
        sub-environment); return a boolean or a boolean array of that shape.
        """
        return False

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        g = self.scm.graph
        nodes = set(self.scm.nodes)
        for what, names in (("context", self.context), ("state", self.state_nodes),
                            ("action", self.actions.nodes), ("outcome", (self.outcome,))):
            bad = [v for v in names if v not in nodes]
            if bad:
                raise ScenarioError(f"{self.name}: {what} node(s) {bad} are not nodes of the SCM")
        hidden = [v for v in self.context if v in self.scm.hidden]
        if hidden:
            raise ScenarioError(f"{self.name}: context nodes {hidden} are hidden; the agent cannot see them")
        if self.outcome in self.scm.hidden:
            raise ScenarioError(f"{self.name}: the outcome {self.outcome!r} is hidden; rewards and "
                                "answers must be about an observed node")
        after = set(g.descendants(self.actions.nodes)) | set(self.actions.nodes)
        bad = sorted(after & set(self.context))
        if bad:
            raise ScenarioError(f"{self.name}: context nodes {bad} are the action or its descendants; "
                                "the agent must act on what came before the action")
        allowed = (set(self.context) | set(self.state_nodes)) - self.scm.hidden
        for v in self.context:
            leak = sorted(g.ancestors(v) - allowed)
            if leak:
                raise ScenarioError(f"{self.name}: context node {v!r} depends on {leak}, which the agent "
                                    "does not observe; observations must be functions of context noise "
                                    "only (add them to the context or cut the edge)")
        for v, bounds in self.context_bounds.items():
            ok = (isinstance(bounds, tuple) and len(bounds) == 2
                  and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in bounds))
            if v not in self.context or not ok or not bounds[0] < bounds[1]:
                raise ScenarioError(f"{self.name}: context_bounds[{v!r}] = {bounds!r}; give (low, high) "
                                    "with low < high for a context node")
        if self.outcome not in g.descendants(self.actions.nodes):
            raise ScenarioError(f"{self.name}: the outcome {self.outcome!r} is not caused by the action")

    # ------------------------------------------------------------------ observations
    @property
    def feature_names(self) -> tuple[str, ...]:
        """The names of the observation's columns (the context nodes, in order)."""
        return tuple(self.context)

    def observation_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` of each context node: :attr:`context_bounds`, else the range of a
        discrete node's values, else unbounded. Infinite sides become the largest finite float,
        so that the Gymnasium ``Box`` is bounded everywhere (as ``check_env`` asks)."""
        big = np.finfo(np.float64).max
        low, high = np.full(len(self.context), -big), np.full(len(self.context), big)
        mechs = self.scm.mechanisms
        for j, v in enumerate(self.context):
            if v in self.context_bounds:
                lo, hi = (float(x) for x in self.context_bounds[v])
            elif isinstance(mechs[v], DiscreteMechanism) and mechs[v].k_known:
                values = mechs[v].cell_values
                lo, hi = float(values.min()), float(values.max())
            else:
                continue
            low[j], high[j] = max(lo, -big), min(hi, big)
        return low, high

    # ------------------------------------------------------------------ batch computations
    def state_values(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The values of the state nodes in ``state`` (scalars, or one value per unit).

        Override this (not :meth:`state_interventions`) when the state nodes are
        not simply the state's entries of the same name.
        """
        return {v: state[v] for v in self.state_nodes}

    def state_interventions(self, state: Mapping[str, Any]) -> dict[str, Hard]:
        """``Hard`` interventions setting the state nodes (:meth:`state_values`)."""
        return {v: Hard(x if np.ndim(x) else float(x)) for v, x in self.state_values(state).items()}

    def observe(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Observation array ``(n, len(context))`` from node values."""
        return np.column_stack([np.asarray(values[v], dtype=np.float64) for v in self.context])

    def outcomes(self, noise: Mapping[str, np.ndarray], actions: np.ndarray,
                 state: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
        """Every node's value for units with ``noise`` under ``actions`` (one per unit)."""
        ivs = self.actions.to_interventions(actions)
        if self.state_nodes:
            ivs.update(self.state_interventions(state if state is not None else self.initial_state()))
        return self.scm.propagate(noise, ivs)

    def total_reward(self, values: Mapping[str, np.ndarray], actions: np.ndarray
                     ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The reward per unit and its components (:meth:`reward`).

        The components are added left to right, so a unit's reward is the same
        float sum whether it is computed alone or in a batch (``np.sum`` sums
        eight or more terms pairwise along a contiguous axis, i.e. for one unit
        but not for a batch).
        """
        parts = self.reward(values, actions)
        arrays = [np.asarray(p, dtype=float) for p in parts.values()]
        if len(arrays) < 2:
            return np.sum(arrays, axis=0), parts
        total = arrays[0] + arrays[1]
        for a in arrays[2:]:
            total = total + a
        return total, parts

    def total_reward_one(self, values: Mapping[str, float], actions: np.ndarray
                         ) -> tuple[float, dict[str, float]]:
        """:meth:`total_reward` of one unit whose ``values`` are floats (``actions``: a batch of one),
        as floats: the same components, added left to right (the same float sum)."""
        parts = {k: p if type(p) is float else np.asarray(p, dtype=np.float64).item(0)
                 for k, p in self.reward(values, actions).items()}
        terms = list(parts.values())
        total = terms[0]
        for x in terms[1:]:
            total = total + x
        return total, parts

    # ------------------------------------------------------------------ data
    def _static_scm(self) -> SCM:
        return self.scm.do(self.state_interventions(self.initial_state())) if self.state_nodes else self.scm

    def observational(self, n: int, rng: Any = None) -> pd.DataFrame:
        """Logged data: the behaviour policy (the SCM's own action mechanism), observed nodes only."""
        return self._static_scm().sample(n, as_rng(rng))

    def reward_nodes(self) -> tuple[str, ...]:
        """The nodes the reward reads, besides the action (topological order)."""
        out = self.__dict__.get("_reward_nodes")
        if out is None:
            read: set[str] = set()

            class Spy(dict):
                def __getitem__(self, key: str) -> Any:
                    read.add(key)
                    return super().__getitem__(key)

                def get(self, key: str, default: Any = None) -> Any:
                    read.add(key)
                    return super().get(key, default)

            actions = self.actions.repeat(self.actions.enumerate()[0] if hasattr(self.actions.space, "n")
                                          else self.actions.space.low, 2)
            values = self.outcomes(self.scm.sample_noise(2, 0), actions, self.initial_state())
            self.total_reward(Spy(values), actions)
            order = self.scm.graph.topological_order()
            out = self.__dict__["_reward_nodes"] = tuple(v for v in order if v in read)
        return out

    def logged_actions(self, data: pd.DataFrame) -> np.ndarray:
        """The agent's action that each row of logged ``data`` took, read off its observed action
        nodes: indices for discrete actions (a label whose observed settings match), else the
        values ``(n, k)``."""
        observed = [v for v in self.actions.nodes if v not in self.scm.hidden]
        missing = [v for v in observed if v not in data.columns]
        if not observed or missing:
            raise ScenarioError(f"the logs of {self.name!r} do not record the action node(s) "
                                f"{missing or list(self.actions.nodes)}")
        cols = np.column_stack([data[v].to_numpy(dtype=np.float64) for v in observed])
        if not hasattr(self.actions.space, "n"):
            return cols
        table = np.column_stack([self.actions.value(v, np.asarray(self.actions.enumerate()))
                                 for v in observed])
        if len({tuple(r) for r in table.tolist()}) < len(table):
            raise ScenarioError(f"the actions of {self.name!r} differ only in hidden nodes: "
                                "the logs cannot tell them apart")
        match = (cols[:, None, :] == table[None, :, :]).all(axis=2)
        bad = ~match.any(axis=1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ScenarioError(f"logged row {row} has action values {cols[row].tolist()} for "
                                f"{observed}, which no action of {self.name!r} sets")
        return match.argmax(axis=1).astype(np.int64)

    def logged_rewards(self, data: pd.DataFrame) -> np.ndarray:
        """The reward of each row of logged ``data`` (the scenario's :meth:`reward` of its
        recorded values and action; the state at its initial value, as in logged data)."""
        need = [v for v in self.reward_nodes() if v not in self.actions.nodes]
        hidden = [v for v in need if v in self.scm.hidden or v not in data.columns]
        if hidden:
            raise ScenarioError(f"the reward of {self.name!r} reads {hidden}, which the logs do not "
                                "record: it cannot be computed from logged data")
        actions = self.logged_actions(data)
        values = {v: data[v].to_numpy(dtype=np.float64) for v in need}
        values.update(self.actions.values(actions))
        for k, x in self.state_values(self.initial_state()).items():
            values.setdefault(k, np.full(len(data), float(x)))
        return np.asarray(self.total_reward(values, actions)[0], dtype=np.float64)

    def rct(self, n: int, rng: Any = None) -> pd.DataFrame:
        """A randomised trial: actions drawn uniformly from the action space, observed nodes only."""
        rng = as_rng(rng)
        actions = self.random_actions(n, rng)
        scm = self._static_scm().do(self.actions.to_interventions(actions))
        data = scm.sample(n, rng)
        column = "action" if "action" not in data.columns else "action_index"
        data.insert(0, column, actions if actions.ndim == 1 else list(actions))
        return data

    def random_actions(self, n: int, rng: np.random.Generator) -> np.ndarray:
        space = self.actions.space
        if hasattr(space, "n"):
            return rng.integers(0, int(space.n), size=n)
        return rng.uniform(space.low, space.high, size=(n, *space.shape))

    def truth(self, n: int = 100_000, seed: int = 0) -> Truth:
        """Exact effects by common random numbers over ``n`` fresh units."""
        return Truth(self, n=n, seed=seed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params})"


class Truth:
    """Ground truth of a scenario, computed with common random numbers.

    All values are means over the same ``n`` units' noise, so contrasts are
    paired and their Monte-Carlo error is that of the per-unit differences.
    """

    def __init__(self, scenario: Scenario, n: int = 100_000, seed: int = 0) -> None:
        self.scenario = scenario
        self.n = n
        self.noise = scenario.scm.sample_noise(n, seed)
        self._cache: dict[Any, tuple[np.ndarray, np.ndarray]] = {}

    def _world(self, action: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        sc = self.scenario
        a = sc.actions.index(action)
        key = a if isinstance(a, int) else tuple(a.tolist())
        if key not in self._cache:
            actions = sc.actions.repeat(a, self.n)
            values = sc.outcomes(self.noise, actions)
            total, _ = sc.total_reward(values, actions)
            self._cache[key] = (total, values)
        return self._cache[key]

    def values(self, action: Any) -> dict[str, np.ndarray]:
        """Every node's value for each of the ``n`` units under ``do(action)``."""
        return dict(self._world(action)[1])

    def rewards(self, action: Any) -> np.ndarray:
        """Each of the ``n`` units' total reward under ``do(action)``."""
        return self._world(action)[0].copy()

    @staticmethod
    def _effect(d: np.ndarray) -> Effect:
        return Effect(float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))), len(d))

    def mean(self, action: Any, node: str | None = None) -> Effect:
        """``E[node | do(action)]`` (default node: the outcome)."""
        return self._effect(self._world(action)[1][node or self.scenario.outcome])

    def value(self, action: Any) -> Effect:
        """Expected reward of always taking ``action``."""
        return self._effect(self._world(action)[0])

    def ate(self, treat: Any, control: Any, node: str | None = None) -> Effect:
        """``E[Y | do(treat)] - E[Y | do(control)]`` for the outcome (or ``node``)."""
        y = node or self.scenario.outcome
        return self._effect(self._world(treat)[1][y] - self._world(control)[1][y])

    def ite(self, treat: Any, control: Any, node: str | None = None) -> np.ndarray:
        """Each of the ``n`` units' own effect (paired worlds)."""
        y = node or self.scenario.outcome
        return self._world(treat)[1][y] - self._world(control)[1][y]

    def cate(self, treat: Any, control: Any, context: pd.DataFrame, *, samples: int = 2000,
             seed: int = 0) -> np.ndarray:
        """``E[Y_treat - Y_control | context]`` for each row of observed ``context`` values."""
        return _cate(self.scenario, treat, control, context, samples, seed)

    def policy_value(self, policy: Callable[[np.ndarray], Any]) -> Effect:
        """Expected reward of ``policy`` (a function of a batch of observations ``(n, d)``)."""
        sc = self.scenario
        ctx = sc.outcomes(self.noise, self._default_actions())
        obs = sc.observe(ctx)
        actions = sc.actions.check_batch(policy(obs), self.n)
        values = sc.outcomes(self.noise, actions)
        total, _ = sc.total_reward(values, actions)
        return self._effect(total)

    def _default_actions(self) -> np.ndarray:
        space = self.scenario.actions.space
        if hasattr(space, "n"):
            return np.zeros(self.n, dtype=np.int64)
        return np.repeat(space.low[None, :], self.n, axis=0)


def _cate(sc: Scenario, treat: Any, control: Any, context: pd.DataFrame, samples: int,
          seed: int) -> np.ndarray:
    """``E[Y_treat - Y_control | context]`` by setting the context and redrawing everything else.

    Exact up to Monte-Carlo error: every ancestor of a context node is in the
    context (validated), and each node's noise is independent of the others',
    so conditioning on the context equals intervening on it.
    """
    missing = [v for v in sc.context if v not in context.columns]
    if missing:
        raise ScenarioError(f"context is missing columns {missing}; give every context node")
    y1, y0 = context_worlds(sc, context, (treat, control), sc.outcome, samples, seed)
    return y1.mean(axis=1) - y0.mean(axis=1)


def context_worlds(sc: Scenario, context: pd.DataFrame, actions: Any, outcome: str, samples: int,
                   rng: Any) -> list[np.ndarray]:
    """``outcome`` of ``samples`` units per row of ``context`` (the context set, everything else
    redrawn; the same draws for every action): one ``(rows, samples)`` array per action."""
    rows = len(context)
    m = rows * samples
    values = {v: np.repeat(context[v].to_numpy(dtype=float), samples) for v in sc.context}
    ivs: dict[str, Hard] = {v: Hard(values[v]) for v in sc.context}
    if sc.state_nodes:
        state = {**sc.initial_state(), **{v: values[v] for v in sc.context if v in sc.state_nodes}}
        ivs.update(sc.state_interventions({k: np.broadcast_to(np.asarray(x, dtype=float), (m,))
                                           for k, x in state.items()}))
    noise = sc.scm.sample_noise(m, rng)
    out = []
    for a in actions:
        batch = sc.actions.repeat(a, m)
        y = sc.scm.propagate(noise, {**ivs, **sc.actions.to_interventions(batch)})[outcome]
        out.append(np.asarray(y, dtype=float).reshape(rows, samples))
    return out
