"""Build the API reference of causalsim from its docstrings with pdoc.

Usage::

    python docs/api.py [--out build/api]

writes one HTML page per public module of the five packages (``causal``, ``sim``, ``scenarios``,
``agents``, ``causalsim``) and an ``index.html``, with a search box and no network use. Any
warning pdoc emits (a docstring it cannot render, a module that fails to import) is printed
and makes the exit status 1, so ``tests/test_api_docs.py`` can insist on a clean build.
Needs the ``docs`` extra (``python -m pip install -e ".[docs]"``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings
from pathlib import Path

__all__ = ["PACKAGES", "build", "main", "modules"]

PACKAGES = ("causal", "sim", "scenarios", "agents", "causalsim")  #: documented, in layer order
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "build" / "api"  #: git ignores build/


def modules() -> list[str]:
    """The module names to give pdoc so that every public module gets a page.

    pdoc follows a package's submodules only where its ``__all__`` names them, so each public
    module (no ``_``-prefixed part in its name) is named, except those a name given earlier
    already brings in (pdoc warns about a module added twice).
    """
    from pdoc.extract import walk_specs

    specs: list[str] = []
    covered: set[str] = set()
    for package in PACKAGES:
        path = importlib.import_module(package).__path__
        names = [package, *(m.name for m in pkgutil.walk_packages(path, package + "."))]
        for name in names:
            if name in covered or any(part.startswith("_") for part in name.split(".")):
                continue
            specs.append(name)
            covered.update(walk_specs([name]))
    return specs


def build(out: Path) -> list[str]:
    """Write the reference into ``out``; return pdoc's warnings as text (empty when clean).

    Parameters
    ----------
    out : Path
        Output folder, created if needed.

    Returns
    -------
    list of str
        One line per warning: its category and message.
    """
    import pdoc
    import pdoc.render

    pdoc.render.configure(docformat="numpy", search=True, show_source=True,
                          footer_text="causalsim API reference")
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    here = Path.cwd()
    # pdoc reads a bare name that is also a folder of the working directory (scenarios/ at the
    # repository root) as ambiguous; resolve the names from the output folder instead.
    os.chdir(out)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pdoc.pdoc(*modules(), output_directory=out)
    finally:
        os.chdir(here)
    return [f"{w.category.__name__}: {w.message}" for w in caught]


def main(argv: list[str] | None = None) -> int:
    """Command line: build, print the warnings, exit 1 if there were any."""
    parser = argparse.ArgumentParser(description="Build the causalsim API reference with pdoc.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default build/api)")
    args = parser.parse_args(argv)
    try:
        import pdoc  # noqa: F401
    except ImportError:
        print("api.py: error: pdoc is not installed; python -m pip install -e \".[docs]\"", file=sys.stderr)
        return 1
    found = build(args.out)
    for line in found:
        print(line, file=sys.stderr)
    print(f"API reference: {args.out / 'index.html'} ({len(found)} warnings)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
