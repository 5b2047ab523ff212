"""Double ML (causal/estimators/dml.py): known-truth designs, the median rule, bad input.

Statistical checks are seeded; each states its false-failure rate were the seed drawn at random:
"within 4 standard errors" fails with probability 6.3e-5 for a calibrated normal estimate, a
0.999 interval misses with probability 0.001.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import SplineTransformer

from causal.errors import EstimationError
from causal.estimators.checks import backdoor_design, check_estimator
from causal.estimators.dml import InteractiveDML, LinearDML, NonParamDML

K_SE = 4.0  # two-sided normal tail 6.3e-5


def splines() -> object:
    """A flexible additive learner (cubic splines per column, light ridge): fast and deterministic."""
    return make_pipeline(SplineTransformer(n_knots=8, degree=3), Ridge(alpha=1e-3))


def plr_design(seed: int = 0, n: int = 2000) -> tuple[pd.DataFrame, float]:
    """Partially linear: theta = 2, nonlinear g and m; T continuous, confounded through W2^2.

    T = sin(W1) + 0.5 W2^2 + N(0, 1), Y = 2 T + 2 cos(W1) + W2^2 + W3 + N(0, 1).
    """
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 3))
    t = np.sin(w[:, 0]) + 0.5 * w[:, 1] ** 2 + rng.normal(size=n)
    y = 2.0 * t + 2 * np.cos(w[:, 0]) + w[:, 1] ** 2 + w[:, 2] + rng.normal(size=n)
    return pd.DataFrame({"w1": w[:, 0], "w2": w[:, 1], "w3": w[:, 2], "t": t, "y": y}), 2.0


def hetero_design(seed: int = 0, n: int = 3000) -> pd.DataFrame:
    """theta(X) = 1 + x1 (beta = (1, 1)); T = 0.5 w1 + 0.3 x1 + sin(w2) + N(0, 1)."""
    rng = np.random.default_rng(seed)
    x1, w1, w2, e1, e2 = rng.normal(size=(5, n))
    t = 0.5 * w1 + 0.3 * x1 + np.sin(w2) + e1
    y = (1 + x1) * t + w1 + np.cos(w2) + 0.5 * x1 + e2
    return pd.DataFrame({"x1": x1, "w1": w1, "w2": w2, "t": t, "y": y})


def irm_design(seed: int = 0, n: int = 3000) -> pd.DataFrame:
    """Binary T with P(T = 1 | x) = sigmoid(0.8 x1 - 0.5 x2); effect 2 + x1 (ATE 2)."""
    rng = np.random.default_rng(seed)
    x1, x2, e = rng.normal(size=(3, n))
    t = (rng.random(n) < 1 / (1 + np.exp(-(0.8 * x1 - 0.5 * x2)))).astype(int)
    y = 1 + (2 + x1) * t + x1 + np.sin(x2) + e
    return pd.DataFrame({"x1": x1, "x2": x2, "t": t, "y": y})


def irm_att_truth() -> float:
    """2 + E[x1 | T = 1] = 2 + E[x1 e(x)] / E[e(x)], by Monte Carlo (error about 1e-3, far below the SE)."""
    rng = np.random.default_rng(123)
    x1, x2 = rng.normal(size=(2, 2_000_000))
    e = 1 / (1 + np.exp(-(0.8 * x1 - 0.5 * x2)))
    return float(2 + (x1 * e).mean() / e.mean())


def within(est: object, truth: float) -> bool:
    return abs(est.value - truth) <= K_SE * est.stderr


PLR = {"treatment": "t", "outcome": "y", "covariates": ["w1", "w2", "w3"]}


# --------------------------------------------------------------------------- LinearDML
def test_partially_linear_theta_recovered() -> None:
    df, truth = plr_design()
    est = LinearDML(model_y=splines(), model_t=splines(), level=0.999).fit(df, **PLR)
    ate = est.ate()
    assert within(ate, truth), ate
    assert ate.covers(truth)
    assert ate.method == "LinearDML" and ate.n == len(df)
    # the design is hard for linear nuisances: the W2^2 confounding survives them (a check of the test)
    naive = LinearDML(level=0.999).fit(df, **PLR).ate()
    assert not within(naive, truth), naive


def test_constant_theta_matches_the_paper_formula() -> None:
    """Without modifiers theta = sum(ry rt) / sum(rt^2), se^2 = mean(psi^2) / J^2 / n, on the same folds."""
    df, _ = plr_design(n=600)
    est = LinearDML(folds=4, random_state=7).fit(df, **PLR)
    Z = df[PLR["covariates"]].to_numpy()
    cv = KFold(4, shuffle=True, random_state=7)
    ry = df.y.to_numpy() - cross_val_predict(LinearRegression(), Z, df.y.to_numpy(), cv=cv)
    rt = df.t.to_numpy() - cross_val_predict(LinearRegression(), Z, df.t.to_numpy(), cv=cv)
    theta = ry @ rt / (rt @ rt)
    psi = (ry - theta * rt) * rt
    se = np.sqrt(np.mean(psi**2) / np.mean(rt**2) ** 2 / len(rt))
    ate = est.ate()
    np.testing.assert_allclose([ate.value, ate.stderr], [theta, se], rtol=1e-10)
    np.testing.assert_allclose(est.coef_, [theta], rtol=1e-10)
    np.testing.assert_allclose(est.y_res_[0], ry, atol=1e-10)


def test_heterogeneous_beta_recovered() -> None:
    df = hetero_design()
    est = LinearDML(model_y=splines(), model_t=splines(), level=0.999).fit(
        df, treatment="t", outcome="y", covariates=["w1", "w2"], effect_modifiers=["x1"])
    coefs = est.coef_estimates()
    assert list(coefs) == ["intercept", "x1"]
    for c in coefs.values():
        assert within(c, 1.0), c
    # effect(X) and its 0.999 intervals at a few points cover theta(x) = 1 + x
    x = np.array([-1.5, 0.0, 1.5])
    theta = est.effect(pd.DataFrame({"x1": x}))
    np.testing.assert_allclose(theta, est.coef_[0] + est.coef_[1] * x)
    np.testing.assert_array_equal(theta, est.effect(x))  # an array in fit's column order
    lo, hi = est.effect_interval(pd.DataFrame({"x1": x}), alpha=0.001)
    assert np.all((lo <= 1 + x) & (1 + x <= hi)), (lo, hi)
    D = np.column_stack([np.ones(3), x])
    se = np.sqrt(np.einsum("ij,jk,ik->i", D, est.coef_cov_, D))
    np.testing.assert_allclose((hi - lo) / 2, 3.2905267 * se, rtol=1e-6)
    # the ATE is the mean of theta(X_i); its SE adds the spread of theta over the sample
    ate = est.ate()
    assert ate.value == pytest.approx(est.coef_[0] + est.coef_[1] * df.x1.mean())
    dbar = np.array([1, df.x1.mean()])
    assert ate.stderr > np.sqrt(dbar @ est.coef_cov_ @ dbar)
    assert within(ate, 1.0)  # E[1 + x1] = 1


def test_binary_treatment_uses_a_probability_and_gives_att() -> None:
    df = irm_design()
    est = LinearDML(level=0.999).fit(df, treatment="t", outcome="y", covariates=["x1", "x2"],
                                     effect_modifiers=["x1"])
    assert est.diagnostics_["treatment_model"] == "probability"
    assert within(est.ate(), 2.0) and within(est.att(), irm_att_truth())
    with pytest.raises(EstimationError, match="binary"):
        LinearDML().fit(plr_design(n=300)[0], **PLR).att()


def test_conformance_without_modifiers() -> None:
    """The conformance suite on the back-door design with a constant theta (the registry-wide run in
    test_check_estimator.py checks LinearDML with an effect modifier, and InteractiveDML here)."""
    check_estimator(LinearDML(), design=backdoor_design(0))


# --------------------------------------------------------------------------- repeats
def test_repeats_median_rule_and_determinism() -> None:
    df, _ = plr_design(n=800)
    est = LinearDML(model_y=splines(), model_t=splines(), repeats=3).fit(df, **PLR)
    runs = est.repeat_results_["ate"]
    assert runs.shape == (3, 2) and len(np.unique(runs[:, 0])) == 3  # three different splits
    med = np.median(runs[:, 0])
    se = np.sqrt(np.median(runs[:, 1] ** 2 + (runs[:, 0] - med) ** 2))
    ate = est.ate()
    assert (ate.value, ate.stderr) == (pytest.approx(med, abs=0), pytest.approx(se, rel=1e-12))
    assert est.y_res_.shape == (3, len(df))
    again = LinearDML(model_y=splines(), model_t=splines(), repeats=3).fit(df, **PLR).ate()
    assert np.array([ate.value, ate.stderr]).tobytes() == np.array([again.value, again.stderr]).tobytes()
    one = LinearDML(model_y=splines(), model_t=splines()).fit(df, **PLR)
    assert one.ate().value == runs[0, 0]  # the first split is the one repeats=1 uses
    irm = InteractiveDML(repeats=3).fit(irm_design(n=1000), treatment="t", outcome="y",
                                        covariates=["x1", "x2"])
    r = irm.repeat_results_["att"]
    m = np.median(r[:, 0])
    assert irm.att().stderr == pytest.approx(np.sqrt(np.median(r[:, 1] ** 2 + (r[:, 0] - m) ** 2)))


def test_same_data_same_bytes_with_modifiers() -> None:
    df = hetero_design(n=800)
    roles = {"treatment": "t", "outcome": "y", "covariates": ["w1", "w2"], "effect_modifiers": ["x1"]}
    grid = pd.DataFrame({"x1": np.linspace(-2, 2, 5)})

    def run() -> bytes:
        est = LinearDML(model_y=splines(), model_t=splines(), repeats=2).fit(df.copy(), **roles)
        lo, hi = est.effect_interval(grid)
        return b"".join(a.tobytes() for a in (est.coef_, est.coef_cov_, est.effect(grid), lo, hi))

    assert run() == run()


# --------------------------------------------------------------------------- InteractiveDML
def test_interactive_ate_and_att_cover_truth() -> None:
    df = irm_design()
    est = InteractiveDML(model_y=splines(), level=0.999).fit(df, treatment="t", outcome="y",
                                                             covariates=["x1", "x2"])
    ate, att = est.ate(), est.att()
    assert ate.covers(2.0) and within(ate, 2.0), ate
    truth = irm_att_truth()
    assert att.covers(truth) and within(att, truth), (att, truth)
    assert att.method == "InteractiveDML (ATT)"
    assert est.diagnostics_["n_clipped"] == 0 and est.diagnostics_["clip"] == (0.01, 0.99)


def test_interactive_clipping_bounds_the_weights() -> None:
    df = irm_design(n=1000)
    roles = {"treatment": "t", "outcome": "y", "covariates": ["x1", "x2"]}
    tight = InteractiveDML(clip=0.3, overlap_warn=0).fit(df, **roles)
    assert tight.diagnostics_["n_clipped"] > 0
    assert tight.ate().value != InteractiveDML().fit(df, **roles).ate().value
    with pytest.raises(EstimationError, match="clip"):
        InteractiveDML(clip=0.5).fit(df, **roles)


# --------------------------------------------------------------------------- NonParamDML
def test_nonparam_with_linear_final_equals_linear_dml() -> None:
    """Weighted least squares of ry/rt on [1, X] with weights rt^2 is LinearDML's final stage."""
    df = hetero_design(n=1000)
    roles = {"treatment": "t", "outcome": "y", "covariates": ["w1", "w2"], "effect_modifiers": ["x1"]}
    lin = LinearDML(model_y=splines(), model_t=splines()).fit(df, **roles)
    nonp = NonParamDML(model_y=splines(), model_t=splines(), model_final=LinearRegression()).fit(df, **roles)
    x = np.linspace(-2, 2, 7)
    np.testing.assert_allclose(nonp.effect(x), lin.effect(x), rtol=1e-8, atol=1e-10)


