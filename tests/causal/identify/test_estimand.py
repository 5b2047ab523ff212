"""Tests of causal.identify.estimand: which set identify() picks and how fast, queries
without an effect, and Estimand.evaluate / mean refusing data on which a plug-in
answer is meaningless (the textbook formulas and numbers are in test_id.py)."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causal import load_scm
from causal.errors import EstimationError, NotIdentifiable
from causal.graph import CausalGraph
from causal.identify import (
    Estimand,
    PositivityWarning,
    adjustment_sets,
    frontdoor_sets,
    id_algorithm,
    identify,
)
from causal.identify.expression import prob, product, summation

LINEAR = Path(__file__).resolve().parents[3] / "examples" / "linear.yaml"


def path_graph(k: int) -> CausalGraph:
    """X -> Y and k back-door paths X <- A_i <- B_i -> Y: 2**k minimal sets, all of size k."""
    return CausalGraph([e for i in range(k) for e in [(f"A{i}", "X"), (f"B{i}", f"A{i}"),
                                                       (f"B{i}", "Y")]] + [("X", "Y")])


def random_dag(seed: int, hidden: bool = True) -> CausalGraph:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 10))
    names = [f"v{i}" for i in range(n)]
    directed = [(names[i], names[j]) for i, j in itertools.combinations(range(n), 2)
                if rng.random() < 0.4]
    bidirected = [(a, b) for a, b in itertools.combinations(names, 2) if rng.random() < 0.05]
    hid = list(rng.choice(names, size=int(rng.integers(0, 2)), replace=False)) if hidden else []
    return CausalGraph(directed, bidirected, nodes=names, hidden=hid)


# ---------------------------------------------------------------- which set, how fast
@pytest.mark.parametrize("k", [16, 30])
def test_identify_finds_a_backdoor_set_without_listing_them(k):
    # issue 3: listing the 2**16 minimal sets took 15.8 s; 2**30 would not finish
    est = identify(path_graph(k), "X", "Y")
    assert est.strategy == "backdoor" and est.adjustment == {f"B{i}" for i in range(k)}
    assert est.expression.startswith("sum_{B0, B1, B2, ")


def test_identify_finds_a_frontdoor_set_without_listing_them():
    k = 40  # 40 parallel mediators and X <-> Y: 2**40 candidate subsets
    g = CausalGraph([e for i in range(k) for e in [("X", f"M{i}"), (f"M{i}", "Y")]], [("X", "Y")])
    est = identify(g, "X", "Y")
    assert est.strategy == "frontdoor" and est.frontdoor == {f"M{i}" for i in range(k)}


def test_identify_adjusts_for_a_set_of_minimum_size():
    checked = 0
    for seed in range(300):
        g = random_dag(seed)
        for x, y in itertools.permutations(sorted(g.observed), 2):
            if y not in g.descendants(x):
                continue
            sets = adjustment_sets(g, x, y)
            est = identify(g, x, y) if sets else None
            if sets:
                assert est.strategy == "backdoor" and est.adjustment in sets
                assert len(est.adjustment) == len(sets[0]) and not est.adjustment & g.hidden
                checked += 1
    assert checked > 300


def test_identify_frontdoor_set_is_minimal_and_observed():
    found = 0
    for seed in range(300):
        rng = np.random.default_rng(seed)
        g = random_dag(seed)
        obs = sorted(g.observed)
        x, y = (obs[i] for i in sorted(rng.choice(len(obs), size=2, replace=False)))
        g = CausalGraph(g.directed_edges, [*g.bidirected_edges, (x, y)], nodes=g.nodes,
                        hidden=g.hidden)  # X <-> Y: no back-door set
        if y not in g.descendants(x):
            continue
        est = identify(g, x, y) if frontdoor_sets(g, x, y) else None
        if est is not None:
            assert est.strategy == "frontdoor" and est.frontdoor in frontdoor_sets(g, x, y)
            assert not est.frontdoor & g.hidden
            found += 1
    assert found > 15


# ------------------------------------------------------------- no effect to identify
@pytest.mark.parametrize(("graph", "strategy"), [
    ("X; Y", "backdoor"),                 # unrelated: the empty set is a back-door set
    ("Y->X", "id"),                       # reverse causation: no back-door set at all
    ("Y->X; X<->Y", "id"),
    ("Z->X; Z->Y", "id"),                 # confounded but not causal: no need to adjust
    ("X->M; Y->M; Z->X; Z->Y", "id"),
])
def test_outcome_not_a_descendant_gives_its_marginal(graph, strategy):
    g = CausalGraph.from_string(graph)
    est = identify(g, "X", "Y")
    assert (est.strategy, str(est), est.no_effect) == (strategy, "P(Y | do(X)) = P(Y)", True)
    assert est.formula == id_algorithm(g, "X", "Y")
    assert est.adjustment == (frozenset() if strategy == "backdoor" else None)


def test_no_effect_on_random_graphs():
    for seed in range(80):
        g = random_dag(seed)
        for x, y in itertools.permutations(sorted(g.observed), 2):
            try:
                est = identify(g, x, y)
            except NotIdentifiable:  # only possible for a causal query
                assert y in g.descendants(x)
                continue
            assert est.no_effect == (y not in g.descendants(x)), (seed, x, y, str(est))
            if est.no_effect:
                assert str(est.formula) == f"P({y})"


def test_no_effect_with_sets_and_evaluation():
    g = CausalGraph.from_string("A->B; B->C; Z->A; Z->C")
    est = identify(g, ["B", "C"], "A")
    assert est.no_effect and str(est) == "P(A | do(B, C)) = P(A)"
    assert not identify(g, ["A", "B"], "C").no_effect
    data = pd.DataFrame({"A": [0, 1, 1, 1], "B": [0, 0, 1, 1], "C": [1, 0, 1, 0],
                         "Z": [0, 0, 1, 1]})
    # do(B, C) leaves A alone, whatever the values, seen in the data or not
    assert est.evaluate(data, (5, 5)).to_dict() == {0: 0.25, 1: 0.75}


# ----------------------------------------------------------- useless plug-in answers
def binary_data(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 3, n)
    x = (rng.random(n) < 0.2 + 0.25 * z).astype(int)
    y = (rng.random(n) < 0.1 + 0.3 * x + 0.15 * z).astype(int)
    return pd.DataFrame({"Z": z, "X": x, "Y": y})


BACKDOOR = CausalGraph.from_string("Z->X; Z->Y; X->Y")


def test_unseen_treatment_value_is_an_error_not_zero():
    est, data = identify(BACKDOOR, "X", "Y"), binary_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an error, not (only) a PositivityWarning
        with pytest.raises(EstimationError, match=r"treatment value 2 never occurs .*\(X takes "
                                                  r"values 0, 1\)"):
            est.evaluate(data, 2)
        with pytest.raises(EstimationError, match="treatment value 2 never occurs"):
            est.mean(data, 2)
        with pytest.raises(EstimationError, match="never occurs"):
            est.evaluate(data, 2, 1)
        assert est.evaluate(data, 1).sum() == pytest.approx(1.0)
    # a value present only in rows of weight 0 has no probability either
    w = np.where(data["X"] == 1, 0.0, 1.0)
    with pytest.raises(EstimationError, match="treatment value 1 never occurs"):
        est.evaluate(data, 1, weights=w)


def test_unseen_treatment_combination_is_an_error():
    g = CausalGraph.from_string("A->Y; B->Y; Z->A; Z->Y")
    data = pd.DataFrame({"A": [0, 1, 0, 1], "B": [0, 0, 1, 0], "Z": [0, 1, 1, 0],
                         "Y": [0, 1, 1, 0]})
    est = identify(g, ["A", "B"], "Y")
    with pytest.raises(EstimationError, match="treatment values A=1, B=1 never occur together"):
        est.evaluate(data, (1, 1))


def test_partial_positivity_still_warns_with_the_missing_mass():
    data = binary_data()
    data = data[~((data.X == 1) & (data.Z == 0))]  # X=1 never seen with Z=0
    est = identify(BACKDOOR, "X", "Y")
    with pytest.warns(PositivityWarning) as rec:
        dist = est.evaluate(data, 1)
    mass = (data.Z != 0).mean()
    assert dist.sum() == pytest.approx(mass) and rec[0].message.mass == pytest.approx(mass)
    assert "sums to" in str(rec[0].message)


def test_continuous_data_is_refused_up_front():
    # examples/linear.yaml: the plug-in over 20k continuous rows took 49 s and summed to 0
    scm = load_scm(LINEAR)
    data = scm.sample(20_000, seed=0)
    est = identify(scm.graph, "training", "wage")
    assert est.strategy == "backdoor" and est.adjustment == {"ability"}
    msg = r"plug-in evaluation needs discrete data: 'ability' has 20000 distinct values.*" \
          r"discretise ability .* or use an estimator from causal.estimators"
    with pytest.raises(EstimationError, match=msg):
        est.mean(data, 1.0)
    with pytest.raises(EstimationError, match="needs discrete data: 'training'"):
        identify(CausalGraph.from_string("training->wage"), "training", "wage").evaluate(data, 1.0)
    # the same rule for any formula evaluated by plug-in
    with pytest.raises(EstimationError, match="needs discrete data"):
        prob("wage", "ability").evaluate(data, {"ability": 0.0})
    # discretised, the same data are fine; a continuous outcome is not conditioned on
    binned = data.assign(ability=pd.qcut(data.ability, 4, labels=False),
                         training=(data.training > 0).astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(est.mean(binned, 1))


@pytest.mark.parametrize(("rows", "levels", "ok"), [
    (6, 2, True), (100, 10, True), (100, 20, True), (100, 21, False), (10_000, 50, True),
    (10_000, 51, False),
])
def test_how_many_levels_a_conditioning_variable_may_have(rows, levels, ok):
    data = pd.DataFrame({"Z": np.arange(rows) % levels, "X": np.arange(rows) % 2,
                         "Y": (np.arange(rows) // 2) % 2})
    e = summation("Z", product(prob("Y", ["X", "Z"]), prob("Z")))
    est = Estimand(frozenset("X"), frozenset("Y"), "backdoor", adjustment={"Z"}, formula=e)
    if ok:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PositivityWarning)
            assert est.evaluate(data, 1).sum() > 0
    else:
        with pytest.raises(EstimationError, match=f"{levels} distinct values in {rows} rows"):
            est.evaluate(data, 1)
    # weighted rows may be the cells of a table: only the cap of 50 applies
    assert (levels <= 50) == _weighted_ok(e, data)


def _weighted_ok(e, data) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PositivityWarning)
            e.evaluate(data, {"X": 1}, weights=np.ones(len(data)))
    except EstimationError:
        return False
    return True
