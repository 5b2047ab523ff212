"""Helpers for seeded statistical tests (used by causalsim's own suite).

Statistical tests run at a fixed seed by default and can be swept over others
on demand, as scikit-learn's ``global_random_seed`` does: set
``CAUSALSIM_SEEDS`` to ``"0-49"`` (a range) or ``"1,5,9"`` (a list).

>>> seeds_from_env(environ={})
[0]
>>> seeds_from_env(environ={"CAUSALSIM_SEEDS": "3-5"})
[3, 4, 5]
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from causal.errors import CausalSimError

__all__ = ["seeds_from_env", "run_python"]


def run_python(code: str, environ: Mapping[str, str | None]) -> tuple[str, str]:
    """Run ``code`` in a fresh interpreter with ``environ`` changed (``None`` removes a variable);
    return its stripped standard output and its standard error."""
    env = dict(os.environ)
    for key, value in environ.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    return out.stdout.strip(), out.stderr


def seeds_from_env(default: str = "0", *, environ: Mapping[str, str] | None = None) -> list[int]:
    """The seeds to run seeded tests at: ``CAUSALSIM_SEEDS`` (``"a-b"`` or ``"a,b,c"``), else ``default``."""
    spec = (os.environ if environ is None else environ).get("CAUSALSIM_SEEDS", default).strip()
    try:
        if "-" in spec:
            lo, hi = map(int, spec.split("-"))
            out = list(range(lo, hi + 1))
        else:
            out = [int(s) for s in spec.split(",") if s.strip()]
    except ValueError:
        out = []
    if not out or min(out) < 0:
        raise CausalSimError(f"CAUSALSIM_SEEDS={spec!r}: give a range like 0-49 or a list like 1,5,9")
    return out
