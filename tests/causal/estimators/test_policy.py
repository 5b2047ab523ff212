"""Policy learning and uplift (causal/estimators/policy.py, causal/estimators/_policy_tree.py).

Statistical assertions and their false-failure rates:

* DR scores of a known linear design (n = 3000): each arm's mean score is compared with the
  true mean potential outcome at 4 standard errors (two-sided normal tail 6e-5 per check, 4
  checks: about 3e-4 together, for unbiased scores).
* policy_value's 95% interval covers the true mean in 1,000 replications (n = 200, normal
  scores); the count is Binomial(1000, 0.95) under a correct interval (the z-interval with the
  sample sd at n = 200 covers 0.9488) and is asked to lie within 0.95 +- 0.025 (3.6 sd: about
  3e-4).
* Uplift: the perfect ranking's areas against the analytic 1/6, at 4 bootstrap standard errors
  (about 1e-4 each).

The policy tree is checked exactly: against a brute-force search over every depth-1 and depth-2
tree on small random problems, and on a planted rule.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.linear_model import LinearRegression, LogisticRegression

from causal.errors import EstimationError
from causal.estimators.learners import TLearner
from causal.estimators.policy import (
    CatePolicy,
    PolicyTree,
    auuc,
    dr_scores,
    plot_uplift,
    policy_from_cate,
    policy_value,
    qini_coefficient,
    qini_curve,
    uplift_curve,
)


# --------------------------------------------------------------------------- DR scores
def three_arms(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Confounded three-arm design: E[Y(a) | x] = a (1 + x) + x, multinomial-logit propensities."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    logits = np.column_stack([np.zeros(n), 0.6 * x, -0.6 * x])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    t = (rng.random(n)[:, None] > p.cumsum(axis=1)).sum(axis=1)
    y = t * (1 + x) + x + rng.normal(size=n)
    return pd.DataFrame({"x": x, "t": t, "y": y}), np.array([0.0, 1.0, 2.0])  # E[Y(a)] = a


def test_dr_scores_recover_each_arm_mean_under_confounding():
    df, truth = three_arms()
    S = dr_scores(df, "t", "y", ["x"], outcome_model=LinearRegression(),
                  propensity=LogisticRegression(), folds=3)
    assert list(S.columns) == [0, 1, 2] and S.index.equals(df.index)
    se = S.std(ddof=1) / np.sqrt(len(S))
    assert (np.abs(S.mean().to_numpy() - truth) < 4 * se.to_numpy()).all()
    naive = df.groupby("t")["y"].mean().to_numpy()   # confounded: far off for arms 1 and 2
    assert np.abs(naive - truth).max() > 10 * se.max()
    # the contrast of two columns is the AIPW estimate of the effect
    diff = policy_value(2, S, against=0)
    assert abs(diff.value - 2.0) < 4 * diff.stderr
    assert S.attrs["folds"] == 3 and S.attrs["n_clipped"] < 0.005 * len(S)


def test_dr_scores_known_propensity_and_arm_subset():
    rng = np.random.default_rng(1)
    n = 2000
    x = rng.uniform(-1, 1, n)
    t = rng.binomial(1, 0.3, n)
    df = pd.DataFrame({"x": x, "t": t, "y": 2 * t * x + rng.normal(size=n)}, index=np.arange(n) + 10)
    S = dr_scores(df, "t", "y", "x", propensity=np.full(n, 0.3), outcome_model=LinearRegression(), arms=[1])
    assert list(S.columns) == [1] and S.index.equals(df.index)
    # the score of the treated arm: the outcome model's prediction plus the weighted residual of the treated
    two = dr_scores(df, "t", "y", "x", propensity=np.column_stack([np.full(n, 0.7), np.full(n, 0.3)]),
                    outcome_model=LinearRegression(), arms=[1, 0])
    assert list(two.columns) == [1, 0]
    np.testing.assert_array_equal(two[1].to_numpy(), S[1].to_numpy())


def test_dr_scores_same_seed_same_bytes():
    df, _ = three_arms(600, seed=2)
    a = dr_scores(df, "t", "y", ["x"], folds=2, seed=3)
    b = dr_scores(df, "t", "y", ["x"], folds=2, seed=3)
    assert a.to_numpy().tobytes() == b.to_numpy().tobytes()


@pytest.mark.parametrize("change, match", [
    (dict(treatment="c"), "constant"),
    (dict(treatment="z"), "distinct values"),
    (dict(arms=[5]), "never occurs"),
    (dict(folds=500), "at least folds"),
    (dict(folds=1), "folds"),
    (dict(clip=0.6), "clip"),
    (dict(propensity=np.full((10, 3), 1 / 3)), "shape"),
    (dict(outcome_model=object()), "fit/predict"),
    (dict(covariates=[]), "covariates"),
    (dict(covariates=["x", "y"]), "also listed"),
    (dict(covariates=["nan"]), "missing values"),
])
def test_dr_scores_bad_input(change, match):
    df, _ = three_arms(300, seed=4)
    df["c"], df["z"] = 1, np.linspace(0, 1, 300)
    df["nan"] = np.where(np.arange(300) == 5, np.nan, 1.0)
    kwargs = dict(treatment="t", outcome="y", covariates=["x"], folds=2) | change
    with pytest.raises(EstimationError, match=match):
        dr_scores(df, kwargs.pop("treatment"), kwargs.pop("outcome"), kwargs.pop("covariates"), **kwargs)


# --------------------------------------------------------------------------- policy value
def test_policy_value_interval_covers_at_the_stated_rate():
    rng = np.random.default_rng(5)
    reps, n = 1000, 200
    hits = 0
    for _ in range(reps):
        S = np.column_stack([rng.normal(1.0, 2.0, n), rng.normal(3.0, 1.0, n)])
        actions = rng.integers(0, 2, n)     # a policy choosing each arm with probability 1/2: value 2
        hits += policy_value(actions, S).covers(2.0)
    assert abs(hits / reps - 0.95) < 0.025


def test_policy_value_paired_difference_and_labels():
    S = pd.DataFrame({"none": [1.0, 2.0, 0.0, 1.0], "mail": [2.0, 1.0, 1.0, 3.0]})
    pi = np.array(["mail", "none", "mail", "mail"])
    v = policy_value(pi, S, alpha=0.1)
    assert v.value == 2.0 and v.level == 0.9 and v.n == 4
    d = policy_value(pi, S, against="none")
    terms = np.array([1.0, 0.0, 1.0, 2.0])
    assert d.value == terms.mean() and d.stderr == pytest.approx(terms.std(ddof=1) / 2)
    assert policy_value(pi, S, against=pi).value == 0.0
    # integer columns accept float labels; arrays take column positions
    assert policy_value([1.0, 0.0], pd.DataFrame({0: [1.0, 2.0], 1: [3.0, 4.0]})).value == 2.5
    assert policy_value(np.array([1, 0]), np.array([[1.0, 3.0], [2.0, 4.0]])).value == 2.5


@pytest.mark.parametrize("actions, scores, kwargs, match", [
    ([0, 1], np.ones((3, 2)), {}, "one arm per unit"),
    (["x", "none", "none"], pd.DataFrame({"none": [1.0, 2, 3]}), {}, "not an arm"),
    ([0, 2, 1], np.ones((3, 2)), {}, "column positions"),
    ([0, 1, 1], np.array([[1.0, np.nan]] * 3), {}, "missing or infinite"),
    ([0, 1, 1], np.ones(3), {}, "2-d"),
    ([0, 1, 1], np.ones((3, 2)), {"alpha": 1.5}, "alpha"),
])
def test_policy_value_bad_input(actions, scores, kwargs, match):
    with pytest.raises(EstimationError, match=match):
        policy_value(actions, scores, **kwargs)


# --------------------------------------------------------------------------- a policy from a CATE model
def test_policy_from_cate_binary_and_multi_arm():
    rng = np.random.default_rng(6)
    n = 3000
    x = rng.uniform(-1, 1, n)
    t = rng.integers(0, 3, n)
    y = np.choose(t, [np.zeros(n), 2 * x, 1.0 - x]) + rng.normal(0, 0.3, n)
    df = pd.DataFrame({"x": x, "t": t, "y": y, "other": rng.normal(size=n)})
    model = TLearner(outcome=LinearRegression()).fit(df, treatment="t", outcome="y", effect_modifiers=["x"])
    grid = np.array([-0.9, -0.1, 0.3, 0.9])
    # net effects: arm 1: 2x - 0.5, arm 2: 1 - x - 0.2 -> best arm 2 below x = 0.43, arm 1 above
    pol = policy_from_cate(model, cost={1: 0.5, 2: 0.2})
    assert isinstance(pol, CatePolicy)
    assert pol(grid[:, None]).tolist() == [2, 2, 2, 1]
    assert policy_from_cate(model, cost=[3.0, 3.0])(grid[:, None]).tolist() == [0, 0, 0, 0]
    # arrays with more columns, named by features=
    wide = np.column_stack([np.zeros(4), grid])
    assert policy_from_cate(model, cost=[0.5, 0.2], features=["other", "x"])(wide).tolist() == [2, 2, 2, 1]
    binary = df[df.t < 2]
    m2 = TLearner(outcome=LinearRegression()).fit(binary, treatment="t", outcome="y", effect_modifiers=["x"])
    assert policy_from_cate(m2, cost=1.0)(pd.DataFrame({"x": grid})).tolist() == [0, 0, 0, 1]


@pytest.mark.parametrize("cost, kwargs, match", [
    ({7: 1.0}, {}, "not a treated level"),
    (np.nan, {}, "finite"),
    ([1.0], {}, "values for 2"),
    (0.0, {"features": ["a"]}, "effect modifiers"),
])
def test_policy_from_cate_bad_input(cost, kwargs, match):
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"x": rng.normal(size=300), "t": rng.integers(0, 3, 300), "y": rng.normal(size=300)})
    model = TLearner(outcome=LinearRegression()).fit(df, treatment="t", outcome="y", effect_modifiers=["x"])
    with pytest.raises(EstimationError, match=match):
        policy_from_cate(model, cost, **kwargs)


def test_policy_from_cate_needs_a_fitted_cate_model():
    with pytest.raises(EstimationError, match="not fitted"):
        policy_from_cate(TLearner())
    with pytest.raises(EstimationError, match="no effect"):
        policy_from_cate(LinearRegression())


# --------------------------------------------------------------------------- the policy tree
def brute_force(X: np.ndarray, S: np.ndarray, depth: int, min_leaf: int) -> float:
    """The best total score over every tree of the depth (splits at every distinct value), by enumeration."""
    def best_split(rows: np.ndarray) -> float:
        best = S[rows].sum(axis=0).max()
        for j in range(X.shape[1]):
            for c in np.unique(X[rows, j])[:-1]:
                left, right = rows & (X[:, j] <= c), rows & (X[:, j] > c)
                if left.sum() >= min_leaf and right.sum() >= min_leaf:
                    best = max(best, S[left].sum(axis=0).max() + S[right].sum(axis=0).max())
        return best

    everyone = np.ones(len(X), dtype=bool)
    if depth == 1:
        return best_split(everyone)
    best = -np.inf
    for j in range(X.shape[1]):
        for c in np.unique(X[:, j])[:-1]:
            left = X[:, j] <= c
            if left.sum() >= min_leaf and (~left).sum() >= min_leaf:
                best = max(best, best_split(left) + best_split(~left))
    return best


@pytest.mark.parametrize("depth", [1, 2])
def test_tree_is_the_exhaustive_optimum(depth):
    rng = np.random.default_rng(8 + depth)
    for trial in range(12):
        n, p, k = int(rng.integers(6, 30)), int(rng.integers(1, 4)), int(rng.integers(2, 5))
        X = rng.integers(0, 5, size=(n, p)).astype(float) if trial % 2 else rng.normal(size=(n, p))
        S = rng.normal(size=(n, k))
        min_leaf = int(rng.integers(1, 4))
        tree = PolicyTree(depth=depth, min_leaf=min_leaf, max_splits_per_feature=None).fit(X, S)
        assert tree.value_ * n == pytest.approx(brute_force(X, S, depth, min_leaf), rel=1e-12, abs=1e-12)
        # the tree's arms give the value it reports, and every leaf keeps min_leaf units
        codes = tree.predict(X)
        assert tree.value_ == pytest.approx(S[np.arange(n), codes].mean())
        assert all(int(m) >= min_leaf for m in re.findall(r"n=(\d+)", tree.rules()))


def planted(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    # fewer distinct values than max_splits_per_feature (256): the default search is exact
    X = pd.DataFrame({"age": rng.integers(18, 80, n).astype(float), "spend": rng.integers(0, 100, n) * 1.0,
                      "noise": np.round(rng.normal(size=n), 1)})
    young = X["age"] <= 35
    best = np.where(young, np.where(X["spend"] <= 40, 2, 1), np.where(X["noise"] <= 0.5, 0, 1))
    S = rng.normal(0, 0.1, (n, 3))
    # the planted arm gains 1; a unit's noise (sd 0.1 per arm) outweighs that with probability 1e-12,
    # so the best tree on these scores is the planted one, whatever the seed
    S[np.arange(n), best] += 1.0
    arms = ["none", "mail", "discount"]
    return X, pd.DataFrame(S, columns=arms), np.array(arms)[best]


def test_tree_recovers_a_planted_depth2_rule_exactly():
    X, S, truth = planted(3000, seed=10)
    tree = PolicyTree(depth=2, min_leaf=20).fit(X, S)
    np.testing.assert_array_equal(tree.predict(X), truth)
    t = tree.tree_
    names = tree.feature_names_in_
    assert names[t.feature] == "age" and 35 <= t.threshold < 36
    assert names[t.left.feature] == "spend" and names[t.right.feature] == "noise"
    assert (t.left.threshold, t.right.threshold) == (40.5, 0.55)
    assert [t.left.left, t.left.right, t.right.left, t.right.right] == [
        leaf for leaf in (t.left.left, t.left.right, t.right.left, t.right.right) if leaf.feature is None]
    text = tree.rules()
    assert text.startswith("if age <= 35.5:") and "discount  (n=" in text and repr(tree).endswith(text)
    # columns in another order, and arrays in the fitted order, give the same arms
    np.testing.assert_array_equal(tree.predict(X[["noise", "spend", "age"]]), truth)
    np.testing.assert_array_equal(tree(X.to_numpy()), truth)
    # depth 1: one split, worth less than the planted depth-2 rule
    one = PolicyTree(depth=1).fit(X, S)
    assert one.tree_.left.feature is None and one.tree_.right.feature is None
    assert one.value_ < tree.value_


def test_tree_quantile_candidates_and_trivial_cases():
    X, S, truth = planted(3000, seed=11)
    coarse = PolicyTree(depth=2, max_splits_per_feature=16).fit(X, S)
    assert (coarse.predict(X) == truth).mean() > 0.9          # thresholds on a 16-quantile grid
    # one arm best everywhere: a single leaf
    flat = PolicyTree().fit(X, S.assign(discount=S["discount"] + 10))
    assert flat.tree_.feature is None and flat.rules() == "discount  (n=3000)"
    # an array of scores: arms are column positions
    assert set(PolicyTree(depth=1).fit(X.to_numpy(), S.to_numpy()).predict(X.to_numpy())) <= {0, 1, 2}
    a = PolicyTree().fit(X, S).rules()
    assert a == PolicyTree().fit(X, S).rules()


@pytest.mark.parametrize("params, X, S, match", [
    ({"depth": 3}, np.zeros((10, 2)), np.zeros((10, 2)), "depth must be 1 or 2"),
    ({"depth": 0}, np.zeros((10, 2)), np.zeros((10, 2)), "depth must be 1 or 2"),
    ({"depth": True}, np.zeros((10, 2)), np.zeros((10, 2)), "depth must be 1 or 2"),
    ({}, np.zeros((10, 2)), np.zeros((9, 2)), "10 rows but scores 9"),
    ({}, np.zeros((10, 2)), np.full((10, 2), np.nan), "missing or infinite"),
    ({}, np.full((10, 2), np.nan), np.zeros((10, 2)), "missing or infinite"),
    ({"min_leaf": 6}, np.zeros((10, 2)), np.zeros((10, 2)), "min_leaf=6"),
    ({"min_leaf": 0}, np.zeros((10, 2)), np.zeros((10, 2)), "min_leaf"),
    ({"max_splits_per_feature": 0}, np.zeros((10, 2)), np.zeros((10, 2)), "max_splits_per_feature"),
    ({}, np.zeros(10), np.zeros((10, 2)), "2-d"),
    ({}, np.zeros((10, 2)), np.zeros(10), "2-d"),
    ({}, pd.DataFrame({"a": ["x"] * 10}), np.zeros((10, 2)), "not numeric"),
])
def test_tree_bad_input(params, X, S, match):
    with pytest.raises(EstimationError, match=match):
        PolicyTree(**params).fit(X, S)


def test_tree_predict_checks():
    with pytest.raises(EstimationError, match="not fitted"):
        PolicyTree().predict(np.zeros((2, 2)))
    tree = PolicyTree(depth=1).fit(np.arange(20.0).reshape(10, 2), np.eye(2)[np.arange(10) % 2])
    with pytest.raises(EstimationError, match="3 features"):
        tree.predict(np.zeros((2, 3)))
    with pytest.raises(EstimationError, match="missing or infinite"):
        tree.predict(np.full((2, 2), np.inf))


# --------------------------------------------------------------------------- uplift
def randomized(n: int, seed: int, confounded: bool = False) -> tuple[np.ndarray, ...]:
    """tau = x ~ U(-1, 1): targeting the top fraction f gains f (1 - f) per unit; its area is 1/6."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    e = 1 / (1 + np.exp(-2 * x)) if confounded else np.full(n, 0.5)
    t = rng.binomial(1, e)
    y = 3 * x + t * x + rng.normal(0, 0.5, n)
    return x, y, t, e


