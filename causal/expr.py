"""Safe arithmetic expressions for declarative model specs.

Equations such as ``20 + 3 * temperature + noise`` are data, never Python.
:func:`compile_expr` parses them with :mod:`ast` (to a syntax tree only, never
to code), checks every node against a whitelist and compiles each one, once,
into a closure of our own bound to its numpy function (constants folded), so
that an :class:`Expr` evaluates elementwise over arrays by calling its root.
No ``eval``, ``exec`` or generated code, no attribute access, no imports.
Problems in the text raise :class:`~causal.errors.SpecError`;
:func:`parse_distribution` reads noise declarations such as ``normal(25, 5)``
the same way.
"""

from __future__ import annotations

import ast
import difflib
import math
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from causal.errors import ModelError, SpecError

__all__ = ["ALLOWED_FUNCTIONS", "CONSTANTS", "Expr", "compile_expr", "parse_distribution", "sigmoid"]

MAX_LENGTH = 2000  #: longest accepted expression text, in characters (per term of a sum)
MAX_NODES = 300  #: most expression nodes in one expression (per term of a sum)
MAX_DEPTH = 40  #: deepest nesting (a chain ``a + b - c + ...`` counts as one level)
#: A sum ``t1 + t2 - t3 ...`` (e.g. a linear equation in many parents, as ``to_spec`` writes
#: it) may have this many terms, each within the limits above, and this many characters.
MAX_TERMS = 1002
MAX_SUM_LENGTH = 200_000


def _scalar(x: float) -> np.ndarray:
    """``x`` as a read-only 0-d float64 array: numpy takes it faster than a Python float."""
    out = np.array(x, dtype=np.float64)
    out.flags.writeable = False
    return out


_ZERO, _ONE, _MINUS_ONE = _scalar(0.0), _scalar(1.0), _scalar(-1.0)

try:  # numpy >= 2 keeps its floating-point error state in a context variable
    from numpy._core.umath import _extobj_contextvar as _ERROR_STATE
    from numpy._core.umath import _make_extobj
except ImportError:  # numpy 1.x
    _ERROR_STATE = _IGNORE_ALL = None
else:
    _IGNORE_ALL = _make_extobj(all="ignore")


def _quiet() -> Any:
    """Ignore floating-point errors until :func:`_unquiet` (NaN and inf are results here).

    What ``np.errstate(all="ignore")`` does, for a fraction of its cost (about
    2 µs, more than evaluating a small expression for one unit). The state
    set is made once, at import: ignoring every error, it needs no error
    callback, and the buffer size it carries changes no elementwise result.
    """
    if _ERROR_STATE is None:
        return np.seterr(all="ignore")
    return _ERROR_STATE.set(_IGNORE_ALL)


def _unquiet(token: Any) -> None:
    """Restore the error state that :func:`_quiet` replaced."""
    if _ERROR_STATE is None:
        np.seterr(**token)
    else:
        _ERROR_STATE.reset(token)


def sigmoid(x: Any) -> Any:
    """Logistic function ``1 / (1 + exp(-x))`` without overflow for large ``|x|``.

    With ``z = exp(-|x|)`` (in ``(0, 1]``, so it never overflows) it is
    ``1 / (1 + z)`` for ``x >= 0`` and ``z / (1 + z)`` otherwise: one division of
    the chosen numerator, not both branches computed and one thrown away.
    This is the ``sigmoid()`` of expressions and the link of
    ``Binary(logit=...)``: one implementation.

    >>> sigmoid(np.array([-1000.0, 0.0, 2.0]))
    array([0.        , 0.5       , 0.88079708])
    """
    z = np.exp(np.copysign(x, _MINUS_ONE))  # exp(-|x|): copysign is -abs in one call
    return np.true_divide(np.where(np.greater_equal(x, _ZERO), _ONE, z), np.add(_ONE, z))


# ------------------------------------------------------------------ closures
# An expression is compiled once into a tree of closures ``f(env) -> value``: one
# per operation, bound to its numpy function and to its constant operands, so that
# evaluating it is calling the root. Constant subexpressions are computed while
# compiling, by the same closures and numpy calls as at run time (so to the same
# bits). Every operation evaluates all its operands, left to right, before
# computing anything, as a walk of the tree does: when a variable is missing and
# shapes mismatch too, the same error comes first.
_Env = Mapping[str, Any]
_Fn = Callable[[_Env], Any]
_NO_ENV: _Env = MappingProxyType({})


