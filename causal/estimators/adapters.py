"""EconML and DoWhy estimators in this package's estimator protocol, built by name.

:func:`make_adapter` turns a name into an unfitted estimator with the protocol of
:mod:`causal.estimators.base` — ``fit(data, treatment=, outcome=, covariates=,
effect_modifiers=)`` returning ``self``, ``ate()`` returning an
:class:`~causal.estimators.base.Estimate` with a real interval, ``effect(X)`` and
``cate(data)`` where the peer estimates a CATE — so peers join
:func:`causal.validate.validate` and ``causalsim validate`` beside ours::

    make_adapter("econml:CausalForestDML", n_estimators=200)
    make_adapter("dowhy:backdoor.propensity_score_matching")

* ``econml:<Class>`` — any class exported by ``econml.dml``, ``econml.dr`` or
  ``econml.metalearners`` (:class:`EconMLAdapter`); keyword arguments go to its
  constructor. Required models EconML leaves to the user get seeded defaults
  (histogram gradient boosting for outcomes and final stages, a logistic
  regression for a binary treatment, a linear final stage for ``DML``), a binary
  treatment sets ``discrete_treatment=True`` and ``random_state`` is set, unless
  given. The DML and DR families take the covariates as ``W`` and the effect
  modifiers as ``X``; the metalearners, which have no ``W``, take both as ``X``
  (so their CATE is a function of both). The interval of ``ate()`` is EconML's
  own ``ate_inference`` where the class has one (its ``stderr_mean``: exact for
  linear final stages, otherwise EconML's conservative bound), else a seeded
  bootstrap of the whole fit (:func:`~causal.estimators.bootstrap.bootstrap`,
  ``bootstrap_reps`` refits).
* ``dowhy:<strategy>.<method>`` — a DoWhy ``CausalModel`` estimation method
  (:class:`DoWhyAdapter`; ``iv.*`` methods give :class:`DoWhyIVAdapter`, whose
  ``fit`` takes ``instrument=``); keyword arguments are the estimator's
  ``init_params``. The model is built with the covariates as common causes, the
  effect identified with ``proceed_when_unidentifiable=True`` (the roles are the
  caller's assumption, as for our estimators), and the interval is a seeded
  bootstrap of the whole estimation (DoWhy's own bootstrap draws from the global
  random state, so it is not reproducible).

The peers are optional extras, imported only when an adapter is made or
fitted: a missing one raises :class:`~causal.errors.EstimationError` naming the
extra to install (``pip install "causalsim[econml]"`` or ``"causalsim[dowhy]"``),
and an unknown name suggests the closest known one.

Examples
--------
>>> make_adapter("sklearn:Lasso")
Traceback (most recent call last):
...
causal.errors.EstimationError: adapter name 'sklearn:Lasso': the peer must be 'econml' or 'dowhy' ...
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators.base import BaseEstimator, Estimate, check_columns

__all__ = ["make_adapter", "adapter_names", "EconMLAdapter", "DoWhyAdapter", "DoWhyIVAdapter",
           "ECONML_MODULES", "DOWHY_METHODS"]

#: The EconML modules whose exported classes :func:`make_adapter` wraps.
ECONML_MODULES = ("econml.dml", "econml.dr", "econml.metalearners")

#: DoWhy's built-in estimation methods, ``strategy.method`` (DoWhy's ``method_name``).
DOWHY_METHODS = (
    "backdoor.linear_regression", "backdoor.generalized_linear_model", "backdoor.distance_matching",
    "backdoor.propensity_score_matching", "backdoor.propensity_score_stratification",
    "backdoor.propensity_score_weighting", "iv.instrumental_variable", "iv.regression_discontinuity",
    "frontdoor.two_stage_regression",
)

_EXTRA = {"econml": 'pip install "causalsim[econml]"', "dowhy": 'pip install "causalsim[dowhy]"'}


# --------------------------------------------------------------------------- names
def _require(peer: str) -> Path:
    """The installed package's folder; a missing peer raises, naming the extra to install."""
    spec = importlib.util.find_spec(peer)
    if spec is None or not spec.submodule_search_locations:
        raise EstimationError(f"{peer} is not installed; the '{peer}:...' adapters need it: "
                              f"{_EXTRA[peer]}")
    return Path(next(iter(spec.submodule_search_locations)))


