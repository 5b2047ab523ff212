"""Benchmark of causal.validate: parallel speed-up, Dask overhead, and a 10^7-unit replication's memory.

Rows (``--rows``, default all; each timed alternately with its reference after a
short warm-up, median of ``--repeats``), rows 1 to 2' for every scenario of
``--scenario``:

1. ``validate(workers=2)`` vs a plain serial Python loop over the same fits
   (the same data draws and estimators, one thread each: what a user writes by
   hand). Ratio loop / validate; target >= 1.7x on 2 cores.
1'. The same loop with the BLAS/OpenMP pools left at their defaults (a user's
   loop as found), for reference.
2. ``validate(backend="dask", workers=2)`` (a ``LocalCluster`` made for the call,
   its start-up and shut-down included) vs ``validate(workers=2)``. Ratio
   dask / local; target <= 1.2.
2'. ``validate(backend="dask", address=...)`` on a running 2-worker ``LocalCluster``
   (started once, outside the timing) vs ``validate(workers=2)``: the scheduling
   cost without the cluster's start-up.
3. One replication of ``n = 10^7`` Marketing units (chunked sampling, pieces of
   250,000 units) fitted by naive, regression and IPW, in a fresh process:
   its peak resident memory (``ru_maxrss``); target <= 3 GB.

Workload per scenario: the scenario without its hidden confounder, 200
replications x 6 estimators (naive, regression, ipw, aipw, matching, dml) x
n = 5,000 units drawn. Scenarios (``--scenario``, default icecream; ``all``):
those of ``causalsim validate --all`` (driving, healthcare, icecream, marketing).
Both backends fork their worker processes from one fork server per Python
process; the warm-up starts it, as a user's first call does. Accuracy beside
time: the loop's and validate's estimates must agree bit for bit (row 1), the
Dask and local tables byte for byte (rows 2, 2'), and the header line gives
AIPW's bias and coverage.

Usage::

    python benchmarks/bench_validate.py [--scenario icecream|NAME,NAME|all] [--rows 1,1',2,2',3]
                                        [--reps 200] [--n 5000] [--repeats 5] [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
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


ROWS = ("1", "1'", "2", "2'", "3")


def _timed(fn: Any) -> tuple[float, Any]:
    gc.collect()
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _stats(times: list[float]) -> dict[str, Any]:
    return {"median": float(np.median(times)), "min": min(times), "max": max(times), "times": times}


def _names(text: str, ap: argparse.ArgumentParser) -> list[str]:
    from causalsim.validate_cli import ALL_SCENARIOS

    names = list(ALL_SCENARIOS) if text == "all" else [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in names if x not in ALL_SCENARIOS]
    if bad or not names:
        ap.error(f"--scenario: {', '.join(bad) or 'none given'}; choose from {', '.join(ALL_SCENARIOS)} "
                 "or all")
    return names


def _rows(text: str, ap: argparse.ArgumentParser) -> set[str]:
    rows = {x.strip() for x in text.split(",") if x.strip()}
    if not rows or rows - set(ROWS):
        ap.error(f"--rows: {', '.join(sorted(rows - set(ROWS))) or 'none given'}; choose from "
                 f"{','.join(ROWS)}")
    return rows


def _scenario(name: str, args: argparse.Namespace, rows: set[str],
              address: Callable[[], str]) -> dict[str, Any]:
    """Time the selected rows 1-2' on one scenario; the figures and the accuracy checks."""
    import scenarios
    from causal._validate_estimators import resolve
    from causal._validate_source import settings
    from causal.validate import validate

    sc = scenarios.make(name, hidden_confounder=False)
    setting = settings(sc, None, seed=0, cate=False)[0]
    specs = resolve(ESTIMATORS)

    def runs(reps: int) -> dict[str, Any]:
        kw = {"n": args.n, "reps": reps, "seed": 0}
        fns = {"loop": lambda: _loop(setting, specs, args.n, reps, 0, True),
               "local": lambda: validate(sc, ESTIMATORS, workers=2, **kw),
               "loop_default": lambda: _loop(setting, specs, args.n, reps, 0, False),
               "dask": lambda: validate(sc, ESTIMATORS, backend="dask", workers=2, **kw),
               "dask_addr": lambda: validate(sc, ESTIMATORS, backend="dask", address=address(), **kw)}
        need = {"loop": "1" in rows, "local": bool(rows & {"1", "1'", "2", "2'"}),
                "loop_default": "1'" in rows, "dask": "2" in rows, "dask_addr": "2'" in rows}
        return {k: f for k, f in fns.items() if need[k]}

    # warm-up (a few chunks each): imports, the fork server (started by the local backend before any
    # Dask nanny sets its worker variables in this process's environment), the running cluster's workers
    for fn in runs(min(args.reps, 8)).values():
        fn()
    fns = runs(args.reps)
    t: dict[str, list[float]] = {k: [] for k in fns}
    first: dict[str, Any] = {}
    for _ in range(args.repeats):
        for k, fn in fns.items():
            sec, out = _timed(fn)
            t[k].append(sec)
            first.setdefault(k, out)
    out: dict[str, Any] = {"times": {k: _stats(v) for k, v in t.items()}}
    med = {k: v["median"] for k, v in out["times"].items()}
    if "local" in first:
        rep = first["local"]
        aipw = rep.table.set_index("estimator").loc["aipw"]
        out["truth"] = float(aipw["truth"])
        out["aipw"] = {"bias": float(aipw["bias"]), "bias_se": float(aipw["bias_se"]),
                       "coverage": float(aipw["coverage"])}
        by = rep.records.set_index(["rep", "estimator"])["estimate"]
        ours = np.array([by[(r, e)] for r in range(args.reps) for e in ESTIMATORS])
        if "loop" in first:
            out["loop_identical"] = bool(np.array_equal(np.asarray(first["loop"]), ours, equal_nan=True))
            out["speedup"] = med["loop"] / med["local"]
        if "loop_default" in first:
            out["speedup_default_threads"] = med["loop_default"] / med["local"]
        want = rep.table.to_csv().encode()
        for k in ("dask", "dask_addr"):
            if k in first:
                out[f"{k}_identical"] = first[k].table.to_csv().encode() == want
                out[f"{k}_ratio"] = med[k] / med["local"]
    return out


