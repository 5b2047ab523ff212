"""Tests of causal.identify.adjustment: textbook graphs with their published answers, and
brute-force oracles (subset search, path enumeration, networkx d-separation) on seeded
random DAGs with hidden nodes and bidirected edges."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from causal.errors import CausalSimError, GraphError
from causal.graph import CausalGraph
from causal.identify import (
    Instrument,
    adjustment_sets,
    frontdoor_sets,
    instruments,
    is_valid_adjustment,
    minimal_frontdoor_set,
    minimum_adjustment_set,
)

G = CausalGraph.from_string


def key(s):
    return len(s), sorted(s)


def fs(*sets):
    return [frozenset(s) for s in sets]


# ----------------------------------------------------------------------------- oracles


def random_admg(seed: int) -> CausalGraph:
    """6-10 nodes, shuffled names, a few bidirected edges and hidden nodes."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 11))
    names = [f"v{i}" for i in rng.permutation(n)]
    p = rng.uniform(0.2, 0.45)
    directed = [(names[i], names[j]) for i, j in itertools.combinations(range(n), 2)
                if rng.random() < p]
    bidirected = [(a, b) for a, b in itertools.combinations(names, 2) if rng.random() < 0.06]
    hidden = list(rng.choice(names, size=int(rng.integers(0, 3)), replace=False))
    return CausalGraph(directed, bidirected, nodes=sorted(names), hidden=hidden)


def pairs(g: CausalGraph, seed: int, k: int = 2):
    """Up to k (X, Y) pairs of observed nodes, X an ancestor of Y where possible."""
    rng = np.random.default_rng(seed + 10_000)
    obs = list(g.observed)
    causal = [(x, y) for x in obs for y in obs if x != y and x in g.ancestors(y)]
    out = [causal[i] for i in rng.permutation(len(causal))[:k - 1]]
    a, b = rng.choice(len(obs), size=2, replace=False)
    return out + [(obs[a], obs[b])]


def minimal_valid(pool, valid) -> list[frozenset]:
    """Inclusion-minimal subsets of pool satisfying valid(), smallest first."""
    found: list[frozenset] = []
    for k in range(len(pool) + 1):
        for c in itertools.combinations(sorted(pool), k):
            z = frozenset(c)
            if not any(f <= z for f in found) and valid(z):
                found.append(z)
    return sorted(found, key=key)


def brute_backdoor(g: CausalGraph, xs: set, ys: set) -> list[frozenset]:
    below = g.remove_outgoing(xs)
    pool = set(g.observed) - xs - ys - g.descendants(xs)
    return minimal_valid(pool, lambda z: below.d_separated(xs, ys, z))


def admg_paths(g: CausalGraph, xs: set, ys: set):
    """All paths from X to Y whose later nodes avoid X, as (nodes, marks): marks[i] is
    (mark at nodes[i], mark at nodes[i+1]) of edge i, each '>' (arrowhead) or '-' (tail)."""
    adj: dict[str, list] = {v: [] for v in g.nodes}
    for a, b in g.directed_edges:
        adj[a].append((b, "-", ">"))
        adj[b].append((a, ">", "-"))
    for a, b in g.bidirected_edges:
        adj[a].append((b, ">", ">"))
        adj[b].append((a, ">", ">"))

    def walk(nodes, marks):
        if len(nodes) > 1 and nodes[-1] in ys:
            yield list(nodes), list(marks)
        for w, m_here, m_there in adj[nodes[-1]]:
            if w not in nodes and w not in xs:
                yield from walk(nodes + [w], marks + [(m_here, m_there)])

    for x in xs:
        yield from walk([x], [])


def is_causal(marks) -> bool:
    return all(m == ("-", ">") for m in marks)


def blocked(g: CausalGraph, nodes, marks, zs) -> bool:
    for i in range(1, len(nodes) - 1):
        v = nodes[i]
        collider = marks[i - 1][1] == ">" and marks[i][0] == ">"
        if collider and v not in zs and not g.descendants(v) & zs:
            return True
        if not collider and v in zs:
            return True
    return False


