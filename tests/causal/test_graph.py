"""Tests of causal.graph: canonical d-separation facts, invariants on random graphs,
an independent path-enumerating m-separation oracle, projection, I/O round trips."""

from __future__ import annotations

import itertools
from collections import defaultdict

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal.errors import CausalSimError, GraphError
from causal.graph import CausalGraph

# ----------------------------------------------------------------------------- helpers


def random_admg(seed: int, n: int = 8, p: float = 0.3, q: float = 0.0, n_hidden: int = 0):
    """A random ADMG on shuffled names, so that node order is not a topological order."""
    rng = np.random.default_rng(seed)
    names = [f"v{i}" for i in rng.permutation(n)]
    directed = [(names[i], names[j]) for i, j in itertools.combinations(range(n), 2)
                if rng.random() < p]
    bidirected = [(a, b) for a, b in itertools.combinations(names, 2) if rng.random() < q]
    hidden = list(rng.choice(names, size=n_hidden, replace=False)) if n_hidden else []
    return CausalGraph(directed, bidirected, nodes=sorted(names), hidden=hidden)


def explicit_latents(g: CausalGraph) -> CausalGraph:
    """Replace each a <-> b with a <- U_a_b -> b, U_a_b an explicit hidden node."""
    directed = list(g.directed_edges)
    latents = []
    for a, b in g.bidirected_edges:
        latents.append(f"U_{a}_{b}")
        directed += [(latents[-1], a), (latents[-1], b)]
    return CausalGraph(directed, nodes=g.nodes, hidden=set(latents) | g.hidden)


def brute_m_separated(g: CausalGraph, xs, ys, zs) -> bool:
    """m-separation by enumerating simple paths of the mixed graph (Richardson 2003).

    Independent of CausalGraph.d_separated: no latent augmentation, no networkx.
    An intermediate node blocks a path if it is a non-collider in Z, or a
    collider (arrowheads on both sides) with no descendant-or-self in Z.
    """
    xs, ys, zs = set(xs), set(ys), set(zs)
    adj = defaultdict(list)  # node -> [(neighbour, mark at node, mark at neighbour)]
    children = defaultdict(set)
    for a, b in g.directed_edges:
        adj[a].append((b, "-", ">"))
        adj[b].append((a, ">", "-"))
        children[a].add(b)
    for a, b in g.bidirected_edges:
        adj[a].append((b, ">", ">"))
        adj[b].append((a, ">", ">"))
    an_z = set()  # Z and its ancestors
    for v in g.nodes:
        stack, seen = [v], {v}
        while stack:
            for c in children[stack.pop()]:
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        if seen & zs:
            an_z.add(v)

    def open_path_from(v, mark_in, visited) -> bool:
        if v in ys:
            return True
        for w, mark_out, mark_w in adj[v]:
            if w in visited:
                continue
            if mark_in is not None:  # v is an intermediate node
                collider = mark_in == ">" and mark_out == ">"
                if (collider and v not in an_z) or (not collider and v in zs):
                    continue
            if open_path_from(w, mark_w, visited | {w}):
                return True
        return False

    return not any(open_path_from(x, None, {x}) for x in xs)


def random_query(rng, nodes):
    nodes = list(nodes)
    rng.shuffle(nodes)
    k = rng.integers(0, len(nodes) - 1)
    x, y, rest = nodes[:1], nodes[1:2], nodes[2:]
    z = [v for v in rest[:k] if rng.random() < 0.6]
    if rng.random() < 0.3 and len(rest) > k:
        y = y + rest[k:k + 1]
    return x, y, z


# ------------------------------------------------------------- canonical d-separation


