"""Reading YAML specs: both YAML loaders obey the same limits with the same messages, in linear time.

``causal.spec`` reads YAML with libyaml's parser when PyYAML has it and with
PyYAML's pure-Python one otherwise; the spec rules (nesting, integer digits,
keys, aliases, the node count) are the same Python code on both, and syntax
errors are worded by PyYAML on both. Each test here runs on both loaders.
"""

import re
import time

import pytest

from causal import SpecError, dump_spec, load_scm
from causal import spec as spec_module

LOADERS = ["python"] + (["libyaml"] if spec_module.CParser is not None else [])


@pytest.fixture(params=LOADERS)
def loader(request, monkeypatch):
    """Which YAML loader ``load_scm`` uses."""
    if request.param == "python":
        monkeypatch.setattr(spec_module, "_SpecLoader", spec_module._PySpecLoader)
    return request.param


def _message(source) -> str:
    with pytest.raises(SpecError) as err:
        load_scm(source)
    return str(err.value)


def _chain(n: int) -> str:
    """A valid spec of ``n`` nodes, each depending on the two before it."""
    lines = ["name: chain", "nodes:", "  x0: {noise: normal(0, 1)}",
             "  x1: {equation: 0.5 * x0 + noise, noise: normal(0, 1)}"]
    lines += [f"  x{i}: {{equation: 0.5 * x{i - 1} + 0.1 * x{i - 2} + noise, noise: normal(0, 1)}}"
              for i in range(2, n)]
    return "\n".join(lines) + "\n"


BAD_TEXTS = [
    ("nodes: " + "[" * 100_000 + "]" * 100_000 + "\n",
     r"spec: invalid YAML at line 1, column 27: the YAML is nested more than 20 levels deep"),
    ("nodes:\n  x: {noise: normal(0, 1), unit: " + "{a: " * 50 + "1" + "}" * 50 + "}\n",
     r"at line 2, column 99: the YAML is nested more than 20"),
    ("nodes:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 60)) + "  " * 60 + "1\n",
     r"at line 20, column 39: the YAML is nested more than 20"),
    ("nodes:\n  x: {noise: normal(0, 1), unit: " + "9" * 4400 + "}\n",
     r"at line 2, column 34: an integer of 4400 digits is too large \(at most 300\)"),
    ("nodes:\n  ? [a, b]\n  : {noise: normal(0, 1)}\n",
     r"at line 2, column 5: a key must be a plain name or number, not a list or mapping"),
    ("nodes:\n  x: &n {noise: normal(0, 1)}\n  y: *n\n",
     r"at line 3, column 6: anchors and aliases \(&name / \*name\) are not allowed"),
    ("nodes:\n  x: {noise: normal(0, 1)}\n  x: {noise: normal(0, 2)}\n",
     r"at line 3, column 3: duplicate key 'x'"),
    ("nodes: [1, 2\n", r"at line 2, column 1: expected ',' or '\]', but got '<stream end>'"),
    ("nodes:\n  x: {noise: normal(0, 1)\n", r"at line 3, column 1: expected ',' or '}'"),
    ("nodes:\n  x: {noise: normal(0, 1)}\n  y: {a: b: c}\n",
     r"line 3, column 11: expected ',' or '}', but got ':'"),
    ("nodes:\n  x: {noise: normal(0, 1), unit: \x07}\n",
     r"spec: invalid YAML: unacceptable character #x0007: special characters are not allowed"),
    ("nodes:\n  x: {noise: normal(0, 1), unit: a\x00}\n", r"unacceptable character #x0000"),
    # R11 (fuzzing): a value its explicit tag cannot read was a ValueError, IndexError, TypeError
    ("nodes:\n  x: {noise: !!int }\n", r"line 2, column 14: cannot read '' as int \(IndexError\)"),
    ("name: !!int icecream\nnodes:\n  x: {noise: normal(0, 1)}\n",
     r"line 1, column 7: cannot read 'icecream' as int \(ValueError\)"),
    ("name: !!float [1]\nnodes:\n  x: {noise: normal(0, 1)}\n",
     r"line 1, column 7: expected a scalar node, but found sequence"),
    ("nodes:\n  x: {noise: normal(0, 1), unit: 2026-13-45}\n",
     r"line 2, column 34: cannot read '2026-13-45' as timestamp \(ValueError\)"),
    ("nodes:\n  x: {noise: normal(0, 1), hidden: !!bool maybe}\n", r"cannot read 'maybe' as bool"),
    ("nodes:\n  x: {noise: normal(0, 1), unit: !!timestamp soon}\n", r"'soon' as timestamp"),
    ("nodes:\n  x: {noise: normal(0, 1), unit: !!binary 'a'}\n", r"failed to decode base64"),
    ("nodes: !!set x\n", r"line 1, column 8: expected a mapping node, but found scalar"),
    ("nodes: !!map [a, b]\n", r"line 1, column 8: expected a mapping node, but found sequence"),
    ("nodes:\n  !!seq 11: {noise: normal(0, 1)}\n", r"line 2, column 3: found unhashable key"),
    ]


