"""Agents by name: ``make("causal", scenario)``; :func:`names` lists them."""

from __future__ import annotations

import difflib
from typing import Any

from agents.base import Agent, AgentError
from agents.baselines import ClairvoyantAgent, OracleAgent, RandomAgent
from agents.offline import CausalAgent, CorrelationalAgent, NaiveAgent
from agents.online import UCB1, CounterfactualLearner, EpsilonGreedy, LinUCB, QueryAgent, Thompson
from agents.planner import LearnedSCMPlanner

__all__ = ["names", "make", "AGENTS"]

#: name -> (class, default settings)
AGENTS: dict[str, tuple[type[Agent], dict[str, Any]]] = {
    "random": (RandomAgent, {}),
    "oracle": (OracleAgent, {}),
    "clairvoyant": (ClairvoyantAgent, {}),
    "naive": (NaiveAgent, {}),
    "correlational": (CorrelationalAgent, {}),
    "causal": (CausalAgent, {}),
    "causal-query": (CausalAgent, {"fallback": "query"}),
    "planner": (LearnedSCMPlanner, {}),
    "epsilon-greedy": (EpsilonGreedy, {}),
    "ucb1": (UCB1, {}),
    "thompson": (Thompson, {}),
    "linucb": (LinUCB, {}),
    "query": (QueryAgent, {}),
    "counterfactual": (CounterfactualLearner, {}),
}


def names() -> list[str]:
    """The registered agent names."""
    return list(AGENTS)


def make(name: str, scenario: Any, **settings: Any) -> Agent:
    """The agent registered as ``name``, made for ``scenario`` (``settings`` override defaults)."""
    if not isinstance(name, str) or name not in AGENTS:
        close = difflib.get_close_matches(str(name), list(AGENTS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise AgentError(f"unknown agent {name!r}; {hint}known: {', '.join(AGENTS)}")
    cls, defaults = AGENTS[name]
    agent = cls(scenario, **{**defaults, **settings})
    agent.name = name
    return agent
