"""Mechanisms: the capability ladder is enforced and each rung does what it claims."""

import numpy as np
import pytest

from causal import ModelError
from causal.mechanisms import (
    Additive,
    Binary,
    Categorical,
    DiscreteMechanism,
    Expression,
    Function,
    InvertibleMechanism,
    Linear,
    Mechanism,
    equation,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=1000)
Z = RNG.normal(size=1000)
U = RNG.normal(size=1000)


def test_abstract_bases_are_enforced():
    with pytest.raises(TypeError):
        Mechanism()
    with pytest.raises(TypeError):
        InvertibleMechanism()

    class Half(InvertibleMechanism):  # forgets estimate_noise
        def evaluate(self, parents, noise, n):
            return noise

    with pytest.raises(TypeError):
        Half()


@pytest.mark.parametrize(
    "mech",
    [Linear({"x": 2.0, "z": -0.5}, intercept=1.0), Additive("tanh(x) + x * z"),
     Additive(lambda p: np.sin(p["x"]) * p["z"], parents=["x", "z"])],
    ids=["linear", "additive-expr", "additive-callable"],
)
def test_invertible_mechanisms_recover_their_noise(mech):
    parents = {"x": X, "z": Z}
    value = mech.evaluate(parents, U, len(U))
    np.testing.assert_allclose(mech.estimate_noise(value, parents), U, atol=1e-12)


def test_linear_does_not_modify_its_inputs():
    x, u = X.copy(), U.copy()
    Linear({"x": 3.0}).evaluate({"x": x}, u, len(u))
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(u, U)


def test_binary_is_a_threshold_of_uniform_noise():
    m = Binary(logit="x")
    u = np.random.default_rng(1).random(len(X))
    p = 1 / (1 + np.exp(-X))
    np.testing.assert_array_equal(m.evaluate({"x": X}, u, len(X)), (u < p).astype(float))
    low, high = m.interval(np.ones(len(X)), {"x": X})
    np.testing.assert_allclose(high - low, p)            # likelihood of x = 1
    low0, high0 = m.interval(np.zeros(len(X)), {"x": X})
    np.testing.assert_allclose(low0, p)
    np.testing.assert_allclose(high0, 1.0)
    probit = Binary(probit="x")
    from scipy.stats import norm

    np.testing.assert_allclose(probit.probability({"x": X}, len(X)), norm.cdf(X))


def test_binary_p_outside_unit_interval_is_an_error():
    with pytest.raises(ModelError, match=r"outside \[0, 1\]"):
        Binary(p="x").probability({"x": np.array([0.5, 2.0])}, 2)
    with pytest.raises(ModelError, match="exactly one"):
        Binary(p=0.5, logit=1.0)


def test_categorical_frequencies_and_posterior_cells():
    m = Categorical([0.2, "0.3", 0.5])
    u = np.random.default_rng(2).random(100_000)
    counts = np.bincount(m.evaluate({}, u, len(u)).astype(int), minlength=3) / len(u)
    np.testing.assert_allclose(counts, [0.2, 0.3, 0.5], atol=5 * np.sqrt(0.25 / len(u)))
    low, high = m.interval(np.array([0.0, 1.0, 2.0, 3.0]), {})
    np.testing.assert_allclose(low, [0.0, 0.2, 0.5, 0.0])
    np.testing.assert_allclose(high, [0.2, 0.5, 1.0, 0.0])   # 3 is impossible: zero likelihood
    assert isinstance(m, DiscreteMechanism)


def test_equation_recognises_additive_forms():
    assert isinstance(equation("2 * x + noise"), Linear)          # affine: the fast path
    assert equation("-x / 2 + 2 * y - 3 + x + noise").coefs == {"x": 0.5, "y": 2.0}
    assert isinstance(equation("noise"), Linear)
    assert isinstance(equation("x * y + noise"), Additive)
    assert isinstance(equation("2 * (x + 1) + noise"), Additive)
    assert isinstance(equation("x * noise"), Expression)
    assert isinstance(equation("x - noise"), Expression)
    assert equation("exp(x) + noise").parents == ("x",)


