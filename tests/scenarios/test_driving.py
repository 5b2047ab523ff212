"""Acceptance tests of the driving scenario (``scenarios/driving.py``).

Statistical claims are checked on seeded samples. Each tolerance is ``K = 4``
standard errors of the quantity compared (estimated from the sample, combined
with the Monte-Carlo error of the truth it is compared with): for a fresh seed
a correct implementation fails such a check with probability 6e-5 under
normality. The seeds are fixed, so the suite itself is deterministic.

The estimators (difference in means, back-door adjustment by stratification)
are written here, independently of the library; the adjustment set comes from
``causal.identify`` on the scenario's observed graph.
"""

from __future__ import annotations

import math
import warnings

import gymnasium
import numpy as np
import pandas as pd
import pytest
import yaml
from gymnasium.utils.env_checker import check_env

import scenarios  # noqa: F401  (registers causalsim/Driving-v0)
from causal import NotIdentifiable, adjustment_sets, dump_spec, identify, load_scm
from causal.interventions import Hard
from scenarios.driving import AutomatedBrake, Driving, DrivingBrake, DrivingParams
from sim.env import CausalEnv
from sim.errors import ScenarioError
from sim.registry import env_factory
from sim.timeline import Poisson

K = 4.0  #: standard errors per tolerance: false-failure rate 6.3e-5 per check for a fresh seed
N_TRUTH = 200_000
BRAKE, MAINTAIN, SWERVE = 1, 0, 2

# Documented numbers (module docstring; truth over 10^6 units, seed 0, and logs of 10^6, seed 1).
DOC = {"ate": (-0.1779, 0.0004), "maintain": (0.3627, 0.0005), "brake": (0.1849, 0.0004),
       "swerve": (0.3020, 0.0005), "naive": (0.1803, 0.0010),
       # stratified back-door estimate minus truth, mean over 10 seeds of n = 500,000
       "remaining": (0.0395, 0.0003)}


# ---------------------------------------------------------------------- estimators
def naive(d: pd.DataFrame, treat: int = BRAKE, control: int = MAINTAIN) -> tuple[float, float]:
    """Collision rate after ``treat`` minus after ``control`` in logged data, with its standard error."""
    y1 = d.collision[d.maneuver == treat].to_numpy()
    y0 = d.collision[d.maneuver == control].to_numpy()
    se = math.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))
    return float(y1.mean() - y0.mean()), se


def stratified(d: pd.DataFrame, covariates: list[str], bins: int = 35, treat: int = BRAKE,
               control: int = MAINTAIN) -> tuple[float, float]:
    """Back-door adjustment ``sum_z (E[Y | treat, z] - E[Y | control, z]) P(z)`` by stratification.

    Continuous covariates are cut at ``bins`` quantiles, binary ones kept; strata
    lacking either arm are dropped (about 0.1 % of units here). Returns the
    estimate and its standard error (binomial variances within strata).
    """
    cell = np.zeros(len(d), dtype=np.int64)
    for c in covariates:
        x = d[c].to_numpy(dtype=float)
        if len(np.unique(x)) > 2:
            edges = np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1])
            cell = cell * bins + np.searchsorted(edges, x, side="right")
        else:
            cell = cell * 2 + x.astype(np.int64)
    a = d.maneuver.to_numpy()
    frame = pd.DataFrame({"cell": cell, "treated": a == treat, "y": d.collision.to_numpy(dtype=float)})
    size = frame.groupby("cell").size()
    arms = frame[(a == treat) | (a == control)].groupby(["cell", "treated"]).y.agg(["mean", "count"])
    arms = arms.unstack("treated").dropna()
    w = size[arms.index] / size[arms.index].sum()
    p1, p0 = arms["mean"][True], arms["mean"][False]
    n1, n0 = arms["count"][True], arms["count"][False]
    value = float((w * (p1 - p0)).sum())
    se = float(np.sqrt((w ** 2 * (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)).sum()))
    return value, se


