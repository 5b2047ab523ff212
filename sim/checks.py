"""Conformance checks that every scenario passes (the engine's ``check_env``).

Gymnasium runs ``check_env`` on every registered environment and scikit-learn
runs ``parametrize_with_checks`` on every estimator; :func:`check_scenario` is
the same idea for causalsim's scenarios. It checks the promises the rest of
the package builds on — that the graph is the mechanisms' graph, that ``do()``
mutilates it, that a seed fixes the world, that counterfactuals are exact, and
that the agent never sees the truth — on a small sample and a few short
episodes, so it can run over the whole registry in the test suite.

Examples
--------
>>> from sim.testing import ToyScenario
>>> check_scenario(ToyScenario(max_units=10), n=500)
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from causal.interventions import Hard, Policy
from causal.scm import SCM
from sim.env import CausalEnv
from sim.errors import ScenarioError, SimError
from sim.scenario import Scenario

__all__ = ["check_scenario"]

#: Decision points stepped per episode by the episode checks (keeps the suite fast).
_STEPS = 30
#: Sub-environments of the vector-env check.
_NUM_ENVS = 3
#: Tolerance where the same quantity is computed by two code paths (vectorized vs one unit).
_RTOL = _ATOL = 1e-9
#: check_env warnings that say nothing about the scenario: an environment built without
#: ``gymnasium.make`` has no spec, and Stable-Baselines3's advice on Box action ranges.
_TOLERATED = ("not having a spec", "symmetric and normalized space")
#: Keys ``CausalEnv`` documents in ``info`` after ``reset`` and after ``step``.
_RESET_KEYS = frozenset({"time", "unit", "kind", "queries"})
_STEP_KEYS = frozenset({"outcome", "rewards", "time", "unit", "action", "queries"})


class _Failed(Exception):
    """A property does not hold (internal; surfaced as :class:`ScenarioError`)."""


def check_scenario(scenario: Scenario, *, seed: int = 0, n: int = 2000) -> None:
    """Check that ``scenario`` honours the Scenario contract; raise on the first failure.

    The properties, in the order they are checked (each name appears in the
    error message when it fails):

    ``graph matches mechanisms``
        ``scm.graph`` has exactly the SCM's nodes, each node's parents in the
        graph are its mechanism's declared parents, and each mechanism computes
        the same values when it is given only its declared parents (a
        mechanism that reads an undeclared node fails here).
    ``nothing hidden is observed``
        The outcome (shown in ``info``) is not hidden, and no context node has a
        hidden ancestor — not even through a hidden state node, whose value
        the observation would reveal.
    ``do() cuts incoming edges``
        For every action node, ``scm.do({node: value})`` leaves the node without
        parents (its outgoing edges kept) and every sampled unit has
        ``node == value``.
    ``same seed, same data``
        ``observational(n, seed)`` and ``rct(n, seed)`` give the same bytes
        twice, and another seed gives other data.
    ``counterfactual under the factual action``
        Units sampled with their noise (``scm.sample(n, seed, hidden=True,
        return_noise=True)``) are reproduced, every node, by
        ``scm.counterfactual(noise=..., interventions={action node: factual
        values})``; and in a :class:`~sim.env.CausalEnv` episode,
        ``query.counterfactual(action taken)`` equals ``info["outcome"]``.
    ``same seed, same trajectory``
        Two environments reset with the same seed and given the same actions
        give identical observations, rewards, flags and ``info`` (and so does
        the first environment reset again with that seed).
    ``queries leave the trajectory unchanged``
        Interleaving ``interventional``, ``counterfactual`` and ``policy_value``
        queries with the steps of an episode changes nothing the agent sees.
    ``observations hold only the context``
        Each observation is in the observation space and equals the context
        nodes' values of the current unit (computed from the episode's tape);
        no hidden node names a key of ``info`` (or of its reward components),
        ``info`` has only the documented keys, and observational and trial data
        have no hidden columns.
    ``gymnasium check_env``
        :func:`gymnasium.utils.env_checker.check_env` passes without warnings
        (but those that an environment built without ``gymnasium.make`` has no
        spec, and advice on Box action ranges).
    ``vector env matches single env``
        Only when :mod:`sim.vector` is importable: sub-environment ``i`` of a
        ``CausalVectorEnv`` reset with ``seed`` sees the observations, rewards
        and outcomes of a ``CausalEnv`` reset with ``seed + i``, to the last bit.

    Episodes are checked over their first 30 decision points.

    Parameters
    ----------
    scenario : Scenario
        The scenario instance to check.
    seed : int
        Seed of every sample and episode used by the checks.
    n : int
        Units sampled by the data checks (at least 2).

    Returns
    -------
    None

    Raises
    ------
    ScenarioError
        The first property that fails, named in the message, with what was
        seen; an exception raised by the scenario's own code during a check is
        chained (``__cause__``) to it.
    SimError
        ``scenario`` is not a :class:`~sim.scenario.Scenario`, or ``n`` or
        ``seed`` is unusable.

    See Also
    --------
    gymnasium.utils.env_checker.check_env : the environment-level checker run here.

    References
    ----------
    STYLE.md, point 8 (public conformance checkers run over the whole registry).

    Examples
    --------
    >>> from sim.testing import DynamicScenario
    >>> check_scenario(DynamicScenario(max_units=5), n=200)
    """
    if not isinstance(scenario, Scenario):
        raise SimError(f"check_scenario needs a Scenario instance, got {type(scenario).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise SimError(f"n must be an integer >= 2, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SimError(f"seed must be a non-negative integer, got {seed!r}")
    for name, check in _CHECKS:
        try:
            check(scenario, int(seed), int(n))
        except Exception as exc:
            detail = str(exc) if isinstance(exc, _Failed) else f"{type(exc).__name__}: {exc}"
            raise ScenarioError(f"check_scenario({scenario.name}): property {name!r} failed: "
                                f"{detail}") from (None if isinstance(exc, _Failed) else exc)


# ---------------------------------------------------------------------- helpers
def _static(sc: Scenario) -> SCM:
    """The SCM with the state nodes set to the initial state (what the data methods sample)."""
    return sc.scm.do(sc.state_interventions(sc.initial_state())) if sc.state_nodes else sc.scm


def _frame_digest(frame: pd.DataFrame) -> str:
    """A digest of a frame's columns, dtypes and values (bytes, not their string form)."""
    h = hashlib.sha256()
    for c in frame.columns:
        col = frame[c]
        arr = np.asarray(col.tolist(), dtype=float) if col.dtype == object else col.to_numpy()
        h.update(repr((c, str(col.dtype), arr.shape, str(arr.dtype))).encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _first_difference(a: np.ndarray, b: np.ndarray) -> str:
    bad = np.flatnonzero(~np.isclose(a, b, rtol=_RTOL, atol=_ATOL, equal_nan=True))
    i = int(bad[0]) if len(bad) else 0
    return f"{len(bad)} of {len(a)} units differ (e.g. unit {i}: {a[i]!r} vs {b[i]!r})"


def _same_bits(a: Any, b: Any) -> bool:
    """Bit equality of two float arrays or numbers (the vector and the single env share one code
    path, so nothing less is acceptable)."""
    return np.asarray(a, dtype=np.float64).tobytes() == np.asarray(b, dtype=np.float64).tobytes()


def _close(a: Any, b: Any) -> bool:
    return bool(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=_RTOL,
                            atol=_ATOL, equal_nan=True))


