"""The one-unit (scalar) path equals the batch path bit for bit.

A batch of one episode (``CausalEnv``) computes its current unit on Python floats
(:meth:`causal.scm.SCM.compute_one`, :mod:`causal.expr_scalar`); the vector environment computes
whole batches with numpy. These tests compare the two on many inputs — every mechanism of every
registered scenario on units drawn from the scenario itself, and every operation and function of
the expression language on random and special values (signed zeros, NaN, infinities, huge and
tiny numbers) — against batches long enough for numpy's SIMD loops, byte for byte.
"""

from __future__ import annotations

import numpy as np
import pytest

import scenarios
from causal.expr import compile_expr
from causal.expr_scalar import FALLBACK, np_maximum, np_minimum, scalar_closure
from causal.mechanisms import Binary, Expression

N = 4096
#: units compared per scenario node, and per expression (of N evaluated in one batch)
UNITS = 400
COMPARED = 1500


def _same_bits(a: float, b: np.floating) -> bool:
    """Equal bytes; any NaN equals any NaN (a NaN's sign and payload reach no finite result, and
    a non-finite node value sends the unit to the batch path, which reports it)."""
    if a != a and b != b:
        return True
    return np.float64(a).tobytes() == np.float64(b).tobytes()


def _check(one, batch: np.ndarray, env_of) -> int:
    """Compare ``one(env_of(i))`` with ``batch[i]`` for every unit; return the fallbacks."""
    fallbacks = 0
    for i in range(len(batch)):
        try:
            got = one(env_of(i))
        except FALLBACK:
            fallbacks += 1  # the batch path then runs instead: nothing to compare
            continue
        assert _same_bits(got, batch[i]), (i, got, batch[i])
    return fallbacks


def _check_mechanism(mech, parents, u, batch, units: int) -> int:
    """``mech.evaluate_one`` on each of the first ``units`` units vs the batch's element."""
    rows = {p: x[:units].tolist() for p, x in parents.items()}
    us = None if u is None else u[:units].tolist()
    return _check(lambda env: mech.evaluate_one(env[0], env[1]), batch[:units],
                  lambda i: ({p: x[i] for p, x in rows.items()}, None if us is None else us[i]))


@pytest.mark.parametrize("name", sorted(scenarios.names()))
def test_mechanisms_of_every_scenario(name):
    sc = scenarios.make(name)
    rng = np.random.default_rng(7)
    noise = sc.scm.sample_noise(N, rng)
    # parents as the logged world has them (the initial state; logged actions vary by unit)
    values = sc._static_scm().propagate(noise)
    base = sc.scm
    for v in base.graph.topological_order():
        mech = base.mechanisms[v]
        parents = {p: np.ascontiguousarray(values[p], dtype=np.float64) for p in mech.parents}
        u = noise.get(v)
        batch = mech.evaluate(parents, u, N)
        assert _check_mechanism(mech, parents, u, batch, UNITS) == 0, v


_EXPRESSIONS = [
    "x + y - z * x / y",
    "x * 1 + 2 * 3 * y - (4 - 1) * z",
    "-x + (+y) - (-z)",
    "x ** 2 + y ** 3 - abs(z) ** 0.5",
    "x % 3 - y % -2 + z % y",
    "where(x < y, minimum(x, y), maximum(x, y)) + clip(z, -1, y)",
    "clip(x, y, z) + minimum(x, 0) - maximum(0, y)",
    "(x < y) + (x <= y) * 2 + (x > z) * 4 + (x >= z) * 8 + (y == z) * 16 + (y != z) * 32",
    "(0 < x < 1) + (x < y <= z)",
    "where((x > 0) and (y > 0) or not (z > 0), x, z) + (x and y) - (not x)",
    "exp(x) + log(abs(y)) - sqrt(abs(z)) + tanh(x) - expm1(y / 10) + log1p(abs(z))",
    "sigmoid(x) + sign(y) + floor(z) - ceil(x) + exp(-abs(y))",
    "sqrt(y) + log(z) + x / z",  # negative and zero operands: numpy gives NaN / inf
    "pi * x + e - exp(1) + log(2) * y",
]


@pytest.mark.parametrize("text", _EXPRESSIONS)
def test_every_operation_on_special_values(text):
    e = compile_expr(text, ["x", "y", "z"])
    one = scalar_closure(e)
    rng = np.random.default_rng(11)
    special = np.array([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, np.inf, -np.inf, np.nan, 1e308, -1e308,
                        5e-324, -5e-324, 1e-300, 709.0, 710.0, -745.0, 3.0, -3.0])
    cols = []
    for _ in range(3):
        x = rng.normal(0, 3, N)
        x[rng.random(N) < 0.1] *= 1e6
        pick = rng.random(N) < 0.25
        x[pick] = rng.choice(special, int(pick.sum()))
        cols.append(x)
    env = dict(zip("xyz", cols, strict=True))
    with np.errstate(all="ignore"):
        batch = e(env, N)
    lists = {k: v[:COMPARED].tolist() for k, v in env.items()}
    fell = _check(one, batch[:COMPARED], lambda i: {k: v[i] for k, v in lists.items()})
    # Python refuses only where numpy's answer is not finite (inf or NaN)
    assert fell <= int((~np.isfinite(batch[:COMPARED])).sum())


def test_fallback_only_where_numpy_is_not_finite():
    e = compile_expr("x / y + sqrt(y)", ["x", "y"])
    one = scalar_closure(e)
    with pytest.raises(FALLBACK):
        one({"x": 1.0, "y": 0.0})  # numpy: inf
    with pytest.raises(FALLBACK):
        one({"x": 1.0, "y": -1.0})  # numpy: NaN
    assert one({"x": 1.0, "y": 4.0}) == 2.25


def test_numpy_minimum_maximum_rule():
    a = np.array([0.0, -0.0, np.nan, 1.0, 2.0] * 400)
    b = np.array([-0.0, 0.0, 1.0, np.nan, 2.0] * 400)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    for i in range(5):
        assert _same_bits(np_minimum(float(a[i]), float(b[i])), lo[i])
        assert _same_bits(np_maximum(float(a[i]), float(b[i])), hi[i])


def test_mechanism_classes():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 2, N)
    u = rng.random(N)
    for mech in (Binary(logit="2 * x - 1"), Binary(p="clip(x, 0, 1)"), Binary(p=0.3),
                 Expression("x * noise - exp(noise)")):
        batch = mech.evaluate({"x": x}, u, N)
        assert _check_mechanism(mech, {"x": x}, u, batch, N) == 0
