"""The figures the command line writes: what they show, and where they can be written.

The figures are caught as :mod:`causal.plot` returns them, so the checks read
axes and labels rather than pixels.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from matplotlib.patches import FancyBboxPatch

import causal.plot
from causalsim.cli import main


@pytest.fixture
def drawn(monkeypatch) -> list:
    """Every figure ``plot_distribution`` / ``draw_graph`` returns during the test."""
    figures = []
    for name in ("plot_distribution", "draw_graph"):
        original = getattr(causal.plot, name)

        def catch(*args, _original=original, **kwargs):
            figures.append(fig := _original(*args, **kwargs))
            return fig

        monkeypatch.setattr(causal.plot, name, catch)
    return figures


def test_whatif_png_of_a_binary_outcome_shows_proportions(drawn, tmp_path, capsys):
    out = tmp_path / "new" / "run"
    assert main(["whatif", "driving", "--do", "maneuver=brake", "--outcome", "collision",
                 "--n", "4000", "--out", str(out)]) == 0
    capsys.readouterr()
    (fig,) = drawn
    ax = fig.axes[0]
    assert ax.get_xlabel() == "share of units with collision = 1"
    assert 0.0 == ax.get_xlim()[0] < ax.get_xlim()[1] <= 1.0  # a proportion axis, not a density
    assert not ax.patches  # no histogram bars
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "do(maneuver=brake)"
    assert (out / "whatif.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_whatif_png_of_a_continuous_outcome_is_a_histogram(drawn, tmp_path, capsys):
    assert main(["whatif", "icecream", "--do", "advert=advert", "--outcome", "ice_cream",
                 "--n", "2000", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    ax = drawn[0].axes[0]
    assert ax.get_ylabel() == "density" and len(ax.patches) == 2


def test_graph_png_has_a_legend_and_one_font_size(drawn, tmp_path, capsys):
    assert main(["graph", "policy", "--out", str(tmp_path / "g.png")]) == 0
    capsys.readouterr()
    ax = drawn[0].axes[0]
    assert {"observed", "hidden (not in the data)", "causes"} <= {
        t.get_text() for t in ax.get_legend().get_texts()}
    nodes = {p.get_gid() for p in ax.patches if isinstance(p, FancyBboxPatch)}
    assert len({t.get_fontsize() for t in ax.texts if t.get_text() in nodes}) == 1


def test_graph_png_is_the_same_bytes_every_time(tmp_path, capsys):
    for name in ("a.png", "b.png"):
        assert main(["graph", "healthcare", "--out", str(tmp_path / name)]) == 0
    capsys.readouterr()
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_graph_out_creates_its_folder_like_whatif(tmp_path, capsys):
    target = tmp_path / "newdir" / "deeper" / "graph.png"
    assert main(["graph", "icecream", "--out", str(target)]) == 0
    capsys.readouterr()
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_out_of_a_scenario_is_the_docs_figure(tmp_path, capsys):
    """``graph SCENARIO --out`` draws what docs/figures.py draws: action and outcome marked."""
    spec = importlib.util.spec_from_file_location(
        "docs_figures", Path(__file__).resolve().parents[2] / "docs" / "figures.py")
    figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figures)
    docs = {p.name: p for p in figures.write_figures(tmp_path / "docs")}
    assert main(["graph", "driving", "--out", str(tmp_path / "cli" / "driving.png")]) == 0
    capsys.readouterr()
    assert (tmp_path / "cli" / "driving.png").read_bytes() == docs["driving.png"].read_bytes()


def test_graph_png_of_a_scenario_marks_action_and_outcome(drawn, tmp_path, capsys):
    assert main(["graph", "driving", "--out", str(tmp_path / "g.png")]) == 0
    capsys.readouterr()
    ax = drawn[0].axes[0]
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"action", "outcome"} <= {t.split(" ")[0] for t in legend}
    assert "driving: the causal graph" in {t.get_text() for t in ax.texts}


@pytest.mark.parametrize(("argv", "what"), [
    (["driving", "--do", "maneuver=brake", "--vs", "maneuver=maintain"],
     "difference in the share with collision = 1"),
    (["icecream", "--do", "advert=advert", "--outcome", "ice_cream"], "difference in ice_cream"),
])
def test_whatif_png_has_the_paired_effect_panel(drawn, tmp_path, capsys, argv, what):
    assert main(["whatif", *argv, "--n", "2000", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    (fig,) = drawn
    assert len(fig.axes) == 2
    assert fig.axes[1].get_xlabel().startswith(what)
    assert (tmp_path / "whatif.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
