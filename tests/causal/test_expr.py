"""Tests for causal.expr: the safe expression compiler of model specs."""

from __future__ import annotations

import ast
import builtins
import math
import pickle
import types

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causal.errors import ModelError, SpecError
from causal.expr import ALLOWED_FUNCTIONS, CONSTANTS, Expr, compile_expr, parse_distribution

N = 64
FUZZ = settings(derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
def env() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "a": rng.normal(size=N), "b": rng.normal(size=N), "c": rng.normal(size=N),
        "p": rng.uniform(size=N), "noise": rng.normal(size=N),
        "flag": rng.integers(0, 2, size=N).astype(float),
    }


def _sig(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


CASES = [
    ("20 + 3 * a + noise", lambda v: 20 + 3 * v["a"] + v["noise"]),
    ("a - b - c", lambda v: (v["a"] - v["b"]) - v["c"]),
    ("a / b / 2 * c % 3", lambda v: np.mod(v["a"] / v["b"] / 2 * v["c"], 3)),
    ("-a ** 2", lambda v: -(v["a"] ** 2)),
    ("(-a) ** 2", lambda v: v["a"] ** 2),
    ("2 ** 3 ** 2", lambda v: np.full(N, 512.0)),
    ("-1 + 0.5 * a + +b", lambda v: -1 + 0.5 * v["a"] + v["b"]),
    ("where(a > 0, 0.8, 0.3)", lambda v: np.where(v["a"] > 0, 0.8, 0.3)),
    ("where(flag, a, b)", lambda v: np.where(v["flag"] != 0, v["a"], v["b"])),
    ("where(a, b, 2)", lambda v: np.where(v["a"] != 0, v["b"], 2.0)),  # negative is true
    ("clip(a, -0.5, p)", lambda v: np.minimum(np.maximum(v["a"], -0.5), v["p"])),
    ("sigmoid(a * 3)", lambda v: _sig(v["a"] * 3)),
    ("maximum(a, b) - minimum(a, c)", lambda v: np.maximum(v["a"], v["b"]) - np.minimum(v["a"], v["c"])),  # noqa: E501
    ("exp(a) + log(p) + sqrt(p) + abs(b)", lambda v: np.exp(v["a"]) + np.log(v["p"]) + np.sqrt(v["p"]) + np.abs(v["b"])),  # noqa: E501
    ("tanh(a) + log1p(p) + expm1(b) + floor(a) + ceil(b) + sign(c)", lambda v: np.tanh(v["a"]) + np.log1p(v["p"]) + np.expm1(v["b"]) + np.floor(v["a"]) + np.ceil(v["b"]) + np.sign(v["c"])),  # noqa: E501
    ("0 < a < 1", lambda v: ((v["a"] > 0) & (v["a"] < 1)).astype(float)),
    ("a < b <= c != 0", lambda v: ((v["a"] < v["b"]) & (v["b"] <= v["c"]) & (v["c"] != 0)) * 1.0),  # noqa: E501
    ("(a < b) + (b >= c) == 1", lambda v: (((v["a"] < v["b"]) * 1.0 + (v["b"] >= v["c"])) == 1) * 1.0),  # noqa: E501
    ("a > 0 and b > 0 or not flag", lambda v: (((v["a"] > 0) & (v["b"] > 0)) | (v["flag"] == 0)) * 1.0),  # noqa: E501
    ("a and p", lambda v: ((v["a"] != 0) & (v["p"] != 0)) * 1.0),
    ("1 and a or 0 or b", lambda v: ((v["a"] != 0) | (v["b"] != 0)) * 1.0),
    ("-(a > 0)", lambda v: -((v["a"] > 0) * 1.0)),
    ("pi * e + a", lambda v: math.pi * math.e + v["a"]),
    ("1_000 + 1e-3", lambda v: np.full(N, 1000.001)),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:30] for c in CASES])
def test_evaluation_matches_numpy(text, expected, env):
    out = compile_expr(text)(env, n=N)
    assert out.dtype == np.float64 and out.shape == (N,)
    np.testing.assert_allclose(out, expected(env), rtol=1e-13, atol=0)


def test_sigmoid_is_stable_in_the_tails():
    out = compile_expr("sigmoid(x)")({"x": np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])})
    assert np.all(np.isfinite(out)) and out[0] == 0.0 and out[2] == 0.5 and out[-1] == 1.0
    np.testing.assert_allclose(out[1], math.exp(-40), rtol=1e-12)


