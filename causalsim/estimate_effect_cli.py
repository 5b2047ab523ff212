"""The implementation of ``causalsim estimate`` for cross-sectional data (see :mod:`causalsim.estimate_cli`).

Imported only when the command runs (it brings in pandas and the estimators), so
that ``causalsim estimate --help`` stays fast: formatting of estimates and
diagnostics, reading the data file, the roles (assumed or identified from a
graph), the treatment's levels (:class:`Arms`) and the per-level contrasts.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from causal import CausalGraph, CausalSimError, identify
from causal.estimators.base import Estimate
from causal.estimators.driver import assume, estimate
from causal.estimators.multiarm import MultiArm, is_categorical, treatment_levels
from causal.identify.estimand import Estimand
from causal.identify.expression import natural_key
from causalsim.identify_cli import is_scenario_name, level_labels
from causalsim.report import decimals, fmt, interval

__all__ = ["format_estimate", "format_diagnostics", "read_data", "run_effect", "Arms", "warn_once"]

#: Methods that estimate a CATE (:mod:`causalsim.estimate_cate_cli`); ``--effect-modifiers`` and
#: ``--out`` belong to them.
CATE_NAMES = ("causal-forest", "dr-learner", "x-learner", "dml")


# ----------------------------------------------------------------------------- formatting
def format_estimate(est: Estimate, treatment: str, outcome: str) -> str:
    """One line: method, effect, standard error, interval and units used.

    Examples
    --------
    >>> print(format_estimate(Estimate.normal(2.0312, 0.1, method="AIPW", n=500), "t", "y"))
    AIPW: effect of t on y = 2.031, SE 0.100, 95% CI [1.835, 2.227], n = 500
    """
    half = (est.ci_high - est.ci_low) / 2 if math.isfinite(est.ci_high - est.ci_low) else None
    d = decimals(est.value, est.ci_low, est.ci_high, spread=half / 10 if half else None)
    ci = interval(est.ci_low, est.ci_high, d)
    return (f"{est.method}: effect of {treatment} on {outcome} = {fmt(est.value, d)}, "
            f"SE {fmt(est.stderr, d)}, {est.level:.0%} CI {ci}, n = {est.n}")


def _sig(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:.0f}"


def _prob(p: float) -> str:
    """A probability with the digits that tell it from 0 or 1."""
    tail = min(p, 1 - p)
    return f"{p:.{max(2, -math.floor(math.log10(tail)) + 1) if tail > 0 else 2}f}"


def format_diagnostics(diag: dict[str, Any]) -> str:
    """The estimator's diagnostics worth reading, as one line ('' if none).

    Examples
    --------
    >>> format_diagnostics({"first_stage_F": 87.12, "first_stage_coef": {"z": 0.2694},
    ...                     "cov_type": "HC1"})
    'first-stage F = 87.1 (z: 0.269); HC1 robust standard errors'
    """
    parts: list[str] = []
    if "propensity_min" in diag:
        parts.append(f"propensity in [{_prob(diag['propensity_min'])}, {_prob(diag['propensity_max'])}]")
    if "ess_treated" in diag:
        of = f" of {diag['ess_n']}" if diag.get("ess_n") else ""
        parts.append(f"effective sample size {diag['ess_treated'] + diag['ess_control']:.0f}{of} "
                     f"({diag['ess_treated']:.0f} treated + {diag['ess_control']:.0f} control)")
    if diag.get("n_outside_overlap"):
        lo, hi = diag["overlap_band"]
        parts.append(f"{diag['n_outside_overlap']} outside [{lo:g}, {hi:g}]")
    if diag.get("n_trimmed"):
        parts.append(f"{diag['n_trimmed']} trimmed")
    if diag.get("cross_fit"):
        parts.append(f"{diag['cross_fit']}-fold cross-fitting")
    if "first_stage_F" in diag:
        coefs = ", ".join(f"{k}: {_sig(v)}" for k, v in diag.get("first_stage_coef", {}).items())
        weak = "; WEAK" if diag.get("weak_instruments") else ""
        coefs = f" ({coefs})" if coefs else ""
        parts.append(f"first-stage F = {_sig(diag['first_stage_F'])}{coefs}{weak}")
    if "n_matched" in diag:
        parts.append(f"{diag['n_matched']} matched, {diag.get('n_neighbors', 1)} neighbour(s) each")
    if "se_method" in diag:
        parts.append(f"SE: {diag['se_method']}")
    if "mean_treated" in diag:
        parts.append(f"E[Y | do(1)] = {_sig(diag['mean_treated'], 4)}, E[Y | do(0)] = "
                     f"{_sig(diag['mean_control'], 4)}")
    if "stderr_method" in diag:
        parts.append(f"SE: {diag['stderr_method']}")
    boot = diag.get("bootstrap")
    if boot:
        parts.append(f"bootstrap: {boot['succeeded']} of {boot['reps']} refits, {boot['method']} interval")
    if diag.get("cov_type"):
        parts.append(f"{diag['cov_type']} robust standard errors")
    if "n_treated" in diag:
        parts.append(f"{diag['n_treated']} treated")
    return "; ".join(parts)


# ----------------------------------------------------------------------------- running
def read_data(path: str) -> pd.DataFrame:
    """Read a CSV (or Parquet, by suffix) file; unreadable files raise :class:`CausalSimError`."""
    p = Path(path)
    if not p.exists():
        raise CausalSimError(f"data file {path!r} does not exist")
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(p)
        return pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ImportError) as err:
        kind = "Parquet" if p.suffix.lower() in (".parquet", ".pq") else "CSV"
        raise CausalSimError(f"cannot read {path!r} as {kind}: {' '.join(str(err).split())}") from None


def _names(text: str | None, flag: str) -> list[str]:
    if text is None:
        return []
    names = [t.strip() for t in text.split(",")]
    if not all(names):
        raise CausalSimError(f"--{flag} {text!r}: give column names separated by commas")
    return names


def _one(text: str, flag: str) -> str:
    names = _names(text, flag)
    if len(names) != 1:
        raise CausalSimError(f"--{flag} takes one column, got {', '.join(names)}")
    return names[0]


def _graph(ns: argparse.Namespace) -> CausalGraph | None:
    if ns.graph is not None and ns.graph_from is not None:
        raise CausalSimError("give --graph or --graph-from, not both")
    if ns.graph is not None:
        return CausalGraph.from_string(ns.graph)
    if ns.graph_from is not None:
        from causalsim.cli import load_model

        return load_model(ns.graph_from).graph
    return None


def _estimand(ns: argparse.Namespace, treatment: str, outcome: str) -> tuple[Any, str | None]:
    """The estimand (identified from the graph, or assumed from the roles) and the text to print first."""
    covs, meds = _names(ns.covariates, "covariates"), _names(ns.mediators, "mediators")
    instrument = _one(ns.instrument, "instrument") if ns.instrument is not None else None
    g = _graph(ns)
    if g is not None:
        roles = (("--covariates", covs), ("--instrument", instrument), ("--mediators", meds))
        given = [flag for flag, v in roles if v]
        if given:
            raise CausalSimError(f"the graph decides which variables to use; drop {' and '.join(given)} "
                                 "or the graph")
        from causalsim.identify_cli import describe

        est = identify(g, treatment, outcome)
        return est, describe(est)
    if instrument is not None and meds:
        raise CausalSimError("give --instrument or --mediators, not both")
    if meds:
        if covs:
            raise CausalSimError("--covariates cannot be combined with --mediators (a front-door set)")
        return assume(treatment, outcome, frontdoor=meds), None
    if instrument is not None:
        return assume(treatment, outcome, instrument=instrument, given=covs), None
    return assume(treatment, outcome, adjustment=covs), None


# ----------------------------------------------------------------------------- treatment levels
_BINARY_ONLY = frozenset({"aipw", "ipw", "matching", "psm", "difference"})
_ARM_METHODS = ("aipw", "ipw", "regression", "difference")   # MultiArm's, for a categorical treatment


@dataclass(frozen=True)
class Arms:
    """The treatment's levels: ``kind`` binary (two levels), categorical (3 to 10 integer codes) or numeric.

    ``labels`` names codes (a scenario's action labels); ``treat`` and
    ``control`` are the contrasted levels (``treat`` None: every level
    against ``control``).
    """

    column: str
    kind: str
    levels: tuple[Any, ...]
    labels: dict[Any, str]
    treat: Any
    control: Any
    control_given: bool

    @classmethod
    def of(cls, data: pd.DataFrame, column: str, labels: dict[float, str], treat: str | None,
           control: str | None) -> Arms:
        values = data[column] if column in data.columns else None
        if values is None or not pd.api.types.is_numeric_dtype(values) or values.isna().any():
            return cls(column, "unknown", (), {}, None, None, False)   # the estimator reports it
        levels = tuple(treatment_levels(values))
        lab = {v: labels[float(v)] for v in levels if float(v) in labels}
        if len(levels) == 2:
            kind = "binary"
        elif is_categorical(values):
            kind = "categorical"
        else:
            kind = "numeric"
        arms = cls(column, kind, levels, lab, None, None, control is not None)
        if kind in ("numeric", "unknown") or len(levels) < 2:
            if treat is not None or control is not None:
                raise CausalSimError("--treat and --control pick levels of a categorical treatment, but "
                                     f"{column!r} is numeric ({arms.describe()}); drop them")
            return arms
        c = arms.level(control, "--control") if control is not None else levels[0]
        t = arms.level(treat, "--treat") if treat is not None else None
        if kind == "binary" and t is None:
            t = next(v for v in levels if v != c)
        if t is not None and t == c:
            raise CausalSimError(f"--treat and --control are the same level {arms.label(c)}; there is no "
                                 "contrast")
        return cls(column, kind, levels, lab, t, c, control is not None)

    def label(self, v: Any) -> str:
        return f"{self.labels[v]} ({v})" if v in self.labels else str(v)

    def listing(self) -> str:
        """The levels with their names: ``0 none, 1 email, 2 discount, 3 ad``."""
        return ", ".join(f"{v} {self.labels[v]}" if v in self.labels else str(v) for v in self.levels)

    def short(self, v: Any) -> str:
        return self.labels.get(v, str(v))

    def level(self, text: str, flag: str) -> Any:
        """The level ``text`` names: a label or a value."""
        for v, name in self.labels.items():
            if text.strip() == name:
                return v
        try:
            x = float(text)
        except ValueError:
            x = math.nan
        for v in self.levels:
            if float(v) == x:
                return v
        hint = "" if self.labels else "; name levels with --labels"
        raise CausalSimError(f"{flag} {text!r} is not a level of {self.column} (levels: "
                             f"{self.listing()}){hint}")

    def describe(self) -> str:
        if self.kind == "numeric":
            return (f"{len(self.levels)} distinct values from {self.levels[0]:g} to {self.levels[-1]:g}"
                    if self.levels else "no values")
        return f"levels {self.listing()}"

    @property
    def recoded(self) -> bool:
        return self.kind == "binary" and (float(self.treat), float(self.control)) != (1.0, 0.0)

    def header(self) -> str:
        if self.kind == "binary":
            return (f"{self.column} has two levels ({self.listing()}): the effect of "
                    f"{self.label(self.treat)} "
                    f"against {self.label(self.control)}")
        head = f"{self.column} is categorical with {len(self.levels)} levels ({self.listing()})"
        if self.treat is not None:
            return f"{head}: the effect of {self.label(self.treat)} against {self.label(self.control)}"
        how = ("given by --control" if self.control_given
               else "the lowest level; --control LEVEL picks another")
        return (f"{head}: one effect per level against the control {self.label(self.control)} ({how}; "
                "--treat LEVEL --control LEVEL gives one contrast)")

    def name(self, treat: Any = None) -> str:
        """How the contrast is named in the estimate line (``action=discount vs none``)."""
        if self.kind not in ("binary", "categorical") or not (self.recoded or self.kind == "categorical"):
            return self.column
        t = self.treat if treat is None else treat
        return f"{self.column}={self.short(t)} vs {self.short(self.control)}"

    def contrasts(self) -> list[Any]:
        return [self.treat] if self.treat is not None else [v for v in self.levels if v != self.control]

    def recode(self, data: pd.DataFrame) -> pd.DataFrame:
        """A copy with the treatment recoded 1 for ``treat`` and 0 for ``control`` (two levels only)."""
        out = data.copy()
        out[self.column] = (data[self.column].to_numpy(dtype=float) == float(self.treat)).astype(int)
        return out


def _labels(ns: argparse.Namespace, treatment: str) -> dict[float, str]:
    """Names of the treatment's codes: ``--labels`` (a list or a scenario), else ``--graph-from``'s."""
    text = ns.labels
    if text is not None and "," in text:
        names = _names(text, "labels")
        if len(set(names)) != len(names):
            raise CausalSimError(f"--labels {text!r} names a level twice")
        return {float(i): name for i, name in enumerate(names)}
    if text is not None:
        if not is_scenario_name(text):
            raise CausalSimError(f"--labels {text!r}: give a scenario's name (its action labels) or the "
                                 "names of "
                                 "the levels 0, 1, 2, ... separated by commas")
        named = level_labels(text, treatment)
        if not named:
            raise CausalSimError(f"--labels {text!r}: that scenario names no values of {treatment!r}")
        return named
    return level_labels(ns.graph_from, treatment) if ns.graph_from is not None else {}


def _method(ns_method: str | None, estimand: Any, arms: Arms) -> str | None:
    """The back-door method that will run (the default resolved as the driver resolves it)."""
    if ns_method is not None or estimand.strategy != "backdoor":
        return ns_method
    if arms.kind == "numeric":
        return "regression"
    return "aipw" if estimand.adjustment else "difference"


def _check_trim(method: str | None, estimand: Any, arms: Arms, data: pd.DataFrame) -> None:
    m = _method(method, estimand, arms)
    if estimand.strategy == "backdoor" and m in ("aipw", "ipw") and arms.kind != "numeric":
        return
    what = f"method {m!r}" if m else f"the {estimand.strategy!r} strategy"
    raise CausalSimError(f"--trim drops units whose propensity score is extreme; it applies to --method aipw "
                         f"and ipw (back-door adjustment for a binary or categorical treatment), not to "
                         f"{what}")


def _run_arms(data: pd.DataFrame, estimand: Any, arms: Arms, ns: argparse.Namespace, outcome: str,
              options: dict[str, Any]) -> None:
    """A categorical treatment: one effect per contrast, never one slope over the codes."""
    strategy, x = estimand.strategy, arms.column
    if strategy == "iv":
        raise CausalSimError(f"{x!r} is categorical ({arms.describe()}); an instrument identifies one slope "
                             "over its codes, which is the effect of no arm. If the instrument moves units "
                             "between two levels only, recode the treatment to that arm's 0/1 indicator")
    if strategy == "backdoor":
        method = _method(ns.method, estimand, arms)
        if method not in _ARM_METHODS:
            raise CausalSimError(f"method {method!r} compares two arms; for the categorical treatment {x!r} "
                                 f"({arms.describe()}) use one of: {', '.join(_ARM_METHODS)}")
        covs = sorted(estimand.adjustment, key=natural_key)
        if method == "difference" and covs:
            raise CausalSimError(f"method 'difference' does not adjust for {{{', '.join(covs)}}}; use one "
                                 "of: "
                                 "aipw, ipw, regression")
        print(arms.header())
        fit = MultiArm(method=method, random_state=ns.seed, level=ns.level, **options).fit(
            data, treatment=x, outcome=outcome, covariates=covs)
        ests = [(a, fit.contrast(a, arms.control)) for a in arms.contrasts()]
        for a, est in ests:
            print(format_estimate(est, arms.name(a), outcome))
        print(_arms_diagnostics(fit, arms, outcome))
        if not covs and ns.graph is None and ns.graph_from is None:
            warnings.warn("nothing was adjusted for (no --covariates, --graph or --graph-from): these are "
                          "raw "
                          f"differences in mean {outcome} between the arms, causal effects only if {x} was "
                          "randomised; give the confounders with --covariates", UserWarning, stacklevel=1)
        return
    if strategy == "frontdoor" and ns.method == "linear":
        raise CausalSimError(f"method 'linear' fits one slope over the codes of {x!r}, which is categorical "
                             f"({arms.describe()}); use --method plugin (the front-door formula per level)")
    # the ID algorithm's formula, or the front-door formula, evaluated per level on discrete data
    formula = estimand if strategy == "id" else Estimand(estimand.treatment, estimand.outcome, "id",
                                                         formula=estimand.formula)
    print(arms.header())
    for a in arms.contrasts():
        _check_positivity(data, formula, estimand, arms, a)
        est = estimate(data, formula, "plugin", level=ns.level, seed=ns.seed, treat=float(a),
                       control=float(arms.control), **options)
        print(format_estimate(est, arms.name(a), outcome))
        diag = dict(est.diagnostics)
        means = (f"E[{outcome} | do({x}={arms.short(a)})] = {_sig(diag.pop('mean_treated'), 4)}, "
                 f"E[{outcome} | do({x}={arms.short(arms.control)})] = {_sig(diag.pop('mean_control'), 4)}")
        print("; ".join(p for p in (means, format_diagnostics(diag)) if p))


def _check_positivity(data: pd.DataFrame, formula: Estimand, estimand: Estimand, arms: Arms, a: Any) -> None:
    """Refuse a plug-in whose formula meets empty cells (their terms would silently count as 0)."""
    from causal.identify.expression import PositivityWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", PositivityWarning)
        try:
            for v in (a, arms.control):
                formula.mean(data, float(v))
            return
        except PositivityWarning as w:
            count = w.count
    what = "front-door" if estimand.strategy == "frontdoor" else "identifying"
    detail = ""
    if estimand.strategy == "frontdoor":
        meds = sorted(estimand.frontdoor, key=natural_key)
        x = arms.column
        seen = data.loc[data[x].isin([float(a), float(arms.control)]), meds].drop_duplicates()
        have = set(map(tuple, data[[*meds, x]].drop_duplicates().to_numpy(dtype=float).tolist()))
        empty = [(m, v) for m in map(tuple, seen.to_numpy(dtype=float).tolist()) for v in arms.levels
                 if (*m, float(v)) not in have]
        if empty:
            m, v = empty[0]
            cell = ", ".join(f"{k}={_sig(val)}" for k, val in zip(meds, m, strict=True))
            detail = (f"; e.g. no units with {cell} and {x}={arms.short(v)} ({len(empty)} such empty cells), "
                      f"so P({', '.join(estimand.outcome)} | {', '.join(meds)}, {x}) is undefined where the "
                      "formula needs it")
    raise CausalSimError(f"the {what} formula cannot be estimated for {arms.column}={arms.short(a)} vs "
                         f"{arms.short(arms.control)}: {count} conditioning configuration(s) it needs never "
                         f"occur in the data (positivity fails){detail}")


def _arms_diagnostics(fit: MultiArm, arms: Arms, outcome: str) -> str:
    d = fit.diagnostics_
    parts = []
    if "propensity_min" in d:
        parts.append(f"propensity of every level in [{_prob(d['propensity_min'])}, "
                     f"{_prob(d['propensity_max'])}]")
    if d.get("n_outside_overlap"):
        parts.append(f"{d['n_outside_overlap']} with a level below {d['overlap_band'][0]:g}")
    if d.get("n_trimmed"):
        parts.append(f"{d['n_trimmed']} trimmed")
    if fit.method == "aipw" and fit.cross_fit and fit.cross_fit > 1 and "propensity_min" in d:
        parts.append(f"{fit.cross_fit}-fold cross-fitting")
    pairs = zip(fit.levels_, fit.means_["mean"], strict=True)
    means = ", ".join(f"{arms.short(v)} {_sig(m, 4)}" for v, m in pairs)
    if fit.method == "difference" or "propensity_min" not in d and fit.method != "regression":
        parts.append(f"mean {outcome} by level: {means}")
    else:
        parts.append(f"E[{outcome} | do({arms.column})]: {means}")
    counts = zip(fit.levels_, fit.means_["n"], strict=True)
    parts.append("units: " + ", ".join(f"{arms.short(v)} {k}" for v, k in counts))
    return "; ".join(parts)


def warn_once(caught: Sequence[warnings.WarningMessage]) -> None:
    """Print each distinct estimator warning once, as ``causalsim: warning: ...`` on standard error."""
    seen = set()
    for w in caught:
        msg = " ".join(str(w.message).split()).replace("trim=", "--trim ")
        if msg not in seen:
            seen.add(msg)
            print(f"causalsim: warning: {msg}", file=sys.stderr)


def _print_estimate(est: Estimate, treatment: str, outcome: str) -> None:
    print(format_estimate(est, treatment, outcome))
    diag = dict(est.diagnostics)
    if "ess_treated" in diag:
        diag["ess_n"] = est.n
    line = format_diagnostics(diag)
    if line:
        print(line)

def run_effect(ns: argparse.Namespace, data: pd.DataFrame, treatment: str, outcome: str) -> None:
    """Cross-sectional data: a binary, categorical or numeric treatment's effect (or its CATE)."""
    cate = ns.method in CATE_NAMES
    if not cate:
        given = [flag for flag, v in (("--effect-modifiers", ns.effect_modifiers), ("--out", ns.out),
                                      ("--trees", ns.trees)) if v is not None]
        if given:
            raise CausalSimError(f"{' and '.join(given)} belong to the CATE methods "
                                 f"({', '.join(CATE_NAMES)}); add --method causal-forest (or another of "
                                 f"them), or drop {given[0]}")
    estimand, header = _estimand(ns, treatment, outcome)
    arms = Arms.of(data, treatment, _labels(ns, treatment), ns.treat, ns.control)
    if cate:
        if ns.trees is not None and ns.method != "causal-forest":
            raise CausalSimError("--trees sets the causal forest's size; drop it or use --method "
                                 "causal-forest")
        if ns.reps is not None or ns.trim is not None:
            raise CausalSimError(f"--reps and --trim do not apply to method {ns.method!r}")
        from causalsim.estimate_cate_cli import run_cate

        if header:
            print(header)
        run_cate(ns, data, estimand, arms, outcome)
        _warn_unadjusted(estimand, header, treatment, outcome, arms)
        return
    options: dict[str, Any] = {}
    if ns.reps is not None:
        if estimand.strategy not in ("id",) and not (arms.kind == "categorical"
                                                     and estimand.strategy == "frontdoor"):
            raise CausalSimError(f"--reps sets the bootstrap of the ID plug-in; this effect is "
                                 f"identified by the {estimand.strategy!r} strategy, whose interval is "
                                 "analytic")
        options["reps"] = ns.reps
    if ns.trim is not None:
        _check_trim(ns.method, estimand, arms, data)
        options["trim"] = ns.trim
    if header:
        print(header)
    if arms.kind == "categorical":
        _run_arms(data, estimand, arms, ns, outcome, options)
        return
    if arms.kind == "numeric" and ns.method in _BINARY_ONLY:
        raise CausalSimError(f"method {ns.method!r} needs a binary treatment, but {treatment!r} is numeric "
                             f"({arms.describe()}); use --method regression (one least-squares slope: the "
                             "effect of a unit change if the outcome is linear in it)")
    if arms.kind == "binary" and arms.recoded:
        print(arms.header())
        data = arms.recode(data)
    est = estimate(data, estimand, ns.method, level=ns.level, seed=ns.seed, **options)
    _print_estimate(est, arms.name(), outcome)
    _warn_unadjusted(estimand, header, treatment, outcome, arms)


def _warn_unadjusted(estimand: Any, header: str | None, treatment: str, outcome: str, arms: Arms) -> None:
    if (estimand.strategy == "backdoor" and not estimand.adjustment and header is None
            and arms.kind != "numeric"):
        warnings.warn("nothing was adjusted for (no --covariates, --graph or --graph-from): this is the raw "
                      f"difference in mean {outcome} between the arms, a causal effect only if {treatment} "
                      "was randomised; give the confounders with --covariates", UserWarning, stacklevel=1)
    elif estimand.strategy == "backdoor" and not estimand.adjustment and header is None:
        warnings.warn(f"nothing was adjusted for (no --covariates, --graph or --graph-from): this slope is "
                      f"a causal effect only if {treatment} was randomised; give the confounders with "
                      "--covariates", UserWarning, stacklevel=1)
