#!/usr/bin/env python
"""Benchmark: minimal adjustment sets and identification on random graphs, vs DoWhy.

Usage::

    python benchmarks/bench_identify.py [--json PATH] [--quick] [--no-peers] [--repeats K]
                                        [--dowhy-timeout S]

Follows the method of ``benchmarks/README.md``: each query is warmed up, then timed ``K >= 5`` times
(``time.perf_counter``); a row gives the median over its (X, Y) queries of the
per-query medians, with the smallest and largest per-query median beside it.
The reference is DoWhy, timed in the same run on the same graphs and queries,
in a child process (so that its import and logging stay out of our timings)
with a per-call time limit: a query that hits it prints ``timeout >Ns`` and
leaves the speed-up, which is taken over the queries both sides finished.

Rows
----
1.  ``adjustment_sets(g, X, Y)`` (every minimal back-door set, polynomial delay)
    vs ``CausalModel(...).identify_effect()`` (DoWhy's default back-door search,
    which returns the minimum-size sets; it also looks for IV and front-door
    estimands), on seeded random DAGs of 20, 50 and 100 nodes with expected
    degree 3. Queries: X an ancestor of Y, those with an open back-door path
    (where the empty set does not do) first. Accuracy: every set of ours checked
    valid and minimal with networkx d-separation; DoWhy's default set checked
    valid and of minimum size. Graph objects are built outside the timings.
2.  ``identify(g, X, Y)`` (back-door, front-door, ID, IV) on random ADMGs of
    10-20 nodes with bidirected edges, vs DoWhy's ``identify_effect()`` given
    each bidirected edge as an explicit latent node absent from the data (DoWhy's
    ID algorithm has no latent variables). Skipped if ``causal.identify.identify``
    is not importable.
3.  ``identify(g, X, Y)`` on the path family of issue 3: ``X -> Y`` plus ``k``
    back-door paths ``X <- A_i <- B_i -> Y`` (``2k + 2`` nodes, ``2**k`` minimal
    sets, all of size ``k``), for k = 12, 16, 24 (50 nodes) and 30, vs DoWhy's
    ``identify_effect()``. Listing every minimal set took 0.4 s at k = 12 and
    15.8 s at k = 16; one minimum set by max-flow takes milliseconds. Accuracy:
    the set is a valid back-door set (networkx-free d-separation of
    ``CausalGraph``) of size k.

Targets: < 100 ms per query at 50 nodes (rows 1 and 3); >= 10x faster than DoWhy where
it finishes. ``--quick`` runs one graph of 20 nodes, 2 queries, 2 repeats and the path
graphs for k = 12 and 16 (a smoke run, not a measurement); ``--no-peers`` skips DoWhy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# benchmarks/ is on sys.path when a script runs
from _common import finish_machine, machine, markdown, parser, print_machine, verdict  # noqa: E402

from causal.graph import CausalGraph  # noqa: E402
from causal.identify.adjustment import adjustment_sets  # noqa: E402

SIZES, DEGREE, GRAPHS, PAIRS = (20, 50, 100), 3.0, 2, 4
ID_SIZES, ID_BIDIRECTED = (10, 15, 20), 0.3  # bidirected edges per node
PATH_KS = (12, 16, 24, 30)  # back-door paths in the path family (2k + 2 nodes)
SEED = 20240611


# ----------------------------------------------------------------------------- graphs
def random_graph(n: int, seed: int, degree: float = DEGREE, bidirected: float = 0.0
                 ) -> CausalGraph:
    """A DAG on ``v0..v{n-1}`` in a random causal order, each pair an edge with probability
    ``degree / (n - 1)``; plus ``round(bidirected * n)`` random bidirected edges."""
    rng = np.random.default_rng(seed)
    names = [f"v{i}" for i in range(n)]
    order = rng.permutation(n)
    p = degree / (n - 1)
    directed = [(names[order[i]], names[order[j]]) for i in range(n) for j in range(i + 1, n)
                if rng.random() < p]
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    k = min(round(bidirected * n), len(pairs))
    bi = [pairs[i] for i in rng.choice(len(pairs), size=k, replace=False)]
    return CausalGraph(directed, bi, nodes=names)


def path_graph(k: int) -> CausalGraph:
    """``X -> Y`` and ``k`` back-door paths ``X <- A_i <- B_i -> Y``: ``2**k`` minimal sets."""
    return CausalGraph([e for i in range(k) for e in [(f"A{i}", "X"), (f"B{i}", f"A{i}"),
                                                       (f"B{i}", "Y")]] + [("X", "Y")])


def pick_queries(g: CausalGraph, k: int, seed: int) -> list[tuple[str, str]]:
    """Up to k pairs (X, Y) with X an ancestor of Y; confounded ones (no empty set) first."""
    rng = np.random.default_rng(seed)
    pairs = [(x, y) for y in g.observed for x in sorted(g.ancestors(y)) if x in g.observed]
    rng.shuffle(pairs)
    hard = [p for p in pairs if not g.remove_outgoing(p[0]).d_separated(*p)]
    return (hard + [p for p in pairs if p not in hard])[:k]


# ----------------------------------------------------------------------------- timing
def timed(fn: Any, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def summary(medians: list[float]) -> dict[str, Any] | None:
    if not medians:
        return None
    return {"median": statistics.median(medians), "min": min(medians), "max": max(medians),
            "n": len(medians)}


# ----------------------------------------------------------------------------- DoWhy child
def dowhy_child() -> None:
    """Read a job (JSON) on stdin, time DoWhy on each query, write JSON results to stdout."""
    import logging
    import signal
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)
    import networkx as nx
    import pandas as pd
    from dowhy import CausalModel

    def on_alarm(*_: Any) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, on_alarm)
    req = json.load(sys.stdin)
    out = []
    for job in req["jobs"]:
        nxg = nx.DiGraph()
        nxg.add_nodes_from(job["nodes"])
        nxg.add_edges_from(map(tuple, job["edges"]))
        data = pd.DataFrame(np.zeros((8, len(job["observed"]))), columns=job["observed"])
        results = []
        for x, y in job["queries"]:
            times: list[float] = []
            try:
                for i in range(req["repeats"] + 1):
                    signal.setitimer(signal.ITIMER_REAL, req["limit"])
                    t0 = time.perf_counter()
                    est = CausalModel(data, x, y, graph=nxg).identify_effect()
                    dt = time.perf_counter() - t0
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    if i:
                        times.append(dt)
                default = est.get_backdoor_variables() if est.backdoor_variables else None
                results.append({"times": times, "default": default,
                                "strategies": [k for k in ("backdoor", "frontdoor", "iv")
                                               if getattr(est, f"{k}_variables", None)]})
            except TimeoutError:
                results.append({"timeout": True})
            except Exception as err:  # a failing peer is reported, not fatal
                signal.setitimer(signal.ITIMER_REAL, 0)
                results.append({"error": f"{type(err).__name__}: {err}"[:200]})
        out.append(results)
    json.dump(out, sys.stdout)


def dowhy_job(g: CausalGraph, queries: list[tuple[str, str]], latent_bidirected: bool = False
              ) -> dict[str, Any]:
    """One graph for the child: bidirected edges become explicit latent nodes if asked."""
    nodes, edges = list(g.nodes), [list(e) for e in g.directed_edges]
    if latent_bidirected:
        for a, b in g.bidirected_edges:
            nodes.append(f"U_{a}_{b}")
            edges += [[f"U_{a}_{b}", a], [f"U_{a}_{b}", b]]
    return {"nodes": nodes, "edges": edges, "observed": list(g.observed), "queries": queries}


def run_dowhy(jobs: list[dict[str, Any]], repeats: int, limit: float) -> list[list[dict]]:
    """All jobs in one child process (DoWhy is imported once)."""
    n = sum(len(j["queries"]) for j in jobs)
    budget = 120 + limit * (repeats + 1) * n
    try:
        proc = subprocess.run([sys.executable, __file__, "--dowhy-child"],
                              input=json.dumps({"jobs": jobs, "repeats": repeats, "limit": limit}),
                              capture_output=True, text=True, timeout=budget)
        return json.loads(proc.stdout)
    except (subprocess.TimeoutExpired, json.JSONDecodeError) as err:
        return [[{"error": f"child failed: {type(err).__name__}"}] * len(j["queries"])
                for j in jobs]


# ----------------------------------------------------------------------------- checks
def backdoor_ok(g: CausalGraph, x: str, y: str, z: frozenset) -> bool:
    return not z & g.descendants(x) and g.remove_outgoing(x).d_separated(x, y, z)


def check_ours(g: CausalGraph, x: str, y: str, sets: list[frozenset]) -> bool:
    return all(backdoor_ok(g, x, y, z) and not any(backdoor_ok(g, x, y, z - {v}) for v in z)
               for z in sets)


# ----------------------------------------------------------------------------- rows
def plan(sizes: tuple[int, ...], id_sizes: tuple[int, ...], graphs: int, pairs: int,
         path_ks: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    """Every row's graphs and queries, fixed by the seed."""
    out = []
    for n in sizes:
        gs = [random_graph(n, SEED + 1000 * n + k) for k in range(graphs)]
        out.append({"kind": "adjustment", "n": n, "graphs": gs,
                    "queries": [pick_queries(g, pairs, SEED + k) for k, g in enumerate(gs)]})
    for n in id_sizes:
        gs = [random_graph(n, SEED + 7000 * n + k, bidirected=ID_BIDIRECTED)
              for k in range(graphs)]
        out.append({"kind": "identify", "n": n, "graphs": gs,
                    "queries": [pick_queries(g, pairs, SEED + k) for k, g in enumerate(gs)]})
    for k in path_ks:
        out.append({"kind": "paths", "n": 2 * k + 2, "k": k, "graphs": [path_graph(k)],
                    "queries": [[("X", "Y")]]})
    return out


