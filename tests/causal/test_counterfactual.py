"""Counterfactuals against analytic answers: exact abduction, enumeration, weighting.

Monte-Carlo assertions allow K = 5 standard errors (false-failure rate ~6e-7 each);
the standard error of a likelihood-weighted mean is sd / sqrt(ESS).
"""

import numpy as np
import pandas as pd
import pytest

from causal import (
    SCM,
    Binary,
    Categorical,
    CounterfactualError,
    Function,
    Hard,
    Linear,
    Shift,
    load_scm,
    summarise,
)
from causal.mechanisms import Additive, Expression
from causal.noise import Bernoulli, Normal

K = 5.0


def chain():
    return SCM(
        {"z": Linear(), "x": Linear({"z": 0.8}), "y": Linear({"x": 2.0, "z": -1.0}, intercept=1.0),
         "w": Linear({"y": 0.5})},
        {"z": Normal(), "x": Normal(), "y": Normal(0, 2), "w": Normal()},
    )


def test_linear_hard_and_shift_counterfactuals_are_analytic():
    scm = chain()
    units = scm.sample(50, seed=0)
    cf = scm.counterfactual(units, {"x": 3.0})
    assert cf.attrs["mode"] == "exact"
    np.testing.assert_allclose(cf["z"], units["z"], atol=1e-12)
    np.testing.assert_allclose(cf["y"], units["y"] + 2.0 * (3.0 - units["x"]), atol=1e-12)
    np.testing.assert_allclose(cf["w"], units["w"] + (3.0 - units["x"]), atol=1e-12)
    sh = scm.counterfactual(units, {"x": Shift(-1.5)})
    np.testing.assert_allclose(sh["y"], units["y"] - 3.0, atol=1e-12)
    # the index of the evidence is kept
    assert list(cf.index) == list(units.index)


def test_counterfactual_with_known_noise_is_exact():
    scm = chain()
    data, noise = scm.sample(20, seed=1, return_noise=True)
    cf = scm.counterfactual(noise=noise, interventions={"z": 0.0})
    expected_x = noise["x"]
    np.testing.assert_allclose(cf["x"], expected_x)
    np.testing.assert_allclose(cf["y"], 1.0 + 2.0 * expected_x + noise["y"])


def _random_additive_scm(rng, n_nodes=6, binary_every=0):
    mechs, noise = {}, {}
    names = [f"v{i}" for i in range(n_nodes)]
    for i, v in enumerate(names):
        parents = [p for p in names[:i] if rng.random() < 0.5]
        if binary_every and i % binary_every == binary_every - 1 and parents:
            mechs[v] = Binary(logit=" + ".join(f"{rng.normal():.3f} * {p}" for p in parents))
            continue
        kind = rng.integers(3)
        if kind == 0 or not parents:
            mechs[v] = Linear({p: float(rng.normal()) for p in parents}, intercept=float(rng.normal()))
        elif kind == 1:
            mechs[v] = Additive(" + ".join(f"tanh({p})" for p in parents))
        else:
            mechs[v] = Additive(f"0.3 * {parents[0]} * {parents[-1]} + sigmoid({parents[0]})")
        noise[v] = Normal(0, float(rng.uniform(0.5, 2)))
    return SCM(mechs, noise)


