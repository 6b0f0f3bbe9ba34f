"""Execution: each run's notebook executed headless with papermill into ``reports/<profile>/<run>/``.

Each run's kernel gets its own environment (run folder, progress log, seeds, quiet progress bars; the process's
``os.environ`` is never changed), so runs may share a process (Dask threads). A run's folder is emptied when it
starts and its ``run.json`` says queued / running until it ends as ok, partial (its results' status), failed or
interrupted. Only an ok run whose notebook, parameters, library code, asset registry, mirror, result-changing
settings, user files and models are unchanged is skipped (content hash, :mod:`.identity`) unless ``force``.

A run's record carries a token that its kernel also gets (``EMBEDLAB_RUN_TOKEN``): a process left over from an
earlier runner (killed) sees that the folder's record is no longer its own and writes nothing more there.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sys
import threading
import time
import traceback
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable

from .. import assets, paths
from ..util import atomic_write
from . import guard, identity
from .plans import (KERNEL_NAME, PLANS_DIR, REPORTS_DIR, PlanError, RunSpec, load_plan, mirror_or_plan_error, select,
                    shown, validate_parameters)
from .records import outcome, read_record, read_results, result_fields, write_record
from .summary import write_summary

HASHED_TREES = ("lib/embedlab", "data")
#: per-run kernel settings the runner sets itself (never taken from the client's environment)
RUN_KEYS = ("EMBEDLAB_RUN_DIR", "EMBEDLAB_RUN_NAME", "EMBEDLAB_PROFILE", "EMBEDLAB_PROGRESS_LOG", "EMBEDLAB_RUN_TOKEN")
#: the client's settings every kernel gets, wherever it runs (a Dask worker has its own environment)
FORWARDED = ("EMBEDLAB_", "HF_")
DASK_CONNECT_S = 5


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


def content_hash(spec: RunSpec, root: Path = paths.ROOT) -> str:
    """Hash of everything a run's result depends on: notebook, parameters, library code, data files, which asset
    sources it can reach (the mirror setting and whether it exists), the settings that change results and the
    sha256 of every user file it reads (the models it used are added by :func:`with_models`)."""
    h = hashlib.sha256()
    h.update(Path(spec.notebook).read_bytes())
    h.update(json.dumps(spec.parameters, sort_keys=True, default=str).encode())
    h.update(spec.kernel.encode())
    h.update(_mirror_state().encode())
    for line in identity.settings(kernel_env(spec)) + identity.user_files(spec):
        h.update(line.encode() + b"\n")
    for tree in HASHED_TREES:
        for p in sorted((root / tree).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".yaml", ".yml", ".json", ".tsv"):
                h.update(str(p.relative_to(root)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()


def with_models(base: str, models: list[str], env: dict[str, str]) -> str:
    """The content hash with the Hugging Face commit each of ``models`` resolves to now (``base`` when none)."""
    if not models:
        return base
    return hashlib.sha256("\n".join([base, *identity.model_commits(models, env)]).encode()).hexdigest()


def check_kernel(name: str) -> None:
    """Fail early, with the fix, when the named Jupyter kernel is not registered."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if name not in specs:
        raise PlanError(f"Jupyter kernel {name!r} is not registered (found: {', '.join(sorted(specs)) or 'none'}). "
                        f"Register it with: python -m ipykernel install --sys-prefix --name {name} "
                        f"--display-name 'Python ({name})'  (make kernel does this)")


def kernel_env(spec: RunSpec, base: dict[str, str] | None = None, token: str = "") -> dict[str, str]:
    """The complete environment of one run's kernel: ``base`` (default ``os.environ``, never modified), the run's
    own settings (``spec.env``: the client's ``EMBEDLAB_*`` and ``HF_*``, the mirror), then the run's folder, name
    and token, determinism and quiet-progress settings. Matplotlib keeps its inline backend."""
    out = Path(spec.out_dir)
    env = dict(os.environ if base is None else base)
    env.pop("MPLBACKEND", None)  # figures are shown inline in the notebook (and so in its HTML)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads yield: busy 2-CPU boxes slow >10x otherwise
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning,ignore::FutureWarning")
    env.update(spec.env)
    env.update({"EMBEDLAB_RUN_DIR": str(out), "EMBEDLAB_RUN_NAME": spec.name, "EMBEDLAB_PROFILE": spec.profile,
                "EMBEDLAB_PROGRESS_LOG": str(out / "progress.log"), "EMBEDLAB_RUN_TOKEN": token,
                "PYTHONHASHSEED": "0", "TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                "TRANSFORMERS_VERBOSITY": "error", "TOKENIZERS_PARALLELISM": "false"})
    return env


def client_env(plan_dir: Path) -> dict[str, str]:
    """What every kernel of a profile gets from the runner's own environment (:data:`FORWARDED`: the Dask
    executor's workers have their own), and where stray relative user paths resolve: the plan's folder."""
    env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED) and k not in RUN_KEYS}
    env["EMBEDLAB_USER_ROOT"] = str(plan_dir)
    return env


