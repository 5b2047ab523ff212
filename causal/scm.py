"""Structural causal models with known exogenous noise.

An :class:`SCM` is a set of mechanisms (one per node) and the distribution of
each node's exogenous noise. Two methods are the deterministic core:

* :meth:`SCM.sample_noise` draws the noise of ``n`` units;
* :meth:`SCM.propagate` computes every node from given noise, optionally
  under interventions — same noise, same world.

Everything else (sampling, ``do``, counterfactuals, ground-truth effects) is
built on these two, so common random numbers come for free: the effect of an
intervention on a unit is the difference between two propagations of its noise.

Examples
--------
>>> from causal.mechanisms import Linear
>>> from causal.noise import Normal
>>> scm = SCM({"x": Linear(), "y": Linear({"x": 2.0})}, {"x": Normal(), "y": Normal()})
>>> scm.ate("x", "y", treat=1, control=0, n=1000, seed=0).value
2.0
>>> unit = scm.sample(1, seed=1)
>>> cf = scm.counterfactual(unit, {"x": 3.0})
>>> bool(abs(cf["y"].iloc[0] - (unit["y"].iloc[0] + 2 * (3.0 - unit["x"].iloc[0]))) < 1e-12)
True
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal import limits
from causal.errors import InterventionError, ModelError
from causal.graph import CausalGraph
from causal.interventions import Intervention, Policy, as_interventions, check_units
from causal.mechanisms import DiscreteMechanism, Mechanism
from causal.noise import Noise

__all__ = ["SCM", "Effect", "as_rng"]

Seed = int | np.random.Generator | np.random.SeedSequence | None


def as_rng(seed: Seed) -> np.random.Generator:
    """A :class:`numpy.random.Generator` from a seed (an int, a Generator or ``None``)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool)
                             or not isinstance(seed, (int, np.integer, np.random.SeedSequence))):
        raise ModelError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ModelError(f"seed must be a non-negative integer, got {seed}")
    return np.random.default_rng(seed)


def _common_seed(seed: Seed) -> int | np.random.SeedSequence:
    """A seed from which every arm of a contrast builds the same random stream.

    An int or a :class:`numpy.random.SeedSequence` already gives each
    :func:`as_rng` call the same generator; a Generator shared by the arms
    would give them successive, different draws, so one key is drawn from it
    (``None``: fresh entropy, drawn once).
    """
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2**63)))
    if seed is None:
        return np.random.SeedSequence()
    return seed


@dataclass(frozen=True)
class Effect:
    """A ground-truth effect: ``value`` with its Monte-Carlo standard error over ``n`` units."""

    value: float
    stderr: float
    n: int

    def __float__(self) -> float:
        return self.value

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """Normal-approximation interval for the Monte-Carlo estimate."""
        from scipy.stats import norm

        z = float(norm.ppf(0.5 + level / 2))
        return self.value - z * self.stderr, self.value + z * self.stderr


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ModelError(f"n must be a positive integer, got {n!r}")
    return int(n)


#: Arrays per unit beyond one per node that a request allocates (index, weights, scratch):
#: the memory estimate is ``8 bytes * units * (arrays per node x nodes + _EXTRA)``.
_EXTRA = 2


def _guard(what: str, units: int, arrays: int, detail: str, noun: str = "units") -> None:
    """Refuse (ModelError) a request of ``units`` units of ``arrays`` float64 each over the cap."""
    limits.check_units(what, units, 8 * (arrays + _EXTRA), f"{detail} + {_EXTRA} x 8 bytes per unit",
                       noun=noun, chunk_hint=" (one seed per chunk, e.g. from SeedSequence.spawn)")


