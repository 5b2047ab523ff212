"""Policy rollout: a job-training subsidy adopted by regions in staggered cohorts.

The story
---------
A country of ``n_regions`` regions is observed for ``n_quarters`` quarters. A
national job-training subsidy can be switched on region by region; once a
region adopts it, it keeps it (adoption is absorbing) and pays a one-off
set-up cost and a running subsidy every quarter. Historically (the logged
panel) the policy became available in quarter 2 and regions adopted it in
staggered cohorts: high-unemployment and persistently depressed regions
first, more of them right after a bad national quarter (an Ashenfelter dip),
and, with ``hidden_confounder=True``, regions politically aligned with the
national government first — the same regions whose employment was on a
rising trend anyway. The subsidy's effect ramps up with time since adoption
and is larger for early cohorts, so two-way fixed effects is biased, while a
group-time difference in differences with never-treated controls is not
(until politics enters). Never-treated regions serve as donors for synthetic
control.

The environment lets an agent choose, quarter by quarter, which regions adopt,
under a budget of at most ``budget`` regions under the policy at once.

The unit, the state and the clock
---------------------------------
The unit of the unit-level SCM is one region-quarter. The simpy timeline
(:class:`Quarterly`) emits ``n_regions`` decision points at each quarter time
``0, 1, ..., n_quarters - 1`` (regions in index order), so an episode has
``max_units = n_regions * n_quarters`` decision points (derived; not settable).
The observation ``(population, unemployment, urban, quarter, adopted,
last_outcome, budget_left)`` lies in ``(0, inf) x [2, 20] x [0.1, 0.9] x [0,
n_quarters - 1] x {0, 1} x (-inf, inf) x [0, budget]``
(:attr:`PolicyRollout.context_bounds`; ``last_outcome`` is last quarter's
employment, which has normal noise).
The state carries, per region ``r`` (keys ``population_07``, ``adopted_at_07``,
...), its covariates, hidden politics and region effect (drawn from the tape
at its first decision point, quarter 0), its adoption quarter (``inf`` until
it adopts) and its last outcome; plus the decision count ``step``, the quarter's common shock
(drawn at region 0's decision point), last quarter's shock and the budget
left. ``state_interventions`` sets the state nodes of the region at hand;
``transition`` writes its new values back. Both work on scalars (``CausalEnv``,
queries) and on arrays of shape ``(num_envs,)`` (``CausalVectorEnv``, whose
sub-environments may be at different regions).

The graph (``->`` cause; ``(hidden)`` unobserved; ``(state)`` set from the state)::

    quarter (state)       -> population, unemployment, urban, politics, region_effect,
                             adopt, event_time, policy_effect, employment
    c_population, c_unemployment, c_urban, c_politics, c_region_effect (state)
                          -> the matching covariate (its value carried from quarter 0)
    new_quarter, c_shock (state) -> time_shock (hidden)
    last_shock (state, hidden) -> adopt                       (the dip)
    unemployment          -> adopt, policy_effect, employment
    region_effect (hidden) -> adopt, employment               (depressed regions)
    politics (hidden)     -> adopt, employment                (level and trend)
    population, urban, time_shock -> employment
    adopted (state)       -> adopt, treated, new_adoption, event_time, policy_effect
    adoption_quarter (state) -> event_time, policy_effect
    budget_left (state)   -> treated
    adopt (action)        -> treated -> new_adoption, policy_effect
    event_time            -> policy_effect (hidden) -> employment
    last_outcome (state)  -> nothing (what the agent saw last quarter)

Variables (units): ``population`` (million people, lognormal(0, 0.5)),
``unemployment`` (baseline unemployment rate, %, N(8, 2) clipped to [2, 20]),
``urban`` (urban share, uniform(0.1, 0.9)), ``politics`` (hidden alignment
score, N(0, 1)), ``region_effect`` (hidden, pp, N(0, 1.5^2)), ``time_shock``
(common quarterly shock, pp, N(0, 0.8^2)), ``adopt`` (0/1 request: the action),
``treated`` (0/1 under the policy), ``new_adoption`` (0/1), ``event_time``
(quarters since adoption), ``policy_effect`` (hidden, pp), ``employment``
(employment rate, %; the outcome).

Equations (``c`` confounding, ``o`` overlap, ``h`` heterogeneity, ``s`` noise,
``H`` = 1 with the hidden confounder and 0 without, ``T`` = ``n_quarters``,
``t`` the quarter, ``g`` the adoption quarter, ``e = t - g``)::

    employment   = 70 - 0.8 (unemployment - 8) + 0.5 log(population) + 2 (urban - 0.5)
                   + region_effect + 0.5 H politics + 0.05 t + 0.1 H politics t
                   + time_shock + policy_effect + N(0, s^2)
    policy_effect = treated (1 + h (unemployment - 8) / 8) tau(g, e)
    tau(g, e)     = 1 + h (2 - 2^(1 - e) - g / T)
    treated       = max(adopted, adopt 1[budget_left >= 1])
    P(adopt)      = 1[t >= 2] (1 - adopted) sigmoid(a(o) + c (0.4 (unemployment - 8)
                    - region_effect / 1.875 - last_shock + H politics))

``a(o)`` is the logit of the per-quarter hazard that leaves a share
``0.05 + 0.45 o`` of regions never treated when ``c = 0``.

True effects (exact)
--------------------
The effect of adopting in region ``r``, cohort ``g``, at event time ``e >= 0``
is ``(1 + h (U_r - 8) / 8) tau(g, e)`` pp, with no anticipation (0 before
adoption). Hence the ATT of cohort ``g`` at event time ``e`` is
``ATT(g, e) = (1 + h (Ubar_g - 8) / 8) tau(g, e)``, ``Ubar_g`` the cohort's mean
baseline unemployment. With ``h = 1`` and ``T = 16``: ``tau(g, 0) = 1 - g/16``,
``tau(g, 1) = 2 - g/16``, ``tau(g, 2) = 2.5 - g/16``, rising to ``3 - g/16``.
With ``h = 0`` the effect is 1 pp everywhere.

:meth:`PolicyRollout.att_by_cohort_event` computes the cells (and
:meth:`PolicyRollout.att` the overall ATT, one weight per treated
region-quarter) on the logged panel ``observational(n, seed)`` by common
random numbers: the same regions' noise with the policy as logged and with
nobody adopting. With the defaults the logged cohorts are selected on gains:
``Ubar_g`` falls from about 9.1 % (cohort 2; ``ATT(2, 0) = 0.99``,
``ATT(2, e)`` rising to 3.25) to about 7.5 % (cohort 14); never-treated
regions average 7.1 %. The overall ATT is about 2.53 pp (sd 0.04 over
panels of 4000 regions). ``truth()`` (the Scenario contract) answers for the
initial state, a region in quarter 0 that has not adopted: the effect of
adopting is ``1 + h (U - 8) / 8`` pp, ATE 1.0; the immediate reward of
adopting is that minus the set-up cost 2 and the subsidy 0.5.

Logged data
-----------
:meth:`PolicyRollout.observational` propagates the unit-level SCM itself, one
quarter at a time over all regions (vectorized), with the state nodes set as
in an episode: region traits from each region's quarter-0 noise, the common
shock from region 0's noise, adoption from the ``adopt`` mechanism (the
behaviour policy) and no budget cap. So the panel is the environment's world
rolled out by the logging policy.

The trap
--------
Biases in pp, means over logged panels of 4000 regions (seeds 0-19), with
their standard deviation over those panels in brackets:

============================  ============  ============================
estimator                     defaults      ``hidden_confounder=False``
============================  ============  ============================
treated vs untreated          -0.41 (0.14)  -1.54 (0.19)
before vs after (adopters)    +0.29 (0.24)  -0.26 (0.26)
two-way fixed effects         -0.40 (0.12)  -0.73 (0.09)
group-time DiD (C&S 2021)     +0.65 (0.03)  +0.00 (0.03)
============================  ============  ============================

* Treated versus untreated region-quarters: adopters are high-unemployment,
  persistently depressed regions (lower employment without the policy);
  politics pulls the other way. Before versus after: the common trend, the
  dip's mean reversion and the cohorts' composition.
* Two-way fixed effects: already-treated regions serve as controls while
  their effect still ramps up, and late cohorts (smaller effects) get more
  weight (Goodman-Bacon's forbidden comparisons, negative weights). With
  ``heterogeneity=0`` (a constant effect) it is unbiased.
* Group-time DiD (Callaway & Sant'Anna, never-treated controls, base period
  ``g - 1``, no covariates) recovers every ATT(g, t) when
  ``hidden_confounder=False``: adoption then depends only on time-invariant
  region traits (unemployment, the region effect) and on the common shocks
  (the dip), which differencing and the never-treated comparison remove, so
  *unconditional* parallel trends holds exactly. The dip is a national one
  on purpose: selecting on a region's own transitory shock would break
  parallel trends (Ashenfelter 1978). With the hidden confounder, aligned
  regions adopt earlier *and* trend upward: parallel trends fails and the
  bias of ATT(g, g + e) is ``0.1 (Pbar_g - Pbar_never) (e + 1)`` pp (``Pbar``
  mean politics; about 1.3 (e + 1) times 0.1 for cohort 2). A randomised
  rollout (:meth:`PolicyRollout.rct`) restores parallel trends.
* Knobs (``hidden_confounder=False``, seed-paired): ``confounding`` 0 / 1 / 2
  gives a naive bias of about +0.3 / -1.5 / -2.0 (at 0 adoption timing is
  random; the rest is the trend). ``heterogeneity`` 0 / 1 / 2 gives a TWFE
  bias of 0 / -0.73 / -1.6. ``overlap`` 0 / 0.5 / 1 gives about 12 / 28 /
  42 % never-treated regions and a TWFE bias of -1.0 / -0.73 / -0.58.
  ``hidden_confounder`` adds about +0.64 to the DiD bias. ``noise`` leaves
  every bias unchanged and scales the standard errors (x3.1 from 0.5 to 2).

References
----------
B. Callaway and P. H. C. Sant'Anna, "Difference-in-differences with multiple
time periods", *Journal of Econometrics* 225(2), 200-230, 2021.
A. Goodman-Bacon, "Difference-in-differences with variation in treatment
timing", *Journal of Econometrics* 225(2), 254-277, 2021.
L. Sun and S. Abraham, "Estimating dynamic treatment effects in event studies
with heterogeneous treatment effects", *Journal of Econometrics* 225(2),
175-199, 2021.
C. de Chaisemartin and X. D'Haultfoeuille, "Two-way fixed effects estimators
with heterogeneous treatment effects", *American Economic Review* 110(9),
2964-2996, 2020.
O. Ashenfelter, "Estimating the effect of training programs on earnings",
*Review of Economics and Statistics* 60(1), 47-57, 1978.
A. Abadie, A. Diamond and J. Hainmueller, "Synthetic control methods for
comparative case studies", *Journal of the American Statistical Association*
105(490), 493-505, 2010.

Examples
--------
>>> sc = PolicyRollout(n_regions=4, n_quarters=6)
>>> panel = sc.observational(50, 0)
>>> panel.shape, list(panel.columns)[:4]
((300, 8), ['region', 'quarter', 'population', 'unemployment'])
>>> att = sc.att_by_cohort_event(n=50, seed=0)
>>> list(att.columns)
['cohort', 'event_time', 'att', 'n_regions']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from causal.interventions import Hard
from causal.scm import SCM, Effect, as_rng
from causal.spec import load_scm
from scenarios.common import KnobParams
from sim.actions import DiscreteActions
from sim.errors import ScenarioError
from sim.registry import env_factory, vector_factory
from sim.scenario import Scenario
from sim.timeline import Clock, Timeline

__all__ = ["PolicyParams", "PolicyRollout", "Quarterly", "make_env", "make_vec_env"]

#: First quarter in which the historical (logged) policy could adopt.
LAUNCH = 2
#: National employment rate (%) the reward is measured from.
BASELINE = 70.0
#: Per-region state fields: initial value (before the region's first decision point) and the
#: node ``transition`` carries into them. ``adopted_at`` is the adoption quarter (``inf``: not yet).
_FIELDS = {"population": (1.0, "population"), "unemployment": (8.0, "unemployment"),
           "urban": (0.5, "urban"), "politics": (0.0, "politics"), "region_effect": (0.0, "region_effect"),
           "last_outcome": (BASELINE, "employment"), "adopted_at": (math.inf, None)}
#: Node values a panel records, per region and quarter.
_PANEL = ("population", "unemployment", "urban", "treated", "employment")


def _region_nodes(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Values of the per-region state nodes from the region's state fields (scalars or arrays)."""
    at = np.asarray(fields["adopted_at"], dtype=float)
    done = np.isfinite(at)
    return {"c_population": fields["population"], "c_unemployment": fields["unemployment"],
            "c_urban": fields["urban"], "c_politics": fields["politics"],
            "c_region_effect": fields["region_effect"], "last_outcome": fields["last_outcome"],
            "adopted": done.astype(float), "adoption_quarter": np.where(done, at, 0.0)}


