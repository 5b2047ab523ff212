"""Parsing the command line's small languages: ``--do x=3`` and ``--unit x=1,y=2``.

An intervention is written ``NODE=VALUE`` (:class:`~causal.Hard`), ``NODE+=VALUE``
or ``NODE-=VALUE`` (:class:`~causal.Shift`) or ``NODE*=VALUE``
(:class:`~causal.Scale`). Malformed text raises :class:`ArgumentError`, a
:class:`~causal.CausalSimError`, so the CLI reports it as one line.

Examples
--------
>>> parse_do("price*=1.1")
DoArg(node='price', op='*=', value=1.1)
>>> parse_do("price*=1.1").intervention
Scale(factor=1.1)
>>> parse_do("x-=2").intervention
Shift(delta=-2.0)
>>> parse_assignments("temperature=30, sunscreen=65")
{'temperature': 30.0, 'sunscreen': 65.0}
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from causal import CausalSimError, Hard, Intervention, Scale, Shift

__all__ = ["ArgumentError", "DoArg", "parse_do", "parse_dos", "parse_assignments", "parse_number"]

_DO = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\+=|-=|\*=|=)\s*(\S.*?)\s*$")
_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S.*?)\s*$")


class ArgumentError(CausalSimError):
    """A command-line argument is malformed (an ``--do`` or ``--unit`` value)."""


def parse_number(text: str, what: str) -> float:
    """A finite float from ``text``; ``what`` names the argument in the message."""
    try:
        value = float(text)
    except ValueError:
        raise ArgumentError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ArgumentError(f"{what}: the value must be finite, got {text!r}")
    return value


@dataclass(frozen=True)
class DoArg:
    """One parsed ``--do``: ``node``, operator (``=``, ``+=``, ``-=``, ``*=``) and value."""

    node: str
    op: str
    value: float
    name: str | None = field(default=None, repr=False)  # the action label the value came from

    @property
    def intervention(self) -> Intervention:
        if self.op == "=":
            return Hard(self.value)
        if self.op == "+=":
            return Shift(self.value)
        if self.op == "-=":
            return Shift(-self.value)
        return Scale(self.value)

    @property
    def label(self) -> str:
        """Canonical text, e.g. ``ice_cream=100`` (or ``action=discount`` for a named value)."""
        return f"{self.node}{self.op}{self.name if self.name else format(self.value, '.10g')}"


def parse_do(text: str, labels: Mapping[str, Mapping[str, float]] | None = None) -> DoArg:
    """Parse one ``--do`` value (see the module docstring for the forms).

    ``labels`` maps a node to named values (a scenario's actions), so that
    ``action=discount`` means the value of the ``discount`` choice.
    """
    match = _DO.match(text)
    if match is None:
        raise ArgumentError(f"--do {text!r}: expected NODE=VALUE, NODE+=VALUE, NODE-=VALUE or "
                            "NODE*=VALUE, e.g. --do ice_cream=100")
    node, op, raw = match.groups()
    named = (labels or {}).get(node, {})
    if op == "=" and raw in named:
        return DoArg(node, op, float(named[raw]), raw)
    try:
        return DoArg(node, op, parse_number(raw, f"--do {text!r}"))
    except ArgumentError:
        if named:
            raise ArgumentError(f"--do {text!r}: {raw!r} is neither a number nor one of the named "
                                f"values of {node} ({', '.join(named)})") from None
        raise


def parse_dos(texts: Iterable[str], labels: Mapping[str, Mapping[str, float]] | None = None) -> list[DoArg]:
    """Parse every ``--do`` value; a node may be intervened on only once."""
    out: list[DoArg] = []
    for text in texts:
        arg = parse_do(text, labels)
        if any(a.node == arg.node for a in out):
            raise ArgumentError(f"--do names {arg.node!r} twice; give one intervention per node")
        out.append(arg)
    return out


def parse_assignments(text: str, option: str = "--unit") -> dict[str, float]:
    """Parse ``NODE=VALUE,NODE=VALUE,...`` into a mapping of node to value."""
    out: dict[str, float] = {}
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise ArgumentError(f"{option} is empty; give NODE=VALUE pairs, e.g. {option} x=1,y=2")
    for part in parts:
        match = _ASSIGN.match(part)
        if match is None:
            raise ArgumentError(f"{option}: {part.strip()!r} is not NODE=VALUE; write e.g. "
                                f"{option} x=1,y=2")
        node, raw = match.groups()
        if node in out:
            raise ArgumentError(f"{option} names {node!r} twice")
        out[node] = parse_number(raw, f"{option} {node}")
    return out
