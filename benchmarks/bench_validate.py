"""Benchmark of causal.validate: parallel speed-up, Dask overhead, and a 10^7-unit replication's memory.

Rows (each timed alternately with its reference, warm-up first, median of ``--repeats``):

1. ``validate(workers=2)`` vs a plain serial Python loop over the same fits
   (the same data draws and estimators, one thread each: what a user writes by
   hand). Ratio loop / validate; target >= 1.7x on 2 cores.
1'. The same loop with the BLAS/OpenMP pools left at their defaults (a user's
   loop as found), for reference.
2. ``validate(backend="dask", workers=2)`` (a ``LocalCluster`` made for the call,
   its start-up included) vs ``validate(workers=2)``. Ratio dask / local;
   target <= 1.2.
2'. ``validate(backend="dask", address=...)`` on a running 2-worker ``LocalCluster``
   (started once, outside the timing) vs ``validate(workers=2)``: the scheduling
   cost without the cluster's start-up.
3. One replication of ``n = 10^7`` Marketing units (chunked sampling, pieces of
   250,000 units) fitted by naive, regression and IPW, in a fresh process:
   its peak resident memory (``ru_maxrss``); target <= 3 GB.

Default workload: IceCream without the hidden confounder, 200 replications x
6 estimators (naive, regression, ipw, aipw, matching, dml) x n = 5,000.
Accuracy beside time: the loop's and validate's estimates must agree bit for
bit, and the table shows AIPW's bias and coverage.

Usage::

    python benchmarks/bench_validate.py [--reps 200] [--n 5000] [--repeats 5] [--json PATH] [--quick]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finish_machine, machine, markdown, parser, print_machine, verdict  # noqa: E402

ESTIMATORS = ["naive", "regression", "ipw", "aipw", "matching", "dml"]

BIG = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from threadpoolctl import threadpool_limits
import scenarios
from causal._validate_source import settings
from causal._validate_run import rep_seed
from causal._validate_estimators import resolve, fit_one
n = int(sys.argv[1])
sc = scenarios.make("marketing")
s = settings(sc, None, seed=0, cate=False)[0]
specs = resolve("naive,regression,ipw")
t = time.perf_counter()
with threadpool_limits(1):
    data = s.draw(n, rep_seed(0, 0))
    rows = len(data)
    recs = [fit_one(sp, s, data) for sp in specs]
sec = time.perf_counter() - t
print(json.dumps({"rows": rows, "seconds": sec, "truth": s.truth,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "estimates": {sp.name: (r["estimate"], r["stderr"], r["error"])
                                for sp, r in zip(specs, recs)}}))
"""


def _loop(setting: Any, specs: list, n: int, reps: int, seed: int, limit: bool) -> list[float]:
    """The hand-written reference: draw, fit, record the estimate."""
    from threadpoolctl import threadpool_limits

    from causal._validate_estimators import fit_one
    from causal._validate_run import rep_seed

    out = []
    ctx = threadpool_limits(1) if limit else threadpool_limits(None)
    with ctx:
        for r in range(reps):
            data = setting.draw(n, rep_seed(seed, r))
            out += [fit_one(sp, setting, data)["estimate"] for sp in specs]
    return out


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _stats(times: list[float]) -> dict[str, Any]:
    return {"median": float(np.median(times)), "min": min(times), "max": max(times), "times": times}


