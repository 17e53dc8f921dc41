"""The example notebooks run top to bottom (nbconvert --execute), each under ~20 s, and every figure
they show is saved as PNG in the build tree ($RIDGELINE_FIGURES_DIR, else build/notebook-figures)."""
import base64
import json
import os
import time
from pathlib import Path

import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))


def test_notebooks_are_committed_without_outputs():
    assert {p.name for p in NOTEBOOKS} >= {"quickstart.ipynb", "dead-zone.ipynb", "heterogeneous.ipynb",
                                           "validation.ipynb"}
    for p in NOTEBOOKS:
        nb = json.loads(p.read_text())
        for c in nb["cells"]:
            if c["cell_type"] == "code":
                assert c["outputs"] == [] and c["execution_count"] is None, p.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_shows_its_figures(path):
    nbformat = pytest.importorskip("nbformat")
    pre = pytest.importorskip("nbconvert.preprocessors")
    pytest.importorskip("matplotlib")
    nb = nbformat.read(path, as_version=4)
    t0 = time.monotonic()
    pre.ExecutePreprocessor(timeout=120, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(path.parent)}})
    took = time.monotonic() - t0
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    pngs = [o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    assert pngs, f"{path.name} shows no figure"
    out = Path(os.environ.get("RIDGELINE_FIGURES_DIR", ROOT / "build" / "notebook-figures"))
    out.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(pngs):
        (out / f"{path.stem}-{i + 1}.png").write_bytes(base64.b64decode(data))
    assert took < 60, f"{path.name} took {took:.0f} s"
