"""The overlap diagnostic shared by the weighting and matching estimators.

Estimators that rely on overlap, ``0 < e(X) < 1`` for the propensity score
``e(X) = P(T = 1 | X)``, check it on every fit with :func:`overlap_diagnostics`:
a fitted propensity of exactly 0 or 1 (perfect separation) raises
:class:`~causal.errors.EstimationError`; propensities outside
``[warn_at, 1 - warn_at]`` emit an :class:`OverlapWarning` giving the range,
the count and the effective sample size of the inverse-propensity weights
(Kish's ``(sum w)^2 / sum w^2`` per arm), and the caller's advice. A caller
may also ask for the warning when that effective sample size falls below a
fraction of an arm (``min_ess``), and compute the weights from the
propensities it actually uses (``used``, e.g. clipped ones).

References
----------
R. K. Crump, V. J. Hotz, G. W. Imbens and O. A. Mitnik (2009), "Dealing with
limited overlap in estimation of average treatment effects", *Biometrika* 96(1).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from causal.errors import EstimationError

__all__ = ["OverlapWarning", "overlap_diagnostics", "MIN_OUTSIDE_FRACTION", "MIN_ESS_DEFAULT"]

#: Propensities outside the band warn when they are more than this share of the units (a handful
#: of tail units in a large sample changes nothing; their weight is caught by the ESS rule).
MIN_OUTSIDE_FRACTION = 0.005
#: The effective-sample-size floor every caller gets (a fraction of an arm), whatever its own.
MIN_ESS_DEFAULT = 0.1


class OverlapWarning(UserWarning):
    """Fitted propensity scores come close to 0 or 1, so some weights are extreme.

    The message gives the propensity range, how many units fall outside the
    ``overlap_warn`` band and the effective sample size of the weights, and
    what to do: trim, use a caliper, or target an estimand that needs less
    overlap.

    >>> import warnings
    >>> issubclass(OverlapWarning, UserWarning)
    True
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", OverlapWarning)   # make poor overlap fatal in a pipeline
    ...     pass
    """


def _fmt_p(p: float) -> str:
    """A probability with enough digits to tell it from 0 or 1 (0.999884, not 1).

    >>> _fmt_p(0.25), _fmt_p(0.999884)
    ('0.250', '0.999884')
    """
    tail = min(p, 1 - p)
    if tail <= 0:
        return f"{p:g}"
    return f"{p:.{max(3, int(np.ceil(-np.log10(tail))) + 2)}f}"


def overlap_diagnostics(e: np.ndarray, t: np.ndarray, name: str, warn_at: float, advice: str,
                        *, stacklevel: int = 2, used: np.ndarray | None = None,
                        min_ess: float = MIN_ESS_DEFAULT) -> dict[str, Any]:
    """Raise on perfect separation, warn on poor overlap; return the overlap diagnostics.

    Parameters
    ----------
    e : ndarray
        Fitted propensities.
    t : ndarray
        The binary 0/1 treatment.
    name : str
        The estimator, for messages.
    warn_at : float
        Warn when more than :data:`MIN_OUTSIDE_FRACTION` of the propensities lie outside
        ``[warn_at, 1 - warn_at]`` (0 never warns).
    advice : str
        What to do, appended to the warning.
    stacklevel : int
        Passed to :func:`warnings.warn` (1 is this function, 2 its caller, ...).
    used : ndarray, optional
        The propensities the estimator actually weights by (e.g. ``e`` clipped to a bound), from
        which the weights and their effective sample sizes are computed; default ``e``. The range
        and the count outside the band are always those of the fitted ``e``.
    min_ess : float
        Also warn when the effective sample size of either arm's weights falls below this fraction
        of the arm's units, whatever the count outside the band (default :data:`MIN_ESS_DEFAULT`;
        the warning stays off when ``warn_at`` is 0).

    Returns
    -------
    dict
        ``propensity_min``, ``propensity_max``, ``n_outside_overlap``, ``overlap_band``, ``ess``,
        ``ess_treated``, ``ess_control`` and ``ess_control_att`` (of the ATT weights ``e/(1-e)``),
        all of the weights of ``used``.

    Notes
    -----
    Kish's effective sample size ``(sum w)^2 / sum w^2`` of an arm's weights is the number of
    equally weighted units that would give a weighted mean the same variance; when it is a small
    fraction of the arm, a few units carry the estimate.

    >>> d = overlap_diagnostics(np.array([0.2, 0.5, 0.5, 0.8]), np.array([0, 1, 0, 1]), "E", 0.01, "")
    >>> d["n_outside_overlap"], round(d["ess_treated"], 3)
    (0, 1.899)
    """
    e_min, e_max = float(e.min()), float(e.max())
    at0, at1 = (int((e <= 0).sum()), int((e >= 1).sum())) if e_min <= 0 or e_max >= 1 else (0, 0)
    if at0 or at1:
        raise EstimationError(
            f"{name}: {at0 + at1} of {len(e)} units have a fitted propensity of exactly 0 or 1 "
            f"({at0} at 0, {at1} at 1): the covariates perfectly separate treated from control units, "
            "so their effect is not identified without extrapolation. Drop or coarsen the separating "
            "covariates, restrict the data to the region where both groups occur, or use a smoother "
            "propensity model (e.g. a penalised LogisticRegression)")
    treated = t == 1
    n1 = int(np.count_nonzero(treated))
    n0 = len(e) - n1
    u = e if used is None else used
    w1 = np.where(treated, 1 / u, 0.0)  # the weights of each arm, 0 in the other (adds nothing to sums)
    w0 = np.where(treated, 0.0, 1 / (1 - u))
    r0 = np.where(treated, 0.0, u / (1 - u))
    ess1, ess0 = w1.sum() ** 2 / (w1 @ w1), w0.sum() ** 2 / (w0 @ w0)
    inside = warn_at <= e_min and e_max <= 1 - warn_at
    outside = 0 if inside else int(((e < warn_at) | (e > 1 - warn_at)).sum())
    low_ess = warn_at > 0 and min(ess1 / n1, ess0 / n0) < min_ess
    diag = {"propensity_min": e_min, "propensity_max": e_max,
            "n_outside_overlap": outside, "overlap_band": (warn_at, 1 - warn_at),
            "ess": float(ess1 + ess0), "ess_treated": float(ess1), "ess_control": float(ess0),
            "ess_control_att": float(r0.sum() ** 2 / (r0 @ r0))}
    if outside > MIN_OUTSIDE_FRACTION * len(e) or low_ess:
        where = (f"{outside} of {len(e)} propensity scores lie outside [{warn_at:g}, {1 - warn_at:g}]"
                 if outside else f"all {len(e)} propensity scores lie inside [{warn_at:g}, {1 - warn_at:g}]")
        floor = f", below {min_ess:.0%} of an arm" if low_ess else ""
        warnings.warn(OverlapWarning(
            f"{name}: {where} (min {_fmt_p(e.min())}, max {_fmt_p(e.max())}); effective sample size of the "
            f"weights {ess1:.0f} of {n1} treated and {ess0:.0f} of {n0} control units{floor}. Weights this "
            f"extreme make the estimate unstable and its interval unreliable. {advice}"),
            stacklevel=stacklevel)
    return diag
