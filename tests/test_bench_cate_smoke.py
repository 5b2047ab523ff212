"""Smoke test: benchmarks/bench_cate.py --quick runs to completion (no timing asserted; needs EconML)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_cate.py"


@pytest.mark.slow  # about 40 s on an idle machine (the EconML fits and the scenario's Monte-Carlo truth)
def test_bench_cate_quick_runs(tmp_path):
    pytest.importorskip("econml")
    out = tmp_path / "out.json"
    args = ["--quick", "--configs", "equal", "--scenario", "healthcare", "--json", str(out)]
    proc = subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(out.read_text())
    rows = result["rows"]
    assert [(r["scenario"], r["case"], r["config"]) for r in rows] == [("healthcare", c, "equal")
                                                                       for c in ("forest", "dr", "dml")]
    for r in rows:
        assert r["n"] == 1000 and r["ours"]["repeats"] == r["econml"]["repeats"] == 2
        assert all(math.isfinite(r[k]) for k in ("speedup", "pehe_ours", "pehe_econml", "pehe_ratio"))
    assert 0 <= rows[0]["coverage_ours"] <= 1 and rows[2]["beta_z"] >= 0
    assert "| healthcare | 1,000 | forest/equal |" in proc.stdout and "speed-up" in proc.stdout
