"""Tests of causal/estimators/multiarm.py: effects of a categorical treatment, every arm against a control.

The data: ``x ~ N(0, 1)`` confounds a three-level treatment (multinomial logit ``(0, 0.6 x, -0.6 x)``)
and an outcome whose effect grows with ``x`` in arms 1 and 2: ``Y = base[T] + (1 + 0.5 T) x + N(0, 1)``,
so ``E[Y(a)] - E[Y(0)] = base[a]`` (``E[x] = 0``) while among units given ``a`` or ``0`` the
effect is ``base[a] + 0.5 a E[x | T in {0, a}]``, not the population's. Coverage assertions use
99.9 % intervals: each misses the truth at a given seed with probability 0.001, so the six in
``test_every_method_covers_the_population_contrasts`` fail together for under 1 % of seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal.errors import EstimationError
from causal.estimators.multiarm import MultiArm, is_categorical, treatment_levels

BASE = (0.0, 1.0, 3.0)


def _data(n: int = 8000, seed: int = 0, strength: float = 0.6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    logits = np.column_stack([np.zeros(n), strength * x, -strength * x])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    t = (rng.random(n)[:, None] > p.cumsum(axis=1)).sum(axis=1)
    y = np.asarray(BASE)[t] + (1 + 0.5 * t) * x + rng.normal(size=n)
    return pd.DataFrame({"x": x, "t": t, "y": y})


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _data()


@pytest.mark.parametrize("method", ["aipw", "ipw", "regression"])
def test_every_method_covers_the_population_contrasts(data, method):
    fit = MultiArm(method=method, level=0.999).fit(data, treatment="t", outcome="y", covariates=["x"])
    est = fit.contrasts()
    assert sorted(est) == [1, 2]
    for a in (1, 2):
        assert est[a].covers(BASE[a]), (method, a, est[a])
        assert est[a].diagnostics["control"] == 0 and est[a].n == len(data)


def test_unadjusted_difference_is_biased_and_two_arm_restriction_targets_another_population(data):
    naive = MultiArm(method="difference", level=0.999).fit(data, treatment="t", outcome="y").contrasts()
    assert not naive[1].covers(BASE[1]) and not naive[2].covers(BASE[2])
    # the effect among units in arms 0 and 2 differs from the population's (x is not centred there)
    sub = data[data.t.isin([0, 2])]
    among = BASE[2] + 0.5 * 2 * sub.x.mean()
    assert abs(among - BASE[2]) > 0.2
    full = MultiArm(level=0.999).fit(data, treatment="t", outcome="y", covariates=["x"]).contrast(2, 0)
    assert full.covers(BASE[2]) and not full.covers(among)


def test_contrasts_against_another_control_are_differences_of_the_same_means(data):
    fit = MultiArm(method="regression").fit(data, treatment="t", outcome="y", covariates=["x"])
    a, b = fit.contrast(2, 1), fit.contrast(1, 2)
    assert a.value == pytest.approx(-b.value) and a.stderr == pytest.approx(b.stderr)
    means = fit.means_["mean"]
    assert a.value == pytest.approx(means.loc[2] - means.loc[1])
    assert sorted(fit.contrasts(control=2)) == [0, 1]
    assert a.covers(BASE[2] - BASE[1])


def test_cross_fitting_is_seeded(data):
    one = MultiArm(random_state=3).fit(data, treatment="t", outcome="y", covariates=["x"]).contrast(1, 0)
    two = MultiArm(random_state=3).fit(data, treatment="t", outcome="y", covariates=["x"]).contrast(1, 0)
    assert one.value == two.value


def test_trim_drops_units_of_poor_overlap_and_warns_without_it():
    d = _data(4000, seed=1, strength=3.0)
    with pytest.warns(UserWarning, match="arm propensity below 0.01"):
        MultiArm().fit(d, treatment="t", outcome="y", covariates=["x"])
    fit = MultiArm(trim=0.05).fit(d, treatment="t", outcome="y", covariates=["x"])
    assert 0 < fit.diagnostics_["n_trimmed"] < len(d) and fit.n_ == len(d) - fit.diagnostics_["n_trimmed"]


def test_two_levels_give_ate():
    d = _data(3000, seed=2)
    d = d[d.t != 2]
    fit = MultiArm(method="regression", level=0.999).fit(d, treatment="t", outcome="y", covariates=["x"])
    assert fit.ate().covers(BASE[1])


@pytest.mark.parametrize(("kwargs", "frame", "message"), [
    ({}, pd.DataFrame({"t": [1, 1, 1], "y": [1.0, 2, 3]}), "single value"),
    ({}, pd.DataFrame({"t": [0, 0, 1, 2, 2], "y": [1.0, 2, 3, 4, 5]}), "at least two units"),
    ({"method": "difference"}, None, "does not adjust"),
    ({"method": "regression", "trim": 0.05}, None, "applies to aipw and ipw"),
    ({"trim": 0.4}, None, "margin eps in (0, 1/3)"),
    ({"method": "slope"}, None, "method must be one of"),
])
def test_errors(data, kwargs, frame, message):
    covs = ["x"] if frame is None else []
    with pytest.raises(EstimationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        MultiArm(**kwargs).fit(data if frame is None else frame, treatment="t", outcome="y", covariates=covs)


def test_unknown_level_and_separation(data):
    fit = MultiArm(method="regression").fit(data, treatment="t", outcome="y", covariates=["x"])
    with pytest.raises(EstimationError, match="7 is not a level"):
        fit.contrast(7, 0)
    with pytest.raises(EstimationError, match="same level"):
        fit.contrast(1, 1)
    x = np.arange(30.0)
    sep = pd.DataFrame({"x": x, "t": np.repeat([0, 1, 2], 10), "y": x})
    with pytest.raises(EstimationError, match="perfectly separate"):
        MultiArm(cross_fit=None).fit(sep, treatment="t", outcome="y", covariates=["x"])


def test_level_helpers():
    assert treatment_levels(pd.Series([3, 1, 1])) == [1, 3]
    assert is_categorical([1, 2]) and not is_categorical(np.arange(20)) and not is_categorical([0, 1, 0])
