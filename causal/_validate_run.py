"""Running the replications: in this process, on local worker processes, or on a Dask cluster.

Every replication is a pure function of its setting, its index and the seed
(``SeedSequence(seed, spawn_key=(rep,))``: replication ``r`` draws the same data
whatever the number of replications, workers or backend), and every fit runs
with BLAS/OpenMP limited to one thread, so the bits do not depend on where it
ran. Replications are grouped in chunks to spare the per-task overhead; each
finished chunk's replications are handed back to the caller (which appends
them to the results file) as they arrive, in any order.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

import numpy as np

from causal.errors import EstimationError

__all__ = ["run_reps", "run_chunk", "rep_seed", "chunks"]

Item = tuple[int, int, list[dict[str, Any]]]


def rep_seed(seed: int, rep: int) -> np.random.SeedSequence:
    """The seed of replication ``rep``: the ``rep``-th child of ``SeedSequence(seed)``."""
    return np.random.SeedSequence(seed, spawn_key=(rep,))


def run_chunk(settings: Sequence[Any], specs: Sequence[Any], n: int, seed: int,
              tasks: Sequence[tuple[int, int]]) -> list[Item]:
    """Draw and fit every ``(setting, rep)`` of ``tasks``; one list of records per replication."""
    from threadpoolctl import threadpool_limits

    from causal._validate_estimators import fit_one

    out = []
    with threadpool_limits(1):
        for s, r in tasks:
            setting = settings[s]
            try:
                data = setting.draw(n, rep_seed(seed, r))
            except Exception as exc:  # noqa: BLE001 - a failed draw fails every estimator of the rep
                text = f"data: {type(exc).__name__}: {exc}".replace("\n", " ")[:300]
                recs = [{"estimator": sp.name, "estimate": np.nan, "stderr": np.nan, "ci_low": np.nan,
                         "ci_high": np.nan, "pehe": np.nan, "error": text, "seconds": 0.0} for sp in specs]
            else:
                recs = [{"estimator": sp.name, **fit_one(sp, setting, data)} for sp in specs]
            out.append((s, r, recs))
    return out


def chunks(tasks: Sequence[tuple[int, int]], workers: int, most: int = 8) -> list[list[tuple[int, int]]]:
    """Split tasks into chunks: about 4 per worker, at most ``most`` replications each."""
    size = max(1, min(most, math.ceil(len(tasks) / (4 * workers))))
    return [list(tasks[i:i + size]) for i in range(0, len(tasks), size)]


def _serial(args: tuple, tasks: Sequence[tuple[int, int]]) -> Iterator[list[Item]]:
    for task in tasks:
        yield run_chunk(*args, [task])


#: Modules the fork server imports once, so that worker processes start with them loaded.
PRELOAD = ("causal.validate", "causal.estimators", "causal.estimators.dml", "causal.estimators.learners",
           "causal.estimators.forest", "threadpoolctl")


def _forkserver(settings: Sequence[Any], dask: bool) -> Any:
    """The ``forkserver`` context, its preload set to what a replication imports (None where unavailable).

    The fork server is started once per process (by the first pool or cluster that
    needs it) and every later worker process of either backend is forked from it:
    a worker then starts in milliseconds with causalsim, scikit-learn and the
    sources' modules loaded, instead of importing them (seconds) as a freshly
    spawned interpreter does. ``fork`` is not used: a forked child of a process that
    has run OpenMP code (scikit-learn's gradient boosting) can hang in its own
    OpenMP calls, and the fork server has run none. ``distributed`` is preloaded too
    when the Dask backend is used, or when this process has already imported it.
    """
    import multiprocessing as mp

    if "forkserver" not in mp.get_all_start_methods():
        return None
    ctx = mp.get_context("forkserver")
    sources = sorted({type(s.source).__module__ for s in settings} - {"__main__"})
    extra = ["distributed"] if dask or "distributed" in sys.modules else []
    ctx.set_forkserver_preload([*extra, *PRELOAD, *sources])
    return ctx


def _local(args: tuple, tasks: Sequence[tuple[int, int]], workers: int) -> Iterator[list[Item]]:
    ctx = _forkserver(args[0], dask=False)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending = {pool.submit(run_chunk, *args, c) for c in chunks(tasks, workers)}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    yield fut.result()
        finally:
            for fut in pending:
                fut.cancel()


def _local_cluster(settings: Sequence[Any], workers: int) -> Any:
    """A ``LocalCluster`` of ``workers`` one-thread worker processes, forked from the fork server.

    Dask's default start method is ``spawn``: each worker is a fresh interpreter
    that imports dask, then causalsim and scikit-learn at its first task (about
    5 s of a 2-core machine per call), and stopping it takes 1-4 s more. The
    cluster made for a call starts its workers the way the local backend does
    (:func:`_forkserver`), unless the Dask configuration asks for another method
    than ``spawn``, and without the workers' statistical profiler (it feeds the
    dashboard, which this cluster does not serve).
    """
    import multiprocessing as mp

    import dask
    from dask.distributed import LocalCluster
    from distributed.utils import get_mp_context

    key = "distributed.worker.multiprocessing-method"
    method = dask.config.get(key, "spawn")
    if method == "spawn" and "forkserver" in mp.get_all_start_methods():
        method = "forkserver"
    # no dashboard, so nobody sees the workers' statistical profile: do not sample the fits every 10 ms
    with dask.config.set({key: method, "distributed.worker.profile.enabled": False}):
        if method == "forkserver":
            from multiprocessing import forkserver

            get_mp_context()  # distributed sets its preload list on its first forkserver context,
            _forkserver(settings, dask=True)  # ours replaces it (a running fork server is reused)
            # started now, before the nannies put Dask's worker variables (OMP_NUM_THREADS=1,
            # MALLOC_TRIM_THRESHOLD_, ...) in this process's environment: the fork server, which
            # later local pools share, has the environment of the caller whichever backend came first
            forkserver.ensure_running()
        # no dashboard; its HTTP server (health checks) on a free port: 8787 may be another cluster's
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})


def _dask(args: tuple, tasks: Sequence[tuple[int, int]], workers: int | None,
          address: str | None) -> Iterator[list[Item]]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise EstimationError("backend='dask' needs dask.distributed: "
                              "pip install 'causalsim[dask]'") from None
    cluster = None
    if address is None:
        cluster = _local_cluster(args[0], workers or 2)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout="30s")
        except OSError as exc:
            raise EstimationError(f"cannot reach the Dask scheduler at {address!r} ({exc}); start one "
                                  "(dask scheduler) or drop address= for a local cluster") from None
    try:
        settings, specs, n, seed = args
        s_f, sp_f = client.scatter([list(settings), list(specs)], broadcast=True)
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or (workers or 2))
        futures = [client.submit(run_chunk, s_f, sp_f, n, seed, c, pure=False)
                   for c in chunks(tasks, n_workers)]
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_reps(settings: Sequence[Any], specs: Sequence[Any], n: int, seed: int,
             tasks: Sequence[tuple[int, int]], *, backend: str, workers: int | None,
             address: str | None, on_done: Callable[[list[Item]], None]) -> None:
    """Run ``tasks`` on the backend, calling ``on_done`` with each finished chunk's replications."""
    args = (list(settings), list(specs), n, seed)
    if not tasks:
        return
    if backend == "dask":
        it = _dask(args, tasks, workers, address)
    elif backend == "local":
        k = workers if workers is not None else (os.cpu_count() or 1)
        it = _serial(args, tasks) if k == 1 or len(tasks) == 1 else _local(args, tasks, min(k, len(tasks)))
    else:
        raise EstimationError(f"backend must be 'local' or 'dask', got {backend!r}")
    for items in it:
        on_done(items)