def within_variance(sc: Driving, node: str, action: int, n: int = 100_000, seed: int = 3) -> float:
    """``E[Var(node | do(action), context)]``: two draws of everything but the context, halved squared gap."""
    first, second = sc.scm.sample_noise(n, seed), sc.scm.sample_noise(n, seed + 1)
    for v in sc.context:
        second[v] = first[v]
    acts = np.full(n, action)
    y1, y2 = sc.outcomes(first, acts)[node], sc.outcomes(second, acts)[node]
    return float(0.5 * np.mean((y1 - y2) ** 2))


def within(value: float, target: float, se: float) -> bool:
    return abs(value - target) <= K * se


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def default() -> Driving:
    return Driving()


@pytest.fixture(scope="module")
def truth(default):
    return default.truth(n=N_TRUTH, seed=0)


@pytest.fixture(scope="module")
def logs(default) -> pd.DataFrame:
    return default.observational(200_000, 1)


# ---------------------------------------------------------------------- construction
@pytest.mark.parametrize("bad", [{"confounding": -1.0}, {"overlap": 1.5}, {"noise": 0.0},
                                 {"heterogeneity": math.nan}, {"hidden_confounder": 1},
                                 {"hazard_rate": 0.0}, {"agent_reaction": -1.0},
                                 {"agent_reaction": 10.0}, {"max_units": 0}])
def test_params_are_validated(bad):
    with pytest.raises(ScenarioError):
        Driving(**bad)


def test_unknown_parameter_is_named():
    with pytest.raises(ScenarioError, match="brakes"):
        Driving(brakes=1)


def test_params_are_frozen_and_shared_by_the_variant():
    p = DrivingParams(confounding=2.0)
    with pytest.raises(AttributeError):
        p.confounding = 1.0  # type: ignore[misc]
    assert p.floor == pytest.approx(0.05)
    assert DrivingBrake(p).params is p


@pytest.mark.parametrize("variant", [Driving, lambda: Driving(hidden_confounder=False), DrivingBrake])
def test_spec_round_trips(variant):
    sc = variant()
    spec = sc.spec()
    again = load_scm(spec)
    assert dump_spec(again) == dump_spec(sc.scm)
    from_yaml = load_scm(yaml.safe_dump(spec, sort_keys=False))
    pd.testing.assert_frame_equal(from_yaml.sample(2000, 5, hidden=True), sc.scm.sample(2000, 5, hidden=True))
    assert all("unit" in sc.scm.meta[v] for v in sc.scm.nodes), "every variable has a unit"


def test_graph_hidden_nodes_and_context(default):
    g = default.scm.graph
    assert set(default.scm.hidden) == {"friction", "fatigue", "reaction", "dwell", "decel", "reach_speed",
                                       "dodge", "skid", "hazard_hit"}
    assert g.parents("maneuver") == {"distance", "speed", "rain", "fatigue"}
    assert g.parents("reaction") == {"fatigue"}
    assert default.context == ("speed", "distance", "rain", "visibility")
    assert default.actions.labels == ("maintain", "brake", "swerve")
    assert set(default.actions.nodes) == {"maneuver", "reaction"}
    assert isinstance(default.timeline, Poisson) and default.timeline.rate == 0.2
    calm = Driving(hidden_confounder=False).scm.graph
    assert calm.children("fatigue") == set() and calm.parents("maneuver") == {"distance", "speed", "rain"}


# ---------------------------------------------------------------------- truth
def test_truth_agrees_with_brute_force(default, truth):
    scm = default.scm

    def brute(seed: int, n: int = N_TRUTH) -> dict[int, dict[str, np.ndarray]]:
        noise = scm.sample_noise(n, seed)
        return {a: scm.propagate(noise, default.actions.to_interventions(np.full(n, a))) for a in (0, 1, 2)}

    same = brute(0)  # the truth's own noise: equal to the last bit
    assert truth.ate("brake", "maintain", node="collision").value == float(
        np.mean(same[BRAKE]["collision"] - same[MAINTAIN]["collision"]))
    assert truth.mean("swerve", node="impact_speed").value == float(np.mean(same[SWERVE]["impact_speed"]))
    # an explicit do() on the SCM, the agent's reaction time included, is the same world
    explicit = scm.do({"maneuver": Hard(1.0), "reaction": Hard(1.0)}).propagate(scm.sample_noise(1000, 0))
    assert np.array_equal(explicit["collision"], brute(0, 1000)[BRAKE]["collision"])
    other = brute(1)  # independent noise: within K standard errors
    for node in ("collision", "impact_speed", "delay"):
        d = other[BRAKE][node] - other[MAINTAIN][node]
        se = math.hypot(d.std(ddof=1) / math.sqrt(len(d)), truth.ate("brake", "maintain", node).stderr)
        assert within(float(d.mean()), truth.ate("brake", "maintain", node).value, se)


