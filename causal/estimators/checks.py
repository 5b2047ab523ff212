"""Conformance checks that every effect estimator passes (scikit-learn's ``check_estimator``).

scikit-learn runs ``parametrize_with_checks`` on every estimator it ships and
Gymnasium runs ``check_env`` on every registered environment;
:func:`check_estimator` is the same idea for causalsim's effect estimators, as
:func:`sim.checks.check_scenario` is for scenarios. It checks the promises of
the protocol in :mod:`causal.estimators.base` — the scikit-learn contract
(``__init__`` stores parameters, ``fit`` returns ``self``, ``clone`` works),
determinism (same data, same bytes), clear errors on bad data, and an interval
that covers the truth of a small design with a known effect.

Each estimator is checked on a *known design*: a seeded data frame whose true
effect follows from the estimator's identification strategy (back-door
adjustment, a randomised experiment, an instrument, a front-door mediator, a
panel with parallel trends, a single treated unit with a synthetic control).
:data:`~causal.estimators.designs.DESIGNS` maps each estimator class to its
design (:mod:`causal.estimators.designs`); ``design=`` checks an estimator of
your own on a design of your own.

Examples
--------
>>> from causal.estimators import DifferenceInMeans
>>> check_estimator(DifferenceInMeans())
>>> [name for name, _ in estimator_checks(DifferenceInMeans())][:3]
['init stores params', 'get_params and set_params', 'clone']

A user-defined estimator is checked on one of the designs (or on its own):

>>> check_estimator(DifferenceInMeans(), design=experiment_design(seed=1, n=500))
"""

from __future__ import annotations

import inspect
import math
import pickle
import random
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators.base import BaseEstimator, Estimate
from causal.estimators.designs import (
    DESIGNS,
    Design,
    backdoor_design,
    cate_design,
    design_for,
    experiment_design,
    frontdoor_design,
    iv_design,
    panel_design,
    synth_design,
)
from causal.estimators.iv import WeakInstrumentWarning
from causal.estimators.weighting import OverlapWarning

__all__ = ["check_estimator", "estimator_checks", "parametrize_with_checks", "CHECKS", "COVERAGE_LEVEL",
           # the known designs (causal.estimators.designs), to check an estimator on a design of one's own
           "Design", "DESIGNS", "design_for", "backdoor_design", "cate_design", "experiment_design",
           "iv_design", "frontdoor_design", "panel_design", "synth_design"]

#: Level of the coverage check. A calibrated interval misses the truth of a design with probability
#: 1 - COVERAGE_LEVEL = 0.001 per seed: the false-failure rate of the check, were the seed drawn at random.
COVERAGE_LEVEL = 0.999


# ----------------------------------------------------------------------------- helpers
class _Failed(AssertionError):
    """A property does not hold (internal; :func:`_run` adds the estimator and the check's name)."""


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


# ----------------------------------------------------------------------------- the checks
def check_init_stores_params(est: Any, design: Design) -> None:
    """``__init__`` stores each keyword argument under its own name and does nothing else.

    No ``*args``/``**kwargs``; after construction the instance holds exactly the
    parameters, each the very object passed; construction with arbitrary
    objects for every parameter does not validate (validation belongs in ``fit``).
    """
    cls = type(est)
    sig = inspect.signature(cls.__init__).parameters
    params = [p for p in sig if p != "self"]
    for p in params:
        if sig[p].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise _fail(f"__init__ takes *{p}: parameters must be explicit keyword arguments")
    sentinels = {p: object() for p in params}
    try:
        fresh = cls(**sentinels)
    except Exception as err:
        raise _fail(f"__init__ validates its arguments ({type(err).__name__}: {err}); store them as "
                    "given and validate in fit") from None
    extra = sorted(set(vars(fresh)) - set(params))
    if extra:
        raise _fail(f"__init__ sets attributes {extra} beyond its parameters")
    for p, v in sentinels.items():
        if getattr(fresh, p, None) is not v:
            raise _fail(f"__init__ does not store parameter {p!r} as given under the same name")
    defaults = cls()
    extra = sorted(set(vars(defaults)) - set(params))
    if extra:
        raise _fail(f"__init__ with defaults sets attributes {extra} beyond its parameters")


