"""``causalsim whatif``: what an intervention does to an outcome, from paired worlds.

The intervention is contrasted with a baseline: by default the model left
alone (for a scenario, its logged behaviour policy), or a second
intervention (``--vs``), so that ``do(action=discount)`` vs ``do(action=none)``
is the average treatment effect of the discount. Both worlds are computed from
the same exogenous noise (common random numbers): one
:meth:`~causal.SCM.sample_noise`, two :meth:`~causal.SCM.propagate` calls. Each
unit's effect is the difference of its two outcomes, so the effect's interval
comes from the paired differences, ``mean ± 1.96 · sd / √n``, and is much
narrower than the difference of two independent means would give. An
intervention that does not touch the outcome (``do(ice_cream=100)`` on
``sunscreen``) has an effect of exactly zero.

Examples
--------
>>> from causal import Hard, load_scm
>>> scm = load_scm({"nodes": {"t": {"noise": "normal(25, 5)"},
...                           "s": {"equation": "5 + 2 * t + noise", "noise": "normal(0, 8)"}}})
>>> r = run_whatif(scm, {"t": Hard(30.0)}, "s", labels=["t=30"], n=1000, seed=0)
>>> print(format_whatif(r))
outcome: s (n = 1,000, seed 0)
contrast: do(t=30) vs no intervention, on the same units
                   mean   95% interval
no intervention   54.11   [53.31, 54.92]
do(t=30)          64.64   [64.13, 65.15]
effect            10.52   [9.90, 11.15]    correlation(t, s) = 0.77
>>> r = run_whatif(scm, {"t": Hard(30.0)}, "s", labels=["t=30"], n=1000, seed=0,
...                vs={"t": Hard(20.0)}, vs_labels=["t=20"])
>>> print(format_whatif(r))
outcome: s (n = 1,000, seed 0)
contrast: do(t=30) vs do(t=20), on the same units
            mean   95% interval
do(t=20)   44.64   [44.13, 45.15]
do(t=30)   64.64   [64.13, 65.15]
effect     20.00   [20.00, 20.00]
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from causal import SCM, Intervention, ModelError
from causalsim.report import decimals, fmt, interval, table, versions

__all__ = ["Summary", "WhatIf", "run_whatif", "format_whatif", "write_whatif"]

Z95 = 1.959963984540054  #: two-sided 95% normal quantile


@dataclass(frozen=True)
class Summary:
    """Mean of ``n`` values with a 95% normal interval (``se`` = sd / √n)."""

    mean: float
    se: float

    @classmethod
    def of(cls, x: np.ndarray) -> Summary:
        return cls(float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x))))

    @property
    def lo(self) -> float:
        return self.mean - Z95 * self.se

    @property
    def hi(self) -> float:
        return self.mean + Z95 * self.se

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "se": self.se, "ci_low": self.lo, "ci_high": self.hi}


@dataclass(frozen=True)
class WhatIf:
    """The two worlds of a what-if query, unit by unit."""

    outcome: str
    label: str                      #: e.g. ``do(ice_cream=100)``
    n: int
    seed: int
    baseline: dict[str, np.ndarray]  #: every node in the baseline world
    intervened: dict[str, np.ndarray]  #: every node in the intervened world
    do_nodes: tuple[str, ...]
    unit: str | None = None          #: measurement unit of the outcome, if known
    baseline_label: str = "no intervention"  #: e.g. ``do(action=none)`` or ``the logged policy``
    vs_nodes: tuple[str, ...] = ()   #: nodes intervened on in the baseline world (none: left alone)
    summaries: dict[str, Summary] = field(init=False)

    def __post_init__(self) -> None:
        y0, y1 = self.baseline[self.outcome], self.intervened[self.outcome]
        object.__setattr__(self, "summaries", {
            "baseline": Summary.of(y0), "intervened": Summary.of(y1), "effect": Summary.of(y1 - y0)})

    @property
    def correlation(self) -> float | None:
        """Observational correlation of the single do-node with the outcome (``None`` if undefined
        or if the baseline is itself an intervention)."""
        if self.vs_nodes or len(self.do_nodes) != 1 or self.do_nodes[0] == self.outcome:
            return None
        x, y = self.baseline[self.do_nodes[0]], self.baseline[self.outcome]
        if x.std() == 0 or y.std() == 0:
            return None
        return float(np.corrcoef(x, y)[0, 1])


def run_whatif(scm: SCM, interventions: Mapping[str, Intervention], outcome: str, *,
               labels: Sequence[str], n: int, seed: int,
               vs: Mapping[str, Intervention] | None = None, vs_labels: Sequence[str] = (),
               natural: str = "no intervention") -> WhatIf:
    """Sample ``n`` units' noise once and propagate it under ``interventions`` and under ``vs``.

    Parameters
    ----------
    vs : mapping node -> Intervention, optional
        The baseline's interventions (labelled by ``vs_labels``); without them
        the baseline is the model left alone, named ``natural`` (a scenario's
        unintervened model is its logged policy).

    Raises
    ------
    ModelError
        ``outcome`` is not a node, or ``n < 2`` (an interval needs two units).
    InterventionError
        An intervention names an unknown node.
    """
    if outcome not in scm.nodes:
        raise ModelError(f"--outcome {outcome!r} is not a node of the model; nodes: "
                         f"{', '.join(scm.nodes)}")
    if n < 2:
        raise ModelError(f"n must be at least 2 to give an interval, got {n}")
    noise = scm.sample_noise(n, seed)
    intervened = scm.propagate(noise, interventions)
    baseline = scm.propagate(noise, dict(vs) if vs else None)
    return WhatIf(outcome=outcome, label=_do_label(labels), n=n, seed=seed,
                  baseline=baseline, intervened=intervened, do_nodes=tuple(interventions),
                  unit=scm.meta.get(outcome, {}).get("unit"),
                  baseline_label=_do_label(vs_labels) if vs else natural, vs_nodes=tuple(vs or ()))


def _do_label(labels: Sequence[str]) -> str:
    return f"do({', '.join(labels)})"



def format_whatif(r: WhatIf, *, default_outcome: bool = False) -> str:
    """The what-if table: baseline, intervened and effect (intervened minus baseline, unit by
    unit), each with its 95% interval; the line above the table names the baseline.
    ``default_outcome`` says that the outcome is the scenario's, not named by ``--outcome``."""
    unit = f" [{r.unit}]" if r.unit else ""
    rows = [["", "mean", "95% interval"]]
    arms = [r.summaries["baseline"], r.summaries["intervened"]]
    d = decimals(*(x for s in arms for x in (s.lo, s.hi)), spread=min(Z95 * s.se for s in arms))
    for label, s in zip((r.baseline_label, r.label), arms, strict=True):
        rows.append([label, fmt(s.mean, d), interval(s.lo, s.hi, d)])
    s = r.summaries["effect"]
    d = decimals(s.lo, s.hi, spread=Z95 * s.se)
    rows.append(["effect", fmt(s.mean, d), interval(s.lo, s.hi, d)])
    if (rho := r.correlation) is not None:
        rows[-1].append(f"correlation({r.do_nodes[0]}, {r.outcome}) = {rho:.2f}")
    whose = ", the scenario's outcome" if default_outcome else ""
    header = (f"outcome: {r.outcome}{unit}{whose} (n = {r.n:,}, seed {r.seed})\n"
              f"contrast: {r.label} vs {r.baseline_label}, on the same units")
    return header + "\n" + table(rows, align="lrll")