def _exported(init: Path) -> list[str]:
    """The names a module's ``__init__.py`` lists in ``__all__``, read without importing it."""
    try:
        tree = ast.parse(init.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            try:
                return [str(v) for v in ast.literal_eval(node.value)]
            except ValueError:
                return []
    return []


def adapter_names(peer: str) -> list[str]:
    """The names :func:`make_adapter` accepts for ``peer`` (``"econml"`` or ``"dowhy"``), installed.

    EconML's are read from the ``__all__`` of :data:`ECONML_MODULES` (without
    importing EconML, which takes seconds); DoWhy's are :data:`DOWHY_METHODS`
    whose estimator module is present.
    """
    if peer not in _EXTRA:
        raise EstimationError(f"adapter_names: peer must be 'econml' or 'dowhy', got {peer!r}")
    root = _require(peer)
    if peer == "econml":
        names = []
        for module in ECONML_MODULES:
            sub = root / module.split(".", 1)[1]
            names += _exported(sub / "__init__.py") if sub.is_dir() else _exported(sub.with_suffix(".py"))
        return [f"econml:{c}" for c in names]
    folder = root / "causal_estimators"
    return [f"dowhy:{m}" for m in DOWHY_METHODS if (folder / f"{m.split('.')[1]}_estimator.py").exists()]


def make_adapter(name: str, **kwargs: Any) -> EconMLAdapter | DoWhyAdapter:
    """An unfitted adapter for the peer estimator ``name`` (``"econml:<Class>"`` or ``"dowhy:<method>"``).

    Parameters
    ----------
    name : str
        ``econml:`` and a class of ``econml.dml``, ``econml.dr`` or
        ``econml.metalearners`` (e.g. ``econml:LinearDML``), or ``dowhy:`` and a
        DoWhy method name (e.g. ``dowhy:backdoor.propensity_score_weighting``).
    **kwargs
        The EconML class's constructor arguments, or the DoWhy estimator's
        ``init_params``; ``interval``, ``bootstrap_reps`` and ``level`` are the
        adapter's own settings (:class:`EconMLAdapter`, :class:`DoWhyAdapter`).

    Returns
    -------
    EconMLAdapter, DoWhyAdapter or DoWhyIVAdapter

    Raises
    ------
    EstimationError
        For a name without a known peer prefix, a peer that is not installed
        (naming the extra to install) or a class/method the peer does not have
        (suggesting the closest).
    """
    if not isinstance(name, str) or ":" not in name:
        raise EstimationError(f"adapter name {name!r}: write 'econml:<Class>' (e.g. 'econml:LinearDML') or "
                              "'dowhy:<method>' (e.g. 'dowhy:backdoor.propensity_score_weighting')")
    peer, _, what = (part.strip() for part in name.partition(":"))
    if peer.lower() not in _EXTRA:
        raise EstimationError(f"adapter name {name!r}: the peer must be 'econml' or 'dowhy' (e.g. "
                              "'econml:LinearDML')")
    peer = peer.lower()
    known = adapter_names(peer)
    full = f"{peer}:{what}"
    if full not in known:
        close = difflib.get_close_matches(full, known, n=1, cutoff=0.4)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise EstimationError(f"unknown adapter {name!r}: {peer} has no {what!r} (known: "
                              f"{', '.join(k.split(':', 1)[1] for k in known)}){hint}")
    own = {k: kwargs.pop(k) for k in ("interval", "bootstrap_reps", "level") if k in kwargs}
    if peer == "econml":
        return EconMLAdapter(what, params=dict(kwargs), **own)
    cls = DoWhyIVAdapter if what.startswith("iv.") else DoWhyAdapter
    return cls(what, params=dict(kwargs), **own)


# --------------------------------------------------------------------------- shared
def _names(cols: Sequence[str] | str | None) -> list[str]:
    return [cols] if isinstance(cols, str) else list(cols or [])


def _check_level(est: Any) -> None:
    lv = est.level
    if isinstance(lv, bool) or not (isinstance(lv, float | int) and 0 < lv < 1):
        raise EstimationError(f"{type(est).__name__}: level must be in (0, 1), got {lv!r}")
    reps = est.bootstrap_reps
    if isinstance(reps, bool) or not isinstance(reps, int | np.integer) or reps < 2:
        raise EstimationError(f"{type(est).__name__}: bootstrap_reps must be an integer >= 2, got {reps!r}")


def _bootstrap(est: Any, data: pd.DataFrame, roles: Mapping[str, Any], peer: str) -> Estimate:
    """A seeded bootstrap of the whole fit of ``est`` (point estimates only in the refits)."""
    from causal.estimators.bootstrap import bootstrap

    point_only = type(est)(**{**est.get_params(), "interval": "point"})
    boot = bootstrap(point_only, data, reps=int(est.bootstrap_reps), seed=est.random_state,
                     level=float(est.level), method="percentile", **roles)
    return Estimate(boot.value, boot.stderr, boot.ci_low, boot.ci_high, boot.level,
                    f"{peer} (bootstrap percentile, {est.bootstrap_reps} refits)", boot.n,
                    {**boot.diagnostics, "interval": "bootstrap"})


def _check_interval(est: Any, allowed: tuple[str, ...]) -> None:
    if est.interval not in allowed:
        raise EstimationError(f"{type(est).__name__}: interval must be one of {', '.join(allowed)}, got "
                              f"{est.interval!r}")


# --------------------------------------------------------------------------- EconML
def _default_models(cls: type, binary: bool, seed: Any) -> dict[str, Any]:
    """Seeded scikit-learn models for the constructor arguments EconML requires but leaves unset."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression, LogisticRegression

    def boosting() -> Any:
        return HistGradientBoostingRegressor(random_state=seed)

    table = {"model_y": boosting, "models": boosting, "overall_model": boosting, "final_models": boosting,
             "model_t": (lambda: LogisticRegression(max_iter=1000)) if binary else boosting,
             "model_final": boosting}
    if cls.__name__ == "DML":  # its final stage is linear in the featurised X, without intercept
        table["model_final"] = lambda: LinearRegression(fit_intercept=False)
    out = {}
    for p, v in inspect.signature(cls.__init__).parameters.items():
        if v.default is inspect.Parameter.empty and p in table:
            out[p] = table[p]()
    return out


def _econml_class(name: str) -> type:
    _require("econml")
    for module in ECONML_MODULES:
        mod = importlib.import_module(module)
        if name in getattr(mod, "__all__", ()):
            return getattr(mod, name)
    raise EstimationError(f"EconMLAdapter: econml has no estimator {name!r} in "
                          f"{', '.join(ECONML_MODULES)}; see adapter_names('econml')")


class EconMLAdapter(BaseEstimator):
    """An EconML estimator (``econml.dml``, ``econml.dr``, ``econml.metalearners``) in our protocol.

    Parameters
    ----------
    estimator : str
        The EconML class name, e.g. ``"LinearDML"``, ``"CausalForestDML"``, ``"DRLearner"``, ``"XLearner"``.
    params : dict, optional
        Constructor arguments of that class (see the module notes for the defaults filled in).
    interval : "auto", "bootstrap" or "point"
        ``"auto"``: EconML's ``ate_inference`` where the fitted class has one, else a bootstrap;
        ``"bootstrap"``: always the seeded bootstrap; ``"point"``: no interval (used inside the
        bootstrap's refits).
    bootstrap_reps : int
        Refits of the bootstrap interval.
    level : float
        Confidence level.
    random_state : int or None
        Seeds the class (when it takes ``random_state`` and none is given), the default models and
        the bootstrap.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> adapter = EconMLAdapter("LinearDML", interval="point")
    >>> adapter.effect(pd.DataFrame({"x": [0.0]}))
    Traceback (most recent call last):
    ...
    causal.errors.EstimationError: EconMLAdapter is not fitted: call fit(data, treatment=..., outcome=...) ...
    """

    def __init__(self, estimator: str = "LinearDML", params: Mapping[str, Any] | None = None,
                 interval: str = "auto", bootstrap_reps: int = 100, level: float = 0.95,
                 random_state: Any = 0) -> None:
        self.estimator = estimator
        self.params = params
        self.interval = interval
        self.bootstrap_reps = bootstrap_reps
        self.level = level
        self.random_state = random_state

    def _build(self, binary: bool) -> Any:
        cls = _econml_class(self.estimator)
        params = dict(self.params or {})
        accepted = inspect.signature(cls.__init__).parameters
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            args = ", ".join(p for p in accepted if p != "self")
            raise EstimationError(f"econml:{self.estimator} takes no argument "
                                  f"{', '.join(map(repr, unknown))}; its arguments: {args}")
        defaults = _default_models(cls, binary, self.random_state)
        if "random_state" in accepted and "random_state" not in params:
            defaults["random_state"] = self.random_state
        if binary and "discrete_treatment" in accepted and "discrete_treatment" not in params:
            defaults["discrete_treatment"] = True
        try:
            return cls(**{**defaults, **params})
        except (TypeError, ValueError) as err:
            raise EstimationError(f"econml:{self.estimator}: {err}") from None

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None,
            effect_modifiers: Sequence[str] | str | None = None) -> EconMLAdapter:
        """Fit the EconML estimator on ``data``; return ``self``.

        Raises
        ------
        EstimationError
            Missing or non-numeric columns, no features for a metalearner, EconML
            not installed, an unknown class or constructor argument, or any
            failure of the EconML fit (its message quoted).
        """
        name = f"econml:{self.estimator}"
        _check_level(self)
        _check_interval(self, ("auto", "bootstrap", "point"))
        covs, mods = _names(covariates), _names(effect_modifiers)
        frame = check_columns(data, estimator=name, treatment=treatment, outcome=outcome, covariates=covs,
                              effect_modifiers=mods)
        t = frame[treatment].to_numpy(dtype=float)
        levels = np.unique(t)
        if len(levels) < 2:
            raise EstimationError(f"{name}: the treatment {treatment!r} is constant; there is no contrast")
        binary = bool(np.array_equal(levels, [0.0, 1.0]))
        est = self._build(binary)
        meta = type(est).__module__.startswith("econml.metalearners")
        if meta:
            xcols, wcols = mods + [c for c in covs if c not in mods], []
            if not xcols:
                raise EstimationError(f"{name}: a metalearner needs features: give covariates and/or "
                                      "effect_modifiers")
        else:
            xcols, wcols = mods, [c for c in covs if c not in mods]
        X = frame[xcols].to_numpy(dtype=float) if xcols else None
        W = frame[wcols].to_numpy(dtype=float) if wcols else None
        y = frame[outcome].to_numpy(dtype=float)
        kwargs: dict[str, Any] = {"X": X} if meta else {"X": X, "W": W}
        if self.interval == "auto" and not meta:  # the metalearners offer only EconML's unseeded bootstrap
            kwargs["inference"] = "auto"
        try:
            est.fit(y, t, **kwargs)
        except EstimationError:
            raise
        except Exception as err:  # noqa: BLE001 - a peer's failure becomes ours, with its message
            raise EstimationError(f"{name} failed to fit: {type(err).__name__}: "
                                  f"{' '.join(str(err).split())[:300]}") from None
        self.model_, self.features_, self.effect_modifiers_ = est, xcols, mods
        self.X_, self.n_ = X, len(frame)
        self._roles = {"treatment": treatment, "outcome": outcome, "covariates": covs,
                       "effect_modifiers": mods}
        self._data = frame
        self.fitted_ = True
        return self

    def _point(self) -> float:
        return float(np.ravel(self.model_.ate(self.X_))[0])

    def ate(self) -> Estimate:
        """The average effect over the fitted units, with EconML's interval or a bootstrap one."""
        self._check_fitted()
        method = f"econml:{self.estimator}"
        if self.interval == "point":
            return Estimate(self._point(), float("nan"), float("nan"), float("nan"), float(self.level),
                            method, self.n_, {"interval": "none"})
        if self.interval == "auto":
            try:
                inf = self.model_.ate_inference(self.X_)
                value, se = float(np.ravel(inf.mean_point)[0]), float(np.ravel(inf.stderr_mean)[0])
            except Exception:  # noqa: BLE001 - no inference for this class: bootstrap instead
                value, se = float("nan"), float("nan")
            if np.isfinite(value) and np.isfinite(se):
                return Estimate.normal(value, se, method=method, n=self.n_, level=float(self.level),
                                       diagnostics={"interval": "econml ate_inference (stderr_mean)"})
        return _bootstrap(self, self._data, self._roles, method)

    def _rows(self, X: Any) -> np.ndarray:
        self._check_fitted()
        name = f"econml:{self.estimator}"
        cols = self.features_
        if not cols:
            raise EstimationError(f"{name}: the CATE needs effect modifiers; fit with effect_modifiers=[...]")
        if isinstance(X, pd.DataFrame):
            return check_columns(X, estimator=name, effect_modifiers=cols).to_numpy(dtype=float)
        arr = np.asarray(X, dtype=float)
        if arr.ndim == 1 and len(cols) == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[1] != len(cols) or not np.isfinite(arr).all():
            raise EstimationError(f"{name}: X must be a DataFrame with columns {cols} or a finite array of "
                                  f"shape (n, {len(cols)})")
        return arr

    def effect(self, X: Any) -> np.ndarray:
        """EconML's CATE at the rows of ``X`` (the effect modifiers; for metalearners all features)."""
        rows = self._rows(X)
        return np.ravel(self.model_.effect(rows)).astype(float)

    def cate(self, data: pd.DataFrame) -> np.ndarray:
        return self.effect(data)

    def effect_interval(self, X: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """EconML's pointwise ``1 - alpha`` CATE intervals, where the fitted class has inference."""
        rows = self._rows(X)
        if isinstance(alpha, bool) or not (isinstance(alpha, float | int) and 0 < alpha < 1):
            raise EstimationError(f"econml:{self.estimator}: alpha must be in (0, 1), got {alpha!r}")
        try:
            lo, hi = self.model_.effect_interval(rows, alpha=float(alpha))
        except Exception as err:  # noqa: BLE001
            raise EstimationError(f"econml:{self.estimator} gives no CATE intervals here: "
                                  f"{' '.join(str(err).split())[:200]}") from None
        return np.ravel(lo).astype(float), np.ravel(hi).astype(float)


# --------------------------------------------------------------------------- DoWhy
class DoWhyAdapter(BaseEstimator):
    """A DoWhy ``CausalModel`` estimation method (``backdoor.*``, ``frontdoor.*``) in our protocol.

    Parameters
    ----------
    method : str
        DoWhy's ``method_name``, e.g. ``"backdoor.propensity_score_matching"``.
    params : dict, optional
        The DoWhy estimator's ``init_params``.
    interval : "bootstrap" or "point"
        The seeded bootstrap of the whole estimation, or none (inside the bootstrap's refits).
    bootstrap_reps, level, random_state
        As for :class:`EconMLAdapter` (``random_state`` seeds the bootstrap).
    """

    def __init__(self, method: str = "backdoor.propensity_score_weighting",
                 params: Mapping[str, Any] | None = None, interval: str = "bootstrap",
                 bootstrap_reps: int = 100, level: float = 0.95, random_state: Any = 0) -> None:
        self.method = method
        self.params = params
        self.interval = interval
        self.bootstrap_reps = bootstrap_reps
        self.level = level
        self.random_state = random_state

    def _estimate(self, data: pd.DataFrame, treatment: str, outcome: str, covs: list[str],
                  mods: list[str], instrument: str | None) -> float:
        name = f"dowhy:{self.method}"
        _require("dowhy")
        import logging

        from dowhy import CausalModel

        logging.getLogger("dowhy").setLevel(logging.WARNING)
        cols = list(dict.fromkeys([treatment, outcome, *covs, *mods, *([instrument] if instrument else [])]))
        frame = data[cols].copy()  # DoWhy writes propensity scores into the frame it is given
        try:
            model = CausalModel(data=frame, treatment=treatment, outcome=outcome, common_causes=covs or None,
                                effect_modifiers=mods or None,
                                instruments=[instrument] if instrument else None)
            estimand = model.identify_effect(proceed_when_unidentifiable=True)
            est = model.estimate_effect(estimand, method_name=self.method, target_units="ate",
                                        method_params={"init_params": dict(self.params or {})})
            value = float(np.ravel(est.value)[0])
        except Exception as err:  # noqa: BLE001 - a peer's failure becomes ours, with its message
            raise EstimationError(f"{name} failed: {type(err).__name__}: "
                                  f"{' '.join(str(err).split())[:300]}") from None
        if not np.isfinite(value):
            raise EstimationError(f"{name}: the estimate is not finite ({value}); check overlap")
        return value

    def _fit(self, data: pd.DataFrame, treatment: str, outcome: str, covariates: Any, effect_modifiers: Any,
             instrument: str | None) -> DoWhyAdapter:
        name = f"dowhy:{self.method}"
        _check_level(self)
        _check_interval(self, ("bootstrap", "point"))
        covs, mods = _names(covariates), _names(effect_modifiers)
        roles: dict[str, Any] = {"treatment": treatment, "outcome": outcome, "covariates": covs}
        if instrument is not None:
            roles["instrument"] = instrument
        check_columns(data, estimator=name, **roles, effect_modifiers=mods)
        t = data[treatment].to_numpy(dtype=float)
        if len(np.unique(t)) < 2:
            raise EstimationError(f"{name}: the treatment {treatment!r} is constant; there is no contrast")
        self.value_ = self._estimate(data, treatment, outcome, covs, mods, instrument)
        self.n_ = len(data)
        self._roles = {**roles, "effect_modifiers": mods} if instrument is None else roles
        self._data = data
        self.fitted_ = True
        return self

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,
            covariates: Sequence[str] | str | None = None,
            effect_modifiers: Sequence[str] | str | None = None) -> DoWhyAdapter:
        """Build the ``CausalModel``, identify and estimate the effect; return ``self``."""
        return self._fit(data, treatment, outcome, covariates, effect_modifiers, None)

    def ate(self) -> Estimate:
        """DoWhy's estimate with a seeded bootstrap interval (``bootstrap_reps`` re-estimations)."""
        self._check_fitted()
        method = f"dowhy:{self.method}"
        if self.interval == "point":
            return Estimate(self.value_, float("nan"), float("nan"), float("nan"), float(self.level), method,
                            self.n_, {"interval": "none"})
        return _bootstrap(self, self._data, self._roles, method)


class DoWhyIVAdapter(DoWhyAdapter):
    """A DoWhy instrumental-variable method (``iv.*``); ``fit`` takes the ``instrument``."""

    def __init__(self, method: str = "iv.instrumental_variable", params: Mapping[str, Any] | None = None,
                 interval: str = "bootstrap", bootstrap_reps: int = 100, level: float = 0.95,
                 random_state: Any = 0) -> None:
        super().__init__(method, params, interval, bootstrap_reps, level, random_state)

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str,  # type: ignore[override]
            instrument: str, covariates: Sequence[str] | str | None = None) -> DoWhyIVAdapter:
        """Build the ``CausalModel`` with ``instrument``, identify and estimate; return ``self``."""
        self._fit(data, treatment, outcome, covariates, None, instrument)
        return self