class SCM:
    """A structural causal model.

    Parameters
    ----------
    mechanisms : mapping of node name to :class:`~causal.mechanisms.Mechanism`
        Each mechanism declares its parents; the graph is derived from them.
    noise : mapping of node name to :class:`~causal.noise.Noise` (or ``None``)
        The exogenous noise of each node. A node without noise is deterministic.
        Discrete mechanisms (:class:`~causal.mechanisms.Binary`,
        :class:`~causal.mechanisms.Categorical`) get ``uniform(0, 1)`` if omitted.
    hidden : names of latent nodes (never in samples unless asked for).
    name : optional model name.

    Raises
    ------
    ModelError
        Unknown parents, noise that does not suit its mechanism, unknown hidden nodes.
    GraphError
        The mechanisms' parents form a cycle.
    """

    def __init__(self, mechanisms: Mapping[str, Mechanism], noise: Mapping[str, Noise | None] | None = None,
                 hidden: Iterable[str] = (), *, name: str | None = None,
                 interventions: Mapping[str, Any] | None = None) -> None:
        if not isinstance(mechanisms, Mapping) or not mechanisms:
            raise ModelError("an SCM needs a non-empty mapping of node name -> Mechanism")
        noise = dict(noise or {})
        mech: dict[str, Mechanism] = {}
        for v, m in mechanisms.items():
            if not isinstance(v, str) or not v:
                raise ModelError(f"node names must be non-empty strings, got {v!r}")
            if not isinstance(m, Mechanism):
                raise ModelError(f"node {v!r}: expected a Mechanism, got {type(m).__name__}")
            mech[v] = m
        unknown = set(noise) - set(mech)
        if unknown:
            raise ModelError(f"noise given for unknown nodes {sorted(unknown)}")
        for v, m in mech.items():
            for p in m.parents:
                if p not in mech:
                    raise ModelError(f"node {v!r} has parent {p!r}, which is not a node of the model")
            nz = noise.get(v)
            if nz is None and isinstance(m, DiscreteMechanism):
                nz = m.default_noise()
            if nz is not None and not isinstance(nz, Noise):
                raise ModelError(f"node {v!r}: noise must be a Noise, got {type(nz).__name__}")
            m.check_noise(v, nz)
            noise[v] = nz
        hidden = frozenset(hidden)
        if not hidden <= set(mech):
            raise ModelError(f"hidden nodes {sorted(hidden - set(mech))} are not nodes of the model")
        self.name = name
        #: Per-node metadata from a spec (``unit``, ``description``).
        self.meta: dict[str, dict[str, str]] = {}
        self.description: str | None = None
        self._mechanisms = mech
        self._noise = {v: noise[v] for v in mech}
        self._hidden = hidden
        self._base_graph = CausalGraph([(p, v) for v, m in mech.items() for p in m.parents],
                                       nodes=list(mech), hidden=hidden)
        self._interventions = self._validated(interventions)
        self._graph = self._intervened_graph(self._interventions)
        self._order = self._graph.topological_order()
        self._noisy = tuple(v for v in self._base_graph.topological_order() if self._noise[v] is not None)

    # ------------------------------------------------------------------ structure
    @property
    def nodes(self) -> tuple[str, ...]:
        """All nodes, in declaration order."""
        return tuple(self._mechanisms)

    @property
    def observed(self) -> tuple[str, ...]:
        """Nodes that appear in samples."""
        return tuple(v for v in self._mechanisms if v not in self._hidden)

    @property
    def hidden(self) -> frozenset[str]:
        return self._hidden

    @property
    def mechanisms(self) -> Mapping[str, Mechanism]:
        return dict(self._mechanisms)

    @property
    def noise(self) -> Mapping[str, Noise | None]:
        return dict(self._noise)

    @property
    def interventions(self) -> Mapping[str, Intervention]:
        """Interventions applied by :meth:`do` (empty for an unintervened model)."""
        return dict(self._interventions)

    @property
    def graph(self) -> CausalGraph:
        """The causal graph (hidden nodes explicit); edges into intervened nodes are cut."""
        return self._graph

    @property
    def observed_graph(self) -> CausalGraph:
        """The latent projection onto observed nodes (hidden causes become bidirected edges)."""
        return self._graph.project()

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        extra = f", do({', '.join(self._interventions)})" if self._interventions else ""
        return f"<SCM{label}: {len(self.nodes)} nodes, {len(self._hidden)} hidden{extra}>"

    def _validated(self, interventions: Mapping[str, Any] | None) -> dict[str, Intervention]:
        ivs = as_interventions(interventions)
        for v, iv in ivs.items():
            if v not in self._mechanisms:
                raise InterventionError(f"cannot intervene on {v!r}: not a node of the model "
                                        f"(nodes: {', '.join(self._mechanisms)})")
            if isinstance(iv, Policy) and iv.inputs is not None:
                bad = [x for x in iv.inputs if x not in self._mechanisms]
                if bad:
                    raise InterventionError(f"policy on {v!r} reads unknown nodes {bad}")
        return ivs

    def _intervened_graph(self, ivs: Mapping[str, Intervention]) -> CausalGraph:
        edges = []
        for v, m in self._mechanisms.items():
            iv = ivs.get(v)
            if isinstance(iv, Policy):
                srcs = m.parents if iv.inputs is None else iv.inputs
            elif iv is not None and iv.cuts_edges:
                srcs = ()
            else:
                srcs = m.parents
            edges.extend((p, v) for p in srcs)
        try:
            return CausalGraph(edges, nodes=list(self._mechanisms), hidden=self._hidden)
        except Exception as exc:  # a policy reading a descendant of its node
            raise InterventionError(f"these interventions make the model cyclic: {exc}") from None

    def _merged(self, interventions: Mapping[str, Any] | None
                ) -> tuple[dict[str, Intervention], tuple[str, ...]]:
        """The model's own interventions plus ``interventions``, and an evaluation order."""
        extra = self._validated(interventions)
        if not extra:
            return self._interventions, self._order
        merged = {**self._interventions, **extra}
        if any(isinstance(iv, Policy) for iv in extra.values()):
            return merged, self._intervened_graph(merged).topological_order()
        return merged, self._order

    # ------------------------------------------------------------------ core
    def sample_noise(self, n: int, seed: Seed = None) -> dict[str, np.ndarray]:
        """Draw the exogenous noise of ``n`` units: ``{node: array}`` (deterministic nodes omitted)."""
        n = _check_n(n)
        _guard(f"sample_noise(n={n:,})", n, len(self._noisy), f"{len(self._noisy)} noisy nodes x 8 bytes")
        return self._draw(n, as_rng(seed))

    def _draw(self, n: int, rng: np.random.Generator, skip: Iterable[str] = (),
              into: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Noise of ``n`` units, each node from its own stream keyed by its name.

        So unit ``i`` is the same unit whatever ``n`` is (a larger sample extends
        a smaller one), and adding or removing a node leaves the others' noise
        unchanged. One number is drawn from ``rng`` to key the streams. Nodes in
        ``into`` are drawn into the arrays given there.
        """
        base = int(rng.integers(0, 2**63))
        out = {}
        into = into or {}
        with np.errstate(over="ignore", invalid="ignore"):   # non-finite draws are caught per node
            for v in self._noisy:
                if v in skip:
                    continue
                stream = np.random.Generator(np.random.PCG64(np.random.SeedSequence([base, *_key(v)])))
                row = into.get(v)
                out[v] = self._noise[v].sample(n, stream) if row is None \
                    else self._noise[v].sample_into(row, stream)
        return out

    def _noise_arrays(self, noise: Mapping[str, Any] | pd.DataFrame) -> tuple[dict[str, np.ndarray], int]:
        if isinstance(noise, pd.DataFrame):
            noise = {c: noise[c].to_numpy(dtype=float) for c in noise.columns}
        if not isinstance(noise, Mapping):
            raise ModelError("noise must be a mapping node -> array or a DataFrame, "
                             f"got {type(noise).__name__}")
        missing = [v for v in self._noisy if v not in noise]
        if missing:
            raise ModelError(f"noise is missing for nodes {missing}")
        out, n = {}, None
        for v in self._noisy:
            arr = np.asarray(noise[v], dtype=float)
            if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
                raise ModelError(f"noise of {v!r} must be a 1-d array of the same length as the others")
            n = arr.shape[0]
            out[v] = arr
        if n is None:
            raise ModelError("this model has no noise: pass n to sample it")
        return out, n

    def _evaluate(self, v: str, values: dict[str, np.ndarray], u: np.ndarray | None, n: int,
                  ivs: Mapping[str, Intervention], index: np.ndarray | None,
                  rng: np.random.Generator | None, owned: bool = False) -> np.ndarray:
        """Value of node ``v`` given its parents' values and its noise, under ``ivs``.

        ``owned``: the noise array belongs to this call and may be overwritten.
        """
        iv = ivs.get(v)
        mech = self._mechanisms[v]
        if iv is not None and iv.cuts_edges:
            if isinstance(iv, Policy):
                inputs = mech.parents if iv.inputs is None else iv.inputs
                return iv.apply(None, n, index, {x: values[x] for x in inputs}, rng)
            return iv.apply(None, n, index)
        out = mech.evaluate_owned(values, u, n) if owned else mech.evaluate(values, u, n)
        if not _all_finite(out):
            self._nonfinite(v, out, values)
        if iv is None:
            return out
        out = iv.apply(out, n, index)
        if not _all_finite(out):
            raise ModelError(f"node {v!r} is not finite under {iv}; use a smaller shift or scale")
        return out

    def _run(self, noise: Mapping[str, np.ndarray], n: int, ivs: Mapping[str, Intervention],
             order: Iterable[str], index: np.ndarray | None = None,
             rng: np.random.Generator | None = None, owned: bool = False) -> dict[str, np.ndarray]:
        values: dict[str, np.ndarray] = {}
        for v in order:
            values[v] = self._evaluate(v, values, noise.get(v), n, ivs, index, rng, owned)
        return values

    def _nonfinite(self, v: str, out: np.ndarray, values: Mapping[str, np.ndarray]) -> None:
        bad = int(np.flatnonzero(~np.isfinite(out))[0])
        at = {p: float(values[p][bad]) for p in self._mechanisms[v].parents}
        raise ModelError(f"node {v!r} evaluated to {out[bad]} (e.g. where parents are {at}); "
                         "check its equation's domain (log or sqrt of a negative number, "
                         "division by zero, overflow)")

    def propagate(self, noise: Mapping[str, Any] | pd.DataFrame,
                  interventions: Mapping[str, Any] | None = None, *, seed: Seed = None,
                  nodes: Iterable[str] | None = None,
                  overwrite_noise: bool = False) -> dict[str, np.ndarray]:
        """Compute every node from given noise, optionally under ``interventions``.

        Deterministic: the same noise gives the same values (``seed`` only feeds
        stochastic :class:`~causal.interventions.Policy` interventions).
        Returns ``{node: array}`` for all nodes, hidden ones included; with
        ``nodes``, only those nodes and their ancestors are computed.

        ``overwrite_noise=True`` lets node values be computed in the noise
        arrays themselves (as ``overwrite_a`` in scipy): no new array per node,
        which is most of the cost of a large sample beyond the random draws.
        The noise mapping is then spent. Arrays that cannot be overwritten
        (read-only, not float64, shared between nodes) are copied, and so
        are the columns of a noise DataFrame.

        >>> from causal.mechanisms import Linear
        >>> from causal.noise import Normal
        >>> m = SCM({"x": Linear(), "y": Linear({"x": 2.0})}, {"x": Normal(), "y": Normal()})
        >>> u = {"x": np.array([1.0]), "y": np.array([0.5])}
        >>> m.propagate(u)["y"], u["y"]
        (array([2.5]), array([0.5]))
        >>> m.propagate(u, overwrite_noise=True)["y"], u["y"]
        (array([2.5]), array([2.5]))
        """
        if not isinstance(overwrite_noise, bool):
            raise ModelError(f"overwrite_noise must be True or False, got {overwrite_noise!r}")
        arrays, n = self._noise_arrays(noise)
        if overwrite_noise and not isinstance(noise, pd.DataFrame):  # a frame's columns are never spent
            arrays = _spendable(arrays)
        ivs, order = self._merged(interventions)
        check_units(ivs, n)
        policy = any(isinstance(iv, Policy) for iv in ivs.values())
        if nodes is not None:
            order = self._restricted(order, tuple(nodes), ivs if policy else None)
        rng = as_rng(seed) if policy else None
        return self._run(arrays, n, ivs, order, rng=rng,
                         owned=overwrite_noise and not isinstance(noise, pd.DataFrame))

    def compute(self, nodes: Iterable[str], values: dict[str, np.ndarray],
                noise: Mapping[str, np.ndarray], interventions: Mapping[str, Any] | None = None, *,
                n: int) -> dict[str, np.ndarray]:
        """Compute ``nodes``, in the order given, into ``values``, which holds their other parents.

        The incremental form of :meth:`propagate` for callers that computed part
        of the units' values before (e.g. once per episode) and finish them
        here: ``nodes`` must be in topological order and every parent of a
        node in ``nodes`` must be in ``values`` or earlier in ``nodes``.
        ``noise`` gives the noise of the nodes computed (arrays of ``n``
        units); ``interventions`` may not hold a stochastic
        :class:`~causal.interventions.Policy`. The same arithmetic as
        :meth:`propagate`, so the values are the same to the last bit.

        >>> from causal.mechanisms import Linear
        >>> from causal.noise import Normal
        >>> m = SCM({"x": Linear(), "y": Linear({"x": 2.0})}, {"x": Normal(), "y": Normal()})
        >>> m.compute(["y"], {"x": np.array([1.0])}, {"y": np.array([0.5])}, n=1)["y"]
        array([2.5])
        """
        extra = self._validated(interventions) if interventions else None
        if extra and any(isinstance(iv, Policy) for iv in extra.values()):
            raise ModelError("compute() takes no Policy interventions; use propagate()")
        ivs = {**self._interventions, **extra} if extra else self._interventions
        evaluate = self._evaluate
        for v in nodes:
            values[v] = evaluate(v, values, noise.get(v), n, ivs, None, None)
        return values

    def compute_one(self, nodes: Iterable[str], values: dict[str, float], noise: Mapping[str, float]
                    ) -> dict[str, float]:
        """:meth:`compute` for one unit on Python floats (no interventions beyond ``values``).

        Each node's value equals element 0 of :meth:`compute` on one-element arrays to the last
        bit (:meth:`~causal.mechanisms.Mechanism.evaluate_one`). Raises one of
        :data:`causal.expr_scalar.FALLBACK` instead of computing a non-finite value, for a
        model with interventions of its own, or where Python refuses what numpy computes
        (e.g. a division by zero): call :meth:`compute` then, which reports it as usual.
        """
        if self._interventions:
            raise ValueError("compute_one takes models without interventions")
        mechs = self._mechanisms
        isfinite = math.isfinite
        for v in nodes:
            x = mechs[v].evaluate_one(values, noise.get(v))
            if not isfinite(x):
                raise ValueError(f"node {v!r} is not finite")
            values[v] = x
        return values

    def _restricted(self, order: tuple[str, ...], nodes: tuple[str, ...],
                    policy_ivs: Mapping[str, Intervention] | None) -> tuple[str, ...]:
        """``order`` limited to ``nodes`` and their ancestors (cached when no policy is involved)."""
        unknown = [v for v in nodes if v not in self._mechanisms]
        if unknown:
            raise ModelError(f"unknown nodes {unknown}; nodes: {', '.join(self.nodes)}")
        key = (order, nodes)
        cache = self.__dict__.setdefault("_restricted_cache", {})
        if policy_ivs is None and key in cache:
            return cache[key]
        graph = self._intervened_graph(policy_ivs) if policy_ivs is not None else self._base_graph
        keep = set(graph.ancestors(nodes)) | set(nodes)
        out = tuple(v for v in order if v in keep)
        if policy_ivs is None:
            cache[key] = out
        return out

    def _column_index(self, hidden: bool) -> pd.Index:
        """The frame columns as an Index, built once (pandas spends tens of µs building one);
        each frame gets a shallow copy, so renaming one frame's columns leaves the others alone."""
        cache = self.__dict__.setdefault("_columns_cache", {})
        out = cache.get(hidden)
        if out is None:
            out = cache[hidden] = pd.Index(list(self.nodes if hidden else self.observed))
        return out

    def _frame(self, values: Mapping[str, np.ndarray], hidden: bool, index=None,
               borrowed: frozenset[str] = frozenset(), block: np.ndarray | None = None,
               rows: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
        """The values as a frame; arrays of ``borrowed`` nodes belong to the caller and are copied.

        ``block``: a ``(columns, n)`` array whose rows (``rows``) some values may already
        occupy; the frame is built on it.
        """
        cols = self.nodes if hidden else self.observed
        if index is not None:  # the caller's (e.g. the evidence's) index: renaming ours leaves theirs
            index = index.copy()
        if not cols:  # every node hidden: one row per unit, no columns
            n = len(next(iter(values.values()))) if values else 0
            return pd.DataFrame(index=index if index is not None else pd.RangeIndex(n),
                                columns=self._column_index(hidden).copy())
        ints = {}
        for v in cols:
            if self._mechanisms[v].discrete_output and v not in self._interventions:
                as_int = values[v].astype(np.int64)
                if np.array_equal(as_int, values[v]):
                    ints[v] = as_int
        n = len(values[cols[0]])
        if block is not None and not ints:
            for v in cols:
                if values[v] is not rows[v]:
                    rows[v][...] = values[v]
            return pd.DataFrame(block.T, columns=self._column_index(hidden).copy(), index=index, copy=False)
        if not ints and n <= 200_000:
            # small frames: one float block filled column by column is faster than pandas
            # sanitising each column; large ones keep the arrays (no 2-D copy)
            block = np.empty((len(cols), n))
            for j, v in enumerate(cols):
                block[j] = values[v]
            return pd.DataFrame(block.T, columns=self._column_index(hidden).copy(), index=index, copy=False)
        return pd.DataFrame({v: ints.get(v, values[v].copy() if v in borrowed else values[v]) for v in cols},
                            index=index, copy=False)

    def sample(self, n: int, seed: Seed = None, *, hidden: bool = False, return_noise: bool = False):
        """Sample ``n`` units: a DataFrame of the observed nodes (all nodes with ``hidden=True``).

        With ``return_noise=True`` returns ``(data, noise)``, ``noise`` a DataFrame
        with one column per node that has noise.
        """
        n = _check_n(n)
        k = len(self._mechanisms) * (2 if return_noise else 1)
        _guard(f"sample(n={n:,})", n, k, f"{k} {'arrays' if return_noise else 'nodes'} x 8 bytes")
        rng = as_rng(seed)
        check_units(self._interventions, n)
        # nodes set by an intervention need no noise (the others' streams are unaffected)
        cut = () if return_noise else [v for v, iv in self._interventions.items() if iv.cuts_edges]
        # without the noise to return, each column's noise is drawn into the frame's own block
        # and its value computed there in place: no array per node, no copy into the frame
        cols = self.nodes if hidden else self.observed
        block = None if return_noise else np.empty((len(cols), n))
        rows = {} if block is None else dict(zip(cols, block, strict=True))
        noise = self._draw(n, rng, skip=cut, into=rows)
        policy_rng = rng.spawn(1)[0] if any(isinstance(iv, Policy) for iv in self._interventions.values()) \
            else None
        values = self._run(noise, n, self._interventions, self._order, rng=policy_rng,
                           owned=not return_noise)
        data = self._frame(values, hidden, block=block, rows=rows)
        if return_noise:
            return data, pd.DataFrame(noise, copy=False)
        return data

    def do(self, interventions: Mapping[str, Any]) -> SCM:
        """A new model with ``interventions`` applied (a bare number means ``Hard``).

        >>> from causal.mechanisms import Linear
        >>> from causal.noise import Normal
        >>> m = SCM({"x": Linear(), "y": Linear({"x": 1.0})}, {"x": Normal(), "y": Normal()})
        >>> sorted(m.do({"y": 0.0}).graph.parents("y"))
        []
        """
        merged = {**self._interventions, **self._validated(interventions)}
        # the mechanisms, noise and base graph are already checked: only the graph changes
        out = object.__new__(SCM)
        out.__dict__.update({k: v for k, v in self.__dict__.items() if not k.endswith("_cache")})
        out._interventions = merged
        out._graph = out._intervened_graph(merged)
        out._order = out._graph.topological_order()
        return out

    # ------------------------------------------------------------------ ground truth
    def _contrast(self, treatment: str | Mapping[str, Any], value: Any) -> dict[str, Any]:
        if isinstance(treatment, str):
            return {treatment: value}
        if isinstance(treatment, Mapping):
            return dict(treatment)
        raise InterventionError(f"treatment must be a node name, got {treatment!r}")

    def _outcome(self, outcome: str) -> str:
        if outcome not in self._mechanisms:
            raise ModelError(f"unknown outcome {outcome!r}; nodes: {', '.join(self.nodes)}")
        return outcome

    def ite(self, noise: Mapping[str, Any] | pd.DataFrame, treatment: str, outcome: str,
            treat: Any, control: Any, *, seed: Seed = None) -> np.ndarray:
        """Each unit's exact effect ``Y_treat - Y_control`` from its own noise.

        Both arms also share one random stream for stochastic
        :class:`~causal.interventions.Policy` interventions (common random
        numbers): the same policy in both arms gives an effect of exactly 0.
        """
        y = self._outcome(outcome)
        seed = _common_seed(seed)
        a = self.propagate(noise, self._contrast(treatment, treat), seed=seed)[y]
        b = self.propagate(noise, self._contrast(treatment, control), seed=seed)[y]
        return a - b

    def ate(self, treatment: str, outcome: str, treat: Any, control: Any, *, n: int = 100_000,
            seed: Seed = None) -> Effect:
        """``E[Y | do(treat)] - E[Y | do(control)]`` by common random numbers over ``n`` units."""
        n = _check_n(n)
        k = len(self._noisy) + 2 * len(self._mechanisms)   # the noise, then both arms' values
        _guard(f"ate(n={n:,})", n, k, f"{k} arrays (noise + 2 arms x nodes) x 8 bytes")
        rng = as_rng(seed)
        noise = self.sample_noise(n, rng)
        d = self.ite(noise, treatment, outcome, treat, control, seed=rng)
        return Effect(float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else np.nan,
                      len(d))

    def expected(self, outcome: str, interventions: Mapping[str, Any] | None = None, *,
                 fixed_noise: Mapping[str, Any] | None = None, draws: int = 1000,
                 seed: Seed = None) -> np.ndarray:
        """Per-unit mean of ``outcome`` under ``interventions`` with some noise held fixed.

        ``fixed_noise`` maps nodes to one noise value per unit (all of equal
        length ``n``); every other node's noise is redrawn ``draws`` times per
        unit. Returns an array of ``n`` means (``n = 1`` without fixed noise).
        This is ``E[Y | do(a), context]`` when the fixed nodes are the context's.
        """
        y = self._outcome(outcome)
        draws = _check_n(draws)
        rng = as_rng(seed)
        fixed = {}
        n = 1
        for v, arr in (fixed_noise or {}).items():
            if v not in self._mechanisms or self._noise[v] is None:
                raise ModelError(f"fixed_noise names {v!r}, which is not a node with noise")
            arr = np.atleast_1d(np.asarray(arr, dtype=float))
            if arr.ndim != 1 or (fixed and arr.shape[0] != n):
                raise ModelError("fixed_noise arrays must be 1-d and of equal length")
            n = arr.shape[0]
            fixed[v] = arr
        m = n * draws
        k = len(self._noisy) + len(self._mechanisms)
        _guard(f"expected(draws={draws:,}) for {n:,} unit(s) = {m:,} draws", m, k,
               f"{k} arrays (noise + nodes) x 8 bytes", noun="draws")
        noise = self._draw(m, rng, skip=fixed)
        for v, arr in fixed.items():
            noise[v] = np.repeat(arr, draws)
        ivs, order = self._merged(interventions)
        check_units(ivs, n)
        index = np.repeat(np.arange(n), draws) if n > 1 else None
        if n == 1:
            ivs = {k: _squeeze(iv) for k, iv in ivs.items()}
        values = self._run(noise, m, ivs, order, index=index, rng=rng.spawn(1)[0])
        return values[y].reshape(n, draws).mean(axis=1)

    # ------------------------------------------------------------------ counterfactuals
    def counterfactual(self, evidence: Any = None, interventions: Mapping[str, Any] | None = None, *,
                       noise: Mapping[str, Any] | pd.DataFrame | None = None, samples: int | None = None,
                       seed: Seed = None, hidden: bool = False) -> pd.DataFrame:
        """What each unit would have been under ``interventions``: abduction, action, prediction.

        See :func:`causal.counterfactual.counterfactual` for the modes (exact given
        noise, exact abduction, exact enumeration, likelihood weighting).
        """
        from causal.counterfactual import counterfactual

        return counterfactual(self, evidence, interventions, noise=noise, samples=samples, seed=seed,
                              hidden=hidden)

    def counterfactual_mean(self, evidence: Any, interventions: Mapping[str, Any] | None = None, *,
                            samples: int | None = None, seed: Seed = None,
                            hidden: bool = False) -> pd.DataFrame:
        """Posterior mean of every node per unit (one row per unit of ``evidence``)."""
        from causal.counterfactual import summarise

        cf = self.counterfactual(evidence, interventions, samples=samples, seed=seed, hidden=hidden)
        return summarise(cf)

    def cate(self, treatment: str, outcome: str, treat: Any, control: Any, context: Any, *,
             samples: int | None = None, seed: Seed = None) -> np.ndarray:
        """``E[Y_treat - Y_control | context]`` for each row of ``context`` (observed values)."""
        from causal.counterfactual import effect_given

        return effect_given(self, context, self._outcome(outcome), self._contrast(treatment, treat),
                            self._contrast(treatment, control), samples=samples, seed=seed)

    # ------------------------------------------------------------------ specs
    @classmethod
    def from_spec(cls, spec: Any) -> SCM:
        """Build a model from a YAML file or mapping (see :func:`causal.spec.load_scm`)."""
        from causal.spec import load_scm

        return load_scm(spec)

    def to_spec(self) -> dict[str, Any]:
        """The model as a spec mapping that :func:`causal.spec.load_scm` reads back."""
        from causal.spec import dump_spec

        return dump_spec(self)


_ADD_REDUCE = np.add.reduce
_ISFINITE = np.isfinite
_ALL = np.logical_and.reduce


def _all_finite(a: np.ndarray) -> bool:
    """``np.isfinite(a).all()``, via one sum first (a finite sum of floats means no inf or NaN)."""
    if a.size <= 65_536:  # small: the direct check is cheaper than entering errstate
        return bool(_ALL(_ISFINITE(a)))
    with np.errstate(over="ignore", invalid="ignore"):
        return math.isfinite(_ADD_REDUCE(a)) or bool(_ALL(_ISFINITE(a)))


def _spendable(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays, each one safe to overwrite: copies of read-only, non-contiguous or
    non-float64 arrays and of any array that shares memory with another one."""
    out: dict[str, np.ndarray] = {}
    kept: list[np.ndarray] = []
    for v, a in arrays.items():
        if not (a.dtype == np.float64 and a.flags.c_contiguous and a.flags.writeable) \
                or any(np.may_share_memory(a, b) for b in kept):
            a = a.copy()
        kept.append(a)
        out[v] = a
    return out


def _key(name: str) -> tuple[int, ...]:
    """A node's stream key: 128 bits of BLAKE2b of its name (no two names share a stream)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))


def _squeeze(iv: Intervention) -> Intervention:
    """Per-unit values of a single unit become scalars (so they broadcast over draws)."""
    for attr in ("value", "delta", "factor"):
        v = getattr(iv, attr, None)
        if isinstance(v, np.ndarray) and v.shape == (1,):
            return type(iv)(float(v[0]))
    return iv
