"""``run --check``: every run of a plan validated as the notebook would, and the assets it reads resolved, executing
nothing.

For each run the notebook's own study ``Config`` (the class its ``Config.from_parameters(globals())`` names) is
built from the plan's parameters, so values are validated exactly; every file the user named (``Config.user_files``)
must exist; the assets come from ``Config.assets()``, which each study declares from its fields through the
evaluation-set, corpus and encoder registries. Each asset is ``cached``, ``mirrored``, ``downloadable`` or
``missing``; a run *fails* when a parameter is wrong, a named file is absent or an asset it cannot skip is missing,
while a missing asset it may skip (``missing_sets='skip'``) is listed as would-be-unavailable.
"""
from __future__ import annotations

import ast
import dataclasses
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any, Callable

from .. import assets
from ..study import Config, ConfigError, Need
from .plans import PLANS_DIR, PlanError, RunSpec, load_plan, mirror_or_plan_error, select, validate_parameters


@dataclasses.dataclass
class RunCheck:
    """What ``--check`` found for one run."""

    run: str
    problems: list[str] = dataclasses.field(default_factory=list)   # each one line; any problem fails the run
    needs: list[Need] = dataclasses.field(default_factory=list)
    used: list[str] = dataclasses.field(default_factory=list)        # assets the run would read
    unavailable: list[str] = dataclasses.field(default_factory=list)  # missing but skippable: listed, not failing
    study: str = ""
    params: dict = dataclasses.field(default_factory=dict)            # the Config's complete parameters

    @property
    def fails(self) -> bool:
        return bool(self.problems)


# --------------------------------------------------------------------------- the notebook's study Config

def _dotted(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) or isinstance(node, ast.Attribute) and _dotted(node.value)


