"""``causalsim estimate`` with a categorical treatment, level labels, --trim and the unadjusted note.

Issue 12 (parts 3 and 4): each observation rerun as written. The data are scenario logs written
to CSV, as a user would: ``scenarios.make(name, **params).observational(n, seed).to_csv(...)``
(the command line takes no scenario parameters). The truth is ``scenario.truth()``.
"""

from __future__ import annotations

import re

import pytest

import scenarios
from causalsim.cli import main

NUMBER = r"-?\d+(?:\.\d+)?"
COVS = "age,tenure,past_spend,channel"
LEVELS = "action is categorical with 4 levels (0 none, 1 email, 2 discount, 3 ad)"


@pytest.fixture
def cli(run_estimate):
    return run_estimate


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """Marketing logs (default, and without the hidden confounder), ice-cream and healthcare logs."""
    d = tmp_path_factory.mktemp("logs")
    scenarios.make("marketing").observational(20_000, 0).to_csv(d / "marketing.csv", index=False)
    scenarios.make("marketing", hidden_confounder=False).observational(20_000, 0).to_csv(
        d / "marketing_observed.csv", index=False)
    scenarios.make("icecream").observational(10_000, 0).to_csv(d / "icecream.csv", index=False)
    return d


def _effects(out: str, method: str, outcome: str) -> dict[str, tuple[float, float, float]]:
    """``{level label: (value, ci_low, ci_high)}`` from the estimate lines of a categorical treatment."""
    found = {}
    for m in re.finditer(rf"^{re.escape(method)}: effect of action=(\w+) vs none on {outcome} = ({NUMBER}), "
                         rf"SE {NUMBER}, 95% CI \[({NUMBER}), ({NUMBER})\], n = \d+$", out, re.M):
        found[m.group(1)] = tuple(map(float, m.groups()[1:]))
    return found


def test_per_arm_effects_cover_the_truth_without_hidden_confounder(cli, logs):
    # Acceptance (issue 12): seeded logs of 20,000 customers; over 40 seeds of the logs all three 95 %
    # intervals covered the truth in 36 (per arm: email 40, discount 37, ad 39), so a different seed
    # fails this test about 10 % of the time; seed 0 covers.
    code, out, err = cli(str(logs / "marketing_observed.csv"), "--treatment", "action", "--outcome",
                         "conversion", "--covariates", COVS, "--labels", "marketing")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (f"{LEVELS}: one effect per level against the control none (0) (the lowest level; "
                        "--control LEVEL picks another; --treat LEVEL --control LEVEL gives one contrast)")
    effects = _effects(out, "AIPW (multi-arm)", "conversion")
    assert list(effects) == ["email", "discount", "ad"]
    truth = scenarios.make("marketing", hidden_confounder=False).truth(n=200_000, seed=0)
    for arm, (_, lo, hi) in effects.items():
        true = truth.ate(arm, "none", "conversion").value
        assert lo < true < hi, (arm, true, lo, hi)
    assert lines[4].startswith("propensity of every level in [")
    assert "E[conversion | do(action)]: none " in out
    assert "arm propensity below 0.01" in err and "--trim 0.05" in err      # the advice names the option


def test_one_contrast_by_label_and_by_value(cli, logs):
    args = (str(logs / "marketing_observed.csv"), "--treatment", "action", "--outcome", "conversion",
            "--covariates", COVS, "--method", "regression")
    code, out, _ = cli(*args, "--labels", "marketing", "--treat", "discount", "--control", "email")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{LEVELS}: the effect of discount (2) against email (1)"
    assert lines[1].startswith("RegressionAdjustment (multi-arm): effect of action=discount vs email on "
                               "conversion = ")
    # without labels the levels are their codes; the same numbers
    code, plain, _ = cli(*args, "--treat", "2", "--control", "1")
    assert code == 0
    assert plain.splitlines()[1].split(" = ")[1] == lines[1].split(" = ")[1]
    assert plain.splitlines()[0].startswith("action is categorical with 4 levels (0, 1, 2, 3)")
    # labels as a list name the codes 0, 1, 2, ...
    code, named, _ = cli(*args, "--labels", "none,email,discount,ad", "--treat", "discount", "--control",
                         "email")
    assert code == 0 and named == out


def test_observation_one_slope_is_gone(cli, logs):
    # Issue 12: "RegressionAdjustment ... effect of action on conversion = 0.05320" (one slope over the
    # codes 0..3). Rerun as written it now gives one effect per arm.
    code, out, _ = cli(str(logs / "marketing.csv"), "--treatment", "action", "--outcome", "conversion",
                       "--covariates", COVS, "--method", "regression")
    assert code == 0
    assert "per unit" not in out and "0.05320" not in out
    assert out.startswith("action is categorical with 4 levels (0, 1, 2, 3): one effect per level against "
                          "the control 0")
    assert len(re.findall(r"^RegressionAdjustment \(multi-arm\): effect of action=\d vs 0 on conversion",
                          out, re.M)) == 3