def _identify_call() -> Any:
    from causal.errors import NotIdentifiable
    from causal.identify import identify

    def call(g: CausalGraph, x: str, y: str) -> str:
        try:
            return identify(g, x, y).strategy
        except NotIdentifiable:
            return "not identifiable"
    return call


def _path_call() -> Any:
    from causal.identify import identify

    def call(g: CausalGraph, x: str, y: str) -> frozenset | None:
        return identify(g, x, y).adjustment
    return call


def make_row(spec: dict[str, Any], dowhy: list[list[dict]] | None, repeats: int,
             limit: float) -> dict[str, Any]:
    if spec["kind"] == "paths":
        return make_path_row(spec, dowhy, repeats, limit)
    adjust = spec["kind"] == "adjustment"
    call = (lambda g, x, y: adjustment_sets(g, x, y)) if adjust else _identify_call()
    ours, ref, both_ours, both_ref, errors = [], [], [], [], []
    n_sets, answers, ok, timeouts, dw_valid, dw_min, dw_found, total = [], {}, 0, 0, 0, 0, 0, 0
    for k, (g, queries) in enumerate(zip(spec["graphs"], spec["queries"], strict=True)):
        for j, (x, y) in enumerate(queries):
            total += 1
            t = statistics.median(timed(lambda g=g, x=x, y=y: call(g, x, y), repeats))
            ours.append(t)
            answer = call(g, x, y)
            if adjust:
                n_sets.append(len(answer))
                ok += check_ours(g, x, y, answer)
            else:
                answers[answer] = answers.get(answer, 0) + 1
            if dowhy is None:
                continue
            res = dowhy[k][j]
            if res.get("timeout"):
                timeouts += 1
                continue
            if "error" in res:
                errors.append(res["error"])
                continue
            ref.append(statistics.median(res["times"]))
            both_ours.append(t)
            both_ref.append(ref[-1])
            dw_found += bool(res["strategies"])
            if adjust:
                z = frozenset(res["default"] or ())
                valid = res["default"] is not None and backdoor_ok(g, x, y, z)
                dw_valid += valid
                dw_min += valid and bool(answer) and len(z) == min(map(len, answer))
    ratio = statistics.median(both_ref) / statistics.median(both_ours) if both_ref else None
    n = spec["n"]
    if adjust:
        acc = (f"ours: {ok}/{total} answers valid+minimal, median {statistics.median(n_sets):g} "
               f"sets (max {max(n_sets)})")
        if dowhy is not None:
            acc += (f"; dowhy default set valid {dw_valid}/{len(ref)}, of minimum size "
                    f"{dw_min}/{len(ref)}")
        case = f"adjustment_sets, {n}-node DAGs (degree {DEGREE:g}), {total} queries"
        reference = "dowhy CausalModel(...).identify_effect()"
    else:
        acc = "ours: " + ", ".join(f"{v} {k}" for k, v in sorted(answers.items()))
        if dowhy is not None:
            acc += f"; dowhy: an estimand for {dw_found}/{len(ref)}"
        case = f"identify, {n}-node ADMGs ({ID_BIDIRECTED:g}n bidirected), {total} queries"
        reference = "dowhy identify_effect(), latents as nodes"
    if timeouts:
        acc += f"; dowhy timeout >{limit:g}s on {timeouts}/{total}"
    if errors:
        acc += f"; dowhy errors {len(errors)}: {errors[0]}"
    return {"case": case, "ours": summary(ours),
            "reference": reference if dowhy is not None else "DoWhy skipped",
            "ref": summary(ref), "ratio": ratio, "target": 10.0 if adjust else None,
            "timeouts": timeouts, "accuracy": acc, "nodes": n,
            "abs_target_s": 0.1 if adjust and n == 50 else None}


