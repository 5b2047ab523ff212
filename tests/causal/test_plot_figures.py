"""The committed figures are byte for byte what the documented command draws.

``python docs/figures.py`` redraws ``docs/img/<scenario>.png`` for every
registered scenario. Here it draws them into a temporary folder and every
byte must match the committed file. The pixels depend on matplotlib and
FreeType (the files hold no version or date), so a failure names the
versions this run used and the command that brings the figures up to date.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib
import pytest
from matplotlib import ft2font

import scenarios

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "figures.py"


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> dict[str, Path]:
    spec = importlib.util.spec_from_file_location("docs_figures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("img")
    return {p.name: p for p in module.write_figures(out)}


def test_every_registered_scenario_has_a_committed_figure(drawn):
    assert sorted(drawn) == sorted(f"{name}.png" for name in scenarios.names())
    missing = [name for name in drawn if not (ROOT / "docs" / "img" / name).exists()]
    assert not missing, f"docs/img lacks {missing}; run `python docs/figures.py` and commit docs/img"


@pytest.mark.parametrize("name", [f"{n}.png" for n in scenarios.names()])
def test_committed_figure_is_what_the_command_draws(drawn, name):
    committed = ROOT / "docs" / "img" / name
    if not committed.exists():
        pytest.skip(f"docs/img/{name} is not committed (the test above reports it)")
    assert drawn[name].read_bytes() == committed.read_bytes(), (
        f"docs/img/{name} is not what `python docs/figures.py` draws now (this run: matplotlib "
        f"{matplotlib.__version__}, FreeType {ft2font.__freetype_version__}). If the drawing "
        "changed on purpose, or the committed files were made with other versions, run "
        "`python docs/figures.py` from the repository root and commit docs/img.")
