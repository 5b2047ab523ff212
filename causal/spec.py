"""Declarative model specs: YAML (or the same as a mapping) to :class:`~causal.scm.SCM` and back.

A spec is data, never Python. Equations are compiled by the whitelist in
:mod:`causal.expr`; noise declarations by :func:`causal.expr.parse_distribution`.
Every problem raises :class:`~causal.errors.SpecError` naming the file, the
node and what to change; nothing else escapes.

Limits, checked before anything is built: spec text of at most
:data:`MAX_SPEC_CHARS` characters (checked before YAML parses it), mappings
and lists nested at most :data:`MAX_NESTING` levels, at most
:data:`MAX_VALUES` values in all, integers of at most :data:`MAX_INT_DIGITS`
digits (any number must be a finite float), keys that are plain scalars,
node names of at most :data:`MAX_NAME_LENGTH` characters, at most 1,000
nodes, expressions of at most :data:`MAX_EXPRESSION_CHARS` characters in all.
Nesting, values and nodes are counted while YAML is read, which stops at the
first one over its limit (past 1,000 nodes the rest is only counted).

YAML is read by libyaml (C) when PyYAML has it, else by PyYAML's pure-Python
parser: only the parsing differs. The limits above are checked by the same
Python code on both, with the same messages and line numbers, and a syntax
error is always worded (and placed) as PyYAML's Python parser words it.
libyaml reads a little text that PyYAML refuses (a tab as a blank, ``?``
inside a flow scalar, a byte-order mark inside the text); everything else
reads the same. Loading takes time linear in the size of the spec.

The format::

    name: icecream
    nodes:                         # any order; parents are read off the equations
      temperature: {noise: normal(25, 5), unit: degC}   # equation defaults to `noise`
      ice_cream:   {equation: 20 + 3 * temperature + noise, noise: normal(0, 10)}
      mood:        {noise: normal(0, 1), hidden: true}
      bought:      {type: binary, logit: -1 + 0.5 * temperature + mood}
      promo:       {type: binary, p: where(mood > 0, 0.8, 0.3)}
      segment:     {type: categorical, probs: [0.5, 0.3, 0.2]}
      shelf:       {equation: maximum(bought, promo)}   # no noise: deterministic

Examples
--------
>>> scm = load_scm({"nodes": {"x": {"noise": "normal(0, 1)"},
...                           "y": {"equation": "2 * x + noise", "noise": "normal(0, 1)"}}})
>>> scm.nodes
('x', 'y')
>>> dump_spec(scm)["nodes"]["y"]
{'equation': '2 * x + noise', 'noise': 'normal(0, 1)'}
"""

from __future__ import annotations

import keyword
import math
import os
import re
import reprlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

try:
    from yaml.cyaml import CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    CParser = None

from causal.errors import CausalSimError, GraphError, SpecError
from causal.expr import ALLOWED_FUNCTIONS, CONSTANTS, compile_expr, parse_distribution
from causal.interventions import Hard
from causal.mechanisms import Additive, Binary, Categorical, DiscreteMechanism, Linear, equation
from causal.noise import DISTRIBUTIONS, Noise
from causal.scm import SCM

__all__ = ["load_scm", "dump_spec", "save_scm", "parse_noise"]

_TOP_KEYS = {"name", "description", "nodes"}
_NODE_KEYS = {"type", "equation", "noise", "hidden", "p", "logit", "probit", "probs", "unit",
              "description"}
