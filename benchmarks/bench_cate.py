#!/usr/bin/env python
"""Benchmark: heterogeneous-effect estimators (causal forest, DR-learner, linear DML) vs EconML.

Usage::

    python benchmarks/bench_cate.py [--json PATH] [--quick] [--no-peers] [--repeats K] [--sizes N,N,...]
                                    [--cases forest,dr,dml] [--big-cases forest,dr,dml]
                                    [--configs equal,default] [--scenario NAME[,NAME...]|all]

Follows the method of ``benchmarks/README.md``: each row times one of our estimators and its EconML
counterpart on the same data, alternately (A, B, A, B, ...), after one warm-up call each on the
first 2,000 units (imports, numba compilation, caches); a row gives the median of the repeats
with min and max. Timed: ``fit`` on the ``n`` logged units plus ``effect`` at 10,000 held-out
evaluation units. Beside time: each side's PEHE against the true CATE at the evaluation units.
One row per scenario x size x case x configuration, each with its ratios to the peer in the same run.

Scenarios (``--scenario``, default ``all``): every registered scenario to which a binary-treatment
CATE applies (:func:`applicable`: labelled discrete actions, each arm of the contrast at least 2% of
the logged units), with ``hidden_confounder=False``. The contrast is ``actions[1]`` vs
``actions[0]`` on the scenario's outcome unless :data:`CONTRASTS` says otherwise: Healthcare
``protocol_A`` vs ``standard`` on ``recovery_days`` (``protocol_B`` units dropped), Marketing
``discount`` vs ``none`` on ``conversion``; at present also Driving (``brake`` vs ``maintain`` on
``collision``) and Ice cream (``advert`` vs ``none``). Driving's continuous-brake variant and the
policy scenario (whose logs never adopt) are left out. The true CATE of each evaluation unit is
:func:`sim.cate.cate_truth` at its context (200 Monte-Carlo draws per unit, 800 for Marketing's
binary outcome; the table prints their RMS error, which adds in quadrature to every PEHE alike).
Context nodes constant in the logs (Marketing's ``spent``) are dropped, and independent
standard-normal columns are appended up to ``p = 10`` as the issue asks: effect modifiers that do
not modify anything, which a forest must learn to ignore. Training data: the first ``n`` logged
units of the two arms, seed 0 (sizes ``--sizes``, default 10,000 and 100,000; sizes of 100,000 and
more run only the cases of ``--big-cases``, default all); evaluation: the first 10,000 logged units
of the two arms, seed 1. All columns are both confounders and effect modifiers (EconML: ``X`` = all, ``W =
None``).

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
    ``DRLearner(folds=2, outcome_fit="joint")`` (propensity ``default_classifier()``, outcome and
    final ``default_regressor()``, clip 0.05) vs EconML ``DRLearner`` with ``model_propensity``,
    ``model_regression`` and ``model_final`` the same models, ``cv=2``, ``min_propensity=0.05``.
    ``outcome_fit="joint"`` is EconML's design (one outcome regression on ``[X, one-hot T]`` per
    fold), so both fit the same models on the same folds: the estimates agree to rounding (the row
    prints the RMS difference of the two CATEs) and the time ratio is the implementations'.
    Target: >= 1.5x faster, PEHE <= 1.15x EconML's.
dr/default
    ``DRLearner()`` (its default ``outcome_fit="per_arm"``: one outcome model per arm and fold) vs
    EconML's ``DRLearner()`` defaults ("auto" models, linear final).
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
from dataclasses import dataclass
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
BIG = 100_000


# --------------------------------------------------------------------------- data
#: The contrast benchmarked per scenario where it is not ``actions[1]`` vs ``actions[0]`` on the
#: scenario's outcome: (treat, control, outcome, Monte-Carlo draws of the true CATE per unit).
#: Marketing: discount vs no contact on ``conversion`` (revenue's sd of 28 against a CATE sd of 1.9
#: leaves no learnable CATE at these sizes; see docs/heterogeneous.md), with 800 draws because a
#: binary outcome's Monte-Carlo error is large against its CATE sd (0.046).
CONTRASTS: dict[str, tuple[str, str, str, int]] = {
    "marketing": ("discount", "none", "conversion", 800),
    "healthcare": ("protocol_A", "standard", "recovery_days", SAMPLES),
}
#: A scenario is benchmarked when each arm of its contrast gets at least this share of the logged units.
MIN_SHARE = 0.02
PILOT = 2_000


@dataclass(frozen=True)
class Spec:
    """One scenario's benchmarked contrast."""

    scenario: str
    treat: str
    control: str
    outcome: str
    samples: int
    share: float  # of logged units in the two arms (pilot draw)

    def make(self) -> Any:
        return _make(self.scenario)

    def label(self) -> str:
        return f"{self.scenario}: {self.treat} vs {self.control}, {self.outcome}"


def _make(name: str) -> Any:
    import scenarios
    from sim.errors import ScenarioError

    try:
        return scenarios.make(name, hidden_confounder=False)
    except ScenarioError:  # a scenario without the parameter ("unknown parameter(s)")
        return scenarios.make(name)