class _Code:
    """A compiled subexpression: what :class:`_Compiler` builds, node by node.

    ``kind`` is ``"const"`` (``value``: a float64), ``"var"`` (``value``: the
    name), ``"num"`` (``value``: a closure giving float64 values) or ``"bool"``
    (a closure giving booleans: comparisons and logic, made 0.0 or 1.0 only
    where a number is needed, not when they are a condition).
    """

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: Any) -> None:
        self.kind, self.value = kind, value


def _number(code: _Code) -> _Fn:
    """A closure giving the float64 value of ``code``."""
    kind, value = code.kind, code.value
    if kind == "num":
        return value
    if kind == "const":
        c = _scalar(value)
        return lambda env: c
    if kind == "var":
        asarray, f64 = np.asarray, np.float64

        def var(env: _Env) -> Any:
            try:
                return asarray(env[value], f64)
            except KeyError:
                raise _MissingName(value) from None
        return var
    return lambda env: value(env).astype(np.float64)


def _truth(code: _Code) -> _Fn:
    """A closure giving whether ``code`` is nonzero, as booleans."""
    if code.kind == "bool":
        return code.value
    get, not_equal = _number(code), np.not_equal
    return lambda env: not_equal(get(env), _ZERO)


def _emit(kind: str, fn: _Fn, operands: Iterable[_Code]) -> _Code:
    """``fn`` as a code of ``kind``; computed now when its operands are all constants."""
    if all(x.kind == "const" for x in operands):
        with np.errstate(all="ignore"):
            return _Code("const", np.float64(fn(_NO_ENV)))
    return _Code(kind, fn)


def _apply(fn: Callable[..., Any], args: Sequence[_Code], kind: str = "num") -> _Code:
    """``fn(*args)`` for one or two arguments, constants bound into the closure."""
    if len(args) == 1:
        get = _number(args[0])
        return _emit(kind, lambda env: fn(get(env)), args)
    a, b = args
    if a.kind == "const" and b.kind != "const":
        ca, get_b = _scalar(a.value), _number(b)
        return _Code(kind, lambda env: fn(ca, get_b(env)))
    if b.kind == "const" and a.kind != "const":
        get_a, cb = _number(a), _scalar(b.value)
        return _Code(kind, lambda env: fn(get_a(env), cb))
    get_a, get_b = _number(a), _number(b)
    return _emit(kind, lambda env: fn(get_a(env), get_b(env)), args)


def _is_one(code: _Code) -> bool:
    return code.kind == "const" and code.value == 1.0


def _chain(fns: Sequence[Callable[..., Any]], operands: Sequence[_Code]) -> _Code:
    """A left-associative chain ``x0 fn0 x1 fn1 x2 ...`` (``+ -`` or ``* / %``).

    A constant prefix is computed now; a factor or divisor of exactly 1 is
    dropped (``x * 1`` and ``x / 1`` are ``x`` in IEEE arithmetic).
    """
    first, pairs = operands[0], list(zip(fns, operands[1:], strict=True))
    while pairs and first.kind == "const" and pairs[0][1].kind == "const":
        fn, x = pairs.pop(0)
        first = _apply(fn, (first, x))
    pairs = [(fn, x) for fn, x in pairs if not (fn in (np.multiply, np.true_divide) and _is_one(x))]
    if pairs and _is_one(first) and pairs[0][0] is np.multiply:
        first = pairs.pop(0)[1]
    if not pairs:
        return first
    if len(pairs) == 1 or all(x.kind == "const" for _, x in pairs[1:]):
        # constants cannot fail, so a nested evaluation keeps the order of errors
        for fn, x in pairs:
            first = _apply(fn, (first, x))
        return first
    gets = (_number(first), *(_number(x) for _, x in pairs))
    ops = tuple(fn for fn, _ in pairs)
    if len(gets) == 3:
        (g0, g1, g2), (f1, f2) = gets, ops

        def chain3(env: _Env) -> Any:
            x0, x1, x2 = g0(env), g1(env), g2(env)
            return f2(f1(x0, x1), x2)
        return _Code("num", chain3)

    def chain(env: _Env) -> Any:
        values = [get(env) for get in gets]
        out = values[0]
        for fn, x in zip(ops, values[1:], strict=True):
            out = fn(out, x)
        return out
    return _Code("num", chain)


