"""``url`` assets: files at canonical URLs pinned to a commit or release, each by its sha256 or git blob id,
cached under ``<cache>/url/<name>/`` with a manifest (raw GitHub files may come from the mirror)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import cache, download, integrity
from .registry import Asset, url_basename


def url_dir(a: Asset) -> Path:
    return cache.cache_dir() / "url" / a.name


def _record(path: Path, f: dict) -> dict[str, Any]:
    """A cached URL file's record; a file pinned by its git blob id also records that id."""
    rec = integrity.file_record(path)
    if integrity.pin(f)[0] == "git_blob_sha1":
        rec["git_blob_sha1"] = f["git_blob_sha1"]
    return rec


def checked(a: Asset) -> tuple[Path, dict[str, Any]] | None:
    """The folder and the files' records when every file is cached and recorded with the registry's pin,
    files checked; ``None`` otherwise."""
    d = url_dir(a)
    m = integrity.read_manifest(d)
    if m is None:
        return None
    records = {}
    for f in a.files:
        rec = m["files"].get(url_basename(f["url"]))
        if not integrity.pinned_by(f, rec):
            return None
        records[url_basename(f["url"])] = rec
    missing, changed = integrity.check_asset_files(a, d, records)
    if missing:
        return None
    if changed:
        integrity.write_manifest(d, m)
    return d, {"files": records}


def fetch(a: Asset, progress: bool, refresh: bool) -> tuple[Path, dict[str, Any]]:
    """The asset's folder and the records of its files, downloading what is missing (call :func:`checked`
    first: this takes the lock)."""
    d = url_dir(a)
    with cache.lock(f"asset-{a.name}"):
        cache.mkdir(d)
        cache.clean_leftovers(d, ".*.part-*", ".*.tmp-*")  # ``.<file>.tmp-<pid>-...``, ``.manifest.json.tmp-...``
        m = integrity.read_manifest(d) or {"files": {}}
        for f in a.files:
            base = url_basename(f["url"])
            dest, rec = d / base, m["files"].get(base)
            if refresh or (rec is not None and not integrity.pinned_by(f, rec)):  # asked for, or the registry moved on
                dest.unlink(missing_ok=True)
            if dest.exists():
                if rec is not None:
                    integrity.check_asset_files(a, d, {base: rec})
                else:  # cached by an older embedlab (no manifest): hash it once against the registry
                    integrity.check_cached_pin(a, dest, f)
                    m["files"][base] = _record(dest, f)
                continue
            download.fetch_checked(f["url"], dest, lambda tmp, src: integrity.check_pin(tmp, f, f"{a.name}: {src}"),
                                   progress, use_mirror=True)
            m["files"][base] = _record(dest, f)
        integrity.write_manifest(d, m)
    return d, {"files": {url_basename(f["url"]): m["files"][url_basename(f["url"])] for f in a.files}}


def is_cached(a: Asset) -> bool:
    d = url_dir(a)
    return all((d / url_basename(f["url"])).exists() for f in a.files)


def verify(a: Asset) -> str:
    """Every cached file re-hashed against the registry's pin."""
    d = url_dir(a)
    present = [f for f in a.files if (d / url_basename(f["url"])).exists()]
    for f in present:
        integrity.check_cached_pin(a, d / url_basename(f["url"]), f)
    if not present:
        return "not cached"
    if len(present) < len(a.files):
        gone = [url_basename(f["url"]) for f in a.files if f not in present]
        return f"missing: {len(gone)}/{len(a.files)} files ({', '.join(gone)}); run `embedlab assets fetch {a.name}`"
    return "ok"
