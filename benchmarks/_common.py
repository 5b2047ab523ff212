"""What the benchmark scripts share (run them as ``python benchmarks/bench_X.py``)."""

from __future__ import annotations

from typing import Any


def threadpools() -> list[dict[str, Any]] | None:
    """BLAS/OpenMP pools (threadpoolctl); call after the run, when every library is loaded."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [{k: p.get(k) for k in ("user_api", "internal_api", "prefix", "num_threads", "version")}
            for p in threadpool_info()]
