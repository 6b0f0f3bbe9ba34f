"""``huggingface`` assets: a hub id and revision (a commit where known), resolved through the Hugging Face
cache; the snapshot's commit is recorded, and ``$EMBEDLAB_REQUIRE_REVISION`` or ``require_commit`` insists on one."""
from __future__ import annotations

import os
import re
from pathlib import Path

from .registry import Asset, AssetError, AssetUnavailable


def required_commit(a: Asset) -> str | None:
    """The commit ``$EMBEDLAB_REQUIRE_REVISION`` demands for a Hugging Face asset: comma-separated
    ``NAME=COMMIT`` (asset name or hub id) entries, e.g. from a report's provenance."""
    env = os.environ.get("EMBEDLAB_REQUIRE_REVISION", "")
    for item in filter(None, (x.strip() for x in env.split(","))):
        key, sep, commit = item.partition("=")
        if not sep or not commit.strip():
            raise AssetError(f"EMBEDLAB_REQUIRE_REVISION: {item!r} is not NAME=COMMIT")
        if key.strip() in (a.name, a.repo_id):
            return commit.strip()
    return None


def cached_path(a: Asset, revision: str | None = None) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(a.repo_id, revision=revision or a.revision, local_files_only=True))
    except Exception:
        return None


def _is_commit(revision: str | None) -> bool:
    return bool(revision) and re.fullmatch(r"[0-9a-f]{40}", revision) is not None


def fetch(a: Asset, require: str | None = None) -> Path:
    """The snapshot of ``require`` (a commit, which must then match, or a branch/tag) or the registry's revision."""
    from huggingface_hub import snapshot_download

    revision = require or a.revision
    require = require if _is_commit(require) else None
    cached = cached_path(a, revision)
    if cached is not None:
        if require and cached.name != require:
            raise AssetError(f"Hugging Face asset {a.name!r}: the cached snapshot is commit {cached.name}, but "
                             f"commit {require} is required (EMBEDLAB_REQUIRE_REVISION or require_commit)")
        return cached
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        why = "HF_HUB_OFFLINE=1 is set"
        other = cached_path(a) if require else None
        if other is not None:
            why += f"; the cache holds commit {other.name}, but commit {require} is required"
        raise AssetUnavailable(_message(a, why))
    try:
        path = Path(snapshot_download(a.repo_id, revision=revision,
                                      allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.bin"]))
    except Exception as exc:
        raise AssetUnavailable(_message(a, f"{type(exc).__name__}: {exc}")) from exc
    if require and path.name != require:
        raise AssetError(f"Hugging Face asset {a.name!r}: downloaded commit {path.name}, but {require} is required")
    return path


def _message(a: Asset, why: str) -> str:
    return (f"Hugging Face asset {a.name!r} ({a.repo_id}@{a.revision}) is not in the local Hugging Face cache and "
            f"cannot be downloaded ({why}). On a machine with internet run "
            f"`embedlab assets fetch {a.name}` (or `hf download {a.repo_id}`) and copy the cache "
            "(HF_HOME) here; offline runs can use the packaged encoders `e5-small` and `minilm` instead.")


def verify(a: Asset) -> str:
    path = cached_path(a)
    return f"ok (Hugging Face cache, commit {path.name})" if path is not None else "not cached"