def test_evaluation_scalars_shapes_and_fresh_arrays(env):
    np.testing.assert_array_equal(compile_expr("2 * pi")({}, n=3), np.full(3, 2 * math.pi))
    assert compile_expr("1 / 0 - 1 / 0")({}).dtype == np.float64  # nan, no warning, no error
    out = compile_expr("a")(env)
    assert out is not env["a"] and np.array_equal(out, env["a"])
    out[:] = 0  # the result is the caller's to modify, and writable even when broadcast
    assert not np.array_equal(env["a"], out)
    compile_expr("x")({"x": 2.0}, n=4)[0] = 1.0
    np.testing.assert_array_equal(compile_expr("x + y")({"x": 1, "y": np.arange(3)}), [1, 2, 3])


def test_missing_variable_and_bad_shapes_raise_model_error():
    e = compile_expr("a + tempreature", where="m.yaml, node 'y'")
    with pytest.raises(ModelError, match=r"m\.yaml, node 'y'.*'tempreature'.*missing"):
        e({"a": 1.0})
    with pytest.raises(ModelError, match="cannot evaluate"):
        e({"a": np.zeros(3), "tempreature": np.zeros(4)})
    with pytest.raises(ModelError, match="cannot evaluate"):
        compile_expr("a")({"a": np.zeros(3)}, n=5)


@pytest.mark.parametrize(
    ("text", "f"),
    [("a + 2*b + noise", "a + 2 * b"), ("noise", "0"), ("noise + a", "a"),
     ("a - b * 2 + noise - 3", "a - b * 2 - 3"), ("-1 + 0.5 * a + noise", "-1 + 0.5 * a"),
     ("-a + noise", "-a"), ("noise - a * b", "-(a * b)"), ("(a + b) * c + noise", "(a + b) * c")],
)
def test_additive_split(text, f, env):
    split = compile_expr(text).additive_split()
    assert split == compile_expr(f) and not split.uses_noise()
    np.testing.assert_allclose(split(env, n=N) + env["noise"], compile_expr(text)(env, n=N))


@pytest.mark.parametrize(
    "text",
    ["noise * a", "a - noise", "noise + noise", "exp(noise) + a", "a + b", "-noise + a",
     "a + (b + noise)", "a + noise + where(noise > 0, 1, 0)", "+noise + a", "2 * noise"],
)
def test_additive_split_rejects_non_additive(text):
    assert compile_expr(text).additive_split() is None


def test_additive_split_keeps_the_allowed_names():
    # 'e' is a node here, not Euler's number, also in the split part
    e = compile_expr("2 * e + noise", ["e", "noise"])
    assert e.names == {"e", "noise"} and e.additive_split().names == {"e"}
    assert e.additive_split()({"e": np.array([1.0])})[0] == 2.0


def test_names_equality_round_trip_and_pickle():
    e = compile_expr("maximum(bought,promo)+exp(pi)*noise - e", where="x")
    assert e.names == frozenset({"bought", "promo", "noise"}) and e.uses_noise()
    assert not compile_expr("where(mood > 0, 0.8, 0.3)").uses_noise()
    assert compile_expr(str(e)) == e and hash(compile_expr(e.text)) == hash(e)
    assert repr(e) == f"Expr({e.text!r})" and e != compile_expr("bought") and e != e.text
    clone = pickle.loads(pickle.dumps(e))
    env = {"bought": np.arange(3.0), "promo": np.ones(3), "noise": np.full(3, 0.5)}
    assert clone == e and np.array_equal(clone(env), e(env))
    with pytest.raises(AttributeError):
        e.text = "1"
    assert isinstance(e, Expr) and not isinstance(e, types.CodeType)
    assert set(ALLOWED_FUNCTIONS) >= {"where", "exp", "log", "sqrt", "abs", "sigmoid", "clip",
                                      "minimum", "maximum"} and set(CONSTANTS) == {"pi", "e"}


def test_chains_count_as_one_nesting_level():
    long_sum = " + ".join(f"0.5 * x{i}" for i in range(70))  # 281 nodes, left-deep
    e = compile_expr(long_sum)
    env = {f"x{i}": np.full(2, float(i)) for i in range(70)}
    np.testing.assert_allclose(e(env), 0.5 * sum(range(70)))
    assert compile_expr("(" * 150 + "x" + ")" * 150).text == "x"


