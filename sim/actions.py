"""Action maps: from an agent's action to interventions on the SCM.

An agent acts in a Gymnasium space; the world sees interventions. An
:class:`ActionMap` turns a batch of actions (one per unit) into a
``{node: Hard(per-unit values)}`` mapping, validates actions with messages
that say what to change, and prices them.

Examples
--------
>>> acts = DiscreteActions({"none": {"dose": 0.0}, "low": {"dose": 1.0}, "high": {"dose": 2.0}},
...                        costs={"low": 0.5, "high": 1.0})
>>> acts.to_interventions(np.array([0, 2]))["dose"].value.tolist()
[0.0, 2.0]
>>> acts.index("high"), acts.cost(np.array([1, 2])).tolist()
(2, [0.5, 1.0])
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from causal.interventions import Hard
from sim.errors import ActionError, ScenarioError

__all__ = ["ActionMap", "DiscreteActions", "ContinuousActions"]


class ActionMap(ABC):
    """How actions become interventions."""

    space: spaces.Space
    nodes: tuple[str, ...]

    @abstractmethod
    def check(self, action: Any) -> Any:
        """Validate one action; return it in canonical form (``int`` or float array)."""

    @abstractmethod
    def check_batch(self, actions: Any, n: int) -> np.ndarray:
        """Validate a batch of ``n`` actions; return it as an array."""

    @abstractmethod
    def values(self, actions: np.ndarray) -> dict[str, np.ndarray]:
        """The value each node takes under a batch of actions (one float64 array per node)."""

    def to_interventions(self, actions: np.ndarray) -> dict[str, Hard]:
        """Interventions for a batch of actions (one value per unit): ``Hard`` of :meth:`values`."""
        return {v: Hard(x) for v, x in self.values(actions).items()}

    @abstractmethod
    def cost(self, actions: np.ndarray) -> np.ndarray:
        """Cost of each action in a batch."""

    def enumerate(self) -> list[Any]:
        """Every action, for finite spaces (oracles and potential outcomes)."""
        raise ActionError("a continuous action space cannot be enumerated")

    def label(self, action: Any) -> str:
        return str(action)

    def repeat(self, action: Any, n: int) -> np.ndarray:
        """A batch of ``n`` copies of one action (a label or an action), as ``check_batch`` returns."""
        a = self.index(action)
        if isinstance(a, (int, np.integer)):
            return np.full(n, int(a), dtype=np.int64)
        return np.repeat(np.asarray(a, dtype=np.float64)[None, :], n, axis=0)

    def index(self, action: Any) -> Any:
        """The canonical action for a label or an action (labels exist for discrete maps only).

        Lenient where ``check`` is strict: a one-dimensional action may be a scalar.
        """
        if isinstance(action, str):
            raise ActionError(f"continuous actions have no names; give {len(self.nodes)} number(s)")
        if len(self.nodes) == 1 and np.ndim(action) == 0:
            action = [action]
        return self.check(action)


class DiscreteActions(ActionMap):
    """Named choices, each setting one or more nodes (``Discrete(k)`` space).

    Parameters
    ----------
    choices : mapping label -> {node: value}
        Every choice must set the same nodes.
    costs : mapping label -> cost, optional (default 0)
    """

    def __init__(self, choices: Mapping[str, Mapping[str, float]],
                 costs: Mapping[str, float] | None = None) -> None:
        if not isinstance(choices, Mapping) or len(choices) < 2:
            raise ScenarioError("DiscreteActions needs at least two named choices")
        self.labels = tuple(choices)
        nodes = None
        for label, setting in choices.items():
            if not isinstance(setting, Mapping) or not setting:
                raise ScenarioError(f"choice {label!r} must map nodes to values")
            if nodes is None:
                nodes = tuple(setting)
            elif set(setting) != set(nodes):
                raise ScenarioError(f"choice {label!r} sets {sorted(setting)}, others set {sorted(nodes)}")
        self.nodes = nodes
        self._table = {v: np.array([float(choices[a][v]) for a in self.labels]) for v in nodes}
        costs = dict(costs or {})
        unknown = set(costs) - set(self.labels)
        if unknown:
            raise ScenarioError(f"costs given for unknown choices {sorted(unknown)}")
        self._costs = np.array([float(costs.get(a, 0.0)) for a in self.labels])
        self.space = spaces.Discrete(len(self.labels))

    def index(self, action: Any) -> int:
        """The index of an action given by label or index."""
        if isinstance(action, str):
            if action not in self.labels:
                raise ActionError(f"unknown action {action!r}; actions: {', '.join(self.labels)}")
            return self.labels.index(action)
        return self.check(action)

    def check(self, action: Any) -> int:
        if isinstance(action, str):
            return self.index(action)
        arr = np.asarray(action)
        if isinstance(action, bool) or arr.shape != () or arr.dtype.kind not in "iu":
            raise ActionError(f"action must be one integer in 0..{len(self.labels) - 1} "
                              f"({', '.join(self.labels)}) or its label, as the space "
                              f"Discrete({len(self.labels)}) holds; got {action!r}")
        a = int(arr)
        if not 0 <= a < len(self.labels):
            raise ActionError(f"action {a} is outside 0..{len(self.labels) - 1} "
                              f"({', '.join(self.labels)})")
        return a

    def check_batch(self, actions: Any, n: int) -> np.ndarray:
        arr = np.asarray(actions)
        if arr.shape != (n,):
            raise ActionError(f"expected {n} actions (shape ({n},)), got shape {arr.shape}")
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise ActionError("actions must be integers; got NaN or fractional values")
        elif arr.dtype.kind not in "iu":
            raise ActionError(f"actions must be integers, got dtype {arr.dtype}")
        arr = arr.astype(np.int64)
        bad = (arr < 0) | (arr >= len(self.labels))
        if bad.any():
            raise ActionError(f"action {arr[bad][0]} is outside 0..{len(self.labels) - 1}")
        return arr

    def values(self, actions: np.ndarray) -> dict[str, np.ndarray]:
        return {v: table[actions] for v, table in self._table.items()}

    def value(self, node: str, actions: np.ndarray) -> np.ndarray:
        """The value an action batch gives ``node``."""
        return self._table[node][actions]

    def cost(self, actions: np.ndarray) -> np.ndarray:
        return self._costs[np.asarray(actions, dtype=np.int64)]

    def enumerate(self) -> list[int]:
        return list(range(len(self.labels)))

    def label(self, action: Any) -> str:
        return self.labels[int(action)]


class ContinuousActions(ActionMap):
    """Doses: a ``Box(low, high)`` action sets each of ``nodes`` to its component.

    Parameters
    ----------
    nodes : sequence of node names (one per action component)
    low, high : bounds per component
    cost_per_unit : cost per unit of each component (the cost is the dot product)
    """

    def __init__(self, nodes: Sequence[str] | str, low: Sequence[float] | float,
                 high: Sequence[float] | float, cost_per_unit: Sequence[float] | float = 0.0) -> None:
        self.nodes = (nodes,) if isinstance(nodes, str) else tuple(nodes)
        d = len(self.nodes)
        self.low = np.broadcast_to(np.asarray(low, dtype=np.float64), (d,)).copy()
        self.high = np.broadcast_to(np.asarray(high, dtype=np.float64), (d,)).copy()
        if not (np.all(np.isfinite(self.low)) and np.all(np.isfinite(self.high))
                and np.all(self.low < self.high)):
            raise ScenarioError("ContinuousActions needs finite bounds with low < high")
        self._price = np.broadcast_to(np.asarray(cost_per_unit, dtype=np.float64), (d,)).copy()
        self.space = spaces.Box(self.low, self.high, dtype=np.float64)

    def check(self, action: Any) -> np.ndarray:
        try:
            arr = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError):
            raise ActionError(f"action must be {len(self.nodes)} number(s), got {action!r}") from None
        if arr.shape != (len(self.nodes),):
            raise ActionError(f"action must have shape ({len(self.nodes)},) like the action space, "
                              f"got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ActionError(f"action must be finite, got {action!r}")
        if np.any(arr < self.low) or np.any(arr > self.high):
            raise ActionError(f"action {arr.tolist()} is outside [{self.low.tolist()}, "
                              f"{self.high.tolist()}]")
        return arr

    def check_batch(self, actions: Any, n: int) -> np.ndarray:
        arr = np.asarray(actions, dtype=np.float64)
        if arr.ndim == 1 and len(self.nodes) == 1:
            arr = arr[:, None]
        if arr.shape != (n, len(self.nodes)):
            raise ActionError(f"expected actions of shape ({n}, {len(self.nodes)}), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ActionError("actions must be finite")
        if np.any(arr < self.low) or np.any(arr > self.high):
            raise ActionError(f"actions outside [{self.low.tolist()}, {self.high.tolist()}]")
        return arr

    def values(self, actions: np.ndarray) -> dict[str, np.ndarray]:
        arr = np.asarray(actions, dtype=np.float64).reshape(len(actions), len(self.nodes))
        return {v: np.ascontiguousarray(arr[:, j]) for j, v in enumerate(self.nodes)}

    def value(self, node: str, actions: np.ndarray) -> np.ndarray:
        arr = np.asarray(actions, dtype=np.float64).reshape(len(actions), len(self.nodes))
        return arr[:, self.nodes.index(node)]

    def cost(self, actions: np.ndarray) -> np.ndarray:
        arr = np.asarray(actions, dtype=np.float64).reshape(len(actions), len(self.nodes))
        return arr @ self._price

    def label(self, action: Any) -> str:
        return ", ".join(f"{v}={x:.3g}" for v, x in zip(self.nodes, np.ravel(action), strict=True))
