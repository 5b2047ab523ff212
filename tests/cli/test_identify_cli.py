"""Tests of ``causalsim identify`` (causalsim/identify_cli.py), through a parser built here."""

from __future__ import annotations

import argparse

import pytest

from causalsim.identify_cli import register, run


@pytest.fixture
def identify_cli(capsys):
    parser = argparse.ArgumentParser(prog="causalsim")
    sub = parser.add_subparsers(dest="command", required=True)
    assert register(sub).prog.endswith("identify")

    def call(*argv: str) -> tuple[int, str, str]:
        code = run(parser.parse_args(["identify", *argv]))
        out, err = capsys.readouterr()
        return code, out, err

    call.parser = parser
    return call


def test_napkin_example_from_usage(identify_cli):
    # USAGE.md §2 (the napkin graph, Pearl & Mackenzie 2018)
    code, out, err = identify_cli("--graph", "Z2->Z1; Z1->X; X->Y; Z2<->X; Z2<->Y",
                                  "--treatment", "X", "--outcome", "Y")
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "identifiable by the ID algorithm (no back-door or front-door set exists)",
        "P(Y | do(X)) = [sum_{Z2} P(X, Y | Z1, Z2) P(Z2)] / [sum_{Z2} P(X | Z1, Z2) P(Z2)]",
    ]


@pytest.mark.parametrize(("graph", "first_line"), [
    ("X->Y; Z->X; Z->Y", "identifiable by back-door adjustment for {Z}"),
    ("X->Y", "identifiable without adjustment (no back-door path)"),
    ("X->M->Y; X<->Y", "identifiable by the front-door criterion through {M}"),
    ("Z->X->Y; X<->Y", "not identifiable nonparametrically; the mean effect is identified by "
                       "the instrument Z if the effect is linear and homogeneous"),
])
def test_strategies(identify_cli, graph, first_line):
    code, out, _ = identify_cli("--graph", graph, "--treatment", "X", "--outcome", "Y")
    assert code == 0 and out.splitlines()[0] == first_line
    assert out.splitlines()[1].split(" = ")[0] in ("P(Y | do(X))", "E[Y | do(X)]")


def test_hedge_is_an_answer_not_an_error(identify_cli):
    code, out, err = identify_cli("--graph", "X->Y; Z->X; Z->Y; X<->Y",
                                  "--treatment", "X", "--outcome", "Y")
    assert code == 0 and err == ""
    assert "not identifiable: hedge F = {X, Y}, F' = {Y} (line 5 fails)" in out


def test_several_treatments(identify_cli):
    code, out, _ = identify_cli("--graph", "X1->X2->Y; X1<->X2", "--treatment", "X1, X2",
                                "--outcome", "Y")
    assert code == 0 and out.splitlines()[1] == "P(Y | do(X1, X2)) = P(Y | X1, X2)"


def test_spec_file(identify_cli, tmp_path):
    spec = tmp_path / "smoking.yaml"
    spec.write_text("nodes:\n"
                    "  gene: {type: binary, p: 0.3, hidden: true}\n"
                    "  smoke: {type: binary, logit: -1 + 2 * gene}\n"
                    "  tar: {type: binary, logit: -1 + 3 * smoke}\n"
                    "  cancer: {type: binary, logit: -2 + 2 * tar + 2 * gene}\n")
    code, out, _ = identify_cli(str(spec), "--treatment", "smoke", "--outcome", "cancer")
    assert code == 0 and out.startswith("identifiable by the front-door criterion through {tar}")
    code, out, err = identify_cli(str(spec), "--treatment", "gene", "--outcome", "cancer")
    assert code == 1 and out == ""
    assert err.startswith("causalsim: error: treatment ['gene'] is hidden")


@pytest.mark.parametrize(("graph", "first_line"), [
    ("Z->X; Z->Y", "Y is not a descendant of X: intervening on X does not change it"),
    ("Y->X; X<->Y", "Y is not a descendant of X: intervening on X does not change it"),
    ("X; Y", "Y is not a descendant of X: intervening on X does not change it"),
])
def test_no_effect_is_said_plainly(identify_cli, graph, first_line):
    code, out, err = identify_cli("--graph", graph, "--treatment", "X", "--outcome", "Y")
    assert code == 0 and err == ""
    assert out.splitlines() == [first_line, "P(Y | do(X)) = P(Y)"]