def _actions(sc: Scenario, seed: int, k: int = _STEPS) -> list[Any]:
    """``k`` random actions in the scenario's canonical form (seeded)."""
    batch = sc.random_actions(k, np.random.default_rng([seed, 7]))
    return [sc.actions.check(a) for a in batch]


def _episode(env: CausalEnv, seed: int, actions: list[Any],
             between: Callable[[CausalEnv, int], None] | None = None) -> Iterator[tuple]:
    """Reset with ``seed`` and step through ``actions``; yield ``(step, obs, reward, term, trunc, info)``.

    Step ``-1`` is the reset (reward and flags ``None``). ``between(env, k)`` runs
    before step ``k`` (and once after the last step, with ``k = len(actions)``).
    """
    obs, info = env.reset(seed=seed)
    yield -1, obs, None, None, None, info
    for k, a in enumerate(actions):
        if between is not None:
            between(env, k)
        obs, reward, term, trunc, info = env.step(a)
        yield k, obs, reward, term, trunc, info
        if term or trunc:
            break
    if between is not None:
        between(env, len(actions))


def _same_step(left: tuple, right: tuple) -> str | None:
    """Why two recorded steps differ, or ``None`` when they are identical."""
    k, obs, reward, term, trunc, info = left
    _, obs2, reward2, term2, trunc2, info2 = right
    where = "reset" if k < 0 else f"step {k}"
    if obs.dtype != obs2.dtype or obs.tobytes() != obs2.tobytes():
        return f"{where}: observations differ ({obs!r} vs {obs2!r})"
    if (reward, term, trunc) != (reward2, term2, trunc2):
        return (f"{where}: (reward, terminated, truncated) differ ({reward, term, trunc} vs "
                f"{reward2, term2, trunc2})")
    if info != info2:
        return f"{where}: info differs ({info} vs {info2})"
    return None