def test_function_checks_its_output_shape():
    f = Function(lambda p, u: np.zeros(3), parents=["x"])
    with pytest.raises(ModelError, match="shape"):
        f.evaluate({"x": X}, U, len(X))


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Linear({"x": float("inf")}), "finite"),
        (lambda: Linear({"x": "2"}), "finite number"),
        (lambda: Additive("x + noise"), "must not use 'noise'"),
        (lambda: Additive(3), "callable or an expression"),
        (lambda: Function("x"), "callable"),
        (lambda: Categorical([1.0]), "at least two"),
        (lambda: Binary(logit="x + noise"), "may not use 'noise'"),
    ],
)
def test_bad_mechanisms_raise(build, match):
    with pytest.raises(ModelError, match=match):
        build()


def _layouts(block: np.ndarray) -> dict[str, list[np.ndarray]]:
    """The rows of ``block`` (shape ``(k, n)``) as contiguous arrays, as strided columns of a
    C-ordered ``(n, k)`` array, and as reversed views: the same values in three layouts."""
    columns = np.array(block.T, order="C")            # copies, even where a view would do
    flipped = np.array(block[:, ::-1], order="C")
    return {"contiguous": [row.copy() for row in block],
            "column": [columns[:, j] for j in range(len(block))],
            "reversed": [row[::-1] for row in flipped]}


@pytest.mark.parametrize("n", [1, 1000, 3 * 8192 + 17])   # one unit, one block, several blocks
def test_linear_arithmetic_does_not_depend_on_memory_layout(n):
    # Deterministic, no tolerance: each unit's value must be c * x rounded, then added and
    # rounded (no fused multiply-add), whatever the layout. Coefficients like 1/3 and 0.1
    # make the fused and the separately rounded results differ for many units.
    from causal.noise import Normal
    from causal.scm import SCM

    coefs = {"a": 0.1, "b": 1 / 3, "c": -0.7}
    m = Linear(coefs, intercept=0.3)
    block = np.random.default_rng(3).normal(size=(4, n)) * 10
    expected = block[3] + 0.3
    for j, c in enumerate(coefs.values()):
        expected = expected + c * block[j]
    changed = block[:3] + 1 / 7
    replayed = expected.copy()
    for j, c in enumerate(coefs.values()):
        replayed = replayed + c * (changed[j] - block[j])

    scm = SCM({"a": Linear(), "b": Linear({"a": 0.1}, intercept=0.3), "c": Linear({"b": 1 / 3}),
               "y": Linear({"a": 0.1, "b": 1 / 3, "c": -0.7})},
              {v: Normal() for v in "abcy"})
    a = block[0]
    b = block[1] + 0.3 + 0.1 * a
    c = block[2] + 1 / 3 * b
    y = block[3] + 0.1 * a + 1 / 3 * b + -0.7 * c
    for layout, rows in _layouts(block).items():
        parents = dict(zip("abc", rows[:3], strict=True))
        assert np.array_equal(m.evaluate(parents, rows[3], n), expected), layout
        assert np.array_equal(m.evaluate_owned(parents, rows[3].copy(), n), expected), layout
        world = dict(zip("abc", _layouts(changed)[layout], strict=True))
        assert np.array_equal(m.replay(expected, parents, world, {"a", "b", "c"}, n), replayed), layout
        noise = dict(zip("abcy", rows, strict=True))
        for spend in (False, True):
            got = scm.propagate(dict(noise), overwrite_noise=spend)
            for v, want in zip("abcy", (a, b, c, y), strict=True):
                assert np.array_equal(got[v], want), (layout, spend, v)
    one = scm.propagate({v: block[j, -1:] for j, v in enumerate("abcy")})   # a single unit
    assert one["y"][0] == y[-1]