@pytest.mark.parametrize(
    ("edges", "bidirected", "x", "y", "z", "expected"),
    [
        ([("a", "b"), ("b", "c")], [], "a", "c", [], False),  # chain
        ([("a", "b"), ("b", "c")], [], "a", "c", ["b"], True),
        ([("b", "a"), ("b", "c")], [], "a", "c", [], False),  # fork
        ([("b", "a"), ("b", "c")], [], "a", "c", ["b"], True),
        ([("a", "b"), ("c", "b")], [], "a", "c", [], True),  # collider
        ([("a", "b"), ("c", "b")], [], "a", "c", ["b"], False),
        ([("a", "b"), ("c", "b"), ("b", "d")], [], "a", "c", ["d"], False),  # its descendant
        ([("c", "b")], [("a", "b")], "a", "c", [], True),  # a <-> b <- c
        ([("c", "b")], [("a", "b")], "a", "c", ["b"], False),
        ([], [("a", "b"), ("b", "c")], "a", "c", [], True),  # a <-> b <-> c
        ([], [("a", "b"), ("b", "c")], "a", "c", ["b"], False),
        ([("b", "c")], [("a", "b")], "a", "c", [], False),  # a <-> b -> c
        ([("b", "c")], [("a", "b")], "a", "c", ["b"], True),
        ([("a", "b")], [("a", "b")], "a", "b", [], False),  # bow arc: adjacent
        ([], [("a", "b")], "a", "b", [], False),
    ],
)
def test_canonical_d_separation(edges, bidirected, x, y, z, expected):
    g = CausalGraph(edges, bidirected)
    assert g.d_separated(x, y, z) is expected
    assert g.d_separated(y, x, z) is expected  # symmetry
    assert brute_m_separated(g, {x}, {y}, set(z)) is expected


def test_m_bias():
    # x <- u1 -> m <- u2 -> y: adjusting for the pre-treatment collider m opens a path.
    g = CausalGraph([("u1", "x"), ("u1", "m"), ("u2", "m"), ("u2", "y")])
    assert g.d_separated("x", "y")
    assert not g.d_separated("x", "y", "m")
    assert g.d_separated("x", "y", {"m", "u1"})
    assert g.d_separated("x", "y", ["m", "u2"])
    # The same with the latents as bidirected edges.
    b = CausalGraph(bidirected=[("x", "m"), ("m", "y")])
    assert b.d_separated("x", "y") and not b.d_separated("x", "y", "m")


def test_explicit_hidden_nodes_are_ordinary_nodes_for_d_separation():
    g = CausalGraph([("h", "a"), ("h", "b")], hidden=["h"])
    assert not g.d_separated("a", "b")
    assert g.d_separated("a", "b", "h")
    assert g.hidden == {"h"} and g.observed == ("a", "b")


def test_sets_and_single_names_are_interchangeable():
    g = CausalGraph([("z", "x"), ("z", "y"), ("w", "y")])
    assert g.d_separated({"x"}, ("w",), ["z"]) == g.d_separated("x", "w", "z") is True
    assert not g.d_separated("x", {"y", "w"})
    assert g.d_separated("x", {"w"}, frozenset())


@pytest.mark.parametrize("seed", range(20))
def test_bidirected_equals_explicit_latent_form(seed):
    g = random_admg(seed, n=7, p=0.3, q=0.2)
    e = explicit_latents(g)
    rng = np.random.default_rng(seed)
    for _ in range(40):
        x, y, z = random_query(rng, g.observed)
        assert g.d_separated(x, y, z) == e.d_separated(x, y, z), (g.to_dot(), x, y, z)


@pytest.mark.parametrize("seed", range(30))
def test_markov_condition(seed):
    """Every node is d-separated from its non-descendants (minus parents) given its parents."""
    g = random_admg(seed, n=8, p=0.35)
    nxg = g.to_networkx()
    for v in g.nodes:
        pa = g.parents(v)
        assert pa == set(nxg.predecessors(v))
        nd = set(g.nodes) - nx.descendants(nxg, v) - pa - {v}
        if nd:
            assert g.d_separated(v, nd, pa)
        for p in pa:  # adjacent nodes are never separated
            assert not g.d_separated(v, p, set(g.nodes) - {v, p})


@pytest.mark.parametrize("seed", range(30))
def test_d_separated_agrees_with_path_enumeration(seed):
    g = random_admg(seed, n=8, p=0.3, q=0.12 if seed % 2 else 0.0)
    rng = np.random.default_rng(1000 + seed)
    answers = set()
    for _ in range(25):
        x, y, z = random_query(rng, g.nodes)
        answer = g.d_separated(x, y, z)
        assert answer == brute_m_separated(g, x, y, z), (g.to_dot(), x, y, z)
        answers.add(answer)


