"""Causal discovery: learn a causal graph (or its equivalence class) from data.

Constraint-based methods (:func:`pc`, :func:`fci`) test conditional
independences and return a :class:`PartialGraph` (a CPDAG for PC, a PAG for
FCI); score- and noise-based methods (GES, DirectLiNGAM) live beside them.
:mod:`causal.discovery.metrics` scores a found graph against the true one.
"""

from __future__ import annotations

from causal.discovery.citests import CITest, DSeparation, FisherZ, GSquare
from causal.discovery.fci import fci, true_pag
from causal.discovery.knowledge import Knowledge
from causal.discovery.metrics import EdgeScores, compare_graphs, edge_scores, shd
from causal.discovery.pc import pc
from causal.discovery.pgraph import PartialGraph, cpdag
from causal.discovery.simulate import random_dag, sample_linear

__all__ = ["Knowledge", "PartialGraph", "cpdag", "pc", "fci", "true_pag", "random_dag", "sample_linear",
           "CITest", "FisherZ", "GSquare", "DSeparation", "shd", "edge_scores", "EdgeScores",
           "compare_graphs"]

# ---------------------------------------------------------------------------
# Score- and noise-based methods (owned by the GES/LiNGAM helper): add the
# imports and extend __all__ below this line.
# e.g.  from causal.discovery.ges import ges
#       from causal.discovery.lingam import lingam
#       __all__ += ["ges", "lingam"]
# ---------------------------------------------------------------------------
from causal.discovery.ges import ges  # noqa: E402
from causal.discovery.lingam import LiNGAMResult, direct_lingam  # noqa: E402

__all__ += ["ges", "direct_lingam", "LiNGAMResult"]
