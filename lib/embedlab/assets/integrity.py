"""Integrity of cached bytes: sha256 and git blob ids, a registry file's pin, and the ``.manifest.json`` that
records every cached file's sha256, size and mtime so that each use can check it cheaply."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..util import atomic_write
from .registry import Asset, ChecksumMismatch, CorruptCache

MANIFEST = ".manifest.json"


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file."""
    with open(path, "rb") as f:
        return sha256_stream(f, chunk)


def sha256_stream(f, chunk: int = 1 << 20) -> str:
    return _digest(hashlib.sha256(), f, chunk)


def _digest(h, f, chunk: int = 1 << 20) -> str:
    """Feed a binary stream to the hash ``h`` in chunks; its hex digest."""
    for block in iter(lambda: f.read(chunk), b""):
        h.update(block)
    return h.hexdigest()


def git_blob_sha1(path: Path | str, chunk: int = 1 << 20) -> str:
    """Git's object id of a file's bytes: sha1 of ``b"blob <size>\\0"`` + content (``git hash-object``)."""
    with open(path, "rb") as f:
        return _digest(hashlib.sha1(f"blob {Path(path).stat().st_size}\0".encode()), f, chunk)


def check_sha256(path: Path, expected: str, what: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumMismatch(f"checksum mismatch for {what}: expected sha256 {expected}, got {actual}")


def pin(f: dict) -> tuple[str, str]:
    """How a URL file is pinned: ``("sha256", hex)`` or ``("git_blob_sha1", hex)``."""
    return ("sha256", f["sha256"]) if "sha256" in f else ("git_blob_sha1", f["git_blob_sha1"])


def pinned_by(f: dict, rec: dict | None) -> bool:
    """Whether a cached file's record matches the registry's pin for it."""
    kind, value = pin(f)
    return rec is not None and rec.get(kind) == value


def check_pin(path: Path, f: dict, what: str) -> None:
    """Check downloaded bytes against the registry's pin (sha256, or the git blob id)."""
    kind, value = pin(f)
    if kind == "sha256":
        return check_sha256(path, value, what)
    actual = git_blob_sha1(path)
    if actual != value:
        raise ChecksumMismatch(f"checksum mismatch for {what}: expected git blob id {value}, got {actual}")


def fix_command(a: Asset) -> str:
    return f"embedlab assets fetch --refresh {a.name}"


def check_cached_pin(a: Asset, path: Path, f: dict) -> None:
    """A cached file checked against the registry's pin; a mismatch is a :class:`CorruptCache` naming the fix."""
    try:
        check_pin(path, f, f"{a.name}: cached {path}")
    except ChecksumMismatch as exc:
        raise CorruptCache(f"{exc}. Refusing to use it; run `{fix_command(a)}` to fetch it again") from exc


# --------------------------------------------------------------------------- manifests

def file_record(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"sha256": sha256_file(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def read_manifest(folder: Path, name: str = MANIFEST) -> dict[str, Any] | None:
    try:
        m = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and isinstance(m.get("files"), dict) else None


def write_manifest(folder: Path, manifest: dict[str, Any], name: str = MANIFEST) -> None:
    atomic_write(folder / name, json.dumps(manifest, indent=1, sort_keys=True))


def changed_file(path: Path, expected: str, actual: str, whose: str, fix: str, made: str = "fetched") -> CorruptCache:
    return CorruptCache(f"cached file of {whose} was changed after it was {made}: {path}: expected sha256 "
                        f"{expected}, got {actual}. Refusing to use it; {fix}.")


def check_files(folder: Path, records: dict[str, dict[str, Any]], full: bool = False, *, whose: str,
                fix: str, made: str = "fetched") -> tuple[list[str], bool]:
    """Check cached files against their records: size and mtime (``full``: always the sha256).

    A file whose size or mtime changed is re-hashed; a different hash raises :class:`CorruptCache` naming
    ``whose`` file it is and the ``fix``, the same hash refreshes the record. Returns (missing files, whether a
    record was refreshed)."""
    missing, changed = [], False
    for rel, rec in records.items():
        p = folder / rel
        try:
            st = p.stat()
        except FileNotFoundError:
            missing.append(rel)
            continue
        if not full and st.st_size == rec["size"] and st.st_mtime_ns == rec["mtime_ns"]:
            continue
        actual = sha256_file(p)
        if actual != rec["sha256"]:
            raise changed_file(p, rec["sha256"], actual, whose, fix, made)
        if (st.st_size, st.st_mtime_ns) != (rec["size"], rec["mtime_ns"]):
            rec["size"], rec["mtime_ns"], changed = st.st_size, st.st_mtime_ns, True
    return missing, changed


def check_asset_files(a: Asset, folder: Path, records: dict[str, dict[str, Any]],
                      full: bool = False) -> tuple[list[str], bool]:
    """:func:`check_files` for an asset's cached files (the fix: fetch it again)."""
    return check_files(folder, records, full, whose=f"asset {a.name!r}",
                       fix=f"run `{fix_command(a)}` to fetch it again")
