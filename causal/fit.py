"""Learned SCMs: fit each node's mechanism given its parents in a graph, and score it against the truth.

:func:`fit_scm` turns a causal graph and data into an ordinary :class:`~causal.scm.SCM`
(``do``, ``counterfactual``, ``ate`` work on it). Each node gets a mechanism by its
column's type:

* **continuous with parents** — an additive noise model ``X = f(parents) + noise``:
  ``f`` by ordinary least squares (``"linear"``, a :class:`~causal.mechanisms.Linear`
  mechanism) or any scikit-learn regressor (``"additive"``); the noise is
  Gaussian with the residuals' standard deviation, or the residuals' own
  distribution (:class:`~causal._fit_mechanisms.Empirical`). Either way the
  mechanism is invertible, so counterfactuals abduct the noise exactly;
* **binary / categorical** (a few integer levels) — a classifier's class
  probabilities as a threshold model on uniform noise (logistic regression by
  default, multinomial for more than two levels); with 0/1 values, numeric
  parents and the default classifier, a :class:`~causal.mechanisms.Binary` with
  a logit expression, which can be written as a spec;
* **roots** — the empirical distribution of the column (continuous) or its
  frequencies (discrete).

Categorical parents (more than two integer levels) are one-hot coded. A
mechanism fitted by regression is the causal one only when nothing hidden
drives both the node and its parents: bidirected edges of the graph are
ignored (and listed in the model's ``description``).

:func:`score_scm` compares a learned model with the true one: ``E[X | do(.)]``
and the Wasserstein distance of each node's interventional distribution, and
each unit's counterfactuals (the truth from the units' own noise, the learned
model's by abduction from their observed values).

Examples
--------
>>> from causal import load_scm
>>> true = load_scm({"nodes": {"x": {"noise": "normal(0, 1)"},
...                            "y": {"equation": "1 + 2 * x + noise", "noise": "normal(0, 1)"}}})
>>> learned = fit_scm(true.graph, true.sample(5000, seed=0))
>>> m = learned.mechanisms["y"]
>>> round(m.coefs["x"], 1), round(m.intercept, 1), round(learned.noise["y"].sd, 1)
(2.0, 1.0, 1.0)
>>> round(learned.ate("x", "y", treat=1, control=0, n=1000, seed=0).value, 1)
2.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from causal._fit_mechanisms import Classified, Design, Empirical, Predictor
from causal.errors import EstimationError, ModelError
from causal.graph import CausalGraph
from causal.mechanisms import Additive, Binary, Linear, Mechanism
from causal.noise import Noise, Normal
from causal.scm import SCM, as_rng

__all__ = ["fit_scm", "score_scm", "SCMScore", "node_kinds"]

_KINDS = ("linear", "additive", "logistic", "classifier", "empirical", "gaussian")


# ---------------------------------------------------------------------- data
def _check_data(graph: CausalGraph, data: Any) -> dict[str, np.ndarray]:
    if not isinstance(data, pd.DataFrame):
        raise EstimationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    nodes = graph.observed
    missing = [v for v in nodes if v not in data.columns]
    if missing:
        raise EstimationError(f"the data lack the column(s) {missing} of the graph's nodes; "
                              f"columns: {', '.join(map(str, data.columns))}")
    if len(data) < 3:
        raise EstimationError(f"the data have {len(data)} rows; fitting needs at least 3")
    out = {}
    for v in nodes:
        col = data[v]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            raise EstimationError(f"column {v!r} is not numeric ({col.dtype}); code categories as "
                                  "integers 0, 1, 2, ...")
        x = col.to_numpy(dtype=float)
        if not np.isfinite(x).all():
            raise EstimationError(f"column {v!r} has {int((~np.isfinite(x)).sum())} missing or "
                                  "non-finite values; drop or impute those rows first")
        out[v] = x
    return out


def node_kinds(data: pd.DataFrame | Mapping[str, np.ndarray], max_levels: int = 10) -> dict[str, str]:
    """``"binary"``, ``"categorical"`` or ``"continuous"`` for each column.

    A column is discrete when its values are integers with at most ``max_levels``
    distinct values (binary: exactly two).

    >>> node_kinds(pd.DataFrame({"a": [0, 1, 1], "b": [0, 1, 2], "c": [0.5, 1, 2]}))
    {'a': 'binary', 'b': 'categorical', 'c': 'continuous'}
    """
    out = {}
    for v in data:
        x = np.asarray(data[v], dtype=float)
        levels = np.unique(x)
        if len(levels) <= max_levels and np.all(levels == np.round(levels)) and len(levels) >= 2:
            out[v] = "binary" if len(levels) == 2 else "categorical"
        else:
            out[v] = "continuous"
    return out


# ---------------------------------------------------------------------- one node
def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Coefficients, intercept and residuals of the least-squares fit of ``y`` on ``x``."""
    xm, ym = x.mean(axis=0), y.mean()
    xc = x - xm
    beta = np.linalg.lstsq(xc, y - ym, rcond=None)[0] if x.shape[1] else np.empty(0)
    intercept = float(ym - xm @ beta)
    return beta, intercept, y - intercept - x @ beta


