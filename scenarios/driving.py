"""Driving: emergency braking looks dangerous in the logs and saves lives in truth.

The story
---------
A car drives; hazards (a pedestrian stepping out, an animal, a stalled car)
appear on a simpy clock as a Poisson process (0.2 per minute by default).
At each hazard the automated driving agent sees the car's ``speed``, the
``distance`` at which the hazard was detected, whether there is ``rain`` and
the sensors' ``visibility`` (0-1), and chooses to **maintain** speed,
**brake** (full braking) or **swerve** around the hazard. The outcomes follow
stopping-distance physics: for a reaction time ``t_r`` the car keeps its speed,
then decelerates at ``mu g`` (tyre-road friction ``mu``, which no one measures),
so it stops within ``v t_r + v^2 / (2 mu g)``; a swerve gets round the hazard
with a probability that depends on the time left, the friction and the
visibility, and has its own risk of a crash.

The logged data come from human drivers, who brake hard when the situation is
already dangerous — little time to reach the hazard, rain, and (hidden)
fatigue, which also slows their reaction. In the logs braking goes with *more*
collisions (43 % against 25 % after maintaining speed); the naive conclusion
"braking causes crashes" has the sign wrong: braking prevents about 18
collisions per 100 hazards.

The graph (``->`` cause, ``(hidden)`` unobserved; ``maneuver`` is the action,
and the agent's action also sets ``reaction`` to its own fixed value)::

    rain -> speed, visibility, friction, maneuver
    speed -> maneuver, reach_speed, hazard_hit, dodge, skid, impact_speed, delay
    visibility -> distance, dodge, skid
    distance -> maneuver, reach_speed, hazard_hit, dodge
    friction (hidden) -> decel, dodge, skid, discomfort
    fatigue (hidden) -> maneuver, reaction              (only with hidden_confounder)
    reaction (hidden) -> reach_speed, hazard_hit, dodge
    dwell (hidden) -> hazard_hit
    maneuver -> decel, hazard_hit, collision, impact_speed, discomfort, delay
    decel (hidden) -> reach_speed, discomfort, delay
    reach_speed (hidden) -> hazard_hit, impact_speed, delay
    dodge (hidden) -> hazard_hit
    skid (hidden) -> collision, impact_speed
    hazard_hit (hidden) -> collision, impact_speed

Variables (``h`` = heterogeneity, ``s`` = noise, ``c`` = confounding, ``H`` = 1
with the hidden confounder, else 0; ``g`` = 9.81 m/s^2; ``swerve`` =
``maneuver == 2``)::

    rain         0/1    Bernoulli(0.25)
    speed        m/s    20 - 2 rain + U(-10, 10)
    visibility   0-1    0.8 - 0.3 rain + U(-0.2, 0.2)          sensor visibility (1: perfect)
    distance     m      30 visibility + Exp(mean 80)           at detection
    friction     1      clip(0.625 + 0.3 h (0.25 - rain) + N(0, (0.08 s)^2), 0.1, 1)   (hidden)
    fatigue      0-1    U(0, 1)^2                                               (hidden)
    reaction     s      humans 1.0 + 1.5 H fatigue; the agent agent_reaction (1.0)  (hidden)
    dwell        s      Exp(mean 4): how long the hazard stays in the lane      (hidden)
    maneuver     0/1/2  maintain / brake / swerve: the action
    decel        m/s^2  g friction when braking, else 0                         (hidden)
    reach_speed  m/s    sqrt(max(speed^2 - 2 decel max(distance - speed reaction, 0), 0))
                        speed on reaching the hazard's position, 0 if stopped   (hidden)
    dodge        0/1    p = sigmoid(3 (distance/speed - reaction - sqrt(5 / (g friction))))
                            visibility                                          (hidden)
    skid         0/1    p = 0.03 + 0.12 (speed/25)^2 0.7/friction + 0.1 (1 - visibility)
                                                                                (hidden)
    hazard_hit   0/1    reach_speed > 0 and dwell > arrival and not (swerve and dodge)
    collision    0/1    max(hazard_hit, swerve skid)
    impact_speed m/s    max(hazard_hit reach_speed, swerve skid speed / 2)
    discomfort   m/s^2  peak acceleration: decel, or 0.8 g friction when swerving
    delay        s      (speed - reach_speed)^2 / (2 speed) (1/decel + 1/2.5) + swerve

``arrival = min(distance/speed, t_r) + 2 max(distance - speed t_r, 0) / (speed +
reach_speed)`` is the time the car needs to reach the hazard's position
(constant speed during the reaction, then uniform deceleration); ``delay`` is the
time lost decelerating to ``reach_speed`` and re-accelerating at 2.5 m/s^2 (a
full stop loses ``v / (2 decel) + v / 5``), a swerve loses 1 s. With ``h = 1`` the
friction is about 0.7 dry and 0.4 wet; ``h`` scales that gap around the mean
0.625, so it scales how much rain modifies the effect of braking (the effect
also varies with speed and distance at any ``h``: physics does not allow a
constant effect).
The context mechanisms are additive in their noise (invertible), which
``truth().cate`` needs to condition on an observed context. The observation
``(speed, distance, rain, visibility)`` lies in ``[8, 30] x [9, inf) x {0, 1} x
[0.3, 1]`` (``context_bounds``, the bounds of the observation space; ``distance``
has an exponential tail).

The logged (human) behaviour is a nested choice — react at all, then swerve
rather than brake — with every propensity floored at ``m = overlap / 4`` (each
lies in ``[m, 1 - 2m]``)::

    ttc                = distance / speed                                   (s)
    P(react)           = sigmoid(c (1.2 (3 - ttc) + 0.8 rain + 2 H fatigue) - 0.5)
    P(swerve | react)  = sigmoid(c (0.8 (1.5 - ttc) - 0.5 rain) - 1.5)
    P(a)               = m + (1 - 3m) * (nested-choice probability of a)

True effects (defaults; ``Driving().truth(n=1_000_000, seed=0)``: common random
numbers over 10^6 units; Monte-Carlo standard errors in brackets)::

    P(collision | do(maintain)) = 0.363 (0.0005)    mean impact speed 7.58 m/s
    P(collision | do(brake))    = 0.185 (0.0004)                      3.26 m/s
    P(collision | do(swerve))   = 0.302 (0.0005)                      5.20 m/s
    ATE brake - maintain:  collision -0.178 (0.0004), impact_speed -4.32 m/s (0.008)
    ATE swerve - maintain: collision -0.061 (0.0005)
    value (mean reward):   maintain -74.2, brake -45.7, swerve -64.1  (SE ~0.1)

The effect depends above all on the time to reach the hazard, ``distance /
speed``: braking prevents 38 collisions per 100 hazards 3-4 s away, none under
1 s (too late) and 4 over 10 s (the hazard usually clears by itself).

The trap (``observational(1_000_000, 1)``, defaults): humans maintain 58 %,
brake 33 %, swerve 9 % of the time; the collision rate is 0.427 after braking
and 0.247 after maintaining, a naive difference of +0.180 — bias +0.358, the
wrong sign. Back-door adjustment for the observed context (``identify`` on the
observed graph without fatigue gives ``{distance, rain, speed}``;
stratification, 35 quantile bins per continuous covariate, n = 500,000, 10
seeds) leaves +0.039 (0.0003): fatigue is hidden, fatigued drivers brake more,
and a logged human's brake is slower than the agent's (the humans' own braking
effect, ``do(maneuver = brake)`` with their reaction, is -0.145). With
``hidden_confounder=False`` the adjusted estimate is unbiased (+0.0004, 0.0003);
the naive bias then is +0.306, all of it observed. The naive bias grows with
``confounding``: +0.034 at 0 (only the humans' slower reaction), +0.274 at 0.5,
+0.358 at 1, +0.401 at 2, and levels off near +0.41; with ``confounding=0`` and
no hidden confounder it is 0 (+0.0003, 0.002). ``tests/scenarios/test_driving.py``
reproduces these numbers; ``docs/scenarios/driving.md`` tells the story.

Reward: ``-(100 collision + 5 impact_speed + discomfort + delay) - cost``, the
action cost being the fixed part of a maneuver's discomfort and delay (the
startle, the disturbance of following traffic): brake 1, swerve 2.

``DrivingBrake`` is the same world with a continuous action, the brake force
``f`` in [0, 1] (``decel = f g friction``; no swerve), logged humans pressing
``m + (1 - 2m) sigmoid(c (...) - 0.5 + N(0, 1))`` (the same urge as above); its
cost is 1 per unit of force.

References
----------
AASHTO, *A Policy on Geometric Design of Highways and Streets* ("Green Book"),
7th ed., 2018, sec. 3.2: stopping sight distance ``v t_r + v^2 / (2 a)`` with a
2.5 s design brake-reaction time (covering most drivers) and 3.4 m/s^2 design
deceleration.
M. Green, "'How long does it take to stop?' Methodological analysis of driver
perception-brake times", *Transportation Human Factors* 2(3):195-216, 2000
(about 0.7 s for expected, 1.25 s for unexpected, 1.5 s for surprise events).
G. Johansson and K. Rumar, "Drivers' brake reaction times", *Human Factors*
13(1):23-27, 1971.
A. M. Williamson and A.-M. Feyer, "Moderate sleep deprivation produces
impairments in cognitive and motor performance equivalent to legally
prescribed levels of alcohol intoxication", *Occupational and Environmental
Medicine* 57(10):649-655, 2000 (slower, more variable responses when fatigued).
J. Y. Wong, *Theory of Ground Vehicles*, 4th ed., Wiley, 2008, ch. 1 (tyre-road
friction: about 0.7-0.8 on dry asphalt, 0.4-0.6 wet).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from causal.scm import SCM
from causal.spec import load_scm
from scenarios.common import KnobParams
from sim.actions import ContinuousActions, DiscreteActions
from sim.errors import ScenarioError
from sim.registry import env_factory
from sim.scenario import Scenario
from sim.timeline import Poisson
from sim.vector import vector_factory

__all__ = ["DrivingParams", "Driving", "DrivingBrake", "make_env", "make_vec_env", "make_brake_env",
           "make_brake_vec_env"]

#: Gravitational acceleration (m/s^2).
G = 9.81
#: Reaction time of an alert driver to an unexpected hazard (s); Green (2000).
ALERT_REACTION = 1.0
#: Default extra reaction time of a fully fatigued driver (s): 1.0 + 1.5 = the 2.5 s AASHTO design value.
FATIGUE_DELAY = 1.5
#: Re-acceleration after braking (m/s^2), for the delay.
REACCELERATION = 2.5
#: Reward weights: per collision, and per m/s of impact speed.
COLLISION_COST, IMPACT_COST = 100.0, 5.0


@dataclass(frozen=True)
class DrivingParams(KnobParams):
    """Knobs of the driving scenarios (see :class:`~scenarios.common.KnobParams`).

    Attributes
    ----------
    confounding : float >= 0
        How strongly danger (short time to the hazard, rain) and fatigue drive
        the logged human's choice; 0 makes the logs a randomised trial of
        *human* maneuvers (with fatigue on, a human brake is slower than the agent's).
    heterogeneity : float >= 0
        Scale of the dry/wet friction gap (0.7 / 0.4 at 1, none at 0), which makes
        rain an effect modifier; the effect varies with speed and distance at any value.
    noise : float > 0
        Scale of the hidden friction variation (sd 0.08 s) that the context does not explain.
    hidden_confounder : bool
        Whether logged drivers have a hidden fatigue that makes them brake more
        and react slower; off, every logged driver is alert.
    hazard_rate : float > 0
        Hazards per minute of driving (the simpy clock runs in minutes).
    agent_reaction : float > 0
        The automated system's fixed reaction time (s). The default equals an
        alert driver's, so that logs of alert drivers identify the agent's
        effects; lower it to model a faster system (a transport problem).
    fatigue_delay : float >= 0
        With the hidden confounder, the extra reaction time (s) of a fully
        fatigued logged driver (fatigue = 1): 1.5 makes 2.5 s, the AASHTO
        design value; drowsy drivers with microsleeps react later still (raise it
        to 3-4.5 s). The larger it is, the more the logs blame braking for the
        crashes of fatigued drivers who braked too late.
    """

    max_units: int = 50
    hazard_rate: float = 0.2
    agent_reaction: float = ALERT_REACTION
    fatigue_delay: float = FATIGUE_DELAY

    def validate(self) -> None:
        super().validate()
        self.check_nonnegative("hazard_rate", "agent_reaction", strict=True)
        self.check_nonnegative("fatigue_delay")
        if self.agent_reaction > 5:
            raise ScenarioError(f"agent_reaction is in seconds and at most 5, got {self.agent_reaction!r}")
        if self.fatigue_delay > 5:
            raise ScenarioError(f"fatigue_delay is in seconds and at most 5, got {self.fatigue_delay!r}")

    @property
    def floor(self) -> float:
        """The propensity floor ``m = overlap / 4`` of every logged action."""
        return self.overlap / 4


def _world(p: DrivingParams, swerve: bool) -> dict[str, dict[str, Any]]:
    """The spec nodes of the world; the action node is added by each class."""
    reaction = (f"{ALERT_REACTION!r} + {float(p.fatigue_delay)!r} * fatigue" if p.hidden_confounder
                else repr(ALERT_REACTION))
    left = "maximum(distance - speed * reaction, 0)"  # distance left when the maneuver starts
    arrival = f"minimum(distance / speed, reaction) + 2 * {left} / (speed + reach_speed)"
    sw = "(maneuver == 2)" if swerve else "0"
    hit = f"(reach_speed > 0) * (dwell > {arrival})" + (f" * (1 - {sw} * dodge)" if swerve else "")
    nodes: dict[str, dict[str, Any]] = {
        "rain": {"type": "binary", "p": 0.25, "unit": "0/1", "description": "it rains"},
        "speed": {"equation": "20 - 2 * rain + noise", "noise": "uniform(-10, 10)", "unit": "m/s",
                  "description": "speed when the hazard appears"},
        "visibility": {"equation": "0.8 - 0.3 * rain + noise", "noise": "uniform(-0.2, 0.2)", "unit": "0-1",
                       "description": "sensor visibility (1: perfect)"},
        "distance": {"equation": "30 * visibility + noise", "noise": "exponential(80)", "unit": "m",
                     "description": "distance to the hazard at detection"},
        "friction": {"equation": f"clip(0.625 + {0.3 * p.heterogeneity!r} * (0.25 - rain) + noise, 0.1, 1)",
                     "noise": f"normal(0, {0.08 * p.noise!r})", "hidden": True, "unit": "1",
                     "description": "tyre-road friction coefficient"},
        "fatigue": {"equation": "noise ** 2", "noise": "uniform(0, 1)", "hidden": True, "unit": "0-1",
                    "description": "the logged driver's fatigue"},
        "reaction": {"equation": reaction, "hidden": True, "unit": "s",
                     "description": "reaction time (the agent's when it acts)"},
        "dwell": {"noise": "exponential(4)", "hidden": True, "unit": "s",
                  "description": "how long the hazard stays in the lane"},
        "reach_speed": {"equation": f"sqrt(maximum(speed ** 2 - 2 * decel * {left}, 0))", "hidden": True,
                        "unit": "m/s", "description": "speed on reaching the hazard (0: stopped before)"},
    }
    if swerve:
        nodes["dodge"] = {"type": "binary", "hidden": True, "unit": "0/1",
                          "p": "clip(sigmoid(3 * (distance / speed - reaction"
                               f" - sqrt(5 / ({G!r} * friction)))) * visibility, 0, 1)",
                          "description": "a swerve gets round the hazard"}
        nodes["skid"] = {"type": "binary", "hidden": True, "unit": "0/1",
                         "p": "clip(0.03 + 0.12 * (speed / 25) ** 2 * 0.7 / friction"
                              " + 0.1 * (1 - visibility), 0, 1)",
                         "description": "a swerve crashes by itself (loss of control, adjacent lane)"}
    nodes["hazard_hit"] = {"equation": hit, "hidden": True, "unit": "0/1",
                           "description": "the car reaches the hazard while it is in the lane"}
    nodes["collision"] = {"equation": f"maximum(hazard_hit, {sw} * skid)" if swerve else "hazard_hit",
                          "unit": "0/1"}
    nodes["impact_speed"] = {"equation": (f"maximum(hazard_hit * reach_speed, {sw} * skid * 0.5 * speed)"
                                          if swerve else "hazard_hit * reach_speed"), "unit": "m/s"}
    nodes["discomfort"] = {"equation": f"decel + {sw} * 0.8 * {G!r} * friction" if swerve else "decel",
                           "unit": "m/s^2", "description": "peak acceleration felt"}
    nodes["delay"] = {"equation": "(speed - reach_speed) ** 2 / (2 * speed) * (1 / maximum(decel, 0.001)"
                                  f" + 1 / {REACCELERATION!r})" + (f" + {sw}" if swerve else ""),
                      "unit": "s", "description": "time lost to the maneuver"}
    return nodes


def _danger(p: DrivingParams) -> str:
    """The logged driver's urge to react (a logit): danger, rain and, if hidden, fatigue."""
    fatigue = " + 2 * fatigue" if p.hidden_confounder else ""
    return f"{p.confounding!r} * (1.2 * (3 - distance / speed) + 0.8 * rain{fatigue}) - 0.5"


class _DrivingBase(Scenario):
    params_type = DrivingParams
    context = ("speed", "distance", "rain", "visibility")
    outcome = "collision"
    #: From the equations: speed = 20 - 2 rain + U(-10, 10) (8 wet to 30 dry), visibility =
    #: 0.8 - 0.3 rain + U(-0.2, 0.2) (0.3 to 1), distance = 30 visibility + Exp (at least 9 m,
    #: no upper bound); rain is binary (0, 1 by default).
    context_bounds = {"speed": (8.0, 30.0), "distance": (9.0, float("inf")), "visibility": (0.3, 1.0)}

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """The SCM as a spec mapping (the YAML export)."""

    def build_scm(self) -> SCM:
        return load_scm(self.spec())

    def build_timeline(self) -> Poisson:
        return Poisson(rate=self.params.hazard_rate, kind="hazard")

    def reward(self, values, actions):
        def loss(x: Any, weight: float = 1.0) -> np.ndarray:
            # 0.0 - ...: no negative zeros; one unit's float (the episode core's scalar path) as is
            return 0.0 - weight * (x if type(x) is float else np.asarray(x, dtype=float))

        return {"collision": loss(values["collision"], COLLISION_COST),
                "impact": loss(values["impact_speed"], IMPACT_COST),
                "discomfort": loss(values["discomfort"]), "delay": loss(values["delay"]),
                "cost": loss(self.actions.cost(actions))}


class Driving(_DrivingBase):
    """An automated car choosing to maintain, brake or swerve at a hazard (see the module docstring).

    Examples
    --------
    >>> sc = Driving()
    >>> sc.actions.labels
    ('maintain', 'brake', 'swerve')
    >>> t = sc.truth(n=20_000, seed=1)
    >>> t.ate("brake", "maintain").value < -0.1     # braking prevents collisions
    True
    >>> logs = sc.observational(20_000, 1)
    >>> rate = logs.groupby("maneuver")["collision"].mean()
    >>> bool(rate[1] > rate[0] + 0.1)              # yet in the logs it goes with more of them
    True
    """

    name = "driving"
    summary = "hazards on the road: braking looks dangerous in human logs and prevents crashes in truth"

    def spec(self) -> dict[str, Any]:
        """The SCM as a spec mapping (the YAML export)."""
        p = self.params
        m, rest = p.floor, 1 - 3 * p.floor
        react = f"sigmoid({_danger(p)})"
        swerve = f"sigmoid({p.confounding!r} * (0.8 * (1.5 - distance / speed) - 0.5 * rain) - 1.5)"
        nodes = _world(p, swerve=True)
        nodes["maneuver"] = {
            "type": "categorical", "unit": "0/1/2",
            "description": "0 maintain, 1 brake, 2 swerve (logged: the human's choice)",
            "probs": [f"{m!r} + {rest!r} * (1 - {react})",
                      f"{m!r} + {rest!r} * {react} * (1 - {swerve})",
                      f"{m!r} + {rest!r} * {react} * {swerve}"]}
        nodes["decel"] = {"equation": f"where(maneuver == 1, {G!r} * friction, 0)", "hidden": True,
                          "unit": "m/s^2", "description": "deceleration"}
        return {"name": self.name, "description": self.summary, "nodes": nodes}

    def build_actions(self) -> DiscreteActions:
        t = float(self.params.agent_reaction)
        return DiscreteActions({"maintain": {"maneuver": 0.0, "reaction": t},
                                "brake": {"maneuver": 1.0, "reaction": t},
                                "swerve": {"maneuver": 2.0, "reaction": t}},
                               costs={"brake": 1.0, "swerve": 2.0})


class AutomatedBrake(ContinuousActions):
    """``ContinuousActions("brake_force", 0, 1)`` executed by the automated system.

    The interventions also set ``reaction`` to the system's fixed reaction time.
    """

    def __init__(self, reaction: float, cost_per_unit: float = 1.0) -> None:
        super().__init__("brake_force", 0.0, 1.0, cost_per_unit)
        self.reaction = float(reaction)

    def values(self, actions: np.ndarray) -> dict[str, np.ndarray]:
        out = super().values(actions)
        out["reaction"] = np.full(len(out["brake_force"]), self.reaction)
        return out


class DrivingBrake(_DrivingBase):
    """The driving world with a continuous brake force in [0, 1] as the action (no swerve).

    Examples
    --------
    >>> t = DrivingBrake().truth(n=20_000, seed=1)
    >>> t.ate([1.0], [0.0]).value < t.ate([0.5], [0.0]).value < 0   # harder braking, fewer crashes
    True
    """

    name = "driving_brake"
    summary = "the driving world with a continuous brake force as the action"

    def spec(self) -> dict[str, Any]:
        """The SCM as a spec mapping (the YAML export)."""
        p = self.params
        m = p.floor
        nodes = _world(p, swerve=False)
        nodes["brake_force"] = {"equation": f"{m!r} + {1 - 2 * m!r} * sigmoid({_danger(p)} + noise)",
                                "noise": "normal(0, 1)", "unit": "0-1",
                                "description": "brake force (logged: the human's)"}
        nodes["decel"] = {"equation": f"{G!r} * friction * brake_force", "hidden": True, "unit": "m/s^2",
                          "description": "deceleration"}
        return {"name": self.name, "description": self.summary, "nodes": nodes}

    def build_actions(self) -> AutomatedBrake:
        return AutomatedBrake(self.params.agent_reaction)


make_env = env_factory(Driving)
make_vec_env = vector_factory(Driving)
make_brake_env = env_factory(DrivingBrake)
make_brake_vec_env = vector_factory(DrivingBrake)
