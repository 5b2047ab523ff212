#!/usr/bin/env python
"""Benchmark: effect estimators (AIPW, IPW, regression, propensity matching, 2SLS) vs DoWhy and EconML.

Usage::

    python benchmarks/bench_estimators.py [--json PATH] [--quick] [--no-peers] [--repeats K]
                                          [--sizes N,N,...] [--peer-limit S] [--accuracy-reps R]

Follows the method of ``benchmarks/README.md``: every row times one of our estimators and the peer
a user would pick instead, in the same run, on the same data, with the same
nuisance models and folds; each side is warmed up once, then the two are timed
alternately (A, B, A, B, ...) so that load on a shared machine hits both alike,
and the row gives the median of the repeats with min and max beside it.
Beside time the row shows each side's estimate on the timed data set and its
absolute error against the true effect of the data-generating process (ours
with its standard error, which the peers' timed calls do not compute unless
noted). That single data set says little about which estimator is more
accurate, so accuracy is judged by a separate paired replication study (below).

Data (seed 20240612, generated here: DoWhy's ``linear_dataset`` fails with
numpy 2): five standard-normal covariates ``x1..x5``; a binary treatment with
``P(t = 1 | x) = logistic(0.5 x1 - 0.4 x2 + 0.3 x3 + 0.2 x4 - 0.2 x5)``;
``y = 1 + 2 t + x1 - x2 + 0.5 x3 + 0.5 x4 + x5 + N(0, 1)`` (true ATE 2). For
2SLS: an instrument ``z``, a hidden ``u``, a continuous treatment
``d = 0.8 z + u + N(0, 1)`` and ``y_iv = 2 d + 2 u + N(0, 1)`` (true effect 2).

Rows (for each n in ``--sizes``, default 10,000 and 1,000,000)
--------------------------------------------------------------
1. ``AIPW(cross_fit=2)`` vs EconML ``LinearDRLearner`` with the same propensity
   (``default_propensity()``: standardised ``LogisticRegression(C=1e6)``) and
   ``LinearRegression`` outcome models, and the same two folds (the split list
   is passed as ``cv``). EconML's outcome model is one regression on
   ``[W, T]``; ours one per arm. Both compute standard errors.
1b. ``AIPW(cross_fit=2)`` vs EconML ``LinearDML(discrete_treatment=True)`` in its
   default configuration (its ``"auto"`` nuisance models — cross-validated
   regularised linear and logistic models — and ``cv=2``), and
1c. vs the same ``LinearDML`` with equal nuisances (``model_y=LinearRegression()``,
   ``model_t=default_propensity()``, our two folds as ``cv``). LinearDML's
   partially linear effect and the AIPW ATE coincide here (constant effect 2).
   Target: >= 1.5x at every size.
2. ``IPW()`` (Hájek) vs DoWhy ``backdoor.propensity_score_weighting`` with
   ``weighting_scheme="ips_normalized_weight"`` (Hájek), the same propensity
   model and no clipping (``min_ps_score=0, max_ps_score=1``).
2b. ``IPW()`` vs the same DoWhy call with DoWhy's default propensity model
   (no ``propensity_score_model``: DoWhy fits scikit-learn's
   ``LogisticRegression()``), Hájek weights and no clipping as in row 2.
3. ``RegressionAdjustment(interacted=False)`` (OLS of y on t and x, HC2) vs
   DoWhy ``backdoor.linear_regression`` (statsmodels OLS, the same regression).
4. ``PropensityMatching()`` (1 neighbour, with replacement, Abadie-Imbens 2016
   standard error) vs DoWhy ``backdoor.propensity_score_matching`` (1 neighbour
   on the score, no standard error), the same propensity model.
5. ``TwoStageLeastSquares()`` (one instrument, no covariates, HC1) vs DoWhy
   ``iv.instrumental_variable`` (``Cov(y, z) / Cov(d, z)``, the same estimator).

"The same propensity model" is ``default_propensity()`` on both sides. Our ``IPW``, ``AIPW`` and
``PropensityMatching`` fit it (when no ``propensity=`` is given) with their own blocked Newton solver,
``causal.estimators._fastfit.newton_logistic``, which takes the steps of scikit-learn's
``newton-cholesky`` solver and stops where it stops: the fitted probabilities agree with
scikit-learn's to rounding (``tests/test_estimators_fastfit.py``); the peers fit the pipeline with
scikit-learn.

DoWhy is timed on ``model.estimate_effect(...)``: the ``CausalModel`` (on a
fresh copy of the data, since DoWhy writes its propensity scores into the
frame and would skip the fit on a second call) and ``identify_effect()`` are
built outside the timing. Targets: at n = 1,000,000 at least 2x faster than
DoWhy and 1.5x faster than EconML; at n = 10,000 never slower (>= 1x); error
no larger than the peer's (judged as below). At n >= 1,000,000 a side whose
warm-up takes longer than 10 s is timed 3 times (the row says so), and a peer
whose warm-up exceeds ``--peer-limit`` seconds (default 300) is not timed.

Accuracy: a paired replication study
------------------------------------
After all timing is done (so the timings are taken exactly as before), each
size gets ``R`` independent data sets from ``make_data(n, seed)`` with seeds
``SEED, SEED + 1, ..., SEED + R - 1``; the first is the timed data set, whose
estimates are taken from the timed calls (fits are deterministic), so no fit is
repeated. On every data set both sides of every row are fitted with the same
settings as the timed calls, and each estimate's error against the true effect
(2) is recorded. Defaults: ``R = 40`` at n < 1,000,000 and ``R = 4`` at
n >= 1,000,000 (DoWhy's matching takes ~8 s a call there); ``--accuracy-reps R``
sets ``R`` for every size, ``--quick`` uses ``R = 3``. Per row the table gives
our RMSE and the peer's over the ``R`` data sets and the paired difference of
squared errors ``D_r = (ours_r - 2)^2 - (peer_r - 2)^2``: its mean and the
standard error of that mean (``sd(D) / sqrt(R)``), and ``z = mean / SE``.

"error met" means ours is not significantly worse than the peer: ``mean(D) <=
2 SE(D)`` (plus ``1e-9`` times the peer's mean squared error, so that two
implementations of one estimator that differ only by rounding tie). This is a
one-sided test at about the 2.3% level (normal approximation): when the two are
equally accurate a row fails about 2.3% of the time by chance (with only
``R - 1`` degrees of freedom for the SE the tail is heavier: about 2.6% at
``R = 40`` and about 7% at ``R = 4``, for normal ``D``), so across the ten rows
of a default run a false failure somewhere is not rare (~20%); a failure is
worth acting on when it repeats or when ``z`` is large. With ``R < 5`` the row
notes that the test has little power: it can then only catch a gross
difference. The verdict says nothing about being better: a "yes" with a
negative ``z`` near -2 or below would suggest ours is more accurate. Without
peers (or a peer too slow to time) only our RMSE is reported.

``--quick`` runs n = 2,000 with 2 repeats and 3 accuracy data sets (a smoke
run, not a measurement); ``--no-peers`` skips DoWhy and EconML.
"""

