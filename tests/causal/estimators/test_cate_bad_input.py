"""Bad input to every heterogeneous-effect estimator raises a clear EstimationError (issue 14, acceptance).

Four kinds, each for the five meta-learners, the three double-ML estimators and the causal forest:
the CATE asked of an estimator fitted without ``effect_modifiers``; a treatment the estimator cannot
take (not binary for the binary-only InteractiveDML and CausalForest, continuous for the
meta-learners, which take discrete levels); more cross-fitting folds than units; and a nuisance
model without ``fit``/``predict``. The estimators get linear nuisances (fast); the data is
``designs.cate_design`` (300 units).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from causal.errors import EstimationError
from causal.estimators import (
    CausalForest,
    DRLearner,
    InteractiveDML,
    LinearDML,
    NonParamDML,
    RLearner,
    SLearner,
    TLearner,
    XLearner,
)
from causal.estimators.designs import cate_design

N = 300
DATA = cate_design(0, n=N).data
COVS, MODS = ["x1", "x2"], ["x3"]

_LIN = LinearRegression()
#: name -> (a fast instance from keyword arguments, the name of its folds setting, its nuisance settings)
MAKERS: dict[str, tuple[Callable[..., Any], str, tuple[str, ...]]] = {
    "SLearner": (lambda **kw: SLearner(**{"outcome": _LIN, "final": _LIN, **kw}), "folds", ("outcome",)),
    "TLearner": (lambda **kw: TLearner(**{"outcome": _LIN, "final": _LIN, **kw}), "folds", ("outcome",)),
    "XLearner": (lambda **kw: XLearner(**{"outcome": _LIN, "final": _LIN, **kw}), "folds",
                 ("outcome", "propensity", "final")),
    "DRLearner": (lambda **kw: DRLearner(**{"outcome": _LIN, **kw}), "folds", ("outcome", "propensity")),
    "RLearner": (lambda **kw: RLearner(**{"outcome": _LIN, "final": _LIN, **kw}), "folds",
                 ("outcome", "propensity", "final")),
    "LinearDML": (lambda **kw: LinearDML(**kw), "folds", ("model_y", "model_t")),
    "InteractiveDML": (lambda **kw: InteractiveDML(**kw), "folds", ("model_y", "model_t")),
    "NonParamDML": (lambda **kw: NonParamDML(**{"model_final": _LIN, **kw}), "folds",
                    ("model_y", "model_t", "model_final")),
    "CausalForest": (lambda **kw: CausalForest(**{"num_trees": 4, "cross_fit": 2,
                                                  "propensity": LogisticRegression(), "outcome": _LIN, **kw}),
                     "cross_fit", ("outcome", "propensity")),
}
NAMES = list(MAKERS)
#: Estimators that take a binary 0/1 treatment only.
BINARY_ONLY = {"InteractiveDML", "CausalForest"}
#: Estimators whose treatment may be continuous (the partially linear model).
CONTINUOUS_OK = {"LinearDML", "NonParamDML"}


def _roles(name: str, modifiers: bool = True) -> dict[str, Any]:
    roles: dict[str, Any] = {"treatment": "t", "outcome": "y", "covariates": COVS}
    if modifiers and name != "InteractiveDML":  # it takes no effect modifiers
        roles["effect_modifiers"] = MODS
    return roles


@pytest.mark.parametrize("name", NAMES)
def test_cate_without_effect_modifiers(name: str) -> None:
    """Either fit refuses (the final stage needs them) or effect(X) does, naming effect_modifiers."""
    make = MAKERS[name][0]
    if name == "CausalForest":
        # documented: the forest's features (its effect modifiers) default to the covariates, so it has
        # some; with neither covariates nor modifiers fit refuses
        cf = make().fit(DATA, **_roles(name, modifiers=False))
        assert cf.effect_modifiers_ == COVS and cf.effect(DATA).shape == (N,)
        with pytest.raises(EstimationError, match="covariates or effect_modifiers"):
            make().fit(DATA, treatment="t", outcome="y")
        return
    with pytest.raises(EstimationError, match="effect_modifiers") as info:
        est = make().fit(DATA, **_roles(name, modifiers=False))
        est.effect(DATA)
    assert type(info.value) is EstimationError
    assert name in str(info.value)


@pytest.mark.parametrize("name", NAMES)
def test_treatment_the_estimator_cannot_take(name: str) -> None:
    make = MAKERS[name][0]
    rng = np.random.default_rng(1)
    three = DATA.assign(t=np.where(rng.random(N) < 0.2, 2, DATA["t"]))     # levels 0, 1, 2 (random 2s)
    dose = DATA.assign(t=DATA["t"] + 0.1 * DATA["x2"])                     # continuous
    if name in BINARY_ONLY:
        for data in (three, dose):
            with pytest.raises(EstimationError, match="binary"):
                make().fit(data, **_roles(name))
    elif name in CONTINUOUS_OK:  # the partially linear model takes any numeric treatment
        est = make().fit(dose, **_roles(name))
        assert np.isfinite(est.effect(DATA)).all()
    else:  # meta-learners: discrete levels (three is fine: one contrast per level), not a dose
        with pytest.raises(EstimationError, match="discrete treatment"):
            make().fit(dose, **_roles(name))
        est = make().fit(three, **_roles(name))
        assert np.isfinite(est.effect(DATA, treat=2)).all()


@pytest.mark.parametrize("name", NAMES)
def test_more_folds_than_units(name: str) -> None:
    make, folds, _ = MAKERS[name]
    with pytest.raises(EstimationError, match=rf"{folds}.*{N + 1}|{N + 1}.*{folds}") as info:
        make(**{folds: N + 1}).fit(DATA, **_roles(name))
    assert f"{N} units" in str(info.value)


class NoPredict:
    """Has fit and get_params (so it clones) but no predict."""

    def fit(self, X: Any, y: Any) -> NoPredict:
        return self

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {}


CASES = [(name, role, bad) for name in NAMES for role in MAKERS[name][2] for bad in ("object", "no predict")]


@pytest.mark.parametrize("name, role, bad", CASES)
def test_nuisance_without_fit_or_predict(name: str, role: str, bad: str) -> None:
    make = MAKERS[name][0]
    model = object() if bad == "object" else NoPredict()
    with pytest.raises(EstimationError, match=r"fit|predict") as info:
        make(**{role: model}).fit(DATA, **_roles(name))
    assert name in str(info.value)
