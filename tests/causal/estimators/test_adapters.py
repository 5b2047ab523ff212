"""EconML and DoWhy adapters: names, missing extras, and fits scored against a known effect.

The default tests never import EconML or DoWhy (names are read from the installed
packages' ``__all__`` and file names), so they take milliseconds; the fits are
``slow`` (importing EconML alone takes seconds) and skip when the peer is absent.
"""

from __future__ import annotations

import copy
import importlib.util
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from causal.errors import EstimationError
from causal.estimators.adapters import (
    DoWhyAdapter,
    DoWhyIVAdapter,
    EconMLAdapter,
    adapter_names,
    make_adapter,
)

HAS_ECONML = importlib.util.find_spec("econml") is not None
HAS_DOWHY = importlib.util.find_spec("dowhy") is not None
needs_econml = pytest.mark.skipif(not HAS_ECONML, reason="econml not installed (extra 'econml')")
needs_dowhy = pytest.mark.skipif(not HAS_DOWHY, reason="dowhy not installed (extra 'dowhy')")


def design(n: int, seed: int) -> pd.DataFrame:
    """Confounded by x1; effect 1 + x2 (true ATE 1, CATE slope 1 in x2)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(2, n))
    t = rng.binomial(1, 1 / (1 + np.exp(-x1)))
    y = x1 + t * (1 + x2) + rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "t": t, "y": y})


# ----------------------------------------------------------------------------- names (fast)
@pytest.mark.parametrize("name", ["LinearDML", "no colon", "sklearn:Lasso", ""])
def test_name_without_a_known_peer_prefix_is_refused(name):
    with pytest.raises(EstimationError, match="econml:<Class>|peer must be 'econml' or 'dowhy'"):
        make_adapter(name)


def test_missing_peer_names_the_extra_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("econml", "dowhy") else real(name, *a))
    with pytest.raises(EstimationError, match=r'pip install "causalsim\[econml\]"'):
        make_adapter("econml:LinearDML")
    with pytest.raises(EstimationError, match=r'pip install "causalsim\[dowhy\]"'):
        make_adapter("dowhy:backdoor.propensity_score_matching")


@needs_econml
def test_unknown_econml_class_suggests_the_closest():
    with pytest.raises(EstimationError, match="did you mean 'econml:CausalForestDML'"):
        make_adapter("econml:CausalForrestDML")
    names = adapter_names("econml")
    assert {"econml:LinearDML", "econml:DRLearner", "econml:XLearner"} <= set(names)


@needs_econml
def test_econml_adapter_is_an_unfitted_protocol_estimator():
    est = make_adapter("econml:CausalForestDML", n_estimators=50, bootstrap_reps=30, level=0.9)
    assert isinstance(est, EconMLAdapter) and est.params == {"n_estimators": 50}
    assert (est.bootstrap_reps, est.level) == (30, 0.9)  # the adapter's own settings
    assert "effect_modifiers" in __import__("inspect").signature(est.fit).parameters
    clone = pickle.loads(pickle.dumps(copy.deepcopy(est)))  # validate copies and ships estimators
    assert clone.get_params() == est.get_params()
    with pytest.raises(EstimationError, match="not fitted"):
        est.ate()


@needs_dowhy
def test_dowhy_names_and_the_iv_adapter_take_an_instrument():
    with pytest.raises(EstimationError, match="did you mean 'dowhy:backdoor.propensity_score_matching'"):
        make_adapter("dowhy:backdoor.propensity_score_match")
    assert isinstance(make_adapter("dowhy:backdoor.linear_regression"), DoWhyAdapter)
    iv = make_adapter("dowhy:iv.instrumental_variable")
    assert isinstance(iv, DoWhyIVAdapter)
    param = __import__("inspect").signature(iv.fit).parameters["instrument"]
    assert param.default is param.empty  # validate reads a required instrument as the IV design


# ----------------------------------------------------------------------------- fits (slow)
@pytest.mark.slow
@needs_econml
def test_econml_linear_dml_recovers_the_ate_and_the_cate_slope():
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from threadpoolctl import threadpool_limits

    df = design(4000, seed=1)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = make_adapter("econml:LinearDML", model_y=LinearRegression(), model_t=LogisticRegression())
        est.fit(df, treatment="t", outcome="y", covariates=["x1"], effect_modifiers=["x2"])
        ate = est.ate()
        tau = est.effect(pd.DataFrame({"x2": [-1.0, 0.0, 1.0]}))
        lo, hi = est.effect_interval(np.array([[0.0]]))
    # the ATE over the sample's x2 (mean ~0): 4 standard errors, false-failure rate ~6e-5
    truth = 1 + df["x2"].mean()
    assert abs(ate.value - truth) < 4 * ate.stderr and 0 < ate.stderr < 0.2
    assert ate.diagnostics["interval"].startswith("econml ate_inference")
    assert np.allclose(np.diff(tau), 1.0, atol=0.15)  # slope 1 in x2 (se ~0.03)
    assert lo[0] < tau[1] < hi[0]


@pytest.mark.slow
@needs_econml
def test_econml_metalearner_gets_a_seeded_bootstrap_interval():
    from sklearn.linear_model import LinearRegression
    from threadpoolctl import threadpool_limits

    df = design(1500, seed=2)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = [make_adapter("econml:TLearner", models=LinearRegression()).set_params(bootstrap_reps=20)
                .fit(df, treatment="t", outcome="y", effect_modifiers=["x1", "x2"]).ate() for _ in range(2)]
    assert runs[0] == runs[1] and runs[0].stderr == runs[1].stderr  # same seed, same interval
    est = runs[0]
    assert est.diagnostics["interval"] == "bootstrap" and est.ci_low < est.value < est.ci_high
    # T-learner with correct linear arms: the ATE over the sample, 4 bootstrap SEs (~6e-5 false failures)
    assert abs(est.value - (1 + df["x2"].mean())) < 4 * est.stderr


@pytest.mark.slow
@needs_dowhy
def test_dowhy_weighting_adapter_covers_the_true_ate():
    df = design(2000, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = make_adapter("dowhy:backdoor.propensity_score_weighting",
                           weighting_scheme="ips_normalized_weight").set_params(bootstrap_reps=50)
        e = est.fit(df, treatment="t", outcome="y", covariates=["x1"]).ate()
    assert "bootstrap" in e.method and e.ci_low < e.value < e.ci_high
    assert abs(e.value - (1 + df["x2"].mean())) < 4 * e.stderr  # ~6e-5 false failures
