"""Timelines: simpy processes that produce decision points.

A scenario's world runs on a simpy clock. Its :class:`Timeline` is a simpy
process that waits (arrivals, hazards, review windows) and then announces a
decision point with ``yield clock.decision(kind)``; the process resumes when the
agent has acted, so state that persists between decision points (budgets,
fatigue, stocks) can evolve there through the scenario's ``transition``.

Every random draw of a timeline comes from the episode's tape of standard
exponential variates (``clock.exponential()``), never from a generator of its
own, so replaying the tape replays the clock — under another policy too,
through the dynamics. Timelines whose decision times do not depend on the
state (``static``) also give the same times in closed form, vectorized over
episodes (:meth:`Timeline.times`), which the vector environment uses; the two
agree to the last bit (same float operations in the same order).

Examples
--------
>>> import numpy as np
>>> clock = Clock(Poisson(rate=2.0), np.ones(10), max_units=3)
>>> [p.time for p in iter(clock.advance, None)]
[0.5, 1.0, 1.5]
>>> Poisson(rate=2.0).times(np.ones((1, 3))).tolist()
[[0.5, 1.0, 1.5]]
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from sim.errors import ScenarioError, SimError

__all__ = ["DecisionPoint", "Clock", "Timeline", "Poisson", "Scheduled", "StateDependent"]


@dataclass(frozen=True)
class DecisionPoint:
    """A moment at which the agent must act: simulated ``time``, a ``kind`` and the unit's index."""

    time: float
    kind: str
    unit: int


class Clock:
    """A simpy environment driving one episode's :class:`Timeline`.

    Parameters
    ----------
    timeline : Timeline
    exponentials : array of standard exponential variates
        The episode's timeline tape; ``exponential()`` hands them out in order.
    max_units : int
        The episode ends after this many decision points.
    horizon : float
        The episode ends at this simulated time.
    state : callable returning the current state mapping (for state-dependent timelines)
    """

    def __init__(self, timeline: Timeline, exponentials: np.ndarray, *, max_units: int,
                 horizon: float = math.inf, state: Callable[[], Mapping[str, Any]] | None = None) -> None:
        self.env = simpy.Environment()
        self._tape = exponentials
        self._next = 0
        self._max_units = max_units
        self._horizon = horizon
        self._state = state or dict
        self._units = 0
        self._waiting: simpy.Event | None = None
        self._pending: DecisionPoint | None = None
        #: Whether the timeline itself has no further decision point (its process ended), as
        #: opposed to the episode being cut by ``max_units`` or the ``horizon``.
        self.exhausted = False
        self.env.process(timeline.process(self))

    @property
    def now(self) -> float:
        """Simulated time."""
        return float(self.env.now)

    @property
    def state(self) -> Mapping[str, Any]:
        """The scenario's current state (read-only use by timelines)."""
        return self._state()

    def exponential(self) -> float:
        """The next standard exponential draw of the timeline tape."""
        if self._next >= len(self._tape):
            raise SimError("the timeline used more random draws than the episode tape holds; "
                           "set the timeline's draws_per_unit")
        e = float(self._tape[self._next])
        self._next += 1
        return e

    def decision(self, kind: str = "unit") -> simpy.Event:
        """Announce a decision point now; the returned event fires once the agent has acted."""
        self._waiting = self.env.event()
        self._pending = DecisionPoint(self.now, kind, self._units)
        return self._waiting

    def advance(self) -> DecisionPoint | None:
        """Let the agent's last action take effect and run to the next decision point.

        Returns ``None`` when the episode is over (horizon, unit count, or the
        timeline's process ended).
        """
        if self._waiting is not None:
            self._waiting.succeed()
            self._waiting = None
            self._units += 1
        self._pending = None
        if self._units >= self._max_units:
            return None
        env = self.env
        while self._pending is None:
            if env.peek() == math.inf:
                self.exhausted = True
                return None
            if env.peek() > self._horizon:
                return None
            env.step()
        if self._pending.time > self._horizon:
            return None
        return self._pending


class Timeline(ABC):
    """A simpy process producing decision points (see :class:`Clock`)."""

    @abstractmethod
    def process(self, clock: Clock) -> Generator[simpy.Event, Any, None]:
        """The simpy process; ``yield clock.decision(kind)`` at each decision point."""

    #: Draws of the tape used per decision point (at most); sizes the tape.
    draws_per_unit: int = 1
    #: Whether decision times are independent of the state (then :meth:`times` works).
    static: bool = True
    #: The kind of decision point this timeline announces.
    kind: str = "unit"
    #: Decision points the timeline produces in all, when it ends by itself (``None``: it runs
    #: on). An episode that reaches them *terminates*; one cut earlier by ``max_units`` or the
    #: horizon is *truncated*.
    length: int | None = None

    def times(self, exponentials: np.ndarray) -> np.ndarray:
        """Decision times ``(m, k)`` of ``m`` episodes from their tapes ``(m, k * draws_per_unit)``."""
        raise SimError(f"{type(self).__name__} has no closed-form decision times")


@dataclass(frozen=True)
class Poisson(Timeline):
    """Arrivals of a Poisson process with ``rate`` per unit of time (exponential gaps)."""

    rate: float
    kind: str = "arrival"

    def __post_init__(self) -> None:
        if isinstance(self.rate, bool) or not (isinstance(self.rate, (int, float))
                                               and math.isfinite(self.rate) and self.rate > 0):
            raise ScenarioError(f"Poisson rate must be a positive number, got {self.rate!r}")

    def process(self, clock: Clock):
        while True:
            yield clock.env.timeout(clock.exponential() / self.rate)
            yield clock.decision(self.kind)

    def times(self, exponentials: np.ndarray) -> np.ndarray:
        return np.cumsum(exponentials / self.rate, axis=1)


@dataclass(frozen=True)
class Scheduled(Timeline):
    """Decision points every ``interval`` units of time, the first at ``start``."""

    interval: float
    start: float = 0.0
    kind: str = "review"
    draws_per_unit = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.interval, (int, float)) and math.isfinite(self.interval)
                and self.interval > 0):
            raise ScenarioError(f"Scheduled interval must be a positive number, got {self.interval!r}")
        if not math.isfinite(self.start) or self.start < 0:
            raise ScenarioError(f"Scheduled start must be >= 0, got {self.start!r}")

    def process(self, clock: Clock):
        if self.start:
            yield clock.env.timeout(self.start)
        while True:
            yield clock.decision(self.kind)
            yield clock.env.timeout(self.interval)

    def times(self, exponentials: np.ndarray) -> np.ndarray:
        m, k = exponentials.shape
        steps = np.full((m, k), float(self.interval))
        steps[:, 0] = float(self.start)
        return np.cumsum(steps, axis=1)


@dataclass(frozen=True)
class StateDependent(Timeline):
    """Poisson arrivals whose rate is ``rate(state)`` at each gap (e.g. fatigue slows work)."""

    rate: Callable[[Mapping[str, Any]], float]
    kind: str = "arrival"
    static = False

    def process(self, clock: Clock):
        while True:
            r = float(self.rate(clock.state))
            if not (math.isfinite(r) and r > 0):
                raise ScenarioError(f"StateDependent rate must be positive, got {r} in state "
                                    f"{dict(clock.state)}")
            yield clock.env.timeout(clock.exponential() / r)
            yield clock.decision(self.kind)
