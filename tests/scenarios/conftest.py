"""Checks the scenario tests share."""

import pandas as pd
import pytest

from causal.spec import dump_spec, load_scm


def _round_trip(scenario, hidden: list[str], units: dict[str, str]) -> None:
    """The scenario's spec loads to the same model, writes back unchanged, keeps its hidden
    nodes and units, and samples the same bytes for the same seed."""
    scm = load_scm(scenario.spec())
    again = load_scm(dump_spec(scm))
    assert dump_spec(again) == dump_spec(scm)
    base = scenario.scm.sample(2000, seed=3, hidden=True)
    pd.testing.assert_frame_equal(scm.sample(2000, seed=3, hidden=True), base)
    pd.testing.assert_frame_equal(again.sample(2000, seed=3, hidden=True), base)
    nodes = dump_spec(again)["nodes"]
    assert [v for v, e in nodes.items() if e.get("hidden")] == hidden
    assert {v: nodes[v]["unit"] for v in units} == units


@pytest.fixture
def spec_round_trip():
    return _round_trip
