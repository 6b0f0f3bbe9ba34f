"""The front door: fetch, check and verify an asset by name, whatever its source, and the provenance of the
assets this process used."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import hf, pypi, url
from .registry import Asset, get, registry

_USED: dict[str, dict[str, Any]] = {}


def used_assets() -> dict[str, dict[str, Any]]:
    """Assets fetched in this process, for report provenance: source, licence, the sha256 of the downloaded
    file(s) (``sha256``) and of every cached file checked at use and handed to loaders (``files``; ``from``
    says when they were read from an installed distribution instead); for Hugging Face assets the requested
    ``revision`` and the snapshot's ``commit``."""
    return {k: json.loads(json.dumps(v)) for k, v in sorted(_USED.items())}


def _note_use(a: Asset, **extra: Any) -> None:
    _USED[a.name] = {"kind": a.kind, "source": a.source, "sha256": a.checksums, "license": a.license, **extra}


def is_cached(name: str) -> bool:
    """Whether the asset is already in the cache (no network needed)."""
    a = get(name)
    if a.kind == "pypi":
        return pypi.is_cached(a)
    if a.kind == "url":
        return url.is_cached(a)
    return hf.cached_path(a) is not None


def fetch(name: str, progress: bool = True, refresh: bool = False, require_commit: str | None = None) -> Path:
    """Make the asset available locally and return its directory.

    pypi: a directory holding the declared ``members`` at their archive paths;
    url: a directory holding each file under its URL basename;
    huggingface: the snapshot directory in the Hugging Face cache.

    Cached files are checked (size and mtime, re-hashed when either changed) before they are returned; a
    changed file raises :class:`CorruptCache`. ``refresh=True`` drops the cached copy and fetches again.
    ``require_commit`` (or ``$EMBEDLAB_REQUIRE_REVISION``, see :func:`required_commit`): the Hugging Face
    revision to load instead of the registry's; a commit (40 hex digits) must then be the snapshot's exactly.
    """
    a = get(name)
    if a.kind in ("pypi", "url"):
        source = pypi if a.kind == "pypi" else url
        path, manifest = (None if refresh else source.checked(a)) or source.fetch(a, progress, refresh)
        _note_use(a, files={k: v["sha256"] for k, v in sorted(manifest["files"].items())},
                  **({"from": manifest["from"]} if manifest.get("from") else {}))
    else:
        path = hf.fetch(a, require_commit or hf.required_commit(a))
        _note_use(a, revision=a.revision, commit=path.name)
    return path


def verify(name: str) -> str:
    """Re-hash every cached file of an asset: ``ok ...``, ``not cached`` or ``missing: ...`` (the archive or a
    file is gone); raise :class:`ChecksumMismatch` (:class:`CorruptCache`) when a file's bytes changed."""
    a = get(name)
    return {"pypi": pypi, "url": url, "huggingface": hf}[a.kind].verify(a)


def describe() -> list[dict[str, Any]]:
    """One row per asset: name, kind, license, size, cached - for tables and the CLI."""
    rows = []
    for a in registry().values():
        rows.append({"name": a.name, "kind": a.kind, "source": a.source, "license": a.license,
                     "size_mb": round(a.size / 1e6, 1) if a.size else None, "cached": is_cached(a.name),
                     "languages": ",".join(a.languages), "description": a.description, "citation": a.citation})
    return rows
