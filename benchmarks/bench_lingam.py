#!/usr/bin/env python
"""Benchmark: our DirectLiNGAM vs the ``lingam`` package's, same data, one run.

Usage::

    python benchmarks/bench_lingam.py [--json PATH] [--quick] [--no-peers] [--repeats K] [--sizes 10,20]

Follows the method of ``benchmarks/README.md``: each side is warmed up once, then
timed ``K >= 5`` times, alternating ours and the peer (``time.perf_counter``); a
row gives the median with min and max.

Rows
----
One per number of variables d: a seeded random DAG
(:func:`causal.discovery.random_dag`, expected degree 2) with a linear SCM of
uniform (non-Gaussian) noise (:func:`causal.discovery.sample_linear`) at
n = 10,000. Ours: ``direct_lingam(df)`` (pairwise likelihood-ratio measure,
adaptive-lasso pruning with the BIC). Peer: ``lingam.DirectLiNGAM()`` in its
default configuration, whose defaults are the same measure (``"pwling"``) and
the same pruning (adaptive lasso, BIC): default and equal configurations
coincide. The ``lingam`` package pins older numpy/scipy, so it lives in
``/work/venv-bench``: run this script with ``/work/venv-bench/bin/python``
(without it the peer column says "not run").

Accuracy beside time: each side's adjacency and arrowhead F1 against the true
DAG (:func:`causal.discovery.edge_scores`, reference ``"graph"``) and whether
the two causal orders agree. There is no speed target in the issue; the
ratio is reported. ``--quick`` runs d = 5 at n = 2,000 with 2 repeats (a
smoke run, not a measurement); ``--no-peers`` skips ``lingam``.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# benchmarks/ is on sys.path when a script runs
from _common import (  # noqa: E402
    finish_machine,
    machine,
    markdown,
    median_range,
    print_machine,
    size_sweep_args,
    time_pair,
    write_json,
)

from causal import CausalGraph  # noqa: E402
from causal.discovery import PartialGraph, direct_lingam, edge_scores, random_dag, sample_linear  # noqa: E402

DEGREE, N, SEED = 2.0, 10_000, 20261208


def _peer() -> Any:
    try:
        import lingam
    except ImportError:
        return None
    return lingam.DirectLiNGAM


def run_row(d: int, n: int, repeats: int, peer: Any) -> dict[str, Any]:
    g = random_dag(d, degree=DEGREE, seed=SEED + d)
    df = sample_linear(g, n, seed=SEED + d, noise="uniform")
    x = df.to_numpy()
    names = list(df.columns)

    def ours() -> tuple[PartialGraph, tuple[str, ...]]:
        res = direct_lingam(df)
        return res.partial_graph, res.order

    def theirs() -> tuple[PartialGraph, tuple[str, ...]]:
        model = peer().fit(x)
        b = model.adjacency_matrix_              # b[i, j]: the effect of j on i
        edges = [(names[j], names[i]) for i in range(d) for j in range(d) if b[i, j] != 0]
        graph = PartialGraph.from_causal_graph(CausalGraph(edges, nodes=names))
        return graph, tuple(names[i] for i in model.causal_order_)

    found, times, peer_found, peer_times = time_pair(ours, None if peer is None else theirs, repeats)
    s = edge_scores(found[0], g, reference="graph")
    row: dict[str, Any] = {"d": d, "n": n, "edges": len(g.directed_edges), "ours_s": times,
                           "ours_adj_f1": round(s.adjacency_f1, 3), "ours_arrow_f1": round(s.arrowhead_f1, 3)}
    if peer_found is not None:
        ps = edge_scores(peer_found[0], g, reference="graph")
        row.update(peer_s=peer_times, peer_adj_f1=round(ps.adjacency_f1, 3),
                   peer_arrow_f1=round(ps.arrowhead_f1, 3), same_order=found[1] == peer_found[1],
                   same_graph=found[0] == peer_found[0],
                   speedup=statistics.median(peer_times) / statistics.median(times))
    return row


def main() -> None:
    args, sizes = size_sweep_args(__doc__, "d = 5 at n = 2,000, 2 repeats: a smoke run",
                                  peer="the lingam package", sizes="10,20", quick_sizes=(5,))
    n, repeats = (2000, 2) if args.quick else (N, args.repeats)
    info = machine(["numpy", "scipy", "scikit-learn", "lingam"])
    peer = None if args.no_peers else _peer()
    rows = [run_row(d, n, repeats, peer) for d in sizes]
    finish_machine(info)
    print_machine(info)
    header = ["d", "n", "true edges", "ours s: median (min-max)", "lingam s", "speed-up", "same order",
              "same graph", "adj. F1 ours / lingam", "arrow F1 ours / lingam"]
    table = []
    for r in rows:
        has = "peer_s" in r
        table.append([r["d"], r["n"], r["edges"], median_range(r["ours_s"]),
                      median_range(r["peer_s"]) if has else "not run",
                      f"{r['speedup']:.1f}x" if has else "—", r.get("same_order", "—"),
                      r.get("same_graph", "—"),
                      f"{r['ours_adj_f1']} / {r.get('peer_adj_f1', '—')}",
                      f"{r['ours_arrow_f1']} / {r.get('peer_arrow_f1', '—')}"])
    print()
    print(markdown(header, table))
    write_json(args.json, {"machine": info, "rows": rows})


if __name__ == "__main__":
    main()
