"""The checks of the estimator contract: scikit-learn's conventions, determinism, pickling.

Checks of :func:`causal.estimators.checks.check_estimator` that hold for any
estimator whatever its data: ``__init__`` stores its keyword arguments and
nothing else, ``get_params``/``set_params`` round-trip, ``clone`` gives a new
unfitted estimator, ``ate()`` before ``fit`` refuses, ``fit`` returns ``self``
and changes neither its parameters nor the data, fits are the same bytes (again,
on a clone, on a copy of the data, after a fit on other data), the global random
state is untouched and a fitted estimator survives ``pickle``.
"""

from __future__ import annotations

import inspect
import pickle
import random
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from causal.errors import EstimationError
from causal.estimators._checks_harness import (
    _bytes,
    _clone,
    _fail,
    _fingerprint,
    _fitted,
    _gives_ate,
    _outputs,
    _param_hash,
    _same,
    _supports_att,
)
from causal.estimators.designs import Design

__all__ = ["check_init_stores_params", "check_get_set_params", "check_not_fitted", "check_fit_returns_self",
           "check_clone", "check_same_data_same_bytes", "check_refit_forgets", "check_no_global_random_state",
           "check_pickle"]


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
