"""The estimators :func:`causal.validate.validate` knows by name, and fitting one on one replication.

Names map to factories of our estimators (imported from their modules on use);
a name with a colon (``econml:CausalForestDML``, ``dowhy:backdoor.propensity_score_matching``)
is built by :func:`causal.estimators.adapters.make_adapter`. Each estimator
gets the roles its design needs: back-door estimators the covariates, IV
estimators the instrument, the naive difference in means nothing.
"""

from __future__ import annotations

import copy
import difflib
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal.errors import EstimationError

__all__ = ["REGISTRY", "DEFAULT_ESTIMATORS", "Spec", "resolve", "fit_one", "needs_cate", "check_instruments"]


def _naive() -> Any:
    from causal.estimators.simple import DifferenceInMeans
    return DifferenceInMeans()


def _regression() -> Any:
    from causal.estimators.simple import RegressionAdjustment
    return RegressionAdjustment()


def _ipw() -> Any:
    from causal.estimators.weighting import IPW
    return IPW()


def _aipw() -> Any:
    from causal.estimators.weighting import AIPW
    return AIPW()


def _matching() -> Any:
    from causal.estimators.matching import PropensityMatching
    return PropensityMatching()


def _tsls() -> Any:
    from causal.estimators.iv import TwoStageLeastSquares
    return TwoStageLeastSquares()


def _dml() -> Any:
    from causal.estimators.dml import InteractiveDML
    return InteractiveDML()


def _dr_learner() -> Any:
    from causal.estimators.learners import DRLearner
    return DRLearner()


def _causal_forest() -> Any:
    from causal.estimators.forest import CausalForest
    return CausalForest(num_trees=100)


#: name -> (factory, design): "none" (no covariates), "backdoor" or "iv".
REGISTRY: dict[str, tuple[Callable[[], Any], str]] = {
    "naive": (_naive, "none"),
    "regression": (_regression, "backdoor"),
    "ipw": (_ipw, "backdoor"),
    "aipw": (_aipw, "backdoor"),
    "matching": (_matching, "backdoor"),
    "dml": (_dml, "backdoor"),
    "dr-learner": (_dr_learner, "backdoor"),
    "causal-forest": (_causal_forest, "backdoor"),
    "2sls": (_tsls, "iv"),
    "iv": (_tsls, "iv"),
}
#: The estimators of ``causalsim validate --all`` (2SLS added where the source has an instrument).
DEFAULT_ESTIMATORS = ("naive", "regression", "ipw", "aipw", "matching", "dml", "dr-learner", "causal-forest")


@dataclass(frozen=True)
class Spec:
    """A named, unfitted estimator and the roles its design takes (``"none"``, ``"backdoor"``, ``"iv"``)."""

    name: str
    estimator: Any
    design: str

    @property
    def modifiers(self) -> bool:
        """Whether ``fit`` takes ``effect_modifiers`` (a CATE estimator)."""
        import inspect

        try:
            return "effect_modifiers" in inspect.signature(self.estimator.fit).parameters
        except (TypeError, ValueError):
            return False

    def key(self) -> str:
        """A stable description for the results file's fingerprint."""
        est = self.estimator
        params = est.get_params() if hasattr(est, "get_params") else {}
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(params.items()))
        return f"{self.name}={type(est).__module__}.{type(est).__qualname__}({shown})/{self.design}"


def _design_of(est: Any) -> str:
    import inspect

    from causal.estimators.simple import DifferenceInMeans

    if isinstance(est, DifferenceInMeans):
        return "none"  # it refuses covariates

    try:
        params = inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        return "backdoor"
    if "instrument" in params and params["instrument"].default is inspect.Parameter.empty:
        return "iv"
    return "backdoor"


