"""Cold run against the cached rerun: ``embedlab run`` with a fresh embedding cache, then again with the cache it
filled (``--force``: every notebook executes again, reusing the embeddings and the trained results of
:mod:`embedlab.memo`), then once more with one evaluation parameter changed. It also checks that the warm pass's
numbers (every metric and headline, clock metrics aside) equal the cold pass's: a reused result must be the one the
code computes.

Targets (issue 18): the warm rerun of the default profile takes at most 40% of the cold run; a rerun of the Turkish
run that changes only an evaluation parameter at most 25% of that run's cold time. Nothing else is shared between
the passes: each writes its reports into its own temporary folder; the embedding cache is a temporary folder too
(``EMBEDLAB_EMBEDDING_CACHE``), so the user's cache is neither used nor touched. Each pass is one ``embedlab run`` in a
subprocess (``OMP_WAIT_POLICY=PASSIVE``), timed from outside; the runs' own timings (``metrics.json``) are printed
beside. The passes cannot be interleaved (the warm one needs the cold one's cache): ``--repeats`` repeats the
cold-warm-changed sequence, each time with a fresh cache, and the spread is printed.

    python benchmarks/rerun_speed.py                                    # the default Turkish run
    python benchmarks/rerun_speed.py --all                              # the whole default profile
    python benchmarks/rerun_speed.py --profile smoke --run static_vs_contextual_tr --change "hidden_sizes=[2, 8]"
"""
from __future__ import annotations

import os

os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import argparse  # noqa: E402
import ast  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402

from _common import load_average, ratio, spread  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"warm": 0.40, "changed": 0.25}


def changed_plan(profile: str, run: str, change: str, folder: Path) -> Path:
    """A copy of the plan in ``folder`` with ``change`` (``name=python-literal``) set in ``run``'s parameters."""
    plan = yaml.safe_load((ROOT / "plans" / f"{profile}.yaml").read_text(encoding="utf-8"))
    key, value = change.split("=", 1)
    hits = [r for r in plan["runs"] if r.get("name") == run]
    if not hits:
        raise SystemExit(f"no run {run!r} in plans/{profile}.yaml")
    hits[0].setdefault("parameters", {})[key.strip()] = ast.literal_eval(value.strip())
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{profile}.yaml").write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return folder


def embedlab_run(profile: str, runs: list[str] | None, reports: Path, env: dict, plans: Path | None = None) -> float:
    """One ``embedlab run --force``, timed; its output goes to ``reports/run.log``."""
    cmd = [sys.executable, "-m", "embedlab.cli", "run", "--profile", profile, "--force", "--reports-dir", str(reports)]
    cmd += ["--only", *runs] if runs else []
    cmd += ["--plans-dir", str(plans)] if plans else []
    reports.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(reports / "run.log", "w") as log:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"  (exit {proc.returncode}; see {reports / 'run.log'})")
    return seconds


def run_timings(reports: Path, profile: str) -> dict[str, dict]:
    """Each run's ``timings`` from its metrics.json."""
    out = {}
    for m in sorted((reports / profile).glob("*/metrics.json")):
        out[m.parent.name] = json.loads(m.read_text()).get("timings", {})
    return out


def run_durations(reports: Path, profile: str) -> dict[str, float]:
    """Each run's duration (``run.json``, the runner's own clock)."""
    out = {}
    for r in sorted((reports / profile).glob("*/run.json")):
        out[r.parent.name] = json.loads(r.read_text()).get("duration_s") or float("nan")
    return out


#: metrics that measure the machine, not the method (latencies, wall times): not compared between passes
CLOCK_WORDS = ("latency", "seconds", "ms_per", "time", "_s", "throughput", "tok/s")