_TYPES = ("continuous", "binary", "categorical")
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # used with fullmatch: no trailing newline
_MAX_NODES = 1000
MAX_NAME_LENGTH = 100  #: longest node name, in characters
MAX_SPEC_CHARS = 2_000_000  #: longest spec text (YAML), in characters, checked before parsing
MAX_NESTING = 20  #: deepest nesting of mappings and lists in a spec (YAML or mapping)
MAX_INT_DIGITS = 300  #: most digits of an integer in a spec (larger ones are no finite float)
#: most values (keys, values and list items, counted as YAML builds them) in a spec; a spec
#: of 1,000 nodes with a dozen keys each has about 25,000
MAX_VALUES = 100_000
#: most characters of expressions (equations, p, logit, probit, probs) in a spec, in all,
#: checked before compiling any: compiling costs 2-7 microseconds a character, far more than
#: reading YAML (1,000 nodes of a dozen full-precision terms each fit)
MAX_EXPRESSION_CHARS = 500_000
_MAX_SKIPPED = 300_000  # most YAML events read (not built) to count the nodes past _MAX_NODES

_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxstring, _SHOW.maxother = 3, 60, 60


def _show(value: Any) -> str:
    """A short repr of any value from a spec, safe for huge integers and deep nesting."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1000:
        return f"<an integer of about {int(value.bit_length() * 0.30103)} digits>"
    try:
        return _SHOW.repr(value)
    except (ValueError, RecursionError):
        return f"<{type(value).__name__}>"


def _check_data(data: Any, label: str) -> None:
    """Bound nesting and number size of a spec mapping, iteratively, before reading it."""
    stack, count = [(data, 0)], 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise SpecError(f"{label}: the spec has more than {MAX_VALUES} values (keys, values and "
                            "list items); a spec of 1,000 nodes needs far fewer")
        if depth > MAX_NESTING:
            raise SpecError(f"{label}: the spec is nested more than {MAX_NESTING} levels deep; "
                            "a spec is a flat mapping of nodes")
        if isinstance(value, int) and not isinstance(value, bool):
            if value.bit_length() > 1000:
                raise SpecError(f"{label}: the number {_show(value)} is too large; numbers must be "
                                "finite floats")
        elif isinstance(value, Mapping):
            for key, item in value.items():
                stack.append((key, depth + 1))
                stack.append((item, depth + 1))
        elif isinstance(value, (list, tuple)):
            stack.extend((item, depth + 1) for item in value)


def parse_noise(text: Any, *, where: str = "") -> Noise:
    """A :class:`~causal.noise.Noise` from its spec text, e.g. ``"normal(25, 5)"``."""
    if not isinstance(text, str):
        raise SpecError(f"{where}: noise must be text such as 'normal(0, 1)', got {_show(text)}")
    name, args, kwargs = parse_distribution(text, where=where)
    if name not in DISTRIBUTIONS:
        raise SpecError(f"{where}: unknown distribution {name!r}; use one of "
                        f"{', '.join(DISTRIBUTIONS)}")
    cls, params = DISTRIBUTIONS[name]
    if len(args) > len(params):
        raise SpecError(f"{where}: {name}() takes at most {len(params)} arguments "
                        f"({', '.join(params)}), got {len(args)}")
    bound = dict(zip(params, args, strict=False))
    for key, value in kwargs.items():
        if key not in params:
            raise SpecError(f"{where}: {name}() has no parameter {key!r}; parameters: {', '.join(params)}")
        if key in bound:
            raise SpecError(f"{where}: {name}() got {key!r} twice")
        bound[key] = value
    if name == "categorical" and "probs" not in bound:
        raise SpecError(f"{where}: categorical() needs a list of probabilities, e.g. categorical([0.5, 0.5])")
    try:
        return cls(**bound)
    except CausalSimError as exc:
        raise SpecError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise SpecError(f"{where}: bad arguments for {name}(): {exc}") from None


_COMMA = "\ue000"  # stands in for a comma inside parentheses while YAML parses


def _protect(text: str) -> str:
    """Hide commas inside parentheses so YAML flow mappings keep calls whole.

    In ``{noise: normal(0, 1)}`` YAML would split at the comma; the documented
    format means the call. Parenthesis depth restarts at each line and comment.
    """
    out, depth, prev = [], 0, "\n"
    for ch in text:
        if ch == "\n" or (ch == "#" and prev in " \t\n"):
            depth = 0
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif ch == "," and depth:
            ch = _COMMA
        out.append(ch)
        prev = ch
    return "".join(out)


def _restore(data: Any) -> Any:
    if isinstance(data, str):
        return data.replace(_COMMA, ",")
    if isinstance(data, dict):
        return {_restore(k): _restore(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_restore(v) for v in data]
    return data


class _TooManyNodes(Exception):
    """Internal: the ``nodes`` mapping of a YAML spec has more than ``_MAX_NODES`` entries."""


class _SpecHooks:
    """The spec rules of both YAML loaders, checked while composing and constructing.

    No anchors/aliases (no "billion laughs"), nesting at most :data:`MAX_NESTING`
    levels, integers of at most :data:`MAX_INT_DIGITS` digits, keys that are
    scalars and not repeated, at most ``_MAX_NODES`` nodes (counted without
    building the rest). Both loaders run this same Python code on the same
    events, so the checks and their messages (and marks) are the same.
    """

    _spec_depth = 0
    _spec_values = 0

    def compose_node(self, parent, index):  # noqa: D401 - PyYAML hook
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "anchors and aliases (&name / *name) are not allowed in specs",
                event.start_mark)
        depth = self._spec_depth
        if depth >= MAX_NESTING:
            raise yaml.composer.ComposerError(
                None, None, f"the YAML is nested more than {MAX_NESTING} levels deep; a spec is a "
                "flat mapping of nodes", self.peek_event().start_mark)
        self._spec_values += 1
        if self._spec_values > MAX_VALUES:
            raise yaml.composer.ComposerError(
                None, None, f"the spec has more than {MAX_VALUES} values (keys, values and list "
                "items); a spec of 1,000 nodes needs far fewer", self.peek_event().start_mark)
        self._spec_depth = depth + 1
        try:
            if (depth == 1 and isinstance(index, yaml.ScalarNode) and index.value == "nodes"
                    and self.check_event(yaml.events.MappingStartEvent)):
                return self._compose_nodes(parent, index)
            return super().compose_node(parent, index)
        finally:
            self._spec_depth = depth

    def _compose_nodes(self, parent, index):
        """The top-level ``nodes`` mapping; past ``_MAX_NODES`` entries the rest is only counted."""
        self._spec_count_nodes = True
        return super().compose_node(parent, index)

    def compose_mapping_node(self, anchor):
        if not getattr(self, "_spec_count_nodes", False):
            return super().compose_mapping_node(anchor)
        self._spec_count_nodes = False
        # Composer.compose_mapping_node, stopping to build after _MAX_NODES entries
        start = self.get_event()
        tag = start.tag
        if tag is None or tag == "!":
            tag = self.resolve(yaml.MappingNode, None, start.implicit)
        node = yaml.MappingNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        while not self.check_event(yaml.events.MappingEndEvent):
            if len(node.value) == _MAX_NODES:
                count, whole = self._count_entries()
                raise _TooManyNodes(f"{_MAX_NODES + count}" if whole
                                    else f"at least {_MAX_NODES + count}")
            key = self.compose_node(node, None)
            node.value.append((key, self.compose_node(node, key)))
        node.end_mark = self.get_event().end_mark
        return node

    def _count_entries(self) -> tuple[int, bool]:
        """Skip the rest of a mapping's entries (events only): (how many, whether that is all).

        Nesting and aliases are refused on the way, as composing would. After
        ``_MAX_SKIPPED`` events it stops counting.
        """
        count, depth, level = 0, 0, self._spec_depth  # depth: inside the current entry
        for _ in range(_MAX_SKIPPED):
            if not depth and self.check_event(yaml.events.MappingEndEvent):
                return count // 2, True
            event = self.get_event()
            if isinstance(event, yaml.events.CollectionEndEvent):
                depth -= 1
                continue
            if isinstance(event, yaml.events.AliasEvent):
                raise yaml.constructor.ConstructorError(
                    None, None, "anchors and aliases (&name / *name) are not allowed in specs",
                    event.start_mark)
            if level + depth >= MAX_NESTING:
                raise yaml.composer.ComposerError(
                    None, None, f"the YAML is nested more than {MAX_NESTING} levels deep; a spec "
                    "is a flat mapping of nodes", event.start_mark)
            if not depth:
                count += 1
            if isinstance(event, yaml.events.CollectionStartEvent):
                depth += 1
        return (count + 1) // 2, False  # a key seen is an entry

    def construct_yaml_int(self, node):
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"an integer of {digits} digits is too large (at most {MAX_INT_DIGITS})",
                node.start_mark)
        return super().construct_yaml_int(node)

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            # e.g. `!!int x`, `!!float []`, a date 2026-13-45: a value its tag cannot read
            what = f" {_show(node.value)}" if isinstance(node, yaml.ScalarNode) else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read{what} as {node.tag.rsplit(':', 1)[-1]} ({type(exc).__name__})",
                node.start_mark) from None

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, yaml.MappingNode):  # e.g. `!!set x`: SafeConstructor says so
            return super().construct_mapping(node, deep=deep)
        seen = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain name or number, not a list or mapping",
                    key_node.start_mark)
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str):  # not e.g. `!!seq x`, a list: SafeConstructor refuses it
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _PySpecLoader(_SpecHooks, yaml.SafeLoader):
    """The spec loader on PyYAML's pure-Python scanner and parser."""


