"""The ``causalsim`` command line.

Subcommands::

    causalsim whatif SPEC --do NODE=VALUE [--do ...] --outcome NODE [--n N] [--seed S] [--out DIR]
    causalsim graph SPEC [--out graph.png] [--dot]
    causalsim counterfactual SPEC --unit NODE=VALUE,... --do NODE=VALUE [...] [--samples N] [--seed S]

``--do`` takes ``x=3`` (set x to 3), ``x+=2`` / ``x-=2`` (shift x's natural
value) or ``x*=1.1`` (scale it). Every deliberate error (a bad spec, an unknown
node, a malformed argument, a missing file) is printed as one line,
``causalsim: error: ...``, with exit status 1; argparse usage errors exit 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from causal import SCM, Categorical, CausalSimError, DiscreteMechanism, load_scm, summarise
from causal.counterfactual import DEFAULT_SAMPLES
from causalsim.args import ArgumentError, parse_assignments, parse_dos
from causalsim.report import decimals, fmt, table
from causalsim.whatif import format_whatif, run_whatif, write_whatif

__all__ = ["main", "load_model", "build_parser"]


def _exists(spec_arg: str) -> bool:
    """Whether a file of that name exists; False for names the OS rejects (too long, NUL)."""
    try:
        return Path(spec_arg).exists()
    except (OSError, ValueError):
        return False


def load_model(spec_arg: str) -> SCM:
    """The model named on the command line: a YAML spec file, or a scenario's name."""
    path = Path(spec_arg)
    if not _exists(spec_arg) and "/" not in spec_arg and not spec_arg.endswith((".yaml", ".yml")):
        import scenarios

        return scenarios.make(spec_arg).scm
    return load_scm(path)


def action_labels(spec_arg: str) -> dict[str, dict[str, float]]:
    """Named values of a scenario's single-node actions (``{"action": {"discount": 2.0}}``)."""
    if _exists(spec_arg) or "/" in spec_arg or spec_arg.endswith((".yaml", ".yml")):
        return {}
    import scenarios

    acts = scenarios.make(spec_arg).actions
    if len(acts.nodes) != 1 or not hasattr(acts, "labels"):
        return {}
    node = acts.nodes[0]
    return {node: {label: float(acts.value(node, [i])[0]) for i, label in enumerate(acts.labels)}}


# ---------------------------------------------------------------------- whatif
def cmd_whatif(ns: argparse.Namespace, argv: Sequence[str]) -> int:
    dos = parse_dos(ns.do, action_labels(ns.spec))
    scm = load_model(ns.spec)
    ivs = {d.node: d.intervention for d in dos}
    if ns.out is not None:  # fail before the simulation if the folder cannot be made
        Path(ns.out).mkdir(parents=True, exist_ok=True)
    result = run_whatif(scm, ivs, ns.outcome, labels=[d.label for d in dos], n=ns.n, seed=ns.seed)
    print(format_whatif(result))
    if ns.out is not None:
        paths = write_whatif(result, ns.out, argv=argv, spec=ns.spec, interventions=ivs)
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


# ---------------------------------------------------------------------- graph
def _kind(scm: SCM, v: str) -> str:
    mech = scm.mechanisms[v]
    if isinstance(mech, Categorical):
        return "categorical"
    if isinstance(mech, DiscreteMechanism):
        return "binary"
    return "deterministic" if scm.noise[v] is None else "continuous"


def describe_graph(scm: SCM) -> str:
    """Nodes (kind, unit, description; hidden ones marked) and edges as readable text."""
    g = scm.graph
    title = scm.name or "model"
    lines = [f"{title}: {scm.description}" if scm.description else title]
    lines.append(f"nodes ({len(g.nodes)}, {len(g.hidden)} hidden):")
    rows = []
    for v in g.nodes:
        meta = scm.meta.get(v, {})
        name = f"{v} (hidden)" if v in g.hidden else v
        rows.append(["  " + name, _kind(scm, v), meta.get("unit", ""), meta.get("description", "")])
    lines.append(table(rows, align="llll", gap=2))
    lines.append(f"edges ({len(g.directed_edges)}):")
    lines.extend(f"  {a} -> {b}" for a, b in g.directed_edges)
    if g.hidden:
        confounded = scm.observed_graph.bidirected_edges
        lines.append(f"confounded pairs among observed nodes ({len(confounded)}):")
        lines.extend(f"  {a} <-> {b}" for a, b in confounded)
    return "\n".join(lines)


def cmd_graph(ns: argparse.Namespace, argv: Sequence[str]) -> int:
    scm = load_model(ns.spec)
    fig = kind = None
    if ns.out is not None:  # check the file type before printing anything
        from causal.plot import draw_graph

        fig = draw_graph(scm.graph, title=scm.name)
        kind = Path(ns.out).suffix.lstrip(".").lower() or "png"
        if not Path(ns.out).resolve().parent.is_dir():
            raise ArgumentError(f"--out {ns.out!r}: the folder {str(Path(ns.out).parent)!r} does not exist")
        if kind not in fig.canvas.get_supported_filetypes():
            raise ArgumentError(f"--out {ns.out!r}: cannot write .{kind} files; use a name "
                                "ending in .png (or .svg, .pdf)")
    print(scm.graph.to_dot() if ns.dot else describe_graph(scm))
    if fig is not None:
        fig.savefig(ns.out, dpi=100, format=kind)
        # with --dot, stdout stays pure DOT (pipe it to `dot -Tsvg`)
        print(f"wrote {ns.out}", file=sys.stderr if ns.dot else sys.stdout)
    return 0


