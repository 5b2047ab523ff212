"""The learned-SCM planner: fit a model of the world on the logs, then plan by asking it.

:class:`LearnedSCMPlanner` knows the scenario's observed graph (the same public
knowledge as :class:`~agents.offline.CausalAgent`) but not its equations. From
the logs it learns one mechanism per observed node between the action and the
reward: a gradient-boosted model of the node given its observed parents, with
the node's noise taken as the model's residuals (continuous nodes: a residual
drawn from the fitted ones) or its predicted class probabilities (discrete
nodes, a few integer levels). To act it simulates, for each action, ``draws``
worlds of its own model under ``do(action)`` for the observed context, and takes
the action with the best mean reward (the scenario's reward function of the
simulated nodes).

What it assumes, and where it fails: a mechanism fitted by regression on the
observed parents is the causal mechanism only when nothing hidden drives both a
node and its parents — that is, when the observed graph has no bidirected edge
into the nodes it learns. Where a hidden confounder links the action to an
outcome (Driving's fatigue), its model is the correlational one in disguise,
and the planner says so at construction (``warn`` in :attr:`assumptions`).
Observed parents that are neither context nor downstream of the action (e.g.
Marketing's ``outage``) are drawn from their logged values, independently of
the context.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from agents.base import Agent, AgentError, features, one_thread
from agents.offline import _logged, default_regressor

__all__ = ["LearnedSCMPlanner"]


def _default_classifier() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=100, random_state=0)


class LearnedSCMPlanner(Agent):
    """Plans with an SCM learned from the logs over the known observed graph.

    Parameters
    ----------
    draws : int
        Simulated worlds per action and decision.
    model, classifier : scikit-learn estimators, optional
        Mechanisms of continuous and of discrete nodes (cloned).
    max_levels : int
        A node with at most this many integer values in the logs is discrete.
    """

    name = "planner"
    batched = True

    def __init__(self, scenario, draws: int = 64, model: Any = None, classifier: Any = None,
                 max_levels: int = 10) -> None:
        super().__init__(scenario)
        if not (isinstance(draws, int) and draws >= 1):
            raise AgentError(f"draws must be an integer >= 1, got {draws!r}")
        self.draws, self.model, self.classifier, self.max_levels = draws, model, classifier, max_levels
        sc = scenario
        g = sc.scm.observed_graph
        acts = [v for v in sc.actions.nodes if v in g.observed]
        if not acts:
            raise AgentError(f"agent 'planner': the action of {sc.name!r} sets no observed node")
        targets = {v for v in sc.reward_nodes() if v in g.observed and v not in sc.actions.nodes}
        below = set(g.descendants(acts))
        above = set(g.ancestors(targets)) | targets
        order = g.topological_order()
        #: the nodes it learns: downstream of the action and upstream of (or read by) the reward
        self.learned = tuple(v for v in order if v in below and v in above and v not in sc.actions.nodes)
        self.parents = {v: tuple(p for p in order if p in set(g.parents(v))) for v in self.learned}
        inputs = {p for v in self.learned for p in self.parents[v]}
        known = set(sc.context) | set(sc.actions.nodes) | set(self.learned)
        #: observed parents neither seen nor simulated: drawn from the logs
        self.exogenous = tuple(v for v in order if v in inputs and v not in known)
        linked = {frozenset(pair) for pair in g.bidirected_edges}
        confounded = sorted(v for v in self.learned
                            if any(frozenset((v, p)) in linked for p in self.parents[v]))
        #: what the learned model takes for granted, and whether the graph says it fails (a hidden
        #: common cause of outcomes alone is harmless: each mechanism is fitted on its own parents)
        self.assumptions = ("no hidden common cause of a learned node and its parents"
                            + (f"; warn: the graph has one for {confounded}" if confounded else ""))

    @one_thread
    def fit(self, logs: pd.DataFrame) -> LearnedSCMPlanner:
        actions, _ = _logged(self, logs)
        sc = self.scenario
        need = set(sc.context) | set(self.learned) | set(self.exogenous)
        missing = sorted(v for v in need if v not in logs.columns)
        if missing:
            raise AgentError(f"the logs lack the column(s) {missing} that agent 'planner' needs")
        frame = {v: logs[v].to_numpy(dtype=np.float64) for v in need}
        frame.update(sc.actions.values(actions))
        self.mechanisms_: dict[str, tuple[str, Any, np.ndarray]] = {}
        for v in self.learned:
            x = np.column_stack([frame[p] for p in self.parents[v]])
            y = frame[v]
            levels = np.unique(y)
            if len(levels) <= self.max_levels and np.all(levels == np.round(levels)):
                m = clone(self.classifier if self.classifier is not None else _default_classifier())
                m.fit(x, y.astype(np.int64))
                self.mechanisms_[v] = ("discrete", m, m.classes_.astype(np.float64))
            else:
                m = clone(self.model if self.model is not None else default_regressor())
                m.fit(x, y)
                self.mechanisms_[v] = ("continuous", m, y - m.predict(x))
        self.exogenous_values_ = {v: frame[v] for v in self.exogenous}
        self.fitted_ = True
        return self

    @one_thread
    def values(self, x: np.ndarray) -> np.ndarray:
        """Mean simulated reward ``(n, k)`` of each action for each observation."""
        if not hasattr(self, "fitted_"):
            raise AgentError("agent 'planner' plans with what it learned from logs: call fit(logs) first")
        sc = self.scenario
        n, k, m = len(x), self.n_actions, self.draws
        # one world per (observation, draw), the same worlds for every action (common numbers)
        rng = np.random.default_rng(0)
        base = {v: np.repeat(x[:, j], m) for j, v in enumerate(sc.context)}
        rows = len(next(iter(self.exogenous_values_.values()))) if self.exogenous_values_ else 0
        if rows:
            pick = rng.integers(rows, size=n * m)
            base.update({v: col[pick] for v, col in self.exogenous_values_.items()})
        uniform = {v: rng.random(n * m) for v in self.learned}
        residual = {v: rng.integers(len(r), size=n * m) for v, (kind, _, r) in self.mechanisms_.items()
                    if kind == "continuous"}
        out = np.empty((n, k))
        for a in range(k):
            acts = np.full(n * m, a, dtype=np.int64)
            values = dict(base)
            values.update(sc.actions.values(acts))
            for v in self.learned:
                kind, model, extra = self.mechanisms_[v]
                design = np.column_stack([values[p] for p in self.parents[v]])
                if kind == "continuous":
                    values[v] = model.predict(design) + extra[residual[v]]
                else:
                    cum = np.cumsum(model.predict_proba(design), axis=1)
                    idx = (uniform[v][:, None] > cum[:, :-1]).sum(axis=1)
                    values[v] = extra[idx]
            for key, val in sc.state_values(sc.initial_state()).items():
                values.setdefault(key, np.full(n * m, float(val)))
            total = np.asarray(sc.total_reward(values, acts)[0], dtype=np.float64)
            out[:, a] = total.reshape(n, m).mean(axis=1)
        return out

    def act(self, obs: np.ndarray) -> int:
        return int(self.act_batch(features(obs))[0])

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        return np.argmax(self.values(features(obs)), axis=1).astype(np.int64)