def _big(n: int) -> dict[str, Any] | None:
    proc = subprocess.run([sys.executable, "-c", BIG, str(n)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    if proc.returncode != 0:
        return {"error": proc.stderr[-300:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _table_rows(name: str, res: dict[str, Any], rows: set[str]) -> list[list[str]]:
    st = res["times"]

    def cell(k: str) -> str:
        s = st[k]
        return f"{s['median']:.2f} s [{s['min']:.2f}, {s['max']:.2f}]"

    out = []
    if "1" in rows:
        sp = res["speedup"]
        out.append([f"1 {name}", "validate(workers=2) vs serial loop (1 thread)", cell("local"), cell("loop"),
                    f"{sp:.2f}x faster", ">= 1.7x", verdict(sp >= 1.7)])
    if "1'" in rows:
        out.append([f"1' {name}", "validate(workers=2) vs serial loop (default threads)", cell("local"),
                    cell("loop_default"), f"{res['speedup_default_threads']:.2f}x faster", "—",
                    verdict(None)])
    if "2" in rows:
        r = res["dask_ratio"]
        out.append([f"2 {name}", "dask LocalCluster(2) made in the call vs validate(workers=2)",
                    cell("dask"), cell("local"), f"{r:.2f} (dask/local)", "<= 1.2", verdict(r <= 1.2)])
    if "2'" in rows:
        out.append([f"2' {name}", "dask on a running LocalCluster(2) vs validate(workers=2)",
                    cell("dask_addr"), cell("local"), f"{res['dask_addr_ratio']:.2f} (dask/local)", "—",
                    verdict(None)])
    return out


def _big_row(big: dict[str, Any], n: int) -> list[str]:
    if "error" in big:
        return ["3", f"one rep, marketing n={n:,}: failed", big["error"], "", "", "<= 3 GB", verdict(False)]
    gb = big["maxrss_kb"] / 2**20
    ests = ", ".join(f"{k} {v[0]:.4f} (se {v[1]:.4f})" if not v[2] else f"{k} failed"
                     for k, v in big["estimates"].items())
    return ["3", f"one rep, marketing n={n:,} ({big['rows']:,} rows kept), {big['seconds']:.0f} s; "
                 f"truth {big['truth']:.4f}; {ests}", f"{gb:.2f} GB peak RSS", "—", "—", "<= 3 GB",
            verdict(gb <= 3)]


def main() -> None:
    ap = parser(__doc__, "tiny sizes and 2 repeats: a smoke run, not a measurement")
    ap.add_argument("--scenario", default="icecream",
                    help="a scenario, several separated by commas, or all (those of causalsim validate "
                         "--all)")
    ap.add_argument("--rows", default=",".join(ROWS), help=f"the rows to run, from {','.join(ROWS)}")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--big", type=int, default=10_000_000, help="units of the one-replication memory row")
    ap.add_argument("--no-dask", action="store_true", help="skip rows 2 and 2'")
    args = ap.parse_args()
    names, rows = _names(args.scenario, ap), _rows(args.rows, ap)
    if args.quick:
        args.reps, args.n, args.repeats, args.big = 4, 500, 2, 300_000
    elif args.repeats < 5:
        ap.error("--repeats must be >= 5 outside --quick (benchmarks/README.md)")
    info = machine(["numpy", "scikit-learn", "pandas", "dask", "distributed"])

    dask_ok = not args.no_dask and bool(rows & {"2", "2'"})
    if dask_ok:
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            dask_ok = False
    run = rows if dask_ok else rows - {"2", "2'"}
    cluster: list[Any] = []

    def address() -> str:
        """The running cluster of row 2', started at its first use (after the first local warm-up)."""
        if not cluster:
            from dask.distributed import LocalCluster

            cluster.append(LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                        dashboard_address=None))
        return cluster[0].scheduler_address

    results: dict[str, Any] = {}
    try:
        for name in names if run & {"1", "1'", "2", "2'"} else []:
            results[name] = _scenario(name, args, run, address)
    finally:
        for c in cluster:
            c.close()
    big = _big(args.big) if "3" in rows else None
    finish_machine(info)
    print_machine(info)
    table = []
    for name in names:
        if rows & {"2", "2'"} - run:
            table.append([f"2 {name}", "dask LocalCluster(2)", "skipped: dask not installed or --no-dask", "",
                          "", "<= 1.2", verdict(None)])
        if name not in results:
            continue
        res = results[name]
        checks = [f"{label} {res[k]}" for k, label in
                  (("loop_identical", "loop = validate bit for bit:"),
                   ("dask_identical", "dask = local table bytes:"),
                   ("dask_addr_identical", "dask on a running cluster = local table bytes:")) if k in res]
        if "aipw" in res:
            a = res["aipw"]
            checks.append(f"truth {res['truth']:.4f}, AIPW bias {a['bias']:.3f} (MC se {a['bias_se']:.3f}), "
                          f"coverage {a['coverage']:.3f}")
        print(f"workload: {name} (hidden_confounder=False), {args.reps} reps x {len(ESTIMATORS)} estimators "
              f"({', '.join(ESTIMATORS)}) x n={args.n:,}; " + "; ".join(checks))
        table += _table_rows(name, res, run)
    if big is not None:
        table.append(_big_row(big, args.big))
    print(markdown(["#", "case", "ours", "reference", "ratio", "target", "met"], table))
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "scenarios": results, "big": big,
                                         "children_maxrss_kb": child,
                                         "args": vars(args) | {"json": str(args.json)}},
                                        indent=2, default=str))


if __name__ == "__main__":
    main()
