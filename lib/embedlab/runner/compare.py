"""``embedlab compare A B``: every headline and metric two runs share, side by side, moved headlines first.

A and B are two run folders, two profiles (a folder of run folders, or a profile name under the reports folder) or
two reports folders (a folder of profiles). ``metrics.json`` is read only through ``Results.from_dict``. For each
shared headline: both values, the difference B - A, both 95% intervals and whether they overlap; a headline whose
intervals do not overlap moved beyond them and is listed first. Deterministic metrics have no interval.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..study import Results
from .records import read_results

COLUMNS = ["run", "kind", "key", "what", "a", "b", "b_minus_a", "a_ci", "b_ci", "intervals_overlap"]


def run_folders(root: Path) -> dict[str, Path]:
    """``{label: run folder}`` under ``root``: itself, its run folders, or its profiles' run folders."""
    if (root / "metrics.json").is_file():
        return {"": root}
    runs = {p.name: p for p in sorted(root.iterdir()) if (p / "metrics.json").is_file()}
    if runs:
        return runs
    return {f"{prof.name}/{p.name}": p for prof in sorted(root.iterdir()) if prof.is_dir()
            for p in sorted(prof.iterdir()) if (p / "metrics.json").is_file()}


def target_folders(target: str, reports_dir: Path) -> dict[str, Path]:
    """The run folders a target names: a run folder, a profile folder or name, or a reports folder."""
    root = Path(target)
    if not root.is_dir():
        root = Path(reports_dir) / target
    if not root.is_dir():
        raise ValueError(f"{target}: not a run folder, a profile folder, a reports folder or a profile under "
                         f"{reports_dir}")
    return run_folders(root)


def resolve(target: str, reports_dir: Path) -> dict[str, Results]:
    """The results of every run a target names (see :func:`target_folders`)."""
    out = {}
    for label, folder in target_folders(target, reports_dir).items():
        results = read_results(folder / "metrics.json")
        if results is not None:
            out[label] = results
    if not out:
        raise ValueError(f"{target}: no readable metrics.json in it")
    return out


def pair(a: dict[str, Results], b: dict[str, Results]) -> tuple[list[tuple[str, Results, Results]], list[str]]:
    """Runs of A and B matched by label (two single runs match each other), and the labels on one side only."""
    if list(a) == [""] or list(b) == [""]:
        if len(a) != 1 or len(b) != 1:
            raise ValueError("compare a run folder with a run folder, a profile with a profile, reports with reports")
        return [("", a[""] if "" in a else next(iter(a.values())), b[""] if "" in b else next(iter(b.values())))], []
    shared = [k for k in a if k in b]
    return [(k, a[k], b[k]) for k in shared], sorted(set(a) ^ set(b))


def _number(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def overlap(ci_a, ci_b, a: float, b: float) -> bool | None:
    """Whether two intervals overlap; with one interval, whether it holds the other value; None without any."""
    if ci_a and ci_b:
        return ci_a[0] <= ci_b[1] and ci_b[0] <= ci_a[1]
    if ci_a or ci_b:
        lo, hi = ci_a or ci_b
        return lo <= (b if ci_a else a) <= hi
    return None


def rows(pairs: list[tuple[str, Results, Results]]) -> list[dict[str, Any]]:
    """One row per headline and metric both sides share; headlines that moved beyond their intervals first."""
    moved, steady, metrics = [], [], []
    for run, ra, rb in pairs:
        hb = {h.key: h for h in rb.headlines}
        for h in ra.headlines:
            if h.key not in hb:
                continue
            o = hb[h.key]
            ov = overlap(h.ci, o.ci, h.value, o.value)
            row = {"run": run, "kind": "headline", "key": h.key, "what": h.label, "a": h.value, "b": o.value,
                   "b_minus_a": o.value - h.value, "a_ci": h.ci, "b_ci": o.ci, "intervals_overlap": ov}
            (moved if ov is False else steady).append(row)
        for key in [k for k in ra.metrics if k in rb.metrics]:
            va, vb = _number(ra.metrics[key]), _number(rb.metrics[key])
            metrics.append({"run": run, "kind": "metric", "key": key, "what": "", "a": ra.metrics[key],
                            "b": rb.metrics[key], "b_minus_a": vb - va if va is not None and vb is not None else None,
                            "a_ci": None, "b_ci": None, "intervals_overlap": None})
    moved.sort(key=lambda r: -abs(r["b_minus_a"]))
    return moved + steady + metrics


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "NO (moved)"
    if isinstance(x, tuple):
        return f"[{_fmt(x[0])}, {_fmt(x[1])}]"
    v = _number(x)
    return f"{v:.4g}" if v is not None else str(x)


def table(found: list[dict[str, Any]]):
    """The rows as a DataFrame: numbers as numbers, intervals as ``ci_low``/``ci_high`` columns."""
    import pandas as pd

    flat = []
    for r in found:
        flat.append({**{k: r[k] for k in ("run", "kind", "key", "what", "a", "b", "b_minus_a")},
                     "a_ci_low": r["a_ci"][0] if r["a_ci"] else None, "a_ci_high": r["a_ci"][1] if r["a_ci"] else None,
                     "b_ci_low": r["b_ci"][0] if r["b_ci"] else None, "b_ci_high": r["b_ci"][1] if r["b_ci"] else None,
                     "intervals_overlap": r["intervals_overlap"]})
    return pd.DataFrame(flat, columns=["run", "kind", "key", "what", "a", "b", "b_minus_a", "a_ci_low", "a_ci_high",
                                       "b_ci_low", "b_ci_high", "intervals_overlap"])


def render(found: list[dict[str, Any]], fmt: str = "markdown") -> str:
    """The comparison as a markdown, LaTeX (booktabs) or CSV table."""
    if fmt == "csv":
        return table(found).to_csv(index=False)
    shown = [{c: _fmt(r[c]) if c not in ("run", "kind", "key", "what") else r[c] for c in COLUMNS} for r in found]
    if fmt == "latex":
        import pandas as pd

        from ..report import latex_table

        return latex_table(pd.DataFrame(shown, columns=COLUMNS), "B - A: every headline and metric both share")
    head = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    return head + "".join("| " + " | ".join(str(r[c]).replace("|", "\\|") for c in COLUMNS) + " |\n" for r in shown)