def study_config(notebook: str | Path) -> type[Config] | None:
    """The ``Config`` class a notebook builds (``X.from_parameters(...)``), found by running only the notebook's
    ``embedlab`` imports; None when it builds none (a notebook outside the study contract)."""
    import nbformat

    imports, targets = [], []
    for cell in nbformat.read(str(notebook), as_version=4).cells:
        if cell.cell_type != "code":
            continue
        src = "\n".join(ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                if all(n == "embedlab" or n.startswith("embedlab.") for n in names) and not getattr(node, "level", 0):
                    imports.append(node)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "from_parameters" and _dotted(node.func.value):
                targets.append(node.func.value)
    if not targets:
        return None
    ns: dict[str, Any] = {}
    exec(compile(ast.Module(body=imports, type_ignores=[]), str(notebook), "exec"), ns)  # embedlab imports only
    cls = eval(compile(ast.Expression(body=targets[0]), str(notebook), "eval"), {"__builtins__": {}}, ns)
    return cls if isinstance(cls, type) and issubclass(cls, Config) else None


def build_config(cls: type[Config], given: dict[str, Any]) -> tuple[Config | None, list[str]]:
    """``cls`` built from ``given`` (names the notebook does not declare are left to :func:`validate_parameters`),
    with every problem found, one line each: each value against its constraint, then the checks across parameters
    (a parameter they reject falls back to its default so that the others are still checked)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    given = {k: v for k, v in given.items() if k in fields}
    problems = []
    for k, v in list(given.items()):
        c = fields[k].metadata.get("constraint")
        if c is not None and not c.ok(list(v) if isinstance(v, tuple) else v):
            problems.append(f"parameter {k!r}: given {v!r}; allowed: {c.describe()}")
            del given[k]
    while True:
        try:
            return cls(**given), problems
        except ConfigError as exc:
            problems.append(str(exc))
            named = [n for n in re.findall(r"'([A-Za-z_]\w*)'", str(exc)) if n in given]
            if not named:
                return None, problems
            del given[named[0]]


# --------------------------------------------------------------------------- availability

def _reachable(url: str, timeout: float = 5.0) -> bool:
    import urllib.request

    try:
        req = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "embedlab-check"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status < 400
    except Exception:
        return False


def _hub_cached(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:
        return False


def asset_availability(name: str, probe: Callable[[str], bool] | None = None) -> str:
    """``cached``, ``installed`` (a package read from the environment), ``mirrored``, ``downloadable`` or ``missing``,
    without fetching anything (``probe(url)`` says
    whether a source answers). ``hub:<id>`` is a Hugging Face model outside the registry."""
    probe = probe or _reachable
    if name.startswith("hub:"):
        repo = name[len("hub:"):]
        if _hub_cached(repo):
            return "cached"
        return "missing" if os.environ.get("HF_HUB_OFFLINE") == "1" or not probe(
            f"https://huggingface.co/api/models/{repo}") else "downloadable"
    a = assets.get(name)
    if assets.is_cached(name):
        return "cached"
    if a.kind == "url":
        mirror = assets.mirror_dir()
        local = [assets.mirror_path(f["url"], Path(mirror)) if mirror else None for f in a.files]
        if local and all(p is not None and p.is_file() for p in local):
            return "mirrored"
        return "downloadable" if all(probe(f["url"]) for f in a.files) else "missing"
    if a.kind == "pypi":
        if assets.pypi.installed(a) is not None:
            return "installed"
        return "downloadable" if probe(f"https://pypi.org/simple/{a.package}/") else "missing"
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return "missing"
    return "downloadable" if probe(f"https://huggingface.co/api/models/{a.repo_id}") else "missing"


# --------------------------------------------------------------------------- one run, one plan

def _resolve(path: str, base: Path) -> Path:
    """A user path as the runner reads it: relative ones against the plan file's folder."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else base / p


def check_run(spec: RunSpec, plans_dir: Path = PLANS_DIR) -> RunCheck:
    """Parameters (names, then values through the study's Config), user files and the assets the run reads."""
    out = RunCheck(spec.name)
    try:
        validate_parameters(spec)
    except PlanError as exc:
        out.problems.append(str(exc).removeprefix(f"{spec.plan}: ").removeprefix(f"run {spec.name!r}: "))
    try:
        cls = study_config(spec.notebook)
    except Exception as exc:  # an import the notebook names that fails
        out.problems.append(f"the notebook's Config cannot be found: {type(exc).__name__}: {exc}")
        return out
    if cls is None:
        return out
    out.study = cls.study or cls.__name__
    cfg, problems = build_config(cls, spec.parameters)
    out.problems += problems
    if cfg is None:
        return out
    out.params = cfg.params
    for param, path in cfg.user_files():
        where = _resolve(path, Path(plans_dir).resolve())
        if not where.exists():
            out.problems.append(f"parameter {param!r}: {path} does not exist"
                                + (f" (resolved against the plan's folder: {where})" if str(where) != path else ""))
    if not problems:
        try:
            out.needs = cfg.assets()
        except NotImplementedError:
            pass
        except ValueError as exc:
            out.problems.append(str(exc))
    return out


def _settle(run: RunCheck, status: dict[str, str]) -> None:
    """Which needed assets the run reads, which it would list as unavailable, and which make it fail."""
    missing = {n.asset for n in run.needs if status[n.asset] == "missing"}
    groups: dict[str, list[Need]] = {}
    for n in run.needs:
        if n.group:
            groups.setdefault(n.group, []).append(n)
    fatal = {n.asset for n in run.needs if n.asset in missing and not n.skippable}
    said: set[str] = set()
    for n in run.needs:
        if n.asset in fatal - said:
            said.add(n.asset)
            run.problems.append(f"{n.what}: asset {n.asset} is missing (not cached, mirrored or downloadable)")
    for group, members in groups.items():
        lost = {m.asset for m in members}
        if lost <= missing:
            fatal |= lost
            run.problems.append(f"{group}: none can be had ({', '.join(sorted(lost))} missing)")
    run.used = sorted({n.asset for n in run.needs} - missing)
    run.unavailable = sorted(missing - fatal)


def check_profile(profile: str, only: list[str] | None = None, plans_dir: Path = PLANS_DIR,
                  probe: Callable[[str], bool] | None = None) -> tuple[list[RunCheck], list[dict]]:
    """Check every run of a plan, executing nothing.

    Returns (one :class:`RunCheck` per run), (one row per asset: asset, kind, size, status, runs, effect). Plan-file
    errors raise :class:`PlanError`.
    """
    specs = select(load_plan(profile, plans_dir), only, profile)
    mirror_or_plan_error()
    runs = [check_run(s, plans_dir) for s in specs]
    memo: dict[str, bool] = {}

    def cached_probe(url: str) -> bool:
        host = urllib.parse.urlparse(url).netloc
        if host not in memo:  # one probe per host: slow or absent networks cost one timeout each
            memo[host] = (probe or _reachable)(url)
        return memo[host]

    names = sorted({n.asset for r in runs for n in r.needs})
    status = {n: asset_availability(n, cached_probe) for n in names}
    for r in runs:
        _settle(r, status)
    rows = []
    for n in names:
        users = [r for r in runs if any(x.asset == n for x in r.needs)]
        a = None if n.startswith("hub:") else assets.get(n)
        effect = "" if status[n] != "missing" else "; ".join(
            f"{'listed unavailable' if n in r.unavailable else 'fails'}: {r.run}" for r in users)
        rows.append({"asset": n, "kind": a.kind if a else "huggingface (unregistered)",
                     "size": f"{a.size / 1e6:.1f} MB" if a and a.size else "?", "status": status[n],
                     "runs": ", ".join(r.run for r in users), "effect": effect})
    return runs, rows


def assets_for_run(spec: RunSpec, plans_dir: Path = PLANS_DIR) -> set[str]:
    """The registered assets a run reads (its study Config's :meth:`~embedlab.study.Config.assets`)."""
    return {n.asset for n in check_run(spec, plans_dir).needs}