from __future__ import annotations

import gc
import json
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# benchmarks/ is on sys.path when a script runs
from _common import finish_machine, machine, markdown, parser, print_machine, verdict  # noqa: E402

from causal.estimators.iv import TwoStageLeastSquares  # noqa: E402
from causal.estimators.matching import PropensityMatching  # noqa: E402
from causal.estimators.simple import RegressionAdjustment  # noqa: E402
from causal.estimators.weighting import AIPW, IPW, default_propensity  # noqa: E402

SEED = 20240612
FOLD_SEED = 0
TRUE_ATE = 2.0
COVS = [f"x{i}" for i in range(1, 6)]
PS_COEF = np.array([0.5, -0.4, 0.3, 0.2, -0.2])
Y_COEF = np.array([1.0, -1.0, 0.5, 0.5, 1.0])
SLOW_CALL_S = 10.0  # at n >= LARGE, a side slower than this is timed SLOW_REPEATS times
SLOW_REPEATS = 3
LARGE = 1_000_000
ACCURACY_REPS = 40  # data sets in the paired accuracy study at n < LARGE
ACCURACY_REPS_LARGE = 4  # ... and at n >= LARGE
ACCURACY_REPS_QUICK = 3
SIGNIFICANCE_SE = 2.0  # "error met": mean paired difference of squared errors <= this many SEs
FEW_REPS = 5  # below this many data sets the paired test has little power (said in the row's notes)
ROUNDING_RTOL = 1e-9  # ... plus this times the peer's mean squared error (equal estimators tie)