def test_random_queries_are_not_trivial():
    """Guard against a vacuous oracle test: both answers occur often."""
    counts = defaultdict(int)
    for seed in range(10):
        g = random_admg(seed, n=8, p=0.3, q=0.1)
        rng = np.random.default_rng(seed)
        for _ in range(25):
            counts[g.d_separated(*random_query(rng, g.nodes))] += 1
    assert min(counts[True], counts[False]) > 40


# -------------------------------------------------------------------------- structure


def test_node_order_and_edges_are_deterministic():
    g = CausalGraph([("b", "c"), ("a", "c"), ("b", "c")], [("d", "a"), ("a", "d")], nodes=["z"])
    assert g.nodes == ("z", "b", "c", "a", "d")
    assert g.directed_edges == (("b", "c"), ("a", "c"))
    assert g.bidirected_edges == (("a", "d"),)
    assert list(g) == list(g.nodes) and len(g) == 5 and "a" in g and "q" not in g and 3 not in g
    assert repr(g) == "CausalGraph(5 nodes, 2 directed, 1 bidirected, 0 hidden)"


def test_neighbourhoods_and_closures():
    g = CausalGraph([("a", "b"), ("b", "c"), ("c", "d"), ("e", "c")], [("a", "e"), ("b", "d")])
    assert g.parents("c") == {"b", "e"} and g.children("b") == {"c"} and g.parents("a") == set()
    assert g.spouses("a") == {"e"} and g.spouses("c") == set()
    assert g.ancestors("c") == {"a", "b", "e"}
    assert g.ancestors({"c", "b"}) == {"a", "e"}  # excludes the query nodes themselves
    assert g.descendants("b") == {"c", "d"} and g.descendants(["a", "e"]) == {"b", "c", "d"}
    assert [sorted(c) for c in g.c_components()] == [["a", "e"], ["b", "d"], ["c"]]


@pytest.mark.parametrize("seed", range(10))
def test_topological_order_is_valid_and_tie_broken_by_node_order(seed):
    g = random_admg(seed, n=10, p=0.2)
    order = g.topological_order()
    assert sorted(order) == sorted(g.nodes)
    rank = {v: i for i, v in enumerate(order)}
    assert all(rank[a] < rank[b] for a, b in g.directed_edges)
    assert order == tuple(nx.lexicographical_topological_sort(g.to_networkx(),
                                                               key=g.nodes.index))
    assert CausalGraph([("b", "a")], nodes=["c", "b", "a"]).topological_order() == ("c", "b", "a")


def test_c_components_partition_the_nodes():
    g = random_admg(3, n=12, p=0.2, q=0.1)
    comps = g.c_components()
    assert sorted(v for c in comps for v in c) == sorted(g.nodes)
    for a, b in g.bidirected_edges:
        assert any({a, b} <= c for c in comps)
    assert comps == sorted(comps, key=lambda c: min(g.nodes.index(v) for v in c))


def test_do_remove_outgoing_subgraph():
    g = CausalGraph([("z", "x"), ("x", "y"), ("z", "y")], [("x", "y"), ("z", "w")],
                    hidden=["w"])
    d = g.do("x")
    assert d.directed_edges == (("z", "y"), ("x", "y"))
    assert d.bidirected_edges == (("z", "w"),) and d.hidden == {"w"}
    assert d.nodes == g.nodes  # nodes survive even when isolated
    r = g.remove_outgoing("x")
    assert r.directed_edges == (("z", "x"), ("z", "y"))
    assert r.bidirected_edges == g.bidirected_edges
    s = g.subgraph(["z", "w", "y"])
    assert s.nodes == ("z", "y", "w") and s.directed_edges == (("z", "y"),)
    assert s.bidirected_edges == (("z", "w"),) and s.hidden == {"w"}
    assert g.do([]) == g == g.remove_outgoing(set())
    # backdoor check via G_{underline X}: z blocks the only back-door path, except x <-> y
    assert not r.d_separated("x", "y", "z")
    assert r.do("y").d_separated("x", "y", "z")
    assert CausalGraph([("z", "x"), ("x", "y"), ("z", "y")]).remove_outgoing("x").d_separated(
        "x", "y", "z")


