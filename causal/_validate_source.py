"""Sources of validation data: what one replication draws, and the truth it is scored against.

A *source* is anything with ``observational(n, rng)`` and ``truth()``. Two
kinds are recognised by their attributes (duck typing: ``causal`` imports no
higher layer):

* a **scenario** (it has ``actions``, ``logged_actions``, ``context`` and
  ``outcome``): the treatment is its observed action node, the covariates its
  observed context (state nodes, constant in logged data, left out), the
  contrast two actions (default: action 1 against action 0). Rows logged with
  another action are dropped and the treatment is recoded 0/1. The truth is the
  population effect ``truth().ate(treat, control)``; per-unit CATE truth for
  PEHE comes from ``truth().cate``. An observed instrument of the graph
  (:func:`causal.identify.instruments`), if any, is kept for the IV estimators.
* an **explicit source** with attributes ``treatment``, ``outcome`` and
  optionally ``covariates``, ``instrument``, ``treat``, ``control``, whose
  ``truth()`` is the effect (a number, or an object with ``.value``), such as
  :class:`SCMSource` wrapping a plain :class:`~causal.scm.SCM`.

:func:`settings` turns a source and a knob grid into :class:`Setting` objects:
small, picklable, and everything a worker needs to draw one replication.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.scm import SCM

__all__ = ["SCMSource", "Setting", "settings", "CHUNK", "EVAL_KEY"]

#: Units sampled at once when a replication draws its data (bounds memory for huge ``n``).
CHUNK = 250_000
#: Spawn key of the seed of the evaluation units on which PEHE is measured (never a replication's).
EVAL_KEY = 2**32 - 1


@dataclass(frozen=True)
class SCMSource:
    """A plain SCM as a validation source: a binary (or two-valued) treatment and an outcome.

    Parameters
    ----------
    scm : SCM
    treatment, outcome : str
        Observed nodes.
    covariates : sequence of str, optional
        The adjustment set given to back-door estimators (default: the observed
        parents of the treatment).
    instrument : str, optional
        An instrument for the IV estimators.
    treat, control : float
        The treatment values contrasted (default 1 and 0).
    truth_n : int
        Units of the common-random-numbers truth.

    Examples
    --------
    >>> from causal.spec import load_scm
    >>> scm = load_scm({"nodes": {"x": {"noise": "normal(0, 1)"},
    ...                           "t": {"type": "binary", "logit": "x"},
    ...                           "y": {"equation": "2 * t + x + noise", "noise": "normal(0, 1)"}}})
    >>> src = SCMSource(scm, "t", "y")
    >>> src.covariates, round(src.truth(), 6)
    (('x',), 2.0)
    """

    scm: SCM
    treatment: str
    outcome: str
    covariates: Sequence[str] | None = None
    instrument: str | None = None
    treat: float = 1.0
    control: float = 0.0
    truth_n: int = 100_000

    def __post_init__(self) -> None:
        if not isinstance(self.scm, SCM):
            raise EstimationError(f"SCMSource needs a causal.scm.SCM, got {type(self.scm).__name__}")
        observed = set(self.scm.observed)
        for role in ("treatment", "outcome", "instrument"):
            v = getattr(self, role)
            if v is not None and v not in observed:
                raise EstimationError(f"SCMSource: {role} {v!r} is not an observed node of the SCM "
                                      f"(observed: {', '.join(sorted(observed))})")
        if self.covariates is None:
            parents = [p for p in self.scm.graph.parents(self.treatment) if p in observed]
            if self.instrument is not None:
                parents = [p for p in parents if p != self.instrument]
            object.__setattr__(self, "covariates", tuple(sorted(parents)))
        else:
            covs = (self.covariates,) if isinstance(self.covariates, str) else tuple(self.covariates)
            bad = [c for c in covs if c not in observed]
            if bad:
                raise EstimationError(f"SCMSource: covariates {bad} are not observed nodes of the SCM")
            object.__setattr__(self, "covariates", covs)

    def observational(self, n: int, rng: Any = None) -> pd.DataFrame:
        """``n`` units of the SCM's observed nodes."""
        return self.scm.sample(n, rng)

    def truth(self) -> float:
        """``E[Y | do(treat)] - E[Y | do(control)]`` by common random numbers (seed 0)."""
        return self.scm.ate(self.treatment, self.outcome, self.treat, self.control, n=self.truth_n,
                            seed=0).value

    def cate(self, context: pd.DataFrame, *, samples: int, seed: int) -> np.ndarray:
        """``E[Y_treat - Y_control | covariates]`` for each row of ``context``."""
        return self.scm.cate(self.treatment, self.outcome, self.treat, self.control,
                             context[list(self.covariates)], samples=samples, seed=seed)


def _is_scenario(source: Any) -> bool:
    return all(hasattr(source, a) for a in ("actions", "logged_actions", "context", "outcome"))


