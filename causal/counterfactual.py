"""Counterfactuals by abduction, action and prediction (Pearl 2009, ch. 7).

Given evidence about units (observed values of some nodes), a counterfactual
asks what those very units would have been under an intervention. Three steps:

1. **Abduction** — the posterior of each unit's exogenous noise given the evidence.
2. **Action** — replace mechanisms by the interventions.
3. **Prediction** — propagate the abducted noise through the intervened model.

How abduction is done depends on what the evidence pins down; the most exact
applicable mode is chosen automatically (``frame.attrs["mode"]``):

``"exact"``
    Every node with noise is observed and invertible (additive noise): the noise
    is recovered exactly, one row per unit.
``"enumeration"``
    The remaining uncertainty is over finitely many cells: discrete noise
    (``bernoulli``, ``categorical``) and threshold mechanisms
    (:class:`~causal.mechanisms.Binary`, :class:`~causal.mechanisms.Categorical`,
    whose uniform noise given the factual value is uniform on an interval; in
    the intervened world each interval is split by the new cut points). Exact
    posterior, one row per distinct outcome, with ``unit`` and ``weight``. Used
    while each unit has at most :data:`MAX_BRANCHES` hypotheses; an observed
    threshold node adds none in abduction (its value pins its cell).
``"weighting"``
    Otherwise likelihood weighting: noise of unobserved nodes drawn from the
    prior, observed additive nodes' noise recovered and weighted by its density,
    observed threshold nodes' noise drawn from its posterior interval and
    weighted by its probability. ``samples`` rows per unit, with ``unit`` and
    ``weight`` (normalised per unit); ``frame.attrs["ess"]`` holds the
    effective sample size of each unit.

References
----------
J. Pearl, *Causality*, 2nd ed., Cambridge University Press, 2009, sections 1.4 and 7.1.
A. Balke and J. Pearl, "Probabilistic evaluation of counterfactual queries", AAAI 1994.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from causal import limits
from causal.errors import CounterfactualError, ModelError
from causal.interventions import Intervention, Scale, Shift, check_units
from causal.mechanisms import DiscreteMechanism, InvertibleMechanism
from causal.scm import _all_finite, _common_seed

if TYPE_CHECKING:
    from causal.scm import SCM

__all__ = ["counterfactual", "summarise", "effect_given", "MAX_BRANCHES"]

#: Largest number of enumerated noise cells per unit before falling back to weighting.
MAX_BRANCHES = 4096
_MAX_PARTICLES = 4_000_000
DEFAULT_SAMPLES = 1000


class _TooManyBranches(Exception):
    """Internal: the intervened world splits the enumerated cells past the limits (use weighting)."""


def _evidence(scm: SCM, evidence: Any) -> tuple[dict[str, np.ndarray], pd.Index]:
    if isinstance(evidence, pd.Series):
        evidence = evidence.to_frame().T
    elif isinstance(evidence, Mapping):
        if all(np.ndim(v) == 0 for v in evidence.values()):
            evidence = pd.DataFrame({k: [v] for k, v in evidence.items()})
        else:
            evidence = pd.DataFrame(dict(evidence))
    if not isinstance(evidence, pd.DataFrame):
        raise CounterfactualError("evidence must be a DataFrame (one row per unit), a Series or a mapping "
                                  f"node -> value, got {type(evidence).__name__}")
    if len(evidence) == 0:
        raise CounterfactualError("evidence has no rows: give at least one unit")
    unknown = [c for c in evidence.columns if c not in scm._mechanisms]
    if unknown:
        raise CounterfactualError(f"evidence has columns {unknown} that are not nodes of the model "
                                  f"(nodes: {', '.join(scm.nodes)}); drop them")
    try:  # one conversion; Fortran order keeps each column contiguous
        block = np.asarray(evidence.to_numpy(dtype=float), order="F")
    except (TypeError, ValueError):
        bad = [c for c in evidence.columns if not pd.api.types.is_numeric_dtype(evidence[c])]
        raise CounterfactualError(f"evidence columns {bad} are not numeric") from None
    if not _all_finite(block.ravel(order="K")):
        finite = np.isfinite(block).all(axis=0)
        c = evidence.columns[int(np.argmin(finite))]
        raise CounterfactualError(f"evidence column {c!r} has NaN or infinite values; leave a node "
                                  "out of the evidence to treat it as unobserved")
    out = {c: block[:, j] for j, c in enumerate(evidence.columns)}
    return out, evidence.index


class _Particles:
    """Per-particle arrays (one particle = one hypothesis about a unit's noise)."""

    def __init__(self, idx: np.ndarray) -> None:
        self.idx = idx
        self.logw = np.zeros(len(idx))
        self.point: dict[str, np.ndarray] = {}
        self.interval: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.values: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.idx)

    def _map(self, f) -> None:
        self.idx, self.logw = f(self.idx), f(self.logw)
        self.point = {k: f(v) for k, v in self.point.items()}
        self.interval = {k: (f(a), f(b)) for k, (a, b) in self.interval.items()}
        self.values = {k: f(v) for k, v in self.values.items()}

    def repeat(self, k: int) -> None:
        """Each particle becomes ``k`` consecutive copies."""
        self._map(lambda a: np.repeat(a, k, axis=0))

    def prune(self) -> None:
        keep = np.isfinite(self.logw)
        if not keep.all():
            self._map(lambda a: a[keep])

    def copy(self) -> _Particles:
        out = _Particles(self.idx)
        out._map(lambda a: a)
        out.logw, out.point = self.logw, dict(self.point)
        out.interval, out.values = dict(self.interval), dict(self.values)
        return out