def _noise(resid: np.ndarray, dof: int, how: str) -> Noise:
    if how == "gaussian":
        sd = float(np.sqrt(resid @ resid / max(len(resid) - dof, 1)))
        if sd <= 0:
            raise EstimationError("the residuals are all zero: the node is a deterministic function of "
                                  "its parents; Gaussian noise needs a positive spread")
        return Normal(0.0, sd)
    return Empirical(resid)


def _identifier(name: str) -> bool:
    from keyword import iskeyword

    return name.isidentifier() and not iskeyword(name)


def _continuous(v: str, kind: str, design: Design, x: np.ndarray, y: np.ndarray, regressor: Any,
                noise: str) -> tuple[Mechanism, Noise]:
    if kind == "linear":
        beta, intercept, resid = _ols(x, y)
        if not np.isfinite(beta).all():
            raise EstimationError(f"node {v!r}: the least-squares fit is not finite (collinear parents?)")
        how = "gaussian" if noise == "auto" else noise
        nz = _noise(resid, x.shape[1] + 1, how)
        if design.numeric:
            return Linear(dict(zip(design.parents, beta.tolist(), strict=True)), intercept), nz
        from sklearn.linear_model import LinearRegression

        model = LinearRegression().fit(x, y)
        return Additive(Predictor(model, design), parents=design.parents), nz
    if regressor is None:
        from sklearn.ensemble import HistGradientBoostingRegressor

        regressor = HistGradientBoostingRegressor(random_state=0)
    from sklearn.base import clone

    model = clone(regressor).fit(x, y)
    resid = y - np.asarray(model.predict(x), dtype=float)
    nz = _noise(resid, x.shape[1] + 1, "empirical" if noise == "auto" else noise)
    return Additive(Predictor(model, design), parents=design.parents), nz


def _logit_text(design: Design, coef: np.ndarray, intercept: float) -> str:
    terms = [repr(float(intercept))] + [f"{float(c)!r} * {p}" for p, c in zip(design.parents, coef,
                                                                                 strict=True)]
    return " + ".join(terms).replace("+ -", "- ")


def _discrete(v: str, kind: str, design: Design, x: np.ndarray, y: np.ndarray,
              classifier: Any) -> Mechanism:
    from sklearn.base import clone

    classes = np.unique(y)
    if len(classes) < 2:
        raise EstimationError(f"node {v!r} takes one value only; it cannot be fitted as a discrete node")
    if not design.parents:
        return Classified(classes, probs=[(y == c).mean() for c in classes])
    default = classifier is None
    if default:
        from sklearn.linear_model import LogisticRegression

        classifier = LogisticRegression(max_iter=2000)
    model = clone(classifier).fit(x, y)
    if not np.array_equal(np.asarray(model.classes_, dtype=float), classes):
        raise EstimationError(f"node {v!r}: the classifier's classes_ {list(model.classes_)} are not "
                              f"the column's values {classes.tolist()}")
    if default and kind == "logistic" and design.numeric and np.array_equal(classes, [0.0, 1.0]) \
            and all(_identifier(p) for p in design.parents):
        return Binary(logit=_logit_text(design, model.coef_[0], model.intercept_[0]))
    return Classified(classes, design, model)


def _root(v: str, kind: str, y: np.ndarray, discrete: bool) -> tuple[Mechanism, Noise | None]:
    if discrete:
        classes = np.unique(y)
        return Classified(classes, probs=[(y == c).mean() for c in classes]), None
    if kind == "gaussian":
        sd = float(y.std(ddof=1))
        if sd <= 0:
            raise EstimationError(f"column {v!r} is constant; Gaussian noise needs a positive spread")
        return Linear({}, float(y.mean())), Normal(0.0, sd)
    return Linear({}, 0.0), Empirical(y)


def _kind_of(v: str, mechanisms: Any, discrete: bool, root: bool, regressor: Any) -> str:
    spec = mechanisms.get(v, "auto") if isinstance(mechanisms, Mapping) else mechanisms
    if spec not in ("auto", *_KINDS):
        raise ModelError(f"mechanisms: unknown kind {spec!r} for node {v!r}; use 'auto' or one of "
                         f"{', '.join(_KINDS)}")
    if spec == "auto":
        if root:
            return "empirical"
        if discrete:
            return "logistic"
        return "additive" if regressor is not None else "linear"
    if discrete and spec in ("linear", "additive", "gaussian"):
        raise ModelError(f"node {v!r} is discrete (a few integer values); fit it with 'logistic' or "
                         f"'classifier', not {spec!r}")
    if not discrete and spec in ("logistic", "classifier"):
        raise ModelError(f"node {v!r} is continuous; fit it with 'linear' or 'additive', not {spec!r}")
    return spec


