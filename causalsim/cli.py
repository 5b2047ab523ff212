"""The ``causalsim`` command line.

Subcommands::

    causalsim whatif SPEC --do NODE=VALUE [--do ...] [--vs NODE=VALUE ...] [--outcome NODE]
                     [--n N] [--seed S] [--out DIR]
    causalsim graph SPEC [--out graph.png] [--dot]
    causalsim counterfactual SPEC --unit NODE=VALUE,... --do NODE=VALUE [...] [--samples N] [--seed S]
    causalsim scenarios [NAME]
    causalsim evaluate SCENARIO --agents A,B,... [--episodes N] [--knob NAME=V1,V2 ...] [--out DIR]
    causalsim demo [--out DIR] [--quick] [--seed S] [--workers K] [--force]

``--do`` takes ``x=3`` (set x to 3), ``x+=2`` / ``x-=2`` (shift x's natural
value) or ``x*=1.1`` (scale it); on a scenario's action node, an action's label
(``--do maneuver=brake``) sets every node the agent's action sets. Every
deliberate error (a bad spec, an unknown node, a malformed argument, a missing
file) is printed as one line, ``causalsim: error: ...``, with exit status 1;
argparse usage errors exit 2.

Only the parser of the command being run is built in full, and the numerical
libraries are imported inside the commands: ``causalsim --help`` imports
neither numpy's heavy companions (pandas, scipy, scikit-learn) nor matplotlib.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from causal import SCM
    from sim.actions import ActionMap
    from sim.scenario import Scenario

__all__ = ["main", "load_model", "load_scenario", "action_labels", "build_parser", "COMMANDS"]

#: Every subcommand: its one-line help and the ``module:function`` that adds its parser to the
#: subparsers. :func:`build_parser` imports a command's module only when that command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "whatif": ("effect of an intervention on an outcome, from paired worlds",
               "causalsim.cli:_add_whatif"),
    "graph": ("list or draw the causal graph", "causalsim.cli:_add_graph"),
    "counterfactual": ("what one observed unit would have been", "causalsim.cli:_add_counterfactual"),
    "scenarios": ("list the scenarios, or describe one (context, actions, outcome)",
                  "causalsim.cli:_add_scenarios"),
    "identify": ("can P(outcome | do(treatment)) be computed from observational data?",
                 "causalsim.identify_cli:register"),
    "estimate": ("estimate an effect with its interval from a data file",
                 "causalsim.estimate_cli:register"),
    "evaluate": ("play decision agents through a scenario and score them by regret",
                 "causalsim.evaluate_cli:register"),
    "discover": ("learn a causal graph from data; score it against a scenario's true graph",
                 "causalsim.discover_cli:register"),
    "validate": ("score estimators against a scenario's true effect over many replications",
                 "causalsim.validate_cli:register"),
    "demo": ("the whole product on the embedded scenarios, printed and written as one report",
             "causalsim.demo_cli:register"),
}


def _exists(spec_arg: str) -> bool:
    """Whether a file of that name exists; False for names the OS rejects (too long, NUL)."""
    try:
        return Path(spec_arg).exists()
    except (OSError, ValueError):
        return False


def load_scenario(spec_arg: str) -> Scenario | None:
    """The scenario named on the command line, or ``None`` if it names a spec file."""
    if _exists(spec_arg) or "/" in spec_arg or spec_arg.endswith((".yaml", ".yml")):
        return None
    import scenarios

    return scenarios.make(spec_arg)


def load_model(spec_arg: str) -> SCM:
    """The model named on the command line: a YAML spec file, or a scenario's name."""
    sc = load_scenario(spec_arg)
    if sc is not None:
        return sc.scm
    from causal import load_scm

    return load_scm(Path(spec_arg))


def action_setting(actions: ActionMap, action: Any) -> dict[str, float]:
    """Every node the agent's ``action`` (a label or an action) sets, and its value."""
    return {v: float(x[0]) for v, x in actions.values(actions.repeat(action, 1)).items()}


def action_labels(sc: Scenario | None) -> dict[str, dict[str, dict[str, float]]]:
    """A scenario's named actions by the node they are written on, for ``--do NODE=LABEL``.

    Each label maps to every node the action sets (Driving's ``brake`` sets
    ``maneuver`` and the hidden ``reaction``); it is written on the action's
    observed node(s) (``maneuver=brake``). Empty for a spec file or continuous actions.
    """
    if sc is None or not hasattr(sc.actions, "labels"):
        return {}
    settings = {label: action_setting(sc.actions, label) for label in sc.actions.labels}
    nodes = list(next(iter(settings.values())))
    observed = [v for v in nodes if v not in sc.scm.hidden]
    return {v: settings for v in observed or nodes}


def _merge(dos: Sequence[Any]) -> dict[str, Any]:
    return {v: iv for d in dos for v, iv in d.interventions.items()}


