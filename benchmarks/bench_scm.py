#!/usr/bin/env python
"""Benchmark: sampling, interventions and counterfactuals of a linear-Gaussian SCM.

Usage::

    python benchmarks/bench_scm.py [--json PATH] [--quick] [--no-peers] [--repeats K]

Follows the method of ``benchmarks/README.md``: every figure is a ratio against a reference timed
in the same run on the same data (numpy drawing the same number of normal
variates, a hand-written numpy loop, or DoWhy's ``gcm``), as the median of
``K >= 5`` repeats after a warm-up, with min and max beside it, and accuracy
beside time. The two sides of a row are timed alternately (A, B, A, B, ...)
so that load on a shared machine hits both alike; a repeat of a call shorter
than 50 ms times a loop of calls and records the time per call (as ``timeit``).

Rows
----
1a. ``scm.propagate(scm.sample_noise(n), overwrite_noise=True)`` (dict of arrays),
    1,000,000 units of a random 10-node, 15-edge linear-Gaussian SCM, vs
    ``rng.standard_normal(10 * n)``. The noise is spent, as in ``sample()`` and the
    hand loop: each node is computed in its own noise array.
1a'. The same keeping the noise (``propagate`` without ``overwrite_noise``): one new
    array per node, whose first touch (page faults) is most of the gap to 1a.
1b. ``scm.sample(n)`` (DataFrame), same reference.
1c. A hand-written numpy loop over the nodes (draw, then the linear combination
    in place): the physical limit, same reference.
2.  ``scm.sample(n)`` vs DoWhy ``gcm.draw_samples`` (linear additive noise models
    with Gaussian noise on the same graph, fitted untimed on 10,000 units of ours).
3.  ``do(root = 1)`` on 100,000 units vs ``gcm.interventional_samples``.
4.  Counterfactuals ``do(root = 1)`` of 10,000 observed units vs
    ``gcm.counterfactual_samples``.

``--quick`` divides every size by 100 and takes 2 repeats (a smoke run, not a
measurement); ``--no-peers`` skips DoWhy.
"""

from __future__ import annotations

import gc
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# benchmarks/ is on sys.path when a script runs
from _common import finish_machine, machine, markdown, parser, print_machine, verdict  # noqa: E402

from causal import SCM, Hard, Linear  # noqa: E402
from causal.noise import Normal  # noqa: E402

N_NODES, N_EDGES, DAG_SEED = 10, 15, 20240607
DATA_SEED, FIT_SEED, EVIDENCE_SEED = 1, 2, 3
FIT_UNITS = 10_000


