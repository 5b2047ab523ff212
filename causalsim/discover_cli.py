"""``causalsim discover``: learn a causal graph from data, and score it when the truth is known.

::

    causalsim discover SCENARIO_OR_CSV --method pc|fci|ges|lingam [--alpha 0.01] [--n 5000]
                       [--seed 0] [--test auto|fisherz|g2] [--fit] [--model boosting|linear]
                       [--out DIR]

The input is a scenario's name (``causalsim scenarios``), a model spec
(``.yaml``) or a CSV file of numeric columns. A scenario or a spec is sampled
(``--n`` units of the scenario's logged data: its behaviour policy; the episode
state's nodes, constant in logged data, are left out) and the found graph is
scored against the true graph of the observed columns (hidden nodes projected
away, :meth:`~causal.graph.CausalGraph.project`): SHD and adjacency and
arrowhead precision/recall/F1 (:mod:`causal.discovery.metrics`; PC and GES
against the CPDAG, FCI against the PAG, LiNGAM against the graph itself).

``--fit`` (scenarios only) fits an SCM (:func:`causal.fit_scm`) on a DAG of the
found graph's class and on the true graph, and answers the scenario's main
question with each: the effect on the outcome of each action against the first
(``E[Y | do(a)] - E[Y | do(a0)]``; for continuous actions, the highest against
the lowest setting). The table shows both answers, the truth and the errors.

``--out DIR`` writes ``edges.csv``, ``graphs.png`` (true and found side by
side, differences coloured) and ``manifest.json`` (the command, settings,
scores, edges and versions). Bad input — a constant column, missing values,
``--alpha`` outside (0, 1), more variables than rows — prints one line
``causalsim: error: ...`` and returns 1.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from causalsim.args import ArgumentError
from causalsim.cli import _int_at_least, _number, _subcommand

if TYPE_CHECKING:
    import pandas as pd

    from causal import CausalGraph
    from causal.discovery import PartialGraph

__all__ = ["register", "cmd_discover", "discover", "format_edges", "main_question"]

METHODS = ("pc", "fci", "ges", "lingam")
_REFERENCE = {"pc": "auto", "ges": "auto", "fci": "pag", "lingam": "graph"}


def load_input(source: str, n: int, seed: int) -> tuple[pd.DataFrame, CausalGraph | None, Any]:
    """``(data, true observed graph or None, scenario or None)`` for a scenario, spec or CSV."""
    import pandas as pd

    from causalsim.cli import _exists, load_scenario

    sc = load_scenario(source)
    if sc is not None:
        scm = sc.scm.do(sc.state_interventions(sc.initial_state())) if sc.state_nodes else sc.scm
        data = scm.sample(n, seed=seed)
        data = data[[c for c in data.columns if c not in sc.state_nodes]]
        return data, scm.graph.project(keep=list(data.columns)), sc
    if not _exists(source):
        raise ArgumentError(f"{source!r} is neither a scenario ({', '.join(_scenario_names())}) nor a "
                            "file; give a scenario name, a .yaml model spec or a .csv file")
    if source.endswith((".yaml", ".yml")):
        from causal import load_scm

        scm = load_scm(Path(source))
        data = scm.sample(n, seed=seed)
        return data, scm.graph.project(), None
    try:
        data = pd.read_csv(source)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ArgumentError(f"cannot read {source!r} as CSV: {' '.join(str(exc).split())}") from None
    return data, None, None


def _scenario_names() -> list[str]:
    import scenarios

    return scenarios.names()


def discover(data: pd.DataFrame, method: str, alpha: float, test: str = "auto") -> PartialGraph:
    """Run one discovery method on ``data``; a :class:`PartialGraph` (LiNGAM's DAG with marks)."""
    from causal.discovery import direct_lingam, fci, ges, pc

    if method == "pc":
        return pc(data, alpha, test)
    if method == "fci":
        return fci(data, alpha, test)
    if method == "ges":
        return ges(data)
    return direct_lingam(data).partial_graph


def format_edges(found: PartialGraph) -> str:
    """One line per edge, ``a -> b`` (marks as in :class:`PartialGraph`)."""
    lines = [f"edges found ({len(found.edges)}):"]
    lines.extend(f"  {a} {kind} {b}" for a, b, kind in found.edges)
    return "\n".join(lines)


def _format_scores(scores: Any, reference: str) -> str:
    from causalsim.report import table

    s = scores.as_dict()
    rows = [["", "precision", "recall", "F1"]]
    for kind in ("adjacency", "arrowhead"):
        rows.append([kind, *(f"{s[f'{kind}_{k}']:.3f}" for k in ("precision", "recall", "f1"))])
    return f"against the true {reference}: SHD {s['shd']}\n" + table(rows, align="lrrr")


def main_question(sc: Any) -> list[tuple[str, Any, Any]]:
    """The scenario's main question: ``(label, action, baseline)`` for each action vs the first."""
    import numpy as np

    acts = sc.actions
    if hasattr(acts, "labels"):
        return [(f"{a} vs {acts.labels[0]}", a, acts.labels[0]) for a in acts.labels[1:]]
    low, high = np.asarray(acts.space.low, dtype=float), np.asarray(acts.space.high, dtype=float)
    return [(f"{acts.label(high)} vs {acts.label(low)}", high, low)]


def _setting(sc: Any, action: Any, nodes: Sequence[str]) -> dict[str, float]:
    from causalsim.cli import action_setting

    return {v: x for v, x in action_setting(sc.actions, action).items() if v in nodes}


def fit_answers(sc: Any, data: pd.DataFrame, graphs: dict[str, CausalGraph], model: str, n: int,
                seed: int) -> list[dict[str, Any]]:
    """Each graph's fitted SCM's answer to the main question, beside the truth."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):   # boosting's OpenMP threads thrash on a shared machine; one is faster
        return _fit_answers(sc, data, graphs, model, n, seed)


def _fit_answers(sc: Any, data: pd.DataFrame, graphs: dict[str, CausalGraph], model: str, n: int,
                 seed: int) -> list[dict[str, Any]]:
    from causal import fit_scm

    regressor = None
    if model == "boosting":
        from sklearn.ensemble import HistGradientBoostingRegressor

        regressor = HistGradientBoostingRegressor(random_state=0)
    truth = sc.truth(n=n, seed=seed)
    fitted = {name: fit_scm(g, data, regressor=regressor) for name, g in graphs.items()}
    rows = []
    for label, a, b in main_question(sc):
        t = truth.ate(a, b)
        row: dict[str, Any] = {"question": f"E[{sc.outcome}]: {label}", "truth": t.value,
                               "truth_stderr": t.stderr}
        for name, scm in fitted.items():
            treat, control = _setting(sc, a, scm.nodes), _setting(sc, b, scm.nodes)
            if not treat:
                raise ArgumentError(f"the action of {sc.name!r} sets no observed node; --fit cannot "
                                    "intervene on the learned model")
            noise = scm.sample_noise(n, seed)          # paired worlds: the same units under both
            d = scm.propagate(noise, treat)[sc.outcome] - scm.propagate(noise, control)[sc.outcome]
            row[name] = float(d.mean())
            row[f"{name}_error"] = float(d.mean()) - t.value
        rows.append(row)
    return rows


def _format_fit(rows: list[dict[str, Any]], names: Sequence[str]) -> str:
    from causalsim.report import decimals, fmt, table

    head = ["question", "truth", *[f"{k} graph" for k in names], *[f"error ({k})" for k in names]]
    out = [head]
    for r in rows:
        d = decimals(r["truth"], *(r[k] for k in names))
        out.append([r["question"], fmt(r["truth"], d), *[fmt(r[k], d) for k in names],
                    *[fmt(r[f"{k}_error"], d) for k in names]])
    return table(out, align="l" + "r" * (len(head) - 1))


def write_outputs(out: str | Path, found: PartialGraph, true: CausalGraph | None, reference: str,
                  record: dict[str, Any], argv: Sequence[str]) -> list[Path]:
    """``edges.csv``, ``graphs.png`` (with a truth) and ``manifest.json`` in ``out``."""
    import pandas as pd

    from causal.plot import save_figure
    from causalsim.report import versions

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "edges.csv"]
    pd.DataFrame(found.edges, columns=["from", "to", "edge"]).to_csv(paths[0], index=False)
    if true is not None:
        from causal.discovery.metrics import compare_graphs

        paths.append(folder / "graphs.png")
        save_figure(compare_graphs(found, true, reference, titles=(f"true ({reference})",
                                                                   f"found ({record['method']})")),
                    paths[-1])
    paths.append(folder / "manifest.json")
    full = {"command": "discover", "argv": list(argv), **record,
            "files": [p.name for p in paths], "versions": versions()}
    paths[-1].write_text(json.dumps(full, indent=2, default=str) + "\n", encoding="utf-8")
    return paths


def cmd_discover(ns: argparse.Namespace, argv: Sequence[str]) -> int:
    if not 0 < ns.alpha < 1:
        raise ArgumentError(f"--alpha must be strictly between 0 and 1, got {ns.alpha:g} (0.01 or 0.05 "
                            "are usual)")
    if ns.out is not None:  # fail before the search if the folder cannot be made
        Path(ns.out).mkdir(parents=True, exist_ok=True)
    data, true, sc = load_input(ns.source, ns.n, ns.seed)
    if ns.fit and sc is None:
        raise ArgumentError("--fit answers a scenario's main question against its truth; give a "
                            "scenario name (causalsim scenarios)")
    from causal.discovery.metrics import edge_scores, reference_graph

    found = discover(data, ns.method, ns.alpha, ns.test)
    print(f"{ns.method} on {len(data):,} rows x {data.shape[1]} columns of {ns.source}"
          + (f" (alpha {ns.alpha:g})" if ns.method in ("pc", "fci") else ""))
    print(format_edges(found))
    record: dict[str, Any] = {"source": ns.source, "method": ns.method, "alpha": ns.alpha, "n": len(data),
                              "seed": ns.seed, "test": ns.test, "columns": list(data.columns),
                              "edges": [list(e) for e in found.edges]}
    reference = _REFERENCE[ns.method]
    if true is not None and reference == "graph" and true.bidirected_edges:
        from causal import CausalGraph

        print(f"(the true graph's {len(true.bidirected_edges)} bidirected pair(s), hidden common causes that "
              "LiNGAM cannot express, are left out of the comparison)")
        true = CausalGraph(true.directed_edges, nodes=true.nodes)
    if true is not None:
        ref = reference_graph(found, true, reference)
        kind = "PAG" if ref.circle_edges or ref.bidirected_edges or reference == "pag" else \
            "graph" if reference == "graph" else "CPDAG"
        reference = {"PAG": "pag", "graph": "graph", "CPDAG": "cpdag"}[kind]
        scores = edge_scores(found, true, reference)
        print(_format_scores(scores, kind))
        record["scores"] = {"reference": reference, **scores.as_dict()}
    if ns.fit:
        from causal.discovery.ges import consistent_extension

        graphs = {"found": consistent_extension(found), "true": true}
        rows = fit_answers(sc, data, graphs, ns.model, ns.n, ns.seed)
        print(f"fitted SCMs ({ns.model} mechanisms) on the found graph and on the true graph; "
              f"answers by {ns.n:,} paired units, truth from the simulator")
        print(_format_fit(rows, list(graphs)))
        record["fit"] = rows
    if ns.out is not None:
        paths = write_outputs(ns.out, found, true, reference, record, argv)
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``discover`` subcommand to ``subparsers``; return its parser."""
    p = _subcommand(
        subparsers, "discover",
        description="Learn a causal graph (PC, FCI, GES or DirectLiNGAM) from a scenario's logged data, a "
                    "model spec's samples or a CSV file; with a known truth, score it and draw both.")
    p.add_argument("source", metavar="SCENARIO_OR_CSV",
                   help="a scenario's name, a .yaml model spec, or a .csv file of numeric columns")
    p.add_argument("--method", required=True, choices=METHODS, help="discovery method")
    p.add_argument("--alpha", type=_number, default=0.01,
                   help="significance level of PC's and FCI's tests, in (0, 1) (default 0.01)")
    p.add_argument("--n", type=_int_at_least(10), default=5000,
                   help="units sampled from a scenario or spec (default 5000)")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed (default 0)")
    p.add_argument("--test", choices=("auto", "fisherz", "g2"), default="auto",
                   help="PC/FCI independence test (default auto: G2 for discrete data, else Fisher-z)")
    p.add_argument("--fit", action="store_true",
                   help="fit SCMs on the found and the true graph; compare their answers to the "
                        "scenario's main question with the truth")
    p.add_argument("--model", choices=("boosting", "linear"), default="boosting",
                   help="mechanisms of continuous nodes for --fit (default boosting)")
    p.add_argument("--out", metavar="DIR", help="write edges.csv, graphs.png and manifest.json into DIR")
    p.set_defaults(run=cmd_discover)
    return p
