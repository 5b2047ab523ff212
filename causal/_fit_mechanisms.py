"""Building blocks of learned SCMs (:mod:`causal.fit`): empirical noise, feature design, classifiers.

* :class:`Empirical` — the distribution of observed values (or residuals) as
  noise: a variance-preserving smoothed bootstrap, so that it has a density
  (likelihood weighting needs one) and draws are not confined to the sample.
* :class:`Design` — the feature matrix of a node's parents: numeric parents as
  they are, categorical parents (more than two integer levels) one-hot coded.
* :class:`Predictor` — a fitted regressor as the ``f`` of an
  :class:`~causal.mechanisms.Additive` mechanism (invertible: counterfactuals
  abduct the noise exactly).
* :class:`Classified` — a fitted classifier (or constant frequencies) as a
  threshold mechanism: ``X = classes[j]`` when ``u`` falls in the ``j``-th cell of
  the class probabilities' cumulative sums, ``u ~ Uniform(0, 1)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from causal.errors import ModelError, SpecError
from causal.mechanisms import DiscreteMechanism
from causal.noise import Noise

__all__ = ["Empirical", "Design", "Predictor", "Classified"]

Arrays = Mapping[str, np.ndarray]

_CHUNK = 1 << 22   # elements of one (units x stored points) block of the kernel density


class Empirical(Noise):
    """Noise drawn from observed values by a variance-preserving smoothed bootstrap.

    A draw is ``m + (x_i - m + h * e) / sqrt(1 + h**2 / s**2)`` with ``x_i`` a
    stored value picked uniformly, ``e ~ N(0, 1)``, ``m`` and ``s`` the mean and
    standard deviation of the values and ``h`` Silverman's bandwidth: the draws
    have the values' mean and variance and a smooth density, whose log is
    :meth:`logpdf` (Silverman 1986, section 6.4.1).

    Parameters
    ----------
    values : array of float
        Observed values (e.g. a regression's residuals); at least 2.
    max_points : int
        At most this many values are kept (an evenly spaced subset of the sorted
        values, so the quantiles are kept).
    """

    full_support = True

    def __init__(self, values: Any, max_points: int = 4000) -> None:
        x = np.sort(np.asarray(values, dtype=float).ravel())
        if x.size < 2 or not np.isfinite(x).all():
            raise ModelError("empirical noise needs at least 2 finite values")
        if x.size > max_points:
            x = x[np.round(np.linspace(0, x.size - 1, max_points)).astype(np.int64)]
        self.values = x
        self.mean = float(x.mean())
        sd = float(x.std(ddof=1))
        iqr = float(np.subtract(*np.percentile(x, [75, 25]))) / 1.349
        spread = min(sd, iqr) if iqr > 0 else sd
        self.bandwidth = 0.9 * spread * x.size ** -0.2 if spread > 0 else 0.0
        self.shrink = float(np.sqrt(1.0 + self.bandwidth ** 2 / sd ** 2)) if sd > 0 else 1.0
        self.full_support = self.bandwidth > 0

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        pick = self.values[rng.integers(self.values.size, size=n)]
        jitter = rng.standard_normal(n) * self.bandwidth
        return self.mean + (pick - self.mean + jitter) / self.shrink

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.bandwidth == 0:
            return np.where(x == self.mean, 0.0, -np.inf)
        from scipy.special import logsumexp

        z = self.mean + (x.ravel() - self.mean) * self.shrink   # back to the kernel density's scale
        out = np.empty(z.size)
        step = max(1, _CHUNK // self.values.size)
        for start in range(0, z.size, step):
            d = (z[start:start + step, None] - self.values[None, :]) / self.bandwidth
            out[start:start + step] = logsumexp(-0.5 * d * d, axis=1)
        const = np.log(self.values.size * self.bandwidth * np.sqrt(2 * np.pi)) - np.log(self.shrink)
        return (out - const).reshape(x.shape)

    def expectation(self) -> float:
        return self.mean

    def to_spec(self) -> str:
        raise SpecError("empirical noise (a learned distribution of residuals) has no spec text; "
                        "fit with noise='gaussian' to get a model that can be written as a spec")

    def __str__(self) -> str:
        return f"empirical({self.values.size} values, mean {self.mean:.4g})"

    __repr__ = __str__


class Design:
    """The feature matrix of a node's parents.

    Parameters
    ----------
    parents : names of the parents, in column order
    levels : mapping parent -> its sorted levels, for parents to one-hot code
        (the first level is the reference and gets no column)
    """

    def __init__(self, parents: Sequence[str], levels: Mapping[str, np.ndarray] | None = None) -> None:
        self.parents = tuple(parents)
        self.levels = {p: np.asarray(v, dtype=float) for p, v in (levels or {}).items()}

    @property
    def numeric(self) -> bool:
        """Whether every column is a parent itself (no one-hot coding)."""
        return not self.levels

    def columns(self) -> list[str]:
        """Names of the matrix's columns (``parent=level`` for one-hot columns)."""
        out = []
        for p in self.parents:
            lv = self.levels.get(p)
            out.extend([p] if lv is None else [f"{p}={v:g}" for v in lv[1:]])
        return out

    def matrix(self, arrays: Arrays, n: int | None = None) -> np.ndarray:
        """``(n, columns)`` features of the units whose parent values are ``arrays``."""
        cols = [np.asarray(arrays[p], dtype=float) for p in self.parents]
        if n is None:
            n = max((c.size for c in cols), default=1)
        out = []
        for p, c in zip(self.parents, cols, strict=True):
            c = np.broadcast_to(c, (n,))
            lv = self.levels.get(p)
            if lv is None:
                out.append(c[:, None])
            else:
                out.append((c[:, None] == lv[None, 1:]).astype(float))
        return np.concatenate(out, axis=1) if out else np.empty((n, 0))


class Predictor:
    """A fitted regressor as a vectorized function of the parents' arrays (``Additive``'s ``f``)."""

    def __init__(self, model: Any, design: Design) -> None:
        self.model = model
        self.design = design

    def __call__(self, arrays: Arrays) -> np.ndarray:
        return np.asarray(self.model.predict(self.design.matrix(arrays)), dtype=float)

    def __repr__(self) -> str:
        return f"{type(self.model).__name__}({', '.join(self.design.parents)})"


class Classified(DiscreteMechanism):
    """``X = classes[j]`` with probability ``p_j(parents)`` from a fitted classifier.

    Parameters
    ----------
    classes : the node's values, sorted
    design : the parents' feature design (``None``: no parents)
    model : fitted classifier with ``predict_proba`` whose ``classes_`` are
        ``classes`` (``None``: the constant probabilities ``probs``)
    probs : class frequencies of a node without parents
    """

    def __init__(self, classes: Sequence[float], design: Design | None = None, model: Any = None,
                 probs: Sequence[float] | None = None) -> None:
        self.classes = np.asarray(classes, dtype=float)
        self.k = len(self.classes)
        self.design = design or Design(())
        self.parents = self.design.parents
        self.model = model
        self.probs = None if probs is None else np.asarray(probs, dtype=float)
        if (model is None) == (self.probs is None):
            raise ModelError("Classified: give a fitted classifier or constant probabilities")

    @property
    def cell_values(self) -> np.ndarray:
        return self.classes

    def probabilities(self, parents: Arrays, n: int) -> np.ndarray:
        """``(n, k)`` class probabilities per unit."""
        if self.model is None:
            return np.broadcast_to(self.probs, (n, self.k))
        return np.asarray(self.model.predict_proba(self.design.matrix(parents, n)), dtype=float)

    def cuts(self, parents, n):
        c = np.cumsum(self.probabilities(parents, n), axis=1)[:, :-1]
        return np.minimum(c, 1.0)

    def __repr__(self) -> str:
        what = type(self.model).__name__ if self.model is not None else "frequencies"
        return f"Classified({what}, classes={self.classes.tolist()}, parents={self.parents})"
