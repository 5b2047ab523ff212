"""Background knowledge for causal discovery: forbidden and required edges, tiers.

Discovery algorithms (PC, FCI, GES, DirectLiNGAM) accept a :class:`Knowledge`
object that restricts the graphs they may return. A *forbidden* edge ``a -> b``
says that ``a`` is not a direct cause of ``b``; a *required* edge ``a -> b``
says that it is. *Tiers* order the variables in time: a variable in a later
tier can never cause one in an earlier tier (e.g. "the action cannot cause the
context": put the context in tier 0 and the action in tier 1).

Semantics shared by every algorithm in :mod:`causal.discovery`:

* ``a -> b`` is forbidden when it is listed in ``forbidden`` or when ``a`` sits
  in a strictly later tier than ``b``. Nodes in no tier are unconstrained.
* A pair whose both directions are forbidden is never adjacent in the output.
* A required edge is always present and oriented as required.
* Contradictions (an edge both forbidden and required, a required edge against
  the tier order, both directions required) raise :class:`~causal.errors.GraphError`.

References
----------
.. [1] C. Meek, "Causal inference and causal explanation with background
   knowledge", UAI 1995.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from causal.errors import GraphError

__all__ = ["Knowledge"]


def _edge_set(edges: Iterable, kind: str) -> frozenset[tuple[str, str]]:
    out = set()
    for e in edges:
        if isinstance(e, str) or len(tuple(e)) != 2:
            raise GraphError(f"malformed {kind} edge {e!r}; give each edge as a pair (cause, effect)")
        a, b = tuple(e)
        if not isinstance(a, str) or not isinstance(b, str) or a == b:
            raise GraphError(f"{kind} edge {e!r} must join two different node names")
        out.add((a, b))
    return frozenset(out)


@dataclass(frozen=True)
class Knowledge:
    """Background knowledge about which direct causal edges may or must exist.

    Parameters
    ----------
    forbidden : iterable of (str, str)
        Edges ``(cause, effect)`` that must not appear.
    required : iterable of (str, str)
        Edges ``(cause, effect)`` that must appear, oriented this way.
    tiers : sequence of sequences of str
        Temporal tiers, earliest first; a node never causes a node of an
        earlier tier. A node may be in at most one tier.

    Examples
    --------
    >>> k = Knowledge(tiers=[["weather"], ["action"], ["outcome"]], forbidden=[("weather", "outcome")])
    >>> k.is_forbidden("action", "weather"), k.is_forbidden("weather", "action")
    (True, False)
    >>> k.is_forbidden("weather", "outcome")
    True
    """

    forbidden: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    required: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    tiers: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "forbidden", _edge_set(self.forbidden, "forbidden"))
        object.__setattr__(self, "required", _edge_set(self.required, "required"))
        if isinstance(self.tiers, str) or any(isinstance(t, str) for t in self.tiers):
            raise GraphError("tiers must be a sequence of lists of node names, e.g. [['age'], ['treatment']]")
        tiers = tuple(tuple(t) for t in self.tiers)
        object.__setattr__(self, "tiers", tiers)
        seen: dict[str, int] = {}
        for i, tier in enumerate(tiers):
            for v in tier:
                if v in seen:
                    raise GraphError(f"node {v!r} is in tiers {seen[v]} and {i}; put it in one tier only")
                seen[v] = i
        object.__setattr__(self, "_tier", seen)
        for a, b in self.required:
            if self.is_forbidden(a, b):
                raise GraphError(f"edge {a!r} -> {b!r} is both required and forbidden (explicitly or by "
                                 "tiers); drop one of the two constraints")
            if (b, a) in self.required:
                raise GraphError(f"both {a!r} -> {b!r} and {b!r} -> {a!r} are required; keep one direction")

    def tier(self, v: str) -> int | None:
        """The tier index of ``v``, or ``None`` when ``v`` is in no tier."""
        return self._tier.get(v)  # type: ignore[attr-defined]

    def is_forbidden(self, a: str, b: str) -> bool:
        """Whether the direct edge ``a -> b`` is excluded."""
        if (a, b) in self.forbidden:
            return True
        ta, tb = self.tier(a), self.tier(b)
        return ta is not None and tb is not None and ta > tb

    def is_required(self, a: str, b: str) -> bool:
        """Whether the direct edge ``a -> b`` must be present."""
        return (a, b) in self.required

    def no_adjacency(self, a: str, b: str) -> bool:
        """Whether ``a`` and ``b`` can never be adjacent (both directions forbidden)."""
        return self.is_forbidden(a, b) and self.is_forbidden(b, a)

    def check_nodes(self, nodes: Sequence[str]) -> None:
        """Raise :class:`GraphError` when the knowledge names a node not in ``nodes``."""
        known = set(nodes)
        named = {v for e in self.forbidden | self.required for v in e} | set(self._tier)  # type: ignore[attr-defined]
        unknown = sorted(named - known)
        if unknown:
            raise GraphError(f"background knowledge names unknown variables {unknown}; the data has "
                             f"columns {sorted(known)}")

    def __bool__(self) -> bool:
        return bool(self.forbidden or self.required or self.tiers)