def generalized_oracle(g: CausalGraph, xs: set, ys: set, zs: set, paths) -> bool:
    """Perković et al. (2018, JMLR): Forb(X, Y) and proper non-causal paths, read literally
    off the enumerated paths."""
    on_causal = {v for nodes, marks in paths if is_causal(marks) for v in nodes[1:]}
    forb = set(xs) | on_causal | g.descendants(on_causal) if on_causal else set(xs)
    if zs & forb:
        return False
    return all(blocked(g, nodes, marks, zs) for nodes, marks in paths if not is_causal(marks))


def proper_backdoor_graph(g: CausalGraph, x: str, y: str):
    pcp = {v for nodes, marks in admg_paths(g, {x}, {y}) if is_causal(marks) for v in nodes[1:]}
    gc = CausalGraph([e for e in g.directed_edges if not (e[0] == x and e[1] in pcp)],
                     g.bidirected_edges, nodes=g.nodes, hidden=g.hidden)
    return gc, pcp


def frontdoor_oracle(g: CausalGraph, x: str, y: str, zs: frozenset, below=None) -> bool:
    """Pearl (2009), Definition 3.3.3, checked with networkx d-separation and paths."""
    dag = g.to_networkx()
    dag.remove_nodes_from(zs)
    if nx.has_path(dag, x, y):
        return False
    if zs and not (below or g.remove_outgoing(x)).d_separated(x, zs):
        return False
    return not zs or g.remove_outgoing(zs).d_separated(zs, y, x)


SEEDS = range(200)


# ----------------------------------------------------------------------- textbook graphs


def test_pearl_fig_3_4():
    # Pearl, Causality (2nd ed., 2009), Fig. 3.4, p. 80: {X3, X4} and {X4, X5} satisfy
    # the back-door criterion and {X4} alone does not; {X1, X4} and {X2, X4} complete
    # the list of minimal sets (verified here by brute force).
    g = G("X1->X3; X1->X4; X2->X4; X2->X5; X3->X; X4->X; X4->Y; X5->Y; X->X6; X6->Y")
    expected = fs({"X1", "X4"}, {"X2", "X4"}, {"X3", "X4"}, {"X4", "X5"})
    assert adjustment_sets(g, "X", "Y") == expected
    assert brute_backdoor(g, {"X"}, {"Y"}) == expected
    assert not is_valid_adjustment(g, "X", "Y", {"X4"})
    assert is_valid_adjustment(g, "X", "Y", {"X3", "X4"})


def test_m_bias():
    # Greenland, Pearl & Robins (1999), Epidemiology 10(1), Fig. 1 ("M-bias"): adjusting
    # for the collider M opens X <- A -> M <- B -> Y.
    g = G("A->X; A->M; B->M; B->Y; X->Y")
    assert adjustment_sets(g, "X", "Y") == [frozenset()]
    assert is_valid_adjustment(g, "X", "Y", ())
    assert not is_valid_adjustment(g, "X", "Y", {"M"})
    assert is_valid_adjustment(g, "X", "Y", {"M", "A"})
    latent = CausalGraph(g.directed_edges, hidden=["M"])
    assert adjustment_sets(latent, "X", "Y") == [frozenset()]
    with pytest.raises(GraphError, match="hidden"):
        is_valid_adjustment(latent, "X", "Y", {"M"})


def test_butterfly_bias():
    # Ding & Miratrix (2015), J. Causal Inference 3(1), "To adjust or not to adjust?":
    # M confounds X and Y and is a collider of A and B; adjust for M plus A or B.
    g = G("A->X; A->M; B->M; B->Y; M->X; M->Y; X->Y")
    assert adjustment_sets(g, "X", "Y") == fs({"A", "M"}, {"B", "M"})
    assert not is_valid_adjustment(g, "X", "Y", {"M"})
    assert adjustment_sets(g, "X", "Y", minimal=False) == fs(
        {"A", "M"}, {"B", "M"}, {"A", "B", "M"})


def test_instrument():
    # Angrist, Imbens & Rubin (1996), JASA 91(434), the IV design: Z -> X -> Y with
    # X <-> Y. No adjustment set exists, Z is an (unconditional) instrument.
    g = G("Z->X->Y; X<->Y")
    assert adjustment_sets(g, "X", "Y") == []
    assert instruments(g, "X", "Y") == [Instrument("Z", frozenset())]
    assert frontdoor_sets(g, "X", "Y") == []


