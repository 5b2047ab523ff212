"""The statistical demonstrations of issue 13: the braking trap, rung 2 over rung 1, rung 3 over bandits.

Run with ``pytest -m slow tests/agents/test_agents_slow.py``: 4 min 40 s on a busy shared
machine (about 3 min of CPU; the Marketing runs and the three Driving runs with the confounder
observed are most of it). Every test is seeded, so it passes
or fails the same way every time; what each comment calls its *false-failure rate* is the
chance that another seed would fail it although the effect is as measured. Contrasts are
paired differences across episodes (the same units for both agents, :func:`agents.paired`);
a check "the paired 95% interval excludes 0" on a contrast ``z`` standard errors wide fails
with probability about ``Phi(1.96 - z)``.

Regret is per decision, vs the oracle (:mod:`agents.evaluate`). A paired difference of two
agents' regrets is the difference of their realised rewards: it does not depend on the
oracle's Monte-Carlo ``draws``, which only sharpen the single agents' figures.
"""

from __future__ import annotations

import pandas as pd
import pytest

import agents
import scenarios
from agents import AgentError, evaluate, paired, summarize

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # the gradient-boosted trees use every core through OpenMP; on a shared machine that
    # oversubscription made the fits twenty times slower (the numbers do not change)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def driving_observed():
    """Driving with the confounder observed (``hidden_confounder=False``): the context is a
    back-door set, so the causal agent may learn from the logs. One run (40 episodes, agents fit
    on 50,000 logged rows) per seed of :data:`SEEDS`; the first is the braking trap's."""
    sc = scenarios.make("driving", hidden_confounder=False)
    runs = {}
    for seed in SEEDS:
        df = evaluate(["naive", "correlational", "causal", "oracle"], sc, episodes=40, seed=seed,
                      logs=50_000, draws=1000)
        runs[seed] = df, summarize(df).set_index("agent")
    return runs


def test_braking_trap_naive_agent_never_brakes_and_pays_for_it(driving_observed):
    df, s = driving_observed[0]
    # measured (40 episodes x 50 hazards): naive 28.7 per decision; naive - causal +27.8
    # [24.3, 31.2], naive - correlational +28.0 [24.7, 31.3]: about 15 SE from 0, false-failure
    # rate below 1e-9
    for other in ("causal", "correlational"):
        mean, low, high = paired(df, "naive", other)
        assert low > 0, (other, mean, low, high)
    # the oracle brakes at 1,366 of the 2,000 hazards; the naive agent, which read "braking goes
    # with collisions" in the logs, at none of them; the learners that adjust for the context
    # agree with 95 % of the oracle's brakes (1,304 each). Binomial over
    # 1,366 hazards (SE under 1 %): false-failure rate below 1e-6
    tot = df.groupby("agent")[["oracle_brake", "agrees_brake"]].sum()
    assert tot.loc["oracle", "oracle_brake"] > 0.5 * s.loc["oracle", "decisions"]
    assert tot.loc["naive", "agrees_brake"] == 0
    assert (df[df.agent == "naive"].share_brake == 0).all()
    for other in ("causal", "correlational"):
        assert tot.loc[other, "agrees_brake"] > 0.8 * tot.loc[other, "oracle_brake"]


def test_with_the_confounder_observed_both_adjusting_agents_are_near_the_oracle(driving_observed):
    # Regression on a valid adjustment set is adjustment: with the context a back-door set, the
    # doubly robust causal agent and the plain regression learn the same values, and neither is
    # far from the oracle. Three seeds, 40 episodes and 50,000 logs each.
    covered = []
    for seed, (df, s) in driving_observed.items():
        naive = s.loc["naive", "regret_oracle"]
        # margin: 10 % of the naive agent's regret (about 3 per decision, 3 % of a collision's
        # cost of 100). Measured (seeds 0, 1, 2): causal 0.95, 1.40, 0.09; correlational 0.74,
        # 1.04, 0.72; naive 28.7, 32.3, 30.5. The closest, causal at seed 1, is 2.4 SE (0.76)
        # under the margin, the others 3.4 SE or more: false-failure rate of the six checks
        # about 1 %
        for name in ("causal", "correlational"):
            assert s.loc[name, "regret_oracle"] < 0.1 * naive, (seed, name, s.loc[name, "regret_oracle"])
        mean, low, high = paired(df, "causal", "correlational")
        covered.append(low <= 0 <= high)
    # Their difference is not significant: the paired 95% interval of causal - correlational
    # contains 0 at two seeds of three at least. Measured: +0.21 [-0.62, 1.04], +0.36 [-0.80,
    # 1.52], -0.62 [-1.44, 0.19]. Were the true difference 0, each interval would exclude 0 with
    # probability 0.05, and two of three would with probability 3 (0.05^2) 0.95 + 0.05^3 = 0.7 %:
    # the false-failure rate. (Over 20 seeds at 40 episodes/50,000 logs and 20/20,000, 2
    # intervals excluded 0, once each way: a rate of about 0.1 per seed, which would give 2.8 %.)
    assert sum(covered) >= len(SEEDS) - 1, covered


