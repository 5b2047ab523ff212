"""Smoke test: ``benchmarks/bench_env.py --quick`` runs and writes its figures.

Not a timed test (see benchmarks/README.md): it only checks that the script runs at
tiny size, prints its table, and writes JSON with one row per registered
scenario and positive numbers. The exact checks are deterministic: given the
same seeds and actions, ``CausalVectorEnv`` (``gymnasium.make_vec``) and
``SyncVectorEnv`` over ``CausalEnv`` give the same rewards, in the timed
stream and in the untimed check where every sub-environment autoresets.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import scenarios

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_env.py"


def _positive(t: dict) -> bool:
    return (all(math.isfinite(t[k]) and t[k] > 0 for k in ("median", "min", "max"))
            and t["min"] <= t["median"] <= t["max"] and len(t["values"]) >= 5
            and all(math.isfinite(x) and x > 0 for x in t["values"]))


@pytest.mark.slow
def test_bench_env_quick(tmp_path: Path) -> None:
    out = tmp_path / "bench_env.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "| scenario |" in proc.stdout and "CartPole" in proc.stdout and "gymnasium" in proc.stdout

    report = json.loads(out.read_text())
    assert report["bench"] == "env" and report["quick"] is True
    assert report["machine"]["nproc"] and report["machine"]["numpy"] and report["machine"]["gymnasium"]
    rows = {row["scenario"]: row for row in report["rows"]}
    assert sorted(rows) == scenarios.names() == sorted(report["setup"]["scenarios"])
    for name, row in rows.items():
        assert row["env_id"] == scenarios.env_id(name)
        assert f"| {name} |" in proc.stdout
        for col in ("single", "vector", "query"):
            fig = row[col]
            assert _positive(fig["ours"]), (name, col, fig["ours"])
            assert _positive(fig["ref"]), (name, col, fig["ref"])
            assert fig["ratio"] > 0 and math.isfinite(fig["ratio"]), (name, col)
            assert fig["cpu_ratio"] > 0 and math.isfinite(fig["cpu_ratio"]), (name, col)
            assert isinstance(fig["meets"], bool), (name, col)

        # accuracy beside time (deterministic, not timed)
        v = row["vector"]
        assert v["max_abs_reward_diff"] == 0.0, name
        assert v["compared_steps"] > 0, name
        check = v["check"]
        assert check["max_abs_reward_diff"] == 0.0, name
        assert check["min_autoresets_per_env"] >= 1 and check["same_autoresets"], name

        answers = row["query"]["answers"]
        assert answers, name
        for a in answers:
            assert a["n"] == 256, (name, a)
            assert all(math.isfinite(a[k]) for k in ("mean", "stderr", "exact", "exact_stderr", "z"))
            assert a["stderr"] >= 0 and a["exact_n"] >= 20_000, (name, a)
