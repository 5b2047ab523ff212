"""Tests of ``causalsim estimate`` (causalsim/estimate_cli.py), through ``causalsim.cli.main``."""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest

from causal import load_scm
from causalsim.cli import main

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
NUMBER = r"-?\d+(?:\.\d+)?"


@pytest.fixture
def cli(run_estimate):
    return run_estimate


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """CSV files: confounded binary treatment, an instrument, discrete ID data, examples/linear.yaml."""
    d = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    n = 3000
    x = rng.normal(size=n)
    t = rng.binomial(1, 1 / (1 + np.exp(-x)))
    pd.DataFrame({"x": x, "t": t, "y": 2 * t + x + rng.normal(size=n)}).to_csv(d / "bd.csv", index=False)
    u, z = rng.normal(size=(2, n))
    xx = z + u + rng.normal(size=n)
    iv = pd.DataFrame({"z": z, "x": xx, "y": 2 * xx + 2 * u + rng.normal(size=n)})
    iv.to_csv(d / "iv.csv", index=False)
    load_scm(os.path.join(EXAMPLES, "linear.yaml")).sample(2000, seed=0).to_csv(d / "linear.csv", index=False)
    napkin = load_scm({"nodes": {
        "u1": {"noise": "normal(0, 1)", "hidden": True}, "u2": {"noise": "normal(0, 1)", "hidden": True},
        "W": {"type": "binary", "logit": "u1 + 2 * u2"}, "Z": {"type": "binary", "logit": "-1.5 + 3 * W"},
        "X": {"type": "binary", "logit": "-1 + 2 * Z + 1.2 * u1"},
        "Y": {"type": "binary", "logit": "-0.5 + X + 2 * u2"}}})
    napkin.sample(3000, seed=0).to_csv(d / "id.csv", index=False)
    pd.DataFrame({"x": x[:50], "t": np.where(x[:50] > 0, 1, 0), "y": x[:50]}).to_csv(d / "separated.csv",
                                                                                     index=False)
    (d / "empty.csv").write_text("")
    (d / "text.csv").write_text("t,y,x\na,1,2\nb,2,3\n")
    return d


def _estimate_line(line: str, method: str, t: str, y: str) -> float:
    m = re.fullmatch(rf"{re.escape(method)}: effect of {t} on {y} = ({NUMBER}), SE ({NUMBER}), 95% CI "
                     rf"\[({NUMBER}), ({NUMBER})\], n = \d+", line)
    assert m, line
    value, se, lo, hi = map(float, m.groups())
    assert lo < value < hi and se > 0
    return value


def test_assumed_backdoor_set_prints_estimate_and_diagnostics(cli, files):
    code, out, err = cli(str(files / "bd.csv"), "--treatment", "t", "--outcome", "y", "--covariates", "x")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 2
    value = _estimate_line(lines[0], "AIPW", "t", "y")
    assert abs(value - 2) < 0.3
    assert lines[1].startswith("propensity in [") and "effective sample size" in lines[1]
    assert "2-fold cross-fitting" in lines[1]


def test_graph_drives_identification_first(cli, files):
    code, out, err = cli(str(files / "bd.csv"), "--treatment", "t", "--outcome", "y",
                         "--graph", "x->t; x->y; t->y", "--method", "regression")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[:2] == ["identifiable by back-door adjustment for {x}",
                         "P(y | do(t)) = sum_{x} P(y | t, x) P(x)"]
    _estimate_line(lines[2], "RegressionAdjustment", "t", "y")
    assert lines[3] == "HC2 robust standard errors"


