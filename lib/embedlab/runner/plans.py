"""Plans: ``plans/<profile>.yaml`` read and validated before anything runs.

A plan lists runs: a name, a notebook and its parameters. The plan file, run and profile names
(``[A-Za-z0-9_.-]+``, at most 100 characters, not starting with ``.``, none of the runner's own file names) and
the parameters (names against ``papermill.inspect_notebook``, clear type
mismatches) are checked; every path is made absolute, user paths in parameters (``file:``, ``slices:``,
``*_paths``: :mod:`embedlab.userfiles`) against the plan file's folder.
"""
from __future__ import annotations

import ast
import dataclasses
import difflib
import re
from pathlib import Path
from typing import Any

import yaml

from .. import assets, paths, userfiles

PLANS_DIR = paths.PLANS
REPORTS_DIR = paths.REPORTS
KERNEL_NAME = "embedlab"


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


#: run and profile names become folder names and parts of URLs
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
MAX_NAME = 100
#: names the runner writes beside the run folders (a profile's files, the interactive notebooks' folder)
RESERVED_NAMES = ("index.html", "summary.md", "summary.json", "interactive")
RUN_KEYS = ("name", "notebook", "parameters", "budget_s")


def check_name(kind: str, name: Any, where: str = "") -> str:
    """A run or profile name: ``[A-Za-z0-9_.-]+``, at most :data:`MAX_NAME` characters, not starting with ``.``
    (no ``.``, ``..`` or hidden folder), no ``..`` and none of :data:`RESERVED_NAMES` (it becomes a folder beside
    the others and a URL part)."""
    rule = (f"use letters, digits, '_', '.' and '-' only, at most {MAX_NAME} characters, not starting with '.', "
            f"no '..', and none of {', '.join(RESERVED_NAMES)}")
    if (not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or ".." in name or name.startswith(".")
            or len(name) > MAX_NAME or name.lower() in RESERVED_NAMES):
        shown_name = name if not isinstance(name, str) or len(name) <= 120 else name[:100] + "..."
        raise PlanError(f"{where}{kind} name {shown_name!r} is not allowed: {rule}")
    return name


def is_asset(name: str) -> bool:
    """Whether a parameter string names a registered asset (``slices:<asset>``, ``user_paths: [<asset>]``)."""
    return name in assets.registry()


def shown(path: Path) -> str:
    """A path as the user should see it: relative to the project when inside it."""
    try:
        return str(Path(path).resolve().relative_to(paths.ROOT))
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
    where = f"{shown(path)}: "
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
        nb = (paths.ROOT / notebook).resolve()
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
        params = userfiles.absolute(params, path.parent, is_asset)
        specs.append(RunSpec(name=name, notebook=str(nb), parameters=dict(params), budget_s=budget, profile=profile,
                             out_dir=str(reports_dir / profile / name), kernel=kernel, plan=shown(path)))
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
        raise PlanError(f"{spec.plan}: run {spec.name!r}: cannot read {shown(Path(spec.notebook))}: "
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


def select(specs: list[RunSpec], only: list[str] | None, profile: str) -> list[RunSpec]:
    """The runs named by ``--only`` (all when None)."""
    if not only:
        return specs
    names = [s.name for s in specs]
    missing = [o for o in only if o not in names]
    if missing:
        raise PlanError(f"--only {', '.join(missing)}: not in profile {profile!r}; runs: {', '.join(names)}")
    return [s for s in specs if s.name in only]


def mirror_or_plan_error() -> Path | None:
    """The asset mirror in use (None: none); one that is named but absent is a :class:`PlanError`."""
    try:
        return assets.mirror_dir()
    except assets.AssetError as exc:  # a mirror that is named but absent is a mistake, not "use the network"
        raise PlanError(str(exc)) from None