# ---------------------------------------------------------------------- counterfactual
def cmd_counterfactual(ns: argparse.Namespace, argv: Sequence[str]) -> int:
    evidence = parse_assignments(ns.unit)
    dos = parse_dos(ns.do, action_labels(ns.spec))
    scm = load_model(ns.spec)
    ivs = {d.node: d.intervention for d in dos}
    kw = {"samples": ns.samples, "seed": ns.seed, "hidden": True}
    cf = scm.counterfactual(evidence, ivs, **kw)
    mode = cf.attrs["mode"]
    ess = cf.attrs.get("ess")
    cf_mean = summarise(cf).iloc[0]
    factual = scm.counterfactual_mean(evidence, None, **kw).iloc[0]

    given = ", ".join(f"{k}={v:.10g}" for k, v in evidence.items())
    label = f"do({', '.join(d.label for d in dos)})"
    how = {"exact": "exact: every noise recovered from the evidence",
           "enumeration": "enumeration: exact posterior over finitely many noise cells",
           "weighting": f"weighting: likelihood weighting, {ns.samples or DEFAULT_SAMPLES} samples"}[mode]
    if ess is not None:
        how += f", effective sample size {float(ess.iloc[0]):.0f}"
    rows = [["", "factual", "", label, "unit"]]
    for v in scm.nodes:
        f, c = float(factual[v]), float(cf_mean[v])
        d = decimals(f, c)
        name = f"{v} (hidden)" if v in scm.hidden else v
        rows.append([name, fmt(f, d), "observed" if v in evidence else "", fmt(c, d),
                     scm.meta.get(v, {}).get("unit", "")])
    print(f"unit: {given}")
    print(f"mode: {how}")
    if not any(r[-1] for r in rows[1:]):  # no node has a unit: drop the column
        rows = [r[:-1] for r in rows]
    print(table(rows, align="lrlrl"))
    if set(scm.nodes) - set(evidence):
        print("unobserved factual values are posterior means given the unit's evidence")
    return 0


# ---------------------------------------------------------------------- scenarios
def cmd_scenarios(ns: argparse.Namespace, argv: Sequence[str]) -> int:
    import scenarios

    rows = [["name", "gymnasium id", "description"]]
    rows += [[name, gym_id, summary] for name, gym_id, summary in scenarios.describe()]
    print(table(rows, align="lll", gap=3))
    return 0


# ---------------------------------------------------------------------- parser
def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="causalsim",
        description="Simulate structural causal models: interventions, graphs, counterfactuals.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    do_help = ("intervention: NODE=VALUE sets the node, NODE+=VALUE / NODE-=VALUE shifts it, "
               "NODE*=VALUE scales it; repeat for several nodes")
    spec_help = "a YAML model spec (e.g. examples/icecream.yaml) or a scenario name (causalsim scenarios)"

    p = sub.add_parser("whatif", help="effect of an intervention on an outcome, from paired worlds",
                       description="Propagate the same noise with and without the interventions "
                                   "and compare the outcome.")
    p.add_argument("spec", metavar="SPEC", help=spec_help)
    p.add_argument("--do", action="append", required=True, metavar="NODE=VALUE", help=do_help)
    p.add_argument("--outcome", required=True, metavar="NODE", help="the node to report")
    p.add_argument("--n", type=_int_at_least(2), default=100_000, help="units (default 100000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", metavar="DIR",
                   help="write whatif.csv, whatif.png and manifest.json into DIR")
    p.set_defaults(run=cmd_whatif)

    p = sub.add_parser("graph", help="list or draw the causal graph",
                       description="Print the model's nodes and edges (hidden nodes marked).")
    p.add_argument("spec", metavar="SPEC", help=spec_help)
    p.add_argument("--dot", action="store_true", help="print Graphviz DOT instead of a list")
    p.add_argument("--out", metavar="PNG", help="save a drawing of the graph to this file")
    p.set_defaults(run=cmd_graph)

    p = sub.add_parser("counterfactual", help="what one observed unit would have been",
                       description="Abduction, action, prediction for one unit: its factual and "
                                   "counterfactual value of every node.")
    p.add_argument("spec", metavar="SPEC", help=spec_help)
    p.add_argument("--unit", required=True, metavar="NODE=VALUE,...",
                   help="the unit's observed values; nodes left out are unobserved")
    p.add_argument("--do", action="append", required=True, metavar="NODE=VALUE", help=do_help)
    p.add_argument("--samples", type=_int_at_least(1), default=None,
                   help=f"particles for likelihood weighting (default {DEFAULT_SAMPLES})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(run=cmd_counterfactual)

    p = sub.add_parser("scenarios", help="list the scenarios",
                       description="The registered scenarios, their Gymnasium ids and what they are.")
    p.set_defaults(run=cmd_scenarios)

    from causalsim import identify_cli

    identify_cli.register(sub)
    from causalsim import estimate_cli

    estimate_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 error, 2 usage error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    ns = build_parser().parse_args(args)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # numerical trouble is reported as one error line (non-finite values raise), not warnings
            warnings.simplefilter("ignore", RuntimeWarning)
            return ns.run(ns, args)
    except BrokenPipeError:  # `causalsim ... | head`: the reader left; stop quietly
        sys.stderr.close()
        return 0
    except MemoryError:
        return _fail("not enough memory for this run; use a smaller --n or --samples")
    except RecursionError:
        return _fail("the input is nested too deeply")
    except (CausalSimError, OSError, ValueError) as exc:
        return _fail(" ".join(str(exc).split()) or type(exc).__name__)


def _fail(message: str) -> int:
    if len(message) > 500:
        message = message[:497] + "..."
    print(f"causalsim: error: {message}", file=sys.stderr)
    return 1
