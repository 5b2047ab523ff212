"""Exception types of the simulation engine (all :class:`causal.errors.CausalSimError`)."""

from __future__ import annotations

from causal.errors import CausalSimError

__all__ = ["SimError", "ScenarioError", "ActionError", "QueryBudgetExceeded"]


class SimError(CausalSimError):
    """The engine was used in a way it cannot honour (e.g. stepping a finished episode)."""


class ScenarioError(SimError):
    """A scenario breaks the contract: bad parameters, leaking context, an unknown node."""


class ActionError(SimError):
    """An action is outside the action space, has the wrong shape, or is not finite."""


class QueryBudgetExceeded(SimError):
    """The episode's budget for causal queries is spent."""
