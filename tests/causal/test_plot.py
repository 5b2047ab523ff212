"""Tests of causal.plot: what is drawn (boxes, edges, legend, intervals), errors, and saving."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.text import Text

import scenarios
from causal.errors import CausalSimError, GraphError, ModelError
from causal.graph import CausalGraph
from causal.plot import draw_graph, plot_distribution, save_figure


def boxes(ax) -> dict[str, FancyBboxPatch]:
    """Node boxes keyed by node name (their gid)."""
    return {p.get_gid(): p for p in ax.patches if isinstance(p, FancyBboxPatch)}


def centre(p: FancyBboxPatch) -> tuple[float, float]:
    return p.get_x() + p.get_width() / 2, p.get_y() + p.get_height() / 2


def arrows(ax) -> list[FancyArrowPatch]:
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def labels(ax) -> dict[str, Text]:
    return {t.get_text(): t for t in ax.texts}


def legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def crossings(ax) -> list[str]:
    """Edges whose drawn curve enters the box of a node other than its two ends."""
    found = []
    nodes = boxes(ax)
    for arrow in arrows(ax):
        ends = set(arrow.get_gid().replace("<->", "->").split("->"))
        points = np.vstack([seg(np.linspace(0, 1, 50)) for seg, _ in arrow.get_path().iter_bezier()])
        for v, p in nodes.items():
            if v in ends:
                continue
            x0, y0 = p.get_x() + 0.01, p.get_y() + 0.01
            x1, y1 = p.get_x() + p.get_width() - 0.01, p.get_y() + p.get_height() - 0.01
            inside = (points[:, 0] > x0) & (points[:, 0] < x1) & (points[:, 1] > y0) & (points[:, 1] < y1)
            if inside.any():
                found.append(f"{arrow.get_gid()} through {v}")
    return found


@pytest.fixture
def confounded():
    return CausalGraph([("u", "x"), ("u", "y"), ("x", "m"), ("m", "y"), ("z", "x")],
                       [("z", "y")], hidden=["u"])


def test_draw_graph_draws_every_node_and_edge(confounded):
    fig = draw_graph(confounded, title="front door")
    assert isinstance(fig, Figure) and isinstance(fig.canvas, FigureCanvasAgg)
    (ax,) = fig.axes
    assert set(boxes(ax)) == set(confounded.nodes)
    edges = arrows(ax)
    assert len(edges) == len(confounded.directed_edges) + len(confounded.bidirected_edges)
    assert sum(e.get_linestyle() == "--" for e in edges) == len(confounded.bidirected_edges)
    assert {e.get_gid() for e in edges} == {f"{a}->{b}" for a, b in confounded.directed_edges} | {"z<->y"}
    assert "front door" in labels(ax)


def test_hidden_nodes_are_dashed_and_roles_are_filled(confounded):
    ax = draw_graph(confounded, actions="x", outcomes=["y"]).axes[0]
    nodes = boxes(ax)
    for v, patch in nodes.items():
        assert (patch.get_linestyle() == "--") == (v in confounded.hidden), v
    fill = {v: to_rgba(p.get_facecolor()) for v, p in nodes.items()}
    assert len({fill["x"], fill["y"], fill["m"], fill["u"]}) == 4
    assert fill["m"] == fill["z"]
    highlighted = boxes(draw_graph(confounded, highlight={"x"}).axes[0])
    assert to_rgba(highlighted["x"].get_facecolor()) == fill["x"]


def test_legend_names_what_is_drawn(confounded):
    ax = draw_graph(confounded, actions="x", outcomes="y").axes[0]
    assert legend(ax) == ["observed", "hidden (not in the data)", "action", "outcome", "causes",
                          "hidden common cause"]
    ax = draw_graph(CausalGraph.from_string("a -> b"), highlight="a").axes[0]
    assert legend(ax) == ["observed", "highlighted", "causes"]


def test_layout_is_left_to_right_by_generation(confounded):
    ax = draw_graph(confounded).axes[0]
    x = {v: centre(p)[0] for v, p in boxes(ax).items()}
    for a, b in confounded.directed_edges:
        assert x[a] < x[b]
    assert x["u"] == x["z"]  # both sources just before their first child, x


def test_a_source_sits_next_to_its_first_child():
    g = CausalGraph.from_string("a -> b -> c -> d; s -> d")
    x = {v: centre(p)[0] for v, p in boxes(draw_graph(g).axes[0]).items()}
    assert x["s"] == x["c"]


def test_fonts_are_the_same_for_every_node():
    names = ["a", "a_rather_long_node_name", "mid_sized", *(f"v{i}" for i in range(25))]
    g = CausalGraph([(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))
                     if (i * 7 + j * 3) % 5 == 0], nodes=names)
    ax = draw_graph(g).axes[0]
    text = labels(ax)
    assert {text[v].get_fontsize() for v in names} == {10.0}
    for v, p in boxes(ax).items():  # every label fits its box
        assert p.get_width() > len(v) * 10 * 0.5 / 72


def test_edges_skipping_layers_bend_around_the_nodes_between():
    # x -> y skips the column of m, and z -> y those of m and x; the barycentre order
    # alone would put them straight through m
    g = CausalGraph.from_string("z -> x -> m -> y; x -> y; z -> y; z -> m")
    assert crossings(draw_graph(g).axes[0]) == []


@pytest.mark.parametrize("name", scenarios.names())
def test_no_edge_of_a_scenario_graph_runs_through_a_node(name):
    sc = scenarios.make(name)
    ax = draw_graph(sc.scm.graph, actions=sc.actions.nodes, outcomes=sc.outcome).axes[0]
    assert crossings(ax) == []
    observed = sc.scm.observed_graph  # hidden nodes projected out: many bidirected edges
    assert crossings(draw_graph(observed, outcomes=sc.outcome).axes[0]) == []


def test_bidirected_edges_within_a_column_are_arcs_beside_it():
    g = CausalGraph.from_string("a <-> b; a <-> c; b -> d; c -> d; a -> d")
    ax = draw_graph(g).axes[0]
    assert crossings(ax) == []
    nodes = boxes(ax)
    column_left = min(p.get_x() for v, p in nodes.items() if v in "abc")
    for arrow in arrows(ax):
        if "<->" in arrow.get_gid():
            assert arrow.get_path().vertices[:, 0].max() <= column_left + 1e-9  # on the free side


def test_values_are_printed_under_the_names():
    g = CausalGraph.from_string("a -> b")
    ax = draw_graph(g, values={"b": 2.5, "a": -1}).axes[0]
    texts = {t.get_text(): t.get_position() for t in ax.texts}
    assert {"a", "b", "2.5", "-1"} <= set(texts)
    assert texts["2.5"][1] < texts["b"][1] and texts["2.5"][0] == texts["b"][0]


def test_figure_size_does_not_depend_on_the_values():
    g = CausalGraph.from_string("a -> b -> c")
    sizes = {tuple(draw_graph(g, values=v).get_size_inches()) for v in ({"a": 1}, {"a": -123456.7, "c": 2})}
    assert len(sizes) == 1


def test_draw_into_existing_axes():
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 2, 2)
    assert draw_graph(CausalGraph.from_string("a -> b <-> c"), ax=ax, title="t") is fig
    assert len(ax.patches) == 5 and len(fig.axes) == 1 and ax.get_title() == "t"
    sizes = {t.get_fontsize() for t in ax.texts}
    assert len(sizes) == 1 and sizes.pop() <= 10.0


@pytest.mark.parametrize("n", [2, 30])
def test_small_and_large_graphs_save_to_png(tmp_path, n):
    rng = np.random.default_rng(n)
    names = [f"v{i}" for i in range(n)]
    edges = [(names[i], names[j]) for i in range(n) for j in range(i + 1, n)
             if rng.random() < min(1.0, 3 / n)]
    g = CausalGraph(edges, [(names[0], names[-1])], nodes=names, hidden=names[1:2])
    fig = draw_graph(g)
    assert len(boxes(fig.axes[0])) == n
    assert crossings(fig.axes[0]) == []
    path = save_figure(fig, tmp_path / "graph.png")
    assert path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pyplot_state_is_untouched():
    import sys

    before = "matplotlib.pyplot" in sys.modules
    backend = matplotlib.get_backend() if before else None
    draw_graph(CausalGraph.from_string("a -> b"))
    plot_distribution({"a": [1.0, 2.0]})
    assert ("matplotlib.pyplot" in sys.modules) == before
    if before:
        assert matplotlib.get_backend() == backend


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"highlight": "q"}, "highlight"), ({"values": {"q": 1.0}}, "values"),
     ({"actions": ["a", "q"]}, "actions"), ({"outcomes": "q"}, "outcomes")],
)
def test_draw_graph_errors(kwargs, match):
    with pytest.raises(GraphError, match=match):
        draw_graph(CausalGraph.from_string("a -> b"), **kwargs)


def test_draw_graph_rejects_empty_and_non_graphs():
    with pytest.raises(GraphError, match="empty"):
        draw_graph(CausalGraph())
    with pytest.raises(GraphError, match="CausalGraph"):
        draw_graph({"a": ["b"]})


# ---------------------------------------------------------------------- saving
@pytest.mark.parametrize("kind", ["png", "svg", "pdf"])
def test_save_figure_is_byte_for_byte_and_makes_folders(tmp_path, kind):
    g = CausalGraph.from_string("z -> x -> y; z -> y; x <-> y")
    a = save_figure(draw_graph(g, title="t"), tmp_path / "new" / "deeper" / f"g.{kind}")
    b = save_figure(draw_graph(g, title="t"), tmp_path / f"again.{kind}")
    assert a == tmp_path / "new" / "deeper" / f"g.{kind}"
    assert a.read_bytes() == b.read_bytes()
    assert matplotlib.__version__.encode() not in a.read_bytes()  # no version stamp


def test_save_figure_ignores_the_users_matplotlibrc(tmp_path):
    g = CausalGraph.from_string("a -> b")
    plain = save_figure(draw_graph(g), tmp_path / "plain.png").read_bytes()
    with matplotlib.rc_context({"font.family": "serif", "savefig.facecolor": "red",
                                "savefig.bbox": "tight", "svg.hashsalt": None}):
        odd = save_figure(draw_graph(g), tmp_path / "odd.png").read_bytes()
    assert odd == plain


def test_save_figure_rejects_unknown_formats_before_making_folders(tmp_path):
    with pytest.raises(CausalSimError, match=r"\.png"):
        save_figure(draw_graph(CausalGraph.from_string("a -> b")), tmp_path / "new" / "g.xyz")
    assert not (tmp_path / "new").exists()


# ---------------------------------------------------------------------- outcomes
def test_plot_distribution_arms_means_and_legend(tmp_path):
    rng = np.random.default_rng(0)
    samples = {"control": rng.normal(0.0, 1.0, 400), "treated": rng.normal(2.0, 1.0, 300),
               "list arm": [5.0, 5.0, 6.0]}
    fig = plot_distribution(samples, outcome="revenue", bins=20)
    (ax,) = fig.axes
    assert len(ax.patches) == 3  # one filled step histogram per arm
    assert len(ax.lines) == 3
    for line, arm in zip(ax.lines, samples, strict=True):
        assert line.get_xdata()[0] == pytest.approx(np.mean(samples[arm]))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("control (mean ") and legend[2] == "list arm (mean 5.333)"
    assert ax.get_xlabel() == "revenue" and ax.get_ylabel() == "density"
    heights = [p.get_path().vertices[:, 1].max() for p in ax.patches]
    assert all(h > 0 for h in heights)
    fig.savefig(tmp_path / "dist.png")
    assert (tmp_path / "dist.png").stat().st_size > 1000


def test_histograms_are_densities_on_shared_bins():
    rng = np.random.default_rng(1)
    samples = {"a": rng.normal(0, 1, 1000), "b": rng.normal(3, 0.5, 1000)}
    ax = plot_distribution(samples, bins=30).axes[0]
    edges = np.histogram_bin_edges(np.concatenate(list(samples.values())), bins=30)
    for patch, x in zip(ax.patches, samples.values(), strict=True):
        density, _ = np.histogram(x, bins=edges, density=True)
        v = patch.get_path().vertices
        assert np.all(np.isin(np.round(v[:, 0], 9), np.round(edges, 9)))  # shared edges
        assert v[:, 1].max() == pytest.approx(density.max())
        assert (density * np.diff(edges)).sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("samples", "kwargs", "match"),
    [
        ({}, {}, "non-empty mapping"),
        ([1.0, 2.0], {}, "mapping"),
        ({"a": []}, {}, "no samples"),
        ({"a": [1.0, np.nan]}, {}, "non-finite"),
        ({"a": [1.0], "b": [np.inf]}, {}, "'b'"),
        ({"a": ["x", "y"]}, {}, "not numeric"),
        ({"a": [1.0]}, {"bins": 0}, "bins"),
        ({"a": [1.0]}, {"bins": 2.5}, "bins"),
        ({"a": [1.0, 2.0]}, {"paired": True}, "two arms"),
        ({"a": [1.0, 2.0], "b": [1.0]}, {"paired": True}, r"sizes \[2, 1\]"),
    ],
)
def test_plot_distribution_errors(samples, kwargs, match):
    with pytest.raises(ModelError, match=match) as exc:
        plot_distribution(samples, **kwargs)
    assert isinstance(exc.value, CausalSimError)


def test_paired_needs_its_own_figure():
    fig = Figure()
    FigureCanvasAgg(fig)
    with pytest.raises(ModelError, match="without ax="):
        plot_distribution({"a": [1.0, 2.0], "b": [2.0, 3.0]}, paired=True, ax=fig.add_subplot())


def interval_of(ax, row: int) -> tuple[float, float, float]:
    """(point, low end, high end) of the point-and-interval drawn at ``row``."""
    (point,) = [ln for ln in ax.lines if ln.get_marker() == "o" and ln.get_ydata()[0] == row]
    bars = [c for c in ax.collections if np.allclose(c.get_segments()[0][:, 1], row)]
    (lo, _), (hi, _) = bars[0].get_segments()[0]
    return float(point.get_xdata()[0]), float(lo), float(hi)


def test_a_binary_outcome_is_drawn_as_proportions_with_intervals():
    rng = np.random.default_rng(3)
    y0, y1 = rng.binomial(1, 0.36, 4000), rng.binomial(1, 0.19, 4000)
    fig = plot_distribution({"baseline": y0, "do(brake)": y1}, outcome="collision")
    (ax,) = fig.axes
    assert ax.get_xlabel() == "share of units with collision = 1"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["baseline", "do(brake)"]
    assert not ax.patches  # no histogram
    for row, y in enumerate((y0, y1)):
        p, lo, hi = interval_of(ax, row)
        half = 1.959963984540054 * y.std(ddof=1) / np.sqrt(y.size)
        assert p == pytest.approx(y.mean()) and (lo, hi) == pytest.approx((p - half, p + half))
    assert ax.get_xlim()[0] == 0.0 and ax.get_xlim()[1] <= 1.0
    texts = " ".join(t.get_text() for t in ax.texts)
    assert f"{y0.mean():.3f}" in texts


def test_paired_adds_the_effect_of_the_unit_differences():
    rng = np.random.default_rng(4)
    y0 = rng.binomial(1, 0.4, 5000)
    y1 = np.where(rng.random(5000) < 0.7, y0, 0)  # the same units: strongly correlated worlds
    fig = plot_distribution({"baseline": y0, "do(x=1)": y1}, outcome="sick", paired=True)
    arms, effect = fig.axes
    d = y1 - y0
    p, lo, hi = interval_of(effect, 0)
    half = 1.959963984540054 * d.std(ddof=1) / np.sqrt(d.size)
    assert p == pytest.approx(d.mean()) and hi - lo == pytest.approx(2 * half)
    assert [t.get_text() for t in effect.get_yticklabels()] == ["do(x=1)\n− baseline"]
    assert effect.get_xlim()[0] < d.mean() < 0 < effect.get_xlim()[1]  # the zero line shows
    assert any(list(ln.get_xdata()) == [0, 0] for ln in effect.lines)
    # the paired interval is narrower than two independent means would give
    independent = 1.959963984540054 * np.sqrt(y0.var(ddof=1) / y0.size + y1.var(ddof=1) / y1.size)
    assert half < independent


def test_paired_continuous_outcome_keeps_the_histograms():
    rng = np.random.default_rng(5)
    x0 = rng.normal(50, 8, 2000)
    fig = plot_distribution({"baseline": x0, "do(t=30)": x0 + 3.0}, outcome="sales", paired=True)
    hist, effect = fig.axes
    assert len(hist.patches) == 2 and hist.get_ylabel() == "density"
    p, lo, hi = interval_of(effect, 0)
    assert p == pytest.approx(3.0) and hi - lo == pytest.approx(0.0, abs=1e-9)
    assert effect.get_xlabel() == "difference in sales"


def test_whole_numbers_get_one_bin_per_value():
    rng = np.random.default_rng(6)
    ax = plot_distribution({"a": rng.poisson(3, 500), "b": rng.poisson(5, 500)}).axes[0]
    xs = np.unique(np.round(ax.patches[0].get_path().vertices[:, 0], 9))
    assert np.allclose(xs - 0.5, np.round(xs - 0.5))  # edges halfway between the counts
