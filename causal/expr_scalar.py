"""One unit at a time: a compiled :class:`~causal.expr.Expr` evaluated on Python floats.

The batch closures of :mod:`causal.expr` call one numpy ufunc per operation, about a
microsecond each whatever the array's length: for a single unit (an environment's step)
that is most of the cost. :func:`scalar_closure` compiles the same checked expression (its
canonical text, parsed again to a syntax tree only — the whitelist was enforced when the
:class:`~causal.expr.Expr` was compiled, and anything else is refused here too) into closures
over Python floats that give, for one unit, the batch path's value to the last bit:

* ``+ - * /``, unary ``-``, comparisons, ``and``/``or``/``not``, ``where`` and ``abs`` are IEEE 754
  operations on doubles, correctly rounded in Python as in numpy (neither fuses a multiply
  and an add); ``where`` computes only the operand it chooses (the batch's other lane is
  discarded, so its value cannot matter);
* ``minimum``, ``maximum`` and ``clip`` follow numpy's rule: NaN if either operand is NaN,
  else the smaller (larger) one, the *second* operand when they are equal (``-0.0``, ``0.0``);
* ``sqrt`` is correctly rounded in both (``math.sqrt``; a negative operand raises);
* every other function, ``**`` and ``%`` call the numpy function itself on a one-element
  array, constants bound as 0-d arrays as the batch closure binds them: exactly what a batch
  of one unit computes;
* subexpressions made of constants are folded by the batch compiler's own helpers.

Where numpy would return inf or NaN without complaint, Python may raise (a division by zero,
``sqrt`` of a negative number): callers catch :data:`FALLBACK` and evaluate the unit with the
batch path, which reports or propagates the non-finite value as it always does.
``tests/sim/test_scalar.py`` checks the bit equality on many random and special inputs.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from causal.expr import (
    CONSTANTS,
    Expr,
    _apply,
    _clip,
    _Code,
    _compare,
    _logic,
    _not,
    _quiet,
    _scalar,
    _unquiet,
    _where,
    sigmoid,
)

__all__ = ["FALLBACK", "scalar_closure", "np_minimum", "np_maximum"]

#: Exceptions the scalar path may raise where numpy returns a non-finite value or an error:
#: the caller then evaluates with the batch path.
FALLBACK = (ArithmeticError, ValueError, KeyError, TypeError)

_Env = Mapping[str, Any]
_Fn = Callable[[_Env], Any]


def np_minimum(a: float, b: float) -> float:
    """``np.minimum`` of two floats: NaN if either is NaN, else ``b`` unless ``a < b``."""
    return a if a < b or a != a else b


def np_maximum(a: float, b: float) -> float:
    """``np.maximum`` of two floats: NaN if either is NaN, else ``b`` unless ``a > b``."""
    return a if a > b or a != a else b


_PY_BINOPS = {ast.Add: (np.add, operator.add), ast.Sub: (np.subtract, operator.sub),
              ast.Mult: (np.multiply, operator.mul), ast.Div: (np.true_divide, operator.truediv),
              ast.Mod: (np.mod, None), ast.Pow: (np.power, None)}
_PY_COMPARE = {ast.Lt: (np.less, operator.lt), ast.LtE: (np.less_equal, operator.le),
               ast.Gt: (np.greater, operator.gt), ast.GtE: (np.greater_equal, operator.ge),
               ast.Eq: (np.equal, operator.eq), ast.NotEq: (np.not_equal, operator.ne)}
_CHAIN = {ast.Add: 0, ast.Sub: 0, ast.Mult: 1, ast.Div: 1, ast.Mod: 1}
#: functions computed by numpy on a one-element array (the batch path's own call)
_NUMPY = {"ceil": np.ceil, "exp": np.exp, "expm1": np.expm1, "floor": np.floor, "log": np.log,
          "log1p": np.log1p, "sigmoid": sigmoid, "sign": np.sign, "tanh": np.tanh}


class _S:
    """A compiled subexpression for one unit: ``kind`` ``"const"`` (``value`` a float64, as the
    batch compiler folds it), ``"var"`` (``value`` the name), ``"num"`` (a closure giving a
    float) or ``"bool"`` (a closure giving a bool)."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: Any) -> None:
        self.kind, self.value = kind, value

    def code(self) -> _Code:
        return _Code("const", self.value)


def _num(s: _S) -> _Fn:
    if s.kind == "num":
        return s.value
    if s.kind == "var":
        name = s.value
        return lambda env: env[name]
    if s.kind == "const":
        c = float(s.value)
        return lambda env: c
    f = s.value
    return lambda env: 1.0 if f(env) else 0.0