# ----------------------------------------------------------------------------- the model
@dataclass
class LinearGaussian:
    """``X = b + B X + U`` with ``U ~ N(0, I)``; ``B[j, i]`` is the coefficient of ``x_i`` in
    ``x_j``."""

    names: list[str]
    B: np.ndarray
    b: np.ndarray

    @classmethod
    def random(cls, d: int = N_NODES, edges: int = N_EDGES, seed: int = DAG_SEED) -> LinearGaussian:
        rng = np.random.default_rng(seed)
        pairs = [(i, j) for j in range(d) for i in range(j)]  # i -> j, i < j: acyclic
        B = np.zeros((d, d))
        for k in sorted(rng.choice(len(pairs), size=edges, replace=False)):
            i, j = pairs[k]
            B[j, i] = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5)
        b = np.round(rng.uniform(-1.0, 1.0, d), 2)
        return cls([f"x{i}" for i in range(d)], B, b)

    def parents(self, j: int) -> list[int]:
        return [int(i) for i in np.flatnonzero(self.B[j])]

    def scm(self) -> SCM:
        mech = {v: Linear({self.names[i]: float(self.B[j, i]) for i in self.parents(j)},
                          intercept=float(self.b[j])) for j, v in enumerate(self.names)}
        return SCM(mech, {v: Normal() for v in self.names})

    @property
    def total(self) -> np.ndarray:
        """``T = (I - B)^-1``: ``T[j, i]`` is the total effect of ``x_i`` on ``x_j``."""
        return np.linalg.inv(np.eye(len(self.names)) - self.B)

    def corr(self) -> np.ndarray:
        T = self.total
        cov = T @ T.T
        s = np.sqrt(np.diag(cov))
        return cov / np.outer(s, s)

    def do_mean(self, root: int, value: float) -> np.ndarray:
        B, b = self.B.copy(), self.b.copy()
        B[root, :] = 0.0
        b[root] = value
        return np.linalg.solve(np.eye(len(self.names)) - B, b)

    def counterfactual(self, observed: np.ndarray, root: int, value: float) -> np.ndarray:
        """Exact counterfactual of each row of ``observed`` under ``do(root = value)`` (root has no
        parents, so only its own noise changes)."""
        return observed + np.outer(value - observed[:, root], self.total[:, root])

    def reach(self) -> np.ndarray:
        """``R[j, i]``: there is a directed path ``i -> ... -> j`` (structural, no cancellation)."""
        R = self.B != 0
        for _ in range(len(self.names)):
            R = R | ((R.astype(int) @ R.astype(int)) > 0)
        return R

    def root_and_sink(self) -> tuple[int, int]:
        R = self.reach()
        roots = [j for j in range(len(self.names)) if not self.parents(j)]
        root = max(roots, key=lambda i: (R[:, i].sum(), -i))
        sinks = [j for j in range(len(self.names)) if not self.B[:, j].any() and R[j, root]]
        sink = max(sinks, key=lambda j: (R[j].sum(), j))
        return root, sink