def spec(name: str) -> Spec | None:
    """The binary contrast benchmarked on scenario ``name``, or ``None`` where none applies: actions
    that are not a discrete set of labelled levels (a continuous brake force), logs without the action
    or outcome column, or a behaviour policy under which an arm is (nearly) never logged."""
    sc = _make(name)
    labels = getattr(sc.actions, "labels", None)
    if labels is None or len(labels) < 2:
        return None
    treat, control, outcome, samples = CONTRASTS.get(name, (labels[1], labels[0], sc.outcome, SAMPLES))
    logs = sc.observational(PILOT, 0)
    if sc.actions.nodes[0] not in logs or outcome not in logs:  # e.g. logs of a dynamic scenario's episodes
        return None
    action = logs[sc.actions.nodes[0]].to_numpy()
    shares = [float(np.mean(action == sc.actions.index(v))) for v in (treat, control)]
    if min(shares) < MIN_SHARE:
        return None
    return Spec(name, treat, control, outcome, samples, sum(shares))


def applicable() -> list[Spec]:
    """The contrast of every registered scenario to which a binary-treatment CATE applies."""
    import scenarios

    return [sp for name in scenarios.names() if (sp := spec(name)) is not None]


def _features(logs: pd.DataFrame, context: list[str], n: int, seed: int) -> np.ndarray:
    """The context columns with ``P - len(context)`` independent standard-normal columns appended."""
    ctx = logs[context].to_numpy(dtype=float)
    extra = max(0, P - ctx.shape[1])
    return np.column_stack([ctx, np.random.default_rng([seed, 7]).normal(size=(n, extra))])


def scenario_data(sp: Spec, n: int, seed: int, samples: int, truth: bool) -> dict[str, Any]:
    """The first ``n`` logged units of the two arms (treatment 1 = ``treat``) with noise columns
    appended; with ``truth``, also each unit's true CATE at its context (``sim.cate.cate_truth``, for
    evaluation points). Training units need no truth: they come from ``observational``."""
    from sim.cate import cate_truth

    sc = sp.make()
    node = sc.actions.nodes[0]
    a, c = sc.actions.index(sp.treat), sc.actions.index(sp.control)
    context = [v for v in sc.context if sc.observational(PILOT, 0)[v].nunique() > 1]
    draw = int(1.2 * n / sp.share) + 200
    while True:
        if truth:
            tr = cate_truth(sc, draw, seed, treat=sp.treat, control=sp.control, outcome=sp.outcome,
                            samples=samples)
            logs = tr.logs
        else:
            logs = sc.observational(draw, seed)
        keep = np.flatnonzero(logs[node].isin([a, c]).to_numpy())[:n]
        if len(keep) == n:
            break
        draw *= 2
    logs = logs.iloc[keep].reset_index(drop=True)
    out = {}
    if truth:
        out = {"cate": tr.cate[keep], "mc_rms": float(np.sqrt(np.mean(tr.cate_stderr[keep] ** 2)))}
    action = logs[node].to_numpy()
    return {"X": _features(logs, context, n, seed), "t": (action == a).astype(int),
            "y": logs[sp.outcome].to_numpy(dtype=float), "context": context, **out}


def cols(d: dict[str, Any]) -> list[str]:
    return [f"x{i}" for i in range(d["X"].shape[1])]