# ----------------------------------------------------------------------------- data
def make_data(n: int, seed: int = SEED) -> pd.DataFrame:
    """The benchmark's data (see the module docstring); true ATE and IV effect both 2."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, len(COVS)))
    t = (rng.random(n) < 1 / (1 + np.exp(-(X @ PS_COEF)))).astype(float)
    y = 1 + TRUE_ATE * t + X @ Y_COEF + rng.standard_normal(n)
    z, u = rng.standard_normal((2, n))
    d = 0.8 * z + u + rng.standard_normal(n)
    y_iv = TRUE_ATE * d + 2 * u + rng.standard_normal(n)
    return pd.DataFrame(X, columns=COVS).assign(t=t, y=y, z=z, d=d, y_iv=y_iv)


def folds(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two cross-fitting folds ``AIPW(cross_fit=2, random_state=FOLD_SEED)`` uses."""
    from sklearn.model_selection import KFold

    return list(KFold(n_splits=2, shuffle=True, random_state=FOLD_SEED).split(np.empty((n, 1))))


# ----------------------------------------------------------------------------- ours
BACKDOOR = {"treatment": "t", "outcome": "y", "covariates": COVS}


def ours(case: str) -> Callable[[pd.DataFrame], Any]:
    """A call ``data -> Estimate`` of our estimator for ``case``."""
    calls: dict[str, Callable[[pd.DataFrame], Any]] = {
        "aipw": lambda df: AIPW(cross_fit=2, random_state=FOLD_SEED).fit(df, **BACKDOOR).ate(),
        "ipw": lambda df: IPW().fit(df, **BACKDOOR).ate(),
        "regression": lambda df: RegressionAdjustment(interacted=False).fit(df, **BACKDOOR).ate(),
        "psm": lambda df: PropensityMatching().fit(df, **BACKDOOR).ate(),
        "2sls": lambda df: TwoStageLeastSquares().fit(df, treatment="d", outcome="y_iv",
                                                      instrument="z").ate(),
    }
    return calls[case]


# ----------------------------------------------------------------------------- peers
DOWHY_METHODS = {
    "ipw": ("backdoor.propensity_score_weighting",
            lambda: {"propensity_score_model": default_propensity(),
                     "weighting_scheme": "ips_normalized_weight", "min_ps_score": 0.0, "max_ps_score": 1.0}),
    "ipw:default": ("backdoor.propensity_score_weighting",
                    lambda: {"weighting_scheme": "ips_normalized_weight", "min_ps_score": 0.0,
                             "max_ps_score": 1.0}),
    "regression": ("backdoor.linear_regression", dict),
    "psm": ("backdoor.propensity_score_matching", lambda: {"propensity_score_model": default_propensity()}),
    "2sls": ("iv.instrumental_variable", dict),
}