def _keys(mapping: Mapping[str, Any]) -> Iterator[str]:
    for k, v in mapping.items():
        yield k
        if isinstance(v, Mapping):
            yield from _keys(v)


# ---------------------------------------------------------------------- the properties
def _graph(sc: Scenario, seed: int, n: int) -> None:
    scm = sc.scm
    g = scm.graph
    if set(g.nodes) != set(scm.nodes):
        raise _Failed(f"graph nodes {sorted(g.nodes)} are not the SCM's nodes {sorted(scm.nodes)}")
    own = scm.interventions
    mechs = scm.mechanisms
    for v, m in mechs.items():
        iv = own.get(v)
        if isinstance(iv, Policy):
            continue
        want = frozenset() if iv is not None and iv.cuts_edges else frozenset(m.parents)
        if g.parents(v) != want:
            raise _Failed(f"node {v!r} has parents {sorted(g.parents(v))} in the graph but its "
                          f"mechanism declares {sorted(want)}")
    model = _static(sc)
    noise = model.sample_noise(n, seed)
    values = model.propagate(noise)
    ivs = model.interventions
    for v, m in mechs.items():
        if v in ivs:
            continue
        try:
            alone = m.evaluate({p: values[p] for p in m.parents}, noise.get(v), n)
        except KeyError as exc:
            raise _Failed(f"the mechanism of {v!r} reads {exc}, which is not among its declared "
                          f"parents {list(m.parents)}") from None
        if not _close(alone, values[v]):
            raise _Failed(f"the mechanism of {v!r} gives other values from its declared parents "
                          f"{list(m.parents)} alone than in the model: {_first_difference(alone, values[v])}"
                          "; it reads an undeclared node or is not a function of its parents and noise")


def _observable(sc: Scenario, seed: int, n: int) -> None:
    hidden = sc.scm.hidden
    if sc.outcome in hidden:
        raise _Failed(f"the outcome {sc.outcome!r} is hidden, but info['outcome'] shows it to the agent")
    for v in sc.context:
        seen = sorted((sc.scm.graph.ancestors(v) | {v}) & hidden)
        if seen:
            raise _Failed(f"context node {v!r} depends on hidden nodes {seen}, so observing it reveals "
                          "them (a hidden state node counts too)")


def _do_cuts(sc: Scenario, seed: int, n: int) -> None:
    model = _static(sc)
    setting = sc.actions.to_interventions(sc.random_actions(1, np.random.default_rng(seed)))
    for v in sc.actions.nodes:
        value = float(setting[v].value[0])
        cut = model.do({v: Hard(value)})
        if cut.graph.parents(v):
            raise _Failed(f"do({v}={value:g}) leaves {v!r} with parents {sorted(cut.graph.parents(v))}")
        if cut.graph.children(v) != model.graph.children(v):
            raise _Failed(f"do({v}={value:g}) changed the children of {v!r}")
        got = cut.sample(n, seed, hidden=True)[v].to_numpy(dtype=float)
        if not np.all(got == value):
            raise _Failed(f"under do({v}={value:g}) sampled {v!r} takes values other than {value:g} "
                          f"(e.g. {got[got != value][0]:g})")


