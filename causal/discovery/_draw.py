"""Side-by-side drawing of a true and a found graph (:func:`compare_graphs`).

Both panels use one layout, computed from the reference graph with the
layering and ordering helpers of :mod:`causal.plot`, so the same node sits in
the same place on both sides and differences are easy to see.
"""

from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from causal.discovery.metrics import edge_differences, reference_graph
from causal.discovery.pgraph import ARROW, CIRCLE, PartialGraph
from causal.errors import GraphError
from causal.graph import CausalGraph
from causal.plot import _EDGE, _FONT, _OBSERVED, _RC, _layers, _order, _text_width

__all__ = ["compare_graphs"]

_COLORS = {"same": _EDGE, "missing": "#c0392b", "extra": "#e67e22", "reversed": "#2874a6", "marks": "#8e44ad"}
_LABELS = {"same": "as in the truth", "missing": "missing (only in the truth)", "extra": "extra (only found)",
           "reversed": "reversed", "marks": "other marks differ"}


def _layout(ref: PartialGraph) -> dict[str, tuple[float, float]]:
    """Node positions: layers from the directed edges of ``ref`` (undirected ones in node order)."""
    nodes = ref.nodes
    rank = {v: i for i, v in enumerate(nodes)}
    directed = list(ref.directed_edges)
    directed += [(a, b) if rank[a] < rank[b] else (b, a) for a, b, k in ref.edges if k != "->" and k != "<-"
                 and k != "<->"]
    try:
        g = CausalGraph(directed, nodes=nodes)
    except GraphError:  # orienting open edges by node order made a cycle: fall back on node order
        g = CausalGraph([(a, b) if rank[a] < rank[b] else (b, a) for a, b, _ in ref.edges], nodes=nodes)
    layer = _layers(g)
    layers: list[list[Any]] = [[] for _ in range(max(layer.values()) + 1)]
    for v in g.topological_order():
        layers[layer[v]].append(v)
    up = {v: [p for p in g.parents(v) if layer[p] == layer[v] - 1] for v in nodes}
    down = {v: [c for c in g.children(v) if layer[c] == layer[v] + 1] for v in nodes}
    layers = _order(layers, up, down)
    pos = {}
    for k, col in enumerate(layers):
        for i, v in enumerate(col):
            pos[v] = (2.2 * k, -(i - (len(col) - 1) / 2) * 1.0)
    return pos


def _draw_panel(ax: Axes, g: PartialGraph, status: dict[tuple[str, str], str],
                pos: dict[str, tuple[float, float]], title: str, dashed: frozenset[str]) -> None:
    m, idx = g.matrix, {v: i for i, v in enumerate(g.nodes)}
    for v, (x, y) in pos.items():
        ax.text(x, y, v, ha="center", va="center", fontsize=_FONT, zorder=3,
                bbox={"boxstyle": "round,pad=0.35", "facecolor": _OBSERVED, "edgecolor": "0.3"})
    for a, b, _ in g.edges:
        kind = status.get((a, b), status.get((b, a), "same"))
        if kind not in dashed and kind == "missing":
            continue
        at_a, at_b = int(m[idx[b], idx[a]]), int(m[idx[a], idx[b]])
        style = ("<" if at_a == ARROW else "") + "-" + (">" if at_b == ARROW else "")
        style = {"-": "-", "->": "-|>", "<-": "<|-", "<->": "<|-|>"}[style]
        pa, pb = np.array(pos[a]), np.array(pos[b])
        color = _COLORS[kind]
        ax.add_patch(FancyArrowPatch(pa, pb, arrowstyle=style, mutation_scale=12, shrinkA=22, shrinkB=22,
                                     color=color, lw=1.6, linestyle="--" if kind in dashed else "-",
                                     connectionstyle="arc3,rad=0.08", zorder=2))
        unit = (pb - pa) / max(np.hypot(*(pb - pa)), 1e-9)
        for end, mark, sign in ((pa, at_a, 1), (pb, at_b, -1)):
            if mark == CIRCLE:
                c = end + sign * unit * 0.5
                ax.plot(*c, marker="o", ms=6, mfc="white", mec=color, mew=1.4, zorder=4)
    xs, ys = zip(*pos.values(), strict=True)
    ax.set_xlim(min(xs) - 1.0, max(xs) + 1.0)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.set_title(title, fontsize=_FONT + 1)
    ax.axis("off")


def compare_graphs(found: PartialGraph, true: CausalGraph | PartialGraph, reference: str = "auto", *,
                   titles: tuple[str, str] = ("true", "found")) -> Figure:
    """Draw the true (reference) graph and the found graph side by side, differences coloured.

    Left: the reference graph (see :func:`causal.discovery.metrics.reference_graph`),
    edges the search missed dashed red. Right: the found graph, extra edges
    orange, reversed ones blue, other mark differences purple. Circle marks
    are drawn as small open circles.

    Parameters
    ----------
    found : PartialGraph
        Output of a discovery method.
    true : CausalGraph or PartialGraph
        The true graph.
    reference : {"auto", "cpdag", "pag", "graph"}
        What ``found`` is compared with.
    titles : (str, str)
        Panel titles.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> true = CausalGraph.from_string("a -> c; b -> c; c -> d")
    >>> found = PartialGraph(["a", "b", "c", "d"], [("a", "c", "->"), ("b", "c", "->"), ("a", "d", "--")])
    >>> fig = compare_graphs(found, true)
    >>> len(fig.axes)
    2
    """
    ref = reference_graph(found, true, reference)
    diffs = edge_differences(found, ref)
    status = {pair: kind for kind, pairs in diffs.items() for pair in pairs}
    pos = _layout(ref)
    width = max(6.0, 2 * (max(x for x, _ in pos.values()) + 2.0) * 0.7
                + 2 * max(_text_width(v, _FONT) for v in ref.nodes))
    height = max(3.0, 1.0 * (max(y for _, y in pos.values()) - min(y for _, y in pos.values())) + 2.2)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(fig)
        left, right = fig.subplots(1, 2)
        _draw_panel(left, ref, {p: k for p, k in status.items() if k in ("missing", "same")}, pos,
                    f"{titles[0]} ({len(ref.edges)} edges)", frozenset({"missing"}))
        _draw_panel(right, found, {p: k for p, k in status.items() if k != "missing"}, pos,
                    f"{titles[1]} ({len(found.edges)} edges)", frozenset())
        used = [k for k in _COLORS if diffs[k]]
        handles = [Line2D([], [], color=_COLORS[k], lw=1.6, linestyle="--" if k == "missing" else "-",
                          label=f"{_LABELS[k]}: {len(diffs[k])}") for k in used]
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3),
                       fontsize=_FONT - 1, frameon=False)
    return fig
