"""Fuzzing :func:`causal.load_scm`: every spec loads or is refused with a SpecError, quickly.

A seeded mutator (a :class:`numpy.random.Generator`, no global state) makes
specs from the valid ones in ``examples/`` and below: edits of the YAML text
(characters, tokens, whole lines), inserted pathological pieces (huge
integers, deep nesting, odd keys, anchors, tags, control characters,
unicode) and structured edits of the spec mapping (loaded as a mapping and
as YAML written back). Every spec must load or raise :class:`SpecError`;
whatever loads must sample, or raise :class:`ModelError`; the same seed gives
the same bytes. YAML text is also read by both YAML loaders (libyaml's and
the pure-Python one), which must agree. The run of 10,000 specs is a slow
test; a short run of the same checks is a regular one.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from causal import spec as spec_module
from causal.errors import ModelError, SpecError
from causal.spec import load_scm

EXAMPLES = sorted(Path(__file__).resolve().parents[2].joinpath("examples").glob("*.yaml"))

EXTRA = [
    """
name: icecream
nodes:                         # any order; parents are read off the equations
  temperature: {noise: normal(25, 5), unit: degC}
  ice_cream:   {equation: 20 + 3 * temperature + noise, noise: normal(0, 10)}
  mood:        {noise: normal(0, 1), hidden: true}
  bought:      {type: binary, logit: -1 + 0.5 * temperature + mood}
  promo:       {type: binary, p: where(mood > 0, 0.8, 0.3)}
  probit_node: {type: binary, probit: 0.2 * mood}
  segment:     {type: categorical, probs: [0.5, 0.3, 0.2]}
  tier:        {type: categorical, probs: [sigmoid(mood), 1 - sigmoid(mood)]}
  shelf:       {equation: maximum(bought, promo)}   # no noise: deterministic
  spend:       {equation: exp(0.1 * temperature) * noise, noise: lognormal(0, 1)}
