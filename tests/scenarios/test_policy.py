"""Acceptance tests of the policy-rollout scenario (``scenarios/policy.py``).

Statistical claims are checked on seeded logged panels of ``N = 4000``
regions. Each tolerance is ``k`` standard errors, where the standard error is
either estimated from the panel (influence functions, clustered by region) or,
for a bias that depends on the panel's common shocks, the spread of the
statistic over 20 panels (seeds 0-19, measured when the scenario was built
and quoted next to the test). The comment at each test states ``k`` and the
false-failure rate it gives for a fresh seed under normality; with the fixed
seeds used here the tests are deterministic.

The estimators (treated vs untreated, two-way fixed effects, Callaway &
Sant'Anna's group-time DiD) are written here, independently of the library.
"""

from __future__ import annotations

import functools
import math
import warnings

import gymnasium
import numpy as np
import pandas as pd
import pytest
import yaml
from gymnasium.utils.env_checker import check_env
from scipy.stats import norm

import scenarios  # noqa: F401  (registers causalsim/Policy-v0)
from causal import dump_spec, load_scm
from causal.interventions import Hard
from scenarios.policy import LAUNCH, PolicyParams, PolicyRollout, Quarterly
from sim.env import CausalEnv
from sim.errors import ScenarioError
from sim.timeline import Clock
from sim.vector import CausalVectorEnv

N = 4000  #: regions in the logged panels
SEED = 0


# ---------------------------------------------------------------------- estimators
def wide(panel: pd.DataFrame, column: str) -> np.ndarray:
    """``(regions, quarters)`` array of a balanced long panel sorted by region then quarter."""
    n, t = panel.region.nunique(), panel.quarter.nunique()
    return panel[column].to_numpy(dtype=float).reshape(n, t)


def cohorts(panel: pd.DataFrame) -> np.ndarray:
    return panel.groupby("region").cohort.first().to_numpy()


def naive_difference(panel: pd.DataFrame) -> float:
    """Mean employment of treated region-quarters minus that of untreated ones."""
    y, d = panel.employment.to_numpy(), panel.treated.to_numpy()
    return float(y[d == 1].mean() - y[d == 0].mean())


