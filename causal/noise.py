"""Exogenous noise distributions.

Each node of an SCM owns one noise variable. A :class:`Noise` draws it with a
caller's :class:`numpy.random.Generator` (never a global one), scores values
(``logpdf``, used to weight particles when evidence pins an additive node's
noise), and says whether its support is finite (``support``), which exact
enumeration of discrete models needs.

Parameters are validated at construction, so a bad distribution fails where it
is written, not deep inside a sampling loop.

Examples
--------
>>> import numpy as np
>>> Normal(0, 2).sample(3, np.random.default_rng(0)).round(3).tolist()
[0.251, -0.264, 1.281]
>>> Bernoulli(0.3).support()
(array([0., 1.]), array([0.7, 0.3]))
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from causal.errors import ModelError

__all__ = [
    "Noise",
    "Normal",
    "Uniform",
    "LogNormal",
    "Exponential",
    "StudentT",
    "Gumbel",
    "Bernoulli",
    "Categorical",
    "DISTRIBUTIONS",
]


def _finite(name: str, **values: float) -> None:
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ModelError(f"{name}: {key} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ModelError(f"{name}: {key} must be finite, got {value!r}")


def _positive(name: str, **values: float) -> None:
    _finite(name, **values)
    for key, value in values.items():
        if value <= 0:
            raise ModelError(f"{name}: {key} must be > 0, got {value!r}")


def _fmt(x: float) -> str:
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


class Noise(ABC):
    """An exogenous noise distribution.

    Subclasses implement :meth:`sample` and :meth:`logpdf`; discrete ones also
    :meth:`support`.
    """

    #: ``True`` when the distribution has finitely many values.
    discrete: bool = False
    #: ``True`` when every real number has positive density (no value is impossible).
    full_support: bool = False

    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` values as a float64 array."""

    def sample_into(self, out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw ``len(out)`` values into ``out`` (the same values :meth:`sample` draws)."""
        out[...] = self.sample(len(out), rng)
        return out

    @abstractmethod
    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density (or log mass for discrete noise) at ``x``; ``-inf`` off support."""

    @abstractmethod
    def to_spec(self) -> str:
        """The spec text, e.g. ``"normal(25, 5)"``, that :func:`causal.load_scm` reads back."""

    @abstractmethod
    def expectation(self) -> float:
        """The mean of the distribution."""

    def support(self) -> tuple[np.ndarray, np.ndarray]:
        """Values and probabilities of a finite distribution."""
        raise ModelError(f"{self.to_spec()} is continuous: it has no finite support")

    def __str__(self) -> str:
        return self.to_spec()


class _Fills(Noise):
    """Noise drawn straight into a given array by ``_fill``; :meth:`sample` allocates and fills."""

    def _fill(self, out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._fill(np.empty(n), rng)

    def sample_into(self, out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if type(self).sample is not _Fills.sample:  # a subclass that draws its own way
            return super().sample_into(out, rng)
        return self._fill(out, rng)


@dataclass(frozen=True)
class Normal(_Fills):
    """Gaussian noise ``N(mean, sd**2)``."""

    full_support = True

    mean: float = 0.0
    sd: float = 1.0

    def __post_init__(self) -> None:
        _finite("normal", mean=self.mean)
        _positive("normal", sd=self.sd)

    def expectation(self) -> float:
        return float(self.mean)

    def _fill(self, out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rng.standard_normal(out=out)
        if self.sd != 1.0:
            out *= self.sd
        if self.mean != 0.0:
            out += self.mean
        return out

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=float) - self.mean) / self.sd
        return -0.5 * z * z - math.log(self.sd) - 0.5 * math.log(2 * math.pi)

    def to_spec(self) -> str:
        return f"normal({_fmt(self.mean)}, {_fmt(self.sd)})"


@dataclass(frozen=True)
class Uniform(_Fills):
    """Uniform noise on ``[low, high)``."""

    low: float = 0.0
    high: float = 1.0

    def __post_init__(self) -> None:
        _finite("uniform", low=self.low, high=self.high)
        if not self.low < self.high:
            raise ModelError(f"uniform: need low < high, got low={self.low}, high={self.high}")
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))

    def expectation(self) -> float:
        return 0.5 * (self.low + self.high)

    def _fill(self, out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rng.random(out=out)
        if (self.low, self.high) != (0.0, 1.0):
            out *= self.high - self.low
            out += self.low
        return out

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        inside = (x >= self.low) & (x <= self.high)
        return np.where(inside, -math.log(self.high - self.low), -np.inf)

    def to_spec(self) -> str:
        return f"uniform({_fmt(self.low)}, {_fmt(self.high)})"


@dataclass(frozen=True)
class LogNormal(Noise):
    """``exp(N(mu, sigma**2))``."""

    mu: float = 0.0
    sigma: float = 1.0

    def __post_init__(self) -> None:
        _finite("lognormal", mu=self.mu)
        _positive("lognormal", sigma=self.sigma)

    def expectation(self) -> float:
        return math.exp(self.mu + 0.5 * self.sigma**2)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, n)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            logx = np.log(np.where(x > 0, x, 1.0))
            z = (logx - self.mu) / self.sigma
            out = -0.5 * z * z - logx - math.log(self.sigma) - 0.5 * math.log(2 * math.pi)
        return np.where(x > 0, out, -np.inf)

    def to_spec(self) -> str:
        return f"lognormal({_fmt(self.mu)}, {_fmt(self.sigma)})"


