"""``causalsim evaluate``: play decision agents through a scenario and score them by regret.

::

    causalsim evaluate SCENARIO --agents random,naive,correlational,causal,query,oracle
                       [--episodes 100] [--seed S] [--query-budget B] [--query-cost C]
                       [--knob NAME=V1,V2,...] [--logs N] [--draws N] [--out DIR]

Every agent plays the same seeded episodes (:func:`agents.evaluate`: common
random numbers), and the table shows, per agent (and per setting of the
knobs), the mean reward per decision, the regret per decision vs the oracle
(the best action for the observed context) with its 95% interval over
episodes, the regret vs the clairvoyant (the best action for this very unit),
the scenario's outcome (per 1,000 decisions when it is 0/1, e.g. Driving's
collisions) and the queries per episode; the numbers are those of
:func:`agents.summarize`. ``--knob`` evaluates at every combination of
scenario parameters (``--knob hidden_confounder=false,true``); its values are
read as booleans, integers, numbers or text. With ``--out DIR`` it writes
``evaluate.csv`` (one row per knob setting x agent x episode),
``summary.csv``, ``regret.png`` (cumulative regret vs the oracle, one panel
per knob setting) and ``manifest.json`` (the command, parameters, results and
versions). Errors (an unknown agent or scenario, an agent that cannot decide
on this scenario) print one line ``causalsim: error: ...`` and return 1.

Examples
--------
>>> parse_knob("hidden_confounder=false,true")
('hidden_confounder', [False, True])
>>> parse_knob("confounding=0,0.5,2")
('confounding', [0, 0.5, 2])
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from causalsim.args import ArgumentError
from causalsim.cli import _int_at_least, _number  # the same parsers as the other commands

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["register", "cmd_evaluate", "parse_knob", "parse_value", "format_evaluation"]

DEFAULT_EPISODES = 100
_KNOB = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S.*?)\s*$")


def parse_value(text: str) -> bool | int | float | str:
    """A knob value: ``true``/``false`` (any case) as bool, then int, then float, else the text.

    >>> [parse_value(t) for t in ("True", "3", "2.5", "1e3", "fast")]
    [True, 3, 2.5, 1000.0, 'fast']
    """
    text = text.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_knob(text: str) -> tuple[str, list[Any]]:
    """``NAME=V1,V2,...`` into the parameter's name and its values."""
    match = _KNOB.match(text)
    if match is None:
        raise ArgumentError(f"--knob {text!r}: expected NAME=VALUE,VALUE,..., e.g. "
                            "--knob hidden_confounder=false,true")
    name, raw = match.groups()
    values = [parse_value(v) for v in raw.split(",") if v.strip()]
    if not values:
        raise ArgumentError(f"--knob {text!r}: give at least one value")
    if len({repr(v) for v in values}) < len(values):
        raise ArgumentError(f"--knob {text!r}: a value is given twice")
    return name, values


def _knobs(texts: Sequence[str]) -> dict[str, list[Any]]:
    knobs: dict[str, list[Any]] = {}
    for text in texts:
        name, values = parse_knob(text)
        if name in knobs:
            raise ArgumentError(f"--knob names {name!r} twice; give its values comma-separated")
        knobs[name] = values
    return knobs


def _agents(text: str) -> list[str]:
    names = [a.strip() for a in text.split(",") if a.strip()]
    if not names:
        raise ArgumentError("--agents is empty; give names, e.g. --agents random,causal,oracle")
    if len(set(names)) < len(names):
        raise ArgumentError(f"--agents {text!r} names an agent twice")
    return names


def _binary(sc: Any, seed: int) -> bool:
    """Whether the scenario's outcome takes only the values 0 and 1."""
    import numpy as np

    y = sc.scm.sample(1000, seed=seed, hidden=True)[sc.outcome].to_numpy()
    return bool(np.isin(y, (0.0, 1.0)).all())


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else f"{value:g}" if isinstance(
        value, float) else str(value)


