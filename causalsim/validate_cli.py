"""``causalsim validate``: score estimators against a scenario's true effect over many replications.

::

    causalsim validate SCENARIO --estimators naive,ipw,aipw,matching,dml,causal-forest[,econml:...]
                       [--n 2000] [--reps 200] [--seed S] [--contrast TREAT,CONTROL]
                       [--knob confounding=0,0.5,1 ...] [--workers K | --dask ADDRESS] [--out DIR]
    causalsim validate --all [--reps R] [--n N] [--out DIR]

Each replication draws ``--n`` logged units of the scenario (its behaviour
policy: confounded), keeps the two actions compared (``--contrast``, default
action 1 vs action 0, e.g. ``advert`` vs ``none``), and fits every estimator
(:func:`causal.validate.validate`). The leaderboard printed shows per estimator
(and knob setting) the truth, the mean estimate, the bias with its Monte-Carlo
standard error, the RMSE, the coverage of the 95% intervals with its Wilson
interval, the mean interval width, PEHE (CATE estimators), seconds per fit and
failed fits; rows are sorted by RMSE. ``--all`` runs every scenario with
discrete actions and no panel structure (driving, healthcare, icecream,
marketing) with the default estimators, plus ``2sls`` where the scenario has an
instrument (healthcare).

With ``--out DIR`` it writes ``validation.csv`` (the leaderboard),
``records.csv`` (one row per estimator and replication), ``estimates.png``
(forest plot with the truth line), ``sweep_<knob>.png`` (bias and coverage along
each knob), ``graph.png``, a self-contained ``report.html`` and
``manifest.json``; finished replications go to ``results.jsonl`` as they
finish, so rerunning the same command after an interruption resumes it (a
different command with the same folder is refused: use another ``--out``).
``--all`` writes one such folder per scenario and an overall ``leaderboard.csv``
and ``report.html``.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="causalsim")
>>> _ = register(parser.add_subparsers(dest="command"))
>>> ns = parser.parse_args(["validate", "icecream", "--estimators", "naive,regression", "--reps", "3",
...                         "--n", "300", "--workers", "1", "--knob", "hidden_confounder=false"])
>>> ns.estimators, ns.reps, ns.knob
('naive,regression', 3, ['hidden_confounder=false'])
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from causalsim.args import ArgumentError
from causalsim.cli import _int_at_least, _subcommand
from causalsim.evaluate_cli import _knobs, _show

__all__ = ["register", "cmd_validate", "format_leaderboard", "write_report", "ALL_SCENARIOS"]

#: The scenarios of ``--all``: discrete actions and one row per unit (policy is a panel,
#: driving_brake has a continuous action).
ALL_SCENARIOS = ("driving", "healthcare", "icecream", "marketing")


def _fmt(x: float, d: int) -> str:
    return "" if not math.isfinite(x) else f"{x:.{d}f}"


def _digits(*values: float) -> int:
    from causalsim.report import decimals

    return min(decimals(*[v for v in values if math.isfinite(v)], sig=3), 4)


def format_leaderboard(board: Any, knobs: Sequence[str]) -> str:
    """The leaderboard as aligned text (one block per knob setting, best RMSE first)."""
    from causalsim.report import table

    head = [*knobs, "estimator", "truth", "estimate", "bias (MC se)", "rmse", "coverage [95% CI]",
            "ci width", "pehe", "sec/fit", "failed"]
    rows = [head]
    for _, r in board.iterrows():
        d = _digits(r["truth"], r["bias_se"] if math.isfinite(r["bias_se"]) else 0.0)
        cov = ("" if not math.isfinite(r["coverage"]) else
               f"{r['coverage']:.2f} [{r['coverage_low']:.2f}, {r['coverage_high']:.2f}]")
        rows.append([*(_show(r[k]) for k in knobs), str(r["estimator"]), _fmt(r["truth"], d),
                     _fmt(r["estimate"], d), f"{_fmt(r['bias'], d)} ({_fmt(r['bias_se'], d)})",
                     _fmt(r["rmse"], d), cov, _fmt(r["ci_width"], d), _fmt(r["pehe"], d),
                     _fmt(r["seconds"], 3), str(int(r["failures"]))])
    return table(rows, align="l" * (len(knobs) + 1) + "rrrrlrrrr")


def _figures(report: Any, sc: Any) -> dict[str, Any]:
    from causal.plot import draw_graph
    from causal.validate import plot_estimates, plot_sweep

    figs = {"estimates.png": plot_estimates(report)}
    for knob in report.knobs:
        others = {k: report.table[k].iloc[0] for k in report.knobs if k != knob}
        figs[f"sweep_{knob}.png"] = plot_sweep(report, knob, where=others)
    s = report.settings[0]
    figs["graph.png"] = draw_graph(sc.scm.graph, actions=s.treatment, outcomes=s.outcome,
                                   title=f"{sc.name}: the causal graph")
    return figs


def write_report(report: Any, sc: Any, out: Path, *, argv: Sequence[str],
                 record: Mapping[str, Any]) -> list[Path]:
    """Write the CSVs, PNGs, ``report.html`` and ``manifest.json`` of one scenario's validation."""
    from causal.plot import save_figure
    from causalsim.html import HtmlReport
    from causalsim.report import versions

    out.mkdir(parents=True, exist_ok=True)
    board = report.leaderboard()
    paths = [out / "validation.csv", out / "records.csv"]
    board.to_csv(paths[0], index=False)
    report.records.to_csv(paths[1], index=False)
    figs = _figures(report, sc)
    for name, fig in figs.items():
        paths.append(save_figure(fig, out / name))  # embedded below from these files: drawn once
    manifest = {"command": "validate", "argv": list(argv), **record,
                "results": json.loads(report.table.to_json(orient="records")),
                "files": [p.name for p in paths] + ["report.html", "manifest.json", "results.jsonl"],
                "versions": versions()}
    page = HtmlReport(f"Estimator validation: {sc.name}")
    s = report.settings[0]
    page.paragraph(f"Effect of {s.treatment} (action {record['contrast'][0]} vs {record['contrast'][1]}) "
                   f"on {s.outcome}; {record['reps']} replications of {record['n']} logged units, "
                   f"seed {record['seed']}. Rows sorted by RMSE; click a header to sort.")
    page.heading("Leaderboard")
    page.table(board, formats={c: ".4g" for c in ("truth", "estimate", "bias", "bias_se", "rmse", "ci_width",
                                                  "pehe", "seconds")}
               | {c: ".3f" for c in ("coverage", "coverage_low", "coverage_high")})
    page.heading("Figures")
    captions = {"estimates.png": "Estimates per estimator: middle 95% of replications, mean with its 95% "
                                 "Monte-Carlo interval, and the truth (dashed).",
                "graph.png": "The scenario's causal graph (hidden variables dashed)."}
    for name in figs:
        default = f"Bias and coverage along {name[6:-4]}, with 95% bands."
        page.figure(out / name, caption=captions.get(name, default), alt=name)
    page.heading("Manifest")
    page.code(json.dumps(manifest, indent=2))
    paths.append(page.write(out / "report.html"))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    paths.append(out / "manifest.json")
    return paths


