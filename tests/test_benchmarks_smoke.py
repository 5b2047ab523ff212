"""Smoke test: ``benchmarks/bench_scm.py --quick`` runs and writes its figures.

Not a timed test (see benchmarks/README.md): it only checks that the script runs at
tiny size, prints its table, and writes JSON with every row and positive times.
Set ``CAUSALSIM_SMOKE_NO_PEERS=1`` to skip the DoWhy rows.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_scm.py"
ROWS = ["1a", "1a'", "1b", "1c", "2", "3", "4"]
PEER_ROWS = {"2", "3", "4"}


def _times_ok(t: dict) -> bool:
    return (t["median"] > 0 and t["min"] > 0 and t["max"] >= t["median"] >= t["min"]
            and len(t["times"]) == 2 and all(x > 0 for x in t["times"]))


@pytest.mark.slow  # about 4 s; tests/test_bench_identify_smoke.py is the default-run smoke test
def test_bench_scm_quick(tmp_path: Path) -> None:
    out = tmp_path / "bench_scm.json"
    no_peers = os.environ.get("CAUSALSIM_SMOKE_NO_PEERS", "") not in ("", "0")
    cmd = [sys.executable, str(SCRIPT), "--quick", "--json", str(out)]
    if no_peers:
        cmd.append("--no-peers")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "| # | case |" in proc.stdout and "numpy" in proc.stdout

    report = json.loads(out.read_text())
    assert report["quick"] is True
    assert report["machine"]["numpy"] and report["machine"]["nproc"]
    rows = {row["key"]: row for row in report["rows"]}
    assert list(rows) == ROWS

    have_peer = importlib.util.find_spec("dowhy") is not None and not no_peers
    for key, row in rows.items():
        assert _times_ok(row["ours"]), (key, row["ours"])
        if key in PEER_ROWS and not have_peer:
            assert row["ref"] is None and row["ratio"] is None
            assert "not installed" in row["reference"] or "skipped" in row["reference"]
        else:
            assert _times_ok(row["ref"]), (key, row["ref"])
            assert row["ratio"] > 0

    # accuracy is reported beside time: exact abduction must be exact
    assert rows["4"]["accuracy_values"]["max_abs_err_ours"] < 1e-9
    for key in ("1a", "1b", "1c"):
        assert 0 <= rows[key]["accuracy_values"]["corr_err"] < 0.2


AGENTS_SCRIPT = ROOT / "benchmarks" / "bench_agents.py"


@pytest.mark.slow  # a few seconds on an idle machine
def test_bench_agents_quick(tmp_path: Path) -> None:
    out = tmp_path / "bench_agents.json"
    proc = subprocess.run([sys.executable, str(AGENTS_SCRIPT), "--quick", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "| # | ours |" in proc.stdout

    report = json.loads(out.read_text())
    assert report["quick"] is True and report["machine"]["numpy"]
    rows = {row["key"]: row for row in report["rows"]}
    assert list(rows) == ["evaluate", "act_batch"]
    for row in rows.values():
        for side in ("ours", "ref"):
            t = row[side]
            assert len(t["values"]) == 2 and t["max"] >= t["median"] >= t["min"] > 0, (side, t)
        assert row["ratio"] > 0
    # accuracy beside time: the batched and single-env runs give the same frame, the same actions
    assert rows["evaluate"]["identical"] and rows["evaluate"]["max_abs_diff"] == 0.0
    assert rows["evaluate"]["regret_oracle_per_decision"]["oracle"] == 0.0
    assert rows["act_batch"]["same_actions"]