def test_constant_prediction_is_the_random_diagonal():
    x, y, t, _ = randomized(2000, 12)
    ate = y[t == 1].mean() - y[t == 0].mean()
    const = np.zeros_like(x)
    assert auuc(const, y, t) == pytest.approx(ate / 2, abs=1e-15)
    assert qini_coefficient(const, y, t) == pytest.approx(0.0, abs=1e-15)
    for curve in (uplift_curve(const, y, t), qini_curve(const, y, t)):
        assert curve["fraction"].tolist() == [0.0, 1.0] and curve["gain"].iloc[-1] == pytest.approx(ate)


def bootstrap_sd(fn, x, y, t, e=None, reps=100, seed=0):
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(reps):
        i = rng.integers(0, len(x), len(x))
        vals.append(fn(x[i], y[i], t[i], propensity=None if e is None else e[i]))
    return float(np.std(vals, ddof=1))


@pytest.mark.parametrize("confounded", [False, True])
def test_perfect_ranking_areas_match_the_analytic_value(confounded):
    x, y, t, e = randomized(4000, 13, confounded)
    e_ = e if confounded else None
    for fn in (auuc, qini_coefficient):
        value = fn(x, y, t, propensity=e_)
        sd = bootstrap_sd(fn, x, y, t, e_)
        assert abs(value - 1 / 6) < 4 * sd, (fn.__name__, value, sd)
        rand = fn(np.random.default_rng(14).normal(size=len(x)), y, t, propensity=e_)
        assert value - rand > 0.1                        # a random ranking: about 0 (AUUC: ATE / 2 = 0)
    if confounded:  # without the weights, the treated over-represent high x: the curves are biased
        assert abs(auuc(x, y, t) - 1 / 6) > 4 * bootstrap_sd(auuc, x, y, t)


