"""The PEHE table of docs/heterogeneous.md: every CATE estimator, default settings, two scenarios.

For Marketing (discount vs no contact, outcome ``conversion`` and ``revenue``) and Healthcare
(protocol A vs standard care, outcome ``recovery_days``), both with ``hidden_confounder=False``:

* training data: ``n`` logged units (``scenario.observational(n, seed)``), restricted to the two
  arms compared (the behaviour policy depends on the observed context only, so the CATE of the
  two arms given the context is the same in that subpopulation) and coded 0/1;
* evaluation points: ``eval_n`` other logged units (seed ``seed + 1``) with their true CATE at
  their observed context, ``sim.cate.cate_truth`` with ``samples`` Monte-Carlo draws each;
* every estimator with its DEFAULT settings, fitted with ``effect_modifiers`` = the scenario's
  context (marketing's ``spent``, constant 0 in logged data, left out), scored by
  ``pehe(est.effect(eval), true_cate)``; the reference is the constant-effect predictor that
  knows the true ATE (the mean true CATE at the evaluation points);
* the causal forest's 95% intervals: the share of evaluation points whose true CATE they cover.

Usage::

    python docs/heterogeneous_pehe.py [--n 200000] [--eval-n 2000] [--samples 2000] [--seed 0]
        [--only marketing:conversion,healthcare:recovery_days] [--json out.json]

Prints one table per scenario/outcome and, with ``--json``, writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # run as a script: docs/scenarios/ (pages) would shadow the scenarios package

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

import scenarios
from causal.estimators import (
    CausalForest,
    DRLearner,
    LinearDML,
    NonParamDML,
    RLearner,
    SLearner,
    TLearner,
    XLearner,
    pehe,
)
from sim import cate_truth

#: (scenario, treat, control, outcome) of each case.
CASES: dict[str, tuple[str, str, str, str]] = {
    "marketing:conversion": ("marketing", "discount", "none", "conversion"),
    "marketing:revenue": ("marketing", "discount", "none", "revenue"),
    "healthcare:recovery_days": ("healthcare", "protocol_A", "standard", "recovery_days"),
}

#: Every CATE estimator with its default settings (InteractiveDML estimates the ATE/ATT only).
ESTIMATORS: dict[str, Callable[[], Any]] = {
    "S-learner": SLearner, "T-learner": TLearner, "X-learner": XLearner, "DR-learner": DRLearner,
    "R-learner": RLearner, "LinearDML": LinearDML, "NonParamDML": NonParamDML, "CausalForest": CausalForest,
}


def case_data(case: str, n: int, eval_n: int, samples: int,
              seed: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, dict[str, Any]]:
    """Training rows of the two arms (treatment coded 0/1), evaluation rows and their true CATE."""
    name, treat, control, outcome = CASES[case]
    sc = scenarios.make(name, hidden_confounder=False)
    a, c = sc.actions.index(treat), sc.actions.index(control)
    action = sc.actions.nodes[0]
    logs = sc.observational(n, seed)
    train = logs[logs[action].isin([a, c])].assign(**{action: lambda d: (d[action] == a).astype(int)})
    truth = cate_truth(sc, eval_n, seed + 1, treat=treat, control=control, outcome=outcome, samples=samples)
    modifiers = [v for v in sc.context if logs[v].nunique() > 1]
    roles = {"treatment": action, "outcome": outcome, "effect_modifiers": modifiers}
    return train.reset_index(drop=True), truth.logs, truth.cate, {"roles": roles, "mc_se": truth.cate_stderr}


def run_case(case: str, n: int, eval_n: int, samples: int, seed: int) -> dict[str, Any]:
    """Fit every estimator on one case; return PEHE per estimator, seconds, forest coverage."""
    train, evaluation, tau, info = case_data(case, n, eval_n, samples, seed)
    roles = info["roles"]
    out: dict[str, Any] = {"case": case, "n_logged": n, "n_train": len(train), "eval_n": eval_n,
                           "samples": samples, "seed": seed, "cate_sd": float(tau.std()),
                           "outcome_sd": float(train[roles["outcome"]].std()),
                           "mc_se_rms": float(np.sqrt(np.mean(info["mc_se"] ** 2))),
                           "constant": pehe(np.full(len(tau), tau.mean()), tau), "pehe": {}, "seconds": {}}
    for label, make in ESTIMATORS.items():
        t0 = time.perf_counter()
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore")
            est = make().fit(train, **roles)
            effect = est.effect(evaluation)
            if label == "CausalForest":
                lo, hi = est.effect_interval(evaluation, alpha=0.05)
                out["forest_coverage"] = float(np.mean((lo <= tau) & (tau <= hi)))
                out["forest_mean_width"] = float(np.mean(hi - lo))
        out["seconds"][label] = round(time.perf_counter() - t0, 1)
        out["pehe"][label] = pehe(effect, tau)
    return out


def table(res: dict[str, Any]) -> str:
    """The result of one case as a text table, best PEHE first."""
    lines = [f"{res['case']}: {res['n_train']:,} training units of {res['n_logged']:,} logged; "
             f"CATE sd {res['cate_sd']:.3g}, outcome sd {res['outcome_sd']:.3g}; "
             f"{res['eval_n']:,} evaluation points (Monte-Carlo error of the truth {res['mc_se_rms']:.2g})",
             f"  {'constant (true ATE)':<20} {res['constant']:.4g}"]
    for label, v in sorted(res["pehe"].items(), key=lambda kv: kv[1]):
        lines.append(f"  {label:<20} {v:.4g}   ({v / res['constant']:.2f} of constant, "
                     f"{res['seconds'][label]:.0f} s)")
    if "forest_coverage" in res:
        lines.append(f"  CausalForest 95% intervals cover the true CATE at {res['forest_coverage']:.1%} of "
                     f"points (mean width {res['forest_mean_width']:.3g})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--eval-n", type=int, default=2000)
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", default=",".join(CASES))
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    results = []
    for case in args.only.split(","):
        res = run_case(case, args.n, args.eval_n, args.samples, args.seed)
        print(table(res), flush=True)
        results.append(res)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return results


if __name__ == "__main__":
    main()