_PySpecLoader.add_constructor("tag:yaml.org,2002:int", _PySpecLoader.construct_yaml_int)

if CParser is not None:
    class _CSpecLoader(_SpecHooks, Composer, CParser, SafeConstructor, Resolver):
        """The spec loader on libyaml's scanner and parser (C), with the Python composer.

        Only the events come from C; composing and constructing are the same
        Python code as :class:`_PySpecLoader` runs, so every spec rule holds
        alike. libyaml words syntax errors its own way: :func:`_parse` then asks
        the pure-Python loader, so messages do not depend on the loader.
        """

        def __init__(self, stream):
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            Composer.__init__(self)

    _CSpecLoader.add_constructor("tag:yaml.org,2002:int", _CSpecLoader.construct_yaml_int)
    _SpecLoader: type = _CSpecLoader
else:  # pragma: no cover - PyYAML built without libyaml
    _SpecLoader = _PySpecLoader

#: errors of libyaml itself (not of the spec rules above), worded by libyaml
_SYNTAX_ERRORS = (yaml.scanner.ScannerError, yaml.parser.ParserError, yaml.reader.ReaderError)


def _parse(text: str, loader: type | None = None) -> Any:
    """The YAML of ``text`` (already protected) as Python data, by ``loader`` (default: fastest).

    Raises ``yaml.YAMLError``, ``_TooManyNodes`` or ``RecursionError``, the same
    for every loader: a syntax error found by libyaml is reported as the
    pure-Python loader words it (which reads only up to the error).
    """
    loader = loader or _SpecLoader
    yaml.reader.Reader(text)  # non-printable characters, checked for the whole text first
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - safe subclasses
    except _SYNTAX_ERRORS:
        if loader is _PySpecLoader:
            raise
    return yaml.load(text, Loader=_PySpecLoader)  # noqa: S506