def _compare(ops: Sequence[Callable[..., Any]], operands: Sequence[_Code]) -> _Code:
    """``x0 < x1 <= x2 ...`` as the elementwise AND of the pairwise comparisons."""
    if len(ops) == 1:
        return _apply(ops[0], operands, kind="bool")
    gets = tuple(_number(x) for x in operands)

    def compare(env: _Env) -> Any:
        values = [get(env) for get in gets]
        out = ops[0](values[0], values[1])
        for i in range(1, len(ops)):
            out = np.logical_and(out, ops[i](values[i], values[i + 1]))
        return out
    return _emit("bool", compare, operands)


def _logic(fn: Callable[..., Any], operands: Sequence[_Code]) -> _Code:
    """``and`` / ``or`` on truthiness (nonzero)."""
    truths = tuple(_truth(x) for x in operands)
    if len(truths) == 2:
        t0, t1 = truths
        return _emit("bool", lambda env: fn(t0(env), t1(env)), operands)

    def logic(env: _Env) -> Any:
        values = [truth(env) for truth in truths]
        out = values[0]
        for value in values[1:]:
            out = fn(out, value)
        return out
    return _emit("bool", logic, operands)


def _not(x: _Code) -> _Code:
    if x.kind == "bool":
        f = x.value
        return _Code("bool", lambda env: np.logical_not(f(env)))
    get = _number(x)
    return _emit("bool", lambda env: np.equal(get(env), _ZERO), (x,))


def _where(cond: _Code, a: _Code, b: _Code) -> _Code:
    """``where(cond, a, b)``: ``a`` where ``cond`` is nonzero, else ``b``."""
    truth, get_a, get_b, where = _truth(cond), _number(a), _number(b), np.where
    return _emit("num", lambda env: where(truth(env), get_a(env), get_b(env)), (cond, a, b))


def _clip(x: _Code, low: _Code, high: _Code) -> _Code:
    """``clip(x, low, high)`` as ``minimum(maximum(x, low), high)``."""
    get, get_low, get_high = _number(x), _number(low), _number(high)
    if low.kind == high.kind == "const":
        lo, hi = _scalar(low.value), _scalar(high.value)
        return _emit("num", lambda env: np.minimum(np.maximum(get(env), lo), hi), (x,))

    def clip(env: _Env) -> Any:
        value, lo, hi = get(env), get_low(env), get_high(env)
        return np.minimum(np.maximum(value, lo), hi)
    return _emit("num", clip, (x, low, high))


def _call(fn: Callable[..., Any]) -> Callable[..., _Code]:
    return lambda *args: _apply(fn, args)


#: name -> (number of arguments, builder of the call from the compiled arguments)
_FUNCTIONS: dict[str, tuple[int, Callable[..., _Code]]] = {
    "abs": (1, _call(np.abs)), "ceil": (1, _call(np.ceil)), "clip": (3, _clip),
    "exp": (1, _call(np.exp)), "expm1": (1, _call(np.expm1)), "floor": (1, _call(np.floor)),
    "log": (1, _call(np.log)), "log1p": (1, _call(np.log1p)), "maximum": (2, _call(np.maximum)),
    "minimum": (2, _call(np.minimum)), "sigmoid": (1, _call(sigmoid)), "sign": (1, _call(np.sign)),
    "sqrt": (1, _call(np.sqrt)), "tanh": (1, _call(np.tanh)), "where": (3, _where),
}
#: Functions an expression may call, with their number of (positional) arguments.
ALLOWED_FUNCTIONS: Mapping[str, int] = MappingProxyType({k: v[0] for k, v in _FUNCTIONS.items()})
#: Named constants; a variable of the same name (given in ``names``) takes precedence.
CONSTANTS: Mapping[str, float] = MappingProxyType({"pi": math.pi, "e": math.e})

