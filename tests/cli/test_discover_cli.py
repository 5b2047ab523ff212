"""``causalsim discover``: edges printed, scores against a known truth, files, the --fit table, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causalsim.cli import main

SPEC = """
name: lingam_chain
nodes:
  a: {noise: uniform(-1, 1)}
  b: {equation: 1.5 * a + noise, noise: uniform(-1, 1)}
  c: {equation: b - a + noise, noise: uniform(-1, 1)}
"""


@pytest.fixture
def run(capsys):
    def call(*argv: str) -> tuple[int, str, str]:
        code = main(["discover", *argv])
        out, err = capsys.readouterr()
        return code, out, err
    return call


def test_spec_with_lingam_finds_the_dag_and_scores_it_perfectly(run, tmp_path):
    spec = tmp_path / "chain.yaml"
    spec.write_text(SPEC)
    code, out, err = run(str(spec), "--method", "lingam", "--n", "3000", "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert "edges found (3):" in out
    for edge in ("a -> b", "a -> c", "b -> c"):
        assert edge in out
    assert "against the true graph: SHD 0" in out
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["scores"]["shd"] == 0 and manifest["scores"]["arrowhead_f1"] == 1.0
    assert sorted(manifest["files"]) == ["edges.csv", "graphs.png", "manifest.json"]
    edges = pd.read_csv(tmp_path / "o" / "edges.csv")
    assert len(edges) == 3
    assert (tmp_path / "o" / "graphs.png").read_bytes()[:4] == b"\x89PNG"


def test_csv_input_prints_edges_without_scores(run, tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=2000), rng.normal(size=2000)
    c = a + b + rng.normal(size=2000)
    path = tmp_path / "d.csv"
    pd.DataFrame({"a": a, "b": b, "c": c}).to_csv(path, index=False)
    code, out, err = run(str(path), "--method", "ges")
    assert code == 0, err
    assert "a -> c" in out and "b -> c" in out and "SHD" not in out


def test_scenario_is_scored_against_its_projected_graph(run):
    code, out, err = run("icecream", "--method", "pc", "--n", "1000")
    assert code == 0, err
    assert "against the true PAG" in out   # icecream's hidden festival: the truth with latents is a PAG
    assert "adjacency" in out and "arrowhead" in out


@pytest.mark.parametrize(("rows", "message"), [
    ("constant", "constant"),
    ("nan", "NaN"),
    ("short", "rows"),
])
def test_bad_data_gives_one_error_line(run, tmp_path, rows, message):
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    if rows == "constant":
        df["c"] = 3.0
    elif rows == "nan":
        df.loc[5, "b"] = np.nan
    else:
        df = df.iloc[:5]
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    code, out, err = run(str(path), "--method", "pc")
    assert code == 1
    assert err.startswith("causalsim: error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize("alpha", ["0", "1.5", "-0.1"])
def test_alpha_outside_the_unit_interval_is_refused(run, alpha):
    code, _, err = run("icecream", "--method", "pc", "--alpha", alpha)
    assert code == 1 and "--alpha must be strictly between 0 and 1" in err


def test_fit_needs_a_scenario_and_unknown_sources_are_named(run, tmp_path):
    path = tmp_path / "d.csv"
    frame = pd.DataFrame(np.random.default_rng(2).normal(size=(100, 3)), columns=list("xyz"))
    frame.to_csv(path, index=False)
    code, _, err = run(str(path), "--method", "ges", "--fit")
    assert code == 1 and "--fit" in err
    code, _, err = run("no_such_thing", "--method", "ges")
    assert code == 1 and "unknown scenario" in err
    code, _, err = run(str(tmp_path / "missing.csv"), "--method", "ges")
    assert code == 1 and "neither a scenario" in err


@pytest.mark.slow
def test_fit_reports_the_main_question_for_found_and_true_graphs(run):
    # IceCream's main question: E[ice_cream | do(advert)] - E[ice_cream | do(none)], truth 8.0 (the
    # simulator's paired units, SE about 0.01 at n = 4000). The row holds the truth, the answers of the
    # SCMs fitted on the found and on the true graph, and their errors (answer - truth).
    code, out, err = run("icecream", "--method", "ges", "--n", "4000", "--fit", "--model", "linear")
    assert code == 0, err
    line = next(ln for ln in out.splitlines() if ln.startswith("E[ice_cream]: advert vs none"))
    truth, found, true, err_found, err_true = map(float, line.split()[-5:])
    assert abs(truth - 8.0) < 0.1
    assert abs(err_found - (found - truth)) < 0.02 and abs(err_true - (true - truth)) < 0.02
    # the hidden festival drives advert and sales: even the true observed graph's fit is biased upwards
    assert err_true > 1.0
