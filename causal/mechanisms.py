"""Structural mechanisms: how a node is computed from its parents and its noise.

A capability ladder, enforced with real abstract base classes:

* :class:`Mechanism` — declares ``parents`` and evaluates **vectorized**:
  ``evaluate(parents, noise, n)`` maps a dict of parent arrays and the node's
  own noise array to the node's values. Enough to sample and to intervene.
* :class:`InvertibleMechanism` — adds ``estimate_noise(value, parents)``: the
  noise is recovered exactly from an observed value (additive noise models:
  :class:`Linear`, :class:`Additive`). Enough for exact abduction.
* :class:`DiscreteMechanism` — a threshold model on uniform noise
  (:class:`Binary`, :class:`Categorical`): the value is the cell of ``u`` among
  cut points that depend on the parents. Adds ``interval(value, parents)``,
  the posterior of the noise given the observed value (uniform on an
  interval), so counterfactuals work for discrete nodes too.

:class:`Function` wraps any vectorized Python callable; :class:`Expression`
wraps a safe compiled expression (see :mod:`causal.expr`); :func:`equation`
picks :class:`Additive` for text of the form ``f(parents) + noise``.

Examples
--------
>>> import numpy as np
>>> m = Linear({"x": 2.0}, intercept=1.0)
>>> m.evaluate({"x": np.array([0.0, 1.0])}, np.array([0.5, 0.5]), 2)
array([1.5, 3.5])
>>> m.estimate_noise(np.array([1.5, 3.5]), {"x": np.array([0.0, 1.0])})
array([0.5, 0.5])
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from causal.errors import ModelError, SpecError
from causal.expr import Expr, _quiet, _unquiet, compile_expr, sigmoid
from causal.noise import Noise, Uniform

__all__ = [
    "Mechanism",
    "InvertibleMechanism",
    "DiscreteMechanism",
    "Linear",
    "Additive",
    "Function",
    "Expression",
    "Binary",
    "Categorical",
    "equation",
]

Arrays = Mapping[str, np.ndarray]


_BLOCK = 8192
_MUL, _ADD = np.multiply, np.add


def _add_scaled(out: np.ndarray, x: np.ndarray, c: float) -> None:
    """``out += c * x`` in place: the product rounded, then the sum rounded.

    One arithmetic path for every memory layout and every machine: numpy's
    multiply and add are separately rounded IEEE operations, never a fused
    multiply-add, so a unit's value is the same bits whether its parent is a
    contiguous row, a strided column or a single unit. (BLAS daxpy fuses the
    two on CPUs with FMA, which made contiguous and strided inputs differ in
    the last bit.) Large arrays go in blocks of 8,192 elements through one
    scratch buffer that stays in cache: no temporary of the arrays' size.
    """
    n = out.shape[0]
    if n <= _BLOCK:
        tmp = _MUL(x, c)
        _ADD(out, tmp, out)
        return
    if x.shape != out.shape:
        x = np.broadcast_to(x, out.shape)
    tmp = np.empty(_BLOCK)
    for start in range(0, n, _BLOCK):
        stop = start + _BLOCK
        if stop > n:
            stop = n
            tmp = tmp[:stop - start]
        o = out[start:stop]
        _MUL(x[start:stop], c, tmp)
        _ADD(o, tmp, o)


def _one(e: Expr) -> Callable[[Mapping[str, float]], float]:
    """``e`` compiled for one unit of floats (:func:`causal.expr_scalar.scalar_closure`), kept on it."""
    run = e.__dict__.get("_scalar_run")
    if run is None:
        from causal.expr_scalar import scalar_closure

        run = scalar_closure(e)
        object.__setattr__(e, "_scalar_run", run)
    return run


def _names(parents: Iterable[str] | str | None) -> tuple[str, ...]:
    if parents is None:
        return ()
    if isinstance(parents, str):
        return (parents,)
    out = tuple(parents)
    for p in out:
        if not isinstance(p, str) or not p:
            raise ModelError(f"parent names must be non-empty strings, got {p!r}")
    if len(set(out)) != len(out):
        raise ModelError(f"duplicate parent names in {out}")
    return out


def _as_expr(x: str | Expr, what: str) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, str):
        return compile_expr(x, where=what)
    raise ModelError(f"{what}: expected an expression string, got {type(x).__name__}")


def _fmt(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


class Mechanism(ABC):
    """A structural equation ``X := f(parents, noise)``, evaluated over arrays of units."""

    parents: tuple[str, ...] = ()
    #: Whether the node must have a noise variable.
    requires_noise: bool = False
    #: Whether the node may have a noise variable.
    accepts_noise: bool = True
    #: Whether outputs are integers (categories); used for DataFrame dtypes.
    discrete_output: bool = False
    #: Whether outputs may be non-finite and must be checked.
    may_be_nonfinite: bool = True

    @abstractmethod
    def evaluate(self, parents: Arrays, noise: np.ndarray | None, n: int) -> np.ndarray:
        """Values of the node for ``n`` units (a new float64 array of shape ``(n,)``)."""

    def evaluate_owned(self, parents: Arrays, noise: np.ndarray | None, n: int) -> np.ndarray:
        """Like :meth:`evaluate`, but the caller gives up ``noise``: it may be overwritten."""
        return self.evaluate(parents, noise, n)

    def evaluate_one(self, parents: Mapping[str, float], noise: float | None) -> float:
        """The node's value for one unit (parents and noise as floats), equal to element 0 of
        :meth:`evaluate` on one-element arrays to the last bit.

        This default *is* that evaluation; subclasses compute with Python floats where the
        arithmetic is the same (see :mod:`causal.expr_scalar`). May raise one of
        :data:`causal.expr_scalar.FALLBACK` where the batch path gives a non-finite value.
        """
        arrays = {p: np.array([parents[p]], dtype=np.float64) for p in self.parents}
        u = None if noise is None else np.array([noise], dtype=np.float64)
        return float(self.evaluate(arrays, u, 1)[0])

    def default_noise(self) -> Noise | None:
        """The noise the mechanism uses when none is declared (``None``: deterministic)."""
        return None

    def check_noise(self, node: str, noise: Noise | None) -> None:
        """Raise :class:`ModelError` when ``noise`` does not suit this mechanism."""
        if noise is None and self.requires_noise:
            raise ModelError(f"node {node!r}: its mechanism uses noise but none is declared")
        if noise is not None and not self.accepts_noise:
            raise ModelError(f"node {node!r}: noise is declared but the mechanism does not use it")

    def to_spec(self, has_noise: bool) -> dict[str, Any]:
        """The spec keys (``equation``, ``type``, ``logit``, ...) that describe this mechanism."""
        raise SpecError(f"{type(self).__name__} mechanisms wrap Python code and cannot be written "
                        "as a spec; use Linear, Additive/Expression with an expression string, "
                        "Binary or Categorical")


class InvertibleMechanism(Mechanism):
    """A mechanism whose noise is a function of the value and the parents."""

    @abstractmethod
    def estimate_noise(self, value: np.ndarray, parents: Arrays) -> np.ndarray:
        """The noise that produced ``value`` given ``parents`` (exact abduction)."""

    def replay(self, value: np.ndarray, factual: Arrays, world: Arrays, changed: Collection[str],
               n: int) -> np.ndarray:
        """The value in ``world`` of a unit whose noise gave ``value`` in ``factual``.

        Abduction and prediction in one step (the twin network's node): parents
        not in ``changed`` have the same value in both worlds.
        """
        return self.evaluate(world, self.estimate_noise(value, factual), n)


class DiscreteMechanism(Mechanism):
    """``X = cell_values[j]`` when ``cuts[j-1] <= u < cuts[j]``, ``u ~ Uniform(0, 1)``.

    Subclasses give the cut points (shape ``(n, k - 1)``, non-decreasing, in
    ``[0, 1]``) as a function of the parents, and the value of each cell.
    """

    requires_noise = True
    discrete_output = True
    may_be_nonfinite = False

    @property
    def k_known(self) -> bool:
        """Whether the number of categories is known before evaluation."""
        return getattr(self, "k", 2) is not None

    @property
    @abstractmethod
    def cell_values(self) -> np.ndarray:
        """The node's value in each of the ``k`` cells of the unit interval."""

    @abstractmethod
    def cuts(self, parents: Arrays, n: int) -> np.ndarray:
        """Cut points, shape ``(n, k - 1)``."""

    def default_noise(self) -> Noise:
        return Uniform(0.0, 1.0)

    def check_noise(self, node: str, noise: Noise | None) -> None:
        if noise != Uniform(0.0, 1.0):
            raise ModelError(f"node {node!r}: {type(self).__name__} nodes take uniform(0, 1) noise, "
                             f"got {noise}")

    def evaluate(self, parents: Arrays, noise: np.ndarray | None, n: int) -> np.ndarray:
        cuts = self.cuts(parents, n)
        cells = (cuts <= noise[:, None]).sum(axis=1)
        return self.cell_values[cells]

    def interval(self, value: np.ndarray, parents: Arrays) -> tuple[np.ndarray, np.ndarray]:
        """Posterior support ``[low, high)`` of the noise given the observed ``value``.

        The posterior of ``u`` is uniform there; ``high - low`` is the likelihood
        of ``value`` given the parents (zero when the value is impossible).
        """
        n = len(value)
        cuts = self.cuts(parents, n)
        edges = np.concatenate([np.zeros((n, 1)), cuts, np.ones((n, 1))], axis=1)
        match = self.cell_values[None, :] == np.asarray(value, dtype=float)[:, None]
        cell = np.argmax(match, axis=1)
        found = match.any(axis=1)
        rows = np.arange(n)
        low = np.where(found, edges[rows, cell], 0.0)
        high = np.where(found, edges[rows, cell + 1], 0.0)
        return low, high


class Linear(InvertibleMechanism):
    """``X := intercept + sum_j coefs[j] * parent_j + noise``.

    Parameters
    ----------
    coefs : mapping of parent name to coefficient
    intercept : float
    """

    may_be_nonfinite = False

    def __init__(self, coefs: Mapping[str, float] | None = None, intercept: float = 0.0) -> None:
        coefs = dict(coefs or {})
        self.parents = _names(coefs)
        for name, c in coefs.items():
            if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(c):
                raise ModelError(f"Linear: coefficient of {name!r} must be a finite number, got {c!r}")
        if not np.isfinite(intercept):
            raise ModelError(f"Linear: intercept must be finite, got {intercept!r}")
        self.coefs = {k: float(v) for k, v in coefs.items()}
        self.intercept = float(intercept)

    def _mean(self, parents: Arrays, n: int, base: np.ndarray | None, owned: bool = False) -> np.ndarray:
        if base is None:
            out = np.full(n, self.intercept)
        elif owned:                        # the caller gives up ``base``: work in it
            out = base
            if self.intercept:
                out += self.intercept
        else:
            out = base + self.intercept
        for name, c in self.coefs.items():
            _add_scaled(out, parents[name], c)
        return out

    def evaluate(self, parents, noise, n):
        return self._mean(parents, n, noise)

    def evaluate_owned(self, parents, noise, n):
        return self._mean(parents, n, noise, owned=noise is not None)

    def evaluate_one(self, parents, noise):
        # as _mean: the intercept added to the noise, then each product c * x rounded and added
        out = self.intercept if noise is None else noise + self.intercept
        for name, c in self.coefs.items():
            out = out + parents[name] * c
        return out

    def estimate_noise(self, value, parents):
        return np.asarray(value, dtype=float) - self._mean(parents, len(value), None)

    def replay(self, value, factual, world, changed, n):
        # the noise cancels: x' = x + sum over changed parents of c * (p' - p); the difference
        # first, so an unchanged parent adds exactly zero
        out = np.array(value, dtype=float)
        for name, c in self.coefs.items():
            if name in changed:
                _add_scaled(out, np.subtract(world[name], factual[name]), c)
        return out

    def to_spec(self, has_noise):
        terms = [_fmt(self.intercept)] if self.intercept or not self.coefs else []
        for name, c in self.coefs.items():
            terms.append(f"{_fmt(c)} * {name}")
        text = " + ".join(terms).replace("+ -", "- ")
        return {"equation": f"{text} + noise" if has_noise else text}

    def __repr__(self) -> str:
        return f"Linear({self.coefs!r}, intercept={self.intercept!r})"


class Additive(InvertibleMechanism):
    """``X := f(parents) + noise`` for any vectorized ``f`` (callable or expression text)."""

    def __init__(self, f: Callable[[Arrays], Any] | str | Expr,
                 parents: Iterable[str] | None = None) -> None:
        if isinstance(f, (str, Expr)):
            self.f = _as_expr(f, "Additive")
            if self.f.uses_noise():
                raise ModelError(f"Additive: f must not use 'noise' (it is added): {self.f}")
            self.parents = _names(sorted(self.f.names)) if parents is None else _names(parents)
            missing = self.f.names - set(self.parents)
            if missing:
                raise ModelError(f"Additive: f uses {sorted(missing)} which are not parents")
        elif callable(f):
            self.f = f
            self.parents = _names(parents)
        else:
            raise ModelError(f"Additive: f must be callable or an expression, got {f!r}")

    def _mean(self, parents: Arrays, n: int) -> np.ndarray:
        if isinstance(self.f, Expr):
            return self.f(parents, n)
        out = np.asarray(self.f({p: parents[p] for p in self.parents}), dtype=float)
        return np.broadcast_to(out, (n,)).copy() if out.shape != (n,) else out

    def evaluate(self, parents, noise, n):
        mean = self._mean(parents, n)
        return mean if noise is None else mean + noise

    def evaluate_one(self, parents, noise):
        if not isinstance(self.f, Expr):
            return super().evaluate_one(parents, noise)
        mean = _one(self.f)(parents)
        return mean if noise is None else mean + noise

    def estimate_noise(self, value, parents):
        return np.asarray(value, dtype=float) - self._mean(parents, len(value))

    def to_spec(self, has_noise):
        if not isinstance(self.f, Expr):
            return super().to_spec(has_noise)
        return {"equation": f"{self.f} + noise" if has_noise else str(self.f)}

    def __repr__(self) -> str:
        return f"Additive({str(self.f)!r})" if isinstance(self.f, Expr) else f"Additive({self.f!r})"


class Function(Mechanism):
    """``X := fn(parents, noise)`` for a vectorized Python callable (not invertible).

    ``fn`` receives a dict of parent arrays and the noise array (``None`` when
    ``uses_noise`` is false) and returns one value per unit.
    """

    def __init__(self, fn: Callable[[Arrays, np.ndarray | None], Any],
                 parents: Iterable[str] | None = None, uses_noise: bool = True) -> None:
        if not callable(fn):
            raise ModelError(f"Function needs a callable fn(parents, noise), got {fn!r}")
        self.fn = fn
        self.parents = _names(parents)
        self.requires_noise = self.accepts_noise = bool(uses_noise)

    def evaluate(self, parents, noise, n):
        out = np.asarray(self.fn({p: parents[p] for p in self.parents}, noise), dtype=float)
        if out.shape != (n,):
            try:
                out = np.broadcast_to(out, (n,)).copy()
            except ValueError:
                raise ModelError(f"Function {self.fn!r} returned shape {out.shape}, "
                                 f"expected ({n},)") from None
        return out

    def __repr__(self) -> str:
        return f"Function({getattr(self.fn, '__name__', self.fn)!r}, parents={self.parents})"


class Expression(Mechanism):
    """``X := expr`` for a compiled safe expression that may use ``noise`` anywhere."""

    def __init__(self, expr: str | Expr) -> None:
        self.expr = _as_expr(expr, "Expression")
        self.parents = _names(sorted(self.expr.names - {"noise"}))
        self.requires_noise = self.accepts_noise = self.expr.uses_noise()

    def evaluate(self, parents, noise, n):
        if noise is None:
            return self.expr(parents, n)
        return self.expr({**parents, "noise": noise}, n)

    def evaluate_one(self, parents, noise):
        run = _one(self.expr)
        if noise is None:
            return run(parents)
        env = dict(parents)
        env["noise"] = noise
        return run(env)

    def to_spec(self, has_noise):
        return {"equation": str(self.expr)}

    def __repr__(self) -> str:
        return f"Expression({str(self.expr)!r})"


def _index(value: str | Expr | float | Callable, parents: Iterable[str] | None, what: str):
    """A scalar, an expression or a callable giving one number per unit, with its parents."""
    if isinstance(value, bool):
        raise ModelError(f"{what}: expected a number or an expression, got {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        if not np.isfinite(value):
            raise ModelError(f"{what}: must be finite, got {value!r}")
        return float(value), ()
    if isinstance(value, (str, Expr)):
        e = _as_expr(value, what)
        if e.uses_noise():
            raise ModelError(f"{what}: may not use 'noise' (the node's noise is its uniform draw)")
        return e, tuple(sorted(e.names))
    if callable(value):
        return value, _names(parents)
    raise ModelError(f"{what}: expected a number, an expression or a callable, got {value!r}")


_MIN, _MAX, _SUM = np.minimum.reduce, np.maximum.reduce, np.add.reduce


def _within(a: np.ndarray, low: float, high: float) -> bool:
    """Whether every element is in ``[low, high]`` (NaN is not), in two reductions."""
    return bool(_MIN(a, axis=None, initial=np.inf) >= low and _MAX(a, axis=None, initial=-np.inf) <= high)


def _eval_index(f, parents: Arrays, n: int, names: Sequence[str]) -> np.ndarray:
    if isinstance(f, float):
        return np.full(n, f)
    if isinstance(f, Expr):
        return f(parents, n)
    out = np.asarray(f({p: parents[p] for p in names}), dtype=float)
    return np.broadcast_to(out, (n,)) if out.shape != (n,) else out


class Binary(DiscreteMechanism):
    """``X := 1[u < p(parents)]`` with ``u ~ Uniform(0, 1)``.

    Give exactly one of ``p`` (a probability), ``logit`` (``p = sigmoid(logit)``)
    or ``probit`` (``p = Phi(probit)``); each is a number, an expression text
    over the parents, or a vectorized callable (then name its ``parents``).
    """

    def __init__(self, p=None, *, logit=None, probit=None, parents=None) -> None:
        given = [(k, v) for k, v in (("p", p), ("logit", logit), ("probit", probit)) if v is not None]
        if len(given) != 1:
            raise ModelError("Binary: give exactly one of p=, logit= or probit=")
        self.link, raw = given[0]
        self.raw = raw
        self.index, self.parents = _index(raw, parents, f"Binary {self.link}")
        # a constant probability in [0, 1] is compared with the noise as it is
        self._fixed_p = self.index if self.link == "p" and isinstance(self.index, float) \
            and 0.0 <= self.index <= 1.0 else None

    @property
    def cell_values(self) -> np.ndarray:
        return np.array([1.0, 0.0])

    def probability(self, parents: Arrays, n: int) -> np.ndarray:
        """``P(X = 1 | parents)`` per unit."""
        z = _eval_index(self.index, parents, n, self.parents)
        if self.link == "logit":
            return sigmoid(z)
        if self.link == "probit":
            from scipy.special import ndtr

            return ndtr(z)
        if not _within(z, 0.0, 1.0):
            bad = ~((z >= 0) & (z <= 1))
            raise ModelError(f"Binary p evaluated outside [0, 1] (e.g. {z[bad][0]:g}); "
                             "clip it or use logit=")
        return z

    def cuts(self, parents, n):
        return self.probability(parents, n)[:, None]

    def evaluate(self, parents, noise, n):
        p = self._fixed_p if self._fixed_p is not None else self.probability(parents, n)
        return (noise < p).astype(float)

    def evaluate_one(self, parents, noise):
        p = self._fixed_p
        if p is None:
            if isinstance(self.index, float):
                z = self.index
            elif isinstance(self.index, Expr):
                z = _one(self.index)(parents)
            else:
                return super().evaluate_one(parents, noise)
            if self.link == "logit":  # the batch link on a one-element array
                token = _quiet()
                try:
                    p = sigmoid(np.array([z]))[0].item()
                finally:
                    _unquiet(token)
            elif self.link == "probit":
                return super().evaluate_one(parents, noise)
            elif not 0.0 <= z <= 1.0:
                raise ValueError("p outside [0, 1]")  # the batch path raises the ModelError
            else:
                p = z
        return 1.0 if noise < p else 0.0

    def to_spec(self, has_noise):
        if isinstance(self.index, float):
            return {"type": "binary", self.link: self.index}
        if isinstance(self.index, Expr):
            return {"type": "binary", self.link: str(self.index)}
        return super().to_spec(has_noise)

    def __repr__(self) -> str:
        return f"Binary({self.link}={str(self.raw)!r})"


class Categorical(DiscreteMechanism):
    """``X := k`` with probability ``probs[k](parents)``, by inverse CDF of ``u``.

    ``probs`` is a list of numbers or expressions (weights, normalised per
    unit), or a callable returning an ``(n, k)`` array (then name ``parents``).
    """

    def __init__(self, probs, parents=None) -> None:
        if callable(probs):
            self.fn, self.items, self.parents = probs, None, _names(parents)
            self.k = None
            return
        if isinstance(probs, (str, bytes)) or not isinstance(probs, Sequence | np.ndarray) \
                or len(probs) < 2:
            raise ModelError("Categorical: probs must be a list of at least two numbers or expressions")
        self.fn = None
        self.items = [_index(p, None, f"Categorical probs[{i}]") for i, p in enumerate(probs)]
        self.k = len(self.items)
        self.parents = tuple(sorted({name for _, names in self.items for name in names}))
        if all(isinstance(f, float) for f, _ in self.items):
            w = np.array([f for f, _ in self.items])
            if (w < 0).any() or abs(w.sum() - 1.0) > 1e-6:
                raise ModelError(f"Categorical: constant probs must be >= 0 and sum to 1, got {list(w)}")

    @property
    def cell_values(self) -> np.ndarray:
        return np.arange(self.k, dtype=float)

    def probabilities(self, parents: Arrays, n: int) -> np.ndarray:
        """``(n, k)`` category probabilities per unit."""
        if self.fn is not None:
            w = np.asarray(self.fn({p: parents[p] for p in self.parents}), dtype=float)
            if w.ndim != 2 or w.shape[0] != n:
                raise ModelError(f"Categorical probs callable returned shape {w.shape}, expected ({n}, k)")
            if self.k is None:
                self.k = w.shape[1]
        else:
            w = np.empty((n, self.k))
            for j, (f, names) in enumerate(self.items):
                w[:, j] = f if isinstance(f, float) else _eval_index(f, parents, n, names)
        if not (_MIN(w, axis=None, initial=np.inf) >= 0 and _MAX(w, axis=None, initial=0.0) < np.inf):
            raise ModelError("Categorical probabilities must be finite and >= 0")
        total = _SUM(w, axis=1, keepdims=True)  # w.sum(axis=1), without the Python wrapper
        if _MIN(total, axis=None, initial=np.inf) <= 0:
            raise ModelError("Categorical probabilities sum to 0 for some unit")
        return np.true_divide(w, total)

    def cuts(self, parents, n):
        return np.add.accumulate(self.probabilities(parents, n), axis=1)[:, :-1]  # np.cumsum

    def evaluate(self, parents, noise, n):
        # cell j has the value j: count the cuts at or below u, as floats
        return _SUM(np.less_equal(self.cuts(parents, n), noise[:, None]), axis=1, dtype=np.float64)

    def to_spec(self, has_noise):
        if self.items is None:
            return super().to_spec(has_noise)
        return {"type": "categorical",
                "probs": [f if isinstance(f, float) else str(f) for f, _ in self.items]}

    def __repr__(self) -> str:
        return f"Categorical(k={self.k})"


def _linear_form(f: Expr) -> tuple[dict[str, float], float] | None:
    """``(coefs, intercept)`` when ``f`` is an affine function of its names, else ``None``."""
    import ast

    from causal.expr import CONSTANTS

    def term(node: ast.expr, sign: float) -> tuple[str | None, float] | None:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return term(node.operand, -sign if isinstance(node.op, ast.USub) else sign)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return None, sign * float(node.value)
        if isinstance(node, ast.Name) and node.id not in CONSTANTS:
            return node.id, sign
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
            left, right = term(node.left, 1.0), term(node.right, 1.0)
            if left is None or right is None:
                return None
            if isinstance(node.op, ast.Mult) and (left[0] is None) != (right[0] is None):
                name = left[0] or right[0]
                return name, sign * left[1] * right[1]
            if isinstance(node.op, ast.Div) and right[0] is None and right[1] != 0:
                return left[0], sign * left[1] / right[1]
        return None

    terms: list[tuple[ast.expr, float]] = []
    node = ast.parse(f.text, mode="eval").body
    while isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        terms.append((node.right, 1.0 if isinstance(node.op, ast.Add) else -1.0))
        node = node.left
    terms.append((node, 1.0))
    coefs: dict[str, float] = {}
    intercept = 0.0
    for node, sign in reversed(terms):
        t = term(node, sign)
        if t is None:
            return None
        if t[0] is None:
            intercept += t[1]
        else:
            coefs[t[0]] = coefs.get(t[0], 0.0) + t[1]
    return coefs, intercept


def equation(text: str | Expr, *, where: str = "") -> Mechanism:
    """The mechanism for an equation text.

    ``f + noise`` is additive (:class:`Additive`, invertible); when ``f`` is
    affine in its parents it becomes :class:`Linear` (the fastest path).

    >>> equation("20 + 3 * temperature + noise")
    Linear({'temperature': 3.0}, intercept=20.0)
    >>> equation("20 + 3 * exp(temperature) + noise")
    Additive('20 + 3 * exp(temperature)')
    >>> equation("exp(noise) * x")
    Expression('exp(noise) * x')
    """
    e = text if isinstance(text, Expr) else compile_expr(text, where=where)
    f = e.additive_split()
    if f is not None:
        form = _linear_form(f)
        if form is not None:
            return Linear(*form)
        return Additive(f)
    return Expression(e)
