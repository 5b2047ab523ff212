"""Declarative specs: the documented format loads, round-trips, and every bad spec is a SpecError."""

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causal import SCM, SpecError, dump_spec, load_scm, save_scm
from causal.mechanisms import Binary, Categorical, Expression, Linear
from causal.noise import Normal

ARCHITECTURE_EXAMPLE = """
name: icecream
nodes:                         # any order; parents are read off the equations
  temperature: {noise: normal(25, 5)}            # equation defaults to `noise`
  ice_cream:   {equation: 20 + 3 * temperature + noise, noise: normal(0, 10)}
  sunscreen:   {equation: 5 + 2 * temperature + noise, noise: normal(0, 8)}
  mood:        {noise: normal(0, 1), hidden: true}
  bought:      {type: binary, logit: -1 + 0.5 * temperature + mood}
  promo:       {type: binary, p: where(mood > 0, 0.8, 0.3)}
  segment:     {type: categorical, probs: [0.5, 0.3, 0.2]}
  shelf:       {equation: maximum(bought, promo)}  # no noise: deterministic
"""


def test_the_architecture_example_loads_with_the_documented_meaning():
    scm = load_scm(ARCHITECTURE_EXAMPLE)
    assert scm.hidden == frozenset({"mood"})
    assert isinstance(scm.mechanisms["ice_cream"], Linear)          # recognised as invertible
    assert isinstance(scm.mechanisms["bought"], Binary)
    assert isinstance(scm.mechanisms["segment"], Categorical)
    assert scm.noise["shelf"] is None
    assert scm.graph.parents("bought") == frozenset({"temperature", "mood"})
    n = 100_000
    d = scm.sample(n, seed=0, hidden=True)
    assert (d["shelf"] == np.maximum(d["bought"], d["promo"])).all()
    # P(promo) = 0.5 * 0.8 + 0.5 * 0.3 = 0.55; segment shares 0.5 / 0.3 / 0.2  (5 SE bands)
    assert abs(d["promo"].mean() - 0.55) < 5 * np.sqrt(0.55 * 0.45 / n)
    shares = d["segment"].value_counts(normalize=True).sort_index().to_numpy()
    np.testing.assert_allclose(shares, [0.5, 0.3, 0.2], atol=5 * np.sqrt(0.25 / n))
    np.testing.assert_allclose(d["ice_cream"].mean(), 95.0, atol=5 * np.sqrt(325 / n))


def test_round_trip_gives_the_same_model():
    scm = load_scm(ARCHITECTURE_EXAMPLE)
    again = load_scm(dump_spec(scm))
    pd.testing.assert_frame_equal(scm.sample(1000, seed=4, hidden=True),
                                  again.sample(1000, seed=4, hidden=True))
    assert dump_spec(again) == dump_spec(scm)


def test_python_models_round_trip_through_yaml(tmp_path):
    scm = SCM({"x": Linear(), "y": Linear({"x": -1.5}, intercept=2.0), "z": Expression("x * y")},
              {"x": Normal(1, 2), "y": Normal()}, name="py")
    path = tmp_path / "m.yaml"
    save_scm(scm, path)
    again = load_scm(path)
    pd.testing.assert_frame_equal(scm.sample(500, seed=1), again.sample(500, seed=1))
    assert yaml.safe_load(path.read_text())["nodes"]["y"]["equation"] == "2 - 1.5 * x + noise"


def test_examples_all_load_and_sample():
    from pathlib import Path

    for path in sorted(Path("examples").glob("*.yaml")):
        scm = load_scm(path)
        assert len(scm.sample(100, seed=0)) == 100, path