def test_rung_2_beats_rung_1_when_a_confounder_is_hidden_on_driving():
    # Driving with its hidden fatigue, and drowsy logged drivers (the documented knob
    # fatigue_delay=4.5: a fully fatigued human reacts 4.5 s later than an alert one; the default
    # 1.5 s moves the regression's decisions too little to show, see docs/agents.md). The logs do
    # not identify braking's effect given the context: the causal agent refuses (the fast suite:
    # test_agents.py::test_causal_agent_identifies_only_with_a_back_door_set_in_the_context); the
    # query agent asks query.interventional about its own braking, with an unlimited budget.
    sc = scenarios.make("driving", hidden_confounder=True, fatigue_delay=4.5)
    with pytest.raises(AgentError, match="will not guess"):
        agents.make("causal", sc)
    df = evaluate(["correlational", "query", "oracle"], sc, episodes=60, seed=0, logs=20_000, draws=300)
    # measured: correlational 4.67 per decision, query 0.42; paired +4.24 [2.71, 5.78] (5.4 SE):
    # false-failure rate below 0.1 %. (Seeds 1 and 2 gave +2.87 [1.54, 4.19] at 40 episodes and
    # +4.42 [3.08, 5.76] at 60.)
    mean, low, high = paired(df, "correlational", "query")
    assert low > 0, (mean, low, high)


def test_rung_2_beats_rung_1_when_a_confounder_is_hidden_on_marketing():
    # The refusal half is in the fast suite: test_agents.py::
    # test_causal_agent_identifies_only_with_a_back_door_set_in_the_context (Driving with the
    # hidden fatigue). Marketing's hidden intent is refused the same way:
    sc = scenarios.make("marketing")
    with pytest.raises(AgentError, match="will not guess"):
        agents.make("causal", sc)
    # Marketing at its default knobs. Driving at its default fatigue_delay does not
    # show the contrast (see docs/agents.md): fatigue biases the logs against braking only
    # through the human's slower reaction, which matters at 1-2.5 s from the hazard, where
    # braking with the agent's 1 s reaction still wins. Measured at 20 episodes and 20,000 logs:
    # at the defaults correlational -0.38, query -0.08 per decision (the regression is no worse);
    # of 12 settings tried (confounding 0/1/3 x overlap 0.2/1 x heterogeneity 1/2) the
    # regression did worst at confounding=3, overlap=1, heterogeneity=2, where correlational -
    # query is +0.90 [-0.57, 2.37], not significant. In Marketing the rule sent discounts to
    # high-intent customers who buy anyway, so a regression on the logs credits the discount
    # with their purchases and sends it to most customers. The query agent asks
    # query.interventional for each action (default settings, 64 samples) with an unlimited
    # budget (query_budget=None: 4 questions per customer, about 390 per episode).
    df = evaluate(["correlational", "query", "oracle"], sc, episodes=80, seed=0, logs=20_000,
                  draws=300)
    # measured: correlational 1.09 per decision, query 0.54, paired +0.55 [0.34, 0.77] (5.0 SE):
    # false-failure rate about 0.1 %
    mean, low, high = paired(df, "correlational", "query")
    assert low > 0, (mean, low, high)
    share = df.groupby("agent").share_discount.mean()
    # the mechanism: the regression sends discounts about five times as often as the oracle
    # (measured 0.86 vs 0.17; the query agent 0.20)
    assert share["correlational"] > 3 * share["oracle"]


def test_counterfactual_learner_beats_bandits_and_queries_beat_none_on_marketing():
    # T = 60 episodes x about 98 customers = 5,844 steps; learners keep what they learn
    # across episodes (reset once per run); query budget unlimited for the counterfactual
    # learner (3 counterfactual questions per step), the bandits ask none
    df = evaluate(["counterfactual", "epsilon-greedy", "ucb1"], "marketing", episodes=60, seed=0,
                  draws=300)
    cum = df.groupby("agent").regret_oracle.sum()
    assert cum["counterfactual"] < cum["epsilon-greedy"] and cum["counterfactual"] < cum["ucb1"]
    # measured (T = 5,844 decisions): cumulative regret counterfactual 261, epsilon-greedy 3,703,
    # ucb1 3,171; per decision epsilon-greedy - counterfactual +0.58 [0.39, 0.76] (6.2 SE), ucb1
    # - counterfactual +0.51 [0.29, 0.73] (4.6 SE): false-failure rate about 0.4 %
    for bandit in ("epsilon-greedy", "ucb1"):
        mean, low, high = paired(df, bandit, "counterfactual")
        assert low > 0, (bandit, mean, low, high)
    # the query agent with a budget of 40 questions per episode (query_cost=1: ten customers'
    # worth, then its ridge model of the answers) against the same agent with budget 0 (it can
    # only act at random). Measured: +0.76 [0.44, 1.09] (4.6 SE): false-failure rate about 0.4 %
    with_budget = evaluate(["query"], "marketing", episodes=40, seed=0, draws=300, query_budget=40,
                           query_cost=1.0)
    without = evaluate(["query"], "marketing", episodes=40, seed=0, draws=300, query_budget=0)
    without["agent"] = "query-0"
    both = pd.concat([with_budget, without], ignore_index=True)
    assert (without.queries == 0).all() and (with_budget.queries == 40).all()
    mean, low, high = paired(both, "query-0", "query")
    assert low > 0, (mean, low, high)