def _carry(fields: Mapping[str, Any], values: Mapping[str, Any], quarter: Any) -> dict[str, np.ndarray]:
    """The region's state fields after its decision point (values: the unit's node values)."""
    out = {name: np.asarray(values[node], dtype=float) for name, (_, node) in _FIELDS.items() if node}
    out["adopted_at"] = np.where(np.asarray(values["new_adoption"]) > 0.5, quarter,
                                 np.asarray(fields["adopted_at"], dtype=float))
    return out


def _count(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ScenarioError(f"{name} must be an integer >= {low}, got {value!r}")


@dataclass(frozen=True)
class PolicyParams(KnobParams):
    """Knobs of the policy rollout (see :class:`~scenarios.common.KnobParams` and the module docstring).

    Attributes
    ----------
    confounding : float >= 0
        How strongly unemployment, the hidden region effect, last quarter's
        national shock (the dip) and politics drive the logged adoption timing.
    overlap : float in [0, 1]
        Sets the never-treated share at ``confounding=0`` (and in the RCT) to
        ``0.05 + 0.45 * overlap``; the rest spread over quarters 2 to ``T - 1``.
    heterogeneity : float >= 0
        Scale of the cohort, dynamic and unemployment differences of the effect.
    noise : float > 0
        Standard deviation of the idiosyncratic region-quarter noise (pp).
    hidden_confounder : bool
        Whether hidden political alignment drives adoption and employment trends.
    n_regions, n_quarters : int
        Size of the environment's country (``n_quarters >= 4``).
    max_units : int
        Derived: ``n_regions * n_quarters`` decision points per episode (not settable).
    budget : int >= 0
        Regions that may be under the policy at once (adoption is absorbing).
    setup_cost, subsidy_cost : float >= 0
        One-off cost of an adoption and running cost per treated quarter, in pp
        of employment (the reward's unit).
    """

    max_units: int = field(init=False, default=640)
    overlap: float = 0.5
    n_regions: int = 40
    n_quarters: int = 16
    budget: int = 20
    setup_cost: float = 2.0
    subsidy_cost: float = 0.5

    def __post_init__(self) -> None:
        n, t = self.n_regions, self.n_quarters
        if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (n, t)):
            object.__setattr__(self, "max_units", n * t)
        super().__post_init__()

    def validate(self) -> None:
        super().validate()
        _count("n_regions", self.n_regions, 1)
        _count("n_quarters", self.n_quarters, LAUNCH + 2)
        _count("budget", self.budget, 0)
        self.check_nonnegative("setup_cost", "subsidy_cost")

    @property
    def never_share(self) -> float:
        """Never-treated share without confounding (and in the RCT)."""
        return 0.05 + 0.45 * self.overlap

    @property
    def base_logit(self) -> float:
        """Logit of the per-quarter hazard giving :attr:`never_share` over the eligible quarters."""
        hazard = 1.0 - self.never_share ** (1.0 / (self.n_quarters - LAUNCH))
        return math.log(hazard / (1.0 - hazard))