def test_nonparam_step_effect() -> None:
    """theta(x) = 2 1[x > 0]: the default boosted final stage finds both levels. Each half has about
    1500 units with Var(T_res) = 1, so a level's standard error is about 1/sqrt(1500) = 0.026; the
    tolerance 0.25 also allows the trees' smoothing near the step."""
    rng = np.random.default_rng(0)
    n = 3000
    w, x = rng.normal(size=(2, n))
    t = w + rng.normal(size=n)
    df = pd.DataFrame({"w": w, "x": x, "t": t, "y": np.where(x > 0, 2.0, 0.0) * t + w + rng.normal(size=n)})
    est = NonParamDML().fit(df, treatment="t", outcome="y", covariates=["w"], effect_modifiers=["x"])
    got = est.effect(pd.DataFrame({"x": [-1.5, -0.5, 0.5, 1.5]}))
    np.testing.assert_allclose(got, [0, 0, 2, 2], atol=0.25)
    with pytest.raises(EstimationError, match="LinearDML.*InteractiveDML"):
        est.effect_interval(pd.DataFrame({"x": [0.0]}))
    with pytest.raises(EstimationError, match="LinearDML"):
        est.ate()


# --------------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return plr_design(n=200)[0]


@pytest.mark.parametrize(("params", "pattern"), [
    ({"folds": 1}, r"folds .*>= 2"),
    ({"folds": 201}, r"folds=201 but only 200 units"),
    ({"folds": 2.5}, r"folds"),
    ({"folds": True}, r"folds"),
    ({"repeats": 0}, r"repeats"),
    ({"model_y": object()}, r"model_y .*no fit or predict"),
    ({"model_t": "forest"}, r"model_t .*no fit"),
    ({"level": 1.5}, r"level"),
    ({"model_t": KNeighborsRegressor().fit([[0], [1]], [0, 1]).__class__()}, None),  # a regressor is fine
])
def test_linear_bad_settings(small: pd.DataFrame, params: dict, pattern: str | None) -> None:
    est = LinearDML(**params)
    if pattern is None:
        est.fit(small, **PLR)
        return
    with pytest.raises(EstimationError, match=pattern):
        est.fit(small, **PLR)