def _informative(v: str, evidence: Mapping, ivs: Mapping[str, Intervention]) -> bool:
    iv = ivs.get(v)
    return v in evidence and not (iv is not None and iv.cuts_edges)


def _free_continuous(scm: SCM, v: str, evidence: Mapping[str, np.ndarray], memo: dict) -> bool:
    """Whether unobserved ``v`` varies continuously given the evidence (so no draw hits a point)."""
    if v in memo:
        return memo[v]
    mech, nz = scm._mechanisms[v], scm._noise[v]
    if v in evidence:
        out = False
    elif nz is None:
        out = any(_free_continuous(scm, p, evidence, memo) for p in mech.parents)
    else:
        out = not nz.discrete and not isinstance(mech, DiscreteMechanism)
    memo[v] = out
    return out


def _plan(scm: SCM, evidence: Mapping[str, np.ndarray], n_units: int) -> str:
    """The abduction mode: ``"exact"``, ``"enumeration"`` or ``"weighting"``.

    Enumeration is chosen when the branches abduction expands per unit stay within
    :data:`MAX_BRANCHES`: ``k`` for each unobserved threshold node and each discrete noise
    of a node whose noise is not recovered, none for an observed threshold node (its
    value pins the noise to one cell). How finely the intervened world splits those
    cells is only known in prediction, which falls back to weighting past the limits.
    """
    memo: dict[str, bool] = {}
    for v in evidence:
        if scm._noise[v] is None and v not in scm._interventions:
            free = [p for p in scm._mechanisms[v].parents if _free_continuous(scm, p, evidence, memo)]
            if free:
                raise CounterfactualError(
                    f"node {v!r} is deterministic and observed, but its parent(s) {free} are unobserved "
                    "and continuous: the evidence pins them to a set of probability zero that sampling "
                    f"cannot hit; observe {free} as well, or give {v!r} a noise term")
    exact, enumerable, bound = True, True, 1
    ivs = scm._interventions
    for v in scm._noisy:
        mech, nz = scm._mechanisms[v], scm._noise[v]
        info = _informative(v, evidence, ivs)
        if isinstance(mech, DiscreteMechanism):
            exact = False
            if not info:  # observed, its value pins the noise to one cell: no branch (see _abduct)
                bound *= len(mech.cell_values) if mech.k_known else MAX_BRANCHES + 1
        elif info and isinstance(mech, InvertibleMechanism):
            continue
        elif nz.discrete:
            exact = False
            bound *= len(nz.probs)
        else:
            exact = enumerable = False
            if info:
                raise CounterfactualError(
                    f"node {v!r} is observed but its mechanism ({type(mech).__name__}) is not invertible "
                    "and its noise is continuous, so its noise cannot be recovered; write its equation "
                    "as f(parents) + noise, or leave it out of the evidence")
    if exact:
        return "exact"
    if enumerable and bound <= MAX_BRANCHES and bound * n_units <= _MAX_PARTICLES:
        return "enumeration"
    return "weighting"


