"""SCM core: sampling, propagation, do(), ground truth, determinism.

Statistical assertions use tolerances of k standard errors; k = 5 unless stated,
a two-sided false-failure rate of about 6e-7 per assertion for a normal statistic.
"""

import hashlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from causal import (
    SCM,
    Binary,
    Function,
    Hard,
    InterventionError,
    Linear,
    ModelError,
    Policy,
    Scale,
    Shift,
    load_scm,
)
from causal.mechanisms import Additive, Expression
from causal.noise import Normal, Uniform

K = 5.0


def linear_chain():
    """z -> x -> y, z -> y with unit-variance Gaussian noise."""
    return SCM(
        {"z": Linear(), "x": Linear({"z": 0.8}), "y": Linear({"x": 2.0, "z": -1.0}, intercept=1.0)},
        {"z": Normal(), "x": Normal(), "y": Normal()},
    )


def test_graph_is_derived_from_mechanisms():
    scm = linear_chain()
    assert set(scm.graph.parents("y")) == {"x", "z"}
    assert set(scm.graph.parents("x")) == {"z"}
    assert scm.graph.topological_order() == ("z", "x", "y")


def test_sample_equals_propagate_of_sampled_noise():
    scm = linear_chain()
    data, noise = scm.sample(1000, seed=3, return_noise=True)
    again = scm.propagate(scm.sample_noise(1000, seed=3))
    for v in scm.nodes:
        np.testing.assert_array_equal(data[v].to_numpy(), again[v])
    np.testing.assert_array_equal(noise["x"].to_numpy(), scm.sample_noise(1000, seed=3)["x"])


def test_larger_sample_extends_smaller_one():
    scm = linear_chain()
    small, big = scm.sample(10, seed=1), scm.sample(1000, seed=1)
    pd.testing.assert_frame_equal(small, big.iloc[:10])


def test_sample_moments_match_the_linear_model():
    scm = linear_chain()
    n = 200_000
    d = scm.sample(n, seed=0)
    # Var(x) = 0.64 + 1; E[y] = 1; Cov(x, z) = 0.8
    assert abs(d["x"].var() - 1.64) < K * 1.64 * np.sqrt(2 / n)
    assert abs(d["y"].mean() - 1.0) < K * d["y"].std() / np.sqrt(n)
    # Var of the product x z is E[x^2 z^2] - 0.8^2 = 1.64 + 2 * 0.64 - 0.64 = 2.28 (Gaussian moments)
    assert abs(np.cov(d["x"], d["z"])[0, 1] - 0.8) < K * np.sqrt(2.28 / n)


def test_do_cuts_incoming_edges_and_makes_x_independent_of_its_former_parents():
    scm = linear_chain()
    n = 100_000
    # a randomised rule: x drawn afresh for each unit by a stochastic policy that could read z but
    # does not; if do() kept the edge z -> x (x = 0.8 z + ...), x and z would correlate at 0.62
    rule = Policy(lambda v, rng: rng.normal(size=len(v["z"])), inputs=("z",))
    cut = scm.do({"x": rule})
    assert scm.graph.parents("x") == frozenset({"z"})  # the original is untouched
    d = cut.sample(n, seed=2)
    r = np.corrcoef(d["x"], d["z"])[0, 1]
    assert abs(r) < K / np.sqrt(n)                     # sd of r under independence is 1/sqrt(n)
    hard = scm.do({"x": 1.5})
    assert hard.graph.parents("x") == frozenset()
    assert (hard.sample(100, seed=3)["x"] == 1.5).all()
    # the outcome responds with slope 2 in x once z is accounted for; OLS SE from the residuals
    X = np.column_stack([np.ones(n), d["x"], d["z"]])
    beta, res, *_ = np.linalg.lstsq(X, d["y"], rcond=None)
    se = np.sqrt(res[0] / (n - 3) * np.linalg.inv(X.T @ X)[1, 1])
    assert abs(beta[1] - 2.0) < K * se