def _estimators(text: str | None, sc: Any, seed: int) -> list[str]:
    from causal.validate import DEFAULT_ESTIMATORS

    if text is None:
        names = list(DEFAULT_ESTIMATORS)
        from causal._validate_source import settings

        if settings(sc, None, seed=seed, cate=False)[0].instrument:
            names.append("2sls")
        return names
    names = [e.strip() for e in text.split(",") if e.strip()]
    if not names:
        raise ArgumentError("--estimators is empty; give names, e.g. --estimators naive,aipw")
    return names


def _contrast(text: str | None) -> tuple[Any, Any] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise ArgumentError(f"--contrast {text!r}: expected TREAT,CONTROL (action labels or indices), "
                            "e.g. --contrast discount,none")
    return tuple(int(p) if p.isdigit() else p for p in parts)  # type: ignore[return-value]


def _run_one(name: str, ns: argparse.Namespace, argv: Sequence[str], out: Path | None,
             knobs: Mapping[str, Sequence[Any]]) -> Any:
    import scenarios
    from causal.validate import validate

    sc = scenarios.make(name)
    names = _estimators(ns.estimators, sc, ns.seed)
    backend = "dask" if ns.dask else "local"
    workers = ns.workers if ns.workers is not None else (None if ns.dask else os.cpu_count())
    address = None if ns.dask in (None, "local") else ns.dask
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    report = validate(sc, names, n=ns.n, reps=ns.reps, seed=ns.seed, backend=backend, workers=workers,
                      address=address, results=None if out is None else out / "results.jsonl",
                      knobs=knobs or None, progress=sys.stderr.isatty(), contrast=_contrast(ns.contrast))
    s = report.settings[0]
    labels = getattr(sc.actions, "labels", None) or ()
    shown = [labels[i] if isinstance(i, int) and i < len(labels) else i for i in (s.treat, s.control)]
    print(f"scenario: {sc.name}; effect of {s.treatment} = {shown[0]} vs {shown[1]} on {s.outcome}; "
          f"{ns.reps} replications x {ns.n:,} logged units, seed {ns.seed}"
          + (f"; instrument {s.instrument}" if s.instrument else ""))
    print(format_leaderboard(report.leaderboard(), report.knobs))
    if out is not None:
        record = {"scenario": {"name": sc.name, "params": repr(sc.params)}, "estimators": names,
                  "n": ns.n, "reps": ns.reps, "seed": ns.seed, "knobs": dict(knobs), "contrast": shown,
                  "backend": backend, "workers": workers, "address": address}
        paths = write_report(report, sc, out, argv=argv, record=record)
        print("wrote " + ", ".join(str(p) for p in paths))
    return report


