"""Tests of causal.discovery.metrics: SHD and precision/recall/F1 on hand-counted examples, the choice
of reference graph, and the side-by-side figure."""

from __future__ import annotations

import pytest

from causal.discovery import PartialGraph, compare_graphs, edge_scores, shd
from causal.discovery.metrics import edge_differences, reference_graph
from causal.errors import GraphError
from causal.graph import CausalGraph

TRUE = CausalGraph.from_string("a -> c; b -> c; c -> d")      # CPDAG: a -> c <- b, c -> d


def pg(*edges: tuple[str, str, str]) -> PartialGraph:
    return PartialGraph(["a", "b", "c", "d"], edges)


def test_shd_counts_pairs_that_differ():
    assert shd(pg(("a", "c", "->"), ("b", "c", "->"), ("c", "d", "->")), TRUE) == 0
    # reversed c -> d, extra a -- b, missing b -> c: three pairs
    found = pg(("a", "c", "->"), ("d", "c", "->"), ("a", "b", "--"))
    assert shd(found, TRUE) == 3
    diffs = edge_differences(found, reference_graph(found, TRUE))
    assert (diffs["reversed"], diffs["extra"], diffs["missing"]) == ([("c", "d")], [("a", "b")], [("b", "c")])


def test_edge_scores_hand_counted():
    found = pg(("a", "c", "->"), ("d", "c", "->"), ("a", "b", "--"))
    s = edge_scores(found, TRUE)
    # skeleton: found {ac, cd, ab}, true {ac, bc, cd}: 2 of 3 right each way
    assert s.adjacency_precision == pytest.approx(2 / 3) and s.adjacency_recall == pytest.approx(2 / 3)
    # arrowheads: found {c (from a), c (from d)}, true {c (from a), c (from b), d}: 1 hit
    assert s.arrowhead_precision == pytest.approx(1 / 2) and s.arrowhead_recall == pytest.approx(1 / 3)
    assert s.arrowhead_f1 == pytest.approx(2 * 0.5 / 3 / (0.5 + 1 / 3))
    assert s.as_dict()["shd"] == 3
    empty = edge_scores(pg(), TRUE)
    assert (empty.adjacency_precision, empty.adjacency_recall, empty.adjacency_f1) == (1.0, 0.0, 0.0)


def test_reference_choice():
    chain = CausalGraph.from_string("a -> b -> c -> d")
    oriented = pg(("a", "b", "->"), ("b", "c", "->"), ("c", "d", "->"))
    assert shd(oriented, chain) == 3                         # the CPDAG of a chain is undirected
    assert shd(oriented, chain, reference="graph") == 0
    pag_found = pg(("a", "b", "o-o"), ("b", "c", "o-o"), ("c", "d", "o-o"))
    assert shd(pag_found, chain) == 0                         # circles: scored against the PAG
    confounded = CausalGraph.from_string("a -> b; b <-> c; c -> d")
    with pytest.raises(GraphError, match="no CPDAG"):
        shd(oriented, confounded, reference="cpdag")
    with pytest.raises(GraphError, match="different nodes"):
        shd(PartialGraph(["a", "b"]), TRUE)
    with pytest.raises(GraphError, match="reference"):
        shd(oriented, chain, reference="dag")


def test_compare_graphs_colours_the_differences():
    found = pg(("a", "c", "->"), ("d", "c", "->"), ("a", "b", "o-o"))
    fig = compare_graphs(found, TRUE, reference="cpdag")
    left, right = fig.axes
    assert len(left.patches) == 3 and len(right.patches) == 3      # one arrow patch per edge
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("missing" in t for t in labels) and any("extra" in t for t in labels)
    assert any("reversed" in t for t in labels)
    assert len(right.lines) == 2                                   # the two circle marks of a o-o b
