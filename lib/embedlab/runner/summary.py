"""The profile's summary: ``index.html``, ``summary.md`` and ``summary.json`` over the runs of the current plan.

Run folders of runs no longer in the plan (renamed, removed) stay on disk and are only listed as "not in the plan".

A run's status comes from its ``run.json``; what it found comes from its results, read through
:meth:`Results.from_dict <embedlab.study.Results.from_dict>` (its ``metrics.json`` once the run has ended, else the
copy in its record). Everything is written atomically and everything shown is escaped.
"""
from __future__ import annotations

import html
import json
import urllib.parse
from pathlib import Path
from typing import Any

from .. import report
from ..study import Headline, Results
from ..util import atomic_write
from .records import ENDED, read_record, read_results, record_status, result_fields

SHOWN_HEADLINES = 4


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 10000 and v == int(v) else f"{v:.4g}"
    return str(v)


def _headline_cell(h: Headline) -> tuple[str, str, list[str]]:
    """(label, "value [lo, hi] n=.. (reference ..)", flags) of one headline."""
    parts = [_fmt(h.value)]
    if h.ci:
        parts.append(f"[{_fmt(h.ci[0])}, {_fmt(h.ci[1])}]")
    if h.n is not None:
        parts.append(f"n={h.n}")
    if h.reference is not None:
        parts.append(f"({h.reference.kind} {_fmt(h.reference.value)})")
    return h.label or h.key, " ".join(parts), list(h.flags)


def _cells(results: Results | None) -> list[tuple[str, str, list[str]]]:
    """What the index shows of a run's results: its first declared headlines, or (none declared) its first
    numeric metrics, labelled by their keys."""
    if results is None:
        return []
    if results.headlines:
        return [_headline_cell(h) for h in results.headlines[:SHOWN_HEADLINES]]
    numbers = [(k, v) for k, v in results.metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return [(k, _fmt(v), []) for k, v in numbers[:SHOWN_HEADLINES]]


def _folders(profile_dir: Path, plan: list[str] | None) -> tuple[list[Path], list[str]]:
    """(run folders to show: those of the plan's runs in plan order, or every one when no plan is given; names of
    run folders not in the plan)."""
    found = sorted(p.name for p in profile_dir.iterdir() if p.is_dir() and (p / "run.json").exists()) \
        if profile_dir.is_dir() else []
    if plan is None:
        return [profile_dir / n for n in found], []
    return [profile_dir / n for n in plan if n in found], [n for n in found if n not in plan]


def _runs(folders: list[Path]) -> list[tuple[dict, Results | None]]:
    """(record, results) of each run folder: the record's status as shown, and the results of an ended run from
    its metrics.json (else the record's copy) merged into the record."""
    runs = []
    for d in folders:
        rec = read_record(d / "run.json")
        if rec is None:
            rec = {"name": d.name, "status": "interrupted", "error": "run record unreadable (rerun needed)"}
        rec = {**rec, "name": d.name, "status": record_status(rec)}  # the folder is the name that links work with
        results = read_results(d / "metrics.json") if rec["status"] in ENDED else None
        if results is not None:
            rec.update(result_fields(results))
        runs.append((rec, results or read_results(rec)))
    return runs


def _duration(r: dict) -> str:
    d = r.get("duration_s")
    text = "-" if d is None else f"{d:g} s"
    if r.get("budget_s"):
        text += f" / {r['budget_s']:g} s"
        if d is not None and d > r["budget_s"]:
            text += " (over budget)"
    return text


def _problem(r: dict) -> str:
    if r.get("error"):
        cell = r.get("failed_cell") or {}
        return str(r["error"]) + (f" in cell [{cell.get('execution_count')}]" if cell else "")
    return "; ".join(map(str, r.get("partial_reasons") or []))


def write_summary(profile: str, profile_dir: Path, plan: list[str] | None = None) -> None:
    """Write ``summary.json``, ``summary.md`` and ``index.html`` (atomically) over the run folders of the plan's
    runs (``plan``: their names, in order; None: every run folder); other run folders are listed as not in the
    plan."""
    profile_dir = Path(profile_dir)
    profile_dir.mkdir(parents=True, exist_ok=True)
    folders, others = _folders(profile_dir, plan)
    runs = _runs(folders)
    atomic_write(profile_dir / "summary.json", json.dumps([rec for rec, _ in runs], indent=2, default=str))
    prov = report.provenance()
    atomic_write(profile_dir / "summary.md", _summary_md(profile, runs, prov, others))
    atomic_write(profile_dir / "index.html", _index_html(profile, runs, prov, others))


def _not_in_plan(others: list[str]) -> str:
    return ("Not in the plan (folders left on disk, not shown): " + ", ".join(others)) if others else ""


def _published(results: Results | None) -> str:
    return (results.published_note if results else "") or "-"


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _summary_md(profile: str, runs: list[tuple[dict, Results | None]], prov: dict, others: list[str] = ()) -> str:
    lines = [f"# embedlab reports: profile `{profile}`", "",
             f"git commit `{prov['git_commit']}`; " + ", ".join(f"{k} {v}" for k, v in prov["packages"].items()
                                                                 if k in ("python", "torch", "transformers", "gensim")), "",
             "| run | status | duration / budget | headline comparisons | published |", "|---|---|---|---|---|"]
    for r, results in runs:
        status = r["status"] + (" (cached)" if r.get("skipped") else "")
        problem = _problem(r)
        if problem:
            status += f": {problem}"
        cells = [f"{label}: {value}" + (f" **[{', '.join(flags)}]**" if flags else "")
                 for label, value, flags in _cells(results)]
        link = f"[{r['name']}]({urllib.parse.quote(r['name'])}/{urllib.parse.quote(r['name'])}.html)"
        lines.append(f"| {_md(link)} | {_md(status)} | {_duration(r)} | {_md('<br>'.join(cells))} | "
                     f"{_md(_published(results))} |")
    if others:
        lines += ["", _md(_not_in_plan(others))]
    return "\n".join(lines) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:8px;vertical-align:top;text-align:left}
