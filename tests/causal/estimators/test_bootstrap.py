"""The bootstrap: seeded, parallel-safe, counts failures, resamples clusters, and covers.

Statistical tolerances are stated at each test; all data and resampling are seeded.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from causal import EstimationError, load_scm
from causal.estimators.base import BaseEstimator, Estimate
from causal.estimators.bootstrap import bootstrap
from causal.estimators.simple import DifferenceInMeans
from causal.estimators.weighting import IPW, OverlapWarning


class _Bare(BaseEstimator):
    def _difference(self, data, treatment, outcome):
        t = data[treatment].to_numpy()
        y = data[outcome].to_numpy(dtype=float)
        self.ate_ = float(y[t == 1].mean() - y[t == 0].mean())
        self.n_ = len(y)
        self.fitted_ = True
        return self

    def ate(self):
        return Estimate(self.ate_, 0.0, self.ate_, self.ate_, method=type(self).__name__, n=self.n_)


class MeanDifference(_Bare):
    """A bare difference in means: cheap enough for thousands of refits.

    ``fail_on``/``warn_on``: raise / warn when the first row of the data has that ``id``
    (probability 1/n per resample), to exercise the failure and warning accounting.
    """

    def __init__(self, fail_on=None, warn_on=None):
        self.fail_on = fail_on
        self.warn_on = warn_on

    def fit(self, data, *, treatment, outcome):
        if self.fail_on is not None and data["id"].iloc[0] == self.fail_on:
            raise EstimationError(f"row {self.fail_on} came first")
        if self.warn_on is not None and data["id"].iloc[0] == self.warn_on:
            warnings.warn("first row warns", UserWarning, stacklevel=2)
        return self._difference(data, treatment, outcome)


class ClusterProbe(_Bare):
    """Raises unless every resampled cluster is one whole original cluster, relabelled 0..G-1."""

    def __init__(self, sizes=None):
        self.sizes = sizes

    def fit(self, data, *, treatment, outcome):
        groups = data.groupby("g")
        if not (groups["orig"].nunique() == 1).all():
            raise EstimationError("a resampled cluster mixes original clusters")
        if sorted(groups.groups) != list(range(len(self.sizes))):
            raise EstimationError("clusters are not relabelled 0..G-1")
        first = groups["orig"].first()
        if not (groups.size().to_numpy() == np.asarray(self.sizes)[first.to_numpy()]).all():
            raise EstimationError("a resampled cluster is not whole")
        return self._difference(data, treatment, outcome)


def experiment(n, seed, effect=0.5):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    return pd.DataFrame({"id": np.arange(n), "t": t, "y": 1 + effect * t + rng.normal(size=n)})


FIT = {"treatment": "t", "outcome": "y"}


@pytest.fixture(scope="module")
def observational():
    spec = {"nodes": {"x": {"noise": "normal(0, 1)"}, "t": {"type": "binary", "logit": "0.7 * x"},
                      "y": {"equation": "1 + 2 * t + x + noise", "noise": "normal(0, 1)"}}}
    return load_scm(spec).sample(800, seed=4)


def test_same_seed_same_result_and_seeds_matter():
    data = experiment(60, 0)
    a = bootstrap(MeanDifference(), data, reps=50, seed=3, **FIT)
    b = bootstrap(MeanDifference(), data, reps=50, seed=3, **FIT)
    c = bootstrap(MeanDifference(), data, reps=50, seed=4, **FIT)
    assert np.array_equal(a.diagnostics["bootstrap"]["values"], b.diagnostics["bootstrap"]["values"])
    assert a == b
    assert a.value == c.value and a.stderr != c.stderr
    g1 = bootstrap(MeanDifference(), data, reps=50, seed=np.random.default_rng(9), **FIT)
    g2 = bootstrap(MeanDifference(), data, reps=50, seed=np.random.default_rng(9), **FIT)
    assert g1 == g2


def test_default_seed_is_fixed():
    # seed once defaulted to None (fresh OS entropy): two default calls differed. Deterministic.
    data = experiment(60, 0)
    a = bootstrap(MeanDifference(), data, reps=30, **FIT)
    b = bootstrap(MeanDifference(), data, reps=30, **FIT)
    assert a.diagnostics["bootstrap"]["values"].tobytes() == b.diagnostics["bootstrap"]["values"].tobytes()
    assert a == b == bootstrap(MeanDifference(), data, reps=30, seed=0, **FIT)


def test_chunked_parallel_path_equals_serial():
    # The n_jobs != 1 branch (split into chunks, one delayed call per chunk, results joined) run by
    # joblib's sequential backend: no process pool, so cheap enough for the default run. 19 reps make
    # 4 uneven chunks (5, 5, 5, 4): a generator given to the wrong replication or a chunk joined out of
    # order changes the values. The process pool itself is test_parallel_equals_serial (slow).
    from joblib import parallel_config

    data = experiment(60, 5)
    serial = bootstrap(MeanDifference(), data, reps=19, seed=5, **FIT)
    with parallel_config(backend="sequential"):
        chunked = bootstrap(MeanDifference(), data, reps=19, seed=5, n_jobs=2, **FIT)
    values = [est.diagnostics["bootstrap"]["values"] for est in (serial, chunked)]
    assert len(values[0]) == 19 and len(set(values[0])) > 1
    assert np.array_equal(*values)
    assert serial == chunked


@pytest.mark.slow  # starts a process pool (about 10 s on 2 cores); the cheap check is the one above
def test_parallel_equals_serial(observational):
    serial = bootstrap(IPW(), observational, reps=16, seed=5, covariates=["x"], **FIT)
    parallel = bootstrap(IPW(), observational, reps=16, seed=5, n_jobs=2, covariates=["x"], **FIT)
    values = [est.diagnostics["bootstrap"]["values"] for est in (serial, parallel)]
    assert np.array_equal(*values)
    assert serial == parallel


def test_point_estimate_is_the_full_data_fit_and_se_matches_the_analytic_one(observational):
    # The bootstrap checks the M-estimation sandwich independently. 100 replications estimate an SE
    # with relative sd about 1/sqrt(2 * 100) = 7%; [0.75, 1.33] is about 4 sd.
    analytic = IPW().fit(observational, covariates=["x"], **FIT).ate()
    boot = bootstrap(IPW(), observational, reps=100, seed=0, covariates=["x"], **FIT)
    assert boot.value == analytic.value and boot.n == analytic.n
    assert boot.diagnostics["analytic_stderr"] == analytic.stderr
    assert boot.diagnostics["propensity_min"] == analytic.diagnostics["propensity_min"]
    assert 0.75 < boot.stderr / analytic.stderr < 1.33
    assert boot.method == "IPW (bootstrap percentile)"
    info = boot.diagnostics["bootstrap"]
    assert (info["reps"], info["succeeded"], info["failures"], info["seed"]) == (100, 100, 0, 0)
    assert boot.ci_low < boot.value < boot.ci_high


def test_att_and_normal_intervals(observational):
    from scipy.stats import norm

    est = bootstrap(IPW(), observational, reps=10, seed=1, method="normal", estimand="att",
                    covariates=["x"], **FIT)
    z = norm.ppf(0.975)
    assert est.method == "IPW (ATT) (bootstrap normal)"
    assert est.ci_low == pytest.approx(est.value - z * est.stderr)
    assert est.ci_high == pytest.approx(est.value + z * est.stderr)


@pytest.mark.parametrize("level", [0.9, 0.95])
def test_percentile_interval_is_the_quantiles_and_se_the_spread_of_the_refits(level):
    # The default-run check of what the coverage study (slow) tests in bulk. One experiment (n = 400)
    # and 200 replications: the interval ends are the (1 -+ level) / 2 quantiles of the re-estimates,
    # the SE their standard deviation, and that SE matches the analytic (Welch) SE of a difference in
    # means: a 200-replication SE has relative sd about 1/sqrt(400) = 5%, so [0.8, 1.25] is about 4 sd.
    data = experiment(400, 11)
    est = bootstrap(MeanDifference(), data, reps=200, seed=2, level=level, **FIT)
    values = est.diagnostics["bootstrap"]["values"]
    assert len(values) == 200 and est.level == level
    assert (est.ci_low, est.ci_high) == tuple(np.quantile(values, [(1 - level) / 2, (1 + level) / 2]))
    assert est.stderr == values.std(ddof=1)
    arms = [data.y[data.t == a] for a in (0, 1)]
    welch = np.sqrt(sum(y.var(ddof=1) / len(y) for y in arms))
    assert 0.8 < est.stderr / welch < 1.25
    assert est.value == pytest.approx(arms[1].mean() - arms[0].mean(), rel=1e-12)


@pytest.mark.slow  # 10,000 refits (about 9 s on 2 cores); the cheap check is the one above
def test_percentile_interval_coverage_sanity():
    # 100 seeded experiments (n = 80, effect 0.5), 100 bootstrap replications each. This percentile
    # interval covers about 92% (276 of 300 other seeded experiments; B = 100 makes its ends noisy).
    # The count is then Binomial(100, 0.92) and P(fewer than 85) = 0.006, the false-failure rate
    # (scipy.stats.binom.cdf(84, 100, 0.92)). This seed covers 89.
    covered = sum(bootstrap(MeanDifference(), experiment(80, 1000 + i), reps=100, seed=i, **FIT).covers(0.5)
                  for i in range(100))
    assert 85 <= covered <= 100


def test_failed_refits_are_counted_not_fatal():
    # the first row is id 5 in a resample with probability 1/20: about 10 of 200, at most 20 allowed
    est = bootstrap(MeanDifference(fail_on=5, warn_on=1), experiment(20, 2), reps=200, seed=0, **FIT)
    info = est.diagnostics["bootstrap"]
    assert 0 < info["failures"] <= 20
    assert info["succeeded"] + info["failures"] == 200 == len(info["values"]) + info["failures"]
    assert info["first_error"] == "EstimationError: row 5 came first"
    assert info["warnings"]["UserWarning"] > 0


def test_too_many_failures_raise():
    # with 5 rows a refit fails with probability 1/5: far more than 10% of 100
    match = r"\d+ of 100 refits of MeanDifference failed.*row 2 came first"
    with pytest.raises(EstimationError, match=match):
        bootstrap(MeanDifference(fail_on=2), experiment(40, 3).iloc[[0, 1, 2, 3, 4]], reps=100, seed=0, **FIT)


def test_refit_warnings_are_counted_not_shown():
    spec = {"nodes": {"x": {"noise": "normal(0, 1)"}, "t": {"type": "binary", "logit": "2.5 * x"},
                      "y": {"equation": "2 * t + x + noise", "noise": "normal(0, 1)"}}}
    data = load_scm(spec).sample(600, seed=1)
    with pytest.warns(OverlapWarning) as record:      # the full-data fit warns the user once ...
        est = bootstrap(IPW(), data, reps=5, seed=0, covariates=["x"], **FIT)
    assert len(record) == 1
    assert est.diagnostics["bootstrap"]["warnings"]["OverlapWarning"] > 0   # ... the refits are counted


def test_cluster_bootstrap_resamples_whole_clusters():
    rng = np.random.default_rng(6)
    sizes = rng.integers(1, 10, 25)
    g = np.repeat(np.arange(25), sizes)
    data = pd.DataFrame({"g": g, "orig": g, "id": np.arange(len(g)), "t": (g % 2 == 0).astype(int),
                         "y": rng.normal(size=len(g))})
    est = bootstrap(ClusterProbe(sizes=list(sizes)), data.sample(frac=1, random_state=0), reps=50, seed=0,
                    cluster="g", **FIT)
    assert est.diagnostics["bootstrap"]["failures"] == 0
    assert est.diagnostics["bootstrap"]["n_clusters"] == 25


def test_cluster_bootstrap_keeps_within_cluster_dependence():
    # 30 clusters of 20 units, treatment assigned by cluster, intra-cluster correlation 0.8: the row
    # bootstrap understates the SE by about sqrt(1 + 19 * 0.8) = 4; the cluster bootstrap matches the
    # cluster-level SE (relative sd of a 200-replication SE about 5%; 30 clusters add more, so ±35%).
    rng = np.random.default_rng(8)
    g = np.repeat(np.arange(30), 20)
    t = (g < 15).astype(int)
    y = 0.5 * t + rng.normal(size=30)[g] + 0.5 * rng.normal(size=600)
    data = pd.DataFrame({"g": g, "t": t, "y": y})
    rows = bootstrap(MeanDifference(), data, reps=200, seed=0, **FIT)
    clusters = bootstrap(MeanDifference(), data, reps=200, seed=0, cluster="g", **FIT)
    means = data.groupby("g").agg(t=("t", "first"), y=("y", "mean"))
    cluster_se = np.sqrt(sum(means.y[means.t == a].var(ddof=1) / 15 for a in (0, 1)))
    assert clusters.stderr > 2 * rows.stderr
    assert 0.65 < clusters.stderr / cluster_se < 1.35
    assert clusters.value == rows.value


def test_the_callers_estimator_is_not_fitted(observational):
    est = IPW()
    bootstrap(est, observational, reps=5, seed=0, covariates=["x"], **FIT)
    assert not hasattr(est, "fitted_")


@pytest.mark.parametrize("kwargs,match", [
    ({"reps": 1}, "reps"), ({"reps": 2.5}, "reps"), ({"level": 1.0}, "level"),
    ({"method": "bca"}, "method"), ({"estimand": "cate"}, "estimand"),
    ({"cluster": "nope"}, "cluster column 'nope'"), ({"cluster": "one"}, "single cluster"),
    ({"outcome": "missing"}, "outcome column 'missing' is not in the data"),
])
def test_bad_arguments(kwargs, match):
    data = experiment(30, 0).assign(one=1)
    args = {"reps": 10, "seed": 0, **FIT, **kwargs}
    with pytest.raises(EstimationError, match=match):
        bootstrap(DifferenceInMeans(), data, **args)


def test_not_an_estimator_or_not_a_frame():
    with pytest.raises(EstimationError, match="not an estimator"):
        bootstrap(object(), experiment(10, 0), **FIT)
    with pytest.raises(EstimationError, match="DataFrame"):
        bootstrap(DifferenceInMeans(), experiment(10, 0).to_numpy(), **FIT)