def test_graph_from_a_spec_with_a_numeric_treatment(cli, files):
    code, out, _ = cli(str(files / "linear.csv"), "--treatment", "training", "--outcome", "wage",
                       "--graph-from", os.path.join(EXAMPLES, "linear.yaml"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "identifiable by back-door adjustment for {ability}"
    value = _estimate_line(lines[2], "RegressionAdjustment (linear, per unit)", "training", "wage")
    assert abs(value - 3.5) < 0.2


def test_instrument(cli, files):
    code, out, _ = cli(str(files / "iv.csv"), "--treatment", "x", "--outcome", "y", "--instrument", "z")
    assert code == 0
    lines = out.splitlines()
    assert abs(_estimate_line(lines[0], "TwoStageLeastSquares", "x", "y") - 2) < 0.3
    assert re.fullmatch(rf"first-stage F = {NUMBER} \(z: {NUMBER}\); HC1 robust standard errors", lines[1])
    code, out, _ = cli(str(files / "iv.csv"), "--treatment", "x", "--outcome", "y",
                       "--graph", "z->x->y; x<->y")
    assert code == 0 and out.splitlines()[0].startswith("not identifiable nonparametrically; the mean effect "
                                                        "is identified by the instrument z")


def test_id_plugin_with_reps_and_level(cli, files):
    args = (str(files / "id.csv"), "--treatment", "X", "--outcome", "Y",
            "--graph", "W->Z; Z->X; X->Y; W<->X; W<->Y", "--reps", "30", "--level", "0.9", "--seed", "3")
    code, out, _ = cli(*args)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "identifiable by the ID algorithm (no back-door or front-door set exists)"
    assert lines[2].startswith("ID plug-in (bootstrap percentile): effect of X on Y = ")
    assert "90% CI" in lines[2]
    assert "bootstrap: 30 of 30 refits, percentile interval" in lines[3]
    assert cli(*args)[1] == out                         # the same seed, the same output


def test_warnings_go_to_stderr(cli, files):
    code, out, err = cli(str(files / "bd.csv"), "--treatment", "t", "--outcome", "y", "--covariates", "x",
                         "--method", "ipw")
    assert code == 0 and err == ""
    scm = load_scm({"nodes": {"x": {"noise": "normal(0, 1)"}, "t": {"type": "binary", "logit": "3 * x"},
                              "y": {"equation": "t + x + noise", "noise": "normal(0, 1)"}}})
    path = files / "poor_overlap.csv"
    scm.sample(2000, seed=0).to_csv(path, index=False)
    code, out, err = cli(str(path), "--treatment", "t", "--outcome", "y", "--covariates", "x",
                         "--method", "ipw")
    assert code == 0 and len(out.splitlines()) == 2
    assert err.startswith("causalsim: warning: IPW: ") and "propensity scores lie outside" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["missing.csv", "--treatment", "t", "--outcome", "y"], "data file 'missing.csv' does not exist"),
    (["{d}/bd.csv", "--treatment", "t", "--outcome", "y", "--covariates", "age"],
     "adjustment column 'age' is not in the data"),
    (["{d}/bd.csv", "--treatment", "t", "--outcome", "y", "--covariates", "x", "--method", "2sls"],
     "method '2sls' does not apply to the 'backdoor' strategy; use one of: aipw, ipw"),
    (["{d}/bd.csv", "--treatment", "t", "--outcome", "y", "--covariates", "x", "--graph", "x->t->y"],
     "the graph decides which variables to use; drop --covariates or the graph"),
    (["{d}/bd.csv", "--treatment", "t", "--outcome", "y", "--graph", "t->y; t<->y"],
     "P(y | do(t)) is not identifiable: hedge"),
    (["{d}/bd.csv", "--treatment", "t", "--outcome", "y", "--graph", "t->y", "--graph-from", "linear"],
     "give --graph or --graph-from, not both"),
    (["{d}/bd.csv", "--treatment", "t", "--outcome", "y", "--covariates", "x", "--reps", "10"],
     "--reps sets the bootstrap of the ID plug-in"),
    (["{d}/bd.csv", "--treatment", "t,x", "--outcome", "y"], "--treatment takes one column, got t, x"),
    (["{d}/bd.csv", "--treatment", "t", "--outcome", "y", "--instrument", "x", "--mediators", "x"],
     "give --instrument or --mediators, not both"),
    (["{d}/bd.csv", "--treatment", "t", "--outcome", "y", "--covariates", "x,"],
     "give column names separated"),
    (["{d}/empty.csv", "--treatment", "t", "--outcome", "y"], "cannot read"),
    (["{d}/text.csv", "--treatment", "t", "--outcome", "y"], "column 't' is not numeric"),
    (["{d}/separated.csv", "--treatment", "t", "--outcome", "y", "--covariates", "x", "--method", "ipw"],
     "perfectly separate"),
    (["{d}/bd.csv", "--treatment", "t", "--outcome", "y", "--graph", "t->"], "causalsim: error: "),
])
def test_errors_are_one_line_exit_1(cli, files, argv, message):
    code, out, err = cli(*(a.format(d=files) for a in argv))
    assert code == 1 and out == ""
    assert err.startswith("causalsim: error: ") and err.count("\n") == 1
    assert message in err


def test_usage_errors_exit_2(files):
    with pytest.raises(SystemExit) as exc:
        main(["estimate", str(files / "bd.csv"), "--treatment", "t", "--outcome", "y", "--level", "95"])
    assert exc.value.code == 2
