"""Plots of causal graphs and of outcomes under interventions.

Every function returns a :class:`matplotlib.figure.Figure` built directly on
the Agg canvas (:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`),
never through :mod:`matplotlib.pyplot`: nothing is shown, no global figure
state is touched, and it works on headless machines. Passing ``ax=`` draws
into an existing axes instead and returns that axes' figure.

Save with :func:`save_figure`: it creates missing folders and writes no
version or date metadata, so the same figure gives the same bytes (with the
same matplotlib and FreeType).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextToPath

from causal.errors import CausalSimError, EstimationError, GraphError, ModelError
from causal.graph import CausalGraph

__all__ = ["draw_graph", "plot_distribution", "love_plot", "save_figure"]

#: Settings every figure is drawn and saved with, so that output does not depend
#: on a user's matplotlibrc: the font matplotlib ships, white background, fixed SVG ids.
_RC = {"font.family": "DejaVu Sans", "svg.hashsalt": "causalsim", "svg.fonttype": "path",
       "savefig.facecolor": "white", "savefig.edgecolor": "white", "savefig.transparent": False,
       "savefig.bbox": None, "savefig.pad_inches": 0.1}
#: Per format, the metadata keys matplotlib fills with its version or the current date.
_NO_STAMPS = {"png": {"Software": None}, "svg": {"Creator": None, "Date": None},
              "pdf": {"Creator": None, "Producer": None, "CreationDate": None}}

# Graph geometry, in inches at the label size _FONT (the figure grows with the graph;
# fonts never shrink per node).
_FONT = 10.0
_BOX_H, _PAD_X = 0.36, 0.14        # node box height, text padding left and right
_NODE_GAP, _DUMMY_GAP = 0.30, 0.14  # vertical gap between boxes; next to an edge passing by
_VALUE_H = 0.20                     # room under a box for its value
_PORT = 0.075                       # spacing of edge ends along a box side
_OBSERVED, _HIDDEN, _ACTION, _OUTCOME = "#dbe9f6", "#f2f2f2", "#f4a261", "#9fd8a4"
_EDGE, _CONFOUNDED = "0.25", "#b03a2e"


class _Dummy:
    """A bend point of an edge in a layer between its ends (keeps edges off the nodes there)."""

    __slots__ = ("edge",)

    def __init__(self, edge: int) -> None:
        self.edge = edge


def _text_width(text: str, size: float) -> float:
    """Width in inches of ``text`` in DejaVu Sans at ``size`` points (the font the figure uses)."""
    w, _, _ = TextToPath().get_text_width_height_descent(
        text, FontProperties(family="DejaVu Sans", size=size), ismath=False)
    return w / 72.0


def _layers(g: CausalGraph) -> dict[str, int]:
    """Layer of each node: its topological generation, sources moved next to their first child."""
    order = g.topological_order()
    layer: dict[str, int] = {}
    for v in order:
        layer[v] = 1 + max((layer[p] for p in g.parents(v)), default=-1)
    for v in order:  # a source feeding only late nodes would make long edges
        if not g.parents(v) and g.children(v):
            layer[v] = min(layer[c] for c in g.children(v)) - 1
    return layer


def _crossings(layers: list[list[Any]], down: dict[Any, list[Any]]) -> int:
    total = 0
    for k in range(len(layers) - 1):
        where = {el: i for i, el in enumerate(layers[k + 1])}
        pairs = sorted((i, where[b]) for i, a in enumerate(layers[k]) for b in down[a])
        total += sum(1 for i, (a1, b1) in enumerate(pairs) for a2, b2 in pairs[i + 1:]
                     if a1 != a2 and b2 < b1)
    return total


def _order(layers: list[list[Any]], up: dict[Any, list[Any]], down: dict[Any, list[Any]],
           sweeps: int = 16) -> list[list[Any]]:
    """Barycentre heuristic: sort each layer by its neighbours' mean rank, sweeping down and up."""
    layers = [list(layer) for layer in layers]
    rank = {el: i for layer in layers for i, el in enumerate(layer)}
    best, fewest = [list(layer) for layer in layers], _crossings(layers, down)
    for sweep in range(sweeps):
        ks = range(1, len(layers)) if sweep % 2 == 0 else range(len(layers) - 2, -1, -1)
        nbr = up if sweep % 2 == 0 else down
        for k in ks:
            layers[k].sort(key=lambda el: float(np.mean([rank[n] for n in nbr[el]]))
                           if nbr[el] else float(rank[el]))  # stable: deterministic
            rank.update({el: i for i, el in enumerate(layers[k])})
        if (c := _crossings(layers, down)) < fewest:
            best, fewest = [list(layer) for layer in layers], c
    return best