def test_shift_and_scale_keep_edges():
    scm = linear_chain()
    noise = scm.sample_noise(5000, seed=4)
    base = scm.propagate(noise)
    shifted = scm.propagate(noise, {"x": Shift(1.5)})
    scaled = scm.propagate(noise, {"x": Scale(2.0)})
    np.testing.assert_allclose(shifted["x"], base["x"] + 1.5)
    np.testing.assert_allclose(shifted["y"], base["y"] + 3.0)
    np.testing.assert_allclose(scaled["y"], base["y"] + 2.0 * base["x"])
    assert scm.do({"x": Shift(1.0)}).graph.parents("x") == frozenset({"z"})


def test_ite_from_common_random_numbers_equals_analytic_per_unit_effect():
    # y = x * z + noise: the effect of x: 1 -> 3 is 2 z for each unit
    scm = SCM(
        {"z": Linear(), "x": Linear({"z": 1.0}), "y": Expression("x * z + noise")},
        {"z": Normal(1, 1), "x": Normal(), "y": Normal()},
    )
    noise = scm.sample_noise(1000, seed=5)
    ite = scm.ite(noise, "x", "y", treat=3.0, control=1.0)
    np.testing.assert_allclose(ite, 2.0 * noise["z"], rtol=0, atol=1e-12)


def test_ate_of_linear_model_is_exact_and_carries_a_standard_error():
    scm = SCM(
        {"z": Linear(), "x": Linear({"z": 1.0}), "y": Expression("x * z + noise")},
        {"z": Normal(1, 1), "x": Normal(), "y": Normal()},
    )
    eff = scm.ate("x", "y", treat=1.0, control=0.0, n=100_000, seed=0)
    assert abs(eff.value - 1.0) < K * eff.stderr  # E[z] = 1
    # the SE estimates sd(z) / sqrt(n) = 1 / sqrt(n); the sample sd is within 5 of its SEs (~1/sqrt(2n))
    assert abs(eff.stderr * np.sqrt(100_000) - 1.0) < K / np.sqrt(2 * 100_000)
    assert linear_chain().ate("x", "y", 1.0, 0.0, n=10, seed=0).value == pytest.approx(2.0, abs=1e-12)


