"""causal — the math layer of causalsim: graphs, SCMs, interventions, counterfactuals.

Everything takes and returns plain numpy, pandas and networkx objects.

>>> from causal import load_scm
>>> scm = load_scm({"nodes": {"t": {"noise": "normal(25, 5)"},
...                           "s": {"equation": "5 + 2 * t + noise", "noise": "normal(0, 8)"}}})
>>> scm.ate("t", "s", treat=31, control=30, n=1000, seed=0).value
2.0
"""

from causal.counterfactual import summarise
from causal.errors import (
    CausalSimError,
    CounterfactualError,
    EstimationError,
    GraphError,
    InterventionError,
    ModelError,
    NotIdentifiable,
    SpecError,
)
from causal.expr import compile_expr
from causal.fit import fit_scm, score_scm
from causal.graph import CausalGraph
from causal.identify import (
    Estimand,
    Instrument,
    adjustment_sets,
    frontdoor_sets,
    identify,
    instruments,
    is_valid_adjustment,
    minimum_adjustment_set,
)
from causal.interventions import Hard, Intervention, Policy, Scale, Shift
from causal.mechanisms import (
    Additive,
    Binary,
    Categorical,
    DiscreteMechanism,
    Expression,
    Function,
    InvertibleMechanism,
    Linear,
    Mechanism,
)
from causal.scm import SCM, Effect
from causal.spec import dump_spec, load_scm, save_scm

__version__ = "0.1.0"

__all__ = [
    "CausalGraph",
    "identify",
    "Estimand",
    "Instrument",
    "adjustment_sets",
    "minimum_adjustment_set",
    "is_valid_adjustment",
    "frontdoor_sets",
    "instruments",
    "SCM",
    "Effect",
    "fit_scm",
    "score_scm",
    "load_scm",
    "dump_spec",
    "save_scm",
    "compile_expr",
    "summarise",
    "Hard",
    "Shift",
    "Scale",
    "Policy",
    "Intervention",
    "Mechanism",
    "InvertibleMechanism",
    "DiscreteMechanism",
    "Linear",
    "Additive",
    "Function",
    "Expression",
    "Binary",
    "Categorical",
    "CausalSimError",
    "GraphError",
    "SpecError",
    "ModelError",
    "InterventionError",
    "CounterfactualError",
    "NotIdentifiable",
    "EstimationError",
]
