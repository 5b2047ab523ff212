"""Coverage of the 95% intervals of the simple and weighting estimators over seeded replications (slow).

Run with ``pytest -m slow tests/causal/estimators/test_coverage.py -s`` to see
the figures. Each replication draws n = 1,000 units from a known-truth SCM (its
own seed) and checks whether the interval contains the true ATE, computed by
``scm.ate`` over 2,000,000 units under common random numbers (Monte-Carlo SE
below 0.0004, against estimator SEs near 0.07-0.1).

* :class:`DifferenceInMeans` on a randomised design (treatment a fair coin);
* :class:`RegressionAdjustment` (Lin 2013, HC2) and :class:`AIPW` (2-fold
  cross-fitted, default nuisances) on the confounded design, where the naive
  difference is far off (checked below);
* :class:`IPW` (Hájek, default propensity) on the confounded design at the small
  n = 300, over 10,000 replications (see its test for the figures).

``REPS = 2000`` replications: if the true coverage is 95%, the count is
Binomial(2000, 0.95), sd 0.49 points, so the band [93%, 97%] is ±4.1 sd and a
correct interval fails it with probability 4e-5 (three estimators: 1e-4). At
500 replications the band would be only ±2.05 sd: a 4% false-failure rate per
estimator, 12% for the three — too high for a test that must not flake. The
effect is heterogeneous (``2 + 0.5 x1``), so the population ATE differs from the
sample one; the estimators' standard errors must cover the former. AIPW's
influence function includes the term ``mu1(X) - mu0(X) - ATE`` that accounts
for it, and :class:`RegressionAdjustment` adds the matching term
``beta_int' Sigma_X beta_int / n`` (here ``Var(0.5 x1) / n = 0.25 / n``) to Lin's
(2013) HC2 variance, which alone targets the effect at the sample's covariates
(measured: 93.9% without the term, 94.7% with it).
"""

from __future__ import annotations

import time
import warnings

import pytest

from causal import load_scm
from causal.estimators.simple import DifferenceInMeans, RegressionAdjustment
from causal.estimators.weighting import AIPW, IPW, OverlapWarning

REPS = 2000
N = 1000
COVS = ["x1", "x2"]
OUTCOME = {"equation": "1 + t * (2 + 0.5 * x1) + 2 * x1 - x2 + noise", "noise": "normal(0, 1)"}
CONFOUNDED = {"name": "confounded_linear", "nodes": {
    "x1": {"noise": "normal(0, 1)"},
    "x2": {"noise": "normal(0, 1)"},
    "t": {"type": "binary", "logit": "0.2 + 0.8 * x1 - 0.5 * x2"},
    "y": OUTCOME}}
RANDOMISED = {"name": "randomised", "nodes": {**CONFOUNDED["nodes"], "t": {"type": "binary", "logit": "0"}}}


def _coverage(scm, fit, label: str, seed0: int, n: int = N, reps: int = REPS) -> float:
    truth = scm.ate("t", "y", 1, 0, n=2_000_000, seed=seed0 - 1)
    start = time.perf_counter()
    hits, width = 0, 0.0
    for rep in range(reps):
        est = fit(scm.sample(n, seed=seed0 + rep), rep)
        hits += est.covers(truth.value)
        width += est.ci_high - est.ci_low
    rate = hits / reps
    print(f"\n{label}: 95% interval coverage {rate:.1%} ± {(rate * (1 - rate) / reps) ** 0.5:.1%} MC over "
          f"{reps} replications (n = {n}; truth {truth.value:.4f} ± {truth.stderr:.4f} MC; mean width "
          f"{width / reps:.3f}; {time.perf_counter() - start:.1f} s)")
    return rate


@pytest.mark.slow
def test_difference_in_means_covers_on_a_randomised_design():
    rate = _coverage(load_scm(RANDOMISED),
                     lambda d, rep: DifferenceInMeans().fit(d, treatment="t", outcome="y").ate(),
                     "DifferenceInMeans (randomised)", 100_000)
    assert 0.93 <= rate <= 0.97


@pytest.mark.slow
def test_regression_adjustment_covers_on_a_confounded_design():
    scm = load_scm(CONFOUNDED)
    data = scm.sample(N, seed=1)
    naive = DifferenceInMeans().fit(data, treatment="t", outcome="y").ate()
    assert naive.value - 2 > 8 * naive.stderr          # the confounding the estimators must remove
    rate = _coverage(scm, lambda d, rep: RegressionAdjustment().fit(d, treatment="t", outcome="y",
                                                                    covariates=COVS).ate(),
                     "RegressionAdjustment (Lin, HC2)", 200_000)
    assert 0.93 <= rate <= 0.97


@pytest.mark.slow
def test_aipw_covers_on_a_confounded_design():
    def fit(d, rep):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OverlapWarning)
            return AIPW(random_state=rep).fit(d, treatment="t", outcome="y", covariates=COVS).ate()

    rate = _coverage(load_scm(CONFOUNDED), fit, "AIPW (2-fold cross-fitting)", 300_000)
    assert 0.93 <= rate <= 0.97


#: IPW at a small sample: n = 300 (about 25 units per covariate-effect parameter of the arms' means).
IPW_N, IPW_REPS = 300, 10_000


@pytest.mark.slow
def test_ipw_covers_at_n_300_on_the_confounded_design():
    """Hájek IPW with the default logistic propensity (its estimation in the sandwich), n = 300.

    Measured 93.1% ± 0.25 (MC) over 10,000 replications: inside 93-97%, at its lower edge. The
    misses are one-sided (5.9% above the interval, 0.9% below: the ratio estimator is skewed at this
    n, and its sandwich SE is 6% short of the sampling sd, 0.207 against 0.220). The small-sample
    corrections tried gain little: the degrees-of-freedom factor sqrt(n / (n - 5)) for the five
    stacked parameters gives 93.4%, with a t(n - 5) quantile 93.4%; neither is applied, as they
    would also move published reproductions (What If's GEE sandwich for NHEFS) for 0.3 points.

    ``IPW_REPS = 10,000``: the coverage count has MC sd 0.26 points at 93%, so the band
    [93% - 4 sd, 97% + 4 sd] = [91.98%, 98.0%] fails an estimator whose true coverage lies in
    93-97% with probability below 3e-5 (4 sd, one side), and catches a drop to 91.9% or below.
    """
    def fit(d, rep):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OverlapWarning)
            return IPW().fit(d, treatment="t", outcome="y", covariates=COVS).ate()

    rate = _coverage(load_scm(CONFOUNDED), fit, "IPW (Hajek, n = 300)", 400_000, n=IPW_N, reps=IPW_REPS)
    sd = (0.93 * 0.07 / IPW_REPS) ** 0.5
    assert 0.93 - 4 * sd <= rate <= 0.97 + 4 * sd