def test_policy_intervention_reads_inputs_and_is_seeded():
    scm = linear_chain()
    rule = Policy(lambda v, rng: (v["z"] > 0).astype(float) + 0.01 * rng.normal(size=len(v["z"])),
                  inputs=("z",))
    a = scm.do({"x": rule}).sample(2000, seed=1)
    b = scm.do({"x": rule}).sample(2000, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert np.all(np.abs(a["x"] - (a["z"] > 0)) < 0.1)


def _noisy_rule(spread):
    """x := 1[z > 0] + spread * e, e ~ N(0, 1) drawn by the policy."""
    return Policy(lambda v, rng: (v["z"] > 0).astype(float) + spread * rng.normal(size=len(v["z"])),
                  inputs=("z",), name=f"noisy({spread})")


def test_the_same_stochastic_policy_in_both_arms_has_no_effect_on_any_unit():
    # Deterministic: both arms draw the policy's numbers from one stream, so each unit's two
    # worlds are identical and every effect is exactly 0 (unpaired draws gave 2 (e1 - e2) z).
    scm = SCM({"z": Linear(), "x": Linear({"z": 1.0}), "y": Expression("2 * x * z + noise")},
              {"z": Normal(), "x": Normal(), "y": Normal()})
    rule = _noisy_rule(1.0)
    eff = scm.ate("x", "y", treat=rule, control=rule, n=5000, seed=0)
    assert eff.value == 0.0 and eff.stderr == 0.0
    noise = scm.sample_noise(1000, seed=1)
    for seed in (np.random.default_rng(2), None, 3):
        assert not scm.ite(noise, "x", "y", rule, rule, seed=seed).any(), seed
    ctx = pd.DataFrame({"z": [-1.0, 0.5, 2.0]})
    assert not scm.cate("x", "y", rule, rule, context=ctx, samples=500, seed=4).any()
    # same seed, same bytes
    again = scm.ate("x", "y", treat=_noisy_rule(1.0), control=_noisy_rule(0.5), n=5000, seed=0)
    assert again == scm.ate("x", "y", treat=_noisy_rule(1.0), control=_noisy_rule(0.5), n=5000, seed=0)


def test_a_contrast_of_two_stochastic_policies_is_paired():
    # y = 2 x + noise. Paired draws e: x_A - x_B = (1 - 0.5) e, so the ITE is 2 * 0.5 e = e and
    # its sd is 1; unpaired draws would give sd 2 sqrt(1 + 0.25) = 2.24. The sample sd of n
    # normal values has SE ~ 1 / sqrt(2n); K = 5 SEs (false-failure rate ~6e-7 per assertion).
    scm = SCM({"z": Linear(), "x": Linear({"z": 1.0}), "y": Linear({"x": 2.0})},
              {"z": Normal(), "x": Normal(), "y": Normal()})
    n = 20_000
    eff = scm.ate("x", "y", treat=_noisy_rule(1.0), control=_noisy_rule(0.5), n=n, seed=5)
    assert abs(eff.stderr * np.sqrt(n) - 1.0) < K / np.sqrt(2 * n)
    assert abs(eff.value) < K / np.sqrt(n)


def test_policy_reading_a_descendant_is_rejected():
    scm = linear_chain()
    with pytest.raises(InterventionError, match="cyclic"):
        scm.do({"x": Policy(lambda v, rng: v["y"], inputs=("y",))})


def test_expected_holds_fixed_noise_and_averages_the_rest():
    scm = linear_chain()
    z_noise = np.array([-1.0, 0.0, 2.0])
    m = scm.expected("y", {"x": 1.0}, fixed_noise={"z": z_noise}, draws=20_000, seed=0)
    # E[y | do(x=1), z] = 1 + 2 - z; residual sd is 1 -> SE 1/sqrt(draws)
    np.testing.assert_allclose(m, 3.0 - z_noise, atol=K / np.sqrt(20_000))
    unconditional = scm.expected("y", {"x": 1.0}, draws=50_000, seed=1)
    assert unconditional.shape == (1,)
    assert abs(unconditional[0] - 3.0) < K * np.sqrt(2) / np.sqrt(50_000)


def test_same_seed_same_bytes_for_sample_counterfactual_expected():
    scm = load_scm("examples/icecream.yaml")
    a, b = scm.sample(500, seed=9), scm.sample(500, seed=9)
    assert a.to_numpy().tobytes() == b.to_numpy().tobytes()
    assert not np.array_equal(a.to_numpy(), scm.sample(500, seed=10).to_numpy())
    ev = a[["sunscreen"]].iloc[:5]
    c1 = scm.counterfactual(ev, {"temperature": 30.0}, samples=200, seed=4)
    c2 = scm.counterfactual(ev, {"temperature": 30.0}, samples=200, seed=4)
    assert c1.to_numpy().tobytes() == c2.to_numpy().tobytes()
    e1 = scm.expected("sunscreen", {"ice_cream": 3.0}, draws=100, seed=2)
    e2 = scm.expected("sunscreen", {"ice_cream": 3.0}, draws=100, seed=2)
    assert e1.tobytes() == e2.tobytes()


def test_same_seed_same_bytes_across_processes():
    code = ("import hashlib; from causal import load_scm; "
            "d = load_scm('examples/icecream.yaml').sample(1000, seed=123); "
            "print(hashlib.sha256(d.to_numpy().tobytes()).hexdigest())")
    out = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
           .stdout.strip() for _ in range(2)]
    here = hashlib.sha256(load_scm("examples/icecream.yaml").sample(1000, seed=123)
                          .to_numpy().tobytes()).hexdigest()
    assert out[0] == out[1] == here


def test_generator_seed_is_used_not_global_state():
    scm = linear_chain()
    np.random.seed(0)
    a = scm.sample(10, seed=np.random.default_rng(5))
    np.random.seed(1)
    b = scm.sample(10, seed=np.random.default_rng(5))
    pd.testing.assert_frame_equal(a, b)