def test_curves_do_not_depend_on_row_order_and_start_at_zero():
    x, y, t, _ = randomized(1000, 15)
    pred = np.round(x, 1)                                # many ties
    perm = np.random.default_rng(16).permutation(len(x))
    for fn in (uplift_curve, qini_curve):
        a, b = fn(pred, y, t), fn(pred[perm], y[perm], t[perm])
        pd.testing.assert_frame_equal(a, b)
        assert a.iloc[0].tolist() == [0.0, 0.0, 0.0] and a["fraction"].is_monotonic_increasing
        assert len(a) == len(np.unique(pred)) + 1


@pytest.mark.parametrize("args, kwargs, match", [
    (([1.0, 2.0], [1.0], [0, 1]), {}, "one value per unit"),
    (([1.0, 2.0], [1.0, 2.0], [0, 2]), {}, "binary"),
    (([1.0, 2.0], [1.0, 2.0], [1, 1]), {}, "binary"),
    (([1.0, np.nan], [1.0, 2.0], [0, 1]), {}, "missing"),
    (([1.0, 2.0], [1.0, 2.0], [0, 1]), {"propensity": [0.5, 1.0]}, "propensity"),
    (([], [], []), {}, "non-empty"),
])
def test_uplift_bad_input(args, kwargs, match):
    with pytest.raises(EstimationError, match=match):
        uplift_curve(*args, **kwargs)


def test_plot_uplift():
    x, y, t, _ = randomized(500, 17)
    fig = plot_uplift({"truth": x, "noise": -x}, y, t, kind="uplift")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert labels[0].startswith("truth (AUUC") and labels[2] == "random targeting"
    assert plot_uplift(x, y, t, ax=ax) is fig
    with pytest.raises(EstimationError, match="kind"):
        plot_uplift(x, y, t, kind="roc")
    with pytest.raises(EstimationError, match="empty"):
        plot_uplift({}, y, t)