def make_path_row(spec: dict[str, Any], dowhy: list[list[dict]] | None, repeats: int,
                  limit: float) -> dict[str, Any]:
    """Row 3: one query (X, Y) on the path graph of ``spec["k"]`` back-door paths."""
    call, k, n = _path_call(), spec["k"], spec["n"]
    (g,), ((x, y),) = spec["graphs"], spec["queries"][0]
    t = statistics.median(timed(lambda: call(g, x, y), repeats))
    z = call(g, x, y)
    ok = z is not None and len(z) == k and backdoor_ok(g, x, y, z)
    acc = f"ours: back-door set of size {len(z) if z is not None else '—'} (minimum {k}), " \
          f"{'valid' if ok else 'NOT valid'}"
    ref, timeouts = [], 0
    if dowhy is not None:
        res = dowhy[0][0]
        if res.get("timeout"):
            timeouts = 1
        elif "error" in res:
            acc += f"; dowhy error: {res['error']}"
        else:
            ref.append(statistics.median(res["times"]))
            dz = frozenset(res["default"] or ())
            valid = res["default"] is not None and backdoor_ok(g, x, y, dz)
            acc += f"; dowhy default set {'valid' if valid else 'not valid'}, size {len(dz)}"
    if timeouts:
        acc += f"; dowhy timeout >{limit:g}s"
    return {"case": f"identify, path graph k={k} ({n} nodes, 2^{k} minimal sets), 1 query",
            "ours": summary([t]),
            "reference": "dowhy identify_effect()" if dowhy is not None else "DoWhy skipped",
            "ref": summary(ref), "ratio": ref[0] / t if ref else None, "target": None,
            "timeouts": timeouts, "accuracy": acc, "nodes": n, "abs_target_s": 0.1}