def test_hidden_nodes_are_left_out_of_samples_and_projected():
    scm = SCM({"u": Linear(), "x": Linear({"u": 1.0}), "y": Linear({"u": 1.0, "x": 1.0})},
              {"u": Normal(), "x": Normal(), "y": Normal()}, hidden=["u"])
    assert list(scm.sample(5, seed=0).columns) == ["x", "y"]
    assert list(scm.sample(5, seed=0, hidden=True).columns) == ["u", "x", "y"]
    g = scm.observed_graph
    assert set(g.nodes) == {"x", "y"}
    assert g.bidirected_edges == (("x", "y"),)


def test_a_model_whose_every_node_is_hidden_samples_rows_without_columns():
    scm = SCM({"u": Linear(), "v": Linear({"u": 1.0})}, {"u": Normal(), "v": Normal()},
              hidden=["u", "v"])
    for data in (scm.sample(5, seed=0), scm.sample(5, seed=0, return_noise=True)[0],
                 scm.do({"u": 1.0}).sample(5, seed=0)):
        assert data.shape == (5, 0)
        assert list(data.index) == [0, 1, 2, 3, 4]
    assert list(scm.sample(5, seed=0, hidden=True).columns) == ["u", "v"]


def test_binary_nodes_are_integer_columns_with_the_right_rate():
    scm = SCM({"x": Linear(), "t": Binary(logit="2 * x")}, {"x": Normal()})
    d = scm.sample(100_000, seed=0)
    assert d["t"].dtype == np.int64
    assert set(np.unique(d["t"])) == {0, 1}
    # P(t = 1) = E[sigmoid(2x)] = 0.5 by symmetry
    assert abs(d["t"].mean() - 0.5) < K * 0.5 / np.sqrt(100_000)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: SCM({}, {}), "non-empty"),
        (lambda: SCM({"x": Linear({"y": 1.0})}, {"x": Normal()}), "parent 'y'"),
        (lambda: SCM({"x": Linear()}, {"z": Normal()}), "unknown nodes"),
        (lambda: SCM({"x": "x + 1"}, {}), "expected a Mechanism"),
        (lambda: SCM({"x": Binary(p=0.5)}, {"x": Normal()}), "uniform"),
        (lambda: SCM({"x": Expression("2 + noise")}, {}), "none is declared"),
        (lambda: SCM({"x": Linear()}, {}, hidden=["q"]), "hidden"),
    ],
)
def test_bad_models_raise_model_error(build, match):
    with pytest.raises(ModelError, match=match):
        build()


def test_cycle_raises_graph_error():
    from causal import GraphError

    with pytest.raises(GraphError):
        SCM({"a": Linear({"b": 1.0}), "b": Linear({"a": 1.0})}, {"a": Normal(), "b": Normal()})


def test_non_finite_values_raise_naming_the_node():
    scm = SCM({"x": Linear(), "y": Expression("log(x) + noise")}, {"x": Normal(), "y": Normal()})
    with pytest.raises(ModelError, match="'y'"):
        scm.sample(100, seed=0)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", None])
def test_bad_n_raises(bad):
    with pytest.raises(ModelError, match="n must be a positive integer"):
        linear_chain().sample(bad, seed=0)


def test_bad_interventions_raise_intervention_error():
    scm = linear_chain()
    with pytest.raises(InterventionError, match="not a node"):
        scm.do({"nope": 1.0})
    with pytest.raises(InterventionError, match="finite"):
        scm.do({"x": float("nan")})
    with pytest.raises(InterventionError, match="3 entries"):
        scm.propagate(scm.sample_noise(5, seed=0), {"x": Hard(np.zeros(3))})


