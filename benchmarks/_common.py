"""What the benchmark scripts share (run them as ``python benchmarks/bench_X.py``)."""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def threadpools() -> list[dict[str, Any]] | None:
    """BLAS/OpenMP pools (threadpoolctl); call after the run, when every library is loaded."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [{k: p.get(k) for k in ("user_api", "internal_api", "prefix", "num_threads", "version")}
            for p in threadpool_info()]


def _loadavg() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def machine(packages: Iterable[str]) -> dict[str, Any]:
    """The machine at the start of a run, with the installed version of each of ``packages``
    (``None`` when missing; read from the metadata, without importing them)."""
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg": _loadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": list(packages),
        "env": {k: v for k, v in sorted(os.environ.items())
                if k.startswith("OPENBLAS") or k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")},
    }
    for name in info["packages"]:
        try:
            info[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            info[name] = None
    return info


def finish_machine(info: dict[str, Any]) -> dict[str, Any]:
    """Add what is known only at the end of a run: the thread pools and the load."""
    info["threadpools"] = threadpools()
    info["loadavg_end"] = _loadavg()
    return info


def print_machine(info: dict[str, Any]) -> None:
    """The header lines every benchmark prints above its table."""
    print(f"machine: nproc={info['nproc']} (affinity {info['affinity']}), "
          f"loadavg {info['loadavg']} at start, {info.get('loadavg_end')} at end, "
          f"python {info['python']}, {info['platform']}")
    print(", ".join(f"{name} {info[name] or 'not installed'}" for name in info["packages"]))
    pools = info.get("threadpools")
    if pools is None:
        print("threads: threadpoolctl not installed")
    elif not pools:
        print("threads: no BLAS/OpenMP pool loaded")
    else:
        for p in pools:
            print(f"threads: {p['user_api']}/{p['internal_api']} {p['prefix']} "
                  f"{p['version']}: {p['num_threads']} threads")
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items()) or "none set"
    print(f"env: {env}")


def parser(doc: str | None, quick: str) -> argparse.ArgumentParser:
    """The options every benchmark takes: ``--json PATH`` and ``--quick`` (its help is ``quick``)."""
    ap = argparse.ArgumentParser(description=(doc or "").splitlines()[0] if doc else None)
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this path")
    ap.add_argument("--quick", action="store_true", help=quick)
    return ap


def size_sweep_args(doc: str | None, quick: str, peer: str, sizes: str,
                    quick_sizes: tuple[int, ...]) -> tuple[argparse.Namespace, tuple[int, ...]]:
    """Parse the options of a benchmark over numbers of variables: those of :func:`parser`, plus
    ``--no-peers`` (skip ``peer``), ``--repeats`` (default 5, at least 5 outside ``--quick``) and
    ``--sizes`` (default ``sizes``). Returns the options and the sizes (``quick_sizes`` with ``--quick``)."""
    ap = parser(doc, quick)
    ap.add_argument("--no-peers", action="store_true", help=f"skip {peer}")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", default=sizes, help="comma-separated numbers of variables")
    args = ap.parse_args()
    if args.repeats < 5 and not args.quick:
        ap.error("--repeats must be >= 5 outside --quick (see benchmarks/README.md)")
    return args, quick_sizes if args.quick else tuple(int(s) for s in args.sizes.split(","))


def verdict(met: bool | None) -> str:
    """A target's cell: ``yes``, ``NO`` or ``—`` (no target, or nothing to compare)."""
    return {None: "—", True: "yes", False: "NO"}[met]


def markdown(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """``(wall seconds, result)`` of one call of ``fn``."""
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def time_pair(ours: Callable[[], Any], theirs: Callable[[], Any] | None,
              repeats: int) -> tuple[Any, list[float], Any, list[float]]:
    """Time ``ours`` and the peer ``theirs`` (``None``: not run) alternately, ``repeats`` times each,
    after one untimed warm-up call of each: ``(ours' result, its times, the peer's result or None,
    its times)``."""
    found, times, peer_found, peer_times = ours(), [], None, []
    if theirs is not None:
        peer_found = theirs()
    for _ in range(repeats):
        t, found = timed(ours)
        times.append(t)
        if theirs is not None:
            t, peer_found = timed(theirs)
            peer_times.append(t)
    return found, times, peer_found, peer_times


def median_range(ts: list[float]) -> str:
    """A times cell: ``median (min-max)`` seconds."""
    return f"{statistics.median(ts):.3g} ({min(ts):.3g}-{max(ts):.3g})"


def write_json(path: Path | None, report: dict[str, Any]) -> None:
    """Write ``report`` as JSON to ``path`` (creating its folder); nothing when ``path`` is None."""
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, default=str))


def stats(values: list[float]) -> dict[str, Any]:
    """Median, min, max and the values themselves (a row's JSON record)."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "values": values}


def race(fns: list[Callable[[], Any]], repeats: int, *,
         progress: bool = False) -> tuple[list[list[float]], list[list[float]]]:
    """Warm each function up once, then time them alternately ``repeats`` times.

    Returns wall times (``perf_counter``, the figures quoted) and the process's CPU times
    (``process_time``, printed beside them: on a shared machine they show how much of the wall time
    was spent waiting for a CPU). ``progress`` prints each round's wall times to stderr.
    """
    for fn in fns:
        fn()
    wall: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, w, c in zip(fns, wall, cpu, strict=True):
            gc.collect()
            c0 = time.process_time()
            t0 = time.perf_counter()
            fn()
            w.append(time.perf_counter() - t0)
            c.append(time.process_time() - c0)
        if progress:
            print("[" + ", ".join(f"{w[-1]:.2f} s" for w in wall) + "]", file=sys.stderr, flush=True)
    return wall, cpu
