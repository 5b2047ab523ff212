"""Action labels on the command line: ``--do NODE=LABEL`` is the agent's whole action.

Driving's action sets two nodes, ``maneuver`` and the hidden ``reaction`` (the
agent's reaction time, not the human's). ``--do maneuver=brake`` must set both,
so that the command line and ``Scenario.truth`` compute the same worlds from
the same noise: these checks are exact, not statistical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scenarios
from causal import Hard
from causalsim.args import ArgumentError, parse_do, parse_dos
from causalsim.cli import action_labels, main

N = 2000


def test_driving_label_sets_every_node_of_the_action(capsys, tmp_path):
    code = main(["whatif", "driving", "--do", "maneuver=brake", "--vs", "maneuver=maintain",
                 "--outcome", "collision", "--n", str(N), "--seed", "3", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "do(maneuver=brake)" in out and "do(maneuver=maintain)" in out
    data = pd.read_csv(tmp_path / "whatif.csv")
    sc = scenarios.make("driving")
    agent = sc.params.agent_reaction
    assert (data["reaction_intervened"] == agent).all() and (data["reaction_baseline"] == agent).all()
    truth = sc.truth(n=N, seed=3)  # the same noise: the same units, unit by unit
    np.testing.assert_array_equal(data["collision_intervened"], truth.values("brake")["collision"])
    np.testing.assert_array_equal(data["collision_baseline"], truth.values("maintain")["collision"])
    np.testing.assert_allclose(data["effect"], truth.ite("brake", "maintain"))


@pytest.mark.parametrize("name", scenarios.names())
def test_every_label_of_every_discrete_scenario_is_the_agents_action(name):
    sc = scenarios.make(name)
    labels = action_labels(sc)
    if not hasattr(sc.actions, "labels"):
        assert labels == {}  # continuous actions have no names
        return
    assert labels, name
    for node, named in labels.items():
        assert node not in sc.scm.hidden
        assert list(named) == list(sc.actions.labels)
        for label in named:
            arg = parse_do(f"{node}={label}", labels)
            expected = sc.actions.to_interventions(sc.actions.repeat(label, 1))
            assert arg.interventions == {v: Hard(float(iv.value[0])) for v, iv in expected.items()}
            assert arg.label == f"{node}={label}"


def test_a_number_on_an_action_node_sets_that_node_only():
    labels = action_labels(scenarios.make("driving"))
    assert parse_do("maneuver=1", labels).interventions == {"maneuver": Hard(1.0)}


def test_a_label_and_another_intervention_on_one_of_its_nodes_conflict():
    labels = action_labels(scenarios.make("driving"))
    with pytest.raises(ArgumentError, match=r"maneuver=brake and reaction=2 both set reaction"):
        parse_dos(["maneuver=brake", "reaction=2"], labels)


@pytest.mark.parametrize(("do", "needle"), [
    ("maneuver=fast", "maintain, brake, swerve"),
    ("maneuver+=brake", "label takes '=', not '+='; write --do maneuver=brake"),
])
def test_bad_labels_are_one_line(capsys, do, needle):
    code = main(["whatif", "driving", "--do", do, "--outcome", "collision", "--n", "100"])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1 and err.startswith("causalsim: error: ") and needle in err


def test_counterfactual_takes_labels_too(capsys):
    code = main(["counterfactual", "icecream", "--unit", "temperature=30,weekend=1,advert=0",
                 "--do", "advert=advert", "--samples", "200"])
    out = capsys.readouterr().out
    assert code == 0
    assert "do(advert=advert)" in out
