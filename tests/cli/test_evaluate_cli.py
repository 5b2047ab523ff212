"""``causalsim evaluate``: the printed table is agents.summarize of the same run; files; errors.

The runs are tiny (a few episodes of a few units, a few hundred logged rows) so
that each test takes seconds: the numbers are checked against the frame the
same call produced, not against the truth.
"""

from __future__ import annotations

import doctest
import json

import numpy as np
import pandas as pd
import pytest

import agents
import causalsim.evaluate_cli
from causalsim.cli import main
from causalsim.evaluate_cli import parse_knob, parse_value

SMALL = ["--episodes", "3", "--logs", "200", "--draws", "20"]


@pytest.fixture
def frames(monkeypatch) -> list[tuple[pd.DataFrame, dict]]:
    """Every frame ``agents.evaluate`` returns during the test, with the keywords it was given."""
    got = []
    original = agents.evaluate

    def catch(*args, **kwargs):
        df = original(*args, **kwargs)
        got.append((df, kwargs))
        return df

    monkeypatch.setattr(agents, "evaluate", catch)
    return got


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table(out: str, knobs: int) -> list[list[str]]:
    """The table's data rows, split into cells (the interval's two halves joined)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if " agent " in f" {line} ")
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("wrote "):
            break
        cells = line.split()
        i = knobs + 3  # the interval "[lo, hi]" is two words
        rows.append([*cells[:i], cells[i] + " " + cells[i + 1], *cells[i + 2:]])
    return rows


def same(printed: str, value: float) -> bool:
    """Whether ``printed`` is ``value`` rounded to the printed decimals."""
    d = len(printed.split(".")[1]) if "." in printed else 0
    return abs(float(printed) - value) <= 0.5 * 10.0 ** -d + 1e-12


def check_against_summary(out: str, summary: pd.DataFrame, knobs: list[str], scale: float) -> None:
    rows = table(out, len(knobs))
    assert len(rows) == len(summary)
    for cells, (_, r) in zip(rows, summary.iterrows(), strict=True):
        assert cells[:len(knobs)] == [str(r[k]).lower() for k in knobs]
        reward, regret, ci, clair, outcome, queries = cells[len(knobs) + 1:]
        assert cells[len(knobs)] == r["agent"]
        lo, hi = ci.strip("[]").split(", ")
        assert same(reward, r["reward"]) and same(regret, r["regret_oracle"])
        assert same(lo, r["regret_oracle_low"]) and same(hi, r["regret_oracle_high"])
        assert same(clair, r["regret_clairvoyant"]) and same(queries, r["queries"])
        assert same(outcome, r["outcome_mean"] * scale)


def test_icecream_table_is_summarize_of_the_same_run_and_files_are_written(frames, capsys, tmp_path):
    out_dir = tmp_path / "new" / "run"
    argv = ["evaluate", "icecream", "--agents", "random,naive,query,oracle", "--knob", "max_units=8",
            *SMALL, "--seed", "3", "--out", str(out_dir)]
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    (df, kwargs), = frames
    assert kwargs["episodes"] == 3 and kwargs["seed"] == 3 and kwargs["knobs"] == {"max_units": [8]}
    assert kwargs["progress"] is False  # stderr is not a terminal here
    summary = agents.summarize(df, by=["max_units"])
    lines = out.splitlines()
    assert lines[0] == ("scenario: icecream (causalsim/IceCream-v0), 3 episodes, seed 3; "
                        "agents fit on 200 logged rows")
    assert lines[2] == "outcome: ice_cream, its mean per decision; queries: per episode"
    assert lines[3].split()[:4] == ["max_units", "agent", "reward", "regret"]
    assert "ice_cream [cones/day]" in lines[3]
    check_against_summary(out, summary, ["max_units"], 1.0)
    oracle = table(out, 1)[-1]
    assert oracle[1] == "oracle" and float(oracle[3]) == 0.0  # the oracle's regret vs itself

    assert sorted(p.name for p in out_dir.iterdir()) == ["evaluate.csv", "manifest.json", "regret.png",
                                                         "summary.csv"]
    pd.testing.assert_frame_equal(pd.read_csv(out_dir / "evaluate.csv"), df, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_csv(out_dir / "summary.csv"), summary, check_dtype=False)
    assert (out_dir / "regret.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["command"] == "evaluate" and manifest["argv"] == argv
    assert manifest["seed"] == 3 and manifest["agents"] == ["random", "naive", "query", "oracle"]
    assert manifest["parameters"] == {"episodes": 3, "query_budget": None, "query_cost": 0.0,
                                      "knobs": {"max_units": [8]}, "logs": 200, "draws": 20}
    assert manifest["scenario"]["id"] == "causalsim/IceCream-v0"
    assert {"causalsim", "numpy", "pandas"} <= set(manifest["versions"])
    assert [r["agent"] for r in manifest["results"]] == list(summary.agent)
    assert np.allclose([r["regret_oracle"] for r in manifest["results"]], summary.regret_oracle)
    assert lines[-1] == "wrote " + ", ".join(str(out_dir / f) for f in
                                            ("evaluate.csv", "summary.csv", "regret.png", "manifest.json"))


def test_driving_binary_outcome_is_per_1000_and_knobs_make_a_grid(frames, capsys):
    code, out, err = run(capsys, "evaluate", "driving", "--agents", "random,oracle",
                         "--knob", "hidden_confounder=false,true", "--knob", "max_units=4", *SMALL)
    assert (code, err) == (0, "")
    (df, kwargs), = frames
    assert kwargs["knobs"] == {"hidden_confounder": [False, True], "max_units": [4]}
    knobs = ["hidden_confounder", "max_units"]
    summary = agents.summarize(df, by=knobs)
    assert len(summary) == 4
    assert "outcome: collision per 1,000 decisions (the decisions with collision = 1)" in out
    assert "collision per 1,000" in out.splitlines()[3]
    check_against_summary(out, summary, knobs, 1000.0)
    assert [r[0] for r in table(out, 2)] == ["false", "false", "true", "true"]


def test_query_budget_and_cost_are_passed_on(frames, capsys):
    code, _, _ = run(capsys, "evaluate", "icecream", "--agents", "query", "--knob", "max_units=6",
                     "--query-budget", "2", "--query-cost", "0.5", *SMALL)
    assert code == 0
    (df, kwargs), = frames
    assert (kwargs["query_budget"], kwargs["query_cost"]) == (2.0, 0.5)
    assert (df.query_spent <= 2).all() and np.allclose(df.query_spent, 0.5 * df.queries)


def test_progress_bar_only_on_a_terminal(frames, capsys, monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert main(["evaluate", "icecream", "--agents", "oracle", "--knob", "max_units=3", *SMALL]) == 0
    capsys.readouterr()
    assert frames[0][1]["progress"] is True


def one_error_line(capsys, *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("causalsim: error: ")
    return err


@pytest.mark.parametrize(("argv", "needles"), [
    (["driving", "--agents", "random,randm"], ["unknown agent 'randm'", "did you mean 'random'?"]),
    (["drivng", "--agents", "random"], ["unknown scenario 'drivng'", "did you mean 'driving'?"]),
    (["driving", "--agents", "random,causal"], ["agent 'causal' on 'driving'", "--agents causal-query"]),
    (["driving", "--agents", "random", "--knob", "speed_limit=1,2"], ["unknown parameter", "speed_limit"]),
    (["driving", "--agents", "random", "--knob", "confounding"], ["--knob 'confounding'", "NAME=VALUE"]),
    (["driving", "--agents", "random", "--knob", "max_units=2", "--knob", "max_units=3"], ["twice"]),
    (["driving", "--agents", "random,random"], ["twice"]),
    (["driving", "--agents", ","], ["--agents is empty"]),
])
def test_errors_are_one_line(capsys, argv, needles):
    err = one_error_line(capsys, "evaluate", *argv)
    for needle in needles:
        assert needle in err


def test_causal_refusal_comes_before_any_setting_is_played(frames, capsys):
    """causal is identified without the hidden confounder and refused with it: the refusal is
    given before the first setting is played."""
    one_error_line(capsys, "evaluate", "driving", "--agents", "causal",
                   "--knob", "hidden_confounder=false,true")
    assert frames == []


def test_usage_errors_exit_2(capsys):
    for argv in (["evaluate", "driving"], ["evaluate", "driving", "--agents", "random", "--episodes", "0"],
                 ["evaluate", "driving", "--agents", "random", "--seed", "-1"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    capsys.readouterr()


def test_parse_knob_values():
    assert parse_knob("hidden_confounder=False,TRUE") == ("hidden_confounder", [False, True])
    assert parse_knob(" confounding = 0, 1.5 ,2 ") == ("confounding", [0, 1.5, 2])
    assert [type(parse_value(t)) for t in ("1", "1.0", "nan", "x")] == [int, float, float, str]


def test_docstring_examples():
    result = doctest.testmod(causalsim.evaluate_cli)
    assert result.failed == 0 and result.attempted > 0