def _isotonic(target: list[float]) -> list[float]:
    """Least-squares non-decreasing fit to ``target`` (pool adjacent violators)."""
    blocks: list[list[float]] = []
    for t in target:
        blocks.append([t, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    return [s / c for s, c in blocks for _ in range(int(c))]


def _rows(layers: list[list[Any]], up: dict[Any, list[Any]], down: dict[Any, list[Any]],
          half: dict[Any, float]) -> dict[Any, float]:
    """Heights: each element near its neighbours' mean height, in its layer's order, never overlapping."""
    def gaps(layer: list[Any]) -> list[float]:
        cum, out = 0.0, [0.0]
        for a, b in zip(layer, layer[1:], strict=False):
            both = not isinstance(a, _Dummy) and not isinstance(b, _Dummy)
            cum += half[a] + half[b] + (_NODE_GAP if both else _DUMMY_GAP)
            out.append(cum)
        return out

    y: dict[Any, float] = {}
    for layer in layers:
        s = gaps(layer)
        y.update({el: s[-1] / 2 - si for el, si in zip(layer, s, strict=True)})
    for sweep in range(24):
        ks = range(len(layers)) if sweep % 2 == 0 else range(len(layers) - 1, -1, -1)
        for k in ks:
            layer, s = layers[k], gaps(layers[k])
            want = [float(np.mean([y[n] for n in up[el] + down[el]])) if up[el] + down[el] else y[el]
                    for el in layer]
            # y_i <= y_{i-1} - gap  <=>  w_i = -y_i - s_i is non-decreasing
            w = _isotonic([-t - si for t, si in zip(want, s, strict=True)])
            y.update({el: -(wi + si) for el, wi, si in zip(layer, w, s, strict=True)})
    return y


def _names(what: str, names: str | Iterable[str] | None, g: CausalGraph) -> frozenset[str]:
    out = frozenset([names] if isinstance(names, str) else (names or ()))
    if unknown := sorted(out - set(g.nodes), key=str):
        raise GraphError(f"{what} names unknown nodes {unknown}; the graph has {list(g)}")
    return out


def _bezier(a: tuple[float, float], b: tuple[float, float]) -> tuple[list, list]:
    """An S-curve from ``a`` to ``b``, leaving and arriving horizontally."""
    c = (b[0] - a[0]) / 2
    return [(a[0] + c, a[1]), (b[0] - c, b[1]), b], [MplPath.CURVE4] * 3


def draw_graph(
    g: CausalGraph,
    *,
    values: Mapping[str, float] | None = None,
    highlight: str | Iterable[str] = (),
    actions: str | Iterable[str] = (),
    outcomes: str | Iterable[str] = (),
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Draw a causal graph left to right in layers, with a legend.

    Each node is a labelled box in the column of its topological generation
    (a source sits just before its first child); within a column the order
    comes from the barycentre heuristic, which keeps edge crossings few. Edges
    run between the columns as smooth curves; an edge that skips columns bends
    through a free slot of each column it passes, so no edge crosses a node.
    Every label has the same font size: a bigger graph makes a bigger figure.
    Hidden nodes are dashed and grey, bidirected edges (a hidden common cause)
    dashed red double arrows; the legend names what is drawn.

    Parameters
    ----------
    g : CausalGraph
        The graph to draw.
    values : mapping of str to float, optional
        Numbers printed under the node names (e.g. a unit's values, or means).
    highlight : str or collection of str
        Nodes filled in orange, e.g. the intervened-on node.
    actions, outcomes : str or collection of str
        Nodes an agent sets (orange) and the outcome it cares about (green).
    ax : matplotlib.axes.Axes, optional
        Draw into this axes (fonts then shrink, all alike, if it is too small);
        by default a new figure sized to the graph is created.
    title : str, optional
        Title above the graph.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    GraphError
        If the graph is empty or ``values``, ``highlight``, ``actions`` or
        ``outcomes`` name unknown nodes.

    Examples
    --------
    >>> g = CausalGraph.from_string("Z -> X -> Y; Z -> Y; X <-> Y")
    >>> fig = draw_graph(g, actions="X", outcomes="Y", values={"Y": 3.2}, title="do(X)")
    >>> len(fig.axes), len(fig.axes[0].patches)  # 3 boxes, 4 edges
    (1, 7)
    """
    if not isinstance(g, CausalGraph):
        raise GraphError(f"draw_graph expects a CausalGraph, got {type(g).__name__}")
    if not len(g):
        raise GraphError("cannot draw an empty graph; give it at least one node")
    highlight = _names("highlight", highlight, g)
    actions, outcomes = _names("actions", actions, g), _names("outcomes", outcomes, g)
    values = dict(values or {})
    _names("values", values, g)
    with matplotlib.rc_context(_RC):
        return _draw_graph(g, values, highlight, actions, outcomes, ax, title)


def _draw_graph(g: CausalGraph, values: dict[str, float], highlight: frozenset[str],
                actions: frozenset[str], outcomes: frozenset[str], ax: Axes | None,
                title: str | None) -> Figure:
    # ---- layers, with a bend point wherever an edge skips a layer
    layer = _layers(g)
    nlayers = max(layer.values()) + 1
    layers: list[list[Any]] = [[] for _ in range(nlayers)]
    for v in g.topological_order():
        layers[layer[v]].append(v)
    up: dict[Any, list[Any]] = {v: [] for v in g.nodes}
    down: dict[Any, list[Any]] = {v: [] for v in g.nodes}
    edges = [(a, b, False) for a, b in g.directed_edges]
    edges += [(a, b, True) if layer[a] <= layer[b] else (b, a, True) for a, b in g.bidirected_edges]
    chains: list[list[Any]] = []
    for i, (a, b, _) in enumerate(edges):
        chain: list[Any] = [a]
        if layer[a] == layer[b]:  # a bidirected edge within a column: an arc beside it
            chains.append([a, b])
            continue
        for k in range(layer[a] + 1, layer[b]):
            d = _Dummy(i)
            layers[k].append(d)
            up[d], down[d] = [], []
            chain.append(d)
        chain.append(b)
        for p, q in zip(chain, chain[1:], strict=False):
            down[p].append(q)
            up[q].append(p)
        chains.append(chain)
    layers = _order(layers, up, down)

    # ---- sizes (inches at _FONT), rows and columns
    value_h = _VALUE_H if values else 0.0
    width = {v: _text_width(v, _FONT) + 2 * _PAD_X for v in g.nodes}
    # a node with many edges on one side is taller, so that their arrowheads stay apart
    height = {v: max(_BOX_H, _PORT * (max(len(up[v]), len(down[v])) - 1) + 0.16) for v in g.nodes}
    half: dict[Any, float] = {el: 0.0 if isinstance(el, _Dummy) else (height[el] + value_h) / 2
                              for lay in layers for el in lay}
    y = _rows(layers, up, down, half)
    for v in g.nodes:  # the box sits at the top of its slot, the value below it
        y[v] += value_h / 2
    col_w = [max([width[el] for el in lay if not isinstance(el, _Dummy)], default=0.3)
             for lay in layers]
    x_col = [col_w[0] / 2]
    for k in range(1, nlayers):
        jump = max([abs(y[p] - y[q]) for p in layers[k - 1] for q in down[p]], default=0.0)
        x_col.append(x_col[-1] + col_w[k - 1] / 2 + float(np.clip(0.32 * jump, 0.75, 1.6))
                     + col_w[k] / 2)
    x = {el: x_col[k] for k, lay in enumerate(layers) for el in lay}

    # ---- where each edge leaves and enters a box: spread along the side, ordered by height
    out_y: dict[tuple[int, str], float] = {}
    in_y: dict[tuple[int, str], float] = {}
    for v in g.nodes:
        for ports, side in ((out_y, 1), (in_y, 0)):
            ends = sorted(((y[c[1 if side else -2]], i) for i, c in enumerate(chains)
                           if c[0 if side else -1] == v and len(c) > 1 and layer[c[0]] != layer[c[-1]]),
                          reverse=True)
            span = min(_PORT * (len(ends) - 1), height[v] - 0.16)
            for j, (_, i) in enumerate(ends):
                ports[i, v] = y[v] + (span / 2 - j * span / max(len(ends) - 1, 1))

    # ---- a bidirected edge within a column: an arc beside it, on the side with fewer edges
    arcs: dict[int, tuple[list, list]] = {}
    xmin, xmax = -0.25, x_col[-1] + col_w[-1] / 2 + 0.25
    for i, (a, b, _) in enumerate(edges):
        if layer[a] != layer[b]:
            continue
        k = layer[a]
        inbound = sum(len(up[el]) for el in layers[k])  # arrowheads crowd the left side
        outbound = sum(len(down[el]) for el in layers[k])
        side = 1 if outbound <= inbound else -1
        edge = x_col[k] + side * col_w[k] / 2
        room = (x_col[k + side] - side * col_w[k + side] / 2 - edge) * side / 2 \
            if 0 <= k + side < nlayers else math.inf
        bulge = min(0.3 + 0.12 * abs(y[a] - y[b]), room / 0.75) * side
        ends = [(x[v] + side * width[v] / 2, y[v]) for v in (a, b)]
        verts, codes = [ends[0]], [MplPath.MOVETO]
        if abs(edge - ends[0][0]) > 1e-6:
            verts.append((edge, y[a]))
            codes.append(MplPath.LINETO)
        verts += [(edge + bulge, y[a]), (edge + bulge, y[b]), (edge, y[b])]
        codes += [MplPath.CURVE4] * 3
        if abs(edge - ends[1][0]) > 1e-6:
            verts.append(ends[1])
            codes.append(MplPath.LINETO)
        arcs[i] = verts, codes
        xmin, xmax = min(xmin, edge + 0.75 * bulge - 0.15), max(xmax, edge + 0.75 * bulge + 0.15)
    # ---- figure: own (1 data unit = 1 inch) or the given axes (one shared font scale)
    ys = [y[v] + height[v] / 2 for v in g.nodes] + [y[v] - height[v] / 2 - value_h for v in g.nodes]
    ys += [y[el] for lay in layers for el in lay]
    ymin, ymax = min(ys) - 0.2, max(ys) + 0.2
    handles = _legend_handles(g, highlight, actions, outcomes)
    own = ax is None
    if own:
        legend_w = sum(_text_width(str(h.get_label()), 9.0) + 0.75 for h in handles)
        ncol = len(handles) if legend_w <= max(xmax - xmin, 6.0) else math.ceil(len(handles) / 2)
        rows = math.ceil(len(handles) / ncol)
        legend_h, title_h = 0.25 + 0.22 * rows, 0.45 if title else 0.0
        need_w = max(xmax - xmin, legend_w / rows + 0.3, _text_width(title or "", 12.0) + 0.4)
        xmin, xmax = (xmin + xmax - need_w) / 2, (xmin + xmax + need_w) / 2
        ymin, ymax = ymin - legend_h, ymax + title_h
        fig = Figure(figsize=(xmax - xmin, ymax - ymin), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        scale = 1.0
    else:
        fig = ax.figure
        box = ax.get_position()
        scale = min(1.0, fig.get_figwidth() * box.width / (xmax - xmin),
                    fig.get_figheight() * box.height / (ymax - ymin))
        ncol = 1
    font = _FONT * scale

    # ---- nodes
    for v in g.nodes:
        hidden = v in g.hidden
        fill = (_ACTION if v in actions or v in highlight else _OUTCOME if v in outcomes
                else _HIDDEN if hidden else _OBSERVED)
        ax.add_patch(FancyBboxPatch((x[v] - width[v] / 2, y[v] - height[v] / 2), width[v], height[v],
                                    boxstyle="round,pad=0,rounding_size=0.1", facecolor=fill,
                                    edgecolor="0.45" if hidden else "black", linewidth=1.3,
                                    linestyle="--" if hidden else "-", zorder=3, gid=v))
        ax.text(x[v], y[v], v, ha="center", va="center_baseline", fontsize=font, zorder=4,
                color="0.3" if hidden else "black")
        if v in values:
            ax.text(x[v], y[v] - height[v] / 2 - 0.03, f"{values[v]:.3g}", ha="center", va="top",
                    fontsize=0.85 * font, color="#1f4e79", zorder=4)

    # ---- edges
    for i, ((a, b, bidirected), chain) in enumerate(zip(edges, chains, strict=True)):
        style = {"color": _CONFOUNDED, "linestyle": "--", "arrowstyle": "<|-|>"} if bidirected \
            else {"color": _EDGE, "linestyle": "-", "arrowstyle": "-|>"}
        if i in arcs:
            verts, codes = arcs[i]
        else:
            start = (x[a] + width[a] / 2, out_y[i, a])
            verts, codes = [start], [MplPath.MOVETO]
            here = (x[a] + col_w[layer[a]] / 2, start[1])
            if here[0] - start[0] > 1e-6:
                verts.append(here)
                codes.append(MplPath.LINETO)
            for k, el in enumerate(chain[1:-1], start=layer[a] + 1):  # level, in its own slot
                vs, cs = _bezier(verts[-1], (x[el] - col_w[k] / 2, y[el]))
                verts += vs + [(x[el] + col_w[k] / 2, y[el])]
                codes += cs + [MplPath.LINETO]
            end = (x[b] - width[b] / 2, in_y[i, b])
            col_left = (x[b] - col_w[layer[b]] / 2, end[1])
            vs, cs = _bezier(verts[-1], col_left)
            verts += vs
            codes += cs
            if end[0] - col_left[0] > 1e-6:
                verts.append(end)
                codes.append(MplPath.LINETO)
        ax.add_patch(FancyArrowPatch(path=MplPath(verts, codes), mutation_scale=1.4 * font,
                                     linewidth=1.2, zorder=2, shrinkA=0, shrinkB=0,
                                     gid=f"{a}<->{b}" if bidirected else f"{a}->{b}", **style))

    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if own:  # title and legend inside the figure, which fits them
        if title:
            ax.text((xmin + xmax) / 2, ymax - 0.12, title, ha="center", va="top", fontsize=12)
        ax.legend(handles=handles, loc="lower center", ncol=ncol, frameon=False, fontsize=9,
                  handlelength=2.2, columnspacing=1.4, borderaxespad=0.15)
    else:
        if title is not None:
            ax.set_title(title)
        ax.legend(handles=handles, loc="best", frameon=False, fontsize=0.9 * font)
    return fig


def _legend_handles(g: CausalGraph, highlight: frozenset[str], actions: frozenset[str],
                    outcomes: frozenset[str]) -> list[Any]:
    """Legend entries for what the drawing shows (only those present)."""
    box = {"linewidth": 1.3}
    handles: list[Any] = []
    if set(g.observed) - actions - outcomes - highlight:
        handles.append(Patch(facecolor=_OBSERVED, edgecolor="black", label="observed", **box))
    if g.hidden - actions - outcomes - highlight:
        handles.append(Patch(facecolor=_HIDDEN, edgecolor="0.45", linestyle="--",
                             label="hidden (not in the data)", **box))
    if actions:
        handles.append(Patch(facecolor=_ACTION, edgecolor="black", label="action", **box))
    if highlight - actions:
        handles.append(Patch(facecolor=_ACTION, edgecolor="black", label="highlighted", **box))
    if outcomes:
        handles.append(Patch(facecolor=_OUTCOME, edgecolor="black", label="outcome", **box))
    if g.directed_edges:
        handles.append(Line2D([], [], color=_EDGE, linewidth=1.2, marker=">", markevery=[-1],
                              markersize=5, label="causes"))
    if g.bidirected_edges:
        handles.append(Line2D([], [], color=_CONFOUNDED, linewidth=1.2, linestyle="--",
                              label="hidden common cause"))
    return handles


def _finite_1d(arm: Any, x: Any) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise ModelError(f"samples of arm {arm!r} are not numeric: {exc}") from exc
    if a.size == 0:
        raise ModelError(f"arm {arm!r} has no samples; give at least one value")
    if bad := int(np.count_nonzero(~np.isfinite(a))):
        raise ModelError(f"arm {arm!r} has {bad} non-finite values (nan/inf); drop or fix them")
    return a



def _decimals(largest: float, spread: float) -> int:
    """Decimals for four significant digits of ``largest`` that also resolve ``spread``.

    The rule of the command line's tables (:func:`causalsim.report.decimals`), so that a
    figure and the table printed with it show the same digits.
    """
    d = 3 - math.floor(math.log10(largest)) if largest > 0 else 4
    if math.isfinite(spread) and spread > 1e-9 * max(largest, 1e-300):
        d = max(d, -math.floor(math.log10(spread)))
    return int(min(max(d, 0), 8))


def _mean_interval(a: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its 95% normal interval, ``1.96 · sd / √n`` (nan for one value)."""
    half = 1.959963984540054 * float(a.std(ddof=1)) / math.sqrt(a.size) if a.size > 1 else math.nan
    return float(a.mean()), half


def _point_row(ax: Axes, row: int, mean: float, half: float, color: str,
               clip: tuple[float, float] = (-math.inf, math.inf)) -> tuple[float, str]:
    """A point with its 95% interval as a horizontal bar; returns where and what to write above it."""
    lo, hi = max(mean - half, clip[0]), min(mean + half, clip[1])
    if math.isfinite(half):
        ax.errorbar([mean], [row], xerr=[[mean - lo], [hi - mean]], fmt="o", color=color,
                    markersize=7, elinewidth=2.2, capsize=5, capthick=1.6, zorder=3)
        d = _decimals(abs(mean), half)
        return mean, f"{mean:.{d}f}   [{lo:.{d}f}, {hi:.{d}f}]"
    ax.plot([mean], [row], "o", color=color, markersize=7, zorder=3)
    return mean, f"{mean:.4g} (one value: no interval)"


def _rows_axes(ax: Axes, labels: Sequence[str], notes: Sequence[tuple[float, str]]) -> None:
    """Rows top to bottom, each point's numbers above it (towards the middle: never clipped)."""
    k = len(labels)
    ax.set_yticks(range(k), labels)
    ax.set_ylim(k - 0.45, -0.6)  # first row at the top, room for the numbers above each point
    ax.grid(axis="x", color="0.9", zorder=0)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    middle = sum(ax.get_xlim()) / 2
    for row, (x, note) in enumerate(notes):
        ax.text(x, row - 0.16, note, ha="left" if x <= middle else "right", va="bottom",
                fontsize=9, color="0.15")


def _proportions(ax: Axes, arms: dict[str, np.ndarray], outcome: str) -> None:
    notes, highest = [], 0.0
    for i, a in enumerate(arms.values()):
        mean, half = _mean_interval(a)
        notes.append(_point_row(ax, i, mean, half, f"C{i % 10}", clip=(0.0, 1.0)))
        highest = max(highest, mean + (half if math.isfinite(half) else 0.0))
    ax.set_xlim(0.0, 1.0 if highest > 0.6 else math.ceil(highest * 1.35 * 20 + 1e-9) / 20 or 0.05)
    _rows_axes(ax, list(arms), notes)
    name = outcome.removesuffix(" [0/1]")  # the unit says again that it is binary
    ax.set_xlabel(f"share of units with {name} = 1")
    ax.set_title("Each arm: the share, with its 95% interval", fontsize=10, loc="left")


def _histograms(ax: Axes, arms: dict[str, np.ndarray], outcome: str, bins: int) -> None:
    pooled = np.concatenate(list(arms.values()))
    lo, hi = float(pooled.min()), float(pooled.max())
    if np.array_equal(pooled, np.round(pooled)) and hi - lo < bins:  # counts: one bar per value
        edges = np.arange(lo - 0.5, hi + 1.0)
    else:
        edges = np.histogram_bin_edges(pooled, bins=int(bins))
    for i, (arm, a) in enumerate(arms.items()):
        color, mean = f"C{i % 10}", float(a.mean())
        ax.hist(a, bins=edges, density=True, histtype="stepfilled", alpha=0.35, color=color,
                edgecolor=color, label=f"{arm} (mean {mean:.4g})")
        ax.axvline(mean, color=color, linestyle="--", linewidth=1.5)
    ax.set_xlabel(outcome)
    ax.set_ylabel("density")
    ax.legend(frameon=False)
    ax.set_title("Each arm: the distribution (dashed: its mean)", fontsize=10, loc="left")


def _effect(ax: Axes, diff: np.ndarray, label: str, what: str) -> None:
    mean, half = _mean_interval(diff)
    note = _point_row(ax, 0, mean, half, "black")
    ax.axvline(0.0, color="0.3", linestyle="--", linewidth=1.0, zorder=2.5)
    reach = max(abs(mean) + (half if math.isfinite(half) else 0.0), 1e-12)
    ax.set_xlim(-1.3 * reach if mean - half < 0.3 * reach else -0.15 * reach,
                1.3 * reach if mean + half > -0.3 * reach else 0.15 * reach)
    _rows_axes(ax, [label], [note])
    ax.set_xlabel(what)
    ax.set_title("The effect on the same units (paired), with its 95% interval", fontsize=10,
                 loc="left")


def plot_distribution(
    samples_by_arm: Mapping[str, Any],
    *,
    outcome: str = "outcome",
    bins: int = 50,
    paired: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """The outcome under each arm, and with ``paired=True`` the effect, each with its 95% interval.

    A 0/1 outcome (every value 0 or 1) is drawn as the proportion of ones in
    each arm, a point with its 95% interval (``p ± 1.96 · sd / √n``, clipped
    to [0, 1]); any other outcome as overlaid density histograms on shared
    bins, a dashed line at each arm's mean. With ``paired=True`` the two arms
    are the same units in two worlds (a what-if), and a second panel shows the
    mean of the unit-level differences (second arm minus first) with its 95%
    interval, ``mean ± 1.96 · sd / √n`` of the differences, and a line at 0.

    Parameters
    ----------
    samples_by_arm : mapping of str to array-like
        Outcome samples per arm, e.g. ``{"baseline": y0, "do(price=9.99)": y1}``.
    outcome : str
        Name of the outcome, for the axis labels.
    bins : int
        Number of shared histogram bins (not used for a 0/1 outcome; whole numbers
        spanning fewer than ``bins`` values get one bin per value).
    paired : bool
        The two arms hold the same units, in the same order: add the effect panel.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes (not with ``paired=True``, which needs two);
        by default a new figure is created.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ModelError
        If the mapping is empty, an arm is empty, non-numeric or non-finite,
        ``bins`` is not a positive integer, or ``paired=True`` is given other
        than two arms of equal size, or with ``ax``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> fig = plot_distribution({"control": rng.normal(0, 1, 500),
    ...                          "treated": rng.normal(1, 1, 500)}, outcome="revenue")
    >>> ax = fig.axes[0]
    >>> len(ax.patches), len(ax.lines), ax.get_xlabel()
    (2, 2, 'revenue')
    >>> y0 = rng.binomial(1, 0.3, 1000)
    >>> y1 = np.maximum(y0, rng.binomial(1, 0.2, 1000))
    >>> fig = plot_distribution({"baseline": y0, "do(x=1)": y1}, outcome="cured", paired=True)
    >>> [a.get_xlabel() for a in fig.axes]
    ['share of units with cured = 1', 'difference in the share with cured = 1']
    """
    if not isinstance(samples_by_arm, Mapping) or not samples_by_arm:
        raise ModelError("samples_by_arm must be a non-empty mapping {arm name: samples}")
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ModelError(f"bins must be a positive integer, got {bins!r}")
    arms = {str(arm): _finite_1d(arm, x) for arm, x in samples_by_arm.items()}
    if paired:
        sizes = [a.size for a in arms.values()]
        if len(arms) != 2 or sizes[0] != sizes[1]:
            raise ModelError(f"paired=True needs two arms of the same units (equal sizes); got "
                             f"{len(arms)} arms of sizes {sizes}")
        if ax is not None:
            raise ModelError("paired=True draws two panels (the arms and the effect); call it "
                             "without ax=")
    binary = all(np.isin(a, (0.0, 1.0)).all() for a in arms.values())
    with matplotlib.rc_context(_RC):
        if ax is None:
            top = 0.5 * len(arms) + 1.2 if binary else 3.6
            fig = Figure(figsize=(7.0, top + (1.4 if paired else 0.0)), layout="constrained")
            FigureCanvasAgg(fig)
            axes = fig.subplots(2, 1, height_ratios=[top, 1.4]) if paired else [fig.add_subplot()]
            ax = axes[0]
        (_proportions(ax, arms, outcome) if binary else _histograms(ax, arms, outcome, bins))
        if paired:
            (first, y0), (second, y1) = arms.items()
            what = (f"difference in the share with {outcome.removesuffix(' [0/1]')} = 1" if binary
                    else f"difference in {outcome}")
            _effect(axes[1], y1 - y0, f"{second}\n− {first}", what)
    return ax.figure


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: float = 100,
                format: str | None = None) -> Path:
    """Save ``fig`` to ``path``, creating missing folders; the same figure gives the same bytes.

    No version or date is written into the file (PNG ``Software``; SVG
    ``Creator`` and ``Date``; PDF ``Creator``, ``Producer`` and
    ``CreationDate``), SVG element ids come from a fixed salt, and the saving
    settings are fixed rather than read from a matplotlibrc. The pixels still
    depend on the matplotlib and FreeType versions.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or os.PathLike
        The file; its suffix chooses the format unless ``format`` is given
        (``.png`` if it has none).
    dpi : float
        Resolution of raster formats.
    format : str, optional
        ``png``, ``svg``, ``pdf``, ... (whatever the canvas supports).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    CausalSimError
        If the format is not supported (before any folder is created).
    """
    path = Path(path)
    kind = (format or path.suffix.lstrip(".") or "png").lower()
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    if kind not in canvas.get_supported_filetypes():
        raise CausalSimError(f"cannot write .{kind} files ({path}); use a name ending in .png "
                             "(or .svg, .pdf)")
    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(_RC):
        fig.savefig(path, dpi=dpi, format=kind, metadata=_NO_STAMPS.get(kind))
    return path


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def love_plot(balance: Any, *, threshold: float = 0.1, ax: Axes | None = None) -> Figure:
    """A love plot: absolute standardized mean differences per covariate, before and after matching.

    Each covariate is a row with two points, the absolute standardized mean
    difference (SMD) before matching (open circle) and after (filled); a
    dashed vertical line marks ``threshold``, the customary bound for
    adequate balance (|SMD| < 0.1: Austin 2009). Named after Thomas E. Love.

    Parameters
    ----------
    balance : pandas.DataFrame
        One row per covariate (the index labels the rows) with columns
        ``smd_before`` and ``smd_after``, as returned by ``balance()`` of the
        matching estimators (:mod:`causal.estimators.matching`) and stored in
        their ``Estimate.diagnostics["balance"]``.
    threshold : float
        Where to draw the vertical reference line (0 draws none).
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; by default a new figure is created.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    EstimationError
        If ``balance`` lacks the two columns or any rows, holds non-finite
        values, or ``threshold`` is negative or not finite.

    References
    ----------
    P. C. Austin (2009), "Balance diagnostics for comparing the distribution of
    baseline covariates between treatment groups in propensity-score matched
    samples", *Statistics in Medicine* 28(25).

    Examples
    --------
    >>> import pandas as pd
    >>> b = pd.DataFrame({"smd_before": [0.6, -0.3, 0.05], "smd_after": [0.04, 0.02, -0.01]},
    ...                  index=["age", "income", "score"])
    >>> fig = love_plot(b, threshold=0.1)
    >>> ax = fig.axes[0]
    >>> [len(c.get_offsets()) for c in ax.collections], ax.get_xlabel()
    ([3, 3], 'absolute standardized mean difference')
    """
    columns = getattr(balance, "columns", ())
    if missing := [c for c in ("smd_before", "smd_after") if c not in columns]:
        raise EstimationError(f"love_plot needs a balance table with columns smd_before and smd_after "
                              f"(from a matching estimator's balance()); missing {missing}")
    try:
        before = np.abs(np.asarray(balance["smd_before"], dtype=float))
        after = np.abs(np.asarray(balance["smd_after"], dtype=float))
    except (TypeError, ValueError) as exc:
        raise EstimationError(f"love_plot: standardized mean differences are not numeric: {exc}") from exc
    if before.size == 0:
        raise EstimationError("love_plot: the balance table has no rows; give at least one covariate")
    if not (np.isfinite(before).all() and np.isfinite(after).all()):
        raise EstimationError("love_plot: the balance table has non-finite standardized mean differences")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.number) \
            or not 0 <= threshold < np.inf:
        raise EstimationError(f"love_plot: threshold must be a finite number >= 0, got {threshold!r}")
    labels = [str(v) for v in balance.index]
    k = len(labels)
    rows = np.arange(k)[::-1]  # first covariate at the top
    fig, ax = _new_axes(ax, (6.4, min(max(2.5, 0.32 * k + 1.3), 16.0)))
    ax.scatter(before, rows, s=36, facecolors="none", edgecolors="C3", linewidths=1.4, zorder=3,
               label="before matching")
    ax.scatter(after, rows, s=36, color="C0", zorder=3, label="after matching")
    if threshold > 0:
        ax.axvline(float(threshold), color="0.3", linestyle="--", linewidth=1.2, zorder=2)
    ax.set_yticks(rows, labels)
    ax.set_ylim(-0.7, k - 0.3)
    ax.set_xlim(0, 1.08 * max(float(before.max()), float(after.max()), float(threshold), 1e-3))
    ax.set_xlabel("absolute standardized mean difference")
    ax.grid(axis="y", color="0.92", zorder=0)
    ax.legend(frameon=False, loc="lower right")
    return fig