def test_conditional_instrument():
    # van der Zander, Textor & Liśkiewicz (2015), IJCAI, conditional IV example (also in
    # DAGitty's test suite): Z is an instrument only given W, as W -> U -> Y is open.
    g = CausalGraph([("W", "Z"), ("Z", "X"), ("X", "Y"), ("W", "U"), ("U", "X"),
                     ("U", "Y")], hidden=["U"])
    assert instruments(g, "X", "Y") == [Instrument("Z", frozenset({"W"}))]
    assert str(instruments(g, "X", "Y")[0]) == "Z | W"
    assert adjustment_sets(g, "X", "Y") == []
    # With U observed, the nearest separator of Y and Z is {U} (closest to Y).
    seen = CausalGraph(g.directed_edges)
    assert Instrument("Z", frozenset({"U"})) in instruments(seen, "X", "Y")


def test_generalized_criterion_admits_descendant():
    # Shpitser, VanderWeele & Robins (2010), UAI: a descendant of X off every causal path
    # is harmless. D is a valid adjustment set though it violates the back-door criterion.
    g = G("X->Y; X->D")
    assert is_valid_adjustment(g, "X", "Y", {"D"})
    assert frozenset({"D"}) not in adjustment_sets(g, "X", "Y", minimal=False)
    # ... but not a descendant of a mediator (Perković et al. 2018, Forb(X, Y)).
    assert not is_valid_adjustment(G("X->M->Y; M->D"), "X", "Y", {"D"})


def test_frontdoor_smoking():
    # Pearl (1995), Biometrika 82(4), smoking -> tar -> cancer with a latent genotype.
    g = G("X->M->Y; X<->Y")
    assert frontdoor_sets(g, "X", "Y") == [frozenset({"M"})]
    assert adjustment_sets(g, "X", "Y") == []


def test_frontdoor_set_with_a_non_descendant():
    # Pearl (2009), Def. 3.3.3 read literally: W -> M and W -> Y open M <- W -> Y, so
    # {M} fails (iii) but {M, W} satisfies (i)-(iii); W is no descendant of X.
    g = G("X->M->Y; W->M; W->Y; X<->Y")
    assert frontdoor_sets(g, "X", "Y") == [frozenset({"M", "W"})]
    assert frontdoor_oracle(g, "X", "Y", frozenset({"M", "W"}))


def test_no_causal_path_needs_no_frontdoor_set():
    assert frontdoor_sets(G("Y->X; X<->Y"), "X", "Y") == [frozenset()]


def test_multiple_treatments_and_outcomes():
    # Multi-treatment back-door (van der Zander et al. 2019, AIJ): d-separation in G with
    # every edge out of X removed; X2 is no candidate as a descendant of X1.
    g = G("C->X1; C->Y1; X1->X2; X2->Y1; D->X2; D->Y2; X1->Y2")
    xs, ys = {"X1", "X2"}, {"Y1", "Y2"}
    assert adjustment_sets(g, xs, ys) == brute_backdoor(g, xs, ys) == fs({"C", "D"})


def test_exponentially_many_minimal_sets_are_all_listed():
    # k disjoint back-door paths X <- a_i <- b_i -> Y: 2**k minimal sets (one node per path).
    k = 10
    g = CausalGraph([e for i in range(k) for e in [(f"a{i}", "X"), (f"b{i}", f"a{i}"),
                                                   (f"b{i}", "Y")]] + [("X", "Y")])
    sets = adjustment_sets(g, "X", "Y")
    assert len(sets) == 2 ** k == len(set(sets))
    assert all(len(z) == k and is_valid_adjustment(g, "X", "Y", z) for z in sets[::97])


