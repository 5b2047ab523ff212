"""Random DAGs and linear SCM data with a known graph, for testing discovery methods.

:func:`random_dag` draws an Erdős–Rényi DAG (each pair joined with probability
``degree / (d - 1)``, oriented along a random order, so the column order says
nothing about the causal order). :func:`sample_linear` draws data from the
linear SCM ``X_j = Σ_i w_ij X_i + e_j`` over that graph, with Gaussian or
uniform (non-Gaussian) noise of random scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from causal.errors import GraphError
from causal.graph import CausalGraph

__all__ = ["random_dag", "sample_linear"]

SeedLike = int | np.random.Generator | None


def random_dag(d: int, degree: float = 2.0, seed: SeedLike = 0) -> CausalGraph:
    """A random DAG on nodes ``X0 .. X{d-1}`` with expected degree ``degree``.

    Examples
    --------
    >>> g = random_dag(10, degree=3, seed=1)
    >>> len(g.nodes), len(g.directed_edges) > 5
    (10, True)
    """
    if isinstance(d, bool) or not isinstance(d, int) or d < 2:
        raise GraphError(f"d must be an integer >= 2, got {d!r}")
    if not 0 <= degree <= d - 1:
        raise GraphError(f"expected degree must be in [0, d - 1] = [0, {d - 1}], got {degree!r}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(d)
    upper = np.triu(rng.random((d, d)) < degree / (d - 1), 1)
    names = [f"X{i}" for i in range(d)]
    edges = [(names[order[i]], names[order[j]]) for i, j in zip(*np.nonzero(upper), strict=True)]
    return CausalGraph(edges, nodes=names)


def sample_linear(graph: CausalGraph, n: int, seed: SeedLike = 0, *, noise: str = "gaussian",
                  weights: tuple[float, float] = (0.5, 2.0)) -> pd.DataFrame:
    """Sample ``n`` rows of a linear SCM over a DAG.

    Edge weights are drawn uniformly from ``weights`` with a random sign, noise
    scales uniformly from [0.5, 1.5]; ``noise`` is ``"gaussian"`` or
    ``"uniform"`` (zero mean). All draws come from ``seed``: the same seed
    gives the same weights and data.

    Examples
    --------
    >>> df = sample_linear(random_dag(5, seed=0), 100, seed=0)
    >>> df.shape
    (100, 5)
    """
    if graph.bidirected_edges or graph.hidden:
        raise GraphError("sample_linear needs a DAG without bidirected edges or hidden nodes")
    if noise not in ("gaussian", "uniform"):
        raise GraphError(f"noise must be 'gaussian' or 'uniform', got {noise!r}")
    rng = np.random.default_rng(seed)
    nodes = graph.nodes
    lo, hi = weights
    w = {e: float(rng.uniform(lo, hi) * rng.choice([-1.0, 1.0])) for e in graph.directed_edges}
    scale = rng.uniform(0.5, 1.5, size=len(nodes))
    if noise == "gaussian":
        e = rng.normal(size=(n, len(nodes))) * scale
    else:
        e = rng.uniform(-np.sqrt(3), np.sqrt(3), size=(n, len(nodes))) * scale
    idx = {v: i for i, v in enumerate(nodes)}
    out: dict[str, np.ndarray] = {}
    for v in graph.topological_order():
        x = e[:, idx[v]].copy()
        for p in sorted(graph.parents(v), key=idx.__getitem__):
            x += w[(p, v)] * out[p]
        out[v] = x
    return pd.DataFrame({v: out[v] for v in nodes})