def dowhy_call(case: str) -> tuple[Callable[[pd.DataFrame], Any], Callable[[pd.DataFrame], Any]]:
    """``(setup, call)``: ``setup(data)`` builds a fresh CausalModel and estimand (untimed);
    ``call(state)`` runs ``estimate_effect`` and returns the estimate's value."""
    from dowhy import CausalModel

    method, params = DOWHY_METHODS[case]

    def setup(df: pd.DataFrame) -> Any:
        if case == "2sls":
            model = CausalModel(data=df[["z", "d", "y_iv"]].copy(), treatment="d", outcome="y_iv",
                                instruments=["z"], common_causes=[])
        else:
            model = CausalModel(data=df[["t", "y", *COVS]].copy(), treatment="t", outcome="y",
                                common_causes=COVS)
        return model, model.identify_effect(proceed_when_unidentifiable=True)

    def call(state: Any) -> float:
        model, estimand = state
        est = model.estimate_effect(estimand, method_name=method, target_units="ate",
                                    method_params={"init_params": params()})
        return float(est.value)

    return setup, call


def econml_call(n: int, case: str = "aipw") -> Callable[[pd.DataFrame], Any]:
    """``data -> estimate`` of the EconML peer of ``case`` (``aipw``: LinearDRLearner, same nuisances;
    ``aipw:lineardml-default``: LinearDML in its default configuration; ``aipw:lineardml``: LinearDML with
    our nuisances and folds)."""
    from econml.dml import LinearDML
    from econml.dr import LinearDRLearner
    from sklearn.linear_model import LinearRegression

    split = folds(n)

    def make() -> Any:
        if case == "aipw:lineardml-default":
            return LinearDML(discrete_treatment=True, random_state=FOLD_SEED)
        if case == "aipw:lineardml":
            return LinearDML(model_y=LinearRegression(), model_t=default_propensity(),
                             discrete_treatment=True, cv=split, random_state=FOLD_SEED)
        return LinearDRLearner(model_propensity=default_propensity(), model_regression=LinearRegression(),
                               cv=split, random_state=FOLD_SEED)

    def call(df: pd.DataFrame) -> float:
        learner = make()
        learner.fit(df["y"].to_numpy(), df["t"].to_numpy(), X=None, W=df[COVS].to_numpy())
        return float(np.ravel(learner.ate())[0])

    return call


# ----------------------------------------------------------------------------- timing
def _once(fn: Callable[[Any], Any], setup: Callable[[], Any] | None) -> tuple[float, Any]:
    arg = setup() if setup is not None else None
    gc.collect()
    t0 = time.perf_counter()
    out = fn(arg)
    return time.perf_counter() - t0, out


def race(a: Callable[[Any], Any], b: Callable[[Any], Any] | None, repeats: int, n: int,
         setup_a: Callable[[], Any] | None = None, setup_b: Callable[[], Any] | None = None,
         peer_limit: float = 300.0) -> dict[str, Any]:
    """Warm up both sides, then time them alternately; return times, last results and notes."""
    notes: list[str] = []
    warm_a, out_a = _once(a, setup_a)
    reps_a = SLOW_REPEATS if n >= LARGE and warm_a > SLOW_CALL_S else repeats
    times_a, times_b, out_b, reps_b = [], [], None, 0
    if b is not None:
        warm_b, out_b = _once(b, setup_b)
        if warm_b > peer_limit:
            notes.append(f"peer not timed: its warm-up took {warm_b:.0f} s (> {peer_limit:g} s)")
            b = None
        else:
            reps_b = SLOW_REPEATS if n >= LARGE and warm_b > SLOW_CALL_S else repeats
    for i in range(max(reps_a, reps_b)):
        if i < reps_a:
            dt, out_a = _once(a, setup_a)
            times_a.append(dt)
        if b is not None and i < reps_b:
            dt, out_b = _once(b, setup_b)
            times_b.append(dt)
    for label, reps in (("ours", reps_a), ("peer", reps_b)):
        if 0 < reps < repeats:
            notes.append(f"{label} timed {reps}x (a call takes > {SLOW_CALL_S:g} s)")
    return {"ours": summary(times_a), "peer": summary(times_b), "out_ours": out_a, "out_peer": out_b,
            "notes": notes}