def _ours(out: Path, token: str) -> bool:
    """Whether the run folder's record is still this execution's (a newer runner has not taken the folder over)."""
    rec = read_record(out / "run.json")
    return rec is not None and rec.get("token") == token


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
                                     kernel_log=None, **kwargs):
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                                 kernel_name=kernel_name, log_output=log_output, stdout_file=stdout_file,
                                 stderr_file=stderr_file)
            start = {k: v for k, v in (("env", kernel_env), ("cwd", kernel_cwd), ("stdout", kernel_log),
                                       ("stderr", kernel_log)) if v is not None}  # ipykernel's own lines: the log
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
    token = uuid.uuid4().hex
    result: dict[str, Any] = {"name": spec.name, "notebook": shown(Path(spec.notebook)), "profile": spec.profile,
                              "parameters": spec.parameters, "status": "running", "error": None, "failed_cell": None,
                              "content_hash": spec.content_hash, "budget_s": spec.budget_s, "duration_s": None,
                              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": socket.gethostname(),
                              "pid": os.getpid(), "token": token}
    write_record(out / "run.json", result)
    executed = out / f"{spec.name}.ipynb"
    t0 = time.time()
    watcher = _Monitor(spec, t0) if monitor else None
    if watcher:
        watcher.start()
    try:
        with open(out / "kernel.log", "ab") as kernel_log:  # not the terminal: "running over TCP", "KeyboardInterrupt"
            papermill.execute_notebook(spec.notebook, str(executed), parameters=spec.parameters,
                                       kernel_name=spec.kernel, engine_name=_engine(),
                                       kernel_env=kernel_env(spec, token=token), kernel_log=kernel_log,
                                       kernel_cwd=str(Path(spec.notebook).parent), progress_bar=False,
                                       log_output=False, request_save_on_cell_execute=True)
        result["status"] = "ok"
    except PapermillExecutionError as exc:
        result.update(status="failed", error=f"{exc.ename}: {exc.evalue}",
                      failed_cell={"execution_count": exc.exec_count, "source": (exc.source or "")[:400]})
    except KeyboardInterrupt:
        result.update(status="interrupted", error="interrupted", duration_s=round(time.time() - t0, 1))
        write_record(out / "run.json", result)
        raise
    except Exception as exc:  # kernel died, notebook unreadable, ...
        result.update(status="failed", error=f"{type(exc).__name__}: {exc}", failed_cell=None,
                      traceback=traceback.format_exc(limit=5))
    finally:
        if watcher:
            watcher.stop.set()
    result["duration_s"] = round(time.time() - t0, 1)
    if not _ours(out, token):  # a newer runner took the folder over: leave it alone
        return {**result, "status": "interrupted", "error": "superseded by a newer run of this profile"}
    if executed.exists():
        try:
            _to_html(executed, out / f"{spec.name}.html")
        except Exception as exc:  # the page is the report: a run without it did not succeed
            if result["status"] == "ok":
                result.update(status="failed", error=f"the report page {spec.name}.html could not be written: "
                                                     f"{type(exc).__name__}: {exc}")
            result["html_error"] = f"{type(exc).__name__}: {exc}"
    metrics = read_record(out / "metrics.json")
    results = read_results(metrics)
    result.update(result_fields(results))
    if result["status"] == "ok":
        result["status"], result["partial_reasons"] = outcome(results)
    result["models"] = identity.models(spec, metrics)
    result["content_hash"] = with_models(spec.content_hash, result["models"], kernel_env(spec))
    write_record(out / "run.json", result)
    return result


def _to_html(ipynb: Path, dest: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(str(ipynb), as_version=4))
    atomic_write(dest, body)


def dask_client(scheduler: str | None):
    """A client of the Dask scheduler at ``scheduler``; one that does not answer within :data:`DASK_CONNECT_S`
    seconds is a one-line :class:`PlanError`."""
    from distributed import Client

    if not scheduler:
        raise PlanError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    try:
        return Client(scheduler, timeout=DASK_CONNECT_S)
    except Exception as exc:
        why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise PlanError(f"--scheduler {scheduler}: no Dask scheduler answered within {DASK_CONNECT_S} s "
                        f"({why})") from None