@pytest.mark.parametrize(("text", "match"), BAD_TEXTS, ids=range(len(BAD_TEXTS)))
def test_every_limit_and_yaml_error_reads_the_same_on_both_loaders(loader, text, match):
    message = _message(text)
    assert message.startswith("spec: invalid YAML")
    assert re.search(match, message), message
    # the same text gives the same message, to the character, on the other loader
    for other in ("_PySpecLoader", "_CSpecLoader"):
        cls = getattr(spec_module, other, None)
        if cls is not None:
            saved = spec_module._SpecLoader
            spec_module._SpecLoader = cls
            try:
                assert _message(text) == message
            finally:
                spec_module._SpecLoader = saved


def test_a_file_name_and_line_are_in_the_message_on_both_loaders(loader, tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text("nodes:\n  x: {noise: normal(0, 1)}\n  ? {a: 1}\n  : {noise: normal(0, 1)}\n")
    assert _message(path) == (f"{path}: invalid YAML at line 3, column 5: a key must be a plain "
                              "name or number, not a list or mapping")


@pytest.mark.parametrize("count", [1001, 1500])
def test_too_many_nodes_is_counted_the_same_on_both_loaders(loader, count):
    assert _message(_chain(count)) == f"spec: at most 1000 nodes, got {count}"
    assert _message({"nodes": {f"x{i}": {"noise": "normal(0, 1)"} for i in range(count)}}) == (
        f"spec: at most 1000 nodes, got {count}")


def test_the_node_count_still_refuses_nesting_and_aliases_past_the_limit(loader):
    text = _chain(1001)
    deep = text + "  y: {unit: " + "[" * 30 + "]" * 30 + "}\n"
    assert "nested more than 20 levels deep" in _message(deep)
    assert "anchors and aliases" in _message(text + "  y: *a\n")
    assert _message(text + "  y: {unit: [[1]]}\n") == "spec: at most 1000 nodes, got 1002"


def test_counting_nodes_past_the_limit_stops_after_a_bounded_read(loader, monkeypatch):
    monkeypatch.setattr(spec_module, "_MAX_SKIPPED", 1000)  # 300,000 events: about 0.7 s
    text = _chain(1001) + "  y: {unit: [" + "1, " * 2000 + "1]}\n"
    assert _message(text) == "spec: at most 1000 nodes, got at least 1002"
    assert _message(_chain(1100)) == "spec: at most 1000 nodes, got 1100"  # 600 events


def test_the_number_of_values_in_a_spec_is_bounded(loader, monkeypatch):
    monkeypatch.setattr(spec_module, "MAX_VALUES", 1000)  # 100,000: see the timing test below
    message = _message("nodes:\n  x: {noise: normal(0, 1), unit: [" + "1, " * 1000 + "1]}\n")
    assert message == ("spec: invalid YAML at line 2, column 3008: the spec has more than 1000 "
                       "values (keys, values and list items); a spec of 1,000 nodes needs far fewer")
    assert _message({"nodes": {"x": {"noise": "normal(0, 1)", "unit": [1] * 1000}}}) == (
        "spec: the spec has more than 1000 values (keys, values and list items); a spec of "
        "1,000 nodes needs far fewer")
    load_scm({"nodes": {"x": {"noise": "normal(0, 1)", "unit": "a"}}})


def test_the_expressions_of_a_spec_are_bounded_in_all_before_compiling_any():
    term = " + ".join(["x0"] * 400)  # 1,997 characters, within the limits of one expression
    nodes = {"x0": {"noise": "normal(0, 1)"}}
    nodes.update({f"y{i}": {"equation": term} for i in range(251)})
    nodes["z"] = {"type": "categorical", "probs": ["sigmoid(x0)", "1 - sigmoid(x0)"]}
    start = time.process_time()
    assert _message({"nodes": nodes}) == (
        "spec: the expressions of the spec are 501273 characters long in all; the limit is "
        "500000 (split the model, or simplify them)")
    assert time.process_time() - start < 0.5  # refused before compiling
    del nodes["y0"]
    spec_module._check_expression_size(nodes, "spec")  # 499,276 characters pass


def test_both_loaders_read_valid_specs_alike(loader):
    text = """
name: icecream   # a comment, with (parentheses, and commas)
nodes:
  temperature: {noise: normal(25, 5), unit: degC}
  ice_cream:   {equation: 20 + 3 * temperature + noise, noise: normal(0, 10)}
  bought:      {type: binary, logit: -1 + 0.5 * temperature, description: "a, b (c, d)"}
  segment:     {type: categorical, probs: [0.5, 0.3, 0.2]}
  shelf:
    equation: maximum(bought,
      segment)
    unit: 'items, on the shelf'
"""
    spec = dump_spec(load_scm(text))
    assert spec["nodes"]["bought"]["description"] == "a, b (c, d)"
    assert spec["nodes"]["shelf"] == {"equation": "maximum(bought, segment)",
                                      "unit": "items, on the shelf"}
    assert load_scm(_chain(50)).nodes == tuple(f"x{i}" for i in range(50))


def _best_time(source, repeat: int = 3) -> float:
    """The least CPU time of ``repeat`` loads (a SpecError counts as done)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        try:
            load_scm(source)
        except SpecError:
            pass
        best = min(best, time.process_time() - start)
    return best


def test_loading_time_is_linear_in_the_size_of_the_spec():
    small, large = _chain(100), _chain(1000)  # 10.5 times the characters
    t_small, t_large = _best_time(small), _best_time(large)
    assert t_large < 2.0, t_large  # the node limit: about 0.7 s
    # per character, 1,000 nodes may cost at most 2.5 times what 100 nodes do: linear code
    # measures about 1.2, code quadratic in the nodes about 10
    per_char = (t_large / len(large)) / (t_small / len(small))
    assert per_char < 2.5, (t_small, t_large)


def test_a_1_9_mb_spec_with_too_many_nodes_is_refused_within_two_seconds():
    text = _chain(24_000)
    assert 1_800_000 < len(text) < spec_module.MAX_SPEC_CHARS
    assert _best_time(text, repeat=3) < 2.0  # was 12 s with PyYAML's pure-Python parser


@pytest.mark.parametrize("text", [
    "nodes:\n  x: {noise: normal(0, 1), unit: [" + "1," * 949_000 + "1]}\n",  # was 14 s
    _chain(1001) + "  y: {unit: [" + "1," * 900_000 + "1]}\n",  # nodes past the limit: 2.2 s
    "nodes:\n  x0: {noise: normal(0, 1)}\n" + "".join(  # expressions: was 12 s
        f"  y{i}: {{equation: " + " + ".join(["exp(x0)"] * 190) + "}\n" for i in range(999)),
], ids=["values", "skipped", "expressions"])
def test_other_1_9_mb_specs_are_refused_within_two_seconds(text):
    assert 1_800_000 < len(text) < spec_module.MAX_SPEC_CHARS
    # best of 3 CPU times: other load inflates single runs; the list of 949,000 values measures
    # 1.4 s on an idle machine and up to 2.2 s beside other jobs (it was 44 s), hence its 3 s
    limit = 3.0 if text.startswith("nodes:\n  x: {noise: normal(0, 1), unit: [") else 2.0
    assert _best_time(text, repeat=3) < limit