th{background:#f4f4f4}.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-weight:600;color:#fff}
.ok{background:#2e7d32}.partial{background:#ef8f00}.failed{background:#c62828}.interrupted{background:#616161}
.running{background:#1565c0}.queued{background:#78909c}.flag{display:inline-block;background:#fff3cd;border:1px solid #e0b000;border-radius:4px;
padding:0 4px;margin-left:4px;font-size:85%}.ci,.small{color:#555;font-size:90%}img.key{max-width:320px;max-height:220px}
ul.h{margin:0;padding-left:1.1em}.problem{color:#a00;font-size:90%}"""


def _index_html(profile: str, runs: list[tuple[dict, Results | None]], prov: dict, others: list[str] = ()) -> str:
    e = html.escape  # quote=True: safe in text and in attribute values
    rows = []
    for r, results in runs:
        name = str(r["name"])
        base = urllib.parse.quote(name)
        status = str(r["status"])
        badge_class = status if status in ("ok", "partial", "failed", "interrupted", "running", "queued") else "interrupted"
        declared = len(results.headlines) if results else 0
        items = [f"<li>{e(label)}: <b>{e(value)}</b>" + "".join(f"<span class='flag'>{e(f)}</span>" for f in flags)
                 + "</li>" for label, value, flags in _cells(results)]
        if not declared and items:
            items.insert(0, "<li class='small'>(no declared headline comparisons; first metrics)</li>")
        if declared > SHOWN_HEADLINES:
            items.append(f"<li class='small'>{declared - SHOWN_HEADLINES} more in the report</li>")
        fig = results.key_figure if results else None
        thumb = "<span class='small'>-</span>"
        if fig and not Path(fig).is_absolute() and ".." not in Path(fig).parts:
            src = f"{base}/{urllib.parse.quote(fig)}"
            thumb = f"<a href='{e(src)}'><img class='key' src='{e(src)}' alt='{e(name)} key figure'></a>"
        links = " · ".join(f"<a href='{e(base + '/' + urllib.parse.quote(f))}'>{e(label)}</a>"
                           for f, label in ((f"{name}.html", "report"), (f"{name}.ipynb", "notebook"),
                                            ("metrics.json", "metrics.json")))
        problem = _problem(r)
        rows.append(
            f"<tr><td><b>{e(name)}</b><br><span class='small'>{e(str(r.get('notebook') or ''))}</span><br>{links}</td>"
            f"<td><span class='badge {badge_class}'>{e(status)}</span>{' <span class=small>(cached)</span>' if r.get('skipped') else ''}"
            + (f"<div class='problem'>{e(problem)}</div>" if problem else "") +
            f"</td><td>{e(_duration(r))}</td><td><ul class='h'>{''.join(items)}</ul></td>"
            f"<td>{e(_published(results))}</td><td>{thumb}</td></tr>")
    pk = ", ".join(f"{e(str(k))} {e(str(v))}" for k, v in prov["packages"].items())
    elsewhere = f"<p class='small'>{e(_not_in_plan(others))}</p>" if others else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>embedlab - {e(profile)}</title>
<style>{_CSS}</style></head><body>
<h1>embedlab reports: profile <code>{e(profile)}</code></h1>
<p>git commit <code>{e(str(prov['git_commit']))}</code><br><span class="small">{pk}</span></p>
<p class="small">Status: <span class="badge ok">ok</span> everything ran; <span class="badge partial">partial</span>
something was unavailable or a headline is flagged; <span class="badge failed">failed</span> a cell raised;
<span class="badge interrupted">interrupted</span> the run was killed or its record is unreadable;
<span class="badge queued">queued</span> / <span class="badge running">running</span> in progress now.</p>
<table><tr><th>run</th><th>status</th><th>duration / budget</th><th>headline comparisons (95% CI, n, reference)</th>
<th>published</th><th>key figure</th></tr>
{''.join(rows)}</table>
{elsewhere}
<p class="small">Each run folder holds the executed notebook, its HTML, figures, tables and metrics.json (with provenance).</p>
</body></html>
"""
