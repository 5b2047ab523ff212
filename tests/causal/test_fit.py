"""Learned SCMs (causal.fit): mechanisms fitted on a graph, scored against the model that made the data.

Statistical checks compare with the truth within k standard errors; k = 4 unless stated
(two-sided false-failure rate about 6e-5 per check under normality).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from causal import CausalGraph, EstimationError, ModelError, load_scm
from causal._fit_mechanisms import Classified, Empirical
from causal.fit import fit_scm, node_kinds, score_scm
from causal.mechanisms import Binary, Linear

LINEAR = {"nodes": {
    "z": {"noise": "normal(0, 1)"},
    "x": {"equation": "0.8 * z + noise", "noise": "normal(0, 1)"},
    "y": {"equation": "2 + 1.5 * x - 1 * z + noise", "noise": "normal(0, 2)"},
}}

MIXED = {"nodes": {
    "age": {"noise": "uniform(20, 60)"},
    "group": {"type": "categorical", "probs": [0.5, 0.3, 0.2]},
    "treated": {"type": "binary", "logit": "-2 + 0.05 * age"},
    "y": {"equation": "10 + 3 * treated + 0.1 * age + 2 * where(group == 2, 1, 0) + noise",
          "noise": "normal(0, 1)"},
}}


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1):
        yield


def test_linear_gaussian_recovers_coefficients_and_noise_sd():
    true = load_scm(LINEAR)
    n = 4000
    scm = fit_scm(true.graph, true.sample(n, seed=1))
    m = scm.mechanisms["y"]
    assert isinstance(m, Linear)
    # OLS standard errors: sd(beta_x) = 2 / sqrt(n var(x | z)) = 2 / sqrt(n) ~ 0.032
    assert abs(m.coefs["x"] - 1.5) < 4 * 2 / np.sqrt(n)
    assert abs(m.coefs["z"] + 1.0) < 4 * 2 * np.sqrt(1.64) / np.sqrt(n)
    assert abs(scm.noise["y"].sd - 2.0) < 4 * 2.0 / np.sqrt(2 * n)
    # the root keeps the data's distribution (empirical), its mean and spread
    assert isinstance(scm.noise["z"], Empirical)
    ate = scm.ate("x", "y", treat=1, control=0, n=2000, seed=0)
    assert abs(ate.value - 1.5) < 4 * 2 / np.sqrt(n) + 1e-9


def test_counterfactual_of_learned_linear_model_matches_the_units_truth():
    true = load_scm(LINEAR)
    scm = fit_scm(true.graph, true.sample(4000, seed=2))
    units, noise = true.sample(200, seed=3, return_noise=True)
    truth = true.counterfactual(noise=noise, interventions={"x": 1.0})
    cf = scm.counterfactual(units, {"x": 1.0})
    assert cf.attrs["mode"] == "exact"
    # error per unit = (b_hat - b) * (1 - x): of order 0.03 * |1 - x| (x has sd 1.3), far below the noise sd 2
    err = np.abs(cf["y"].to_numpy() - truth["y"].to_numpy())
    assert err.max() < 0.6 and err.mean() < 0.15


def test_discrete_nodes_logistic_and_categorical_parents():
    true = load_scm(MIXED)
    n = 6000
    data = true.sample(n, seed=4)
    assert node_kinds(data) == {"age": "continuous", "group": "categorical", "treated": "binary",
                                "y": "continuous"}
    scm = fit_scm(true.graph, data)
    assert isinstance(scm.mechanisms["treated"], Binary)       # logistic on a numeric parent: a spec
    assert isinstance(scm.mechanisms["group"], Classified)     # a root: its frequencies
    # y's linear fit one-hot codes the categorical parent, so the group-2 jump is recovered exactly
    ate = scm.ate("treated", "y", treat=1, control=0, n=2000, seed=0)
    assert abs(ate.value - 3.0) < 4 * 1.0 * np.sqrt(1 / (n * 0.25))
    sub = scm.do({"group": 2.0}).sample(3000, seed=1)["y"].mean() - \
        scm.do({"group": 0.0}).sample(3000, seed=1)["y"].mean()
    assert abs(sub - 2.0) < 4 * np.sqrt(1 / 1500 + 1 / 1500)
    # probabilities of the fitted logit match the truth on a grid of ages
    p = scm.mechanisms["treated"].probability({"age": np.array([20.0, 40.0, 60.0])}, 3)
    assert np.allclose(p, 1 / (1 + np.exp(-(-2 + 0.05 * np.array([20, 40, 60])))), atol=0.05)
    # discrete counterfactual: posterior over the threshold's cell; setting treated to its own
    # value gives back the factual y
    unit = data.iloc[:5]
    same = scm.counterfactual(unit, {"treated": unit["treated"].to_numpy()})
    assert np.allclose(same["y"].to_numpy(), unit["y"].to_numpy())


def test_additive_regressor_and_empirical_noise_are_invertible():
    from sklearn.tree import DecisionTreeRegressor

    true = load_scm({"nodes": {"x": {"noise": "uniform(-2, 2)"},
                               "y": {"equation": "x * x + noise", "noise": "uniform(-1, 1)"}}})
    data = true.sample(3000, seed=5)
    scm = fit_scm(true.graph, data, regressor=DecisionTreeRegressor(min_samples_leaf=50, random_state=0))
    assert isinstance(scm.noise["y"], Empirical)
    unit = data.iloc[:50]
    back = scm.counterfactual(unit, {})                      # abduct, predict under no change
    assert np.allclose(back["y"].to_numpy(), unit["y"].to_numpy())
    y = scm.sample(4000, seed=1)["y"].to_numpy()
    # E[y] = E[x^2] = 4/3; sd of the sample mean ~ sqrt(var(y) / n) = sqrt(1.4 / 4000) ~ 0.019
    assert abs(y.mean() - 4 / 3) < 0.1


def test_empirical_noise_keeps_mean_and_variance_and_has_a_density():
    rng = np.random.default_rng(0)
    values = rng.exponential(2.0, size=1000)
    e = Empirical(values)
    draws = e.sample(20000, np.random.default_rng(1))
    assert abs(draws.mean() - values.mean()) < 4 * values.std() / np.sqrt(20000)
    assert abs(draws.std() / values.std() - 1) < 0.03
    grid = np.linspace(-10, 40, 5001)
    mass = np.exp(e.logpdf(grid)).sum() * (grid[1] - grid[0])
    assert abs(mass - 1) < 1e-3
    assert e.sample(5, np.random.default_rng(7)).tobytes() == e.sample(5, np.random.default_rng(7)).tobytes()


def test_score_scm_of_a_well_fitted_model_is_within_its_standard_errors():
    true = load_scm(LINEAR)
    scm = fit_scm(true.graph, true.sample(20000, seed=6))
    score = score_scm(scm, true, {"x=1": {"x": 1.0}, "x=0": {"x": 0.0}}, n=5000,
                      counterfactual_units=200, seed=0)
    t = score.interventional.set_index(["intervention", "node"])
    y1 = t.loc[("x=1", "y")]
    assert abs(y1["truth"] - 3.5) < 4 * 2 / np.sqrt(5000)
    # learned and true sample independently: the learned estimation error (~0.015) adds to the SE
    assert abs(y1["difference"]) < 4 * y1["stderr"] + 0.05
    assert (score.interventional["wasserstein"] < 0.2).all()
    assert abs(score.effect_error("y", "x=1", "x=0")) < 4 * np.sqrt(2) * y1["stderr"] + 0.05
    cf = score.counterfactual.set_index(["intervention", "node"])
    assert cf.loc[("x=1", "x"), "rmse"] == 0.0
    assert cf.loc[("x=1", "y"), "rmse"] < 0.1


def test_a_wrong_graph_gives_a_wrong_answer_that_the_score_shows():
    true = load_scm(LINEAR)
    wrong = CausalGraph([("z", "x"), ("x", "y")])           # omits the confounding path z -> y
    scm = fit_scm(wrong, true.sample(20000, seed=7))
    score = score_scm(scm, true, [{"x": 1.0}, {"x": 0.0}], "y", n=5000, counterfactual_units=0)
    # regression of y on x alone: 1.5 - 0.8 / 1.64 = 1.012, so the effect error is -0.49
    err = score.effect_error("y", "x=1.0", "x=0.0")
    assert abs(err + 0.8 / 1.64) < 0.2
    assert score.counterfactual.empty


def test_bad_input_raises_with_a_message_saying_what_to_change():
    true = load_scm(LINEAR)
    data = true.sample(100, seed=0)
    with pytest.raises(EstimationError, match="non-finite"):
        fit_scm(true.graph, data.assign(x=np.where(np.arange(100) == 3, np.nan, data["x"])))
    with pytest.raises(EstimationError, match="lack the column"):
        fit_scm(true.graph, data.drop(columns="z"))
    with pytest.raises(EstimationError, match="not numeric"):
        fit_scm(true.graph, data.assign(z=["a"] * 100))
    with pytest.raises(ModelError, match="unknown kind"):
        fit_scm(true.graph, data, {"y": "spline"})
    with pytest.raises(ModelError, match="continuous"):
        fit_scm(true.graph, data, {"y": "logistic"})
    with pytest.raises(ModelError, match="CausalGraph"):
        fit_scm(nx_graph(), data)
    with pytest.raises(ModelError, match="not observed nodes of both"):
        score_scm(fit_scm(true.graph, data), true, {"a": {"w": 1.0}})


def nx_graph():
    import networkx as nx

    return nx.DiGraph([("z", "x")])


def test_hidden_nodes_are_projected_and_bidirected_edges_listed():
    g = CausalGraph([("u", "x"), ("u", "y"), ("x", "y")], hidden=["u"])
    data = pd.DataFrame({"x": np.arange(50.0) % 7, "y": np.arange(50.0) ** 0.5})
    scm = fit_scm(g, data, noise="empirical")
    assert scm.nodes == ("x", "y")
    assert "x <-> y" in scm.description


def _paired_effect(scm, treat, control, outcome, n, seed):
    noise = scm.sample_noise(n, seed)
    return float((scm.propagate(noise, treat)[outcome] - scm.propagate(noise, control)[outcome]).mean())


@pytest.mark.slow
def test_acceptance_scenario_question_within_two_standard_errors_on_the_true_graph():
    # Issue 16: the SCM fitted on the true observed graph of a scenario answers its interventional
    # question within 2 standard errors of the truth at n = 20,000. IceCream without its hidden
    # confounder (the festival then drives ice_cream and sunscreen only, so the fitted mechanisms are
    # causal): E[ice_cream | do(advert)] - E[ice_cream | do(none)], truth 8.0. The learned answer's
    # standard error is the bootstrap's (30 refits on resampled rows); a 2-SE band fails a correct
    # method about 5% of the time, the criterion the issue states; the seeds are fixed.
    # Measured: 8.049 vs truth 7.999 (SE 0.206). On GES's graph the answer is 0.0 (printed): GES
    # orients advert <- ice_cream, so the learned model has no effect of the advert at all.
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures

    import scenarios
    from causal.discovery import ges
    from causal.discovery.ges import consistent_extension

    sc = scenarios.make("icecream", hidden_confounder=False)
    truth = sc.truth(n=200_000, seed=0).ate("advert", "none").value
    data = sc.observational(20_000, 1)
    graph = sc.scm.observed_graph
    reg = make_pipeline(PolynomialFeatures(2), LinearRegression())

    def answer(g, frame):
        return _paired_effect(fit_scm(g, frame, regressor=reg), {"advert": 1.0}, {"advert": 0.0},
                              "ice_cream", 100_000, 0)

    est = answer(graph, data)
    rng = np.random.default_rng(2)
    boot = [answer(graph, data.iloc[rng.integers(0, len(data), len(data))].reset_index(drop=True))
            for _ in range(30)]
    se = float(np.std(boot, ddof=1))
    assert abs(est - truth) < 2 * se, (est, truth, se)
    found = consistent_extension(ges(data))
    print(f"true graph: {est:.3f} (SE {se:.3f}); GES graph: {answer(found, data):.3f}; truth {truth:.3f}")