BAD = [
    ("__import__('os').system('echo hi')", "'__import__' is not allowed: names starting with '_'"),
    ("x.__class__", "attribute access ('x.__class__')"),
    ("().__class__.__bases__", "attribute access"),
    ("[x for x in y]", "list comprehensions are not allowed"),
    ("lambda: 1", "lambda is not allowed"),
    ("x[0]", "subscripts ('x[0]') are not allowed"),
    ("'abc'", "strings"),
    ("open('f')", "'open' is not a known function; functions: abs, ceil, clip"),
    ("eval('1')", "'eval' is not a known function"),
    ("exps(x)", "did you mean 'exp'?"),
    ("exp(x, y)", "exp() takes exactly 1 positional argument (2 given)"),
    ("clip(x, 1)", "clip() takes exactly 3 positional arguments (2 given)"),
    ("exp(x=1)", "keyword arguments are not allowed"),
    ("exp(*x)", "'*' unpacking"),
    ("a if b else c", "conditional expressions ('a if b else c') are not allowed; use where("),
    ("x := 1", "':='"),
    ("(x := 1)", "':='"),
    ("True", "booleans ('True') are not allowed"),
    ("None + 1", "'None' is not allowed"),
    ("1j", "complex"),
    ("x ^ 2", "'^' is not allowed"),
    ("x // 2", "'//' is not allowed"),
    ("x in y", "'in' comparisons"),
    ("~x", "'~'"),
    ("exp", "'exp' is a function"),
    ("f(1)(2)", "calling 'f(1)' is not allowed"),
    ("x.y(1)", "attribute access ('x.y')"),
    ("(a, b)", "tuples are not allowed"),
    ("x # comment", "comments"),
    ("1e999", "'1e999' is not a finite float"),
    ("1" + "0" * 400, "is not a finite float"),
    ("1" + "0" * 10_000, "the limit is 2000"),  # 10**10000 written out
    ("x" * 2001, "2001 characters long; the limit is 2000"),
    ("*".join(["x"] * 151), "301 nodes; the limit is 300"),
    ("+".join(["x"] * 1003), "sum of 1003 terms; the limit is 1002"),  # a sum: limits per term
    ("x + " + "*".join(["x"] * 151), "term 2 of the sum has 301 nodes; the limit is 300"),
    ("x - " + "2" * 2001, "term 2 of the sum is 2001 characters long; the limit is 2000"),
    (" + ".join(["x" * 100] * 2000), "the limit is 200000"),
    ("exp(" + "+".join(["x"] * 1000) + ")", "the limit is 2000 (longer only for a sum"),
    ("exp(" * 41 + "x" + ")" * 41, "nested 42 levels deep; the limit is 40"),
    ("1 + (" * 41 + "x" + ")" * 41, "the limit is 40"),
    ("(" * 1000 + "x" + ")" * 1000, "the limit is 2000"),
    ("(" * 500 + "x" + ")" * 500, "too many nested parentheses"),
    ("-" * 1999 + "x", "cannot parse|the limit is 300"),  # CPython's parser may give up first
    ("x\x00", "NUL byte"),
    ("1 +", "invalid syntax"),
    ("   ", "empty"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[repr(b[0][:30]) for b in BAD])
def test_rejections_name_the_problem(text, message):
    with pytest.raises(SpecError) as info:
        compile_expr(text, where="model.yaml, node 'y'")
    assert str(info.value).startswith("model.yaml, node 'y': ")
    assert any(m in str(info.value) for m in message.split("|"))


def test_unknown_name_suggests_the_closest():
    with pytest.raises(SpecError) as info:
        compile_expr("5 + 2 * tempreature + noise", ["temperature", "noise"],
                     where="model.yaml, node 'sunscreen'")
    assert str(info.value) == ("model.yaml, node 'sunscreen': unknown name 'tempreature' "
                               "(known: noise, temperature); did you mean 'temperature'?")
    with pytest.raises(SpecError, match="unknown name 'noise'"):
        compile_expr("a + noise", ["a"])
    with pytest.raises(SpecError, match="names starting with '_'"):
        compile_expr("_a + 1", ["_a"])
    with pytest.raises(SpecError, match="must be a string"):
        compile_expr(3)  # type: ignore[arg-type]


MALICIOUS = [
    "__import__('os').system('touch {p}')", "open('{p}', 'w')", "exec('open(\"{p}\", \"w\")')",
    "eval('__import__(\"os\")')", "(lambda: __import__('os'))()", "compile('1', 'f', 'eval')",
    "[c for c in ().__class__.__base__.__subclasses__()]", "globals()['__builtins__']",
    "getattr(x, 'system')", "breakpoint()", "x.__globals__", "where(1, open('{p}'), 0)",
]
BENIGN = ["20 + 3 * a + noise", "where(a > 0, 0.8, 0.3)", "sigmoid(a) * clip(b, 0, 1)", "e"]


def test_nothing_is_executed(monkeypatch, tmp_path):
    calls: list[str] = []
    compile_flags: list[int] = []
    real_import, real_compile = builtins.__import__, builtins.compile

    def spy_import(name, *args, **kwargs):
        calls.append(f"import {name}")
        return real_import(name, *args, **kwargs)

    def spy_compile(source, filename, mode, flags=0, *args, **kwargs):
        compile_flags.append(flags)
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    env = {"a": np.ones(3), "b": np.zeros(3), "noise": np.ones(3), "x": np.ones(3)}
    monkeypatch.setattr(builtins, "eval", lambda *a, **k: calls.append("eval"))
    monkeypatch.setattr(builtins, "exec", lambda *a, **k: calls.append("exec"))
    monkeypatch.setattr(builtins, "compile", spy_compile)
    monkeypatch.setattr(builtins, "__import__", spy_import)  # last: monkeypatch imports
    del calls[:]
    results = []
    for text in [t.format(p=tmp_path / "pwned") for t in MALICIOUS] + BENIGN:
        try:
            e = compile_expr(text)
        except SpecError:
            results.append(None)
        else:
            results.append(e(env, n=3))
        try:  # e.g. breakpoint() is a well-formed distribution call; only its name is checked
            parse_distribution(text)
        except SpecError:
            pass
    recorded = list(calls)
    monkeypatch.undo()
    assert recorded == []
    # ast.parse goes through builtins.compile, but only ever to build a syntax tree
    assert compile_flags and all(f & ast.PyCF_ONLY_AST for f in compile_flags)
    assert results[: len(MALICIOUS)] == [None] * len(MALICIOUS)
    assert all(isinstance(r, np.ndarray) for r in results[len(MALICIOUS):])
    assert not (tmp_path / "pwned").exists()


# ---------------------------------------------------------------------- fuzzing
@settings(FUZZ, max_examples=300)
@given(st.one_of(st.text(max_size=80),
                 st.text("abxe01.+-*/%()<>=!, _[]'\"\\:#;@^~&|\n\t\x00", max_size=60)))
def test_any_text_gives_expr_or_spec_error(text):
    try:
        e = compile_expr(text)
    except SpecError:
        return
    assert compile_expr(str(e)) == e
    rng = np.random.default_rng(0)
    out = e({name: rng.normal(size=5) for name in e.names}, n=5)
    assert out.dtype == np.float64 and out.shape == (5,)


SCOPE = frozenset({"a", "b", "c", "noise"})
NAMES = ["a", "b", "c", "noise", "pi", "e", "zz", "__x", "_y", "exp", "open"]
FUNCS = [*sorted(ALLOWED_FUNCTIONS), "open", "eval", "__import__", "getattr"]
GOOD_BIN = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.Pow)
GOOD_CMP = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
NO_ARGS = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])

