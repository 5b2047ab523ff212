"""``causalsim estimate --method causal-forest|dr-learner|x-learner|dml --effect-modifiers A,B``.

Heterogeneous effects from a data file: the conditional average treatment
effect (CATE) as a function of the effect modifiers, adjusted for the
back-door set (``--covariates``, or identified from ``--graph`` /
``--graph-from``). The command prints

* the average effect with its interval: the method's own (the forest's and the
  DR-learner's doubly robust scores, linear DML's orthogonal score); the
  X-learner has no analytic interval for its plug-in average, so the line beside
  it is the AIPW estimate on the same covariates;
* a CATE summary: the mean, standard deviation and quantiles (5, 25, 50, 75,
  95%) of the per-unit CATEs and the share of units with a positive effect;
* the top modifiers: the forest's split importances, linear DML's slopes with
  their intervals (ranked by |slope| x the modifier's standard deviation), and
  for the learners the slopes of the least-squares projection of their CATE on
  the standardised modifiers (the change in CATE per standard deviation).

``--out DIR`` writes ``cate.csv`` (one row per unit: its row number, the
modifiers, ``cate`` and, where the method gives them, ``cate_low`` and
``cate_high``) and ``uplift.png``, the Qini curve of targeting by the CATE
(:func:`causal.estimators.policy.plot_uplift`, inverse-propensity weighted with
a logistic propensity on the nuisance features). The per-unit CATEs are the
forest's out-of-bag effects and the other methods' in-sample predictions, so
the curve ranks the units the model was fitted on: a check of the ranking, not
an out-of-sample evaluation.

A treatment with two levels (any codes, recoded 1 = ``--treat`` / the higher)
is estimated directly; a categorical one needs ``--treat LEVEL``: the units of
the treated and control levels are kept (the CATE function is the same in that
subpopulation under ignorability; the average is over those units). Only
``dml`` takes a numeric treatment (the effect of a unit change).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CATE_METHODS", "run_cate", "cate_summary", "top_modifiers"]

#: ``--method`` -> what it is (the estimator classes are imported when the method runs).
CATE_METHODS: dict[str, str] = {
    "causal-forest": "causal forest (generalized random forest: honest, orthogonalised)",
    "dr-learner": "DR-learner (doubly robust pseudo-outcomes, cross-fitted)",
    "x-learner": "X-learner (imputed effects blended by the propensity)",
    "dml": "linear double machine learning (partially linear, CATE linear in the modifiers)",
}

_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _fail(message: str) -> Exception:
    from causal.errors import CausalSimError

    return CausalSimError(message)


def _g(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1e3 else f"{x:,.0f}"


# ----------------------------------------------------------------------------- summaries
def cate_summary(tau: np.ndarray, treatment: str, outcome: str) -> str:
    """The distribution of per-unit CATEs as one line.

    Examples
    --------
    >>> for part in cate_summary(np.arange(101.0) / 100, "t", "y").split("; "):
    ...     print(part)
    CATE of t on y over 101 units: mean 0.5, sd 0.293
    quantiles 5% 0.05, 25% 0.25, 50% 0.5, 75% 0.75, 95% 0.95
    positive for 99%
    """
    q = np.quantile(tau, _QUANTILES)
    qs = ", ".join(f"{p:.0%} {_g(v)}" for p, v in zip(_QUANTILES, q, strict=True))
    return (f"CATE of {treatment} on {outcome} over {len(tau)} units: mean {_g(float(tau.mean()))}, sd "
            f"{_g(float(tau.std(ddof=1)))}; quantiles {qs}; positive for {np.mean(tau > 0):.0%}")


def top_modifiers(scores: dict[str, float], what: str, detail: dict[str, str] | None = None,
                  k: int = 5) -> str:
    """The modifiers ranked by the absolute value of ``scores``, as one line.

    >>> top_modifiers({"a": 0.1, "b": -2.0}, "CATE change per sd")
    'top modifiers (CATE change per sd): b -2, a 0.1'
    """
    ranked = sorted(scores, key=lambda m: -abs(scores[m]))[:k]
    parts = [f"{m} {_g(scores[m])}" + (f" {detail[m]}" if detail and m in detail else "") for m in ranked]
    return f"top modifiers ({what}): " + ", ".join(parts)


def _projection(tau: np.ndarray, M: np.ndarray, mods: list[str]) -> dict[str, float]:
    """Slopes of the least-squares fit of ``tau`` on the standardised modifiers (per sd)."""
    sd = M.std(axis=0)
    Z = np.column_stack([np.ones(len(M)), (M - M.mean(axis=0)) / np.where(sd > 0, sd, 1.0)])
    beta = np.linalg.lstsq(Z, tau, rcond=None)[0]
    return {m: float(b) if s > 0 else 0.0 for m, b, s in zip(mods, beta[1:], sd, strict=True)}


# ----------------------------------------------------------------------------- running
def _binary_data(data: pd.DataFrame, arms: Any, method: str) -> pd.DataFrame:
    """The rows and 0/1 coding of the contrast ``arms`` describes."""
    if arms.kind == "binary":
        if arms.recoded:
            print(arms.header())
            return arms.recode(data)
        return data
    if arms.kind == "categorical":
        if arms.treat is None:
            raise _fail(f"method {method!r} estimates the CATE of one contrast; {arms.column!r} is "
                        f"categorical ({arms.describe()}): pick the treated level with --treat LEVEL (and "
                        "--control LEVEL)")
        keep = data[arms.column].isin([arms.treat, arms.control]).to_numpy()
        print(arms.header() + f"; the units of those two levels ({int(keep.sum())} of {len(data)}) are used")
        sub = data.loc[keep]
        return sub.assign(**{arms.column: (sub[arms.column] == arms.treat).astype(int)})
    if method == "dml" and arms.kind == "numeric":
        return data
    raise _fail(f"method {method!r} needs a binary or categorical treatment, but {arms.column!r} is "
                f"{arms.kind} ({arms.describe()}); use --method dml (the CATE of a unit change)")


def _fit(method: str, data: pd.DataFrame, x: str, y: str, covs: list[str], mods: list[str],
         ns: argparse.Namespace) -> Any:
    roles = {"treatment": x, "outcome": y, "covariates": covs or None, "effect_modifiers": mods}
    if method == "causal-forest":
        from causal.estimators.forest import CausalForest

        forest = CausalForest(num_trees=ns.trees or 500, level=ns.level, random_state=ns.seed)
        return forest.fit(data, **roles)
    if method == "dr-learner":
        from causal.estimators.learners import DRLearner

        return DRLearner(level=ns.level, random_state=ns.seed).fit(data, **roles)
    if method == "x-learner":
        from causal.estimators.learners import XLearner

        return XLearner(level=ns.level, random_state=ns.seed).fit(data, **roles)
    from causal.estimators.dml import LinearDML

    return LinearDML(level=ns.level, random_state=ns.seed).fit(data, **roles)


def run_cate(ns: argparse.Namespace, data: pd.DataFrame, estimand: Any, arms: Any, outcome: str) -> None:
    """Fit the CATE method ``ns.method``; print the ATE, the CATE summary and the top modifiers."""
    from causal.identify.expression import natural_key
    from causalsim.estimate_effect_cli import _names as names
    from causalsim.estimate_effect_cli import format_estimate

    method = ns.method
    if estimand.strategy != "backdoor":
        raise _fail(f"method {method!r} adjusts for a back-door set; this effect is identified by the "
                    f"{estimand.strategy!r} strategy: use one of its methods")
    mods = names(ns.effect_modifiers, "effect-modifiers")
    if not mods:
        raise _fail(f"method {method!r} estimates how the effect varies: give --effect-modifiers A,B (the "
                    "columns it varies with)")
    x = arms.column
    missing = [m for m in mods if m not in data.columns]
    if missing:
        raise _fail(f"--effect-modifiers: {', '.join(missing)} not in the data (columns: "
                    f"{', '.join(map(str, data.columns[:12]))})")
    if x in mods or outcome in mods:
        raise _fail("--effect-modifiers cannot contain the treatment or the outcome")
    covs = sorted(estimand.adjustment, key=natural_key)
    frame = _binary_data(data, arms, method)
    est = _fit(method, frame, x, outcome, covs, mods, ns)
    name = arms.name()  # "t", or "t=a vs c" for a recoded or categorical contrast
    print(f"{CATE_METHODS[method]}; effect modifiers: {', '.join(mods)}"
          + (f"; adjusted for {', '.join(covs)}" if covs else ""))
    M = frame[mods].to_numpy(dtype=float)
    if method == "causal-forest":
        tau = est.oob_effect()
    else:
        tau = np.asarray(est.effect(frame[mods]), dtype=float)
    if method == "x-learner":
        from causal.estimators.weighting import AIPW

        print(f"XLearner: mean CATE {_g(float(tau.mean()))} (a plug-in average: no analytic interval)")
        feats = list(dict.fromkeys(mods + covs))
        ate = AIPW(level=ns.level, random_state=ns.seed).fit(frame, treatment=x, outcome=outcome,
                                                              covariates=feats).ate()
        print("ATE by " + format_estimate(ate, name, outcome) + " (same covariates and modifiers)")
    else:
        print(format_estimate(est.ate(), name, outcome))
    print(cate_summary(tau, name, outcome))
    print(_modifier_line(method, est, tau, M, mods))
    if ns.out is not None:
        _write(ns.out, est, method, frame, x, outcome, mods, covs, tau)


def _modifier_line(method: str, est: Any, tau: np.ndarray, M: np.ndarray, mods: list[str]) -> str:
    if method == "causal-forest":
        imp = dict(zip(mods, map(float, est.feature_importances_), strict=True))
        return top_modifiers(imp, "forest split importance")
    if method == "dml":
        coefs = est.coef_estimates()
        sd = M.std(axis=0)
        scaled = {m: float(coefs[m].value) * float(s) for m, s in zip(mods, sd, strict=True)}
        detail = {m: f"(slope {_g(coefs[m].value)} [{_g(coefs[m].ci_low)}, {_g(coefs[m].ci_high)}])"
                  for m in mods}
        return top_modifiers(scaled, "CATE change per sd of the modifier, linear DML", detail)
    return top_modifiers(_projection(tau, M, mods), "CATE change per sd, least-squares projection")


def _write(out: str, est: Any, method: str, frame: pd.DataFrame, x: str, y: str, mods: list[str],
           covs: list[str], tau: np.ndarray) -> None:
    import pandas as pd

    from causal.estimators.policy import plot_uplift
    from causal.estimators.weighting import default_propensity
    from causal.plot import save_figure

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame({"row": frame.index.to_numpy()})
    for m in mods:
        table[m] = frame[m].to_numpy()
    table["cate"] = tau
    if method in ("causal-forest", "dml"):
        lo, hi = est.effect_interval(frame[mods], alpha=1 - float(est.level))
        table["cate_low"], table["cate_high"] = lo, hi
    csv = folder / "cate.csv"
    table.to_csv(csv, index=False)
    t = frame[x].to_numpy(dtype=float)
    paths = [csv]
    if np.array_equal(np.unique(t), [0.0, 1.0]):
        feats = frame[list(dict.fromkeys(mods + covs))].to_numpy(dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            e = default_propensity().fit(feats, t).predict_proba(feats)[:, 1]
        fig = plot_uplift({f"CATE ({method})": tau}, frame[y].to_numpy(dtype=float), t,
                          propensity=np.clip(e, 0.01, 0.99), kind="qini")
        fig.axes[0].set_title(f"Qini curve: targeting {x} by the {method} CATE (in-sample)", fontsize=10,
                              loc="left")
        paths.append(save_figure(fig, folder / "uplift.png"))
    print("wrote " + ", ".join(str(p) for p in paths))