def test_function_and_additive_mechanisms():
    scm = SCM(
        {"x": Linear(), "y": Additive(lambda p: np.sin(p["x"]), parents=["x"]),
         "w": Function(lambda p, u: p["y"] * u, parents=["y"])},
        {"x": Uniform(-1, 1), "y": Normal(0, 0.1), "w": Normal()},
    )
    noise = scm.sample_noise(100, seed=0)
    out = scm.propagate(noise)
    np.testing.assert_allclose(out["y"], np.sin(noise["x"]) + noise["y"])
    np.testing.assert_allclose(out["w"], out["y"] * noise["w"])


# ------------------------------------------------------------------ overwrite_noise and do()
def _lin():
    return SCM({"a": Linear(intercept=1.0), "b": Linear({"a": 2.0}), "c": Linear({"a": -1.0, "b": 0.5})},
               {"a": Normal(), "b": Normal(0, 2), "c": Normal()})


def test_propagate_overwrite_noise_gives_the_same_values_in_the_noise_arrays():
    m = _lin()
    noise = m.sample_noise(1000, seed=1)
    keep = {k: v.copy() for k, v in noise.items()}
    ref = m.propagate(keep)
    assert all(np.array_equal(keep[k], m.sample_noise(1000, seed=1)[k]) for k in keep)  # untouched
    out = m.propagate(noise, overwrite_noise=True)
    for v in ref:
        assert np.array_equal(out[v], ref[v])
        assert out[v] is noise[v]            # computed in place


def test_propagate_overwrite_noise_copies_what_it_may_not_overwrite():
    m = _lin()
    u = m.sample_noise(50, seed=2)
    ro = u["a"].copy()
    ro.flags.writeable = False
    shared = u["b"].copy()
    ref = m.propagate({"a": ro, "b": shared, "c": shared})
    out = m.propagate({"a": ro, "b": shared, "c": shared}, overwrite_noise=True)
    for v in ref:
        assert np.array_equal(out[v], ref[v])
    assert np.array_equal(ro, u["a"])        # read-only input left alone
    frame = pd.DataFrame(u)
    before = frame.copy()
    m.propagate(frame, overwrite_noise=True)
    pd.testing.assert_frame_equal(frame, before)
    with pytest.raises(ModelError, match="overwrite_noise"):
        m.propagate(u, overwrite_noise="yes")


def test_do_derives_the_same_model_as_building_it():
    m = _lin()
    d = m.do({"b": Hard(0.5)})
    built = SCM(m.mechanisms, m.noise, interventions={"b": Hard(0.5)})
    assert d.graph.directed_edges == built.graph.directed_edges and d._order == built._order
    pd.testing.assert_frame_equal(d.sample(500, seed=3), built.sample(500, seed=3))
    assert m.interventions == {} and set(m.graph.parents("b")) == {"a"}   # the original is unchanged
    dd = d.do({"c": Shift(1.0)})
    assert set(dd.interventions) == {"b", "c"} and set(d.interventions) == {"b"}


def test_sample_uses_a_noise_subclass_own_sampler():
    # sample() draws into the frame's block; a subclass that overrides sample() must still be used
    class ClippedNormal(Normal):
        def sample(self, n, rng):
            return np.clip(super().sample(n, rng), -1.0, 1.0)

    m = SCM({"x": Linear()}, {"x": ClippedNormal()})
    a = m.sample(20_000, seed=0)
    b, _ = m.sample(20_000, seed=0, return_noise=True)
    assert a["x"].abs().max() <= 1.0
    pd.testing.assert_frame_equal(a, b)


def test_frames_do_not_share_their_column_index():
    m = _lin()
    d = m.sample(5, seed=1)
    d.columns.name = "var"
    assert m.sample(5, seed=2).columns.name is None
    assert m.counterfactual(m.sample(2, seed=3), {"a": 0.0}).columns.name is None


def test_propagate_never_spends_the_columns_of_a_noise_frame():
    m = _lin()
    frame = pd.DataFrame(m.sample_noise(100, seed=4))
    before = frame.copy()
    out = m.propagate(frame, overwrite_noise=True)
    pd.testing.assert_frame_equal(frame, before)
    assert not any(np.shares_memory(out[v], frame[v].to_numpy()) for v in out)
