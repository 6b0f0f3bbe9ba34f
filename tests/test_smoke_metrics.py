"""Each smoke run's key numbers (metrics or headline values) equal their pins in tests/smoke_pins.yaml, within a
tolerance: a silent change in a number fails here, as MTEB's test_evaluate pins its scores.

The runs' outputs come from the session's one smoke run (the ``smoke_run`` fixture); nothing is run again. A change
that moves numbers on purpose re-records the pins from a fresh smoke run of the changed code:

    embedlab run --profile smoke && python tests/test_smoke_metrics.py reports/smoke

which rewrites the values in smoke_pins.yaml in place (keys, tolerances and comments stay); commit the diff with the
change that explains it. ``EMBEDLAB_SMOKE_REPORTS=reports/smoke pytest tests/test_smoke_metrics.py`` checks an
existing smoke run against the pins without running it again.
"""
from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pytest
import yaml

PINS = Path(__file__).with_name("smoke_pins.yaml")
PLAN = Path(__file__).resolve().parents[1] / "plans" / "smoke.yaml"


def load_pins(path: Path = PINS) -> dict[str, dict]:
    """``{run: {"tolerance": {"abs": .., "rel": ..}, "metrics": {key: value}}}``."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def smoke_plan() -> dict[str, dict]:
    """The smoke profile's runs and their parameters."""
    return {r["name"]: r.get("parameters") or {} for r in yaml.safe_load(PLAN.read_text(encoding="utf-8"))["runs"]}


def numbers(doc: dict) -> dict[str, float]:
    """A metrics.json's numbers by key: its metrics, and its headlines' values (a difference is often only there)."""
    return {**{h["key"]: h["value"] for h in doc.get("headlines") or []}, **doc["metrics"]}


def off_pins(metrics: dict, pinned: dict) -> list[str]:
    """Pinned metrics that are missing or further from their pin than the tolerance allows."""
    tol = pinned.get("tolerance") or {}
    bad = []
    for key, want in pinned["metrics"].items():
        got = metrics.get(key)
        if not isinstance(got, (int, float)):
            bad.append(f"{key}: {got!r}, pinned {want!r}")
        elif not math.isclose(got, want, abs_tol=tol.get("abs", 0.0), rel_tol=tol.get("rel", 0.0)):
            bad.append(f"{key}: {got!r}, pinned {want!r} (differs by {got - want:.3g}; tolerance {tol})")
    return bad


def test_every_smoke_run_has_pins():
    pins, plan = load_pins(), smoke_plan()
    assert set(pins) == set(plan), f"runs without pins: {sorted(set(plan) - set(pins))}; " \
                                   f"pins without a run: {sorted(set(pins) - set(plan))}"
    assert all(3 <= len(p["metrics"]) <= 8 for p in pins.values())


def test_off_pins_reports_a_moved_number_and_a_missing_one():
    pinned = {"tolerance": {"abs": 1e-6}, "metrics": {"a": 0.5, "b": 2, "c": 1.0}}
    assert off_pins({"a": 0.5 + 5e-7, "b": 2, "c": 1.0}, pinned) == []
    bad = off_pins({"a": 0.5001, "b": 2}, pinned)
    assert len(bad) == 2 and bad[0].startswith("a: 0.5001, pinned 0.5") and bad[1] == "c: None, pinned 1.0"


@pytest.mark.slow
@pytest.mark.parametrize("run", sorted(smoke_plan()))
def test_smoke_metrics_match_their_pins(smoke_run, run):
    path, p = smoke_run.folder / run / "metrics.json", smoke_run.process
    assert path.exists(), f"{run}: no metrics.json\n{p.stdout[-3000:]}{p.stderr[-3000:]}"
    doc = json.loads(path.read_text(encoding="utf-8"))
    planned = json.loads(json.dumps(smoke_plan()[run]))             # JSON's view: tuples as lists
    assert {k: doc["parameters"].get(k) for k in planned} == planned, \
        f"{run}: not run with the smoke plan's parameters, so the pins do not apply"
    bad = off_pins(numbers(doc), load_pins()[run])
    assert not bad, f"{run}: metrics moved from their pins (re-record them if the change is meant):\n" + "\n".join(bad)


def _yaml_number(value: float | int) -> str:
    text = repr(value)        # shortest text that reads back as the same float
    return text.replace("e", ".0e") if "e" in text and "." not in text else text   # YAML 1.1 floats need a dot


def rerecord(folder: Path, path: Path = PINS) -> list[str]:
    """Rewrite the pinned values in ``path`` with those of the smoke run in ``folder``; returns what changed.

    Line by line, so comments, keys and tolerances stay as written.
    """
    lines, metrics, depth, changed = path.read_text(encoding="utf-8").splitlines(keepends=True), {}, None, []
    for i, line in enumerate(lines):
        if m := re.match(r"([A-Za-z_][\w-]*):\s*(#.*)?$", line):                 # a run
            run, depth = m.group(1), None
            metrics = numbers(json.loads((folder / run / "metrics.json").read_text(encoding="utf-8")))
        elif m := re.match(r"(\s+)metrics:\s*(#.*)?$", line):                    # its pinned metrics follow
            depth = len(m.group(1))
        elif depth is not None and (m := re.match(r"(\s+)([^\s#][^#]*?):\s+(\S+)(\s*#.*)?$", line)):
            indent, key, old, comment = m.groups()
            if len(indent) <= depth:
                depth = None
                continue
            new = _yaml_number(metrics[yaml.safe_load(key)])
            if new != old:
                changed.append(f"{run} {key}: {old} -> {new}")
            lines[i] = f"{indent}{key}: {new}{comment or ''}\n"
    path.write_text("".join(lines), encoding="utf-8")
    return changed


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/test_smoke_metrics.py REPORTS/smoke   (re-records tests/smoke_pins.yaml)")
    print("\n".join(rerecord(Path(sys.argv[1]))) or "no pinned value changed")