""",
    "nodes:\n" + "".join(
        f"  x{i}: {{equation: 0.5 * x{i - 1} + 0.1 * x{i - 2} + noise, noise: normal(0, 1)}}\n"
        if i > 1 else f"  x{i}: {{noise: normal(0, 1)}}\n" for i in range(12)),
    "nodes:\n  u: {noise: uniform(0, 1)}\n  v: {equation: clip(u * 3, 0, 2) + noise, "
    "noise: gumbel(0, 1)}\n  w: {type: binary, p: u}\n",
]

# pieces a mutation may insert: YAML syntax, pathological values, odd keys and characters
PIECES = [
    "{", "}", "[", "]", ",", ":", ": ", "- ", "? ", "#", "&a ", "*a", "!!str ", "!!int ", "!!float ",
    "!!python/object:os.system ", "!!binary ", "!!set ", "!!map ", "!!seq ", "!custom ", "%YAML 1.1\n",
    "---\n", "...\n", "<<: ", "<<: {a: 1}", "|\n", ">\n", "'", '"', "\\", "\t", "\n", "\r", "\r\n",
    " ", "  ", "~", "null", "true", "yes", "no", ".inf", "-.inf", ".nan", "1e999", "0x1F", "0o17",
    "1_000", "0b101", "1:30", "2026-12-07", "=", "noise", "type: binary", "p: 2", "probs: [1]",
    "equation: ", "x + noise", "normal(0, 1)", "(", ")", "((", "))", "**", "//", "__class__",
    "\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\u00a0", "\u2028", "\u2029", "\ufeff", "\ue000",
    "\ud800", "\U0001f600", "é", "ß", "\u4e2d", "x" * 101, "x" * 100,
]


def _huge_int(rng):
    return "9" * int(rng.integers(250, 6000))


def _deep(rng):
    k = int(rng.integers(15, 3000))
    return ["[" * k + "]" * k, "{a: " * k + "1" + "}" * k, "- " * k + "1",
            "".join("  " * i + f"k{i}:\n" for i in range(1, min(k, 40))) + "  " * min(k, 40) + "1"
            ][int(rng.integers(0, 4))]


def _piece(rng):
    choice = rng.random()
    if choice < 0.08:
        return _huge_int(rng)
    if choice < 0.14:
        return _deep(rng)
    if choice < 0.2:
        return "".join(chr(int(c)) for c in rng.integers(0, 0x3000, int(rng.integers(1, 6))))
    return PIECES[int(rng.integers(0, len(PIECES)))]


def _mutate_text(text: str, rng) -> str:
    """A few random edits of ``text``: characters, pieces, tokens or lines."""
    for _ in range(int(rng.integers(1, 4))):
        kind = int(rng.integers(0, 7))
        at = int(rng.integers(0, len(text) + 1))
        if kind == 0 and text:  # delete a run of characters
            text = text[:at] + text[at + int(rng.integers(1, 8)):]
        elif kind == 1:  # insert a piece
            text = text[:at] + _piece(rng) + text[at:]
        elif kind == 2 and text:  # replace a character
            text = text[:at] + _piece(rng) + text[at + 1:]
        elif kind == 3:  # duplicate, drop or swap whole lines
            lines = text.split("\n")
            i, j = (int(x) for x in rng.integers(0, len(lines), 2))
            op = int(rng.integers(0, 3))
            if op == 0:
                lines.insert(j, lines[i])
            elif op == 1:
                del lines[i]
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        elif kind == 4:  # swap or repeat words (tokens)
            words = text.split(" ")
            i, j = (int(x) for x in rng.integers(0, len(words), 2))
            if rng.random() < 0.5:
                words[i], words[j] = words[j], words[i]
            else:
                words.insert(j, words[i] * int(rng.integers(1, 4)))
            text = " ".join(words)
        elif kind == 5 and rng.random() < 0.4:  # replace an expression
            at = max(text.find("equation: "), text.find("logit: "), text.find("p: "))
            if at >= 0:
                start = text.index(" ", at) + 1
                end = min(len(text), *(i for i in (text.find(",", start), text.find("\n", start),
                                                   text.find("}", start)) if i >= 0))
                text = text[:start] + _expression(rng) + text[end:]
        elif kind == 5:  # put a pathological value after a key
            keys = [k for k in ("noise: ", "equation: ", "p: ", "logit: ", "probs: ", "unit: ",
                                "type: ", "hidden: ", "name: ") if k in text]
            if keys:
                key = keys[int(rng.integers(0, len(keys)))]
                i = text.index(key) + len(key)
                text = text[:i] + _piece(rng) + text[i:]
        else:  # an odd key at the start of a line
            lines = text.split("\n")
            i = int(rng.integers(0, len(lines)))
            indent = len(lines[i]) - len(lines[i].lstrip(" "))
            key = ["? [a, b]", "? {a: 1}", "x" * 101, "1", "null", "true", "noise", "_x", "x\ty",
                   "&a x", "*a", "<<", "nodes", "2x", "exp", "'x\\n'", "\"x\\u2028\""][
                int(rng.integers(0, 17))]
            lines.insert(i, " " * indent + key + ": " + _piece(rng))
            text = "\n".join(lines)
    return text


_TOKENS = ["x", "y", "temperature", "mood", "noise", "pi", "e", "0", "1", "-1", "0.5", "1e308",
           "1e-320", "1e999", "9" * 400, "0x1F", "1_000", "1j", "True", "None", "'a'", "...", "+", "-",
           "*", "/", "%", "**", "//", "@", "<", "<=", "==", "!=", "and", "or", "not", "if", "else",
           "lambda", ":=", ",", "(", ")", "[", "]", "exp(", "log(", "sqrt(", "where(", "clip(",
           "sigmoid(", "maximum(", "abs(", "tanh(", "foo(", "__import__(", ".real", "ｘ", "é", " ",
           "\n", "#"]


def _expression(rng) -> str:
    """A random expression: mostly well-formed arithmetic, sometimes token soup."""
    if rng.random() < 0.3:
        return "".join(_TOKENS[int(i)] + " " for i in rng.integers(0, len(_TOKENS),
                                                                    int(rng.integers(1, 12))))
    names = ["x", "y", "temperature", "mood", "noise", "1e308", "0", "-2.5", "pi"]
    funcs = ["exp", "log", "sqrt", "sigmoid", "tanh", "abs", "log1p", "expm1", "floor", "sign"]
    ops = ["+", "-", "*", "/", "%", "**", "<", ">=", "==", "and", "or"]

    def build(depth: int) -> str:
        roll = rng.random()
        if depth <= 0 or roll < 0.3:
            return names[int(rng.integers(0, len(names)))]
        if roll < 0.5:
            return f"{funcs[int(rng.integers(0, len(funcs)))]}({build(depth - 1)})"
        if roll < 0.55:
            return f"where({build(depth - 1)}, {build(depth - 1)}, {build(depth - 1)})"
        if roll < 0.6:
            return f"clip({build(depth - 1)}, -1, 1)"
        if roll < 0.65:
            return f"not {build(depth - 1)}"
        return f"({build(depth - 1)} {ops[int(rng.integers(0, len(ops)))]} {build(depth - 1)})"
    return build(int(rng.integers(1, 6)))


_VALUES = [None, True, False, 0, 1, -1, 0.5, 2.0, float("nan"), float("inf"), -float("inf"),
           10 ** 400, -(2 ** 1100), "", "x", "noise", "normal(0, 1)", "normal(0, -1)", "x + noise",
           "2 * x + noise", "y", "where(x > 0, 1, 0)", "sigmoid(x)", "exp(", "__import__('os')",
           "x.real", "lambda: 1", "1e300 * (1e300 * x)", "exp(exp(exp(x)))", "log(x)", "1 / 0",
           "categorical([0.5, 0.5])", "bernoulli(0.3)", "uniform(1, 0)", "student_t(0)",
           "lognormal(0, 1e308)", "normal(1e308, 1e308)", "x" * 3000, "+".join(["x"] * 1100),
           [0.5, 0.5], [0.2, 0.9], ["x", "1 - x"], [], [[0.5]], {}, {"a": 1}, "continuous",
           "binary", "categorical", "ternary", "\x00", "\u2028x"]
_NODE_KEYS = ["type", "equation", "noise", "hidden", "p", "logit", "probit", "probs", "unit",
              "description", "bogus", 1, None]


def _structured(data: dict, rng) -> dict:
    """Random edits of a spec mapping: values, keys, node names, whole nodes."""
    nodes = dict(data.get("nodes") or {})
    names = list(nodes) or ["x"]
    for _ in range(int(rng.integers(1, 4))):
        name = names[int(rng.integers(0, len(names)))]
        node = nodes.get(name)
        node = dict(node) if isinstance(node, dict) else {}
        kind = int(rng.integers(0, 5))
        if kind <= 1:
            node[_NODE_KEYS[int(rng.integers(0, len(_NODE_KEYS)))]] = _VALUES[
                int(rng.integers(0, len(_VALUES)))]
        elif kind == 2 and node:
            del node[list(node)[int(rng.integers(0, len(node)))]]
        elif kind == 3:  # an expression reading other nodes
            others = [names[int(i)] for i in rng.integers(0, len(names), 3)]
            ops = ["+", "*", "-", "/", "**", "<", "and"]
            expr = others[0]
            for other in others[1:]:
                expr += f" {ops[int(rng.integers(0, len(ops)))]} {other}"
            if rng.random() < 0.5:
                expr = _expression(rng).replace("x", others[0]).replace("y", others[1])
            key = ["equation", "equation", "logit", "p", "probit"][int(rng.integers(0, 5))]
            node[key] = expr + (" + noise" if rng.random() < 0.5 else "")
        else:  # rename or drop the node
            new = [name + "_2", "noise", "exp", "x" * 101, "x\n", "2x", 7, None, "pi"][
                int(rng.integers(0, 9))]
            nodes.pop(name, None)
            if rng.random() < 0.8:
                nodes[new] = node
            continue
        nodes[name] = node
    out = dict(data)
    out["nodes"] = nodes
    if rng.random() < 0.05:
        out[["name", "description", "extra"][int(rng.integers(0, 3))]] = _VALUES[
            int(rng.integers(0, len(_VALUES)))]
    return out


def _seeds() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in EXAMPLES] + EXTRA


def _specs(count: int, seed: int):
    """``count`` specs (YAML text or mappings), deterministically from ``seed``."""
    rng = np.random.default_rng(seed)
    texts = _seeds()
    mappings = [yaml.safe_load(t) for t in texts]
    for i in range(count):
        base = int(rng.integers(0, len(texts)))
        roll = rng.random()
        if i < len(texts):
            yield texts[i]
        elif roll < 0.55:
            yield _mutate_text(texts[base], rng)
        elif roll < 0.8:
            yield _structured(mappings[base], rng)
        else:  # a structured edit written back as YAML text, perhaps edited again
            data = _structured(mappings[base], rng)
            try:
                text = yaml.safe_dump(data, sort_keys=False, allow_unicode=bool(rng.random() < 0.5))
            except (yaml.YAMLError, ValueError, OverflowError, RecursionError):
                yield data
                continue
            yield _mutate_text(text, rng) if rng.random() < 0.5 else text


def _outcome(source):
    """What loading gives: ``("ok", spec mapping)`` or ``("SpecError", message)``."""
    try:
        return "ok", spec_module.dump_spec(load_scm(source))
    except SpecError as exc:
        return "SpecError", str(exc)


def _check(source, *, both_loaders: bool) -> tuple[str, float]:
    """Load (and sample) one spec: ("valid" or "refused", seconds); fail on anything else.

    The seconds are the CPU time of loading and sampling (not of the comparison
    of the two loaders that follows).
    """
    start = time.process_time()
    try:
        scm = load_scm(source)
    except SpecError as exc:
        assert len(str(exc)) < 5000, str(exc)[:300]
        outcome = "refused"
    else:
        outcome = "valid"
        try:
            first = scm.sample(5, seed=0, hidden=True)
        except ModelError:
            pass
        else:
            again = scm.sample(5, seed=0, hidden=True)
            assert first.to_numpy().tobytes() == again.to_numpy().tobytes()
    spent = time.process_time() - start
    if both_loaders and isinstance(source, str):
        fast = _outcome(source)
        saved = spec_module._SpecLoader
        spec_module._SpecLoader = spec_module._PySpecLoader
        try:
            slow = _outcome(source)
        finally:
            spec_module._SpecLoader = saved
        # libyaml reads some text PyYAML refuses (a tab as a blank, '?' inside a flow scalar, a
        # BOM inside the stream); otherwise both loaders give the same model or the same message
        assert fast == slow or (slow[0] == "SpecError" and ": invalid YAML" in slow[1]), (
            source[:500], fast, slow)
    return outcome, spent


def _run(count: int, seed: int, *, both_loaders: bool = True):
    """Check ``count`` fuzzed specs: (outcome counts, the slowest seconds, its spec)."""
    counts, worst, worst_source = Counter(), 0.0, None
    for source in _specs(count, seed):
        try:
            outcome, spent = _check(source, both_loaders=both_loaders)
        except AssertionError:
            raise
        except Exception as exc:  # noqa: BLE001 - the point: say which spec it was
            pytest.fail(f"{type(exc).__name__}: {exc} for the spec {source!r:.500}")
        counts[outcome] += 1
        if spent > worst:
            worst, worst_source = spent, source
    return counts, worst, worst_source


def test_the_seed_specs_are_valid():
    for text in _seeds():
        assert len(load_scm(text).sample(5, seed=0)) == 5


def test_a_short_fuzz_run_loads_or_refuses_every_spec():
    counts, worst, source = _run(300, seed=1)
    assert counts["valid"] > 20 and counts["refused"] > 100, counts
    assert worst < 2.0, (worst, repr(source)[:300])


@pytest.mark.slow
def test_ten_thousand_fuzzed_specs_load_or_raise_spec_error_within_two_seconds_each():
    start = time.process_time()
    counts, worst, source = _run(10_000, seed=20261207)
    print(f"\nfuzzed specs: {sum(counts.values())} ({counts['valid']} valid, "
          f"{counts['refused']} refused); slowest {worst:.3f} s; "
          f"total {time.process_time() - start:.1f} s")
    assert sum(counts.values()) == 10_000
    assert worst < 2.0, (worst, repr(source)[:300])