def _read(source: Any) -> tuple[Mapping, str]:
    """The spec mapping and a label for messages (the file name, or 'spec')."""
    if isinstance(source, Mapping):
        _check_data(source, "spec")
        return source, "spec"
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if isinstance(text, bytes):
            raise SpecError(f"a spec path must be text, got {_show(text)}")
        try:
            is_file = Path(text).is_file()
        except (OSError, ValueError):  # e.g. a name too long for the file system, a NUL byte
            is_file = False
        if isinstance(source, str) and "\n" in source and not is_file:
            label, content = "spec", source
        else:
            label = text if len(text) <= 200 else _show(text)
            if not is_file:
                raise SpecError(f"{label}: no such spec file; the text is neither a readable file "
                                "nor a spec (spec text has more than one line)")
            try:
                if Path(text).stat().st_size > MAX_SPEC_CHARS * 4:
                    raise SpecError(f"{label}: the file is larger than a spec may be "
                                    f"({MAX_SPEC_CHARS} characters)")
                content = Path(text).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SpecError(f"{label}: cannot read the file: {exc}") from None
        if len(content) > MAX_SPEC_CHARS:
            raise SpecError(f"{label}: the spec is {len(content)} characters long; the limit is "
                            f"{MAX_SPEC_CHARS}")
        try:
            data = _restore(_parse(_protect(content)))
        except _TooManyNodes as exc:
            raise SpecError(f"{label}: at most {_MAX_NODES} nodes, got {exc.args[0]}") from None
        except RecursionError:
            raise SpecError(f"{label}: the YAML is nested too deeply; a spec is a flat mapping of "
                            "nodes") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise SpecError(f"{label}: invalid YAML{at}: {problem}") from None
        if not isinstance(data, Mapping):
            raise SpecError(f"{label}: a spec is a mapping with a 'nodes' section, got "
                            f"{type(data).__name__}")
        _check_data(data, label)
        return data, label
    raise SpecError(f"a spec is a path to a YAML file or a mapping, got {type(source).__name__}")