def _write_all(reports: Mapping[str, Any], out: Path, argv: Sequence[str]) -> None:
    import pandas as pd

    from causal.validate import plot_estimates
    from causalsim.html import HtmlReport

    frames = [r.leaderboard().assign(scenario=name) for name, r in reports.items()]
    board = pd.concat(frames, ignore_index=True)
    board = board[["scenario", *[c for c in board.columns if c != "scenario"]]]
    board.to_csv(out / "leaderboard.csv", index=False)
    page = HtmlReport("Estimator leaderboard: every scenario")
    page.paragraph("Command: causalsim " + " ".join(argv))
    page.table(board, formats={c: ".4g" for c in ("truth", "estimate", "bias", "bias_se", "rmse", "ci_width",
                                                  "pehe", "seconds")}
               | {c: ".3f" for c in ("coverage", "coverage_low", "coverage_high")})
    for name, r in reports.items():
        page.heading(name)
        page.figure(plot_estimates(r), caption=f"{name}: estimates and the truth (dashed); details in "
                                               f"{name}/report.html", alt=f"{name} estimates")
    page.write(out / "report.html")
    print(f"wrote {out / 'leaderboard.csv'}, {out / 'report.html'}")


def cmd_validate(ns: argparse.Namespace, argv: Sequence[str]) -> int:
    if ns.all == (ns.scenario is not None):
        raise ArgumentError("give a SCENARIO or --all (not both)")
    knobs = _knobs(ns.knob or ())
    out = Path(ns.out) if ns.out is not None else None
    if not ns.all:
        _run_one(ns.scenario, ns, argv, out, knobs)
        return 0
    reports = {}
    for name in ALL_SCENARIOS:
        reports[name] = _run_one(name, ns, argv, None if out is None else out / name, knobs)
        print()
    if out is not None:
        _write_all(reports, out, argv)
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``validate`` subcommand to ``subparsers``; return its parser."""
    from causal.validate import DEFAULT_ESTIMATORS, REGISTRY

    p = _subcommand(
        subparsers, "validate",
        description="Fit estimators on many seeded data sets drawn from a scenario and score them against "
                    "the effect the simulator knows: bias, RMSE, interval coverage, PEHE, seconds.")
    p.add_argument("scenario", metavar="SCENARIO", nargs="?", help="a scenario's name (causalsim scenarios)")
    p.add_argument("--all", action="store_true",
                   help=f"every scenario ({', '.join(ALL_SCENARIOS)}) with the default estimators")
    p.add_argument("--estimators", metavar="A,B,...",
                   help=f"comma-separated: {', '.join(REGISTRY)}, or econml:<Class> / dowhy:<method> "
                        f"(default {','.join(DEFAULT_ESTIMATORS)}, and 2sls where there is an instrument)")
    p.add_argument("--n", type=_int_at_least(10), default=2000, help="logged units per replication "
                   "(default 2000)")
    p.add_argument("--reps", type=_int_at_least(1), default=200, help="replications (default 200)")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed (default 0)")
    p.add_argument("--contrast", metavar="TREAT,CONTROL",
                   help="the two actions compared (labels or indices; default action 1 vs action 0)")
    p.add_argument("--knob", action="append", metavar="NAME=V1,V2,...",
                   help="validate at each value of a scenario parameter, e.g. --knob confounding=0,0.5,1; "
                        "repeat for a grid")
    par = p.add_mutually_exclusive_group()
    par.add_argument("--workers", type=_int_at_least(1), metavar="K",
                     help="local worker processes (default: the number of CPUs; 1 runs in this process)")
    par.add_argument("--dask", metavar="ADDRESS",
                     help="run on a Dask cluster: a scheduler address, or 'local' for a LocalCluster")
    p.add_argument("--out", metavar="DIR",
                   help="write validation.csv, records.csv, PNGs, report.html and manifest.json into DIR; "
                        "results.jsonl there lets an interrupted run resume")
    p.set_defaults(run=cmd_validate)
    return p