def describe(source: Any) -> str:
    """A stable one-line description of a source (its class and parameters), for fingerprints."""
    if _is_scenario(source) and dataclasses.is_dataclass(getattr(source, "params", None)):
        return f"{type(source).__module__}.{type(source).__qualname__}({source.params!r})"
    if isinstance(source, SCMSource):
        fields = {f.name: getattr(source, f.name) for f in dataclasses.fields(source) if f.name != "scm"}
        return f"SCMSource(spec={source.scm.to_spec()!r}, {fields!r})"
    return f"{type(source).__module__}.{type(source).__qualname__}({source!r})"


@dataclass(frozen=True)
class Setting:
    """One knob setting of a source: everything a worker needs to draw and score a replication.

    Attributes
    ----------
    source : object
        The source (picklable: workers unpickle it).
    knobs : tuple of (name, value)
    treatment, outcome : str
        Column names in the drawn frame (the treatment is 0/1).
    covariates : tuple of str
        The back-door adjustment set.
    instrument : str or None
    iv_covariates : tuple of str
        Covariates given to IV estimators (the back-door set without the instrument).
    treat, control : Any
        The contrasted actions (scenario) or treatment values.
    truth : float
        The effect scored against.
    cate_context : DataFrame or None
        Evaluation units (covariates only) on which PEHE is measured.
    cate_truth : ndarray or None
        Their true conditional effects.
    """

    source: Any
    knobs: tuple[tuple[str, Any], ...]
    treatment: str
    outcome: str
    covariates: tuple[str, ...]
    instrument: str | None
    iv_covariates: tuple[str, ...]
    treat: Any
    control: Any
    truth: float
    cate_context: pd.DataFrame | None = None
    cate_truth: np.ndarray | None = None

    def _piece(self, n: int, seed: np.random.SeedSequence) -> pd.DataFrame:
        src = self.source
        df = src.observational(n, np.random.default_rng(seed))
        cols = [*self.covariates, *([self.instrument] if self.instrument else []), self.outcome]
        cols = list(dict.fromkeys(cols))
        if _is_scenario(src):
            idx = np.asarray(src.logged_actions(df))
            keep = (idx == self.treat) | (idx == self.control)
            out = df.loc[keep, cols].reset_index(drop=True)
            out[self.treatment] = (idx[keep] == self.treat).astype(np.float64)
            return out
        t = df[self.treatment].to_numpy(dtype=np.float64)
        keep = (t == float(self.treat)) | (t == float(self.control))
        out = df.loc[keep, cols].reset_index(drop=True)
        out[self.treatment] = (t[keep] == float(self.treat)).astype(np.float64)
        return out

    def draw(self, n: int, seed: np.random.SeedSequence) -> pd.DataFrame:
        """One replication's data: ``n`` units sampled in pieces of :data:`CHUNK` (each its own seed).

        The pieces' seeds are spawned from ``seed``, so the data depend on ``n`` and ``seed``
        only; rows logged with another action than the two contrasted are dropped.
        """
        if n <= CHUNK:
            return self._piece(n, seed)
        sizes = [CHUNK] * (n // CHUNK) + ([n % CHUNK] if n % CHUNK else [])
        parts = [self._piece(m, s) for m, s in zip(sizes, seed.spawn(len(sizes)), strict=True)]
        return pd.concat(parts, ignore_index=True)


def _truth_value(t: Any, what: str) -> float:
    value = getattr(t, "value", t)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise EstimationError(f"{what}.truth() returned {type(t).__name__}, not an effect; it must return "
                              "a number (or an object with .value)") from None
    if not np.isfinite(out):
        raise EstimationError(f"{what}.truth() is not finite ({out})")
    return out


def _action_index(source: Any, a: Any) -> int:
    try:
        i = source.actions.index(a)
    except Exception as exc:  # the scenario's own error type (a higher layer's) names the labels
        raise EstimationError(f"contrast: {exc}") from None
    if not isinstance(i, (int, np.integer)):
        raise EstimationError(f"{type(source).__name__} has continuous actions; validate needs discrete "
                              "actions (a contrast of two of them)")
    return int(i)


def _instrument(source: Any, treatment: str, outcome: str) -> str | None:
    from causal.identify import instruments

    graph = source.scm.graph
    hidden = source.scm.hidden
    try:
        found = instruments(graph, treatment, outcome)
    except Exception:  # no instrument is not an error for validation
        return None
    names = sorted(i.instrument for i in found if not i.given and i.instrument not in hidden)
    return names[0] if names else None


def _scenario_roles(source: Any, contrast: tuple[Any, Any] | None) -> dict[str, Any]:
    name = type(source).__name__
    space = source.actions.space
    if not hasattr(space, "n"):
        raise EstimationError(f"{name} has continuous actions; validate needs discrete actions "
                              "(a contrast of two of them)")
    hidden = source.scm.hidden
    nodes = [v for v in source.actions.nodes if v not in hidden]
    if len(nodes) != 1:
        raise EstimationError(f"{name}: validate needs exactly one observed action node, found {nodes}")
    treat, control = contrast if contrast is not None else (1, 0)
    t, c = _action_index(source, treat), _action_index(source, control)
    if t == c:
        raise EstimationError(f"contrast: treat and control are the same action ({treat!r})")
    treatment, outcome = nodes[0], source.outcome
    state = set(getattr(source, "state_nodes", ()))
    covariates = tuple(v for v in source.context if v not in state)
    iv = _instrument(source, treatment, outcome)
    return {"treatment": treatment, "outcome": outcome, "covariates": covariates, "instrument": iv,
            "iv_covariates": tuple(v for v in covariates if v != iv), "treat": t, "control": c}


def _explicit_roles(source: Any, contrast: tuple[Any, Any] | None) -> dict[str, Any]:
    name = type(source).__name__
    for role in ("treatment", "outcome"):
        if not isinstance(getattr(source, role, None), str):
            raise EstimationError(f"{name}: a validation source needs a `{role}` attribute (a column name), "
                                  "or must be a scenario; wrap a plain SCM in SCMSource(scm, treatment, "
                                  "outcome)")
    covs = getattr(source, "covariates", None) or ()
    covs = (covs,) if isinstance(covs, str) else tuple(covs)
    iv = getattr(source, "instrument", None)
    treat, control = contrast if contrast is not None else (getattr(source, "treat", 1.0),
                                                           getattr(source, "control", 0.0))
    return {"treatment": source.treatment, "outcome": source.outcome, "covariates": covs,
            "instrument": iv, "iv_covariates": tuple(c for c in covs if c != iv),
            "treat": treat, "control": control}


def _with_knobs(source: Any, knobs: Mapping[str, Any]) -> Any:
    """The source rebuilt with knob values: a factory is called, a scenario remade with new params."""
    if not knobs:
        return source() if callable(source) and not hasattr(source, "observational") else source
    if callable(source) and not hasattr(source, "observational"):
        return source(**knobs)
    params = getattr(source, "params", None)
    if dataclasses.is_dataclass(params):
        fields = {f.name for f in dataclasses.fields(params)}
        unknown = sorted(set(knobs) - fields)
        if unknown:
            raise EstimationError(f"knobs {unknown} are not parameters of {type(source).__name__} "
                                  f"(parameters: {', '.join(sorted(fields))})")
        return type(source)(params, **knobs)
    raise EstimationError(f"knobs need a scenario (with dataclass .params) or a factory function "
                          f"source(**knobs); {type(source).__name__} is neither")


def _cate_truth(source: Any, roles: Mapping[str, Any], truth: Any, seed: int, units: int,
                samples: int) -> tuple[pd.DataFrame | None, np.ndarray | None]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(EVAL_KEY,)))
    covs = list(roles["covariates"])
    if not covs:
        return None, None
    data = source.observational(units, rng)
    ctx = data[covs].reset_index(drop=True)
    if _is_scenario(source) and hasattr(truth, "cate"):
        full = data[list(source.context)].reset_index(drop=True)
        tau = truth.cate(roles["treat"], roles["control"], full, samples=samples, seed=seed)
    elif hasattr(source, "cate"):
        tau = source.cate(ctx, samples=samples, seed=seed)
    else:
        return None, None
    return ctx, np.asarray(tau, dtype=np.float64)