GOOD_LEAVES = st.one_of(
    st.integers(0, 10**6).map(ast.Constant),
    st.floats(0, 1e6).map(lambda x: ast.Constant(abs(x))),
    st.sampled_from(["a", "b", "c", "noise", "pi", "e"]).map(lambda n: ast.Name(n, ast.Load())),
)
ALL_LEAVES = st.one_of(
    GOOD_LEAVES,
    st.sampled_from([True, "s", None, 2j, b"x", 1e300 * 1e10]).map(ast.Constant),
    st.sampled_from(NAMES).map(lambda n: ast.Name(n, ast.Load())),
)


def _good(kids):
    """Constructs of the whitelist only."""
    return st.one_of(
        st.builds(lambda x, o, y: ast.BinOp(x, o(), y), kids, st.sampled_from(GOOD_BIN), kids),
        st.builds(lambda x, o: ast.UnaryOp(o(), x), kids,
                  st.sampled_from([ast.USub, ast.UAdd, ast.Not])),
        st.builds(lambda x, ys, o: ast.Compare(x, [o() for _ in ys], ys), kids,
                  st.lists(kids, min_size=1, max_size=3), st.sampled_from(GOOD_CMP)),
        st.builds(lambda xs, o: ast.BoolOp(o(), xs), st.lists(kids, min_size=2, max_size=3),
                  st.sampled_from([ast.And, ast.Or])),
        st.sampled_from(sorted(ALLOWED_FUNCTIONS.items())).flatmap(
            lambda fa: st.lists(kids, min_size=fa[1], max_size=fa[1]).map(
                lambda xs: ast.Call(ast.Name(fa[0], ast.Load()), xs, []))),
    )