def main() -> None:
    ap = parser(__doc__, "tiny sizes and 2 repeats: a smoke run, not a measurement")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--big", type=int, default=10_000_000, help="units of the one-replication memory row")
    ap.add_argument("--no-dask", action="store_true", help="skip row 2")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.n, args.repeats, args.big = 4, 500, 2, 300_000
    elif args.repeats < 5:
        ap.error("--repeats must be >= 5 outside --quick (benchmarks/README.md)")
    info = machine(["numpy", "scikit-learn", "pandas", "dask", "distributed"])

    import scenarios
    from causal._validate_estimators import resolve
    from causal._validate_source import settings
    from causal.validate import validate

    sc = scenarios.make("icecream", hidden_confounder=False)
    setting = settings(sc, None, seed=0, cate=False)[0]
    specs = resolve(ESTIMATORS)
    kw = {"n": args.n, "reps": args.reps, "seed": 0}
    run_local = lambda: validate(sc, ESTIMATORS, workers=2, **kw)  # noqa: E731
    run_dask = lambda: validate(sc, ESTIMATORS, backend="dask", workers=2, **kw)  # noqa: E731
    run_loop = lambda: _loop(setting, specs, args.n, args.reps, 0, True)  # noqa: E731
    run_loop_default = lambda: _loop(setting, specs, args.n, args.reps, 0, False)  # noqa: E731

    dask_ok = not args.no_dask
    if dask_ok:
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            dask_ok = False
    # warm-up (imports, the fork server, a Dask cluster's first start)
    rep = run_local()
    loop_est = run_loop()
    cluster = None
    if dask_ok:
        from dask.distributed import LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        run_addr = lambda: validate(sc, ESTIMATORS, backend="dask", address=cluster.scheduler_address,  # noqa: E731
                                    **kw)
        run_dask()
        run_addr()
    by = rep.records.set_index(["rep", "estimator"])["estimate"]
    ours = np.array([by[(r, e)] for r in range(args.reps) for e in ESTIMATORS])
    identical = bool(np.array_equal(np.asarray(loop_est), ours, equal_nan=True))
    t: dict[str, list[float]] = {"local": [], "loop": [], "loop_default": [], "dask": [], "dask_addr": []}
    for _ in range(args.repeats):
        t["loop"].append(_timed(run_loop)[0])
        t["local"].append(_timed(run_local)[0])
        t["loop_default"].append(_timed(run_loop_default)[0])
        if dask_ok:
            t["dask"].append(_timed(run_dask)[0])
            t["dask_addr"].append(_timed(run_addr)[0])
    if cluster is not None:
        cluster.close()
    st = {k: _stats(v) for k, v in t.items() if v}
    speed = st["loop"]["median"] / st["local"]["median"]
    speed_default = st["loop_default"]["median"] / st["local"]["median"]
    dask_ratio = st["dask"]["median"] / st["local"]["median"] if dask_ok else None
    addr_ratio = st["dask_addr"]["median"] / st["local"]["median"] if dask_ok else None

    proc = subprocess.run([sys.executable, "-c", BIG, str(args.big)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    big = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else None
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    gb = big["maxrss_kb"] / 2**20 if big else None
    finish_machine(info)
    print_machine(info)
    aipw = rep.table.set_index("estimator").loc["aipw"]
    print(f"workload: icecream (hidden_confounder=False), {args.reps} reps x {len(ESTIMATORS)} estimators "
          f"({', '.join(ESTIMATORS)}) x n={args.n:,}; loop and validate estimates bit-identical: "
          f"{identical}; "
          f"AIPW bias {aipw['bias']:.3f} (MC se {aipw['bias_se']:.3f}), coverage {aipw['coverage']:.3f}")

    def cell(k: str) -> str:
        s = st[k]
        return f"{s['median']:.2f} s [{s['min']:.2f}, {s['max']:.2f}]"

    rows = [["1", "validate(workers=2) vs serial loop (1 thread)", cell("local"), cell("loop"),
             f"{speed:.2f}x faster", ">= 1.7x", verdict(speed >= 1.7)],
            ["1'", "validate(workers=2) vs serial loop (default threads)", cell("local"),
             cell("loop_default"),
             f"{speed_default:.2f}x faster", "—", verdict(None)]]
    if dask_ok:
        rows.append(["2", "dask LocalCluster(2) vs validate(workers=2)", cell("dask"), cell("local"),
                     f"{dask_ratio:.2f} (dask/local)", "<= 1.2", verdict(dask_ratio <= 1.2)])
        rows.append(["2'", "dask on a running LocalCluster(2) vs validate(workers=2)", cell("dask_addr"),
                     cell("local"), f"{addr_ratio:.2f} (dask/local)", "—", verdict(None)])
    else:
        rows.append(["2", "dask LocalCluster(2)", "dask not installed", "", "", "<= 1.2", verdict(None)])
    if big:
        ests = ", ".join(f"{k} {v[0]:.4f} (se {v[1]:.4f})" if not v[2] else f"{k} failed"
                         for k, v in big["estimates"].items())
        rows.append(["3", f"one rep, marketing n={args.big:,} ({big['rows']:,} rows kept), "
                          f"{big['seconds']:.0f} s; truth {big['truth']:.4f}; {ests}",
                     f"{gb:.2f} GB peak RSS", "—", "—", "<= 3 GB", verdict(gb <= 3)])
    else:
        rows.append(["3", f"one rep, marketing n={args.big:,}: failed", proc.stderr[-300:], "", "", "<= 3 GB",
                     verdict(False)])
    print(markdown(["#", "case", "ours", "reference", "ratio", "target", "met"], rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "times": st, "speedup": speed,
                                         "speedup_default_threads": speed_default, "dask_ratio": dask_ratio,
                                         "dask_address_ratio": addr_ratio,
                                         "big": big, "children_maxrss_kb": child, "identical": identical,
                                         "args": vars(args) | {"json": str(args.json)}},
                                        indent=2, default=str))


if __name__ == "__main__":
    main()
