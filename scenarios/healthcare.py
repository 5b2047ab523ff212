"""Healthcare: confounding by indication, distance as an instrument, adherence as a front door.

The story
---------
Patients with an acute illness are admitted to a regional hospital (a Poisson
stream, 8 a day; time is in days). For each one the team chooses **standard
care**, **protocol A** (an aggressive regimen given at a specialist centre, so
it needs a transfer; cost 2.5) or **protocol B** (an enhanced regimen given
locally; cost 1). The record holds the patient's age, a comorbidity index, a
triage severity score and the distance from home to the specialist centre.
It does not hold how sick the patient really is: the score measures true
severity with error ("partially observed severity"). Outcomes: days to
recovery, and a serious adverse event within 30 days.

In the logged history doctors treated by indication: the sicker the patient
(by their clinical judgement, i.e. *true* severity), the likelier the
aggressive protocol. Sicker patients also recover more slowly, so in the
logged data protocol-A patients recover 1.2 days *slower* than standard-care
patients, although A shortens recovery by 4.5 days: confounding by
indication [1]_. Adjusting for the recorded covariates removes the part of the
bias they carry (3.4 days) but not the part carried by the severity the score
misses (2.3 days): no back-door set exists on the observed graph. Two designs
still identify the effect:

* **Distance as an instrument** [2]_. Patients living far from the specialist
  centre are transferred for protocol A less often. The *exclusion
  restriction* holds by construction: ``distance_km`` appears in no equation
  but the protocol's, and it is independent of everything about the patient
  (where people live is unrelated to their illness here). In real data both
  can fail (distance tracks rurality, income, time to hospital), which is
  why [2]_ uses *differential* distance and checks covariate balance across
  distance groups. Monotonicity holds too: living closer never makes A less
  likely. Protocol B is given locally, so its logged probability does not
  depend on distance: distance moves patients between A and standard care
  only, and the Wald/2SLS ratio ``Cov(Y, distance) / Cov(1[A], distance)``
  identifies the effect of A vs standard care for *compliers* (patients whose
  transfer depends on where they live) [4]_, given by
  :meth:`HealthcareTruth.complier_effect`.
* **Adherence as a front door** [3]_ (``variant="frontdoor"``). There the
  protocols differ only in the adherence support they give (the same drugs;
  A adds daily nurse visits, B weekly calls): they act on recovery only
  through the fraction of the regimen taken, which severity does not
  affect. Then ``P(y | do(a)) = sum_m P(m | a) sum_a' P(y | a', m) P(a')``
  although severity is hidden. In the standard variant the protocols also act
  directly and sicker patients adhere less, so the front door is closed and
  ``causal.identify.identify`` falls back to the instrument.

The graph (``->`` cause; severity is hidden)::

    age            -> comorbidity, severity_score, protocol, recovery_days, adverse_event
    comorbidity    -> severity_score, protocol, recovery_days, adverse_event
    severity_score -> severity                      (Berkson error, see below)
    severity       -> protocol       (hidden_confounder=True; else severity_score -> protocol)
    severity       -> recovery_days, adverse_event, adherence (the last: standard variant only)
    distance_km    -> protocol                      (and nothing else: exclusion restriction)
    protocol       -> adherence -> recovery_days
    protocol       -> recovery_days                 (standard variant only)
    protocol       -> adverse_event

The score comes first and true severity scatters around it (a Berkson error
model [5]_): the Scenario contract requires what the agent sees to depend on
nothing it does not see, so the hidden variable sits downstream of the
observed one. The edge ``severity_score -> severity`` encodes this
statistical dependence, not a cause: do not intervene on the score.

Variables: ``age`` (years), ``comorbidity`` (index 0-5, Charlson-type [6]_),
``severity_score`` (points), ``severity`` (points, hidden), ``distance_km``
(km), ``protocol`` (0 standard, 1 A, 2 B: the action), ``adherence``
(fraction of the regimen taken), ``recovery_days`` (days: the outcome),
``adverse_event`` (0/1).

Equations (``c`` = confounding, ``m = overlap / 6``, ``h`` = heterogeneity,
``s`` = noise; ``S*`` is ``severity`` with ``hidden_confounder`` and
``severity_score`` without; ``[A] = 1`` if protocol A)::

    age            = 60 + N(0, 12^2)
    P(comorbidity = k | age) proportional to w^k, k = 0..5,  w = 0.45 exp(0.04 (age - 60))
    severity_score = 5 + 0.04 (age - 60) + 0.5 (comorbidity - 1) + N(0, 1.2^2)
    severity       = severity_score + N(0, 1.2^2)
    distance_km    ~ exponential with mean 30
    b   = sigmoid(0.7 c (S* - 5) - 1.2)
    rho = sigmoid(c ((S* - 5) - 0.03 (age - 60) + 0.3 (comorbidity - 1)) - 0.04 (distance_km - 30))
    P(B) = m + (1 - 3m) b,  P(A) = m + (1 - 3m)(1 - b) rho,  P(standard) = m + (1 - 3m)(1 - b)(1 - rho)
    adherence      = clip(0.55 + 0.2 [A] + 0.1 [B] - 0.03 (severity - 5) + N(0, 0.08^2), 0, 1)
    k(x)           = 1 - h (0.015 (age - 60) + 0.15 (comorbidity - 1))
    recovery_days  = 20 + 2.5 (severity - 5) + 0.1 (age - 60) + (comorbidity - 1)
                     + k(x) (-15 (adherence - 0.55) - 1.5 [A] - 0.5 [B]) + N(0, (3 s)^2)
    logit P(adverse_event) = -3 + 0.35 (severity - 5) + 0.03 (age - 60) + 0.25 (comorbidity - 1)
                             + 0.9 [A] + 0.4 [B]

The front-door variant drops ``-0.03 (severity - 5)`` from adherence and
``-1.5 [A] - 0.5 [B]`` from recovery. Reward (in days-equivalent):
``-(recovery_days + 30 adverse_event) - cost``, costs 0 / 2.5 / 1 for
standard / A / B.

True effects
------------
Analytic, up to the clipping of adherence at 1 (which moves them by less
than 0.01 day): the CATE of A vs standard care on recovery is
``-4.5 k(x)`` days (B: ``-2 k(x)``); in the front-door variant ``-3 k(x)``
(B: ``-1.5 k(x)``), all through adherence (0.2 and 0.1 more of the regimen
taken, 15 days per unit). The ATE is the CATE at
``E[k] = 1 - 0.15 h (E[comorbidity] - 1) = 1.0026`` for ``h = 1``
(``E[comorbidity] = 0.9824``, Gauss-Hermite quadrature over age).

Monte Carlo with ``truth(n=1_000_000, seed=2024)`` (defaults; +- one standard
error, common random numbers):

==========================  ==================  ==================
quantity                    standard variant    front-door variant
==========================  ==================  ==================
ATE A vs standard (days)    -4.511 +- 0.001     -3.009 +- 0.001
ATE B vs standard (days)    -2.006 +- 0.001     -1.505 +- 0.0005
ATE on P(adverse), A        +0.0748 +- 0.0003   (same)
ATE on P(adverse), B        +0.0284 +- 0.0002   (same)
complier effect, A (IV)     -4.637 +- 0.002     -3.092 +- 0.002
value standard / A / B      -22.11 / -22.35 / -21.96 (+- 0.02)
==========================  ==================  ==================

On average protocol B is worth its cost and A is not, but A pays for young
patients with few comorbidities: the best action depends on the context.

The trap, measured on logged data (``observational(2_000_000, 777)``; naive
differences have SE 0.012, estimates below are population limits to +-0.03):

* naive E[recovery | A] - E[recovery | standard] = **+1.21** days: A looks
  harmful; bias +5.72 = 3.41 observed (removed by adjusting for ``age,
  comorbidity, severity_score``: -2.20) + 2.31 hidden;
* ``hidden_confounder=False``: naive -0.12 (bias +4.39, all observed);
  adjustment gives -4.51, the truth;
* front-door variant: naive +1.92, adjusted -1.07, front-door estimate -2.99
  (truth -3.01); the Wald estimate with distance is -4.70 +- 0.06 in the
  standard variant (complier effect -4.64).

Knobs (naive bias of A vs standard, days, same data sizes): ``confounding``
0 / 0.5 / 1 / 2 gives -0.03 / 4.18 / 5.72 / 6.01 (none without confounding,
then growing and saturating); ``overlap`` 0 / 0.2 / 0.6 / 1 gives 6.28 /
5.72 / 4.55 / 3.34 (a floor on the propensities mixes in randomisation);
``heterogeneity`` 0 / 1 / 2 / 4 gives 5.60 / 5.72 / 5.84 / 6.08 (patients sent
to A are more comorbid, so they benefit less than average); ``noise`` leaves
it unchanged (5.72 at 2) and only widens intervals; ``hidden_confounder=False``
leaves only bias that adjustment removes.

References
----------
.. [1] D. N. Kyriacou and R. J. Lewis, "Confounding by indication in clinical
   research", JAMA 316(17), 1818-1819, 2016.
.. [2] M. McClellan, B. J. McNeil and J. P. Newhouse, "Does more intensive
   treatment of acute myocardial infarction in the elderly reduce mortality?
   Analysis using instrumental variables", JAMA 272(11), 859-866, 1994.
.. [3] J. Pearl, "Causal diagrams for empirical research", Biometrika 82(4),
   669-688, 1995.
.. [4] G. W. Imbens and J. D. Angrist, "Identification and estimation of local
   average treatment effects", Econometrica 62(2), 467-475, 1994.
.. [5] J. Berkson, "Are there two regressions?", Journal of the American
   Statistical Association 45(250), 164-180, 1950.
.. [6] M. E. Charlson, P. Pompei, K. L. Ales and C. R. MacKenzie, "A new method
   of classifying prognostic comorbidity in longitudinal studies: development
   and validation", Journal of Chronic Diseases 40(5), 373-383, 1987.

Examples
--------
>>> from causal.identify import identify
>>> sc = Healthcare()
>>> sc.context
('age', 'comorbidity', 'severity_score', 'distance_km')
>>> identify(sc.scm.observed_graph, "protocol", "recovery_days").strategy
'iv'
>>> identify(Healthcare(variant="frontdoor").scm.observed_graph, "protocol", "recovery_days").strategy
'frontdoor'
>>> identify(Healthcare(hidden_confounder=False).scm.observed_graph, "protocol", "recovery_days").strategy
'backdoor'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from causal.scm import SCM, Effect
from causal.spec import load_scm
from scenarios.common import KnobParams
from sim.actions import DiscreteActions
from sim.errors import ScenarioError
from sim.registry import env_factory, vector_factory
from sim.scenario import Scenario, Truth
from sim.timeline import Poisson

__all__ = ["HealthcareParams", "Healthcare", "HealthcareTruth", "make_env", "make_vec_env"]

#: Days of recovery that one adverse event is worth in the reward.
ADVERSE_EVENT_DAYS = 30.0
#: Cost of each protocol, in days-equivalent (charged to the reward).
PROTOCOL_COSTS = {"standard": 0.0, "protocol_A": 2.5, "protocol_B": 1.0}
#: Mean distance to the specialist centre (km); distances are exponential.
DISTANCE_SCALE_KM = 30.0

_VARIANTS = ("standard", "frontdoor")
#: Distance (km) treated as "infinitely far" by the complier-effect bisection (weight < 1e-25).
_FAR_KM = 2000.0
#: Bisection steps: the threshold distance is found to 2000 / 2**36 < 1e-7 km.
_BISECTIONS = 36


@dataclass(frozen=True)
class HealthcareParams(KnobParams):
    """Knobs of the healthcare scenario (see :class:`~scenarios.common.KnobParams`).

    Attributes
    ----------
    variant : ``"standard"`` or ``"frontdoor"``
        ``"standard"``: the protocols act directly and through adherence, and
        true severity lowers adherence. ``"frontdoor"``: the protocols act
        only through adherence, which severity does not affect, so the
        front-door criterion identifies the effect despite hidden severity.
    arrival_rate : float
        Patients admitted per day (the Poisson timeline).
    confounding : float >= 0
        Strength of confounding by indication: how strongly severity (and age,
        comorbidity) drive the logged protocol choice. 0: only distance does.
    overlap : float in [0, 1]
        Each logged protocol has probability at least ``overlap / 6``.
    heterogeneity : float >= 0
        Effect modification: older and multimorbid patients benefit less.
    noise : float > 0
        Scale of the recovery-time noise (standard deviation ``3 * noise`` days).
    hidden_confounder : bool
        True: the logged choice follows the patient's true (hidden) severity;
        False: it follows only the measured severity score.
    """

    max_units: int = 200
    variant: Literal["standard", "frontdoor"] = "standard"
    arrival_rate: float = 8.0

    def validate(self) -> None:
        super().validate()
        if self.variant not in _VARIANTS:
            raise ScenarioError(f"variant must be one of {', '.join(map(repr, _VARIANTS))}, "
                                f"got {self.variant!r}")
        r = self.arrival_rate
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) or r <= 0:
            raise ScenarioError(f"arrival_rate must be a finite number > 0 (patients per day), got {r!r}")

    @property
    def floor(self) -> float:
        """Smallest logged probability of each protocol (``overlap / 6``)."""
        return self.overlap / 6

    @property
    def frontdoor(self) -> bool:
        """Whether this is the front-door variant."""
        return self.variant == "frontdoor"


class Healthcare(Scenario):
    """Admitted patients get standard care, protocol A or protocol B (see the module docstring).

    Context ``(age, comorbidity, severity_score, distance_km)``, with observation
    bounds ``comorbidity`` in 0..5 and ``distance_km`` in ``[0, inf)`` (``age`` and
    ``severity_score`` have normal noise: unbounded); action
    ``Discrete(3)``: 0 ``standard``, 1 ``protocol_A``, 2 ``protocol_B`` (costs
    0, 2.5, 1 days-equivalent); outcome ``recovery_days``; reward
    ``-(recovery_days + 30 adverse_event) - cost``; Poisson admissions.
    """

    name = "healthcare"
    summary = ("confounding by indication makes an effective protocol look harmful; "
               "distance is an instrument, adherence a front door")
    params_type = HealthcareParams
    context = ("age", "comorbidity", "severity_score", "distance_km")
    outcome = "recovery_days"
    #: distance_km is exponential: [0, inf). age and severity_score have normal noise (unbounded);
    #: comorbidity is categorical (0..5 by default).
    context_bounds = {"distance_km": (0.0, float("inf"))}
    params: HealthcareParams

    def spec(self) -> dict[str, Any]:
        """The SCM as a spec mapping (every mechanism is expressible: this is the YAML export)."""
        p = self.params
        c, h, m = p.confounding, p.heterogeneity, p.floor
        sev = "severity" if p.hidden_confounder else "severity_score"
        b = f"sigmoid({c!r} * 0.7 * ({sev} - 5) - 1.2)"
        rho = (f"sigmoid({c!r} * (({sev} - 5) - 0.03 * (age - 60) + 0.3 * (comorbidity - 1))"
               f" - 0.04 * (distance_km - {DISTANCE_SCALE_KM!r}))")
        keep = 1 - 3 * m
        probs = [f"{m!r} + {keep!r} * (1 - {b}) * (1 - {rho})",
                 f"{m!r} + {keep!r} * (1 - {b}) * {rho}",
                 f"{m!r} + {keep!r} * {b}"]
        is_a, is_b = "where(protocol == 1, 1, 0)", "where(protocol == 2, 1, 0)"
        modifier = f"(1 - {h!r} * (0.015 * (age - 60) + 0.15 * (comorbidity - 1)))"
        if p.frontdoor:
            adherence = f"clip(0.55 + 0.2 * {is_a} + 0.1 * {is_b} + noise, 0, 1)"
            direct = ""
        else:
            adherence = f"clip(0.55 + 0.2 * {is_a} + 0.1 * {is_b} - 0.03 * (severity - 5) + noise, 0, 1)"
            direct = f" - 1.5 * {is_a} - 0.5 * {is_b}"
        recovery = (f"20 + 2.5 * (severity - 5) + 0.1 * (age - 60) + 1.0 * (comorbidity - 1)"
                    f" + {modifier} * (-15 * (adherence - 0.55){direct}) + noise")
        w = "0.45 * exp(0.04 * (age - 60))"
        return {
            "name": "healthcare",
            "description": self.summary,
            "nodes": {
                "age": {"equation": "60 + noise", "noise": "normal(0, 12)", "unit": "years",
                        "description": "age at admission"},
                "comorbidity": {"type": "categorical",
                                "probs": [1.0, w] + [f"({w}) ** {k}" for k in range(2, 6)],
                                "unit": "index 0-5",
                                "description": "Charlson-type index (count of chronic conditions)"},
                "severity_score": {"equation": "5 + 0.04 * (age - 60) + 0.5 * (comorbidity - 1) + noise",
                                   "noise": "normal(0, 1.2)", "unit": "points",
                                   "description": "triage severity score: a noisy measurement of severity"},
                "severity": {"equation": "severity_score + noise", "noise": "normal(0, 1.2)",
                             "hidden": True, "unit": "points",
                             "description": "true severity (Berkson error around the score); not recorded"},
                "distance_km": {"noise": f"exponential({DISTANCE_SCALE_KM!r})", "unit": "km",
                                "description": "home to specialist centre (the instrument)"},
                "protocol": {"type": "categorical", "probs": probs,
                             "unit": "0 standard, 1 protocol A, 2 protocol B",
                             "description": "care pathway; this mechanism is the logged (behaviour) policy"},
                "adherence": {"equation": adherence, "noise": "normal(0, 0.08)", "unit": "fraction",
                              "description": "fraction of the prescribed regimen taken (the mediator)"},
                "recovery_days": {"equation": recovery, "noise": f"normal(0, {3 * p.noise!r})",
                                  "unit": "days", "description": "days from admission to recovery"},
                "adverse_event": {"type": "binary",
                                  "logit": f"-3 + 0.35 * (severity - 5) + 0.03 * (age - 60)"
                                           f" + 0.25 * (comorbidity - 1) + 0.9 * {is_a} + 0.4 * {is_b}",
                                  "unit": "0/1", "description": "serious adverse event within 30 days"},
            },
        }

    def build_scm(self) -> SCM:
        return load_scm(self.spec())

    def build_actions(self) -> DiscreteActions:
        return DiscreteActions({"standard": {"protocol": 0.0}, "protocol_A": {"protocol": 1.0},
                                "protocol_B": {"protocol": 2.0}}, costs=PROTOCOL_COSTS)

    def build_timeline(self) -> Poisson:
        return Poisson(rate=float(self.params.arrival_rate), kind="admission")

    def reward(self, values: Mapping[str, np.ndarray], actions: np.ndarray) -> dict[str, np.ndarray]:
        """Components ``recovery`` (minus days), ``adverse`` (minus 30 per event), ``cost``."""
        return {"recovery": -np.asarray(values["recovery_days"], dtype=float),
                "adverse": -ADVERSE_EVENT_DAYS * np.asarray(values["adverse_event"], dtype=float),
                "cost": -self.actions.cost(actions)}

    def truth(self, n: int = 100_000, seed: int = 0) -> HealthcareTruth:
        return HealthcareTruth(self, n=n, seed=seed)


class HealthcareTruth(Truth):
    """:class:`~sim.scenario.Truth` plus the estimand of the distance instrument.

    Examples
    --------
    >>> truth = Healthcare().truth(n=20_000)
    >>> round(truth.ate("protocol_A", "standard").value, 1)
    -4.5
    >>> late = truth.complier_effect()
    >>> bool(abs(late.value - truth.ate("protocol_A", "standard").value) < 0.5)
    True
    """

    scenario: Healthcare

    def complier_effect(self, node: str | None = None) -> Effect:
        """The effect of protocol A vs standard care that distance identifies (the IV estimand).

        Distance moves patients between protocol A and standard care only (the
        logged probability of protocol B does not depend on it), so the Wald /
        2SLS ratio ``Cov(Y, distance) / Cov(1[A], distance)`` equals a weighted
        mean of the units' own effects ``Y(A) - Y(standard)``: the weight of a
        unit is ``-Cov(1[A](d), d)`` over the distance distribution, which is
        positive exactly for *compliers* (patients who get A when living close
        and standard care when living far) and zero for the others [1]_. With
        distance exponential with mean ``s``, a unit that gets A exactly when
        ``d < d*`` has weight ``d* exp(-d* / s)``; ``d*`` is found by bisection on
        the SCM's own protocol mechanism.

        Parameters
        ----------
        node : str, optional
            Outcome node (default ``recovery_days``).

        Returns
        -------
        Effect
            The weighted mean over this truth's ``n`` units, with its
            delta-method Monte-Carlo standard error.

        References
        ----------
        .. [1] G. W. Imbens and J. D. Angrist, "Identification and estimation of
           local average treatment effects", Econometrica 62(2), 467-475, 1994.
        """
        sc = self.scenario
        y = node or sc.outcome
        std = self.values("standard")
        trt = self.values("protocol_A")
        delta = np.asarray(trt[y] - std[y], dtype=float)
        mech = sc.scm.mechanisms["protocol"]
        u = self.noise["protocol"]
        n = self.n

        def probs(d: np.ndarray, keep: np.ndarray) -> np.ndarray:
            parents = {v: std[v][keep] for v in mech.parents if v != "distance_km"}
            return mech.probabilities({**parents, "distance_km": d}, int(keep.sum()))

        everyone = np.ones(n, dtype=bool)
        near = probs(np.zeros(n), everyone)
        far = probs(np.full(n, _FAR_KM), everyone)
        if not np.allclose(near[:, 2], far[:, 2], rtol=0, atol=1e-12):
            raise ScenarioError("internal: the logged probability of protocol B depends on distance")
        # A iff p_standard(d) <= u < 1 - p_B; p_standard rises with d, so A iff d < d*.
        cand = (u >= near[:, 0]) & (u < 1 - near[:, 2])
        lo = np.zeros(int(cand.sum()))
        hi = np.full_like(lo, _FAR_KM)
        uc = u[cand]
        for _ in range(_BISECTIONS):
            mid = (lo + hi) / 2
            below = probs(mid, cand)[:, 0] <= uc
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        weight = np.zeros(n)
        weight[cand] = lo * np.exp(-lo / DISTANCE_SCALE_KM)
        total = weight.sum()
        value = float(weight @ delta / total)
        stderr = float(np.sqrt(np.sum((weight * (delta - value)) ** 2)) / total)
        return Effect(value, stderr, n)


make_env = env_factory(Healthcare)
make_vec_env = vector_factory(Healthcare)
