"""Tests of causal.estimators.panel (DiD) and causal.estimators.synth (SyntheticControl).

Every statistical check compares an estimate with the exact truth of its
data-generating process within ``K`` standard errors: ``K = 4`` for a single
check (two-sided normal false-failure rate 6.3e-5), ``K_CELLS = 4.5`` for a
family of ``m`` checks (6.8e-6 each; Bonferroni: family-wise at most
``m * 6.8e-6``, 1.8e-4 for the 27 group-time cells of the staggered design and
7.2e-4 for the 105 cells of the policy scenario). Data are seeded; the default
seed is 0 and ``CAUSALSIM_SEEDS=0-49`` (or ``1,5,9``) sweeps others (opt-in,
scikit-learn's ``global_random_seed`` idea). No retries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from causal.errors import EstimationError
from causal.estimators.panel import DiD
from causal.estimators.synth import SyntheticControl, simplex_least_squares
from causal.testing import seeds_from_env

K = 4.0
K_CELLS = 4.5


SEEDS = seeds_from_env()
ROLES = {"outcome": "y", "unit": "unit", "time": "time", "treatment": "d"}


def long(y: np.ndarray, d: np.ndarray, **extra: np.ndarray) -> pd.DataFrame:
    """Long panel from wide arrays of shape (units, periods)."""
    n, T = y.shape
    cols = {"unit": np.repeat(np.arange(n), T), "time": np.tile(np.arange(T), n),
            "d": d.astype(int).ravel(), "y": y.ravel()}
    cols.update({k: np.broadcast_to(v, (n, T)).ravel() for k, v in extra.items()})
    return pd.DataFrame(cols)


# ----------------------------------------------------------------------------- data-generating processes


def two_by_two(seed: int, n: int = 400, effect: float = 2.0) -> pd.DataFrame:
    """Two periods; the treated group is higher in level (fine for DiD); common trend 0.5."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    y0 = rng.normal(size=n) + 1.5 * g
    y1 = y0 + 0.5 + effect * g + rng.normal(size=n)
    return long(np.column_stack([y0, y1]), np.column_stack([np.zeros(n), g]))


def ar_panel(seed: int, n: int = 300, T: int = 8, effect: float = 1.5) -> pd.DataFrame:
    """Staggered adoption (cohorts 3, 5, never), homogeneous effect, AR(1) errors within units."""
    rng = np.random.default_rng(seed)
    cohort = rng.choice([3, 5, T], size=n)
    e = np.empty((n, T))
    e[:, 0] = rng.normal(size=n)
    for t in range(1, T):
        e[:, t] = 0.5 * e[:, t - 1] + np.sqrt(0.75) * rng.normal(size=n)
    d = np.arange(T)[None, :] >= cohort[:, None]
    y = rng.normal(size=n)[:, None] + 0.3 * (cohort == 3)[:, None] + np.sin(np.arange(T)) + effect * d + e
    return long(y, d)


#: Effect of cohort g at event time e >= 0: COHORT_SLOPE[g] * (1 + e) — grows with time since adoption,
#: larger for earlier cohorts.
COHORT_SLOPE = {3: 1.0, 5: 0.6, 7: 0.3}


def staggered(seed: int, n: int = 600, T: int = 10) -> tuple[pd.DataFrame, np.ndarray]:
    """Unit and period effects (unit effects correlated with cohort), three cohorts plus never-treated.

    Returns the panel and the effect of every unit-period (0 when untreated).
    """
    rng = np.random.default_rng(seed)
    cohort = rng.choice([3, 5, 7, T], size=n, p=[0.2, 0.2, 0.2, 0.4])
    alpha = rng.normal(size=n) + 0.3 * (cohort == 3) - 0.3 * (cohort == T)
    delta = 0.3 * np.arange(T) + rng.normal(scale=0.5, size=T)
    t = np.arange(T)[None, :]
    d = t >= cohort[:, None]
    slope = np.array([COHORT_SLOPE.get(int(g), 0.0) for g in cohort])[:, None]
    tau = d * slope * (1 + t - cohort[:, None])
    y = alpha[:, None] + delta[None, :] + tau + rng.normal(size=(n, T))
    return long(y, d), tau


def cell_truth(group: pd.Series, event_time: pd.Series) -> np.ndarray:
    return np.where(event_time >= 0, group.map(COHORT_SLOPE) * (1 + event_time), 0.0)