def _binary(fn: Callable[[Any, Any], Any], a: _S, b: _S) -> _Fn:
    """``fn(a, b)`` with variables read and constants bound in place (no closure call for them)."""
    if a.kind == "var" and b.kind == "const":
        na, cb = a.value, float(b.value)
        return lambda env: fn(env[na], cb)
    if a.kind == "const" and b.kind == "var":
        ca, nb = float(a.value), b.value
        return lambda env: fn(ca, env[nb])
    if a.kind == "var" and b.kind == "var":
        na, nb = a.value, b.value
        return lambda env: fn(env[na], env[nb])
    if b.kind == "const":
        ga, cb = _num(a), float(b.value)
        return lambda env: fn(ga(env), cb)
    if a.kind == "const":
        ca, gb = float(a.value), _num(b)
        return lambda env: fn(ca, gb(env))
    if a.kind == "var":
        na, gb = a.value, _num(b)
        return lambda env: fn(env[na], gb(env))
    if b.kind == "var":
        ga, nb = _num(a), b.value
        return lambda env: fn(ga(env), env[nb])
    ga, gb = _num(a), _num(b)
    return lambda env: fn(ga(env), gb(env))


def _truth(s: _S) -> _Fn:
    if s.kind == "bool":
        return s.value
    get = _num(s)
    return lambda env: get(env) != 0.0


def _folded(code: _Code) -> _S:
    if code.kind != "const":  # the batch compiler folds every constant subexpression
        raise AssertionError("a constant subexpression was not folded")
    return _S("const", code.value)


