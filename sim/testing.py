"""Small scenarios for tests, doctests and examples of the Scenario contract.

* :class:`ToyScenario` — static: one observed covariate, a hidden confounder of
  the logged treatment, a binary action, heterogeneous effect ``1 + x``.
* :class:`DynamicScenario` — a linear state carried between decision points on
  a scheduled clock, with analytic counterfactual rollouts:
  ``y_t = 2 a_t + s_t + e_t`` and ``s_{t+1} = 0.5 s_t + a_t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from causal.mechanisms import Binary, Linear
from causal.noise import Normal
from causal.scm import SCM
from causal.spec import load_scm
from sim.actions import ContinuousActions, DiscreteActions
from sim.errors import ScenarioError
from sim.scenario import Params, Scenario
from sim.timeline import Poisson, Scheduled

__all__ = ["ToyParams", "ToyScenario", "DynamicParams", "DynamicScenario", "DoseScenario",
           "HiddenStateScenario"]


@dataclass(frozen=True)
class ToyParams(Params):
    """``confounding``: weight of the hidden ``u`` in the logging policy."""

    max_units: int = 50
    confounding: float = 1.5

    def validate(self) -> None:
        super().validate()
        c = self.confounding
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not np.isfinite(c):
            raise ScenarioError(f"confounding must be a finite number, got {c!r}")


class ToyScenario(Scenario):
    """x ~ N(0,1) seen; u ~ N(0,1) hidden; t ~ Bernoulli(sigmoid(x + c u)); y = 1 + x + t (1 + x) + u + e."""

    name = "toy"
    summary = "one covariate, a hidden confounder, effect 1 + x"
    params_type = ToyParams
    context = ("x",)
    outcome = "y"

    def build_scm(self) -> SCM:
        c = self.params.confounding
        return load_scm({"name": "toy", "nodes": {
            "x": {"noise": "normal(0, 1)"},
            "u": {"noise": "normal(0, 1)", "hidden": True},
            "t": {"type": "binary", "logit": f"x + {c!r} * u"},
            "y": {"equation": "1 + x + t * (1 + x) + u + noise", "noise": "normal(0, 1)"},
        }})

    def build_actions(self) -> DiscreteActions:
        return DiscreteActions({"control": {"t": 0.0}, "treat": {"t": 1.0}}, costs={"treat": 0.5})

    def build_timeline(self) -> Poisson:
        return Poisson(rate=1.0)


@dataclass(frozen=True)
class DynamicParams(Params):
    max_units: int = 20


class DynamicScenario(Scenario):
    """A linear dynamic model: ``y_t = 2 a_t + s_t + e_t``, ``s_{t+1} = 0.5 s_t + a_t``, ``s_0 = 1``.

    The observation is the state ``s``, which stays in [0, 2] (``context_bounds``).
    """

    name = "dynamic"
    summary = "a state carried between decision points"
    params_type = DynamicParams
    context = ("s",)
    outcome = "y"
    state_nodes = ("s",)
    #: s_0 = 1 and s_{t+1} = 0.5 s_t + a_t with a_t in {0, 1} keep s in [0, 2].
    context_bounds = {"s": (0.0, 2.0)}

    def build_scm(self) -> SCM:
        return SCM({"s": Linear(), "a": Binary(p=0.5), "y": Linear({"a": 2.0, "s": 1.0})},
                   {"s": None, "y": Normal()})

    def build_actions(self) -> DiscreteActions:
        return DiscreteActions({"wait": {"a": 0.0}, "act": {"a": 1.0}}, costs={"act": 1.0})

    def build_timeline(self) -> Scheduled:
        return Scheduled(interval=1.0)

    def initial_state(self) -> dict[str, float]:
        return {"s": 1.0}

    def transition(self, state, values, action, time):
        return {"s": 0.5 * np.asarray(state["s"]) + np.asarray(values["a"])}


class DoseScenario(ToyScenario):
    """The toy world with a continuous dose ``t`` in [0, 2] (cost 0.25 per unit)."""

    name = "dose"

    def build_actions(self) -> ContinuousActions:
        return ContinuousActions("t", 0.0, 2.0, cost_per_unit=0.25)


class HiddenStateScenario(DynamicScenario):
    """Invalid on purpose, for tests of the construction checks: the hidden state ``s`` drives
    the observed context ``m = s + noise``, so the agent would see a hidden variable."""

    name = "hidden-state"
    context = ("m",)
    context_bounds = {}  # m = s + normal noise is unbounded (and s is not in this context)

    def build_scm(self) -> SCM:
        return SCM({"s": Linear(), "m": Linear({"s": 1.0}), "a": Binary(p=0.5),
                    "y": Linear({"a": 2.0, "s": 1.0})},
                   {"s": None, "m": Normal(), "y": Normal()}, hidden=("s",))