def _mixed(kids):
    """The whitelist plus forbidden constructs and calls of any arity."""
    pair, few = st.tuples(kids, kids), st.lists(kids, min_size=0, max_size=4)
    binop = st.sampled_from([ast.FloorDiv, ast.BitXor, ast.MatMult])
    return st.one_of(
        _good(kids),
        st.builds(lambda p, o: ast.BinOp(p[0], o(), p[1]), pair, binop),
        st.builds(lambda x: ast.UnaryOp(ast.Invert(), x), kids),
        st.builds(lambda p, o: ast.Compare(p[0], [o()], [p[1]]), pair,
                  st.sampled_from([ast.In, ast.Is])),
        st.builds(lambda f, xs: ast.Call(ast.Name(f, ast.Load()), xs, []),
                  st.sampled_from(FUNCS), few),
        st.builds(lambda x: ast.Call(ast.Name("exp", ast.Load()), [], [ast.keyword("x", x)]),
                  kids),
        st.builds(lambda x, a: ast.Attribute(x, a, ast.Load()), kids,
                  st.sampled_from(["real", "__class__"])),
        st.builds(lambda p: ast.Subscript(p[0], p[1], ast.Load()), pair),
        st.builds(lambda x: ast.Lambda(NO_ARGS, x), kids),
        st.builds(lambda x, y, z: ast.IfExp(x, y, z), kids, kids, kids),
        st.builds(lambda p: ast.ListComp(p[0], [ast.comprehension(
            ast.Name("q", ast.Store()), p[1], [], 0)]), pair),
        st.builds(lambda xs: ast.Tuple(xs, ast.Load()), few),
    )


trees = st.one_of(st.recursive(GOOD_LEAVES, _good, max_leaves=30),
                  st.recursive(ALL_LEAVES, _mixed, max_leaves=30))


def _forbidden(node: ast.AST) -> bool:
    """Reference whitelist, written independently of causal.expr."""
    if isinstance(node, ast.Constant):
        return type(node.value) not in (int, float) or not math.isfinite(node.value)
    if isinstance(node, ast.Name):
        return node.id not in SCOPE and node.id not in CONSTANTS
    if isinstance(node, ast.BinOp):
        bad = not isinstance(node.op, GOOD_BIN)
        return bad or _forbidden(node.left) or _forbidden(node.right)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.Invert) or _forbidden(node.operand)
    if isinstance(node, ast.Compare):
        bad = not all(isinstance(op, GOOD_CMP) for op in node.ops)
        return bad or any(_forbidden(x) for x in (node.left, *node.comparators))
    if isinstance(node, ast.BoolOp):
        return any(_forbidden(x) for x in node.values)
    if isinstance(node, ast.Call):
        ok = (isinstance(node.func, ast.Name) and not node.keywords
              and ALLOWED_FUNCTIONS.get(node.func.id) == len(node.args))
        return not ok or any(_forbidden(x) for x in node.args)
    return True