def test_immutability():
    g = CausalGraph([("a", "b")])
    for attr in ("nodes", "directed_edges", "bidirected_edges", "hidden", "observed", "extra"):
        with pytest.raises(AttributeError, match="immutable"):
            setattr(g, attr, ())
    with pytest.raises(AttributeError, match="immutable"):
        del g.nodes
    h = g.to_networkx()
    h.add_edge("b", "a")
    assert g.directed_edges == (("a", "b"),)
    assert g.do("b") is not g and g.directed_edges == (("a", "b"),)


def test_equality_and_hash_ignore_order_but_not_hidden():
    a = CausalGraph([("x", "y"), ("z", "y")], [("x", "z")])
    b = CausalGraph([("z", "y"), ("x", "y")], [("z", "x")], nodes=["y"])
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != CausalGraph([("x", "y"), ("z", "y")], [("x", "z")], hidden=["z"])
    assert a != CausalGraph([("x", "y"), ("z", "y")])
    assert a != CausalGraph([("x", "y"), ("z", "y")], [("x", "z")], nodes=["q"])
    assert a != "not a graph"


# ------------------------------------------------------------------------------ errors


def test_cycle_is_named():
    with pytest.raises(GraphError, match="cycle") as exc:
        CausalGraph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    msg = str(exc.value)
    assert any(s in msg for s in ("a -> b -> c -> a", "b -> c -> a -> b", "c -> a -> b -> c"))
    assert "d" not in msg.split("cycle")[1].split(";")[0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"directed": [("a", "a")]}, "self-loop"),
        ({"bidirected": [("a", "a")]}, "self-loop"),
        ({"nodes": ["a", "b", "a"]}, "duplicate"),
        ({"directed": [("a", "b")], "hidden": ["c"]}, "hidden"),
        ({"directed": [("a", 1)]}, "non-empty strings"),
        ({"directed": [("a", "")]}, "non-empty strings"),
        ({"nodes": [None]}, "non-empty strings"),
        ({"directed": [("a", "b", "c")]}, "malformed"),
        ({"directed": ["ab"]}, "malformed"),
        ({"bidirected": [("a",)]}, "malformed"),
        ({"directed": [5]}, "malformed"),
    ],
)
def test_construction_errors(kwargs, match):
    with pytest.raises(GraphError, match=match):
        CausalGraph(**kwargs)


def test_errors_are_value_errors():
    assert issubclass(GraphError, CausalSimError) and issubclass(GraphError, ValueError)


def test_query_errors():
    g = CausalGraph([("a", "b"), ("b", "c")])
    for call in (lambda: g.parents("q"), lambda: g.ancestors(["a", "q"]),
                 lambda: g.d_separated("a", "q"), lambda: g.d_separated("a", "c", "q"),
                 lambda: g.do("q"), lambda: g.subgraph({"q"}), lambda: g.project(["q"])):
        with pytest.raises(GraphError, match="'q'"):
            call()
    with pytest.raises(GraphError, match="disjoint"):
        g.d_separated("a", ["a", "c"])
    with pytest.raises(GraphError, match="disjoint"):
        g.d_separated("a", "c", ["c", "b"])
    with pytest.raises(GraphError):
        g.parents(["a", "b"])


# -------------------------------------------------------------------------- projection