def test_documented_truth(truth):
    for key, action in (("maintain", "maintain"), ("brake", "brake"), ("swerve", "swerve")):
        eff = truth.mean(action)
        assert within(eff.value, DOC[key][0], math.hypot(eff.stderr, DOC[key][1]))
    ate = truth.ate("brake", "maintain")
    assert within(ate.value, DOC["ate"][0], math.hypot(ate.stderr, DOC["ate"][1]))
    assert ate.value < -0.1, "braking prevents collisions"
    assert truth.ate("brake", "maintain", node="impact_speed").value < -3
    assert truth.value("brake").value > truth.value("swerve").value > truth.value("maintain").value


def test_cate_agrees_with_brute_force(default, truth):
    """``E[Y_brake - Y_maintain | context]``: fix the context by ``do()`` (it has only observed
    ancestors, so conditioning and setting agree) and average over fresh noise."""
    contexts = pd.DataFrame({"speed": [20.0, 20.0, 28.0, 15.0], "distance": [70.0, 20.0, 150.0, 60.0],
                             "rain": [0.0, 1.0, 0.0, 1.0], "visibility": [0.8, 0.5, 0.9, 0.55]})
    samples = 4000
    cate = truth.cate("brake", "maintain", contexts, samples=samples, seed=1)
    n = 100_000
    for i, row in contexts.iterrows():
        noise = default.scm.sample_noise(n, 9)
        setting = {k: Hard(float(row[k])) for k in default.context}
        y = {a: default.scm.propagate(noise, {**setting, **default.actions.to_interventions(np.full(n, a))})
             ["collision"] for a in (BRAKE, MAINTAIN)}
        ite = y[BRAKE] - y[MAINTAIN]
        assert within(cate[i], ite.mean(), ite.std() * math.sqrt(1 / samples + 1 / n))
    assert cate[1] == 0.0, "20 m away in the rain at 20 m/s: too late for anything"


def test_reward_components(default):
    noise = default.scm.sample_noise(5, 0)
    acts = np.array([0, 1, 2, 1, 0])
    values = default.outcomes(noise, acts)
    total, parts = default.total_reward(values, acts)
    assert set(parts) == {"collision", "impact", "discomfort", "delay", "cost"}
    want = -(100 * values["collision"] + 5 * values["impact_speed"] + values["discomfort"]
             + values["delay"]) - np.array([0.0, 1.0, 2.0, 1.0, 0.0])
    np.testing.assert_allclose(total, want)
    assert np.all(values["discomfort"][acts == 0] == 0) and np.all(values["delay"][acts == 0] == 0)


# ---------------------------------------------------------------------- the trap
def test_naive_comparison_says_braking_causes_crashes(logs, truth):
    value, se = naive(logs)
    ate = truth.ate("brake", "maintain")
    assert value > 0 > ate.value, "the wrong sign"
    assert within(value, DOC["naive"][0], math.hypot(se, DOC["naive"][1]))
    # the documented bias, +0.390
    assert within(value - ate.value, DOC["naive"][0] - DOC["ate"][0],
                  math.hypot(se, ate.stderr, DOC["naive"][1], DOC["ate"][1]))


def test_identification_on_the_observed_graph(default):
    calm = Driving(hidden_confounder=False).scm.observed_graph
    estimand = identify(calm, "maneuver", "collision")
    assert estimand.strategy == "backdoor"
    assert frozenset({"distance", "rain", "speed"}) in adjustment_sets(calm, "maneuver", "collision")
    with pytest.raises(NotIdentifiable):
        identify(default.scm.observed_graph, "maneuver", "collision")


def _backdoor_set() -> list[str]:
    sets = adjustment_sets(Driving(hidden_confounder=False).scm.observed_graph, "maneuver", "collision")
    return sorted(min(sets, key=len))