class _Compiler:
    """Builds :class:`_S` closures from the canonical syntax tree of a checked expression."""

    def __init__(self, scope: frozenset[str] | None) -> None:
        self.scope = scope
        self.numpy = False  # whether a numpy function is called (then errors are silenced)

    def convert(self, node: ast.expr) -> _S:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return _S("const", np.float64(float(node.value)))
        if isinstance(node, ast.Name):
            name = node.id
            if name in CONSTANTS and not (self.scope is not None and name in self.scope):
                return _S("const", np.float64(CONSTANTS[name]))
            return _S("var", name)
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.UnaryOp):
            x = self.convert(node.operand)
            if isinstance(node.op, ast.UAdd):
                return x
            if isinstance(node.op, ast.USub):
                if x.kind == "const":
                    return _folded(_apply(np.negative, (x.code(),)))
                get = _num(x)
                return _S("num", lambda env: -get(env))
            if isinstance(node.op, ast.Not):
                if x.kind == "const":
                    return _folded(_not(x.code()))
                truth = _truth(x)
                return _S("bool", lambda env: not truth(env))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.BoolOp):
            parts = [self.convert(x) for x in node.values]
            if all(p.kind == "const" for p in parts):
                fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
                return _folded(_logic(fn, tuple(p.code() for p in parts)))
            truths = tuple(_truth(p) for p in parts)
            combine = all if isinstance(node.op, ast.And) else any
            return _S("bool", lambda env: combine([t(env) for t in truths]))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return self.call(node.func.id, [self.convert(a) for a in node.args])
        raise ValueError(f"not a checked expression node: {ast.dump(node)[:60]}")

    def binop(self, node: ast.BinOp) -> _S:
        op = type(node.op)
        if op not in _CHAIN:
            return self.numpy_call(_PY_BINOPS[op][0], [self.convert(node.left), self.convert(node.right)])
        rights: list[tuple[type, ast.expr]] = []
        current: ast.expr = node
        while isinstance(current, ast.BinOp) and _CHAIN.get(type(current.op)) == _CHAIN[op]:
            rights.append((type(current.op), current.right))
            current = current.left
        ops = [o for o, _ in reversed(rights)]
        first = self.convert(current)
        pairs = [(o, self.convert(x)) for o, x in reversed(rights)]
        # as causal.expr._chain: fold a constant prefix, drop factors and divisors of exactly 1
        while pairs and first.kind == "const" and pairs[0][1].kind == "const":
            o, x = pairs.pop(0)
            first = _folded(_apply(_PY_BINOPS[o][0], (first.code(), x.code())))
        pairs = [(o, x) for o, x in pairs
                 if not (o in (ast.Mult, ast.Div) and x.kind == "const" and x.value == 1.0)]
        if pairs and first.kind == "const" and first.value == 1.0 and pairs[0][0] is ast.Mult:
            first = pairs.pop(0)[1]
        del ops
        out = first
        for o, x in pairs:
            out = self.pair(o, out, x)
        return out

    def pair(self, op: type, a: _S, b: _S) -> _S:
        np_fn, py_fn = _PY_BINOPS[op]
        if py_fn is None:
            return self.numpy_call(np_fn, [a, b])
        return _S("num", _binary(py_fn, a, b))

    def compare(self, node: ast.Compare) -> _S:
        operands = [self.convert(x) for x in (node.left, *node.comparators)]
        np_ops = tuple(_PY_COMPARE[type(o)][0] for o in node.ops)
        if all(x.kind == "const" for x in operands):
            return _folded(_compare(np_ops, tuple(x.code() for x in operands)))
        py_ops = tuple(_PY_COMPARE[type(o)][1] for o in node.ops)
        gets = tuple(_num(x) for x in operands)
        if len(py_ops) == 1:
            return _S("bool", _binary(py_ops[0], operands[0], operands[1]))

        def chained(env: _Env) -> bool:
            values = [g(env) for g in gets]
            return all([f(values[i], values[i + 1]) for i, f in enumerate(py_ops)])
        return _S("bool", chained)

    def call(self, name: str, args: list[_S]) -> _S:
        const = all(a.kind == "const" for a in args)
        if name == "where":
            if const:
                return _folded(_where(*(a.code() for a in args)))
            # only the chosen operand is computed: the batch's other lane is thrown away, so its
            # value (or a Python refusal of it, where numpy gives inf or NaN) cannot matter
            t, a, b = _truth(args[0]), args[1], args[2]
            if a.kind == "const" and b.kind == "const":
                ca, cb = float(a.value), float(b.value)
                return _S("num", lambda env: ca if t(env) else cb)
            if a.kind == "const":
                ca, gb = float(a.value), _num(b)
                return _S("num", lambda env: ca if t(env) else gb(env))
            if b.kind == "const":
                ga, cb = _num(a), float(b.value)
                return _S("num", lambda env: ga(env) if t(env) else cb)
            ga, gb = _num(a), _num(b)
            return _S("num", lambda env: ga(env) if t(env) else gb(env))
        if name == "clip":
            if const:
                return _folded(_clip(*(a.code() for a in args)))
            if args[1].kind == args[2].kind == "const":
                low = _binary(np_maximum, args[0], args[1])
                hi = float(args[2].value)
                return _S("num", lambda env: np_minimum(low(env), hi))
            gx, glo, ghi = (_num(a) for a in args)
            return _S("num", lambda env: np_minimum(np_maximum(gx(env), glo(env)), ghi(env)))
        if name in ("minimum", "maximum"):
            if const:
                return _folded(_apply(getattr(np, name), tuple(a.code() for a in args)))
            fn = np_minimum if name == "minimum" else np_maximum
            return _S("num", _binary(fn, args[0], args[1]))
        if name == "abs":
            if const:
                return _folded(_apply(np.abs, (args[0].code(),)))
            g = _num(args[0])
            return _S("num", lambda env: abs(g(env)))
        if name == "sqrt":
            if const:
                return _folded(_apply(np.sqrt, (args[0].code(),)))
            g = _num(args[0])
            return _S("num", lambda env: math.sqrt(g(env)))
        if name in _NUMPY:
            return self.numpy_call(_NUMPY[name], args)
        raise ValueError(f"unknown function {name!r}")

    def numpy_call(self, fn: Callable[..., Any], args: list[_S]) -> _S:
        """``fn`` on one-element arrays (constants as 0-d arrays), as the batch closure calls it."""
        if all(a.kind == "const" for a in args):
            return _folded(_apply(fn, tuple(a.code() for a in args)))
        self.numpy = True
        gets = []
        for a in args:
            if a.kind == "const":
                c = _scalar(float(a.value))
                gets.append(lambda env, c=c: c)
            else:
                g = _num(a)
                gets.append(lambda env, g=g: np.array([g(env)]))
        if len(gets) == 1:
            (g0,) = gets
            return _S("num", lambda env: fn(g0(env))[0].item())
        g0, g1 = gets
        return _S("num", lambda env: fn(g0(env), g1(env))[0].item())


def scalar_closure(expr: Expr) -> Callable[[_Env], float]:
    """A function of one unit's values (a mapping name -> float) giving ``expr``'s value as a float,
    equal to the batch evaluation's element to the last bit (module docstring); it may raise
    one of :data:`FALLBACK` where the batch path would give a non-finite value."""
    body = ast.parse(expr.text, mode="eval").body
    compiler = _Compiler(expr._scope)
    code = compiler.convert(body)
    run = _num(code)
    if not compiler.numpy:
        return run

    def quiet(env: _Env) -> float:
        token = _quiet()
        try:
            return run(env)
        finally:
            _unquiet(token)
    return quiet