@pytest.mark.parametrize(
    ("nodes", "match"),
    [
        ({"x": {"equation": "2 * tempreature + noise", "noise": "normal(0, 1)"},
          "temperature": {"noise": "normal(0, 1)"}}, "did you mean 'temperature'"),
        ({"x": {"noise": "normal(0, 1)", "colour": "red"}}, "unknown key"),
        ({"x": {"equation": "y + noise", "noise": "normal(0, 1)"},
          "y": {"equation": "x + noise", "noise": "normal(0, 1)"}}, "cycle"),
        ({"x": {"equation": "x + noise", "noise": "normal(0, 1)"}}, "refers to itself"),
        ({"x": {"noise": "normal(0, -1)"}}, "sd must be > 0"),
        ({"x": {"noise": "gaussian(0, 1)"}}, "unknown distribution 'gaussian'"),
        ({"x": {"noise": "normal(0, 1, 2)"}}, "at most 2 arguments"),
        ({"x": {"noise": "normal(mu=0)"}}, "no parameter 'mu'"),
        ({"x": {"equation": "3", "noise": "normal(0, 1)"}}, "does not use it"),
        ({"x": {"equation": "3 + noise"}}, "declares none"),
        ({"x": {}}, "equation, a noise, or both"),
        ({"x": {"type": "binary", "p": 1.5}}, r"p must be in \[0, 1\]"),
        ({"x": {"type": "binary", "p": 0.5, "logit": 1}}, "exactly one of"),
        ({"x": {"type": "binary", "equation": "1"}}, "take no equation"),
        ({"x": {"type": "binary", "p": 0.5, "noise": "normal(0, 1)"}}, "remove 'noise'"),
        ({"x": {"type": "categorical", "probs": [0.5]}}, "at least two"),
        ({"x": {"type": "categorical", "probs": [0.5, 0.6]}}, "sum to 1"),
        ({"x": {"type": "ternary"}}, "type must be one of"),
        ({"x": {"noise": "normal(0, 1)", "hidden": "yes"}}, "hidden must be true or false"),
        ({"noise": {"noise": "normal(0, 1)"}}, "reserved"),
        ({"exp": {"noise": "normal(0, 1)"}}, "reserved"),
        ({"2x": {"noise": "normal(0, 1)"}}, "identifier"),
        ({"x": {"equation": "__import__('os').system('echo pwned') + noise",
                "noise": "normal(0, 1)"}}, "node 'x'"),
        ({"x": {"equation": "noise.real", "noise": "normal(0, 1)"}}, "attribute"),
        ({"x": {"noise": "__import__('os')"}}, "node 'x'"),
        ({"x": {"noise": 5}}, "noise must be text"),
        ({"x": {"type": "continuous", "logit": "1"}}, "type: binary"),
        ({"x": "normal(0, 1)"}, "a node is a mapping"),
    ],
)
def test_bad_specs_raise_spec_error_naming_the_problem(nodes, match):
    with pytest.raises(SpecError, match=match):
        load_scm({"name": "bad", "nodes": nodes})


def test_errors_name_the_file_and_the_node(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("nodes:\n  a: {noise: normal(0, 1)}\n"
                    "  b: {equation: 2 * c + noise, noise: normal(0, 1)}\n")
    with pytest.raises(SpecError) as err:
        load_scm(path)
    msg = str(err.value)
    assert "broken.yaml" in msg and "node 'b'" in msg and "unknown name 'c'" in msg


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("nodes: [1, 2", "invalid YAML at line"),
        ("- just\n- a list\n", "a spec is a mapping"),
        ("nodes: {}\n", "non-empty mapping"),
        ("nodes:\n  x: {noise: normal(0, 1)}\nextra: 1\n", "unknown top-level key"),
        ("name: [1]\nnodes:\n  x: {noise: normal(0, 1)}\n", "name must be text"),
    ],
)
def test_bad_files_raise_spec_error(tmp_path, text, match):
    path = tmp_path / "f.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=match):
        load_scm(path)


def test_missing_file_and_wrong_type():
    with pytest.raises(SpecError, match="no such spec file"):
        load_scm("does/not/exist.yaml")
    with pytest.raises(SpecError, match="path to a YAML file or a mapping"):
        load_scm(42)


