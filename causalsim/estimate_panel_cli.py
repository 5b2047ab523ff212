"""``causalsim estimate --unit U --time T``: panel designs (see :mod:`causalsim.estimate_cli`)."""

from __future__ import annotations

import argparse
import warnings
from typing import Any

import pandas as pd

from causal import CausalSimError
from causalsim.estimate_effect_cli import _names, _one, _sig, format_estimate

__all__ = ["PANEL_METHODS", "panel_roles", "run_panel"]


#: ``--method`` of a panel design -> (estimator, its constructor's arguments, what it is)
PANEL_METHODS: dict[str, tuple[str, dict[str, Any], str]] = {
    "callaway-santanna": ("did", {"design": "staggered"},
                          "Callaway & Sant'Anna (2021) group-time difference in differences, never-treated "
                          "units as controls"),
    "did": ("did", {"design": "2x2"}, "difference in differences, two periods"),
    "twfe": ("did", {"design": "twfe"}, "two-way fixed effects regression (unit and period effects)"),
    "synthetic-control": ("synth", {}, "synthetic control (Abadie, Diamond & Hainmueller 2010) for one "
                                       "treated unit, in-space placebo inference"),
}


def panel_roles(ns: argparse.Namespace) -> tuple[str, str, str] | None:
    """``(unit, time, method)`` for a panel design, None for cross-sectional data; bad mixes raise."""
    panel_method = ns.method in PANEL_METHODS
    if ns.unit is None and ns.time is None:
        if panel_method:
            raise CausalSimError(f"--method {ns.method} is a panel design: give --unit COLUMN and --time "
                                 "COLUMN "
                                 "(one row per unit and period)")
        return None
    if ns.unit is None or ns.time is None:
        raise CausalSimError("panel data need both --unit COLUMN and --time COLUMN")
    method = ns.method or "callaway-santanna"
    if method not in PANEL_METHODS:
        raise CausalSimError(f"--unit and --time describe panel data; method {method!r} is not a panel "
                             "design: "
                             f"use one of: {', '.join(PANEL_METHODS)}")
    given = [flag for flag, v in (("--graph", ns.graph), ("--graph-from", ns.graph_from),
                                  ("--instrument", ns.instrument), ("--mediators", ns.mediators),
                                  ("--treat", ns.treat), ("--control", ns.control), ("--reps", ns.reps),
                                  ("--trim", ns.trim), ("--labels", ns.labels)) if v is not None]
    if given:
        raise CausalSimError(f"{' and '.join(given)} do not apply to the panel design {method}; the "
                             "treatment is "
                             "the 0/1 column 'treated in this period'")
    return _one(ns.unit, "unit"), _one(ns.time, "time"), method


def run_panel(ns: argparse.Namespace, data: pd.DataFrame, treatment: str, outcome: str, unit: str, time: str,
               method: str) -> None:
    from causal.estimators.panel import DiD
    from causal.estimators.synth import SyntheticControl

    kind, kwargs, what = PANEL_METHODS[method]
    covs = _names(ns.covariates, "covariates")
    for flag, col in (("--unit", unit), ("--time", time)):
        if col not in data.columns:
            raise CausalSimError(f"{flag} column {col!r} is not in the data (columns: "
                                 f"{', '.join(map(str, data.columns[:12]))})")
    n_units, n_times = data[unit].nunique(), data[time].nunique()
    if kind == "synth":
        if covs:
            raise CausalSimError("synthetic-control matches pre-period outcomes only; covariate predictors "
                                 "are "
                                 "not implemented: drop --covariates")
        if treatment in data.columns and pd.api.types.is_numeric_dtype(data[treatment]):
            treated = data.loc[data[treatment] != 0, unit].unique()
            if len(treated) > 1:
                shown = ", ".join(map(str, treated[:5])) + (", ..." if len(treated) > 5 else "")
                raise CausalSimError(f"synthetic-control fits one treated unit, got {len(treated)} "
                                     f"({shown}); "
                                     "keep one treated unit and the never-treated donors, or use --method "
                                     "callaway-santanna for many treated units")
        est = SyntheticControl(level=ns.level).fit(data, outcome=outcome, unit=unit, time=time,
                                                   treatment=treatment).att()
    else:
        if method == "did" and n_times != 2:
            raise CausalSimError(f"--method did is the two-period design, but {time!r} has {n_times} "
                                 "periods; "
                                 "use --method callaway-santanna (staggered adoption) or twfe")
        est = DiD(level=ns.level, **kwargs).fit(data, outcome=outcome, unit=unit, time=time,
                                                treatment=treatment, covariates=covs or None).att()
        if method == "twfe" and est.diagnostics.get("n_treated", 0) > 1:
            starts = data.loc[data[treatment] != 0].groupby(unit)[time].min().nunique()
            if starts > 1:
                warnings.warn(f"TWFE with staggered adoption ({starts} adoption periods): its coefficient "
                              "weights the cohorts' effects with possibly negative weights, biased when "
                              "effects "
                              "vary over time or cohorts (Goodman-Bacon 2021); --method callaway-santanna is "
                              "not", UserWarning, stacklevel=1)
    print(f"panel of {n_units} units ({unit}) x {n_times} periods ({time}): {what}; the average effect on "
          "the "
          "treated unit-periods (ATT)")
    print(format_estimate(est, treatment, outcome))
    line = _panel_diagnostics(est.diagnostics)
    if line:
        print(line)


def _panel_diagnostics(d: dict[str, Any]) -> str:
    parts = []
    if "n_cohorts" in d:
        parts.append(f"{d['n_cohorts']} adoption cohorts, {d['n_treated']} treated and "
                     f"{d['n_never_treated']} "
                     "never-treated units")
        if d.get("n_always_treated_dropped"):
            parts.append(f"{d['n_always_treated_dropped']} treated from the first period dropped")
        if d.get("n_skipped_cells"):
            parts.append(f"{d['n_skipped_cells']} group-time cells without two controls skipped")
    elif "n_donors" in d:
        parts.append(f"treated unit {d['treated_unit']}, {d['n_donors']} donors, {d['n_pre']} pre- and "
                     f"{d['n_post']} post-periods; pre-period RMSPE {_sig(d['pre_rmspe'])}")
        if "p_value" in d:
            parts.append(f"placebo p-value {_sig(d['p_value'])}; the interval's exact level "
                         f"{d['achieved_level']:.3f}")
    elif "n_treated" in d:
        parts.append(f"{d['n_treated']} treated units")
    if d.get("cov_type") == "CR1":
        parts.append("unit-clustered (CR1) standard errors")
    elif d.get("cov_type") == "HC2":
        parts.append("HC2 robust standard errors")
    elif d.get("cov_type") == "placebo":
        parts.append(f"placebo p-value {_sig(d['p_value'])} (one treated unit)")
    return "; ".join(parts)