@pytest.mark.parametrize("method", [(), ("--method", "plugin")])
def test_observation_front_door_is_a_clear_error(cli, logs, method):
    # Issue 12: with --graph-from marketing it reported a front-door "effect" of -0.02675 (a slope);
    # --method plugin failed on empty cells. The per-level front-door formula needs P(conversion |
    # delivered, action') for every action', which the logs never show (a discount is delivered only
    # to customers the rule chose): a clear error.
    code, out, err = cli(str(logs / "marketing.csv"), "--treatment", "action", "--outcome", "conversion",
                         "--graph-from", "marketing", *method)
    assert code == 1 and out == ""
    assert err.startswith("causalsim: error: the front-door formula cannot be estimated for action=email vs "
                          "none: ") and "positivity fails" in err and "and action=none" in err
    assert err.count("\n") == 1


def test_front_door_linear_is_refused_for_a_categorical_treatment(cli, logs):
    code, out, err = cli(str(logs / "marketing.csv"), "--treatment", "action", "--outcome", "conversion",
                         "--graph-from", "marketing", "--method", "linear")
    assert code == 1 and out == ""
    assert ("method 'linear' fits one slope over the codes of 'action', which is categorical (levels 0 "
            "none, 1 email, 2 discount, 3 ad)") in err


@pytest.mark.parametrize(("extra", "message"), [
    (("--method", "matching"), "method 'matching' compares two arms; for the categorical treatment 'action' "
                               "(levels 0, 1, 2, 3) use one of: aipw, ipw, regression, difference"),
    (("--treat", "coupon", "--labels", "marketing"),
     "--treat 'coupon' is not a level of action (levels: 0 none, 1 email, 2 discount, 3 ad)"),
    (("--treat", "discount"), "--treat 'discount' is not a level of action (levels: 0, 1, 2, 3); name levels "
                              "with --labels"),
    (("--treat", "2", "--control", "2"), "are the same level 2"),
    (("--labels", "icecream"), "that scenario names no values of 'action'"),
    (("--labels", "nowhere"), "unknown scenario 'nowhere'"),
    (("--instrument", "outage"), "'action' is categorical (levels 0, 1, 2, 3); an instrument identifies one "
                                 "slope"),
    (("--method", "regression", "--trim", "0.05"), "--trim drops units whose propensity score is extreme; it "
                                                   "applies to --method aipw and ipw"),
])
def test_categorical_errors(cli, logs, extra, message):
    argv = [str(logs / "marketing.csv"), "--treatment", "action", "--outcome", "conversion", *extra]
    if "--instrument" not in extra:
        argv += ["--covariates", COVS]
    code, out, err = cli(*argv)
    assert code == 1 and out == ""
    assert err.startswith("causalsim: error: ") and err.count("\n") == 1
    assert message in err


def test_observation_unadjusted_difference_says_so(cli, logs):
    # Issue 12: without --covariates it quietly returned the naive difference (26.06; the truth is 8)
    code, out, err = cli(str(logs / "icecream.csv"), "--treatment", "advert", "--outcome", "ice_cream")
    assert code == 0
    assert out.splitlines()[0].startswith("DifferenceInMeans: effect of advert on ice_cream = 26.06, ")
    assert err == ("causalsim: warning: nothing was adjusted for (no --covariates, --graph or --graph-from): "
                   "this is the raw difference in mean ice_cream between the arms, a causal effect only if "
                   "advert was randomised; give the confounders with --covariates\n")
    # adjusted for the observed confounders: no note
    code, out, err = cli(str(logs / "icecream.csv"), "--treatment", "advert", "--outcome", "ice_cream",
                         "--covariates", "temperature,weekend")
    assert code == 0 and "nothing was adjusted" not in err


