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

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any

import numpy as np

from causal.errors import EstimationError
from causal.estimators._checks_contract import (
    check_clone,
    check_fit_returns_self,
    check_get_set_params,
    check_init_stores_params,
    check_no_global_random_state,
    check_not_fitted,
    check_pickle,
    check_refit_forgets,
    check_same_data_same_bytes,
)
from causal.estimators._checks_data import (
    check_bad_instrument,
    check_constant_treatment,
    check_empty_data,
    check_missing_column,
    check_nan_and_inf,
    check_poor_overlap,
    check_separation,
)
from causal.estimators._checks_harness import _clone, _fail, _Failed, _name, _outputs, _quiet
from causal.estimators.base import Estimate
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

__all__ = ["check_estimator", "estimator_checks", "parametrize_with_checks", "CHECKS", "COVERAGE_LEVEL",
           # the known designs (causal.estimators.designs), to check an estimator on a design of one's own
           "Design", "DESIGNS", "design_for", "backdoor_design", "cate_design", "experiment_design",
           "iv_design", "frontdoor_design", "panel_design", "synth_design"]

#: Level of the coverage check. A calibrated interval misses the truth of a design with probability
#: 1 - COVERAGE_LEVEL = 0.001 per seed: the false-failure rate of the check, were the seed drawn at random.
COVERAGE_LEVEL = 0.999


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