def _target(iv: Intervention | None, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The node's natural value implied by an observed value under the factual intervention."""
    if isinstance(iv, Shift):
        return x - (iv.delta if isinstance(iv.delta, float) else iv.delta[idx])
    if isinstance(iv, Scale):
        f = iv.factor if isinstance(iv.factor, float) else iv.factor[idx]
        if np.any(f == 0):
            raise CounterfactualError("cannot abduct through Scale(0): the factual value carries no "
                                      "information about the noise")
        return x / f
    return x


def _cells(mech: DiscreteMechanism, parents, m: int) -> np.ndarray:
    cuts = mech.cuts(parents, m)
    return np.concatenate([np.zeros((m, 1)), cuts, np.ones((m, 1))], axis=1)


def _abduct(scm: SCM, evidence: Mapping[str, np.ndarray], n_units: int, mode: str, samples: int,
            rng: np.random.Generator) -> _Particles:
    reps = samples if mode == "weighting" else 1
    P = _Particles(np.repeat(np.arange(n_units), reps))
    ivs = scm._interventions
    prng = rng.spawn(1)[0]
    with np.errstate(divide="ignore"):
        for v in scm._order:
            mech, nz, iv = scm._mechanisms[v], scm._noise[v], ivs.get(v)
            info = _informative(v, evidence, ivs)
            m = len(P)
            x = evidence[v][P.idx] if v in evidence else None
            check = v in evidence
            if nz is None:
                pass
            elif info and isinstance(mech, InvertibleMechanism):
                u = mech.estimate_noise(_target(iv, x, P.idx), P.values)
                P.logw = P.logw + nz.logpdf(u)
                P.point[v] = u
                check = iv is not None and not isinstance(iv, (Shift, Scale))
            elif isinstance(mech, DiscreteMechanism):
                edges = _cells(mech, P.values, m)
                if info:
                    lo, hi = mech.interval(_target(iv, x, P.idx), P.values)
                    P.logw = P.logw + np.log(hi - lo)
                elif mode == "enumeration":
                    k = edges.shape[1] - 1
                    P.repeat(k)
                    edges = np.repeat(edges, k, axis=0)
                    cell = np.tile(np.arange(k), m)
                    rows = np.arange(m * k)
                    lo, hi = edges[rows, cell], edges[rows, cell + 1]
                    P.logw = P.logw + np.log(hi - lo)
                    x = evidence[v][P.idx] if v in evidence else None
                else:
                    lo, hi = np.zeros(m), np.ones(m)
                if mode == "enumeration":
                    P.interval[v] = (lo, hi)
                    P.point[v] = 0.5 * (lo + hi)          # a representative: the cell is decisive
                else:
                    P.point[v] = lo + (hi - lo) * rng.random(len(lo))
                check = check and not info
            elif nz.discrete and mode == "enumeration":
                support, probs = nz.support()
                k = len(support)
                P.repeat(k)
                P.point[v] = np.tile(support, m)
                P.logw = P.logw + np.tile(np.log(probs), m)
                x = evidence[v][P.idx] if v in evidence else None
            else:
                P.point[v] = nz.sample(m, rng)
            value = scm._evaluate(v, P.values, P.point.get(v), len(P), ivs, P.idx, prng)
            if check:
                ok = np.abs(value - x) <= 1e-9 * (1.0 + np.abs(x))
                P.logw = np.where(ok, P.logw, -np.inf)
            P.values[v] = x if v in evidence else value
            P.prune()
    return P


def _predict(scm: SCM, P: _Particles, interventions: Mapping[str, Any] | None, mode: str,
             rng: np.random.Generator) -> _Particles:
    ivs, order = scm._merged(interventions)
    Q = P.copy()
    Q.values = {}
    with np.errstate(divide="ignore"):
        for v in order:
            iv = ivs.get(v)
            mech = scm._mechanisms[v]
            if v in Q.interval and not (iv is not None and iv.cuts_edges):
                lo, hi = Q.interval[v]
                m = len(Q)
                edges = _cells(mech, Q.values, m)
                k = edges.shape[1] - 1
                top = np.minimum(hi[:, None], edges[:, 1:])
                overlap = np.clip(top - np.maximum(lo[:, None], edges[:, :-1]), 0.0, None)
                frac = overlap / (hi - lo)[:, None]
                Q.repeat(k)
                Q.logw = Q.logw + np.log(frac.ravel())
                natural = np.tile(mech.cell_values, m)
                Q.values[v] = natural if iv is None else iv.apply(natural, len(Q), Q.idx)
                Q.prune()
                if len(Q) > MAX_BRANCHES and np.bincount(Q.idx).max() > MAX_BRANCHES:
                    raise _TooManyBranches  # more hypotheses per unit than enumeration allows
            else:
                Q.values[v] = scm._evaluate(v, Q.values, Q.point.get(v), len(Q), ivs, Q.idx, rng)
    return Q


def _normalised(P: _Particles, n_units: int, index: pd.Index) -> np.ndarray:
    top = np.full(n_units, -np.inf)
    np.maximum.at(top, P.idx, P.logw)
    w = np.exp(P.logw - top[P.idx])
    total = np.bincount(P.idx, weights=w, minlength=n_units)
    dead = np.flatnonzero(~(total > 0))
    if len(dead):
        raise CounterfactualError(f"the evidence of unit(s) {list(index[dead[:5]])} is impossible under "
                                  "the model (zero likelihood); check the values against the equations")
    return w / total[P.idx]


def _setup(scm: SCM, evidence, interventions, samples, seed, parsed=None, mode=None):
    """Abduction for the particle modes; ``parsed``: ``_evidence``'s answer when already computed,
    ``mode``: the mode to use instead of :func:`_plan`'s."""
    from causal.scm import as_rng

    ev, index = parsed or _evidence(scm, evidence)
    n_units = len(index)
    check_units(scm._validated(interventions), n_units)
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, (int, np.integer))
                                or samples < 1):
        raise CounterfactualError(f"samples must be a positive integer, got {samples!r}")
    mode = mode or _plan(scm, ev, n_units)
    reps = (samples or DEFAULT_SAMPLES) if mode == "weighting" else 1
    k = 2 * len(scm._mechanisms) + 2   # each particle: every node's noise and value, its unit and weight
    limits.check_units(f"counterfactual with samples={reps:,} for {n_units:,} unit(s) = {n_units * reps:,} "
                       f"particles", n_units, 8 * k * reps, f"{k} arrays x 8 bytes per particle",
                       noun="units of evidence", error=CounterfactualError,
                       chunk_hint=f" (at {reps:,} samples each), or fewer samples")
    rng = as_rng(seed)
    P = _abduct(scm, ev, n_units, mode, samples or DEFAULT_SAMPLES, rng)
    _normalised(P, n_units, index)  # raises when some unit's evidence is impossible
    return ev, index, n_units, mode, P, rng


