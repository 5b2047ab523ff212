"""The nonparametric bootstrap for any estimator of the protocol.

:func:`bootstrap` refits a clone of an estimator on data resampled with
replacement — rows, or whole clusters with ``cluster=`` — and reads the
spread of the re-estimates: their standard deviation is the standard error,
and their quantiles (``method="percentile"``) or ``value ± z · SE``
(``method="normal"``) give the interval (Efron & Tibshirani 1993). The point
estimate is always the one on the full data.

Resampling whole clusters keeps the dependence within them (repeated
observations of a unit in a panel, pupils within a school), which the row
bootstrap would break (Cameron, Gelbach & Miller 2008; Field & Welsh 2007).

Each replication draws from its own generator spawned from ``seed``
(:meth:`numpy.random.SeedSequence.spawn`), so the same seed gives the same
result whether the replications run serially or in parallel (``n_jobs``,
through joblib).

References
----------
B. Efron and R. J. Tibshirani (1993), *An Introduction to the Bootstrap*,
Chapman & Hall.
C. A. Field and A. H. Welsh (2007), "Bootstrapping clustered data",
*Journal of the Royal Statistical Society B* 69(3).
A. C. Cameron, J. B. Gelbach and D. L. Miller (2008), "Bootstrap-based
improvements for inference with clustered errors", *Review of Economics and
Statistics* 90(3).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from causal.estimators.simple import DifferenceInMeans
>>> rng = np.random.default_rng(0)
>>> t = rng.integers(0, 2, 400)
>>> df = pd.DataFrame({"t": t, "y": 1.5 * t + rng.normal(size=400)})
>>> est = bootstrap(DifferenceInMeans(), df, reps=100, seed=1, treatment="t", outcome="y")
>>> bool(est.ci_low < 1.5 < est.ci_high), est.diagnostics["bootstrap"]["failures"]
(True, 0)
>>> est.method
'DifferenceInMeans (bootstrap percentile)'
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import clone

from causal.errors import EstimationError
from causal.estimators.base import Estimate, normal_interval

__all__ = ["bootstrap"]

_MAX_FAILURE_SHARE = 0.10


def bootstrap(estimator: Any, data: pd.DataFrame, *, reps: int = 200,
              seed: int | np.random.Generator | np.random.SeedSequence | None = 0,
              level: float = 0.95, n_jobs: int | None = 1,
              method: Literal["percentile", "normal"] = "percentile", cluster: str | None = None,
              estimand: Literal["ate", "att"] = "ate", **fit_kwargs: Any) -> Estimate:
    """Bootstrap standard error and interval of ``estimator`` on ``data``.

    Parameters
    ----------
    estimator
        Any estimator of the protocol (``fit(data, **fit_kwargs)`` returning
        itself, then ``ate()``/``att()``); it is cloned with
        :func:`sklearn.base.clone` and never modified. Give estimators with
        internal randomness (e.g. cross-fitting) a fixed ``random_state`` for
        reproducible results.
    data : pandas.DataFrame
    reps : int
        Bootstrap replications (at least 2; a few hundred for percentile intervals).
    seed : int, numpy Generator, SeedSequence or None
        Seeds the resampling; the same seed gives the same result for any ``n_jobs``.
        The default 0 makes repeated calls identical; ``None`` draws fresh OS entropy.
    level : float
        Confidence level of the interval.
    n_jobs : int or None
        Parallel workers (joblib semantics: ``-1`` = all cores); 1 runs serially.
    method : "percentile" or "normal"
        Percentile interval of the re-estimates, or the normal interval with
        the bootstrap standard error.
    cluster : str, optional
        Resample whole clusters identified by this column. In each resample
        the column is relabelled ``0, ..., G-1`` by draw, so a cluster drawn
        twice counts as two distinct clusters (units), as panel estimators need.
    estimand : "ate" or "att"
        Which method of the fitted estimator to call.
    **fit_kwargs
        Passed to ``fit``: ``treatment=``, ``outcome=``, ``covariates=``, ...

    Returns
    -------
    Estimate
        The full-data point estimate with the bootstrap standard error and
        interval. ``diagnostics`` keeps the estimator's own diagnostics, its
        analytic standard error (``"analytic_stderr"``) and ``"bootstrap"``: a
        dict with ``reps``, ``succeeded``, ``failures``, ``first_error``,
        ``warnings`` (counts by category over the refits), ``method``,
        ``cluster``, ``n_clusters`` and the re-estimates ``values``.

    Raises
    ------
    EstimationError
        On bad arguments, when the full-data fit fails, or when more than 10%
        of the refits raise (refits that raise are otherwise counted, not fatal).
    """
    _check_args(estimator, data, reps, level, method, estimand, cluster)
    point_est = clone(estimator).fit(data, **fit_kwargs)
    point: Estimate = getattr(point_est, estimand)()

    sampler = _Sampler(data, cluster)
    if isinstance(seed, np.random.Generator):
        rngs = seed.spawn(reps)
    else:
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(reps)]

    if n_jobs == 1:
        results = _run_chunk(estimator, sampler, estimand, fit_kwargs, rngs)
    else:
        from joblib import Parallel, delayed, effective_n_jobs

        n_chunks = min(reps, 4 * effective_n_jobs(n_jobs))
        chunks = [list(c) for c in np.array_split(np.arange(reps), n_chunks)]
        parts = Parallel(n_jobs=n_jobs)(
            delayed(_run_chunk)(estimator, sampler, estimand, fit_kwargs, [rngs[i] for i in c])
            for c in chunks)
        results = [r for part in parts for r in part]

    values = np.array([v for v, _, _ in results if v is not None], dtype=float)
    errors = [err for _, err, _ in results if err is not None]
    warned: Counter[str] = Counter()
    for _, _, w in results:
        warned.update(w)
    failures = len(errors)
    if failures > _MAX_FAILURE_SHARE * reps or len(values) < 2:
        raise EstimationError(f"bootstrap: {failures} of {reps} refits of {type(estimator).__name__} failed "
                              f"(at most {_MAX_FAILURE_SHARE:.0%} may); first error: {errors[0]}")

    se = float(values.std(ddof=1))
    if method == "percentile":
        lo, hi = (float(q) for q in np.quantile(values, [(1 - level) / 2, (1 + level) / 2]))
    else:
        lo, hi = normal_interval(point.value, se, level)
    info = {"reps": reps, "succeeded": len(values), "failures": failures,
            "first_error": errors[0] if errors else None, "warnings": dict(warned), "method": method,
            "cluster": cluster, "n_clusters": sampler.n_clusters, "seed": seed if _plain(seed) else None,
            "values": values}
    return Estimate(point.value, se, lo, hi, level, f"{point.method} (bootstrap {method})", point.n,
                    {**point.diagnostics, "analytic_stderr": point.stderr, "bootstrap": info})


def _plain(seed: Any) -> bool:
    return seed is None or isinstance(seed, int | np.integer)


def _check_args(estimator: Any, data: Any, reps: Any, level: Any, method: Any, estimand: Any,
                cluster: Any) -> None:
    if not hasattr(estimator, "fit") or not hasattr(estimator, "get_params"):
        raise EstimationError(f"bootstrap: {estimator!r} is not an estimator (needs fit and get_params)")
    if not isinstance(data, pd.DataFrame) or len(data) == 0:
        raise EstimationError("bootstrap: data must be a non-empty pandas DataFrame")
    if isinstance(reps, bool) or not isinstance(reps, int | np.integer) or reps < 2:
        raise EstimationError(f"bootstrap: reps must be an integer >= 2, got {reps!r}")
    if not (isinstance(level, float | int) and 0 < level < 1):
        raise EstimationError(f"bootstrap: level must be in (0, 1), got {level!r}")
    if method not in ("percentile", "normal"):
        raise EstimationError(f"bootstrap: method must be 'percentile' or 'normal', got {method!r}")
    if estimand not in ("ate", "att"):
        raise EstimationError(f"bootstrap: estimand must be 'ate' or 'att', got {estimand!r}")
    if cluster is not None:
        if cluster not in data.columns:
            raise EstimationError(f"bootstrap: cluster column {cluster!r} is not in the data")
        if data[cluster].isna().any():
            raise EstimationError(f"bootstrap: cluster column {cluster!r} has missing values")


class _Sampler:
    """Draws resampled frames: rows, or whole clusters (relabelled by draw)."""

    def __init__(self, data: pd.DataFrame, cluster: str | None) -> None:
        self.data = data
        self.cluster = cluster
        self.n_clusters: int | None = None
        if cluster is not None:
            codes, uniques = pd.factorize(data[cluster], sort=True)
            self.n_clusters = len(uniques)
            if self.n_clusters < 2:
                raise EstimationError(f"bootstrap: cluster column {cluster!r} has a single cluster; "
                                      "resampling clusters needs at least two")
            self.order = np.argsort(codes, kind="stable")
            self.counts = np.bincount(codes, minlength=self.n_clusters)
            self.starts = np.cumsum(self.counts) - self.counts

    def draw(self, rng: np.random.Generator) -> pd.DataFrame:
        if self.cluster is None:
            n = len(self.data)
            return self.data.iloc[rng.integers(0, n, n)].reset_index(drop=True)
        g = self.n_clusters
        picks = rng.integers(0, g, g)
        lens = self.counts[picks]
        ends = np.cumsum(lens)
        within = np.arange(ends[-1]) - np.repeat(ends - lens, lens)
        rows = self.order[np.repeat(self.starts[picks], lens) + within]
        out = self.data.iloc[rows].reset_index(drop=True)
        out[self.cluster] = np.repeat(np.arange(g), lens)
        return out


def _run_chunk(estimator: Any, sampler: _Sampler, estimand: str, fit_kwargs: dict[str, Any],
               rngs: list[np.random.Generator]) -> list[tuple[float | None, str | None, list[str]]]:
    """Refit on one resample per generator; return (value or None, error or None, warning categories)."""
    out = []
    for rng in rngs:
        sample = sampler.draw(rng)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value: float | None = float(getattr(clone(estimator).fit(sample, **fit_kwargs), estimand)())
                err = None
            except Exception as exc:  # failed refits are counted, not fatal (see the docstring)
                value, err = None, f"{type(exc).__name__}: {exc}"
        out.append((value, err, [w.category.__name__ for w in caught]))
    return out