def test_adjustment_recovers_the_truth_without_hidden_confounder():
    sc = Driving(hidden_confounder=False)
    ate = sc.truth(n=N_TRUTH, seed=0).ate("brake", "maintain")
    d = sc.observational(500_000, 2)
    value, se = stratified(d, _backdoor_set())
    assert within(value, ate.value, math.hypot(se, ate.stderr))
    assert naive(d)[0] - ate.value > 0.25, "the bias was all observed, and adjustment removed it"


def test_adjustment_leaves_the_fatigue_bias(default, truth):
    ate = truth.ate("brake", "maintain")
    value, se = stratified(default.observational(500_000, 2), _backdoor_set())
    bias = value - ate.value
    assert within(bias, DOC["remaining"][0], math.hypot(se, ate.stderr, DOC["remaining"][1]))
    assert bias > K * math.hypot(se, ate.stderr), "fatigue, hidden, leaves a bias towards 'braking harms'"
    # the humans' own braking (with their slower reaction) is less useful than the agent's
    noise = default.scm.sample_noise(N_TRUTH, 0)
    human = (default.scm.propagate(noise, {"maneuver": Hard(1.0)})["collision"]
             - default.scm.propagate(noise, {"maneuver": Hard(0.0)})["collision"])
    assert human.mean() - ate.value > K * human.std() / math.sqrt(len(human))


# ---------------------------------------------------------------------- knobs
def test_confounding_grows_the_naive_bias(truth):
    ate = truth.ate("brake", "maintain").value  # the agent's effect does not depend on the knobs
    biases = [naive(Driving(confounding=c).observational(100_000, 4)) for c in (0.0, 0.5, 1.0, 2.0)]
    for (low, se_low), (high, se_high) in zip(biases, biases[1:], strict=False):
        assert high - low > K * math.hypot(se_low, se_high)
    clean = Driving(confounding=0.0, hidden_confounder=False)
    value, se = naive(clean.observational(100_000, 4))
    clean_ate = clean.truth(n=N_TRUTH, seed=0).ate("brake", "maintain")
    assert within(value, clean_ate.value, math.hypot(se, clean_ate.stderr)), "randomised alert humans"
    assert biases[0][0] - ate > K * biases[0][1], "at confounding 0 the humans' slower reaction remains"


def test_noise_grows_the_outcome_variance():
    for node in ("impact_speed", "delay", "discomfort"):
        v = [within_variance(Driving(noise=s), node, BRAKE) for s in (0.5, 1.0, 2.0)]
        assert v[0] < v[1] < v[2], (node, v)


@pytest.mark.parametrize("overlap", [0.0, 0.2, 1.0])
def test_overlap_bounds_the_propensities(overlap):
    sc = Driving(overlap=overlap)
    data = sc.scm.sample(50_000, 6, hidden=True)
    mech = sc.scm.mechanisms["maneuver"]
    probs = mech.probabilities({p: data[p].to_numpy() for p in mech.parents}, len(data))
    m = overlap / 4
    assert probs.min() >= m - 1e-12 and probs.max() <= 1 - 2 * m + 1e-12
    if overlap == 0:
        assert probs.min() < 1e-3 and probs.max() > 0.99, "no overlap floor: near-deterministic choices"
    else:
        assert probs.min() < m + 0.01, "the floor is reached"


def test_heterogeneity_makes_rain_an_effect_modifier():
    gaps = []
    for h in (0.0, 1.0, 2.0):
        sc = Driving(heterogeneity=h)
        t = sc.truth(n=100_000, seed=0)
        rain = sc.outcomes(t.noise, np.zeros(t.n, dtype=np.int64))["rain"] == 1
        ite = t.ite("brake", "maintain")
        gap = ite[rain].mean() - ite[~rain].mean()
        se = math.sqrt(ite[rain].var() / rain.sum() + ite[~rain].var() / (~rain).sum())
        gaps.append((gap, se))
    for (low, se_low), (high, se_high) in zip(gaps, gaps[1:], strict=False):
        assert high - low > K * math.hypot(se_low, se_high)


