"""Every notebook under notebooks/ runs top to bottom in a real Jupyter kernel, in its quick form.

The notebooks' defaults are the full studies (each under three minutes on a
two-core machine); ``NOTIFSIM_NOTEBOOK_QUICK=1`` makes their first cell pick
small sizes, so the suite stays fast while every cell still runs.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_the_four_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01_explore.ipynb", "02_policy_tuning.ipynb", "03_requeue_outcomes.ipynb", "04_policy_search.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_its_parameters_and_tells_a_story(path):
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0]
    assert first.cell_type == "code" and "parameters" in first.metadata.get("tags", [])
    assert "NOTIFSIM_NOTEBOOK_QUICK" in first.source
    prose = [c for c in notebook.cells if c.cell_type == "markdown"]
    assert len(prose) >= 5 and prose[0].source.startswith("# ")
    assert not any(c.get("outputs") for c in notebook.cells if c.cell_type == "code"), "notebooks are stored without outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFSIM_NOTEBOOK_QUICK", "1")  # the kernel inherits the environment
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    images = [o for cell in notebook.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the notebook draws its figures"
