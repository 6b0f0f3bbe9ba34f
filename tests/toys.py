"""Tiny toy notebooks for runner tests: a parameters cell and one body cell, on the embedlab kernel."""
from __future__ import annotations

from pathlib import Path

import nbformat


def toy_notebook(path: Path, params: str, body: str = "print(x)") -> Path:
    """Write a two-cell notebook (``params`` tagged ``parameters``, then ``body``) to ``path``."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "embedlab", "display_name": "Python (embedlab)", "language": "python"}
    nbformat.write(nb, str(path))
    return path