def _same_data(sc: Scenario, seed: int, n: int) -> None:
    for what in ("observational", "rct"):
        draw = getattr(sc, what)
        a, b = _frame_digest(draw(n, seed)), _frame_digest(draw(n, seed))
        if a != b:
            raise _Failed(f"{what}(n={n}, rng={seed}) gave different data on two calls with the same seed")
        if _frame_digest(draw(n, seed + 1)) == a:
            raise _Failed(f"{what}(n={n}, rng=...) gave the same data for seeds {seed} and {seed + 1}; "
                          "the data must come from the generator it is given")


def _counterfactual(sc: Scenario, seed: int, n: int) -> None:
    model = _static(sc)
    data, noise = model.sample(n, seed, hidden=True, return_noise=True)
    ivs = {v: Hard(data[v].to_numpy(dtype=float)) for v in sc.actions.nodes}
    cf = model.counterfactual(noise=noise, interventions=ivs, hidden=True)
    for v in model.nodes:
        fact, alt = data[v].to_numpy(dtype=float), cf[v].to_numpy(dtype=float)
        if not _close(fact, alt):
            raise _Failed(f"scm.counterfactual under the factual actions changes {v!r}: "
                          f"{_first_difference(fact, alt)}")
    env = CausalEnv(sc)
    actions = _actions(sc, seed)
    for k, _, _, _, _, info in _episode(env, seed, actions):
        if k < 0:
            continue
        a = actions[k]
        cf_y = env.query.counterfactual(a).mean
        if not _close(cf_y, info["outcome"]):
            raise _Failed(f"step {k}: query.counterfactual of the action taken ({sc.actions.label(a)}) "
                          f"is {cf_y!r} but info['outcome'] is {info['outcome']!r}")


def _same_trajectory(sc: Scenario, seed: int, n: int) -> None:
    actions = _actions(sc, seed)
    env = CausalEnv(sc)
    first = list(_episode(env, seed, actions))
    again = list(_episode(env, seed, actions))
    other = list(_episode(CausalEnv(sc), seed, actions))
    for label, run in (("a second environment", other), ("the same environment reset again", again)):
        if len(run) != len(first):
            raise _Failed(f"with {label} the episode lasted {len(run) - 1} steps instead of "
                          f"{len(first) - 1}")
        for left, right in zip(first, run, strict=True):
            why = _same_step(left, right)
            if why:
                raise _Failed(f"with {label} and seed {seed}: {why}")


def _queries_inert(sc: Scenario, seed: int, n: int) -> None:
    actions = _actions(sc, seed)
    rng = np.random.default_rng([seed, 11])
    probe = _actions(sc, seed + 1, len(actions) + 1)

    def ask(env: CausalEnv, k: int) -> None:
        q = env.query
        if not (env.state.terminated[0] or env.state.truncated[0]):
            q.interventional(probe[k], n=8)
            q.policy_value(lambda obs: sc.random_actions(len(obs), rng), n=8)
        if env.previous is not None:
            q.counterfactual(probe[k])

    plain = list(_episode(CausalEnv(sc), seed, actions))
    asked = list(_episode(CausalEnv(sc), seed, actions, between=ask))
    if len(plain) != len(asked):
        raise _Failed(f"with queries the episode lasted {len(asked) - 1} steps instead of {len(plain) - 1}")
    for left, right in zip(plain, asked, strict=True):
        why = _same_step(left, right)
        if why:
            raise _Failed(f"asking queries changed the episode: {why}")


