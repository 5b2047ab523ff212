#!/usr/bin/env python
"""Benchmark: heterogeneous-effect estimators (causal forest, DR-learner, linear DML) vs EconML.

Usage::

    python benchmarks/bench_cate.py [--json PATH] [--quick] [--no-peers] [--repeats K] [--sizes N,N,...]
                                    [--cases forest,dr,dml]

Follows the method of ``benchmarks/README.md``: each row times one of our estimators and its EconML
counterpart on the same data, alternately (A, B, A, B, ...), after one warm-up call each on the
first 2,000 units (imports, numba compilation, caches); a row gives the median of the repeats
with min and max. Timed: ``fit`` on the ``n`` logged units plus ``effect`` at 10,000 held-out
evaluation units. Beside time: each side's PEHE against the true CATE at the evaluation units.

Data: the Healthcare scenario with ``hidden_confounder=False``, treatment ``protocol_A`` against
``standard`` (the logged units that got one of the two; ``protocol_B`` units are dropped), outcome
``recovery_days``. The true CATE of each unit is :func:`sim.cate.cate_truth` at its context (200
Monte-Carlo draws per unit; the table prints their RMS error, which adds in quadrature to every
PEHE alike). The scenario's context has 4 nodes (age, comorbidity, severity score, distance);
six independent standard-normal columns are appended so that ``p = 10`` as the issue asks: they
are effect modifiers that do not modify anything, which a forest must learn to ignore. Training
data: seed 0 (sizes ``--sizes``, default 10,000 and 100,000); evaluation: 10,000 units of seed 1.
All 10 columns are both confounders and effect modifiers (EconML: ``X`` = all, ``W = None``).

Rows (for each n)
-----------------
forest/equal
    ``CausalForest()`` (500 trees, honest, little bags of 2, our nuisances: histogram boosting
    ``forest._BOOSTING``, 5 folds) vs EconML ``CausalForestDML(discrete_treatment=True)`` with the
    same two nuisance models and ``cv=5``; each forest otherwise in its defaults (EconML: 100
    trees, subforests of 4, ``n_jobs=-1``). Targets: PEHE <= 1.15x EconML's; time <= EconML's.
forest/default
    The same ``CausalForest()`` vs ``CausalForestDML(discrete_treatment=True)`` in its default
    configuration (``model_y``/``model_t`` ``"auto"``, ``cv=2``).
dr/equal
    ``DRLearner(folds=2)`` (propensity ``default_classifier()``, outcome and final
    ``default_regressor()``, clip 0.05) vs EconML ``DRLearner`` with ``model_propensity``,
    ``model_regression`` and ``model_final`` the same models, ``cv=2``, ``min_propensity=0.05``.
    EconML's outcome model is one regression on ``[X, one-hot T]``; ours one per arm (the only
    difference). Target: >= 1.5x faster, PEHE <= 1.15x EconML's.
dr/default
    The same ``DRLearner`` vs EconML's ``DRLearner()`` defaults ("auto" models, linear final).
dml/equal
    ``LinearDML(folds=2)`` (``LinearRegression`` outcome, logistic propensity) vs EconML
    ``LinearDML(discrete_treatment=True, cv=2)`` with the same models. Both report ``beta``
    (intercept and 10 slopes) with standard errors: the row prints the largest
    ``|beta_ours - beta_econml| / se``. Target: >= 1.5x faster and that z below 1 (the same
    estimator; folds differ, which moves the estimate by much less than its standard error).
dml/default
    The same ``LinearDML`` vs EconML's ``LinearDML(discrete_treatment=True)`` defaults.

Ratios: ``speed-up`` = EconML's median / ours (>= 1 means ours is faster); ``PEHE ratio`` = ours
/ EconML's. ``--quick`` runs n = 1,000 (200 evaluation units, 20 Monte-Carlo draws, 50 trees
for our forest and EconML's, 2 repeats): a smoke run, not a measurement.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finish_machine, machine, markdown, parser, print_machine, verdict  # noqa: E402

P = 10
EVAL = 10_000
SAMPLES = 200
WARM = 2_000
CASES = ("forest", "dr", "dml")


# --------------------------------------------------------------------------- data
def scenario_data(n: int, seed: int, samples: int) -> dict[str, Any]:
    """``n`` Healthcare units treated by ``protocol_A`` or ``standard`` with 6 noise columns appended."""
    import scenarios
    from sim.cate import cate_truth

    sc = scenarios.make("healthcare", hidden_confounder=False)
    draw = int(n / 0.6) + 100  # about 73% of logged units get protocol_A or standard
    truth = cate_truth(sc, draw, seed, treat="protocol_A", control="standard", samples=samples)
    action = truth.logs[sc.actions.nodes[0]].to_numpy()
    keep = np.flatnonzero(action <= 1)[:n]
    if len(keep) < n:
        raise RuntimeError(f"only {len(keep)} of {draw} logged units got protocol_A or standard")
    logs = truth.logs.iloc[keep]
    ctx = logs[list(sc.context)].to_numpy(dtype=float)
    noise = np.random.default_rng([seed, 7]).normal(size=(n, P - ctx.shape[1]))
    X = np.column_stack([ctx, noise])
    return {"X": X, "t": action[keep].astype(int), "y": logs["recovery_days"].to_numpy(dtype=float),
            "cate": truth.cate[keep], "mc_rms": float(np.sqrt(np.mean(truth.cate_stderr[keep] ** 2)))}


def frame(d: dict[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame(d["X"], columns=COLS)
    df["t"], df["y"] = d["t"], d["y"]
    return df


COLS = [f"x{i}" for i in range(P)]


def head(d: dict[str, Any], k: int) -> dict[str, Any]:
    return {key: (v[:k] if isinstance(v, np.ndarray) else v) for key, v in d.items()}


# --------------------------------------------------------------------------- the two sides
def ours(case: str, quick: bool) -> Callable[[dict[str, Any], np.ndarray], Any]:
    from sklearn.linear_model import LinearRegression

    from causal.estimators.dml import LinearDML
    from causal.estimators.forest import CausalForest
    from causal.estimators.learners import DRLearner
    from causal.estimators.weighting import default_propensity

    def run(d: dict[str, Any], Xe: np.ndarray) -> Any:
        df = frame(d)
        if case == "forest":
            est = CausalForest(num_trees=50 if quick else 500)
            est.fit(df, treatment="t", outcome="y", covariates=COLS)
        elif case == "dr":
            est = DRLearner(folds=2)
            est.fit(df, treatment="t", outcome="y", covariates=COLS, effect_modifiers=COLS)
        else:
            est = LinearDML(model_y=LinearRegression(), model_t=default_propensity(), folds=2)
            est.fit(df, treatment="t", outcome="y", covariates=COLS, effect_modifiers=COLS)
        return est, est.effect(Xe)
    return run


def econml_side(case: str, config: str, quick: bool) -> Callable[[dict[str, Any], np.ndarray], Any]:
    from sklearn.base import clone
    from sklearn.linear_model import LinearRegression

    from causal.estimators._learner_base import default_classifier, default_regressor
    from causal.estimators.forest import _BOOSTING
    from causal.estimators.weighting import default_propensity

    def run(d: dict[str, Any], Xe: np.ndarray) -> Any:
        from econml.dml import CausalForestDML, LinearDML
        from econml.dr import DRLearner
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        equal = config == "equal"
        if case == "forest":
            kw: dict[str, Any] = {"n_estimators": 48 if quick else 100, "discrete_treatment": True,
                                  "random_state": 0}
            if equal:
                kw |= {"model_y": HistGradientBoostingRegressor(**_BOOSTING, random_state=0),
                       "model_t": HistGradientBoostingClassifier(**_BOOSTING, random_state=0), "cv": 5}
            est = CausalForestDML(**kw)
        elif case == "dr":
            kw = {"random_state": 0}
            if equal:
                kw |= {"model_propensity": default_classifier(), "model_regression": default_regressor(),
                       "model_final": default_regressor(), "cv": 2, "min_propensity": 0.05}
            est = DRLearner(**kw)
        else:
            kw = {"discrete_treatment": True, "random_state": 0}
            if equal:
                kw |= {"model_y": LinearRegression(), "model_t": clone(default_propensity()), "cv": 2}
            est = LinearDML(**kw)
        est.fit(d["y"], d["t"], X=d["X"])
        return est, np.asarray(est.effect(Xe)).ravel()
    return run


# --------------------------------------------------------------------------- timing
def _timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        out = fn(*args)
        return time.perf_counter() - t0, out


def summary(times: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "repeats": len(times),
            "times": times}


def pehe(tau: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(tau) - truth) ** 2)))


def dml_z(a: Any, b: Any) -> float:
    """The largest ``|beta_ours - beta_econml| / se_ours`` over the intercept and slopes."""
    theirs = np.concatenate([np.ravel(b.intercept_), np.ravel(b.coef_)])
    return float(np.max(np.abs(a.coef_ - theirs) / a.coef_stderr_))


def run_row(case: str, config: str, d: dict[str, Any], ev: dict[str, Any], repeats: int, quick: bool,
            peers: bool) -> dict[str, Any]:
    a = ours(case, quick)
    b = econml_side(case, config, quick) if peers else None
    warm = head(d, min(WARM, len(d["t"])))
    _timed(a, warm, ev["X"][:100])
    if b is not None:
        _timed(b, warm, ev["X"][:100])
    ta, tb, out_a, out_b = [], [], None, None
    for _ in range(repeats):
        t, out_a = _timed(a, d, ev["X"])
        ta.append(t)
        if b is not None:
            t, out_b = _timed(b, d, ev["X"])
            tb.append(t)
    row: dict[str, Any] = {"case": case, "config": config, "n": len(d["t"]), "ours": summary(ta),
                           "pehe_ours": pehe(out_a[1], ev["cate"]), "ate_ours": float(np.mean(out_a[1]))}
    if b is not None:
        row |= {"econml": summary(tb), "pehe_econml": pehe(out_b[1], ev["cate"]),
                "ate_econml": float(np.mean(out_b[1])),
                "cate_rms_diff": float(np.sqrt(np.mean((out_a[1] - out_b[1]) ** 2)))}
        row["speedup"] = row["econml"]["median"] / row["ours"]["median"]
        row["pehe_ratio"] = row["pehe_ours"] / row["pehe_econml"]
        if case == "forest":
            row["target_met"] = bool(row["speedup"] >= 1.0 and row["pehe_ratio"] <= 1.15)
        elif case == "dr":
            row["target_met"] = bool(row["speedup"] >= 1.5 and row["pehe_ratio"] <= 1.15)
        else:
            row["beta_z"] = dml_z(out_a[0], out_b[0])
            row["target_met"] = bool(row["speedup"] >= 1.5 and row["beta_z"] < 1.0)
        if config == "default":
            row["target_met"] = None  # the targets are set with equal nuisances; defaults are context
    if case == "forest":
        lo, hi = out_a[0].effect_interval(ev["X"])
        row["coverage_ours"] = float(np.mean((lo <= ev["cate"]) & (ev["cate"] <= hi)))
        if b is not None:
            lo, hi = out_b[0].effect_interval(ev["X"])
            lo, hi = np.ravel(lo), np.ravel(hi)
            row["coverage_econml"] = float(np.mean((lo <= ev["cate"]) & (ev["cate"] <= hi)))
    return row


# --------------------------------------------------------------------------- output
def _t(s: dict[str, Any] | None) -> str:
    if s is None:
        return "—"
    return f"{s['median']:.2f} s ({s['min']:.2f}–{s['max']:.2f})"


def table(rows: list[dict[str, Any]]) -> str:
    header = ["n", "row", "ours", "EconML", "speed-up", "PEHE ours", "PEHE EconML", "PEHE ratio",
              "accuracy", "target met"]
    out = []
    for r in rows:
        extra = ""
        if "coverage_ours" in r:
            extra = f"95% CI coverage {r['coverage_ours']:.1%}"
            if "coverage_econml" in r:
                extra += f" vs {r['coverage_econml']:.1%}"
        if "beta_z" in r:
            extra = f"max beta z {r['beta_z']:.2f}"
        if "ate_econml" in r:
            extra += f"; mean CATE {r['ate_ours']:.3f} vs {r['ate_econml']:.3f}"
        out.append([f"{r['n']:,}", f"{r['case']}/{r['config']}", _t(r["ours"]), _t(r.get("econml")),
                    f"{r['speedup']:.2f}x" if "speedup" in r else "—", f"{r['pehe_ours']:.3f}",
                    f"{r['pehe_econml']:.3f}" if "pehe_econml" in r else "—",
                    f"{r['pehe_ratio']:.2f}" if "pehe_ratio" in r else "—", extra,
                    verdict(r.get("target_met"))])
    return markdown(header, out)


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, "n = 1,000, 200 evaluation units, small forests, 2 repeats: a smoke run")
    ap.add_argument("--no-peers", action="store_true", help="skip EconML")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per side (default 5)")
    ap.add_argument("--sizes", default=None, help="comma-separated sample sizes (default 10000,100000)")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated rows: forest,dr,dml")
    ap.add_argument("--configs", default="equal,default", help="equal and/or default peer configurations")
    args = ap.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 5)
    if repeats < 5 and not args.quick:
        ap.error("--repeats must be at least 5 outside --quick")
    sizes = [1000] if args.quick else [int(s) for s in (args.sizes or "10000,100000").split(",")]
    cases = [c for c in args.cases.split(",") if c]
    if bad := set(cases) - set(CASES):
        ap.error(f"unknown cases {sorted(bad)}; choose from {', '.join(CASES)}")
    peers = not args.no_peers
    if peers:
        try:
            import econml  # noqa: F401
        except ImportError:
            print("EconML is not installed: its columns are empty (pip install -e '.[bench]')")
            peers = False
    configs = [c for c in args.configs.split(",") if c] if peers else ["equal"]
    info = machine(["numpy", "scipy", "scikit-learn", "numba", "econml"])
    samples = 20 if args.quick else SAMPLES
    ev = scenario_data(200 if args.quick else EVAL, 1, samples)
    rows: list[dict[str, Any]] = []
    with threadpool_limits(1, user_api="blas"):
        for n in sizes:
            d = scenario_data(n, 0, samples)
            for case in cases:
                for config in configs:
                    rows.append(run_row(case, config, d, ev, repeats, args.quick, peers))
                    print(f"done {case}/{config} n={n}", file=sys.stderr, flush=True)
    finish_machine(info)
    print_machine(info)
    print(f"data: healthcare (hidden_confounder=False), protocol_A vs standard, p = {P} "
          "(4 context + 6 noise); "
          f"evaluation {len(ev['t']):,} units; true-CATE Monte-Carlo RMS error {ev['mc_rms']:.3f}; "
          f"sd of the true CATE {np.std(ev['cate']):.3f}")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": rows, "mc_rms": ev["mc_rms"],
                                         "cate_sd": float(np.std(ev["cate"]))}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
