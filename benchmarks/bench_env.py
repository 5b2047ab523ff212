#!/usr/bin/env python
"""Benchmark: the Gymnasium environments (single, vector, queries) vs CartPole and SyncVectorEnv.

Usage::

    python benchmarks/bench_env.py [--json PATH] [--quick] [--repeats K]

Follows ``BENCHMARKS.md``: every figure is a ratio against a reference timed
in the same run (CartPole as the "cheap env" yardstick, Gymnasium's own
``SyncVectorEnv``, a hand-written numpy version of the same model as the
physical limit), as the median of ``K >= 5`` repeats after a warm-up, with min
and max beside it, and accuracy beside time. The two sides of a row are timed
alternately (A, B, A, B, ...) so that load on a shared machine hits both alike.
The ratio column also gives the ratio of the process's CPU times
(``process_time``): where it differs from the wall-clock ratio, the machine's
load, not the code, made the difference.

The scenario (defined here): 10 nodes — four observed context nodes (three
roots and a linear child), a hidden confounder ``u``, a binary action ``t``
whose logged logit depends on the context and on ``u``, a mediator ``m``, a
nonlinear node ``g`` (sigmoid and exp), the outcome ``y`` and a downstream
node ``z``; Poisson arrivals, two actions (``control``, ``treat``), 200 units
per episode.

Rows
----
1.  ``CausalEnv`` steps/s (random actions from a seeded generator, resets
    included) vs ``gymnasium.make("CartPole-v1").unwrapped`` in the same loop.
    Accuracy: the mean reward per step vs the exact value of the uniformly
    random policy (``scenario.truth``). Target: ours/CartPole >= 0.25.
2.  ``CausalVectorEnv`` with 1024 sub-environments vs ``SyncVectorEnv`` over 1024
    ``CausalEnv`` (NEXT_STEP autoreset both), env-steps/s. A window is
    ``max_units + 1`` steps, so every sub-environment autoresets once in it; a
    timed call of ours runs 16 windows back to back, SyncVectorEnv's one (so
    that both calls last seconds). Accuracy: both get the same seeds and
    actions, so their rewards must agree bit for bit. Target: >= 50x.
3.  ``env.unwrapped.query.interventional(action, n=256)``: time per query vs a
    hand-written numpy evaluation of the same model for the same 256 draws.
    Accuracy: the answer's mean and stderr beside ``E[y | do(treat), context]``
    from the hand-written model with 1,000,000 draws. Target: < 1 ms.
4.  (informative) ``sim.testing.DynamicScenario`` (stateful path: the SCM is
    propagated per step and ``transition`` is called) steps/s vs CartPole.

``--quick`` shrinks every size (a smoke run, not a measurement).
"""

from __future__ import annotations

import gc
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# benchmarks/ is on sys.path when a script runs
from _common import finish_machine, machine, markdown, parser, print_machine, verdict  # noqa: E402

from causal.scm import SCM  # noqa: E402
from causal.spec import load_scm  # noqa: E402
from sim.actions import DiscreteActions  # noqa: E402
from sim.env import CausalEnv  # noqa: E402
from sim.scenario import Params, Scenario  # noqa: E402
from sim.testing import DynamicScenario  # noqa: E402
from sim.timeline import Poisson  # noqa: E402
from sim.vector import CausalVectorEnv  # noqa: E402

SEED, ACTION_SEED, QUERY_SEED, TRUTH_SEED = 20240612, 1, 2, 3
NUM_ENVS, QUERY_N = 1024, 256


# ----------------------------------------------------------------------------- the scenario
@dataclass(frozen=True)
class BenchParams(Params):
    max_units: int = 200