_BINOPS: dict[type, Callable[..., Any]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
    ast.Div: np.true_divide, ast.Mod: np.mod, ast.Pow: np.power,
}
_CHAIN_GROUP = {ast.Add: 0, ast.Sub: 0, ast.Mult: 1, ast.Div: 1, ast.Mod: 1}
_COMPARE: dict[type, Callable[..., Any]] = {
    ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater,
    ast.GtE: np.greater_equal, ast.Eq: np.equal, ast.NotEq: np.not_equal,
}
_BAD_OPS = {
    ast.FloorDiv: "'//'", ast.MatMult: "'@'", ast.LShift: "'<<'", ast.RShift: "'>>'",
    ast.BitOr: "'|'", ast.BitAnd: "'&'", ast.Invert: "'~'", ast.In: "'in'",
    ast.NotIn: "'not in'", ast.Is: "'is'", ast.IsNot: "'is not'", ast.BitXor: "'^'",
}
_FORBIDDEN = {
    ast.Attribute: "attribute access ({src}) is", ast.Subscript: "subscripts ({src}) are",
    ast.Slice: "slices are", ast.Lambda: "lambda is", ast.NamedExpr: "assignment (':=') is",
    ast.IfExp: "conditional expressions ({src}) are", ast.ListComp: "list comprehensions are",
    ast.SetComp: "set comprehensions are", ast.DictComp: "dict comprehensions are",
    ast.GeneratorExp: "generator expressions are", ast.List: "lists are",
    ast.Tuple: "tuples are", ast.Set: "sets are", ast.Dict: "dicts are",
    ast.JoinedStr: "f-strings are", ast.FormattedValue: "f-strings are",
    ast.Starred: "'*' unpacking is", ast.Await: "await is", ast.Yield: "yield is",
    ast.YieldFrom: "yield is",
}
_ALLOWED_HELP = "allowed: numbers, names, + - * / % **, comparisons, and/or/not, " + ", ".join(
    f"{name}()" for name in sorted(_FUNCTIONS)
)
_DIST_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


def _error(where: str, message: str) -> SpecError:
    return SpecError(f"{where}: {message}" if where else message)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _MissingName(Exception):
    """Internal: a variable is absent from the environment (becomes a ModelError)."""