def _unknown(name: str) -> EstimationError:
    close = difflib.get_close_matches(name.lower(), list(REGISTRY), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return EstimationError(f"unknown estimator {name!r} (known: {', '.join(REGISTRY)}, or "
                           f"'econml:<Class>' / 'dowhy:<method>'){hint}")


def needs_cate(specs: Sequence[Spec]) -> bool:
    """Whether any estimator has a ``cate`` method of its own (so PEHE truth is worth computing)."""
    from causal.estimators.base import BaseEstimator

    return any(callable(getattr(type(s.estimator), "cate", None))
               and getattr(type(s.estimator), "cate", None) is not BaseEstimator.cate for s in specs)


def check_instruments(specs: Sequence[Spec], has_instrument: bool) -> None:
    """Refuse IV estimators for a source without an instrument."""
    for s in specs:
        if s.design == "iv" and not has_instrument:
            raise EstimationError(f"estimator {s.name!r} needs an instrument, and the source has none; "
                                  "drop it (or give the source an instrument)")


def resolve(estimators: Mapping[str, Any] | Sequence[str] | str) -> list[Spec]:
    """Named estimators: a mapping name -> estimator, or registry names (``"naive,aipw"`` or a list)."""
    if isinstance(estimators, str):
        estimators = [e.strip() for e in estimators.split(",") if e.strip()]
    if isinstance(estimators, Mapping):
        specs = [Spec(str(k), v, _design_of(v)) for k, v in estimators.items()]
    else:
        specs = []
        for name in estimators:
            if not isinstance(name, str):
                raise EstimationError(f"estimators must be names or a dict name -> estimator, got "
                                      f"{type(name).__name__}")
            key = name.strip().lower()
            if ":" in key:
                from causal.estimators.adapters import make_adapter  # optional extras, imported on use

                est = make_adapter(name.strip())
                specs.append(Spec(name.strip(), est, _design_of(est)))
            elif key in REGISTRY:
                factory, design = REGISTRY[key]
                specs.append(Spec(key, factory(), design))
            else:
                raise _unknown(name)
    if not specs:
        raise EstimationError("no estimators given; name at least one (e.g. 'naive,aipw')")
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise EstimationError(f"estimator names must be unique, {dup} repeated")
    for s in specs:
        if not (hasattr(s.estimator, "fit") and hasattr(s.estimator, "ate")):
            raise EstimationError(f"estimator {s.name!r} ({type(s.estimator).__name__}) lacks fit()/ate(); "
                                  "validate needs the causal.estimators protocol")
    return specs


def _roles(spec: Spec, setting: Any) -> dict[str, Any]:
    roles: dict[str, Any] = {"treatment": setting.treatment, "outcome": setting.outcome}
    if spec.design == "iv":
        roles["instrument"] = setting.instrument
        roles["covariates"] = list(setting.iv_covariates)
    elif spec.design == "backdoor":
        roles["covariates"] = list(setting.covariates)
        if spec.modifiers and setting.covariates:
            roles["effect_modifiers"] = list(setting.covariates)  # CATE as a function of the covariates
    return roles


def _pehe(est: Any, setting: Any) -> float:
    if setting.cate_context is None or not callable(getattr(est, "cate", None)):
        return float("nan")
    try:
        tau = np.asarray(est.cate(setting.cate_context), dtype=np.float64).reshape(-1)
    except (EstimationError, NotImplementedError, AttributeError, TypeError, ValueError):
        return float("nan")  # not a CATE estimator (or not for this design)
    if tau.shape != setting.cate_truth.shape or not np.isfinite(tau).all():
        return float("nan")
    return float(np.sqrt(np.mean((tau - setting.cate_truth) ** 2)))


def fit_one(spec: Spec, setting: Any, data: pd.DataFrame) -> dict[str, Any]:
    """Fit a fresh copy of ``spec``'s estimator on ``data``; an exception is recorded, not raised."""
    est = copy.deepcopy(spec.estimator)
    start = time.perf_counter()
    rec: dict[str, Any] = {"estimate": np.nan, "stderr": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                           "pehe": np.nan, "error": ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # overlap/weak-instrument warnings: the scores tell
            est.fit(data, **_roles(spec, setting))
            e = est.ate()
            rec.update(estimate=float(e.value), stderr=float(e.stderr), ci_low=float(e.ci_low),
                       ci_high=float(e.ci_high))
            rec["pehe"] = _pehe(est, setting)
    except Exception as exc:  # noqa: BLE001 - any failure of a fit is a result to record
        text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        rec.update(estimate=np.nan, stderr=np.nan, ci_low=np.nan, ci_high=np.nan, pehe=np.nan,
                   error=text[:300])
    rec["seconds"] = time.perf_counter() - start
    return rec
