"""Tests of causal.discovery.citests: Fisher-z against a regression-residual partial correlation,
G² against scipy's contingency statistic, the d-separation oracle, caching, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from causal.discovery import DSeparation, FisherZ, GSquare, pc
from causal.discovery.citests import make_test
from causal.errors import EstimationError, GraphError
from causal.graph import CausalGraph


def _gaussian(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z1, z2 = rng.normal(size=n), rng.normal(size=n)
    x = z1 - z2 + rng.normal(size=n)
    y = 0.5 * z1 + z2 + 0.1 * x + rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": y, "z1": z1, "z2": z2})


def test_fisherz_matches_residual_partial_correlation():
    df = _gaussian()
    t = FisherZ(df)
    x, y, z = df["x"].to_numpy(), df["y"].to_numpy(), df[["z1", "z2"]].to_numpy()
    design = np.column_stack([np.ones(len(df)), z])
    rx = x - design @ np.linalg.lstsq(design, x, rcond=None)[0]
    ry = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    r = np.corrcoef(rx, ry)[0, 1]
    p = 2 * stats.norm.sf(abs(np.arctanh(r)) * np.sqrt(len(df) - 2 - 3))
    assert t.pvalue(0, 1, [2, 3]) == pytest.approx(p, rel=1e-8)
    assert t.pvalue(1, 0, [3, 2]) == pytest.approx(p, rel=1e-8)   # symmetric, order-free


def test_fisherz_batch_equals_single_and_is_cached():
    t = FisherZ(_gaussian())
    sets = np.array([[2], [3]])
    batch = t.pvalues(0, 1, sets)
    assert t.n_tests == 2
    assert batch[0] == t.pvalue(1, 0, [2]) and batch[1] == t.pvalue(0, 1, [3])
    assert t.n_tests == 2                                           # both answered from the cache
    p = t.pairwise()
    assert p.shape == (4, 4) and p[0, 1] == t.pvalue(0, 1)


def test_fisherz_null_rejection_rate():
    # independent columns: P(p < 0.05) = 0.05; 250 data sets, binomial sd 0.014, band 4 sd
    # (false-failure rate < 1e-4)
    rng = np.random.default_rng(1)
    rej = [FisherZ(rng.normal(size=(200, 3))).pvalue(0, 1, [2]) < 0.05 for _ in range(250)]
    assert abs(np.mean(rej) - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 250)


def test_g2_matches_scipy_unconditional_and_sums_strata():
    rng = np.random.default_rng(2)
    n = 4000
    z = rng.integers(0, 3, n)
    x = (z + (rng.random(n) < 0.3)) % 3
    y = (z + rng.integers(0, 2, n)) % 2
    t = GSquare(np.column_stack([x, y, z]))
    table = pd.crosstab(x, y).to_numpy()
    g2, p, dof, _ = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    assert t.pvalue(0, 1) == pytest.approx(p, rel=1e-8)
    total, total_df = 0.0, 0
    for k in range(3):
        tab = pd.crosstab(x[z == k], y[z == k]).to_numpy()
        g, _, df_k, _ = stats.chi2_contingency(tab, correction=False, lambda_="log-likelihood")
        total, total_df = total + g, total_df + df_k
    assert t.pvalue(0, 1, [2]) == pytest.approx(stats.chi2.sf(total, total_df), rel=1e-8)


def test_g2_deterministic_stratum_keeps_dependence():
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    t = GSquare(np.column_stack([a | b, a, b]))
    assert t.pvalue(0, 1, [1, 2]) == 0.0     # S determines X: no evidence of independence


def test_dseparation_oracle():
    t = DSeparation(CausalGraph.from_string("a -> b -> c; a <-> c"))
    assert t.pvalue(0, 2, [1]) == 0.0
    t2 = DSeparation(CausalGraph.from_string("a -> b -> c"))
    assert (t2.pvalue(0, 2), t2.pvalue(0, 2, [1])) == (0.0, 1.0)


def test_g2_refuses_continuous_columns():
    with pytest.raises(EstimationError, match="looks continuous"):
        pc(_gaussian(200), test="g2")


def test_auto_picks_g2_for_discrete_data():
    rng = np.random.default_rng(4)
    assert isinstance(make_test(rng.integers(0, 3, (50, 3)), "auto"), GSquare)
    assert isinstance(make_test(rng.normal(size=(50, 3)), "auto"), FisherZ)


@pytest.mark.parametrize("mutate, words", [
    (lambda df: df.assign(x=np.where(np.arange(len(df)) == 5, np.nan, df["x"])), "NaN"),
    (lambda df: df.assign(z1=3.0), "constant"),
    (lambda df: df.head(5), "rows"),
    (lambda df: df.assign(s="a"), "not numeric"),
    (lambda df: df.assign(w=df["x"] + df["y"]), "singular"),
])
def test_bad_data_raises_estimation_error(mutate, words):
    with pytest.raises(EstimationError, match=words):
        pc(mutate(_gaussian(200)), 0.05)


@pytest.mark.parametrize("kwargs, words", [
    ({"alpha": 0.0}, "alpha"), ({"alpha": 1.5}, "alpha"), ({"test": "kci"}, "unknown test"),
    ({"max_cond": -1}, "max_cond"),
])
def test_bad_settings_raise_graph_error(kwargs, words):
    with pytest.raises(GraphError, match=words):
        pc(_gaussian(200), **kwargs)