# ----------------------------------------------------------------------- compiling
def _parse(text: object, where: str, what: str = "expression") -> tuple[ast.expr, str]:
    """Parse ``text`` in eval mode (to an AST only), with every failure as SpecError."""
    if not isinstance(text, str):
        raise _error(where, f"{what} must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH and (what != "expression" or len(text) > MAX_SUM_LENGTH
                                   or not ("+" in text or "-" in text)):
        limit = MAX_SUM_LENGTH if len(text) > MAX_SUM_LENGTH and what == "expression" else MAX_LENGTH
        raise _error(where, f"{what} is {len(text)} characters long; the limit is {limit}")
    if "\x00" in text:
        raise _error(where, f"{what} contains a NUL byte")
    if "#" in text:
        raise _error(where, f"comments ('#') are not allowed in an {what}")
    source = " ".join(text.split())  # no strings are allowed, so this changes no meaning
    if not source:
        raise _error(where, f"{what} is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        hint = "; assignment (':=') is not allowed" if ":=" in source else ""
        raise _error(where, f"invalid syntax in {_short(source)!r}: {exc.msg}{hint}") from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        raise _error(where, f"cannot parse {_short(source)!r} ({type(exc).__name__})") from None
    terms = _sum_terms(tree.body) if what == "expression" else [tree.body]
    if len(terms) > MAX_TERMS:
        raise _error(where, f"{what} is a sum of {len(terms)} terms; the limit is {MAX_TERMS}")
    if len(terms) == 1:
        if len(source) > MAX_LENGTH:
            raise _error(where, f"{what} is {len(source)} characters long; the limit is "
                                f"{MAX_LENGTH} (longer only for a sum of terms)")
        _check_limits(tree.body, where, what)
    else:
        for i, term in enumerate(terms, 1):
            size = (term.end_col_offset or 0) - term.col_offset  # one line: whitespace is joined
            if size > MAX_LENGTH:
                raise _error(where, f"term {i} of the sum is {size} characters long; the limit is "
                                    f"{MAX_LENGTH} per term")
            _check_limits(term, where, f"term {i} of the sum", start=2)
    return tree.body, source


def _sum_terms(body: ast.expr) -> list[ast.expr]:
    """The operands of a top-level chain ``t1 + t2 - t3 ...``, left to right (``[body]`` if none)."""
    terms = []
    while isinstance(body, ast.BinOp) and isinstance(body.op, (ast.Add, ast.Sub)):
        terms.append(body.right)
        body = body.left
    terms.append(body)
    terms.reverse()
    return terms


#: nodes that need parentheses as an operand of ``+`` or ``-`` (as the first one: all but BinOp)
_BELOW_SUM = (ast.BoolOp, ast.Compare, ast.IfExp, ast.Lambda, ast.NamedExpr)


def _unparse(body: ast.expr) -> str:
    """``ast.unparse(body)``, but a long top-level sum without recursion (one term at a time)."""
    if not (isinstance(body, ast.BinOp) and isinstance(body.op, (ast.Add, ast.Sub))):
        return ast.unparse(body)
    ops: list[str] = []
    operands: list[ast.expr] = []
    while isinstance(body, ast.BinOp) and isinstance(body.op, (ast.Add, ast.Sub)):
        ops.append(" + " if isinstance(body.op, ast.Add) else " - ")
        operands.append(body.right)
        body = body.left
    first = ast.unparse(body)
    if isinstance(body, _BELOW_SUM) or (isinstance(body, ast.UnaryOp) and isinstance(body.op, ast.Not)):
        first = f"({first})"
    parts = [first]
    for op, term in zip(reversed(ops), reversed(operands), strict=True):
        text = ast.unparse(term)
        if (isinstance(term, _BELOW_SUM) or (isinstance(term, ast.UnaryOp) and isinstance(term.op, ast.Not))
                or (isinstance(term, ast.BinOp) and isinstance(term.op, (ast.Add, ast.Sub)))):
            text = f"({text})"
        parts.append(op + text)
    return "".join(parts)


def _check_limits(body: ast.expr, where: str, what: str, start: int = 1) -> None:
    """Count expression nodes and nesting depth iteratively; reject private names."""
    count, deepest, stack = 0, 0, [(body, start)]
    while stack:
        node, depth = stack.pop()
        count += isinstance(node, ast.expr)
        deepest = max(deepest, depth)
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            msg = f"{node.id!r} is not allowed: names starting with '_' are never allowed"
            raise _error(where, msg)
        for child in ast.iter_child_nodes(node):
            step = isinstance(child, ast.expr)
            if isinstance(node, ast.BinOp) and child is node.left and isinstance(child, ast.BinOp):
                step = _CHAIN_GROUP.get(type(child.op), -1) != _CHAIN_GROUP.get(type(node.op), -2)
            stack.append((child, depth + step))
    if what != "distribution" and count > MAX_NODES:
        raise _error(where, f"{what} has {count} nodes; the limit is {MAX_NODES}")
    if deepest > MAX_DEPTH:
        raise _error(where, f"{what} is nested {deepest} levels deep; the limit is {MAX_DEPTH}")


class _Compiler:
    """Compiles a checked Python AST into closures (:class:`_Code`), rejecting anything else."""

    def __init__(self, source: str, scope: frozenset[str] | None, where: str) -> None:
        self.source, self.scope, self.where = source, scope, where
        self.names: set[str] = set()

    def fail(self, message: str) -> SpecError:
        return _error(self.where, message)

    def src(self, node: ast.AST) -> str:
        return repr(_short(ast.get_source_segment(self.source, node) or type(node).__name__))

    def convert(self, node: ast.expr) -> _Code:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.UAdd):
                return self.convert(node.operand)
            if isinstance(node.op, ast.Invert):
                raise self.fail(f"operator '~' is not allowed ({_ALLOWED_HELP})")
            operand = self.convert(node.operand)
            return _apply(np.negative, (operand,)) if isinstance(node.op, ast.USub) else _not(operand)
        if isinstance(node, ast.Compare):
            for op in node.ops:
                if type(op) not in _COMPARE:
                    raise self.fail(f"{_BAD_OPS[type(op)]} comparisons are not allowed "
                                    "(allowed: < <= > >= == !=)")
            ops = tuple(_COMPARE[type(op)] for op in node.ops)
            operands = (node.left, *node.comparators)
            return _compare(ops, tuple(self.convert(x) for x in operands))
        if isinstance(node, ast.BoolOp):
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return _logic(fn, tuple(self.convert(x) for x in node.values))
        if isinstance(node, ast.Call):
            return self.call(node)
        kind = _FORBIDDEN.get(type(node), f"{type(node).__name__} expressions are")
        hint = "; use where(condition, a, b)" if isinstance(node, ast.IfExp) else ""
        raise self.fail(f"{kind.format(src=self.src(node))} not allowed{hint} ({_ALLOWED_HELP})")

    def constant(self, node: ast.Constant) -> _Code:
        value = node.value
        if type(value) in (int, float):
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise self.fail(f"the number {self.src(node)} is not a finite float")
            return _Code("const", np.float64(number))
        kinds = {bool: "booleans ({src}) are not allowed; write 1 or 0",
                 str: "strings ({src}) are not allowed", bytes: "bytes ({src}) are not allowed",
                 complex: "complex numbers ({src}) are not allowed"}
        kind = kinds.get(type(value), "the constant {src} is not allowed")
        raise self.fail(f"{kind.format(src=self.src(node))} ({_ALLOWED_HELP})")

    def name(self, node: ast.Name) -> _Code:
        name = node.id
        if self.scope is not None and name in self.scope:
            pass
        elif name in CONSTANTS:
            return _Code("const", np.float64(CONSTANTS[name]))
        elif name in _FUNCTIONS:
            raise self.fail(f"{name!r} is a function; call it, as in {name}(...)")
        elif self.scope is not None:
            known = ", ".join(sorted(self.scope)) or "none"
            close = difflib.get_close_matches(name, sorted(self.scope), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.fail(f"unknown name {name!r} (known: {known}){hint}")
        self.names.add(name)
        return _Code("var", name)

    def binop(self, node: ast.BinOp) -> _Code:
        op = type(node.op)
        if op not in _BINOPS:
            hint = "; for powers write '**'" if op is ast.BitXor else ""
            raise self.fail(f"operator {_BAD_OPS[op]} is not allowed (allowed: + - * / % **){hint}")
        if op not in _CHAIN_GROUP:
            return _apply(_BINOPS[op], (self.convert(node.left), self.convert(node.right)))
        rights: list[tuple[type, ast.expr]] = []
        current: ast.expr = node
        while (isinstance(current, ast.BinOp)
               and _CHAIN_GROUP.get(type(current.op)) == _CHAIN_GROUP[op]):
            rights.append((type(current.op), current.right))
            current = current.left
        fns = tuple(_BINOPS[o] for o, _ in reversed(rights))
        operands = (current, *(x for _, x in reversed(rights)))
        return _chain(fns, tuple(self.convert(x) for x in operands))

    def call(self, node: ast.Call) -> _Code:
        functions = ", ".join(sorted(_FUNCTIONS))
        if isinstance(node.func, ast.Attribute):
            return self.convert(node.func)  # raises: attribute access is not allowed
        if not isinstance(node.func, ast.Name):
            raise self.fail(f"calling {self.src(node.func)} is not allowed; "
                            f"only functions called by name: {functions}")
        name = node.func.id
        if name not in _FUNCTIONS:
            close = difflib.get_close_matches(name, sorted(_FUNCTIONS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise self.fail(f"{name!r} is not a known function; {hint}functions: {functions}")
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise self.fail(f"'*' unpacking is not allowed in the call of {name}()")
        arity = _FUNCTIONS[name][0]
        if node.keywords or len(node.args) != arity:
            what = "keyword arguments are not allowed; " if node.keywords else ""
            plural = "s" if arity > 1 else ""
            raise self.fail(f"{what}{name}() takes exactly {arity} positional "
                            f"argument{plural} ({len(node.args)} given)")
        return _FUNCTIONS[name][1](*(self.convert(arg) for arg in node.args))


# ------------------------------------------------------------------------ public
@dataclass(frozen=True, eq=False, repr=False)
class Expr:
    """An immutable compiled expression; build it with :func:`compile_expr`.

    Attributes
    ----------
    text : str
        Canonical text; ``compile_expr(expr.text)`` gives an equal ``Expr``.
    names : frozenset of str
        Variables the expression reads (possibly ``"noise"``), without
        function names and constants.
    """

    text: str
    names: frozenset[str]
    _run: Callable[[Mapping[str, Any]], Any]  # the compiled expression: env -> value
    _alias: bool  # whether _run may return an array that is not its own (a variable, a constant)
    _scope: frozenset[str] | None  # the ``names`` given to compile_expr, reused by additive_split
    _where: str

    def __call__(self, env: Mapping[str, np.ndarray | float], n: int | None = None) -> np.ndarray:
        """Evaluate elementwise on ``env`` (name -> array or float), as a new float64 array.

        With ``n``, the result is broadcast to shape ``(n,)``. NaN and inf are
        returned as they arise. Raises :class:`ModelError` if a variable is
        missing from ``env`` or the shapes do not broadcast.
        """
        # without variables an expression is one number, computed when compiled: nothing to guard
        token = _quiet() if self.names else None
        try:
            out = np.asarray(self._run(env), dtype=np.float64)
            if n is not None and out.shape != (n,):
                if out.ndim == 0 and type(n) is int and n >= 0:
                    full = np.empty(n)
                    full[...] = out
                    return full
                return np.broadcast_to(out, (n,)).copy()
        except _MissingName as exc:
            have = ", ".join(sorted(map(str, env))) or "nothing"
            raise ModelError(f"{self._prefix()}{self.text!r} needs the variable {exc.args[0]!r}, "
                             f"which is missing (have: {have})") from None
        except (ValueError, TypeError) as exc:
            raise ModelError(f"{self._prefix()}cannot evaluate {self.text!r}: {exc}") from exc
        finally:
            if token is not None:
                _unquiet(token)
        # every operation returns a new array, but a bare variable is the caller's
        return out.copy() if self._alias else out

    def _prefix(self) -> str:
        return f"{self._where}: " if self._where else ""

    def __reduce__(self) -> tuple[Any, ...]:
        # closures do not pickle: the copy is compiled again from the canonical text
        return _recompile, (self.text, self._scope, self._where)

    def additive_split(self) -> Expr | None:
        """Return ``f`` if this expression is ``f + noise``, else None.

        The top-level chain of ``+`` and ``-`` is read as signed terms; exactly
        one of them must be the bare name ``noise`` with a plus sign, and
        ``noise`` must occur nowhere else. ``noise`` alone gives ``0``.
        """
        if "noise" not in self.names:
            return None
        terms: list[tuple[bool, ast.expr]] = []
        current = ast.parse(self.text, mode="eval").body  # canonical text, already checked
        while isinstance(current, ast.BinOp) and isinstance(current.op, (ast.Add, ast.Sub)):
            terms.append((isinstance(current.op, ast.Add), current.right))
            current = current.left
        terms.append((True, current))
        terms.reverse()
        hits = [i for i, (_, t) in enumerate(terms) if isinstance(t, ast.Name) and t.id == "noise"]
        if len(hits) != 1 or not terms[hits[0]][0]:
            return None
        rest = terms[: hits[0]] + terms[hits[0] + 1 :]
        if not rest:
            return compile_expr("0", self._scope, where=self._where)
        tree = rest[0][1] if rest[0][0] else ast.UnaryOp(ast.USub(), rest[0][1])
        for plus, term in rest[1:]:
            tree = ast.BinOp(tree, ast.Add() if plus else ast.Sub(), term)
        f = compile_expr(_unparse(tree), self._scope, where=self._where)
        return None if "noise" in f.names else f

    def uses_noise(self) -> bool:
        """Whether the expression reads the variable ``noise``."""
        return "noise" in self.names

    def __eq__(self, other: object) -> bool:
        return self.text == other.text if isinstance(other, Expr) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"

    def __str__(self) -> str:
        return self.text


def compile_expr(text: str, names: Iterable[str] | None = None, *, where: str = "") -> Expr:
    """Compile the text of an equation into an :class:`Expr`, safely.

    Parameters
    ----------
    text : str
        The expression: numbers, names, ``+ - * / % **``, comparisons (also
        chained, ``0 < x < 1``), ``and``/``or``/``not`` and calls of
        :data:`ALLOWED_FUNCTIONS`. At most 2,000 characters, 300 nodes and 40
        levels of nesting; a sum ``t1 + t2 - ...`` (such as a linear equation
        in many parents) may have up to 1,002 terms and 200,000 characters,
        each term within those limits.
    names : iterable of str, optional
        The variables allowed (include ``"noise"`` where noise is). None
        allows any identifier that is not a function or constant. Names
        starting with ``_`` are never allowed.
    where : str
        Prefix for error messages, such as ``"model.yaml, node 'y'"``.

    Returns
    -------
    Expr

    Raises
    ------
    SpecError
        For every problem in ``text``, naming it; nothing else escapes.

    Examples
    --------
    >>> import numpy as np
    >>> e = compile_expr("20 + 3 * temperature + noise", ["temperature", "noise"])
    >>> sorted(e.names)
    ['noise', 'temperature']
    >>> e({"temperature": np.array([20.0, 30.0]), "noise": 0.5})
    array([ 80.5, 110.5])
    >>> e.additive_split()
    Expr('20 + 3 * temperature')
    >>> compile_expr("3 * tempreature", ["temperature"], where="node 'y'")
    Traceback (most recent call last):
    ...
    causal.errors.SpecError: node 'y': unknown name 'tempreature' (known: temperature); did you mean 'temperature'?
    """  # noqa: E501
    if isinstance(names, str):
        raise TypeError("names must be an iterable of names, not a single string")
    scope = None if names is None else frozenset(names)
    body, source = _parse(text, where)
    compiler = _Compiler(source, scope, where)
    code = compiler.convert(body)
    return Expr(_unparse(body), frozenset(compiler.names), _number(code),
                code.kind in ("var", "const"), scope, where)


def _recompile(text: str, scope: frozenset[str] | None, where: str) -> Expr:
    """Unpickle an :class:`Expr`."""
    return compile_expr(text, scope, where=where)


def parse_distribution(text: str, *, where: str = "") -> tuple[str, tuple, dict]:
    """Parse a noise declaration such as ``normal(25, 5)`` into ``(name, args, kwargs)``.

    Only a call of a bare lowercase name is accepted, whose arguments
    (positional or keyword) are finite numeric literals (with optional sign)
    or lists/tuples of them; lists come back as tuples. Which distributions
    exist is for the caller to check.

    Raises
    ------
    SpecError
        For anything else, prefixed with ``where``.

    Examples
    --------
    >>> parse_distribution("normal(mean=0, sd=2)")
    ('normal', (), {'mean': 0, 'sd': 2})
    >>> parse_distribution("categorical([0.5, 0.3, 0.2])")
    ('categorical', ((0.5, 0.3, 0.2),), {})
    """
    body, source = _parse(text, where, what="distribution")
    if not (isinstance(body, ast.Call) and isinstance(body.func, ast.Name)
            and _DIST_NAME.match(body.func.id)):
        raise _error(where, "a distribution must be a call of a lowercase name with numeric "
                            f"arguments, such as normal(0, 1); got {_short(source)!r}")
    name = body.func.id
    args = tuple(_literal(x, source, where, f"argument {i} of {name}()")
                 for i, x in enumerate(body.args, 1))
    kwargs: dict[str, Any] = {}
    for kw in body.keywords:
        if kw.arg is None:
            raise _error(where, f"'**' unpacking is not allowed in {name}()")
        kwargs[kw.arg] = _literal(kw.value, source, where, f"argument {kw.arg!r} of {name}()")
    return name, args, kwargs


def _literal(node: ast.expr, source: str, where: str, what: str, nested: bool = False) -> Any:
    """A finite number, with any signs applied, or a tuple of them (one level)."""
    if isinstance(node, ast.Starred):
        raise _error(where, f"'*' unpacking is not allowed ({what})")
    if not nested and isinstance(node, (ast.List, ast.Tuple)):
        return tuple(_literal(x, source, where, what, nested=True) for x in node.elts)
    sign, inner = 1, node
    while isinstance(inner, ast.UnaryOp) and isinstance(inner.op, (ast.USub, ast.UAdd)):
        sign, inner = (-sign if isinstance(inner.op, ast.USub) else sign), inner.operand
    if isinstance(inner, ast.Constant) and type(inner.value) in (int, float):
        try:
            finite = math.isfinite(inner.value)
        except OverflowError:
            finite = False
        if finite:
            return sign * inner.value
    got = _short(ast.get_source_segment(source, node) or type(node).__name__)
    raise _error(where, f"{what} must be a finite number or a list of numbers, got {got!r}")
