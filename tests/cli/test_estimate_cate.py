"""``causalsim estimate --method causal-forest|dr-learner|x-learner|dml --effect-modifiers``.

One small confounded data set with a known CATE: ``x1`` confounds (it drives the
treatment and the outcome), the effect is ``1 + 2 x2`` (``x2`` the only modifier
that matters, ``x3`` noise), so every method must rank ``x2`` first and its
average effect must be near the sample mean of ``1 + 2 x2``.
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

N = 800
NUM = r"(-?\d+(?:\.\d+)?)"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(7)
    x1, x2, x3 = rng.normal(size=(3, N))
    t = rng.binomial(1, 1 / (1 + np.exp(-0.8 * x1)))
    tau = 1 + 2 * x2
    df = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "t": t, "y": x1 + t * tau + rng.normal(size=N)})
    path = tmp_path_factory.mktemp("cate") / "d.csv"
    df.to_csv(path, index=False)
    return str(path), df, tau


BASE = ("--treatment", "t", "--outcome", "y", "--covariates", "x1", "--effect-modifiers", "x2,x3")


def _ate(out: str) -> tuple[float, float]:
    m = re.search(rf"effect of t on y = {NUM}, SE {NUM}", out)
    assert m, out
    return float(m.group(1)), float(m.group(2))


def _check_common(out: str, tau: np.ndarray, se_max: float = 0.3) -> None:
    value, se = _ate(out)
    # the mean of the sample's true CATEs, within 4 standard errors: false-failure rate ~6e-5 per method
    assert abs(value - tau.mean()) < 4 * se and se < se_max, out
    assert re.search(r"CATE of t on y over 800 units: mean .*quantiles 5% .*95%", out), out
    top = re.search(r"top modifiers \(.*?\): (\w+)", out)
    assert top and top.group(1) == "x2", out  # the effect varies with x2 only


@pytest.mark.slow  # ~8 s of CPU: the forest's boosted nuisances, five folds, and the trees
def test_causal_forest_prints_ate_cate_summary_and_writes_cate_and_uplift(run_estimate, data, tmp_path):
    path, df, tau = data
    code, out, err = run_estimate(path, *BASE, "--method", "causal-forest", "--trees", "50",
                                  "--out", str(tmp_path))
    assert code == 0, err
    _check_common(out, tau)
    assert "forest split importance" in out and f"wrote {tmp_path / 'cate.csv'}" in out
    cate = pd.read_csv(tmp_path / "cate.csv")
    assert list(cate.columns) == ["row", "x2", "x3", "cate", "cate_low", "cate_high"] and len(cate) == N
    assert np.corrcoef(cate["cate"], tau[cate["row"]])[0, 1] > 0.8  # out-of-bag CATEs track the truth
    assert (tmp_path / "uplift.png").read_bytes()[:4] == b"\x89PNG"


def test_dr_learner(run_estimate, data):
    path, _, tau = data
    code, out, err = run_estimate(path, *BASE, "--method", "dr-learner")
    assert code == 0, err
    _check_common(out, tau)
    assert "DRLearner (AIPW)" in out and "least-squares projection" in out


def test_x_learner_reports_its_plug_in_mean_and_the_aipw_ate(run_estimate, data):
    path, _, tau = data
    code, out, err = run_estimate(path, *BASE, "--method", "x-learner")
    assert code == 0, err
    assert re.search(r"XLearner: mean CATE .* \(a plug-in average: no analytic interval\)", out), out
    assert "ATE by AIPW: effect of t on y" in out
    _check_common(out, tau)


def test_linear_dml_slopes(run_estimate, data):
    path, df, tau = data
    code, out, err = run_estimate(path, *BASE, "--method", "dml")
    assert code == 0, err
    _check_common(out, tau)
    m = re.search(rf"x2 {NUM} \(slope {NUM} \[{NUM}, {NUM}\]\)", out)
    assert m, out
    slope, lo, hi = (float(m.group(k)) for k in (2, 3, 4))
    assert abs(slope - 2) < 2 * (hi - lo) / 2  # 2 half-widths of the 95% interval: ~6e-5 false failures


@pytest.mark.parametrize("argv, message", [
    (("--treatment", "t", "--outcome", "y", "--covariates", "x1", "--method", "dml"),
     "give --effect-modifiers"),
    (("--treatment", "t", "--outcome", "y", "--covariates", "x1", "--effect-modifiers", "x2"),
     "--effect-modifiers belong to the CATE methods"),
    (("--treatment", "t", "--outcome", "y", "--covariates", "x1", "--method", "aipw", "--out", "o"),
     "--out belong to the CATE methods"),
    (("--treatment", "t", "--outcome", "y", "--method", "dml", "--effect-modifiers", "x9"),
     "x9 not in the data"),
    (("--treatment", "t", "--outcome", "y", "--method", "dml", "--effect-modifiers", "x2", "--trees", "9"),
     "--trees sets the causal forest"),
])
def test_bad_cate_requests_say_what_to_change(run_estimate, data, argv, message):
    code, out, err = run_estimate(data[0], *argv)
    assert code == 1 and message in err and out == ""


def test_categorical_treatment_needs_a_contrast(run_estimate, data, tmp_path):
    _, df, _ = data
    path = tmp_path / "arms.csv"
    df.assign(t=df["t"] + (df["x3"] > 1)).to_csv(path, index=False)  # levels 0, 1, 2
    code, _, err = run_estimate(str(path), *BASE, "--method", "dml")
    assert code == 1 and "pick the treated level with --treat" in err


def test_help_tables_match_the_implementation():
    from causal.estimators.driver import STRATEGY_METHODS
    from causalsim import estimate_cli
    from causalsim.estimate_cate_cli import CATE_METHODS
    from causalsim.estimate_effect_cli import CATE_NAMES
    from causalsim.estimate_panel_cli import PANEL_METHODS

    assert estimate_cli.STRATEGY_METHODS == dict(STRATEGY_METHODS)
    assert estimate_cli.PANEL_NAMES == tuple(PANEL_METHODS)
    assert estimate_cli.CATE_NAMES == tuple(CATE_METHODS) == CATE_NAMES
    assert estimate_cli.format_estimate.__module__ == "causalsim.estimate_effect_cli"  # lazy re-export


def test_estimate_help_imports_no_numerical_library():
    code = ("import sys, contextlib, io\nfrom causalsim.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['estimate', '--help'])\n    except SystemExit:\n        pass\n"
            "heavy = ('pandas', 'scipy', 'sklearn', 'causal', 'matplotlib')\n"
            "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr
