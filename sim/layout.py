"""How the episode core computes a scenario's episodes: which nodes it computes once per episode
(at reset), once per action, or at each step (:class:`Layout`, made once per scenario)."""

from __future__ import annotations

from collections.abc import Sequence

from sim.scenario import Scenario
from sim.tape import TapePlan

__all__ = ["Layout"]


class Layout:
    """How the core computes a scenario's episodes (made once per scenario object).

    Attributes
    ----------
    noise_nodes : tuple of str
        Nodes with noise, in tape order (row ``i`` of a tape is ``noise_nodes[i]``).
    fixed : tuple of str
        Nodes that depend on neither the action nor the state, in topological order:
        computed for whole episodes at reset.
    acted : tuple of str
        Nodes that depend on the action but not on the state (topological order).
    live : tuple of str
        Nodes computed at each step (topological order): those that depend on the state;
        with :attr:`tabulated` false, the acted nodes too.
    tabulated : bool
        Discrete actions and no state nodes: every unit's values and rewards under every
        action are computed at reset, and a step only looks them up.
    context_fixed : bool
        Every context node is fixed: observations are computed at reset.
    """

    def __init__(self, scenario: Scenario) -> None:
        sc = scenario
        g = sc.scm.graph
        order = g.topological_order()
        acts = set(sc.actions.nodes)
        state = set(sc.state_nodes)
        after_action = set(g.descendants(acts)) | acts
        after_state = set(g.descendants(state)) | state if state else set()
        self.tape = TapePlan.of(sc)
        self.noise_nodes: tuple[str, ...] = self.tape.nodes
        self.discrete = hasattr(sc.actions.space, "n")
        self.fixed = tuple(v for v in order if v not in after_action and v not in after_state)
        self.acted = tuple(v for v in order if v in after_action and v not in after_state)
        self.tabulated = self.discrete and not state
        live = after_state if self.tabulated else after_state | after_action
        self.live = tuple(v for v in order if v in live and v not in acts and v not in state)
        self.context_fixed = all(v in self.fixed for v in sc.context)
        self.context_live = tuple(v for v in order if v in live and v not in acts and v not in state
                                  and (v in sc.context or v in _ancestors_in(g, sc.context)))
        self.after_context = tuple(v for v in self.live if v not in self.context_live)
        self.n_actions = int(sc.actions.space.n) if self.discrete else 0
        self.row = {v: i for i, v in enumerate(self.noise_nodes)}
        noise = sc.scm.noise
        #: Nodes with noise that the context reads: held at the unit's own values by context queries.
        self.context_noise = tuple(v for v in order if noise[v] is not None
                                   and (v in sc.context or v in _ancestors_in(g, sc.context)))
        self.closed_form = sc.timeline.static
        self.ends_by_state = type(sc).exhausted is not Scenario.exhausted
        #: The unit count at which the timeline itself ends (the episode terminates there).
        length = sc.timeline.length
        self.natural_end = None if length is None or length > sc.params.max_units else int(length)
        #: Whether every episode's length is known at reset (closed-form times, no state ending it).
        self.lengths = self.closed_form and not self.ends_by_state
        #: Whether a step is a table read and a clock tick (no state at all).
        self.fast = self.tabulated and self.lengths and not sc.dynamic and not sc.arrives
        self.draws = sc.params.max_units * max(1, sc.timeline.draws_per_unit)
        #: reward component names, filled by the first tabulation (tabulated layouts)
        self.parts: tuple[str, ...] | None = None

    @classmethod
    def of(cls, scenario: Scenario) -> Layout:
        """The layout of ``scenario`` (made once per scenario object, kept on it: a scenario's
        parameters are frozen)."""
        out = scenario.__dict__.get("_episode_layout")
        if out is None:
            out = scenario.__dict__["_episode_layout"] = cls(scenario)
        return out


def _ancestors_in(g, nodes: Sequence[str]) -> set[str]:
    return set(g.ancestors(nodes)) if nodes else set()