@dataclass(frozen=True)
class Exponential(Noise):
    """Exponential noise with the given ``scale`` (= mean)."""

    scale: float = 1.0

    def __post_init__(self) -> None:
        _positive("exponential", scale=self.scale)

    def expectation(self) -> float:
        return float(self.scale)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.exponential(self.scale, n)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.where(x >= 0, -x / self.scale - math.log(self.scale), -np.inf)

    def to_spec(self) -> str:
        return f"exponential({_fmt(self.scale)})"


@dataclass(frozen=True)
class StudentT(Noise):
    """Student's t noise with ``df`` degrees of freedom, location ``loc`` and ``scale``."""

    full_support = True

    df: float = 3.0
    loc: float = 0.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        _positive("student_t", df=self.df, scale=self.scale)
        _finite("student_t", loc=self.loc)

    def expectation(self) -> float:
        if self.df <= 1:
            raise ModelError(f"student_t({self.df}) has no mean: use df > 1")
        return float(self.loc)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.loc + self.scale * rng.standard_t(self.df, n)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=float) - self.loc) / self.scale
        nu = self.df
        const = (math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi)
                 - math.log(self.scale))
        return const - (nu + 1) / 2 * np.log1p(z * z / nu)

    def to_spec(self) -> str:
        if (self.loc, self.scale) == (0.0, 1.0):
            return f"student_t({_fmt(self.df)})"
        return f"student_t({_fmt(self.df)}, {_fmt(self.loc)}, {_fmt(self.scale)})"


@dataclass(frozen=True)
class Gumbel(Noise):
    """Gumbel (type I extreme value) noise."""

    full_support = True

    loc: float = 0.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        _finite("gumbel", loc=self.loc)
        _positive("gumbel", scale=self.scale)

    def expectation(self) -> float:
        return self.loc + self.scale * np.euler_gamma

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.gumbel(self.loc, self.scale, n)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=float) - self.loc) / self.scale
        with np.errstate(over="ignore"):
            return -z - np.exp(-z) - math.log(self.scale)

    def to_spec(self) -> str:
        return f"gumbel({_fmt(self.loc)}, {_fmt(self.scale)})"


@dataclass(frozen=True)
class Categorical(Noise):
    """Discrete noise taking value ``k`` with probability ``probs[k]`` (k = 0, 1, ...)."""

    probs: tuple[float, ...] = field(default=(0.5, 0.5))
    discrete = True

    def __post_init__(self) -> None:
        probs = self.probs
        if isinstance(probs, (str, bytes)) or not isinstance(probs, Sequence | np.ndarray):
            raise ModelError(f"categorical: probs must be a list of numbers, got {probs!r}")
        probs = tuple(float(p) if not isinstance(p, bool) else p for p in probs)
        if len(probs) < 2:
            raise ModelError("categorical: give at least two probabilities")
        for p in probs:
            _finite("categorical", probability=p)
            if p < 0:
                raise ModelError(f"categorical: probabilities must be >= 0, got {p}")
        if abs(sum(probs) - 1.0) > 1e-6:
            raise ModelError(f"categorical: probabilities must sum to 1, they sum to {sum(probs):g}")
        object.__setattr__(self, "probs", probs)

    def expectation(self) -> float:
        return float(np.dot(np.arange(len(self.probs)), self.probs))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        cum = np.cumsum(self.probs)
        cum[-1] = 1.0
        return np.searchsorted(cum, rng.random(n), side="right").astype(float)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        k = np.rint(x)
        ok = (k == x) & (k >= 0) & (k < len(self.probs))
        with np.errstate(divide="ignore"):
            logp = np.log(np.asarray(self.probs))
        return np.where(ok, logp[np.clip(k, 0, len(self.probs) - 1).astype(int)], -np.inf)

    def support(self) -> tuple[np.ndarray, np.ndarray]:
        return np.arange(len(self.probs), dtype=float), np.asarray(self.probs)

    def to_spec(self) -> str:
        return "categorical([" + ", ".join(_fmt(p) for p in self.probs) + "])"


class Bernoulli(Categorical):
    """0/1 noise, 1 with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        _finite("bernoulli", p=p)
        if not 0 <= p <= 1:
            raise ModelError(f"bernoulli: p must be in [0, 1], got {p}")
        super().__init__((1.0 - float(p), float(p)))

    @property
    def p(self) -> float:
        return self.probs[1]

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return (rng.random(n) < self.p).astype(float)

    def to_spec(self) -> str:
        return f"bernoulli({_fmt(self.p)})"

    def __repr__(self) -> str:
        return f"Bernoulli(p={self.p!r})"


#: Spec name -> (constructor, accepted keyword names in positional order).
DISTRIBUTIONS: dict[str, tuple[type[Noise], tuple[str, ...]]] = {
    "normal": (Normal, ("mean", "sd")),
    "uniform": (Uniform, ("low", "high")),
    "lognormal": (LogNormal, ("mu", "sigma")),
    "exponential": (Exponential, ("scale",)),
    "student_t": (StudentT, ("df", "loc", "scale")),
    "gumbel": (Gumbel, ("loc", "scale")),
    "bernoulli": (Bernoulli, ("p",)),
    "categorical": (Categorical, ("probs",)),
}