def test_faster_agent_changes_the_truth_not_the_logs(default, truth):
    fast = Driving(agent_reaction=0.5)
    pd.testing.assert_frame_equal(fast.observational(1000, 3), default.observational(1000, 3))
    assert fast.truth(n=N_TRUTH, seed=0).ate("brake", "maintain").value < truth.ate("brake", "maintain").value


# ---------------------------------------------------------------------- determinism and conformance
def test_same_seed_same_bytes(default):
    for draw in (default.observational, default.rct):
        a, b, c = draw(3000, 11), draw(3000, 11), draw(3000, 12)
        pd.testing.assert_frame_equal(a, b)
        assert all(a[k].to_numpy().tobytes() == b[k].to_numpy().tobytes() for k in a.columns)
        assert not a.equals(c)
    assert set(default.rct(3000, 11).action) == {0, 1, 2}

    def episode(seed: int) -> list[tuple[bytes, float, float, str]]:
        env = gymnasium.make("causalsim/Driving-v0", max_units=20)
        obs, _ = env.reset(seed=seed)
        out = []
        for k in range(20):
            obs, reward, term, trunc, info = env.step(k % 3)
            out.append((obs.tobytes(), reward, info["time"], info["action"]))
            if term or trunc:
                break
        return out

    assert episode(5) == episode(5)
    assert episode(5) != episode(6)


@pytest.mark.parametrize("variant", [Driving, lambda: Driving(hidden_confounder=False, overlap=0.0),
                                     DrivingBrake])
def test_check_scenario(variant):
    import sim.checks as checks
    checks.check_scenario(variant())


def test_gymnasium_env_and_vector_env():
    env = gymnasium.make("causalsim/Driving-v0")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Box observation space (minimum|maximum)")  # unbounded
        check_env(env.unwrapped)
    assert env.observation_space.shape == (4,) and env.action_space.n == 3
    venv = gymnasium.make_vec("causalsim/Driving-v0", num_envs=16)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (16, 4)
    for t in range(30):
        obs, reward, term, trunc, info = venv.step(np.full(16, t % 3))
        assert reward.shape == (16,) and np.all(np.isfinite(reward))
    venv.close()


def test_first_hour_snippet():
    """USAGE.md, section 3: queries about the current hazard."""
    env = gymnasium.make("causalsim/Driving-v0")
    obs, info = env.reset(seed=0)                       # speed, distance, rain, visibility
    assert obs.shape == (4,) and info["kind"] == "hazard"
    q = env.unwrapped.query
    brake, keep = q.interventional("brake", n=256), q.interventional("maintain", n=256)
    assert 0 <= brake.mean <= 1 and 0 <= keep.mean <= 1
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert set(info["rewards"]) == {"collision", "impact", "discomfort", "delay", "cost"}
    assert q.counterfactual("swerve").mean in (0.0, 1.0)


# ---------------------------------------------------------------------- the brake-force variant
def test_brake_force_variant():
    sc = DrivingBrake()
    assert isinstance(sc.actions, AutomatedBrake) and sc.actions.space.shape == (1,)
    t = sc.truth(n=100_000, seed=0)
    noise = sc.scm.sample_noise(100_000, 0)
    full = sc.scm.propagate(noise, sc.actions.to_interventions(np.ones((100_000, 1))))
    none = sc.scm.propagate(noise, sc.actions.to_interventions(np.zeros((100_000, 1))))
    assert t.ate([1.0], [0.0]).value == float(np.mean(full["collision"] - none["collision"]))
    rates = [t.mean([f]).value for f in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False)), "harder braking, fewer collisions"
    logs = sc.observational(100_000, 1)
    slope = np.polyfit(logs.brake_force, logs.collision, 1)[0]
    assert slope > 0.3, "in the logs, harder braking goes with more collisions"
    assert "causalsim/DrivingBrake-v0" in gymnasium.registry     # registered by `import scenarios`
    assert isinstance(gymnasium.make("causalsim/DrivingBrake-v0").unwrapped.scenario, DrivingBrake)
    env = env_factory(DrivingBrake)()
    assert isinstance(env, CausalEnv)
    env.reset(seed=0)
    assert np.isfinite(env.step(np.array([0.7]))[1])
