"""The Wald (1940) ratio estimator for a single binary instrument.

See :mod:`causal.estimators.iv` for the instrumental-variables background;
moved out of that module unchanged and still importable from it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.estimators._iv_checks import (
    _COLLINEAR,
    WeakInstrumentWarning,
    _as_list,
    _check_distinct,
    _check_level,
    _check_roles,
    _check_weak_f,
)
from causal.estimators.base import BaseEstimator, Estimate, as_binary, check_columns

__all__ = ["Wald"]


class Wald(BaseEstimator):
    r"""The Wald (1940) ratio for a binary instrument, with a delta-method standard error.

    .. math::

        \hat\beta = \frac{\bar Y_{Z=1} - \bar Y_{Z=0}}{\bar T_{Z=1} - \bar T_{Z=0}}

    For a binary treatment and monotone instrument it is the LATE of the
    compliers (Imbens & Angrist 1994); it equals 2SLS with ``Z`` as the only
    instrument and no covariates. The standard error linearises the ratio:
    with ``e = Y - beta T``, ``SE = sqrt(s²_1(e)/n_1 + s²_0(e)/n_0) / |dT|``
    (sample variances within the instrument arms).

    Parameters
    ----------
    weak_f : float
        Warn with :class:`WeakInstrumentWarning` when the first-stage F
        (the squared t statistic of ``dT``) is below this; 0 disables.
    level : float

    Attributes
    ----------
    ate_, stderr_ : float
    first_stage_diff_ : float
        ``mean(T | Z=1) - mean(T | Z=0)`` — the complier share for a binary
        treatment under monotonicity.
    reduced_form_diff_ : float
        ``mean(Y | Z=1) - mean(Y | Z=0)`` (the intention-to-treat effect).
    first_stage_f_ : float
    n_ : int

    References
    ----------
    .. [1] A. Wald (1940), *Annals of Mathematical Statistics* 11(3).
    .. [2] G. W. Imbens and J. D. Angrist (1994), *Econometrica* 62(2).

    Examples
    --------
    Random encouragement ``z``; hidden ``u`` drives both take-up and outcome.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> n = 4000
    >>> u, z = rng.normal(size=n), rng.integers(0, 2, n)
    >>> t = (rng.normal(size=n) + u < -0.5 + 1.5 * z).astype(int)
    >>> df = pd.DataFrame({"z": z, "t": t, "y": 1.0 * t + u + rng.normal(size=n)})
    >>> est = Wald().fit(df, treatment="t", outcome="y", instrument="z").ate()
    >>> bool(est.ci_low < 1.0 < est.ci_high)
    True
    """

    def __init__(self, weak_f: float = 10.0, level: float = 0.95) -> None:
        self.weak_f = weak_f
        self.level = level

    def fit(self, data: pd.DataFrame, *, treatment: str, outcome: str, instrument: str,
            covariates: Sequence[str] | None = None) -> Wald:
        """Compute the ratio of the reduced-form and first-stage differences.

        Raises
        ------
        EstimationError
            On bad columns, a non-binary instrument, covariates (use
            :class:`TwoStageLeastSquares`), fewer than two units in an
            instrument arm, or a first-stage difference of (numerically) zero.
        """
        name = type(self).__name__
        _check_weak_f(self.weak_f, name)
        _check_level(self.level, name)
        instruments = _as_list(instrument)
        if len(instruments) > 1:
            raise EstimationError(f"{name}: takes one binary instrument, got {instruments}; use "
                                  "TwoStageLeastSquares for several")
        if covariates is not None and len(_as_list(covariates)):
            raise EstimationError(f"{name}: takes no covariates; use TwoStageLeastSquares(...).fit(..., "
                                  "covariates=...) to adjust for them")
        _check_roles(name, treatment, outcome, instruments, [])
        frame = check_columns(data, estimator=name, treatment=treatment, outcome=outcome,
                              instrument=instruments)
        z = as_binary(frame[instruments[0]], estimator=name, name=f"instrument {instruments[0]!r}")
        t = frame[treatment].to_numpy(dtype=float)
        y = frame[outcome].to_numpy(dtype=float)
        _check_distinct(name, treatment, instruments, [], {instruments[0]: z, treatment: t})
        arms = [z == 0, z == 1]
        n0, n1 = (int(a.sum()) for a in arms)
        if min(n0, n1) < 2:
            raise EstimationError(f"{name}: need at least two units at each instrument value "
                                  f"(got {n0} with {instruments[0]}=0 and {n1} with =1)")
        dt = t[arms[1]].mean() - t[arms[0]].mean()
        dy = y[arms[1]].mean() - y[arms[0]].mean()
        if abs(dt) <= _COLLINEAR * max(t.std(), np.finfo(float).tiny) or t.std() == 0:
            raise EstimationError(f"{name}: the instrument {instruments[0]!r} does not move {treatment!r} "
                                  f"(first-stage difference {dt:.3g}); the Wald ratio is undefined — "
                                  "the instrument is irrelevant")
        beta = dy / dt
        e = y - beta * t
        se = np.sqrt(e[arms[1]].var(ddof=1) / n1 + e[arms[0]].var(ddof=1) / n0) / abs(dt)
        se_dt = np.sqrt(t[arms[1]].var(ddof=1) / n1 + t[arms[0]].var(ddof=1) / n0)
        self.first_stage_f_ = float((dt / se_dt) ** 2) if se_dt > 0 else float("inf")
        self.ate_, self.stderr_ = float(beta), float(se)
        self.first_stage_diff_, self.reduced_form_diff_ = float(dt), float(dy)
        self.n_ = len(y)
        self.fitted_ = True
        if self.first_stage_f_ < self.weak_f:
            warnings.warn(WeakInstrumentWarning(
                f"{name}: weak instrument — first-stage F = {self.first_stage_f_:.3g} < {self.weak_f:g} "
                f"({instruments[0]!r} moves {treatment!r} by {dt:.3g}); the ratio is unstable and its "
                "interval may undercover (Staiger & Stock 1997)"), stacklevel=2)
        return self

    def ate(self) -> Estimate:
        """The Wald ratio: the LATE of the compliers (the effect itself under a constant effect)."""
        self._check_fitted()
        return Estimate.normal(self.ate_, self.stderr_, method=type(self).__name__, n=self.n_,
                               level=self.level, diagnostics={
                                   "first_stage_F": self.first_stage_f_,
                                   "first_stage_diff": self.first_stage_diff_,
                                   "reduced_form_diff": self.reduced_form_diff_,
                                   "weak_instruments": bool(self.first_stage_f_ < self.weak_f)})