def hand_loop(model: LinearGaussian, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The physical limit: one draw per node, then the linear combination in place."""
    out: dict[str, np.ndarray] = {}
    tmp = np.empty(n)
    for j, v in enumerate(model.names):
        x = rng.standard_normal(n)
        if model.b[j]:
            x += model.b[j]
        for i in model.parents(j):
            np.multiply(out[model.names[i]], model.B[j, i], out=tmp)
            x += tmp
        out[v] = x
    return out


# ----------------------------------------------------------------------------- DoWhy
def dowhy_model(model: LinearGaussian, data: pd.DataFrame):
    """A gcm model with our graph: Gaussian roots, linear ANMs with Gaussian noise; fitted."""
    import networkx as nx
    from dowhy import gcm
    from scipy import stats

    gcm.config.disable_progress_bars()
    g = nx.DiGraph()
    g.add_nodes_from(model.names)
    g.add_edges_from((model.names[i], v) for j, v in enumerate(model.names)
                     for i in model.parents(j))
    m = gcm.InvertibleStructuralCausalModel(g)
    for j, v in enumerate(model.names):
        if model.parents(j):
            m.set_causal_mechanism(v, gcm.AdditiveNoiseModel(
                prediction_model=gcm.ml.create_linear_regressor(),
                noise_model=gcm.ScipyDistribution(stats.norm)))
        else:
            m.set_causal_mechanism(v, gcm.ScipyDistribution(stats.norm))
    gcm.fit(m, data)
    return m


# ----------------------------------------------------------------------------- timing
def _stats(times: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "times": times}


#: Each timed repeat runs a function enough times to last about this long, as ``timeit`` does:
#: a single sub-millisecond call right after ``gc.collect()`` times refilling the caches the
#: collector evicted, not the call.
MIN_REPEAT_S = 0.05


def race(fns: list[Callable[[], Any]], repeats: int) -> list[dict[str, Any]]:
    """Warm up each function, then time them alternately ``repeats`` times (perf_counter).

    A repeat of a fast function times a loop of calls (at least ``MIN_REPEAT_S`` in all)
    and records the time per call; a function slower than that is called once.
    """
    loops = []
    for f in fns:
        t0 = time.perf_counter()
        f()
        loops.append(max(1, math.ceil(MIN_REPEAT_S / max(time.perf_counter() - t0, 1e-6))))
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for k, f in enumerate(fns):
            gc.collect()
            t0 = time.perf_counter()
            for _ in range(loops[k]):
                out = f()
            times[k].append((time.perf_counter() - t0) / loops[k])
            del out  # freed outside the timed window
    return [{**_stats(t), "loops": loops[k]} for k, t in enumerate(times)]


# ----------------------------------------------------------------------------- rows
def _corr_err(arrays: list[np.ndarray], model: LinearGaussian) -> float:
    return float(np.abs(np.corrcoef(np.vstack(arrays)) - model.corr()).max())


def _row(key: str, case: str, ours: dict | None, reference: str, ref: dict | None, kind: str,
         target: float | None, accuracy: str = "", acc: dict | None = None) -> dict[str, Any]:
    """``kind``: "ours/ref" (lower is better, target is a ceiling) or "ref/ours" (a speed-up,
    target is a floor)."""
    ratio = None
    if ours is not None and ref is not None:
        ratio = (ours["median"] / ref["median"] if kind == "ours/ref"
                 else ref["median"] / ours["median"])
    meets = None
    if ratio is not None and target is not None:
        meets = ratio <= target if kind == "ours/ref" else ratio >= target
    return {"key": key, "case": case, "ours": ours, "reference": reference, "ref": ref,
            "ratio_kind": kind, "ratio": ratio, "target": target, "meets": meets,
            "accuracy": accuracy, "accuracy_values": acc or {}}


def run(n_sample: int, n_do: int, n_cf: int, repeats: int, peers: bool
        ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    model = LinearGaussian.random()
    scm = model.scm()
    root, sink = model.root_and_sink()
    r, s = model.names[root], model.names[sink]
    corr_se = 1 / np.sqrt(n_sample)
    setup: dict[str, Any] = {"nodes": N_NODES, "edges": int((model.B != 0).sum()), "root": r,
                             "sink": s, "n_sample": n_sample, "n_do": n_do, "n_cf": n_cf,
                             "repeats": repeats, "fit_units": FIT_UNITS}
    rows = []

    # 1. sampling vs numpy
    gen = np.random.default_rng(DATA_SEED)
    hand_rng = np.random.default_rng(DATA_SEED)
    variates = N_NODES * n_sample
    t_dict, t_keep, t_df, t_hand, t_np = race([
        lambda: scm.propagate(scm.sample_noise(n_sample, DATA_SEED), overwrite_noise=True),
        lambda: scm.propagate(scm.sample_noise(n_sample, DATA_SEED)),
        lambda: scm.sample(n_sample, DATA_SEED),
        lambda: hand_loop(model, n_sample, hand_rng),
        lambda: gen.standard_normal(variates),
    ], repeats)
    ref_name = f"numpy rng.standard_normal({variates:,})"
    vals = scm.propagate(scm.sample_noise(n_sample, DATA_SEED), overwrite_noise=True)
    e_dict = _corr_err([vals[v] for v in model.names], model)
    del vals
    frame = scm.sample(n_sample, DATA_SEED)
    e_df = _corr_err([frame[v].to_numpy() for v in model.names], model)
    del frame
    vals = hand_loop(model, n_sample, np.random.default_rng(DATA_SEED))
    e_hand = _corr_err([vals[v] for v in model.names], model)
    del vals
    mc = f"(MC se ~{corr_se:.0e})"

    def hand_ratio(t: dict[str, Any]) -> str:
        return f"; {t['median'] / t_hand['median']:.2f}x hand loop"

    rows.append(_row("1a", f"sample {n_sample:,} units, dict of arrays: "
                     "propagate(sample_noise, overwrite_noise=True)",
                     t_dict, ref_name, t_np, "ours/ref", 1.5,
                     f"max abs corr err {e_dict:.1e} {mc}{hand_ratio(t_dict)}",
                     {"corr_err": e_dict}))
    rows.append(_row("1a'", f"sample {n_sample:,} units, dict of arrays keeping the noise: "
                     "propagate(sample_noise)", t_keep, ref_name, t_np, "ours/ref", None,
                     f"same values as 1a{hand_ratio(t_keep)}", {}))
    rows.append(_row("1b", f"sample {n_sample:,} units, DataFrame: sample()", t_df, ref_name, t_np,
                     "ours/ref", 2.5, f"max abs corr err {e_df:.1e} {mc}{hand_ratio(t_df)}",
                     {"corr_err": e_df}))
    rows.append(_row("1c", f"physical limit: hand-written numpy loop, {n_sample:,} units", t_hand,
                     ref_name, t_np, "ours/ref", None, f"max abs corr err {e_hand:.1e} {mc}",
                     {"corr_err": e_hand}))

    # the peer
    dw = None
    why = "skipped (--no-peers)"
    if peers:
        try:
            from dowhy import gcm
        except ImportError:
            why = "dowhy not installed"
        else:
            t0 = time.perf_counter()
            dw = dowhy_model(model, scm.sample(FIT_UNITS, FIT_SEED))
            setup["dowhy_fit_s"] = time.perf_counter() - t0
            setup["dowhy_noise"] = "linear AdditiveNoiseModel + ScipyDistribution(norm)"

    # 2. sampling vs DoWhy draw_samples
    case2 = f"sample {n_sample:,} units vs gcm.draw_samples"
    if dw is None:
        rows.append(_row("2", case2, t_df, why, None, "ref/ours", 2.0,
                         f"max abs corr err: ours {e_df:.1e} {mc}", {"corr_err_ours": e_df}))
    else:
        t_ours, t_dw = race([lambda: scm.sample(n_sample, DATA_SEED),
                             lambda: gcm.draw_samples(dw, n_sample)], repeats)
        d = gcm.draw_samples(dw, n_sample)
        e_dw = _corr_err([d[v].to_numpy() for v in model.names], model)
        del d
        rows.append(_row("2", case2, t_ours, "dowhy gcm.draw_samples", t_dw, "ref/ours", 2.0,
                         f"max abs corr err: ours {e_df:.1e}, dowhy {e_dw:.1e} {mc}",
                         {"corr_err_ours": e_df, "corr_err_dowhy": e_dw}))

    # 3. hard intervention on the root
    exact = float(model.do_mean(root, 1.0)[sink])
    case3 = f"do({r}=1) on {n_do:,} units"
    ours_do = lambda: scm.do({r: Hard(1.0)}).sample(n_do, DATA_SEED)  # noqa: E731
    m_ours = float(ours_do()[s].mean())
    acc3 = {"analytic": exact, "ours": m_ours}
    text3 = f"E[{s}]: analytic {exact:.4f}, ours {m_ours - exact:+.1e}"
    mc3 = f" (MC se ~{_sd_do(model, root, sink) / np.sqrt(n_do):.0e})"
    if dw is None:
        rows.append(_row("3", case3, race([ours_do], repeats)[0], why, None, "ref/ours", 5.0,
                         text3 + mc3, acc3))
    else:
        dw_do = lambda: gcm.interventional_samples(  # noqa: E731
            dw, {r: lambda x: 1.0}, num_samples_to_draw=n_do)
        t_ours, t_dw = race([ours_do, dw_do], repeats)
        m_dw = float(dw_do()[s].mean())
        acc3["dowhy"] = m_dw
        rows.append(_row("3", case3, t_ours, "dowhy gcm.interventional_samples", t_dw, "ref/ours",
                         5.0, text3 + f", dowhy {m_dw - exact:+.1e}" + mc3, acc3))

    # 4. counterfactuals of observed units
    observed = scm.sample(n_cf, EVIDENCE_SEED)
    truth = model.counterfactual(observed[model.names].to_numpy(), root, 1.0)[:, sink]
    case4 = f"counterfactual do({r}=1) of {n_cf:,} observed units"
    ours_cf = lambda: scm.counterfactual(observed, {r: 1.0})  # noqa: E731
    e_ours = float(np.abs(ours_cf()[s].to_numpy() - truth).max())
    acc4 = {"max_abs_err_ours": e_ours}
    text4 = f"max abs err {s}: ours {e_ours:.1e}"
    if dw is None:
        rows.append(_row("4", case4, race([ours_cf], repeats)[0], why, None, "ref/ours", 20.0,
                         text4, acc4))
    else:
        dw_cf = lambda: gcm.counterfactual_samples(  # noqa: E731
            dw, {r: lambda x: 1.0}, observed_data=observed)
        t_ours, t_dw = race([ours_cf, dw_cf], repeats)
        e_dw = float(np.abs(dw_cf()[s].to_numpy() - truth).max())
        acc4["max_abs_err_dowhy"] = e_dw
        rows.append(_row("4", case4, t_ours, "dowhy gcm.counterfactual_samples", t_dw,
                         "ref/ours", 20.0, text4 + f", dowhy {e_dw:.1e} (fitted coefs)", acc4))
    return rows, setup


def _sd_do(model: LinearGaussian, root: int, sink: int) -> float:
    """Standard deviation of the sink under ``do(root)`` (the root's noise no longer enters)."""
    B = model.B.copy()
    B[root, :] = 0.0
    T = np.linalg.inv(np.eye(len(model.names)) - B)
    T[:, root] = 0.0
    return float(np.sqrt((T[sink] ** 2).sum()))


# ----------------------------------------------------------------------------- output
def _t(t: dict | None) -> str:
    if t is None:
        return "—"
    return f"{t['median']:.4f} [{t['min']:.4f}, {t['max']:.4f}]"


def table(rows: list[dict[str, Any]]) -> str:
    cells = []
    for row in rows:
        kind = row["ratio_kind"]
        if row["ratio"] is None:
            ratio = "—"
        elif kind == "ours/ref":
            ratio = f"{row['ratio']:.2f} (ours/ref)"
        else:
            ratio = f"{row['ratio']:.1f}x faster" if row["ratio"] >= 1 else \
                f"{1 / row['ratio']:.1f}x slower"
        if row["target"] is None:
            target = "(reference)"
        else:
            target = f"≤ {row['target']:g}" if kind == "ours/ref" else f"≥ {row['target']:g}x"
        cells.append([row["key"], row["case"], _t(row["ours"]), row["reference"], _t(row["ref"]), ratio,
                      target, verdict(row["meets"]), row["accuracy"]])
    return markdown(["#", "case", "ours median s [min, max]", "reference", "reference median s [min, max]",
                     "ratio", "target", "met", "accuracy"], cells)


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, "sizes / 100 and 2 repeats: a smoke run, not a measurement")
    ap.add_argument("--no-peers", action="store_true", help="skip DoWhy")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats (default 7)")
    args = ap.parse_args(argv)
    scale = 100 if args.quick else 1
    repeats = args.repeats or (2 if args.quick else 7)
    if repeats < 5 and not args.quick:
        ap.error("benchmarks/README.md asks for at least 5 repeats")

    info = machine(("numpy", "scipy", "pandas", "dowhy"))
    rows, setup = run(1_000_000 // scale, 100_000 // scale, 10_000 // scale, repeats,
                      peers=not args.no_peers)
    finish_machine(info)
    print_machine(info)
    print(f"model: {setup['nodes']} nodes, {setup['edges']} edges (seed {DAG_SEED}), "
          f"root {setup['root']}, sink {setup['sink']}; {repeats} repeats after a warm-up, "
          "sides timed alternately, calls under 50 ms in loops (time per call)"
          + (f"; dowhy fit on {FIT_UNITS:,} units untimed ({setup['dowhy_fit_s']:.2f} s)"
             if "dowhy_fit_s" in setup else "")
          + (" [--quick: not a measurement]" if args.quick else ""))
    print()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"bench": "scm", "machine": info, "setup": setup,
                                         "quick": args.quick, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
