"""Scoring a discovered graph against the true one.

Discovery from observational data can at best find an equivalence class, so a
found graph is compared with the class's representative, chosen by
``reference``:

* ``"cpdag"`` — the CPDAG of the true DAG (:func:`~causal.discovery.pgraph.cpdag`):
  the right yardstick for PC and GES, which cannot orient edges that the
  data leave open;
* ``"pag"`` — the true PAG (:func:`~causal.discovery.fci.true_pag`), for FCI:
  hidden nodes and bidirected edges of the true graph are latent;
* ``"graph"`` — the true graph itself, marks and all (for methods that
  return a full DAG, such as DirectLiNGAM);
* ``"auto"`` (default) — ``"pag"`` when the found graph has circle marks or
  the true graph has hidden nodes or bidirected edges, ``"cpdag"`` otherwise.

A :class:`~causal.discovery.pgraph.PartialGraph` given as ``true`` is used as it is.

**SHD** (structural Hamming distance) counts the node pairs whose edge
differs between the two graphs: a missing edge, an extra edge, or an edge
with any different endpoint mark (a reversed ``->``, ``--`` for ``->``,
``o->`` for ``<->``) each count 1.

**Adjacency** precision/recall/F1 compare the skeletons; **arrowhead**
precision/recall/F1 compare the set of arrowhead marks ``(pair, endpoint)``.
Precision is 1 when the found graph has nothing to be wrong about (no edges,
no arrowheads), recall is 1 when the truth has none, and F1 is 0 when both
precision and recall are 0.

References
----------
.. [1] I. Tsamardinos, L. E. Brown and C. F. Aliferis, "The max-min
   hill-climbing Bayesian network structure learning algorithm", Machine
   Learning 65, 2006 (SHD).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from causal.discovery.pgraph import ARROW, CIRCLE, NONE, PartialGraph, cpdag
from causal.errors import GraphError
from causal.graph import CausalGraph

__all__ = ["shd", "edge_scores", "EdgeScores", "reference_graph", "edge_differences", "compare_graphs"]

_REFERENCES = ("auto", "cpdag", "pag", "graph")


def reference_graph(found: PartialGraph, true: CausalGraph | PartialGraph,
                    reference: str = "auto") -> PartialGraph:
    """The graph ``found`` is scored against (see the module docstring)."""
    from causal.discovery.fci import true_pag

    if not isinstance(found, PartialGraph):
        raise GraphError(f"found must be a PartialGraph (the output of pc/fci/...), "
                         f"got {type(found).__name__}")
    if reference not in _REFERENCES:
        raise GraphError(f"reference must be one of {_REFERENCES}, got {reference!r}")
    if isinstance(true, PartialGraph):
        ref = true
    elif isinstance(true, CausalGraph):
        latent = bool(true.hidden or true.bidirected_edges)
        if reference == "auto":
            reference = "pag" if latent or found.circle_edges else "cpdag"
        if reference == "cpdag" and latent:
            raise GraphError("the true graph has hidden variables or bidirected edges, so it has no CPDAG; "
                             "use reference='pag' or 'graph'")
        ref = {"cpdag": cpdag, "pag": true_pag, "graph": PartialGraph.from_causal_graph}[reference](true)
    else:
        raise GraphError(f"true must be a CausalGraph or a PartialGraph, got {type(true).__name__}")
    if set(ref.nodes) != set(found.nodes):
        only_found = sorted(set(found.nodes) - set(ref.nodes))
        only_true = sorted(set(ref.nodes) - set(found.nodes))
        raise GraphError(f"the graphs have different nodes: only found {only_found}, only true {only_true}; "
                         "compare graphs over the same variables (hidden ones are projected out)")
    return ref


def _aligned(found: PartialGraph, ref: PartialGraph) -> tuple[np.ndarray, np.ndarray]:
    order = [ref.nodes.index(v) for v in found.nodes]
    m_ref = ref.matrix[np.ix_(order, order)]
    return found.matrix, m_ref


def shd(found: PartialGraph, true: CausalGraph | PartialGraph, reference: str = "auto") -> int:
    """Structural Hamming distance: node pairs whose edge (presence or any mark) differs.

    Examples
    --------
    >>> true = CausalGraph.from_string("a -> c; b -> c")
    >>> shd(PartialGraph(["a", "b", "c"], [("a", "c", "->"), ("b", "c", "--")]), true)
    1
    """
    m, r = _aligned(found, reference_graph(found, true, reference))
    diff = (m != r) | (m.T != r.T)
    return int(np.triu(diff, 1).sum())


@dataclass(frozen=True)
class EdgeScores:
    """Adjacency and arrowhead precision, recall and F1, and the SHD."""

    adjacency_precision: float
    adjacency_recall: float
    adjacency_f1: float
    arrowhead_precision: float
    arrowhead_recall: float
    arrowhead_f1: float
    shd: int

    def as_dict(self) -> dict[str, Any]:
        """The scores as a plain dict."""
        return asdict(self)


def _prf(found: np.ndarray, true: np.ndarray) -> tuple[float, float, float]:
    hit = float((found & true).sum())
    p = hit / found.sum() if found.sum() else 1.0
    r = hit / true.sum() if true.sum() else 1.0
    return float(p), float(r), float(2 * p * r / (p + r) if p + r else 0.0)


def edge_scores(found: PartialGraph, true: CausalGraph | PartialGraph, reference: str = "auto") -> EdgeScores:
    """Adjacency and arrowhead precision/recall/F1 of ``found`` against the reference, with the SHD.

    Examples
    --------
    >>> true = CausalGraph.from_string("a -> c; b -> c")
    >>> s = edge_scores(PartialGraph(["a", "b", "c"], [("a", "c", "->"), ("a", "b", "--")]), true)
    >>> s.adjacency_precision, s.adjacency_recall, s.arrowhead_recall, s.shd
    (0.5, 0.5, 0.5, 2)
    """
    ref = reference_graph(found, true, reference)
    m, r = _aligned(found, ref)
    upper = np.triu(np.ones_like(m, dtype=bool), 1)
    ap, ar, af = _prf((m != NONE) & upper, (r != NONE) & upper)
    hp, hr, hf = _prf(m == ARROW, r == ARROW)
    diff = (m != r) | (m.T != r.T)
    return EdgeScores(ap, ar, af, hp, hr, hf, int((diff & upper).sum()))


def edge_differences(found: PartialGraph, ref: PartialGraph) -> dict[str, list[tuple[str, str]]]:
    """Pairs by status: ``missing`` (only in ref), ``extra`` (only found), ``reversed``, ``marks`` (other mark
    differences), ``same``. ``ref`` must be the reference graph (see :func:`reference_graph`)."""
    m, r = _aligned(found, ref)
    nodes = found.nodes
    out: dict[str, list[tuple[str, str]]] = {k: [] for k in ("missing", "extra", "reversed", "marks", "same")}
    for i, j in zip(*np.nonzero(np.triu((m != NONE) | (r != NONE), 1)), strict=True):
        pair = (nodes[i], nodes[j])
        if m[i, j] == NONE:
            out["missing"].append(pair)
        elif r[i, j] == NONE:
            out["extra"].append(pair)
        elif m[i, j] == r[i, j] and m[j, i] == r[j, i]:
            out["same"].append(pair)
        elif m[i, j] == r[j, i] and m[j, i] == r[i, j] and CIRCLE not in (m[i, j], m[j, i]):
            out["reversed"].append(pair)
        else:
            out["marks"].append(pair)
    return out



# The drawing lives in _draw (it needs matplotlib and the helpers above); imported last to avoid a cycle.
from causal.discovery._draw import compare_graphs  # noqa: E402
