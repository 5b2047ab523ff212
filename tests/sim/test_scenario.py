"""The Scenario contract (validation at construction) and its ground truth (``Truth``).

Statistical assertions allow K = 5 Monte-Carlo standard errors: for a normal
statistic the two-sided false-failure rate is about 6e-7 per assertion. All
draws are seeded, so a run is reproducible; the tolerance, not the seed, makes
the tests pass.
"""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from causal.spec import load_scm
from sim.actions import DiscreteActions
from sim.errors import ActionError, ScenarioError
from sim.scenario import Params, Scenario
from sim.testing import (
    DoseScenario,
    DynamicParams,
    DynamicScenario,
    HiddenStateScenario,
    ToyParams,
    ToyScenario,
)
from sim.timeline import Poisson

K = 5.0
N_TRUTH = 100_000


def _phi(z: float) -> float:
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _Phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def scenario_class(nodes, *, context, outcome="y", choices=None):
    """A minimal Scenario subclass over a spec's ``nodes`` (binary action on ``t`` by default)."""
    choices = choices or {"off": {"t": 0.0}, "on": {"t": 1.0}}

    class Custom(Scenario):
        name = "custom"

        def build_scm(self):
            return load_scm({"name": "custom", "nodes": nodes})

        def build_actions(self):
            return DiscreteActions(choices)

        def build_timeline(self):
            return Poisson(rate=1.0)

    Custom.context = tuple(context)
    Custom.outcome = outcome
    return Custom


BASE = {
    "x": {"noise": "normal(0, 1)"},
    "u": {"noise": "normal(0, 1)", "hidden": True},
    "t": {"type": "binary", "logit": "x + u"},
    "y": {"equation": "x + t + u + noise", "noise": "normal(0, 1)"},
}


# ---------------------------------------------------------------------- contract validation
def test_a_valid_custom_scenario_builds():
    sc = scenario_class(BASE, context=["x"])()
    assert sc.static and not sc.dynamic
    assert [v for v, _ in sc.noise_items] == list(sc.scm.graph.topological_order())


def test_context_depending_on_a_hidden_node_is_rejected():
    nodes = {**BASE, "z": {"equation": "u + noise", "noise": "normal(0, 1)"}}
    with pytest.raises(ScenarioError, match=r"context node 'z' depends on \['u'\]"):
        scenario_class(nodes, context=["x", "z"])()


def test_a_hidden_context_node_is_rejected():
    with pytest.raises(ScenarioError, match=r"context nodes \['u'\] are hidden"):
        scenario_class(BASE, context=["x", "u"])()


def test_the_action_itself_as_context_is_rejected():
    nodes = {**BASE, "t": {"type": "binary", "logit": "x"}}
    with pytest.raises(ScenarioError, match=r"\['t'\] are the action or its descendants"):
        scenario_class(nodes, context=["x", "t"])()


def test_a_context_node_caused_by_the_action_is_rejected_naming_the_action():
    # BUG (sim/scenario.py, Scenario._validate): the leak check runs before the action check, so
    # this raises "context node 'z' depends on ['t'], which the agent does not observe ... (add
    # them to the context ...)" -- advice that cannot work, since adding the action to the
    # context is rejected next. The message should say that z is downstream of the action.
    nodes = {**BASE, "t": {"type": "binary", "logit": "x"},
             "z": {"equation": "t + noise", "noise": "normal(0, 1)"}}
    with pytest.raises(ScenarioError, match=r"action") as err:
        scenario_class(nodes, context=["x", "z"])()
    assert "'z'" in str(err.value)


def test_a_context_node_driven_by_a_hidden_state_node_is_rejected():
    # BUG (sim/scenario.py, Scenario._validate): state nodes are allowed as context ancestors even
    # when hidden, so the observation m = s + noise reveals the hidden s -- against the module's
    # promise that "no hidden variable leaks into what the agent sees".
    with pytest.raises(ScenarioError, match=r"context node 'm' depends on \['s'\]"):
        HiddenStateScenario()


def test_a_hidden_outcome_is_rejected():
    # BUG (sim/scenario.py, Scenario._validate): a hidden outcome is accepted; then info["outcome"]
    # shows a hidden node to the agent and query.counterfactual(a) raises SimError ("'y' is hidden").
    nodes = {**BASE, "y": {**BASE["y"], "hidden": True}}
    with pytest.raises(ScenarioError, match="hidden"):
        scenario_class(nodes, context=["x"])()


