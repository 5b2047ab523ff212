r"""A scenario's logged data together with every unit's true conditional effect.

Estimators of heterogeneous effects are scored against the truth the simulator
knows (e.g. by :func:`causal.estimators.metrics.pehe`). For ``n`` logged units
(the scenario's behaviour policy, its observed nodes, as
:meth:`~sim.scenario.Scenario.observational` gives them), :func:`cate_truth`
returns two truths per unit:

``cate``
    The conditional average treatment effect at the unit's observed context
    ``x`` (the scenario's ``context`` nodes),
    :math:`E[Y(\text{treat}) - Y(\text{control}) \mid X = x]`: the effect a
    learner of the CATE given the context targets. Everything not in the
    context — hidden nodes such as a customer's segment, and observed
    pre-treatment nodes outside it such as the marketing outage — is
    integrated over. As :meth:`sim.scenario.Truth.cate` does it: every ancestor
    of a context node is itself in the context (the scenario contract), and the
    nodes' noises are independent, so conditioning on the context equals
    setting it; the context is set to the unit's values and everything else is
    redrawn ``samples`` times, with common random numbers for the two
    actions. The Monte-Carlo standard error of each unit's value is
    ``cate_stderr`` (the standard deviation of the paired differences over
    ``sqrt(samples)``); it is exactly 0 where the effect does not depend on
    anything outside the context (e.g. the ice-cream scenario, whose CATE
    ``8 + 0.5 h (temperature - 25)`` comes out exactly).

``ite``
    The unit's own individual effect: its own noise (the one that generated its
    logged row) replayed under ``do(treat)`` and ``do(control)``. It includes
    the unit's hidden and idiosyncratic variation, so no estimator can recover
    it from the context; ``mean(ite)`` is an unbiased estimate of the ATE.

``treat`` and ``control`` are actions of the scenario, given by label or index
(``"discount"`` or ``2`` in marketing). ``outcome`` is any node (default the
scenario's outcome), e.g. ``"conversion"`` rather than the noisy ``"revenue"``.
The state nodes (e.g. marketing's weekly spend) take their initial values, as
in logged data.

Examples
--------
>>> import scenarios
>>> sc = scenarios.make("icecream")
>>> logs, cate = cate_data(sc, 5, 0, treat=1, control=0)
>>> bool(np.allclose(cate, 8 + 0.5 * (logs["temperature"] - 25)))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal.scm import as_rng
from sim.errors import ScenarioError
from sim.scenario import Scenario, context_worlds

__all__ = ["CateData", "cate_data", "cate_truth"]

#: Units propagated at once in the Monte-Carlo integral (rows x samples), bounding memory.
CHUNK = 400_000


@dataclass(frozen=True)
class CateData:
    """Logged units and their true effects (see the module docstring).

    Attributes
    ----------
    logs : pandas.DataFrame
        The observational data, observed nodes only.
    cate : ndarray
        ``E[Y(treat) - Y(control) | context]`` per unit (Monte Carlo over ``samples`` draws).
    cate_stderr : ndarray
        The Monte-Carlo standard error of each ``cate`` value.
    ite : ndarray
        Each unit's own effect, from its own noise.
    treat, control : int or ndarray
        The canonical actions compared.
    outcome : str
    samples : int
    """

    logs: pd.DataFrame
    cate: np.ndarray
    cate_stderr: np.ndarray
    ite: np.ndarray
    treat: Any
    control: Any
    outcome: str
    samples: int


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ScenarioError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def cate_truth(scenario: Scenario, n: int, seed: int, *, treat: Any, control: Any, outcome: str | None = None,
               samples: int = 500) -> CateData:
    """``n`` logged units of ``scenario`` with their true CATE (and its error) and their own ITE.

    Parameters
    ----------
    scenario : Scenario
    n : int
        Logged units.
    seed : int
        Seeds the logs (the same as ``scenario.observational(n, seed)``) and the
        Monte-Carlo draws (a stream derived from it).
    treat, control : action label or index
    outcome : str, optional
        The node whose effect is wanted (default ``scenario.outcome``).
    samples : int
        Monte-Carlo draws per unit for the CATE (the work is ``2 n samples``
        propagated units).
    """
    n = _positive_int(n, "n")
    samples = _positive_int(samples, "samples")
    y = outcome or scenario.outcome
    if y not in scenario.scm.nodes:
        raise ScenarioError(f"{scenario.name}: outcome {y!r} is not a node (nodes: "
                            f"{', '.join(scenario.scm.nodes)})")
    a, c = scenario.actions.index(treat), scenario.actions.index(control)
    base = scenario.scm.do(scenario.state_interventions(scenario.initial_state())) if scenario.state_nodes \
        else scenario.scm
    logs, noise_frame = base.sample(n, seed, return_noise=True)
    noise = {k: noise_frame[k].to_numpy() for k in noise_frame.columns}
    ite = (scenario.outcomes(noise, scenario.actions.repeat(a, n))[y]
           - scenario.outcomes(noise, scenario.actions.repeat(c, n))[y])
    context = logs[list(scenario.context)]
    rng = as_rng(np.random.SeedSequence([int(seed), 0xCA7E]))
    cate, se = np.empty(n), np.empty(n)
    rows = max(1, CHUNK // samples)
    for start in range(0, n, rows):
        part = context.iloc[start:start + rows]
        cate[start:start + len(part)], se[start:start + len(part)] = _conditional(scenario, part, a, c, y,
                                                                                    samples, rng)
    return CateData(logs, cate, se, np.asarray(ite, dtype=float), a, c, y, samples)


def cate_data(scenario: Scenario, n: int, seed: int, *, treat: Any, control: Any, outcome: str | None = None,
              samples: int = 500) -> tuple[pd.DataFrame, np.ndarray]:
    """``(logs, true_cate)``: :func:`cate_truth` without the error and the ITE."""
    out = cate_truth(scenario, n, seed, treat=treat, control=control, outcome=outcome, samples=samples)
    return out.logs, out.cate


def _conditional(sc: Scenario, context: pd.DataFrame, treat: Any, control: Any, outcome: str, samples: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mean and Monte-Carlo error of the paired difference, per row of ``context``."""
    y1, y0 = context_worlds(sc, context, (treat, control), outcome, samples, rng)
    d = y1 - y0
    se = d.std(axis=1, ddof=1) / np.sqrt(samples) if samples > 1 else np.full(len(context), np.nan)
    return d.mean(axis=1), se
