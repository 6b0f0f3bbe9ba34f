"""The papers' published numbers (``data/papers/<study>.yaml``): data a study sets beside its own, labelled as theirs.

Each row carries its ``paper`` and ``source`` (table/figure). Studies read these here, not through the report.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

from . import paths

if TYPE_CHECKING:  # pragma: no cover
    import pandas

PAPERS_DIR = paths.PAPERS


def paper_figures(study: str, **where) -> "pandas.DataFrame":
    """The papers' published numbers for a study, filtered by column values (a value or a list of values)."""
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


def side_by_side(ours: "pandas.DataFrame", theirs: "pandas.DataFrame", on: list[str],
                 value: str = "value") -> "pandas.DataFrame":
    """Join our numbers with the papers' on ``on`` columns; the papers' column is labelled as theirs."""
    t = theirs[on + [value, "paper"]].rename(columns={value: "published (paper)", "paper": "published in"})
    return ours.merge(t, on=on, how="left")
