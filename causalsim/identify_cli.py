"""``causalsim identify``: can an effect be estimated from observational data, and how?

::

    causalsim identify SPEC --treatment X --outcome Y
    causalsim identify driving --treatment maneuver --outcome collision
    causalsim identify --graph "Z2->Z1; Z1->X; X->Y; Z2<->X; Z2<->Y" --treatment X --outcome Y

prints the strategy that identifies ``P(Y | do(X))`` (back-door, front-door,
the ID algorithm, or an instrument), the sets it uses and the formula, or the
hedge that makes the effect non-identifiable (still exit status 0: that is an
answer, not an error). ``SPEC`` is a YAML model spec or a scenario's name, as
for the other subcommands; the graph includes its hidden nodes, as unobserved.
If the outcome is not a descendant of the treatment it says so: there is no
effect, ``P(Y | do(X)) = P(Y)``. Several treatments or outcomes are
comma-separated.
Errors (a bad graph or spec, an unknown or hidden node) print one line
``causalsim: error: ...`` and return 1.

Wire it into a parser with :func:`register`; :func:`run` executes parsed
arguments.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="causalsim")
>>> _ = register(parser.add_subparsers(dest="command"))
>>> run(parser.parse_args(["identify", "--graph", "X->M->Y; X<->Y",
...                        "--treatment", "X", "--outcome", "Y"]))
identifiable by the front-door criterion through {M}
P(Y | do(X)) = sum_{M} P(M | X) sum_{X'} P(Y | M, X') P(X')
0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from causal import CausalGraph, CausalSimError, NotIdentifiable
from causal.identify.estimand import Estimand, identify
from causal.identify.expression import natural_key

__all__ = ["register", "run", "describe"]


def _fmt(vs: frozenset[str]) -> str:
    return "{" + ", ".join(sorted(vs, key=natural_key)) + "}"


def describe(est: Estimand) -> str:
    """The two-line answer: how the effect is identified, then the formula.

    Examples
    --------
    >>> print(describe(identify(CausalGraph.from_string("Z->X->Y; Z->Y"), "X", "Y")))
    identifiable by back-door adjustment for {Z}
    P(Y | do(X)) = sum_{Z} P(Y | X, Z) P(Z)
    >>> print(describe(identify(CausalGraph.from_string("Y->X; Z->X; Z->Y"), "X", "Y")))
    Y is not a descendant of X: intervening on X does not change it
    P(Y | do(X)) = P(Y)
    """
    if est.no_effect:
        ys, xs = sorted(est.outcome, key=natural_key), sorted(est.treatment, key=natural_key)
        if len(ys) == 1 and len(xs) == 1:
            head = f"{ys[0]} is not a descendant of {xs[0]}: intervening on {xs[0]} does not change it"
        else:
            head = (f"no outcome in {_fmt(est.outcome)} is a descendant of a treatment in "
                    f"{_fmt(est.treatment)}: intervening on them does not change the outcome")
    elif est.strategy == "backdoor":
        head = (f"identifiable by back-door adjustment for {_fmt(est.adjustment)}"
                if est.adjustment else "identifiable without adjustment (no back-door path)")
    elif est.strategy == "frontdoor":
        head = f"identifiable by the front-door criterion through {_fmt(est.frontdoor)}"
    elif est.strategy == "id":
        head = "identifiable by the ID algorithm (no back-door or front-door set exists)"
    else:
        iv = est.instrument
        given = f" given {_fmt(iv.given)}" if iv.given else ""
        head = (f"not identifiable nonparametrically; the mean effect is identified by the "
                f"instrument {iv.instrument}{given} if the effect is linear and homogeneous")
    return f"{head}\n{est}"


def is_scenario_name(spec: str) -> bool:
    """Whether a SPEC argument names a scenario rather than a YAML file (the rule of ``load_model``)."""
    try:
        exists = Path(spec).exists()
    except (OSError, ValueError):
        exists = False
    return not exists and "/" not in spec and not spec.endswith((".yaml", ".yml"))


def level_labels(spec: str, node: str) -> dict[float, str]:
    """The scenario's action labels for the values of ``node`` (``{2.0: "discount"}``); {} if none.

    Raises ScenarioError (a CausalSimError) for an unknown scenario name.

    >>> level_labels("healthcare", "protocol")
    {0.0: 'standard', 1.0: 'protocol_A', 2.0: 'protocol_B'}
    """
    if not is_scenario_name(spec):
        return {}
    import scenarios

    acts = scenarios.make(spec).actions
    out: dict[float, list[str]] = {}
    for label in getattr(acts, "labels", ()):
        setting = acts.values(acts.repeat(label, 1))
        if node in setting:
            out.setdefault(float(setting[node][0]), []).append(label)
    return {v: names[0] for v, names in out.items() if len(names) == 1}


def _nodes(text: str, what: str) -> list[str]:
    names = [t.strip() for t in text.split(",")]
    if not all(names):
        raise CausalSimError(f"--{what} {text!r}: give node names separated by commas")
    return names


def categorical_note(scm: object, spec: str, treatment: str, strategy: str | None,
                     outcome: Sequence[str] = ("Y",)) -> str | None:
    """A line saying the treatment is categorical, with its levels, and what that means for the formula.

    None unless ``treatment`` has a categorical mechanism with more than two levels.

    >>> from causalsim.cli import load_model
    >>> print(categorical_note(load_model("marketing"), "marketing", "action", "backdoor", ["conversion"]))
    action is categorical with 4 levels (0 none, 1 email, 2 discount, 3 ad): the formula holds for each \