def format_evaluation(summary: pd.DataFrame, knobs: Sequence[str], *, outcome: str,
                      binary: bool, unit: str | None = None) -> str:
    """The evaluation table of :func:`agents.summarize`'s frame (one row per knob setting x agent).

    Columns: the knobs, agent, reward per decision, regret vs the oracle with its 95%
    interval, regret vs the clairvoyant, the outcome (per 1,000 decisions when 0/1) and
    queries per episode.
    """
    from causalsim.report import decimals, fmt, interval, table

    scale = 1000.0 if binary else 1.0
    out_head = f"{outcome} per 1,000" if binary else f"{outcome}{f' [{unit}]' if unit else ''}"
    rows = [[*knobs, "agent", "reward", "regret vs oracle", "95% interval", "vs clairvoyant",
             out_head, "queries"]]

    def digits(col: str, spread: str | None = None) -> int:
        x = summary[col].to_numpy(dtype=float) * (scale if col == "outcome_mean" else 1.0)
        half = None
        if spread is not None:
            widths = (summary[f"{spread}_high"] - summary[f"{spread}_low"]).to_numpy(dtype=float) / 2
            positive = widths[widths > 0]
            half = float(positive.min()) if len(positive) else None
        return decimals(*x, spread=half)

    dr, do, dc = digits("reward", "reward"), digits("regret_oracle", "regret_oracle"), \
        digits("regret_clairvoyant", "regret_clairvoyant")
    dy, dq = digits("outcome_mean"), min(digits("queries"), 1)
    for _, r in summary.iterrows():
        ci = interval(r["regret_oracle_low"], r["regret_oracle_high"], do)
        rows.append([*(_show(r[k]) for k in knobs), str(r["agent"]), fmt(r["reward"], dr),
                     fmt(r["regret_oracle"], do), ci,
                     fmt(r["regret_clairvoyant"], dc), fmt(r["outcome_mean"] * scale, dy),
                     fmt(r["queries"], dq)])
    return table(rows, align="l" * len(knobs) + "lrrlrrr")


