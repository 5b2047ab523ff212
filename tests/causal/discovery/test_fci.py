"""Tests of FCI: with a d-separation oracle its marks are sound (tails are ancestors, arrowheads are
not) and its skeleton is exactly the pairs no observed set separates; with data from an SCM with a
hidden common cause it marks the confounded pair <-> where PC orients a directed edge."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from causal.discovery import Knowledge, edge_scores, fci, pc, true_pag
from causal.discovery.fci import possible_dsep
from causal.discovery.pgraph import ARROW, CIRCLE, TAIL
from causal.graph import CausalGraph
from causal.spec import load_scm


def random_latent_graph(seed: int) -> CausalGraph:
    rng = np.random.default_rng(seed)
    d, n_hidden = int(rng.integers(6, 8)), int(rng.integers(1, 3))
    order = rng.permutation(d)
    names = [f"v{i}" for i in range(d)]
    upper = np.triu(rng.random((d, d)) < 0.4, 1)
    edges = [(names[order[i]], names[order[j]]) for i, j in zip(*np.nonzero(upper), strict=True)]
    return CausalGraph(edges, nodes=names, hidden=names[d - n_hidden:])


@pytest.mark.parametrize("seed", range(10))
def test_oracle_pag_is_sound_and_has_the_mag_skeleton(seed):
    g = random_latent_graph(seed)
    pag = true_pag(g)
    obs = g.observed
    for a, b in itertools.combinations(obs, 2):
        others = [v for v in obs if v not in (a, b)]
        separable = any(g.d_separated(a, b, s) for k in range(len(others) + 1)
                        for s in itertools.combinations(others, k))
        assert pag.adjacent(a, b) == (not separable), (a, b)
        if pag.adjacent(a, b):
            for u, v in ((a, b), (b, a)):
                if pag.mark(v, u) == "-":      # tail at u: u causes v in every model of the class
                    assert u in g.ancestors(v)
                if pag.mark(u, v) == ">":      # arrowhead at v: v never causes u
                    assert v not in g.ancestors(u)


def test_oracle_textbook_pags():
    # the Y-structure: c -> d is identified as causal even though latents are allowed
    pag = true_pag(CausalGraph.from_string("a -> c; b -> c; c -> d"))
    assert pag.directed_edges == (("c", "d"),)
    assert set(pag.circle_edges) == {("a", "c", "o->"), ("c", "b", "<-o")}
    # a hidden common cause of x and y, each with its own cause
    pag = true_pag(CausalGraph([("a", "x"), ("b", "y"), ("u", "x"), ("u", "y")], hidden=["u"]))
    assert pag.bidirected_edges == (("x", "y"),)
    assert pag == true_pag(CausalGraph.from_string("a -> x; b -> y; x <-> y"))


def test_possible_dsep_follows_colliders_and_triangles():
    # m: a *-> b <-* c *-* d, with c -- d: from a, b is adjacent, c via the collider at b, d via c
    # only if b is a collider on <b, c, d> (it is not) or b, d adjacent (they are not)
    m = np.zeros((4, 4), dtype=np.int8)
    m[0, 1], m[1, 0] = ARROW, CIRCLE      # a o-> b
    m[2, 1], m[1, 2] = ARROW, CIRCLE      # c o-> b
    m[2, 3], m[3, 2] = CIRCLE, TAIL       # c --o d (no arrowhead at c)
    assert possible_dsep(m, 0) == {1, 2}


SPEC = {"nodes": {
    "u": {"noise": "normal(0, 1)", "hidden": True},          # the hidden common cause of x and y
    "a": {"noise": "normal(0, 1)"},
    "b": {"noise": "normal(0, 1)"},
    "x": {"equation": "a + u + noise", "noise": "normal(0, 1)"},
    "y": {"equation": "b + u + noise", "noise": "normal(0, 1)"},
    "z": {"equation": "y + noise", "noise": "normal(0, 1)"},
}}


def test_fci_marks_the_confounded_pair_where_pc_orients_it():
    # n = 5000: every dependence here has |partial correlation| >= 0.25 (z-statistic > 17) and every
    # independence is exact, so at alpha = 0.01 a wrong answer has probability ~ 0.01 per test
    scm = load_scm(SPEC)
    df = scm.sample(5000, seed=0)
    assert list(df.columns) == ["a", "b", "x", "y", "z"]
    found_pc, found_fci = pc(df, alpha=0.01), fci(df, alpha=0.01)
    assert {("y", "x"), ("x", "y")} & set(found_pc.directed_edges)       # PC: a causal edge, wrongly
    assert found_fci.mark("x", "y") in (">", "o") and found_fci.mark("y", "x") in (">", "o")
    assert found_fci.bidirected_edges == (("x", "y"),)
    assert found_fci == true_pag(scm.observed_graph)
    assert edge_scores(found_fci, scm.observed_graph).shd == 0


def test_fci_knowledge():
    rng = np.random.default_rng(0)
    a = rng.normal(size=2000)
    data = np.column_stack([a, a + rng.normal(size=2000)])
    assert fci(data).edges == (("X0", "X1", "o-o"),)
    assert fci(data, knowledge=Knowledge(tiers=[["X0"], ["X1"]])).edges == (("X0", "X1", "o->"),)
    assert fci(data, knowledge=Knowledge(required=[("X0", "X1")])).edges == (("X0", "X1", "->"),)