def _exact(scm: SCM, ev: Mapping[str, np.ndarray], index: pd.Index,
           interventions: Mapping[str, Any] | None, seed: Any, hidden: bool) -> pd.DataFrame | None:
    """The exact mode without particles: a twin network evaluated once.

    Nodes that no intervention reaches keep their factual values; the others are
    replayed with the noise their factual values imply. Returns ``None`` when
    the evidence does not determine every noise (or the model carries
    interventions of its own), so the general path takes over.
    """
    if scm._interventions:
        return None
    n = len(index)
    if _plan(scm, ev, n) != "exact":
        return None
    from causal.scm import as_rng

    ivs, order = scm._merged(interventions)
    check_units(ivs, n)
    mechs, noises = scm._mechanisms, scm._noise
    fact: dict[str, np.ndarray] = {}
    for v in scm._order:  # the factual world: the evidence, and unobserved deterministic nodes
        fact[v] = ev[v] if v in ev else scm._evaluate(v, fact, None, n, {}, None, None)
    _check_evidence(scm, ev, fact, index)
    changed = _reached(scm, ivs)
    policy = any(getattr(iv, "cuts_edges", False) and hasattr(iv, "fn") for iv in ivs.values())
    rng = as_rng(seed) if policy else None
    world: dict[str, np.ndarray] = {}
    with np.errstate(all="ignore"):
        for v in order:
            iv = ivs.get(v)
            if v not in changed:
                world[v] = fact[v]
            elif iv is not None and iv.cuts_edges:
                world[v] = scm._evaluate(v, world, None, n, ivs, None, rng)
            else:
                mech = mechs[v]
                if noises[v] is None:
                    out = mech.evaluate(world, None, n)
                else:
                    out = mech.replay(ev[v], fact, world, changed, n)
                if not _all_finite(out):
                    scm._nonfinite(v, out, world)   # the same ModelError as the other modes
                if iv is not None:
                    out = iv.apply(out, n, None)
                    if not _all_finite(out):
                        raise ModelError(f"node {v!r} is not finite under {iv}; use a smaller shift or scale")
                world[v] = out
    # the unreached nodes' arrays are (or may view) the caller's evidence: the answer gets copies
    frame = scm._frame(world, hidden, index=index, borrowed=frozenset(world) - changed)
    frame.attrs["mode"] = "exact"
    return frame


