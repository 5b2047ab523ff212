"""Plots of causal graphs and of outcome distributions under interventions.

Every function returns a :class:`matplotlib.figure.Figure` built directly on
the Agg canvas (:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`),
never through :mod:`matplotlib.pyplot`: nothing is shown, no global figure
state is touched, and it works on headless machines. Save with
``fig.savefig(path)``. Passing ``ax=`` draws into an existing axes instead and
returns that axes' figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

from causal.errors import EstimationError, GraphError, ModelError
from causal.graph import CausalGraph

__all__ = ["draw_graph", "plot_distribution", "love_plot"]

_RADIUS = 0.3  # node radius, in data units (layers are 1.5 apart, rows 1 apart)
_DX, _DY = 1.5, 1.0
_FILL, _HIGHLIGHT, _HIDDEN_FILL = "#dbe9f6", "#f4a261", "#f2f2f2"


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _layout(g: CausalGraph) -> dict[str, tuple[float, float]]:
    """Layered positions: x = topological generation, rows ordered by parents' barycentre."""
    gen: dict[str, int] = {}
    for v in g.topological_order():
        gen[v] = 1 + max((gen[p] for p in g.parents(v)), default=-1)
    layers: list[list[str]] = [[] for _ in range(max(gen.values()) + 1)]
    for v in g.topological_order():
        layers[gen[v]].append(v)
    pos: dict[str, tuple[float, float]] = {}
    for k, layer in enumerate(layers):
        if k:  # barycentre heuristic: few crossings, deterministic (stable sort)
            layer.sort(key=lambda v: float(np.mean([pos[p][1] for p in g.parents(v)])),
                       reverse=True)
        for i, v in enumerate(layer):
            pos[v] = (k * _DX, ((len(layer) - 1) / 2 - i) * _DY)
    return pos


def _fit_label(name: str, font: float, diameter_pt: float) -> tuple[str, float]:
    """``name`` broken at one underscore (when long) and a font size that fits the circle."""
    label = name
    if len(name) > 8 and "_" in name:
        cuts = [i for i, ch in enumerate(name) if ch == "_"]
        i = min(cuts, key=lambda k: abs(2 * k - len(name)))
        label = name[:i] + "\n" + name[i + 1:]
    widest = max(len(line) for line in label.split("\n"))
    lines = label.count("\n") + 1
    fits = min(0.92 * diameter_pt / (0.62 * widest), 0.8 * diameter_pt / (1.2 * lines))
    return label, float(np.clip(min(font, fits), 4.0, font))


