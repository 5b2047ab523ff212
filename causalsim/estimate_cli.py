"""``causalsim estimate``: an effect with its interval, from a data file.

::

    causalsim estimate DATA.csv --treatment T --outcome Y --covariates a,b,c [--method aipw]
    causalsim estimate DATA.csv --treatment T --outcome Y --instrument Z [--covariates w] [--method wald]
    causalsim estimate DATA.csv --treatment T --outcome Y --mediators M
    causalsim estimate DATA.csv --treatment T --outcome Y --graph "X->Y; Z->X; Z->Y"
    causalsim estimate DATA.csv --treatment T --outcome Y --graph-from examples/linear.yaml
    causalsim estimate LOGS.csv --treatment action --outcome Y --covariates a,b --labels marketing \
        [--treat discount] [--control none] [--trim 0.05]
    causalsim estimate PANEL.csv --treatment D --outcome Y --unit U --time T \
        [--method callaway-santanna|did|twfe|synthetic-control]
    causalsim estimate DATA.csv --treatment T --outcome Y --covariates a,b \
        --method causal-forest|dr-learner|x-learner|dml --effect-modifiers a,c [--out DIR] [--trees N]

Without a graph the roles are the analyst's assumption: ``--covariates`` is a
back-door adjustment set (or, with ``--instrument``, the set the instrument is
valid given), ``--mediators`` a front-door set. Without any of them nothing is
adjusted for, and a warning says so.

A treatment with 3 to 10 integer codes (a scenario's action: 0 none, 1 email,
2 discount, 3 ad) is categorical: one effect per level against ``--control``
(default the lowest), or one contrast with ``--treat`` and ``--control``, never
one slope over the codes. Back-door estimates come from one fit over all units
(:class:`causal.estimators.multiarm.MultiArm`), so each contrast is the
population's ``E[Y(a)] - E[Y(c)]``; the front-door and ID formulas are evaluated
per level by plug-in (an empty cell they need is an error). Levels are named by
value, or by label with ``--labels SCENARIO`` (or ``A,B,...`` naming the codes
0, 1, ...; with ``--graph-from SCENARIO`` they are known). A two-level treatment
with other codes is recoded 0/1. ``--trim EPS`` is passed to ``aipw`` and
``ipw``.

Panel data (``--unit``, ``--time``, one row per unit and period, the treatment
0/1 "treated in this period") are estimated by a panel design of
:mod:`causal.estimators.panel` or :mod:`causal.estimators.synth`:
``callaway-santanna`` (the default: group-time DiD, never-treated controls),
``did`` (two periods), ``twfe`` or ``synthetic-control`` (one treated unit). With ``--graph`` (or
``--graph-from`` a model spec or scenario name) the effect is identified from
the graph first (:func:`causal.identify.identify`): the strategy and the sets
it uses are printed, then the estimate of the estimator that strategy calls for
(:func:`causal.estimators.driver.estimate`).

Heterogeneous effects (:mod:`causalsim.estimate_cate_cli`): ``--method
causal-forest``, ``dr-learner``, ``x-learner`` or ``dml`` with
``--effect-modifiers`` prints the average effect with its interval, a summary of
the per-unit CATEs (quantiles) and the modifiers the effect varies most with;
``--out DIR`` writes the per-unit CATEs (``cate.csv``) and a Qini plot
(``uplift.png``).

This module only builds the parser: the implementation
(:mod:`causalsim.estimate_effect_cli`, :mod:`causalsim.estimate_panel_cli`) and
the numerical libraries are imported when the command runs, so ``causalsim
estimate --help`` stays fast.

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
import contextlib
import io
import sys
import warnings
from collections.abc import Sequence
from typing import Any

# format_estimate, format_diagnostics and read_data are importable from here too (see __getattr__)
__all__ = ["register", "run", "STRATEGY_METHODS", "PANEL_NAMES", "CATE_NAMES"]

#: The methods of each identification strategy, the first the default: the same table as
#: :data:`causal.estimators.driver.STRATEGY_METHODS` (a test keeps them equal), written here so
#: that the parser's help does not import the estimators.
STRATEGY_METHODS: dict[str, tuple[str, ...]] = {
    "backdoor": ("aipw", "ipw", "regression", "matching", "psm", "difference"),
    "frontdoor": ("plugin", "linear"),
    "iv": ("2sls", "wald"),
    "id": ("plugin",),
}
#: The panel designs of :data:`causalsim.estimate_panel_cli.PANEL_METHODS`.
PANEL_NAMES = ("callaway-santanna", "did", "twfe", "synthetic-control")
#: The CATE methods of :data:`causalsim.estimate_cate_cli.CATE_METHODS`.
CATE_NAMES = ("causal-forest", "dr-learner", "x-learner", "dml")


def __getattr__(name: str) -> Any:
    """``format_estimate``, ``format_diagnostics`` and ``read_data``, imported on first use."""
    if name in ("format_estimate", "format_diagnostics", "read_data"):
        from causalsim import estimate_effect_cli

        return getattr(estimate_effect_cli, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(ns: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    """Estimate the effect named by parsed ``ns``; print it; return the exit status."""
    from causal import CausalSimError
    from causalsim.estimate_effect_cli import _one, read_data, run_effect, warn_once
    from causalsim.estimate_panel_cli import panel_roles, run_panel

    buffer = io.StringIO()                   # the answer is printed whole, or not at all after an error
    try:
        treatment, outcome = _one(ns.treatment, "treatment"), _one(ns.outcome, "outcome")
        panel = panel_roles(ns)
        data = read_data(ns.data)
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(buffer):
            warnings.simplefilter("always")
            if panel is not None:
                run_panel(ns, data, treatment, outcome, *panel)
            else:
                run_effect(ns, data, treatment, outcome)
        sys.stdout.write(buffer.getvalue())
        warn_once(caught)
        return 0
    except (CausalSimError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"causalsim: error: {message}", file=sys.stderr)
        return 1


def _trim(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"must be between 0 and 0.5 (e.g. 0.05), got {text}")
    return value


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

def _trees(text: str) -> int:
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
    methods += f"; panel (with --unit, --time): {', '.join(PANEL_NAMES)}"
    methods += f"; heterogeneous effects (with --effect-modifiers): {', '.join(CATE_NAMES)}"
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
    p.add_argument("--treat", metavar="LEVEL", default=None,
                   help="the treated level of a categorical treatment (a value or a label); default: every "
                        "level but the control, one effect each")
    p.add_argument("--control", metavar="LEVEL", default=None,
                   help="the control level of a categorical treatment (default: the lowest)")
    p.add_argument("--labels", metavar="SCENARIO|A,B,...", default=None,
                   help="names of the treatment's levels: a scenario's name (its action labels, e.g. "
                        "marketing: none, email, discount, ad) or names of the codes 0, 1, 2, ... in order; "
                        "with --graph-from SCENARIO they are known")
    p.add_argument("--trim", type=_trim, metavar="EPS", default=None,
                   help="drop units with a propensity below EPS (or above 1 - EPS) and estimate the effect "
                        "in "
                        "the rest (aipw and ipw)")
    p.add_argument("--effect-modifiers", metavar="A,B,...", default=None,
                   help="with a CATE method: the columns the effect varies with (they may repeat covariates)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="with a CATE method: write the per-unit CATEs (cate.csv) and a Qini plot "
                        "(uplift.png)")
    p.add_argument("--trees", type=_trees, metavar="N", default=None,
                   help="trees of --method causal-forest (default 500)")
    p.add_argument("--unit", metavar="COLUMN", default=None, help="panel data: the unit column")
    p.add_argument("--time", metavar="COLUMN", default=None, help="panel data: the period column")
    p.set_defaults(run=run, func=run)
    return p