def ols(y: np.ndarray, x: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and cluster-robust (sandwich) standard errors."""
    bread = np.linalg.pinv(x.T @ x)
    beta = bread @ x.T @ y
    score = x * (y - x @ beta)[:, None]
    _, g = np.unique(clusters, return_inverse=True)
    per = np.zeros((g.max() + 1, x.shape[1]))
    np.add.at(per, g, score)
    return beta, np.sqrt(np.diag(bread @ per.T @ per @ bread))


def twfe(panel: pd.DataFrame, explicit: bool = False) -> tuple[float, float]:
    """Coefficient of ``treated`` in ``employment ~ treated + region dummies + quarter dummies``.

    The region dummies are partialled out by demeaning every column within
    region (Frisch-Waugh-Lovell: the same coefficient), unless ``explicit``.
    """
    region, quarter = panel.region.to_numpy(), panel.quarter.to_numpy()
    q = (quarter[:, None] == np.arange(1, quarter.max() + 1)).astype(float)
    x = np.column_stack([panel.treated.to_numpy(dtype=float), q])
    y = panel.employment.to_numpy(dtype=float)
    if explicit:
        x = np.column_stack([x, (region[:, None] == np.unique(region)).astype(float)])
    else:
        def within(a: np.ndarray) -> np.ndarray:
            means = pd.DataFrame(a).groupby(region).transform("mean").to_numpy()
            return a - means.reshape(a.shape)

        x, y = within(x), within(y[:, None])[:, 0]
    beta, se = ols(y, x, region)
    return float(beta[0]), float(se[0])


def callaway_santanna(panel: pd.DataFrame) -> tuple[pd.DataFrame, float, float]:
    """Group-time ATTs with never-treated controls and base period ``g - 1`` (unconditional PT).

    Returns the cells (cohort, event_time, att, se, n_regions), the overall ATT
    (cells weighted by cohort size: one weight per treated region-quarter) and
    its standard error, from each region's influence function (Callaway &
    Sant'Anna 2021, section 4; estimated weights treated as fixed).
    """
    y, g = wide(panel, "employment"), cohorts(panel)
    n, t_max = y.shape
    never = ~np.isfinite(g)
    rows, ifs = [], []
    for c in np.unique(g[~never]).astype(int):
        member = g == c
        for t in range(c, t_max):
            dy = y[:, t] - y[:, c - 1]
            mu_g, mu_c = dy[member].mean(), dy[never].mean()
            inf = member * (dy - mu_g) / member.mean() - never * (dy - mu_c) / never.mean()
            rows.append((c, t - c, mu_g - mu_c, math.sqrt((inf ** 2).mean() / n), int(member.sum())))
            ifs.append(inf)
    cells = pd.DataFrame(rows, columns=["cohort", "event_time", "att", "se", "n_regions"])
    w = cells.n_regions.to_numpy(dtype=float) / cells.n_regions.sum()
    overall_if = np.asarray(ifs).T @ w
    return cells, float(w @ cells.att), math.sqrt((overall_if ** 2).mean() / n)


# ---------------------------------------------------------------------- logged data (cached)
@functools.cache
def _logged(design: str, items: tuple) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    sc = PolicyRollout(**dict(items))
    panel = (sc.observational if design == "observational" else sc.rct)(N, SEED)
    truth = sc.att_by_cohort_event(N, SEED, design=design)
    overall = float(np.average(truth.att, weights=truth.n_regions))
    return panel, truth, overall


def logged(design: str = "observational", **params) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """(panel, ATT cells, overall ATT) of ``N`` regions with seed ``SEED``."""
    return _logged(design, tuple(sorted(params.items())))


def merged(cells: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    return cells.merge(truth, on=["cohort", "event_time", "n_regions"], suffixes=("", "_true"))


# ---------------------------------------------------------------------- parameters, timeline, spec
def test_params_are_validated_and_max_units_is_derived():
    p = PolicyParams(n_regions=10, n_quarters=6)
    assert p.max_units == 60
    assert PolicyRollout(p, n_quarters=8).params.max_units == 80
    assert 0.05 <= p.never_share <= 0.5
    for bad in ({"n_regions": 0}, {"n_quarters": LAUNCH + 1}, {"budget": -1}, {"budget": 2.5},
                {"setup_cost": -1.0}, {"subsidy_cost": math.nan}, {"confounding": -1.0},
                {"overlap": 1.5}, {"noise": 0.0}, {"hidden_confounder": 1}):
        with pytest.raises(ScenarioError):
            PolicyRollout(**bad)
    with pytest.raises(ScenarioError, match="derived"):
        PolicyRollout(max_units=5)


def test_quarterly_timeline_closed_form_matches_the_simpy_clock():
    timeline = Quarterly(3, 4)
    clock = Clock(timeline, np.ones(13), max_units=12)
    points = list(iter(clock.advance, None))
    assert [p.time for p in points] == timeline.times(np.ones((1, 12)))[0].tolist()
    assert [p.time for p in points] == [0.0] * 3 + [1.0] * 3 + [2.0] * 3 + [3.0] * 3
    assert {p.kind for p in points} == {"region"}


def test_spec_round_trips_through_load_scm_and_yaml():
    sc = PolicyRollout()
    scm = load_scm(sc.spec())
    again = load_scm(yaml.safe_dump(dump_spec(scm), sort_keys=False))
    for model in (scm, again):
        assert model.nodes == sc.scm.nodes
        assert set(model.graph.to_networkx().edges) == set(sc.scm.graph.to_networkx().edges)
        assert model.hidden == sc.scm.hidden
    noise = sc.scm.sample_noise(300, 1)
    state = {"quarter": Hard(5.0), "adopted": Hard(1.0), "adoption_quarter": Hard(3.0),
             "new_quarter": Hard(0.0)}
    want = sc.scm.propagate(noise, state)
    got = again.propagate(noise, state)
    for v in sc.scm.nodes:
        np.testing.assert_array_equal(got[v], want[v])


def test_check_scenario_passes():
    import sim.checks as checks
    checks.check_scenario(PolicyRollout())


def test_gymnasium_check_env_and_make_vec():
    env = gymnasium.make("causalsim/Policy-v0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env.unwrapped)
    venv = gymnasium.make_vec("causalsim/Policy-v0", num_envs=8)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (8, len(PolicyRollout.context))
    rng = np.random.default_rng(0)
    for _ in range(45):
        obs, reward, term, trunc, info = venv.step(rng.integers(0, 2, size=8))
        assert obs.shape == (8, 7) and np.all(np.isfinite(reward)) and not term.any()
    assert np.all(obs[:, 3] == 1.0)  # the 45th decision point is in quarter 1
    venv.close()


# ---------------------------------------------------------------------- the environment
def _episode(env: CausalEnv, seed: int, actions) -> list[tuple]:
    """(quarter, region, observation, outcome, reward parts) of every decision point."""
    sc = env.unwrapped.scenario
    n = sc.params.n_regions
    obs, info = env.reset(seed=seed)
    out = []
    for k in range(sc.params.max_units):
        before = obs
        obs, _, term, _, info = env.step(actions(k, before))
        out.append((k // n, k % n, before, info["outcome"], info["rewards"]))
        assert term == (k == sc.params.max_units - 1)
    return out


def test_state_carries_each_region_between_quarters():
    sc = PolicyRollout(n_regions=5, n_quarters=5, budget=5)
    rng = np.random.default_rng(1)
    steps = _episode(CausalEnv(sc), 3, lambda k, obs: int(rng.random() < 0.2))
    first = {r: obs for t, r, obs, _, _ in steps if t == 0}
    outcome = {(t, r): y for t, r, _, y, _ in steps}
    adopted_at: dict[int, int] = {}
    for t, r, obs, _, parts in steps:
        np.testing.assert_array_equal(obs[:3], first[r][:3])  # population, unemployment, urban
        assert obs[3] == t
        assert obs[5] == (70.0 if t == 0 else outcome[(t - 1, r)])  # last outcome
        assert obs[4] == float(r in adopted_at)  # adopted (absorbing)
        if parts["setup"] < 0:
            assert r not in adopted_at
            adopted_at[r] = t
        assert (parts["subsidy"] < 0) == (r in adopted_at)
    assert len({tuple(o[:3]) for o in first.values()}) == 5  # regions differ


def test_budget_is_enforced_in_single_and_vector_envs():
    sc = PolicyRollout(n_regions=6, n_quarters=5, budget=3)
    env = CausalEnv(sc)
    obs, _ = env.reset(seed=0)
    setups, subsidies, left, refused = 0.0, 0.0, [], 0
    for _ in range(sc.params.max_units):
        before = obs
        left.append(before[6])
        obs, _, _, _, info = env.step(1)  # always ask to adopt
        setups += info["rewards"]["setup"]
        subsidies += info["rewards"]["subsidy"]
        if before[6] == 0 and before[4] == 0:  # refused: adopting or waiting give the same outcome
            assert env.query.counterfactual("wait").mean == info["outcome"]
            refused += 1
    assert refused == 3 * 5
    assert setups == -sc.params.setup_cost * 3
    assert subsidies == -sc.params.subsidy_cost * 3 * 5  # regions 0-2 from quarter 0 on
    assert left[:6] == [3, 2, 1, 0, 0, 0] and set(left[6:]) == {0}

    venv = CausalVectorEnv(sc, num_envs=4)
    venv.reset(seed=0)
    setup = np.zeros(4)
    for _ in range(sc.params.max_units):
        obs, _, _, _, info = venv.step(np.ones(4, dtype=np.int64))
        setup += info["rewards"]["setup"]
    np.testing.assert_array_equal(setup, -sc.params.setup_cost * 3)


def test_vector_env_replays_single_envs_across_resets():
    """Sub-environment i is the single environment seeded 10 + i, also when out of step with the others."""
    sc = PolicyRollout(n_regions=4, n_quarters=4, budget=2)
    k, steps = 3, 2 * sc.params.max_units + 5
    actions = np.random.default_rng(2).integers(0, 2, size=(steps, k))
    venv = CausalVectorEnv(sc, num_envs=k)
    singles = [CausalEnv(sc) for _ in range(k)]
    vobs, _ = venv.reset(seed=10)
    for i, env in enumerate(singles):
        np.testing.assert_array_equal(vobs[i], env.reset(seed=10 + i)[0])
    pending = [False] * k
    for t in range(steps):
        if t == 3:  # sub-environment 0 starts over: the others are at region 3 of quarter 0
            vobs, _ = venv.reset(options={"reset_mask": np.arange(k) == 0})
            np.testing.assert_array_equal(vobs[0], singles[0].reset()[0])
        vobs, vrew, vterm, _, _ = venv.step(actions[t])
        for i, env in enumerate(singles):
            if pending[i]:
                np.testing.assert_array_equal(vobs[i], env.reset()[0])
                assert vrew[i] == 0.0
                pending[i] = False
                continue
            obs, rew, term, _, _ = env.step(int(actions[t, i]))
            assert rew == vrew[i] and term == vterm[i]
            if term:
                pending[i] = True
            else:
                np.testing.assert_array_equal(obs, vobs[i])


def test_determinism():
    sc = PolicyRollout()
    for draw in (sc.observational, sc.rct):
        a, b = draw(500, 7), draw(500, 7)
        pd.testing.assert_frame_equal(a, b)
        assert not a.employment.equals(draw(500, 8).employment)
    pd.testing.assert_frame_equal(sc.att_by_cohort_event(500, 7), sc.att_by_cohort_event(500, 7))
    small = PolicyRollout(n_regions=8, n_quarters=5)
    first, second = (_episode(CausalEnv(small), 5, lambda k, obs: int(k % 3 == 0)) for _ in range(2))
    for (t, r, obs, y, parts), (t2, r2, obs2, y2, parts2) in zip(first, second, strict=True):
        assert (t, r, y, parts) == (t2, r2, y2, parts2) and obs.tobytes() == obs2.tobytes()


# ---------------------------------------------------------------------- the truth
def test_logged_panel_is_a_staggered_rollout():
    panel, truth, _ = logged()
    d, g = wide(panel, "treated"), cohorts(panel)
    assert np.all(np.diff(d, axis=1) >= 0)  # absorbing
    assert not d[:, :LAUNCH].any()  # the policy launched in quarter 2
    first = np.where(d.any(axis=1), d.argmax(axis=1), np.inf)
    np.testing.assert_array_equal(first, g)
    for column in ("population", "unemployment", "urban"):
        assert np.all(wide(panel, column) == wide(panel, column)[:, :1])  # region traits persist
    assert 0.2 < (~np.isfinite(g)).mean() < 0.4  # never-treated donors (0.28-0.32 over seeds)
    assert set(truth.cohort) == set(g[np.isfinite(g)].astype(int))


def test_truth_cells_are_the_analytic_effects():
    """ATT(g, e) = (1 + h (Ubar_g - 8) / 8) tau(g, e), tau(g, e) = 1 + h (2 - 2^(1 - e) - g / T): exact."""
    for h in (1.0, 0.4):
        sc = PolicyRollout(heterogeneity=h)
        panel, truth = sc.observational(800, 3), sc.att_by_cohort_event(800, 3)
        ubar = panel[panel.quarter == 0].groupby("cohort").unemployment.mean()
        g, e = truth.cohort.to_numpy(), truth.event_time.to_numpy()
        tau = 1 + h * (2 - 2.0 ** (1 - e) - g / sc.params.n_quarters)
        np.testing.assert_allclose(truth.att, (1 + h * (ubar[g].to_numpy() - 8) / 8) * tau, rtol=1e-12)
        att = sc.att(800, 3)
        assert att.value == pytest.approx(np.average(truth.att, weights=truth.n_regions), rel=1e-12)
        assert att.n == int(panel.treated.sum())


def test_truth_agrees_with_brute_force_monte_carlo_in_the_env():
    """Episodes on the same tape with the policy on (random cohorts) and off, vs the truth API."""
    sc = PolicyRollout(n_regions=6, n_quarters=6, budget=6)
    n, t_max, m = 6, 6, 300
    g = np.random.default_rng(4).choice([2.0, 3.0, 4.0, 5.0, np.inf], size=(m, n))
    venv = CausalVectorEnv(sc, num_envs=m)
    worlds = {}
    for world in ("on", "off"):
        obs, _ = venv.reset(seed=100)
        y, u = np.zeros((m, t_max, n)), np.zeros((m, n))
        for k in range(sc.params.max_units):
            t, r = divmod(k, n)
            u[:, r] = obs[:, 1]
            act = (g[:, r] <= t) if world == "on" else np.zeros(m, dtype=bool)
            obs, _, _, _, info = venv.step(act.astype(np.int64))
            y[:, t, r] = info["outcome"]
        worlds[world] = (y, u)
    (y1, u), (y0, _) = worlds["on"], worlds["off"]
    effect = y1 - y0
    cohort = np.where(np.isfinite(g), g, 99.0)[:, None, :]
    e = np.arange(t_max)[None, :, None] - cohort
    tau = 1 + (2 - 2.0 ** (1 - np.maximum(e, 0)) - cohort / t_max)  # heterogeneity 1 (the default)
    tau = np.where(e >= 0, (1 + (u[:, None, :] - 8) / 8) * tau, 0.0)
    np.testing.assert_allclose(effect, tau, atol=1e-9)  # every region-quarter, exactly

    api = sc.att_by_cohort_event(20_000, 0, design="rct").set_index(["cohort", "event_time"])
    # Bonferroni over the 10 cells at a family-wise false-failure rate of 1e-3: k = 3.9.
    k = norm.ppf(1 - 1e-3 / 2 / 10)
    cells = 0
    for c in (2, 3, 4, 5):
        for ev in range(t_max - c):
            d = effect[:, c + ev, :][g == c]
            se_mc = d.std(ddof=1) / math.sqrt(len(d))
            se_api = d.std(ddof=1) / math.sqrt(api.n_regions[(c, ev)])
            assert abs(d.mean() - api.att[(c, ev)]) < k * math.hypot(se_mc, se_api)
            cells += 1
    assert cells == 10


def test_contract_truth_is_the_effect_of_adopting_in_quarter_zero():
    sc = PolicyRollout()
    truth = sc.truth(n=20_000, seed=0)
    unemployment = np.clip(truth.noise["unemployment"], 2, 20)
    np.testing.assert_allclose(truth.ite("adopt", "wait"), 1 + (unemployment - 8) / 8, rtol=1e-12)
    ate = truth.ate("adopt", "wait")
    assert abs(ate.value - 1.0) < 4 * ate.stderr  # E[U] = 8.0008: k = 4, rate 6e-5
    assert truth.value("adopt").value - truth.value("wait").value == pytest.approx(
        ate.value - sc.params.setup_cost - sc.params.subsidy_cost, abs=1e-9)


# ---------------------------------------------------------------------- the trap
def test_naive_comparison_is_biased_by_the_documented_amount():
    panel, _, att = logged(hidden_confounder=False)
    bias = naive_difference(panel) - att
    # documented -1.54, sd over seeds 0.19; k = 4 (rate 6e-5)
    assert abs(bias - (-1.54)) < 4 * 0.19
    panel, _, att = logged()
    assert abs(naive_difference(panel) - att - (-0.41)) < 4 * 0.14  # with politics: -0.41 (sd 0.14)


def test_twfe_matches_explicit_dummies():
    panel = PolicyRollout().observational(60, 1)
    assert twfe(panel)[0] == pytest.approx(twfe(panel, explicit=True)[0], rel=1e-9, abs=1e-9)


def test_twfe_is_biased_under_heterogeneous_dynamic_effects():
    panel, _, att = logged(hidden_confounder=False)
    beta, _ = twfe(panel)
    assert abs(beta - att - (-0.73)) < 4 * 0.09  # documented -0.73, sd over seeds 0.09; k = 4
    panel, _, att = logged(hidden_confounder=False, heterogeneity=0.0)
    beta, se = twfe(panel)
    assert att == pytest.approx(1.0)
    assert abs(beta - 1.0) < 4 * se  # constant effect: unbiased; k = 4 (rate 6e-5)


def test_group_time_did_recovers_att_gt_without_the_hidden_confounder():
    for confounding in (1.0, 2.0):
        panel, truth, att = logged(hidden_confounder=False, confounding=confounding)
        cells, overall, se = callaway_santanna(panel)
        both = merged(cells, truth)
        assert len(both) == len(cells)
        big = both[both.n_regions >= 30]  # the CLT needs a few dozen regions per cohort
        # Bonferroni over the cells at a family-wise false-failure rate of 1e-3 (k about 4.4).
        k = norm.ppf(1 - 1e-3 / 2 / len(big))
        z = (big.att - big.att_true) / big.se
        assert np.all(np.abs(z) < k), big[np.abs(z) >= k]
        assert abs(overall - att) < 3.29 * se  # k = 3.29: rate 1e-3


def test_group_time_did_is_biased_by_politics_and_unbiased_in_the_rct():
    panel, truth, att = logged()
    cells, overall, se = callaway_santanna(panel)
    # documented +0.65, sd over seeds 0.034; k = 4 (rate 6e-5)
    assert abs(overall - att - 0.65) < 4 * 0.034
    err = merged(cells, truth).assign(err=lambda d: d.att - d.att_true)
    late, early = err[err.event_time >= 6], err[err.event_time <= 1]
    assert np.average(late.err, weights=late.n_regions) > np.average(early.err, weights=early.n_regions) + 0.5
    panel, truth, att = logged("rct")
    cells, overall, se = callaway_santanna(panel)
    assert abs(overall - att) < 3.29 * se  # randomised timing: parallel trends holds; rate 1e-3


# ---------------------------------------------------------------------- the knobs
# Differences between knob settings use the same seed (the same regions and shocks), so they
# vary little across seeds; each margin below is at least 3.3 sds of the difference over seeds.
def test_confounding_makes_the_naive_comparison_more_negative():
    bias = [naive_difference(p) - a for p, _, a in
            (logged(hidden_confounder=False, confounding=c) for c in (0.0, 1.0, 2.0))]
    assert bias[1] - bias[0] < -1.0  # -1.84, sd 0.11
    assert bias[2] - bias[1] < 0.0  # -0.46, sd 0.14 (3.3 sd: rate 5e-4)


def test_hidden_confounder_switches_the_did_bias_on():
    off = callaway_santanna(logged(hidden_confounder=False)[0])[1] - logged(hidden_confounder=False)[2]
    on = callaway_santanna(logged()[0])[1] - logged()[2]
    assert on - off > 0.4  # +0.64, sd 0.04


def test_heterogeneity_makes_twfe_more_negative():
    bias = [twfe(p)[0] - a for p, _, a in
            (logged(hidden_confounder=False, heterogeneity=h) for h in (0.0, 1.0, 2.0))]
    assert bias[1] - bias[0] < -0.3 and bias[2] - bias[1] < -0.3  # -0.73 (sd 0.08), -0.91 (sd 0.10)


def test_overlap_adds_never_treated_donors_and_shrinks_the_twfe_bias():
    runs = [logged(hidden_confounder=False, overlap=o) for o in (0.0, 0.5, 1.0)]
    never = [(~np.isfinite(cohorts(p))).mean() for p, _, _ in runs]
    bias = [twfe(p)[0] - a for p, _, a in runs]
    assert never[1] - never[0] > 0.05 and never[2] - never[1] > 0.05  # +0.16 (sd 0.02), +0.15 (sd 0.01)
    assert bias[1] - bias[0] > 0.05 and bias[2] - bias[1] > 0.05  # +0.29 (sd 0.03), +0.15 (sd 0.02)
    assert all(b < 0 for b in bias)


def test_noise_widens_standard_errors_but_leaves_the_bias():
    low, high = logged(hidden_confounder=False, noise=0.5), logged(hidden_confounder=False, noise=2.0)
    assert abs((naive_difference(high[0]) - high[2]) - (naive_difference(low[0]) - low[2])) < 0.06  # sd 0.012
    ratio = callaway_santanna(high[0])[2] / callaway_santanna(low[0])[2]
    assert 2.5 < ratio < 3.7  # 3.09, sd 0.09