@pytest.mark.parametrize("seed", range(12))
def test_counterfactual_under_the_factual_intervention_reproduces_the_data(seed):
    """Invariant (consistency axiom): do(V = its factual value) changes nothing."""
    rng = np.random.default_rng(seed)
    scm = _random_additive_scm(rng)
    units = scm.sample(40, seed=seed)
    v = scm.nodes[int(rng.integers(len(scm.nodes)))]
    cf = scm.counterfactual(units, {v: Hard(units[v].to_numpy())})
    assert cf.attrs["mode"] == "exact"
    np.testing.assert_allclose(cf.to_numpy(), units.to_numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_factual_intervention_invariant_with_binary_nodes(seed):
    rng = np.random.default_rng(100 + seed)
    scm = _random_additive_scm(rng, n_nodes=6, binary_every=2)
    units = scm.sample(15, seed=seed)
    v = scm.nodes[int(rng.integers(len(scm.nodes)))]
    cf = scm.counterfactual(units, {v: Hard(units[v].to_numpy())})
    assert cf.attrs["mode"] == "enumeration"
    mean = summarise(cf)
    np.testing.assert_allclose(mean.to_numpy(), units.to_numpy(), rtol=1e-9, atol=1e-9)
    assert (cf.groupby("unit")["weight"].sum() - 1).abs().max() < 1e-12


@pytest.mark.parametrize("t_obs", [0, 1])
def test_binary_counterfactual_matches_closed_form(t_obs):
    """x -> t (binary, logit 2x) -> y. With u_t | t uniform on its cell:
    P(t' = 1 | t = 1) = min(p, p') / p and P(t' = 1 | t = 0) = max(p' - p, 0) / (1 - p)."""
    scm = SCM({"x": Linear(), "t": Binary(logit="2 * x"), "y": Linear({"t": 3.0})},
              {"x": Normal(), "y": Normal()})
    xs = np.array([-1.0, -0.2, 0.4, 1.3])
    ev = pd.DataFrame({"x": xs, "t": t_obs, "y": 3.0 * t_obs + 0.25})
    new_x = np.array([0.5, -1.0, 2.0, 1.3])
    cf = scm.counterfactual(ev, {"x": Hard(new_x)})
    assert cf.attrs["mode"] == "enumeration"
    got = summarise(cf)["t"].to_numpy()
    p, q = 1 / (1 + np.exp(-2 * xs)), 1 / (1 + np.exp(-2 * new_x))
    want = np.minimum(p, q) / p if t_obs else np.maximum(q - p, 0) / (1 - p)
    np.testing.assert_allclose(got, want, atol=1e-12)
    # y keeps its own noise: y' = 3 t' + 0.25 in every hypothesis
    np.testing.assert_allclose(cf["y"], 3.0 * cf["t"] + 0.25, atol=1e-12)


FIRING_SQUAD = {
    "name": "firing_squad",  # Pearl (2009), Causality, section 7.1.2
    "nodes": {
        "court": {"noise": "bernoulli(0.6)", "hidden": True},   # U: the court orders
        "nervous": {"noise": "bernoulli(0.7)", "hidden": True},  # W: rifleman A is nervous
        "captain": {"equation": "court"},
        "a": {"equation": "maximum(captain, nervous)"},
        "b": {"equation": "captain"},
        "dead": {"equation": "maximum(a, b)"},
    },
}


def test_probabilistic_firing_squad_is_exact():
    """P(D_{A=0} = 1 | D = 1) = p / (1 - (1 - p)(1 - q)) (Pearl 2009, eq. 7.8)."""
    p, q = 0.6, 0.7
    scm = load_scm(FIRING_SQUAD)
    cf = scm.counterfactual({"dead": 1}, {"a": 0})
    assert cf.attrs["mode"] == "enumeration"
    assert summarise(cf)["dead"].iloc[0] == pytest.approx(p / (1 - (1 - p) * (1 - q)), abs=1e-12)
    # and had A not shot while the prisoner is observed alive, he stays alive
    alive = scm.counterfactual_mean({"dead": 0}, {"a": 0})
    assert alive["dead"].iloc[0] == 0.0


def test_firing_squad_with_threshold_nodes_matches_the_discrete_noise_version():
    scm = SCM(
        {"court": Binary(p=0.6), "nervous": Binary(p=0.7), "captain": Linear({"court": 1.0}),
         "a": Function(lambda v, u: np.maximum(v["captain"], v["nervous"]), ["captain", "nervous"],
                       uses_noise=False),
         "b": Linear({"captain": 1.0}),
         "dead": Function(lambda v, u: np.maximum(v["a"], v["b"]), ["a", "b"], uses_noise=False)},
        hidden=["court", "nervous"],
    )
    got = scm.counterfactual_mean({"dead": 1}, {"a": 0})["dead"].iloc[0]
    assert got == pytest.approx(0.6 / (1 - 0.4 * 0.3), abs=1e-12)


def test_likelihood_weighting_agrees_with_enumeration():
    scm = load_scm(FIRING_SQUAD)
    from causal import counterfactual as cfmod

    plan = cfmod._plan
    try:
        cfmod._plan = lambda *a: "weighting"
        cf = scm.counterfactual({"dead": 1}, {"a": 0}, samples=40_000, seed=3)
    finally:
        cfmod._plan = plan
    assert cf.attrs["mode"] == "weighting"
    est = summarise(cf)["dead"].iloc[0]
    truth = 0.6 / 0.88
    ess = cf.attrs["ess"].iloc[0]
    assert abs(est - truth) < K * np.sqrt(truth * (1 - truth) / ess)


def gaussian_hidden_parent():
    """u (hidden) -> x -> y, u -> y, u -> w, x -> w; all noise N(0, 1)."""
    return SCM(
        {"u": Linear(), "x": Linear({"u": 1.0}), "y": Linear({"x": 2.0, "u": 3.0}),
         "w": Linear({"u": 1.0, "x": 1.0})},
        {"u": Normal(), "x": Normal(), "y": Normal(), "w": Normal()},
        hidden=["u"],
    )


def test_partial_evidence_matches_gaussian_conditioning():
    """Evidence x, y (u hidden, w unobserved). x = u + e1 and y - 2x = 3u + e2 give
    u | x, y ~ N((x + 3 (y - 2x)) / 11, 1 / 11); so w' under do(x = x') has
    mean (x + 3 (y - 2x)) / 11 + x' and variance 1/11 + 1."""
    scm = gaussian_hidden_parent()
    ev = scm.sample(4, seed=7)[["x", "y"]]
    cf = scm.counterfactual(ev, {"x": 1.0}, samples=20_000, seed=1, hidden=True)
    assert cf.attrs["mode"] == "weighting"
    mean = summarise(cf)
    post_u = (ev["x"] + 3 * (ev["y"] - 2 * ev["x"])) / 11
    ess = cf.attrs["ess"].to_numpy()
    assert (ess > 500).all()
    se_w = np.sqrt((1 / 11 + 1) / ess)
    np.testing.assert_array_less(np.abs(mean["w"].to_numpy() - (post_u + 1.0).to_numpy()), K * se_w)
    np.testing.assert_array_less(np.abs(mean["u"].to_numpy() - post_u.to_numpy()),
                                 K * np.sqrt(1 / 11 / ess))
    # posterior variance of w' (a 2-sided check with a generous 20% band: ESS >= 500)
    for unit, grp in cf.groupby("unit"):
        m = np.average(grp["w"], weights=grp["weight"])
        var = np.average((grp["w"] - m) ** 2, weights=grp["weight"])
        assert abs(var - (1 / 11 + 1)) < 0.2 * (1 / 11 + 1), unit


def test_cate_with_a_hidden_modifier_uses_the_posterior():
    """y = t (z + u) + noise, z = u + e: E[y_1 - y_0 | z] = z + E[u | z] = 1.5 z."""
    scm = SCM({"u": Linear(), "z": Linear({"u": 1.0}), "t": Linear(),
               "y": Expression("t * (z + u) + noise")},
              {"u": Normal(), "z": Normal(), "t": Normal(), "y": Normal()}, hidden=["u"])
    ctx = pd.DataFrame({"z": [-2.0, 0.0, 1.0, 3.0]})
    got = scm.cate("t", "y", treat=1.0, control=0.0, context=ctx, samples=20_000, seed=0)
    # sd of u | z is sqrt(1/2); the prior is the proposal so ESS ~ samples * 0.7 or less
    np.testing.assert_allclose(got, 1.5 * ctx["z"].to_numpy(), atol=K * np.sqrt(0.5 / 2000))


def test_categorical_counterfactual_keeps_the_unit_in_its_quantile_cell():
    """c ~ categorical with probabilities depending on x; under do(x = x) it stays put,
    and the posterior mass on each new category equals the overlap of quantile cells."""
    scm = SCM({"x": Linear(), "c": Categorical(["1", "sigmoid(x)", "1"])}, {"x": Normal()})
    ev = pd.DataFrame({"x": [0.0], "c": [1]})
    cf = summarise(scm.counterfactual(ev, {"x": 50.0}))  # sigmoid(50) ~ 1: middle cell takes ~1/2
    # factual cells: [0, 1/2.5), [0.4, 0.6), [0.6, 1): u in [0.4, 0.6);
    # new cells: [0, 1/3), [1/3, 2/3), [2/3, 1): all of [0.4, 0.6) lies in the middle one
    assert cf["c"].iloc[0] == pytest.approx(1.0, abs=1e-9)
    cf2 = summarise(scm.counterfactual(ev, {"x": -50.0}))
    # new cells: [0, 1/2), [1/2, 1/2), [1/2, 1): half of [0.4, 0.6) -> 0, half -> 2
    assert cf2["c"].iloc[0] == pytest.approx(0.5 * 0 + 0.5 * 2, abs=1e-9)


def test_errors_are_counterfactual_errors():
    scm = chain()
    with pytest.raises(CounterfactualError, match="not nodes"):
        scm.counterfactual(pd.DataFrame({"q": [1.0]}), {"x": 1.0})
    with pytest.raises(CounterfactualError, match="NaN"):
        scm.counterfactual(pd.DataFrame({"x": [np.nan]}), {"x": 1.0})
    with pytest.raises(CounterfactualError, match="evidence"):
        scm.counterfactual(None, {"x": 1.0})
    nonadd = SCM({"x": Linear(), "y": Expression("exp(noise) * x")}, {"x": Normal(), "y": Normal()})
    with pytest.raises(CounterfactualError, match="not invertible"):
        nonadd.counterfactual({"x": 1.0, "y": 2.0}, {"x": 0.0})
    det = SCM({"x": Linear(), "y": Linear({"x": 1.0})}, {"x": Normal()})
    with pytest.raises(CounterfactualError, match="impossible"):
        det.counterfactual({"x": 1.0, "y": 5.0}, {"x": 0.0})
    squad = load_scm(FIRING_SQUAD)
    with pytest.raises(CounterfactualError, match="impossible"):
        squad.counterfactual({"captain": 1, "dead": 0}, {"a": 0})
    with pytest.raises(CounterfactualError, match="samples"):
        squad.counterfactual({"dead": 1}, {"a": 0}, samples=0)


def test_bernoulli_noise_in_an_additive_equation_is_abducted_exactly():
    scm = SCM({"x": Linear(), "y": Linear({"x": 1.0})}, {"x": Normal(), "y": Bernoulli(0.3)})
    cf = scm.counterfactual({"x": 0.5, "y": 1.5}, {"x": 2.0})
    assert cf.attrs["mode"] == "exact"
    assert cf["y"].iloc[0] == pytest.approx(3.0)


# --------------------------------------------------------------- the exact twin-network path
def test_exact_path_through_an_unobserved_deterministic_node():
    # d = 2x is hidden and deterministic, y = d + noise: the evidence (x, y) still fixes every
    # noise, and y' = y + 2 (x' - x)
    scm = SCM({"x": Linear(), "d": Linear({"x": 2.0}), "y": Linear({"d": 1.0})},
              {"x": Normal(), "d": None, "y": Normal()}, hidden=["d"])
    ev = pd.DataFrame({"x": [0.5, -1.0, 3.0], "y": [1.0, 2.0, -4.0]})
    cf = scm.counterfactual(ev, {"x": 1.0}, hidden=True)
    assert cf.attrs["mode"] == "exact"
    np.testing.assert_allclose(cf["y"], ev["y"] + 2.0 * (1.0 - ev["x"]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(cf["d"], 2.0, rtol=0, atol=0)


def test_exact_path_keeps_nodes_no_intervention_reaches_bit_for_bit():
    scm = chain()
    units = scm.sample(200, seed=3)
    cf = scm.counterfactual(units, {"y": Shift(0.25)})
    # z and x are not descendants of y: their evidence comes back exactly; y moves by the
    # shift and w by half of it
    for v in ("z", "x"):
        assert np.array_equal(cf[v].to_numpy(), units[v].to_numpy())
    np.testing.assert_allclose(cf["y"] - units["y"], 0.25, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cf["w"] - units["w"], 0.125, rtol=0, atol=1e-12)


def test_exact_path_per_unit_values_and_no_aliasing_of_the_evidence():
    scm = chain()
    units = scm.sample(100, seed=4)
    before = units.copy()
    x_new = np.linspace(-2, 2, 100)
    cf = scm.counterfactual(units, {"x": Hard(x_new)})
    t = 2.0 * (x_new - units["x"].to_numpy())
    np.testing.assert_allclose(cf["y"], units["y"] + t, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cf["w"], units["w"] + 0.5 * t, rtol=0, atol=1e-12)
    cf.loc[:, "z"] = 99.0                     # the answer owns its memory
    pd.testing.assert_frame_equal(units, before)


def test_exact_path_under_the_factual_values_reproduces_the_evidence_exactly():
    scm = chain()
    units = scm.sample(300, seed=5)
    cf = scm.counterfactual(units, {"x": Hard(units["x"].to_numpy())})
    assert np.array_equal(cf.to_numpy(), units.to_numpy())


def test_exact_path_nonlinear_additive_nodes_replay_their_noise():
    scm = SCM({"x": Linear(), "y": Additive("exp(0.5 * x)"), "w": Additive("y * y - x")},
              {"x": Normal(), "y": Normal(), "w": Normal()})
    units = scm.sample(100, seed=6)
    cf = scm.counterfactual(units, {"x": 0.3})
    u_y = units["y"] - np.exp(0.5 * units["x"])
    u_w = units["w"] - (units["y"] ** 2 - units["x"])
    y1 = np.exp(0.15) + u_y
    np.testing.assert_allclose(cf["y"], y1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cf["w"], y1 ** 2 - 0.3 + u_w, rtol=1e-11, atol=1e-11)


def test_exact_path_large_answers_do_not_view_the_evidence():
    # beyond 200,000 units the frame keeps the arrays: unreached nodes (here z = x, deterministic
    # and not in the evidence) must still be copies, not views of the caller's evidence
    scm = SCM({"x": Linear(), "z": Function(lambda p, u: p["x"], parents=["x"], uses_noise=False),
               "y": Linear({"x": 1.0}), "w": Linear({"y": 1.0})},
              {"x": Normal(), "y": Normal(), "w": Normal()})
    ev = scm.sample(200_001, seed=1)[["x", "y", "w"]]
    cf = scm.counterfactual(ev, {"y": 0.0})
    for v in cf.columns:
        assert not any(np.shares_memory(cf[v].to_numpy(), ev[c].to_numpy()) for c in ev.columns), v
    assert np.array_equal(cf["z"].to_numpy(), ev["x"].to_numpy())


def test_exact_path_nonfinite_values_raise_the_model_error_of_the_other_modes():
    from causal.errors import ModelError

    scm = SCM({"x": Linear(), "y": Additive("log(x)")}, {"x": Normal(2, 0.1), "y": Normal()})
    with pytest.raises(ModelError, match="evaluated to -inf"):
        scm.counterfactual(scm.sample(3, seed=0), {"x": 0.0})


def test_answers_do_not_share_the_evidence_index():
    scm = chain()
    units = scm.sample(10, seed=8)
    cf = scm.counterfactual(units, {"x": 1.0})
    cf.index.name = "unit"
    assert units.index.name is None
    assert cf.index.equals(units.index)


def binary_chain(length):
    """x0 -> x1 -> ... (binary threshold nodes); the dependence alternates in sign."""
    mech = {"x0": Binary(p=0.5)}
    for i in range(1, length):
        mech[f"x{i}"] = Binary(p=f"0.2 + 0.6 * x{i - 1}" if i % 2 else f"0.7 - 0.5 * x{i - 1}")
    return SCM(mech)


def _chain_p(i, parent):
    return 0.2 + 0.6 * parent if i % 2 else 0.7 - 0.5 * parent


def _chain_posterior(x):
    """Brute force: P(x1', ..., x_last' | x) under do(x0 = 1 - x0) for every configuration.

    u_i given x_i and x_{i-1} is uniform on its factual cell ([0, p) for 1, [p, 1) for 0),
    so P(x_i' = 1 | x'_{i-1}) is the share of that cell below the new cut p(x'_{i-1})."""
    import itertools

    out = {}
    for config in itertools.product((0.0, 1.0), repeat=len(x) - 1):
        cf = (1.0 - x[0], *config)
        prob = 1.0
        for i in range(1, len(x)):
            p, q = _chain_p(i, x[i - 1]), _chain_p(i, cf[i - 1])
            lo, hi = (0.0, p) if x[i] == 1 else (p, 1.0)
            below = max(0.0, min(hi, q) - lo)
            prob *= (below if cf[i] == 1 else hi - lo - below) / (hi - lo)
        if prob > 0:
            out[cf] = prob
    return out


def test_fully_observed_binary_chain_is_enumerated_exactly():
    # Deterministic, no tolerance beyond rounding: 14 observed threshold nodes pin every noise
    # to one cell, so abduction does not branch and the answer is an exact enumeration
    # (it used to count 2**14 branches and fall back to seed-dependent weighting).
    scm = binary_chain(14)
    rows = [[1.0] * 14, [float(i % 2) for i in range(14)],
            list(np.random.default_rng(4).integers(0, 2, 14).astype(float))]
    ev = pd.DataFrame(rows, columns=[f"x{i}" for i in range(14)])
    ivs = {"x0": Hard(1.0 - ev["x0"].to_numpy())}
    frames = [scm.counterfactual(ev, ivs, seed=seed) for seed in range(5)]
    for cf in frames:
        assert cf.attrs["mode"] == "enumeration"
        pd.testing.assert_frame_equal(cf, frames[0], check_exact=True)
    cf = frames[0]
    for unit, x in enumerate(rows):
        want = _chain_posterior(x)
        got = cf[cf["unit"] == unit]
        configs = [tuple(r) for r in got[[f"x{i}" for i in range(14)]].to_numpy()]
        assert sorted(configs) == sorted(want), unit
        np.testing.assert_allclose(got["weight"], [want[c] for c in configs], rtol=0, atol=1e-12)
        mean = sum(p * c[-1] for c, p in want.items())
        assert summarise(cf)["x13"].iloc[unit] == pytest.approx(mean, abs=1e-12)


def test_many_unobserved_discrete_nodes_still_fall_back_to_weighting():
    # 13 hidden binary causes: 2**13 noise cells per unit exceed MAX_BRANCHES (4096)
    from causal.counterfactual import MAX_BRANCHES

    causes = [f"h{i}" for i in range(13)]
    scm = SCM({**{h: Binary(p=0.5) for h in causes}, "y": Linear({h: 1.0 for h in causes})},
              {"y": Normal()}, hidden=causes)
    assert 2 ** 12 <= MAX_BRANCHES < 2 ** 13
    assert scm.counterfactual({"y": 6.0}, {"h0": 1.0}, seed=0).attrs["mode"] == "weighting"
    few = SCM({**{h: Binary(p=0.5) for h in causes[:12]}, "y": Linear({h: 1.0 for h in causes[:12]})},
              {"y": Normal()}, hidden=causes[:12])
    assert few.counterfactual({"y": 6.0}, {"h0": 1.0}).attrs["mode"] == "enumeration"


def _star(children):
    """x0 -> x1, ..., x0 -> x_children, all binary."""
    mech = {"x0": Binary(p=0.5), **{f"x{i}": Binary(p="0.3 + 0.4 * x0") for i in range(1, children + 1)}}
    return SCM(mech)


def test_prediction_that_splits_too_many_cells_falls_back_to_weighting():
    # All observed (x = 1), do(x0 = 0): each child's cell [0, 0.7) splits at 0.3, so the answers
    # have 2**children hypotheses per unit; past MAX_BRANCHES (2**12) enumeration gives way to
    # weighting. Each child then is 1 with probability 3/7, independently; with equal weights the
    # ESS is the sample size, and K = 5 standard errors (false-failure rate ~6e-7 per assertion).
    ok = _star(12).counterfactual({f"x{i}": 1.0 for i in range(13)}, {"x0": 0.0})
    assert ok.attrs["mode"] == "enumeration" and len(ok) == 2 ** 12
    assert summarise(ok)["x5"].iloc[0] == pytest.approx(3 / 7, abs=1e-12)
    scm = _star(13)
    ev = {f"x{i}": 1.0 for i in range(14)}
    cf = scm.counterfactual(ev, {"x0": 0.0}, samples=20_000, seed=2)
    assert cf.attrs["mode"] == "weighting"
    ess = cf.attrs["ess"].iloc[0]
    assert ess == pytest.approx(20_000)
    means = summarise(cf)[[f"x{i}" for i in range(1, 14)]].to_numpy()[0]
    np.testing.assert_array_less(np.abs(means - 3 / 7), K * np.sqrt(3 / 7 * 4 / 7 / ess))
    # cate: y_treat - y_control per particle is 1 - 1[u < 0.3], u uniform on [0, 0.7)
    got = scm.cate("x0", "x1", treat=1.0, control=0.0, context=ev, samples=20_000, seed=2)
    assert abs(got[0] - 4 / 7) < K * np.sqrt(3 / 7 * 4 / 7 / 20_000)
