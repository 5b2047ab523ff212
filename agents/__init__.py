"""agents — decision agents that ask causal questions, and their evaluation by regret.

See :mod:`agents.base` for the contract, :mod:`agents.evaluate` for the scoring.
"""

from agents.base import Agent, AgentError, Truth
from agents.baselines import ClairvoyantAgent, OracleAgent, RandomAgent
from agents.evaluate import episode_seeds, evaluate, paired, plot_regret, summarize
from agents.offline import CausalAgent, CorrelationalAgent, NaiveAgent
from agents.online import UCB1, CounterfactualLearner, EpsilonGreedy, LinUCB, QueryAgent, Thompson
from agents.planner import LearnedSCMPlanner
from agents.registry import make, names

__all__ = ["Agent", "AgentError", "Truth", "RandomAgent", "OracleAgent", "ClairvoyantAgent",
           "NaiveAgent", "CorrelationalAgent", "CausalAgent", "EpsilonGreedy", "UCB1", "Thompson",
           "LinUCB", "QueryAgent", "LearnedSCMPlanner", "CounterfactualLearner", "evaluate",
           "summarize", "paired", "plot_regret", "episode_seeds", "make", "names"]
