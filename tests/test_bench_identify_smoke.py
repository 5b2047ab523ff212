"""Smoke test: benchmarks/bench_identify.py --quick runs to completion (no timing asserted).

The one benchmark smoke test in the default run (about 2 s): it also exercises the helpers all
the scripts share (benchmarks/_common.py: option parser, machine header, markdown table). The
other scripts' smoke tests are marked slow (``python -m pytest -m slow tests/test_*smoke.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_identify.py"


def test_bench_identify_quick_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--json",
                           str(tmp_path / "out.json")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "| # | case |" in proc.stdout and "machine: nproc=" in proc.stdout
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["machine"]["nproc"] and report["rows"]
    for row in report["rows"]:
        t = row["ours"]
        assert 0 < t["min"] <= t["median"] <= t["max"], (row["case"], t)
