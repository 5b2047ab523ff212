"""Tests of the causalsim command line, run in-process through ``main(argv)``.

Statistical checks use a tolerance of 4 standard errors computed from the
icecream model's analytic variances (never from the printed interval), so a
correct implementation fails a check with probability P(|Z| > 4) ~ 6e-5 and
a wrong effect of a few standard errors fails it.
"""

from __future__ import annotations

import doctest
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import causalsim.args
import causalsim.report
import causalsim.whatif
from causal import Hard, Scale, Shift, load_scm
from causalsim.args import ArgumentError, parse_assignments, parse_do
from causalsim.cli import main

ROOT = Path(__file__).resolve().parents[2]
ICE = str(ROOT / "examples" / "icecream.yaml")
N = 20_000
ROW = re.compile(r"^(?P<label>\S.*?)\s+(?P<mean>-?\d+(?:\.\d+)?)\s+"
                 r"\[(?P<lo>-?\d+(?:\.\d+)?), (?P<hi>-?\d+(?:\.\d+)?)\]")


def rows(text: str) -> dict[str, tuple[float, float, float]]:
    """{label: (mean, lo, hi)} of a whatif table."""
    out = {}
    for line in text.splitlines():
        if m := ROW.match(line):
            out[m["label"]] = (float(m["mean"]), float(m["lo"]), float(m["hi"]))
    return out


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def whatif(capsys, *extra: str, n: int = N) -> tuple[str, dict]:
    code, out, err = run(capsys, "whatif", ICE, *extra, "--n", str(n))
    assert (code, err) == (0, "")
    return out, rows(out)


# ---------------------------------------------------------------------- whatif
def test_whatif_prints_the_table_and_the_analytic_effect(capsys):
    out, table = whatif(capsys, "--do", "temperature=30", "--outcome", "sunscreen")
    lines = out.splitlines()
    assert lines[0] == f"outcome: sunscreen [bottles/day] (n = {N:,}, seed 0)"
    assert lines[1] == "contrast: do(temperature=30) vs no intervention, on the same units"
    assert lines[2].split() == ["mean", "95%", "interval"]
    assert list(table) == ["no intervention", "do(temperature=30)", "effect"]
    assert "correlation(temperature, sunscreen) = " in lines[5]
    # per unit, sunscreen(do) - sunscreen = 2 * (30 - temperature): sd 2 * 5 = 10
    se = 10 / math.sqrt(N)
    mean, lo, hi = table["effect"]
    assert abs(mean - 2 * (30 - 25)) < 4 * se
    assert lo < mean < hi
    assert (hi - lo) / 2 == pytest.approx(1.96 * se, rel=0.1)  # paired, not two-sample


def test_whatif_on_a_non_cause_has_exactly_zero_effect(capsys):
    _, table = whatif(capsys, "--do", "ice_cream=100", "--outcome", "sunscreen")
    assert table["effect"] == (0.0, 0.0, 0.0)
    assert table["no intervention"] == table["do(ice_cream=100)"]


@pytest.mark.parametrize(("do", "effect"), [("temperature+=5", 10.0), ("temperature-=5", -10.0)])
def test_whatif_shift(capsys, do, effect):
    _, table = whatif(capsys, "--do", do, "--outcome", "sunscreen")
    assert table["effect"] == (effect, effect, effect)  # a shift moves every unit by 2 * delta


def test_whatif_scale_and_several_interventions(capsys):
    _, table = whatif(capsys, "--do", "ice_cream*=1.1", "--outcome", "ice_cream")
    # effect per unit = 0.1 * ice_cream: mean 0.1 * (20 + 3 * 25), sd 0.1 * sqrt(9 * 25 + 100)
    assert abs(table["effect"][0] - 9.5) < 4 * 0.1 * math.sqrt(325) / math.sqrt(N)
    out, table = whatif(capsys, "--do", "temperature+=1", "--do", "ice_cream=0",
                        "--outcome", "sunscreen")
    assert "do(temperature+=1, ice_cream=0)" in table
    assert table["effect"] == (2.0, 2.0, 2.0)
    assert "correlation" not in out  # only for a single --do node


