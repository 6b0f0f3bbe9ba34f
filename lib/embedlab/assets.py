"""Named, checksummed assets: the registry in ``data/assets.yaml``, its three sources and the cache.

Sources:

* ``pypi`` - a package used as data: the exact distribution file named in the registry, its URL taken from
  PyPI's JSON API (https://pypi.org/pypi/NAME/VERSION/json), downloaded directly (never through pip, so no
  build backend runs and no user index settings apply) and its sha256 checked before anything reads it;
  only the registry's ``members`` are extracted (archives are read, never imported or executed);
* ``url`` - canonical URLs pinned to a commit, each with a sha256 (or, for a raw GitHub file whose bytes
  could not be had to hash, its git blob id ``git_blob_sha1``: GitHub serves a blob's exact bytes, so the id
  pins them; the sha256 is computed at download and recorded); ``EMBEDLAB_MIRROR`` (or
  :func:`set_mirror`) names a directory laid out as ``github/<owner>/<repo>/<sha>/<path>`` that
  replaces the download of raw GitHub URLs (the sha256 is verified either way);
* ``huggingface`` - a hub id and revision (a commit where known), resolved through the Hugging Face cache;
  the snapshot's commit is recorded, and ``$EMBEDLAB_REQUIRE_REVISION`` or ``require_commit`` insists on one.

:func:`fetch` returns a directory for every kind. Writes are atomic and locked per asset (``fcntl.flock``):
a killed download or extraction leaves no half-written cache entry, and its leftovers are removed by the
next fetch. Every cached file's sha256, size and mtime go into a ``.manifest.json`` beside it: each use
checks size and mtime (re-hashing a file whose size or mtime changed), :func:`verify` re-hashes everything,
and provenance (:func:`used_assets`) records the sha256 of the files that were checked and read.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import fnmatch
import hashlib
import json
import os
import re
import shutil
import sys
import tarfile
import time
import urllib.parse
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Any

import yaml

from . import paths, progress

PROJECT_ROOT = paths.ROOT
REGISTRY_PATH = paths.ASSET_REGISTRY
KINDS = ("pypi", "url", "huggingface")
_RAW_GITHUB = "https://raw.githubusercontent.com/"
PYPI_JSON = "https://pypi.org/pypi"
MANIFEST = ".manifest.json"
#: leftovers (``.part-*`` downloads, ``.extract-*`` folders) of a fetch older than this are removed
STALE_SECONDS = 300


class AssetError(Exception):
    """Base class for asset problems."""


class UnknownAsset(AssetError, KeyError):
    """An asset name that the registry does not hold."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


class ChecksumMismatch(AssetError):
    """Downloaded bytes whose sha256 differs from the registry's."""


class CorruptCache(ChecksumMismatch):
    """A cached file whose bytes differ from what was recorded (or pinned) when it was fetched."""


class AssetUnavailable(AssetError):
    """An asset that cannot be obtained here (offline and not cached)."""


class CacheError(AssetError):
    """The cache directory cannot be used (missing permissions, a file in its place, ...)."""


@dataclasses.dataclass(frozen=True)
class Asset:
    """One registry entry."""

    name: str
    kind: str
    description: str
    license: str
    citation: str
    loader: str
    size: int | None = None
    languages: tuple[str, ...] = ()
    # pypi
    package: str | None = None
    version: str | None = None
    filename: str | None = None
    sha256: str | None = None
    members: tuple[str, ...] = ()
    year: int | None = None
    # url
    files: tuple[dict, ...] = ()
    # huggingface
    repo_id: str | None = None
    revision: str | None = None

    @property
    def source(self) -> str:
        """Human-readable source."""
        if self.kind == "pypi":
            return f"pypi:{self.package}=={self.version}"
        if self.kind == "url":
            return self.files[0]["url"] if len(self.files) == 1 else f"{len(self.files)} URLs ({_host(self.files[0]['url'])})"
        return f"hf:{self.repo_id}@{self.revision}"

    @property
    def checksums(self) -> dict[str, str]:
        """sha256 of every downloaded file, keyed by file name."""
        if self.kind == "pypi":
            return {self.filename: self.sha256}
        if self.kind == "url":
            return {_url_basename(f["url"]): f["sha256"] if "sha256" in f else f"git-blob-sha1:{f['git_blob_sha1']}"
                    for f in self.files}
        return {}


