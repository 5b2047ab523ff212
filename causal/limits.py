"""A configurable cap on the memory one request may allocate.

Counts given by the user (``SCM.sample(n)``, ``expected(draws=...)``, counterfactual
``samples``, a scenario's ``max_units``, a vector env's ``num_envs``) decide how big
the arrays are. Instead of attempting a request that cannot fit (a raw
``MemoryError``, or minutes of swapping just below it), each entry point estimates
its memory first and refuses, naming the limit and how to chunk, above
:data:`MAX_BYTES`.

The estimate is ``bytes ~= 8 * units * (arrays per unit)``: one float64 per unit for
each node (noise and value) plus a small constant of bookkeeping arrays; each caller
documents its own ``arrays per unit``. It is deliberately rough (it ignores pandas'
overhead), so the cap is a guard against absurd requests, not an exact budget.

The cap is :data:`MAX_BYTES` (default 4 GiB), read from the environment variable
``CAUSALSIM_MAX_BYTES`` (a number of bytes, e.g. ``8e9``) at import, and changed with
:func:`set_max_bytes` or, for a block, ``with max_bytes(n): ...``.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator

from causal.errors import CausalSimError, ModelError

__all__ = ["MAX_BYTES", "DEFAULT_MAX_BYTES", "ENV_VAR", "set_max_bytes", "max_bytes", "check_request",
           "check_units", "format_bytes"]

DEFAULT_MAX_BYTES = 4 * 1024**3
ENV_VAR = "CAUSALSIM_MAX_BYTES"
#: No request may address more elements than an int64 index can (even with a raised cap).
_INT64_MAX = 2**63 - 1


def _parse(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, str):
        value = float(value.strip().replace("_", "")) if value.strip() else None
    out = int(value)  # type: ignore[arg-type]
    if out != value or out < 1:
        raise ValueError(value)
    return out


def _from_env() -> int:
    raw = os.environ.get(ENV_VAR)
    if raw is None:
        return DEFAULT_MAX_BYTES
    try:
        return _parse(raw)
    except (TypeError, ValueError, OverflowError):
        warnings.warn(f"{ENV_VAR}={raw!r} is not a positive whole number of bytes; "
                      f"using the default limit of {format_bytes(DEFAULT_MAX_BYTES)}", stacklevel=2)
        return DEFAULT_MAX_BYTES


def format_bytes(nbytes: float) -> str:
    """``1536 -> '1.5 KiB'`` (binary units, as the limit is usually a power of two)."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(nbytes) < 1024 or unit == "EiB":
            return f"{nbytes:,.0f} {unit}" if unit == "bytes" else f"{nbytes:.3g} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def set_max_bytes(nbytes: int) -> int:
    """Set the cap (a positive number of bytes); returns the previous one."""
    global MAX_BYTES
    try:
        new = _parse(nbytes)
    except (TypeError, ValueError, OverflowError):
        raise CausalSimError(f"the memory limit must be a positive whole number of bytes, got {nbytes!r}") \
            from None
    old, MAX_BYTES = MAX_BYTES, new
    return old


@contextlib.contextmanager
def max_bytes(nbytes: int) -> Iterator[int]:
    """``with max_bytes(2**20): ...`` runs the block under a cap of ``nbytes`` (restored after)."""
    old = set_max_bytes(nbytes)
    try:
        yield MAX_BYTES
    finally:
        set_max_bytes(old)


def check_request(what: str, nbytes: int, hint: str, error: type[Exception] = ModelError) -> None:
    """Raise ``error`` when a request estimated at ``nbytes`` is over :data:`MAX_BYTES`.

    ``what`` names the request (``"sample(n=10,000,000)"``) and how the estimate was
    made; ``hint`` says how to do it in pieces.
    """
    if nbytes <= MAX_BYTES and nbytes <= _INT64_MAX:
        return
    need, cap = format_bytes(nbytes), format_bytes(MAX_BYTES)
    if need == cap:   # close to the limit: exact numbers
        need, cap = f"{nbytes:,} bytes", f"{cap} ({MAX_BYTES:,} bytes)"
    raise error(f"{what} needs about {need}, over the limit of {cap} "
                f"(causal.limits.MAX_BYTES / {ENV_VAR}); {hint} or raise the limit "
                f"(causal.limits.set_max_bytes)")


def check_units(what: str, units: int, per_unit: int, detail: str, noun: str = "units",
                error: type[Exception] = ModelError, chunk_hint: str = "",
                none_fits: str = "not even one fits: make each smaller") -> None:
    """:func:`check_request` for ``units`` units of ``per_unit`` bytes each (``detail`` says
    how ``per_unit`` was made, e.g. ``"10 nodes x 8 bytes per unit"``); the hint gives the
    largest chunk that fits (``none_fits`` when not even one does)."""
    per_unit = max(1, int(per_unit))
    nbytes = int(units) * per_unit
    if nbytes <= MAX_BYTES and nbytes <= _INT64_MAX:
        return
    chunk = max(0, MAX_BYTES // per_unit)
    how = (f"do it in chunks of at most {chunk:,} {noun}{chunk_hint}" if chunk >= 1
           else none_fits)
    check_request(f"{what} ({detail})", nbytes, how, error)


MAX_BYTES: int = _from_env()