def fit_scm(graph: CausalGraph, data: pd.DataFrame, mechanisms: str | Mapping[str, str] = "auto", *,
            regressor: Any = None, classifier: Any = None,
            noise: Literal["auto", "gaussian", "empirical"] = "auto", max_levels: int = 10,
            name: str | None = None) -> SCM:
    """Fit an SCM over ``graph`` to ``data``: each node's mechanism given its parents.

    Parameters
    ----------
    graph : CausalGraph
        A DAG over the data's columns. Hidden nodes are projected away first
        (:meth:`~causal.graph.CausalGraph.project`); bidirected edges are ignored.
    data : DataFrame
        One column per node (numeric; categories coded as integers).
    mechanisms : ``"auto"``, a kind, or a mapping node -> kind
        Kinds: ``"linear"`` (OLS), ``"additive"`` (``regressor``), ``"logistic"``
        (``classifier``, logistic regression by default), ``"classifier"`` (same,
        never written as a ``Binary`` logit), and for roots ``"empirical"`` or
        ``"gaussian"``. ``"auto"``: roots empirical, discrete nodes logistic,
        continuous nodes ``"additive"`` when a ``regressor`` is given, else ``"linear"``.
    regressor, classifier : scikit-learn estimators, optional
        Cloned and fitted per node. Default regressor for ``"additive"``:
        ``HistGradientBoostingRegressor(random_state=0)``.
    noise : ``"auto"``, ``"gaussian"`` or ``"empirical"``
        Noise of continuous non-root nodes: Gaussian with the residual standard
        deviation, or the residuals' distribution. ``"auto"``: Gaussian for
        linear mechanisms, empirical for the others.
    max_levels : int
        An integer-valued column with at most this many values is discrete.
    name : str, optional

    Returns
    -------
    SCM

    Raises
    ------
    EstimationError
        Missing, non-numeric or non-finite columns; a node that cannot be fitted.
    ModelError
        An unknown or unsuitable mechanism kind.
    """
    if not isinstance(graph, CausalGraph):
        raise ModelError(f"graph must be a CausalGraph (a DAG), got {type(graph).__name__}; orient a "
                         "discovered CPDAG first (e.g. PartialGraph.to_dag())")
    if noise not in ("auto", "gaussian", "empirical"):
        raise ModelError(f"noise must be 'auto', 'gaussian' or 'empirical', got {noise!r}")
    if graph.hidden:
        graph = graph.project()
    if not isinstance(mechanisms, (str, Mapping)):
        raise ModelError(f"mechanisms must be 'auto', a kind or a mapping node -> kind, got {mechanisms!r}")
    if isinstance(mechanisms, Mapping):
        unknown = set(mechanisms) - set(graph.nodes)
        if unknown:
            raise ModelError(f"mechanisms names unknown node(s) {sorted(unknown)}")
    cols = _check_data(graph, data)
    kinds = node_kinds(cols, max_levels)
    mech: dict[str, Mechanism] = {}
    nz: dict[str, Noise | None] = {}
    for v in graph.topological_order():
        parents = sorted(graph.parents(v), key=graph.nodes.index)
        discrete = kinds[v] != "continuous"
        kind = _kind_of(v, mechanisms, discrete, not parents, regressor)
        y = cols[v]
        if not parents:
            mech[v], nz[v] = _root(v, kind, y, discrete)
            continue
        levels = {p: np.unique(cols[p]) for p in parents if kinds[p] == "categorical"}
        design = Design(parents, levels)
        x = design.matrix(cols)
        if discrete:
            mech[v], nz[v] = _discrete(v, kind, design, x, y, classifier), None
        else:
            mech[v], nz[v] = _continuous(v, kind, design, x, y, regressor, noise)
    scm = SCM(mech, nz, name=name)
    ignored = graph.bidirected_edges
    scm.description = (f"learned from {len(data):,} rows" + (
        f"; ignored bidirected edges {[f'{a} <-> {b}' for a, b in ignored]}" if ignored else ""))
    return scm


