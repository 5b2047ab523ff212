r"""Uplift metrics: how well a ranking by predicted effect targets those who gain most.

* :func:`uplift_curve` — the gain per unit of population from targeting the top fraction;
* :func:`qini_curve` — the incremental outcome of the top fraction, per treated unit
  (Radcliffe 2007);
* their areas :func:`auuc` and :func:`qini_coefficient`, and :func:`plot_uplift`.

Every one takes predicted effects, outcomes and a binary treatment, with optional
propensities for observational data (inverse-propensity weighted arm means). They
are also importable from :mod:`causal.estimators.policy`.

References
----------
N. J. Radcliffe (2007), "Using control groups to target on predicted lift:
building and assessing uplift models", *Direct Marketing Analytics Journal* 1.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.uniform(-1, 1, 2000); t = rng.binomial(1, 0.5, 2000); y = t * x + rng.normal(size=2000)
>>> bool(qini_coefficient(x, y, t) > qini_coefficient(-x, y, t))
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from causal.errors import EstimationError

__all__ = ["uplift_curve", "qini_curve", "auuc", "qini_coefficient", "plot_uplift"]


def _uplift_inputs(effect_pred: Any, y: Any, t: Any, propensity: Any,
                   name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    arrays = []
    for what, v in (("effect_pred", effect_pred), ("y", y), ("t", t)):
        try:
            a = np.asarray(v, dtype=float).reshape(-1) if np.ndim(v) <= 2 else None
        except (TypeError, ValueError):
            a = None
        if a is None or a.size == 0 or (np.ndim(v) == 2 and min(np.shape(v)) != 1):
            raise EstimationError(f"{name}: {what} must be a non-empty numeric vector")
        if not np.isfinite(a).all():
            raise EstimationError(f"{name}: {what} has missing or infinite values")
        arrays.append(a)
    pred, yv, tv = arrays
    if not len(pred) == len(yv) == len(tv):
        raise EstimationError(f"{name}: effect_pred, y and t must have one value per unit; got lengths "
                              f"{len(pred)}, {len(yv)}, {len(tv)}")
    if not np.isin(tv, (0.0, 1.0)).all() or tv.min() == tv.max():
        raise EstimationError(f"{name}: t must be binary 0/1 with both arms present")
    if propensity is None:
        w = np.ones(len(tv))
    else:
        e = np.asarray(propensity, dtype=float).reshape(-1) if np.ndim(propensity) else \
            np.full(len(tv), float(propensity))
        if e.shape != tv.shape or not np.isfinite(e).all() or (e <= 0).any() or (e >= 1).any():
            raise EstimationError(f"{name}: propensity must hold one P(T = 1 | x) in (0, 1) per unit (or one "
                                  "number for everyone)")
        w = np.where(tv == 1, 1 / e, 1 / (1 - e))
    return pred, yv, tv, w


def _cumulative(pred: np.ndarray, y: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Weighted arm sizes and outcome sums of the top-``m`` units by predicted effect, at tie-group ends."""
    order = np.argsort(-pred, kind="stable")
    p, yo, to, wo = pred[order], y[order], t[order], w[order]
    ends = np.flatnonzero(np.r_[p[1:] != p[:-1], True]) + 1  # the curve is defined between tie groups
    wt, wc = np.cumsum(wo * to)[ends - 1], np.cumsum(wo * (1 - to))[ends - 1]
    st, sc = np.cumsum(wo * to * yo)[ends - 1], np.cumsum(wo * (1 - to) * yo)[ends - 1]
    return ends, wt, wc, st, sc


def _curve_frame(ends: np.ndarray, n: int, gain: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"fraction": np.r_[0.0, ends / n], "targeted": np.r_[0, ends],
                         "gain": np.r_[0.0, gain]})