level a, and the effect of a against a control c is E[conversion | do(action=a)] - E[conversion | \
do(action=c)], one per contrast (causalsim estimate --treat LEVEL --control LEVEL)
    """
    from causal import Categorical

    mech = getattr(scm, "mechanisms", {}).get(treatment)
    k = getattr(mech, "k", None) if isinstance(mech, Categorical) else None
    if not k or k <= 2:
        return None
    names = level_labels(spec, treatment)
    levels = ", ".join(f"{i} {names[float(i)]}" if float(i) in names else str(i) for i in range(k))
    head = f"{treatment} is categorical with {k} levels ({levels})"
    if strategy == "iv":
        return (f"{head}: the instrumental estimand is one slope over its codes, the effect of no level; if "
                "the instrument moves units between two levels only, it identifies that contrast (for "
                "compliers) with the treatment recoded to that level's 0/1 indicator")
    y = ", ".join(outcome)
    return (f"{head}: the formula holds for each level a, and the effect of a against a control c is "
            f"E[{y} | do({treatment}=a)] - E[{y} | do({treatment}=c)], one per contrast (causalsim estimate "
            "--treat LEVEL --control LEVEL)")


def _graph(args: argparse.Namespace) -> CausalGraph:
    if (args.spec is None) == (args.graph is None):
        raise CausalSimError("give either a model SPEC (a YAML file or a scenario name) or "
                             "--graph \"X->Y; ...\", not "
                             + ("both" if args.spec is not None else "neither"))
    if args.graph is not None:
        g = CausalGraph.from_string(args.graph)
        if not g.nodes:
            raise CausalSimError(f"--graph {args.graph!r} is empty; give its edges, e.g. "
                                 "--graph \"Z->X; Z->Y; X->Y\"")
        return g
    from causalsim.cli import load_model  # here: causalsim.cli imports this module

    return load_model(args.spec).graph  # hidden nodes kept (and marked) for clear errors


def run(args: argparse.Namespace) -> int:
    """Identify the effect named by parsed ``args``; print the answer; return the exit status."""
    try:
        g = _graph(args)
        treatment, outcome = _nodes(args.treatment, "treatment"), _nodes(args.outcome, "outcome")
        try:
            est = identify(g, treatment, outcome)
            lines = [describe(est)]
            strategy = None if est.no_effect else est.strategy
        except NotIdentifiable as exc:
            lines, strategy = [" ".join(str(exc).split())], None
        if args.spec is not None and len(treatment) == 1 and strategy is not None:
            from causalsim.cli import load_model

            note = categorical_note(load_model(args.spec), args.spec, treatment[0], strategy, outcome)
            if note:
                lines.append(note)
        print("\n".join(lines))
        return 0
    except (CausalSimError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"causalsim: error: {message}", file=sys.stderr)
        return 1


def _command(ns: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    return run(ns)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``identify`` subcommand to ``subparsers``; return its parser.

    The parser's defaults hold ``run`` (called as ``run(ns, argv)``, the
    convention of :mod:`causalsim.cli`) and ``func`` (called as ``func(ns)``).
    """
    p = subparsers.add_parser(
        "identify", help="can P(outcome | do(treatment)) be computed from observational data?",
        description="Find how an interventional distribution is identified from the causal "
                    "graph: back-door, front-door, the ID algorithm (Shpitser & Pearl 2006), or "
                    "an instrument; or name the hedge that makes it non-identifiable.")
    p.add_argument("spec", metavar="SPEC", nargs="?", default=None,
                   help="a YAML model spec or a scenario name (hidden nodes are unobserved)")
    p.add_argument("--graph", metavar="EDGES", default=None,
                   help='the graph instead of a spec, e.g. "X->Y; Z->X; Z->Y; X<->Y" '
                        "(<-> marks a hidden common cause)")
    p.add_argument("--treatment", required=True, metavar="NODE[,NODE]",
                   help="the intervened node(s)")
    p.add_argument("--outcome", required=True, metavar="NODE[,NODE]", help="the outcome node(s)")
    p.set_defaults(run=_command, func=run)
    return p