def _reached(scm: SCM, ivs: Mapping[str, Intervention]) -> frozenset[str]:
    """The intervened nodes and their descendants (the nodes whose values may change)."""
    key = frozenset(ivs)
    cache = scm.__dict__.setdefault("_reached_cache", {})
    out = cache.get(key)
    if out is None:
        out = cache[key] = key | scm._base_graph.descendants(key)
    return out


def _check_evidence(scm: SCM, ev: Mapping[str, np.ndarray], fact: Mapping[str, np.ndarray],
                    index: pd.Index) -> None:
    """Raise when fully observed evidence is impossible: noise outside its support, or a
    deterministic node that disagrees with its equation."""
    with np.errstate(divide="ignore", invalid="ignore"):
        for v in scm._noisy:
            nz = scm._noise[v]
            if nz.full_support:
                continue
            u = scm._mechanisms[v].estimate_noise(ev[v], fact)
            ok = np.isfinite(nz.logpdf(u))
            if not ok.all():
                bad = int(np.flatnonzero(~ok)[0])
                raise CounterfactualError(
                    f"the evidence of unit(s) {[index[bad]]} is impossible under the model: node {v!r} "
                    f"would need noise {u[bad]:g}, outside the support of {nz}")
    for v in scm.nodes:
        if scm._noise[v] is None and v in ev:
            value = scm._mechanisms[v].evaluate(fact, None, len(index))
            bad = np.flatnonzero(~(np.abs(value - ev[v]) <= 1e-9 * (1.0 + np.abs(ev[v]))))
            if len(bad):
                raise CounterfactualError(
                    f"the evidence of unit(s) {list(index[bad[:5]])} is impossible under the model: "
                    f"node {v!r} is deterministic and its equation gives {value[bad[0]]:g}, "
                    f"not {ev[v][bad[0]]:g}")


