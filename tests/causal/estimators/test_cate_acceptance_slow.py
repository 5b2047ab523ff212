"""Issue 14's accuracy acceptance: CATE estimators with DEFAULT settings against the simulator's truth.

Marketing (discount vs no contact) and Healthcare (protocol A vs standard care), both with
``hidden_confounder=False``; 200,000 logged units each, of which the two arms compared are the
training data (92,169 in Marketing, 144,594 in Healthcare); 2,000 other logged units (seed 1)
are the evaluation points, each with its true CATE at its observed context (``sim.cate_truth``,
2,000 Monte-Carlo draws: the truth's own error is 0.007 for conversion, 0.001 days for recovery).
The code is ``docs/heterogeneous_pehe.py``, which also prints the table of docs/heterogeneous.md.

Marketing's outcome is ``conversion`` (did the customer buy), not ``revenue``. Revenue is conversion
times a lognormal basket value: outcome sd 28 against a CATE sd of 1.9, a ratio of 0.07 against
0.09 for conversion (sd 0.49, CATE sd 0.046), with a heavy right tail. Measured at 200,000 logged
units (seed 0), on revenue the DR-learner's PEHE is 1.01 and the causal forest's 1.12 of the constant
true ATE's (the X-learner's 0.53, LinearDML's 0.42): no n allowed here (<= 200,000) gives the
forest and the DR-learner a useful revenue CATE, so the acceptance is stated on conversion, whose
CATE (the uplift in purchase probability) is what targeting needs; revenue's numbers stay in the
docs table.

Measured (PEHE as a share of the constant predictor's), seed 0 / seed 1: conversion — forest
0.88 / 0.92, DR 0.84 / 0.66, X 0.46 / 0.45; healthcare — forest 0.31 / 0.32, DR 0.53 / 0.51, X
0.15 / 0.18 (the docs table has every learner). Forest 95% intervals covered 96.5% / 96.5% of the
conversion points and 95.9% / 95.2% of the healthcare points. The run takes about 5 minutes on an
idle machine (up to an hour on 2 busy shared cores), so only two seeds were measured; taking the
sd of a ratio as its two seeds' difference over sqrt(2), the chance that a fresh seed fails is about
0.05% for the forest on conversion (mean 0.90, sd 0.03) and about 3% for the DR-learner there (mean
0.75, sd 0.13: its pseudo-outcomes are the noisiest); healthcare's margins are 0.45 or more. The
test runs at the fixed seed 0, so it fails only if the code changes what it computes.
Coverage: the forest's owner measured 0.964-0.988 over seeds 0-4 on its
own design, and 0.952-0.965 here, so the 0.90 floor fails with probability well below 0.001.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "docs" / "heterogeneous_pehe.py"
N, EVAL_N, SAMPLES, SEED = 200_000, 2000, 2000, 0


@pytest.fixture(scope="module")
def pehe_script() -> dict[str, Any]:
    return runpy.run_path(str(SCRIPT), run_name="pehe_table")


@pytest.mark.slow
@pytest.mark.parametrize("case", ["marketing:conversion", "healthcare:recovery_days"])
def test_learners_beat_the_constant_effect_and_forest_intervals_cover(pehe_script: dict[str, Any],
                                                                      case: str) -> None:
    res = pehe_script["run_case"](case, N, EVAL_N, SAMPLES, SEED)
    print("\n" + pehe_script["table"](res))                     # every learner's PEHE beside the constant's
    assert set(res["pehe"]) == set(pehe_script["ESTIMATORS"])
    for name in ("CausalForest", "DR-learner", "X-learner"):
        assert res["pehe"][name] < res["constant"], (name, res["pehe"][name], res["constant"])
    assert res["forest_coverage"] >= 0.90
