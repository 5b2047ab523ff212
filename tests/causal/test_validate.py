"""causal.validate: scoring against the truth, seeds, failures, resuming, bad input (fast tests).

The statistical acceptance runs (500 replications) are in test_validate_slow.py.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import scenarios
from causal.errors import EstimationError
from causal.estimators.base import Estimate
from causal.estimators.simple import DifferenceInMeans
from causal.spec import load_scm
from causal.validate import SCMSource, plot_estimates, plot_sweep, validate, wilson

LINEAR = {"nodes": {"x": {"noise": "normal(0, 1)"},
                    "t": {"type": "binary", "logit": "1.2 * x"},
                    "y": {"equation": "2 * t + 1.5 * x + noise", "noise": "normal(0, 1)"}}}


@pytest.fixture(scope="module")
def linear() -> SCMSource:
    return SCMSource(load_scm(LINEAR), "t", "y")


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1):
        yield


class OracleCate:
    """Knows the ice-cream CATE, 8 + 0.5 (temperature - 25): its PEHE must be exactly 0."""

    def fit(self, data, *, treatment, outcome, covariates=None, effect_modifiers=None):
        self.n_ = len(data)
        return self

    def ate(self):
        return Estimate.normal(8.0, 0.1, method="oracle", n=self.n_)

    def cate(self, data):
        return 8 + 0.5 * (data["temperature"].to_numpy() - 25)


class Broken:
    def fit(self, data, *, treatment, outcome, covariates=None):
        raise RuntimeError("this estimator always fails")

    def ate(self):  # pragma: no cover - never reached
        raise AssertionError


def test_linear_truth_bias_and_table_columns(linear):
    rep = validate(linear, "naive,regression", n=400, reps=16, seed=3, workers=1)
    t = rep.table.set_index("estimator")
    assert t["truth"].tolist() == pytest.approx([2.0, 2.0], abs=1e-9)  # exactly 2 for every unit
    # x raises P(t) and y: the naive difference is biased upwards by far more than its MC error
    assert t.loc["naive", "bias"] > 10 * t.loc["naive", "bias_se"]
    # regression adjustment for x is unbiased: within 3.5 MC se (false-failure rate 5e-4)
    assert abs(t.loc["regression", "bias"]) < 3.5 * t.loc["regression", "bias_se"]
    assert t.loc["regression", "rmse"] >= abs(t.loc["regression", "bias"])
    assert (t["reps"] == 16).all() and (t["failures"] == 0).all()
    assert set(rep.records.columns) >= {"rep", "estimate", "stderr", "ci_low", "ci_high", "seconds", "error"}
    assert len(rep.records) == 32 and "seconds" not in rep.table.columns
    assert "seconds" in rep.leaderboard().columns


def test_same_seed_same_bytes_and_reps_extend(linear):
    # worker processes and Dask: test_validate_slow.py (starting processes costs seconds)
    a = validate(linear, "naive,ipw", n=200, reps=4, seed=11, workers=1)
    b = validate(linear, "naive,ipw", n=200, reps=4, seed=11, workers=1)
    assert a.table.to_csv().encode() == b.table.to_csv().encode()
    c = validate(linear, "naive,ipw", n=200, reps=4, seed=12, workers=1)
    assert a.table.to_csv() != c.table.to_csv()
    # replication r's data do not depend on how many replications are asked for
    d = validate(linear, "naive,ipw", n=200, reps=2, seed=11, workers=1)
    cols = ["estimator", "rep", "estimate", "ci_low", "ci_high"]
    first = a.records[a.records["rep"] < 2][cols].reset_index(drop=True)
    assert first.equals(d.records[cols].reset_index(drop=True))


def test_failures_are_recorded_not_fatal(linear):
    rep = validate(linear, {"broken": Broken(), "naive": DifferenceInMeans()}, n=200, reps=3, seed=0,
                   workers=1)
    t = rep.table.set_index("estimator")
    assert t.loc["broken", "failures"] == 3 and t.loc["broken", "reps"] == 0
    assert np.isnan(t.loc["broken", "bias"]) and t.loc["naive", "reps"] == 3
    assert rep.failures()["error"].str.contains("always fails").all()


def test_pehe_uses_the_true_cate():
    sc = scenarios.make("icecream", hidden_confounder=False)
    rep = validate(sc, {"oracle": OracleCate()}, n=300, reps=2, seed=0, workers=1)
    row = rep.table.iloc[0]
    assert row["pehe"] == pytest.approx(0.0, abs=1e-9)  # the scenario's CATE is exact (no Monte Carlo)
    assert row["truth"] == pytest.approx(8.0, abs=0.05)  # 100,000 units: MC se of the ATE about 0.008


def test_sweep_table_and_plots():
    sc = scenarios.make("icecream", hidden_confounder=False)
    rep = validate(sc, "naive,regression", n=300, reps=5, seed=2, workers=1,
                   knobs={"confounding": [0.0, 2.0]})
    t = rep.table
    assert list(t.columns[:2]) == ["confounding", "estimator"] and len(t) == 4
    naive = t[t["estimator"] == "naive"].set_index("confounding")
    # with confounding 0 logged adverts are random: the naive contrast is unbiased (4 MC se: rate 6e-5) ...
    assert abs(naive.loc[0.0, "bias"]) < 4 * naive.loc[0.0, "bias_se"]
    # ... and at 2 it is biased by ~20 cones (docstring), far beyond its MC error
    assert naive.loc[2.0, "bias"] > 10
    fig = plot_sweep(rep, "confounding")
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) >= 2
    fig = plot_estimates(rep)
    assert len(fig.axes) == 2
    with pytest.raises(EstimationError, match="not a knob"):
        plot_sweep(rep, "overlap")


def test_wilson_interval():
    lo, hi = wilson(475, 500)
    assert lo < 0.95 < hi and hi - lo == pytest.approx(2 * 1.96 * np.sqrt(0.95 * 0.05 / 500), rel=0.05)
    assert wilson(0, 10)[0] == 0.0


def test_resume_skips_done_reps_and_cuts_a_torn_line(linear, tmp_path):
    path = tmp_path / "res.jsonl"
    full = validate(linear, "naive,regression", n=300, reps=5, seed=4, workers=1)
    validate(linear, "naive,regression", n=300, reps=3, seed=4, workers=1, results=path)
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 4 and json.loads(lines[0])["config"]["n"] == 300
    # a kill during a write leaves a torn last line: it is cut off and that replication redone
    path.write_bytes(b"".join(lines[:3]) + lines[3][:40])
    resumed = validate(linear, "naive,regression", n=300, reps=5, seed=4, workers=1, results=path)
    assert resumed.table.to_csv() == full.table.to_csv()
    assert len(path.read_bytes().splitlines()) == 6


def test_bad_input(linear, tmp_path):
    with pytest.raises(EstimationError, match="did you mean 'aipw'"):
        validate(linear, "naive,aipww", reps=2)
    with pytest.raises(EstimationError, match="reps must be an integer >= 1"):
        validate(linear, "naive", reps=0)

    class NoTruth:
        treatment, outcome = "t", "y"

        def observational(self, n, rng=None):
            return linear.observational(n, rng)

    with pytest.raises(EstimationError, match="has no truth"):
        validate(NoTruth(), "naive", reps=2)
    with pytest.raises(EstimationError, match="needs an instrument"):
        validate(linear, "naive,2sls", reps=2)
    with pytest.raises(EstimationError, match="plain SCM needs treatment"):
        validate(load_scm(LINEAR), "naive", reps=2)
    path = tmp_path / "res.jsonl"
    validate(linear, "naive", n=200, reps=1, seed=0, workers=1, results=path)
    with pytest.raises(EstimationError, match=r"differs in: n\b.*start fresh, delete the file"):
        validate(linear, "naive", n=300, reps=1, seed=0, workers=1, results=path)
    with pytest.raises(EstimationError, match="continuous actions"):
        validate(scenarios.make("driving_brake"), "naive", reps=1)


@pytest.mark.slow
def test_dask_cluster_for_the_call_forks_loaded_workers_and_address_gives_the_same_bytes(linear):
    dd = pytest.importorskip("dask.distributed")
    import dask

    from causal._validate_run import _local_cluster

    kw = {"n": 300, "reps": 6, "seed": 5}
    ref = validate(linear, "naive,aipw", workers=1, **kw)
    want = ref.table.to_csv().encode()
    key = "distributed.worker.multiprocessing-method"
    method = dask.config.get(key)
    with _local_cluster(ref.settings, 2) as cluster, dd.Client(cluster) as client:
        assert dask.config.get(key) == method  # the start method is set for the cluster only
        if "forkserver" in mp.get_all_start_methods():
            # forked from the fork server (not this process's children, as spawned workers are) with
            # the estimators already imported before any task: no import at the first replication
            info = client.run(lambda: (os.getppid(), "causal.estimators.dml" in sys.modules))
            assert len(info) == 2
            assert all(ppid != os.getpid() and loaded for ppid, loaded in info.values()), info
        # no dashboard: the workers do not sample their tasks for a profile nobody sees
        prof = client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
        assert set(prof.values()) == {False}
        got = validate(linear, "naive,aipw", backend="dask", address=cluster.scheduler_address, **kw)
        assert got.table.to_csv().encode() == want
    assert validate(linear, "naive,aipw", backend="dask", workers=2, **kw).table.to_csv().encode() == want