def _host(url: str) -> str:
    return urllib.parse.urlparse(url).netloc


def _url_basename(url: str) -> str:
    return urllib.parse.unquote(url.rstrip("/").rsplit("/", 1)[-1])


# --------------------------------------------------------------------------- registry

_REGISTRY: dict[str, Asset] | None = None


def load_registry(path: Path | str = REGISTRY_PATH) -> dict[str, Asset]:
    """Parse a registry YAML file into ``{name: Asset}``, validating every entry."""
    entries = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    out: dict[str, Asset] = {}
    fields = {f.name for f in dataclasses.fields(Asset)}
    for e in entries:
        unknown = set(e) - fields
        if unknown:
            raise AssetError(f"asset {e.get('name')!r}: unknown field(s) {sorted(unknown)}; allowed: {sorted(fields)}")
        if e.get("kind") not in KINDS:
            raise AssetError(f"asset {e.get('name')!r}: kind {e.get('kind')!r} is not one of {KINDS}")
        for key in ("members", "languages", "files"):
            if key in e:
                e[key] = tuple(e[key])
        for f in e.get("files", ()):
            pins = [k for k in ("sha256", "git_blob_sha1") if k in f]
            if "url" not in f or len(pins) != 1:
                raise AssetError(f"asset {e.get('name')!r}: every file needs a url and exactly one of sha256 or "
                                 f"git_blob_sha1; given {sorted(f)}")
        a = Asset(**e)
        if a.name in out:
            raise AssetError(f"asset {a.name!r} is listed twice in {path}")
        out[a.name] = a
    return out


def registry() -> dict[str, Asset]:
    """The project's registry (parsed once)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = load_registry()
    return _REGISTRY


def get(name: str) -> Asset:
    """Look up an asset by name; unknown names list the known ones."""
    reg = registry()
    if name not in reg:
        raise UnknownAsset(f"unknown asset {name!r}; known assets: {', '.join(sorted(reg))}")
    return reg[name]


# --------------------------------------------------------------------------- cache and mirror

_MIRROR: Path | None = None


def cache_dir() -> Path:
    """Cache root: ``$EMBEDLAB_CACHE`` or the user cache directory; a clear error when it is not usable."""
    env = os.environ.get("EMBEDLAB_CACHE")
    root = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "embedlab"
    why = None
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        why = "a file is in the way (it must be a directory)"
    except OSError as exc:
        why = f"{type(exc).__name__}: {exc.strerror or exc}"
    if why is None and not os.access(root, os.W_OK | os.X_OK):
        why = "not writable"
    if why is not None:
        raise CacheError(_cache_message(root, why))
    return root


def _cache_message(path: Path, why: str) -> str:
    env = os.environ.get("EMBEDLAB_CACHE")
    where = f"EMBEDLAB_CACHE={env}" if env else "EMBEDLAB_CACHE is not set, so the default is used"
    return (f"the embedlab cache cannot be used: {path}: {why} ({where}). Point EMBEDLAB_CACHE at a writable "
            "directory, e.g. `export EMBEDLAB_CACHE=$HOME/embedlab-cache`.")


def set_mirror(path: Path | str | None) -> None:
    """Use ``path`` as the mirror directory for URL assets (``None``: back to ``$EMBEDLAB_MIRROR``).

    A path that is not an existing directory is an error (no silent fallback to the network)."""
    global _MIRROR
    if path and not Path(path).is_dir():
        raise AssetError(_mirror_message(Path(path), "--mirror"))
    _MIRROR = Path(path) if path else None


def _mirror_message(path: Path, origin: str) -> str:
    return (f"mirror directory {path} (from {origin}) does not exist or is not a directory; fix the path, or "
            "unset EMBEDLAB_MIRROR / drop --mirror to download from the canonical URLs")


def mirror_dir() -> Path | None:
    """The active mirror directory, if any; an error when ``$EMBEDLAB_MIRROR`` names no directory."""
    if _MIRROR is not None:
        return _MIRROR
    env = os.environ.get("EMBEDLAB_MIRROR")
    if not env:
        return None
    if not Path(env).is_dir():
        raise AssetError(_mirror_message(Path(env), "EMBEDLAB_MIRROR"))
    return Path(env)


def mirror_path(url: str, mirror: Path) -> Path | None:
    """Where a raw GitHub URL lies in a mirror: ``github/<owner>/<repo>/<sha>/<path>``."""
    if not url.startswith(_RAW_GITHUB):
        return None
    rest = urllib.parse.unquote(url[len(_RAW_GITHUB):])
    return mirror / "github" / rest


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file."""
    with open(path, "rb") as f:
        return _sha256_stream(f, chunk)