def test_bad_data(small: pd.DataFrame) -> None:
    bad = small.copy()
    bad.loc[5, "y"] = np.nan
    with pytest.raises(EstimationError, match=r"'y'.*missing"):
        LinearDML().fit(bad, **PLR)
    with pytest.raises(EstimationError, match="constant"):
        LinearDML().fit(small.assign(t=1.0), **PLR)
    with pytest.raises(EstimationError, match="covariates .*required"):
        LinearDML().fit(small, treatment="t", outcome="y")
    with pytest.raises(EstimationError, match="also listed"):
        LinearDML().fit(small, treatment="t", outcome="y", covariates=["w1", "t"])
    with pytest.raises(EstimationError, match="classifier but the treatment is not binary"):
        from sklearn.linear_model import LogisticRegression

        LinearDML(model_t=LogisticRegression()).fit(small, **PLR)
    with pytest.raises(EstimationError, match="collinear"):
        LinearDML().fit(small.assign(c=1.0), **PLR, effect_modifiers=["c"])
    with pytest.raises(EstimationError, match="residuals vanish"):  # T a linear function of W
        LinearDML().fit(small.assign(t=2 * small.w1 + small.w2), **PLR)


def test_effect_needs_modifiers_and_a_fit(small: pd.DataFrame) -> None:
    with pytest.raises(EstimationError, match="not fitted"):
        LinearDML().effect(np.zeros((2, 1)))
    est = LinearDML().fit(small, **PLR)
    with pytest.raises(EstimationError, match="without effect_modifiers"):
        est.effect(pd.DataFrame({"x": [0.0]}))
    est = LinearDML().fit(small, **PLR, effect_modifiers=["w3"])
    with pytest.raises(EstimationError, match="'w3'.*not in the data"):
        est.effect(pd.DataFrame({"x": [0.0]}))
    with pytest.raises(EstimationError, match="shape"):
        est.effect(np.zeros((2, 3)))
    with pytest.raises(EstimationError, match="alpha"):
        est.effect_interval(np.zeros(2), alpha=0)
    with pytest.raises(EstimationError, match="effect_modifiers are required"):
        NonParamDML().fit(small, **PLR)
    with pytest.raises(EstimationError, match="sample_weight"):
        NonParamDML(model_final=KNeighborsRegressor()).fit(small, **PLR, effect_modifiers=["w3"])