def test_max_size():
    g = G("A->X; A->M; B->M; B->Y; M->X; M->Y; X->Y")
    assert adjustment_sets(g, "X", "Y", max_size=1) == []
    assert adjustment_sets(g, "X", "Y", minimal=False, max_size=2) == fs({"A", "M"}, {"B", "M"})
    big = CausalGraph([(f"c{i}", "X") for i in range(26)] + [("X", "Y")])
    with pytest.raises(CausalSimError, match="max_size"):
        adjustment_sets(big, "X", "Y", minimal=False)
    assert len(adjustment_sets(big, "X", "Y", minimal=False, max_size=1)) == 27
    with pytest.raises(CausalSimError, match="non-negative"):
        adjustment_sets(g, "X", "Y", max_size=-1)


def test_errors():
    g = CausalGraph([("Z", "X"), ("X", "Y"), ("H", "Y")], hidden=["H"])
    for fn in (adjustment_sets, frontdoor_sets, instruments):
        with pytest.raises(GraphError, match="unknown treatment node"):
            fn(g, "Q", "Y")
        with pytest.raises(GraphError, match="share"):
            fn(g, "X", "X")
        with pytest.raises(GraphError, match="hidden"):
            fn(g, "H", "Y")
        with pytest.raises(GraphError, match="CausalGraph"):
            fn(g.to_networkx(), "X", "Y")
    with pytest.raises(GraphError, match="share"):
        adjustment_sets(g, {"X", "Z"}, {"Z", "Y"})
    with pytest.raises(GraphError, match="at least one"):
        adjustment_sets(g, [], "Y")
    with pytest.raises(GraphError, match="unknown outcome"):
        is_valid_adjustment(g, "X", "Nope", ())
    with pytest.raises(GraphError, match="unknown z"):
        is_valid_adjustment(g, "X", "Y", {"Nope"})
    with pytest.raises(GraphError, match="cannot adjust for hidden"):
        is_valid_adjustment(g, "X", "Y", {"H"})
    with pytest.raises(GraphError, match="share"):
        is_valid_adjustment(g, "X", "Y", {"X"})
    with pytest.raises(GraphError, match="single treatment"):
        frontdoor_sets(g, {"X", "Z"}, "Y")
    with pytest.raises(GraphError, match="single treatment"):
        instruments(g, "X", {"Y", "Z"})
    with pytest.raises(GraphError, match="own 'given'"):
        Instrument("Z", frozenset({"Z"}))
    wide = CausalGraph([(f"m{i}", "Y") for i in range(21)] + [("X", f"m{i}") for i in range(21)])
    with pytest.raises(CausalSimError, match="front-door candidates"):
        frontdoor_sets(wide, "X", "Y")


# ---------------------------------------------------------------- random-graph properties


def test_backdoor_sets_match_brute_force_on_random_admgs():
    checked = 0
    for seed in SEEDS:
        g = random_admg(seed)
        for x, y in pairs(g, seed):
            sets = adjustment_sets(g, x, y)
            below = g.remove_outgoing(x)
            for z in sets:
                assert not z & g.hidden and not z & g.descendants(x) and x not in z
                assert below.d_separated(x, y, z), (seed, x, y, z)
                assert all(not below.d_separated(x, y, z - {v}) for v in z), (seed, x, y, z)
            assert sets == brute_backdoor(g, {x}, {y}), (seed, x, y)
            checked += bool(sets) and sets != [frozenset()]
    assert checked > 40  # the random graphs exercise non-trivial answers


def test_backdoor_sets_with_two_treatments_match_brute_force():
    for seed in range(60):
        g = random_admg(seed)
        obs = list(g.observed)
        rng = np.random.default_rng(seed)
        xs = set(rng.choice(obs, size=2, replace=False))
        ys = {obs[i] for i in rng.permutation(len(obs))[:2]} - xs
        if ys:
            assert adjustment_sets(g, xs, ys) == brute_backdoor(g, xs, ys), seed


def test_is_valid_adjustment_matches_path_enumeration():
    rng = np.random.default_rng(1)
    for seed in SEEDS:
        g = random_admg(seed)
        for x, y in pairs(g, seed):
            paths = list(admg_paths(g, {x}, {y}))
            pool = sorted(set(g.observed) - {x, y})
            subsets = [frozenset(c) for k in range(len(pool) + 1)
                       for c in itertools.combinations(pool, k)]
            for i in rng.permutation(len(subsets))[:16]:
                z = subsets[i]
                assert is_valid_adjustment(g, x, y, z) == generalized_oracle(
                    g, {x}, {y}, z, paths), (seed, x, y, sorted(z))
            # every back-door set is an adjustment set
            assert all(is_valid_adjustment(g, x, y, z) for z in adjustment_sets(g, x, y))


