"""Derived caches: what embedlab makes from checksummed assets (the parsed WordNet tables, the converted e5
model). Each records its files' sha256, size and mtime when it is made (a folder in a ``.manifest.json`` inside,
a file in ``<name>.manifest.json`` beside it) and is checked on use like an asset's files: a file whose bytes
changed after it was made is refused (:class:`CorruptCache`), and the caller makes it again."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import cache, integrity

#: the folders of ``cache_dir()`` that hold derived caches (``embedlab assets verify`` checks them all; ``embeddings``:
#: the embedding cache, :mod:`embedlab.embedcache`)
FOLDERS = ("parsed", "converted", "embeddings")
_SIDECAR = ".manifest.json"
_FIX = "embedlab makes it again from its asset on next use (or delete it)"


def _manifest_place(path: Path) -> tuple[Path, str, Path]:
    """(manifest folder, manifest name, folder the records are relative to) of a derived file or folder."""
    if path.is_dir():
        return path, integrity.MANIFEST, path
    return path.parent, path.name + _SIDECAR, path.parent


def record(path: Path, made_from: dict[str, Any]) -> dict[str, Any]:
    """Record a derived file or folder just made (``made_from``: what it was made from, e.g. the asset's
    sha256 and a format version); returns the manifest."""
    folder, name, root = _manifest_place(path)
    files = [path] if root != path else sorted(p for p in path.rglob("*") if p.is_file() and p.name != name)
    m = {"derived": path.name, "made_from": made_from,
         "files": {p.relative_to(root).as_posix(): integrity.file_record(p) for p in files}}
    integrity.write_manifest(folder, m, name)
    return m


def check(path: Path, full: bool = False) -> dict[str, Any] | None:
    """The manifest of a derived file or folder whose files all match their records (size and mtime, re-hashed
    when either changed; ``full``: always re-hashed). ``None`` when it is not there, was never recorded (made by
    an older embedlab or half made) or lacks a file; :class:`CorruptCache` when a file changed after it was made."""
    if not path.exists():
        return None
    folder, name, root = _manifest_place(path)
    m = integrity.read_manifest(folder, name)
    if m is None:
        return None
    missing, changed = integrity.check_files(root, m["files"], full, whose=f"the derived cache {path.name!r}",
                                             fix=_FIX, made="made")
    if missing:
        return None
    if changed:
        integrity.write_manifest(folder, m, name)
    return m


def lock(path: Path):
    """The lock to hold while a derived file or folder is checked and made."""
    return cache.lock(f"derived-{path.name}")


def cached() -> list[Path]:
    """Every derived file or folder under the cache folder (what ``embedlab assets verify`` checks)."""
    out = []
    for sub in FOLDERS:
        base = cache.cache_dir() / sub
        entries = sorted(base.iterdir()) if base.is_dir() else []
        out += [p for p in entries if not p.name.startswith(".") and not p.name.endswith(_SIDECAR)]
    return out


def verify(path: Path) -> str:
    """A derived file or folder re-hashed: ``ok``, ``not recorded ...`` (made by an older embedlab: made again on
    next use) or ``missing: ...``; a file that changed after it was made raises :class:`CorruptCache`."""
    folder, name, root = _manifest_place(path)
    m = integrity.read_manifest(folder, name)
    if m is None:
        return "not recorded (made by an older embedlab; made again on next use)"
    if check(path, full=True) is None:
        gone = [rel for rel in m["files"] if not (root / rel).exists()]
        return f"missing: {', '.join(gone)}; {_FIX}"
    return "ok"
