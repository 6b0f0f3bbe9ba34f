"""Notebook hygiene: stripped outputs, a literal `parameters` cell, the embedlab kernel, thin code, plans that fit."""
import ast
from pathlib import Path

import nbformat
import papermill
import pytest

from embedlab import runner

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert any(p.name == "assets.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped_parameterized_and_thin(path):
    nb = nbformat.read(str(path), as_version=4)
    assert nb.metadata["kernelspec"]["name"] == runner.KERNEL_NAME
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "commit notebooks without outputs (nbstripout)"
    assert nb.cells[0].cell_type == "markdown", "start with a markdown cell saying what the notebook asks"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    for node in ast.parse(params[0].source).body:  # literals only
        assert isinstance(node, ast.Assign), ast.dump(node)
        ast.literal_eval(node.value)
    declared = papermill.inspect_notebook(str(path))
    assigned = [t.id for n in ast.parse(params[0].source).body for t in n.targets]
    assert list(declared) == assigned, "papermill must see every parameter (no '=' inside comments)"
    for c in code:
        tree = ast.parse("\n".join(l for l in c.source.splitlines() if not l.lstrip().startswith(("%", "!"))))
        assert not any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in ast.walk(tree)), "logic belongs in lib/embedlab"
    assert any("report.record(" in c.source for c in code), "the notebook must record its metrics"


@pytest.mark.parametrize("profile", runner.profiles())
def test_every_plan_validates_against_its_notebooks(profile):
    specs = runner.load_plan(profile)
    for s in specs:
        runner.validate_parameters(s)
    used = {Path(s.notebook).name for s in specs}
    if profile in ("smoke", "default"):
        assert used == {p.name for p in NOTEBOOKS}, f"every notebook must run in the {profile} profile"
