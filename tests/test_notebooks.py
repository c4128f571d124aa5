"""Every tutorial notebook runs top to bottom, without errors, and shows at least one figure.

The notebooks keep their outputs in the file (so they read well on GitHub); this test executes a
copy in a fresh kernel and never writes back.
"""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_at_least_six_tutorials():
    assert len(NOTEBOOKS) >= 6, [p.name for p in NOTEBOOKS]


def _has_figure(nb):
    return any("image/png" in out.get("data", {})
               for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))


def _errors(nb):
    return [out for cell in nb.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if out.get("output_type") == "error"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_notebook_has_outputs_figures_and_no_errors(path):
    nb = nbformat.read(path, as_version=4)
    assert _has_figure(nb), f"{path.name}: no stored figure output"
    assert not _errors(nb), f"{path.name}: stored error output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                         resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    finally:
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend
    assert not _errors(nb)
    assert _has_figure(nb), f"{path.name}: no figure when executed"
