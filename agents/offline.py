"""Agents that learn from a scenario's logged (confounded) data before playing.

* :class:`NaiveAgent` compares the logged rewards by action alone,
  ``E[R | action]``, and always takes the best-looking action: the textbook
  trap. In Driving's logs braking goes with more collisions, because humans
  brake when the situation is already dangerous.
* :class:`CorrelationalAgent` regresses the reward on the action and the context
  as logged (any scikit-learn regressor; gradient boosting by default) and acts
  greedily on the predictions, ``E[R | action, context]``. Where the context
  holds a back-door set this *is* adjustment, and it works; where a hidden
  confounder also drove the logged action (Driving's driver fatigue) it is
  biased, and nothing in the data says so.
* :class:`CausalAgent` reads the scenario's observed graph first and asks
  whether the logs identify ``E[R | do(a), context]``: when the context, or
  the context with further observed covariates, is a valid adjustment set for
  the effect of the action on the nodes the reward reads, it learns each
  action's value by a doubly robust learner: cross-fitted propensity and outcome
  models, then a regression on the context of the outcome model's predictions
  plus an early-stopped regression of the inverse-propensity-weighted residuals
  (the AIPW correction), whose sum has the AIPW pseudo-outcome's expectation. When
  nothing identifies it, it says so (:class:`~agents.base.AgentError`) — or,
  with ``fallback="query"``, learns by experiment, as :class:`~agents.online.QueryAgent`.

Each ``fit(logs)`` takes the frame of :meth:`~sim.scenario.Scenario.observational`;
rewards are the scenario's own reward function of the logged values
(:meth:`~sim.scenario.Scenario.logged_rewards`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from agents.base import Agent, AgentError, features, one_thread
from causal.errors import NotIdentifiable

__all__ = ["NaiveAgent", "CorrelationalAgent", "CausalAgent", "default_regressor"]


def default_regressor() -> Any:
    """Gradient-boosted trees (scikit-learn's histogram version), seeded: deterministic."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, random_state=0)


class _Constant:
    """A fitted constant: the mean of a regression target where no tree improved on it."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.value)


def _early_stopped(x: np.ndarray, y: np.ndarray, validation: float = 0.2, patience: int = 10) -> Any:
    """A boosted regression of ``y`` on ``x`` with as many trees as held-out loss supports.

    Fits gradient-boosted trees on a seeded ``1 - validation`` share of the rows, scores every
    iteration (the first being the constant mean) on the rest, and refits on all rows with the
    best number of trees — or returns the constant mean when no tree helped (scikit-learn's own
    early stopping keeps the last ``patience`` trees even when they made the held-out loss worse).
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    search = HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, early_stopping=True,
                                           validation_fraction=validation, n_iter_no_change=patience,
                                           random_state=0).fit(x, y)
    best = int(np.argmax(search.validation_score_))
    if best == 0:
        return _Constant(np.mean(y))
    return HistGradientBoostingRegressor(max_iter=best, learning_rate=0.1, random_state=0).fit(x, y)