def _deep_list(depth):
    out = []
    cur = out
    for _ in range(depth):
        cur.append([])
        cur = cur[0]
    return out


def test_a_non_scalar_yaml_key_is_a_spec_error_naming_the_file(tmp_path):  # R1
    path = tmp_path / "keys.yaml"
    path.write_text("nodes:\n  ? [a, b]\n  : {noise: normal(0, 1)}\n")
    with pytest.raises(SpecError, match=r"keys.yaml: invalid YAML at line 2.*not a list"):
        load_scm(path)
    with pytest.raises(SpecError, match="not a list or mapping"):
        load_scm("nodes:\n  x:\n    ? {a: 1}\n    : 2\n")


@pytest.mark.parametrize("node", [  # R2
    {"type": "binary", "logit": int("9" * 400)},
    {"type": "binary", "p": int("9" * 400)},
    {"type": "categorical", "probs": [int("9" * 400), 0.5]},
    {"type": "binary", "logit": float("inf")},
    {"type": "categorical", "probs": [float("nan"), 0.5]},
    {"equation": int("9" * 400)},
])
def test_numbers_too_large_for_a_float_are_spec_errors(node):
    with pytest.raises(SpecError, match="too large|finite"):
        load_scm({"nodes": {"x": node}})


def test_a_400_digit_logit_in_yaml_is_a_spec_error():  # R2
    with pytest.raises(SpecError, match="too large"):
        load_scm("nodes:\n  x: {type: binary, logit: " + "9" * 400 + "}\n")


def test_a_yaml_integer_over_4300_digits_names_the_file(tmp_path):  # R3
    path = tmp_path / "digits.yaml"
    path.write_text("nodes:\n  x: {noise: normal(0, 1), unit: " + "9" * 4400 + "}\n")
    with pytest.raises(SpecError, match=r"digits.yaml: invalid YAML at line 2.*4400 digits"):
        load_scm(path)


