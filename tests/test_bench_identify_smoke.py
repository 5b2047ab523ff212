"""Smoke test: benchmarks/bench_identify.py --quick runs to completion (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_identify.py"


def test_bench_identify_quick_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--json",
                           str(tmp_path / "out.json")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