def summary(times: list[float]) -> dict[str, Any] | None:
    if not times:
        return None
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "repeats": len(times)}


# ----------------------------------------------------------------------------- rows
CASES = [
    ("aipw", "AIPW (2-fold cross-fit)", "econml", "EconML LinearDRLearner (same nuisances, same folds)"),
    ("aipw:lineardml-default", "AIPW (2-fold cross-fit)", "econml", "EconML LinearDML (default config)"),
    ("aipw:lineardml", "AIPW (2-fold cross-fit)", "econml",
     "EconML LinearDML (same nuisances, same folds)"),
    ("ipw", "IPW (Hájek)", "dowhy", "DoWhy propensity_score_weighting (Hájek, no clipping)"),
    ("ipw:default", "IPW (Hájek)", "dowhy",
     "DoWhy propensity_score_weighting (its default propensity model; Hájek, no clipping)"),
    ("regression", "RegressionAdjustment (OLS, HC2)", "dowhy", "DoWhy linear_regression"),
    ("psm", "PropensityMatching (1-NN, AI 2016 SE)", "dowhy", "DoWhy propensity_score_matching"),
    ("2sls", "TwoStageLeastSquares (HC1)", "dowhy", "DoWhy iv.instrumental_variable"),
]


def target(peer: str, n: int, case: str = "") -> float:
    if case.startswith("aipw:lineardml"):
        return 1.5
    if n >= LARGE:
        return 1.5 if peer == "econml" else 2.0
    return 1.0


def run_row(case: str, label: str, peer: str, peer_label: str, data: pd.DataFrame, repeats: int,
            peers: dict[str, str | None], use_peers: bool, peer_limit: float) -> dict[str, Any]:
    n = len(data)
    mine = ours(case.split(":")[0])
    reason = None
    if not use_peers:
        reason = "peers skipped (--no-peers)"
    elif peers.get(peer) is None:
        reason = f"{peer} not installed"
    if reason is None and peer == "econml":
        econ = econml_call(n, case)
        res = race(lambda _: mine(data), lambda _: econ(data), repeats, n, peer_limit=peer_limit)
    elif reason is None:
        setup, call = dowhy_call(case)
        res = race(lambda _: mine(data), call, repeats, n, setup_b=lambda: setup(data), peer_limit=peer_limit)
    else:
        res = race(lambda _: mine(data), None, repeats, n)
    est = res["out_ours"]
    peer_value = res["out_peer"]
    ratio = (res["peer"]["median"] / res["ours"]["median"]) if res["peer"] else None
    goal = target(peer, n, case)
    err_ours = abs(est.value - TRUE_ATE)
    err_peer = abs(peer_value - TRUE_ATE) if peer_value is not None else None
    return {"case": label, "n": n, "ours": res["ours"], "reference": peer_label if reason is None else reason,
            "ref": res["peer"], "ratio": ratio, "target": goal,
            "speed_met": None if ratio is None else ratio >= goal,
            "estimate": est.value, "stderr": est.stderr, "abs_error": err_ours,
            "peer_estimate": peer_value, "peer_abs_error": err_peer,
            # the peer enters the accuracy study only if it was timed (else it is too slow to repeat)
            "peer_in_study": reason is None and res["peer"] is not None,
            "accuracy": None, "accuracy_met": None,  # filled in by accuracy_study()
            "notes": res["notes"]}


# ----------------------------------------------------------------------------- accuracy
def accuracy_reps(n: int, override: int | None, quick: bool) -> int:
    """Number of data sets in the paired accuracy study at size ``n``."""
    if override is not None:
        return override
    if quick:
        return ACCURACY_REPS_QUICK
    return ACCURACY_REPS_LARGE if n >= LARGE else ACCURACY_REPS


