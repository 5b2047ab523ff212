"""Smoke test: ``benchmarks/bench_env.py --quick`` runs and writes its figures.

Not a timed test (see BENCHMARKS.md): it only checks that the script runs at
tiny size, prints its table, and writes JSON with every row and positive
numbers. The one exact check is deterministic: given the same seeds and
actions, ``CausalVectorEnv`` and ``SyncVectorEnv`` over ``CausalEnv`` give the
same rewards.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_env.py"
ROWS = ["1", "2", "3", "4"]


def _positive(t: dict) -> bool:
    return (all(math.isfinite(t[k]) and t[k] > 0 for k in ("median", "min", "max"))
            and t["min"] <= t["median"] <= t["max"] and len(t["values"]) >= 5
            and all(x > 0 for x in t["values"]))


@pytest.mark.slow
def test_bench_env_quick(tmp_path: Path) -> None:
    out = tmp_path / "bench_env.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "| # | case |" in proc.stdout and "CartPole" in proc.stdout and "gymnasium" in proc.stdout

    report = json.loads(out.read_text())
    assert report["bench"] == "env" and report["quick"] is True
    assert report["machine"]["nproc"] and report["machine"]["numpy"] and report["machine"]["gymnasium"]
    assert report["setup"]["nodes"] == 10
    rows = {row["key"]: row for row in report["rows"]}
    assert list(rows) == ROWS
    for key, row in rows.items():
        assert _positive(row["ours"]), (key, row["ours"])
        assert _positive(row["ref"]), (key, row["ref"])
        assert row["ratio"] > 0, (key, row["ratio"])
        assert row["accuracy_values"]["cpu_ratio"] > 0, key

    # accuracy beside time (deterministic, not timed)
    assert rows["2"]["accuracy_values"]["max_abs_reward_diff"] == 0.0
    q = rows["3"]["accuracy_values"]
    assert q["n"] == 256 and q["stderr"] > 0 and math.isfinite(q["mean"])
    assert math.isfinite(rows["1"]["accuracy_values"]["z"])