def check_get_set_params(est: Any, design: Design) -> None:
    """``get_params`` returns the constructor's arguments unchanged; ``set_params`` round-trips
    and rejects an unknown name with an :class:`EstimationError`."""
    params = est.get_params()
    names = [p for p in inspect.signature(type(est).__init__).parameters if p != "self"]
    if sorted(params) != sorted(names):
        raise _fail(f"get_params() keys {sorted(params)} are not the __init__ parameters {sorted(names)}")
    rebuilt = type(est)(**params)
    for k, v in rebuilt.get_params().items():
        if v is not params[k]:
            raise _fail(f"get_params()[{k!r}] of an estimator built from get_params() is not the object "
                        "passed")
    other = type(est)()
    if other.set_params(**params) is not other:
        raise _fail("set_params() does not return self")
    for k, v in other.get_params().items():
        if v is not params[k]:
            raise _fail(f"set_params({k}=...) does not store the object given")
    try:
        type(est)().set_params(no_such_parameter=1)
    except EstimationError as err:
        if "no_such_parameter" not in str(err):
            raise _fail(f"set_params with an unknown name: the error does not name it: {err}") from None
    else:
        raise _fail("set_params(no_such_parameter=1) did not raise")


def check_not_fitted(est: Any, design: Design) -> None:
    """``ate()`` (and ``att()``, and ``effect(X)`` of a CATE estimator) before ``fit`` raise an
    :class:`EstimationError` saying so."""
    fresh = _clone(est)
    calls: dict[str, Callable[[], Any]] = {}
    if _gives_ate(est):
        calls["ate"] = fresh.ate
        if _supports_att(est):
            calls["att"] = fresh.att
    if callable(getattr(est, "effect", None)) and design.roles.get("effect_modifiers"):
        calls["effect"] = partial(fresh.effect, design.data)
    for m, call in calls.items():
        try:
            call()
        except EstimationError as err:
            if "not fitted" not in str(err).lower():
                raise _fail(f"{m}() before fit: the error does not say the estimator is not fitted: "
                            f"{err}") from None
        except Exception as err:
            raise _fail(f"{m}() before fit raised {type(err).__name__} ({err}), not EstimationError") \
                from None
        else:
            raise _fail(f"{m}() before fit returned a result")


def check_fit_returns_self(est: Any, design: Design) -> None:
    """``fit`` returns the estimator itself, leaves its parameters and the data unchanged."""
    fresh = _clone(est)
    before = _param_hash(fresh.get_params())
    data = design.data.copy()
    data_before = _fingerprint(data)
    out = _fitted(fresh, Design(data, design.roles, design.truth, design.kind))
    if out is not fresh:
        raise _fail(f"fit returned {type(out).__name__}, not self")
    after = _param_hash(fresh.get_params())
    changed = sorted(k for k in before if before[k] != after[k])
    if changed:
        raise _fail(f"fit changed the parameters {changed}; fit a copy of a model parameter "
                    "(sklearn.base.clone) and keep learned state in attributes ending in '_'")
    if _fingerprint(data) != data_before:
        raise _fail("fit modified the data frame it was given")


def check_clone(est: Any, design: Design) -> None:
    """``sklearn.base.clone`` gives a new, unfitted estimator with equal parameters."""
    fitted = _fitted(_clone(est), design)
    for source, what in ((est, "an unfitted"), (fitted, "a fitted")):
        try:
            copy = _clone(source)
        except Exception as err:
            raise _fail(f"sklearn.base.clone of {what} estimator failed: {type(err).__name__}: "
                        f"{err}") from None
        if copy is source or type(copy) is not type(source):
            raise _fail(f"clone of {what} estimator is not a new {type(source).__name__}")
        for k, v in source.get_params().items():
            w = copy.get_params()[k]
            if hasattr(v, "get_params"):
                if type(w) is not type(v) or repr(w.get_params()) != repr(v.get_params()):
                    raise _fail(f"clone: parameter {k!r} is not an equal model")
            elif not _same(w, v):
                raise _fail(f"clone: parameter {k!r} is {w!r}, not {v!r}")
        if getattr(copy, "fitted_", False) or any(a.endswith("_") for a in vars(copy)):
            raise _fail(f"clone of {what} estimator carries fitted state")
    try:
        _clone(fitted).ate()
    except EstimationError:
        pass
    else:
        raise _fail("ate() of a clone of a fitted estimator returned a result: the clone is fitted")


