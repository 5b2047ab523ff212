"""The API reference builds from the docstrings without a single pdoc warning.

``python docs/api.py --out DIR`` is the one command documented in docs/index.md; this test runs
it (in a fresh interpreter, as a reader would) into a temporary folder. Slow: pdoc imports and
renders about a hundred modules (a minute or two on a loaded 2-core machine).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_api_reference_builds_without_warnings(tmp_path, capsys):
    pytest.importorskip("pdoc")
    out = tmp_path / "api"
    start = time.perf_counter()
    run = subprocess.run([sys.executable, str(ROOT / "docs" / "api.py"), "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=1200,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    with capsys.disabled():
        print(f"\nAPI reference built in {time.perf_counter() - start:.1f} s")
    assert run.returncode == 0, f"pdoc warned or failed:\n{run.stderr[-4000:]}"
    assert "(0 warnings)" in run.stdout and not run.stderr.strip(), run.stderr[-4000:]
    # every layer has its page, and a submodule hidden by its package's __all__ has one too
    for page in ["causal.html", "sim.html", "scenarios.html", "agents.html", "causalsim.html",
                 "causal/estimators/weighting.html", "causal/validate.html", "agents/evaluate.html"]:
        assert (out / page).is_file(), f"no page {page}"
    weighting = (out / "causal/estimators/weighting.html").read_text(encoding="utf-8")
    assert 'id="AIPW"' in weighting and "Parameters" in weighting
    assert not list(out.rglob("_*.html")), "private modules are not documented"
