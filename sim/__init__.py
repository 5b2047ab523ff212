"""sim — the engine: scenarios as simulations over time and as Gymnasium environments.

``sim.rollout`` and ``sim.counterfactual_rollout`` (the functions) record an
episode and replay its world under another policy; the modules are
``sim.rollout`` only through ``from sim.rollout import ...``.
"""

from sim.actions import ActionMap, ContinuousActions, DiscreteActions
from sim.cate import CateData, cate_data, cate_truth
from sim.checks import check_scenario
from sim.env import CausalEnv
from sim.errors import ActionError, QueryBudgetExceeded, ScenarioError, SimError
from sim.query import Answer, Query
from sim.rollout import Trajectory, counterfactual_rollout, rollout
from sim.scenario import Params, Scenario, Truth
from sim.timeline import Clock, DecisionPoint, Poisson, Scheduled, StateDependent, Timeline
from sim.vector import CausalVectorEnv
from sim.wrappers import QueryBudget

__all__ = [
    "Scenario",
    "Params",
    "Truth",
    "ActionMap",
    "DiscreteActions",
    "ContinuousActions",
    "Timeline",
    "Poisson",
    "Scheduled",
    "StateDependent",
    "Clock",
    "DecisionPoint",
    "CausalEnv",
    "CausalVectorEnv",
    "QueryBudget",
    "Query",
    "Answer",
    "rollout",
    "counterfactual_rollout",
    "Trajectory",
    "check_scenario",
    "cate_data",
    "cate_truth",
    "CateData",
    "SimError",
    "ScenarioError",
    "ActionError",
    "QueryBudgetExceeded",
]
