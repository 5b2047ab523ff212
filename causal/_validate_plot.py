"""Figures of a validation report: a forest plot of the estimates, and bias/coverage along a knob.

matplotlib with the Agg canvas; figures are returned, never shown (save them
with :func:`causal.plot.save_figure`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from causal.errors import EstimationError

__all__ = ["plot_estimates", "plot_sweep"]

_Z = 1.959963984540054


def _label(knobs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in knobs.items())


def plot_estimates(report: Any, *, max_panels: int = 12) -> Figure:
    """Forest plot: per estimator the spread of its estimates and their mean, with the truth line.

    Each row shows the middle 95% of the replications' estimates (thin line), the
    mean estimate with its 95% Monte-Carlo interval (thick line and dot), and the
    share of intervals covering the truth; a dashed vertical line marks the
    truth. One panel per knob setting (the first ``max_panels``).

    Parameters
    ----------
    report : ValidationReport
    max_panels : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    rec = report.records
    names = list(dict.fromkeys(report.table["estimator"]))
    sets = report.settings[:max_panels]
    fig = Figure(figsize=(7.0, 0.9 + (0.42 * len(names) + 0.7) * len(sets)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(sets), 1, squeeze=False)[:, 0]
    for s, (ax, setting) in enumerate(zip(axes, sets, strict=True)):
        block = rec[(rec["setting"] == s) & (rec["error"] == "")]
        table = report.table.iloc[s * len(names):(s + 1) * len(names)]
        for row, name in enumerate(names):
            est = block.loc[block["estimator"] == name, "estimate"].to_numpy()
            y = len(names) - 1 - row
            if len(est) == 0:
                ax.text(setting.truth, y, "  all fits failed", va="center", fontsize=8, color="0.4")
                continue
            lo, hi = np.quantile(est, [0.025, 0.975])
            t = table.iloc[row]
            se = t["bias_se"] if math.isfinite(t["bias_se"]) else 0.0
            ax.plot([lo, hi], [y, y], color="C0", lw=1)
            ax.plot([t["estimate"] - _Z * se, t["estimate"] + _Z * se], [y, y], color="C0", lw=4)
            ax.plot([t["estimate"]], [y], "o", color="C3", ms=5)
            ax.text(1.01, y, f"cov {t['coverage']:.0%}", transform=ax.get_yaxis_transform(), va="center",
                    fontsize=8)
        ax.axvline(setting.truth, color="k", ls="--", lw=1, label=f"truth {setting.truth:.4g}")
        ax.set_yticks(range(len(names)), names[::-1])
        ax.set_ylim(-0.7, len(names) - 0.3)
        title = _label(dict(setting.knobs))
        ax.set_title(title or f"{setting.treatment} on {setting.outcome}", fontsize=9)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    axes[-1].set_xlabel("estimate (thin: middle 95% of replications; thick: mean ± 1.96 MC se)")
    fig.tight_layout()
    return fig


def plot_sweep(report: Any, knob: str, *, where: Mapping[str, Any] | None = None) -> Figure:
    """Bias and coverage against one knob, one line per estimator, with 95% bands.

    The bias band is ± 1.96 Monte-Carlo standard errors; the coverage band the
    Wilson interval; a dotted line marks the nominal 95%.

    Parameters
    ----------
    report : ValidationReport
    knob : str
        A knob of the report's grid.
    where : dict, optional
        Values of the other knobs (required for those with several values).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    EstimationError
        ``knob`` is not in the grid, or another knob varies and ``where`` does not fix it.
    """
    if knob not in report.knobs:
        raise EstimationError(f"plot_sweep: {knob!r} is not a knob of this report (knobs: "
                              f"{', '.join(report.knobs) or 'none; pass knobs= to validate'})")
    table = report.table
    where = dict(where or {})
    for other in report.knobs:
        if other == knob:
            continue
        values = list(dict.fromkeys(table[other]))
        if other not in where:
            if len(values) > 1:
                raise EstimationError(f"plot_sweep: knob {other!r} takes several values {values}; fix one "
                                      f"with where={{{other!r}: ...}}")
            continue
        table = table[table[other] == where[other]]
    fig = Figure(figsize=(7.0, 5.2))
    FigureCanvasAgg(fig)
    ax_b, ax_c = fig.subplots(2, 1, sharex=True)
    for i, (name, sub) in enumerate(table.groupby("estimator", sort=False)):
        x = sub[knob].to_numpy(dtype=float)
        color = f"C{i % 10}"
        bias, se = sub["bias"].to_numpy(), sub["bias_se"].to_numpy()
        ax_b.plot(x, bias, "o-", color=color, label=name, ms=3)
        ax_b.fill_between(x, bias - _Z * se, bias + _Z * se, color=color, alpha=0.15, lw=0)
        ax_c.plot(x, sub["coverage"], "o-", color=color, ms=3)
        ax_c.fill_between(x, sub["coverage_low"], sub["coverage_high"], color=color, alpha=0.15, lw=0)
    ax_b.axhline(0, color="k", lw=0.8)
    ax_b.set_ylabel("bias")
    ax_b.legend(fontsize=8, frameon=False, ncol=2)
    ax_c.axhline(0.95, color="k", ls=":", lw=1)
    ax_c.set_ylim(-0.02, 1.02)
    ax_c.set_ylabel("95% CI coverage")
    ax_c.set_xlabel(knob)
    fig.tight_layout()
    return fig