class BenchScenario(Scenario):
    """Ten nodes: context ``age, income, region, risk``; hidden ``u``; action ``t``; ``m, g, y, z``."""

    name = "bench10"
    summary = "10-node benchmark world: confounded binary action, mediator, nonlinear node"
    params_type = BenchParams
    context = ("age", "income", "region", "risk")
    outcome = "y"

    def build_scm(self) -> SCM:
        return load_scm({"name": "bench10", "nodes": {
            "age": {"noise": "normal(0, 1)"},
            "income": {"noise": "normal(0, 1)"},
            "region": {"noise": "normal(0, 1)"},
            "risk": {"equation": "0.5 * age - 0.3 * income + noise", "noise": "normal(0, 0.5)"},
            "u": {"noise": "normal(0, 1)", "hidden": True},
            "t": {"type": "binary", "logit": "-0.2 + 0.8 * risk + 0.3 * region + 1.5 * u"},
            "m": {"equation": "0.5 + t + 0.4 * risk + noise", "noise": "normal(0, 0.5)"},
            "g": {"equation": "sigmoid(2 * m - income) + 0.5 * exp(-0.5 * abs(age)) + noise",
                  "noise": "normal(0, 0.1)"},
            "y": {"equation": "1 + 0.8 * m + 2 * g + 0.7 * u - 0.3 * region + noise",
                  "noise": "normal(0, 1)"},
            "z": {"equation": "0.5 * y - 0.2 * t + noise", "noise": "normal(0, 1)"},
        }})

    def build_actions(self) -> DiscreteActions:
        return DiscreteActions({"control": {"t": 0.0}, "treat": {"t": 1.0}}, costs={"treat": 0.5})

    def build_timeline(self) -> Poisson:
        return Poisson(rate=1.0)


