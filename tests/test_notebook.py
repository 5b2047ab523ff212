"""examples/tour.ipynb runs from top to bottom and shows what its text says.

The notebook is stored without outputs; this test executes a copy through ``nbclient`` (the
``docs`` extra) and checks each code cell ran without an error and the outputs the tour's prose
relies on: braking prevents collisions in the paired worlds while the logs say the opposite, the
oracle's regret against itself is zero, AIPW's interval covers the true discount effect and the
naive one's does not. Every number is seeded, so these are properties of fixed runs, not
statistical tests (false-failure rate 0 for a given build).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "tour.ipynb"


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append(out["text"])
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_the_stored_notebook_has_no_outputs():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "the tour has code cells"
    assert all(not c.outputs and c.execution_count is None for c in code), \
        "store examples/tour.ipynb without outputs (clear them before committing)"


@pytest.mark.slow
def test_the_tour_notebook_runs_and_shows_what_it_says(tmp_path, capsys):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    start = time.perf_counter()
    client.execute(env={"OMP_NUM_THREADS": "1"})  # raises CellExecutionError on a failing cell
    seconds = time.perf_counter() - start
    with capsys.disabled():
        print(f"\nexamples/tour.ipynb executed in {seconds:.1f} s")
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        assert not errors, f"cell {cell.get('id')} raised {errors[0].get('ename')}"
        assert cell.execution_count is not None
    text = "\n".join(_text(c) for c in code)

    truth = float(re.search(r"paired worlds: ([-+][\d.]+)", text).group(1))
    naive = float(re.search(r"naive comparison in the logs: ([-+][\d.]+)", text).group(1))
    assert truth < 0 < naive, "braking prevents collisions, the logs say it causes them"
    assert "wrong sign: True" in text
    assert "oracle regret: 0.000" in text
    assert re.search(r"^AIPW: .*covers the truth: True$", text, flags=re.M)
    assert re.search(r"^naive: .*covers the truth: False$", text, flags=re.M)
    assert re.search(r"adjacency precision [\d.]+, recall [\d.]+; arrowhead F1 [\d.]+", text)