def test_is_valid_adjustment_sets_of_nodes_match_path_enumeration():
    rng = np.random.default_rng(2)
    for seed in range(60):
        g = random_admg(seed)
        obs = list(g.observed)
        xs = set(rng.choice(obs, size=2, replace=False))
        ys = set(rng.choice(sorted(set(obs) - xs), size=2, replace=False))
        paths = list(admg_paths(g, xs, ys))
        pool = sorted(set(obs) - xs - ys)
        for _ in range(12):
            z = frozenset(v for v in pool if rng.random() < 0.4)
            assert is_valid_adjustment(g, xs, ys, z) == generalized_oracle(
                g, xs, ys, z, paths), (seed, xs, ys, sorted(z))


def test_frontdoor_sets_match_brute_force():
    nontrivial = 0
    for seed in SEEDS:
        g = random_admg(seed)
        for x, y in pairs(g, seed):
            pool, below = set(g.observed) - {x, y}, g.remove_outgoing(x)
            expected = minimal_valid(
                pool, lambda z, g=g, x=x, y=y, b=below: frontdoor_oracle(g, x, y, z, b))
            assert frontdoor_sets(g, x, y) == expected, (seed, x, y)
            nontrivial += bool(expected) and expected != [frozenset()]
    assert nontrivial > 10


def test_instruments_match_brute_force():
    unconditional = conditional = 0
    for seed in SEEDS:
        g = random_admg(seed)
        for x, y in pairs(g, seed):
            gc, pcp = proper_backdoor_graph(g, x, y)
            banned = {x} | pcp | {y} | g.descendants(pcp | {y})
            found = {i.instrument: i.given for i in instruments(g, x, y)}
            for z in sorted(set(g.observed) - {x, y}):
                pool = sorted(set(g.observed) - banned - {z})

                def ok(w, z=z, x=x, y=y, gc=gc):
                    return gc.d_separated(z, y, w) and not gc.d_separated(z, x, w)

                if z in found:  # sound: the reported W satisfies the definition
                    w = found[z]
                    assert w <= set(pool) and ok(w), (seed, x, y, z, w)
                    assert (w == frozenset()) == ok(()), (seed, x, y, z)
                    unconditional += not w
                    conditional += bool(w)
                else:  # complete for ancestral W (van der Zander et al. 2015)
                    anc = gc.ancestors({y, z}) & set(pool)
                    assert not any(ok(c) for k in range(len(anc) + 1)
                                   for c in itertools.combinations(sorted(anc), k)), (
                        seed, x, y, z)
    assert unconditional > 10 and conditional > 10


def test_an_instrument_is_found_whenever_one_exists():
    # van der Zander et al. (2015), IJCAI: if some Z is a conditional instrument given
    # some W, then some (possibly other) Z' is one given an ancestral W'. Nodes that are
    # instruments only given non-ancestral sets (e.g. a common child of Z and X) are not
    # listed, but the existence answer is exact.
    for seed in range(60):
        g = random_admg(seed)
        for x, y in pairs(g, seed):
            if instruments(g, x, y):
                continue
            gc, pcp = proper_backdoor_graph(g, x, y)
            banned = {x} | pcp | {y} | g.descendants(pcp | {y})
            for z in sorted(set(g.observed) - {x, y}):
                pool = sorted(set(g.observed) - banned - {z})
                assert not any(gc.d_separated(z, y, c) and not gc.d_separated(z, x, c)
                               for k in range(len(pool) + 1)
                               for c in itertools.combinations(pool, k)), (seed, x, y, z)


def test_instruments_only_given_a_collider_are_not_listed():
    # Z -> C <-> X: Z is an instrument given {C} or {D} (opening the collider C), never
    # given a set of ancestors of Y and Z; C and D are unconditional instruments.
    g = G("Z->C->D; C<->X; X->Y; X<->Y")
    assert instruments(g, "X", "Y") == [Instrument("C"), Instrument("D")]


