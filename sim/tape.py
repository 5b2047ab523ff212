"""The exogenous noise tape of an episode.

Everything random in an episode is drawn once, at reset, from the episode's
generator: each unit's SCM noise (one row per decision point) and the
timeline's standard exponential draws. The tape *is* the episode's world:
replaying it under another policy gives the paired counterfactual episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from causal.noise import Normal
from sim.scenario import Scenario

__all__ = ["Tape", "draw_tape"]


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


def draw_tape(scenario: Scenario, rng: np.random.Generator) -> Tape:
    """Draw an episode's tape from ``rng`` (nodes in topological order, then the timeline)."""
    m = scenario.params.max_units
    noise = {}
    items = scenario.noise_items
    i = 0
    while i < len(items):  # consecutive Normal nodes: one standard_normal call (the same stream)
        j = i
        while j < len(items) and type(items[j][1]) is Normal:
            j += 1
        if j - i < 2:
            v, dist = items[i]
            noise[v] = dist.sample(m, rng)
            i += 1
            continue
        block = rng.standard_normal((j - i, m))
        for (v, dist), row in zip(items[i:j], block, strict=True):
            if dist.sd != 1.0:  # the operations of Normal.sample, in its order: bit for bit
                row *= dist.sd
            if dist.mean != 0.0:
                row += dist.mean
            noise[v] = row
        i = j
    draws = m * max(1, scenario.timeline.draws_per_unit) + 1
    return Tape(noise, rng.standard_exponential(draws))
