"""Smoke test: benchmarks/bench_estimators.py --quick runs to completion (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_estimators.py"


def test_bench_estimators_quick_runs(tmp_path):
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert {r["case"].split(" ")[0] for r in result["rows"]} == {
        "AIPW", "IPW", "RegressionAdjustment", "PropensityMatching", "TwoStageLeastSquares"}
    assert all(r["ours"]["repeats"] == 2 and r["n"] == 2000 for r in result["rows"])
