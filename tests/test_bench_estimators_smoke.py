"""Smoke test: benchmarks/bench_estimators.py --quick runs to completion (no timing asserted)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_estimators.py"


def _finite(values) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


@pytest.mark.slow  # about 8 s; tests/test_bench_identify_smoke.py is the default-run smoke test
def test_bench_estimators_quick_runs(tmp_path):
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert {r["case"].split(" ")[0] for r in result["rows"]} == {
        "AIPW", "IPW", "RegressionAdjustment", "PropensityMatching", "TwoStageLeastSquares"}
    assert all(r["ours"]["repeats"] == 2 and r["n"] == 2000 for r in result["rows"])

    # the paired accuracy study: 3 data sets under --quick, the first being the timed one
    assert result["accuracy_study"]["reps"] == {"2000": 3}
    assert all(math.isfinite(v) for v in result["seconds"].values())
    assert "error met" in proc.stdout and "2.3%" in proc.stdout
    for r in result["rows"]:
        acc = r["accuracy"]
        assert acc["reps"] == 3 and len(acc["seeds"]) == 3 and len(set(acc["seeds"])) == 3
        assert len(acc["ours_estimates"]) == len(acc["ours_errors"]) == 3
        assert _finite(acc["ours_estimates"]) and _finite(acc["ours_errors"]) and _finite([acc["rmse_ours"]])
        assert acc["ours_estimates"][0] == r["estimate"]
        assert math.isclose(acc["rmse_ours"], math.sqrt(sum(e * e for e in acc["ours_errors"]) / 3))
        if not r["peer_in_study"]:  # peers not installed
            assert acc["met"] is None and r["accuracy_met"] is None
            continue
        for key in ("peer_estimates", "peer_errors", "sq_err_diffs"):
            assert len(acc[key]) == 3 and _finite(acc[key]), key
        assert acc["peer_estimates"][0] == r["peer_estimate"]
        assert _finite([acc["rmse_peer"], acc["sq_err_diff_mean"], acc["sq_err_diff_se"]])
        assert acc["sq_err_diff_se"] >= 0
        assert isinstance(acc["met"], bool) and r["accuracy_met"] is acc["met"]
        assert any("little power" in note for note in r["notes"])