def test_instrument_sorting():
    g = CausalGraph([("W", "Z"), ("Z", "X"), ("X", "Y"), ("W", "U"), ("U", "X"), ("U", "Y"),
                     ("Z2", "X"), ("A", "Z3"), ("Z3", "X"), ("A", "U")], hidden=["U"])
    got = [str(i) for i in instruments(g, "X", "Y")]
    assert got == ["Z2", "Z3 | A", "Z | W"]  # (|W|, names of W)


# ------------------------------------------------------- one set, in polynomial time


def path_graph(k: int) -> CausalGraph:
    """X -> Y and k back-door paths X <- A_i <- B_i -> Y: 2**k minimal sets, all of size k."""
    return CausalGraph([e for i in range(k) for e in [(f"A{i}", "X"), (f"B{i}", f"A{i}"),
                                                       (f"B{i}", "Y")]] + [("X", "Y")])


def backdoor_ok(g: CausalGraph, xs, ys, z) -> bool:
    """Pearl's back-door criterion through CausalGraph's own d-separation (not _Dag)."""
    return not z & g.hidden and not z & g.descendants(xs) and \
        g.remove_outgoing(xs).d_separated(xs, ys, z)


@pytest.mark.parametrize("k", [16, 30])
def test_minimum_adjustment_set_is_polynomial_on_exponentially_many_sets(k):
    # 2**30 minimal sets: listing them would never end; one max-flow takes milliseconds
    g = path_graph(k)
    z = minimum_adjustment_set(g, "X", "Y")
    assert z == {f"B{i}" for i in range(k)}  # of the minimum sets, the one nearest to Y
    assert backdoor_ok(g, {"X"}, {"Y"}, z) and is_valid_adjustment(g, "X", "Y", z)


def test_minimum_adjustment_set_small_cases():
    assert minimum_adjustment_set(G("X->Y"), "X", "Y") == frozenset()
    assert minimum_adjustment_set(G("X->Y; X<->Y"), "X", "Y") is None
    assert minimum_adjustment_set(G("A->X; A->M; B->M; B->Y; M->X; M->Y; X->Y"), "X", "Y") \
        == {"B", "M"}
    # a hidden confounder is never returned, its observed proxy is
    g = CausalGraph([("U", "Z"), ("U", "Y"), ("Z", "X"), ("X", "Y")], hidden=["U"])
    assert minimum_adjustment_set(g, "X", "Y") == {"Z"}
    g = CausalGraph([("U", "X"), ("U", "Y"), ("X", "Y")], hidden=["U"])
    assert minimum_adjustment_set(g, "X", "Y") is None
    # the answer does not depend on the order the graph was built in
    edges = list(path_graph(6).directed_edges)
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(len(edges))
        assert minimum_adjustment_set(CausalGraph([edges[i] for i in order]), "X", "Y") \
            == {f"B{i}" for i in range(6)}
    with pytest.raises(GraphError, match="hidden"):
        minimum_adjustment_set(CausalGraph([("H", "Y")], hidden=["H"]), "H", "Y")


def test_minimum_adjustment_set_is_a_smallest_enumerated_set_on_random_admgs():
    nontrivial = 0
    for seed in SEEDS:
        g = random_admg(seed)
        for x, y in pairs(g, seed, k=3):
            sets = adjustment_sets(g, x, y)
            z = minimum_adjustment_set(g, x, y)
            if not sets:
                assert z is None, (seed, x, y, z)
                continue
            assert z in sets and len(z) == len(sets[0]), (seed, x, y, z, sets)
            assert backdoor_ok(g, {x}, {y}, z) and is_valid_adjustment(g, x, y, z)
            assert not z & g.hidden
            nontrivial += len(sets) > 1 and len(sets[0]) == len(sets[1])  # a tie was broken
    assert nontrivial > 10


