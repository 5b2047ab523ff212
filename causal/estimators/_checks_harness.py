"""The harness of :func:`causal.estimators.checks.check_estimator`: what every check builds on.

A failed property raises :class:`_Failed` (built by :func:`_fail`), to which the
runner adds the estimator's name (:func:`_name`) and the check's. The other
helpers fit a clone of the estimator on a design with its warnings recorded
(:func:`_fitted`, :func:`_quiet`), collect what a fitted estimator reports
(:func:`_outputs`: ``ate()``, ``att()`` where it applies, ``effect(X)`` of a CATE
estimator) as bytes to compare (:func:`_bytes`), fingerprint data frames and
parameters, and expect a fit on bad data to fail with a clear
:class:`~causal.errors.EstimationError` (:func:`_expect_error`).
"""

from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators.base import BaseEstimator, Estimate
from causal.estimators.designs import Design

__all__: list[str] = []  # private helpers of the public module


class _Failed(AssertionError):
    """A property does not hold (internal; the runner of :mod:`causal.estimators.checks` adds the
    estimator and the check's name)."""


def _fail(detail: str) -> _Failed:
    return _Failed(detail)


def _name(est: Any) -> str:
    """``Class(param=value)`` with the non-default parameters only."""
    try:
        sig = inspect.signature(type(est).__init__).parameters
        params = est.get_params(deep=False)
        shown = [f"{k}={v!r}" for k, v in params.items() if k in sig
                 and not (sig[k].default is not inspect.Parameter.empty and _same(v, sig[k].default))]
    except Exception:  # a broken get_params is reported by its own check
        shown = []
    return f"{type(est).__name__}({', '.join(shown)})"


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or a == b)
    except Exception:
        return False


def _clone(est: Any) -> Any:
    from sklearn.base import clone  # scikit-learn is imported on first use

    return clone(est)


def _quiet(fn: Callable[[], Any]) -> tuple[Any, list[warnings.WarningMessage]]:
    """``fn()`` with its warnings recorded, not shown."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, list(caught)


def _supports_att(est: Any) -> bool:
    return type(est).att is not BaseEstimator.att


def _gives_ate(est: Any) -> bool:
    """Whether ``ate()`` is an estimate with an interval; CATE-only estimators (S-, T-, X-, R-learner,
    NonParamDML) set the class attribute ``ate_interval = False`` and refuse it by design."""
    return bool(getattr(type(est), "ate_interval", True))


def _gives_cate(est: Any, design: Design) -> bool:
    """The estimator has ``effect(X)`` and the design names effect modifiers (and knows each row's CATE)."""
    return callable(getattr(est, "effect", None)) and bool(design.roles.get("effect_modifiers")) \
        and design.cate is not None


def _estimates(est: Any) -> dict[str, Estimate]:
    """``ate()`` and, where the estimator overrides it and it applies, ``att()``."""
    out = {"ate": est.ate()}
    if _supports_att(est):
        try:
            out["att"] = est.att()
        except EstimationError:  # e.g. RegressionAdjustment(interacted=False): documented refusal
            pass
    return out


def _outputs(est: Any, design: Design) -> dict[str, Any]:
    """What a fitted estimator reports: its estimates and, for a CATE estimator on a design with
    effect modifiers, ``effect(X)`` at the design's rows."""
    out: dict[str, Any] = dict(_estimates(est)) if _gives_ate(est) else {}
    if _gives_cate(est, design):
        out["effect"] = np.asarray(est.effect(design.data), dtype=float)
    return out


def _bytes(outputs: Mapping[str, Any]) -> dict[str, bytes]:
    return {k: np.array([e.value, e.stderr, e.ci_low, e.ci_high, e.level], dtype=float).tobytes()
            + repr((e.method, e.n)).encode() if isinstance(e, Estimate) else np.asarray(e).tobytes()
            for k, e in outputs.items()}


def _fingerprint(df: pd.DataFrame) -> tuple[Any, ...]:
    return (tuple(df.columns), tuple(map(str, df.dtypes)),
            pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())


def _param_hash(params: Mapping[str, Any]) -> dict[str, str]:
    import joblib

    return {k: joblib.hash(v) for k, v in params.items()}


def _fitted(est: Any, design: Design) -> Any:
    out, _ = _quiet(lambda: design.fit(est))
    return out


def _expect_error(est: Any, design: Design, data: pd.DataFrame, what: str, pattern: str,
                  warning: tuple[type[Warning], ...] = (), **roles: Any) -> None:
    """Fitting on ``data`` raises EstimationError matching ``pattern`` (or, when allowed, warns)."""
    try:
        _, caught = _quiet(lambda: design.fit(_clone(est), data, **roles))
    except EstimationError as err:
        if not re.search(pattern, str(err), flags=re.IGNORECASE):
            raise _fail(f"{what}: the EstimationError does not name the problem (expected /{pattern}/): "
                        f"{err}") from None
        return
    except Exception as err:
        raise _fail(f"{what}: raised {type(err).__name__} ({err}), not causal.errors.EstimationError") \
            from None
    if warning:
        hits = [w for w in caught if issubclass(w.category, warning)]
        if hits:
            return
        raise _fail(f"{what}: fitted silently; expected an EstimationError or a "
                    f"{' or '.join(w.__name__ for w in warning)}"
                    + (f" (warned only {[w.category.__name__ for w in caught]})" if caught else ""))
    raise _fail(f"{what}: fitted without an error; expected an EstimationError matching /{pattern}/")
