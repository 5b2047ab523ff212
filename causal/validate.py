"""Estimator validation: fit estimators on many fresh data sets and score them against the truth.

The simulator knows the true effect, so "is my estimator any good here?" has a
measured answer: draw ``reps`` data sets of ``n`` units from a source's
observational (confounded) distribution, fit every estimator on each, and
compare the estimates with the truth — bias (with its Monte-Carlo standard
error), RMSE, the coverage of the 95% intervals (with a binomial interval), the
mean interval width, the PEHE of conditional effects, failures. Knob grids
(``knobs={"confounding": [0, 1, 2]}``) score the estimators across scenario
difficulties.

Design
------
* **Sources** (see :mod:`causal._validate_source`): every scenario (the
  treatment is its action node, the contrast two of its actions, the truth
  ``truth().ate``); a plain SCM through :class:`SCMSource` (or
  ``validate(scm, ..., treatment=, outcome=)``); anything with
  ``observational(n, rng)``, ``truth()``, ``treatment`` and ``outcome``.
* **Estimators**: a dict ``name -> estimator`` or registry names (``naive``,
  ``regression``, ``ipw``, ``aipw``, ``matching``, ``dml``, ``dr-learner``,
  ``causal-forest``, ``2sls``/``iv``), or adapter names with a colon
  (``econml:CausalForestDML``). An estimator that raises is recorded as a
  failure, not fatal.
* **Seeds**: replication ``r`` uses ``SeedSequence(seed, spawn_key=(r,))``, the
  ``r``-th child of ``SeedSequence(seed)``; every knob setting uses the same
  replication seeds (common random numbers across the grid).
* **Parallel**: ``backend="local"`` runs on ``workers`` processes
  (``concurrent.futures``; ``workers=1`` runs in this process), ``"dask"`` on a
  ``dask.distributed`` cluster (``address=`` or a ``LocalCluster`` made for the
  call); the local processes and the workers of that ``LocalCluster`` are
  forked from one fork server per Python process, which has the estimators
  imported. Fits run single-threaded, so ``report.table`` has the same bytes for
  any backend and worker count. Fit times vary from run to run, so they are not
  in ``.table``: they are in ``report.timing`` and ``report.leaderboard()``.
* **Resumable**: with ``results=PATH`` each finished replication is appended to
  a JSON-lines file (see :mod:`causal._validate_store`); a rerun of the same call
  skips the replications already there, and a file from another configuration
  is refused.

Examples
--------
>>> from causal.spec import load_scm
>>> scm = load_scm({"nodes": {"x": {"noise": "normal(0, 1)"},
...                           "t": {"type": "binary", "logit": "x"},
...                           "y": {"equation": "2 * t + x + noise", "noise": "normal(0, 1)"}}})
>>> rep = validate(SCMSource(scm, "t", "y"), "naive,regression", n=300, reps=8, seed=1, workers=1)
>>> t = rep.table.set_index("estimator")
>>> reg = t.loc["regression"]
>>> bool(t.loc["naive", "bias"] > 0.5), bool(abs(reg["bias"]) < 3 * reg["bias_se"])
(True, True)
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from causal._validate_estimators import DEFAULT_ESTIMATORS, REGISTRY, check_instruments, needs_cate, resolve
from causal._validate_plot import plot_estimates, plot_sweep
from causal._validate_run import run_reps
from causal._validate_source import CHUNK, SCMSource, Setting, describe, settings
from causal._validate_store import ResultsFile
from causal._validate_table import records_frame, summarise, timing, wilson
from causal.errors import EstimationError
from causal.scm import SCM

__all__ = ["validate", "ValidationReport", "SCMSource", "plot_estimates", "plot_sweep", "wilson",
           "REGISTRY", "DEFAULT_ESTIMATORS"]


@dataclass
class ValidationReport:
    """The outcome of :func:`validate`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per knob setting x estimator (see :mod:`causal._validate_table`):
        knob columns, ``estimator``, ``truth``, ``estimate``, ``bias``,
        ``bias_se``, ``rmse``, ``coverage`` (+ ``coverage_low``,
        ``coverage_high``), ``ci_width``, ``pehe``, ``reps``, ``failures``.
        Deterministic: the same bytes for the same call on any backend.
    records : pandas.DataFrame
        One row per knob setting x estimator x replication: estimate, stderr,
        interval, PEHE, seconds, error text.
    timing : pandas.DataFrame
        Mean seconds per fit (setting x estimator).
    knobs : list of str
    settings : list of Setting
        The resolved roles and truth of every knob setting.
    config : dict
        The configuration (as written to the results file).
    """

    table: pd.DataFrame
    records: pd.DataFrame
    timing: pd.DataFrame
    knobs: list[str]
    settings: list[Setting] = field(repr=False)
    config: dict[str, Any] = field(repr=False)

    def leaderboard(self) -> pd.DataFrame:
        """The table with the mean seconds per fit, best RMSE first within each knob setting."""
        keys = [*self.knobs, "estimator"]
        out = self.table.merge(self.timing, on=keys, how="left")
        return out.sort_values([*self.knobs, "rmse"], kind="stable").reset_index(drop=True)

    def failures(self) -> pd.DataFrame:
        """The records of fits that raised, with their error text."""
        return self.records[self.records["error"] != ""].reset_index(drop=True)


def _check_int(name: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise EstimationError(f"{name} must be an integer >= {least}, got {value!r}")
    return int(value)


def _source(source: Any, treatment: str | None, outcome: str | None, covariates: Sequence[str] | None,
            instrument: str | None) -> Any:
    if isinstance(source, SCM):
        if treatment is None or outcome is None:
            raise EstimationError("a plain SCM needs treatment= and outcome= (or wrap it: "
                                  "SCMSource(scm, treatment, outcome))")
        return SCMSource(source, treatment, outcome, covariates=covariates, instrument=instrument)
    if any(v is not None for v in (treatment, outcome, covariates, instrument)):
        raise EstimationError("treatment=, outcome=, covariates=, instrument= apply to a plain SCM only; a "
                              "scenario's roles come from its actions and context")
    return source


def validate(source: Any, estimators: Mapping[str, Any] | Sequence[str] | str, *, n: int = 2000,
             reps: int = 100, seed: int = 0, backend: str = "local", workers: int | None = None,
             address: str | None = None, results: str | Path | None = None,
             knobs: Mapping[str, Sequence[Any]] | None = None, progress: bool = False,
             contrast: tuple[Any, Any] | None = None, treatment: str | None = None,
             outcome: str | None = None, covariates: Sequence[str] | None = None,
             instrument: str | None = None) -> ValidationReport:
    """Fit ``estimators`` on ``reps`` fresh data sets from ``source`` and score them against the truth.

    Parameters
    ----------
    source : scenario, SCMSource, SCM or factory
        Anything with ``observational(n, rng)`` and ``truth()`` (see the module
        docstring); with ``knobs``, a scenario (remade with each setting) or a
        function ``source(**knobs)``.
    estimators : dict, list of str or str
        ``{name: estimator}``, or registry / adapter names (``"naive,aipw"``).
    n : int
        Units drawn per replication (before dropping rows logged with other actions).
    reps : int
        Replications (>= 1).
    seed : int
        Seed of the replications' seeds.
    backend : {"local", "dask"}
    workers : int, optional
        Local processes (default: the CPU count; 1 runs here) or the size of the
        Dask ``LocalCluster`` made when ``address`` is None (default 2).
    address : str, optional
        A Dask scheduler's address.
    results : path, optional
        Results file: finished replications are appended, and a rerun resumes.
    knobs : dict name -> list, optional
        A grid of scenario parameters.
    progress : bool
        Show a tqdm progress bar.
    contrast : (treat, control), optional
        The two actions (labels or indices) or treatment values compared;
        default action 1 vs action 0 (values 1 vs 0).
    treatment, outcome, covariates, instrument : optional
        Roles when ``source`` is a plain :class:`~causal.scm.SCM`.

    Returns
    -------
    ValidationReport

    Raises
    ------
    EstimationError
        An unknown estimator (the closest name is suggested), ``reps < 1``, a
        source without ``truth()``, a results file of another configuration.
    """
    reps = _check_int("reps", reps, 1)
    n = _check_int("n", n, 10)
    seed = _check_int("seed", seed, 0)
    if workers is not None:
        workers = _check_int("workers", workers, 1)
    if backend not in ("local", "dask"):
        raise EstimationError(f"backend must be 'local' or 'dask', got {backend!r}")
    if address is not None and backend != "dask":
        raise EstimationError("address= is a Dask scheduler's; pass backend='dask' with it")
    source = _source(source, treatment, outcome, covariates, instrument)
    specs = resolve(estimators)
    sets = settings(source, knobs, seed=seed, contrast=contrast, cate=needs_cate(specs))
    check_instruments(specs, all(s.instrument for s in sets))
    names = [s.name for s in specs]
    config = {"source": describe(source), "knobs": {k: list(v) for k, v in (knobs or {}).items()},
              "estimators": [s.key() for s in specs], "n": n, "seed": seed,
              "contrast": [sets[0].treat, sets[0].control], "chunk": CHUNK,
              "cate": sets[0].cate_context is not None}
    store = ResultsFile(results, config) if results is not None else None
    done: dict[tuple[int, int], list[dict[str, Any]]] = dict(store.done) if store else {}
    tasks = [(s, r) for s in range(len(sets)) for r in range(reps) if (s, r) not in done]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(sets) * reps, initial=len(sets) * reps - len(tasks), unit="rep",
                   desc="validate", leave=True)

    def on_done(items: list[tuple[int, int, list[dict[str, Any]]]]) -> None:
        if store is not None:
            store.write(items)
        for s, r, recs in items:
            done[(s, r)] = recs
        if bar is not None:
            bar.update(len(items))

    try:
        run_reps(sets, specs, n, seed, tasks, backend=backend, workers=workers, address=address,
                 on_done=on_done)
    finally:
        if bar is not None:
            bar.close()
    wanted = {k: v for k, v in done.items() if k[1] < reps}
    records = records_frame(wanted, sets, names)
    return ValidationReport(table=summarise(records, sets, names), records=records,
                            timing=timing(records, sets, names), knobs=[k for k, _ in sets[0].knobs],
                            settings=sets, config=config)
