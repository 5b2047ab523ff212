"""The episode tape: ``TapePlan`` draws what node-by-node ``Noise.sample`` draws, to the last bit."""

from __future__ import annotations

import numpy as np
import pytest

from causal.scm import SCM
from causal.spec import load_scm
from sim.actions import DiscreteActions
from sim.scenario import Params, Scenario
from sim.tape import TapePlan, draw_tape
from sim.testing import DynamicScenario, ToyScenario
from sim.timeline import Poisson

#: One hidden root per noise family and parameter case: the fast families (normal, uniform,
#: exponential) with and without their affine part, runs of one family, and the fallbacks.
HIDDEN = {
    "h01": "normal(0, 1)", "h02": "normal(2, 0.5)", "h03": "normal(-1, 1)", "h04": "uniform(0, 1)",
    "h05": "uniform(-1, 3)", "h06": "uniform(0, 1)", "h07": "exponential(1)", "h08": "exponential(2.5)",
    "h09": "lognormal(0, 0.5)", "h10": "normal(0, 3)", "h11": "student_t(3)", "h12": "gumbel(1, 2)",
    "h13": "bernoulli(0.3)", "h14": "categorical([0.2, 0.5, 0.3])", "h15": "exponential(0.5)",
}


class ZooScenario(Scenario):
    """Observed ``a`` (normal) and ``b`` (uniform); every family of :data:`HIDDEN` feeds ``y``."""

    name = "zoo"
    params_type = Params
    context = ("a", "b")
    outcome = "y"

    def build_scm(self) -> SCM:
        nodes = {"a": {"noise": "normal(0, 1)"},
                 "b": {"equation": "0.5 * a + noise", "noise": "uniform(-1, 1)"},
                 **{h: {"noise": spec, "hidden": True} for h, spec in HIDDEN.items()},
                 "t": {"type": "binary", "logit": "a - b"},
                 "y": {"equation": " + ".join(["t * (1 + a) + b", *(f"0.1 * {h}" for h in HIDDEN), "noise"]),
                       "noise": "normal(0, 1)"}}
        return load_scm({"name": "zoo", "nodes": nodes})

    def build_actions(self) -> DiscreteActions:
        return DiscreteActions({"control": {"t": 0.0}, "treat": {"t": 1.0}}, costs={"treat": 0.25})

    def build_timeline(self) -> Poisson:
        return Poisson(rate=2.0)


def bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype=np.float64).tobytes()


@pytest.mark.parametrize("make", [ZooScenario, ToyScenario, DynamicScenario], ids=lambda s: s.__name__)
@pytest.mark.parametrize("seed", [0, 7])
def test_tape_is_node_by_node_sampling_bit_for_bit(make, seed):
    sc = make(max_units=13)
    rng = np.random.default_rng(seed)
    expected = {v: dist.sample(13, rng) for v, dist in sc.noise_items}
    exponentials = rng.standard_exponential(13 * max(1, sc.timeline.draws_per_unit) + 1)
    tape = draw_tape(sc, np.random.default_rng(seed))
    assert list(tape.noise) == [v for v, _ in sc.noise_items]
    for v, arr in expected.items():
        assert bits(tape.noise[v]) == bits(arr), v
    assert bits(tape.exponentials) == bits(exponentials)
    assert len(tape) == 13


def test_the_plan_groups_runs_of_a_family_and_covers_every_node():
    sc = ZooScenario(max_units=5)
    plan = TapePlan.of(sc)
    assert TapePlan.of(sc) is plan  # one plan per scenario object
    assert plan.nodes == tuple(v for v, _ in sc.noise_items)
    assert plan.units == 5 and plan.draws == 6
    rows = [r for start, stop, _, _ in plan._calls for r in range(start, stop)]
    assert rows == list(range(len(plan.nodes)))
    assert len(plan._calls) < len(plan.nodes)


def test_blocks_of_many_episodes_are_finished_at_once():
    sc = ZooScenario(max_units=9)
    plan = TapePlan.of(sc)
    seeds = [3, 4, 5]
    block = np.empty((len(seeds), len(plan.nodes), plan.units))
    exponentials = np.empty((len(seeds), plan.draws))
    for b, s in enumerate(seeds):
        plan.fill(np.random.default_rng(s), block[b], exponentials[b])
    plan.finish(block)
    for b, s in enumerate(seeds):
        tape = draw_tape(sc, np.random.default_rng(s))
        assert bits(block[b]) == bits(np.stack(list(tape.noise.values())))
        assert bits(exponentials[b]) == bits(tape.exponentials)
