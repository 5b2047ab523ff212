"""``causalsim demo``: the whole product in one command, printed and written as one report.

::

    causalsim demo [--out DIR] [--quick] [--seed S] [--workers K] [--force]

Runs :func:`causalsim.demo.run_demo` and writes into ``DIR`` (default
``causalsim-demo``): ``report.html`` (self-contained: figures embedded as PNG,
no network), one CSV per table, one PNG per figure and ``manifest.json`` (the
command, seed, sizes, versions and every takeaway). The same seed writes the
same ``report.html``: the page holds no timestamp and no timing.

``DIR`` must be new, empty, or a previous demo report (its ``manifest.json``
says ``"command": "demo"``); anything else is refused unless ``--force``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from causalsim.args import ArgumentError

__all__ = ["check_out", "write_demo", "format_demo", "cmd_demo", "register", "DEFAULT_OUT"]

DEFAULT_OUT = "causalsim-demo"


def _previous_report(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("command") == "demo"


def check_out(out: str | os.PathLike, *, force: bool = False) -> Path:
    """The output folder, made if missing; refuse a folder that would mix the report with other files.

    Raises
    ------
    ArgumentError
        ``out`` is a file, a non-empty folder that is not a previous demo report
        (without ``force``), or cannot be written.
    """
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ArgumentError(f"--out {str(folder)!r} is a file; give a folder for the report")
    if folder.is_dir() and any(folder.iterdir()) and not force and not _previous_report(folder):
        raise ArgumentError(f"--out {str(folder)!r} is not empty and holds no previous demo report; "
                            "choose a new folder, or pass --force to write into it anyway")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".causalsim-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ArgumentError(f"cannot write the report into {str(folder)!r}: {exc.strerror or exc}; "
                            "choose a folder you can write to with --out") from None
    return folder


def _takeaways(sections: Sequence[Any]) -> dict[str, str]:
    return {s.key: s.takeaway for s in sections}


def write_demo(sections: Sequence[Any], out: Path, *, argv: Sequence[str], seed: int, quick: bool,
               seconds: float | None = None) -> list[Path]:
    """Write ``report.html``, the tables as CSV, the figures as PNG and ``manifest.json`` into ``out``."""
    from dataclasses import asdict

    from causal.plot import save_figure
    from causalsim.demo import SETTINGS
    from causalsim.html import HtmlReport
    from causalsim.report import versions

    paths: list[Path] = []
    page = HtmlReport("causalsim: one world, every causal question")
    size = "quick" if quick else "full"
    page.paragraph("Every number below comes from scenarios whose exogenous noise the simulator knows, so "
                   "each answer is scored against the exact truth. Driving and Marketing run with the "
                   "confounder observed (hidden_confounder=False), so that the logged context holds a "
                   f"back-door set. Seed {seed}, {size} run.")
    for s in sections:
        page.heading(s.title)
        page.paragraph(s.takeaway)
        for name, fig in s.figures.items():
            page.figure(fig, caption=s.setup, alt=f"{s.title}: {name}")
            paths.append(save_figure(fig, out / name))
        for name, frame in s.tables.items():
            page.table(frame, caption=name.replace("_", " "), formats=_formats(frame))
            path = out / f"{name}.csv"
            frame.to_csv(path, index=False)
            paths.append(path)
    command = "causalsim " + " ".join(argv)
    page.heading("Reproduce")
    page.code(command)
    manifest = {"command": "demo", "argv": list(argv), "seed": seed, "size": size,
                "settings": asdict(SETTINGS[size]), "takeaways": _takeaways(sections),
                "files": sorted(p.name for p in paths) + ["manifest.json", "report.html"],
                "versions": versions()}
    if seconds is not None:
        manifest["seconds"] = round(seconds, 1)
    paths.append(page.write(out / "report.html"))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    paths.append(out / "manifest.json")
    return paths


def _formats(frame: Any) -> dict[str, str]:
    """Four significant digits for floats; shares and coverages as percentages stay floats."""
    return {c: ".4g" for c in frame.columns if frame[c].dtype.kind == "f"}


def format_demo(sections: Sequence[Any]) -> str:
    """The printed summary: one numbered takeaway per section."""
    lines = []
    for i, s in enumerate(sections, 1):
        lines.append(f"{i}. {s.title}")
        lines.append(f"   {s.takeaway}")
    return "\n".join(lines)


def cmd_demo(ns: argparse.Namespace, argv: Sequence[str]) -> int:
    from causalsim.demo import run_demo

    out = check_out(ns.out, force=ns.force)  # before the run: a refused folder costs nothing
    start = time.perf_counter()
    sections = run_demo(quick=ns.quick, seed=ns.seed, workers=ns.workers, progress=sys.stderr.isatty())
    seconds = time.perf_counter() - start
    print(format_demo(sections))
    write_demo(sections, out, argv=argv, seed=ns.seed, quick=ns.quick, seconds=seconds)
    print(f"\nreport: {out / 'report.html'} (tables as CSV, figures as PNG, manifest.json beside it); "
          f"{seconds:.0f} s")
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``demo`` subcommand to ``subparsers``; return its parser."""
    from causalsim.cli import _int_at_least, _subcommand

    p = _subcommand(
        subparsers, "demo",
        description="Run a what-if, the braking trap, decision agents, an estimator leaderboard and causal "
                    "discovery on the embedded scenarios with fixed seeds, print one takeaway per part "
                    "and write a self-contained report.html.")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help=f"folder for report.html, CSVs, PNGs and manifest.json (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="smaller runs: about a minute on 2 cores")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed (default 0)")
    p.add_argument("--workers", type=_int_at_least(1), default=None, metavar="K",
                   help="processes for the leaderboard's replications (default: the CPU count)")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder that holds no previous demo report")
    p.set_defaults(run=cmd_demo)
    return p
