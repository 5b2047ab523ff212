#!/usr/bin/env python
"""Benchmark: evaluating agents through the batched episode core vs single envs; act_batch vs act.

Usage::

    python benchmarks/bench_agents.py [--json PATH] [--quick] [--repeats K] [--episodes N]

Follows the method of ``benchmarks/README.md``: every figure is set against a
reference timed in the same run, as the median of ``K >= 5`` repeats after a
warm-up, with min and max beside it, the two sides timed alternately (A, B, A,
B, ...), each ratio also in the process's CPU time (``process_time``), and
accuracy beside time.

The scenario is Driving with ``hidden_confounder=False`` (the documented setting
in which the causal agent's back-door adjustment identifies the effect; with the
default hidden confounder it refuses), ``scenarios.make("driving",
hidden_confounder=False)``.

Rows
----
1.  ``agents.evaluate(AGENTS, scenario, episodes=200, seed=0)`` (``--episodes``) with
    ``batched=True`` (the batched agents play every episode side by side on the
    episode core, :mod:`sim.core`, what the vector env runs) vs ``batched=False``
    (a plain loop over the episodes, each through a single ``CausalEnv``, one
    ``act`` per decision), for the batched agents ``random``, ``naive``,
    ``correlational``, ``causal`` and ``oracle``. Everything ``evaluate`` does
    is timed (the oracle's Monte-Carlo context values, ``draws=1000`` per
    action, the exact potential outcomes, the tallies) except fitting: each
    agent is fitted once, before timing, on the logs ``evaluate`` draws
    (``scenario.observational(20_000, 0)``), and refitting is then a no-op on
    both sides (the fitting time is printed beside the row). Accuracy: the two
    frames must be identical (``DataFrame.equals``, and the largest absolute
    difference over their numeric columns) for every agent but ``random``,
    whose ``act_batch`` draws the actions of all episodes' current units at
    once where ``act`` draws one at a time (the same distribution, other
    draws); the per-decision regret vs the oracle of each agent is printed.
    Target: batched >= 10x faster.
2.  The causal agent's ``act_batch`` on 1,024 observations (the first units of
    1,024 seeded episodes, ``sim.core.observe``) in decisions/s, vs a loop of
    ``act`` over the same 1,024 observations (1,024 calls). A timed call lasts
    at least ~0.2 s (a loop of ``act_batch`` calls; the time per batch is
    recorded, as ``timeit`` does). Accuracy: both give the same 1,024 actions.
    Target: none (the ratio is printed).

``--quick`` (1 episode, 500 logs, 20 draws, 16 observations, 2 repeats, and
linear models in place of the learners' default gradient boosting, so that
fitting is quick) is a smoke run, not a measurement.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# benchmarks/ is on sys.path when a script runs
from _common import (  # noqa: E402
    finish_machine,
    machine,
    markdown,
    parser,
    print_machine,
    race,
    verdict,
)
from _common import stats as _stats  # noqa: E402

import scenarios  # noqa: E402
from agents import evaluate  # noqa: E402
from agents.base import Agent  # noqa: E402
from agents.evaluate import episode_seeds  # noqa: E402
from agents.registry import make  # noqa: E402
from sim import core  # noqa: E402

AGENTS = ("random", "naive", "correlational", "causal", "oracle")
SEED, OBS_SEED = 0, 20240612
EVAL_TARGET = 10.0


@dataclass(frozen=True)
class Sizes:
    episodes: int
    logs: int
    draws: int
    batch: int          # observations given to act_batch
    min_call_s: float   # a timed act_batch call loops until it lasts about this long


FULL = Sizes(episodes=200, logs=20_000, draws=1000, batch=1024, min_call_s=0.2)
QUICK = Sizes(episodes=1, logs=500, draws=20, batch=16, min_call_s=0.0)
EXACT = tuple(a for a in AGENTS if a != "random")  # same decisions on both paths


# ----------------------------------------------------------------------------- timing
def _keep(self: Agent, logs: pd.DataFrame) -> Agent:
    return self


def fitted(name: str, scenario: Any, logs: pd.DataFrame, quick: bool = False) -> Agent:
    """The registered agent ``name``, fitted on ``logs`` once; ``evaluate``'s refit is a no-op.

    The agent's class is swapped for a subclass whose ``fit`` returns the agent as it is, so
    ``evaluate`` (which fits every agent that defines ``fit``) keeps what was learned here.
    """
    settings: dict[str, Any] = {}
    if quick and name in ("correlational", "causal"):
        from sklearn.linear_model import LinearRegression

        settings["model"] = LinearRegression()
    agent = make(name, scenario, **settings)
    if type(agent).fit is not Agent.fit:
        agent.fit(logs)
        agent.__class__ = type(f"Fitted{type(agent).__name__}", (type(agent),), {"fit": _keep})
    return agent


# ----------------------------------------------------------------------------- rows
def measure_evaluate(scenario: Any, sizes: Sizes, repeats: int, quick: bool) -> dict[str, Any]:
    logs = scenario.observational(sizes.logs, SEED)
    t0 = time.perf_counter()
    agents = [fitted(name, scenario, logs, quick) for name in AGENTS]
    fit_s = time.perf_counter() - t0
    frames: dict[bool, pd.DataFrame] = {}

    def run(batched: bool) -> Callable[[], None]:
        def call() -> None:
            frames[batched] = evaluate(agents, scenario, episodes=sizes.episodes, seed=SEED,
                                       logs=sizes.logs, draws=sizes.draws, batched=batched)
        return call

    (t_ours, t_ref), (c_ours, c_ref) = race([run(True), run(False)], repeats, progress=True)
    ours, ref = frames[True], frames[False]
    exact = ours.agent.isin(EXACT).to_numpy()
    a, b = ours[exact].reset_index(drop=True), ref[exact].reset_index(drop=True)
    num = a.select_dtypes("number").columns
    diff = float(np.abs(a[num].to_numpy(float) - b[num].to_numpy(float)).max())
    per = np.maximum(ours.decisions.to_numpy(), 1)
    regret = (ours.regret_oracle / per).groupby(ours.agent, sort=False).mean()
    ratio = statistics.median(t_ref) / statistics.median(t_ours)
    return {"ours": _stats(t_ours), "ref": _stats(t_ref), "cpu_ours": _stats(c_ours),
            "cpu_ref": _stats(c_ref), "ratio": ratio,
            "cpu_ratio": statistics.median(c_ref) / statistics.median(c_ours),
            "target": EVAL_TARGET, "meets": ratio >= EVAL_TARGET,
            "agents": list(AGENTS), "episodes": sizes.episodes,
            "decisions": int(ours.decisions.sum()), "fit_seconds": fit_s,
            "identical": bool(a.equals(b)), "compared_agents": list(EXACT), "max_abs_diff": diff,
            "regret_oracle_per_decision": {k: float(v) for k, v in regret.items()}}


def measure_act(scenario: Any, sizes: Sizes, repeats: int, quick: bool) -> dict[str, Any]:
    from gymnasium.utils.seeding import np_random

    agent = fitted("causal", scenario, scenario.observational(sizes.logs, SEED), quick)
    agent.reset(SEED)
    seeds = episode_seeds(OBS_SEED, sizes.batch)
    obs = core.observe(core.initial(scenario, [np_random(s)[0] for s in seeds]))
    single = [obs[i] for i in range(len(obs))]

    def once() -> None:
        agent.act_batch(obs)

    t = time.perf_counter()
    once()
    calls = 1
    if sizes.min_call_s > 0:
        calls = max(1, round(sizes.min_call_s / max(time.perf_counter() - t, 1e-9)))

    def batch() -> None:
        for _ in range(calls):
            agent.act_batch(obs)

    def loop() -> None:
        for x in single:
            agent.act(x)

    (t_ours, t_ref), (c_ours, c_ref) = race([batch, loop], repeats, progress=True)
    n = len(obs)
    ours = _stats([n * calls / t for t in t_ours])
    ref = _stats([n / t for t in t_ref])
    same = bool(np.array_equal(agent.act_batch(obs), np.array([agent.act(x) for x in single])))
    return {"ours": ours, "ref": ref, "ratio": ours["median"] / ref["median"],
            "cpu_ratio": (n * calls / statistics.median(c_ours)) / (n / statistics.median(c_ref)),
            "batch": n, "batches_per_call": calls, "same_actions": same,
            "cpu_ours": _stats(c_ours), "cpu_ref": _stats(c_ref)}


# ----------------------------------------------------------------------------- output
def _fmt(x: float) -> str:
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.3f}"


def _t(t: dict[str, Any]) -> str:
    return f"{_fmt(t['median'])} [{_fmt(t['min'])}, {_fmt(t['max'])}]"


def table(ev: dict[str, Any], act: dict[str, Any]) -> str:
    header = ["#", "ours", "median [min, max]", "reference", "median [min, max]",
              "speed-up (CPU)", "target", "met", "accuracy"]
    same = "identical" if ev["identical"] and ev["max_abs_diff"] == 0.0 else "**NOT identical**"
    regrets = ", ".join(f"{k} {v:.4f}" for k, v in ev["regret_oracle_per_decision"].items())
    acc1 = (f"frames of {', '.join(ev['compared_agents'])} {same} (max abs diff "
            f"{ev['max_abs_diff']:.1e}; random: other draws); {ev['decisions']:,} decisions in all; "
            f"regret vs oracle per decision: {regrets}; fitting (untimed) {ev['fit_seconds']:.1f} s")
    acc2 = ("same actions" if act["same_actions"] else "**actions differ**") + (
        f"; {act['batches_per_call']} batches per timed call")
    rows = [
        ["1", f"`evaluate(batched=True)`, {len(ev['agents'])} agents × {ev['episodes']} episodes, s",
         _t(ev["ours"]), "`evaluate(batched=False)`: single envs, s", _t(ev["ref"]),
         f"{ev['ratio']:.1f}x ({ev['cpu_ratio']:.1f}x)", f"≥ {ev['target']:g}x",
         verdict(ev["meets"]), acc1],
        ["2", f"causal `act_batch` on {act['batch']:,} observations, decisions/s", _t(act["ours"]),
         f"{act['batch']:,} calls of `act`, decisions/s", _t(act["ref"]),
         f"{act['ratio']:.0f}x ({act['cpu_ratio']:.0f}x)", "—", verdict(None), acc2],
    ]
    return markdown(header, rows)


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, "tiny sizes: a smoke run, not a measurement")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats after a warm-up (default 5)")
    ap.add_argument("--episodes", type=int, default=None,
                    help=f"episodes per evaluate call (default {FULL.episodes}; --quick {QUICK.episodes})")
    args = ap.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 5)
    if repeats < 5 and not args.quick:
        ap.error("benchmarks/README.md asks for at least 5 repeats")
    sizes = QUICK if args.quick else FULL
    if args.episodes is not None:
        if args.episodes < 1:
            ap.error("--episodes must be at least 1")
        sizes = replace(sizes, episodes=args.episodes)
    scenario = scenarios.make("driving", hidden_confounder=False)

    info = machine(("numpy", "pandas", "scikit-learn", "gymnasium"))
    t0 = time.perf_counter()
    ev = measure_evaluate(scenario, sizes, repeats, args.quick)
    print(f"[evaluate: {time.perf_counter() - t0:.0f} s]", file=sys.stderr, flush=True)
    act = measure_act(scenario, sizes, repeats, args.quick)
    finish_machine(info)
    print_machine(info)
    print(f"Driving (hidden_confounder=False); agents {', '.join(AGENTS)}; {sizes.episodes} episodes, "
          f"logs {sizes.logs:,}, draws {sizes.draws:,}; {repeats} repeats after a warm-up, "
          f"alternating{' (--quick: a smoke run, not a measurement)' if args.quick else ''}")
    print()
    print(table(ev, act))
    if args.json:
        import json

        report = {"quick": args.quick, "machine": info, "repeats": repeats,
                  "setup": {"scenario": "driving", "params": {"hidden_confounder": False},
                            "agents": list(AGENTS), "episodes": sizes.episodes, "logs": sizes.logs,
                            "draws": sizes.draws, "seed": SEED, "obs_seed": OBS_SEED,
                            "batch": sizes.batch},
                  "rows": [{"key": "evaluate", **ev}, {"key": "act_batch", **act}]}
        args.json.write_text(json.dumps(report, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