def _logged(agent: Agent, logs: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(logs, pd.DataFrame) or len(logs) == 0:
        raise AgentError(f"agent {agent.name!r} learns from logged data: give a non-empty DataFrame "
                         "(e.g. scenario.observational(n, seed))")
    sc = agent.scenario
    actions = sc.logged_actions(logs)
    if actions.ndim != 1:
        raise AgentError(f"agent {agent.name!r} needs discrete actions; {sc.name!r} has continuous ones")
    rewards = sc.logged_rewards(logs)
    return actions, rewards


def _context(agent: Agent, logs: pd.DataFrame, names: tuple[str, ...] | None = None) -> np.ndarray:
    names = agent.scenario.context if names is None else names
    missing = [v for v in names if v not in logs.columns]
    if missing:
        raise AgentError(f"the logs lack the column(s) {missing} that agent {agent.name!r} needs")
    return np.column_stack([logs[v].to_numpy(dtype=np.float64) for v in names])


class NaiveAgent(Agent):
    """Always the action with the best mean logged reward, ``argmax_a E[R | action = a]``."""

    name = "naive"
    batched = True

    @one_thread
    def fit(self, logs: pd.DataFrame) -> NaiveAgent:
        actions, rewards = _logged(self, logs)
        k = self.n_actions
        counts = np.bincount(actions, minlength=k)
        sums = np.bincount(actions, weights=rewards, minlength=k)
        means = np.full(k, -np.inf)
        seen = counts > 0
        means[seen] = sums[seen] / counts[seen]
        #: mean logged reward of each action (-inf: never logged)
        self.means_ = means
        self.best_ = int(np.argmax(means))
        return self

    def act(self, obs: np.ndarray) -> int:
        return int(self.act_batch(features(obs))[0])

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        if not hasattr(self, "best_"):
            raise AgentError("agent 'naive' acts on what it learned from logs: call fit(logs) first")
        return np.full(len(features(obs)), self.best_, dtype=np.int64)


class _Greedy(Agent):
    """Greedy on per-action value predictions ``values(x) -> (n, k)``."""

    batched = True

    @one_thread
    def values(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def act(self, obs: np.ndarray) -> int:
        return int(self.act_batch(features(obs))[0])

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        if not hasattr(self, "fitted_"):
            raise AgentError(f"agent {self.name!r} acts on what it learned from logs: call fit(logs) first")
        return np.argmax(self.values(features(obs)), axis=1).astype(np.int64)


class CorrelationalAgent(_Greedy):
    """Greedy on a regression of the logged reward on the context and the action (one-hot).

    Parameters
    ----------
    model : scikit-learn regressor, optional
        Cloned before fitting; default :func:`default_regressor`.
    """

    name = "correlational"

    def __init__(self, scenario, model: Any = None) -> None:
        super().__init__(scenario)
        self.model = model

    @one_thread
    def fit(self, logs: pd.DataFrame) -> CorrelationalAgent:
        actions, rewards = _logged(self, logs)
        x = _context(self, logs)
        onehot = np.eye(self.n_actions)[actions]
        self.model_ = clone(self.model if self.model is not None else default_regressor())
        self.model_.fit(np.hstack([x, onehot]), rewards)
        self.fitted_ = True
        return self

    @one_thread
    def values(self, x: np.ndarray) -> np.ndarray:
        k, n = self.n_actions, len(x)
        rows = np.vstack([np.hstack([x, np.tile(np.eye(k)[a], (n, 1))]) for a in range(k)])
        return self.model_.predict(rows).reshape(k, n).T


def adjustment_for(scenario) -> tuple[tuple[str, ...] | None, str]:
    """An observed adjustment set ``W`` containing the context for the effect of the action on
    the nodes the reward reads, and a description; ``(None, why)`` when the graph has none."""
    from causal.identify import identify, is_valid_adjustment, minimum_adjustment_set

    sc = scenario
    g = sc.scm.observed_graph
    treatment = [v for v in sc.actions.nodes if v not in sc.scm.hidden]
    outcome = [v for v in sc.reward_nodes() if v not in sc.actions.nodes and v not in sc.scm.hidden]
    context = tuple(v for v in sc.context if v in g.observed)
    if is_valid_adjustment(g, treatment, outcome, context):
        return context, f"the context {{{', '.join(context)}}} is a back-door set"
    z = minimum_adjustment_set(g, treatment, outcome)
    if z is not None:
        extra = tuple(sorted(set(z) - set(context)))
        w = context + extra
        if is_valid_adjustment(g, treatment, outcome, w):
            return w, f"the context with {{{', '.join(extra)}}} is a back-door set"
    try:
        how = identify(g, treatment, outcome).strategy
        why = (f"no observed back-door set contains the context (the effect is identified only by "
               f"{how}, not per context)")
    except NotIdentifiable:
        why = "the logged data do not identify the effect at all (a hidden confounder)"
    return None, why


class CausalAgent(_Greedy):
    """Greedy on ``E[R | do(a), context]`` learned from logs where the graph identifies it.

    Parameters
    ----------
    model : scikit-learn regressor, optional
        Outcome and final models (cloned); default :func:`default_regressor`.
    propensity : scikit-learn classifier, optional
        Default: a standardised multinomial logistic regression.
    folds : int
        Cross-fitting folds of the nuisance models (fixed seed 0).
    clip : float
        Propensities used in the pseudo-outcomes are clipped to ``[clip, 1]``.
    outcome : {"pooled", "per-action"}
        The outcome model ``mu(w, a)``: one regression of the reward on the adjustment set and
        the action (one-hot), which lets the actions share what they have in common (the
        default; the rarest action may be a tenth of the logs), or one regression per action.
    final : {"corrected", "pseudo"}
        How each action's value ``E[R | do(a), x]`` is learned from the cross-fitted nuisances.
        ``"pseudo"``, the DR-learner, regresses the AIPW pseudo-outcome
        ``mu_a + 1{A=a} (R - mu_a) / e_a`` on the context ``x``. ``"corrected"`` (default)
        regresses the two parts separately: ``mu_a`` (noise-free targets; this also averages out
        adjustment covariates beyond the context) with ``model``, and the residual term
        ``1{A=a} (R - mu_a) / e_a`` with boosted trees early-stopped on held-out loss, which start
        from its mean (the AIPW correction of the average) and add trees only where the data
        show the outcome model biased. The sum has the same expectation given ``x``, so it stays
        doubly robust; the final stage no longer re-learns ``mu_a`` from targets divided by
        propensities as low as ``clip``, which made the DR-learner's decisions noisier than a
        plain regression's.
    fallback : {None, "query"}
        When the logs do not identify the effect: raise (``None``), or learn by
        experiment through ``query.interventional`` (as :class:`QueryAgent`).
    """

    name = "causal"

    def __init__(self, scenario, model: Any = None, propensity: Any = None, folds: int = 2,
                 clip: float = 0.02, outcome: str = "pooled", final: str = "corrected",
                 fallback: str | None = None, **query_settings: Any) -> None:
        super().__init__(scenario)
        if fallback not in (None, "query"):
            raise AgentError(f"fallback must be None or 'query', got {fallback!r}")
        if final not in ("corrected", "pseudo"):
            raise AgentError(f"final must be 'corrected' or 'pseudo', got {final!r}")
        if outcome not in ("pooled", "per-action"):
            raise AgentError(f"outcome must be 'pooled' or 'per-action', got {outcome!r}")
        self.outcome, self.final = outcome, final
        if not (isinstance(folds, int) and folds >= 2):
            raise AgentError(f"folds must be an integer >= 2, got {folds!r}")
        self.model, self.propensity, self.folds, self.clip = model, propensity, folds, float(clip)
        self.fallback = fallback
        self.adjustment, self.reason = adjustment_for(scenario)
        self._fallback = None
        if self.adjustment is None:
            if fallback is None:
                raise AgentError(f"agent 'causal' on {scenario.name!r}: {self.reason}; it will not guess. "
                                 "Use fallback='query' to learn by experiment instead")
            from agents.online import QueryAgent

            self._fallback = QueryAgent(scenario, **query_settings)
            self.batched = False

    @one_thread
    def fit(self, logs: pd.DataFrame) -> CausalAgent:
        if self._fallback is not None:
            self.fitted_ = True
            return self
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        actions, rewards = _logged(self, logs)
        k, n = self.n_actions, len(actions)
        w = _context(self, logs, self.adjustment)
        x = w[:, :len(self.scenario.context)]
        counts = np.bincount(actions, minlength=k)
        if (counts < 2 * self.folds).any():
            few = [self.scenario.actions.label(a) for a in np.flatnonzero(counts < 2 * self.folds)]
            raise AgentError(f"the logs hold too few rows of action(s) {few} to learn their value")
        prop = self.propensity if self.propensity is not None else make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
        base = self.model if self.model is not None else default_regressor()
        e = np.empty((n, k))
        mu = np.empty((n, k))
        for train, test in StratifiedKFold(self.folds, shuffle=True, random_state=0).split(w, actions):
            p = clone(prop).fit(w[train], actions[train])
            e[test] = p.predict_proba(w[test])[:, np.searchsorted(p.classes_, np.arange(k))]
            mu[test] = self._outcomes(base, w, actions, rewards, train, test)
        e = np.clip(e, self.clip, 1.0)
        taken = np.eye(k, dtype=bool)[actions]
        correction = taken * (rewards[:, None] - mu) / e
        #: the cross-fitted propensities of the logged actions (their range shows the overlap)
        self.propensities_ = e[np.arange(n), actions]
        if self.final == "pseudo":
            self.models_ = [clone(base).fit(x, mu[:, a] + correction[:, a]) for a in range(k)]
        else:
            self.models_ = [clone(base).fit(x, mu[:, a]) for a in range(k)]
            self.corrections_ = [_early_stopped(x, correction[:, a]) for a in range(k)]
        self.fitted_ = True
        return self

    def _outcomes(self, base: Any, w: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
                  train: np.ndarray, test: np.ndarray) -> np.ndarray:
        """Each action's predicted reward ``(len(test), k)`` from outcome models fit on ``train``."""
        k = self.n_actions
        if self.outcome == "per-action":
            return np.column_stack([clone(base).fit(w[sel], rewards[sel]).predict(w[test])
                                    for sel in (train[actions[train] == a] for a in range(k))])
        eye = np.eye(k)
        model = clone(base).fit(np.hstack([w[train], eye[actions[train]]]), rewards[train])
        rows = np.vstack([np.hstack([w[test], np.tile(eye[a], (len(test), 1))]) for a in range(k)])
        return model.predict(rows).reshape(k, len(test)).T

    def start(self, env: Any) -> None:
        super().start(env)
        if self._fallback is not None:
            self._fallback.start(env)

    def reset(self, seed: int | None = 0) -> None:
        super().reset(seed)
        if self._fallback is not None:
            self._fallback.reset(seed)

    def act(self, obs: np.ndarray) -> int:
        if self._fallback is not None:
            return self._fallback.act(obs)
        return super().act(obs)

    def update(self, obs, action, reward, info) -> None:
        if self._fallback is not None:
            self._fallback.update(obs, action, reward, info)

    @one_thread
    def values(self, x: np.ndarray) -> np.ndarray:
        v = np.column_stack([m.predict(x) for m in self.models_])
        if self.final == "corrected":
            v += np.column_stack([g.predict(x) for g in self.corrections_])
        return v