def study_seeds(reps: int) -> list[int]:
    """Seeds of the study's data sets; the first, ``SEED``, is the timed data set."""
    return [SEED + r for r in range(reps)]


def peer_fit(case: str, peer: str, n: int) -> Callable[[pd.DataFrame], float]:
    """``data -> estimate`` of the row's peer, with the settings of the timed call."""
    if peer == "econml":
        return econml_call(n, case)
    setup, call = dowhy_call(case)
    return lambda df: call(setup(df))


def paired_summary(ours_est: list[float], peer_est: list[float] | None,
                   seeds: list[int]) -> dict[str, Any]:
    """Errors over the study's data sets, RMSEs, and the paired test on squared errors."""
    e_ours = np.asarray(ours_est, dtype=float) - TRUE_ATE
    reps = len(e_ours)
    out: dict[str, Any] = {
        "reps": reps, "seeds": seeds, "ours_estimates": [float(v) for v in ours_est],
        "ours_errors": e_ours.tolist(), "rmse_ours": float(np.sqrt(np.mean(e_ours ** 2))),
        "peer_estimates": None, "peer_errors": None, "rmse_peer": None, "sq_err_diffs": None,
        "sq_err_diff_mean": None, "sq_err_diff_se": None, "z": None, "max_abs_estimate_diff": None,
        "met": None}
    if peer_est is None:
        return out
    e_peer = np.asarray(peer_est, dtype=float) - TRUE_ATE
    diff = e_ours ** 2 - e_peer ** 2
    mean = float(diff.mean())
    se = float(diff.std(ddof=1) / np.sqrt(reps))
    allowance = SIGNIFICANCE_SE * se + ROUNDING_RTOL * float(np.mean(e_peer ** 2))
    out.update({
        "peer_estimates": [float(v) for v in peer_est], "peer_errors": e_peer.tolist(),
        "rmse_peer": float(np.sqrt(np.mean(e_peer ** 2))), "sq_err_diffs": diff.tolist(),
        "sq_err_diff_mean": mean, "sq_err_diff_se": se, "z": mean / se if se > 0 else None,
        "max_abs_estimate_diff": float(np.max(np.abs(e_ours - e_peer))), "met": bool(mean <= allowance)})
    return out


def accuracy_study(n: int, reps: int, cases: list[tuple[str, str]], rows: list[dict[str, Any]]) -> None:
    """Fit both sides of every row at size ``n`` on ``reps`` data sets and record the verdicts.

    ``cases[i] = (case, peer)`` belongs to ``rows[i]``, whose timed estimates are the first data set's.
    """
    seeds = study_seeds(reps)
    fits = [(ours(case.split(":")[0]), peer_fit(case, peer, n) if row["peer_in_study"] else None)
            for (case, peer), row in zip(cases, rows, strict=True)]
    est_ours = [[row["estimate"]] for row in rows]
    est_peer = [[row["peer_estimate"]] if row["peer_in_study"] else None for row in rows]
    for seed in seeds[1:]:
        data = make_data(n, seed)
        for i, (mine, theirs) in enumerate(fits):
            est_ours[i].append(float(mine(data).value))
            if theirs is not None:
                est_peer[i].append(float(theirs(data)))
        del data
    for i, row in enumerate(rows):
        acc = paired_summary(est_ours[i], est_peer[i], seeds)
        row["accuracy"], row["accuracy_met"] = acc, acc["met"]
        if acc["met"] is None and row["peer_estimate"] is not None:
            row["notes"].append("accuracy study: ours only (the peer was not timed)")
        if acc["max_abs_estimate_diff"] is not None and acc["max_abs_estimate_diff"] < 1e-6:
            row["notes"].append(f"the two estimates agree to {acc['max_abs_estimate_diff']:.1e} "
                                f"on all {reps} data sets")
        if reps < FEW_REPS:
            row["notes"].append(f"accuracy over only {reps} data sets: the paired test has little power")


