"""Interventions as data.

An intervention replaces (``Hard``) or modifies (``Shift``, ``Scale``) a node's
structural equation, or sets the node by a decision rule (``Policy``). They are
small frozen values, so agents can log, compare and hash them; a model takes
them as a ``dict[node, Intervention]``, where a bare number means ``Hard``.

A value may be a scalar or a per-unit array (one entry per unit).

Examples
--------
>>> as_intervention(9.99)
Hard(value=9.99)
>>> Shift(5).apply(np.array([1.0, 2.0]), 2)
array([6., 7.])
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from causal.errors import InterventionError

__all__ = ["Intervention", "Hard", "Shift", "Scale", "Policy", "as_intervention", "as_interventions",
           "check_units"]


def _value(x: Any, what: str) -> float | np.ndarray:
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, (int, float, np.integer, np.floating)):
        x = float(x)
        if not np.isfinite(x):
            raise InterventionError(f"{what} must be finite, got {x}")
        return x
    try:
        arr = np.array(x, dtype=float)  # a copy: freezing it must not freeze the caller's array
    except (TypeError, ValueError):
        raise InterventionError(f"{what} must be a number or an array of numbers, got {x!r}") from None
    if arr.ndim != 1:
        raise InterventionError(f"{what} must be a scalar or a 1-d per-unit array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InterventionError(f"{what} contains NaN or infinite entries")
    arr.setflags(write=False)
    return arr


def _per_unit(value: float | np.ndarray, n: int, index: np.ndarray | None, what: str):
    """Broadcast a scalar or a per-unit array to ``n`` rows (``index`` maps rows to units)."""
    if isinstance(value, float):
        return value
    if index is not None:
        return value[index]
    if value.shape[0] != n:
        raise InterventionError(f"{what} has {value.shape[0]} entries but there are {n} units; "
                                "give one value per unit or a scalar")
    return value


class Intervention(ABC):
    """Base of all interventions: ``apply`` maps the node's natural value to its new value."""

    #: Whether the intervention cuts the node's incoming edges.
    cuts_edges: bool = False

    @abstractmethod
    def apply(self, natural: np.ndarray | None, n: int, index: np.ndarray | None = None,
              values: Mapping[str, np.ndarray] | None = None,
              rng: np.random.Generator | None = None) -> np.ndarray | float:
        """New values of the node for ``n`` rows, given its ``natural`` value.

        ``index`` maps rows to units when several rows (particles) share one unit.
        """


@dataclass(frozen=True, eq=False)
class Hard(Intervention):
    """``do(X = value)``: the equation of X is replaced by a constant (or one per unit).

    The value need not be one the node takes naturally: a binary treatment
    logged as 0/1 may be set to a dose of 1.3 when its children's equations
    are defined there (the model, not the logging policy, says what happens).
    """

    value: float | np.ndarray
    cuts_edges = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _value(self.value, "Hard value"))

    def apply(self, natural, n, index=None, values=None, rng=None):
        v = _per_unit(self.value, n, index, "Hard value")
        return np.full(n, v) if isinstance(v, float) else np.array(v, dtype=float)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and np.array_equal(self.value, other.value)

    def __hash__(self) -> int:
        return hash((type(self).__name__, np.asarray(self.value).tobytes()))


@dataclass(frozen=True, eq=False)
class Shift(Intervention):
    """``X := f(parents, noise) + delta``: the natural value moved by ``delta``."""

    delta: float | np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "delta", _value(self.delta, "Shift delta"))

    def apply(self, natural, n, index=None, values=None, rng=None):
        return natural + _per_unit(self.delta, n, index, "Shift delta")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and np.array_equal(self.delta, other.delta)

    def __hash__(self) -> int:
        return hash((type(self).__name__, np.asarray(self.delta).tobytes()))


@dataclass(frozen=True, eq=False)
class Scale(Intervention):
    """``X := f(parents, noise) * factor``."""

    factor: float | np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "factor", _value(self.factor, "Scale factor"))

    def apply(self, natural, n, index=None, values=None, rng=None):
        return natural * _per_unit(self.factor, n, index, "Scale factor")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and np.array_equal(self.factor, other.factor)

    def __hash__(self) -> int:
        return hash((type(self).__name__, np.asarray(self.factor).tobytes()))


@dataclass(frozen=True)
class Policy(Intervention):
    """``X := fn(values, rng)``: a decision rule reading the unit's other variables.

    ``fn`` receives a mapping of node name to array (the variables named in
    ``inputs``) and a :class:`numpy.random.Generator` (for stochastic rules) and
    returns one value per row. ``inputs`` lists the variables the rule reads;
    they become the node's parents in the intervened graph and must not be
    descendants of it. ``None`` means the node's own parents.
    """

    fn: Callable[[Mapping[str, np.ndarray], np.random.Generator], Any]
    inputs: tuple[str, ...] | None = field(default=None)
    name: str = "policy"
    cuts_edges = True

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise InterventionError(f"Policy needs a callable fn(values, rng), got {self.fn!r}")
        if self.inputs is not None:
            if isinstance(self.inputs, str):
                object.__setattr__(self, "inputs", (self.inputs,))
            else:
                object.__setattr__(self, "inputs", tuple(self.inputs))

    def apply(self, natural, n, index=None, values=None, rng=None):
        if rng is None:
            raise InterventionError("Policy interventions need a random generator: pass seed=...")
        names = self.inputs if self.inputs is not None else tuple(values or ())
        out = self.fn({k: values[k] for k in names}, rng)
        arr = np.asarray(out, dtype=float)
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        if arr.shape != (n,):
            raise InterventionError(f"Policy {self.name!r} returned shape {arr.shape}, expected ({n},)")
        if not np.all(np.isfinite(arr)):
            raise InterventionError(f"Policy {self.name!r} returned NaN or infinite values")
        return arr


def check_units(interventions: Mapping[str, Intervention], n_units: int) -> None:
    """Raise if a per-unit value does not have one entry per unit."""
    for node, iv in interventions.items():
        for attr in ("value", "delta", "factor"):
            v = getattr(iv, attr, None)
            if isinstance(v, np.ndarray) and v.shape[0] != n_units:
                raise InterventionError(
                    f"intervention on {node!r}: {attr} has {v.shape[0]} entries but there are "
                    f"{n_units} units; give one value per unit or a scalar"
                )


def as_intervention(x: Any) -> Intervention:
    """An :class:`Intervention` from an intervention or a bare value (meaning :class:`Hard`)."""
    if isinstance(x, Intervention):
        return x
    return Hard(x)


def as_interventions(mapping: Mapping[str, Any] | None) -> dict[str, Intervention]:
    """Normalise a ``{node: intervention-or-value}`` mapping."""
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise InterventionError(
            f"interventions must be a mapping node -> value or Intervention, got {type(mapping).__name__}"
        )
    out = {}
    for node, x in mapping.items():
        if not isinstance(node, str):
            raise InterventionError(f"intervention keys must be node names, got {node!r}")
        out[node] = as_intervention(x)
    return out
