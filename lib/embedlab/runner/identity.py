"""What a run's result depends on besides its notebook, parameters and the library (part of its content hash):

* the settings that change results (:data:`HASHED_ENV`) as the run's kernel would see them;
* the sha256 of every user file its parameters name (:mod:`embedlab.userfiles`), or that it is missing;
* the Hugging Face commit each model it used resolves to now: the models come from the last run's provenance
  (registered Hugging Face assets) and from hub ids in the parameters, so a changed snapshot reruns the run.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from .. import assets, userfiles
from .plans import RunSpec, is_asset

#: environment settings that change a run's results
HASHED_ENV = ("EMBEDLAB_REQUIRE_REVISION", "EMBEDLAB_DEVICE", "HF_HUB_OFFLINE")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def settings(env: Mapping[str, str]) -> list[str]:
    """``NAME=value`` of each :data:`HASHED_ENV` setting in a kernel environment."""
    return [f"{k}={env.get(k, '')}" for k in HASHED_ENV]


def user_files(spec: RunSpec) -> list[str]:
    """One line per user path of the run's parameters: parameter, value and the sha256 of its file(s), or missing."""
    out = []
    for u in userfiles.find(spec.parameters, is_asset):
        try:
            state = sorted(userfiles.digests(u.resolved()).items())
        except userfiles.UserFileMissing:
            state = "missing"
        out.append(f"{u.param}={u.value}: {state}")
    return out


def models(spec: RunSpec, metrics: Mapping[str, Any] | None) -> list[str]:
    """The Hugging Face models a run used: registered assets with a commit in its provenance, and hub ids
    (``owner/name``) among its parameter values that are no user path."""
    prov = ((metrics or {}).get("provenance") or {}).get("assets") or {}
    names = {n for n, info in prov.items() if isinstance(info, Mapping) and info.get("commit")}
    paths = {u.value for u in userfiles.find(spec.parameters, is_asset)}
    for s in _strings(spec.parameters):
        if s not in paths and _HUB_ID.fullmatch(s) and not Path(s).exists():
            names.add(s)
    return sorted(names)


def _strings(x: Any) -> list[str]:
    if isinstance(x, str):
        return [x]
    if isinstance(x, Mapping):
        return [s for v in x.values() for s in _strings(v)]
    if isinstance(x, (list, tuple)):
        return [s for v in x for s in _strings(v)]
    return []


def model_commits(names: list[str], env: Mapping[str, str]) -> list[str]:
    """``name=commit`` each model resolves to now in the local Hugging Face cache (``not cached`` when none),
    honouring ``EMBEDLAB_REQUIRE_REVISION`` of the run's environment."""
    return [f"{name}={_commit(name, env)}" for name in names]


def _commit(name: str, env: Mapping[str, str]) -> str:
    from huggingface_hub import snapshot_download

    repo, revision = name, None
    if name in assets.registry() and assets.get(name).kind == "huggingface":
        a = assets.get(name)
        repo, revision = a.repo_id, a.revision
    for item in filter(None, (x.strip() for x in env.get("EMBEDLAB_REQUIRE_REVISION", "").split(","))):
        key, _, commit = item.partition("=")
        if key.strip() in (name, repo) and commit.strip():
            revision = commit.strip()
    try:
        return Path(snapshot_download(repo, revision=revision, local_files_only=True)).name
    except Exception:
        return "not cached"
