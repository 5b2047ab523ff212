"""``causalsim validate``: leaderboard, output folder, resume, errors; the HTML report's structure."""

from __future__ import annotations

import base64
import json
import re

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from causalsim.cli import main

ARGS = ["validate", "icecream", "--estimators", "naive,regression", "--reps", "3", "--n", "300",
        "--workers", "1"]


@pytest.fixture
def run(capsys):
    def call(*argv: str) -> tuple[int, str, str]:
        with threadpool_limits(1):
            code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return call


def test_validate_writes_folder_and_resumes(run, tmp_path):
    out = tmp_path / "v"
    code, text, err = run(*ARGS, "--out", str(out))
    assert code == 0, err
    assert "effect of advert = advert vs none on ice_cream" in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if "estimator" in line and "rmse" in line)
    assert {lines[header + 1].split()[0], lines[header + 2].split()[0]} == {"naive", "regression"}
    names = {"validation.csv", "records.csv", "estimates.png", "graph.png", "report.html", "manifest.json",
             "results.jsonl"}
    assert names <= {p.name for p in out.iterdir()}
    board = pd.read_csv(out / "validation.csv")
    assert len(board) == 2 and (board["reps"] == 3).all() and "seconds" in board
    # confounded adverts: the naive contrast is biased by ~19 cones (scenario docstring), far more than
    # regression adjustment's ~4 (the hidden festivals)
    b = board.set_index("estimator")["bias"]
    assert b["naive"] > 10 and b["naive"] > 2 * abs(b["regression"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["argv"][:2] == ["validate", "icecream"] and manifest["reps"] == 3
    assert manifest["contrast"] == ["advert", "none"] and "numpy" in manifest["versions"]
    page = (out / "report.html").read_text()
    assert "<table class=\"sortable\">" in page and "http" not in page.replace("http-equiv", "")
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(uris) == 2 and all(base64.b64decode(u)[:8] == b"\x89PNG\r\n\x1a\n" for u in uris)
    # rerun: every replication is in results.jsonl already, nothing is refitted
    before = (out / "results.jsonl").read_bytes()
    code, _, err = run(*ARGS, "--out", str(out))
    assert code == 0, err and (out / "results.jsonl").read_bytes() == before
    again = pd.read_csv(out / "validation.csv")
    pd.testing.assert_frame_equal(board.drop(columns="seconds"), again.drop(columns="seconds"))
    # the same folder with another configuration is refused
    code, _, err = run(*ARGS[:7], "500", *ARGS[8:], "--out", str(out))
    assert code == 1 and "differs in: n" in err and "start fresh" in err


def test_validate_errors(run):
    code, _, err = run("validate", "icecream", "--estimators", "naive,aipv", "--reps", "2", "--workers", "1")
    assert code == 1 and "did you mean 'aipw'" in err
    code, _, err = run("validate", "--reps", "2")
    assert code == 1 and "SCENARIO or --all" in err
    code, _, err = run("validate", "icecream", "--estimators", "2sls", "--reps", "2", "--workers", "1")
    assert code == 1 and "needs an instrument" in err
    with pytest.raises(SystemExit):
        run("validate", "icecream", "--reps", "0")


@pytest.mark.slow
def test_report_renders_in_headless_chromium(run, tmp_path, chromium_render):
    out = tmp_path / "v"
    assert run(*ARGS, "--knob", "confounding=0,1", "--out", str(out))[0] == 0
    result = chromium_render(out / "report.html", tmp_path / "shot.png")
    # every image decoded (naturalWidth > 0), the leaderboard is there, and no console error
    assert result["images"] > 0 and result["broken"] == 0, result
    assert result["tables"] >= 1 and not result["errors"], result
    # the leaderboard has a row per estimator and knob value: 2 x 2
    board = re.search(r'<table class="sortable">.*?<tbody>(.*?)</tbody>', (out / "report.html").read_text(),
                      re.S)
    assert board is not None and board.group(1).count("<tr") == 4