def uplift_curve(effect_pred: Any, y: Any, t: Any, *, propensity: Any = None) -> pd.DataFrame:
    r"""The uplift curve: the gain per unit of population from targeting the top fraction by predicted effect.

    Units are ranked by ``effect_pred`` (largest first). Targeting the top ``m`` of ``n`` gains
    :math:`U(m) = (\bar Y_1(m) - \bar Y_0(m)) \, m / n`, where :math:`\bar Y_1(m)`, :math:`\bar Y_0(m)`
    are the mean outcomes of the treated and the control units among the top ``m`` — in a randomised
    trial an estimate of :math:`\frac1n \sum_{i \le m} \tau_i`. With ``propensity`` (observational
    data, or an unequal design) the arm means are inverse-propensity weighted (weights ``1 / e``
    for treated, ``1 / (1 - e)`` for controls: Hájek means). The curve runs from 0 to the
    (weighted) difference in means of all units; a top set lacking one arm gains 0.

    Tied predictions cannot be ordered, so the curve is evaluated only at the ends of tie groups
    (and is linear in between, as a ROC curve is): it does not depend on the order of the rows.

    Parameters
    ----------
    effect_pred : array-like (n,)
        Predicted effects (or any score ranking whom to treat first).
    y : array-like (n,)
        Observed outcomes.
    t : array-like (n,)
        Binary 0/1 treatment.
    propensity : array-like (n,) or float, optional
        ``P(T = 1 | x)`` of each unit; ``None`` for a randomised trial (unweighted means).

    Returns
    -------
    pandas.DataFrame
        Columns ``fraction`` (targeted share, from 0 to 1), ``targeted`` (units) and ``gain``.

    Raises
    ------
    EstimationError
        Lengths differ, a value is missing, ``t`` is not 0/1 with both arms, or a propensity is
        outside (0, 1).
    """
    pred, yv, tv, w = _uplift_inputs(effect_pred, y, t, propensity, "uplift_curve")
    ends, wt, wc, st, sc = _cumulative(pred, yv, tv, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.where((wt > 0) & (wc > 0), st / np.where(wt > 0, wt, 1) - sc / np.where(wc > 0, wc, 1), 0.0)
    return _curve_frame(ends, len(pred), diff * ends / len(pred))


def qini_curve(effect_pred: Any, y: Any, t: Any, *, propensity: Any = None) -> pd.DataFrame:
    r"""The Qini curve (Radcliffe 2007): incremental outcome of the top fraction, per treated unit.

    With units ranked by ``effect_pred`` (largest first), the top ``m`` hold treated outcome sum
    :math:`S_1(m)` over :math:`N_1(m)` treated units and :math:`S_0(m)` over :math:`N_0(m)` controls;
    :math:`Q(m) = (S_1(m) - S_0(m) N_1(m) / N_0(m)) / N_1`, the controls' outcomes scaled to the
    treated count, divided by the number of treated units ``N_1`` so that the curve ends at the
    difference in means. Weighted sums and counts (``1 / e``, ``1 / (1 - e)``) with ``propensity``;
    evaluated at the ends of tie groups, as :func:`uplift_curve`. A top set without controls
    gains 0.

    Parameters and returns as :func:`uplift_curve`.
    """
    pred, yv, tv, w = _uplift_inputs(effect_pred, y, t, propensity, "qini_curve")
    ends, wt, wc, st, sc = _cumulative(pred, yv, tv, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(wc > 0, st - sc * wt / np.where(wc > 0, wc, 1), 0.0) / wt[-1]
    return _curve_frame(ends, len(pred), q)


def _area(curve: pd.DataFrame) -> float:
    x, g = curve["fraction"].to_numpy(), curve["gain"].to_numpy()
    return float(np.sum((x[1:] - x[:-1]) * (g[1:] + g[:-1]) / 2))


def auuc(effect_pred: Any, y: Any, t: Any, *, propensity: Any = None) -> float:
    """Area under the uplift curve (:func:`uplift_curve`) over the targeted fraction in [0, 1].

    A ranking no better than random gives about half the overall difference in means (exactly that
    for a constant prediction); a better ranking gives more.
    """
    return _area(uplift_curve(effect_pred, y, t, propensity=propensity))


def qini_coefficient(effect_pred: Any, y: Any, t: Any, *, propensity: Any = None) -> float:
    """The Qini coefficient: the area between the Qini curve and the random-targeting diagonal.

    0 for a constant prediction (exactly), about 0 for a random ranking, positive when the
    ranking puts high effects first (Radcliffe 2007; here on the per-treated-unit scale of
    :func:`qini_curve`).
    """
    curve = qini_curve(effect_pred, y, t, propensity=propensity)
    return _area(curve) - float(curve["gain"].iloc[-1]) / 2


def plot_uplift(effect_pred: Any, y: Any, t: Any, *, propensity: Any = None, kind: str = "qini",
                ax: Any = None) -> Any:
    """Uplift or Qini curves of one or several rankings, with the random-targeting diagonal.

    Parameters
    ----------
    effect_pred : array-like or mapping of str to array-like
        Predicted effects, or ``{label: predicted effects}`` to compare several models on the same units.
    y, t, propensity
        As :func:`uplift_curve`.
    kind : {"qini", "uplift"}
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; by default a new figure on the Agg canvas (never shown; save it with
        :func:`causal.plot.save_figure`).

    Returns
    -------
    matplotlib.figure.Figure
        The legend gives each curve's area (:func:`qini_coefficient` or :func:`auuc`).

    Raises
    ------
    EstimationError
        An unknown ``kind``, an empty mapping, or bad data (as :func:`uplift_curve`).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.uniform(-1, 1, 1000); t = rng.binomial(1, 0.5, 1000); y = t * x + rng.normal(size=1000)
    >>> fig = plot_uplift({"true effect": x, "random": rng.normal(size=1000)}, y, t)
    >>> len(fig.axes[0].lines)          # two curves, the diagonal and the zero line
    4
    """
    if kind not in ("qini", "uplift"):
        raise EstimationError(f"plot_uplift: kind must be 'qini' or 'uplift', got {kind!r}")
    preds = dict(effect_pred) if isinstance(effect_pred, Mapping) else {"model": effect_pred}
    if not preds:
        raise EstimationError("plot_uplift: effect_pred is an empty mapping; give at least one ranking")
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from causal.plot import _RC

    curve_fn: Callable[..., pd.DataFrame] = qini_curve if kind == "qini" else uplift_curve
    curves = {str(k): curve_fn(v, y, t, propensity=propensity) for k, v in preds.items()}
    with matplotlib.rc_context(_RC):
        if ax is None:
            fig = Figure(figsize=(6.4, 4.4), layout="constrained")
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
        for label, c in curves.items():
            area = _area(c) - (float(c["gain"].iloc[-1]) / 2 if kind == "qini" else 0.0)
            ax.plot(c["fraction"], c["gain"], linewidth=1.6,
                    label=f"{label} ({'Qini coefficient' if kind == 'qini' else 'AUUC'} {area:.3g})")
        end = float(next(iter(curves.values()))["gain"].iloc[-1])
        ax.plot([0, 1], [0, end], color="0.45", linestyle="--", linewidth=1.2, label="random targeting")
        ax.axhline(0.0, color="0.8", linewidth=0.8, zorder=0)
        ax.set_xlim(0, 1)
        ax.set_xlabel("fraction of units targeted (highest predicted effect first)")
        ax.set_ylabel("incremental outcome per treated unit" if kind == "qini"
                      else "incremental outcome per unit")
        ax.set_title("Qini curve" if kind == "qini" else "Uplift curve", fontsize=10, loc="left")
        ax.legend(frameon=False, fontsize=8, loc="best")
    return ax.figure