@pytest.mark.parametrize("what, kwargs, pattern", [
    ("context", {"context": ["x", "nope"]}, r"context node\(s\) \['nope'\] are not nodes of the SCM"),
    ("outcome", {"context": ["x"], "outcome": "nope"}, r"outcome node\(s\) \['nope'\] are not nodes"),
    ("action", {"context": ["x"], "choices": {"a": {"zz": 0.0}, "b": {"zz": 1.0}}},
     r"action node\(s\) \['zz'\] are not nodes"),
])
def test_unknown_nodes_are_named(what, kwargs, pattern):
    with pytest.raises(ScenarioError, match=pattern):
        scenario_class(BASE, **kwargs)()


def test_an_outcome_not_caused_by_the_action_is_rejected():
    with pytest.raises(ScenarioError, match=r"outcome 'x' is not caused by the action"):
        scenario_class(BASE, context=[], outcome="x")()


@pytest.mark.parametrize("overrides, pattern", [
    ({"max_units": 0}, r"max_units must be a positive integer, got 0"),
    ({"max_units": 2.5}, r"max_units must be a positive integer"),
    ({"max_units": True}, r"max_units must be a positive integer"),
    ({"horizon": -1.0}, r"horizon must be > 0"),
    ({"horizon": float("nan")}, r"horizon must be > 0"),
    ({"horizon": "long"}, r"horizon must be > 0"),
])
def test_bad_params_raise_scenario_error(overrides, pattern):
    with pytest.raises(ScenarioError, match=pattern):
        ToyScenario(**overrides)


@pytest.mark.parametrize("confounding", [float("nan"), float("inf"), "strong"])
def test_bad_scenario_specific_params_raise_scenario_error(confounding):
    # BUG (sim/testing.py, ToyParams.validate): raises ValueError("confounding must be finite")
    # for NaN/inf and a numpy TypeError for a string, instead of ScenarioError.
    with pytest.raises(ScenarioError, match="confounding"):
        ToyScenario(confounding=confounding)


def test_unknown_overrides_are_named_with_the_valid_ones():
    with pytest.raises(ScenarioError, match=r"unknown parameter\(s\) \['confunding'\] for toy; "
                                            r"parameters: confounding, horizon, max_units"):
        ToyScenario(confunding=1.0)


def test_params_of_another_scenario_are_rejected():
    with pytest.raises(ScenarioError, match="ToyScenario takes ToyParams, got DynamicParams"):
        ToyScenario(DynamicParams())


def test_params_are_frozen_and_overrides_apply_on_top_of_given_params():
    base = ToyParams(max_units=7)
    sc = ToyScenario(base, confounding=0.0)
    assert sc.params == ToyParams(max_units=7, confounding=0.0)
    assert base.confounding == 1.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.params.max_units = 3  # type: ignore[misc]
    assert isinstance(sc.params, Params)


def test_total_reward_of_one_unit_is_its_reward_in_a_batch():
    """Nine components: ``np.sum`` would add one unit's pairwise but a batch's left to right."""
    class ManyParts(ToyScenario):
        def reward(self, values, actions):
            y = np.asarray(values["y"], dtype=float)
            return {f"part{k}": y * 10.0 ** (k - 4) for k in range(9)}

    sc = ManyParts(max_units=3)
    noise = sc.scm.sample_noise(200, seed=1)
    actions = np.random.default_rng(2).integers(0, 2, 200)
    batch, parts = sc.total_reward(sc.outcomes(noise, actions), actions)
    assert len(parts) == 9
    for i in range(200):
        one = {v: arr[i:i + 1] for v, arr in noise.items()}
        alone, _ = sc.total_reward(sc.outcomes(one, actions[i:i + 1]), actions[i:i + 1])
        assert alone.tobytes() == batch[i:i + 1].tobytes()


def test_observational_and_rct_hold_observed_nodes_only():
    sc = ToyScenario()
    obs = sc.observational(100, 0)
    assert list(obs.columns) == ["x", "t", "y"]
    rct = sc.rct(100, 0)
    assert list(rct.columns) == ["action", "x", "t", "y"]
    np.testing.assert_array_equal(rct["action"].to_numpy(), rct["t"].to_numpy())