def check_same_data_same_bytes(est: Any, design: Design) -> None:
    """Fitting again — the same object, a clone, on a copy of the data — gives identical bytes."""
    first = _bytes(_outputs(_fitted(_clone(est), design), design))
    refit = _clone(est)
    _fitted(refit, design)
    runs = {"a second fit of the same estimator": _bytes(_outputs(_fitted(refit, design), design)),
            "a clone": _bytes(_outputs(_fitted(_clone(est), design), design)),
            "a copy of the data": _bytes(_outputs(_fitted(
                _clone(est), Design(design.data.copy(), design.roles, design.truth, design.kind)), design))}
    for what, got in runs.items():
        for target in first:
            if got.get(target) != first[target]:
                raise _fail(f"{target}() differs between a fit and {what} on the same data "
                            "(estimate, stderr and interval must be the same bytes by default)")


def check_refit_forgets(est: Any, design: Design) -> None:
    """A fit on other data and then on the design's gives the bytes of a fresh fit on the design's."""
    other = design.data.copy()
    y = design.outcome
    other[y] = 3.0 * other[y] + 1.0
    used = _clone(est)
    _fitted(used, Design(other, design.roles, design.truth, design.kind))
    got = _bytes(_outputs(_fitted(used, design), design))
    want = _bytes(_outputs(_fitted(_clone(est), design), design))
    if got != want:
        raise _fail("a refit keeps state from the previous fit: the estimates differ from a fresh fit's")


def check_no_global_random_state(est: Any, design: Design) -> None:
    """``fit`` neither reads nor advances NumPy's or Python's global random state."""
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        _fitted(_clone(est), design)
        now_np, now_py = np.random.get_state(), random.getstate()
        same_np = all(np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b
                      for a, b in zip(np_state, now_np, strict=True))
        if not same_np or now_py != py_state:
            raise _fail("fit advanced the global random state (np.random or random); take randomness from "
                        "a parameter (random_state) instead")
    finally:  # leave the process as it was, whatever happened
        np.random.set_state(np_state)
        random.setstate(py_state)


def check_pickle(est: Any, design: Design) -> None:
    """A fitted estimator survives ``pickle`` with the same estimates."""
    fitted = _fitted(_clone(est), design)
    want = _bytes(_outputs(fitted, design))
    try:
        back = pickle.loads(pickle.dumps(fitted))
    except Exception as err:
        raise _fail(f"a fitted estimator cannot be pickled: {type(err).__name__}: {err}") from None
    if _bytes(_outputs(back, design)) != want:
        raise _fail("the unpickled estimator gives other estimates")


def check_empty_data(est: Any, design: Design) -> None:
    """A data frame with no rows raises an :class:`EstimationError` saying so."""
    _expect_error(est, design, design.data.iloc[:0], "empty data", r"no rows|empty|\b0 rows")


def check_missing_column(est: Any, design: Design) -> None:
    """Each role's column, dropped from the data, is named by the :class:`EstimationError`."""
    for col, role in design.columns().items():
        _expect_error(est, design, design.data.drop(columns=[col]), f"{role} column {col!r} missing",
                      re.escape(repr(col)))


