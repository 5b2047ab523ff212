"""``causalsim whatif ... --do A --vs B``: two interventions contrasted on the same units.

The documented true effects (docs/scenarios.md) are contrasts of two actions,
not of an action with the logged policy. Each check allows 4 standard errors
of the paired per-unit differences plus half the last documented digit. The
per-unit standard deviations are constants measured once from each scenario's
``truth(n=1_000_000, seed=12345).ite(...)`` (rounded up), never from the
printed interval, so a correct implementation fails a check with probability
P(|Z| > 4) ~ 6e-5 for an unlucky seed, and an effect off by a few standard
errors (e.g. the +1.31 against the logged policy instead of +2.75) fails it.
"""

from __future__ import annotations

import math
import re

import pytest

from causalsim.cli import main

N = 100_000
ROW = re.compile(r"^(?P<label>\S.*?)\s+(?P<mean>-?\d+(?:\.\d+)?)\s+"
                 r"\[(?P<lo>-?\d+(?:\.\d+)?), (?P<hi>-?\d+(?:\.\d+)?)\]")

#: scenario, outcome, --do, --vs, documented effect, half its last digit, sd of the per-unit effect
DOCUMENTED = [
    ("marketing", "revenue", "action=discount", "action=none", 2.75, 0.005, 14.8),
    ("icecream", "ice_cream", "advert=advert", "advert=none", 8.0, 0.0, 2.5),
    ("healthcare", "recovery_days", "protocol=protocol_A", "protocol=standard", -4.51, 0.005, 1.49),
    ("driving", "collision", "maneuver=brake", "maneuver=maintain", -0.178, 0.0005, 0.383),
]


def rows(text: str) -> dict[str, tuple[float, float, float]]:
    """{label: (mean, lo, hi)} of a whatif table."""
    return {m["label"]: (float(m["mean"]), float(m["lo"]), float(m["hi"]))
            for line in text.splitlines() if (m := ROW.match(line))}


def whatif(capsys, *argv: str) -> str:
    code = main(["whatif", *argv])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    return out


@pytest.mark.parametrize(("name", "outcome", "do", "vs", "documented", "digit", "sd"), DOCUMENTED,
                         ids=[d[0] for d in DOCUMENTED])
def test_documented_effects_are_contrasts_of_two_actions(capsys, name, outcome, do, vs, documented,
                                                         digit, sd):
    out = whatif(capsys, name, "--do", do, "--vs", vs, "--outcome", outcome, "--n", str(N))
    lines = out.splitlines()
    assert lines[1] == f"contrast: do({do}) vs do({vs}), on the same units"
    table = rows(out)
    assert list(table) == [f"do({vs})", f"do({do})", "effect"]
    se = sd / math.sqrt(N)
    mean, lo, hi = table["effect"]
    assert abs(mean - documented) < 4 * se + digit
    assert lo <= mean <= hi
    # the interval of the paired differences, about 1.96 sd / sqrt(n) (a few % for the rounded sd)
    assert (hi - lo) / 2 == pytest.approx(1.96 * se, rel=0.1)
    assert "correlation" not in out  # an observational correlation belongs to the logged world


def test_without_vs_the_baseline_is_the_logged_policy(capsys):
    out = whatif(capsys, "marketing", "--do", "action=discount", "--outcome", "revenue", "--n", str(N))
    assert out.splitlines()[1] == "contrast: do(action=discount) vs the logged policy, on the same units"
    table = rows(out)
    assert list(table) == ["the logged policy", "do(action=discount)", "effect"]
    # the logged policy already discounts some customers: a smaller effect than the 2.75 of the ATE
    assert table["effect"][2] < 2.75 - 4 * 14.8 / math.sqrt(N)


def test_the_same_intervention_on_both_sides_has_exactly_zero_effect(capsys):
    out = whatif(capsys, "healthcare", "--do", "protocol=protocol_B", "--vs", "protocol=protocol_B",
                 "--outcome", "recovery_days", "--n", "2000")
    assert rows(out)["effect"] == (0.0, 0.0, 0.0)


def test_vs_takes_every_form_of_do_and_several_nodes(capsys):
    spec = "examples/icecream.yaml"
    # sunscreen = 5 + 2 temperature + noise: do(temperature=30) vs do(temperature=20) is 20 for every unit
    out = whatif(capsys, spec, "--do", "temperature=30", "--vs", "temperature=20", "--outcome", "sunscreen",
                 "--n", "2000")
    assert rows(out)["effect"] == (20.0, 20.0, 20.0)
    out = whatif(capsys, spec, "--do", "temperature+=5", "--vs", "temperature-=5", "--vs", "ice_cream=0",
                 "--outcome", "sunscreen", "--n", "2000")
    table = rows(out)
    assert "do(temperature-=5, ice_cream=0)" in table
    assert table["effect"] == (20.0, 20.0, 20.0)


def test_out_records_the_baseline(capsys, tmp_path):
    import json

    import pandas as pd

    code = main(["whatif", "icecream", "--do", "advert=advert", "--vs", "advert=none", "--outcome",
                 "ice_cream", "--n", "500", "--out", str(tmp_path)])
    assert code == 0
    capsys.readouterr()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["baseline"] == "do(advert=none)"
    assert manifest["vs"] == {"advert": "Hard(value=0.0)"}
    data = pd.read_csv(tmp_path / "whatif.csv")
    assert (data["advert_baseline"] == 0).all() and (data["advert_intervened"] == 1).all()


@pytest.mark.parametrize(("argv", "needle"), [
    (["icecream", "--do", "advert=advert", "--vs", "advert=maybe"], "--vs 'advert=maybe'"),
    (["icecream", "--do", "advert=advert", "--vs", "advert=none", "--vs", "advert=advert"], "--vs names"),
    (["icecream", "--do", "advert=advert", "--vs", "advert"], "--vs 'advert'"),
    (["icecream", "--do", "advert=advert", "--vs", "adverts=none"], "adverts"),
])
def test_bad_vs_is_one_line(capsys, argv, needle):
    code = main(["whatif", *argv, "--outcome", "ice_cream", "--n", "100"])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1 and err.startswith("causalsim: error: ")
    assert needle in err
