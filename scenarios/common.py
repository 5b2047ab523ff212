"""What every scenario shares: the difficulty knobs and a propensity helper."""

from __future__ import annotations

from dataclasses import dataclass

from sim.errors import ScenarioError
from sim.scenario import Params

__all__ = ["KnobParams", "propensity"]


@dataclass(frozen=True)
class KnobParams(Params):
    """The difficulty knobs, the same across scenarios where they make sense.

    Attributes
    ----------
    confounding : float >= 0
        Strength with which the confounders drive the logged (behaviour) action;
        0 makes logged data as good as randomised. Bias of naive comparisons grows with it.
    overlap : float in [0, 1]
        Floor on logged propensities: they lie in ``[overlap / 4, 1 - overlap / 4]``.
        0 allows propensities near 0 and 1 (poor overlap); 1 keeps them in [0.25, 0.75].
    heterogeneity : float >= 0
        Scale of effect modification: 0 makes the effect the same for every unit.
    noise : float > 0
        Scale of the outcome noise.
    hidden_confounder : bool
        Whether a hidden variable confounds the logged action; without it,
        adjusting for the observed covariates removes all bias.
    """

    confounding: float = 1.0
    overlap: float = 0.2
    heterogeneity: float = 1.0
    noise: float = 1.0
    hidden_confounder: bool = True

    def validate(self) -> None:
        super().validate()
        self.check_nonnegative("confounding", "heterogeneity")
        self.check_unit_interval(overlap=self.overlap)
        self.check_nonnegative("noise", strict=True)
        if not isinstance(self.hidden_confounder, bool):
            raise ScenarioError(f"hidden_confounder must be True or False, got {self.hidden_confounder!r}")


def propensity(logit: str, overlap: float) -> str:
    """Spec text of a logged propensity ``m + (1 - 2m) sigmoid(logit)`` with ``m = overlap / 4``.

    >>> propensity("x", 0.2)
    '0.05 + 0.9 * sigmoid(x)'
    """
    m = overlap / 4
    return f"{m!r} + {1 - 2 * m!r} * sigmoid({logit})"