def test_rct_works_when_the_action_node_is_named_action():
    # BUG (sim/scenario.py, Scenario.rct): rct inserts a column "action", which collides with an
    # action node of that name (scenarios/marketing.py has one): pandas raises
    # ValueError("cannot insert action, already exists").
    nodes = {("action" if k == "t" else k): v for k, v in BASE.items()}
    nodes["y"] = {"equation": "x + action + u + noise", "noise": "normal(0, 1)"}
    sc = scenario_class(nodes, context=["x"], choices={"off": {"action": 0.0}, "on": {"action": 1.0}})()
    data = sc.rct(200, 0)
    assert set(data["action"]) == {0.0, 1.0} and "u" not in data.columns


def test_rct_is_randomised_and_observational_is_confounded():
    # With confounding the logged treatment depends on the hidden u, so the naive contrast is
    # biased upwards; in the trial it is not. Tolerances: K standard errors of a difference in means.
    sc = ToyScenario(confounding=1.5)

    def naive(df):
        a, b = df.loc[df["t"] == 1, "y"], df.loc[df["t"] == 0, "y"]
        return a.mean() - b.mean(), math.sqrt(a.var() / len(a) + b.var() / len(b))

    d_obs, se_obs = naive(sc.observational(20_000, 1))
    d_rct, se_rct = naive(sc.rct(20_000, 2))
    # E[y | t=1] - E[y | t=0] in the trial: E[1 + x] + 0 (x independent of t) = 1.
    assert abs(d_rct - 1.0) < K * se_rct
    assert d_obs - 1.0 > K * se_obs


# ---------------------------------------------------------------------- truth
@pytest.fixture(scope="module")
def truth():
    return ToyScenario().truth(n=N_TRUTH, seed=0)


def test_ate_of_toy_is_expected_one_plus_x(truth):
    # y(treat) - y(control) = 1 + x for every unit, so ATE = E[1 + x] = 1.
    ate = truth.ate("treat", "control")
    assert ate.n == N_TRUTH
    assert abs(ate.value - 1.0) < K * ate.stderr
    assert ate.stderr == pytest.approx(1 / math.sqrt(N_TRUTH), rel=0.05)
    # integer actions and labels name the same worlds
    assert truth.ate(1, 0) == ate


def test_ite_is_exactly_one_plus_x_of_each_unit(truth):
    x = truth.noise["x"]  # x := noise
    np.testing.assert_allclose(truth.ite("treat", "control"), 1.0 + x, rtol=0, atol=1e-12)


def test_means_and_values_match_the_analytic_ones(truth):
    # E[y | do(t)] = 1 + t;  value = E[y | do(t)] - cost(t), cost(treat) = 0.5.
    for action, mean, value in (("control", 1.0, 1.0), ("treat", 2.0, 1.5)):
        m, v = truth.mean(action), truth.value(action)
        assert abs(m.value - mean) < K * m.stderr
        assert abs(v.value - value) < K * v.stderr
        assert v.value == pytest.approx(m.value - (0.5 if action == "treat" else 0.0), abs=1e-12)
    assert truth.mean("treat", node="x").value == truth.mean("control", node="x").value


def test_threshold_policy_beats_constant_policies_by_the_analytic_margin(truth):
    # Treating gains (1 + x) - 0.5 = 0.5 + x, so "treat iff x > -0.5" is optimal. Per unit it beats
    #   always-control by (0.5 + x) 1{x > -0.5}: mean 0.5 Phi(0.5) + phi(0.5);
    #   always-treat by -(0.5 + x) 1{x < -0.5}: mean phi(0.5) - 0.5 Phi(-0.5).
    # All three values share the truth's units (common random numbers), so the differences are
    # exactly these per-unit gains averaged, and their standard errors are those of the gains.
    best = truth.policy_value(lambda obs: (obs[:, 0] > -0.5).astype(int))
    treat = truth.policy_value(lambda obs: np.ones(len(obs), dtype=int))
    control = truth.policy_value(lambda obs: np.zeros(len(obs), dtype=int))
    assert treat.value == pytest.approx(truth.value("treat").value, abs=1e-12)
    assert control.value == pytest.approx(truth.value("control").value, abs=1e-12)
    x = truth.noise["x"]
    for other, gain, margin in (
        (control, (0.5 + x) * (x > -0.5), 0.5 * _Phi(0.5) + _phi(0.5)),
        (treat, -(0.5 + x) * (x < -0.5), _phi(0.5) - 0.5 * _Phi(-0.5)),
    ):
        diff = best.value - other.value
        assert diff == pytest.approx(gain.mean(), abs=1e-9)
        assert abs(diff - margin) < K * gain.std(ddof=1) / math.sqrt(len(x))
        assert diff > 0


