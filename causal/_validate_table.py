"""Scoring replications against the truth: the validation table.

Per knob setting and estimator, over the replications whose fit succeeded:

* ``estimate``: the mean estimate; ``bias`` = mean - truth, with its Monte-Carlo
  standard error ``bias_se`` = sd / sqrt(reps);
* ``rmse``: sqrt(mean((estimate - truth)^2));
* ``coverage``: the share of intervals containing the truth, with the 95%
  Wilson score interval ``coverage_low``, ``coverage_high`` (Wilson 1927);
* ``ci_width``: the mean interval width; ``pehe``: the mean PEHE of the
  conditional effects (CATE estimators only, else NaN);
* ``reps``: successful fits; ``failures``: fits that raised.

The table is a pure function of the records sorted by setting, estimator and
replication, so it has the same bytes however the replications were run. Fit
times are kept out of it (they differ from run to run) and summarised
separately by :func:`timing`.

References
----------
E. B. Wilson (1927), "Probable inference, the law of succession, and
statistical inference", *JASA* 22(158), 209-212.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["wilson", "summarise", "timing", "records_frame", "RECORD_COLUMNS"]

RECORD_COLUMNS = ["estimator", "estimate", "stderr", "ci_low", "ci_high", "pehe", "seconds", "error"]
_Z = 1.959963984540054


def wilson(k: int, n: int, z: float = _Z) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k / n``.

    >>> [round(v, 4) for v in wilson(95, 100)]
    [0.8882, 0.9785]
    """
    if n == 0:
        return math.nan, math.nan
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def records_frame(items: dict[tuple[int, int], list[dict[str, Any]]], settings: Sequence[Any],
                  names: Sequence[str]) -> pd.DataFrame:
    """One row per setting x estimator x replication, sorted (knob columns first)."""
    order = {name: i for i, name in enumerate(names)}
    rows = []
    for (s, r), recs in items.items():
        for rec in recs:
            if rec["estimator"] in order:
                rows.append((s, order[rec["estimator"]], r, rec))
    rows.sort(key=lambda t: t[:3])
    knobs = [k for k, _ in settings[0].knobs] if settings else []
    data: dict[str, list[Any]] = {k: [] for k in knobs}
    data.update({"setting": [], "rep": []})
    data.update({c: [] for c in RECORD_COLUMNS})
    data["truth"] = []
    for s, _, r, rec in rows:
        for k, v in settings[s].knobs:
            data[k].append(v)
        data["setting"].append(s)
        data["rep"].append(r)
        for c in RECORD_COLUMNS:
            data[c].append(rec.get(c, "" if c == "error" else math.nan))
        data["truth"].append(settings[s].truth)
    frame = pd.DataFrame(data)
    for c in ("estimate", "stderr", "ci_low", "ci_high", "pehe", "seconds", "truth"):
        frame[c] = frame[c].astype(np.float64)
    frame["error"] = frame["error"].fillna("").astype(str)
    return frame


def _row(est: np.ndarray, lo: np.ndarray, hi: np.ndarray, pehe: np.ndarray, truth: float,
         failures: int) -> dict[str, Any]:
    k = len(est)
    nan = math.nan
    if k == 0:
        return {"truth": truth, "estimate": nan, "bias": nan, "bias_se": nan, "rmse": nan, "coverage": nan,
                "coverage_low": nan, "coverage_high": nan, "ci_width": nan, "pehe": nan, "reps": 0,
                "failures": failures}
    mean = float(np.mean(est))
    sd = float(np.std(est, ddof=1)) if k > 1 else nan
    covered = int(np.count_nonzero((lo <= truth) & (truth <= hi)))
    c_lo, c_hi = wilson(covered, k)
    finite = pehe[np.isfinite(pehe)]
    return {"truth": truth, "estimate": mean, "bias": mean - truth, "bias_se": sd / math.sqrt(k),
            "rmse": float(np.sqrt(np.mean((est - truth) ** 2))), "coverage": covered / k,
            "coverage_low": c_lo, "coverage_high": c_hi, "ci_width": float(np.mean(hi - lo)),
            "pehe": float(np.mean(finite)) if len(finite) else nan, "reps": k, "failures": failures}


def summarise(records: pd.DataFrame, settings: Sequence[Any], names: Sequence[str]) -> pd.DataFrame:
    """The validation table (see the module docstring), one row per setting x estimator."""
    knobs = [k for k, _ in settings[0].knobs] if settings else []
    rows = []
    for s, setting in enumerate(settings):
        block = records[records["setting"] == s]
        for name in names:
            sub = block[block["estimator"] == name]
            ok = sub[sub["error"] == ""]
            row = {**dict(setting.knobs), "estimator": name}
            row.update(_row(ok["estimate"].to_numpy(), ok["ci_low"].to_numpy(), ok["ci_high"].to_numpy(),
                            ok["pehe"].to_numpy(), setting.truth, int(len(sub) - len(ok))))
            rows.append(row)
    cols = [*knobs, "estimator", "truth", "estimate", "bias", "bias_se", "rmse", "coverage", "coverage_low",
            "coverage_high", "ci_width", "pehe", "reps", "failures"]
    return pd.DataFrame(rows, columns=cols)


def timing(records: pd.DataFrame, settings: Sequence[Any], names: Sequence[str]) -> pd.DataFrame:
    """Mean seconds per fit, one row per setting x estimator (not deterministic: kept out of the table)."""
    knobs = [k for k, _ in settings[0].knobs] if settings else []
    rows = []
    for s, setting in enumerate(settings):
        block = records[records["setting"] == s]
        for name in names:
            sec = block.loc[block["estimator"] == name, "seconds"].to_numpy()
            rows.append({**dict(setting.knobs), "estimator": name,
                         "seconds": float(np.mean(sec)) if len(sec) else math.nan})
    return pd.DataFrame(rows, columns=[*knobs, "estimator", "seconds"])