# ---------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class SCMScore:
    """How far a learned model's answers are from the true model's.

    Attributes
    ----------
    interventional : DataFrame
        One row per (intervention, node): ``learned`` and ``truth`` (means under the
        intervention), ``difference`` (learned - truth), ``stderr`` (Monte-Carlo
        standard error of the difference) and ``wasserstein`` (distance between the
        two interventional distributions of the node).
    counterfactual : DataFrame
        One row per (intervention, node): ``rmse`` and ``mae`` of the learned model's
        counterfactual (posterior mean) against each unit's true counterfactual,
        and ``units``.
    """

    interventional: pd.DataFrame
    counterfactual: pd.DataFrame

    def effect_error(self, outcome: str, treat: str, control: str) -> float:
        """Error of the learned contrast ``E[Y | treat] - E[Y | control]`` (two intervention labels)."""
        t = self.interventional.set_index(["intervention", "node"])["difference"]
        try:
            return float(t[(treat, outcome)] - t[(control, outcome)])
        except KeyError:
            raise ModelError(f"no scores for {outcome!r} under {treat!r} and {control!r}") from None


def _labelled(interventions: Any) -> dict[str, dict[str, Any]]:
    if isinstance(interventions, Mapping) and all(isinstance(v, Mapping) for v in interventions.values()):
        return {str(k): dict(v) for k, v in interventions.items()}
    if isinstance(interventions, Sequence) and not isinstance(interventions, str) \
            and all(isinstance(v, Mapping) for v in interventions):
        return {", ".join(f"{k}={v}" for k, v in iv.items()) or "none": dict(iv) for iv in interventions}
    raise ModelError("interventions must be a mapping label -> {node: value} or a list of {node: value}")


def score_scm(learned: SCM, true: SCM, interventions: Any, outcome: str | Sequence[str] | None = None,
              *, n: int = 20_000, counterfactual_units: int = 1000, seed: int = 0) -> SCMScore:
    """Compare a learned SCM's interventional and counterfactual answers with the true SCM's.

    Parameters
    ----------
    learned, true : SCM
        Models sharing node names; the learned one may lack the true one's hidden nodes.
    interventions : mapping label -> {node: value or Intervention}, or a list of such dicts
        ``{}`` compares the observational distributions.
    outcome : node name(s), optional
        Nodes to compare (default: every observed node of both models).
    n : int
        Units sampled from each model per intervention.
    counterfactual_units : int
        Units drawn from the true model whose counterfactuals are compared (0: skip).
    seed : int

    Returns
    -------
    SCMScore
    """
    from scipy.stats import wasserstein_distance

    ivs = _labelled(interventions)
    common = [v for v in true.observed if v in set(learned.observed)]
    nodes = common if outcome is None else [outcome] if isinstance(outcome, str) else list(outcome)
    bad = [v for v in nodes if v not in common]
    if bad:
        raise ModelError(f"cannot compare {bad}: not an observed node of both models; common: {common}")
    for label, iv in ivs.items():
        foreign = [k for k in iv if k not in common]
        if foreign:
            raise ModelError(f"intervention {label!r} sets {foreign}, not observed nodes of both models")
    rng = as_rng(seed)
    rows, cf_rows = [], []
    units = None
    if counterfactual_units:
        units = true.sample(counterfactual_units, seed=rng.spawn(1)[0], return_noise=True)
    for label, iv in ivs.items():
        s = rng.spawn(2)
        a = learned.do(iv).sample(n, seed=s[0]) if iv else learned.sample(n, seed=s[0])
        b = true.do(iv).sample(n, seed=s[1]) if iv else true.sample(n, seed=s[1])
        for v in nodes:
            x, y = a[v].to_numpy(dtype=float), b[v].to_numpy(dtype=float)
            se = float(np.sqrt(x.var(ddof=1) / n + y.var(ddof=1) / n))
            rows.append({"intervention": label, "node": v, "learned": float(x.mean()),
                         "truth": float(y.mean()), "difference": float(x.mean() - y.mean()),
                         "stderr": se, "wasserstein": float(wasserstein_distance(x, y))})
        if units is not None:
            cf_rows.extend(_counterfactual_rows(learned, true, units, label, iv, nodes, rng))
    return SCMScore(pd.DataFrame(rows), pd.DataFrame(cf_rows, columns=["intervention", "node", "rmse",
                                                                       "mae", "units"]))


def _counterfactual_rows(learned: SCM, true: SCM, units: tuple[pd.DataFrame, pd.DataFrame], label: str,
                         iv: Mapping[str, Any], nodes: Sequence[str], rng: np.random.Generator
                         ) -> list[dict[str, Any]]:
    from causal.counterfactual import summarise

    data, noise = units
    truth = true.counterfactual(noise=noise, interventions=iv)
    evidence = data[[v for v in learned.observed if v in data.columns]]
    cf = summarise(learned.counterfactual(evidence, iv, seed=rng.spawn(1)[0]))
    out = []
    for v in nodes:
        d = cf[v].to_numpy(dtype=float) - truth[v].to_numpy(dtype=float)
        out.append({"intervention": label, "node": v, "rmse": float(np.sqrt(np.mean(d * d))),
                    "mae": float(np.mean(np.abs(d))), "units": len(d)})
    return out