# ----------------------------------------------------------------------------- output
def _t(t: dict[str, Any] | None) -> str:
    if t is None:
        return "—"
    return f"{_ms(t['median'])} [{_ms(t['min'])}, {_ms(t['max'])}]"


def _ms(s: float) -> str:
    return f"{s * 1e3:.1f}" if s < 10 else f"{s * 1e3:,.0f}"


def table(rows: list[dict[str, Any]]) -> str:
    cells = []
    for i, r in enumerate(rows, 1):
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        peer_err = "—" if r["peer_abs_error"] is None else f"{r['peer_abs_error']:.4f}"
        a = r["accuracy"]
        if a is None:
            reps, rmse, diff = "—", "—", "—"
        else:
            reps = str(a["reps"])
            rmse = f"{a['rmse_ours']:.4f} / " + ("—" if a["rmse_peer"] is None else f"{a['rmse_peer']:.4f}")
            diff = "—"
            if a["sq_err_diff_mean"] is not None:
                z = "—" if a["z"] is None else f"{a['z']:+.2f}"
                diff = f"{a['sq_err_diff_mean']:+.2e} ({a['sq_err_diff_se']:.2e}), z={z}"
        cells.append([i, f"{r['n']:,}", r["case"], _t(r["ours"]), r["reference"], _t(r["ref"]), ratio,
                      f"≥ {r['target']:g}x", verdict(r["speed_met"]),
                      f"{r['estimate']:.4f} ({r['stderr']:.4f}), {r['abs_error']:.4f}", peer_err, reps, rmse,
                      diff, verdict(r["accuracy_met"]), "; ".join(r["notes"])])
    return markdown(["#", "n", "ours", "ours ms median [min, max]", "reference",
                     "reference ms median [min, max]", "speed-up", "target", "met",
                     "ours estimate (SE), abs error", "reference abs error", "R", "RMSE ours / reference",
                     "mean D (SE), z", "error met", "notes"], cells)