def test_huge_integers_and_deep_nesting_are_spec_errors(tmp_path):  # R4, R5
    with pytest.raises(SpecError, match="too large"):
        load_scm({"nodes": {"x": {"noise": "normal(0, 1)", "unit": 10**5000}}})
    with pytest.raises(SpecError, match="nested more than"):
        load_scm({"nodes": {"x": {"noise": "normal(0, 1)", "unit": _deep_list(100_000)}}})
    with pytest.raises(SpecError, match="nested more than"):
        load_scm({"nodes": {"x": {"type": "categorical", "probs": _deep_list(100_000)}}})
    with pytest.raises(SpecError, match="must be text"):
        load_scm({"nodes": {"x": {"noise": "normal(0, 1)", "unit": [1, 2]}}})
    path = tmp_path / "deep.yaml"
    for text in ("nodes: " + "[" * 100_000 + "]" * 100_000 + "\n",
                 "nodes:\n  x: {noise: normal(0, 1), unit: " + "{a: " * 50 + "1" + "}" * 50 + "}\n",
                 "nodes:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 60)) + "  " * 60 + "1\n"):
        path.write_text(text)
        with pytest.raises(SpecError, match="deep.yaml: .*nested more than"):
            load_scm(path)


def test_spec_text_over_the_size_limit_is_rejected_before_parsing():  # R4
    from causal import spec

    text = "nodes:\n  x: {noise: normal(0, 1)}\n" + "#" * spec.MAX_SPEC_CHARS
    with pytest.raises(SpecError, match="the limit is"):
        load_scm(text)


def test_an_overflowing_coefficient_names_the_node():  # R6
    nodes = {"y": {"noise": "normal(0, 1)"},
             "x": {"equation": "1e300 * (1e300 * y) + noise", "noise": "normal(0, 1)"}}
    with pytest.raises(SpecError, match="node 'x'.*finite"):
        load_scm({"nodes": nodes})


@pytest.mark.parametrize("equation", ["1e300 * (1e300 * exp(y)) + noise",
                                      "1e300 * (1e300 * 1e300) + noise"])
def test_an_overflow_at_sampling_time_names_the_node(equation):  # R6
    from causal import ModelError

    nodes = {"y": {"noise": "normal(0, 1)"}, "x": {"equation": equation, "noise": "normal(0, 1)"}}
    with pytest.raises(ModelError, match="node 'x' evaluated to inf"):
        load_scm({"nodes": nodes}).sample(5, seed=0)


def test_a_long_string_is_neither_a_file_nor_a_spec():  # R7
    with pytest.raises(SpecError, match="neither a readable file nor a spec"):
        load_scm("a" * 5000)
    with pytest.raises(SpecError, match="neither a readable file nor a spec"):
        load_scm("bad\x00name.yaml")


@pytest.mark.parametrize(("name", "match"), [  # R10
    ("x\n", "must be an identifier"),
    ("x\t", "must be an identifier"),
    ("x" * 101, "101 characters long; the limit is 100"),
])
def test_node_names_are_whole_identifiers_of_bounded_length(name, match):
    with pytest.raises(SpecError, match=match):
        load_scm({"nodes": {name: {"noise": "normal(0, 1)"}}})
    load_scm({"nodes": {"x" * 100: {"noise": "normal(0, 1)"}}})


@pytest.mark.parametrize("node", [  # R10
    {"equation": "x + noise", "noise": "normal(0, 1)"},
    {"type": "binary", "logit": "2 * x"},
    {"type": "categorical", "probs": ["sigmoid(x)", "1 - sigmoid(x)"]},
])
def test_a_self_loop_says_the_node_refers_to_itself(node):
    with pytest.raises(SpecError, match="node 'x': the node refers to itself"):
        load_scm({"nodes": {"x": node}})


@pytest.mark.parametrize("k", [75, 300, 998])  # 998 parents, y, z: the 1,000-node limit
def test_a_linear_node_with_many_parents_round_trips(k):  # R9
    parents = [f"parent_number_{i:03d}" for i in range(k)]
    mechanisms = {v: Linear() for v in parents}
    mechanisms["y"] = Linear({v: -1.2345678901234567 + i for i, v in enumerate(parents)},
                             intercept=0.1)
    scm = SCM(mechanisms, {v: Normal() for v in mechanisms})
    spec = dump_spec(scm)
    again = load_scm(spec)
    assert isinstance(again.mechanisms["y"], Linear)
    assert dump_spec(again) == spec
    pd.testing.assert_frame_equal(scm.sample(50, seed=1), again.sample(50, seed=1))
    nonlinear = dict(spec["nodes"], z={"equation": " + ".join(f"exp({v})" for v in parents)})
    assert load_scm({"nodes": nonlinear}).graph.parents("z") == frozenset(parents)


def test_python_only_mechanisms_cannot_be_dumped():
    from causal.mechanisms import Function

    scm = SCM({"x": Function(lambda p, u: u, [])}, {"x": Normal()})
    with pytest.raises(SpecError, match="node 'x'"):
        dump_spec(scm)


# ------------------------------------------------------------------ fuzzing
_values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["normal(0, 1)", "x + noise", "2 * y + noise", "bernoulli(0.3)", "[1, 2]",
                     "categorical([0.2, 0.8])", "where(x > 0, 1, 0)", "noise", "sigmoid(x)",
                     "__import__('os')", "x.__class__", "lambda: 1", "exp(", "y"]),
    st.lists(st.one_of(st.floats(-1, 2), st.text(max_size=5)), max_size=4),
)
_keys = st.sampled_from(["type", "equation", "noise", "hidden", "p", "logit", "probit", "probs",
                         "unit", "bogus"])
