"""Run plans: execute notebooks headless with papermill into ``reports/<profile>/``.

A plan (``plans/<profile>.yaml``) lists runs: a name, a notebook and its parameters. Parameters are
checked against ``papermill.inspect_notebook`` before anything runs. Each run leaves the executed
notebook, an HTML rendering, figures, ``metrics.json`` and ``run.json``; the profile gets
``index.html``, ``summary.md`` and ``summary.json``. A run whose notebook, parameters, library code
and asset registry are unchanged is skipped (content hash) unless ``force``.
"""
from __future__ import annotations

import ast
import dataclasses
import difflib
import hashlib
import html
import json
import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable

import yaml

from . import assets, report

PLANS_DIR = assets.PROJECT_ROOT / "plans"
REPORTS_DIR = assets.PROJECT_ROOT / "reports"
KERNEL_NAME = "embedlab"
HASHED_TREES = ("lib/embedlab", "data")


class PlanError(ValueError):
    """A plan or its parameters are wrong; raised before anything runs."""


@dataclasses.dataclass
class RunSpec:
    """One notebook run of a plan."""

    name: str
    notebook: str
    parameters: dict[str, Any]
    budget_s: float | None = None
    profile: str = ""
    out_dir: str = ""
    kernel: str = KERNEL_NAME
    content_hash: str = ""


# --------------------------------------------------------------------------- plans

def profiles(plans_dir: Path = PLANS_DIR) -> list[str]:
    """Profiles that have a plan file."""
    return sorted(p.stem for p in Path(plans_dir).glob("*.yaml"))


def load_plan(profile: str, plans_dir: Path = PLANS_DIR, reports_dir: Path = REPORTS_DIR,
              kernel: str = KERNEL_NAME) -> list[RunSpec]:
    """Read and validate ``plans/<profile>.yaml``."""
    path = Path(plans_dir) / f"{profile}.yaml"
    if not path.exists():
        raise PlanError(f"unknown profile {profile!r}; known profiles: {', '.join(profiles(plans_dir)) or '(none)'}")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    runs = doc.get("runs") or []
    if not runs:
        raise PlanError(f"plan {path} lists no runs")
    specs, seen = [], set()
    for r in runs:
        unknown = set(r) - {"name", "notebook", "parameters", "budget_s"}
        if unknown:
            raise PlanError(f"run {r.get('name')!r} in {path.name}: unknown key(s) {sorted(unknown)}; "
                            "allowed: name, notebook, parameters, budget_s")
        name = r.get("name") or Path(r["notebook"]).stem
        if name in seen:
            raise PlanError(f"run name {name!r} appears twice in {path.name}")
        seen.add(name)
        nb = assets.PROJECT_ROOT / r["notebook"]
        if not nb.exists():
            raise PlanError(f"run {name!r}: notebook {r['notebook']} does not exist")
        specs.append(RunSpec(name=name, notebook=str(nb), parameters=dict(r.get("parameters") or {}),
                             budget_s=r.get("budget_s"), profile=profile,
                             out_dir=str(Path(reports_dir) / profile / name), kernel=kernel))
    return specs


def validate_parameters(spec: RunSpec) -> None:
    """Check names (and simple types) of a run's parameters against the notebook's ``parameters`` cell."""
    import papermill

    declared = papermill.inspect_notebook(spec.notebook)
    if not declared:
        raise PlanError(f"run {spec.name!r}: {Path(spec.notebook).name} has no cell tagged 'parameters'")
    for key, value in spec.parameters.items():
        if key not in declared:
            close = difflib.get_close_matches(key, declared, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PlanError(f"run {spec.name!r}: unknown parameter {key!r}{hint} for {Path(spec.notebook).name}; "
                            f"valid parameters: {', '.join(declared)}")
        want = declared[key].get("inferred_type_name", "None")
        if want == "None":  # unannotated: infer from the default literal
            try:
                want = type(ast.literal_eval(declared[key].get("default", "None"))).__name__
            except (ValueError, SyntaxError):
                want = "None"
        if not _type_ok(want, value):
            raise PlanError(f"run {spec.name!r}: parameter {key!r} should be {want} (notebook default "
                            f"{declared[key].get('default')}), got {type(value).__name__} {value!r}")


def _type_ok(want: str, value: Any) -> bool:
    simple = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list,), "dict": (dict,)}
    if want not in simple or value is None:
        return True  # complex or unannotated: accept
    if want == "int" and isinstance(value, bool):
        return False
    return isinstance(value, simple[want])


