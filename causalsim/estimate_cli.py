"""``causalsim estimate``: an effect with its interval, from a data file.

::

    causalsim estimate DATA.csv --treatment T --outcome Y --covariates a,b,c [--method aipw]
    causalsim estimate DATA.csv --treatment T --outcome Y --instrument Z [--covariates w] [--method wald]
    causalsim estimate DATA.csv --treatment T --outcome Y --mediators M
    causalsim estimate DATA.csv --treatment T --outcome Y --graph "X->Y; Z->X; Z->Y"
    causalsim estimate DATA.csv --treatment T --outcome Y --graph-from examples/linear.yaml

Without a graph the roles are the analyst's assumption: ``--covariates`` is a
back-door adjustment set (or, with ``--instrument``, the set the instrument is
valid given), ``--mediators`` a front-door set. With ``--graph`` (or
``--graph-from`` a model spec or scenario name) the effect is identified from
the graph first (:func:`causal.identify.identify`): the strategy and the sets
it uses are printed, then the estimate of the estimator that strategy calls for
(:func:`causal.estimators.driver.estimate`).

The estimate is one line (method, effect, standard error, interval, units), its
diagnostics a second (propensity range and effective sample size, first-stage
F, bootstrap replications, ...). Estimator warnings (poor overlap, a weak
instrument) are printed to standard error as ``causalsim: warning: ...``.
Errors print one line ``causalsim: error: ...`` and return 1.

Examples
--------
>>> import argparse, tempfile, os
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> z = rng.normal(size=2000)
>>> x = (0.5 * z + rng.normal(size=2000) > 0).astype(int)
>>> df = pd.DataFrame({"Z": z, "X": x, "Y": 1.5 * x + z + rng.normal(size=2000)})
>>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
>>> df.to_csv(path, index=False)
>>> parser = argparse.ArgumentParser(prog="causalsim")
>>> _ = register(parser.add_subparsers(dest="command"))
>>> run(parser.parse_args(["estimate", path, "--treatment", "X", "--outcome", "Y",
...                        "--graph", "Z->X; Z->Y; X->Y", "--method", "ipw"]))
identifiable by back-door adjustment for {Z}
P(Y | do(X)) = sum_{Z} P(Y | X, Z) P(Z)
IPW: effect of X on Y = 1.477, SE 0.050, 95% CI [1.379, 1.575], n = 2000
propensity in [0.048, 0.908]; effective sample size 1730 of 2000 (845 treated + 885 control)
0
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from causal import CausalGraph, CausalSimError, identify
from causal.estimators.base import Estimate
from causal.estimators.driver import STRATEGY_METHODS, assume, estimate
from causalsim.report import decimals, fmt, interval

__all__ = ["register", "run", "format_estimate", "format_diagnostics", "read_data"]


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


def run(ns: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    """Estimate the effect named by parsed ``ns``; print it; return the exit status."""
    try:
        treatment, outcome = _one(ns.treatment, "treatment"), _one(ns.outcome, "outcome")
        data = read_data(ns.data)
        estimand, header = _estimand(ns, treatment, outcome)
        options: dict[str, Any] = {}
        if ns.reps is not None:
            if estimand.strategy != "id":
                raise CausalSimError(f"--reps sets the bootstrap of the ID plug-in; this effect is "
                                     f"identified by the {estimand.strategy!r} strategy, whose interval is "
                                     "analytic")
            options["reps"] = ns.reps
        if header:
            print(header)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est = estimate(data, estimand, ns.method, level=ns.level, seed=ns.seed, **options)
        print(format_estimate(est, treatment, outcome))
        diag = dict(est.diagnostics)
        if "ess_treated" in diag:
            diag["ess_n"] = est.n
        line = format_diagnostics(diag)
        if line:
            print(line)
        seen = set()
        for w in caught:
            msg = " ".join(str(w.message).split())
            if msg not in seen:
                seen.add(msg)
                print(f"causalsim: warning: {msg}", file=sys.stderr)
        return 0
    except (CausalSimError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"causalsim: error: {message}", file=sys.stderr)
        return 1


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (e.g. 0.95), got {text}")
    return value


def _reps(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``estimate`` subcommand to ``subparsers``; return its parser.

    The parser's defaults hold ``run`` (called as ``run(ns, argv)``, the
    convention of :mod:`causalsim.cli`) and ``func`` (the same function).
    """
    methods = "; ".join(f"{s}: {', '.join(ms)}" for s, ms in STRATEGY_METHODS.items())
    p = subparsers.add_parser(
        "estimate", help="estimate an effect with its interval from a data file",
        description="Estimate the effect of a treatment on an outcome from observational data: with the "
                    "roles you assume (--covariates, --instrument, --mediators) or identified from a "
                    "causal graph first (--graph, --graph-from).")
    p.add_argument("data", metavar="DATA", help="a CSV file (or .parquet) with one column per variable")
    p.add_argument("--treatment", required=True, metavar="COLUMN", help="the treatment column")
    p.add_argument("--outcome", required=True, metavar="COLUMN", help="the outcome column")
    p.add_argument("--covariates", metavar="A,B,...", default=None,
                   help="a back-door adjustment set (with --instrument: the set the instrument is valid "
                        "given)")
    p.add_argument("--instrument", metavar="COLUMN", default=None, help="an instrument for the treatment")
    p.add_argument("--mediators", metavar="M,...", default=None, help="a front-door set of mediators")
    p.add_argument("--graph", metavar="EDGES", default=None,
                   help='identify from this graph first, e.g. "X->Y; Z->X; Z->Y" (<-> marks a hidden '
                        "common cause)")
    p.add_argument("--graph-from", metavar="SPEC", default=None,
                   help="identify from the graph of a YAML model spec or a scenario's name")
    p.add_argument("--method", metavar="NAME", default=None,
                   help=f"the estimator, by strategy (first: default) — {methods}")
    p.add_argument("--level", type=_level, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the cross-fitting folds and of the bootstrap (default 0)")
    p.add_argument("--reps", type=_reps, default=None,
                   help="bootstrap replications of the ID plug-in (default 200)")
    p.set_defaults(run=run, func=run)
    return p