def hand_outcome(ctx: dict[str, float], t: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """The same model under ``do(t)`` for one context, written out in numpy (the physical limit).

    Computes every node the query computes (``z`` too), drawing the non-context noise fresh.
    """
    u = rng.standard_normal(n)
    m = 0.5 + t + 0.4 * ctx["risk"] + 0.5 * rng.standard_normal(n)
    g = (1.0 / (1.0 + np.exp(-(2.0 * m - ctx["income"]))) + 0.5 * math.exp(-0.5 * abs(ctx["age"]))
         + 0.1 * rng.standard_normal(n))
    y = 1.0 + 0.8 * m + 2.0 * g + 0.7 * u - 0.3 * ctx["region"] + rng.standard_normal(n)
    z = 0.5 * y - 0.2 * t + rng.standard_normal(n)
    del z
    return y


# ----------------------------------------------------------------------------- timing
def _stats(values: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "values": values}


def race(fns: list[Callable[[], Any]], repeats: int) -> tuple[list[list[float]], list[list[float]]]:
    """Warm each function up once, then time them alternately ``repeats`` times.

    Returns wall times (``perf_counter``, the figures quoted) and the process's CPU times
    (``process_time``, printed beside them: on a shared machine they show how much of the
    wall time was spent waiting for a CPU).
    """
    for fn in fns:
        fn()
    wall: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, w, c in zip(fns, wall, cpu, strict=True):
            gc.collect()
            c0 = time.process_time()
            t0 = time.perf_counter()
            fn()
            w.append(time.perf_counter() - t0)
            c.append(time.process_time() - c0)
    return wall, cpu


def cpu_ratio(ours: list[float], ref: list[float], work_ours: float = 1.0, work_ref: float = 1.0
              ) -> float:
    """Throughput ratio ours/ref in CPU time (medians)."""
    return (work_ours / statistics.median(ours)) / (work_ref / statistics.median(ref))


def rates(times: list[float], work: int) -> dict[str, Any]:
    """Throughput (work / s) per repeat, summarised."""
    return _stats([work / t for t in times])


def per_call_ms(times: list[float], calls: int) -> dict[str, Any]:
    return _stats([1e3 * t / calls for t in times])


class SingleLoop:
    """``steps`` steps of one environment with pre-drawn random actions, resetting at episode ends.

    Successive calls continue the same episode stream (the warm-up is its start).
    """

    def __init__(self, env: gym.Env, steps: int, seed: int) -> None:
        self.env = env
        rng = np.random.default_rng(seed)
        self.actions = rng.integers(0, int(env.action_space.n), size=steps).tolist()
        env.reset(seed=seed)
        self.total = 0.0
        self.count = 0
        self.episodes = 0

    def __call__(self) -> None:
        env = self.env
        total = 0.0
        episodes = 0
        for a in self.actions:
            _, r, terminated, truncated, _ = env.step(a)
            total += r
            if terminated or truncated:
                env.reset()
                episodes += 1
        self.total += total
        self.count += len(self.actions)
        self.episodes += episodes


class VectorLoop:
    """``windows`` times ``len(actions)`` steps of a vector environment with pre-drawn actions.

    Successive calls continue the same stream. The rewards of the very first window (the
    warm-up) are kept, to compare two environments given the same seeds and actions.
    """

    def __init__(self, envs: gym.vector.VectorEnv, actions: np.ndarray, seed: int, windows: int = 1
                 ) -> None:
        self.envs = envs
        self.actions = actions
        self.windows = windows
        self.rewards = np.zeros(actions.shape)
        self.first: np.ndarray | None = None
        self.resets = 0
        envs.reset(seed=seed)

    def __call__(self) -> None:
        envs, rewards = self.envs, self.rewards
        resets = 0
        for _ in range(self.windows):
            for k, a in enumerate(self.actions):
                _, r, terminated, _, _ = envs.step(a)
                rewards[k] = r
                resets += int(terminated.sum())
            if self.first is None:
                self.first = rewards.copy()
        self.resets = resets // self.windows


# ----------------------------------------------------------------------------- rows
def _row(key: str, case: str, unit: str, ours: dict, reference: str, ref: dict | None,
         ratio: float | None, ratio_text: str, target: str, meets: bool | None, accuracy: str,
         acc: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "case": case, "unit": unit, "ours": ours, "reference": reference, "ref": ref,
            "ratio": ratio, "ratio_text": ratio_text, "target": target, "meets": meets,
            "accuracy": accuracy, "accuracy_values": acc}


def row_single(key: str, case: str, env: gym.Env, steps: int, repeats: int, target: float | None,
               truth: tuple[float, float] | None = None) -> dict[str, Any]:
    cartpole = gym.make("CartPole-v1").unwrapped
    ours = SingleLoop(env, steps, ACTION_SEED)
    ref = SingleLoop(cartpole, steps, ACTION_SEED)
    (t_ours, t_ref), (c_ours, c_ref) = race([ours, ref], repeats)
    r_ours, r_ref = rates(t_ours, steps), rates(t_ref, steps)
    ratio = r_ours["median"] / r_ref["median"]
    ratio_cpu = cpu_ratio(c_ours, c_ref)
    mean = ours.total / ours.count
    acc = {"mean_reward_per_step": mean, "episodes_ours": ours.episodes,
           "episodes_cartpole": ref.episodes, "cpu_ratio": ratio_cpu, "cpu_ours": _stats(c_ours),
           "cpu_ref": _stats(c_ref)}
    text = f"mean reward/step {mean:.4f}"
    if truth is not None:
        exact, sd = truth
        se = sd / math.sqrt(ours.count)
        acc.update(truth=exact, z=(mean - exact) / se)
        text += f" vs exact {exact:.4f} (z = {(mean - exact) / se:+.2f})"
    text += f"; episodes {ours.episodes:,} ours, {ref.episodes:,} CartPole"
    return _row(key, case, "steps/s", r_ours, "CartPole-v1 .unwrapped, same loop", r_ref, ratio,
                f"{ratio:.2f} (CPU time {ratio_cpu:.2f})", "—" if target is None else f"≥ {target:g}",
                None if target is None else ratio >= target, text, acc)


def row_vector(scenario: Scenario, num_envs: int, repeats: int, windows: int) -> dict[str, Any]:
    """Windows of ``max_units + 1`` steps: each holds exactly one autoreset per sub-environment.

    A timed call of ours runs ``windows`` of them back to back (SyncVectorEnv's one window takes
    ~50 times longer), so that both sides' timings average the machine's load over seconds.
    """
    steps = scenario.params.max_units + 1
    rng = np.random.default_rng(ACTION_SEED)
    actions = rng.integers(0, int(scenario.actions.space.n), size=(steps, num_envs))
    ours = VectorLoop(CausalVectorEnv(scenario, num_envs), actions, SEED, windows)
    sync_envs = gym.vector.SyncVectorEnv([lambda: CausalEnv(scenario)] * num_envs,
                                         autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP)
    ref = VectorLoop(sync_envs, actions, SEED)
    (t_ours, t_ref), (c_ours, c_ref) = race([ours, ref], repeats)
    work = steps * num_envs
    r_ours, r_ref = rates(t_ours, work * windows), rates(t_ref, work)
    ratio = r_ours["median"] / r_ref["median"]
    ratio_cpu = cpu_ratio(c_ours, c_ref, work * windows, work)
    assert ours.first is not None and ref.first is not None
    diff = float(np.abs(ours.first - ref.first).max())
    acc = {"max_abs_reward_diff": diff, "autoresets_per_window_ours": ours.resets,
           "autoresets_per_window_sync": ref.resets, "mean_reward": float(ours.first.mean()),
           "cpu_ratio": ratio_cpu, "cpu_ours": _stats(c_ours), "cpu_ref": _stats(c_ref),
           "windows_per_call_ours": windows}
    text = (f"same seeds and actions: max abs reward diff {diff:.1e} over the first {work:,} "
            f"env-steps; autoresets per window {ours.resets:,} ours, {ref.resets:,} sync")
    return _row("2", f"CausalVectorEnv {num_envs} sub-envs, windows of {steps} steps "
                f"({windows} per timed call; sync: 1)", "env-steps/s",
                r_ours, f"SyncVectorEnv of {num_envs} CausalEnv (same scenario)", r_ref, ratio,
                f"{ratio:.1f}x (CPU time {ratio_cpu:.1f}x)", "≥ 50x", ratio >= 50, text, acc)


def row_query(scenario: Scenario, calls: int, repeats: int, truth_n: int) -> dict[str, Any]:
    env = CausalEnv(scenario)
    obs, _ = env.reset(seed=SEED)
    query = env.unwrapped.query
    ctx = dict(zip(scenario.context, obs.tolist(), strict=True))
    treat = scenario.actions.index("treat")
    t_value = float(scenario.actions.value("t", np.array([treat]))[0])
    hand_rng = np.random.default_rng(QUERY_SEED)

    def ours() -> None:
        for _ in range(calls):
            query.interventional("treat", n=QUERY_N)

    def hand() -> None:
        for _ in range(calls):
            hand_outcome(ctx, t_value, QUERY_N, hand_rng)

    (t_ours, t_ref), (c_ours, c_ref) = race([ours, hand], repeats)
    m_ours, m_ref = per_call_ms(t_ours, calls), per_call_ms(t_ref, calls)
    ratio = m_ours["median"] / m_ref["median"]
    ratio_cpu = statistics.median(c_ours) / statistics.median(c_ref)
    answer = query.interventional("treat", n=QUERY_N)
    exact = hand_outcome(ctx, t_value, truth_n, np.random.default_rng(TRUTH_SEED))
    e_mean, e_se = float(exact.mean()), float(exact.std(ddof=1) / math.sqrt(truth_n))
    z = (answer.mean - e_mean) / math.hypot(answer.stderr, e_se)
    acc = {"mean": answer.mean, "stderr": answer.stderr, "n": answer.n, "reference_mean": e_mean,
           "reference_stderr": e_se, "z": z, "context": ctx, "cpu_ratio": ratio_cpu,
           "cpu_ms_ours": per_call_ms(c_ours, calls), "cpu_ms_ref": per_call_ms(c_ref, calls)}
    text = (f"answer mean {answer.mean:.4f} ± {answer.stderr:.4f} (stderr, n={answer.n}) vs hand model "
            f"{e_mean:.4f} ± {e_se:.4f} (n={truth_n:,}), z = {z:+.2f}")
    return _row("3", f"query.interventional('treat', n={QUERY_N}), ms/query", "ms/query", m_ours,
                f"hand-written numpy of the same model, {QUERY_N} draws", m_ref, ratio,
                f"{ratio:.1f}x the hand-written time (CPU time {ratio_cpu:.1f}x)", "< 1 ms",
                m_ours["median"] < 1.0, text, acc)


def run(quick: bool, repeats: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    max_units = 20 if quick else 200
    num_envs = 32 if quick else NUM_ENVS
    single_steps = 400 if quick else 20_000
    dyn_steps = 200 if quick else 10_000
    windows = 2 if quick else 16
    calls = 10 if quick else 200
    truth_n = 20_000 if quick else 1_000_000
    scenario = BenchScenario(max_units=max_units)
    setup = {"scenario": scenario.name, "nodes": len(scenario.scm.nodes), "max_units": max_units,
             "num_envs": num_envs, "single_steps": single_steps, "dynamic_steps": dyn_steps,
             "vector_windows_per_call": windows, "query_calls_per_repeat": calls, "repeats": repeats,
             "seed": SEED}
    assert setup["nodes"] == 10

    # the exact value of the uniformly random policy (a 50/50 mixture of the actions' worlds):
    # its mean, and the standard deviation of one step's reward under it
    truth = scenario.truth(n=20_000 if quick else 200_000, seed=TRUTH_SEED)
    values = [truth.value(a) for a in scenario.actions.enumerate()]
    means = np.array([v.value for v in values])
    variances = np.array([(v.stderr * math.sqrt(v.n)) ** 2 for v in values])
    exact = (float(means.mean()), float(math.sqrt(variances.mean() + means.var())))

    rows = [row_single("1", f"CausalEnv 10-node scenario, {max_units} units/episode", CausalEnv(scenario),
                       single_steps, repeats, 0.25, exact)]
    rows.append(row_vector(scenario, num_envs, repeats, windows))
    rows.append(row_query(scenario, calls, repeats, truth_n))
    rows.append(row_single("4", "CausalEnv DynamicScenario (stateful), informative",
                           CausalEnv(DynamicScenario()), dyn_steps, repeats, None))
    return rows, setup


# ----------------------------------------------------------------------------- output
def _fmt(x: float) -> str:
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.3f}"


def _t(t: dict | None) -> str:
    if t is None:
        return "—"
    return f"{_fmt(t['median'])} [{_fmt(t['min'])}, {_fmt(t['max'])}]"


def table(rows: list[dict[str, Any]]) -> str:
    return markdown(["#", "case", "ours median [min, max]", "reference", "reference median [min, max]",
                     "ratio", "target", "met", "accuracy"],
                    ([row["key"], row["case"], f"{_t(row['ours'])} {row['unit']}", row["reference"],
                      f"{_t(row['ref'])} {row['unit']}", row["ratio_text"], row["target"],
                      verdict(row["meets"]), row["accuracy"]] for row in rows))


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, "tiny sizes: a smoke run, not a measurement")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats after a warm-up (default 5)")
    args = ap.parse_args(argv)
    repeats = args.repeats or 5
    if repeats < 5 and not args.quick:
        ap.error("BENCHMARKS.md asks for at least 5 repeats")

    info = machine(("numpy", "gymnasium", "simpy"))
    rows, setup = run(args.quick, repeats)
    finish_machine(info)
    print_machine(info)
    print(f"scenario: {setup['scenario']}, {setup['nodes']} nodes, {setup['max_units']} units/episode, "
          f"Poisson arrivals, 2 actions; {repeats} repeats after a warm-up, sides timed alternately"
          + (" [--quick: not a measurement]" if args.quick else ""))
    print()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"bench": "env", "machine": info, "setup": setup,
                                         "quick": args.quick, "rows": rows}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
