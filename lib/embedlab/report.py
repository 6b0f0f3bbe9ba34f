"""What a notebook leaves behind: figures, tables, ``metrics.json``, provenance and the papers' figures.

A run directory is chosen by the runner through ``$EMBEDLAB_RUN_DIR``; a notebook opened by hand
in JupyterLab writes under ``reports/interactive/<notebook>/`` instead.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from . import assets

PAPERS_DIR = assets.PROJECT_ROOT / "data" / "papers"
TRACKED_PACKAGES = ("embedlab", "torch", "transformers", "tokenizers", "sentence-transformers", "gensim", "fasttext",
                    "numpy", "scipy", "scikit-learn", "pandas", "numba", "papermill", "matplotlib")


def run_dir() -> Path:
    """Directory for this run's outputs (created on demand)."""
    env = os.environ.get("EMBEDLAB_RUN_DIR")
    d = Path(env) if env else assets.PROJECT_ROOT / "reports" / "interactive" / os.environ.get("EMBEDLAB_RUN_NAME", "notebook")
    d.mkdir(parents=True, exist_ok=True)
    return d


def figures_dir() -> Path:
    """Where figures are saved."""
    d = run_dir() / "figures"
    d.mkdir(exist_ok=True)
    return d


def savefig(fig, name: str, dpi: int = 110) -> Path:
    """Save a matplotlib figure as ``figures/<name>.png`` and return its path (the figure still shows inline)."""
    path = figures_dir() / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return path


def save_table(df, name: str) -> Path:
    """Save a DataFrame as ``tables/<name>.csv``."""
    d = run_dir() / "tables"
    d.mkdir(exist_ok=True)
    path = d / f"{name}.csv"
    df.to_csv(path, index=getattr(df.index, "name", None) is not None)
    return path


def package_versions(names=TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape results."""
    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out


def git_commit(root: Path = assets.PROJECT_ROOT) -> str:
    """Current git commit (with ``+dirty`` when the tree has changes), or ``unknown``."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lib", "notebooks", "data"], cwd=root,
                               capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except Exception:
        return "unknown"


def provenance(params: dict | None = None, seed: int | None = None) -> dict[str, Any]:
    """Everything needed to say where a number came from."""
    return {
        "git_commit": git_commit(),
        "parameters": params or {},
        "seed": seed,
        "pythonhashseed": os.environ.get("PYTHONHASHSEED"),
        "assets": assets.used_assets(),
        "packages": package_versions(),
        "platform": f"{platform.system()} {platform.machine()}",
        "argv": sys.argv[:1],
    }


def _jsonable(x):
    """Convert numpy scalars/arrays and pandas objects into plain JSON types."""
    if hasattr(x, "item") and getattr(x, "ndim", 1) == 0:
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    if hasattr(x, "to_dict"):
        return x.to_dict()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def record(metrics: dict[str, Any], params: dict | None = None, seed: int | None = None, **extra) -> Path:
    """Write ``metrics.json``: the run's headline numbers plus provenance. Returns its path.

    ``metrics`` should be flat ``{name: number}``; nested dicts are allowed for tables of numbers.
    Calling it again merges new metrics into the file.
    """
    path = run_dir() / "metrics.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    merged = {**old.get("metrics", {}), **metrics}
    doc = {"metrics": merged, "provenance": provenance(params or old.get("provenance", {}).get("parameters"), seed), **extra}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True, default=_jsonable, ensure_ascii=False))
    os.replace(tmp, path)
    return path


def paper_figures(study: str, **where) -> "pandas.DataFrame":
    """The papers' published numbers for a study (``data/papers/<study>.yaml``), filtered by column values.

    Each row carries its ``paper`` and ``source`` (table/figure) so a report can label them as theirs.
    """
    import pandas as pd

    path = PAPERS_DIR / f"{study}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in PAPERS_DIR.glob("*.yaml"))
        raise ValueError(f"no published figures for study {study!r}; known: {known}")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    df = pd.DataFrame(doc["results"])
    for k, v in where.items():
        if k not in df.columns:
            raise ValueError(f"unknown column {k!r} in {path.name}; columns: {list(df.columns)}")
        df = df[df[k].isin(v if isinstance(v, (list, tuple, set)) else [v])]
    return df.reset_index(drop=True)


def side_by_side(ours: "pandas.DataFrame", theirs: "pandas.DataFrame", on: list[str], value: str = "value") -> "pandas.DataFrame":
    """Join our numbers with the papers' on ``on`` columns; the papers' column is labelled as theirs."""
    t = theirs[on + [value, "paper"]].rename(columns={value: "published (paper)", "paper": "published in"})
    return ours.merge(t, on=on, how="left")
