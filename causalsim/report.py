"""Plain-text number formatting and tables for the command line.

Numbers in one row share a number of decimals: enough for four significant
digits of the row's largest value, and for the first significant digit of its
uncertainty (the half-width of an interval), so that an interval never
collapses to ``[55.1, 55.1]``.

Examples
--------
>>> decimals(55.08, 55.03, 55.13, spread=0.05)
2
>>> fmt(-0.0001, 2)
'0.00'
>>> print(table([["", "mean"], ["baseline", "55.08"]], align="lr"))
            mean
baseline   55.08
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["decimals", "fmt", "interval", "table", "versions"]

_MAX_DECIMALS = 10


def decimals(*values: float, sig: int = 4, spread: float | None = None) -> int:
    """Decimals giving ``sig`` significant digits of the largest ``|value|`` and resolving ``spread``."""
    finite = [abs(float(v)) for v in values if math.isfinite(float(v))]
    big = float(f"{max(finite, default=0.0):.{sig}g}")  # 0.99999 counts as 1.000
    d = sig - 1 - math.floor(math.log10(big)) if big > 0 else 1
    # a spread below a millionth of the value is rounding noise (an exact effect), not uncertainty
    if spread is not None and math.isfinite(spread) and spread > 1e-6 * big:
        d = max(d, -math.floor(math.log10(spread)))
    return int(min(max(d, 0), _MAX_DECIMALS))


def fmt(x: float, d: int) -> str:
    """``x`` with ``d`` decimals, never as negative zero."""
    if not math.isfinite(float(x)):
        return str(float(x))
    s = f"{float(x):.{d}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def interval(lo: float, hi: float, d: int) -> str:
    return f"[{fmt(lo, d)}, {fmt(hi, d)}]"


def table(rows: Sequence[Sequence[str]], align: str, gap: int = 3) -> str:
    """Rows of cells as aligned text; ``align`` has one ``l`` or ``r`` per column.

    The last column is never padded, so lines carry no trailing spaces.
    """
    ncol = max(len(r) for r in rows)
    width = [max((len(r[i]) for r in rows if i < len(r)), default=0) for i in range(ncol)]
    lines = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            last = i == len(row) - 1
            if align[i] == "r":
                cells.append(cell.rjust(width[i]))
            else:
                cells.append(cell if last else cell.ljust(width[i]))
        lines.append((" " * gap).join(cells).rstrip())
    return "\n".join(lines)


def versions() -> dict[str, str]:
    """Versions of causalsim, numpy and pandas, for run manifests."""
    from importlib.metadata import PackageNotFoundError, version

    import numpy
    import pandas

    try:
        own = version("causalsim")
    except PackageNotFoundError:  # running from a source tree: causal/ ships in the same project
        import causal

        own = causal.__version__
    return {"causalsim": own, "numpy": numpy.__version__, "pandas": pandas.__version__}