FOOTER = (
    "Estimate (SE) and abs errors: the timed data set only (seed {seed}). Accuracy: R data sets "
    "(seeds {seed}, {seed} + 1, ...; the first is the timed one), both sides fitted on each; "
    "RMSE against the true effect {true:g}; D = squared error of ours - squared error of the "
    "reference, per data set; mean D (SE of the mean over the R data sets), z = mean / SE. "
    "\"error met\" = ours not significantly worse: mean D <= {k:g} SE (+ {rtol:g} x the reference's "
    "mean squared error, for rounding) — a one-sided test that fails about 2.3% of rows by chance "
    "when the two are equally accurate (normal approximation; heavier with few data sets, ~7% at R = 4).")


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, "tiny smoke run (n = 2,000, 2 repeats), not a measurement")
    ap.add_argument("--no-peers", action="store_true", help="skip DoWhy and EconML")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per side (default 5)")
    ap.add_argument("--sizes", default=None, help="comma-separated sample sizes (default 10000,1000000)")
    ap.add_argument("--cases", default=None,
                    help=f"comma-separated rows to run (default all: {', '.join(c[0] for c in CASES)})")
    ap.add_argument("--peer-limit", type=float, default=300.0,
                    help="seconds a peer's warm-up may take before the peer is not timed (default 300)")
    ap.add_argument("--accuracy-reps", type=int, default=None,
                    help=f"data sets in the paired accuracy study, for every size (default "
                         f"{ACCURACY_REPS} at n < {LARGE:,}, {ACCURACY_REPS_LARGE} at n >= {LARGE:,}; "
                         f"{ACCURACY_REPS_QUICK} with --quick)")
    args = ap.parse_args(argv)
    if args.accuracy_reps is not None and args.accuracy_reps < 2:
        ap.error("--accuracy-reps must be at least 2 (the paired test needs a standard error)")
    repeats = args.repeats or (2 if args.quick else 5)
    if repeats < 5 and not args.quick:
        ap.error("benchmarks/README.md asks for at least 5 repeats")
    if args.sizes:
        try:
            sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
        except ValueError:
            ap.error(f"--sizes {args.sizes!r}: give integers separated by commas")
    else:
        sizes = [2_000] if args.quick else [10_000, 1_000_000]
    if any(s < 100 for s in sizes):
        ap.error("sizes must be at least 100")
    cases_run = CASES
    if args.cases:
        wanted = [c.strip() for c in args.cases.split(",")]
        unknown = sorted(set(wanted) - {c[0] for c in CASES})
        if unknown:
            ap.error(f"--cases: unknown {', '.join(unknown)}; choose from {', '.join(c[0] for c in CASES)}")
        cases_run = [c for c in CASES if c[0] in wanted]

    warnings.filterwarnings("ignore")          # peers' deprecation chatter; overlap is fine by design
    logging.disable(logging.CRITICAL)          # DoWhy logs every estimate at INFO
    info = machine(("numpy", "scipy", "pandas", "scikit-learn", "dowhy", "econml"))
    use_peers = not args.no_peers
    print(f"a warm-up, then {repeats} alternating repeats per side (3 for a call > {SLOW_CALL_S:g} s at "
          f"n >= {LARGE:,}); true ATE {TRUE_ATE:g}; sizes {', '.join(f'{s:,}' for s in sizes)}"
          + ("" if use_peers else "; peers skipped"))
    reps_by_size = {n: accuracy_reps(n, args.accuracy_reps, args.quick) for n in sizes}
    plan = ", ".join(f"{r} data sets at n={n:,}" for n, r in reps_by_size.items())
    print(f"accuracy: a paired study over {plan} (after the timing)")
    t_start = time.perf_counter()
    rows = []
    for n in sizes:
        data = make_data(n)
        for case, label, peer, peer_label in cases_run:
            row = run_row(case, label, peer, peer_label, data, repeats, info, use_peers, args.peer_limit)
            rows.append(row)
            print(f"  n={n:,} {label}: {_t(row['ours'])} ms vs {_t(row['ref'])} ms", flush=True)
        del data
    t_timing = time.perf_counter() - t_start
    # The accuracy study runs after all timing, so the timed calls run exactly as without it.
    cases = [(case, peer) for case, _, peer, _ in cases_run]
    for k, n in enumerate(sizes):
        t0 = time.perf_counter()
        accuracy_study(n, reps_by_size[n], cases, rows[k * len(cases):(k + 1) * len(cases)])
        print(f"  accuracy n={n:,}: {reps_by_size[n]} data sets in {time.perf_counter() - t0:.1f} s",
              flush=True)
    t_total = time.perf_counter() - t_start
    t_accuracy = t_total - t_timing
    print_machine(finish_machine(info))
    print()
    print(table(rows))
    print()
    print(FOOTER.format(seed=SEED, true=TRUE_ATE, k=SIGNIFICANCE_SE, rtol=ROUNDING_RTOL))
    print(f"run time {t_total:.1f} s (timing {t_timing:.1f} s, accuracy study {t_accuracy:.1f} s)")
    if args.json:
        args.json.write_text(json.dumps({
            "machine": info, "repeats": repeats, "true_ate": TRUE_ATE,
            "accuracy_study": {"reps": {str(n): r for n, r in reps_by_size.items()}, "seed": SEED,
                               "seeds": "SEED + r for r = 0..R-1; r = 0 is the timed data set",
                               "test": f"met iff mean(D) <= {SIGNIFICANCE_SE:g} * SE(mean D) + "
                                       f"{ROUNDING_RTOL:g} * mean(peer sq err), "
                                       "D = sq_err_ours - sq_err_peer",
                               "one_sided_level_normal": 0.0228},
            "seconds": {"timing": t_timing, "accuracy_study": t_accuracy, "total": t_total},
            "rows": rows}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