def _sha256_stream(f, chunk: int = 1 << 20) -> str:
    return _digest(hashlib.sha256(), f, chunk)


def _digest(h, f, chunk: int = 1 << 20) -> str:
    """Feed a binary stream to the hash ``h`` in chunks; its hex digest."""
    for block in iter(lambda: f.read(chunk), b""):
        h.update(block)
    return h.hexdigest()


def _verify(path: Path, expected: str, what: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumMismatch(f"checksum mismatch for {what}: expected sha256 {expected}, got {actual}")


def git_blob_sha1(path: Path | str, chunk: int = 1 << 20) -> str:
    """Git's object id of a file's bytes: sha1 of ``b"blob <size>\\0"`` + content (``git hash-object``)."""
    with open(path, "rb") as f:
        return _digest(hashlib.sha1(f"blob {Path(path).stat().st_size}\0".encode()), f, chunk)


def _pin(f: dict) -> tuple[str, str]:
    """How a URL file is pinned: ``("sha256", hex)`` or ``("git_blob_sha1", hex)``."""
    return ("sha256", f["sha256"]) if "sha256" in f else ("git_blob_sha1", f["git_blob_sha1"])


def _pinned_by(f: dict, rec: dict | None) -> bool:
    """Whether a cached file's record matches the registry's pin for it."""
    kind, value = _pin(f)
    return rec is not None and rec.get(kind) == value


def _verify_pin(path: Path, f: dict, what: str) -> None:
    """Check downloaded bytes against the registry's pin (sha256, or the git blob id)."""
    kind, value = _pin(f)
    if kind == "sha256":
        return _verify(path, value, what)
    actual = git_blob_sha1(path)
    if actual != value:
        raise ChecksumMismatch(f"checksum mismatch for {what}: expected git blob id {value}, got {actual}")


def _verify_cached(a: "Asset", path: Path, f: dict) -> None:
    """A cached file checked against the registry's pin; a mismatch is a :class:`CorruptCache` naming the fix."""
    try:
        _verify_pin(path, f, f"{a.name}: cached {path}")
    except ChecksumMismatch as exc:
        raise CorruptCache(f"{exc}. Refusing to use it; run `{_fix_command(a)}` to fetch it again") from exc


def _url_record(path: Path, f: dict) -> dict[str, Any]:
    """A cached URL file's record; a file pinned by its git blob id also records that id."""
    rec = _file_record(path)
    if _pin(f)[0] == "git_blob_sha1":
        rec["git_blob_sha1"] = f["git_blob_sha1"]
    return rec


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


@contextlib.contextmanager
def _lock(key: str):
    """An exclusive, process-wide lock on ``<cache>/locks/<key>.lock`` (released when the process dies)."""
    path = _mkdir(cache_dir() / "locks") / f"{key}.lock"
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_leftovers(folder: Path, pattern: str) -> list[Path]:
    """Remove leftovers of killed fetches matching ``pattern`` in ``folder`` (call with its lock held).

    A leftover goes when the process named in it (``.part-<pid>``, ``.extract-<pid>``) is gone, or when it
    is older than :data:`STALE_SECONDS` (names without a pid, e.g. from older embedlab versions)."""
    removed = []
    if not folder.is_dir():
        return removed
    now = time.time()
    for p in folder.iterdir():
        if not fnmatch.fnmatchcase(p.name, pattern):
            continue
        pid = re.search(r"(?:\.part|\.extract)-(\d+)(?:-|$)", p.name)
        try:
            stale = (pid is not None and int(pid[1]) != os.getpid() and not _pid_alive(int(pid[1]))) \
                or now - p.lstat().st_mtime > STALE_SECONDS
        except FileNotFoundError:
            continue
        if stale:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


# --------------------------------------------------------------------------- manifests

def _file_record(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"sha256": sha256_file(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        m = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and isinstance(m.get("files"), dict) else None


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    tmp = folder / f".{MANIFEST}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, folder / MANIFEST)
    finally:
        tmp.unlink(missing_ok=True)


def _fix_command(a: Asset) -> str:
    return f"embedlab assets fetch --refresh {a.name}"


def _corrupt(a: Asset, path: Path, expected: str, actual: str) -> CorruptCache:
    return CorruptCache(
        f"cached file of asset {a.name!r} was changed after it was fetched: {path}: expected sha256 {expected}, "
        f"got {actual}. Refusing to use it; run `{_fix_command(a)}` to fetch it again.")


def _check_files(a: Asset, folder: Path, records: dict[str, dict[str, Any]], full: bool = False) -> tuple[list[str], bool]:
    """Check cached files against their records: size and mtime (``full``: always the sha256).

    A file whose size or mtime changed is re-hashed; a different hash raises :class:`CorruptCache`, the same
    hash refreshes the record. Returns (missing files, whether a record was refreshed)."""
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
            raise _corrupt(a, p, rec["sha256"], actual)
        if (st.st_size, st.st_mtime_ns) != (rec["size"], rec["mtime_ns"]):
            rec["size"], rec["mtime_ns"], changed = st.st_size, st.st_mtime_ns, True
    return missing, changed


# --------------------------------------------------------------------------- provenance

_USED: dict[str, dict[str, Any]] = {}


def used_assets() -> dict[str, dict[str, Any]]:
    """Assets fetched in this process, for report provenance: source, licence, the sha256 of the downloaded
    file(s) (``sha256``) and of every cached file checked at use and handed to loaders (``files``); for
    Hugging Face assets the requested ``revision`` and the snapshot's ``commit``."""
    return {k: json.loads(json.dumps(v)) for k, v in sorted(_USED.items())}


def _note_use(a: Asset, **extra: Any) -> None:
    _USED[a.name] = {"kind": a.kind, "source": a.source, "sha256": a.checksums, "license": a.license, **extra}


# --------------------------------------------------------------------------- fetching

def is_cached(name: str) -> bool:
    """Whether the asset is already in the cache (no network needed)."""
    a = get(name)
    if a.kind == "pypi":
        m = _read_manifest(_extract_dir(a))
        return m is not None and m.get("archive_sha256") == a.sha256
    if a.kind == "url":
        d = _url_dir(a)
        return all((d / _url_basename(f["url"])).exists() for f in a.files)
    return _hf_cached_path(a) is not None


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
    if a.kind == "pypi":
        path, manifest = _fetch_pypi(a, progress, refresh)
        _note_use(a, files={k: v["sha256"] for k, v in sorted(manifest["files"].items())})
    elif a.kind == "url":
        path, manifest = _fetch_url(a, progress, refresh)
        _note_use(a, files={k: v["sha256"] for k, v in sorted(manifest["files"].items())})
    else:
        path = _fetch_hf(a, require_commit or required_commit(a))
        _note_use(a, revision=a.revision, commit=path.name)
    return path


def _pypi_archive(a: Asset) -> Path:
    return cache_dir() / "pypi" / a.filename


def _extract_dir(a: Asset) -> Path:
    return cache_dir() / "assets" / a.name / a.sha256[:16]


def _checked_pypi(a: Asset, target: Path) -> dict[str, Any] | None:
    """The manifest of a complete extraction, its files checked; ``None`` when there is none."""
    m = _read_manifest(target)
    if m is None or m.get("archive_sha256") != a.sha256:
        return None
    missing, changed = _check_files(a, target, m["files"])
    if missing:
        raise CorruptCache(f"cached file(s) of asset {a.name!r} are missing from {target}: {', '.join(missing)}; "
                           f"run `{_fix_command(a)}` to fetch it again.")
    if changed:
        _write_manifest(target, m)
    return m


def _fetch_pypi(a: Asset, progress: bool, refresh: bool) -> tuple[Path, dict[str, Any]]:
    target = _extract_dir(a)
    if not refresh:
        m = _checked_pypi(a, target)
        if m is not None:
            return target, m
    with _lock(f"asset-{a.name}"):
        _mkdir(target.parent)
        _clean_leftovers(target.parent, ".extract-*")
        if refresh and target.exists():
            shutil.rmtree(target)
        m = _checked_pypi(a, target)  # another process may have finished it while we waited
        if m is not None:
            return target, m
        archive = _download_pypi(a, progress, refresh)
        tmp = target.parent / f".extract-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            _extract_members(archive, a.members, tmp)
            files = {p.relative_to(tmp).as_posix(): _file_record(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
            m = {"asset": a.name, "archive": a.filename, "archive_sha256": a.sha256, "files": files}
            _write_manifest(tmp, m)
            if target.exists():  # an older, incomplete or manifest-less extraction; we hold the lock
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target, m


def _download_pypi(a: Asset, progress: bool, refresh: bool = False) -> Path:
    """The asset's distribution file in ``<cache>/pypi``: checked when present, else downloaded directly."""
    archive = _pypi_archive(a)
    with _lock(f"pypi-{a.filename}"):
        _mkdir(archive.parent)
        _clean_leftovers(archive.parent, f".{a.filename}.part-*")
        _clean_leftovers(archive.parent, ".pip-*")  # temp folders of older embedlab versions (pip download)
        if archive.exists():
            actual = sha256_file(archive)
            if actual == a.sha256:
                return archive
            if not refresh:
                raise CorruptCache(f"checksum mismatch for {a.name} ({archive}): expected sha256 {a.sha256}, got "
                                   f"{actual}. Refusing to use it; run `{_fix_command(a)}` to download it again.")
            archive.unlink()
        url = _resolve_pypi(a)
        tmp = archive.parent / f".{a.filename}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            _download(url, tmp, progress, desc=a.filename)
            _verify(tmp, a.sha256, f"{a.name} ({url})")
            os.replace(tmp, archive)
        finally:
            tmp.unlink(missing_ok=True)
    return archive


def _resolve_pypi(a: Asset) -> str:
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
            f"Is PyPI reachable? Offline, copy {a.filename} (sha256 {a.sha256}) into {_pypi_archive(a).parent}.") from exc
    for f in files:
        if f.get("filename") == a.filename:
            listed = (f.get("digests") or {}).get("sha256")
            if listed != a.sha256:
                raise ChecksumMismatch(f"checksum mismatch for {a.name}: PyPI lists sha256 {listed} for {a.filename}, "
                                       f"the registry expects sha256 {a.sha256}; not downloading it")
            return f["url"]
    raise AssetUnavailable(f"PyPI has no file {a.filename} for {a.package}=={a.version} (it has: "
                           f"{', '.join(sorted(f.get('filename', '?') for f in files)) or 'none'})")


def _safe_target(root: Path, member: str) -> Path:
    dest = (root / member).resolve()
    if not str(dest).startswith(str(root.resolve()) + os.sep):
        raise AssetError(f"refusing archive member outside the target directory: {member!r}")
    return dest


def _wanted(patterns: tuple[str, ...]):
    return lambda n: any(fnmatch.fnmatchcase(n, p) and n.count("/") == p.count("/") for p in patterns)


def _archive_members(archive: Path, patterns: tuple[str, ...]):
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


def _extract_members(archive: Path, patterns: tuple[str, ...], dest: Path) -> None:
    """Copy archive members matching ``patterns`` (fnmatch; ``*`` stays within one folder) to ``dest``."""
    n_found = 0
    for name, src in _archive_members(archive, patterns):
        out = _safe_target(dest, name)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
        n_found += 1
    if n_found == 0:
        raise AssetError(f"no member of {archive.name} matches {list(patterns)}")


def _url_dir(a: Asset) -> Path:
    return cache_dir() / "url" / a.name


def _checked_url(a: Asset, d: Path) -> dict[str, Any] | None:
    """The manifest when every file is cached and recorded with the registry's sha256, files checked."""
    m = _read_manifest(d)
    if m is None:
        return None
    records = {}
    for f in a.files:
        rec = m["files"].get(_url_basename(f["url"]))
        if not _pinned_by(f, rec):
            return None
        records[_url_basename(f["url"])] = rec
    missing, changed = _check_files(a, d, records)
    if missing:
        return None
    if changed:
        _write_manifest(d, m)
    return {"files": records}


def _fetch_url(a: Asset, progress: bool, refresh: bool) -> tuple[Path, dict[str, Any]]:
    d = _url_dir(a)
    if not refresh:
        m = _checked_url(a, d)
        if m is not None:
            return d, m
    with _lock(f"asset-{a.name}"):
        _mkdir(d)
        _clean_leftovers(d, ".*.part-*")  # ``.<file>.part-<pid>-...``, ``.manifest.json.part-...``
        m = _read_manifest(d) or {"files": {}}
        for f in a.files:
            base = _url_basename(f["url"])
            dest, rec = d / base, m["files"].get(base)
            if refresh or (rec is not None and not _pinned_by(f, rec)):  # asked for, or the registry moved on
                dest.unlink(missing_ok=True)
            if dest.exists():
                if rec is not None:
                    _check_files(a, d, {base: rec})
                else:  # cached by an older embedlab (no manifest): hash it once against the registry
                    _verify_cached(a, dest, f)
                    m["files"][base] = _url_record(dest, f)
                continue
            tmp = d / f".{base}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            try:
                mirror = mirror_dir()
                local = mirror_path(f["url"], mirror) if mirror else None
                if local is not None and local.exists():
                    shutil.copyfile(local, tmp)
                    source = f"mirror file {local}"
                else:
                    _download(f["url"], tmp, progress)
                    source = f["url"]
                _verify_pin(tmp, f, f"{a.name}: {source}")
                os.replace(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)
            m["files"][base] = _url_record(dest, f)
        _write_manifest(d, m)
    return d, {"files": {_url_basename(f["url"]): m["files"][_url_basename(f["url"])] for f in a.files}}


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


class _LogBar(_NoBar):
    """Download progress as lines in the runner's progress log (what its terminal shows)."""

    def __init__(self, total: int | None, desc: str):
        import time

        self.total, self.desc, self.done, self._time, self._last = total, desc, 0, time.monotonic, 0.0
        progress.log(f"download {desc}: start ({(total or 0) / 2**20:.1f} MiB)")

    def update(self, n: int) -> None:
        self.done += n
        if self._time() - self._last >= 2.0:
            self._last = self._time()
            of = f" of {self.total / 2**20:.1f}" if self.total else ""
            progress.log(f"download {self.desc}: {self.done / 2**20:.1f}{of} MiB")

    def close(self) -> None:
        progress.log(f"download {self.desc}: done {self.done / 2**20:.1f} MiB")


def _progress_bar(total: int | None, desc: str, enabled: bool):
    """A terminal progress bar on stderr; inside a report kernel (``$EMBEDLAB_PROGRESS_LOG`` set by the runner)
    lines in the runner's log instead, so that no bar lands in a notebook; nothing when off."""
    if not enabled:
        return _NoBar()
    if os.environ.get("EMBEDLAB_PROGRESS_LOG"):
        return _LogBar(total, desc)
    if os.environ.get("EMBEDLAB_RUN_DIR"):
        return _NoBar()
    from tqdm import tqdm  # the plain (terminal) tqdm, never notebook widgets

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, leave=False)


def _download(url: str, dest: Path, progress: bool, desc: str | None = None) -> None:
    """Download ``url`` (http(s) or file) to ``dest``; raise AssetUnavailable when it cannot be had."""
    try:
        if url.startswith("file:"):
            with urllib.request.urlopen(url) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
            return
        import requests

        with requests.get(url, stream=True, timeout=60) as resp:
            resp.raise_for_status()
            total = int(resp.headers.get("content-length") or 0) or None
            bar = _progress_bar(total, desc or _url_basename(url), progress)
            try:
                with open(dest, "wb") as out:
                    for block in resp.iter_content(1 << 16):
                        out.write(block)
                        bar.update(len(block))
            finally:
                bar.close()
    except Exception as exc:  # connection errors, HTTP errors, a missing local file
        raise AssetUnavailable(
            f"could not download {url}: {type(exc).__name__}: {exc}.\n"
            "Offline? Point EMBEDLAB_MIRROR (or `embedlab --mirror DIR`) at a directory laid out as "
            "github/<owner>/<repo>/<sha>/<path>, or put the file in the cache yourself.") from exc


# --------------------------------------------------------------------------- Hugging Face

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


def _hf_cached_path(a: Asset, revision: str | None = None) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(a.repo_id, revision=revision or a.revision, local_files_only=True))
    except Exception:
        return None


def _is_commit(revision: str | None) -> bool:
    return bool(revision) and re.fullmatch(r"[0-9a-f]{40}", revision) is not None


def _fetch_hf(a: Asset, require: str | None = None) -> Path:
    """The snapshot of ``require`` (a commit, which must then match, or a branch/tag) or the registry's revision."""
    from huggingface_hub import snapshot_download

    revision = require or a.revision
    require = require if _is_commit(require) else None
    cached = _hf_cached_path(a, revision)
    if cached is not None:
        if require and cached.name != require:
            raise AssetError(f"Hugging Face asset {a.name!r}: the cached snapshot is commit {cached.name}, but "
                             f"commit {require} is required (EMBEDLAB_REQUIRE_REVISION or require_commit)")
        return cached
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        why = "HF_HUB_OFFLINE=1 is set"
        other = _hf_cached_path(a) if require else None
        if other is not None:
            why += f"; the cache holds commit {other.name}, but commit {require} is required"
        raise AssetUnavailable(_hf_message(a, why))
    try:
        path = Path(snapshot_download(a.repo_id, revision=revision,
                                      allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.bin"]))
    except Exception as exc:
        raise AssetUnavailable(_hf_message(a, f"{type(exc).__name__}: {exc}")) from exc
    if require and path.name != require:
        raise AssetError(f"Hugging Face asset {a.name!r}: downloaded commit {path.name}, but {require} is required")
    return path


def _hf_message(a: Asset, why: str) -> str:
    return (f"Hugging Face asset {a.name!r} ({a.repo_id}@{a.revision}) is not in the local Hugging Face cache and "
            f"cannot be downloaded ({why}). On a machine with internet run "
            f"`embedlab assets fetch {a.name}` (or `huggingface-cli download {a.repo_id}`) and copy the cache "
            "(HF_HOME) here; offline runs can use the packaged encoders `e5-small` and `minilm` instead.")


# --------------------------------------------------------------------------- verify and list

def verify(name: str) -> str:
    """Re-hash every cached file of an asset: ``ok ...``, ``not cached`` or ``missing: ...`` (the archive or a
    file is gone); raise :class:`ChecksumMismatch` (:class:`CorruptCache`) when a file's bytes changed."""
    a = get(name)
    if a.kind == "pypi":
        archive, target = _pypi_archive(a), _extract_dir(a)
        m = _read_manifest(target)
        if m is None or m.get("archive_sha256") != a.sha256:
            if not archive.exists():
                return "not cached"
            _verify_archive(a, archive)
            return "ok (archive only; not extracted yet)"
        gone = [] if archive.exists() else [f"archive {archive}"]
        if not gone:
            _verify_archive(a, archive)
            from_archive = {n: _sha256_stream(src) for n, src in _archive_members(archive, a.members)}
            for rel, rec in m["files"].items():
                if from_archive.get(rel) != rec["sha256"]:
                    raise CorruptCache(f"manifest {target / MANIFEST} of asset {a.name!r} disagrees with the archive "
                                       f"for {rel}: expected sha256 {from_archive.get(rel)}, got {rec['sha256']}; "
                                       f"run `{_fix_command(a)}`")
        missing, _ = _check_files(a, target, m["files"], full=True)
        gone += [str(target / rel) for rel in missing]
        return f"missing: {', '.join(gone)}; run `{_fix_command(a)}`" if gone else "ok"
    if a.kind == "url":
        d = _url_dir(a)
        present = [f for f in a.files if (d / _url_basename(f["url"])).exists()]
        for f in present:
            p = d / _url_basename(f["url"])
            _verify_cached(a, p, f)
        if not present:
            return "not cached"
        if len(present) < len(a.files):
            gone = [_url_basename(f["url"]) for f in a.files if f not in present]
            return f"missing: {len(gone)}/{len(a.files)} files ({', '.join(gone)}); run `embedlab assets fetch {a.name}`"
        return "ok"
    path = _hf_cached_path(a)
    return f"ok (Hugging Face cache, commit {path.name})" if path is not None else "not cached"


def _verify_archive(a: Asset, archive: Path) -> None:
    actual = sha256_file(archive)
    if actual != a.sha256:
        raise CorruptCache(f"checksum mismatch for {a.name} ({archive}): expected sha256 {a.sha256}, got {actual}; "
                           f"run `{_fix_command(a)}`")


def describe() -> list[dict[str, Any]]:
    """One row per asset: name, kind, license, size, cached - for tables and the CLI."""
    rows = []
    for a in registry().values():
        rows.append({"name": a.name, "kind": a.kind, "source": a.source, "license": a.license,
                     "size_mb": round(a.size / 1e6, 1) if a.size else None, "cached": is_cached(a.name),
                     "languages": ",".join(a.languages), "description": a.description, "citation": a.citation})
    return rows