def _reference(node: ast.AST, env: dict) -> np.ndarray:
    """Reference evaluator on the original AST (accepted trees only)."""
    def ev(x):
        return _reference(x, env)

    if isinstance(node, ast.Constant):
        return np.float64(node.value)
    if isinstance(node, ast.Name):
        return env[node.id] if node.id in SCOPE else np.float64(CONSTANTS[node.id])
    if isinstance(node, ast.BinOp):
        ops = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
               ast.Div: np.divide, ast.Mod: np.mod, ast.Pow: np.power}
        return ops[type(node.op)](ev(node.left), ev(node.right))
    if isinstance(node, ast.UnaryOp):
        value = ev(node.operand)
        if isinstance(node.op, ast.Not):
            return (value == 0) * 1.0
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Compare):
        values = [ev(x) for x in (node.left, *node.comparators)]
        syms = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
                ast.NotEq: "!="}
        out = np.ones_like(values[0], dtype=bool)
        for op, x, y in zip(node.ops, values, values[1:], strict=False):
            s = syms[type(op)]
            out = out & {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "==": x == y,
                         "!=": x != y}[s]
        return out * 1.0
    if isinstance(node, ast.BoolOp):
        truth = [ev(x) != 0 for x in node.values]
        combine = np.all if isinstance(node.op, ast.And) else np.any
        return combine(np.broadcast_arrays(*truth), axis=0) * 1.0
    args = [ev(x) for x in node.args]
    name = node.func.id
    if name == "sigmoid":
        (x,) = args
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
    if name == "where":
        return np.where(args[0] != 0, args[1], args[2])
    if name == "clip":
        return np.minimum(np.maximum(args[0], args[1]), args[2])  # np.clip orders signed zeros
    return getattr(np, name)(*args)


def _size_and_depth(node: ast.AST) -> tuple[int, int]:
    kids = [_size_and_depth(k) for k in ast.iter_child_nodes(node) if isinstance(k, ast.expr)]
    return 1 + sum(k[0] for k in kids), 1 + max((k[1] for k in kids), default=0)


@settings(FUZZ, max_examples=400)
@given(trees)
def test_random_asts_are_accepted_exactly_when_whitelisted(tree):
    text = ast.unparse(tree)
    forbidden = _forbidden(tree)
    size, depth = _size_and_depth(tree)
    try:
        e = compile_expr(text, SCOPE)
    except SpecError:
        assert forbidden or size > 300 or depth > 40 or len(text) > 2000, text
        return
    assert not forbidden, text
    rng = np.random.default_rng(0)
    env = {name: rng.normal(size=7) for name in SCOPE}
    out = e(env, n=7)
    assert out.dtype == np.float64 and out.shape == (7,)
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(_reference(tree, env), (7,))
    np.testing.assert_allclose(out, expected, rtol=1e-12, equal_nan=True)
    assert compile_expr(str(e), SCOPE) == e and e.names <= SCOPE


SPECIALS = np.array([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.0, np.inf, -np.inf, np.nan, 1e308, -1e308,
                     5e-324, 709.0, 710.0, -745.0, -746.0, 40.0, -40.0])


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal dtype, shape and bits (any NaN equals any NaN, whatever its payload)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return bool(np.all((a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))))


def _unit_env(seed: int, n: int) -> dict[str, np.ndarray]:
    """Values of every name in SCOPE for ``n`` units: normal draws of several scales and specials."""
    rng = np.random.default_rng(seed)
    env = {}
    for name in sorted(SCOPE):
        x = rng.normal(size=n) * rng.choice([1.0, 10.0, 1000.0], size=n)
        pick = rng.random(n) < 0.3
        x[pick] = rng.choice(SPECIALS, size=int(pick.sum()))
        env[name] = x
    return env


def _compiled_or_none(tree):
    """The compiled random expression, or ``None`` where the whitelist rightly refuses it."""
    try:
        return compile_expr(ast.unparse(tree), SCOPE)
    except SpecError:
        return None


@settings(FUZZ, max_examples=300)
@given(trees, st.integers(0, 2**32 - 1))
def test_compiled_evaluation_is_bit_exact_against_the_reference(tree, seed):
    # the reference walks the original AST with the same numpy operations in the same order,
    # so constant folding, fused conditions and dropped factors of 1 must not change a bit
    e = _compiled_or_none(tree)
    if e is None:
        return
    env = _unit_env(seed, 33)
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(np.asarray(_reference(tree, env), dtype=np.float64), (33,))
    assert _same_bits(e(env, n=33), expected), e.text


