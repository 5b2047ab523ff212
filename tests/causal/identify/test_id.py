"""Tests of the ID algorithm, probability expressions and estimands (causal.identify).

Textbook graphs carry their reference; random ADMGs are checked against an
independent brute-force hedge search and against exact interventional
distributions; discrete SCMs with hidden confounders check the plug-in
estimates numerically, with tolerances of k standard errors.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from causal import load_scm
from causal.errors import EstimationError, GraphError, NotIdentifiable
from causal.graph import CausalGraph
from causal.identify import Estimand, HedgeError, PositivityWarning, id_algorithm, identify
from causal.identify.expression import (
    ONE,
    Fraction,
    Prob,
    Product,
    Sum,
    fraction,
    prob,
    product,
    simplify,
    summation,
)

SETTINGS = settings(derandomize=True, deadline=None, database=None)
K_SE = 4  # two-sided 4 standard errors: false-failure rate 6.3e-5 per comparison


def sigmoid(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


# ----------------------------------------------------------------- expressions
def test_to_string_and_priming():
    backdoor = summation("Z", product(prob("Y", ["X", "Z"]), prob("Z")))
    assert str(backdoor) == "sum_{Z} P(Y | X, Z) P(Z)"
    # front-door: the bound X shadows the free X, so it is printed X'
    front = summation("M", product(prob("M", "X"),
                                   summation("X", product(prob("Y", ["M", "X"]), prob("X")))))
    assert str(front) == "sum_{M} P(M | X) sum_{X'} P(Y | M, X') P(X')"
    assert front.free_variables() == {"X", "Y"}
    assert str(Fraction(prob("Y"), prob("X"))) == "[P(Y)] / [P(X)]"
    assert str(ONE) == "1" and str(summation([], ONE)) == "1"
    nested = Product((Sum(("A",), prob(["A", "B"])), prob("C")))
    assert str(nested) == "[sum_{A} P(A, B)] P(C)"


def test_simplification_rules():
    # marginalization, also when the variable is a parent elsewhere it must stay
    assert summation("Y", prob(["X", "Y"], "Z")) == prob("X", "Z")
    assert summation(["X", "Y"], prob(["X", "Y"], "Z")) == ONE
    kept = summation("W", product(prob("Y", ["W", "X"]), prob("W")))
    assert isinstance(kept, Sum) and kept.over == ("W",)
    # chain rule, cancellation, conditional from joint
    assert product(prob("Y", ["X", "Z"]), prob("X", "Z")) == prob(["X", "Y"], "Z")
    assert fraction(product(prob("A"), prob("B", "C")), prob("A")) == prob("B", "C")
    assert fraction(prob(["A", "B"]), prob("A")) == prob("B", "A")
    assert fraction(prob("A"), prob("A")) == ONE
    # factors free of the summed variable move out
    e = summation("Z", product(prob("Q"), prob("Y", ["X", "Z"]), prob("Z")))
    assert isinstance(e, Product) and e.factors[0] == prob("Q")
    raw = Sum(("Y",), Product((Prob(("Y",), ("X",)), Prob(("X",)))))
    assert simplify(raw) == prob("X") and raw != prob("X")


def test_expressions_are_immutable_and_order_insensitive():
    p = prob(["X", "Y"], ["Z"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.vars = ("Q",)
    assert p == Prob(("Y", "X"), ("Z",)) and hash(p) == hash(Prob(("Y", "X"), ("Z",)))
    assert Product((prob("A"), prob("B"))) == Product((prob("B"), prob("A")))
    with pytest.raises(Exception, match="disjoint"):
        Prob(("X",), ("X",))


def _discrete(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 3, n)
    x = (rng.random(n) < 0.2 + 0.25 * z).astype(int)
    y = (rng.random(n) < 0.1 + 0.3 * x + 0.15 * z).astype(int)
    return pd.DataFrame({"Z": z, "X": x, "Y": y})


def test_evaluate_matches_groupby_and_weights():
    df = _discrete(5000, 0)
    e = summation("Z", product(prob("Y", ["X", "Z"]), prob("Z")))
    by_z = df.groupby("Z")
    manual = sum(g[g.X == 1].Y.mean() * len(g) / len(df) for _, g in by_z)
    assert e.evaluate(df, {"X": 1, "Y": 1}) == pytest.approx(manual, abs=1e-12)
    dist = e.evaluate(df, {"X": 1})  # Y left free: a Series over its observed values
    assert list(dist.index) == [0, 1] and dist.sum() == pytest.approx(1)
    cells = df.groupby(["Z", "X", "Y"]).size().rename("n").reset_index()
    assert e.evaluate(cells, {"X": 1, "Y": 1}, weights="n") == pytest.approx(manual, abs=1e-12)
    # front-door formula, with its bound X, against an explicit double sum
    front = summation("Z", product(prob("Z", "X"),
                                   summation("X", product(prob("Y", ["Z", "X"]), prob("X")))))
    pz = df[df.X == 1].Z.value_counts(normalize=True)
    px = df.X.value_counts(normalize=True)
    want = sum(pz[z] * sum(df[(df.Z == z) & (df.X == x)].Y.mean() * px[x] for x in (0, 1))
               for z in pz.index)
    assert front.evaluate(df, {"X": 1, "Y": 1}) == pytest.approx(want, abs=1e-12)


def test_evaluate_positivity_and_errors():
    df = pd.DataFrame({"X": [0, 0, 1], "Z": [0, 1, 0], "Y": [0, 1, 1]})
    e = summation("Z", product(prob("Y", ["X", "Z"]), prob("Z")))
    with pytest.warns(PositivityWarning) as rec:
        value = e.evaluate(df, {"X": 1, "Y": 1})
    assert value == pytest.approx(2 / 3) and not math.isnan(value)  # (X=1, Z=1) never seen: 0
    assert rec[0].message.count == 1
    with pytest.raises(EstimationError, match="not a column"):
        prob("Q").evaluate(df, {})
    with pytest.raises(EstimationError, match="missing values"):
        prob("X").evaluate(pd.DataFrame({"X": [0.0, np.nan]}), {"X": 0})
    assert prob("X").evaluate(df, {"X": 7}) == 0.0  # an unobserved value has probability 0


# ------------------------------------------------------- textbook identification
def test_frontdoor_smoking_via_id_and_frontdoor():
    # Pearl (1995), "Causal diagrams for empirical research": smoking X, tar M, cancer Y
    g = CausalGraph.from_string("X->M->Y; X<->Y")
    via_id = id_algorithm(g, "X", "Y")
    assert str(via_id) == "sum_{M} P(M | X) sum_{X'} P(Y | M, X') P(X')"
    est = identify(g, "X", "Y")
    assert est.strategy == "frontdoor" and est.frontdoor == {"M"} and est.formula == via_id


def test_bow_arc_is_not_identifiable():
    # Pearl, Causality (2009), §3.5: the bow arc X -> Y, X <-> Y
    g = CausalGraph.from_string("X->Y; X<->Y")
    with pytest.raises(NotIdentifiable, match=r"hedge F = \{X, Y\}, F' = \{Y\} \(line 5 fails\)"):
        id_algorithm(g, "X", "Y")
    with pytest.raises(HedgeError) as info:
        identify(g, "X", "Y")
    assert info.value.hedge.forest == {"X", "Y"} and info.value.hedge.subforest == {"Y"}


NAPKIN = "W->Z; Z->X; X->Y; W<->X; W<->Y"


def test_napkin_identified_by_id_only():
    # Pearl & Mackenzie (2018), The Book of Why, ch. 7; Shpitser & Pearl (2006)
    g = CausalGraph.from_string(NAPKIN)
    est = identify(g, "X", "Y")
    assert est.strategy == "id"
    assert est.adjustment is est.frontdoor is est.instrument is None
    known = Fraction(Sum(("W",), Product((Prob(("X", "Y"), ("Z", "W")), Prob(("W",))))),
                     Sum(("W",), Product((Prob(("X",), ("Z", "W")), Prob(("W",))))))
    assert est.formula == known
    assert est.expression == "[sum_{W} P(X, Y | W, Z) P(W)] / [sum_{W} P(X | W, Z) P(W)]"
    check_exact(g, ["X"], ["Y"], est.formula, seed=1)


def test_verma_graph_needs_id():
    # Verma & Pearl (1990): V1 -> V2 -> V3 -> V4, V1 <-> V3, V2 <-> V4; no back-door
    # (V2 <-> V4) and no front-door set for do(V2); identified through c-components.
    g = CausalGraph.from_string("V1->V2->V3->V4; V1<->V3; V2<->V4")
    est = identify(g, "V2", "V4")
    assert est.strategy == "id"
    check_exact(g, ["V2"], ["V4"], est.formula, seed=3)


def test_backdoor_cases_from_usage():
    # USAGE.md §2; Pearl, Causality (2009), §3.3.1
    g = CausalGraph([("age", "treated"), ("age", "recovery"), ("treated", "recovery")])
    est = identify(g, "treated", "recovery")
    assert (est.strategy, est.adjustment) == ("backdoor", {"age"})
    assert est.expression == "sum_{age} P(recovery | treated, age) P(age)"
    est = identify(CausalGraph.from_string("X->Y; Z->X; Z->Y"), "X", "Y")
    assert str(est) == "P(Y | do(X)) = sum_{Z} P(Y | X, Z) P(Z)"
    # a hidden common cause of Z and Y: {Z} still blocks, the hidden node is never used
    g = CausalGraph([("U", "Z"), ("U", "Y"), ("Z", "X"), ("X", "Y")], hidden=["U"])
    assert identify(g, "X", "Y").adjustment == {"Z"}


def test_instrument_is_last_resort():
    # Z -> X -> Y with X <-> Y: not identifiable nonparametrically (a hedge), but an
    # instrument identifies the mean under a constant linear effect (Angrist et al. 1996)
    est = identify(CausalGraph.from_string("Z->X->Y; X<->Y"), "X", "Y")
    assert est.strategy == "iv" and est.instrument.instrument == "Z" and est.formula is None
    assert "Cov(Y, Z) / Cov(X, Z)" in est.expression


def test_hedge_criterion_needs_the_corrected_form():
    # Shpitser (2023), "When does the ID algorithm fail?": Corollary 3 of Shpitser &
    # Pearl (2006) ("no hedge for any P_x'(y'), x' ⊆ x") is wrong for sets of treatments.
    g = CausalGraph.from_string("X1->X2->Y; X1<->X2")
    assert str(id_algorithm(g, ["X1", "X2"], "Y")) == "P(Y | X1, X2)"
    assert has_hedge(g, ["X1", "X2"], ["Y"]) is None
    with pytest.raises(NotIdentifiable):  # yet {X1, X2} ⊋ {X2} is a hedge for P(y | do(x1))
        id_algorithm(g, "X1", "Y")


@pytest.mark.parametrize(("treatment", "outcome", "message"), [
    ("Q", "Y", "unknown treatment"),
    ("X", "X", "share"),
    ("U", "Y", "hidden"),
    ("X", [], "empty"),
])
def test_bad_queries(treatment, outcome, message):
    g = CausalGraph([("U", "X"), ("U", "Y"), ("X", "Y")], hidden=["U"])
    with pytest.raises(GraphError, match=message):
        identify(g, treatment, outcome)
    with pytest.raises(GraphError, match=message):
        id_algorithm(g, treatment, outcome)


def test_estimand_validation():
    with pytest.raises(Exception, match="adjustment"):
        Estimand(frozenset("X"), frozenset("Y"), "backdoor", formula=prob("Y", "X"))
    with pytest.raises(Exception, match="strategy"):
        Estimand(frozenset("X"), frozenset("Y"), "magic", formula=prob("Y", "X"))


# ----------------------------------------------------------- random ADMGs
def bitmasks(g: CausalGraph):
    index = {v: i for i, v in enumerate(g.nodes)}
    parents, spouses = [0] * len(index), [0] * len(index)
    for a, b in g.directed_edges:
        parents[index[b]] |= 1 << index[a]
    for a, b in g.bidirected_edges:
        spouses[index[a]] |= 1 << index[b]
        spouses[index[b]] |= 1 << index[a]
    return index, parents, spouses


def closure(start: int, within: int, adj: list[int]) -> int:
    """Nodes reachable from ``start`` along ``adj`` without leaving ``within``."""
    seen = frontier = start
    while frontier:
        step = 0
        for i, nbrs in enumerate(adj):
            if frontier >> i & 1:
                step |= nbrs & within
        frontier = step & ~seen
        seen |= step
    return seen


def has_hedge(g: CausalGraph, x, y):
    """Brute-force hedge search; the hedge ``(F, F')`` as bitmasks, or None.

    The corrected criterion (Shpitser 2023; Tian & Pearl 2002): with
    ``Y* = An(Y)`` in ``G[V \\ X]``, ``P(y | do(x))`` is not identifiable iff some
    district ``D`` of ``G[Y*]`` lies in a c-forest ``F ⊋ D``: ``G[F]`` is one
    c-component and every node of ``F`` reaches ``D`` by a directed path in ``G[F]``.
    All subsets ``F`` are enumerated; nothing here uses the ID implementation.
    """
    index, parents, spouses = bitmasks(g)
    full = (1 << len(index)) - 1
    xs, ys = sum(1 << index[v] for v in x), sum(1 << index[v] for v in y)
    ystar = closure(ys, full & ~xs, parents)
    rest = ystar
    while rest:
        d = closure(rest & -rest, ystar, spouses)
        rest &= ~d
        for f in range(full + 1):
            if (f & d == d and f != d and closure(f & -f, f, spouses) == f
                    and closure(d, f, parents) == f):
                return f, d
    return None


@st.composite
def queries(draw, min_nodes: int = 4, max_nodes: int = 6, bidirected_percent: int = 25):
    n = draw(st.integers(min_nodes, max_nodes))
    names = [f"V{i}" for i in range(n)]  # V0 < V1 < ... is a topological order
    pairs = list(itertools.combinations(names, 2))
    directed = [p for p in pairs if draw(st.booleans())]
    bidirected = [p for p in pairs if draw(st.integers(0, 99)) < bidirected_percent]
    order = draw(st.permutations(names))
    kx, ky = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    g = CausalGraph(directed, bidirected, nodes=names)
    return g, list(order[:kx]), list(order[kx:kx + ky])


@settings(SETTINGS, max_examples=300)
@given(queries())
def test_id_verdict_agrees_with_brute_force_hedges(query):
    g, x, y = query
    try:
        id_algorithm(g, x, y)
    except HedgeError as err:
        assert has_hedge(g, x, y) is not None
        # the reported pair is itself a hedge: c-forests F ⊋ F', F' free of X, F not
        index, parents, spouses = bitmasks(g)
        f = sum(1 << index[v] for v in err.hedge.forest)
        f2 = sum(1 << index[v] for v in err.hedge.subforest)
        assert f2 & f == f2 and f2 != f
        assert closure(f & -f, f, spouses) == f and closure(f2 & -f2, f2, spouses) == f2
        assert closure(f2, f, parents) == f
        assert err.hedge.forest & set(x) and not err.hedge.subforest & set(x)
    else:
        assert has_hedge(g, x, y) is None


def exact_model(g: CausalGraph, seed: int):
    """All rows of a binary model on ``g``: a hidden coin per bidirected edge, random CPTs."""
    rng = np.random.default_rng(seed)
    us = [f"U{i}" for i in range(len(g.bidirected_edges))]
    cols = us + list(g.topological_order())
    table = pd.DataFrame(list(itertools.product([0, 1], repeat=len(cols))), columns=cols)
    factors = {}
    for u in us:
        p = rng.uniform(0.2, 0.8)
        factors[u] = np.where(table[u] == 1, p, 1 - p)
    for v in g.topological_order():
        pa = sorted(g.parents(v)) + [u for u, e in zip(us, g.bidirected_edges, strict=True)
                                     if v in e]
        code = np.zeros(len(table), dtype=int)
        for p in pa:
            code = 2 * code + table[p].to_numpy()
        p1 = rng.uniform(0.1, 0.9, 2 ** len(pa))[code]
        factors[v] = np.where(table[v] == 1, p1, 1 - p1)
    return table, factors


def check_exact(g: CausalGraph, x, y, formula, seed: int) -> None:
    """The formula on the exact observational table equals the truncated factorization."""
    table, factors = exact_model(g, seed)
    weight = np.prod(list(factors.values()), axis=0)
    observed = table.assign(w=weight).groupby(list(g.nodes), as_index=False)["w"].sum()
    do_weight = np.prod([f for v, f in factors.items() if v not in x], axis=0)
    for xval in itertools.product([0, 1], repeat=len(x)):
        hit = np.all([table[v].to_numpy() == val for v, val in zip(x, xval, strict=True)], axis=0)
        truth = table[hit].assign(w=do_weight[hit]).groupby(sorted(y))["w"].sum().rename("t")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # every cell is positive: no zero conditioning
            got = formula.evaluate(observed, dict(zip(x, xval, strict=True)), weights="w")
        got = got.rename("p").reset_index().merge(truth.reset_index(), on=sorted(y))
        # context variables left free by line 3 of ID: the value is the same at each of them
        np.testing.assert_allclose(got["p"], got["t"], atol=1e-10)


@settings(SETTINGS, max_examples=150)
@given(queries(bidirected_percent=40), st.integers(0, 2**32 - 1))
def test_id_formula_is_exact_on_random_models(query, seed):
    g, x, y = query
    assume(len(g) + len(g.bidirected_edges) <= 12)  # at most 4096 rows to enumerate
    try:
        formula = id_algorithm(g, x, y)
    except HedgeError:
        return
    check_exact(g, x, y, formula, seed)


@settings(SETTINGS, max_examples=120)
@given(st.integers(5, 7), st.integers(0, 2**32 - 1))
def test_identify_never_returns_hidden_nodes(n, seed):
    rng = np.random.default_rng(seed)
    names = [f"v{i}" for i in range(n)]
    directed = [p for p in itertools.combinations(names, 2) if rng.random() < 0.45]
    hidden = set(rng.choice(names[:-2], size=2, replace=False))
    g = CausalGraph(directed, nodes=names, hidden=hidden)
    x, y = rng.choice([v for v in names if v not in hidden], size=2, replace=False)
    try:
        est = identify(g, x, y)
    except NotIdentifiable:
        assert not identify_is_possible(g, x, y)
        return
    used = set(est.adjustment or ()) | set(est.frontdoor or ())
    if est.instrument is not None:
        used |= {est.instrument.instrument} | est.instrument.given
    if est.formula is not None:
        used |= est.formula.variables()
    assert not used & hidden


def identify_is_possible(g: CausalGraph, x, y) -> bool:
    return has_hedge(g.project(), [x], [y]) is None


# ------------------------------------------------ numbers from simulated data
def cells(data: pd.DataFrame) -> pd.DataFrame:
    return data.groupby(list(data.columns)).size().rename("n").reset_index()


def delta_se(fn, table: pd.DataFrame) -> tuple[float, float]:
    """Estimate and delta-method SE of a smooth function of multinomial cell frequencies.

    ``fn(p)`` maps the cell probabilities of ``table`` to the estimate; with n
    units, Var ≈ (Σ p_c g_c² − (Σ p_c g_c)²) / n, g its gradient (central differences).
    """
    n = table["n"].sum()
    p = table["n"].to_numpy() / n
    grad = np.empty(len(p))
    for c in range(len(p)):  # over cells (16), not units
        step = np.zeros(len(p))
        step[c] = 1e-6
        grad[c] = (fn(p + step) - fn(p - step)) / 2e-6
    return fn(p), math.sqrt((p @ grad**2 - (p @ grad) ** 2) / n)


def check_against_truth(scm, x: str, y: str, truth: float, strategy: str) -> None:
    data = scm.sample(200_000, seed=11)
    # the hand-derived truth agrees with simulating do(x=1) (1e6 units, 5 SE)
    mc = scm.do({x: 1}).sample(10**6, seed=12)[y].mean()
    assert abs(mc - truth) < 5 * math.sqrt(truth * (1 - truth) / 10**6)
    est = identify(scm.graph, x, y)
    assert est.strategy == strategy
    table = cells(data)
    value, se = delta_se(lambda p: est.evaluate(table, 1, 1, weights=p), table)
    assert est.evaluate(data, 1, 1) == pytest.approx(value, abs=1e-12)
    assert abs(value - truth) < K_SE * se, (value, truth, se)
    naive, naive_se = delta_se(lambda p: prob(y, x).evaluate(table, {x: 1, y: 1}, weights=p),
                               table)
    assert abs(naive - truth) > K_SE * (se + naive_se)  # confounding is real here
    assert est.mean(data, 1) == pytest.approx(value)


def test_napkin_numbers():
    # napkin (Pearl & Mackenzie 2018): u1 = W <-> X, u2 = W <-> Y
    scm = load_scm({"nodes": {
        "u1": {"type": "binary", "p": 0.5, "hidden": True},
        "u2": {"type": "binary", "p": 0.5, "hidden": True},
        "w": {"type": "binary", "logit": "-1.5 + 1.5 * u1 + 2.5 * u2"},
        "z": {"type": "binary", "logit": "-1.5 + 3 * w"},
        "x": {"type": "binary", "logit": "-1.5 + 2.5 * z + 1.5 * u1"},
        "y": {"type": "binary", "logit": "-1 + 1.5 * x - 2.5 * u2"},
    }})
    truth = 0.5 * (sigmoid(0.5) + sigmoid(-2.0))  # sum_u2 P(u2) P(y=1 | x=1, u2)
    check_against_truth(scm, "x", "y", truth, "id")


def test_frontdoor_numbers():
    # Pearl (1995): genotype u (hidden) -> smoking x, cancer y; x -> tar m -> y
    scm = load_scm({"nodes": {
        "u": {"type": "binary", "p": 0.4, "hidden": True},
        "x": {"type": "binary", "logit": "-1 + 2.5 * u"},
        "m": {"type": "binary", "logit": "-1.5 + 3 * x"},
        "y": {"type": "binary", "logit": "-2 + 2 * m + 2.5 * u"},
    }})
    pm = sigmoid(1.5)
    truth = sum(pu * (pm * sigmoid(0 + 2.5 * u) + (1 - pm) * sigmoid(-2 + 2.5 * u))
                for u, pu in ((0, 0.6), (1, 0.4)))
    check_against_truth(scm, "x", "y", truth, "frontdoor")
    data = scm.sample(20_000, seed=3)
    via_id = id_algorithm(scm.graph, "x", "y")
    assert via_id.evaluate(data, {"x": 1, "y": 1}) == pytest.approx(
        identify(scm.graph, "x", "y").evaluate(data, 1, 1), abs=1e-12)


def test_backdoor_numbers_with_hidden_node():
    # u (hidden) -> z, y; z -> x -> y: adjust for z, never for u
    scm = load_scm({"nodes": {
        "u": {"type": "binary", "p": 0.5, "hidden": True},
        "z": {"type": "binary", "logit": "-1.5 + 3 * u"},
        "x": {"type": "binary", "logit": "-1.5 + 3 * z"},
        "y": {"type": "binary", "logit": "-1 + x + 2 * u"},
    }})
    truth = 0.5 * (sigmoid(0.0) + sigmoid(2.0))
    check_against_truth(scm, "x", "y", truth, "backdoor")


def test_instrument_mean_numbers():
    # binary instrument z, hidden u confounds x and y, constant effect 2 of x on y
    scm = load_scm({"nodes": {
        "u": {"noise": "normal(0, 1)", "hidden": True},
        "z": {"type": "binary", "p": 0.5},
        "x": {"type": "binary", "logit": "-0.5 + 2 * z + 1.5 * u"},
        "y": {"equation": "1 + 2 * x + 3 * u + noise", "noise": "normal(0, 1)"},
    }})
    data = scm.sample(200_000, seed=5)
    est = identify(scm.graph, "x", "y")
    assert est.strategy == "iv" and est.instrument.instrument == "z"
    value = est.mean(data, 1)
    # influence function of E[Y] + beta (1 - E[X]), beta = Cov(Y, Z) / Cov(X, Z)
    x, y, z = (data[c].to_numpy(dtype=float) for c in ("x", "y", "z"))
    cxz = np.cov(x, z)[0, 1]
    beta = np.cov(y, z)[0, 1] / cxz
    resid = y - beta * x - (y - beta * x).mean()
    infl = (y - y.mean()) - beta * (x - x.mean()) + (1 - x.mean()) * resid * (z - z.mean()) / cxz
    se = infl.std() / math.sqrt(len(data))
    assert abs(value - 3.0) < K_SE * se
    assert abs(data.loc[data.x == 1, "y"].mean() - 3.0) > K_SE * se  # naive is biased
    with pytest.raises(EstimationError, match="mean"):
        est.evaluate(data, 1)