# ---------------------------------------------------------------------- whatif
def cmd_whatif(ns: argparse.Namespace, argv: Sequence[str]) -> int:
    from causalsim.args import parse_dos
    from causalsim.whatif import format_whatif, run_whatif, write_whatif

    sc = load_scenario(ns.spec)
    labels = action_labels(sc)
    dos = parse_dos(ns.do, labels)
    vs = parse_dos(ns.vs or (), labels, option="--vs")
    scm = sc.scm if sc is not None else load_model(ns.spec)
    ivs, vs_ivs = _merge(dos), _merge(vs)
    if ns.out is not None:  # fail before the simulation if the folder cannot be made
        Path(ns.out).mkdir(parents=True, exist_ok=True)
    outcome = ns.outcome
    if outcome is None:
        if sc is None:
            from causalsim.args import ArgumentError

            raise ArgumentError("--outcome is required for a model spec: name the node to report; "
                                f"nodes: {', '.join(scm.nodes)}")
        outcome = sc.outcome
    result = run_whatif(scm, ivs, outcome, labels=[d.label for d in dos], n=ns.n, seed=ns.seed,
                        vs=vs_ivs, vs_labels=[d.label for d in vs],
                        natural="the logged policy" if sc is not None else "no intervention")
    print(format_whatif(result, default_outcome=ns.outcome is None))
    if ns.out is not None:
        paths = write_whatif(result, ns.out, argv=argv, spec=ns.spec, interventions=ivs, vs=vs_ivs)
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


# ---------------------------------------------------------------------- graph
def _kind(scm: SCM, v: str) -> str:
    from causal import Categorical, DiscreteMechanism

    mech = scm.mechanisms[v]
    if isinstance(mech, Categorical):
        return "categorical"
    if isinstance(mech, DiscreteMechanism):
        return "binary"
    return "deterministic" if scm.noise[v] is None else "continuous"


def describe_graph(scm: SCM) -> str:
    """Nodes (kind, unit, description; hidden ones marked) and edges as readable text."""
    from causalsim.report import table

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
    sc = load_scenario(ns.spec)
    scm = sc.scm if sc is not None else load_model(ns.spec)
    fig = None
    if ns.out is not None:  # check the file type before printing anything
        from causal.plot import draw_graph
        from causalsim.args import ArgumentError

        if sc is None:
            fig = draw_graph(scm.graph, title=scm.name)
        else:  # as the docs draw it (docs/figures.py): action and outcome nodes marked
            fig = draw_graph(scm.graph, actions=sc.actions.nodes, outcomes=sc.outcome,
                             title=f"{sc.name}: the causal graph")
        kind = Path(ns.out).suffix.lstrip(".").lower() or "png"
        if kind not in fig.canvas.get_supported_filetypes():
            raise ArgumentError(f"--out {ns.out!r}: cannot write .{kind} files; use a name "
                                "ending in .png (or .svg, .pdf)")
    print(scm.graph.to_dot() if ns.dot else describe_graph(scm))
    if fig is not None:
        from causal.plot import save_figure

        save_figure(fig, ns.out)  # creates missing folders, as whatif --out does
        # with --dot, stdout stays pure DOT (pipe it to `dot -Tsvg`)
        print(f"wrote {ns.out}", file=sys.stderr if ns.dot else sys.stdout)
    return 0


# ---------------------------------------------------------------------- counterfactual
def cmd_counterfactual(ns: argparse.Namespace, argv: Sequence[str]) -> int:
    from causal import summarise
    from causal.counterfactual import DEFAULT_SAMPLES
    from causalsim.args import parse_assignments, parse_dos
    from causalsim.report import decimals, fmt, table

    evidence = parse_assignments(ns.unit)
    sc = load_scenario(ns.spec)
    dos = parse_dos(ns.do, action_labels(sc))
    scm = sc.scm if sc is not None else load_model(ns.spec)
    ivs = _merge(dos)
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
def describe_scenario(sc: Scenario, gym_id: str) -> str:
    """A scenario's context, action (nodes, labels and what each sets, costs) and outcome."""
    import numpy as np

    from causalsim.report import table

    acts, hidden = sc.actions, sc.scm.hidden

    def node(v: str) -> str:
        return f"{v} (hidden)" if v in hidden else v

    lines = [f"{sc.name} ({gym_id}): {sc.summary}", f"context: {', '.join(sc.context)}"]
    labels = action_labels(sc)
    if labels:
        settings = next(iter(labels.values()))
        sets = list(next(iter(settings.values())))
        written = " or ".join(f"--do {v}=LABEL" for v in labels)
        if len(sets) > 1:
            lines.append(f"action: sets {', '.join(node(v) for v in sets)}; {written} sets all of them, "
                         "as the agent's action does")
        else:
            lines.append(f"action: {node(sets[0])}; {written}")
        rows = [["  " + label, ", ".join(f"{v}={x:.10g}" for v, x in setting.items()),
                 f"cost {float(acts.cost(acts.repeat(label, 1))[0]):.10g}"]
                for label, setting in settings.items()]
        lines.append(table(rows, align="lll", gap=3))
    else:  # continuous: one number per component
        sets = list(action_setting(acts, acts.space.low))
        ranges = ", ".join(f"{v} in [{lo:.10g}, {hi:.10g}]"
                           for v, lo, hi in zip(acts.nodes, np.ravel(acts.space.low),
                                                np.ravel(acts.space.high), strict=True))
        also = [node(v) for v in sets if v not in acts.nodes]
        lines.append(f"action (continuous): {ranges}")
        if also:
            lines.append(f"the agent's action also sets {', '.join(also)}; --do sets only the nodes "
                         "it names")
    lines.append(f"outcome: {sc.outcome}")
    if labels:
        v, names = next(iter(labels.items())), list(settings)
        lines.append(f"example: causalsim whatif {sc.name} --do {v[0]}={names[-1]} --vs {v[0]}={names[0]} "
                     f"--outcome {sc.outcome}")
    return "\n".join(lines)