def test_no_effect_with_several_nodes(identify_cli):
    code, out, _ = identify_cli("--graph", "A->B->C; Z->A; Z->C", "--treatment", "B,C",
                                "--outcome", "A")
    assert code == 0 and out.splitlines() == [
        "no outcome in {A} is a descendant of a treatment in {B, C}: intervening on them "
        "does not change the outcome",
        "P(A | do(B, C)) = P(A)",
    ]


def test_scenario_names_like_the_other_subcommands(identify_cli):
    # the driving scenario: a hidden confounder of maneuver and collision (docs/scenarios)
    code, out, err = identify_cli("driving", "--treatment", "maneuver", "--outcome", "collision")
    assert code == 0 and err == ""
    assert out.startswith("P(collision | do(maneuver)) is not identifiable: hedge")
    code, out, _ = identify_cli("healthcare", "--treatment", "protocol",
                                "--outcome", "recovery_days")
    assert code == 0 and "identified by the instrument distance_km" in out
    code, out, err = identify_cli("no_such_scenario", "--treatment", "X", "--outcome", "Y")
    assert code == 1 and out == "" and "'no_such_scenario'" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["--graph", "", "--treatment", "X", "--outcome", "Y"], "--graph '' is empty"),
    (["--graph", " ; ", "--treatment", "X", "--outcome", "Y"], "is empty; give its edges"),
    (["--graph", "X->Y", "--treatment", "Q", "--outcome", "Y"], "unknown treatment node(s) 'Q'"),
    (["--graph", "X->Y", "--treatment", "X", "--outcome", "X"], "share ['X']"),
    (["--graph", "X->Y->X", "--treatment", "X", "--outcome", "Y"], "directed cycle"),
    (["--graph", "X=>Y", "--treatment", "X", "--outcome", "Y"], "cannot parse"),
    (["--treatment", "X", "--outcome", "Y"], "not neither"),
    (["s.yaml", "--graph", "X->Y", "--treatment", "X", "--outcome", "Y"], "not both"),
    (["missing.yaml", "--treatment", "X", "--outcome", "Y"], "missing.yaml"),
    (["--graph", "X->Y", "--treatment", "X,", "--outcome", "Y"], "separated by commas"),
])
def test_errors_are_one_line(identify_cli, argv, message):
    code, out, err = identify_cli(*argv)
    assert code == 1 and out == ""
    assert err.startswith("causalsim: error: ") and message in err
    assert err.count("\n") == 1


def test_registered_defaults_follow_cli_convention(identify_cli, capsys):
    ns = identify_cli.parser.parse_args(["identify", "--graph", "X->Y", "--treatment", "X",
                                         "--outcome", "Y"])
    assert ns.run(ns, []) == 0 and ns.func(ns) == 0


def test_categorical_treatment_is_stated_with_its_levels(identify_cli, tmp_path):
    # issue 12: healthcare's 3-level protocol was treated as a number
    code, out, err = identify_cli("healthcare", "--treatment", "protocol", "--outcome", "recovery_days")
    assert code == 0 and err == ""
    assert out.splitlines()[2] == (
        "protocol is categorical with 3 levels (0 standard, 1 protocol_A, 2 protocol_B): the instrumental "
        "estimand is one slope over its codes, the effect of no level; if the instrument moves units between "
        "two levels only, it identifies that contrast (for compliers) with the treatment recoded to that "
        "level's 0/1 indicator")
    code, out, _ = identify_cli("marketing", "--treatment", "action", "--outcome", "conversion")
    assert code == 0 and out.splitlines()[2].startswith(
        "action is categorical with 4 levels (0 none, 1 email, 2 discount, 3 ad): the formula holds for each "
        "level a, and the effect of a against a control c is E[conversion | do(action=a)] - E[conversion | "
        "do(action=c)], one per contrast")
    spec = tmp_path / "dose.yaml"
    spec.write_text("nodes:\n"
                    "  z: {noise: normal(0, 1)}\n"
                    "  arm: {type: categorical, probs: [1, exp(z), exp(-z)]}\n"
                    "  y: {equation: arm + z + noise, noise: normal(0, 1)}\n")
    code, out, _ = identify_cli(str(spec), "--treatment", "arm", "--outcome", "y")
    assert code == 0 and out.splitlines()[2].startswith("arm is categorical with 3 levels (0, 1, 2): ")
    # binary treatments, hedges and no-effect answers get no such line
    hedge = identify_cli("icecream", "--treatment", "advert", "--outcome", "ice_cream")[1]
    assert len(hedge.splitlines()) == 1
    assert len(identify_cli(str(spec), "--treatment", "y", "--outcome", "arm")[1].splitlines()) == 2