@dataclass(frozen=True)
class Quarterly(Timeline):
    """``n_regions`` decision points at each quarter ``0, 1, ..., n_quarters - 1`` (regions in order).

    >>> Quarterly(2, 3).times(np.zeros((1, 6))).tolist()
    [[0.0, 0.0, 1.0, 1.0, 2.0, 2.0]]
    """

    n_regions: int
    n_quarters: int
    kind: str = "region"
    draws_per_unit = 0

    def __post_init__(self) -> None:
        _count("n_regions", self.n_regions, 1)
        _count("n_quarters", self.n_quarters, 1)

    @property
    def length(self) -> int:
        """Every region in every quarter: the episode ends (terminates) after the last quarter."""
        return self.n_regions * self.n_quarters

    def process(self, clock: Clock):
        for t in range(self.n_quarters):
            if t:
                yield clock.env.timeout(1.0)
            for _ in range(self.n_regions):
                yield clock.decision(self.kind)

    def times(self, exponentials: np.ndarray) -> np.ndarray:
        m, k = exponentials.shape
        q = (np.arange(k) // self.n_regions).astype(np.float64)
        q[q >= self.n_quarters] = np.inf
        return np.broadcast_to(q, (m, k)).copy()


class PolicyRollout(Scenario):
    """Regions adopting a job-training subsidy in staggered cohorts (see the module docstring)."""

    name = "policy"
    summary = "staggered adoption of a regional subsidy: dynamic effects, an Ashenfelter dip, hidden politics"
    params_type = PolicyParams
    context = ("population", "unemployment", "urban", "quarter", "adopted", "last_outcome", "budget_left")
    outcome = "employment"
    state_nodes = ("quarter", "new_quarter", "c_population", "c_unemployment", "c_urban", "c_politics",
                   "c_region_effect", "c_shock", "last_shock", "adopted", "adoption_quarter",
                   "last_outcome", "budget_left")

    def __init__(self, params: PolicyParams | None = None, **overrides: Any) -> None:
        if "max_units" in overrides:
            raise ScenarioError("max_units is derived (n_regions * n_quarters); set those instead")
        super().__init__(params, **overrides)

    @property
    def context_bounds(self) -> dict[str, tuple[float, float]]:  # type: ignore[override]
        """The observation bounds, from the equations and what the state can hold.

        ``population`` is lognormal, ``(0, inf)``; ``unemployment`` is clipped to [2, 20];
        ``urban`` uniform on [0.1, 0.9] (both carried from quarter 0, and their initial state
        values 8 and 0.5 lie inside); ``quarter`` runs over ``0 .. n_quarters - 1``; ``adopted``
        is 0/1; ``budget_left`` starts at ``budget`` and falls by one per adoption, which needs
        ``budget_left >= 1``, so it stays in ``[0, budget]`` (a zero budget gets the nominal
        ``(0, 1)``: ``Scenario`` asks ``low < high``). ``last_outcome`` (employment, with normal
        noise) is unbounded.
        """
        p = self.params
        return {"population": (0.0, math.inf), "unemployment": (2.0, 20.0), "urban": (0.1, 0.9),
                "quarter": (0.0, float(p.n_quarters - 1)), "adopted": (0.0, 1.0),
                "budget_left": (0.0, float(max(p.budget, 1)))}

    # ------------------------------------------------------------------ the model
    def spec(self) -> dict:
        """The unit-level SCM (one region-quarter) as a spec mapping."""
        p = self.params
        hid = 1.0 if p.hidden_confounder else 0.0
        h, c, t_max = float(p.heterogeneity), float(p.confounding), p.n_quarters

        def carried(draw: str, node: str) -> str:
            return f"where(quarter < 0.5, {draw}, {node})"

        logit = (f"{p.base_logit!r} + {c!r} * (0.4 * (unemployment - 8) - region_effect / 1.875"
                 f" - last_shock + {hid!r} * politics)")

        def state(value: float, unit: str, what: str, hidden: bool = False) -> dict:
            node = {"equation": repr(value), "unit": unit, "description": f"state: {what}"}
            return {**node, "hidden": True} if hidden else node

        return {
            "name": "policy",
            "description": self.summary,
            "nodes": {
                "quarter": state(0.0, "quarter", "quarter of the decision point"),
                "new_quarter": state(1.0, "0/1", "1 at the quarter's first region (draws the shock)"),
                "c_population": state(1.0, "million people", "population carried from quarter 0"),
                "c_unemployment": state(8.0, "%", "unemployment carried from quarter 0"),
                "c_urban": state(0.5, "share", "urban share carried from quarter 0"),
                "c_politics": state(0.0, "sd", "politics carried from quarter 0", True),
                "c_region_effect": state(0.0, "pp", "region effect carried from quarter 0", True),
                "c_shock": state(0.0, "pp", "the quarter's common shock", True),
                "last_shock": state(0.0, "pp", "last quarter's common shock", True),
                "adopted": state(0.0, "0/1", "the region adopted in an earlier quarter"),
                "adoption_quarter": state(0.0, "quarter", "its adoption quarter (0 if not adopted)"),
                "last_outcome": state(BASELINE, "%", "the region's employment last quarter"),
                "budget_left": state(float(p.budget), "regions", "regions that may still adopt"),
                "population": {"equation": carried("noise", "c_population"), "noise": "lognormal(0, 0.5)",
                               "unit": "million people", "description": "region population"},
                "unemployment": {"equation": carried("clip(noise, 2, 20)", "c_unemployment"),
                                 "noise": "normal(8, 2)", "unit": "%",
                                 "description": "baseline unemployment (drives adoption and the effect)"},
                "urban": {"equation": carried("noise", "c_urban"), "noise": "uniform(0.1, 0.9)",
                          "unit": "share", "description": "urban share of the population"},
                "politics": {"equation": carried("noise", "c_politics"), "noise": "normal(0, 1)",
                             "hidden": True, "unit": "sd",
                             "description": "alignment with the national government (the hidden confounder)"},
                "region_effect": {"equation": carried("noise", "c_region_effect"), "noise": "normal(0, 1.5)",
                                  "hidden": True, "unit": "pp",
                                  "description": "unobserved persistent employment level"},
                "time_shock": {"equation": "where(new_quarter, noise, c_shock)", "noise": "normal(0, 0.8)",
                               "hidden": True, "unit": "pp", "description": "the quarter's national shock"},
                "adopt": {"type": "binary",
                          "p": f"where(quarter > {LAUNCH - 0.5!r}, (1 - adopted) * sigmoid({logit}), 0)",
                          "unit": "0/1", "description": "request to adopt (the action; logged: the hazard)"},
                "treated": {"equation": "maximum(adopted, adopt * (budget_left > 0.5))", "unit": "0/1",
                            "description": "under the policy this quarter (absorbing, within the budget)"},
                "new_adoption": {"equation": "treated - adopted", "unit": "0/1",
                                 "description": "adopts this quarter (pays the set-up cost)"},
                "event_time": {"equation": "where(adopted, quarter - adoption_quarter, 0)",
                               "unit": "quarters", "description": "quarters since adoption (else 0)"},
                "policy_effect": {
                    "equation": f"treated * (1 + {h / 8!r} * (unemployment - 8)) * (1 + {h!r} * (2"
                                " - 2 ** (1 - event_time)"
                                f" - where(adopted, adoption_quarter, quarter) / {t_max}))",
                    "hidden": True, "unit": "pp", "description": "the policy's effect on employment"},
                "employment": {
                    "equation": f"70 - 0.8 * (unemployment - 8) + 0.5 * log(population) + 2 * (urban - 0.5)"
                                f" + region_effect + {0.5 * hid!r} * politics + 0.05 * quarter"
                                f" + {0.1 * hid!r} * politics * quarter + time_shock + policy_effect + noise",
                    "noise": f"normal(0, {float(p.noise)!r})", "unit": "%",
                    "description": "employment rate (the outcome)"},
            },
        }

    def build_scm(self) -> SCM:
        return load_scm(self.spec())

    def build_actions(self) -> DiscreteActions:
        # Costs are charged in ``reward`` on the realised adoption and treatment, so a request
        # refused by the budget, or made by a region already under the policy, costs nothing.
        return DiscreteActions({"wait": {"adopt": 0.0}, "adopt": {"adopt": 1.0}})

    def build_timeline(self) -> Quarterly:
        return Quarterly(self.params.n_regions, self.params.n_quarters)

    def reward(self, values: Mapping[str, np.ndarray], actions: np.ndarray) -> dict[str, np.ndarray]:
        """Employment above the 70 % baseline, minus the set-up cost and the running subsidy."""
        p = self.params
        return {"employment": np.asarray(values["employment"], dtype=float) - BASELINE,
                "setup": -p.setup_cost * np.asarray(values["new_adoption"], dtype=float),
                "subsidy": -p.subsidy_cost * np.asarray(values["treated"], dtype=float)}

    # ------------------------------------------------------------------ state
    def key(self, name: str, region: int) -> str:
        """The state key of a per-region field, e.g. ``key("adopted", 7) == "adopted_07"``."""
        width = len(str(self.params.n_regions - 1))
        return f"{name}_{region:0{width}d}"

    def initial_state(self) -> dict[str, float]:
        state = {"step": 0.0, "shock": 0.0, "last_shock": 0.0, "budget_left": float(self.params.budget)}
        for name, (value, _) in _FIELDS.items():
            for r in range(self.params.n_regions):
                state[self.key(name, r)] = value
        return state

    def _where(self, state: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        step = np.asarray(state["step"], dtype=float)
        return (step % self.params.n_regions).astype(np.int64), step // self.params.n_regions

    def state_values(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The state nodes of the region at hand (scalars, or one value per sub-environment)."""
        region, quarter = self._where(state)
        if region.ndim == 0:
            fields = {name: state[self.key(name, int(region))] for name in _FIELDS}
        else:
            fields = {name: np.empty(region.shape) for name in _FIELDS}
            for r in np.unique(region):
                rows = region == r
                for name, out in fields.items():
                    out[rows] = np.asarray(state[self.key(name, int(r))], dtype=float)[rows]
        values = {"quarter": quarter, "new_quarter": (region == 0).astype(float),
                  "c_shock": state["shock"], "last_shock": state["last_shock"],
                  "budget_left": state["budget_left"], **_region_nodes(fields)}
        return {v: float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=float) for v, x in values.items()}

    def transition(self, state: Mapping[str, Any], values: Mapping[str, Any], action: Any,
                   time: Any) -> dict[str, Any]:
        """Write the region's values back; move the shocks, the budget and the step on (vectorized)."""
        region, quarter = self._where(state)
        new = dict(state)
        region = np.atleast_1d(region)
        for r in np.unique(region):
            rows = region == r
            keys = {name: self.key(name, int(r)) for name in _FIELDS}
            now = _carry({name: state[k] for name, k in keys.items()}, values, quarter)
            for name, k in keys.items():
                new[k] = np.where(rows, now[name], np.asarray(state[k], dtype=float))
        shock = np.asarray(values["time_shock"], dtype=float)
        new["shock"] = shock
        new["last_shock"] = np.where(region == self.params.n_regions - 1, shock, state["last_shock"])
        new["budget_left"] = np.asarray(state["budget_left"], dtype=float) - values["new_adoption"]
        new["step"] = np.asarray(state["step"], dtype=float) + 1.0
        return new

    # ------------------------------------------------------------------ panels
    def _panel(self, n: int, rng: Any, design: str, untreated: bool = False) -> dict[str, np.ndarray]:
        """A logged panel of ``n`` regions: arrays ``(n, T)`` (and the untreated world's outcome).

        Each quarter is one vectorized propagation of the unit-level SCM over the
        ``n`` regions, with the state nodes set as ``state_interventions`` sets
        them for a region in the environment (budget unlimited); region ``i``'s
        covariates come from its quarter-0 noise and the quarter's common shock
        from region 0's noise, as in an episode.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ScenarioError(f"n must be a positive integer (regions), got {n!r}")
        if design not in ("observational", "rct"):
            raise ScenarioError(f"design must be 'observational' or 'rct', got {design!r}")
        rng = as_rng(rng)
        p = self.params
        n, t_max = int(n), p.n_quarters
        noise = [self.scm.sample_noise(n, rng) for _ in range(t_max)]
        cohort = None
        if design == "rct":
            never = rng.random(n) < p.never_share
            cohort = np.where(never, np.inf, rng.integers(LAUNCH, t_max, size=n))
        worlds = {"factual": None, "untreated": Hard(0.0)} if untreated else {"factual": None}
        out: dict[str, np.ndarray] = {}
        for world, forced in worlds.items():
            carried = {name: np.full(n, value) for name, (value, _) in _FIELDS.items()}
            first = np.zeros(n)
            first[0] = 1.0
            last_shock = 0.0
            cols: dict[str, list[np.ndarray]] = {k: [] for k in _PANEL}
            for t in range(t_max):
                ivs = {"quarter": Hard(float(t)), "new_quarter": Hard(first),
                       "c_shock": Hard(float(noise[t]["time_shock"][0])), "last_shock": Hard(last_shock),
                       "budget_left": Hard(float(n + 1))}
                ivs.update({v: Hard(np.array(x, dtype=float)) for v, x in _region_nodes(carried).items()})
                if forced is not None:
                    ivs["adopt"] = forced
                elif cohort is not None:
                    ivs["adopt"] = Hard((cohort == t).astype(float))
                values = self.scm.propagate(noise[t], ivs)
                for k, col in cols.items():
                    col.append(values[k])
                carried = _carry(carried, values, float(t))
                last_shock = float(values["time_shock"][0])
            arrays = {k: np.column_stack(v) for k, v in cols.items()}
            if world == "factual":
                out.update(arrays)
            else:
                out["untreated"] = arrays["employment"]
        ever = out["treated"].any(axis=1)
        out["cohort"] = np.where(ever, out["treated"].argmax(axis=1), np.inf)
        return out

    def _frame(self, panel: dict[str, np.ndarray]) -> pd.DataFrame:
        n, t_max = panel["employment"].shape
        return pd.DataFrame({
            "region": np.repeat(np.arange(n), t_max),
            "quarter": np.tile(np.arange(t_max), n),
            "population": panel["population"].ravel(),
            "unemployment": panel["unemployment"].ravel(),
            "urban": panel["urban"].ravel(),
            "cohort": np.repeat(panel["cohort"], t_max),
            "treated": panel["treated"].ravel().astype(np.int64),
            "employment": panel["employment"].ravel(),
        })

    def observational(self, n: int, rng: Any = None) -> pd.DataFrame:
        """The historical panel: ``n`` regions x ``n_quarters`` quarters, long format.

        Columns: ``region``, ``quarter``, ``population``, ``unemployment``,
        ``urban``, ``cohort`` (first treated quarter; ``inf`` for never treated),
        ``treated`` (0/1), ``employment``. Adoption follows the logged
        (confounded) policy, without a budget; hidden variables are left out.
        """
        return self._frame(self._panel(n, rng, "observational"))

    def rct(self, n: int, rng: Any = None) -> pd.DataFrame:
        """A randomised rollout of the same ``n`` regions as ``observational(n, rng)``.

        Each region is never treated with probability ``0.05 + 0.45 overlap``,
        else adopts in a quarter drawn uniformly from 2 to ``n_quarters - 1``.
        """
        return self._frame(self._panel(n, rng, "rct"))

    # ------------------------------------------------------------------ truth
    def _effects(self, n: int, seed: Any, design: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
        panel = self._panel(n, seed, design, untreated=True)
        return panel, panel["employment"] - panel["untreated"]

    def att_by_cohort_event(self, n: int = 4000, seed: Any = 0,
                            design: Literal["observational", "rct"] = "observational") -> pd.DataFrame:
        """ATT of each cohort at each event time on the panel ``observational(n, seed)`` (or ``rct``).

        Exact by common random numbers: the same regions' noise is propagated
        with the policy as logged and with nobody adopting; the cell's ATT is the
        mean difference over the cohort's regions.

        Returns
        -------
        DataFrame with columns ``cohort``, ``event_time`` (``>= 0``), ``att`` (pp)
        and ``n_regions``, sorted by cohort and event time.
        """
        panel, effect = self._effects(n, seed, design)
        cohort = panel["cohort"]
        rows = []
        for g in np.unique(cohort[np.isfinite(cohort)]).astype(int):
            members = cohort == g
            for t in range(g, self.params.n_quarters):
                rows.append((g, t - g, float(effect[members, t].mean()), int(members.sum())))
        return pd.DataFrame(rows, columns=["cohort", "event_time", "att", "n_regions"])

    def att(self, n: int = 4000, seed: Any = 0,
            design: Literal["observational", "rct"] = "observational") -> Effect:
        """Overall ATT on the panel ``observational(n, seed)``: one weight per treated region-quarter.

        Exact for that panel (``stderr`` 0); ``n`` counts treated region-quarters.
        """
        panel, effect = self._effects(n, seed, design)
        treated = panel["treated"] > 0.5
        if not treated.any():
            raise ScenarioError("no region adopted in this panel; raise n or overlap")
        return Effect(float(effect[treated].mean()), 0.0, int(treated.sum()))


make_env = env_factory(PolicyRollout)
make_vec_env = vector_factory(PolicyRollout)