def _only_context(sc: Scenario, seed: int, n: int) -> None:
    hidden = set(sc.scm.hidden)
    for what in ("observational", "rct"):
        cols = set(getattr(sc, what)(min(n, 50), seed).columns) & hidden
        if cols:
            raise _Failed(f"{what}() data contains hidden nodes {sorted(cols)}")
    env = CausalEnv(sc)
    for k, obs, _, term, trunc, info in _episode(env, seed, _actions(sc, seed)):
        allowed = _RESET_KEYS if k < 0 else _STEP_KEYS
        if set(info) - allowed:
            raise _Failed(f"info has undocumented keys {sorted(set(info) - allowed)}; documented: "
                          f"{sorted(allowed)}")
        leak = set(_keys(info)) & hidden
        if leak:
            raise _Failed(f"info names hidden nodes {sorted(leak)}")
        if obs.shape != (len(sc.context),) or not env.observation_space.contains(obs):
            raise _Failed(f"observation {obs!r} is not in the observation space {env.observation_space}")
        if term or trunc:
            continue
        i = env.current_unit
        tape = env.tape
        state = sc.state_interventions(env.state.row_state(0)) if sc.state_nodes else None
        values = sc.scm.propagate({v: arr[i:i + 1] for v, arr in tape.noise.items()}, state)
        want = np.array([values[v][0] for v in sc.context], dtype=float)
        if not _close(obs, want):
            raise _Failed(f"{'reset' if k < 0 else f'step {k}'}: observation {obs.tolist()} is not the "
                          f"context {dict(zip(sc.context, want.tolist(), strict=True))} of unit {i}")


def _gymnasium(sc: Scenario, seed: int, n: int) -> None:
    from gymnasium.utils.env_checker import check_env

    env = CausalEnv(sc, render_mode="ansi")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    bad = [str(w.message) for w in seen if not any(ok in str(w.message) for ok in _TOLERATED)]
    if bad:
        raise _Failed(f"check_env warns: {bad[0]}")


def _vector(sc: Scenario, seed: int, n: int) -> None:
    try:
        from sim.vector import CausalVectorEnv
    except ModuleNotFoundError as exc:  # only a missing sim.vector skips the check, not a broken one
        if exc.name == "sim.vector":
            return
        raise
    k = _NUM_ENVS
    venv = CausalVectorEnv(sc, num_envs=k)
    singles = [CausalEnv(sc) for _ in range(k)]
    try:
        vobs, _ = venv.reset(seed=seed)
        for i, env in enumerate(singles):
            obs, _ = env.reset(seed=seed + i)
            if not _same_bits(vobs[i], obs):
                raise _Failed(f"reset: sub-environment {i} observes {vobs[i]!r}, the single environment "
                              f"seeded {seed + i} observes {obs!r}")
        batch = np.stack([np.asarray(sc.random_actions(k, np.random.default_rng([seed, 13, t])))
                          for t in range(_STEPS)])
        for t in range(_STEPS):
            vobs, vrew, vterm, vtrunc, vinfo = venv.step(batch[t])
            done = False
            for i, env in enumerate(singles):
                obs, rew, term, trunc, info = env.step(batch[t][i])
                pairs = [("reward", vrew[i], rew), ("outcome", np.asarray(vinfo["outcome"])[i],
                                                    info["outcome"])]
                if not (term or trunc):
                    pairs.append(("observation", vobs[i], obs))
                for what, got, want in pairs:
                    if not _same_bits(got, want):
                        raise _Failed(f"step {t}: sub-environment {i} has {what} {got!r}, the single "
                                      f"environment seeded {seed + i} has {want!r}")
                if bool(vterm[i]) != term or bool(vtrunc[i]) != trunc:
                    raise _Failed(f"step {t}: sub-environment {i} ends ({bool(vterm[i])}, "
                                  f"{bool(vtrunc[i])}), the single environment ({term}, {trunc})")
                done = done or term or trunc
            if done:
                break
    finally:
        venv.close()


_CHECKS: tuple[tuple[str, Callable[[Scenario, int, int], None]], ...] = (
    ("graph matches mechanisms", _graph),
    ("nothing hidden is observed", _observable),
    ("do() cuts incoming edges", _do_cuts),
    ("same seed, same data", _same_data),
    ("counterfactual under the factual action", _counterfactual),
    ("same seed, same trajectory", _same_trajectory),
    ("queries leave the trajectory unchanged", _queries_inert),
    ("observations hold only the context", _only_context),
    ("gymnasium check_env", _gymnasium),
    ("vector env matches single env", _vector),
)