def test_cate_at_given_contexts_is_one_plus_x(truth):
    xs = np.array([-2.0, -0.5, 0.0, 0.7, 3.0])
    cate = truth.cate("treat", "control", pd.DataFrame({"x": xs}))
    # the effect does not depend on the hidden u, so the answer is exact
    np.testing.assert_allclose(cate, 1.0 + xs, atol=1e-9)


def test_cate_of_a_dose_is_the_dose_contrast_times_one_plus_x():
    xs = np.array([-1.0, 0.0, 2.0])
    cate = DoseScenario().truth(n=1000).cate(2.0, 0.5, pd.DataFrame({"x": xs}))
    np.testing.assert_allclose(cate, 1.5 * (1.0 + xs), atol=1e-9)


def test_truth_rejects_unknown_actions(truth):
    with pytest.raises(ActionError, match="unknown action 'maybe'; actions: control, treat"):
        truth.value("maybe")
    with pytest.raises(ActionError):
        truth.ate(2, 0)


def test_truth_of_a_dynamic_scenario_uses_the_initial_state():
    # y = 2 a + s + e with s = s_0 = 1: E[y | do(act)] - E[y | do(wait)] = 2 exactly per unit.
    t = DynamicScenario().truth(n=1000)
    np.testing.assert_allclose(t.ite("act", "wait"), 2.0, atol=1e-12)
    assert abs(t.mean("wait").value - 1.0) < K * t.mean("wait").stderr


def test_cate_given_a_state_node_in_the_context():
    # BUG (sim/scenario.py, Truth.cate / _cate): the context is matched against the SCM with the
    # state nodes fixed at their initial values, so any other observed state is "impossible":
    # CounterfactualError("the evidence of unit(s) [0, 1] is impossible under the model"). In
    # DynamicScenario E[y(act) - y(wait) | s] = 2 for every state s.
    cate = DynamicScenario().truth(n=100).cate("act", "wait", pd.DataFrame({"s": [0.5, 1.0, 2.0]}))
    np.testing.assert_allclose(cate, 2.0, atol=1e-9)


def test_truth_is_seeded():
    a = ToyScenario().truth(n=500, seed=3).value("treat")
    b = ToyScenario().truth(n=500, seed=3).value("treat")
    c = ToyScenario().truth(n=500, seed=4).value("treat")
    assert a == b and a != c


def test_logged_actions_and_rewards_are_the_rewards_of_the_logged_rows():
    import scenarios
    from sim.errors import ScenarioError

    sc = scenarios.make("driving")
    full = sc.scm.sample(3000, seed=4, hidden=True)        # every node, hidden ones too
    logs = full[list(sc.scm.observed)]
    actions = sc.logged_actions(logs)
    np.testing.assert_array_equal(actions, full["maneuver"].to_numpy().astype(np.int64))
    values = {v: full[v].to_numpy(dtype=np.float64) for v in full.columns}
    expected = sc.total_reward(values, actions)[0]
    np.testing.assert_array_equal(sc.logged_rewards(logs), expected)
    assert sc.reward_nodes() == ("collision", "impact_speed", "discomfort", "delay")
    with pytest.raises(ScenarioError, match="do not record"):
        sc.logged_rewards(logs.drop(columns="collision"))
    with pytest.raises(ScenarioError, match="which no action"):
        sc.logged_actions(logs.assign(maneuver=7))
    with pytest.raises(ScenarioError, match="do not record the action"):
        scenarios.make("policy").logged_actions(scenarios.make("policy").observational(50, 0))
