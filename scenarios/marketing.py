"""Marketing: four uplift segments, targeting bias, a weekly budget and a natural experiment.

The story
---------
An online shop decides, for each customer who shows up during the week
(Poisson arrivals, 25 a week; an episode is a 4-week campaign), whether to
send nothing, an e-mail (cost 0.5), a discount code by e-mail (0.5 to send,
plus a coupon of 10 paid only if the customer buys with it) or a targeted ad
(3). Customers respond in one of the four classic ways of uplift modelling:
*persuadables* buy only if contacted, *sure things* buy anyway, *lost causes*
never buy, and *sleeping dogs* are put off by being contacted. Nobody sees a
customer's segment, nor their purchase intent this week.

The shop's historical targeting rule (the logged behaviour policy) sent
discounts to big past spenders and to customers who "looked ready to buy" — a
signal (browsing, basket activity) kept nowhere in the data: the hidden
``intent``. High-intent customers and big spenders are mostly sure things, so
in the logs discount receivers buy far more often than untouched customers,
mainly because they would have bought anyway: the naive discount effect is
4.6 times the truth on purchases and 5.8 times on revenue.

One accident helps. For 30 % of customers, at random, the e-mail platform was
down at send time (``outage``): the e-mails and discount codes the rule chose
were not delivered. That is a natural experiment for the customers the rule
targeted.

The graph (``->`` cause, ``(hidden)`` unobserved)::

    age -> channel, age -> past_spend, tenure -> past_spend
    age, tenure, past_spend, channel, intent (hidden) -> segment (hidden)
    age, tenure, past_spend, channel, intent (hidden) -> action   (the historical rule; intent only
                                                                    with hidden_confounder=True)
    action, outage, spent -> delivered
    segment, delivered    -> conversion
    conversion, past_spend -> revenue

Variables (``c`` = confounding, ``h`` = heterogeneity, ``s`` = noise, ``H`` = 1
with the hidden confounder, else 0; ``app = (channel == 2)``)::

    age        years          Uniform(18, 80)
    tenure     months         Exponential(mean 24)
    past_spend currency/year  50 exp(0.01 (age - 50) + 0.01 (tenure - 24)) + LogNormal(4.6, 0.5)
    channel    0 web, 1 store, 2 app: (0.4, 0.15, 0.45) under 35 years, else (0.4, 0.35, 0.25)
    spent      currency       the marketing spend so far this week (episode state; 0 in logged data)
    intent     (hidden)       N(0, 1)
    segment    (hidden)       0 persuadable, 1 sure thing, 2 lost cause, 3 sleeping dog, with
                              P proportional to exp(0.3 - 0.03 (age - 50) + 0.4 app),
                              exp(1.5 intent + 3 log(past_spend / 150)), exp(-0.5 - 1.5 intent),
                              exp(-1 + 0.04 (min(tenure, 96) - 24))
    action     0 none, 1 email, 2 discount, 3 ad. Logged: P = m + (1 - 4m) softmax(0, s1, s2, s3),
               m = overlap / 8, with  s1 = 0.3 + c (0.02 (tenure - 24) + 0.5 H intent),
               s2 = -0.3 + c (3 log(past_spend / 150) + H intent),
               s3 = -0.3 + c (0.8 app - 0.02 (age - 50) + 0.5 H intent)
    outage     0/1            Bernoulli(outage_rate = 0.3), independent of everything
    delivered  the action that reached the customer: none if an outage hit an e-mail or a
               discount, or if spent + the action's largest cost exceeds the weekly budget
    conversion 0/1            Bernoulli(clip(base[segment] + strength[delivered]
                                             * (0.05 + h spread[segment]), 0, 1))
    revenue    currency       conversion (30 + 0.1 past_spend) exp(N(-sigma^2 / 2, sigma^2)),
                              sigma = 0.4 s

with ``base = (0.05, 0.85, 0.02, 0.45)``, ``spread = (0.30, -0.05, -0.05, -0.30)``
per segment and ``strength = (0, 0.4, 1, 0.6)`` for none, e-mail, discount, ad.
So at ``h = 1`` a delivered action changes the purchase probability by::

                  no contact   e-mail   discount     ad
    persuadable      0.05      +0.14     +0.35     +0.21
    sure thing       0.85        0         0         0
    lost cause       0.02        0         0         0
    sleeping dog     0.45      -0.10     -0.25     -0.15

and at ``h = 0`` every segment gets the same uplift (0.05 for a discount).
Every mechanism is written in the spec language: :meth:`Marketing.spec` is the
YAML export, and ``causal.load_scm(Marketing().spec())`` rebuilds the model.

Actions, reward and the weekly budget
-------------------------------------
The agent's action sets the ``action`` node (0..3 = none, e-mail, discount,
ad): what it *intends* to send. Only what is delivered is paid for. The reward
is the profit ``revenue - send cost - coupon * [discount delivered and
redeemed]`` (components ``revenue``, ``cost``, ``coupon``). The episode state
is the week index and ``spent``, the spend booked to the current week, which
the agent observes. The budget rule: a paid action is delivered only if
``spent`` plus its largest possible cost (0.5, 10.5 for the discount, 3) fits
in the weekly budget (60); otherwise nothing is sent and nothing is paid.
After each customer the transition books the actual spend to the current
week, and a customer arriving in a new week finds its budget untouched
(``arrive``), so no week ever overspends.
Logged data, trials and :meth:`~sim.scenario.Scenario.truth` describe
customers at the start of a week (``spent = 0``).

The observation ``(age, tenure, past_spend, channel, spent)`` lies in ``[18, 80]
x [0, inf) x [50 exp(-0.56), inf) x {0, 1, 2} x [0, weekly_budget]``
(:attr:`Marketing.context_bounds`; ``50 exp(-0.56)``, about 28.56, is the smallest
``past_spend``, at age 18 and tenure 0; ``tenure`` and ``past_spend`` have
exponential and lognormal tails).

True effects
------------
At the default parameters, by common random numbers (``truth()``, and the
same noise for the decompositions; 4 x 1,000,000 units unless stated;
standard errors in brackets):

* segment shares: persuadables 0.3188, sure things 0.3524, lost causes 0.2403,
  sleeping dogs 0.0884 (SE <= 0.0003);
* a *delivered* discount raises the purchase probability by
  ``sum_g share_g uplift_g = 0.3188 * 0.35 - 0.0884 * 0.25 = 0.0895`` (revenue 3.94);
  *intending* it (``do(action=discount)``) by ``(1 - 0.3) * 0.0895 =`` **0.0627**
  (0.0001), revenue **2.751** (0.007). E-mail: 0.0250 and 1.09; ad: 0.0537 and 2.36;
* the CATE of an action given the context ``x`` is
  ``(1 - outage) (30 + 0.1 past_spend) sum_g P(g | x) uplift_g`` on revenue,
  with ``P(g | x)`` an integral over the intent (the tests use Gauss-Hermite quadrature);
* mean profit per customer (``truth().value``, 10^6 units, SE 0.03): no contact
  17.45, e-mail 18.20, discount 16.69, ad 16.81. On average only e-mail pays;
  discounts and ads pay on persuadables;
* the effect the outage identifies (``complier_effect``, 10^6 units): the
  compliers are the 24 % of customers the rule chose for a discount, and for
  them a delivered discount adds 0.0644 (0.0006) to the purchase probability and
  2.99 (0.03) to revenue — less than the population's 0.0895 and 3.94,
  because the targeted are mostly sure things.

The trap
--------
In ``observational`` data, customers who were sent a discount bought 0.2886
(0.0007) more often than customers left alone: a bias of **+0.226** over the
true 0.0627. Revenue: 15.92 (0.04) against 2.75, a bias of +13.16. Adjusting
for the observed covariates (the back-door set ``{age, channel, past_spend,
tenure}``, the set :func:`causal.identify` gives when intent is assumed away)
removes the observed part, 0.067 (revenue 5.67); the hidden intent leaves
0.159 (0.001) (revenue 7.50 (0.05)) that no observed set removes. These
decompositions weight by the exact observed-data propensity ``P(action | x)``
(Gauss-Hermite quadrature over the intent, 40 nodes).

The observed graph has ``action <-> conversion``: no back-door set.
:func:`causal.identify` finds a front-door formula through ``delivered``, but
its positivity fails by design — a discount is delivered only to customers the
rule chose, so ``P(conversion | delivered=discount, action=a')`` is undefined
for every other ``a'``, and the logs cannot estimate it.

The instrument: ``outage`` is randomised (independent of intent and of
everything else) and affects purchases only through what is delivered — the
exclusion restriction, which would fail if, say, an outage also broke the web
shop. Among customers the rule chose for a discount (conditioning on the
intended action keeps the instrument valid, since the outage is independent of
it), ``delivered == discount`` exactly when there is no outage: one-sided
non-compliance, no always-takers, no defiers. The Wald ratio then identifies
the LATE of a delivered discount for the compliers — here the targeted
customers, so the LATE is also their effect on the treated — not the
population ATE. (``spent`` is formally an instrument too, as it only gates
delivery, but it is constant in logged data.)

Knobs (conversion bias of the naive discount comparison, 500,000 units, SE <=
0.003): ``confounding`` 0 / 0.5 / 1 / 2 gives 0.003 / 0.130 / 0.226 / 0.324;
``overlap`` 0 / 0.2 / 1 gives 0.252 / 0.226 / 0.124; ``hidden_confounder=False``
gives 0.078, all of it observed (adjustment leaves 0.003 (0.003));
``heterogeneity`` 0 / 1 / 1.5 gives 0.244 / 0.226 / 0.216 — the targeted are
mostly sure things, whose uplift shrinks as the spread grows, so the effect on
the targeted falls below the ATE; ``noise`` leaves purchases unchanged bit for
bit (it scales only the order values) and the revenue bias unchanged.

Examples
--------
>>> sc = Marketing()
>>> sc.actions.labels, sc.context
(('none', 'email', 'discount', 'ad'), ('age', 'tenure', 'past_spend', 'channel', 'spent'))
>>> truth = sc.truth(n=20_000, seed=0)
>>> round(truth.ate("discount", "none", "conversion").value, 2)
0.06
>>> logs = sc.observational(20_000, 0)
>>> bought = logs.groupby("action").conversion.mean()
>>> round(float(bought[2] - bought[0]), 2)               # the naive "effect" of a discount
0.29

References
----------
N. J. Radcliffe and P. D. Surry, "Real-world uplift modelling with
significance-based uplift trees", Stochastic Solutions white paper, 2011 (the
four segments; sleeping dogs are their "do-not-disturbs").
K. Kane, V. S. Y. Lo and J. Zheng, "Mining for the truly responsive customers
and prospects using true-lift modeling: Comparison of new and existing
methods", *Journal of Marketing Analytics* 2(4):218-238, 2014.
B. R. Gordon, F. Zettelmeyer, N. Bhargava and D. Chapsky, "A comparison of
approaches to advertising measurement: Evidence from big field experiments at
Facebook", *Marketing Science* 38(2):193-225, 2019 (observational methods,
fooled by targeting, overstate advertising effects measured by experiments).
G. W. Imbens and J. D. Angrist, "Identification and estimation of local
average treatment effects", *Econometrica* 62(2):467-475, 1994 (the LATE).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from causal.interventions import Hard
from causal.scm import SCM, Effect
from causal.spec import load_scm
from scenarios.common import KnobParams
from sim.actions import DiscreteActions
from sim.errors import ScenarioError
from sim.registry import env_factory, vector_factory
from sim.scenario import Scenario
from sim.timeline import Poisson

__all__ = ["ACTIONS", "CHANNELS", "SEGMENTS", "MarketingParams", "Marketing", "make_env", "make_vec_env"]

#: Values 0..3 of the ``action`` and ``delivered`` nodes.
ACTIONS = ("none", "email", "discount", "ad")
#: Values 0..2 of the ``channel`` node.
CHANNELS = ("web", "store", "app")
#: Values 0..3 of the hidden ``segment`` node (Radcliffe & Surry's four response types).
SEGMENTS = ("persuadable", "sure_thing", "lost_cause", "sleeping_dog")

#: Purchase probability of each segment when nobody contacts it.
BASE = (0.05, 0.85, 0.02, 0.45)
#: Uplift of a delivered discount common to every segment (all there is at ``heterogeneity=0``).
COMMON_UPLIFT = 0.05
#: Each segment's deviation from the common uplift, scaled by ``heterogeneity``.
SPREAD = (0.30, -0.05, -0.05, -0.30)
#: Strength of each delivered action relative to the discount (uplift multiplier).
STRENGTH = (0.0, 0.4, 1.0, 0.6)


@dataclass(frozen=True)
class MarketingParams(KnobParams):
    """Parameters of the marketing scenario (knobs: see :class:`~scenarios.common.KnobParams`).

    Attributes
    ----------
    max_units : int
        Customers per episode at most (the horizon usually ends it first).
    horizon : float
        Weeks per episode (a campaign).
    arrival_rate : float
        Customers arriving per week (Poisson).
    weekly_budget : float
        Marketing spend allowed per calendar week (currency).
    outage_rate : float in [0, 1)
        Probability that the e-mail platform is down at a customer's send time,
        so an e-mail or a discount code is not delivered (the instrument).
    email_cost, ad_cost : float
        Cost of one delivered e-mail (also paid for a discount code, which is sent
        by e-mail) and of one delivered targeted ad (currency).
    coupon : float
        Value of the discount, paid only when the customer buys with it (currency).
    """

    max_units: int = 200
    horizon: float = 4.0
    arrival_rate: float = 25.0
    weekly_budget: float = 60.0
    outage_rate: float = 0.3
    email_cost: float = 0.5
    ad_cost: float = 3.0
    coupon: float = 10.0

    def validate(self) -> None:
        super().validate()
        self.check_nonnegative("arrival_rate", "weekly_budget", "email_cost", "ad_cost", "coupon")
        if self.arrival_rate <= 0:
            raise ScenarioError(f"arrival_rate must be > 0 customers per week, got {self.arrival_rate!r}")
        v = self.outage_rate
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
            raise ScenarioError(f"outage_rate must be a number in [0, 1), got {v!r}")

    @property
    def max_cost(self) -> tuple[float, float, float, float]:
        """The most each action can cost (the discount: its e-mail plus the coupon)."""
        return (0.0, float(self.email_cost), float(self.email_cost + self.coupon), float(self.ad_cost))


def _pick(var: str, values: tuple[float, ...]) -> str:
    """Spec text of ``values[var]`` for a node taking the values ``0..k-1``."""
    text = repr(float(values[-1]))
    for k in range(len(values) - 2, -1, -1):
        text = f"where({var} == {k}, {float(values[k])!r}, {text})"
    return text


class Marketing(Scenario):
    """Customers who may receive an e-mail, a discount or an ad (see the module docstring)."""

    name = "marketing"
    summary = ("four uplift segments; discounts logged for high-intent customers; "
               "a weekly budget; an e-mail outage as instrument")
    params_type = MarketingParams
    context = ("age", "tenure", "past_spend", "channel", "spent")
    outcome = "revenue"
    state_nodes = ("spent",)

    @property
    def context_bounds(self) -> dict[str, tuple[float, float]]:  # type: ignore[override]
        """The observation bounds, from the equations (``channel`` is categorical: 0..2).

        ``age`` is uniform on [18, 80]; ``tenure`` exponential, [0, inf); ``past_spend`` is
        ``50 exp(0.01 (age - 50) + 0.01 (tenure - 24))`` (at least ``50 exp(-0.56)``, about 28.56, at
        age 18 and tenure 0) plus a lognormal (> 0, no upper bound). ``spent`` starts every week at
        0 and an action is delivered only if ``spent`` plus its largest cost fits in the weekly
        budget, so it stays in ``[0, weekly_budget]`` (a zero budget gets the nominal ``(0, 1)``:
        ``Scenario`` asks ``low < high``).
        """
        budget = float(self.params.weekly_budget)
        return {"age": (18.0, 80.0), "tenure": (0.0, math.inf),
                "past_spend": (50 * math.exp(0.01 * (18 - 50) + 0.01 * (0 - 24)), math.inf),
                "spent": (0.0, budget if budget > 0 else 1.0)}

    # ------------------------------------------------------------------ the model
    def spec(self) -> dict[str, Any]:
        """The SCM as a spec mapping (every mechanism is expressible: this is the YAML export)."""
        p = self.params
        c, h = float(p.confounding), float(p.heterogeneity)

        def intent(weight: float) -> str:  # no term at all (no edge) without the hidden confounder
            return f" + {weight!r} * intent" if p.hidden_confounder else ""

        # The historical targeting rule: scores against "none", scaled by confounding.
        scores = {
            1: f"0.3 + {c!r} * (0.02 * (tenure - 24){intent(0.5)})",
            2: f"-0.3 + {c!r} * (3.0 * log(past_spend / 150){intent(1.0)})",
            3: f"-0.3 + {c!r} * (0.8 * (channel == 2) - 0.02 * (age - 50){intent(0.5)})",
        }
        exps = {k: f"exp({s})" for k, s in scores.items()}
        total = f"(1 + {exps[1]} + {exps[2]} + {exps[3]})"
        floor = p.overlap / 8  # each logged propensity >= overlap / 8
        mix = 1 - p.overlap / 2
        probs = [f"{floor!r} * {total} + {mix!r}"] + [f"{floor!r} * {total} + {mix!r} * {exps[k]}"
                                                        for k in (1, 2, 3)]
        cost = _pick("action", p.max_cost)
        sigma = 0.4 * float(p.noise)
        return {
            "name": "marketing",
            "description": self.summary,
            "nodes": {
                "age": {"noise": "uniform(18, 80)", "unit": "years"},
                "tenure": {"noise": "exponential(24)", "unit": "months",
                           "description": "time since the customer's first purchase"},
                "past_spend": {"equation": "50 * exp(0.01 * (age - 50) + 0.01 * (tenure - 24)) + noise",
                               "noise": "lognormal(4.6, 0.5)", "unit": "currency/year"},
                "channel": {"type": "categorical",
                            "probs": [0.4, "where(age < 35, 0.15, 0.35)", "where(age < 35, 0.45, 0.25)"],
                            "description": "preferred channel: 0 web, 1 store, 2 app"},
                "spent": {"equation": "0.0", "unit": "currency",
                          "description": "marketing spend so far this week (episode state)"},
                "intent": {"noise": "normal(0, 1)", "hidden": True, "unit": "sd",
                           "description": "purchase intent this week (unobserved)"},
                "segment": {"type": "categorical", "hidden": True,
                            "probs": ["exp(0.3 - 0.03 * (age - 50) + 0.4 * (channel == 2))",
                                      "exp(1.5 * intent + 3.0 * log(past_spend / 150))",
                                      "exp(-0.5 - 1.5 * intent)",
                                      "exp(-1 + 0.04 * (minimum(tenure, 96) - 24))"],
                            "description": "response type: 0 persuadable, 1 sure thing, 2 lost cause, "
                                           "3 sleeping dog"},
                "action": {"type": "categorical", "probs": probs,
                           "description": "intended action: 0 none, 1 e-mail, 2 discount, 3 ad "
                                          "(logged: the historical targeting rule)"},
                "outage": {"type": "binary", "p": float(p.outage_rate),
                           "description": "e-mail platform down at send time (randomised)"},
                "delivered": {"equation": f"where(outage * ((action == 1) + (action == 2)), 0, "
                                          f"where(spent + {cost} <= {float(p.weekly_budget)!r}, action, 0))",
                              "description": "action that reached the customer: 0 none, 1 e-mail, "
                                             "2 discount, 3 ad"},
                "conversion": {"type": "binary",
                               "p": f"clip({_pick('segment', BASE)} + {_pick('delivered', STRENGTH)} * "
                                    f"({COMMON_UPLIFT!r} + {h!r} * {_pick('segment', SPREAD)}), 0, 1)",
                               "description": "bought this week"},
                "revenue": {"equation": "conversion * (30 + 0.1 * past_spend) * exp(noise)",
                            "noise": f"normal({-sigma * sigma / 2!r}, {sigma!r})", "unit": "currency",
                            "description": "gross order value this week"},
            },
        }

    def build_scm(self) -> SCM:
        return load_scm(self.spec())

    def build_actions(self) -> DiscreteActions:
        p = self.params
        return DiscreteActions({a: {"action": float(k)} for k, a in enumerate(ACTIONS)},
                               costs={"email": p.email_cost, "discount": p.email_cost, "ad": p.ad_cost})

    def build_timeline(self) -> Poisson:
        return Poisson(rate=float(self.params.arrival_rate), kind="customer")

    # ------------------------------------------------------------------ money and the budget
    def spend(self, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Marketing spend per unit: ``send`` (delivered e-mail/ad) and ``coupon`` (redeemed discounts)."""
        delivered = np.asarray(values["delivered"], dtype=np.int64)
        redeemed = (delivered == 2) * np.asarray(values["conversion"], dtype=float)
        return {"send": self.actions.cost(delivered), "coupon": float(self.params.coupon) * redeemed}

    def reward(self, values: Mapping[str, np.ndarray], actions: np.ndarray) -> dict[str, np.ndarray]:
        """Profit: revenue minus what was spent (only delivered actions are paid for)."""
        s = self.spend(values)
        return {"revenue": np.asarray(values["revenue"], dtype=float), "cost": 0.0 - s["send"],
                "coupon": 0.0 - s["coupon"]}

    def initial_state(self) -> dict[str, float]:
        """Week 0, nothing spent."""
        return {"week": 0.0, "spent": 0.0}

    def transition(self, state: Mapping[str, Any], values: Mapping[str, np.ndarray], action: np.ndarray,
                   time: np.ndarray) -> dict[str, np.ndarray]:
        """Book this customer's spend to the current week."""
        s = self.spend(values)
        # spent + (send + coupon): the same float sum as the budget check's ``spent + largest
        # cost`` (send + coupon is at most that cost), so ``spent`` never exceeds the budget by a
        # rounding error either.
        return {"week": np.asarray(state["week"], dtype=float),
                "spent": np.asarray(state["spent"], dtype=float) + (s["send"] + s["coupon"])}

    def arrive(self, state: Mapping[str, Any], time: np.ndarray) -> dict[str, np.ndarray]:
        """A customer arriving in a new week finds that week's budget untouched."""
        week = np.floor(np.asarray(time, dtype=float))
        same = week == np.asarray(state["week"], dtype=float)
        return {"week": week, "spent": np.where(same, np.asarray(state["spent"], dtype=float), 0.0)}

    # ------------------------------------------------------------------ extra truths
    def complier_effect(self, node: str | None = None, *, n: int = 200_000, seed: int = 0) -> Effect:
        """The effect the outage instrument identifies: ``E[Y(discount) - Y(none) | complier]``.

        Compliers are the customers the historical rule meant to send the
        discount to (logged ``action == discount`` at the start of a week); for
        them a working e-mail platform delivers it and an outage does not, and
        nobody else ever gets it. Computed with common random numbers: one
        noise draw, the logged world, then ``do(delivered = discount)`` and
        ``do(delivered = none)``.

        Parameters
        ----------
        node : str, optional
            The outcome node (default: the scenario's outcome, ``revenue``).
        n, seed : int
            Units drawn, and the seed of their noise.

        Returns
        -------
        Effect
            Mean of the compliers' own effects, its Monte-Carlo standard error and their number.

        Examples
        --------
        >>> Marketing().complier_effect("conversion", n=20_000).n > 4000
        True
        """
        node = node or self.outcome
        scm = self._static_scm()
        noise = scm.sample_noise(n, seed)
        logged = scm.propagate(noise)
        compliers = np.asarray(logged["action"]) == ACTIONS.index("discount")
        treat = scm.propagate(noise, {"delivered": Hard(2.0)})[node]
        control = scm.propagate(noise, {"delivered": Hard(0.0)})[node]
        d = (np.asarray(treat, dtype=float) - np.asarray(control, dtype=float))[compliers]
        return Effect(float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))), len(d))


make_env = env_factory(Marketing)
make_vec_env = vector_factory(Marketing)
