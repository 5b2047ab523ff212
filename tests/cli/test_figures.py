"""The figures the command line writes: what they show, and where they can be written.

The figures are caught as :mod:`causal.plot` returns them, so the checks read
axes and labels rather than pixels.
"""

from __future__ import annotations

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


@pytest.mark.xfail(strict=True, reason="causalsim/cli.py still refuses a missing folder before "
                   "saving; have cmd_graph save with causal.plot.save_figure (which creates it), "
                   "then remove this marker")
def test_graph_out_creates_its_folder_like_whatif(tmp_path, capsys):
    target = tmp_path / "newdir" / "deeper" / "graph.png"
    assert main(["graph", "icecream", "--out", str(target)]) == 0
    capsys.readouterr()
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