def cmd_scenarios(ns: argparse.Namespace, argv: Sequence[str]) -> int:
    import scenarios
    from causalsim.report import table

    if ns.name is not None:
        sc = scenarios.make(ns.name)
        print(describe_scenario(sc, scenarios.env_id(ns.name)))
        return 0
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


def _number(text: str) -> float:
    """An argparse ``type``: a float; anything else is refused as not a number."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


_number.__name__ = "number"


def _subcommand(subparsers: argparse._SubParsersAction, name: str,
                description: str) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` to ``subparsers`` with its one-line help from :data:`COMMANDS`."""
    return subparsers.add_parser(name, help=COMMANDS[name][0], description=description)


DO_HELP = ("intervention: NODE=VALUE sets the node, NODE+=VALUE / NODE-=VALUE shifts it, "
           "NODE*=VALUE scales it; on a scenario's action node, NODE=LABEL takes that action "
           "(causalsim scenarios NAME lists the labels); repeat for several nodes")
SPEC_HELP = "a YAML model spec (e.g. examples/icecream.yaml) or a scenario name (causalsim scenarios)"


def _add_whatif(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("whatif", help=COMMANDS["whatif"][0],
                       description="Propagate the same noise under the --do interventions and under "
                                   "the baseline (the --vs interventions; without them the model left "
                                   "alone, for a scenario its logged policy) and compare the outcome, "
                                   "unit by unit.")
    p.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    p.add_argument("--do", action="append", required=True, metavar="NODE=VALUE", help=DO_HELP)
    p.add_argument("--vs", action="append", metavar="NODE=VALUE",
                   help="the baseline's intervention, in the form of --do (repeat for several nodes); "
                        "default: no intervention (a scenario's logged policy)")
    p.add_argument("--outcome", metavar="NODE",
                   help="the node to report (required for a model spec; default for a scenario: "
                        "its outcome)")
    p.add_argument("--n", type=_int_at_least(2), default=100_000, help="units (default 100000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", metavar="DIR",
                   help="write whatif.csv, whatif.png and manifest.json into DIR")
    p.set_defaults(run=cmd_whatif)
    return p


def _add_graph(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("graph", help=COMMANDS["graph"][0],
                       description="Print the model's nodes and edges (hidden nodes marked).")
    p.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    p.add_argument("--dot", action="store_true", help="print Graphviz DOT instead of a list")
    p.add_argument("--out", metavar="PNG", help="save a drawing of the graph to this file")
    p.set_defaults(run=cmd_graph)
    return p


def _add_counterfactual(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from causal.counterfactual import DEFAULT_SAMPLES

    p = sub.add_parser("counterfactual", help=COMMANDS["counterfactual"][0],
                       description="Abduction, action, prediction for one unit: its factual and "
                                   "counterfactual value of every node.")
    p.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    p.add_argument("--unit", required=True, metavar="NODE=VALUE,...",
                   help="the unit's observed values; nodes left out are unobserved")
    p.add_argument("--do", action="append", required=True, metavar="NODE=VALUE", help=DO_HELP)
    p.add_argument("--samples", type=_int_at_least(1), default=None,
                   help=f"particles for likelihood weighting (default {DEFAULT_SAMPLES})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(run=cmd_counterfactual)
    return p


def _add_scenarios(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("scenarios", help=COMMANDS["scenarios"][0],
                       description="The registered scenarios, their Gymnasium ids and what they are; "
                                   "with a NAME, that scenario's context, action labels and outcome.")
    p.add_argument("name", metavar="NAME", nargs="?", default=None,
                   help="describe this scenario: its context, action node(s) and labels, and outcome")
    p.set_defaults(run=cmd_scenarios)
    return p


def build_parser(full: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The command-line parser.

    Parameters
    ----------
    full : collection of command names, optional
        The commands whose own parser is built (default: every one). The others
        get a stub with their one-line help only, which is all ``causalsim
        --help`` shows; building a command's parser may import its module's
        numerical libraries.
    """
    parser = argparse.ArgumentParser(
        prog="causalsim",
        description="Simulate structural causal models: interventions, graphs, counterfactuals.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, target) in COMMANDS.items():
        if full is None or name in full:
            module, function = target.split(":")
            getattr(importlib.import_module(module), function)(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 error, 2 usage error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    # the top-level parser has no option but --help: the first other word is the command
    command = next((a for a in args if not a.startswith("-")), None)
    ns = build_parser({command} & COMMANDS.keys()).parse_args(args)

    import numpy as np

    from causal.errors import CausalSimError

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
