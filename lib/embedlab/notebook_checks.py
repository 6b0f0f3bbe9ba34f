"""Expected outputs for nbval: the cells marked ``# NBVAL_CHECK_OUTPUT`` are compared with outputs recorded
from a run of the same profile.

Notebooks are committed without outputs (nbstripout), so nbval alone would compare nothing. ``embedlab
notebooks record`` copies the outputs of the marked cells from a profile's executed notebooks into
``tests/nbval_expected/<run>.json`` (keyed by cell id); ``embedlab notebooks prepare`` pastes them back
into the parameterized copies that ``pytest --nbval-lax`` runs. Only text outputs are kept: stdout, and
``text/plain`` of results. A marked cell must not write to stderr (progress bars, warnings): nbval would
compare that too, so :func:`record` refuses such a cell.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat

MARK = "NBVAL_CHECK_OUTPUT"
EXPECTED_DIR = Path("tests") / "nbval_expected"


def marked_cells(nb) -> list:
    """Code cells carrying the ``# NBVAL_CHECK_OUTPUT`` marker."""
    return [c for c in nb.cells if c.cell_type == "code" and MARK in c.source]


def _text_outputs(outputs) -> list[dict]:
    kept = []
    for out in outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            kept.append({"output_type": "stream", "name": "stdout", "text": out["text"]})
        elif out.get("output_type") in ("execute_result", "display_data") and "text/plain" in out.get("data", {}):
            kept.append({"output_type": "display_data", "metadata": {},
                         "data": {"text/plain": out["data"]["text/plain"]}})
    return kept


def record(executed: Path | str) -> dict[str, list[dict]]:
    """``{cell id: text outputs}`` of the marked cells of an executed notebook (ValueError if one has none)."""
    nb = nbformat.read(str(executed), as_version=4)
    out = {}
    for cell in marked_cells(nb):
        if any(o.get("name") == "stderr" for o in cell.get("outputs", [])):
            raise ValueError(f"{executed}: cell {cell.get('id')} is marked {MARK} but writes to stderr "
                             "(progress bar or warning), which nbval would compare; move that work to another cell")
        kept = _text_outputs(cell.get("outputs", []))
        if not kept:
            raise ValueError(f"{executed}: cell {cell.get('id')} is marked {MARK} but printed nothing to stdout")
        out[cell["id"]] = kept
    return out


def apply(notebook: Path | str, expected: dict[str, list[dict]]) -> list[str]:
    """Paste ``expected`` outputs into the marked cells of ``notebook`` (in place); return the ids of marked
    cells with no recorded output (those then compare nothing)."""
    nb = nbformat.read(str(notebook), as_version=4)
    missing = []
    for number, cell in enumerate(marked_cells(nb), 1):
        if cell.get("id") in expected:
            cell["outputs"] = [nbformat.from_dict(o) for o in expected[cell["id"]]]
            cell["execution_count"] = number  # nbval compares only cells that count as run
        else:
            missing.append(cell.get("id"))
    nbformat.write(nb, str(notebook))
    return missing


def expected_path(run_name: str, directory: Path | str = EXPECTED_DIR) -> Path:
    """Where a run's recorded outputs live."""
    return Path(directory) / f"{run_name}.json"


def save(expected: dict[str, list[dict]], path: Path | str) -> None:
    """Write recorded outputs as stable, diff-friendly JSON."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(expected, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def load(path: Path | str) -> dict[str, list[dict]]:
    """Recorded outputs, or ``{}`` when none were recorded."""
    p = Path(path)
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}