# ----------------------------------------------------------------------------- output
def _t(t: dict | None) -> str:
    return "—" if t is None else (f"{t['median'] * 1e3:.2f} [{t['min'] * 1e3:.2f}, "
                                  f"{t['max'] * 1e3:.2f}]")


def table(rows: list[dict[str, Any]], limit: float) -> str:
    cells = []
    for i, r in enumerate(rows, 1):
        ref = _t(r["ref"])
        if r["timeouts"]:
            ref += f"; timeout >{limit:g}s ×{r['timeouts']}"
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.1f}x"
        target = "—" if r["target"] is None else f"≥ {r['target']:g}x"
        met = verdict(None if r["ratio"] is None or r["target"] is None else r["ratio"] >= r["target"])
        if r["abs_target_s"] is not None and r["ours"] is not None:
            target += f"; < {r['abs_target_s'] * 1e3:g} ms"
            met += "; " + verdict(r["ours"]["median"] < r["abs_target_s"])
        cells.append([i, r["case"], _t(r["ours"]), r["reference"], ref, ratio, target, met, r["accuracy"]])
    return markdown(["#", "case", "ours ms/query median [min, max]", "reference",
                     "reference ms/query median [min, max]", "speed-up", "target", "met", "accuracy"], cells)


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, "tiny smoke run, not a measurement")
    ap.add_argument("--no-peers", action="store_true", help="skip DoWhy")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats (default 7)")
    ap.add_argument("--dowhy-timeout", type=float, default=None,
                    help="seconds per DoWhy call before it counts as a timeout (default 10)")
    ap.add_argument("--dowhy-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.dowhy_child:
        dowhy_child()
        return 0
    repeats = args.repeats or (2 if args.quick else 7)
    if repeats < 5 and not args.quick:
        ap.error("benchmarks/README.md asks for at least 5 repeats")
    limit = args.dowhy_timeout or (2.0 if args.quick else 10.0)
    sizes, id_sizes, graphs, pairs, path_ks = ((20,), (10,), 1, 2, (12, 16)) if args.quick \
        else (SIZES, ID_SIZES, GRAPHS, PAIRS, PATH_KS)
    info = machine(("numpy", "scipy", "networkx", "dowhy"))
    peers = not args.no_peers and info["dowhy"] is not None
    print(f"repeats {repeats} after a warm-up; {graphs} graph(s) x {pairs} queries per size; "
          f"DoWhy limit {limit:g}s per call" + ("" if peers else "; DoWhy skipped"))
    try:  # not ``import causal.identify``: that name is the function, not the subpackage
        from causal.identify.estimand import identify  # noqa: F401
        has_identify = True
    except ImportError:
        has_identify = False
    specs = plan(sizes, id_sizes if has_identify else (), graphs, pairs,
                 path_ks if has_identify else ())
    dowhy = None
    if peers:
        jobs = [dowhy_job(g, q, latent_bidirected=spec["kind"] == "identify")
                for spec in specs for g, q in zip(spec["graphs"], spec["queries"], strict=True)]
        flat = iter(run_dowhy(jobs, repeats, limit))
        dowhy = [[next(flat) for _ in spec["graphs"]] for spec in specs]
    rows = [make_row(spec, None if dowhy is None else dowhy[i], repeats, limit)
            for i, spec in enumerate(specs)]
    print_machine(finish_machine(info))
    print()
    print(table(rows, limit))
    if not has_identify:
        print("\n(identify rows skipped: causal.identify.identify is not importable)")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "repeats": repeats, "limit_s": limit,
                                         "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