def _text(value: Any, where: str, key: str) -> str:
    if isinstance(value, bool) or value is None:
        raise SpecError(f"{where}: {key} must be an expression or a number, got {value!r}")
    if isinstance(value, (int, float)):
        return repr(_finite(value, where, key))
    if not isinstance(value, str):
        raise SpecError(f"{where}: {key} must be an expression or a number, got {type(value).__name__}")
    return value


def _finite(value: int | float, where: str, key: str) -> float:
    """``value`` as a finite float, or a SpecError."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise SpecError(f"{where}: {key} must be a finite number, got {_show(value)}")
    return number


def _node(name: str, spec: Any, names: frozenset[str], where: str,
          with_noise: frozenset[str] | None = None):
    """(mechanism, noise, hidden, meta) of one node.

    ``names`` are the spec's node names, ``with_noise`` the same and ``"noise"``
    (made once per spec, not once per node: copying it is linear in the nodes).
    """
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise SpecError(f"{where}: a node is a mapping such as {{noise: normal(0, 1)}}, got {_show(spec)}")
    unknown = set(spec) - _NODE_KEYS
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {sorted(map(_show, unknown))}; allowed: "
                        f"{', '.join(sorted(_NODE_KEYS))}")
    kind = spec.get("type", "continuous")
    if not isinstance(kind, str) or kind not in _TYPES:
        raise SpecError(f"{where}: type must be one of {', '.join(_TYPES)}, got {_show(kind)}")
    hidden = spec.get("hidden", False)
    if not isinstance(hidden, bool):
        raise SpecError(f"{where}: hidden must be true or false, got {_show(hidden)}")
    meta = {}
    for k in ("unit", "description"):
        if k in spec:
            if isinstance(spec[k], (list, tuple, Mapping)):
                raise SpecError(f"{where}: {k} must be text, got {_show(spec[k])}")
            meta[k] = str(spec[k])
    # the node's own name is in scope so that a self-reference is reported as such
    known = names
    if kind == "continuous":
        for key in ("p", "logit", "probit", "probs"):
            if key in spec:
                raise SpecError(f"{where}: {key!r} is for binary/categorical nodes; add type: binary "
                                "(or categorical), or use an equation")
        noise = parse_noise(spec["noise"], where=where) if "noise" in spec else None
        if "equation" not in spec:
            if noise is None:
                raise SpecError(f"{where}: give an equation, a noise, or both")
            text = "noise"
        else:
            text = _text(spec["equation"], where, "equation")
        scope = with_noise if with_noise is not None else known | {"noise"}
        expr = compile_expr(text, scope, where=where)
        if expr.uses_noise() and noise is None:
            raise SpecError(f"{where}: the equation uses 'noise' but the node declares none; "
                            "add e.g. noise: normal(0, 1)")
        if noise is not None and not expr.uses_noise():
            raise SpecError(f"{where}: a noise is declared but the equation does not use it; "
                            "add '+ noise' to the equation or remove the noise")
        try:
            mech = equation(expr, where=where)
        except CausalSimError as exc:  # e.g. a coefficient that overflows to inf
            raise SpecError(f"{where}: {exc}") from None
        return mech, noise, hidden, meta
    if "equation" in spec:
        raise SpecError(f"{where}: {kind} nodes take no equation; use "
                        + ("p, logit or probit" if kind == "binary" else "probs"))
    if "noise" in spec:
        raise SpecError(f"{where}: {kind} nodes draw their own uniform(0, 1) noise; remove 'noise'")
    if kind == "binary":
        given = [k for k in ("p", "logit", "probit") if k in spec]
        if len(given) != 1:
            raise SpecError(f"{where}: a binary node needs exactly one of p, logit or probit")
        key = given[0]
        value = spec[key]
        if not isinstance(value, bool) and isinstance(value, (int, float)):
            arg: Any = _finite(value, where, key)
            if key == "p" and not 0 <= arg <= 1:
                raise SpecError(f"{where}: p must be in [0, 1], got {_show(value)}")
        else:
            arg = compile_expr(_text(value, where, key), known, where=where)
        try:
            return Binary(**{key: arg}), None, hidden, meta
        except CausalSimError as exc:
            raise SpecError(f"{where}: {exc}") from None
    probs = spec.get("probs")
    if not isinstance(probs, list) or len(probs) < 2:
        raise SpecError(f"{where}: a categorical node needs probs: a list of at least two "
                        "probabilities or expressions")
    items = []
    for i, p in enumerate(probs):
        if not isinstance(p, bool) and isinstance(p, (int, float)):
            items.append(_finite(p, f"{where}, probs[{i}]", "a probability"))
        else:
            items.append(compile_expr(_text(p, f"{where} probs[{i}]", "probability"), known,
                                      where=f"{where}, probs[{i}]"))
    try:
        return Categorical(items), None, hidden, meta
    except CausalSimError as exc:
        raise SpecError(f"{where}: {exc}") from None


def _check_expression_size(nodes: Mapping, label: str) -> None:
    """Refuse, before compiling any, expressions longer than :data:`MAX_EXPRESSION_CHARS` in all."""
    total = 0
    for spec in nodes.values():
        if isinstance(spec, Mapping):
            for key in ("equation", "p", "logit", "probit", "probs"):
                value = spec.get(key)
                for item in value if isinstance(value, list) else (value,):
                    total += len(item) if isinstance(item, str) else 0
    if total > MAX_EXPRESSION_CHARS:
        raise SpecError(f"{label}: the expressions of the spec are {total} characters long in all; "
                        f"the limit is {MAX_EXPRESSION_CHARS} (split the model, or simplify them)")


def load_scm(source: Any) -> SCM:
    """Build an :class:`~causal.scm.SCM` from a YAML file, YAML text or a mapping.

    Raises
    ------
    SpecError
        For any problem, naming the file, the node and what to change.
    """
    data, label = _read(source)
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise SpecError(f"{label}: unknown top-level key(s) {sorted(map(_show, unknown))}; allowed: "
                        f"{', '.join(sorted(_TOP_KEYS))}")
    nodes = data.get("nodes")
    if not isinstance(nodes, Mapping) or not nodes:
        raise SpecError(f"{label}: 'nodes' must be a non-empty mapping of node name -> definition")
    if len(nodes) > _MAX_NODES:
        raise SpecError(f"{label}: at most {_MAX_NODES} nodes, got {len(nodes)}")
    reserved = set(ALLOWED_FUNCTIONS) | set(CONSTANTS) | {"noise"}
    for name in nodes:
        if not isinstance(name, str) or not _IDENT.fullmatch(name):
            raise SpecError(f"{label}: node name {_show(name)} must be an identifier (letters, "
                            "digits, underscores; starting with a letter)")
        if len(name) > MAX_NAME_LENGTH:
            raise SpecError(f"{label}: node name {_show(name)} is {len(name)} characters long; "
                            f"the limit is {MAX_NAME_LENGTH}")
        if name in reserved or keyword.iskeyword(name):
            raise SpecError(f"{label}: node name {name!r} is reserved; rename it")
    _check_expression_size(nodes, label)
    names = frozenset(nodes)
    with_noise = names | {"noise"}
    mechanisms, noise, hidden, meta = {}, {}, [], {}
    for name, spec in nodes.items():
        where = f"{label}, node {name!r}"
        mech, nz, is_hidden, info = _node(name, spec, names, where, with_noise)
        if name in mech.parents:
            raise SpecError(f"{where}: the node refers to itself ({name!r} in its own equation); "
                            "a node cannot cause itself")
        mechanisms[name], noise[name] = mech, nz
        if is_hidden:
            hidden.append(name)
        if info:
            meta[name] = info
    model_name = data.get("name")
    if model_name is not None and not isinstance(model_name, str):
        raise SpecError(f"{label}: name must be text, got {_show(model_name)}")
    try:
        scm = SCM(mechanisms, noise, hidden, name=model_name)
    except GraphError as exc:
        raise SpecError(f"{label}: the equations form a cycle: {exc}; a node cannot depend on "
                        "its own descendants") from None
    except CausalSimError as exc:
        raise SpecError(f"{label}: {exc}") from None
    scm.meta = meta
    scm.description = data.get("description") if isinstance(data.get("description"), str) else None
    return scm


def dump_spec(scm: SCM) -> dict[str, Any]:
    """The spec mapping of ``scm`` (inverse of :func:`load_scm`).

    Raises
    ------
    SpecError
        A mechanism wraps Python code, or the model carries an intervention
        other than a scalar ``Hard`` (which is written as a constant equation).
    """
    nodes: dict[str, Any] = {}
    meta = getattr(scm, "meta", {})
    for v in scm.nodes:
        mech, nz = scm._mechanisms[v], scm._noise[v]
        iv = scm._interventions.get(v)
        if iv is not None:
            if not (isinstance(iv, Hard) and isinstance(iv.value, float)):
                raise SpecError(f"node {v!r}: a {type(iv).__name__} intervention cannot be written as "
                                "a spec; export the model before intervening")
            entry: dict[str, Any] = {"equation": repr(iv.value)}
        else:
            try:
                entry = dict(mech.to_spec(nz is not None))
            except SpecError as exc:
                raise SpecError(f"node {v!r}: {exc}") from None
            if nz is not None and not isinstance(mech, DiscreteMechanism):
                entry["noise"] = nz.to_spec()
                if entry.get("equation") == "0 + noise" or (
                        entry.get("equation") == "noise" and isinstance(mech, (Linear, Additive))):
                    del entry["equation"]
        if v in scm.hidden:
            entry["hidden"] = True
        entry.update(meta.get(v, {}))
        nodes[v] = entry
    out: dict[str, Any] = {}
    if scm.name:
        out["name"] = scm.name
    if getattr(scm, "description", None):
        out["description"] = scm.description
    out["nodes"] = nodes
    return out


def save_scm(scm: SCM, path: str | os.PathLike) -> None:
    """Write ``scm`` as a YAML spec file."""
    Path(path).write_text(yaml.safe_dump(dump_spec(scm), sort_keys=False), encoding="utf-8")