@pytest.mark.parametrize(
    ("directed", "bidirected", "hidden", "exp_directed", "exp_bidirected"),
    [
        ([("a", "h"), ("h", "b")], [], ["h"], [("a", "b")], []),
        ([("h", "a"), ("h", "b")], [], ["h"], [], [("a", "b")]),
        ([("h1", "h2"), ("h2", "a"), ("h1", "b")], [], ["h1", "h2"], [], [("a", "b")]),
        ([("a", "h1"), ("h1", "h2"), ("h2", "h3"), ("h3", "b")], [], ["h1", "h2", "h3"],
         [("a", "b")], []),
        ([("h1", "a"), ("h2", "b")], [("h1", "h2")], ["h1", "h2"], [], [("a", "b")]),
        ([("h1", "a")], [("h1", "b")], ["h1"], [], [("a", "b")]),
        # an observed node in between: no edge a -> b, and a and b are not confounded
        ([("a", "m"), ("m", "b"), ("h", "m")], [], ["h"], [("a", "m"), ("m", "b")], []),
        # a hidden common effect creates nothing
        ([("a", "h"), ("b", "h")], [], ["h"], [], []),
        # front-door with a hidden confounder
        ([("u", "x"), ("u", "y"), ("x", "m"), ("m", "y")], [], ["u"],
         [("x", "m"), ("m", "y")], [("x", "y")]),
    ],
)
def test_project_textbook_cases(directed, bidirected, hidden, exp_directed, exp_bidirected):
    p = CausalGraph(directed, bidirected, hidden=hidden).project()
    assert p == CausalGraph(exp_directed, exp_bidirected, nodes=p.nodes)
    assert p.hidden == frozenset() and not set(hidden) & set(p.nodes)


def test_project_onto_explicit_keep_set():
    g = CausalGraph([("a", "b"), ("b", "c"), ("d", "a"), ("d", "c")])
    p = g.project(["a", "c"])
    assert p.directed_edges == (("a", "c"),) and p.bidirected_edges == (("a", "c"),)
    assert g.project() == g


@pytest.mark.parametrize("seed", range(15))
def test_project_undoes_explicit_latents(seed):
    g = random_admg(seed, n=7, p=0.3, q=0.25)
    assert explicit_latents(g).project() == g


@pytest.mark.parametrize("seed", range(15))
def test_project_preserves_d_separation_among_kept_nodes(seed):
    g = random_admg(seed, n=9, p=0.3, q=0.1, n_hidden=3)
    p = g.project()
    assert set(p.nodes) == set(g.observed)
    rng = np.random.default_rng(seed)
    for _ in range(30):
        x, y, z = random_query(rng, g.observed)
        assert g.d_separated(x, y, z) == p.d_separated(x, y, z), (g.to_dot(), x, y, z)


# ---------------------------------------------------------------------------- I/O

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=6)


@st.composite
def admgs(draw):
    vs = draw(st.lists(names, min_size=1, max_size=7, unique=True))
    pairs = list(itertools.combinations(range(len(vs)), 2))
    directed = [(vs[i], vs[j]) for i, j in pairs if draw(st.booleans())]
    bidirected = [(vs[j], vs[i]) for i, j in pairs if draw(st.integers(0, 3)) == 0]
    hidden = [v for v in vs if draw(st.integers(0, 4)) == 0]
    return CausalGraph(directed, bidirected, nodes=draw(st.permutations(vs)), hidden=hidden)


@settings(max_examples=60, deadline=None)
@given(admgs())
def test_dot_round_trip(g):
    h = CausalGraph.from_dot(g.to_dot())
    assert h == g and h.nodes == g.nodes


@settings(max_examples=60, deadline=None)
@given(admgs())
def test_networkx_round_trip(g):
    h = CausalGraph.from_networkx(g.to_networkx())
    assert h == g and h.nodes == g.nodes
    assert nx.is_directed_acyclic_graph(g.to_networkx())


def test_from_plain_networkx_and_cycles():
    g = CausalGraph.from_networkx(nx.DiGraph([("a", "b"), ("b", "c")]))
    assert g == CausalGraph([("a", "b"), ("b", "c")]) and g.hidden == frozenset()
    with pytest.raises(GraphError, match="cycle"):
        CausalGraph.from_networkx(nx.DiGraph([("a", "b"), ("b", "a")]))
    with pytest.raises(GraphError, match="DiGraph"):
        CausalGraph.from_networkx(nx.Graph([("a", "b")]))