def test_interactive_bad_input(small: pd.DataFrame) -> None:
    with pytest.raises(EstimationError, match="binary 0/1"):
        InteractiveDML().fit(small, **PLR)
    with pytest.raises(EstimationError, match="predict_proba"):
        InteractiveDML(model_t=LinearRegression()).fit(irm_design(n=200), treatment="t", outcome="y",
                                                        covariates=["x1"])
    rare = irm_design(n=200).assign(t=0)
    rare.loc[[3, 150], "t"] = 1  # two treated units: some training fold of two holds fewer than two
    with pytest.raises(EstimationError, match="fewer than two treated"):
        InteractiveDML(folds=2).fit(rare, treatment="t", outcome="y", covariates=["x1"])


# --------------------------------------------------------------------------- slow
@pytest.mark.slow
def test_partially_linear_with_boosting() -> None:
    """Boosted nuisances (one OpenMP thread) on the partially linear design; 0.999 interval."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    df, truth = plr_design()
    hgb = HistGradientBoostingRegressor(max_iter=150, learning_rate=0.05, min_samples_leaf=30)
    est = LinearDML(model_y=hgb, model_t=hgb, level=0.999).fit(df, **PLR)
    ate = est.ate()
    assert ate.covers(truth) and within(ate, truth), ate
    again = LinearDML(model_y=hgb, model_t=hgb, level=0.999).fit(df, **PLR).ate()
    assert (again.value, again.stderr) == (ate.value, ate.stderr)


@pytest.mark.slow
def test_interval_coverage_over_seeds() -> None:
    """95% intervals of LinearDML on 200 seeds of a linear partially linear design cover theta in
    between 180 and 197 of them: for a calibrated interval (Binomial(200, 0.95)) P(< 180) = 1.2e-3 and
    P(> 197) = 2.3e-3, so the false-failure rate is 3.5e-3."""
    hits = 0
    for seed in range(200):
        rng = np.random.default_rng(1000 + seed)
        w = rng.normal(size=(400, 2))
        t = w @ [1.0, -0.5] + rng.normal(size=400)
        y = 2 * t + w @ [1.0, 1.0] + rng.normal(size=400)
        df = pd.DataFrame({"w1": w[:, 0], "w2": w[:, 1], "t": t, "y": y})
        hits += LinearDML().fit(df, treatment="t", outcome="y", covariates=["w1", "w2"]).ate().covers(2.0)
    assert 180 <= hits <= 197, hits


def test_poor_overlap_warns_at_the_caller() -> None:
    from causal.estimators.weighting import OverlapWarning

    rng = np.random.default_rng(0)
    x = rng.normal(size=1000)
    t = (rng.random(1000) * (1 + np.exp(-6 * x)) < 1).astype(int)
    df = pd.DataFrame({"x": x, "t": t, "y": t + x + rng.normal(size=1000)})
    for est in (LinearDML(), InteractiveDML()):
        with pytest.warns(OverlapWarning, match=type(est).__name__) as caught:
            est.fit(df, treatment="t", outcome="y", covariates=["x"])
        assert caught[0].filename == __file__