def test_trim_is_passed_to_weighting_estimators(cli, logs):
    args = (str(logs / "icecream.csv"), "--treatment", "advert", "--outcome", "ice_cream", "--covariates",
            "temperature,weekend")
    code, out, _ = cli(*args, "--trim", "0.05")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("AIPW: effect of advert on ice_cream = ")
    assert re.search(r"; \d+ trimmed;", lines[1])
    n = int(re.search(r"n = (\d+)$", lines[0]).group(1))
    assert n < 10_000
    code, out, _ = cli(*args, "--trim", "0.05", "--method", "ipw")
    assert code == 0 and out.startswith("IPW: ")
    code, out, err = cli(*args, "--trim", "0.05", "--method", "regression")
    assert code == 1 and "not to method 'regression'" in err
    code, out, err = cli(str(logs / "icecream.csv"), "--treatment", "advert", "--outcome", "ice_cream",
                         "--trim", "0.05")
    assert code == 1 and "not to method 'difference'" in err
    code, out, err = cli(str(logs / "marketing_observed.csv"), "--treatment", "action", "--outcome",
                         "conversion", "--covariates", COVS, "--trim", "0.05")
    assert code == 0 and re.search(r"; \d+ trimmed;", out) and "arm propensity below" not in err


def test_trim_out_of_range_is_a_usage_error(logs):
    with pytest.raises(SystemExit) as exc:
        main(["estimate", str(logs / "icecream.csv"), "--treatment", "advert", "--outcome", "ice_cream",
              "--trim", "0.7"])
    assert exc.value.code == 2


def test_two_level_codes_and_a_numeric_treatment(cli, logs, tmp_path):
    import pandas as pd

    d = pd.read_csv(logs / "marketing_observed.csv")
    two = d[d.action.isin([1, 3])]
    two.to_csv(tmp_path / "two.csv", index=False)
    code, out, _ = cli(str(tmp_path / "two.csv"), "--treatment", "action", "--outcome", "conversion",
                       "--covariates", COVS, "--labels", "marketing", "--control", "ad")
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "action has two levels (1 email, 3 ad): the effect of email (1) against ad (3)"
    assert lines[1].startswith("AIPW: effect of action=email vs ad on conversion = ")
    code, out, err = cli(str(logs / "icecream.csv"), "--treatment", "temperature", "--outcome", "ice_cream",
                         "--covariates", "weekend", "--method", "ipw")
    assert code == 1
    assert "method 'ipw' needs a binary treatment, but 'temperature' is numeric (10000 distinct values" in err
    code, out, err = cli(str(logs / "icecream.csv"), "--treatment", "temperature", "--outcome", "ice_cream",
                         "--treat", "30")
    assert code == 1 and "--treat and --control pick levels of a categorical treatment" in err


def test_id_formula_per_level(cli, tmp_path):
    # the napkin graph with a 3-level treatment: no back-door or front-door set; the ID formula is
    # evaluated per level by plug-in. Truth: E[Y | do(X=x)] = E[sigmoid(-0.5 + x + 2 u2)], u2 ~ N(0, 1)
    # (Gauss-Hermite). 95 % bootstrap intervals, two contrasts: a different seed of the data fails
    # about 10 % of the time; seed 0 covers.
    import numpy as np

    from causal import load_scm

    load_scm({"nodes": {
        "u1": {"noise": "normal(0, 1)", "hidden": True}, "u2": {"noise": "normal(0, 1)", "hidden": True},
        "W": {"type": "binary", "logit": "u1 + 2 * u2"}, "Z": {"type": "binary", "logit": "-1.5 + 3 * W"},
        "X": {"type": "categorical", "probs": ["1", "exp(-1 + 2 * Z + 1.2 * u1)", "exp(-0.5 + Z - u1)"]},
        "Y": {"type": "binary", "logit": "-0.5 + X + 2 * u2"}}}).sample(5000, seed=0).to_csv(
        tmp_path / "napkin.csv", index=False)
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)

    def mean(x: float) -> float:
        return float(np.sum(weights / (1 + np.exp(-(-0.5 + x + 2 * nodes)))) / np.sqrt(2 * np.pi))

    code, out, _ = cli(str(tmp_path / "napkin.csv"), "--treatment", "X", "--outcome", "Y", "--graph",
                       "W->Z; Z->X; X->Y; W<->X; W<->Y", "--reps", "100", "--labels", "low,mid,high")
    assert code == 0
    lines = out.splitlines()
    assert lines[2].startswith("X is categorical with 3 levels (0 low, 1 mid, 2 high): one effect per level")
    for line, level in ((lines[3], 1), (lines[5], 2)):
        m = re.fullmatch(rf"ID plug-in \(bootstrap percentile\): effect of X=(\w+) vs low on Y = {NUMBER}, "
                         rf"SE {NUMBER}, 95% CI \[({NUMBER}), ({NUMBER})\], n = 5000", line)
        assert m and m.group(1) == ("mid", "high")[level - 1]
        assert float(m.group(2)) < mean(level) - mean(0) < float(m.group(3))
    assert lines[4].startswith("E[Y | do(X=mid)] = ") and ", E[Y | do(X=low)] = " in lines[4]