def same_numbers(a: Path, b: Path, profile: str) -> list[str]:
    """Runs whose metrics or headline values differ between two passes (clock metrics aside), with the first keys."""
    out = []
    for m in sorted((a / profile).glob("*/metrics.json")):
        other = b / profile / m.parent.name / "metrics.json"
        if not other.exists():
            continue
        x, y = json.loads(m.read_text()), json.loads(other.read_text())
        mx, my = x.get("metrics", {}), y.get("metrics", {})
        keys = [k for k in sorted(set(mx) | set(my)) if not any(w in k.lower() for w in CLOCK_WORDS)
                and repr(mx.get(k)) != repr(my.get(k))]
        hx = {h["key"]: (h["value"], h.get("ci")) for h in x.get("headlines", [])}
        hy = {h["key"]: (h["value"], h.get("ci")) for h in y.get("headlines", [])}
        keys += [f"headline {k}" for k in sorted(set(hx) | set(hy)) if repr(hx.get(k)) != repr(hy.get(k))]
        if keys:
            out.append(f"{m.parent.name}: {len(keys)} differ ({', '.join(keys[:4])})")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--run", default="static_vs_contextual_tr", help="the run to time (and change)")
    ap.add_argument("--all", action="store_true", help="time the whole profile (the change still goes to --run)")
    ap.add_argument("--change", default="analogy_methods=['3cosmul']",
                    help="an evaluation parameter of --run for the changed rerun, as name=python-literal ('' : none)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--keep", help="keep the reports and the cache in this folder (default: a temporary one)")
    args = ap.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="embedlab-rerun-"))
    runs = None if args.all else [args.run]
    times: dict[str, list[float]] = {"cold": [], "warm": [], "changed": []}
    print(f"profile {args.profile}, {'every run' if args.all else args.run}; load average {load_average()}; "
          f"working in {base}")
    for rep in range(args.repeats):
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "EMBEDLAB_TRAINED_CACHE": "on",
               "EMBEDLAB_EMBEDDING_CACHE": str(base / f"cache-{rep}")}           # a fresh embedding cache
        for kind in ("cold", "warm"):
            times[kind].append(embedlab_run(args.profile, runs, base / f"{kind}-{rep}", env))
            print(f"  {kind} #{rep + 1}: {times[kind][-1]:.1f} s")
        if args.change:
            plans = changed_plan(args.profile, args.run, args.change, base / f"plans-{rep}")
            times["changed"].append(embedlab_run(args.profile, [args.run], base / f"changed-{rep}", env, plans))
            print(f"  changed ({args.change}) #{rep + 1}: {times['changed'][-1]:.1f} s")
    for kind, t in times.items():
        if t:
            print(f"{kind}: {spread(t)}")
    share = [w / c for w, c in zip(times["warm"], times["cold"])]
    print(f"warm / cold: {statistics.median(share):.0%} (repeats {min(share):.0%}-{max(share):.0%}; target <= "
          f"{TARGETS['warm']:.0%}); cold / warm {ratio(times['cold'], times['warm'])}")
    if times["changed"]:
        cold_run = times["cold"]
        if args.all:                          # the changed pass ran one run: compare with that run's cold time
            cold_run = [run_durations(base / f"cold-{r}", args.profile).get(args.run, c)
                        for r, c in enumerate(times["cold"])]
        share = [c / r for c, r in zip(times["changed"], cold_run)]
        print(f"changed {args.run} / its cold time: {statistics.median(share):.0%} (repeats {min(share):.0%}-"
              f"{max(share):.0%}; target <= {TARGETS['changed']:.0%})")
    cold, warm = run_durations(base / "cold-0", args.profile), run_durations(base / "warm-0", args.profile)
    print(f"per run, first repeat (run.json): {'run':<28} {'cold s':>8} {'warm s':>8} {'warm/cold':>9}")
    for run, c in cold.items():
        w = warm.get(run, float("nan"))
        print(f"  {run:<52} {c:8.1f} {w:8.1f} {w / c:9.0%}")
    print(f"  {'sum of runs':<52} {sum(cold.values()):8.1f} {sum(warm.values()):8.1f} "
          f"{sum(warm.values()) / sum(cold.values()):9.0%}")
    diff = same_numbers(base / "cold-0", base / "warm-0", args.profile)
    print("warm numbers equal the cold ones (every metric and headline, clock metrics aside): "
          + ("yes" if not diff else "NO\n  " + "\n  ".join(diff)))
    for kind in ("cold", "warm", "changed"):
        for run, t in run_timings(base / f"{kind}-0", args.profile).items():
            top = {k: round(v, 1) for k, v in t.items() if "/" not in k}
            print(f"  {kind} {run}: {top}")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