@settings(FUZZ, max_examples=200)
@given(trees, st.integers(0, 2**32 - 1))
def test_results_do_not_depend_on_length_or_memory_layout(tree, seed):
    e = _compiled_or_none(tree)
    if e is None:
        return
    n = 9
    env = _unit_env(seed, n)
    whole = e(env, n=n)
    strided = {k: np.repeat(v, 3)[::3] for k, v in env.items()}   # non-contiguous views
    assert not next(iter(strided.values())).flags.c_contiguous
    assert _same_bits(e(strided, n=n), whole), e.text
    for i in range(n):
        for unit in ({k: v[i:i + 1] for k, v in env.items()},   # 1-element arrays
                     {k: v[i] for k, v in env.items()},         # numpy scalars
                     {k: np.array(v[i]) for k, v in env.items()},  # 0-d arrays
                     {k: float(v[i]) for k, v in env.items()}):  # Python floats
            assert _same_bits(e(unit, n=1), whole[i:i + 1]), (e.text, i)
    assert e({k: float(v[0]) for k, v in env.items()}).shape == ()


def test_sigmoid_is_the_two_branch_formula_bit_for_bit():
    from causal.mechanisms import Binary

    rng = np.random.default_rng(1)
    x = np.concatenate([SPECIALS, rng.normal(size=4000) * rng.choice([1, 10, 100, 1000], size=4000)])
    with np.errstate(all="ignore"):
        z = np.exp(-np.abs(x))
        textbook = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    got = compile_expr("sigmoid(x)")({"x": x})
    assert _same_bits(got, textbook)
    # one implementation: a Binary's logit link is the expressions' sigmoid
    assert _same_bits(Binary(logit="x").probability({"x": x}, len(x)), got)
    assert np.all((got >= 0) & (got <= 1) | np.isnan(x))


def test_evaluation_leaves_numpy_error_state_alone_and_warns_nothing():
    import warnings

    before = np.geterr()
    e = compile_expr("exp(x) + log(x) + 1 / x + sqrt(x) + x ** 1e6 + 0 * x / 0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = e({"x": np.array([-1.0, 0.0, 1000.0])})
    assert np.isnan(out).all() and np.geterr() == before
    with pytest.raises(ModelError):
        e({"y": 1.0})
    with pytest.raises(ModelError):
        compile_expr("x + y")({"x": np.zeros(2), "y": np.zeros(3)})
    assert np.geterr() == before
    with np.errstate(over="raise"):  # the caller's setting is restored, not replaced
        compile_expr("exp(x)")({"x": 1000.0})
        assert np.geterr()["over"] == "raise"


def test_constants_are_folded_and_factors_of_one_dropped():
    x = np.array([-0.0, 0.0, np.nan, 2.5, -np.inf])
    for text, same_as in [("1.0 * x", "x"), ("x * 1 / 1", "x"), ("2 * 3 * x", "6 * x"),
                          ("1 * 0.7 * (x - 5)", "0.7 * (x - 5)"), ("exp(0) * x + 2 ** 3", "x + 8")]:
        assert _same_bits(compile_expr(text)({"x": x}), compile_expr(same_as)({"x": x})), text
    out = compile_expr("1.0 * x")({"x": x})  # a fresh array, not the caller's
    assert out is not x and out.flags.writeable
    assert compile_expr("exp(pi) - 2 * 3")({}).shape == ()


def test_discrete_mechanisms_evaluate_as_the_plain_numpy_formulas():
    # Binary and Categorical evaluate their expressions with fewer numpy calls; same bits
    from causal.mechanisms import Binary, Categorical

    rng = np.random.default_rng(3)
    n = 300
    env = {"a": rng.normal(size=n) * 3, "b": rng.uniform(size=n)}
    u = rng.uniform(size=n)
    cat = Categorical(["0.4", "where(a < 0, 0.15, 0.35)", "exp(a) * b", "0"])
    w = np.stack([np.full(n, 0.4), np.where(env["a"] < 0, 0.15, 0.35),
                  np.exp(env["a"]) * env["b"], np.zeros(n)], axis=1)
    cuts = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)[:, :-1]
    assert _same_bits(cat.probabilities(env, n), w / w.sum(axis=1, keepdims=True))
    assert _same_bits(cat.cuts(env, n), cuts)
    assert _same_bits(cat.evaluate(env, u, n), np.arange(4.0)[(cuts <= u[:, None]).sum(axis=1)])
    assert cat.probabilities({"a": np.zeros(0), "b": np.zeros(0)}, 0).shape == (0, 4)
    for p in ("0.3", "b", 0.3):
        expected = (u < np.broadcast_to(env["b"] if p == "b" else 0.3, (n,))).astype(float)
        assert _same_bits(Binary(p=p).evaluate(env, u, n), expected)
    for bad, message in [({"a": np.array([np.nan]), "b": np.ones(1)}, "finite and >= 0"),
                         ({"a": np.array([1000.0]), "b": np.ones(1)}, "finite and >= 0"),
                         ({"a": np.array([0.0]), "b": -np.ones(1)}, "finite and >= 0")]:
        with pytest.raises(ModelError, match=message):
            cat.evaluate(bad, np.zeros(1), 1)
    with pytest.raises(ModelError, match="sum to 0"):
        Categorical(["a", "a"]).evaluate({"a": np.array([1.0, 0.0])}, np.zeros(2), 2)
    for p, shown in [(1.5, "1.5"), ("b - 1", "-0.5"), ("(b - 0.5) / (b - 0.5)", "nan")]:
        with pytest.raises(ModelError, match=rf"outside \[0, 1\] \(e\.g\. {shown}\)"):
            Binary(p=p).evaluate({"b": np.array([0.5])}, np.zeros(1), 1)


