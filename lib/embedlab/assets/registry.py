"""The registry ``data/assets.yaml``: one :class:`Asset` per model or data set, and the errors of this package."""
from __future__ import annotations

import dataclasses
import urllib.parse
from pathlib import Path

import yaml

from .. import paths

PROJECT_ROOT = paths.ROOT
REGISTRY_PATH = paths.ASSET_REGISTRY
KINDS = ("pypi", "url", "huggingface")


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
    #: the sha256 of each member, when members are read from the installed distribution ``package==version``
    #: (where it is installed) instead of from a downloaded copy of the file
    member_sha256: dict[str, str] | None = None
    year: int | None = None
    #: the papers to cite for it: BibTeX fields (with ``key`` and ``type``), or the key of a paper reference in
    #: data/papers/*.yaml (see :mod:`embedlab.cite`)
    cite: tuple = ()
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
            one = len(self.files) == 1
            return self.files[0]["url"] if one else f"{len(self.files)} URLs ({host(self.files[0]['url'])})"
        return f"hf:{self.repo_id}@{self.revision}"

    @property
    def checksums(self) -> dict[str, str]:
        """sha256 of every downloaded file, keyed by file name."""
        if self.kind == "pypi":
            return {self.filename: self.sha256}
        if self.kind == "url":
            return {url_basename(f["url"]): f["sha256"] if "sha256" in f else f"git-blob-sha1:{f['git_blob_sha1']}"
                    for f in self.files}
        return {}


def host(url: str) -> str:
    return urllib.parse.urlparse(url).netloc


def url_basename(url: str) -> str:
    """The file name a URL is cached under (its last path segment, unquoted)."""
    return urllib.parse.unquote(url.rstrip("/").rsplit("/", 1)[-1])


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
        for key in ("members", "languages", "files", "cite"):
            if key in e:
                e[key] = tuple(e[key])
        for f in e.get("files", ()):
            pins = [k for k in ("sha256", "git_blob_sha1") if k in f]
            if "url" not in f or len(pins) != 1:
                raise AssetError(f"asset {e.get('name')!r}: every file needs a url and exactly one of sha256 or "
                                 f"git_blob_sha1; given {sorted(f)}")
        if "member_sha256" in e and set(e["member_sha256"]) != set(e.get("members", ())):
            raise AssetError(f"asset {e.get('name')!r}: member_sha256 must pin exactly the members "
                             f"{sorted(e.get('members', ()))}; it pins {sorted(e['member_sha256'])}")
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
