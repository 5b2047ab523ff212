"""Identification: can an effect be computed from observational data, and how?

* :mod:`causal.identify.adjustment` — back-door sets (every minimal one by
  polynomial-delay enumeration of minimal separators, or one of minimum size
  by max-flow), the generalized adjustment criterion, front-door sets (all
  minimal ones, or one in polynomial time), unconditional and conditional
  instruments;
* :mod:`causal.identify.id_algorithm` — the complete ID algorithm of Shpitser
  and Pearl (2006), with the hedge that blocks a non-identifiable effect;
* :mod:`causal.identify.expression` — probability formulas, printed and
  evaluated by plug-in on discrete data;
* :mod:`causal.identify.estimand` — :func:`identify`, which tries back-door,
  front-door, ID, then instruments, and returns an :class:`Estimand`.

``causal.identify`` (the attribute of the ``causal`` package) is the function;
import from this subpackage with ``from causal.identify import ...``.
"""

from causal.identify.adjustment import (
    Instrument,
    adjustment_sets,
    frontdoor_sets,
    instruments,
    is_valid_adjustment,
    minimal_frontdoor_set,
    minimum_adjustment_set,
)
from causal.identify.estimand import Estimand, identify
from causal.identify.expression import Expression, PositivityWarning
from causal.identify.id_algorithm import Hedge, HedgeError, id_algorithm, is_identifiable

__all__ = [
    "Instrument",
    "adjustment_sets",
    "frontdoor_sets",
    "instruments",
    "is_valid_adjustment",
    "minimal_frontdoor_set",
    "minimum_adjustment_set",
    "Estimand",
    "identify",
    "Expression",
    "PositivityWarning",
    "Hedge",
    "HedgeError",
    "id_algorithm",
    "is_identifiable",
]