def covariate_trends(seed: int, n: int = 800, T: int = 6) -> tuple[pd.DataFrame, np.ndarray]:
    """Trends depend on a covariate x that also drives adoption: only conditional parallel trends holds."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    cohort = np.where(rng.random(n) < 1 / (1 + np.exp(-x)), rng.choice([2, 4], size=n), T)
    t = np.arange(T)[None, :]
    d = t >= cohort[:, None]
    tau = d * (1 + 0.5 * (t - cohort[:, None])) * (1 + 0.5 * x[:, None])
    y = rng.normal(size=n)[:, None] + 0.2 * t + 0.5 * t * x[:, None] + tau + rng.normal(size=(n, T))
    return long(y, d, x=x[:, None]), tau


def factor_model(seed: int, J: int = 20, T0: int = 30, T1: int = 8, F: int = 3, sigma: float = 0.5,
                 effect: float = 0.0) -> pd.DataFrame:
    """Abadie et al. (2010)'s linear factor model ``Y_it = delta_t + theta_t Z_i + lambda_t mu_i + eps_it``.

    Unit 0 is treated from period T0 on; its (Z, mu) is a convex combination of four donors'.
    """
    rng = np.random.default_rng(seed)
    T = T0 + T1
    delta = 10 + 0.1 * np.arange(T) + rng.normal(scale=0.5, size=T)
    theta, lam = rng.normal(size=T), rng.normal(size=(T, F))
    z, mu = rng.normal(size=J), rng.normal(size=(J, F))
    w = np.zeros(J)
    w[rng.choice(J, 4, replace=False)] = rng.dirichlet(np.ones(4))
    z, mu = np.r_[w @ z, z], np.vstack([w @ mu, mu])
    y = (delta[:, None] + theta[:, None] * z[None, :] + lam @ mu.T + sigma * rng.normal(size=(T, J + 1))).T
    d = np.zeros_like(y, dtype=bool)
    d[0, T0:] = True
    return long(y + effect * d, d)


# ----------------------------------------------------------------------------- 2x2 and TWFE


@pytest.mark.parametrize("seed", SEEDS)
def test_2x2_recovers_homogeneous_effect(seed):
    df = two_by_two(seed)
    est = DiD(design="2x2").fit(df, **ROLES).att()
    assert abs(est.value - 2.0) < K * est.stderr
    # the standard error is Welch's on the unit-level differences
    wide = df.pivot(index="unit", columns="time", values="y")
    dy, g = (wide[1] - wide[0]).to_numpy(), df[df.time == 1].d.to_numpy()
    welch = np.sqrt(dy[g == 1].var(ddof=1) / g.sum() + dy[g == 0].var(ddof=1) / (1 - g).sum())
    assert est.stderr == pytest.approx(welch, rel=1e-10)


def test_2x2_twfe_and_staggered_agree_on_two_periods():
    df = two_by_two(3)
    values = [DiD(design=d).fit(df, **ROLES).att().value for d in ("2x2", "twfe", "staggered")]
    assert values == pytest.approx([values[0]] * 3, rel=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
def test_twfe_recovers_homogeneous_staggered_effect(seed):
    df = ar_panel(seed)
    for design in ("twfe", "staggered"):
        est = DiD(design=design).fit(df, **ROLES).att()
        assert abs(est.value - 1.5) < K * est.stderr, design


def test_twfe_matches_dummy_variable_regression():
    """The within transformation equals OLS with unit and period dummies; CR1 by an explicit cluster loop."""
    df = ar_panel(1, n=30, T=5)
    df["z"] = np.random.default_rng(2).normal(size=len(df))
    n, T = 30, 5
    X = np.column_stack([df.d, df.z, np.ones(len(df)), pd.get_dummies(df.unit, drop_first=True),
                         pd.get_dummies(df.time, drop_first=True)]).astype(float)
    y = df.y.to_numpy()
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    u = y - X @ beta
    bread = np.linalg.inv(X.T @ X)
    scores = [X[df.unit == i].T @ u[df.unit == i] for i in range(n)]
    meat = sum(np.outer(s, s) for s in scores)
    k = 2 + T                                   # regressors + period effects and constant (units nested)
    cr1 = n / (n - 1) * (n * T - 1) / (n * T - k) * bread @ meat @ bread
    est = DiD(design="twfe").fit(df, **ROLES, covariates=["z"])
    assert est.coef_.to_numpy() == pytest.approx(beta[:2], rel=1e-9)
    assert est.stderr_ == pytest.approx(np.sqrt(cr1[0, 0]), rel=1e-9)


# ----------------------------------------------------------------------------- staggered adoption


@pytest.mark.parametrize("seed", SEEDS)
def test_staggered_twfe_biased_callaway_santanna_not(seed):
    df, tau = staggered(seed)
    truth = tau[df.d.to_numpy().reshape(tau.shape) == 1].mean()   # one weight per treated unit-period
    twfe = DiD(design="twfe").fit(df, **ROLES).att()
    cs = DiD(design="staggered").fit(df, **ROLES)
    att = cs.att()
    assert abs(twfe.value - truth) > K * twfe.stderr              # seed 0: 1.49 vs 2.57, 14 SE
    assert abs(att.value - truth) < K * att.stderr
    gt = cs.group_time()
    assert len(gt) == 27                                          # 15 post-treatment + 12 placebo cells
    z = (gt.att - cell_truth(gt.group, gt.event_time)) / gt.stderr
    assert z.abs().max() < K_CELLS
    es = cs.event_study()
    post = es[es.event_time >= 0]
    sizes = gt.drop_duplicates("group").set_index("group").n_treated
    es_truth = [sum(sizes[g] * COHORT_SLOPE[g] * (1 + e) for g in COHORT_SLOPE if g + e < 10)
                / sum(sizes[g] for g in COHORT_SLOPE if g + e < 10) for e in post.event_time]
    assert ((post.att - es_truth) / post.stderr).abs().max() < K_CELLS
    assert list(es.event_time) == [-7, -6, -5, -4, -3, -2, 0, 1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("seed", SEEDS)
def test_staggered_not_yet_treated_controls(seed):
    df, tau = staggered(seed)
    est = DiD(control="notyet").fit(df, **ROLES)
    truth = tau[df.d.to_numpy().reshape(tau.shape) == 1].mean()
    assert abs(est.att().value - truth) < K * est.att().stderr
    # without never-treated units, the last cohort has no comparison units once treated
    late = df[df.unit.isin(df.groupby("unit").d.max().pipe(lambda s: s[s == 1].index))]
    with pytest.raises(EstimationError, match="control='notyet'"):
        DiD(control="never").fit(late, **ROLES)
    gt = DiD(control="notyet").fit(late, **ROLES).group_time()
    assert set(gt.group) == {3, 5}                  # cohort 7 has no not-yet-treated comparison units
    z = (gt.att - cell_truth(gt.group, gt.event_time)) / gt.stderr
    assert z.abs().max() < K_CELLS


@pytest.mark.parametrize("seed", SEEDS)
def test_staggered_outcome_regression_for_covariate_trends(seed):
    df, tau = covariate_trends(seed)
    truth = tau[df.d.to_numpy().reshape(tau.shape) == 1].mean()
    plain = DiD().fit(df, **ROLES).att()
    adjusted = DiD().fit(df, **ROLES, covariates=["x"]).att()
    assert abs(plain.value - truth) > K * plain.stderr              # seed 0: about 7 SE
    assert abs(adjusted.value - truth) < K * adjusted.stderr
    assert adjusted.diagnostics["estimation"] == "outcome regression"


@pytest.mark.slow
def test_staggered_standard_errors_calibrated():
    """Influence-function standard errors: z-scores against the population ATT have sd about 1 (200 reps)."""
    pop = (sum(0.2 * c * (1 + e) for g, c in COHORT_SLOPE.items() for e in range(10 - g))
           / sum(0.2 * (10 - g) for g in COHORT_SLOPE))
    z = []
    for seed in range(200):
        est = DiD().fit(staggered(seed)[0], **ROLES).att()
        z.append((est.value - pop) / est.stderr)
    assert 0.85 < np.std(z) < 1.15                                  # measured 1.01 (sd of sd: 0.05)


def test_policy_scenario_group_time_effects():
    import scenarios.policy as policy
    if not hasattr(policy.PolicyRollout, "att_by_cohort_event"):
        pytest.skip("scenarios.policy has no att_by_cohort_event")
    scenario = policy.PolicyRollout(hidden_confounder=False)
    df = scenario.observational(2000, 0)
    truth = scenario.att_by_cohort_event(n=2000, seed=0)
    gt = DiD().fit(df, outcome="employment", unit="region", time="quarter", treatment="treated").group_time()
    cells = gt[gt.event_time >= 0].merge(truth, left_on=["group", "event_time"],
                                         right_on=["cohort", "event_time"], suffixes=("", "_true"))
    assert len(cells) == len(truth) == 105
    assert ((cells.att - cells.att_true) / cells.stderr).abs().max() < K_CELLS


def test_results_and_protocol():
    df, _ = staggered(0, n=200)
    est = DiD(design="twfe", level=0.9)
    assert clone(est).get_params() == {"design": "twfe", "control": "never", "level": 0.9}
    with pytest.raises(EstimationError, match="not fitted"):
        est.att()
    assert est.fit(df, **ROLES) is est
    ate = est.ate()
    assert ate.value == est.att().value and ate.diagnostics["target"] == "ATT"
    with pytest.raises(EstimationError, match="design='staggered' only"):
        est.event_study()
    cs = DiD().fit(df, **ROLES)
    assert list(cs.group_time().columns) == ["group", "time", "event_time", "att", "stderr", "ci_low",
                                             "ci_high", "n_treated", "n_control"]
    assert cs.att().n == 200 and cs.att().diagnostics["n_cohorts"] == 3
    assert clone(SyntheticControl(placebo=False)).get_params() == {"placebo": False, "level": 0.95}


# ----------------------------------------------------------------------------- bad input


def _bad_inputs():
    df, _ = staggered(0, n=60, T=6)
    nan = df.copy()
    nan.loc[5, "y"] = np.nan
    nan_unit = df.astype({"unit": float})
    nan_unit.loc[5, "unit"] = np.nan
    three = df.copy()
    three.loc[3, "d"] = 2
    early = df[df.time == 3].d.idxmax() // 6                # a unit first treated in period 3
    switch = df.copy()
    switch.loc[early * 6 + 4, "d"] = 0
    single = df[(df.groupby("unit").d.transform("max") == 0) | (df.unit == early)]
    alone = df[~df.unit.isin(df[(df.d == 1) & (df.time == 3)].unit.unique()[1:])]
    nevers = df[df.groupby("unit").d.transform("max") == 1]
    return [
        ("staggered", df.drop(columns="y"), "outcome column 'y' is not in the data"),
        ("staggered", nan, "'y' has 1 missing values"),
        ("staggered", nan_unit, "unit column 'unit' has 1 missing"),
        ("twfe", three, "must be binary 0/1"),
        ("staggered", switch, "must be absorbing.*cummax"),
        ("twfe", df.drop(index=[7, 8]), "unbalanced panel: 2 of 360.*lacks"),
        ("twfe", pd.concat([df, df.iloc[[0]]]), "has 2 rows for period"),
        ("staggered", single, "only one treated unit.*design='twfe' \\(placebo.*SyntheticControl"),
        ("staggered", alone, "single unit; .* at least two units per cohort"),
        ("staggered", nevers, "never-treated units, found 0; use control='notyet'"),
        ("2x2", df, "exactly two periods.*design='twfe'"),
        ("2x2", df[df.time.isin([4, 5])], "treated in the first period"),
        ("none", df, "design must be one of"),
    ]


@pytest.mark.parametrize(("design", "data", "message"), _bad_inputs())
def test_bad_input_raises_with_what_to_change(design, data, message):
    with pytest.raises(EstimationError, match=message):
        DiD(design=design).fit(data, **ROLES)


# ----------------------------------------------------------------------------- one treated unit


def one_treated(seed: int, n: int = 40, T: int = 20, effect: float = 2.0, start: int = 12) -> pd.DataFrame:
    """Unit 0 treated from period ``start``; unit and time effects, N(0, 1) noise (issue 11)."""
    rng = np.random.default_rng(seed)
    d = np.zeros((n, T))
    d[0, start:] = 1
    y = rng.normal(size=(n, 1)) * 2 + rng.normal(size=(1, T)) + effect * d + rng.normal(size=(n, T))
    return long(y, d)


def test_one_treated_unit_placebo_rank_p_value_by_hand():
    """4 units, 2 periods, unit 0 treated: the TWFE estimate is a difference of changes, checkable by hand.

    Changes: treated 5; controls 1, 2, 4. Estimate 5 - 7/3 = 8/3. Placebos (unit 0 dropped, its path
    given to each control): 1 - 3 = -2, 2 - 2.5 = -0.5, 4 - 1.5 = 2.5. |8/3| is the largest of the four
    absolute values: rank 1, p = 1/4. At level 0.5, k = floor(0.5 * 4) = 2: the interval is 8/3 ± 2.
    At 0.95 there are too few placebos to reject anything: the interval is unbounded.
    """
    y = np.array([[0.0, 5.0], [0.0, 1.0], [0.0, 2.0], [0.0, 4.0]])
    d = np.array([[0, 1], [0, 0], [0, 0], [0, 0]])
    for design in ("twfe", "2x2"):
        est = DiD(design=design, level=0.5).fit(long(y, d), **ROLES).att()
        assert est.value == pytest.approx(8 / 3)
        assert est.diagnostics["placebo_estimates"] == pytest.approx([-2.0, -0.5, 2.5])
        assert est.diagnostics["p_value"] == pytest.approx(1 / 4)
        assert (est.ci_low, est.ci_high) == pytest.approx((8 / 3 - 2, 8 / 3 + 2))
        assert "placebo" in est.method and "not valid" in est.diagnostics["note"]
        assert est.stderr == pytest.approx(np.std([-2.0, -0.5, 2.5], ddof=1))
    wide = DiD(design="twfe").fit(long(y, d), **ROLES).att()
    assert (wide.ci_low, wide.ci_high) == (-np.inf, np.inf) and "unbounded" in wide.diagnostics["note"]
    assert wide.covers(8 / 3)


def test_one_treated_unit_simulated_effect_and_p_value():
    df = one_treated(0)
    est = DiD(design="twfe").fit(df, **ROLES).att()
    assert est.diagnostics["n_placebos"] == 39 and est.n == 40
    assert est.ci_low <= est.value <= est.ci_high
    assert est.covers(2.0)
    placebos = est.diagnostics["placebo_estimates"]
    rank = 1 + int((np.abs(placebos) >= abs(est.value)).sum())
    assert est.diagnostics["p_value"] == rank / 40
    null = DiD(design="twfe").fit(one_treated(0, effect=0.0), **ROLES).att()
    assert null.value == pytest.approx(est.value - 2.0)                    # the effect shifts only unit 0
    assert null.diagnostics["placebo_estimates"] == pytest.approx(placebos)


def test_one_treated_unit_with_covariates_and_2x2_covariates_refused():
    df = one_treated(1)
    df["x"] = np.random.default_rng(1).normal(size=len(df))
    est = DiD(design="twfe").fit(df, **ROLES, covariates=["x"]).att()
    assert "placebo" in est.method and est.covers(2.0)
    two = df[df.time.isin([11, 12])]
    with pytest.raises(EstimationError, match="only one treated unit.*design='twfe'"):
        DiD(design="2x2").fit(two, **ROLES, covariates=["x"])


@pytest.mark.slow
def test_one_treated_unit_placebo_interval_coverage():
    """200 replications, 40 units (39 placebos): k = floor(0.05 * 40) = 2, nominal size exactly 5%."""
    covered = [DiD(design="twfe").fit(one_treated(s), **ROLES).att().covers(2.0) for s in range(200)]
    assert 0.90 <= np.mean(covered) <= 0.995                                 # binomial sd 0.015


def test_bad_parameters():
    df, _ = staggered(0, n=60, T=6)
    with pytest.raises(EstimationError, match="control must be"):
        DiD(control="later").fit(df, **ROLES)
    with pytest.raises(EstimationError, match="level must be"):
        DiD(level=95).fit(df, **ROLES)
    with pytest.raises(EstimationError, match="absorbed by the unit and period effects"):
        DiD(design="twfe").fit(df.assign(x=df.unit * 1.0), **ROLES, covariates=["x"])


# ----------------------------------------------------------------------------- synthetic control


@pytest.mark.parametrize("seed", SEEDS)
def test_synthetic_control_recovers_factor_model_effect(seed):
    """Error = mean post noise of the treated unit minus its synthetic's: sd <= sigma sqrt(2 / T1).

    (``||w||² <= 1``; the weights' own estimation error measured small: error sd 0.88 of that unit over
    1000 seeds, max 3.1.) Tolerance K sigma sqrt(2 / T1).
    """
    sigma, T1, effect = 0.5, 8, 3.0
    sc = SyntheticControl().fit(factor_model(seed, sigma=sigma, T1=T1, effect=effect), **ROLES)
    est = sc.att()
    assert abs(est.value - effect) < K * sigma * np.sqrt(2 / T1)
    assert (sc.weights_ >= 0).all() and sc.weights_.sum() == pytest.approx(1.0, abs=1e-12)
    assert list(sc.weights_.index) == list(range(1, 21))
    assert est.diagnostics["p_value"] == pytest.approx(1 / 21)      # the smallest possible
    assert sc.gaps_.index.tolist() == list(range(38)) and sc.start_ == 30
    assert est.ci_low == -np.inf                                    # 20 donors: too few for 95 %
    narrow = SyntheticControl(level=0.9).fit(factor_model(seed, sigma=sigma, T1=T1, effect=effect), **ROLES)
    est90 = narrow.att()
    assert est90.diagnostics["achieved_level"] == pytest.approx(1 - 2 / 21)
    assert est90.ci_low < effect < est90.ci_high and est90.ci_low > 0


def test_synthetic_control_placebo_p_values_roughly_uniform_under_null():
    """Zero effect, 30 panels: mean p-value near 1/2, few small ones.

    Measured over 1000 panels: mean 0.43, P(p <= 0.1) = 0.19 (uniform: 0.52, 0.095): the treated unit,
    inside the donors' convex hull, fits better before treatment than donors on the hull's edge, which
    inflates its RMSPE ratio a little. Thresholds: mean > 0.25 (3.9 sd of a 30-panel mean) and fewer
    than 15 of 30 below 0.1 (binomial tail 1e-4).
    """
    p = np.array([SyntheticControl().fit(factor_model(1000 + s), **ROLES).p_value_ for s in range(30)])
    assert 0.25 < p.mean() < 0.75
    assert (p <= 0.1).sum() < 15


def test_simplex_least_squares_kkt_and_exact_recovery():
    rng = np.random.default_rng(0)
    for _ in range(50):
        T0, J = rng.integers(3, 40), rng.integers(2, 30)
        A = rng.normal(size=(T0, J)) * rng.uniform(0.01, 100) + rng.uniform(-100, 100)
        b = A @ rng.dirichlet(np.full(J, 0.3)) + rng.normal(size=T0) * np.abs(A).mean() * 0.05
        w = simplex_least_squares(A, b)
        assert (w >= 0).all() and w.sum() == pytest.approx(1.0, abs=1e-12)
        grad = A.T @ (A @ w - b)                # KKT: equal on the support, not smaller off it
        tol = 1e-7 * np.abs(A).max() * max(np.abs(A).max(), np.abs(b).max()) * T0
        active = w > 1e-9
        assert np.ptp(grad[active]) < tol
        assert (grad[~active] > grad[active].min() - tol).all()
    A = rng.normal(size=(30, 10))
    w = np.r_[0.6, 0.4, np.zeros(8)]
    assert simplex_least_squares(A, A @ w) == pytest.approx(w, abs=1e-7)


def test_synthetic_control_bad_input():
    df = factor_model(0)
    roles = ROLES
    two = df.copy()
    two.loc[(two.unit == 1) & (two.time >= 30), "d"] = 1
    with pytest.raises(EstimationError, match=r"one treated unit, got 2.*DiD\(design='staggered'\)"):
        SyntheticControl().fit(two, **roles)
    early = df.copy()
    early.loc[early.unit == 0, "d"] = (early.time >= 1).astype(int)
    with pytest.raises(EstimationError, match="1 pre-treatment period"):
        SyntheticControl().fit(early, **roles)
    with pytest.raises(EstimationError, match="1 donor unit"):
        SyntheticControl().fit(df[df.unit <= 1], **roles)
    with pytest.raises(EstimationError, match="not implemented"):
        SyntheticControl().fit(df, **roles, covariates=["y"])
    with pytest.raises(EstimationError, match="unbalanced"):
        SyntheticControl().fit(df.iloc[1:], **roles)
    est = SyntheticControl(placebo=False).fit(df, **roles).att()
    assert np.isnan(est.stderr) and "no inference" in est.method
