"""The whole product in one run: what-if, the braking trap, agents, an estimator leaderboard, discovery.

:func:`run_demo` runs five sections on the embedded scenarios with fixed seeds
and returns them as :class:`Section` objects: each has a title, a one-sentence
takeaway computed from that run's numbers (never written in advance), tables
and figures. :mod:`causalsim.demo_cli` prints them and writes the report.

1. **What if** (Driving): the same hazards under braking and under maintaining
   speed (paired worlds, common random numbers), with each hazard's effect.
2. **The trap** (Driving's logs): the naive comparison of logged collisions
   after braking and after maintaining speed, the estimate identified from the
   graph (doubly robust scores on the back-door set that :func:`causal.minimum_adjustment_set`
   finds), and the true effect.
3. **Agents** (Driving): random, naive, correlational, causal and oracle agents
   played through the same seeded hazards, scored by regret against the oracle.
4. **Leaderboard** (Marketing): naive, IPW, AIPW, matching, DR-learner and
   causal forest on fresh logged data sets, scored against the true effect.
5. **Discovery** (Healthcare): PC on logged data against the true graph.

Driving and Marketing run with ``hidden_confounder=False``: the logged context
then holds a back-door set, so that the identified estimate, the causal agent
and the back-door estimators have something to identify (the report says so).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Section", "Settings", "SETTINGS", "run_demo", "SECTIONS"]

Z95 = 1.959963984540054  #: two-sided 95% normal quantile


@dataclass(frozen=True)
class Settings:
    """Sizes of one demo run (``quick`` or full)."""

    whatif_n: int
    logs: int
    truth_n: int
    episodes: int
    agent_logs: int
    draws: int
    validate_n: int
    reps: int
    discovery_n: int


#: ``--quick`` fits in a minute on 2 cores; the full run in a few minutes.
SETTINGS = {
    "quick": Settings(whatif_n=20_000, logs=20_000, truth_n=50_000, episodes=8, agent_logs=10_000,
                      draws=200, validate_n=2_000, reps=12, discovery_n=5_000),
    "full": Settings(whatif_n=100_000, logs=100_000, truth_n=200_000, episodes=40, agent_logs=50_000,
                     draws=1_000, validate_n=2_000, reps=100, discovery_n=20_000),
}


@dataclass
class Section:
    """One part of the demo: what it shows, what it found, and its tables and figures."""

    key: str          #: short name, used for file names (``whatif``, ``trap``, ...)
    title: str
    takeaway: str     #: one sentence computed from this run's numbers
    setup: str        #: what was run, in one or two sentences
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)  #: file name -> matplotlib Figure


def _ci(x: np.ndarray) -> tuple[float, float, float]:
    """Mean of ``x`` with its 95% normal interval."""
    m = float(np.mean(x))
    h = Z95 * float(np.std(x, ddof=1)) / np.sqrt(len(x))
    return m, m - h, m + h


def _driving() -> Any:
    import scenarios

    return scenarios.make("driving", hidden_confounder=False)


# ------------------------------------------------------------------ 1. what if
def whatif_section(s: Settings, seed: int) -> Section:
    from causal.plot import plot_distribution
    from causalsim.cli import action_labels
    from causalsim.whatif import run_whatif

    sc = _driving()
    setting = action_labels(sc)["maneuver"]
    do = {k: _hard(v) for k, v in setting["brake"].items()}
    vs = {k: _hard(v) for k, v in setting["maintain"].items()}
    r = run_whatif(sc.scm, do, "collision", labels=["maneuver=brake"], n=s.whatif_n, seed=seed,
                   vs=vs, vs_labels=["maneuver=maintain"])
    y0, y1 = r.baseline["collision"], r.intervened["collision"]
    d = y1 - y0
    m, lo, hi = _ci(d)
    saved, harmed = float(np.mean(d < 0)), float(np.mean(d > 0))
    table = pd.DataFrame({
        "world": ["do(maneuver=maintain)", "do(maneuver=brake)", "effect (brake - maintain)"],
        "collision rate": [float(y0.mean()), float(y1.mean()), m],
        "ci_low": [_ci(y0)[1], _ci(y1)[1], lo], "ci_high": [_ci(y0)[2], _ci(y1)[2], hi]})
    per_unit = pd.DataFrame({"effect on the hazard": ["saved (crash -> no crash)", "unchanged",
                                                      "harmed (no crash -> crash)"],
                             "share": [saved, 1 - saved - harmed, harmed]})
    fig = plot_distribution({"maintain": y0, "brake": y1}, outcome="collision", paired=True)
    word = "prevents" if m < 0 else "causes"
    take = (f"Braking instead of maintaining speed changes the collision rate by {m:+.3f} "
            f"(95% CI [{lo:+.3f}, {hi:+.3f}]): it {word} about {abs(m) * 100:.0f} collisions per 100 "
            f"hazards, saving {saved:.0%} of the hazards and causing a crash in {harmed:.0%}.")
    setup = (f"{s.whatif_n:,} hazards of the Driving scenario, each played twice from the same exogenous "
             f"noise (seed {seed}): once braking, once maintaining speed.")
    return Section("whatif", "What if the car brakes? Paired worlds on Driving", take, setup,
                   {"whatif": table, "whatif_units": per_unit}, {"whatif.png": fig})


def _hard(value: float) -> Any:
    from causal import Hard

    return Hard(float(value))


# ------------------------------------------------------------------ 2. the trap
def trap_section(s: Settings, seed: int) -> Section:
    import matplotlib.pyplot as plt
    from sklearn.ensemble import HistGradientBoostingClassifier

    from causal import minimum_adjustment_set
    from causal.estimators.policy import dr_scores

    sc = _driving()
    data = sc.observational(s.logs, seed)
    act = sc.logged_actions(data)
    y = data["collision"].to_numpy(dtype=float)
    brake, keep = act == 1, act == 0
    naive = float(y[brake].mean() - y[keep].mean())
    se = float(np.sqrt(y[brake].var(ddof=1) / brake.sum() + y[keep].var(ddof=1) / keep.sum()))
    adjust = sorted(minimum_adjustment_set(sc.scm.graph, "maneuver", "collision"))
    # Every arm's doubly robust score on the whole population (the humans also swerve), with boosted
    # nuisances: the logged propensity and the physics are far from linear in the context.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the demo reports the estimate; overlap is discussed in the docs
        scores = dr_scores(data, "maneuver", "collision", adjust, folds=2, seed=seed,
                           propensity=HistGradientBoostingClassifier(random_state=seed))
    est, est_lo, est_hi = _ci((scores[1] - scores[0]).to_numpy())
    truth = sc.truth(n=s.truth_n, seed=seed).ate("brake", "maintain", node="collision")
    table = pd.DataFrame({
        "answer": ["naive: logged brake - logged maintain",
                   f"doubly robust, adjusting for {', '.join(adjust)}",
                   "truth (paired worlds)"],
        "effect on collision rate": [naive, est, truth.value],
        "ci_low": [naive - Z95 * se, est_lo, truth.value - Z95 * truth.stderr],
        "ci_high": [naive + Z95 * se, est_hi, truth.value + Z95 * truth.stderr]})
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ypos = np.arange(3)[::-1]
    vals = table["effect on collision rate"].to_numpy()
    ax.errorbar(vals, ypos, xerr=[vals - table.ci_low, table.ci_high - vals], fmt="o", capsize=4,
                color="#333")
    ax.axvline(truth.value, color="#2a7", ls="--", label="truth")
    ax.axvline(0, color="#999", lw=0.8)
    ax.set_yticks(ypos, ["naive (logs)", "identified (doubly robust)", "truth"])
    ax.set_xlabel("effect of braking on the collision rate")
    ax.legend(frameon=False, loc="lower right")
    fig.tight_layout()
    sign = "the wrong sign" if np.sign(naive) != np.sign(truth.value) else "the right sign"
    take = (f"In the logs braking goes with {naive:+.3f} collisions per hazard ({sign}); adjusting for "
            f"{', '.join(adjust)} gives {est:+.3f} [{est_lo:+.3f}, {est_hi:+.3f}], "
            f"and the truth is {truth.value:+.3f}.")
    setup = (f"{s.logs:,} logged hazards of human drivers (who brake when the situation is already "
             f"dangerous), seed {seed}; the adjustment set is read off the scenario's graph.")
    return Section("trap", "The braking trap: the logs against the truth", take, setup,
                   {"trap": table}, {"trap.png": fig})


# ------------------------------------------------------------------ 3. agents
AGENTS = ("random", "naive", "correlational", "causal", "oracle")


def agents_section(s: Settings, seed: int) -> Section:
    import matplotlib.pyplot as plt

    from agents.evaluate import evaluate, paired, plot_regret, summarize

    sc = _driving()
    df = evaluate(list(AGENTS), sc, episodes=s.episodes, seed=seed, logs=s.agent_logs, draws=s.draws)
    summary = summarize(df)
    per = df.groupby("agent", sort=False)
    per_decision = (per.regret_oracle.sum() / per.decisions.sum()).reindex(list(AGENTS))
    brakes = (per.share_brake.mean()).reindex(list(AGENTS))
    table = pd.DataFrame({"agent": list(AGENTS), "regret per decision": per_decision.to_numpy(),
                          "share braking": brakes.to_numpy()})
    fig, ax = plt.subplots(figsize=(7, 4))
    plot_regret(df, ax=ax)
    ax.set_title("Driving: cumulative regret against the oracle")
    fig.tight_layout()
    mean, lo, hi = paired(df, "naive", "causal")
    learners = [a for a in AGENTS if a not in ("oracle", "random")]
    best = min(learners, key=lambda a: per_decision[a])
    take = (f"Regret per decision against the oracle: naive {per_decision['naive']:.3f}, correlational "
            f"{per_decision['correlational']:.3f}, causal {per_decision['causal']:.3f}, random "
            f"{per_decision['random']:.3f}; the naive agent brakes at {brakes['naive']:.0%} of hazards "
            f"where the oracle brakes at {brakes['oracle']:.0%} (naive - causal {mean:+.3f} per decision, "
            f"95% CI [{lo:+.3f}, {hi:+.3f}]); {best} comes closest to the oracle.")
    setup = (f"{s.episodes} seeded episodes of Driving for every agent (the same hazards for all); the "
             f"learning agents fit on {s.agent_logs:,} logged hazards first.")
    return Section("agents", "Decision agents scored by regret", take, setup,
                   {"agents": table, "agents_summary": summary}, {"regret.png": fig})


# ------------------------------------------------------------------ 4. leaderboard
ESTIMATORS = ("naive", "ipw", "aipw", "matching", "dr-learner", "causal-forest")


def leaderboard_section(s: Settings, seed: int, workers: int | None = None) -> Section:
    import scenarios
    from causal.validate import plot_estimates, validate

    sc = scenarios.make("marketing", hidden_confounder=False)  # the context holds a back-door set
    report = validate(sc, list(ESTIMATORS), n=s.validate_n, reps=s.reps, seed=seed, workers=workers,
                      contrast=("discount", "none"))
    cols = ["estimator", "truth", "estimate", "bias", "bias_se", "rmse", "coverage", "ci_width", "pehe",
            "reps", "failures"]
    board = report.table.sort_values("rmse", kind="stable")[cols].reset_index(drop=True)
    fig = plot_estimates(report)
    best = board.iloc[0]
    naive = board.set_index("estimator").loc["naive"]
    aipw = board.set_index("estimator").loc["aipw"]
    take = (f"On Marketing, {best.estimator} has the lowest RMSE ({best.rmse:.3g}, truth {best.truth:.3g}); "
            f"the naive comparison is off by {naive.bias:+.3g} and its intervals cover the truth in "
            f"{naive.coverage:.0%} of replications, AIPW's in {aipw.coverage:.0%}.")
    setup = (f"{s.reps} fresh logged data sets of {s.validate_n:,} customers each (seed {seed}), every "
             f"estimator fitted on each and scored against the scenario's true effect.")
    return Section("leaderboard", "Which estimator can you trust here? A leaderboard against the truth",
                   take, setup, {"leaderboard": board}, {"estimates.png": fig})


# ------------------------------------------------------------------ 5. discovery
DISCOVERY_SCENARIO = "healthcare"


def discovery_section(s: Settings, seed: int) -> Section:
    from causal.discovery import pc
    from causal.discovery.metrics import compare_graphs, edge_scores, reference_graph
    from causalsim.discover_cli import load_input

    data, true, _ = load_input(DISCOVERY_SCENARIO, s.discovery_n, seed)
    found = pc(data, 0.01)
    sc = edge_scores(found, true)
    ref = reference_graph(found, true, "auto")
    kind = "PAG" if true.bidirected_edges else "CPDAG"
    fig = compare_graphs(found, true, titles=(f"true ({kind})", "found by PC"))
    table = pd.DataFrame({"metric": ["SHD", "adjacency precision", "adjacency recall", "adjacency F1",
                                     "arrowhead precision", "arrowhead recall", "arrowhead F1"],
                          "value": [sc.shd, sc.adjacency_precision, sc.adjacency_recall, sc.adjacency_f1,
                                    sc.arrowhead_precision, sc.arrowhead_recall, sc.arrowhead_f1]})
    edges = pd.DataFrame(list(found.edges), columns=["from", "to", "mark"])
    n_true = len(ref.edges)
    take = (f"PC finds {len(found.edges)} of the {n_true} adjacencies of the true {kind} of "
            f"{DISCOVERY_SCENARIO.capitalize()} with adjacency precision {sc.adjacency_precision:.2f} and "
            f"recall {sc.adjacency_recall:.2f}, but orients fewer edges right (arrowhead F1 "
            f"{sc.arrowhead_f1:.2f}; SHD {sc.shd}).")
    setup = (f"PC (Fisher-z / G2 tests, alpha 0.01) on {s.discovery_n:,} logged rows of the "
             f"{DISCOVERY_SCENARIO.capitalize()} scenario (seed {seed}), scored against its true graph "
             f"with the hidden variables projected out.")
    return Section("discovery", "Causal discovery against the true graph", take, setup,
                   {"discovery": table, "discovery_edges": edges}, {"discovery.png": fig})


#: The sections in order: key -> function(settings, seed).
SECTIONS: dict[str, Callable[..., Section]] = {
    "whatif": whatif_section, "trap": trap_section, "agents": agents_section,
    "leaderboard": leaderboard_section, "discovery": discovery_section,
}


def run_demo(*, quick: bool = False, seed: int = 0, workers: int | None = None,
             only: Sequence[str] | None = None, progress: bool = False) -> list[Section]:
    """Run the demo's sections (all, or ``only`` those named) and return them in order.

    ``workers`` is the number of local processes of the leaderboard's validation.
    """
    from threadpoolctl import threadpool_limits

    s = SETTINGS["quick" if quick else "full"]
    keys = list(SECTIONS) if only is None else [k for k in SECTIONS if k in set(only)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(keys), desc="demo", unit="section", leave=False)
    out = []
    with threadpool_limits(1):  # small fits: one BLAS/OpenMP thread is the fast and reproducible choice
        for k in keys:
            if bar is not None:
                bar.set_postfix_str(k)
            fn = SECTIONS[k]
            out.append(fn(s, seed, workers) if k == "leaderboard" else fn(s, seed))
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return out