# ------------------------------------------------------------ parse_distribution
@pytest.mark.parametrize(
    ("text", "expected"),
    [("normal(25, 5)", ("normal", (25, 5), {})),
     ("uniform(-1, 1)", ("uniform", (-1, 1), {})),
     ("normal(mean=0, sd=2)", ("normal", (), {"mean": 0, "sd": 2})),
     ("categorical([0.5, 0.3, 0.2])", ("categorical", ((0.5, 0.3, 0.2),), {})),
     ("categorical(probs=(0.5, 0.5))", ("categorical", (), {"probs": (0.5, 0.5)})),
     ("bernoulli(0.3)", ("bernoulli", (0.3,), {})),
     (" student_t( 3 ) ", ("student_t", (3,), {})),
     ("gumbel(-+-2.5, +1e-3)", ("gumbel", (2.5, 0.001), {})),
     ("whatever()", ("whatever", (), {}))],
)
def test_parse_distribution_good(text, expected):
    got = parse_distribution(text)
    assert got == expected
    assert [type(x) for x in got[1]] == [type(x) for x in expected[1]]  # ints stay ints


@pytest.mark.parametrize(
    ("text", "message"),
    [("normal(x)", "argument 1 of normal() must be a finite number"),
     ("os.system(1)", "must be a call of a lowercase name"),
     ("normal(1, 2)(3)", "must be a call of a lowercase name"),
     ("normal('a')", "must be a finite number or a list of numbers, got \"'a'\""),
     ("normal(*a)", "'*' unpacking"), ("normal(**k)", "'**' unpacking"),
     ("Normal(0, 1)", "lowercase"), ("normal", "must be a call"),
     ("normal(0, 1) + 1", "must be a call"), ("normal(1e999)", "finite"),
     ("normal(" + "9" * 400 + ")", "finite"), ("normal(True)", "got 'True'"),
     ("categorical([[0.5], [0.5]])", "got '[0.5]'"), ("normal(sd=1 + 1)", "argument 'sd'"),
     ("__import__('os')", "names starting with '_'"), ("normal(0, 1", "invalid syntax"),
     ("normal(" + "-" * 1990 + "1)", "cannot parse|the limit is 40"), ("normal(0, 1)\x00", "NUL")],
    ids=lambda x: repr(x[:30]),
)
def test_parse_distribution_bad(text, message):
    with pytest.raises(SpecError) as info:
        parse_distribution(text, where="model.yaml, node 'x'")
    assert str(info.value).startswith("model.yaml, node 'x': ")
    assert any(m in str(info.value) for m in message.split("|"))


def test_a_long_sum_compiles_splits_and_keeps_its_canonical_text():
    names = [f"x{i}" for i in range(1000)]
    text = " + ".join(f"{i % 7 - 3} * {v}" for i, v in enumerate(names)).replace("+ -", "- ")
    e = compile_expr(text + " + noise", [*names, "noise"])
    assert e.text == text + " + noise"
    assert e.additive_split().text == text
    env = {v: np.full(3, 1.0) for v in names} | {"noise": np.zeros(3)}
    np.testing.assert_allclose(e(env), sum(i % 7 - 3 for i in range(1000)))
