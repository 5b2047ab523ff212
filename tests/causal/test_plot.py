"""Tests of causal.plot: what is drawn (patches, lines, styles), errors, and saving."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

from causal.errors import CausalSimError, GraphError, ModelError
from causal.graph import CausalGraph
from causal.plot import draw_graph, plot_distribution


def circles(ax) -> dict[str, Circle]:
    """Circle patches keyed by the node label drawn at their centre."""
    labels = {t.get_position(): t.get_text() for t in ax.texts}
    return {labels[tuple(p.center)]: p for p in ax.patches if isinstance(p, Circle)}


def arrows(ax) -> list[FancyArrowPatch]:
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


@pytest.fixture
def confounded():
    return CausalGraph([("u", "x"), ("u", "y"), ("x", "m"), ("m", "y"), ("z", "x")],
                       [("z", "y")], hidden=["u"])


def test_draw_graph_draws_every_node_and_edge(confounded):
    fig = draw_graph(confounded, title="front door")
    assert isinstance(fig, Figure) and isinstance(fig.canvas, FigureCanvasAgg)
    (ax,) = fig.axes
    nodes = circles(ax)
    assert set(nodes) == set(confounded.nodes)
    edges = arrows(ax)
    assert len(edges) == len(confounded.directed_edges) + len(confounded.bidirected_edges)
    assert sum(e.get_linestyle() == "--" for e in edges) == len(confounded.bidirected_edges)
    assert ax.get_title() == "front door"


def test_hidden_nodes_are_dashed_and_highlight_is_filled(confounded):
    ax = draw_graph(confounded, highlight={"x"}).axes[0]
    nodes = circles(ax)
    for v, patch in nodes.items():
        assert (patch.get_linestyle() == "--") == (v in confounded.hidden), v
    fills = {v: p.get_facecolor() for v, p in nodes.items()}
    assert fills["x"] != fills["m"] == fills["y"]
    assert to_rgba(fills["x"]) != to_rgba(fills["u"])


def test_layout_is_left_to_right_by_generation(confounded):
    ax = draw_graph(confounded).axes[0]
    xpos = {v: p.center[0] for v, p in circles(ax).items()}
    for a, b in confounded.directed_edges:
        assert xpos[a] < xpos[b]
    assert xpos["u"] == xpos["z"]  # both sources: first column


def test_values_are_printed_under_the_names():
    g = CausalGraph.from_string("a -> b")
    ax = draw_graph(g, values={"b": 2.5, "a": -1}).axes[0]
    texts = {t.get_text(): t.get_position() for t in ax.texts}
    assert {"a", "b", "2.5", "-1"} <= set(texts)
    assert texts["2.5"][1] < texts["b"][1] and texts["2.5"][0] == texts["b"][0]


def test_draw_into_existing_axes():
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 2, 2)
    assert draw_graph(CausalGraph.from_string("a -> b <-> c"), ax=ax) is fig
    assert len(ax.patches) == 5 and len(fig.axes) == 1


@pytest.mark.parametrize("n", [2, 30])
def test_small_and_large_graphs_save_to_png(tmp_path, n):
    rng = np.random.default_rng(n)
    names = [f"v{i}" for i in range(n)]
    edges = [(names[i], names[j]) for i in range(n) for j in range(i + 1, n)
             if rng.random() < min(1.0, 3 / n)]
    g = CausalGraph(edges, [(names[0], names[-1])], nodes=names, hidden=names[1:2])
    fig = draw_graph(g)
    assert len(circles(fig.axes[0])) == n
    path = tmp_path / "graph.png"
    fig.savefig(path)
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
    [({"highlight": "q"}, "highlight"), ({"values": {"q": 1.0}}, "values")],
)
def test_draw_graph_errors(kwargs, match):
    with pytest.raises(GraphError, match=match):
        draw_graph(CausalGraph.from_string("a -> b"), **kwargs)


def test_draw_graph_rejects_empty_and_non_graphs():
    with pytest.raises(GraphError, match="empty"):
        draw_graph(CausalGraph())
    with pytest.raises(GraphError, match="CausalGraph"):
        draw_graph({"a": ["b"]})


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
    ],
)
def test_plot_distribution_errors(samples, kwargs, match):
    with pytest.raises(ModelError, match=match) as exc:
        plot_distribution(samples, **kwargs)
    assert isinstance(exc.value, CausalSimError)
