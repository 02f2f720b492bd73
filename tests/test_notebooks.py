"""Every notebook runs top to bottom on a fresh kernel (its own asserts included) and is committed with its outputs."""
import os
import pathlib

import pytest

# kernels inherit the environment: many BLAS threads make these small matrix products 10x slower
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_the_notebooks_are_there():
    names = [p.stem for p in NOTEBOOKS]
    assert len(names) >= 6, names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_with_its_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code cells"
    assert all(c.get("execution_count") for c in code), f"{path.name}: some code cells were never run"
    images = [o for c in code for o in c.get("outputs", [])
              if "image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})]
    assert images, f"{path.name} shows no figure or graph image"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name} was committed with an error output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError on any failing cell or assert
