"""A run's records: ``run.json`` (the runner's, written atomically) and ``metrics.json`` (the notebook's, read
only through :meth:`Results.from_dict <embedlab.study.Results.from_dict>`). An unreadable record means "rerun".
"""
from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from ..study import Results
from ..util import atomic_write, pid_alive

#: what a run record and ``summary.json`` carry of a run's results (``Results.to_dict``'s keys)
RESULT_KEYS = ("schema_version", "metrics", "headlines", "flags", "unavailable", "key_figure", "published")
#: statuses of a run that ended (its metrics.json, if any, is its own)
ENDED = ("ok", "partial", "failed")
NO_METRICS = "the notebook wrote no readable metrics.json"


def read_record(path: Path) -> dict | None:
    """A JSON record (``run.json``) as a dict, or None when missing, truncated or not a mapping."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def write_record(path: Path, doc: Any) -> None:
    """Write a JSON record atomically (a reader, or a kill, never sees half of it)."""
    atomic_write(path, json.dumps(doc, indent=2, default=str))


def record_status(rec: dict) -> str:
    """A run record's status as shown: a "running" record whose process is gone was interrupted."""
    status = rec.get("status") or "interrupted"
    if status in ("running", "queued") and not (rec.get("host") == socket.gethostname() and pid_alive(rec.get("pid"))):
        return "interrupted"
    return status


def read_results(doc_or_path: dict | Path | None) -> Results | None:
    """The results in a ``metrics.json`` (a path) or a run record (a dict), or None when there are none readable."""
    doc = read_record(doc_or_path) if isinstance(doc_or_path, Path) else doc_or_path
    try:
        return None if doc is None else Results.from_dict(doc)
    except ValueError:
        return None


def outcome(results: Results | None) -> tuple[str, list[str]]:
    """An executed run's status and why it is partial: the results' own status, or partial without any."""
    if results is None:
        return "partial", [NO_METRICS]
    return results.status, results.partial_reasons()


def result_fields(results: Results | None) -> dict[str, Any]:
    """The :data:`RESULT_KEYS` of the results (empty values when there are none)."""
    doc = (results or Results("")).to_dict()
    return {k: doc[k] for k in RESULT_KEYS}