def frame(d: dict[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame(d["X"], columns=cols(d))
    df["t"], df["y"] = d["t"], d["y"]
    return df


def head(d: dict[str, Any], k: int) -> dict[str, Any]:
    return {key: (v[:k] if isinstance(v, np.ndarray) else v) for key, v in d.items()}


# --------------------------------------------------------------------------- the two sides
def ours(case: str, config: str, quick: bool) -> Callable[[dict[str, Any], np.ndarray], Any]:
    from sklearn.linear_model import LinearRegression

    from causal.estimators.dml import LinearDML
    from causal.estimators.forest import CausalForest
    from causal.estimators.learners import DRLearner
    from causal.estimators.weighting import default_propensity

    def run(d: dict[str, Any], Xe: np.ndarray) -> Any:
        df, COLS = frame(d), cols(d)
        if case == "forest":
            est = CausalForest(num_trees=50 if quick else 500)
            est.fit(df, treatment="t", outcome="y", covariates=COLS)
        elif case == "dr":
            # equal: EconML's design too (one outcome model on [X, T] per fold); default: ours (per arm)
            est = DRLearner(folds=2, outcome_fit="joint" if config == "equal" else "per_arm")
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


def run_row(scenario: str, case: str, config: str, d: dict[str, Any], ev: dict[str, Any], repeats: int,
            quick: bool, peers: bool) -> dict[str, Any]:
    a = ours(case, config, quick)
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
    row: dict[str, Any] = {"scenario": scenario, "case": case, "config": config, "n": len(d["t"]),
                           "ours": summary(ta),
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
    header = ["scenario", "n", "row", "ours", "EconML", "speed-up", "PEHE ours", "PEHE EconML", "PEHE ratio",
              "accuracy", "target met"]
    out = []
    for r in rows:
        parts = []
        if "coverage_ours" in r:
            cov = f"95% CI coverage {r['coverage_ours']:.1%}"
            parts.append(cov + (f" vs {r['coverage_econml']:.1%}" if "coverage_econml" in r else ""))
        if "beta_z" in r:
            parts.append(f"max beta z {r['beta_z']:.2f}")
        if "ate_econml" in r:
            parts.append(f"mean CATE {r['ate_ours']:.3g} vs {r['ate_econml']:.3g}")
            if r["case"] == "dr":
                parts.append(f"CATE rms diff {r['cate_rms_diff']:.3g}")
        extra = "; ".join(parts)
        out.append([r["scenario"], f"{r['n']:,}", f"{r['case']}/{r['config']}", _t(r["ours"]),
                    _t(r.get("econml")),
                    f"{r['speedup']:.2f}x" if "speedup" in r else "—", f"{r['pehe_ours']:.4g}",
                    f"{r['pehe_econml']:.4g}" if "pehe_econml" in r else "—",
                    f"{r['pehe_ratio']:.2f}" if "pehe_ratio" in r else "—", extra,
                    verdict(r.get("target_met"))])
    return markdown(header, out)


def _list(ap: Any, value: str, allowed: Any, what: str) -> list[str]:
    items = [c for c in value.split(",") if c]
    if bad := set(items) - set(allowed):
        ap.error(f"unknown {what} {sorted(bad)}; choose from {', '.join(allowed)}")
    return items


def _specs(ap: Any, value: str) -> list[Spec]:
    import scenarios

    every = applicable()
    if value == "all":
        return every
    names = _list(ap, value, scenarios.names(), "scenarios")
    found = {sp.scenario: sp for sp in every}
    if none := [nm for nm in names if nm not in found]:
        ap.error(f"no binary-treatment CATE applies to {none} (continuous actions, or an arm never "
                 f"logged); applicable: {', '.join(found)}")
    return [found[nm] for nm in names]


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, "n = 1,000, 200 evaluation units, small forests, 2 repeats: a smoke run")
    ap.add_argument("--no-peers", action="store_true", help="skip EconML")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per side (default 5)")
    ap.add_argument("--sizes", default=None, help="comma-separated sample sizes (default 10000,100000)")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated rows: forest,dr,dml")
    ap.add_argument("--big-cases", default=",".join(CASES),
                    help=f"the cases run at sizes of {BIG:,} and more (default every case)")
    ap.add_argument("--configs", default="equal,default", help="equal and/or default peer configurations")
    ap.add_argument("--scenario", default="all",
                    help="comma-separated scenarios, or all (default): every registered scenario to which "
                         "a binary-treatment CATE applies")
    args = ap.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 5)
    if repeats < 5 and not args.quick:
        ap.error("--repeats must be at least 5 outside --quick")
    sizes = [1000] if args.quick else [int(s) for s in (args.sizes or "10000,100000").split(",")]
    cases = _list(ap, args.cases, CASES, "cases")
    big = _list(ap, args.big_cases, CASES, "cases")
    specs = _specs(ap, args.scenario)
    peers = not args.no_peers
    if peers:
        try:
            import econml  # noqa: F401
        except ImportError:
            print("EconML is not installed: its columns are empty (pip install -e '.[bench]')")
            peers = False
    configs = _list(ap, args.configs, ("equal", "default"), "configs") if peers else ["equal"]
    info = machine(["numpy", "scipy", "scikit-learn", "numba", "econml"])
    rows: list[dict[str, Any]] = []
    data: list[dict[str, Any]] = []
    with threadpool_limits(1, user_api="blas"):
        for sp in specs:
            samples = 20 if args.quick else sp.samples
            ev = scenario_data(sp, 200 if args.quick else EVAL, 1, samples, truth=True)
            data.append({"scenario": sp.scenario, "label": sp.label(), "p": ev["X"].shape[1],
                         "context": ev["context"], "eval": len(ev["t"]), "samples": samples,
                         "mc_rms": ev["mc_rms"], "cate_sd": float(np.std(ev["cate"]))})
            for n in sizes:
                todo = [c for c in cases if n < BIG or c in big]
                if not todo:
                    continue
                d = scenario_data(sp, n, 0, samples, truth=False)
                for case in todo:
                    for config in configs:
                        rows.append(run_row(sp.scenario, case, config, d, ev, repeats, args.quick, peers))
                        print(f"done {sp.scenario} {case}/{config} n={n}", file=sys.stderr, flush=True)
    finish_machine(info)
    print_machine(info)
    for x in data:
        print(f"data: {x['label']}: p = {x['p']} ({len(x['context'])} context + {x['p'] - len(x['context'])} "
              f"noise); evaluation {x['eval']:,} units; true-CATE Monte-Carlo RMS error {x['mc_rms']:.3g} "
              f"({x['samples']} draws); sd of the true CATE {x['cate_sd']:.3g}")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": rows, "data": data}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
