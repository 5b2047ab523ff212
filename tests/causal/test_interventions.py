"""Interventions are small frozen values: comparable, hashable, validated."""

import numpy as np
import pytest

from causal import Hard, InterventionError, Policy, Scale, Shift
from causal.interventions import as_intervention, as_interventions


def test_bare_numbers_mean_hard():
    assert as_intervention(3) == Hard(3.0)
    assert as_interventions({"x": 1.5, "y": Shift(2)}) == {"x": Hard(1.5), "y": Shift(2.0)}


def test_equal_values_hash_equal_and_kinds_differ():
    assert hash(Hard(np.array([1.0, 2.0]))) == hash(Hard(np.array([1.0, 2.0])))
    assert Hard(np.array([1.0, 2.0])) == Hard([1.0, 2.0])
    assert Shift(1.0) != Scale(1.0)
    assert len({Hard(1.0), Hard(1.0), Shift(1.0)}) == 2


def test_frozen_and_read_only():
    h = Hard(np.array([1.0, 2.0]))
    with pytest.raises(AttributeError):
        h.value = 3.0
    with pytest.raises(ValueError):
        h.value[0] = 5.0


def test_apply():
    natural = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(Hard(0.5).apply(natural, 3), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(Shift([1.0, 0.0, -1.0]).apply(natural, 3), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(Scale(2.0).apply(natural, 3), [2.0, 4.0, 6.0])
    # rows mapped to units: two particles per unit
    np.testing.assert_array_equal(Hard([7.0, 8.0]).apply(None, 4, index=np.array([0, 0, 1, 1])),
                                  [7.0, 7.0, 8.0, 8.0])
    rule = Policy(lambda v, rng: v["z"] * 2, inputs="z")
    np.testing.assert_array_equal(rule.apply(None, 3, values={"z": natural},
                                             rng=np.random.default_rng(0)), natural * 2)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Hard(float("nan")), "finite"),
        (lambda: Hard("abc"), "number or an array"),
        (lambda: Hard(np.zeros((2, 2))), "1-d"),
        (lambda: Shift([1.0, np.inf]), "NaN or infinite"),
        (lambda: Policy(3), "callable"),
        (lambda: as_interventions([("x", 1)]), "mapping"),
        (lambda: as_interventions({1: 2.0}), "node names"),
        (lambda: Hard([1.0, 2.0]).apply(None, 3), "2 entries"),
        (lambda: Policy(lambda v, rng: np.ones(2)).apply(None, 3, values={},
                                                         rng=np.random.default_rng(0)), "shape"),
    ],
)
def test_bad_interventions(build, match):
    with pytest.raises(InterventionError, match=match):
        build()
