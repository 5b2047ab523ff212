"""Ice cream: correlation without causation, and an advert whose effect is confounded.

The story
---------
A beach kiosk sells ice cream and sunscreen. Hot days sell both, so the two
sales are strongly correlated, yet neither causes the other. Each morning the
owner decides whether to put out an ice-cream advert board (cost 10). In the
logged history the owner put it out on hot days and on festival days, which
also sell more: the naive comparison of days with and without the advert
overstates what the advert does.

The graph (``->`` cause, ``(hidden)`` unobserved)::

    temperature -> ice_cream, temperature -> sunscreen, temperature -> advert
    weekend     -> ice_cream, weekend -> advert
    festival (hidden) -> ice_cream, festival -> sunscreen, festival -> advert
    advert      -> ice_cream                  (and NOT -> sunscreen)

Variables: ``temperature`` (degC, N(25, 5)), ``weekend`` (0/1, p = 2/7),
``festival`` (hidden, 0/1, p = 0.1), ``advert`` (0/1: the action),
``ice_cream`` (cones/day), ``sunscreen`` (bottles/day).

Equations (``h`` = heterogeneity, ``s`` = noise, ``c`` = confounding, ``H`` =
1 with a hidden confounder, 0 without)::

    ice_cream = 20 + 3 temperature + 10 weekend + 25 festival
                + advert * (8 + 0.5 h (temperature - 25)) + N(0, (10 s)^2)
    sunscreen = 5 + 2 temperature + 15 festival + N(0, (8 s)^2)
    P(advert) = m + (1 - 2m) sigmoid(c (0.3 (temperature - 25) + 0.8 weekend + 2.5 H festival) - 0.5)

True effects (exact): the ATE of the advert on ice-cream sales is 8 cones/day;
the CATE is ``8 + 0.5 h (temperature - 25)``; the effect of the advert, or of
ice cream, on sunscreen is exactly 0. Reward: 2 per cone minus the advert's
cost 10, so advertising pays (6 per day on average) on days warmer than
19 degC when ``h = 1`` (where the CATE is 5 cones).

With the defaults the naive difference in ice-cream sales between advert and
no-advert days is about 27 cones (bias ~19): about 15 from temperature and
weekend (observed: adjusting for them removes it) and about 4 from festivals
(hidden: nothing observed removes it). Bias grows with ``confounding`` (about
31 naive at ``confounding=2``; 8, unbiased, at 0); turning ``hidden_confounder``
off leaves only the observed part, which adjustment removes.

References
----------
The ice-cream/sunscreen (or ice-cream/drowning) example of spurious correlation
is a classic of statistics teaching; see e.g. J. Pearl and D. Mackenzie, *The
Book of Why*, Basic Books, 2018, ch. 2.
"""

from __future__ import annotations

from dataclasses import dataclass

from causal.scm import SCM
from causal.spec import load_scm
from scenarios.common import KnobParams, propensity
from sim.actions import DiscreteActions
from sim.registry import env_factory, vector_factory
from sim.scenario import Scenario
from sim.timeline import Scheduled

__all__ = ["IceCreamParams", "IceCream", "make_env", "make_vec_env"]


@dataclass(frozen=True)
class IceCreamParams(KnobParams):
    """Knobs of the ice-cream scenario (see :class:`~scenarios.common.KnobParams`)."""

    max_units: int = 365


class IceCream(Scenario):
    """A kiosk deciding each day whether to advertise ice cream (see the module docstring).

    The observation is ``(temperature, weekend)``: ``weekend`` in {0, 1}; ``temperature`` is
    normal, so it has no ``context_bounds`` entry (its side of the observation space is unbounded).
    """

    name = "icecream"
    summary = "temperature drives ice-cream and sunscreen sales; an advert's effect is confounded"
    params_type = IceCreamParams
    context = ("temperature", "weekend")
    outcome = "ice_cream"

    def spec(self) -> dict:
        """The SCM as a spec mapping (every mechanism is expressible)."""
        p = self.params
        # without the hidden confounder, festival is not a parent of advert at all (not a 0 coefficient)
        hidden = " + 2.5 * festival" if p.hidden_confounder else ""
        logit = f"{p.confounding!r} * (0.3 * (temperature - 25) + 0.8 * weekend{hidden}) - 0.5"
        return {
            "name": "icecream",
            "description": self.summary,
            "nodes": {
                "temperature": {"noise": "normal(25, 5)", "unit": "degC"},
                "weekend": {"type": "binary", "p": 2 / 7},
                "festival": {"type": "binary", "p": 0.1, "hidden": True},
                "advert": {"type": "binary", "p": propensity(logit, p.overlap)},
                "ice_cream": {
                    "equation": "20 + 3 * temperature + 10 * weekend + 25 * festival"
                                f" + advert * (8 + {0.5 * p.heterogeneity!r} * (temperature - 25)) + noise",
                    "noise": f"normal(0, {10 * p.noise!r})", "unit": "cones/day"},
                "sunscreen": {"equation": "5 + 2 * temperature + 15 * festival + noise",
                              "noise": f"normal(0, {8 * p.noise!r})", "unit": "bottles/day"},
            },
        }

    def build_scm(self) -> SCM:
        return load_scm(self.spec())

    def build_actions(self) -> DiscreteActions:
        return DiscreteActions({"none": {"advert": 0.0}, "advert": {"advert": 1.0}}, costs={"advert": 10.0})

    def build_timeline(self) -> Scheduled:
        return Scheduled(interval=1.0, kind="day")

    def reward(self, values, actions):
        return {"revenue": 2.0 * values["ice_cream"], "cost": -self.actions.cost(actions)}


make_env = env_factory(IceCream)
make_vec_env = vector_factory(IceCream)