def _plot(df: pd.DataFrame, knobs: Sequence[str], title: str) -> Any:
    """Cumulative regret vs the oracle: one panel per knob setting (:func:`agents.plot_regret`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from agents import plot_regret

    groups = list(df.groupby(list(knobs), sort=False)) if knobs else [((), df)]
    fig = Figure(figsize=(7.0, 3.6 * len(groups) + 0.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
    for ax, (key, g) in zip(axes, groups, strict=True):
        plot_regret(g, ax=ax)
        key = key if isinstance(key, tuple) else (key,)
        if knobs:
            ax.set_title(", ".join(f"{k}={_show(v)}" for k, v in zip(knobs, key, strict=True)),
                         fontsize=10)
    fig.suptitle(title)
    return fig


def write_evaluation(df: pd.DataFrame, summary: pd.DataFrame, out: str | Path, *,
                     argv: Sequence[str], knobs: Sequence[str], title: str,
                     record: Mapping[str, Any]) -> list[Path]:
    """Write ``evaluate.csv``, ``summary.csv``, ``regret.png`` and ``manifest.json`` into ``out``."""
    from causal.plot import save_figure
    from causalsim.report import versions

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    csv, summ, png, manifest = (folder / f for f in ("evaluate.csv", "summary.csv", "regret.png",
                                                     "manifest.json"))
    df.to_csv(csv, index=False)
    summary.to_csv(summ, index=False)
    save_figure(_plot(df, knobs, title), png)
    full = {"command": "evaluate", "argv": list(argv), **record,
            "results": json.loads(summary.to_json(orient="records")),
            "files": [p.name for p in (csv, summ, png, manifest)], "versions": versions()}
    manifest.write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
    return [csv, summ, png, manifest]


def _preflight(sc: Any, names: Sequence[str], knobs: Mapping[str, Sequence[Any]]) -> None:
    """Make every agent for every knob setting (cheap: no fitting), so that an agent that cannot
    decide on one setting fails before the others are played."""
    from itertools import product

    import scenarios
    from agents import make

    for values in product(*knobs.values()):
        setting = scenarios.make(sc.name, **dict(zip(knobs, values, strict=True))) if knobs else sc
        for name in names:
            make(name, setting)


def cmd_evaluate(ns: argparse.Namespace, argv: Sequence[str]) -> int:
    import scenarios
    from agents import AgentError, evaluate, summarize

    names = _agents(ns.agents)
    knobs = _knobs(ns.knob or ())
    sc = scenarios.make(ns.scenario)
    if ns.out is not None:  # fail before the evaluation if the folder cannot be made
        Path(ns.out).mkdir(parents=True, exist_ok=True)
    try:
        _preflight(sc, names, knobs)
        df = evaluate(names, sc, episodes=ns.episodes, seed=ns.seed, query_budget=ns.query_budget,
                      query_cost=ns.query_cost, knobs=knobs, logs=ns.logs, draws=ns.draws,
                      progress=sys.stderr.isatty())
    except AgentError as exc:
        if "fallback='query'" in str(exc):  # say it in the command line's words
            raise AgentError(f"{exc} (on the command line: --agents causal-query)") from None
        raise
    summary = summarize(df, by=list(knobs))
    binary = _binary(sc, ns.seed)
    unit = sc.scm.meta.get(sc.outcome, {}).get("unit")
    per = (f"{sc.outcome} per 1,000 decisions (the decisions with {sc.outcome} = 1)" if binary
           else f"{sc.outcome}, its mean per decision")
    print(f"scenario: {sc.name} ({scenarios.env_id(sc.name)}), {ns.episodes:,} episodes, seed {ns.seed}; "
          f"agents fit on {ns.logs:,} logged rows")
    print("per decision: reward, and regret vs the oracle (best action for the context) and the "
          "clairvoyant (best for the unit); 95% intervals over episodes")
    print(f"outcome: {per}; queries: per episode")
    print(format_evaluation(summary, list(knobs), outcome=sc.outcome, binary=binary,
                            unit=None if binary else unit))
    if ns.out is not None:
        record = {"scenario": {"name": sc.name, "id": scenarios.env_id(sc.name),
                               "params": repr(sc.params)},
                  "agents": names, "seed": ns.seed,
                  "parameters": {"episodes": ns.episodes, "query_budget": ns.query_budget,
                                 "query_cost": ns.query_cost, "knobs": knobs, "logs": ns.logs,
                                 "draws": ns.draws},
                  "outcome": {"node": sc.outcome, "binary": binary}}
        paths = write_evaluation(df, summary, ns.out, argv=argv, knobs=list(knobs),
                                 title=f"{sc.name}: cumulative regret vs the oracle", record=record)
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``evaluate`` subcommand to ``subparsers``; return its parser."""
    from agents.registry import names

    p = subparsers.add_parser(
        "evaluate", help="play decision agents through a scenario and score them by regret",
        description="Play each agent through the same seeded episodes of a scenario and score every "
                    "decision by its regret vs the oracle and the clairvoyant.")
    p.add_argument("scenario", metavar="SCENARIO", help="a scenario's name (causalsim scenarios)")
    p.add_argument("--agents", required=True, metavar="A,B,...",
                   help=f"comma-separated agent names: {', '.join(names())}")
    p.add_argument("--episodes", type=_int_at_least(1), default=DEFAULT_EPISODES,
                   help=f"episodes, the same for every agent (default {DEFAULT_EPISODES})")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed (default 0)")
    p.add_argument("--query-budget", type=_number, default=None, metavar="B",
                   help="the most an episode may spend on queries, for agents that ask the "
                        "environment (default: no limit)")
    p.add_argument("--query-cost", type=_number, default=0.0, metavar="C",
                   help="cost of a query, taken from the reward and from the budget (default 0)")
    p.add_argument("--knob", action="append", metavar="NAME=V1,V2,...",
                   help="evaluate at each value of a scenario parameter, e.g. "
                        "--knob hidden_confounder=false,true; repeat for a grid")
    p.add_argument("--logs", type=_int_at_least(10), default=20_000,
                   help="rows of logged data the offline agents learn from (default 20000)")
    p.add_argument("--draws", type=_int_at_least(2), default=1000,
                   help="Monte-Carlo draws per action for the oracle (default 1000)")
    p.add_argument("--out", metavar="DIR",
                   help="write evaluate.csv, summary.csv, regret.png and manifest.json into DIR")
    p.set_defaults(run=cmd_evaluate)
    return p
