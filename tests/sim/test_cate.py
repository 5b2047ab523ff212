"""The truth hook sim/cate.py: logged units with their true CATE and ITE."""

from __future__ import annotations

import numpy as np
import pytest

import scenarios
from sim.cate import cate_data, cate_truth
from sim.errors import ScenarioError


def test_icecream_cate_is_exact():
    # ice_cream = ... + advert (8 + 0.5 h (temperature - 25)) + additive noise: the paired difference
    # does not depend on anything redrawn, so the Monte Carlo is exact (error 0) and ITE = CATE
    sc = scenarios.make("icecream")
    out = cate_truth(sc, 300, 4, treat=1, control=0, samples=20)
    expected = 8 + 0.5 * (out.logs["temperature"].to_numpy() - 25)
    np.testing.assert_allclose(out.cate, expected, atol=1e-9)
    np.testing.assert_allclose(out.ite, expected, atol=1e-9)
    np.testing.assert_allclose(out.cate_stderr, 0, atol=1e-9)
    assert out.logs.equals(sc.observational(300, 4))        # the scenario's own logs


def test_marketing_conversion_cate_matches_the_ate_and_labels_work():
    sc = scenarios.make("marketing", hidden_confounder=False)
    n = 2000
    out = cate_truth(sc, n, 1, treat="discount", control="none", outcome="conversion", samples=100)
    assert out.cate.shape == out.ite.shape == out.cate_stderr.shape == (n,)
    assert out.outcome == "conversion" and out.treat == 2 and out.control == 0
    truth = sc.truth(200_000, seed=9).ate("discount", "none", node="conversion")
    # mean(cate) estimates the ATE with the spread of the CATE over units, its Monte-Carlo error and
    # the truth's own error; 4 standard errors: false failure about 6e-5
    se = np.sqrt(out.cate.var(ddof=1) / n + np.mean(out.cate_stderr**2) / n + truth.stderr**2)
    assert abs(out.cate.mean() - truth.value) < 4 * se
    se_ite = np.sqrt(out.ite.var(ddof=1) / n + truth.stderr**2)
    assert abs(out.ite.mean() - truth.value) < 4 * se_ite
    # labels and indices give the same; cate_data is the (logs, cate) pair
    logs, cate = cate_data(sc, 50, 1, treat=2, control=0, outcome="conversion", samples=100)
    again = cate_truth(sc, 50, 1, treat="discount", control="none", outcome="conversion", samples=100)
    np.testing.assert_array_equal(cate, again.cate)
    assert logs.equals(again.logs)


def test_bad_arguments():
    sc = scenarios.make("icecream")
    with pytest.raises(ScenarioError, match="outcome"):
        cate_data(sc, 10, 0, treat=1, control=0, outcome="nope")
    with pytest.raises(ScenarioError, match="samples"):
        cate_data(sc, 10, 0, treat=1, control=0, samples=0)
    with pytest.raises(ScenarioError, match="n must"):
        cate_data(sc, 0, 0, treat=1, control=0)
