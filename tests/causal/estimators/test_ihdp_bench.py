"""IHDP response surface B (Hill 2011) as EconML bundles it: PEHE of our learners beside EconML's.

``econml.data.dgps.ihdp_surface_B(random_state)`` reads the IHDP covariates shipped inside the
EconML package (``econml/data/ihdp/sim.csv``: no network) and draws a heterogeneous response
surface with a known effect per child: 747 children, 25 covariates (EconML prepends a column of
ones, dropped here as every model has its own intercept). Each replication ``r`` is
``ihdp_surface_B(random_state=r)``; both libraries fit the same data with the same nuisance and
final models (scikit-learn templates, seeded) and their own cross-fitting on 2 folds, and PEHE is
the in-sample root mean squared error against the true effects, the usual IHDP score.

Pairs (ours vs EconML): S-learner vs ``SLearner``; T-learner vs ``TLearner``; X-learner vs
``XLearner``; DR-learner vs ``DRLearner``; R-learner vs ``NonParamDML`` (the R-learner loss);
``LinearDML`` vs ``LinearDML``; ``CausalForest`` vs ``CausalForestDML``. The table is printed
(``pytest -s``) and kept in :data:`RESULTS` for the caller.

Needs the ``bench`` extra (skipped without EconML); marked slow (about a minute on one core).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from threadpoolctl import threadpool_limits

econml = pytest.importorskip("econml")

from causal.estimators._learner_base import default_classifier, default_regressor  # noqa: E402
from causal.estimators.dml import LinearDML  # noqa: E402
from causal.estimators.forest import _BOOSTING, CausalForest  # noqa: E402
from causal.estimators.learners import DRLearner, RLearner, SLearner, TLearner, XLearner  # noqa: E402

REPLICATIONS = 5
RESULTS: dict[str, dict[str, list[float]]] = {}


def _surface(r: int) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    from econml.data.dgps import ihdp_surface_B

    y, t, X, tau = ihdp_surface_B(random_state=r)
    X = X[:, 1:]  # EconML's intercept column
    cols = [f"x{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=cols)
    df["t"], df["y"] = np.asarray(t, dtype=int), np.asarray(y, dtype=float)
    return df, cols, np.asarray(tau, dtype=float)


def _ours(label: str, df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    kw = {"treatment": "t", "outcome": "y", "covariates": cols, "effect_modifiers": cols}
    reg, clf = default_regressor(), default_classifier()
    est: Any
    if label == "S-learner":
        est = SLearner(outcome=reg, folds=2)
    elif label == "T-learner":
        est = TLearner(outcome=reg, folds=2)
    elif label == "X-learner":
        est = XLearner(propensity=clf, outcome=reg, final=reg, folds=2)
    elif label == "DR-learner":
        est = DRLearner(propensity=clf, outcome=reg, final=reg, folds=2)
    elif label == "R-learner":
        est = RLearner(propensity=clf, outcome=reg, final=reg, folds=2)
    elif label == "LinearDML":
        est = LinearDML(model_y=reg, model_t=clf, folds=2)
    else:
        est = CausalForest(cross_fit=2)
        kw.pop("effect_modifiers")
    est.fit(df, **kw)
    return np.asarray(est.effect(df[cols]), dtype=float)


def _econml(label: str, df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    from econml.dml import CausalForestDML
    from econml.dml import LinearDML as ELinearDML
    from econml.dml import NonParamDML as ENonParamDML
    from econml.dr import DRLearner as EDRLearner
    from econml.metalearners import SLearner as ESLearner
    from econml.metalearners import TLearner as ETLearner
    from econml.metalearners import XLearner as EXLearner
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    X, t, y = df[cols].to_numpy(), df["t"].to_numpy(), df["y"].to_numpy()
    reg, clf = default_regressor(), default_classifier()
    if label == "S-learner":
        est = ESLearner(overall_model=reg)
    elif label == "T-learner":
        est = ETLearner(models=reg)
    elif label == "X-learner":
        est = EXLearner(models=reg, propensity_model=clf, cate_models=clone(reg))
    elif label == "DR-learner":
        est = EDRLearner(model_propensity=clf, model_regression=reg, model_final=clone(reg), cv=2,
                         min_propensity=0.05, random_state=0)
    elif label == "R-learner":
        est = ENonParamDML(model_y=reg, model_t=clf, model_final=clone(reg), discrete_treatment=True, cv=2,
                           random_state=0)
    elif label == "LinearDML":
        est = ELinearDML(model_y=reg, model_t=clf, discrete_treatment=True, cv=2, random_state=0)
    else:
        est = CausalForestDML(model_y=HistGradientBoostingRegressor(**_BOOSTING, random_state=0),
                              model_t=HistGradientBoostingClassifier(**_BOOSTING, random_state=0),
                              discrete_treatment=True, cv=2, random_state=0, n_jobs=1)
    est.fit(y, t, X=X)
    return np.asarray(est.effect(X), dtype=float).ravel()


LABELS = ("S-learner", "T-learner", "X-learner", "DR-learner", "R-learner", "LinearDML", "CausalForest")


def _pehe(tau: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((tau - truth) ** 2)))


@pytest.fixture(scope="module")
def table() -> dict[str, dict[str, list[float]]]:
    import warnings

    out: dict[str, dict[str, list[float]]] = {lab: {"ours": [], "econml": []} for lab in LABELS}
    out["constant (true ATE)"] = {"ours": [], "econml": []}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(REPLICATIONS):
            df, cols, truth = _surface(r)
            const = _pehe(np.full_like(truth, truth.mean()), truth)
            out["constant (true ATE)"]["ours"].append(const)
            out["constant (true ATE)"]["econml"].append(const)
            for lab in LABELS:
                out[lab]["ours"].append(_pehe(_ours(lab, df, cols), truth))
                out[lab]["econml"].append(_pehe(_econml(lab, df, cols), truth))
    RESULTS.update(out)
    print(f"\nIHDP surface B, {REPLICATIONS} replications (random_state 0-{REPLICATIONS - 1}), "
          "in-sample PEHE, mean (sd):")
    print("| learner | ours | EconML | ratio |\n|---|---|---|---|")
    for lab, v in out.items():
        a, b = np.array(v["ours"]), np.array(v["econml"])
        print(f"| {lab} | {a.mean():.3f} ({a.std(ddof=1):.3f}) | {b.mean():.3f} ({b.std(ddof=1):.3f}) | "
              f"{a.mean() / b.mean():.2f} |")
    return out


@pytest.mark.slow
def test_ihdp_pehe_table(table):
    for lab in LABELS:
        assert len(table[lab]["ours"]) == REPLICATIONS and np.isfinite(table[lab]["ours"]).all()