def check_nan_and_inf(est: Any, design: Design) -> None:
    """A NaN in any role's column, or an infinite outcome, raises an error naming the column."""
    labels = {design.roles.get("unit"), design.roles.get("time")}
    for col, role in design.columns().items():
        data = design.data.copy()
        data[col] = data[col].astype(float)
        data.iloc[len(data) // 2, data.columns.get_loc(col)] = np.nan
        _expect_error(est, design, data, f"NaN in the {role} column {col!r}",
                      re.escape(repr(col)) + r".*(missing|NaN)|(missing|NaN).*" + re.escape(repr(col)))
        if col in labels:
            continue
        data[col] = design.data[col].astype(float)
        data.iloc[len(data) // 3, data.columns.get_loc(col)] = np.inf
        _expect_error(est, design, data, f"inf in the {role} column {col!r}",
                      re.escape(repr(col)) + r".*infinite|infinite.*" + re.escape(repr(col)))


def check_constant_treatment(est: Any, design: Design) -> None:
    """A constant treatment (all 0, all 1) raises an :class:`EstimationError`: there is no contrast."""
    t = design.treatment
    for value in (0, 1):
        data = design.data.copy()
        data[t] = value
        _expect_error(est, design, data, f"constant treatment ({t} = {value})",
                      r"constant|no contrast|does not move|no treated|not identified|rank deficient")


def check_separation(est: Any, design: Design) -> None:
    """Back-door designs: covariates that perfectly separate the arms raise or warn."""
    if design.kind != "backdoor":
        return
    data = design.data.copy()
    x = design.roles["covariates"][0]
    data[design.treatment] = (data[x] > data[x].median()).astype(int)
    _expect_error(est, design, data, f"treatment perfectly separated by {x!r}",
                  r"separat|propensity of exactly|overlap", warning=(OverlapWarning,))


def check_poor_overlap(est: Any, design: Design) -> None:
    """Back-door designs: propensities close to 0 and 1 (no overlap in the tails) raise or warn."""
    if design.kind != "backdoor":
        return
    data = design.data.copy()
    x = design.roles["covariates"][0]
    rng = np.random.default_rng(12345)
    data[design.treatment] = (rng.random(len(data)) * (1 + np.exp(-6.0 * data[x].to_numpy())) < 1).astype(int)
    _expect_error(est, design, data, "poor overlap (propensity sigmoid(6 x))",
                  r"separat|propensity|overlap", warning=(OverlapWarning,))


def check_bad_instrument(est: Any, design: Design) -> None:
    """IV designs: the treatment (or a copy of it) as instrument, and an instrument that does not
    move the treatment, raise an :class:`EstimationError` (a weak one may warn instead)."""
    if design.kind != "iv":
        return
    t, z = design.treatment, design.roles["instrument"]
    _expect_error(est, design, design.data, "instrument = the treatment column", r"instrument", instrument=t)
    data = design.data.copy()
    data["t_copy"] = data[t]
    _expect_error(est, design, data, "instrument = a copy of the treatment", r"instrument.*treatment",
                  instrument="t_copy")
    # an irrelevant instrument, exactly: every unit appears once with z = 0 and once with z = 1
    half = design.data.iloc[: len(design.data) // 2]
    twice = pd.concat([half.assign(**{z: 0}), half.assign(**{z: 1})], ignore_index=True)
    _expect_error(est, design, twice, "instrument independent of the treatment",
                  r"instrument|first stage|does not move|rank deficient", warning=(WeakInstrumentWarning,))


def check_covers_truth(est: Any, design: Design) -> None:
    """On the known design the fit is silent, estimates and standard errors are finite, and the
    ``COVERAGE_LEVEL`` interval covers the truth (as does ``value ± z stderr``).

    With a calibrated interval the check fails with probability 0.001 per seed (1 - COVERAGE_LEVEL).
    A CATE estimator on a design that knows each row's effect (:func:`~causal.estimators.designs.
    cate_design`) must also give finite effects at the rows whose PEHE is below that of the
    constant predictor of the true ATE (on ``cate_design``'s 2,000 rows that PEHE is about 1, a
    working learner's about 0.1-0.3, so the false-failure rate is negligible).
    """
    from scipy.special import ndtri

    from causal.estimators.metrics import pehe

    fresh = _clone(est)
    if "level" in fresh.get_params():
        fresh.set_params(level=COVERAGE_LEVEL)
    fitted, caught = _quiet(lambda: design.fit(fresh))
    if caught:
        w = caught[0]
        raise _fail(f"fit on the known design warned: {w.category.__name__}: {w.message}")
    z = float(ndtri(0.5 + COVERAGE_LEVEL / 2))
    for target, e in _outputs(fitted, design).items():
        if target == "effect":
            _check_effect(e, design, pehe)
            continue
        if not isinstance(e, Estimate):
            raise _fail(f"{target}() returned {type(e).__name__}, not an Estimate")
        if not (math.isfinite(e.value) and math.isfinite(e.stderr) and e.stderr > 0):
            raise _fail(f"{target}(): estimate {e.value} or stderr {e.stderr} is not finite and positive")
        if not (e.ci_low <= e.value <= e.ci_high):
            raise _fail(f"{target}(): the interval [{e.ci_low:.4g}, {e.ci_high:.4g}] does not contain the "
                        f"estimate {e.value:.4g}")
        if not e.covers(design.truth):
            raise _fail(f"{target}(): the {e.level:g} interval [{e.ci_low:.4g}, {e.ci_high:.4g}] misses the "
                        f"truth {design.truth:g} of the {design.name or design.kind} design")
        if abs(e.value - design.truth) > z * e.stderr:
            k = abs(e.value - design.truth) / e.stderr
            raise _fail(f"{target}(): the estimate {e.value:.4g} is {k:.1f} standard errors ({e.stderr:.3g}) "
                        f"from the truth {design.truth:g}")


def _check_effect(effect: np.ndarray, design: Design, pehe: Callable[[Any, Any], float]) -> None:
    """``effect(X)`` at the design's rows: one finite value per row, closer to the true CATE than the
    true ATE is."""
    truth = np.asarray(design.cate, dtype=float)
    if effect.shape != truth.shape:
        raise _fail(f"effect(X) returned shape {effect.shape} for {len(truth)} rows; give one effect per row")
    if not np.isfinite(effect).all():
        raise _fail("effect(X) returned missing or infinite values on the known design")
    got, constant = pehe(effect, truth), pehe(np.full(len(truth), design.truth), truth)
    if not got < constant:
        raise _fail(f"effect(X): PEHE {got:.3g} against the true CATE is not below the constant true "
                    f"ATE's {constant:.3g} on the {design.name or design.kind} design")


#: Every check, in the order :func:`check_estimator` runs them.
CHECKS: Mapping[str, Callable[[Any, Design], None]] = {
    "init stores params": check_init_stores_params,
    "get_params and set_params": check_get_set_params,
    "clone": check_clone,
    "not fitted": check_not_fitted,
    "fit returns self": check_fit_returns_self,
    "same data, same bytes": check_same_data_same_bytes,
    "refit forgets": check_refit_forgets,
    "no global random state": check_no_global_random_state,
    "pickle": check_pickle,
    "empty data": check_empty_data,
    "missing column": check_missing_column,
    "NaN and inf": check_nan_and_inf,
    "constant treatment": check_constant_treatment,
    "perfect separation": check_separation,
    "poor overlap": check_poor_overlap,
    "bad instrument": check_bad_instrument,
    "covers the truth": check_covers_truth,
}


def _run(name: str, fn: Callable[[Any, Design], None], est: Any, design: Design) -> None:
    try:
        fn(est, design)
    except _Failed as err:
        raise AssertionError(f"check_estimator({_name(est)}): check {name!r} failed: {err}") from None


def estimator_checks(est: Any, *, seed: int = 0,
                     design: Design | None = None) -> Iterator[tuple[str, Callable[[Any], None]]]:
    """``(name, check)`` for every check; ``check(est)`` runs it and raises AssertionError on failure.

    The design is built once here (``design_for(est, seed)`` unless given); the
    checks applicable to its kind only (separation and overlap: back-door;
    bad instrument: IV) do nothing for other kinds.
    """
    design = design_for(est, seed) if design is None else design
    if not isinstance(design, Design):
        raise EstimationError(f"check_estimator: design must be a causal.estimators.checks.Design, got "
                              f"{type(design).__name__}")
    for name, fn in CHECKS.items():
        yield name, partial(_run, name, fn, design=design)


def check_estimator(est: Any, *, seed: int = 0, design: Design | None = None) -> None:
    """Check that ``est`` honours the estimator protocol; raise on the first failure.

    The checks, in order (each name appears in the error message when it fails):

    ``init stores params``
        ``__init__`` takes explicit keyword arguments and stores each, as the
        very object given, under its own name — nothing else, no validation.
    ``get_params and set_params``
        ``get_params`` returns the constructor's arguments unchanged;
        ``set_params`` stores them and returns ``self``; an unknown name raises
        :class:`~causal.errors.EstimationError` naming it.
    ``clone``
        :func:`sklearn.base.clone` of an unfitted and of a fitted estimator is a
        new, unfitted estimator with equal parameters.
    ``not fitted``
        ``ate()`` (and ``att()``) before ``fit`` raise ``EstimationError``
        saying the estimator is not fitted.
    ``fit returns self``
        ``fit`` returns the estimator; its parameters and the data are unchanged.
    ``same data, same bytes``
        A second fit, a clone's fit and a fit on a copy of the data give the
        same bytes for the estimate, standard error and interval (of ``ate()``
        and ``att()``).
    ``refit forgets``
        A fit on other data and then on the design's equals a fresh fit.
    ``no global random state``
        ``fit`` leaves NumPy's and Python's global random state untouched.
    ``pickle``
        A fitted estimator pickles and gives the same estimates back.
    ``empty data``, ``missing column``, ``NaN and inf``, ``constant treatment``
        Raise ``EstimationError`` whose message names the problem (the column).
    ``perfect separation``, ``poor overlap``
        (back-door designs) Raise ``EstimationError`` or warn with
        :class:`~causal.estimators.OverlapWarning`.
    ``bad instrument``
        (IV designs) The treatment or a copy of it as instrument raises; an
        instrument that does not move the treatment raises or warns with
        :class:`~causal.estimators.WeakInstrumentWarning`.
    ``covers the truth``
        On the known design, a silent fit; finite estimates and positive
        standard errors; the 99.9% interval (``COVERAGE_LEVEL``) contains the
        estimate and the truth, and the estimate is within ``z_{0.9995}``
        standard errors of it. A calibrated estimator fails this with
        probability 0.001 per seed. A CATE estimator (``effect(X)``) on a
        design with effect modifiers: finite effects at the design's rows, with
        a PEHE below the constant true ATE's. Estimators whose class sets
        ``ate_interval = False`` (a plug-in average of a learned CATE has no
        valid interval) are checked on ``effect(X)`` only, here and in the
        determinism, refit, pickle and not-fitted checks.

    Parameters
    ----------
    est : estimator
        An instance (its parameters are checked as given; it is cloned before
        every fit and never fitted itself).
    seed : int
        Seed of the known design.
    design : Design, optional
        The data set, roles and truth to check on; default
        :func:`design_for` ``(est, seed)``.

    Raises
    ------
    AssertionError
        Naming the estimator and the failed check.
    EstimationError
        When there is no known design for the estimator (and none is given).
    """
    for _, check in estimator_checks(est, seed=seed, design=design):
        check(est)


def parametrize_with_checks(estimators: Iterable[Any], *, seed: int = 0,
                            expected_failed_checks: Callable[[Any], Mapping[str, str]] | None = None) -> Any:
    """A ``pytest.mark.parametrize("estimator, check", ...)`` over every estimator and check.

    Use as scikit-learn's of the same name::

        @parametrize_with_checks([IPW(), AIPW()])
        def test_conformance(estimator, check):
            check(estimator)

    ``expected_failed_checks(estimator)`` maps the names of the checks known to
    fail for that estimator to the reason; those cases are marked
    ``xfail(strict=True)``, so they fail the suite once they pass.
    """
    import pytest  # the test runner is needed only by test suites

    params = []
    for est in estimators:
        expected = dict(expected_failed_checks(est)) if expected_failed_checks else {}
        checks = dict(estimator_checks(est, seed=seed))
        unknown = sorted(set(expected) - set(checks))
        if unknown:
            raise EstimationError(f"parametrize_with_checks: no checks named {unknown}; the checks: "
                                  f"{', '.join(checks)}")
        for name, check in checks.items():
            marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=expected[name])] \
                if name in expected else []
            params.append(pytest.param(est, check, id=f"{_name(est)}-{name}", marks=marks))
    return pytest.mark.parametrize("estimator, check", params)
