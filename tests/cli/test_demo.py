"""``causalsim demo``: the output folder rules (fast), and the whole quick run (slow)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from causalsim.args import ArgumentError
from causalsim.cli import main
from causalsim.demo import SECTIONS, Section
from causalsim.demo_cli import check_out, format_demo, write_demo

ROOT = Path(__file__).resolve().parents[2]


def test_out_folder_new_empty_or_previous_report_is_accepted(tmp_path):
    assert check_out(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    (tmp_path / "empty").mkdir()
    assert check_out(tmp_path / "empty").is_dir()
    prev = tmp_path / "prev"
    prev.mkdir()
    (prev / "report.html").write_text("old")
    (prev / "manifest.json").write_text(json.dumps({"command": "demo"}))
    assert check_out(prev) == prev


def test_out_folder_with_other_files_is_refused_unless_forced(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(ArgumentError, match="not empty.*--force"):
        check_out(tmp_path)
    # another command's manifest is not a demo report
    (tmp_path / "manifest.json").write_text(json.dumps({"command": "evaluate"}))
    with pytest.raises(ArgumentError, match="not empty"):
        check_out(tmp_path)
    assert check_out(tmp_path, force=True) == tmp_path
    # on the command line: one error line, exit 1, before any simulation runs
    start = time.perf_counter()
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 1
    assert time.perf_counter() - start < 5
    err = capsys.readouterr().err
    assert err.startswith("causalsim: error: --out") and "--force" in err
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_out_folder_that_is_a_file_or_unwritable_is_refused(tmp_path):
    f = tmp_path / "report"
    f.write_text("")
    with pytest.raises(ArgumentError, match="is a file"):
        check_out(f)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permission bits
            pytest.skip("running as root: a read-only folder is still writable")
        with pytest.raises(ArgumentError, match="cannot write"):
            check_out(locked / "sub")
    finally:
        locked.chmod(0o700)


def _fake_sections() -> list[Section]:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    return [Section("one", "First part", "It worked: 1.000.", "A test run.",
                    {"one": pd.DataFrame({"a": [1.5, 2.25], "b": ["x", "y"]})}, {"one.png": fig})]


def test_report_holds_every_takeaway_table_and_figure_and_no_timing(tmp_path):
    secs = _fake_sections()
    paths = write_demo(secs, tmp_path, argv=["demo", "--quick"], seed=3, quick=True, seconds=12.34)
    names = {p.name for p in paths}
    assert {"report.html", "manifest.json", "one.csv", "one.png"} <= names
    page = (tmp_path / "report.html").read_text()
    assert "It worked: 1.000." in page and "First part" in page
    assert page.count("data:image/png;base64,") == 1 and "http" not in page.replace("http-equiv", "")
    assert "12.3" not in page  # the page holds no timing: same seed, same page
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["command"] == "demo" and manifest["seed"] == 3 and manifest["seconds"] == 12.3
    assert manifest["takeaways"] == {"one": "It worked: 1.000."}
    assert pd.read_csv(tmp_path / "one.csv")["a"].tolist() == [1.5, 2.25]
    assert format_demo(secs) == "1. First part\n   It worked: 1.000."


def test_sections_are_the_five_parts_of_the_story():
    assert list(SECTIONS) == ["whatif", "trap", "agents", "leaderboard", "discovery"]


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+\.\d+", text)]


@pytest.mark.slow
def test_quick_demo_tells_the_story_from_its_own_numbers_and_is_reproducible(tmp_path):
    """The whole ``--quick`` run, twice in fresh processes: same report; the takeaways state the truth.

    The timing is printed (it is not an assertion: the machine may be busy); the acceptance target
    is under 60 s on 2 idle cores.
    """
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    pages, takeaways = [], None
    out = tmp_path / "a"  # the second run writes over the first (a previous report): same command line
    for run in ("a", "b"):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "causalsim", "demo", "--quick", "--out", str(out)],
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
        seconds = time.perf_counter() - start
        assert proc.returncode == 0, proc.stderr[-2000:]
        print(f"causalsim demo --quick, run {run}: {seconds:.1f} s")
        pages.append((out / "report.html").read_bytes())
        takeaways = json.loads((out / "manifest.json").read_text())["takeaways"]
        assert proc.stdout.count("\n   ") == 5
    assert pages[0] == pages[1]
    # the story, read back from the numbers the run printed:
    # 1. braking prevents collisions (true ATE about -0.18)
    assert _numbers(takeaways["whatif"])[0] < -0.1
    # 2. the logs say the opposite; the identified estimate and the truth agree in sign and size
    naive, est, lo, hi, truth = _numbers(takeaways["trap"])[:5]
    assert naive > 0 > truth and lo <= truth <= hi and lo < est < hi
    # 3. the naive agent's regret is the worst of the learners, the causal agent's far below it
    agents = pd.read_csv(tmp_path / "a" / "agents.csv").set_index("agent")["regret per decision"]
    assert agents["naive"] > 3 * max(agents["causal"], agents["correlational"])
    assert agents["oracle"] == 0
    # 4. the naive estimator is biased and under-covers; AIPW covers
    board = pd.read_csv(tmp_path / "a" / "leaderboard.csv").set_index("estimator")
    assert board.loc["naive", "coverage"] < 0.5 and board.loc["aipw", "coverage"] >= 0.75
    assert board.loc["causal-forest", "pehe"] > 0
    # 5. discovery scores are real fractions
    disc = pd.read_csv(tmp_path / "a" / "discovery.csv").set_index("metric")["value"]
    assert 0 < disc["adjacency F1"] <= 1


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path, chromium_render):
    """The report of the what-if and discovery parts, opened in a real browser: no console error,
    every image decodes, the tables are there, and the screenshot is not blank."""
    from causalsim.demo import run_demo

    write_demo(run_demo(quick=True, only=["whatif", "discovery"]), tmp_path, argv=["demo"], seed=0,
               quick=True)
    result = chromium_render(tmp_path / "report.html", tmp_path / "shot.png")
    print(result)
    assert result["errors"] == [], result["errors"]
    assert result["images"] == 2 and result["broken"] == 0
    assert result["tables"] == 4
    assert result["nonblank"] > 0.05
