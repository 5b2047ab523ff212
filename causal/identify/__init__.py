"""Identification of causal effects from a causal graph.

Adjustment (back-door and generalized), front-door and instrumental-variable
criteria live in :mod:`causal.identify.adjustment`.
"""

from causal.identify.adjustment import (
    Instrument,
    adjustment_sets,
    frontdoor_sets,
    instruments,
    is_valid_adjustment,
)

__all__ = [
    "Instrument",
    "adjustment_sets",
    "frontdoor_sets",
    "instruments",
    "is_valid_adjustment",
]

# The ID algorithm, probability expressions and estimands (issue 3).
from causal.identify.estimand import Estimand, identify  # noqa: E402
from causal.identify.expression import Expression, PositivityWarning  # noqa: E402
from causal.identify.id_algorithm import Hedge, HedgeError, id_algorithm, is_identifiable  # noqa: E402

__all__ += [
    "Estimand",
    "identify",
    "Expression",
    "PositivityWarning",
    "Hedge",
    "HedgeError",
    "id_algorithm",
    "is_identifiable",
]