def _sha256(path: str) -> str | None:
    if not os.path.isfile(path):
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_whatif(r: WhatIf, out: str | os.PathLike, *, argv: Sequence[str], spec: str,
                 interventions: Mapping[str, Intervention],
                 vs: Mapping[str, Intervention] | None = None) -> list[Path]:
    """Write ``whatif.csv``, ``whatif.png`` and ``manifest.json`` into ``out``; return the paths.

    The manifest holds no timestamp, so the same arguments write the same bytes
    (up to the package versions it records).
    """
    from causal.plot import plot_distribution, save_figure

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    csv, png, manifest = folder / "whatif.csv", folder / "whatif.png", folder / "manifest.json"

    columns = {"unit": np.arange(r.n)}
    for node in dict.fromkeys((r.outcome, *r.do_nodes, *r.vs_nodes)):
        columns[f"{node}_baseline"] = r.baseline[node]
        columns[f"{node}_intervened"] = r.intervened[node]
    columns["effect"] = r.intervened[r.outcome] - r.baseline[r.outcome]
    pd.DataFrame(columns).to_csv(csv, index=False)

    unit = f" [{r.unit}]" if r.unit else ""
    names = (r.baseline_label, r.label) if r.baseline_label != r.label else ("baseline", r.label)
    # the two worlds are the same units (common noise): the figure adds the effect panel
    fig = plot_distribution(dict(zip(names, (r.baseline[r.outcome], r.intervened[r.outcome]), strict=True)),
                            outcome=f"{r.outcome}{unit}", paired=True)
    save_figure(fig, png)

    record = {
        "command": "whatif",
        "argv": list(argv),
        "spec": {"source": spec, "sha256": _sha256(spec)},
        "outcome": r.outcome,
        "interventions": {k: repr(v) for k, v in interventions.items()},
        "baseline": r.baseline_label,
        "vs": {k: repr(v) for k, v in (vs or {}).items()},
        "n": r.n,
        "seed": r.seed,
        "results": {k: s.as_dict() for k, s in r.summaries.items()},
        "correlation": r.correlation,
        "files": [csv.name, png.name, manifest.name],
        "versions": versions(),
    }
    manifest.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return [csv, png, manifest]