def settings(source: Any, knobs: Mapping[str, Sequence[Any]] | None, *, seed: int,
             contrast: tuple[Any, Any] | None = None, cate: bool = True, cate_units: int = 500,
             cate_samples: int = 500) -> list[Setting]:
    """One :class:`Setting` per combination of knob values (the grid, in the order given)."""
    grid = dict(knobs or {})
    for k, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise EstimationError(f"knobs[{k!r}] must be a non-empty list of values, got {values!r}")
    out = []
    for combo in itertools.product(*grid.values()) if grid else [()]:
        setting = dict(zip(grid, combo, strict=True))
        src = _with_knobs(source, setting)
        what = type(src).__name__
        if not hasattr(src, "observational"):
            raise EstimationError(f"{what} is not a validation source: it needs observational(n, rng) and "
                                  "truth()")
        if not callable(getattr(src, "truth", None)):
            raise EstimationError(f"{what} has no truth(): validation scores estimators against the true "
                                  "effect; use a scenario or SCMSource(scm, treatment, outcome)")
        if _is_scenario(src):
            roles = _scenario_roles(src, contrast)
            truth_obj = src.truth()
            value = _truth_value(truth_obj.ate(roles["treat"], roles["control"]), what)
        else:
            roles = _explicit_roles(src, contrast)
            truth_obj = src.truth()
            value = _truth_value(truth_obj, what)
        ctx, tau = (_cate_truth(src, roles, truth_obj, seed, cate_units, cate_samples) if cate
                    else (None, None))
        out.append(Setting(source=src, knobs=tuple(setting.items()), truth=value, cate_context=ctx,
                           cate_truth=tau, **roles))
    return out
