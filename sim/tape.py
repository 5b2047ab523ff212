"""The exogenous noise tape of an episode.

Everything random in an episode is drawn once, at reset, from the episode's
generator: each unit's SCM noise (one row per decision point) and the
timeline's standard exponential draws. The tape *is* the episode's world:
replaying it under another policy gives the paired counterfactual episode.

How a scenario's tape is drawn is a :class:`TapePlan`: a short list of
generator calls, each filling rows of a preallocated ``(nodes, max_units)``
block (consecutive nodes of the same family share one call: the generator
hands out the same stream either way), then the affine part of each
distribution applied to its row. :func:`draw_tape` and the vector environment
both draw through it, so a sub-environment's tape equals the single
environment's to the last bit.

Examples
--------
>>> from sim.testing import ToyScenario
>>> plan = TapePlan.of(ToyScenario(max_units=4))
>>> plan.nodes[:2], plan.units, plan.draws
(('x', 'u'), 4, 5)
>>> tape = draw_tape(ToyScenario(max_units=4), np.random.default_rng(0))
>>> len(tape), tape.exponentials.shape
(4, (5,))
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from causal.noise import Exponential, Noise, Normal, Uniform
from sim.scenario import Scenario

__all__ = ["Tape", "TapePlan", "draw_tape"]


@dataclass(frozen=True)
class Tape:
    """An episode's exogenous draws.

    Attributes
    ----------
    noise : dict node -> array of shape ``(max_units,)``
        Unit ``i``'s noise is row ``i``.
    exponentials : array
        Standard exponential draws consumed by the timeline, in order.
    """

    noise: dict[str, np.ndarray]
    exponentials: np.ndarray

    def unit(self, i: int) -> dict[str, np.ndarray]:
        """Unit ``i``'s noise as length-1 arrays."""
        return {v: arr[i:i + 1] for v, arr in self.noise.items()}

    def __len__(self) -> int:
        return len(next(iter(self.noise.values()))) if self.noise else 0

    def __repr__(self) -> str:
        """A one-line summary instead of every draw."""
        return (f"<Tape: {len(self)} units x {len(self.noise)} noise nodes, "
                f"{len(self.exponentials)} timeline draws>")


_Gen = np.random.Generator


def _standard(dist: Noise) -> tuple[object, float | None, float | None] | None:
    """The generator method drawing ``dist``'s standard form, and the scale and shift turning it
    into ``dist.sample`` (the same float operations in the same order), or ``None``."""
    kind = type(dist)
    if kind is Normal:
        return (_Gen.standard_normal, dist.sd if dist.sd != 1.0 else None,
                dist.mean if dist.mean != 0.0 else None)
    if kind is Uniform:
        if (dist.low, dist.high) == (0.0, 1.0):
            return _Gen.random, None, None
        return _Gen.random, dist.high - dist.low, dist.low
    if kind is Exponential:  # numpy: scale * standard_exponential()
        return _Gen.standard_exponential, float(dist.scale) if dist.scale != 1.0 else None, None
    return None


class TapePlan:
    """The generator calls that draw a scenario's tape, in order.

    Parameters
    ----------
    scenario : Scenario

    Attributes
    ----------
    nodes : tuple of str
        The noise nodes, in drawing (topological) order: row ``i`` of a noise block is ``nodes[i]``.
    units : int
        Units per episode (``max_units``): the length of each row.
    draws : int
        Standard exponential draws of the timeline.

    Notes
    -----
    Normal, uniform and exponential noise is drawn in its standard form with
    ``out=`` straight into the block, consecutive nodes of one family in a
    single call, and :meth:`finish` applies the scale and shift afterwards,
    to any number of blocks at once. Other distributions call their own
    ``sample``. The result equals drawing node by node with ``Noise.sample``
    bit for bit.
    """

    def __init__(self, scenario: Scenario) -> None:
        items = scenario.noise_items
        m = scenario.params.max_units
        self.nodes: tuple[str, ...] = tuple(v for v, _ in items)
        self.units = m
        self.draws = m * max(1, scenario.timeline.draws_per_unit) + 1
        calls: list[tuple[int, int, object, Noise | None]] = []
        affine: list[tuple[int, float | None, float | None]] = []
        for i, (_, dist) in enumerate(items):
            std = _standard(dist)
            if std is None:
                calls.append((i, i + 1, None, dist))
                continue
            method, scale, shift = std
            if calls and calls[-1][2] is method and calls[-1][1] == i:
                calls[-1] = (calls[-1][0], i + 1, method, None)
            else:
                calls.append((i, i + 1, method, None))
            if scale is not None or shift is not None:
                affine.append((i, scale, shift))
        self._calls = tuple(calls)
        self._affine = tuple(affine)

    _cache: weakref.WeakKeyDictionary[Scenario, TapePlan] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, scenario: Scenario) -> TapePlan:
        """The plan of ``scenario`` (made once per scenario object)."""
        plan = cls._cache.get(scenario)
        if plan is None:
            plan = cls._cache[scenario] = cls(scenario)
        return plan

    def fill(self, rng: np.random.Generator, noise: np.ndarray, exponentials: np.ndarray) -> None:
        """Draw one episode from ``rng`` into ``noise`` ``(len(nodes), units)`` and ``exponentials``
        ``(draws,)`` (both C-contiguous float64). Follow with :meth:`finish`."""
        for start, stop, method, dist in self._calls:
            if method is None:
                noise[start] = dist.sample(self.units, rng)
            else:
                method(rng, out=noise[start:stop])
        rng.standard_exponential(out=exponentials)

    def finish(self, noise: np.ndarray) -> None:
        """Scale and shift the rows of noise blocks ``(..., len(nodes), units)`` filled by :meth:`fill`,
        in place."""
        for i, scale, shift in self._affine:
            row = noise[..., i, :]
            if scale is not None:
                row *= scale
            if shift is not None:
                row += shift

    def draw(self, rng: np.random.Generator) -> Tape:
        """A new tape drawn from ``rng``."""
        noise = np.empty((len(self.nodes), self.units))
        exponentials = np.empty(self.draws)
        self.fill(rng, noise, exponentials)
        self.finish(noise)
        return Tape(dict(zip(self.nodes, noise, strict=True)), exponentials)


def draw_tape(scenario: Scenario, rng: np.random.Generator) -> Tape:
    """Draw an episode's tape from ``rng`` (nodes in topological order, then the timeline)."""
    return TapePlan.of(scenario).draw(rng)