def content_hash(spec: RunSpec, root: Path = assets.PROJECT_ROOT) -> str:
    """Hash of everything a run's result depends on: notebook, parameters, library code, data files."""
    h = hashlib.sha256()
    h.update(Path(spec.notebook).read_bytes())
    h.update(json.dumps(spec.parameters, sort_keys=True, default=str).encode())
    h.update(spec.kernel.encode())
    for tree in HASHED_TREES:
        for p in sorted((root / tree).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".yaml", ".yml", ".json", ".tsv"):
                h.update(str(p.relative_to(root)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- execution

def check_kernel(name: str) -> None:
    """Fail early, with the fix, when the named Jupyter kernel is not registered."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if name not in specs:
        raise PlanError(f"Jupyter kernel {name!r} is not registered (found: {', '.join(sorted(specs)) or 'none'}). "
                        f"Register it with: python -m ipykernel install --sys-prefix --name {name} "
                        f"--display-name 'Python ({name})'  (make kernel does this)")


def execute_run(spec: RunSpec) -> dict[str, Any]:
    """Execute one run with papermill; never raises: failures are returned in the result."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    out = Path(spec.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("metrics.json", "run.json"):
        (out / stale).unlink(missing_ok=True)
    env_keys = {"EMBEDLAB_RUN_DIR": str(out), "EMBEDLAB_RUN_NAME": spec.name, "EMBEDLAB_PROFILE": spec.profile,
                "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "TOKENIZERS_PARALLELISM": "false",
                # idle OpenMP threads yield instead of spinning: a 2-CPU box with busy neighbours slows >10x otherwise
                "OMP_WAIT_POLICY": "PASSIVE"}
    saved = {k: os.environ.get(k) for k in env_keys}
    os.environ.update(env_keys)
    result: dict[str, Any] = {"name": spec.name, "notebook": os.path.relpath(spec.notebook, assets.PROJECT_ROOT),
                              "parameters": spec.parameters, "status": "ok", "error": None, "failed_cell": None,
                              "content_hash": spec.content_hash, "budget_s": spec.budget_s}
    executed = out / f"{spec.name}.ipynb"
    t0 = time.time()
    try:
        papermill.execute_notebook(spec.notebook, str(executed), parameters=spec.parameters, kernel_name=spec.kernel,
                                   cwd=str(Path(spec.notebook).parent), progress_bar=False, log_output=False,
                                   request_save_on_cell_execute=True)
    except PapermillExecutionError as exc:
        result.update(status="failed", error=f"{exc.ename}: {exc.evalue}",
                      failed_cell={"execution_count": exc.exec_count, "source": (exc.source or "")[:400]})
    except Exception as exc:  # kernel died, notebook unreadable, ...
        result.update(status="failed", error=f"{type(exc).__name__}: {exc}", failed_cell=None,
                      traceback=traceback.format_exc(limit=5))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    result["duration_s"] = round(time.time() - t0, 1)
    if executed.exists():
        try:
            _to_html(executed, out / f"{spec.name}.html")
        except Exception as exc:
            result["html_error"] = f"{type(exc).__name__}: {exc}"
    metrics_path = out / "metrics.json"
    result["metrics"] = json.loads(metrics_path.read_text()).get("metrics", {}) if metrics_path.exists() else {}
    (out / "run.json").write_text(json.dumps(result, indent=2, default=str))
    return result


def _to_html(ipynb: Path, dest: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(str(ipynb), as_version=4))
    dest.write_text(body, encoding="utf-8")


def _execute_many(specs: list[RunSpec], jobs: int, executor: str, scheduler: str | None,
                  on_done: Callable[[dict], None]) -> list[dict]:
    if executor == "dask":
        from distributed import Client, as_completed

        if not scheduler:
            raise PlanError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
        with Client(scheduler) as client:
            futures = client.map(execute_run, specs, pure=False, key=[f"embedlab-{s.profile}-{s.name}" for s in specs])
            results = []
            for fut in as_completed(futures):
                r = fut.result()
                on_done(r)
                results.append(r)
            return results
    if executor != "local":
        raise PlanError(f"unknown executor {executor!r}; allowed: local, dask")
    if jobs <= 1:
        results = []
        for s in specs:
            r = execute_run(s)
            on_done(r)
            results.append(r)
        return results
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = []
        for r in pool.map(execute_run, specs):
            on_done(r)
            results.append(r)
        return results


def run_profile(profile: str, only: list[str] | None = None, jobs: int = 1, force: bool = False,
                executor: str = "local", scheduler: str | None = None, kernel: str = KERNEL_NAME,
                plans_dir: Path = PLANS_DIR, reports_dir: Path = REPORTS_DIR,
                echo: Callable[[str], None] = print) -> list[dict]:
    """Validate, then execute a profile's runs; write the index and summary. Returns one result per run."""
    specs = load_plan(profile, plans_dir, reports_dir, kernel)
    if only:
        names = [s.name for s in specs]
        missing = [o for o in only if o not in names]
        if missing:
            raise PlanError(f"--only {', '.join(missing)}: not in profile {profile!r}; runs: {', '.join(names)}")
        specs = [s for s in specs if s.name in only]
    for s in specs:
        validate_parameters(s)
    check_kernel(kernel)
    todo, results = [], []
    for s in specs:
        s.content_hash = content_hash(s)
        prev = Path(s.out_dir) / "run.json"
        if not force and prev.exists():
            old = json.loads(prev.read_text())
            if old.get("status") == "ok" and old.get("content_hash") == s.content_hash:
                old["skipped"] = True
                results.append(old)
                echo(f"[skip] {s.name}: unchanged since last run ({old.get('duration_s')} s)")
                continue
        todo.append(s)
    if todo:
        echo(f"running {len(todo)} notebook(s) of profile {profile!r} with {executor} executor, jobs={jobs}")

    def done(r: dict) -> None:
        mark = "ok" if r["status"] == "ok" else "FAILED"
        over = " (over budget)" if r.get("budget_s") and r["duration_s"] > r["budget_s"] else ""
        echo(f"[{mark}] {r['name']}: {r['duration_s']} s{over}" + (f" - {r['error']}" if r["error"] else ""))

    results += _execute_many(todo, jobs, executor, scheduler, done)
    order = {s.name: i for i, s in enumerate(specs)}
    results.sort(key=lambda r: order.get(r["name"], 1 << 30))
    write_summary(profile, Path(reports_dir) / profile)
    return results


# --------------------------------------------------------------------------- summary

def _headline(metrics: dict, n: int = 6) -> dict:
    flat = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return dict(list(flat.items())[:n])


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def write_summary(profile: str, profile_dir: Path) -> None:
    """Write ``summary.json``, ``summary.md`` and ``index.html`` over every run directory of a profile."""
    runs = []
    for rj in sorted(profile_dir.glob("*/run.json")):
        runs.append(json.loads(rj.read_text()))
    (profile_dir / "summary.json").write_text(json.dumps(runs, indent=2, default=str))
    prov = report.provenance()
    lines = [f"# embedlab reports: profile `{profile}`", "",
             f"git commit `{prov['git_commit']}`; " + ", ".join(f"{k} {v}" for k, v in prov["packages"].items()
                                                                 if k in ("python", "torch", "transformers", "gensim")), "",
             "| run | status | duration (s) | parameters | headline metrics |", "|---|---|---|---|---|"]
    for r in runs:
        status = r["status"] + (" (cached)" if r.get("skipped") else "")
        if r["status"] != "ok":
            cell = r.get("failed_cell") or {}
            status += f": {r.get('error')}" + (f" in cell [{cell.get('execution_count')}]" if cell else "")
        params = ", ".join(f"{k}={v}" for k, v in r["parameters"].items())
        head = ", ".join(f"{k}={_fmt(v)}" for k, v in _headline(r.get("metrics", {})).items())
        lines.append(f"| [{r['name']}]({r['name']}/{r['name']}.html) | {status} | {r['duration_s']} | {params} | {head} |")
    (profile_dir / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")

    rows = []
    for r in runs:
        ok = r["status"] == "ok"
        cell = r.get("failed_cell") or {}
        err = "" if ok else html.escape(f"{r.get('error')}" + (f" (cell [{cell.get('execution_count')}])" if cell else ""))
        metrics = "<br>".join(f"{html.escape(k)} = {_fmt(v)}" for k, v in _headline(r.get("metrics", {}), 10).items())
        params = "<br>".join(f"{html.escape(k)} = {html.escape(str(v))}" for k, v in r["parameters"].items())
        figs = sorted((profile_dir / r["name"] / "figures").glob("*.png"))
        thumbs = "".join(f'<a href="{r["name"]}/figures/{f.name}"><img src="{r["name"]}/figures/{f.name}" height="70"></a>'
                         for f in figs[:4])
        rows.append(f"<tr class='{'ok' if ok else 'fail'}'><td><a href='{r['name']}/{r['name']}.html'>{html.escape(r['name'])}</a>"
                    f"<br><small>{html.escape(r['notebook'])}</small></td><td>{r['status']}{' (cached)' if r.get('skipped') else ''}"
                    f"<br><small>{err}</small></td><td>{r['duration_s']}</td><td><small>{params}</small></td>"
                    f"<td><small>{metrics}</small></td><td>{thumbs}</td></tr>")
    pk = ", ".join(f"{html.escape(k)} {html.escape(v)}" for k, v in prov["packages"].items())
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>embedlab - {profile}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:6px;vertical-align:top}}
tr.fail{{background:#fdd}}tr.ok td:nth-child(2){{color:#060}}</style></head><body>
<h1>embedlab reports: profile <code>{html.escape(profile)}</code></h1>
<p>git commit <code>{html.escape(prov['git_commit'])}</code><br><small>{pk}</small></p>
<table><tr><th>run</th><th>status</th><th>duration (s)</th><th>parameters</th><th>headline metrics</th><th>figures</th></tr>
{''.join(rows)}</table><p>Each run directory holds the executed notebook, its HTML, figures and metrics.json (with provenance).</p>
</body></html>"""
    (profile_dir / "index.html").write_text(page, encoding="utf-8")