_node = st.dictionaries(_keys, _values, max_size=4)
_type_values = st.sampled_from(["continuous", "binary", "categorical", "other"])


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["x", "y", "z", "noise", "_x", "1a"]),
                       st.one_of(_node, _values), min_size=1, max_size=3),
       st.dictionaries(st.sampled_from(["x", "y", "z"]), _type_values, max_size=3))
def test_random_specs_load_or_raise_spec_error(nodes, types):
    for name, t in types.items():
        if isinstance(nodes.get(name), dict):
            nodes[name]["type"] = t
    try:
        scm = load_scm({"nodes": nodes})
    except SpecError:
        return
    # whatever loaded must sample, or fail with a causalsim error (e.g. p outside [0, 1])
    from causal import CausalSimError

    try:
        scm.sample(20, seed=0, hidden=True)
    except CausalSimError:
        pass


# pathological values: huge integers, deep nesting, long names, control characters
_huge_ints = st.one_of(st.integers(10**300, 10**320), st.integers(2**1000, 2**1100).map(lambda v: -v),
                       st.integers(1, 6000).map(lambda k: 10**k))
_deep = st.integers(0, 3000).map(_deep_list)
_nasty_text = st.text(st.characters(codec="utf-8", categories=("Cc", "Cf", "Zs", "Ll", "Nd")),
                      max_size=20)
_nasty_names = st.one_of(st.sampled_from(["x", "y"]), _nasty_text,
                         st.integers(95, 300).map(lambda k: "x" * k),
                         st.sampled_from(["x\n", "x\t", "\nx", "x\r", "x\x00", "x\u2028"]))
_nasty_values = st.one_of(_huge_ints, _deep, _nasty_text, st.floats(),
                          st.lists(st.one_of(_huge_ints, st.floats()), max_size=3),
                          st.sampled_from(["x + noise", "y + noise", "normal(0, 1)", "2 * x"]))
_nasty_node = st.dictionaries(_keys | st.sampled_from(["logit", "probs", "p"]), _nasty_values,
                              max_size=4)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.dictionaries(_nasty_names, st.one_of(_nasty_node, _nasty_values), min_size=1, max_size=3),
       st.dictionaries(st.sampled_from(["x", "y"]), _type_values, max_size=2))
def test_pathological_mappings_load_or_raise_spec_error(nodes, types):
    for name, t in types.items():
        if isinstance(nodes.get(name), dict):
            nodes[name]["type"] = t
    try:
        scm = load_scm({"nodes": nodes})
    except SpecError as exc:
        assert len(str(exc)) < 2000
        return
    from causal import CausalSimError

    try:
        scm.sample(5, seed=0, hidden=True)
    except CausalSimError:
        pass


_yaml_keys = st.one_of(st.sampled_from(["x", "y", "? [a, b]\n    ", "? {a: 1}\n    ", "x\\n"]),
                       st.integers(95, 200).map(lambda k: "x" * k))
_yaml_values = st.one_of(
    st.integers(290, 5000).map(lambda k: "9" * k),
    st.integers(1, 3000).map(lambda k: "[" * k + "]" * k),
    st.integers(1, 300).map(lambda k: "{a: " * k + "1" + "}" * k),
    st.text(st.characters(codec="utf-8", categories=("Cc", "Ll", "Nd", "Ps", "Pe")), max_size=15),
    st.sampled_from(["normal(0, 1)", "x + noise", ".inf", ".nan", "1e999", "[1e999, 0.5]"]),
)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_yaml_keys, st.lists(st.tuples(st.sampled_from(["noise", "unit", "logit", "probs", "type",
                                                       "equation", "p"]), _yaml_values),
                            max_size=3))
def test_pathological_yaml_loads_or_raises_spec_error(tmp_path_factory, name, items):
    body = ", ".join(f"{k}: {v}" for k, v in items)
    text = f"nodes:\n  {name}: {{{body}}}\n  y: {{noise: normal(0, 1)}}\n"
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_scm(path)
    except SpecError as exc:
        assert "fuzz.yaml" in str(exc) and len(str(exc)) < 2000
