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


def _executed(tmp_path, outputs):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(x)")]
    nb.cells[1].outputs = [nbformat.from_dict(o) for o in outputs]
    path = tmp_path / "run.ipynb"
    nbformat.write(nb, str(path))
    return path, nb.cells[1].id


def test_recorded_outputs_are_pasted_into_marked_cells_only(tmp_path):
    from embedlab import notebook_checks

    path, cell_id = _executed(tmp_path, [{"output_type": "stream", "name": "stdout", "text": "1\n"},
                                         {"output_type": "execute_result", "execution_count": 2, "metadata": {},
                                          "data": {"text/plain": "'a'", "text/html": "<b>a</b>"}}])
    expected = notebook_checks.record(path)
    assert expected == {cell_id: [{"output_type": "stream", "name": "stdout", "text": "1\n"},
                                  {"output_type": "display_data", "metadata": {}, "data": {"text/plain": "'a'"}}]}
    notebook_checks.save(expected, tmp_path / "exp" / "run.json")
    stripped = nbformat.read(str(path), as_version=4)
    for c in stripped.cells:
        c.outputs = []
    nbformat.write(stripped, str(path))
    assert notebook_checks.apply(path, notebook_checks.load(tmp_path / "exp" / "run.json")) == []
    back = nbformat.read(str(path), as_version=4)
    assert back.cells[0].outputs == [] and back.cells[1].outputs[0]["text"] == "1\n"
    assert back.cells[1].execution_count is not None        # else nbval refuses an "unrun cell with outputs"
    assert notebook_checks.apply(path, {}) == [cell_id]            # nothing recorded: reported, not invented


def test_record_refuses_marked_cells_that_write_to_stderr_or_print_nothing(tmp_path):
    from embedlab import notebook_checks

    path, _ = _executed(tmp_path, [{"output_type": "stream", "name": "stderr", "text": "50%|#####\n"},
                                   {"output_type": "stream", "name": "stdout", "text": "1\n"}])
    with pytest.raises(ValueError, match="writes to stderr"):
        notebook_checks.record(path)
    path, _ = _executed(tmp_path, [])
    with pytest.raises(ValueError, match="printed nothing"):
        notebook_checks.record(path)


def test_every_marked_cell_has_a_recorded_smoke_output():
    from embedlab import notebook_checks

    for s in runner.load_plan("smoke"):
        nb = nbformat.read(str(ROOT / s.notebook), as_version=4)
        recorded = notebook_checks.load(ROOT / notebook_checks.expected_path(s.name))
        missing = [c.id for c in notebook_checks.marked_cells(nb) if c.id not in recorded]
        assert not missing, f"{s.name}: run `embedlab run --profile smoke` then `embedlab notebooks record`"
