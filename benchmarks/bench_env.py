#!/usr/bin/env python
"""Benchmark: the registered scenarios' envs (single, vector, queries) vs CartPole, SyncVectorEnv, SCM.

Usage::

    python benchmarks/bench_env.py [--json PATH] [--quick] [--repeats K] [--only NAME[,NAME...]]

What users run: every scenario registered by ``import scenarios``
(``scenarios.names()``: driving, driving_brake, healthcare, icecream,
marketing, policy) with its default parameters, the single environment as
``gymnasium.make(scenarios.env_id(name)).unwrapped``, the vector environment
as ``gymnasium.make_vec(scenarios.env_id(name), num_envs=1024)`` (the native
``CausalVectorEnv``) and the scenario object as ``scenarios.make(name)``.

Follows the method of ``benchmarks/README.md``: every figure is set against a reference timed in the
same run, as the median of ``K >= 5`` repeats after a warm-up, with min and max
beside it, and accuracy beside time. The two sides of a figure are timed
alternately (A, B, A, B, ...) so that load on a shared machine hits both alike;
each ratio also gives the ratio of the process's CPU times (``process_time``):
where it differs from the wall-clock ratio, the machine's load, not the code,
made the difference.

One row per scenario, three measured columns
--------------------------------------------
1.  Single env: ``env.unwrapped.step`` steps/s (actions pre-drawn from the
    seeded ``env.action_space``; ``reset()`` when ``terminated or truncated``)
    vs ``gymnasium.make("CartPole-v1").unwrapped`` in the same loop. Each side
    runs enough steps for a timed call of ~0.6 s (sized by a probe run before
    timing). Target: ours/CartPole >= 0.25.
2.  Vector env: ``make_vec(id, num_envs=1024)`` env-steps/s vs
    ``gymnasium.vector.SyncVectorEnv`` over 1024 ``CausalEnv`` sharing the
    single env's scenario object (the env without wrappers: the strictest
    reference), ``NEXT_STEP`` autoreset both. Ours runs whole windows of
    ``max_units + 1`` steps (an episode lasts at most ``max_units`` steps plus
    the autoreset step, so every sub-env autoresets at least once per window;
    Marketing's horizon usually ends episodes sooner), as many windows per
    timed call as make it last ~1 s. SyncVectorEnv is 50-500 times slower, so
    a timed call of it runs only as many steps as last ~3 s (stated in the
    row; for Policy, 640 units per episode, that is a few steps: its rate is
    then measured without autoresets, which makes it look faster, not
    slower). Both sides get the same seeds and the same actions at the same
    step, so their rewards must agree bit for bit: the max abs difference is
    taken over every step SyncVectorEnv ran (its whole stream, warm-up
    included, against the same steps of ours), and again over an untimed
    check with 8 sub-envs run for ``max_units + 9`` steps, in which every
    sub-env autoresets at least once. Target: >= 50x.
3.  Query: ``env.unwrapped.query.interventional(a, n=256)`` ms/query (reset
    with a seed, asked about the first unit, each action in turn; for a
    continuous action space, the actions 0, 0.5 and 1 of its range) vs one
    batch SCM evaluation of 256 units timed in the same run: drawing 256
    units' noise (each noise node's distribution, as the query does) and
    ``scenario.outcomes(noise, actions, scenario.initial_state())`` (that is,
    ``scm.propagate`` under the action's intervention). Accuracy: each
    answer's mean ± stderr beside ``E[Y | do(a), context]`` computed with
    200,000 draws holding the unit's context noise
    (``sim.core.context_samples(env.unwrapped.state, actions, 200_000,
    default_rng(3), node=outcome)``), with a z score. Target: < 1 ms.

``--quick`` shrinks every size (16 sub-envs, a few steps, 2 sub-envs in the
autoreset check): a smoke run, not a measurement.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# benchmarks/ is on sys.path when a script runs
from _common import (  # noqa: E402
    finish_machine,
    machine,
    markdown,
    parser,
    print_machine,
    race,
    verdict,
)
from _common import stats as _stats  # noqa: E402

import scenarios  # noqa: E402
from sim import core  # noqa: E402
from sim.env import CausalEnv  # noqa: E402
from sim.scenario import Scenario  # noqa: E402

SEED, ACTION_SEED, QUERY_SEED, TRUTH_SEED = 20240612, 1, 2, 3
NUM_ENVS, QUERY_N, TRUTH_N, CHECK_ENVS = 1024, 256, 200_000, 8
SINGLE_TARGET, VECTOR_TARGET, QUERY_TARGET_MS = 0.25, 50.0, 1.0


@dataclass(frozen=True)
class Sizes:
    """How much work a timed call does. ``None`` durations: fixed sizes (``--quick``)."""

    num_envs: int
    check_envs: int
    single_s: float | None      # target duration of a timed single-env call (each side)
    single_steps: int           # steps per call when not sized by duration
    ours_s: float | None        # target duration of a timed call of ours (whole windows)
    ours_steps: int | None      # fixed steps per call of ours (--quick), else whole windows
    sync_s: float | None        # target duration of a timed SyncVectorEnv call
    sync_steps: int             # fixed steps per SyncVectorEnv call (--quick)
    query_s: float | None       # target duration of a timed query call
    query_rounds: int           # rounds (all actions each) per call when not sized
    truth_n: int


FULL = Sizes(num_envs=NUM_ENVS, check_envs=CHECK_ENVS, single_s=0.6, single_steps=0, ours_s=1.0,
             ours_steps=None, sync_s=3.0, sync_steps=0, query_s=0.3, query_rounds=0, truth_n=TRUTH_N)
QUICK = Sizes(num_envs=16, check_envs=2, single_s=None, single_steps=100, ours_s=None, ours_steps=8,
              sync_s=None, sync_steps=4, query_s=None, query_rounds=3, truth_n=20_000)


# ----------------------------------------------------------------------------- timing
def cpu_ratio(ours: list[float], ref: list[float], work_ours: float = 1.0, work_ref: float = 1.0
              ) -> float:
    """Throughput ratio ours/ref in CPU time (medians)."""
    return (work_ours / statistics.median(ours)) / (work_ref / statistics.median(ref))


def rates(times: list[float], work: int) -> dict[str, Any]:
    """Throughput (work / s) per repeat, summarised."""
    return _stats([work / t for t in times])


def per_call_ms(times: list[float], calls: int) -> dict[str, Any]:
    return _stats([1e3 * t / calls for t in times])


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _sized(unit_s: float, target_s: float, lo: int = 1, hi: int | None = None) -> int:
    """How many units of ``unit_s`` seconds make ``target_s`` (at least ``lo``, at most ``hi``)."""
    k = max(lo, round(target_s / max(unit_s, 1e-9)))
    return k if hi is None else min(k, hi)


class SingleLoop:
    """``steps`` steps of one environment with actions pre-drawn from its seeded action space,
    resetting when ``terminated or truncated``.

    Successive calls continue the same episode stream (the warm-up is its start).
    """

    def __init__(self, env: gym.Env, steps: int, seed: int) -> None:
        self.env = env
        space = env.action_space
        space.seed(seed)
        self.actions = [space.sample() for _ in range(steps)]
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
    """A vector environment's one stream of steps with pre-drawn actions (``NEXT_STEP`` autoreset).

    The action of global step ``k`` is ``actions[k % len(actions)]``, so two environments
    stepped over the same global steps get the same actions whatever the sizes of their
    calls. A call runs ``steps`` steps (set after construction), continuing the stream. The
    rewards of the first ``record`` global steps are kept, to compare two environments given
    the same seeds and actions; autoresets (steps on which a sub-env was reset because its
    episode ended on the step before) are counted per sub-env.
    """

    def __init__(self, envs: gym.vector.VectorEnv, actions: Sequence[Any], seed: int,
                 record: int = 0) -> None:
        self.envs = envs
        self.actions = actions
        self.steps = len(actions)
        self.record = record
        self.rewards: list[np.ndarray] = []
        self.k = 0
        n = envs.num_envs
        self.resets = np.zeros(n, dtype=np.int64)        # over the whole stream
        self.call_resets = np.zeros(n, dtype=np.int64)   # over the last call
        self._ended = np.zeros(n, dtype=bool)
        envs.reset(seed=seed)

    def run(self, steps: int) -> None:
        envs, actions, period = self.envs, self.actions, len(self.actions)
        resets = np.zeros_like(self.resets)
        ended = self._ended
        k = self.k
        for _ in range(steps):
            _, r, terminated, truncated, _ = envs.step(actions[k % period])
            resets += ended
            ended = terminated | truncated
            if k < self.record:
                self.rewards.append(np.array(r, dtype=float))
            k += 1
        self.k, self._ended = k, ended
        self.resets += resets
        self.call_resets = resets

    def __call__(self) -> None:
        self.run(self.steps)


def _reward_diff(a: VectorLoop, b: VectorLoop) -> tuple[float, int]:
    """Max abs reward difference over the global steps both recorded, and how many steps."""
    k = min(len(a.rewards), len(b.rewards))
    if k == 0:
        return math.nan, 0
    return float(np.abs(np.stack(a.rewards[:k]) - np.stack(b.rewards[:k])).max()), k


def _sync_envs(scenario: Scenario, num_envs: int) -> gym.vector.SyncVectorEnv:
    """SyncVectorEnv over ``num_envs`` copies of the single env (one shared scenario object)."""
    return gym.vector.SyncVectorEnv([lambda: CausalEnv(scenario)] * num_envs,
                                    autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP)


def _vector_actions(envs: gym.vector.VectorEnv, steps: int) -> list[Any]:
    space = envs.action_space
    space.seed(ACTION_SEED)
    return [space.sample() for _ in range(steps)]


# ----------------------------------------------------------------------------- the three columns
def measure_single(env_id: str, sizes: Sizes, repeats: int) -> dict[str, Any]:
    env = gym.make(env_id).unwrapped
    cartpole = gym.make("CartPole-v1").unwrapped
    if sizes.single_s is None:
        n_ours = n_ref = sizes.single_steps
    else:  # size each side from a probe run on throwaway environments
        n_ours = _sized(_timed(SingleLoop(gym.make(env_id).unwrapped, 300, ACTION_SEED)) / 300,
                        sizes.single_s, lo=300)
        n_ref = _sized(_timed(SingleLoop(gym.make("CartPole-v1").unwrapped, 3000, ACTION_SEED)) / 3000,
                       sizes.single_s, lo=3000)
    ours = SingleLoop(env, n_ours, ACTION_SEED)
    ref = SingleLoop(cartpole, n_ref, ACTION_SEED)
    (t_ours, t_ref), (c_ours, c_ref) = race([ours, ref], repeats)
    r_ours, r_ref = rates(t_ours, n_ours), rates(t_ref, n_ref)
    ratio = r_ours["median"] / r_ref["median"]
    return {"ours": r_ours, "ref": r_ref, "reference": "CartPole-v1 .unwrapped, same loop",
            "ratio": ratio, "cpu_ratio": cpu_ratio(c_ours, c_ref, n_ours, n_ref),
            "target": SINGLE_TARGET, "meets": ratio >= SINGLE_TARGET,
            "steps_per_call": n_ours, "steps_per_call_cartpole": n_ref,
            "episodes": ours.episodes, "episodes_cartpole": ref.episodes,
            "mean_reward_per_step": ours.total / ours.count,
            "cpu_ours": _stats(c_ours), "cpu_ref": _stats(c_ref)}


def autoreset_check(env_id: str, scenario: Scenario, num_envs: int) -> dict[str, Any]:
    """Untimed: ``num_envs`` sub-envs, ``max_units + 9`` steps, every sub-env autoresets."""
    steps = scenario.params.max_units + 9
    ours_envs = gym.make_vec(env_id, num_envs=num_envs)
    actions = _vector_actions(ours_envs, steps)
    ours = VectorLoop(ours_envs, actions, SEED, record=steps)
    sync = VectorLoop(_sync_envs(scenario, num_envs), actions, SEED, record=steps)
    ours.run(steps)
    sync.run(steps)
    diff, k = _reward_diff(ours, sync)
    return {"num_envs": num_envs, "steps": k, "max_abs_reward_diff": diff,
            "autoresets": int(sync.resets.sum()), "min_autoresets_per_env": int(sync.resets.min()),
            "same_autoresets": bool(np.array_equal(ours.resets, sync.resets))}


def measure_vector(env_id: str, scenario: Scenario, sizes: Sizes, repeats: int) -> dict[str, Any]:
    n = sizes.num_envs
    window = scenario.params.max_units + 1
    ours_envs = gym.make_vec(env_id, num_envs=n)
    actions = _vector_actions(ours_envs, window)
    sync_envs = _sync_envs(scenario, n)

    # SyncVectorEnv first: a 2-step probe (the start of its stream) sizes its calls
    sync = VectorLoop(sync_envs, actions, SEED, record=10**9)
    if sizes.sync_s is None:
        sync.steps = sizes.sync_steps
    else:
        sync.steps = _sized(_timed(lambda: sync.run(2)) / 2, sizes.sync_s, hi=window)
    sync_total = sync.k + (repeats + 1) * sync.steps  # the steps its whole stream will cover

    ours = VectorLoop(ours_envs, actions, SEED, record=sync_total)
    if sizes.ours_steps is not None:
        ours.steps, windows = sizes.ours_steps, None
    else:  # one window (the start of its stream) sizes its calls: whole windows
        windows = _sized(_timed(lambda: ours.run(window)), sizes.ours_s)
        ours.steps = windows * window
    (t_ours, t_ref), (c_ours, c_ref) = race([ours, sync], repeats)
    r_ours, r_ref = rates(t_ours, ours.steps * n), rates(t_ref, sync.steps * n)
    ratio = r_ours["median"] / r_ref["median"]
    diff, compared = _reward_diff(ours, sync)
    return {"ours": r_ours, "ref": r_ref, "num_envs": n, "reference":
            f"SyncVectorEnv of {n} CausalEnv, NEXT_STEP", "ratio": ratio,
            "cpu_ratio": cpu_ratio(c_ours, c_ref, ours.steps * n, sync.steps * n),
            "target": VECTOR_TARGET, "meets": ratio >= VECTOR_TARGET,
            "window": window, "windows_per_call": windows, "steps_per_call": ours.steps,
            "sync_steps_per_call": sync.steps,
            "autoresets_per_call": int(ours.call_resets.sum()),
            "min_autoresets_per_env_per_call": int(ours.call_resets.min()),
            "sync_autoresets_per_call": int(sync.call_resets.sum()),
            "max_abs_reward_diff": diff, "compared_steps": compared,
            "compared_env_steps": compared * n, "compared_autoresets": int(sync.resets.sum()),
            "check": autoreset_check(env_id, scenario, sizes.check_envs),
            "cpu_ours": _stats(c_ours), "cpu_ref": _stats(c_ref)}


def query_actions(scenario: Scenario) -> list[Any]:
    """Each action in turn (discrete), or the bottom, middle and top of a continuous range."""
    space = scenario.actions.space
    if isinstance(space, gym.spaces.Discrete):
        return list(range(int(space.n)))
    low, high = np.asarray(space.low, dtype=float), np.asarray(space.high, dtype=float)
    return [low + f * (high - low) for f in (0.0, 0.5, 1.0)]


def _batch(a: Any, n: int) -> np.ndarray:
    if isinstance(a, (int, np.integer)):
        return np.full(n, int(a), dtype=np.int64)
    return np.repeat(np.asarray(a, dtype=float)[None, :], n, axis=0)


def _label(a: Any) -> Any:
    return int(a) if isinstance(a, (int, np.integer)) else [float(x) for x in np.ravel(a)]


def measure_query(env_id: str, name: str, sizes: Sizes, repeats: int) -> dict[str, Any]:
    env = gym.make(env_id).unwrapped
    env.reset(seed=SEED)
    query = env.query
    scenario = scenarios.make(name)
    acts = query_actions(scenario)
    batches = [_batch(a, QUERY_N) for a in acts]
    noise_items, init = scenario.noise_items, scenario.initial_state()
    ref_rng = np.random.default_rng(QUERY_SEED)

    def ours_round() -> None:
        for a in acts:
            query.interventional(a, n=QUERY_N)

    def ref_round() -> None:
        for b in batches:
            noise = {v: dist.sample(QUERY_N, ref_rng) for v, dist in noise_items}
            scenario.outcomes(noise, b, init)

    if sizes.query_s is None:
        rounds = sizes.query_rounds
    else:
        ours_round()
        rounds = _sized(_timed(ours_round), sizes.query_s)

    def ours() -> None:
        for _ in range(rounds):
            ours_round()

    def ref() -> None:
        for _ in range(rounds):
            ref_round()

    (t_ours, t_ref), (c_ours, c_ref) = race([ours, ref], repeats)
    calls = rounds * len(acts)
    m_ours, m_ref = per_call_ms(t_ours, calls), per_call_ms(t_ref, calls)
    # accuracy: fresh answers vs E[Y | do(a), context] from many draws holding the context noise
    exact = core.context_samples(env.state, acts, sizes.truth_n, np.random.default_rng(TRUTH_SEED),
                                 node=scenario.outcome)
    answers = []
    for a, samples in zip(acts, exact, strict=True):
        ans = query.interventional(a, n=QUERY_N)
        e_mean = float(samples.mean())
        e_se = float(samples.std(ddof=1) / math.sqrt(len(samples)))
        se = math.hypot(ans.stderr, e_se)
        answers.append({"action": _label(a), "mean": ans.mean, "stderr": ans.stderr, "n": ans.n,
                        "exact": e_mean, "exact_stderr": e_se, "exact_n": len(samples),
                        "z": (ans.mean - e_mean) / se if se > 0 else 0.0})
    return {"ours": m_ours, "ref": m_ref, "reference":
            f"noise draw + scenario.outcomes of {QUERY_N} units, same action", "ratio":
            m_ours["median"] / m_ref["median"],
            "cpu_ratio": statistics.median(c_ours) / statistics.median(c_ref),
            "target_ms": QUERY_TARGET_MS, "meets": m_ours["median"] < QUERY_TARGET_MS,
            "queries_per_call": calls, "outcome": scenario.outcome, "answers": answers,
            "cpu_ms_ours": per_call_ms(c_ours, calls), "cpu_ms_ref": per_call_ms(c_ref, calls)}


def measure(name: str, sizes: Sizes, repeats: int) -> dict[str, Any]:
    env_id = scenarios.env_id(name)
    scenario = scenarios.make(name)
    t0 = time.perf_counter()
    row = {"scenario": name, "env_id": env_id, "max_units": scenario.params.max_units,
           "single": measure_single(env_id, sizes, repeats),
           "vector": measure_vector(env_id, scenario, sizes, repeats),
           "query": measure_query(env_id, name, sizes, repeats)}
    row["seconds"] = time.perf_counter() - t0
    row["accuracy"] = accuracy_text(row)
    return row


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


def _action(a: Any) -> str:
    return str(a) if isinstance(a, int) else "[" + ", ".join(f"{x:g}" for x in a) + "]"


def accuracy_text(row: dict[str, Any]) -> str:
    s, v, q = row["single"], row["vector"], row["query"]
    c = v["check"]
    ok = "" if v["max_abs_reward_diff"] == 0.0 and c["max_abs_reward_diff"] == 0.0 else " **NOT bit-equal**"
    win = (f"{v['windows_per_call']} windows of {v['window']} steps" if v["windows_per_call"]
           else f"{v['steps_per_call']} steps")
    parts = [
        f"single: {s['steps_per_call']:,} steps/call ({s['episodes']:,} episodes in all), "
        f"CartPole {s['steps_per_call_cartpole']:,} steps/call",
        f"vector: ours {win} per call, {v['autoresets_per_call']:,} autoresets per call "
        f"(each sub-env ≥ {v['min_autoresets_per_env_per_call']}); sync {v['sync_steps_per_call']} "
        f"steps per call; rewards vs sync over its whole stream, {v['compared_steps']} steps × "
        f"{v['num_envs']} ({v['compared_autoresets']:,} autoresets): max abs diff "
        f"{v['max_abs_reward_diff']:.1e}; check {c['num_envs']} sub-envs × {c['steps']} steps "
        f"({c['autoresets']} autoresets, each ≥ {c['min_autoresets_per_env']}): "
        f"{c['max_abs_reward_diff']:.1e}{ok}",
        f"query E[{q['outcome']}|do(a), ctx]: " + "; ".join(
            f"{_action(a['action'])}: {a['mean']:.3f} ± {a['stderr']:.3f} vs {a['exact']:.3f} "
            f"(z {a['z']:+.2f})" for a in q["answers"]),
    ]
    return "<br>".join(parts)


def table(rows: list[dict[str, Any]]) -> str:
    header = ["scenario", "single steps/s [min, max]", "CartPole steps/s [min, max]",
              "single ratio (CPU)", f"≥ {SINGLE_TARGET:g}x", "vector env-steps/s [min, max]",
              "Sync env-steps/s [min, max]", "vector ratio (CPU)", f"≥ {VECTOR_TARGET:g}x",
              f"query ms [min, max] (n={QUERY_N})", "SCM pass ms [min, max]", "query ratio (CPU)",
              f"< {QUERY_TARGET_MS:g} ms", "accuracy"]
    body = []
    for r in rows:
        s, v, q = r["single"], r["vector"], r["query"]
        body.append([r["scenario"], _t(s["ours"]), _t(s["ref"]),
                     f"{s['ratio']:.2f}x ({s['cpu_ratio']:.2f}x)", verdict(s["meets"]),
                     _t(v["ours"]), _t(v["ref"]), f"{v['ratio']:.0f}x ({v['cpu_ratio']:.0f}x)",
                     verdict(v["meets"]), _t(q["ours"]), _t(q["ref"]),
                     f"{q['ratio']:.1f}x ({q['cpu_ratio']:.1f}x)", verdict(q["meets"]), r["accuracy"]])
    return markdown(header, body)


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, "tiny sizes: a smoke run, not a measurement")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats after a warm-up (default 5)")
    ap.add_argument("--only", default=None, help="comma-separated scenario names (default: all registered)")
    args = ap.parse_args(argv)
    repeats = args.repeats or 5
    if repeats < 5 and not args.quick:
        ap.error("benchmarks/README.md asks for at least 5 repeats")
    names = scenarios.names() if args.only is None else [s.strip() for s in args.only.split(",")]
    for name in names:
        scenarios.get(name)  # fail early on an unknown name
    sizes = QUICK if args.quick else FULL

    info = machine(("numpy", "gymnasium", "simpy"))
    t0 = time.perf_counter()
    rows = []
    for name in names:
        rows.append(measure(name, sizes, repeats))
        print(f"[{name}: {rows[-1]['seconds']:.0f} s]", file=sys.stderr, flush=True)
    finish_machine(info)
    setup = {"scenarios": names, "num_envs": sizes.num_envs, "check_envs": sizes.check_envs,
             "query_n": QUERY_N, "truth_n": sizes.truth_n, "repeats": repeats, "seed": SEED,
             "action_seed": ACTION_SEED, "truth_seed": TRUTH_SEED,
             "target_call_seconds": {"single": sizes.single_s, "ours": sizes.ours_s,
                                     "sync": sizes.sync_s, "query": sizes.query_s},
             "seconds": time.perf_counter() - t0}
    print_machine(info)
    print(f"registered scenarios with default parameters; {repeats} repeats after a warm-up, sides "
          f"timed alternately; vector: {sizes.num_envs} sub-envs; query: n={QUERY_N}, exact from "
          f"{sizes.truth_n:,} draws; run took {setup['seconds']:.0f} s"
          + (" [--quick: not a measurement]" if args.quick else ""))
    print()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"bench": "env", "machine": info, "setup": setup,
                                         "quick": args.quick, "rows": rows}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
