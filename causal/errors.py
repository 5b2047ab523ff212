"""Exception types of causalsim's math layer.

Every error that causalsim raises on purpose derives from :class:`CausalSimError`
(and from :class:`ValueError`, so code that already catches ``ValueError`` keeps
working). Messages say what is wrong *and* what to change.
"""

from __future__ import annotations

__all__ = [
    "CausalSimError",
    "GraphError",
    "SpecError",
    "ModelError",
    "InterventionError",
    "CounterfactualError",
    "NotIdentifiable",
    "EstimationError",
]


class CausalSimError(ValueError):
    """Root of every exception causalsim raises deliberately."""


class GraphError(CausalSimError):
    """A graph is malformed: a cycle, a self-loop, an unknown or duplicate node."""


class SpecError(CausalSimError):
    """A declarative model specification (YAML or mapping) is invalid."""


class ModelError(CausalSimError):
    """An SCM is inconsistent, or evaluating it produced an invalid value."""


class InterventionError(CausalSimError):
    """An intervention names an unknown node or carries an unusable value."""


class CounterfactualError(CausalSimError):
    """A counterfactual query cannot be answered from the given evidence."""


class NotIdentifiable(CausalSimError):
    """A causal effect cannot be identified from the observational distribution."""


class EstimationError(CausalSimError):
    """An estimator cannot be fitted on the data it was given."""