def draw_graph(
    g: CausalGraph,
    *,
    values: Mapping[str, float] | None = None,
    highlight: str | Iterable[str] = (),
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Draw a causal graph left to right, one column per topological generation.

    Nodes are labelled circles (hidden nodes dashed and grey), directed edges
    arrows, bidirected edges dashed curved double-headed arrows.

    Parameters
    ----------
    g : CausalGraph
        The graph to draw.
    values : mapping of str to float, optional
        Numbers printed under the node names (e.g. a unit's values, or means).
    highlight : str or collection of str
        Nodes filled in orange, e.g. the intervened-on action node.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; by default a new figure is created.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    GraphError
        If the graph is empty or ``values`` / ``highlight`` name unknown nodes.

    Examples
    --------
    >>> g = CausalGraph.from_string("Z -> X -> Y; Z -> Y; X <-> Y")
    >>> fig = draw_graph(g, highlight="X", values={"Y": 3.2}, title="do(X)")
    >>> len(fig.axes), len(fig.axes[0].patches)  # 3 circles, 4 edges
    (1, 7)
    """
    if not isinstance(g, CausalGraph):
        raise GraphError(f"draw_graph expects a CausalGraph, got {type(g).__name__}")
    if not len(g):
        raise GraphError("cannot draw an empty graph; give it at least one node")
    highlight = frozenset([highlight] if isinstance(highlight, str) else highlight)
    values = dict(values or {})
    for what, names in (("highlight", highlight), ("values", values)):
        if unknown := sorted(set(names) - set(g.nodes), key=str):
            raise GraphError(f"{what} names unknown nodes {unknown}; the graph has {list(g)}")
    pos = _layout(g)
    xs, ys = zip(*pos.values(), strict=True)
    width, height = max(xs) - min(xs) + _DX, max(ys) - min(ys) + 2 * _DY
    fig, ax = _new_axes(ax, (min(max(3.0, 1.1 * width + 0.5), 18.0),
                             min(max(2.5, 1.1 * height + 0.5), 12.0)))
    w_in = fig.get_figwidth() * ax.get_position().width
    h_in = fig.get_figheight() * ax.get_position().height
    inch_per_unit = min(w_in / width, h_in / height)
    font = float(np.clip(_RADIUS * inch_per_unit * 72 * 0.55, 5.0, 11.0))

    circles = {}
    for v, (x, y) in pos.items():
        hidden = v in g.hidden
        c = Circle((x, y), _RADIUS, linewidth=1.5, edgecolor="0.45" if hidden else "black",
                   linestyle="--" if hidden else "-", zorder=3,
                   facecolor=_HIGHLIGHT if v in highlight else _HIDDEN_FILL if hidden else _FILL)
        circles[v] = ax.add_patch(c)
        label, size = _fit_label(v, font, 2 * _RADIUS * inch_per_unit * 72)
        ax.text(x, y, label, ha="center", va="center", fontsize=size, zorder=4,
                color="0.35" if hidden else "black", linespacing=0.95)
        if v in values:
            ax.text(x, y - _RADIUS - 0.05, f"{values[v]:.3g}", ha="center", va="top",
                    fontsize=0.85 * font, color="#1f4e79", zorder=4)
    arrow = {"mutation_scale": 2.2 * font, "shrinkA": 0, "shrinkB": 0, "zorder": 2}
    for a, b in g.directed_edges:
        long = abs(pos[b][0] - pos[a][0]) > 1.5 * _DX  # skip over the columns in between
        ax.add_patch(FancyArrowPatch(pos[a], pos[b], patchA=circles[a], patchB=circles[b],
                                     arrowstyle="-|>", color="0.2", linewidth=1.2,
                                     connectionstyle=f"arc3,rad={0.2 if long else 0.0}", **arrow))
    for a, b in g.bidirected_edges:
        ax.add_patch(FancyArrowPatch(pos[a], pos[b], patchA=circles[a], patchB=circles[b],
                                     arrowstyle="<|-|>", color="#b03a2e", linewidth=1.2,
                                     linestyle="--", connectionstyle="arc3,rad=0.4", **arrow))
    ax.set_xlim(min(xs) - _DX / 2, max(xs) + _DX / 2)
    ax.set_ylim(min(ys) - _DY, max(ys) + _DY)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return fig


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


def plot_distribution(
    samples_by_arm: Mapping[str, Any],
    *,
    outcome: str = "outcome",
    bins: int = 50,
    ax: Axes | None = None,
) -> Figure:
    """Overlaid density histograms of an outcome, one per arm, with their means.

    All arms share the same bin edges, so their heights are comparable; a
    dashed vertical line marks each arm's mean, which the legend also gives.

    Parameters
    ----------
    samples_by_arm : mapping of str to array-like
        Outcome samples per arm, e.g. ``{"control": y0, "do(price=9.99)": y1}``.
    outcome : str
        Label of the x axis.
    bins : int
        Number of shared bins.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; by default a new figure is created.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ModelError
        If the mapping is empty, an arm is empty, non-numeric or non-finite,
        or ``bins`` is not a positive integer.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> fig = plot_distribution({"control": rng.normal(0, 1, 500),
    ...                          "treated": rng.normal(1, 1, 500)}, outcome="revenue")
    >>> ax = fig.axes[0]
    >>> len(ax.patches), len(ax.lines), ax.get_xlabel()
    (2, 2, 'revenue')
    """
    if not isinstance(samples_by_arm, Mapping) or not samples_by_arm:
        raise ModelError("samples_by_arm must be a non-empty mapping {arm name: samples}")
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ModelError(f"bins must be a positive integer, got {bins!r}")
    arms = {arm: _finite_1d(arm, x) for arm, x in samples_by_arm.items()}
    edges = np.histogram_bin_edges(np.concatenate(list(arms.values())), bins=int(bins))
    fig, ax = _new_axes(ax, (6.4, 4.0))
    for i, (arm, a) in enumerate(arms.items()):
        color, mean = f"C{i % 10}", float(a.mean())
        ax.hist(a, bins=edges, density=True, histtype="stepfilled", alpha=0.35, color=color,
                edgecolor=color, label=f"{arm} (mean {mean:.4g})")
        ax.axvline(mean, color=color, linestyle="--", linewidth=1.5)
    ax.set_xlabel(outcome)
    ax.set_ylabel("density")
    ax.legend(frameon=False)
    return fig


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
