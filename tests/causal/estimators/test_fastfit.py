"""The fast paths of the estimators against independent implementations.

* ``causal.estimators._fastfit``: the blocked products against dense NumPy, Newton's
  method against scikit-learn's ``LogisticRegression`` and against the closed-form
  maximum-likelihood fit of a saturated model.
* The default propensity model fitted by Newton's method (``_fit_default_propensity``)
  against scikit-learn's fit of :func:`default_propensity`, and the estimators that use
  it (IPW, AIPW, propensity-score matching) against the same estimators given that
  pipeline explicitly (which fits it with scikit-learn): the same numbers to rounding.
* The Abadie-Imbens (2016) adjustment of propensity-score matching against a direct
  computation with explicit neighbour sets; the run-based neighbour search against
  ``kneighbors_sorted``.
* The column-wise route of 2SLS against its stacked (BLAS-3) route and the QR route, and
  its finiteness check on the Gram matrix.

Everything is deterministic (seeded data, no statistical tolerance): the tolerances are
those of rounding.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

import causal.estimators.iv as iv_module
from causal.errors import EstimationError
from causal.estimators import _fastfit, _iv_linalg
from causal.estimators._neighbors import _Line
from causal.estimators.base import check_columns, column_arrays
from causal.estimators.iv import TwoStageLeastSquares
from causal.estimators.matching import PropensityMatching, _ai2016, _balance
from causal.estimators.nuisance import _fit_default_propensity
from causal.estimators.weighting import AIPW, IPW, default_propensity

COVS = ["x1", "x2", "x3"]
ROLES = {"treatment": "t", "outcome": "y", "covariates": COVS}


def _data(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 3.0, 0.2] + [0.0, 10.0, -1.0]
    logit = shift + 0.6 * X[:, 0] - 0.2 * (X[:, 1] - 10) + 2.0 * (X[:, 2] + 1)
    t = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    y = 1 + 2 * t + X @ [1.0, 0.3, -2.0] + rng.normal(size=n)
    return pd.DataFrame(X, columns=COVS).assign(t=t, y=y)


# --------------------------------------------------------------------------- blocked products
@pytest.mark.parametrize("n", [5, _fastfit._BLOCK, 3 * _fastfit._BLOCK + 17])
def test_blocked_products_equal_dense_numpy(n: int) -> None:
    rng = np.random.default_rng(n)
    PhiT = rng.normal(size=(4, n))
    w, V, A = rng.random(n), rng.normal(size=(n, 3)), rng.normal(size=(2, 4))
    np.testing.assert_allclose(_fastfit.gram(PhiT), PhiT @ PhiT.T, rtol=1e-12)
    np.testing.assert_allclose(_fastfit.gram(PhiT, w), (PhiT * w) @ PhiT.T, rtol=1e-12)
    np.testing.assert_allclose(_fastfit.tmatmul(PhiT, V), PhiT @ V, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_fastfit.tmatmul(PhiT, V[:, 0]), PhiT @ V[:, 0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_fastfit.matmul(A, PhiT), A @ PhiT, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_fastfit.matmul(A[0], PhiT), A[0] @ PhiT, rtol=1e-12, atol=1e-12)
    # an F-ordered design (a transposed view) works too
    np.testing.assert_allclose(_fastfit.gram(np.asfortranarray(PhiT), w), (PhiT * w) @ PhiT.T, rtol=1e-12)


# --------------------------------------------------------------------------- Newton's method
@pytest.mark.parametrize(("n", "shift", "C"), [(300, 0.0, 1e6), (20_000, 0.0, 1e6), (20_000, -3.0, 1e6),
                                               (5_000, 1.0, 0.05)])
def test_newton_logistic_takes_the_steps_of_scikit_learn(n: int, shift: float, C: float) -> None:
    """Same objective and stopping tolerance as scikit-learn's solver: the same fit.

    At the default tolerance (1e-4) both stop near, not at, the optimum, so they are compared
    at 1e-4 (not pinned to one scikit-learn release's iteration count); converged tightly,
    both reach the optimum and agree to rounding.
    """
    df = _data(n, seed=n, shift=shift)
    X, t = df[COVS].to_numpy(), df["t"].to_numpy()
    ridge = np.r_[0.0, np.full(3, 1 / C)]
    fit = _fastfit.newton_logistic(np.vstack([np.ones(n), X.T]), t, ridge)
    ref = LogisticRegression(C=C, solver="newton-cholesky").fit(X, t.astype(int))
    coef = np.r_[ref.intercept_, ref.coef_.ravel()]
    np.testing.assert_allclose(fit.coef, coef, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fit.proba, ref.predict_proba(X)[:, 1], rtol=1e-4)
    # tightly converged, it reaches the optimum that scikit-learn reaches with a tiny tolerance
    tight = _fastfit.newton_logistic(np.vstack([np.ones(n), X.T]), t, ridge, tol=1e-12)
    best = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-14).fit(X, t.astype(int))
    np.testing.assert_allclose(tight.coef, np.r_[best.intercept_, best.coef_.ravel()], rtol=1e-10, atol=1e-12)


def test_newton_logistic_reaches_the_closed_form_of_a_saturated_model() -> None:
    """One binary covariate: the maximum-likelihood fitted probabilities are the group shares."""
    rng = np.random.default_rng(1)
    x = (rng.random(4000) < 0.3).astype(float)
    t = (rng.random(4000) < np.where(x == 1, 0.8, 0.35)).astype(float)
    fit = _fastfit.newton_logistic(np.vstack([np.ones_like(x), x]), t, np.zeros(2), tol=1e-12)
    p1, p0 = t[x == 1].mean(), t[x == 0].mean()
    logit0, logit1 = np.log(p0 / (1 - p0)), np.log(p1 / (1 - p1))
    np.testing.assert_allclose(fit.coef, [logit0, logit1 - logit0], rtol=1e-10)
    np.testing.assert_allclose(fit.proba, np.where(x == 1, p1, p0), rtol=1e-12)


def test_newton_logistic_declines_what_it_cannot_fit_reliably() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=500)
    t = (x > 0).astype(float)  # perfectly separated: no finite maximum without a penalty
    assert _fastfit.newton_logistic(np.vstack([np.ones(500), x]), t, np.zeros(2)) is None
    t = (rng.random(500) < 0.5).astype(float)
    collinear = np.vstack([np.ones(500), x, 2 * x])
    assert _fastfit.newton_logistic(collinear, t, np.zeros(3)) is None


# --------------------------------------------------------------------------- the default propensity model
@pytest.mark.parametrize(("n", "shift"), [(200, 0.0), (9_000, 0.0), (40_000, -2.5)])
def test_default_propensity_fit_is_scikit_learns(n: int, shift: float) -> None:
    df = _data(n, seed=n + 1, shift=shift)
    X, t = df[COVS].to_numpy(), df["t"].to_numpy()
    model, e, design = _fit_default_propensity(X, t)
    ref = default_propensity().fit(X, t.astype(int))
    check_is_fitted(model)
    np.testing.assert_allclose(model[0].mean_, ref[0].mean_, rtol=1e-12)
    np.testing.assert_allclose(model[0].scale_, ref[0].scale_, rtol=1e-12)
    # both stop at scikit-learn's default tolerance 1e-4: compared at that tolerance
    np.testing.assert_allclose(model[-1].coef_, ref[-1].coef_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model[-1].intercept_, ref[-1].intercept_, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(model[-1].classes_, ref[-1].classes_)
    np.testing.assert_allclose(e, ref.predict_proba(X)[:, 1], rtol=1e-4)
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X), rtol=1e-4)
    # the design the sandwich uses: [1, standardised X], and the penalty 1/C on the slopes
    np.testing.assert_allclose(design.Phi, np.column_stack([np.ones(n), ref[0].transform(X)]), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_array_equal(design.ridge, [0.0, 1e-6, 1e-6, 1e-6])


def test_default_propensity_leaves_hard_cases_to_scikit_learn() -> None:
    df = _data(500, seed=3)
    X, t = df[COVS].to_numpy(), df["t"].to_numpy()
    constant = X.copy()
    constant[:, 1] = 4.0
    assert _fit_default_propensity(constant, t) is None
    separated = (X[:, 0] > 0).astype(float)
    assert _fit_default_propensity(X, separated) is None
    with pytest.raises(EstimationError, match="exactly 0 or 1"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        IPW().fit(df.assign(t=separated), **ROLES)


@pytest.mark.parametrize("n", [600, 12_000])
def test_estimators_with_the_fast_default_equal_those_fitted_by_scikit_learn(n: int, monkeypatch) -> None:
    """``propensity=None`` (Newton's method) against the same pipeline passed explicitly (scikit-learn)."""
    import causal.estimators.nuisance as nuisance

    fitted = []

    def spy(X, t, name="propensity"):
        out = _fit_default_propensity(X, t, name)
        fitted.append(out is not None)
        return out

    monkeypatch.setattr(nuisance, "_fit_default_propensity", spy)
    df = _data(n, seed=n + 2)
    pairs = [(IPW(), IPW(default_propensity())),
             (IPW(normalized=False, trim=0.05), IPW(default_propensity(), normalized=False, trim=0.05)),
             (AIPW(cross_fit=None), AIPW(default_propensity(), cross_fit=None)),
             (AIPW(cross_fit=3, random_state=0), AIPW(default_propensity(), cross_fit=3, random_state=0)),
             (PropensityMatching(), PropensityMatching(default_propensity())),
             (PropensityMatching(n_neighbors=3, bias_correction=True),
              PropensityMatching(default_propensity(), n_neighbors=3, bias_correction=True))]
    for fast, slow in pairs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fast.fit(df, **ROLES)
            slow.fit(df, **ROLES)
        for target in ("ate", "att"):
            a, b = getattr(fast, target)(), getattr(slow, target)()
            assert a.value == pytest.approx(b.value, rel=1e-9, abs=1e-12), (type(fast).__name__, target)
            assert a.stderr == pytest.approx(b.stderr, rel=1e-8), (type(fast).__name__, target)
            assert a.diagnostics.get("nuisance_accounted") == b.diagnostics.get("nuisance_accounted")
            assert a.diagnostics.get("se_method") == b.diagnostics.get("se_method")
    assert fitted and all(fitted)  # every default propensity model took the fast path


# --------------------------------------------------------------------------- matching internals
def test_run_starts_are_the_nearest_neighbours_ties_included() -> None:
    rng = np.random.default_rng(4)
    for trial in range(100):
        n = int(rng.integers(5, 200))
        z = rng.integers(0, 6, n).astype(float) if trial % 2 else rng.normal(size=n)
        pool = z[rng.random(n) < 0.5]
        if len(pool) == 0:
            continue
        line = _Line(pool)
        k = int(rng.integers(1, min(len(pool), 5) + 1))
        q = np.sort(z)
        runs = line.order[line.window_starts(q, k)[None, :] + np.arange(k)[:, None]]
        np.testing.assert_array_equal(np.sort(runs, axis=0), np.sort(line.kneighbors_sorted(q, k), axis=0))


def _ai2016_direct(Phi, ridge, e, z, t, u_ate, u_att, tau_att, L=4):
    """The adjustments of the ``_ai2016`` docstring with explicit neighbour sets (no ties in ``z``)."""
    n = len(e)
    f = e * (1 - e)
    cov, local = {}, {}
    for w in (0, 1):
        idx = np.flatnonzero(t == w)
        nb = idx[np.argsort(np.abs(z[:, None] - z[idx][None, :]), axis=1)[:, :L]]  # (n, L)
        for key, u in (("ate", u_ate), ("att", u_att)):
            U, P = u[nb], Phi[nb]  # (n, L), (n, L, q)
            cov[w, key] = np.einsum("il,ilq->iq", U - U.mean(1, keepdims=True),
                                    P - P.mean(1, keepdims=True)) / (L - 1)
        local[w] = u_att[nb].mean(1)
    p1 = t.mean()
    c = (f[:, None] * (cov[1, "ate"] / e[:, None] + cov[0, "ate"] / (1 - e[:, None]))).mean(0)
    base = Phi * (local[1] - local[0] - tau_att)[:, None]
    c_t = (f[:, None] * (base + cov[1, "att"] + (e / (1 - e))[:, None] * cov[0, "att"])).mean(0) / p1
    d_t = (f[:, None] * (base + cov[1, "att"] - cov[0, "att"])).mean(0) / p1
    info = (Phi * f[:, None]).T @ Phi / n
    H = info + np.diag(ridge) / n

    def change(g, cc):
        hg = np.linalg.solve(H, g)
        return (2 * hg @ cc + hg @ info @ hg) / n

    return {"ate": change(-c, c), "att": change(d_t - c_t, c_t)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ai2016_adjustment_equals_a_direct_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    X = rng.normal(size=(n, 2))
    e = 1 / (1 + np.exp(-(0.3 + X @ [0.8, -0.5])))
    t = (rng.random(n) < e).astype(float)
    z = np.log(e) - np.log1p(-e)
    Phi = np.column_stack([np.ones(n), X])
    ridge = np.array([0.0, 0.01, 0.01])
    y = 50 + X @ [1.0, 2.0] + t * (1 + X[:, 0]) + rng.normal(size=n)  # a large mean outcome
    mu0 = 50 + X @ [1.0, 2.0]
    nns = {w: _Line(z[t == w]) for w in (0, 1)}
    got = _ai2016((Phi, ridge), e, z, t, nns, y, y - mu0, 1.4)
    want = _ai2016_direct(Phi, ridge, e, z, t, y, y - mu0, 1.4)
    for key in ("ate", "att"):
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-15), key


def test_balance_equals_weighted_moments_computed_directly() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    X = np.asfortranarray(rng.normal(size=(n, 3)) * [1.0, 50.0, 0.01] + [0.0, 1e4, 3.0])
    X[:, 2] = 2.5  # constant: difference 0, variance ratio undefined
    t = (rng.random(n) < 0.4).astype(float)
    weights = {"ate": rng.integers(0, 3, n) * rng.random(n),
               "att": np.where(t == 1, 1.0, rng.integers(0, 2, n))}
    tables = _balance(X, t, weights, ["a", "b", "c"])

    def moments(w, arm):
        m = t == arm
        ww = w[m] / w[m].sum()
        mean = X[m].T @ ww
        return mean, ((X[m] - mean) ** 2).T @ ww

    (m1, v1), (m0, v0) = moments(np.ones(n), 1), moments(np.ones(n), 0)
    sd = np.sqrt((v1 + v0) / 2)
    for key, w in weights.items():
        (a1, u1), (a0, u0) = moments(w, 1), moments(w, 0)
        table = tables[key].iloc[:2]
        np.testing.assert_allclose(table["smd_before"], ((m1 - m0) / sd)[:2], rtol=1e-9)
        np.testing.assert_allclose(table["smd_after"], ((a1 - a0) / sd)[:2], rtol=1e-9)
        np.testing.assert_allclose(table["var_ratio_before"], (v1 / v0)[:2], rtol=1e-9)
        np.testing.assert_allclose(table["var_ratio_after"], (u1 / u0)[:2], rtol=1e-9)
        constant = tables[key].loc["c"]
        assert constant["smd_before"] == constant["smd_after"] == 0.0
        assert np.isnan(constant["var_ratio_before"]) and np.isnan(constant["var_ratio_after"])


# --------------------------------------------------------------------------- 2SLS routes
def _iv_data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z, u, w = rng.normal(size=(3, n))
    t = 0.7 * z + 0.3 * w + u + rng.normal(size=n) + 4
    y = 2 * t + w + 1.5 * u + rng.normal(size=n) * (1 + np.abs(z))
    return pd.DataFrame({"z": z, "w": 30 * w + 5, "t": t, "y": y, "g": rng.integers(0, 50, n)})


@pytest.mark.parametrize("covariates", [[], ["w"]])
@pytest.mark.parametrize("cov_type", ["HC0", "HC1"])
def test_column_wise_2sls_equals_the_stacked_and_qr_routes(covariates, cov_type, monkeypatch) -> None:
    df = _iv_data(3 * iv_module._BLOCK + 101, seed=5)
    kw = dict(treatment="t", outcome="y", instrument="z", covariates=covariates)
    narrow = TwoStageLeastSquares(cov_type=cov_type).fit(df, **kw)
    y, t = df["y"].to_numpy(), df["t"].to_numpy()
    exog = [df[c].to_numpy() for c in (*covariates, "z")]
    assert len(exog) + 2 <= _iv_linalg._NARROW
    monkeypatch.setattr(_iv_linalg, "_NARROW", 0)  # where _cross_products and _score_grams read it
    wide = TwoStageLeastSquares(cov_type=cov_type).fit(df, **kw)
    for attr in ("coef_", "cov_", "first_stage_"):
        got, want = getattr(narrow, attr).to_numpy(), getattr(wide, attr).to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-10)
    assert narrow.first_stage_f_ == pytest.approx(wide.first_stage_f_, rel=1e-10)
    W = df[covariates].to_numpy().reshape(len(df), -1)
    beta, cov, pi, cov_pi, v = TwoStageLeastSquares(cov_type=cov_type)._fit_qr(
        "TwoStageLeastSquares", y, t, W, df[["z"]].to_numpy(), None, "t", covariates, ["z"])
    np.testing.assert_allclose(narrow.coef_.to_numpy(), beta, rtol=1e-10)
    np.testing.assert_allclose(narrow.cov_.to_numpy(), cov, rtol=1e-9)
    np.testing.assert_allclose(narrow.first_stage_.to_numpy(), pi, rtol=1e-10)


def test_2sls_checks_finiteness_on_its_gram_matrix() -> None:
    df = _iv_data(1000, seed=6)
    for bad, message in ((np.nan, "missing values"), (np.inf, "infinite values")):
        broken = df.copy()
        broken.loc[17, "z"] = bad
        with pytest.raises(EstimationError, match=f"column 'z' has .*{message}"):
            TwoStageLeastSquares().fit(broken, treatment="t", outcome="y", instrument="z")
    # finite values whose squares overflow the Gram matrix are not reported as missing or infinite:
    # they go on to the QR route (whose column norms overflow too, so it finds the column degenerate)
    huge = df.assign(w=df["w"] * 1e160)
    with pytest.raises(EstimationError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        TwoStageLeastSquares().fit(huge, treatment="t", outcome="y", instrument="z", covariates="w")
    assert "rank deficient" in str(info.value)


def test_column_arrays_validate_as_check_columns_does() -> None:
    df = pd.DataFrame({"a": [1.0, np.nan, 2.0], "b": pd.array([1, None, 2], dtype="Int64"),
                       "c": [0, 1, 1], "s": ["x", "y", "z"]})
    arrays = column_arrays(df, estimator="E", finite=False, outcome="a", treatment="c")
    assert list(arrays) == ["a", "c"] and arrays["c"].dtype == float
    assert np.shares_memory(arrays["a"], df["a"].to_numpy())  # float columns are not copied
    for kwargs, message in (({"outcome": "a"}, "missing values"), ({"outcome": "b"}, "missing values"),
                            ({"outcome": "s"}, "not numeric"), ({"outcome": "q"}, "not in the data")):
        with pytest.raises(EstimationError, match=message):
            check_columns(df, estimator="E", **kwargs)
        with pytest.raises(EstimationError, match=message):
            column_arrays(df, estimator="E", **kwargs)
    with pytest.raises(EstimationError, match="missing values"):  # nullable dtypes are always checked
        column_arrays(df, estimator="E", finite=False, outcome="b")
    with pytest.raises(EstimationError, match="not numeric"):
        column_arrays(df, estimator="E", finite=False, outcome="s")
