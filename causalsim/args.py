"""Parsing the command line's small languages: ``--do x=3`` and ``--unit x=1,y=2``.

An intervention is written ``NODE=VALUE`` (:class:`~causal.Hard`), ``NODE+=VALUE``
or ``NODE-=VALUE`` (:class:`~causal.Shift`) or ``NODE*=VALUE``
(:class:`~causal.Scale`). For a scenario's action node the value may be an
action's label, ``NODE=LABEL``: it sets every node the action sets (Driving's
``maneuver=brake`` also sets the hidden ``reaction`` to the agent's), exactly
as the agent's action does. Malformed text raises :class:`ArgumentError`, a
:class:`~causal.CausalSimError`, so the CLI reports it as one line.

Examples
--------
>>> parse_do("price*=1.1")
DoArg(node='price', op='*=', value=1.1)
>>> parse_do("price*=1.1").intervention
Scale(factor=1.1)
>>> parse_do("x-=2").intervention
Shift(delta=-2.0)
>>> brake = parse_do("maneuver=brake", {"maneuver": {"brake": {"maneuver": 1.0, "reaction": 0.7}}})
>>> brake.label, brake.interventions
('maneuver=brake', {'maneuver': Hard(value=1.0), 'reaction': Hard(value=0.7)})
>>> parse_assignments("temperature=30, sunscreen=65")
{'temperature': 30.0, 'sunscreen': 65.0}
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from causal.errors import CausalSimError
from causal.interventions import Hard, Intervention, Scale, Shift

__all__ = ["ArgumentError", "DoArg", "Labels", "parse_do", "parse_dos", "parse_assignments", "parse_number"]

#: Named values per node: ``{node: {label: value}}``, or ``{node: {label: {node: value, ...}}}``
#: when a label sets several nodes (a scenario action such as Driving's ``brake``).
Labels = Mapping[str, Mapping[str, "float | Mapping[str, float]"]]

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
    """One parsed ``--do``: ``node``, operator (``=``, ``+=``, ``-=``, ``*=``) and value.

    A named action (``name`` set) may also set other nodes: ``sets`` holds every
    ``(node, value)`` pair it sets, ``node`` included.
    """

    node: str
    op: str
    value: float
    name: str | None = field(default=None, repr=False)  # the action label the value came from
    sets: tuple[tuple[str, float], ...] = field(default=(), repr=False)

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
    def interventions(self) -> dict[str, Intervention]:
        """Every intervention this argument makes (several nodes for a multi-node action)."""
        if self.sets:
            return {v: Hard(x) for v, x in self.sets}
        return {self.node: self.intervention}

    @property
    def label(self) -> str:
        """Canonical text, e.g. ``ice_cream=100`` (or ``action=discount`` for a named value)."""
        return f"{self.node}{self.op}{self.name if self.name else format(self.value, '.10g')}"


def parse_do(text: str, labels: Labels | None = None, option: str = "--do") -> DoArg:
    """Parse one ``--do`` value (see the module docstring for the forms).

    ``labels`` maps a node to named values (a scenario's actions), so that
    ``action=discount`` means the value of the ``discount`` choice; a named
    value that is a mapping sets each of its nodes. ``option`` names the
    argument in error messages.
    """
    match = _DO.match(text)
    if match is None:
        raise ArgumentError(f"{option} {text!r}: expected NODE=VALUE, NODE+=VALUE, NODE-=VALUE or "
                            f"NODE*=VALUE, e.g. {option} ice_cream=100")
    node, op, raw = match.groups()
    named = (labels or {}).get(node, {})
    if op == "=" and raw in named:
        setting = named[raw]
        if isinstance(setting, Mapping):
            sets = tuple((v, float(x)) for v, x in setting.items())
            return DoArg(node, op, float(setting[node]), raw, sets if len(sets) > 1 else ())
        return DoArg(node, op, float(setting), raw)
    if raw in named:
        raise ArgumentError(f"{option} {text!r}: an action's label takes '=', not {op!r}; "
                            f"write {option} {node}={raw}")
    try:
        return DoArg(node, op, parse_number(raw, f"{option} {text!r}"))
    except ArgumentError:
        if named:
            raise ArgumentError(f"{option} {text!r}: {raw!r} is neither a number nor one of the named "
                                f"values of {node} ({', '.join(named)})") from None
        raise


def parse_dos(texts: Iterable[str], labels: Labels | None = None, option: str = "--do") -> list[DoArg]:
    """Parse every ``--do`` (or ``--vs``) value; a node may be intervened on only once."""
    out: list[DoArg] = []
    for text in texts:
        arg = parse_do(text, labels, option)
        for prev in out:
            if arg.node == prev.node:
                raise ArgumentError(f"{option} names {arg.node!r} twice; give one intervention per node")
            both = sorted(set(arg.interventions) & set(prev.interventions))
            if both:
                raise ArgumentError(f"{option} {prev.label} and {arg.label} both set {', '.join(both)}; "
                                    "give one intervention per node")
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
