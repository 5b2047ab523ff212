"""Redraw every committed figure: the causal graph of each registered scenario.

From the repository root::

    python docs/figures.py             # rewrites docs/img/<scenario>.png
    python docs/figures.py --out DIR   # writes them into DIR instead

Each figure is :func:`causal.plot.draw_graph` of the scenario's graph with its
action and outcome nodes marked, saved by :func:`causal.plot.save_figure`,
which writes no version or date into the file. The same code with the same
matplotlib and FreeType therefore gives the same bytes, and
``tests/causal/test_plot_figures.py`` checks that the committed files are what
this script draws.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

IMG = Path(__file__).resolve().parent / "img"
if sys.path and Path(sys.path[0] or ".").resolve() == IMG.parent:
    sys.path.pop(0)  # run as a script: docs/scenarios/ (pages) would shadow the scenarios package

import scenarios  # noqa: E402
from causal.plot import draw_graph, save_figure  # noqa: E402


def write_figures(out: Path = IMG) -> list[Path]:
    """Draw the graph of every registered scenario into ``out/<name>.png``; return the paths."""
    paths = []
    for name in scenarios.names():
        sc = scenarios.make(name)
        fig = draw_graph(sc.scm.graph, actions=sc.actions.nodes, outcomes=sc.outcome,
                         title=f"{name}: the causal graph")
        paths.append(save_figure(fig, Path(out) / f"{name}.png"))
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMG, help="folder to write into (docs/img)")
    for path in write_figures(parser.parse_args(argv).out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
