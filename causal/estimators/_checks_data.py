"""The checks of bad data: clear errors for empty, incomplete or unusable data.

Checks of :func:`causal.estimators.checks.check_estimator` that fit on broken
copies of the known design and expect an :class:`~causal.errors.EstimationError`
naming the problem: no rows, a missing column, a NaN or an infinite value, a
constant treatment; for back-door designs, covariates that separate the arms or
leave little overlap (or an :class:`~causal.estimators.weighting.OverlapWarning`);
for IV designs, the treatment as its own instrument and an instrument that does
not move it (or a :class:`~causal.estimators.iv.WeakInstrumentWarning`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from causal.estimators._checks_harness import _expect_error
from causal.estimators.designs import Design
from causal.estimators.iv import WeakInstrumentWarning
from causal.estimators.weighting import OverlapWarning

__all__ = ["check_empty_data", "check_missing_column", "check_nan_and_inf", "check_constant_treatment",
           "check_separation", "check_poor_overlap", "check_bad_instrument"]


def check_empty_data(est: Any, design: Design) -> None:
    """A data frame with no rows raises an :class:`EstimationError` saying so."""
    _expect_error(est, design, design.data.iloc[:0], "empty data", r"no rows|empty|\b0 rows")


def check_missing_column(est: Any, design: Design) -> None:
    """Each role's column, dropped from the data, is named by the :class:`EstimationError`."""
    for col, role in design.columns().items():
        _expect_error(est, design, design.data.drop(columns=[col]), f"{role} column {col!r} missing",
                      re.escape(repr(col)))


def check_nan_and_inf(est: Any, design: Design) -> None:
    """A NaN in any role's column, or an infinite outcome, raises an error naming the column."""
    labels = {design.roles.get("unit"), design.roles.get("time")}
    for col, role in design.columns().items():
        data = design.data.copy()
        data[col] = data[col].astype(float)
        data.iloc[len(data) // 2, data.columns.get_loc(col)] = np.nan
        _expect_error(est, design, data, f"NaN in the {role} column {col!r}",
                      re.escape(repr(col)) + r".*(missing|NaN)|(missing|NaN).*" + re.escape(repr(col)))
        if col in labels:
            continue
        data[col] = design.data[col].astype(float)
        data.iloc[len(data) // 3, data.columns.get_loc(col)] = np.inf
        _expect_error(est, design, data, f"inf in the {role} column {col!r}",
                      re.escape(repr(col)) + r".*infinite|infinite.*" + re.escape(repr(col)))


def check_constant_treatment(est: Any, design: Design) -> None:
    """A constant treatment (all 0, all 1) raises an :class:`EstimationError`: there is no contrast."""
    t = design.treatment
    for value in (0, 1):
        data = design.data.copy()
        data[t] = value
        _expect_error(est, design, data, f"constant treatment ({t} = {value})",
                      r"constant|no contrast|does not move|no treated|not identified|rank deficient")


def check_separation(est: Any, design: Design) -> None:
    """Back-door designs: covariates that perfectly separate the arms raise or warn."""
    if design.kind != "backdoor":
        return
    data = design.data.copy()
    x = design.roles["covariates"][0]
    data[design.treatment] = (data[x] > data[x].median()).astype(int)
    _expect_error(est, design, data, f"treatment perfectly separated by {x!r}",
                  r"separat|propensity of exactly|overlap", warning=(OverlapWarning,))


def check_poor_overlap(est: Any, design: Design) -> None:
    """Back-door designs: propensities close to 0 and 1 (no overlap in the tails) raise or warn."""
    if design.kind != "backdoor":
        return
    data = design.data.copy()
    x = design.roles["covariates"][0]
    rng = np.random.default_rng(12345)
    data[design.treatment] = (rng.random(len(data)) * (1 + np.exp(-6.0 * data[x].to_numpy())) < 1).astype(int)
    _expect_error(est, design, data, "poor overlap (propensity sigmoid(6 x))",
                  r"separat|propensity|overlap", warning=(OverlapWarning,))


def check_bad_instrument(est: Any, design: Design) -> None:
    """IV designs: the treatment (or a copy of it) as instrument, and an instrument that does not
    move the treatment, raise an :class:`EstimationError` (a weak one may warn instead)."""
    if design.kind != "iv":
        return
    t, z = design.treatment, design.roles["instrument"]
    _expect_error(est, design, design.data, "instrument = the treatment column", r"instrument", instrument=t)
    data = design.data.copy()
    data["t_copy"] = data[t]
    _expect_error(est, design, data, "instrument = a copy of the treatment", r"instrument.*treatment",
                  instrument="t_copy")
    # an irrelevant instrument, exactly: every unit appears once with z = 0 and once with z = 1
    half = design.data.iloc[: len(design.data) // 2]
    twice = pd.concat([half.assign(**{z: 0}), half.assign(**{z: 1})], ignore_index=True)
    _expect_error(est, design, twice, "instrument independent of the treatment",
                  r"instrument|first stage|does not move|rank deficient", warning=(WeakInstrumentWarning,))