def test_minimum_adjustment_set_with_sets_of_treatments_and_outcomes():
    for seed in range(100):
        g = random_admg(seed)
        obs = list(g.observed)
        rng = np.random.default_rng(seed)
        xs = set(rng.choice(obs, size=2, replace=False))
        ys = {obs[i] for i in rng.permutation(len(obs))[:2]} - xs
        if not ys:
            continue
        sets, z = brute_backdoor(g, xs, ys), minimum_adjustment_set(g, xs, ys)
        assert (z is None) == (not sets), seed
        if sets:
            assert len(z) == len(sets[0]) and backdoor_ok(g, xs, ys, z), seed


def frontdoor_graph(seed: int):
    """A random DAG on 5-10 nodes with X <-> Y (so no back-door set) and X before Y."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 11))
    names = [f"v{i}" for i in range(n)]
    p = rng.uniform(0.25, 0.6)
    directed = [(names[i], names[j]) for i, j in itertools.combinations(range(n), 2)
                if rng.random() < p]
    i, j = sorted(rng.choice(n, size=2, replace=False))
    x, y = names[i], names[j]
    bidirected = [(x, y)] + [(a, b) for a, b in itertools.combinations(names, 2)
                             if {a, b} != {x, y} and rng.random() < 0.05]
    hidden = [v for v in rng.choice(names, size=int(rng.integers(0, 2)), replace=False)
              if v not in (x, y)]
    return CausalGraph(directed, bidirected, nodes=names, hidden=hidden), x, y


def test_minimal_frontdoor_set_is_an_enumerated_minimal_set():
    found = 0
    cases = [(random_admg(s), *p) for s in SEEDS for p in pairs(random_admg(s), s, k=3)]
    cases += [frontdoor_graph(s) for s in range(600)]
    for g, x, y in cases:
        sets, z = frontdoor_sets(g, x, y), minimal_frontdoor_set(g, x, y)
        if sets == [frozenset()]:  # Y is not a descendant of X
            assert z == frozenset()
        elif not sets:
            assert z is None, (g, x, y, z)
        else:  # valid and inclusion-minimal, by the brute-force listing
            assert z in sets and frontdoor_oracle(g, x, y, z) and not z & g.hidden, (g, x, y, z)
            found += 1
    assert found > 50


def test_minimal_frontdoor_set_is_polynomial():
    # 40 parallel mediators, X <-> Y: the exhaustive search would need 2**40 subsets
    k = 40
    g = CausalGraph([e for i in range(k) for e in [("X", f"M{i}"), (f"M{i}", "Y")]], [("X", "Y")])
    assert minimal_frontdoor_set(g, "X", "Y") == {f"M{i}" for i in range(k)}
    with pytest.raises(CausalSimError, match="front-door candidates"):
        frontdoor_sets(g, "X", "Y")
    # the causal path through B cannot be intercepted: B shares a hidden cause with Y
    g = G("X->A1->A2->Y; X->B->Y; X<->Y; B<->Y")
    assert minimal_frontdoor_set(g, "X", "Y") is None and frontdoor_sets(g, "X", "Y") == []
    with pytest.raises(GraphError, match="single treatment"):
        minimal_frontdoor_set(g, ["X", "B"], "Y")


def test_minimum_separator_matches_networkx_node_connectivity():
    # the max-flow of causal.identify._separators against networkx's, on random graphs
    from causal.identify._separators import minimum_separator

    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(4, 16))
        und = nx.gnp_random_graph(n, rng.uniform(0.1, 0.5), seed=int(rng.integers(2**31)))
        s, t = 0, n - 1
        h = {v: set(und[v]) for v in und}
        cut = minimum_separator(h, s, t)
        if und.has_edge(s, t):
            assert cut is None
            continue
        assert len(cut) == (nx.node_connectivity(und, s, t) if nx.has_path(und, s, t) else 0)
        rest = und.subgraph(set(und) - cut)
        assert not nx.has_path(rest, s, t)
        # nearest to s: the part of s is inside that of every other minimum separator
        part = nx.node_connected_component(rest, s)
        if n <= 10:
            inner = sorted(set(und) - {s, t})
            for other in itertools.combinations(inner, len(cut)):
                left = und.subgraph(set(und) - set(other))
                if not nx.has_path(left, s, t):
                    assert part <= nx.node_connected_component(left, s)