def test_whatif_out_writes_csv_png_and_manifest(capsys, tmp_path):
    argv = ["whatif", ICE, "--do", "temperature=30", "--outcome", "sunscreen", "--n", "2000",
            "--seed", "7", "--out", str(tmp_path / "a")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "a"
    files = [folder / "whatif.csv", folder / "whatif.png", folder / "manifest.json"]
    assert out.splitlines()[-1] == "wrote " + ", ".join(map(str, files))
    data = pd.read_csv(files[0])
    assert len(data) == 2000
    assert list(data.columns) == ["unit", "sunscreen_baseline", "sunscreen_intervened",
                                  "temperature_baseline", "temperature_intervened", "effect"]
    assert (data["temperature_intervened"] == 30).all()
    assert data["effect"].to_numpy() == pytest.approx(
        2 * (30 - data["temperature_baseline"].to_numpy()))
    assert files[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads(files[2].read_text())
    assert manifest["argv"] == argv
    assert (manifest["seed"], manifest["n"]) == (7, 2000)
    assert set(manifest["versions"]) == {"causalsim", "numpy", "pandas"}
    # same arguments, same bytes (the manifest has no timestamp)
    assert main([*argv[:-1], str(tmp_path / "b")]) == 0
    for name in ("whatif.csv", "whatif.png"):
        assert (tmp_path / "b" / name).read_bytes() == (folder / name).read_bytes()
    again = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert {**again, "argv": argv} == manifest


# ---------------------------------------------------------------------- graph
def test_graph_lists_nodes_and_edges(capsys):
    code, out, _ = run(capsys, "graph", ICE)
    assert code == 0
    assert "nodes (3, 0 hidden):" in out
    assert "  temperature -> ice_cream" in out and "  temperature -> sunscreen" in out
    assert "ice_cream -> sunscreen" not in out


def test_graph_marks_hidden_nodes_and_their_confounding(capsys):
    code, out, _ = run(capsys, "graph", str(ROOT / "examples" / "nonlinear.yaml"))
    assert code == 0
    assert "frailty (hidden)" in out and "  treated <-> recovery" in out


def test_graph_dot_and_png(capsys, tmp_path):
    code, out, _ = run(capsys, "graph", ICE, "--dot")
    assert code == 0
    assert out == load_scm(ICE).graph.to_dot() + "\n"
    png = tmp_path / "g.png"
    code, out, err = run(capsys, "graph", ICE, "--dot", "--out", str(png))
    assert out.startswith("digraph") and "wrote" not in out  # stdout stays pure DOT
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, _ = run(capsys, "graph", ICE, "--out", str(tmp_path / "h.png"))
    assert code == 0 and out.splitlines()[-1] == f"wrote {tmp_path / 'h.png'}"


# ---------------------------------------------------------------------- counterfactual
def cf_table(out: str) -> dict[str, tuple[float, float]]:
    """{node: (factual, counterfactual)} of a counterfactual table."""
    table = {}
    for line in out.splitlines()[3:]:
        parts = line.split()
        if len(parts) >= 3 and re.fullmatch(r"-?[\d.]+", parts[1]):
            cf = parts[3] if parts[2] == "observed" else parts[2]
            table[parts[0]] = (float(parts[1]), float(cf))
    return table


UNIT = "temperature=30,ice_cream=110,sunscreen=65"


def test_counterfactual_of_a_non_cause_leaves_sunscreen_unchanged(capsys):
    code, out, _ = run(capsys, "counterfactual", ICE, "--unit", UNIT, "--do", "ice_cream=0")
    assert code == 0
    assert out.splitlines()[1].startswith("mode: exact")
    table = cf_table(out)
    assert table["sunscreen"] == (65.0, 65.0)
    assert table["ice_cream"] == (110.0, 0.0)


@pytest.mark.parametrize("do", ["temperature=35", "temperature+=5"])
def test_counterfactual_temperature_moves_sunscreen_by_twice_the_change(capsys, do):
    code, out, _ = run(capsys, "counterfactual", ICE, "--unit", UNIT, "--do", do)
    assert code == 0
    table = cf_table(out)
    assert table["sunscreen"] == (65.0, 65.0 + 2 * (35 - 30))
    assert table["ice_cream"] == (110.0, 110.0 + 3 * (35 - 30))


def test_counterfactual_with_unobserved_nodes_uses_the_posterior(capsys):
    code, out, _ = run(capsys, "counterfactual", ICE, "--unit", "sunscreen=65",
                       "--do", "temperature+=5", "--samples", "500", "--seed", "1")
    assert code == 0
    assert out.splitlines()[1].startswith("mode: weighting")
    table = cf_table(out)
    assert table["sunscreen"] == (65.0, 75.0)  # whatever the posterior of temperature
    factual, cf = table["temperature"]
    assert cf == pytest.approx(factual + 5, abs=0.011)
    assert "posterior means" in out.splitlines()[-1]


# ---------------------------------------------------------------------- errors
def one_error_line(capsys, *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("causalsim: error: ")
    return lines[0]


def test_bad_spec_is_one_line_naming_the_node(capsys, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("nodes:\n  x: {noise: normal(0, 1)}\n"
                    "  y: {equation: 2 * xx + noise, noise: normal(0, 1)}\n")
    line = one_error_line(capsys, "whatif", str(spec), "--do", "x=1", "--outcome", "y")
    assert "'y'" in line and "'xx'" in line


@pytest.mark.parametrize("text", [
    "nodes:\n  ? [a, b]\n  : {noise: normal(0, 1)}\n",                    # non-scalar key
    "nodes:\n  x: {noise: normal(0, 1), unit: " + "9" * 4400 + "}\n",     # int over 4,300 digits
    "nodes: " + "[" * 100_000 + "]" * 100_000 + "\n",                     # deep nesting
    "nodes:\n  x: {type: binary, logit: " + "9" * 400 + "}\n",            # overflows a float
], ids=["non-scalar-key", "4400-digits", "deep", "400-digit-logit"])
def test_pathological_spec_files_are_one_line_naming_the_file(capsys, tmp_path, text):
    spec = tmp_path / "evil.yaml"
    spec.write_text(text)
    line = one_error_line(capsys, "graph", str(spec))
    assert "evil.yaml" in line and len(line) < 500


def test_a_file_name_too_long_for_the_os_is_a_short_spec_error(capsys):
    line = one_error_line(capsys, "graph", "a" * 5000 + ".yaml")
    assert "no such spec file" in line and len(line) < 500


@pytest.mark.parametrize("do", ["temperature", "temperature==3", "temperature=hot",
                                "temperature=nan", "2x=1", "temperature/=2"])
def test_malformed_do_is_one_line(capsys, do):
    line = one_error_line(capsys, "whatif", ICE, "--do", do, "--outcome", "sunscreen")
    assert "--do" in line


@pytest.mark.parametrize(("argv", "needle"), [
    (["whatif", "no/such.yaml", "--do", "x=1", "--outcome", "y"], "no/such.yaml"),
    (["graph", "no/such.yaml"], "no/such.yaml"),
    (["whatif", ICE, "--do", "icecream=1", "--outcome", "sunscreen"], "icecream"),
    (["whatif", ICE, "--do", "ice_cream=1", "--outcome", "sun"], "sun"),
    (["whatif", ICE, "--do", "ice_cream=1", "--do", "ice_cream+=1", "--outcome", "sunscreen"],
     "twice"),
    (["counterfactual", ICE, "--unit", "temp=30", "--do", "temperature=1"], "temp"),
    (["counterfactual", ICE, "--unit", "temperature", "--do", "temperature=1"], "--unit"),
    (["graph", ICE, "--out", "graph.xyz"], ".png"),
    (["whatif", ICE, "--do", "temperature=1"], "--outcome is required for a model spec"),
])
def test_bad_input_is_one_line(capsys, argv, needle):
    assert needle in one_error_line(capsys, *argv)


def test_usage_errors_exit_2(capsys):
    for argv in (["whatif", ICE, "--outcome", "y"], ["frobnicate"], ["whatif", ICE, "--do", "x=1",
                                                                  "--outcome", "y", "--n", "1"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_whatif_outcome_defaults_to_the_scenarios_outcome(capsys):
    argv = ["whatif", "driving", "--do", "maneuver=brake", "--vs", "maneuver=maintain", "--n", "2000"]
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "outcome: collision [0/1], the scenario's outcome (n = 2,000, seed 0)"
    code, named, _ = run(capsys, *argv, "--outcome", "collision")
    assert code == 0 and named.splitlines()[0] == "outcome: collision [0/1] (n = 2,000, seed 0)"
    assert rows(out) == rows(named)


# ---------------------------------------------------------------------- parsing and docs
def test_parse_do_forms():
    assert parse_do("x=3").intervention == Hard(3.0)
    assert parse_do(" x += 2 ").intervention == Shift(2.0)
    assert parse_do("x-=2").intervention == Shift(-2.0)
    assert parse_do("x=-2").intervention == Hard(-2.0)
    assert parse_do("x*=1.1").intervention == Scale(1.1)
    assert parse_do("x=1e2").label == "x=100"
    with pytest.raises(ArgumentError):
        parse_assignments("x=1,x=2")


@pytest.mark.parametrize("module", [causalsim.args, causalsim.report, causalsim.whatif])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


# ---------------------------------------------------------------------- scenarios
def test_scenarios_name_lists_the_action_labels_context_and_outcome(capsys):
    code, out, _ = run(capsys, "scenarios", "driving")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("driving (causalsim/Driving-v0): ")
    assert lines[1] == "context: speed, distance, rain, visibility"
    assert lines[2].startswith("action: sets maneuver, reaction (hidden); --do maneuver=LABEL sets all")
    labels = {line.split()[0]: line.split()[1:] for line in lines[3:6]}
    assert labels == {"maintain": ["maneuver=0,", "reaction=1", "cost", "0"],
                      "brake": ["maneuver=1,", "reaction=1", "cost", "1"],
                      "swerve": ["maneuver=2,", "reaction=1", "cost", "2"]}
    assert "outcome: collision" in lines
    assert lines[-1] == ("example: causalsim whatif driving --do maneuver=swerve --vs maneuver=maintain "
                         "--outcome collision")


@pytest.mark.parametrize("name", ["driving_brake", "healthcare", "icecream", "marketing", "policy"])
def test_scenarios_name_describes_every_scenario(capsys, name):
    import scenarios

    sc = scenarios.make(name)
    code, out, _ = run(capsys, "scenarios", name)
    assert code == 0
    assert f"context: {', '.join(sc.context)}" in out and f"outcome: {sc.outcome}" in out
    for label in getattr(sc.actions, "labels", ()):
        assert any(line.split()[:1] == [label] for line in out.splitlines())
    if name == "driving_brake":
        assert "brake_force in [0, 1]" in out and "also sets reaction (hidden)" in out


def test_scenarios_unknown_name_is_one_line(capsys):
    assert "did you mean 'driving'" in one_error_line(capsys, "scenarios", "drivin")


# ---------------------------------------------------------------------- start-up
HEAVY = ("sklearn", "scipy", "matplotlib", "pandas")


@pytest.mark.parametrize("argv", [["--help"], ["whatif", "--help"]])
def test_help_imports_no_heavy_library(argv):
    # -X importtime lists every module the real command imports: deterministic, unlike a timing
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "causalsim", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage: causalsim")
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "causalsim" in imported  # the listing is real
    assert not imported & set(HEAVY)


def test_lazy_parser_shows_the_same_help_as_the_full_one():
    from causalsim.cli import COMMANDS, build_parser

    assert build_parser(()).format_help() == build_parser().format_help()
    assert list(COMMANDS) == ["whatif", "graph", "counterfactual", "scenarios", "identify", "estimate",
                              "evaluate", "discover", "validate", "demo"]


# ---------------------------------------------------------------------- the real command
def test_python_m_causalsim_readme_command():
    proc = subprocess.run(
        [sys.executable, "-m", "causalsim", "whatif", "examples/icecream.yaml",
         "--do", "ice_cream=100", "--outcome", "sunscreen", "--n", str(N)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    table = rows(proc.stdout)
    _, lo, hi = table["effect"]
    assert lo <= 0 <= hi
    # sunscreen = 5 + 2 * temperature + noise: mean 55, sd sqrt(4 * 25 + 64)
    assert abs(table["no intervention"][0] - 55) < 4 * math.sqrt(164) / math.sqrt(N)