def counterfactual(scm: SCM, evidence: Any = None, interventions: Mapping[str, Any] | None = None, *,
                   noise: Any = None, samples: int | None = None, seed: Any = None,
                   hidden: bool = False) -> pd.DataFrame:
    """Counterfactual values of every node for each unit of ``evidence`` under ``interventions``.

    Parameters
    ----------
    scm : SCM
    evidence : DataFrame, Series or mapping
        Observed values, one row per unit; a column per observed node. Nodes
        left out (hidden ones included) are unobserved.
    interventions : mapping node -> value or Intervention
    noise : mapping or DataFrame, optional
        The units' exogenous noise, when known (the simulator's own units):
        then the answer is exact and ``evidence`` is not needed.
    samples : int, optional
        Particles per unit for likelihood weighting (default 1000).
    seed : int or Generator
    hidden : bool
        Include hidden nodes in the result.

    Returns
    -------
    DataFrame
        One row per unit (exact modes) or per (unit, hypothesis) with ``unit`` and
        ``weight`` columns (posterior modes). ``attrs["mode"]`` names the mode.

    Raises
    ------
    CounterfactualError
        Evidence on unknown nodes, NaN evidence, evidence with zero likelihood,
        or an observed node whose noise cannot be recovered.
    """
    if noise is not None:
        values = scm.propagate(noise, interventions, seed=seed)
        frame = scm._frame(values, hidden)
        frame.attrs["mode"] = "exact"
        return frame
    if evidence is None:
        raise CounterfactualError("give evidence (observed values) or the units' noise")
    parsed = _evidence(scm, evidence)
    fast = _exact(scm, *parsed, interventions, seed, hidden)
    if fast is not None:
        return fast
    ev, index, n_units, mode, P, rng = _setup(scm, evidence, interventions, samples, seed, parsed)
    try:
        Q = _predict(scm, P, interventions, mode, rng)
    except _TooManyBranches:
        ev, index, n_units, mode, P, rng = _setup(scm, evidence, interventions, samples, seed, parsed,
                                                  mode="weighting")
        Q = _predict(scm, P, interventions, mode, rng)
    if mode == "exact":
        frame = scm._frame(Q.values, hidden, index=index)
        frame.attrs["mode"] = mode
        return frame
    w = _normalised(Q, n_units, index)
    frame = scm._frame(Q.values, hidden)
    frame.insert(0, "weight", w)
    frame.insert(0, "unit", np.asarray(index)[Q.idx])
    if mode == "enumeration":
        cols = [c for c in frame.columns if c != "weight"]
        frame = frame.groupby(cols, sort=False, as_index=False)["weight"].sum()
        frame = frame[["unit", "weight", *cols[1:]]]
    else:
        ess = np.bincount(Q.idx, weights=w, minlength=n_units) ** 2 / np.bincount(
            Q.idx, weights=w * w, minlength=n_units)
        frame.attrs["ess"] = pd.Series(ess, index=index)
    frame.attrs["mode"] = mode
    return frame.reset_index(drop=True)


def summarise(cf: pd.DataFrame) -> pd.DataFrame:
    """Posterior means per unit of a counterfactual frame (exact frames pass through)."""
    if "weight" not in cf.columns:
        return cf
    cols = [c for c in cf.columns if c not in ("unit", "weight")]
    weighted = cf[cols].mul(cf["weight"], axis=0)
    weighted["unit"] = cf["unit"]
    out = weighted.groupby("unit", sort=False).sum()
    out.index.name = None
    out.attrs = {"mode": cf.attrs.get("mode")}
    return out


def effect_given(scm: SCM, evidence: Any, outcome: str, treat: Mapping[str, Any],
                 control: Mapping[str, Any], *, samples: int | None = None, seed: Any = None
                 ) -> np.ndarray:
    """``E[Y_treat - Y_control | evidence]`` per unit, both worlds from one abduction."""
    try:
        return _effect_given(scm, evidence, outcome, treat, control, samples, seed, None)
    except _TooManyBranches:
        return _effect_given(scm, evidence, outcome, treat, control, samples, seed, "weighting")


def _effect_given(scm: SCM, evidence: Any, outcome: str, treat: Mapping[str, Any],
                  control: Mapping[str, Any], samples: int | None, seed: Any, mode: str | None
                  ) -> np.ndarray:
    ev, index, n_units, mode, P, rng = _setup(scm, evidence, treat, samples, seed, mode=mode)
    check_units(scm._validated(control), n_units)
    arms = _common_seed(rng)  # both worlds' stochastic policies draw the same numbers
    means = []
    for ivs in (treat, control):
        Q = _predict(scm, P, ivs, mode, np.random.default_rng(arms))
        w = _normalised(Q, n_units, index)
        means.append(np.bincount(Q.idx, weights=w * Q.values[outcome], minlength=n_units))
    return means[0] - means[1]