def _execute_many(specs: list[RunSpec], jobs: int, client, on_done: Callable[[dict], None]) -> list[dict]:
    """Execute runs on a Dask ``client``, else here (``jobs`` 1) or in ``jobs`` local worker processes that end
    with this one (:func:`guard.worker_init`)."""
    results = []
    if client is not None:
        from distributed import as_completed

        futures = client.map(execute_run, specs, pure=False, key=[f"embedlab-{s.profile}-{s.name}" for s in specs])
        for fut in as_completed(futures):
            results.append(fut.result())
            on_done(results[-1])
        return results
    if jobs <= 1:
        for s in specs:
            results.append(execute_run(s))
            on_done(results[-1])
        return results
    keep = set(guard.descendants())
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=guard.worker_init, initargs=(os.getpid(),))
    try:
        for r in pool.map(execute_run, specs):
            results.append(r)
            on_done(r)
    except BaseException:  # Ctrl-C (the workers ignore it): stop them and their kernels before waiting for them
        guard.stop_descendants(keep=keep)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def _mark(spec: RunSpec, status: str) -> None:
    """A run record with only a status (queued, interrupted): no earlier results are shown for the run."""
    out = Path(spec.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_record(out / "run.json", {
        "name": spec.name, "notebook": shown(Path(spec.notebook)), "profile": spec.profile,
        "parameters": spec.parameters, "status": status, "error": None if status == "queued" else status,
        "failed_cell": None, "content_hash": "", "budget_s": spec.budget_s, "duration_s": None,
        "host": socket.gethostname(), "pid": os.getpid()})


def run_profile(profile: str, only: list[str] | None = None, jobs: int = 1, force: bool = False,
                executor: str = "local", scheduler: str | None = None, kernel: str = KERNEL_NAME,
                plans_dir: Path = PLANS_DIR, reports_dir: Path = REPORTS_DIR,
                echo: Callable[[str], None] = print) -> list[dict]:
    """Validate, then execute a profile's runs; write the index and summary. Returns one result per run.

    One runner at a time per profile and reports folder (:func:`guard.profile_lock`). On Ctrl-C the processes it
    started are stopped and its unfinished runs marked interrupted, then the KeyboardInterrupt propagates."""
    if jobs < 1:
        raise PlanError(f"--jobs must be at least 1, got {jobs}")
    if executor not in ("local", "dask"):
        raise PlanError(f"unknown executor {executor!r}; allowed: local, dask")
    if executor == "dask" and not scheduler:
        raise PlanError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    reports_dir, plans_dir = Path(reports_dir).resolve(), Path(plans_dir).resolve()
    plan = load_plan(profile, plans_dir, reports_dir, kernel)
    specs = select(plan, only, profile)
    for s in specs:
        validate_parameters(s)
    check_kernel(kernel)
    mirror = mirror_or_plan_error()
    with guard.profile_lock(reports_dir / profile, profile):
        client = dask_client(scheduler) if executor == "dask" else None
        try:
            return _run_locked(profile, plan, specs, jobs, force, client, mirror, plans_dir, reports_dir, echo)
        finally:
            if client is not None:
                client.close()


def _run_locked(profile: str, plan: list[RunSpec], specs: list[RunSpec], jobs: int, force: bool, client, mirror,
                plans_dir: Path, reports_dir: Path, echo: Callable[[str], None]) -> list[dict]:
    names = [s.name for s in plan]
    todo, results = [], []
    for s in specs:
        s.env = {**client_env(plans_dir), **s.env}
        if mirror is not None:
            s.env["EMBEDLAB_MIRROR"] = str(Path(mirror).resolve())
        s.content_hash = content_hash(s)
        old = None if force else read_record(Path(s.out_dir) / "run.json")
        if (old is not None and old.get("status") == "ok"
                and old.get("content_hash") == with_models(s.content_hash, old.get("models") or [], kernel_env(s))):
            old["skipped"] = True
            results.append(old)
            echo(f"[skip] {s.name}: unchanged since last run ({old.get('duration_s')} s)")
            continue
        todo.append(s)
    if todo:
        echo(f"running {len(todo)} notebook(s) of profile {profile!r} with "
             f"{'dask' if client is not None else 'local'} executor, jobs={jobs}")
    for s in todo:  # the index never shows an earlier result of a run that is about to be replaced
        _mark(s, "queued")
    write_summary(profile, reports_dir / profile, names)

    def done(r: dict) -> None:
        over = " (over budget)" if r.get("budget_s") and (r.get("duration_s") or 0) > r["budget_s"] else ""
        why = r["error"] or "; ".join(r.get("partial_reasons") or [])
        echo(f"[{r['status']}] {r['name']}: {r['duration_s']} s{over}" + (f" - {why}" if why else ""))
        write_summary(profile, reports_dir / profile, names)

    keep = set(guard.descendants())
    try:
        results += _execute_many(todo, jobs, client, done)
    except BaseException:
        if client is None:
            guard.stop_descendants(keep=keep)  # workers and kernels: nothing of this runner writes on
        for s in todo:  # runs that never started or never ended are not left "queued" or "running"
            rec = read_record(Path(s.out_dir) / "run.json")
            if rec is None or rec.get("status") in ("queued", "running"):
                _mark(s, "interrupted")
        raise
    finally:
        write_summary(profile, reports_dir / profile, names)
    order = {s.name: i for i, s in enumerate(specs)}
    results.sort(key=lambda r: order.get(r["name"], 1 << 30))
    return results