def test_from_dot_accepts_the_common_subset():
    text = """
    /* a front-door model */
    strict digraph "front door" {
      graph [rankdir=LR]; rankdir = LR
      node [shape=circle, style="filled"];
      X -> M -> Y   // a chain
      X -> Y [dir=both, style=dashed, color="red"]
      # a preprocessor-style comment
      "unit cost" [label="cost", style="dashed,filled"];
      edge [color=gray]
      "unit cost" -> X; 1 -> X
    }
    """
    g = CausalGraph.from_dot(text)
    assert g.nodes == ("X", "M", "Y", "unit cost", "1")
    assert g.directed_edges == (("X", "M"), ("M", "Y"), ("unit cost", "X"), ("1", "X"))
    assert g.bidirected_edges == (("X", "Y"),)
    assert g.hidden == {"unit cost"}


def test_from_dot_node_defaults_apply_to_later_nodes():
    g = CausalGraph.from_dot("digraph { a; node [style=dashed]; u; u -> a; u -> b }")
    assert g.hidden == {"u", "b"}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("graph { a -- b }", 1),
        ("digraph {\n a -> b\n a -- c\n}", 3),
        ("digraph {\n a -> \n}", 3),
        ("digraph { a -> b [dir=back] }", 1),
        ("digraph {\n\n subgraph cluster { a } }", 3),
        ("digraph { a:p -> b }", 1),
        ("digraph { a -> b } extra", 1),
        ("digraph { a -> b", 1),
        ("digraph { a [label] }", 1),
        ("digraph { <b>html</b> }", 1),
        ("digraph {\n a -> b; b -> a }", None),  # a cycle: no line number, but named
        ("digraph { a -> b $ }", 1),
        ("", 1),
    ],
)
def test_from_dot_errors(text, line):
    with pytest.raises(GraphError) as exc:
        CausalGraph.from_dot(text)
    if line is not None:
        assert f"line {line}" in str(exc.value)
    else:
        assert "cycle" in str(exc.value)


def test_from_string():
    g = CausalGraph.from_string("X->Y; Z->X; Z->Y; X<->Y")
    assert g == CausalGraph([("X", "Y"), ("Z", "X"), ("Z", "Y")], [("X", "Y")])
    assert g.nodes == ("X", "Y", "Z")
    chain = CausalGraph.from_string("  A -> B -> C\n\nD ;; C <- E <-> A; \"two words\" -> D")
    assert chain.nodes == ("A", "B", "C", "D", "E", "two words")
    assert set(chain.directed_edges) == {("A", "B"), ("B", "C"), ("E", "C"), ("two words", "D")}
    assert chain.bidirected_edges == (("A", "E"),)
    assert CausalGraph.from_string("") == CausalGraph()


@settings(max_examples=40, deadline=None)
@given(admgs())
def test_from_string_matches_constructor(g):
    quote = '"{}"'.format
    esc = [quote(v.replace("\\", "\\\\").replace('"', '\\"')) for v in g.nodes]
    name = dict(zip(g.nodes, esc, strict=True))
    text = "\n".join([";".join(name[v] for v in g.nodes)]
                     + [f"{name[a]} -> {name[b]}" for a, b in g.directed_edges]
                     + [f"{name[a]}<->{name[b]}" for a, b in g.bidirected_edges])
    h = CausalGraph.from_string(text)
    assert h.nodes == g.nodes
    assert h == CausalGraph(g.directed_edges, g.bidirected_edges, nodes=g.nodes)


@pytest.mark.parametrize(
    "text", ["X -> ", "-> Y", "X Y", "X => Y", "X -> -> Y", "X -- Y", "A -> B; C D",
             "X -> X", "A -> B -> A"],
)
def test_from_string_errors(text):
    with pytest.raises(GraphError):
        CausalGraph.from_string(text)


@pytest.mark.parametrize("text", ["X -> ", "X Y", "A -> B; C D", "X => Y"])
def test_from_string_error_names_the_fragment(text):
    with pytest.raises(GraphError, match="fragment") as exc:
        CausalGraph.from_string(text)
    assert text.split(";")[-1].strip() in str(exc.value)
